package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/seal"
)

// CallbackPath is the route of the OAuth callback, relative to
// Config.PublicURL: the redirect URI to register with each provider app.
const CallbackPath = "/callbacks/v1/oauth"

// StateTTL is how long an authorization may take, from Start to Callback.
const StateTTL = 10 * time.Minute

// DefaultRefreshMargin is how long before its expiry an access token is
// renewed.
const DefaultRefreshMargin = time.Minute

// DefaultHTTPTimeout bounds each call of the default HTTP client;
// DefaultRefreshTimeout bounds a token refresh.
const (
	DefaultHTTPTimeout    = 30 * time.Second
	DefaultRefreshTimeout = 30 * time.Second
)

// Errors the flow wraps around a *runtime.Error (so runtime.ErrorCode and
// runtime.ErrorMessage still give the code and the message to show).
var (
	// ErrStateRefused: the state is unknown, already used or expired. The
	// message says which; the customer must start again.
	ErrStateRefused = errors.New("oauth: authorization state refused")
	// ErrScopeNotGranted: the customer (or the provider) did not grant a
	// scope the integrations need. The message names the scopes.
	ErrScopeNotGranted = errors.New("oauth: required scope not granted")
	// ErrExchange: the provider refused the authorization code (wrong PKCE
	// verifier, expired or reused code, wrong client).
	ErrExchange = errors.New("oauth: code exchange refused")
	// ErrAuthorizationDenied: the provider redirected back with an error
	// (the customer pressed Deny).
	ErrAuthorizationDenied = errors.New("oauth: authorization denied")
)

// Config is what a Service is built with.
type Config struct {
	Store  runtime.Store
	Sealer *seal.Sealer
	// Registry is the provider catalog (nil: providers.Default); a provider
	// must be in it and in Providers.
	Registry *providers.Registry
	// Providers are the flow adapters by catalog name (nil:
	// ProvidersFrom(Registry)).
	Providers map[string]Provider
	// PublicURL is the server's public base URL (https://amp.example.com):
	// the callback is PublicURL + CallbackPath.
	PublicURL string
	// OpenerOrigin is the targetOrigin the callback page posts its message
	// to (the embedding application's origin); empty means "*", which is
	// what @amp-labs/react expects (the message carries only an id).
	OpenerOrigin string
	// Now is the clock (nil: time.Now). Token expiries are computed with
	// it from expires_in, so a test can drive refreshes with a fake clock.
	Now func() time.Time
	// HTTPClient calls token endpoints and HubSpot's token info (nil: a
	// client with a DefaultHTTPTimeout timeout).
	HTTPClient *http.Client
	// RefreshTimeout bounds one token refresh call (zero:
	// DefaultRefreshTimeout), so a provider that does not answer cannot
	// hold every caller of the connection.
	RefreshTimeout time.Duration
	// RefreshMargin is how long before expiry a token is renewed (zero:
	// DefaultRefreshMargin). It is capped at half the token's lifetime.
	RefreshMargin time.Duration
	// Endpoints moves a provider's OAuth endpoints (and HubSpot's token
	// info) to another scheme and host, keyed by catalog name: for the
	// fakes (`amp fake`, tests). Empty for real providers.
	Endpoints map[string]string
	// OnAuthorized, when set, is called after a callback created or
	// re-authorised a connection: the engine resumes the reads it paused
	// for the connection's refused credentials.
	OnAuthorized func(ctx context.Context, c *runtime.Connection)
}

// Service runs the OAuth flow and hands out token sources. It is safe for
// concurrent use; one Service per process keeps refreshes single-flight
// per connection.
type Service struct {
	cfg Config

	mu      sync.Mutex
	sources map[string]*source // by projectID + "/" + connectionID
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("oauth: Store and Sealer are required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("oauth: PublicURL is required (the callback URL is built from it)")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Registry == nil {
		cfg.Registry = providers.Default
	}
	if cfg.Providers == nil {
		cfg.Providers = ProvidersFrom(cfg.Registry)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = DefaultRefreshTimeout
	}
	if cfg.RefreshMargin <= 0 {
		cfg.RefreshMargin = DefaultRefreshMargin
	}
	if cfg.OpenerOrigin == "" {
		cfg.OpenerOrigin = "*"
	}
	return &Service{cfg: cfg, sources: map[string]*source{}}, nil
}

