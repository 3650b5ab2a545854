package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
)

// TokenSource returns the token source of a connection. Every caller of
// the same connection in this process shares one source, so at most one
// refresh of the connection is in flight here at a time; refreshes in
// other processes are detected through the connection's token version. The
// source renews the access token before it expires (when the provider said
// when) and after the provider refused it (providers.NewAuthClient calls
// Refresh on a 401), and persists every new token sealed. When the provider
// refuses the refresh (invalid_grant: the app was revoked, the refresh
// token expired) the connection becomes bad_credentials and the source
// returns a providers.KindAuth error until the customer re-authorises.
//
// When persisting a new token fails (a busy or failing store), the source
// keeps it in memory as unpersisted: with rotating refresh tokens it holds
// the only valid refresh token, so the older stored token of the same
// version never replaces it, and saving it is retried on the next use and
// before any refresh until it succeeds (see source.persist).
//
// Returns ENOTFOUND if the project has no such connection.
func (s *Service) TokenSource(ctx context.Context, projectID, connectionID string) (providers.TokenSource, error) {
	key := projectID + "/" + connectionID
	s.mu.Lock()
	src := s.sources[key]
	if src == nil {
		src = &source{svc: s, projectID: projectID, connID: connectionID, sem: make(chan struct{}, 1)}
		s.sources[key] = src
	}
	s.mu.Unlock()
	if _, _, err := src.current(ctx); err != nil {
		return nil, err
	}
	return src, nil
}

// Client returns an HTTP client that authenticates as the connection (see
// TokenSource and providers.NewAuthClient); base may be nil.
func (s *Service) Client(ctx context.Context, projectID, connectionID string, base *http.Client) (*http.Client, error) {
	ts, err := s.TokenSource(ctx, projectID, connectionID)
	if err != nil {
		return nil, err
	}
	return providers.NewAuthClient(base, ts), nil
}

// forget drops what the connection's source has cached, after this process
// wrote new tokens outside it (a re-authorisation).
func (s *Service) forget(projectID, connID string) {
	s.mu.Lock()
	src := s.sources[projectID+"/"+connID]
	s.mu.Unlock()
	if src != nil {
		src.mu.Lock()
		src.tok, src.version, src.unpersisted = nil, 0, false
		src.mu.Unlock()
	}
}

type source struct {
	svc               *Service
	projectID, connID string
	// sem is held by the one refresh in flight (a mutex callers can stop
	// waiting for).
	sem chan struct{}

	mu  sync.Mutex
	tok *storedToken // nil until loaded
	// version is the connection's token version tok was read at or, when
	// unpersisted, the version it was refreshed from (and must be written
	// over).
	version int64
	// unpersisted is set while tok is newer than the stored token of the
	// same version because saving it failed: the stored one must not
	// replace it (its refresh token may have been rotated out), and
	// persist retries the save.
	unpersisted bool
}

var _ providers.TokenSource = (*source)(nil)

// current returns the cached token, loading it from the store first.
func (src *source) current(ctx context.Context) (*storedToken, int64, error) {
	src.mu.Lock()
	tok, v := src.tok, src.version
	src.mu.Unlock()
	if tok != nil {
		return tok, v, nil
	}
	c, t, err := src.load(ctx)
	if err != nil {
		return nil, 0, err
	}
	return t, c.TokenVersion, nil
}

// load reads the connection and caches its tokens.
func (src *source) load(ctx context.Context) (*runtime.Connection, *storedToken, error) {
	c, err := src.svc.cfg.Store.GetConnection(ctx, src.projectID, src.connID)
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: token source: %w", err)
	}
	t, err := src.svc.openTokens(c)
	if err != nil {
		return nil, nil, err
	}
	src.adopt(&t, c.TokenVersion)
	return c, &t, nil
}