// CallbackURL returns the redirect URI to register with provider apps.
func (s *Service) CallbackURL() string { return s.cfg.PublicURL + CallbackPath }

// StartRequest starts a connection (oauth-connect) or a re-authorisation
// (:oauth-update, ConnectionID set).
type StartRequest struct {
	ProjectID string
	Provider  string
	// ProviderAppID, when set, must be the project's app for the provider.
	ProviderAppID string
	GroupRef      string
	GroupName     string
	ConsumerRef   string
	ConsumerName  string
	// ConnectionID names the connection to re-authorise; empty for a new
	// one, which the group must not have yet (ECONFLICT: re-consent goes
	// through Reauthorize).
	ConnectionID string
	// Scopes are the manifest's minimal scopes for the provider
	// (manifest.ProviderScopes), computed by the caller; the provider app's
	// extra scopes are added. Placeholders ({{.workspace}}) are filled from
	// ProviderInputs.
	Scopes []string
	// ProviderInputs are what the customer typed in (workspace, loginHost).
	ProviderInputs map[string]string
	// ProviderWorkspaceRef is the customer's workspace at the provider.
	ProviderWorkspaceRef string
	// RedirectURL overrides the callback URL (it must be registered with
	// the provider app); empty means CallbackURL().
	RedirectURL string
}

// Start records a single-use authorization and returns the provider's
// authorize URL for the browser.
func (s *Service) Start(ctx context.Context, req StartRequest) (string, error) {
	if req.ProjectID == "" || req.Provider == "" || req.GroupRef == "" || req.ConsumerRef == "" {
		return "", runtime.Errorf(runtime.EINVALID, "projectIdOrName, provider, groupRef and consumerRef are required")
	}
	p, spec, err := s.provider(req.Provider)
	if err != nil {
		return "", err
	}
	app, secret, err := s.providerApp(ctx, req.ProjectID, req.Provider, req.ProviderAppID)
	if err != nil {
		return "", err
	}
	if app.Provider != req.Provider {
		return "", runtime.Errorf(runtime.EINVALID, "provider app %s is for %s, not %s", app.ID, app.Provider, req.Provider)
	}
	if req.ConnectionID == "" {
		probe := &runtime.Connection{ProjectID: req.ProjectID, Provider: req.Provider, GroupRef: req.GroupRef}
		if existing, err := s.existing(ctx, probe, ""); err != nil {
			return "", err
		} else if existing != nil {
			return "", alreadyConnected(probe, existing.ID)
		}
	}
	inputs := maps.Clone(req.ProviderInputs)
	if inputs == nil {
		inputs = map[string]string{}
	}
	if req.ProviderWorkspaceRef != "" && inputs["workspace"] == "" {
		inputs["workspace"] = req.ProviderWorkspaceRef
	}
	scopes := slices.Clone(req.Scopes)
	for _, sc := range app.Scopes {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		scopes = nil // the provider's defaults (Dynamics: its base scopes)
	}
	redirect := req.RedirectURL
	if redirect == "" {
		redirect = s.CallbackURL()
	}
	cfg, err := s.oauthConfig(p, req.Provider, app.ClientID, secret, redirect, inputs, scopes)
	if err != nil {
		return "", err
	}
	for _, in := range spec.OAuth.Inputs {
		ph := "{{." + in.Name + "}}"
		if strings.Contains(cfg.Endpoint.AuthURL+cfg.Endpoint.TokenURL+strings.Join(cfg.Scopes, " "), ph) {
			return "", runtime.Errorf(runtime.EINVALID, "%s needs providerMetadata.%s: %s", spec.DisplayName, in.Name, in.Prompt)
		}
	}

	state := randomState()
	hash := hashState(state)
	meta := map[string]runtime.ProviderMetadataInfo{}
	for k, v := range inputs {
		if v != "" {
			meta[k] = runtime.ProviderMetadataInfo{Value: v, Source: "input"}
		}
	}
	st := &runtime.OAuthState{
		State: hash, ProjectID: req.ProjectID, Provider: req.Provider, ProviderAppID: app.ID,
		GroupRef: req.GroupRef, GroupName: or(req.GroupName, req.GroupRef),
		ConsumerRef: req.ConsumerRef, ConsumerName: or(req.ConsumerName, req.ConsumerRef),
		ConnectionID: req.ConnectionID, ProviderWorkspaceRef: req.ProviderWorkspaceRef, ProviderMetadata: meta,
		Scopes: cfg.Scopes, RedirectURI: redirect, ExpireTime: s.cfg.Now().Add(StateTTL),
	}
	opts := []oauth2.AuthCodeOption{}
	for k, vs := range app.Metadata.AuthQueryParams {
		if len(vs) > 0 {
			opts = append(opts, oauth2.SetAuthURLParam(k, strings.Join(vs, " ")))
		}
	}
	if spec.OAuth.PKCE {
		verifier := oauth2.GenerateVerifier()
		st.PKCEVerifier, err = s.cfg.Sealer.Seal(seal.PurposePKCEVerifier, []byte(verifier), verifierAAD(req.ProjectID, hash))
		if err != nil {
			return "", fmt.Errorf("oauth: seal pkce verifier: %w", err)
		}
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	if err := s.cfg.Store.CreateOAuthState(ctx, st); err != nil {
		return "", fmt.Errorf("oauth: start: %w", err)
	}
	return cfg.AuthCodeURL(state, opts...), nil
}

// Callback finishes an authorization: it consumes the state, exchanges the
// code, checks the granted scopes, and creates the connection or
// re-authorises the group's existing one.
func (s *Service) Callback(ctx context.Context, state, code string) (*runtime.Connection, error) {
	st, err := s.consume(ctx, state)
	if err != nil {
		return nil, err
	}
	if code == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "the provider sent no authorization code")
	}
	p, _, err := s.provider(st.Provider)
	if err != nil {
		return nil, err
	}
	app, secret, err := s.providerApp(ctx, st.ProjectID, st.Provider, st.ProviderAppID)
	if err != nil {
		return nil, err
	}
	inputs := inputsOf(st.ProviderMetadata)
	cfg, err := s.oauthConfig(p, st.Provider, app.ClientID, secret, st.RedirectURI, inputs, st.Scopes)
	if err != nil {
		return nil, err
	}
	var opts []oauth2.AuthCodeOption
	if len(st.PKCEVerifier) > 0 {
		v, err := s.cfg.Sealer.Open(seal.PurposePKCEVerifier, st.PKCEVerifier, verifierAAD(st.ProjectID, st.State))
		if err != nil {
			return nil, fmt.Errorf("oauth: open pkce verifier: %w", err)
		}
		opts = append(opts, oauth2.VerifierOption(string(v)))
	}
	now := s.cfg.Now()
	tok, err := cfg.Exchange(s.clientCtx(ctx), code, opts...)
	if err != nil {
		return nil, exchangeError(st.Provider, err)
	}
	if tok.RefreshToken == "" {
		// Without one the connection dies with its first access token.
		return nil, runtime.Errorf(runtime.EINVALID, "%s issued no refresh token; check that the provider app allows offline access (refresh tokens)", st.Provider)
	}
	meta, granted, err := p.Inspect(ctx, s.cfg.HTTPClient, s.cfg.Endpoints[st.Provider], tok)
	if err != nil {
		return nil, fmt.Errorf("oauth: read %s token metadata: %w", st.Provider, err)
	}
	scopes, err := checkScopes(st.Provider, st.Scopes, granted)
	if err != nil {
		return nil, err
	}
	md := maps.Clone(st.ProviderMetadata)
	if md == nil {
		md = map[string]runtime.ProviderMetadataInfo{}
	}
	// What the token response says wins over what the customer typed:
	// instance_url, say, is where the connection's token is sent.
	for k, v := range meta {
		if v != "" {
			md[k] = runtime.ProviderMetadataInfo{Value: v, Source: "token"}
		}
	}
	c := &runtime.Connection{
		ProjectID: st.ProjectID, Provider: st.Provider, ProviderAppID: app.ID,
		GroupRef: st.GroupRef, GroupName: st.GroupName, ConsumerRef: st.ConsumerRef, ConsumerName: st.ConsumerName,
		ProviderWorkspaceRef: or(st.ProviderWorkspaceRef, meta["workspace"]),
		ProviderConsumerRef:  or(meta["user_id"], meta["user"]),
		AuthScheme:           runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated,
		Scopes: scopes, ProviderMetadata: md,
	}
	conn, err := s.save(ctx, c, st.ConnectionID, toStored(tok, now))
	if err == nil && s.cfg.OnAuthorized != nil {
		s.cfg.OnAuthorized(ctx, conn)
	}
	return conn, err
}