// adopt caches tok unless a newer version is cached already, or an
// unpersisted token refreshed from this version (which is newer than tok).
func (src *source) adopt(tok *storedToken, version int64) {
	src.mu.Lock()
	if src.tok == nil || version > src.version || (version == src.version && !src.unpersisted) {
		src.tok, src.version, src.unpersisted = tok, version, false
	}
	src.mu.Unlock()
}

// keep caches next, refreshed from version, as unpersisted after saving it
// failed, unless the cache has moved on meanwhile (a re-authorisation in
// this process, or a newer version loaded).
func (src *source) keep(next *storedToken, version int64) {
	src.mu.Lock()
	if src.tok != nil && src.version == version {
		src.tok, src.unpersisted = next, true
	}
	src.mu.Unlock()
}

// pending returns the cached token and the version it was refreshed from
// if saving it is still to be done.
func (src *source) pending() (*storedToken, int64) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.unpersisted {
		return src.tok, src.version
	}
	return nil, 0
}

// persist saves the cached token if an earlier save failed; the caller
// holds sem, so no refresh writes meanwhile. It writes over the version the
// token was refreshed from, as the refresh would have.
//
// If the store has a newer version meanwhile (ECONFLICT), that one wins and
// the unpersisted token is dropped: it was written by another process or a
// re-authorisation after reading the version ours was refreshed from, so it
// was obtained later from the provider (a re-consent, or a refresh the
// provider accepted), and writing ours over it would need a blind write
// that could undo a re-authorisation. Only the older stored token of the
// same version is never adopted over ours.
//
// A failed save leaves the token unpersisted (still usable here) and is
// returned.
func (src *source) persist(ctx context.Context) error {
	tok, version := src.pending()
	if tok == nil {
		return nil
	}
	sealed, err := src.svc.sealTokens(src.projectID, src.connID, *tok)
	if err != nil {
		return err
	}
	out, err := src.svc.cfg.Store.UpdateConnectionTokens(ctx, src.projectID, src.connID, version, runtime.ConnectionTokens{
		Tokens: sealed, TokenExpiry: tok.Expiry, Status: runtime.ConnectionCreated,
	})
	switch runtime.ErrorCode(err) {
	case "":
		src.mu.Lock()
		if src.tok == tok && src.unpersisted {
			src.version, src.unpersisted = out.TokenVersion, false
		}
		src.mu.Unlock()
		return nil
	case runtime.ECONFLICT:
		src.drop(tok)
		_, _, err := src.load(ctx)
		return err
	default:
		return fmt.Errorf("oauth: save the renewed token: %w", err)
	}
}

// drop forgets tok if it is the cached unpersisted token, so the next
// load adopts the stored token.
func (src *source) drop(tok *storedToken) {
	src.mu.Lock()
	if src.tok == tok && src.unpersisted {
		src.tok, src.version, src.unpersisted = nil, 0, false
	}
	src.mu.Unlock()
}

// tryPersist retries saving an unpersisted token unless a refresh is in
// flight (it saves it first). Errors are not the caller's: the token works
// from memory and the next use retries.
func (src *source) tryPersist(ctx context.Context) {
	if tok, _ := src.pending(); tok == nil {
		return
	}
	select {
	case src.sem <- struct{}{}:
		defer func() { <-src.sem }()
		_ = src.persist(ctx)
	default:
	}
}

// fresh reports whether t can be used now without renewing it.
func (src *source) fresh(t *storedToken) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	if t.Expiry.IsZero() {
		return true // Salesforce: renewed after a 401
	}
	margin := src.svc.cfg.RefreshMargin
	if !t.Issued.IsZero() {
		margin = min(margin, t.Expiry.Sub(t.Issued)/2)
	}
	return src.svc.cfg.Now().Before(t.Expiry.Add(-margin))
}

// Token returns the access token, renewed first when it is about to expire.
func (src *source) Token(ctx context.Context) (*oauth2.Token, error) {
	src.tryPersist(ctx)
	t, _, err := src.current(ctx)
	if err != nil {
		return nil, err
	}
	if src.fresh(t) {
		return t.oauth2(), nil
	}
	return src.Refresh(ctx, t.oauth2())
}