// ImportRequest imports tokens obtained elsewhere (connections:generate).
type ImportRequest struct {
	ProjectID            string
	Provider             string
	GroupRef             string
	GroupName            string
	ConsumerRef          string
	ConsumerName         string
	ProviderWorkspaceRef string
	// ProviderMetadata is kept as given (instance_url for Salesforce,
	// orgURL for Dynamics: what the connector needs).
	ProviderMetadata map[string]runtime.ProviderMetadataInfo
	AccessToken      string
	RefreshToken     string
	// Expiry of AccessToken; zero when unknown (renewed after a 401).
	Expiry time.Time
	// Scopes granted, as the caller knows them.
	Scopes []string
}

// Import creates a connection from existing tokens, sealed. A group that
// already has a connection to the provider is refused (ECONFLICT). The
// project must have a provider app for the provider: refreshes use it.
func (s *Service) Import(ctx context.Context, req ImportRequest) (*runtime.Connection, error) {
	if req.ProjectID == "" || req.Provider == "" || req.GroupRef == "" || req.ConsumerRef == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "provider, groupRef and consumerRef are required")
	}
	if req.RefreshToken == "" && req.AccessToken == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "an access token or a refresh token is required")
	}
	if _, _, err := s.provider(req.Provider); err != nil {
		return nil, err
	}
	app, _, err := s.providerApp(ctx, req.ProjectID, req.Provider, "")
	if err != nil {
		return nil, err
	}
	c := &runtime.Connection{
		ProjectID: req.ProjectID, Provider: req.Provider, ProviderAppID: app.ID,
		GroupRef: req.GroupRef, GroupName: or(req.GroupName, req.GroupRef),
		ConsumerRef: req.ConsumerRef, ConsumerName: or(req.ConsumerName, req.ConsumerRef),
		ProviderWorkspaceRef: req.ProviderWorkspaceRef,
		AuthScheme:           runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated,
		Scopes: req.Scopes, ProviderMetadata: maps.Clone(req.ProviderMetadata),
	}
	return s.save(ctx, c, "", storedToken{AccessToken: req.AccessToken, RefreshToken: req.RefreshToken, TokenType: "Bearer", Expiry: runtime.Millis(req.Expiry)})
}

// save creates c, or re-authorises the connection named by connID. With
// connID empty, a group that already has a connection to the provider is
// refused (ECONFLICT): only Reauthorize replaces a connection's tokens.
func (s *Service) save(ctx context.Context, c *runtime.Connection, connID string, tok storedToken) (*runtime.Connection, error) {
	for attempt := 0; ; attempt++ {
		existing, err := s.existing(ctx, c, connID)
		if err != nil {
			return nil, err
		}
		if existing != nil && connID == "" {
			return nil, alreadyConnected(c, existing.ID)
		}
		if existing == nil {
			c.ID = runtime.NewID()
			if c.Tokens, err = s.sealTokens(c.ProjectID, c.ID, tok); err != nil {
				return nil, err
			}
			c.TokenExpiry = tok.Expiry
			err = s.cfg.Store.CreateConnection(ctx, c)
			if runtime.ErrorCode(err) == runtime.ECONFLICT && attempt == 0 {
				continue // another callback of the group came first: refused above
			}
			if err != nil {
				return nil, fmt.Errorf("oauth: create connection: %w", err)
			}
			return c, nil
		}
		sealed, err := s.sealTokens(c.ProjectID, existing.ID, tok)
		if err != nil {
			return nil, err
		}
		out, err := s.cfg.Store.UpdateConnectionTokens(ctx, c.ProjectID, existing.ID, existing.TokenVersion, runtime.ConnectionTokens{
			Tokens: sealed, TokenExpiry: tok.Expiry, Scopes: c.Scopes, Status: runtime.ConnectionCreated,
			ProviderMetadata: c.ProviderMetadata,
		})
		if runtime.ErrorCode(err) == runtime.ECONFLICT && attempt < 3 {
			continue // a refresh wrote meanwhile; the new consent still wins
		}
		if err != nil {
			return nil, fmt.Errorf("oauth: re-authorise connection: %w", err)
		}
		s.forget(c.ProjectID, existing.ID)
		upd := runtime.ConnectionUpdate{ConsumerName: &c.ConsumerName, GroupName: &c.GroupName}
		if c.ProviderWorkspaceRef != "" {
			upd.ProviderWorkspaceRef = &c.ProviderWorkspaceRef
		}
		if c.ProviderConsumerRef != "" {
			upd.ProviderConsumerRef = &c.ProviderConsumerRef
		}
		if o, err := s.cfg.Store.UpdateConnection(ctx, c.ProjectID, existing.ID, upd); err == nil {
			out = o
		}
		return out, nil
	}
}

// alreadyConnected is the error for a second connection of a group to a
// provider.
func alreadyConnected(c *runtime.Connection, existingID string) error {
	return runtime.Errorf(runtime.ECONFLICT, "group %s already has a connection to %s (%s); re-authorise it with :oauth-update", c.GroupRef, c.Provider, existingID)
}