// Refresh renews the token unless another caller (here or in another
// process) renewed it since refused was handed out.
func (src *source) Refresh(ctx context.Context, refused *oauth2.Token) (*oauth2.Token, error) {
	select {
	case src.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-src.sem }()

	newer := func(t *storedToken) bool {
		return src.fresh(t) && (refused == nil || t.AccessToken != refused.AccessToken)
	}
	// An unpersisted token is saved before anything else; if the store
	// still fails, go on with it from memory (load keeps it cached).
	_ = src.persist(ctx)
	cached, _, err := src.current(ctx)
	if err != nil {
		return nil, err
	}
	if newer(cached) {
		return cached.oauth2(), nil // renewed while this caller waited
	}
	// Another process or a re-authorisation may have written since.
	c, stored, err := src.load(ctx)
	if err != nil {
		return nil, err
	}
	refresh := stored.RefreshToken
	if tok, _ := src.pending(); tok == cached {
		// Still unsaved, and newer than the stored token of its version:
		// the stored refresh token may have been rotated out, and a
		// bad_credentials status set by a process that tried it says
		// nothing about ours.
		refresh = cached.RefreshToken
	} else {
		if newer(stored) {
			return stored.oauth2(), nil
		}
		if c.Status == runtime.ConnectionBadCredentials {
			return nil, src.authError(c.Provider, 0, "invalid_grant", "")
		}
	}
	if refresh == "" {
		return nil, src.authError(c.Provider, 0, "no_refresh_token", "the connection has no refresh token")
	}
	p, _, err := src.svc.provider(c.Provider)
	if err != nil {
		return nil, err
	}
	app, secret, err := src.svc.providerApp(ctx, c.ProjectID, c.Provider, c.ProviderAppID)
	if err != nil {
		return nil, err
	}
	// Only the inputs the provider declares, validated by it (oauthConfig):
	// the token endpoint receives the client secret.
	cfg, err := src.svc.oauthConfig(p, c.Provider, app.ClientID, secret, "", inputsOf(c.ProviderMetadata), nil)
	if err != nil {
		return nil, err
	}
	now := src.svc.cfg.Now()
	tctx, cancel := context.WithTimeout(ctx, src.svc.cfg.RefreshTimeout)
	defer cancel()
	tok, err := cfg.TokenSource(src.svc.clientCtx(tctx), &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return nil, src.refused(ctx, c, err)
	}
	next := toStored(tok, now)
	if next.RefreshToken == "" {
		next.RefreshToken = refresh // no rotation (Salesforce, HubSpot)
	}
	sealed, err := src.svc.sealTokens(c.ProjectID, c.ID, next)
	if err != nil {
		return nil, err
	}
	out, err := src.svc.cfg.Store.UpdateConnectionTokens(ctx, c.ProjectID, c.ID, c.TokenVersion, runtime.ConnectionTokens{
		Tokens: sealed, TokenExpiry: next.Expiry, Status: runtime.ConnectionCreated,
	})
	switch runtime.ErrorCode(err) {
	case "":
		src.adopt(&next, out.TokenVersion)
		return next.oauth2(), nil
	case runtime.ECONFLICT:
		// Lost a race with another writer: its token is the one to use.
		if _, stored, err := src.load(ctx); err == nil && src.fresh(stored) {
			return stored.oauth2(), nil
		}
		return next.oauth2(), nil
	default:
		// The token works; keep it here, unpersisted, so this process goes
		// on with it and saves it on the next use.
		src.keep(&next, c.TokenVersion)
		return next.oauth2(), nil
	}
}