func (s *Service) existing(ctx context.Context, c *runtime.Connection, connID string) (*runtime.Connection, error) {
	if connID != "" {
		e, err := s.cfg.Store.GetConnection(ctx, c.ProjectID, connID)
		if err != nil {
			return nil, fmt.Errorf("oauth: connection to re-authorise: %w", err)
		}
		if e.Provider != c.Provider || e.GroupRef != c.GroupRef {
			return nil, runtime.Errorf(runtime.EINVALID, "connection %s belongs to another provider or group", connID)
		}
		return e, nil
	}
	list, err := s.cfg.Store.ListConnections(ctx, c.ProjectID, runtime.ConnectionFilter{Provider: c.Provider, GroupRef: c.GroupRef})
	if err != nil {
		return nil, fmt.Errorf("oauth: find the group's connection: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list[0], nil
}

func (s *Service) consume(ctx context.Context, state string) (*runtime.OAuthState, error) {
	if state == "" {
		return nil, fmt.Errorf("%w: %w", ErrStateRefused, runtime.Errorf(runtime.EINVALID, "the provider sent no state; start again"))
	}
	st, err := s.cfg.Store.ConsumeOAuthState(ctx, hashState(state), s.cfg.Now())
	switch runtime.ErrorCode(err) {
	case "":
		return st, nil
	case runtime.ENOTFOUND:
		return nil, fmt.Errorf("%w: %w", ErrStateRefused, runtime.Errorf(runtime.EINVALID, "this authorization is unknown or has expired; start again"))
	case runtime.EINVALID:
		return nil, fmt.Errorf("%w: %w", ErrStateRefused, err)
	}
	return nil, fmt.Errorf("oauth: consume state: %w", err)
}

// SweepStates deletes authorizations that expired more than StateTTL ago
// (used or not) and returns how many it deleted.
func (s *Service) SweepStates(ctx context.Context) (int, error) {
	return s.cfg.Store.DeleteExpiredOAuthStates(ctx, s.cfg.Now().Add(-StateTTL))
}

// Deny consumes the state of an authorization the provider refused (the
// customer pressed Deny), so it cannot be used again, and returns the error
// to show.
func (s *Service) Deny(ctx context.Context, state, code, description string) error {
	if _, err := s.consume(ctx, state); err != nil {
		return err
	}
	msg := "the authorization was refused"
	if description != "" {
		msg += ": " + description
	} else if code != "" {
		msg += " (" + code + ")"
	}
	return fmt.Errorf("%w: %w", ErrAuthorizationDenied, runtime.Errorf(runtime.EINVALID, "%s", msg))
}

func (s *Service) provider(name string) (Provider, *providers.Spec, error) {
	spec, ok := s.cfg.Registry.Spec(name)
	p, ok2 := s.cfg.Providers[name]
	if !ok || !ok2 {
		return Provider{}, nil, runtime.Errorf(runtime.EINVALID, "provider %q has no OAuth flow in amp", name)
	}
	return p, spec, nil
}

// providerApp returns the project's app for the provider (id, when set,
// must be it) and its client secret, opened.
func (s *Service) providerApp(ctx context.Context, projectID, provider, id string) (*runtime.ProviderApp, string, error) {
	var app *runtime.ProviderApp
	var err error
	if id != "" {
		app, err = s.cfg.Store.GetProviderApp(ctx, projectID, id)
	} else {
		app, err = s.cfg.Store.GetProviderAppByProvider(ctx, projectID, provider)
	}
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, "", runtime.Errorf(runtime.EINVALID, "the project has no provider app for %s; set one with `amp provider-app set`", provider)
	}
	if err != nil {
		return nil, "", fmt.Errorf("oauth: provider app: %w", err)
	}
	if len(app.ClientSecret) == 0 {
		return app, "", nil
	}
	secret, err := s.cfg.Sealer.Open(seal.PurposeClientSecret, app.ClientSecret, seal.AAD(projectID, app.ID, "clientSecret"))
	if err != nil {
		return nil, "", fmt.Errorf("oauth: open client secret of provider app %s: %w", app.ID, err)
	}
	return app, string(secret), nil
}

// oauthConfig returns the provider's configuration with only the inputs
// its catalog entry declares (loginHost, workspace), which the provider
// validates, moved to Config.Endpoints when set (the fakes).
func (s *Service) oauthConfig(p Provider, provider, clientID, secret, redirect string, inputs map[string]string, scopes []string) (*oauth2.Config, error) {
	declared := map[string]string{}
	if spec, ok := s.cfg.Registry.Spec(provider); ok {
		for _, in := range spec.OAuth.Inputs {
			if v := inputs[in.Name]; v != "" {
				declared[in.Name] = v
			}
		}
	}
	cfg, err := p.Config(clientID, secret, redirect, declared, scopes)
	if err != nil {
		return nil, runtime.Errorf(runtime.EINVALID, "%s", err.Error())
	}
	if base := s.cfg.Endpoints[provider]; base != "" {
		cfg.Endpoint.AuthURL = rebase(cfg.Endpoint.AuthURL, base)
		cfg.Endpoint.TokenURL = rebase(cfg.Endpoint.TokenURL, base)
	}
	return cfg, nil
}

func (s *Service) clientCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
}

// checkScopes returns the scopes to record: the granted ones, or the
// requested ones when the provider does not say. A requested scope missing
// from a granted list fails.
func checkScopes(provider string, requested, granted []string) ([]string, error) {
	if granted == nil {
		return slices.Clone(requested), nil
	}
	var missing []string
	for _, sc := range requested {
		if !implicitScopes[sc] && !slices.Contains(granted, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		word := "scope"
		if len(missing) > 1 {
			word = "scopes"
		}
		return nil, fmt.Errorf("%w: %w", ErrScopeNotGranted, runtime.Errorf(runtime.EINVALID,
			"%s did not grant the %s %s, which the integration needs; connect again and allow every requested permission (or ask your %s administrator to enable it)",
			provider, word, strings.Join(missing, ", "), provider))
	}
	out := slices.Clone(granted)
	for _, sc := range requested {
		if implicitScopes[sc] && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	slices.Sort(out)
	return out, nil
}

func exchangeError(provider string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		msg := re.ErrorDescription
		if msg == "" {
			msg = re.ErrorCode
		}
		if msg == "" {
			msg = "the authorization code was refused"
		}
		return fmt.Errorf("%w: %w", ErrExchange, runtime.Errorf(runtime.EINVALID, "%s refused the authorization code: %s; start again", provider, msg))
	}
	return fmt.Errorf("oauth: %s token exchange: %w", provider, err)
}

// storedToken is the plaintext of Connection.Tokens.
type storedToken struct {
	AccessToken  string    `json:"access_token,omitzero"`
	TokenType    string    `json:"token_type,omitzero"`
	RefreshToken string    `json:"refresh_token,omitzero"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Issued is when the token was obtained; with Expiry it bounds the
	// refresh margin for short-lived tokens.
	Issued time.Time `json:"issued,omitzero"`
}

func (t storedToken) oauth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// toStored keeps a token response, with the expiry computed on the
// service's clock from expires_in (the library uses the wall clock).
func toStored(tok *oauth2.Token, now time.Time) storedToken {
	st := storedToken{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Issued: runtime.Millis(now)}
	if secs := expiresIn(tok); secs > 0 {
		st.Expiry = runtime.Millis(now.Add(time.Duration(secs) * time.Second))
	}
	return st
}

func expiresIn(tok *oauth2.Token) int64 {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	if tok.ExpiresIn > 0 {
		return tok.ExpiresIn
	}
	return 0
}

func tokenAAD(projectID, connID string) []byte { return seal.AAD(projectID, connID, "tokens") }

func verifierAAD(projectID, stateHash string) []byte {
	return seal.AAD(projectID, stateHash, "pkceVerifier")
}

func (s *Service) sealTokens(projectID, connID string, t storedToken) ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	sealed, err := s.cfg.Sealer.Seal(seal.PurposeOAuthToken, b, tokenAAD(projectID, connID))
	if err != nil {
		return nil, fmt.Errorf("oauth: seal tokens: %w", err)
	}
	return sealed, nil
}

func (s *Service) openTokens(c *runtime.Connection) (storedToken, error) {
	var t storedToken
	b, err := s.cfg.Sealer.Open(seal.PurposeOAuthToken, c.Tokens, tokenAAD(c.ProjectID, c.ID))
	if err != nil {
		return t, fmt.Errorf("oauth: open tokens of connection %s: %w", c.ID, err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("oauth: tokens of connection %s are not valid JSON", c.ID)
	}
	return t, nil
}

// randomState returns 256 random bits, base64url.
func randomState() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashState is what the store keeps: a database reader cannot finish
// someone's authorization with it.
func hashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

func inputsOf(md map[string]runtime.ProviderMetadataInfo) map[string]string {
	in := map[string]string{}
	for k, v := range md {
		if v.Source == "input" {
			in[k] = v.Value
		}
	}
	return in
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