// refused classifies a failed refresh. Only a refused grant (invalid_grant,
// invalid_token: the app was revoked, the refresh token expired) marks the
// connection bad_credentials, unless it was re-authorised meanwhile. A
// refused client (invalid_client, unauthorized_client: the provider app's
// credentials or settings) is the builder's to fix: the error names the
// provider app and the connection stays as it is, so the next refresh tries
// again once the app is fixed.
func (src *source) refused(ctx context.Context, c *runtime.Connection, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &providers.Error{Kind: providers.KindRetryable, Provider: c.Provider, Message: "token refresh failed", Err: err}
	}
	status := re.Response.StatusCode
	if status >= 500 || status == http.StatusTooManyRequests {
		return &providers.Error{Kind: providers.KindForStatus(status), Provider: c.Provider, Status: status, Code: re.ErrorCode, Message: "token refresh failed"}
	}
	code, detail := refusalCode(re)
	switch code {
	case "invalid_grant", "invalid_token":
		// An unpersisted token's refresh token is dead too: the stored
		// state decides from now on.
		if tok, _ := src.pending(); tok != nil {
			src.drop(tok)
		}
	case "invalid_client", "unauthorized_client":
		msg := fmt.Sprintf("%s refused the project's provider app %s (client %s) when renewing the connection's token (%s): check its client ID and secret with `amp provider-app set`; the connection is unchanged", c.Provider, c.ProviderAppID, clientOf(ctx, src, c), code)
		if detail != "" {
			msg += " (" + detail + ")"
		}
		return &providers.Error{Kind: providers.KindAuth, Provider: c.Provider, Status: status, Code: code, Message: msg}
	default:
		msg := fmt.Sprintf("%s refused to renew the connection's token (%s)", c.Provider, or(code, strconv.Itoa(status)))
		if detail != "" {
			msg += ": " + detail
		}
		return &providers.Error{Kind: providers.KindAuth, Provider: c.Provider, Status: status, Code: code, Message: msg}
	}
	_, serr := src.svc.cfg.Store.SetConnectionStatus(ctx, c.ProjectID, c.ID, c.TokenVersion, runtime.ConnectionBadCredentials)
	if runtime.ErrorCode(serr) == runtime.ECONFLICT {
		// Re-authorised or refreshed elsewhere meanwhile: not bad.
		if _, stored, err := src.load(ctx); err == nil && src.fresh(stored) {
			return &providers.Error{Kind: providers.KindRetryable, Provider: c.Provider, Message: "the connection's tokens changed during the refresh; retry"}
		}
	}
	return src.authError(c.Provider, status, code, detail)
}

// clientOf returns the client ID of the connection's provider app, or "?".
func clientOf(ctx context.Context, src *source, c *runtime.Connection) string {
	if app, err := src.svc.cfg.Store.GetProviderApp(ctx, c.ProjectID, c.ProviderAppID); err == nil {
		return app.ClientID
	}
	return "?"
}

// refusalCode returns the OAuth error code of a refused token request,
// normalised: RFC 6749's "error", or HubSpot's "status"
// (BAD_REFRESH_TOKEN, BAD_CLIENT_ID), which the oauth2 package does not
// read. An empty code stays empty.
func refusalCode(re *oauth2.RetrieveError) (code, detail string) {
	code, detail = re.ErrorCode, re.ErrorDescription
	if code == "" {
		var body struct{ Error, Status, Message string }
		if json.Unmarshal(re.Body, &body) == nil {
			code = or(body.Error, body.Status)
			if detail == "" {
				detail = body.Message
			}
		}
	}
	switch code {
	case "BAD_REFRESH_TOKEN":
		code = "invalid_grant"
	case "BAD_CLIENT_ID", "BAD_CLIENT_SECRET":
		code = "invalid_client"
	}
	return code, detail
}

func (src *source) authError(provider string, status int, code, detail string) error {
	msg := "the provider refused to renew the connection's token; the customer must reconnect"
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return &providers.Error{Kind: providers.KindAuth, Provider: provider, Status: status, Code: code, Message: msg}
}
