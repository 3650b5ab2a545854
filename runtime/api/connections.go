package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/oauth"
)

// oauthUpdateSuffix ends the connection segment of
// PATCH .../connections/{connectionId}:oauth-update. ServeMux cannot match a
// literal after a wildcard in one segment, so PATCH .../{connectionId}
// dispatches on it.
const oauthUpdateSuffix = ":oauth-update"

// ProviderScopes returns the minimal scopes the project's deployed
// integrations of the provider need: manifest.ProviderScopes over
// manifest.Scopes of each integration's latest revision. Nil when none is
// deployed (the provider app's scopes, or the provider's defaults, apply).
// It is the shape oauth.ConnectConfig.Scopes expects.
func (a *API) ProviderScopes(ctx context.Context, projectID, provider string) ([]string, error) {
	ints, err := a.store.ListIntegrations(ctx, projectID)
	if err != nil {
		return nil, err
	}
	var all []manifest.IntegrationScopes
	for _, in := range ints {
		if in.Provider != provider || in.LatestRevision == nil {
			continue
		}
		m, err := revisionManifest(in.LatestRevision)
		if err != nil {
			return nil, fmt.Errorf("integration %s: %w", in.Name, err)
		}
		all = append(all, manifest.Scopes(m, a.registry)...)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return manifest.ProviderScopes(all, provider), nil
}

// revisionManifest rebuilds a one-integration manifest from a revision:
// deploys store the integration's canonical JSON (see deployIntegrations).
func revisionManifest(rev *runtime.Revision) (*manifest.Manifest, error) {
	content := toRevision(rev).Content
	doc, err := json.Marshal(map[string]any{"specVersion": rev.SpecVersion, "integrations": []json.RawMessage{content}})
	if err != nil {
		return nil, err
	}
	f, diags := manifest.Parse(manifestName, doc)
	if f == nil || f.Manifest == nil {
		return nil, fmt.Errorf("revision %s does not parse: %s", rev.ID, manifest.Summary(diags))
	}
	return f.Manifest, nil
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	group, err := groupFilter(r.Context(), q.Get("groupRef"))
	if err != nil {
		return err
	}
	list, err := a.store.ListConnections(r.Context(), Project(r.Context()).ID, runtime.ConnectionFilter{
		Provider: q.Get("provider"), GroupRef: group, ConsumerRef: q.Get("consumerRef")})
	if err != nil {
		return err
	}
	out := make([]*connectionJSON, len(list))
	for i, c := range list {
		out[i] = toConnection(c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// connection returns the path's connection (by ID; a suffixed segment is
// not found).
func (a *API) connection(r *http.Request) (*runtime.Connection, error) {
	id := r.PathValue("connectionId")
	c, err := a.store.GetConnection(r.Context(), Project(r.Context()).ID, id)
	if err != nil {
		return nil, err
	}
	return c, CheckGroup(r.Context(), c.GroupRef)
}

// getConnection never returns credentials: includeCreds and
// includeRefreshToken are refused, so a client that needs tokens learns it
// at once rather than reading an empty field.
func (a *API) getConnection(w http.ResponseWriter, r *http.Request) error {
	for _, name := range []string{"includeCreds", "includeRefreshToken"} {
		b, err := queryBool(r, name)
		if err != nil {
			return err
		}
		if b {
			return badRequest("query", name, "amp never returns a connection's tokens; omit "+name)
		}
	}
	if v := r.URL.Query().Get("refresh"); v != "" {
		return badRequest("query", "refresh", "refresh is not supported by amp: tokens are refreshed before they expire")
	}
	c, err := a.connection(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toConnection(c))
	return nil
}

// deleteConnection refuses while installations use the connection, naming
// them (delete them first).
func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := a.connection(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ins, err := a.store.ListInstallations(ctx, c.ProjectID, runtime.InstallationFilter{ConnectionID: c.ID})
	if err != nil {
		return err
	}
	if len(ins) > 0 {
		names := make([]string, len(ins))
		for i, in := range ins {
			names[i] = in.ID
			if integ, err := a.store.GetIntegration(ctx, c.ProjectID, in.IntegrationID); err == nil {
				names[i] = fmt.Sprintf("%s (integration %s, group %s)", in.ID, integ.Name, in.GroupRef)
			}
		}
		word := "installation"
		if len(ins) > 1 {
			word = "installations"
		}
		return runtime.Errorf(runtime.ECONFLICT, "connection %s is used by %s %s; delete them first", c.ID, word, strings.Join(names, ", "))
	}
	if err := a.store.DeleteConnection(ctx, c.ProjectID, c.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenJSON is a token in Ampersand's Oauth2AuthorizationCode.
type tokenJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	IssuedAt  time.Time `json:"issuedAt"`
}

// generateConnection is connections:generate: it imports the tokens of an
// oauth2AuthorizationCode connection made elsewhere (sealed at once). Other
// auth schemes are refused.
func (a *API) generateConnection(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Provider                  string                                  `json:"provider"`
		GroupRef                  string                                  `json:"groupRef"`
		GroupName                 string                                  `json:"groupName"`
		ConsumerRef               string                                  `json:"consumerRef"`
		ConsumerName              string                                  `json:"consumerName"`
		ProviderWorkspaceRef      string                                  `json:"providerWorkspaceRef"`
		ProviderMetadata          map[string]runtime.ProviderMetadataInfo `json:"providerMetadata"`
		APIKey                    json.RawMessage                         `json:"apiKey"`
		CustomAuth                json.RawMessage                         `json:"customAuth"`
		BasicAuth                 json.RawMessage                         `json:"basicAuth"`
		OAuth2ClientCredentials   json.RawMessage                         `json:"oauth2ClientCredentials"`
		OAuth2PasswordCredentials json.RawMessage                         `json:"oauth2PasswordCredentials"`
		OAuth2AuthorizationCode   *struct {
			AccessToken  *tokenJSON `json:"accessToken"`
			RefreshToken *tokenJSON `json:"refreshToken"`
			Scopes       []string   `json:"scopes"`
		} `json:"oauth2AuthorizationCode"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"apiKey", req.APIKey}, {"customAuth", req.CustomAuth}, {"basicAuth", req.BasicAuth},
		{"oauth2ClientCredentials", req.OAuth2ClientCredentials}, {"oauth2PasswordCredentials", req.OAuth2PasswordCredentials}} {
		if len(f.v) > 0 && string(f.v) != "null" {
			return runtime.Errorf(runtime.EINVALID, "%s connections are not supported by amp; import OAuth tokens with oauth2AuthorizationCode", f.name)
		}
	}
	for _, f := range []struct{ name, v string }{{"provider", req.Provider}, {"groupRef", req.GroupRef}, {"consumerRef", req.ConsumerRef}} {
		if f.v == "" {
			return badRequest("body", f.name, f.name+" is required")
		}
	}
	code := req.OAuth2AuthorizationCode
	if code == nil {
		return badRequest("body", "oauth2AuthorizationCode", "oauth2AuthorizationCode is required: the tokens to import")
	}
	md, err := importMetadata(req.ProviderMetadata)
	if err != nil {
		return err
	}
	if a.oauth == nil {
		return errNoOAuth
	}
	imp := oauth.ImportRequest{ProjectID: Project(r.Context()).ID, Provider: req.Provider,
		GroupRef: req.GroupRef, GroupName: req.GroupName, ConsumerRef: req.ConsumerRef, ConsumerName: req.ConsumerName,
		ProviderWorkspaceRef: req.ProviderWorkspaceRef, ProviderMetadata: md, Scopes: code.Scopes}
	if code.AccessToken != nil {
		imp.AccessToken, imp.Expiry = code.AccessToken.Token, code.AccessToken.ExpiresAt
	}
	if code.RefreshToken != nil {
		imp.RefreshToken = code.RefreshToken.Token
	}
	c, err := a.oauth.Import(r.Context(), imp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toConnection(c))
	return nil
}

var errNoOAuth = runtime.Errorf(runtime.EINTERNAL, "this server runs without the OAuth service")

// metadataSourceInput is ProviderMetadataInfo.Source of what the customer
// typed in; runtime/oauth passes only such entries to the provider as
// inputs.
const metadataSourceInput = "input"

// patchableMetadata are the providerMetadata keys PATCH .../connections/{id}
// may set: the customer's inputs (@amp-labs/react's metadata form sends
// workspace). Everything else (instance_url, orgURL, hub_id, user_id, ...)
// comes from the token response or the provider and decides where the
// connection's token is sent, so it is read-only.
var patchableMetadata = map[string]bool{"workspace": true, "loginHost": true}

// importableMetadata are the providerMetadata keys connections:generate
// accepts besides patchableMetadata: an imported token comes without a
// token response, so the importer supplies the API base the connector needs
// (Salesforce's instance_url, Dynamics' orgURL), recorded with source
// "token" as a token response would have given it. Other token- or
// provider-derived keys are refused.
var importableMetadata = map[string]bool{"instance_url": true, "orgURL": true}

// importMetadata checks and normalises connections:generate's
// providerMetadata (see importableMetadata).
func importMetadata(in map[string]runtime.ProviderMetadataInfo) (map[string]runtime.ProviderMetadataInfo, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]runtime.ProviderMetadataInfo, len(in))
	for k, v := range in {
		switch {
		case patchableMetadata[k]:
			v.Source = metadataSourceInput
		case importableMetadata[k]:
			u, err := url.Parse(v.Value)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
				return nil, badRequest("body", "providerMetadata."+k, fmt.Sprintf("providerMetadata %q must be an http(s) URL", k))
			}
			v.Source = "token"
		default:
			return nil, badRequest("body", "providerMetadata."+k, fmt.Sprintf("providerMetadata %q cannot be imported; only workspace, loginHost, instance_url and orgURL are accepted", k))
		}
		out[k] = v
	}
	return out, nil
}

// patchConnection serves PATCH .../connections/{connectionId}: with the
// :oauth-update suffix it starts a re-authorisation and answers the
// authorize URL as text/plain; otherwise it updates providerWorkspaceRef or
// providerMetadata by updateMask.
func (a *API) patchConnection(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("connectionId")
	if id, ok := strings.CutSuffix(ref, oauthUpdateSuffix); ok {
		return a.oauthUpdate(w, r, id)
	}
	if strings.Contains(ref, ":") {
		return runtime.Errorf(runtime.ENOTFOUND, "no such route: PATCH connections/%s (the only custom method is %s)", ref, oauthUpdateSuffix)
	}
	// The route serves frontend keys for :oauth-update (@amp-labs/react's
	// re-authenticate); the update itself needs a full key.
	if !KeyAllows(Key(r.Context()), ScopeFull) {
		return errForbidden(r.Method, r.URL.Path)
	}
	var req struct {
		UpdateMask []string `json:"updateMask"`
		Connection *struct {
			ProviderWorkspaceRef *string                                 `json:"providerWorkspaceRef"`
			ProviderMetadata     map[string]runtime.ProviderMetadataInfo `json:"providerMetadata"`
		} `json:"connection"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if len(req.UpdateMask) == 0 {
		return badRequest("body", "updateMask", "updateMask is required")
	}
	if req.Connection == nil {
		return badRequest("body", "connection", "connection is required")
	}
	var upd runtime.ConnectionUpdate
	patchMetadata := false
	for _, m := range req.UpdateMask {
		switch m {
		case "providerWorkspaceRef":
			if req.Connection.ProviderWorkspaceRef == nil {
				return badRequest("body", "connection.providerWorkspaceRef", "updateMask names providerWorkspaceRef but connection.providerWorkspaceRef is missing")
			}
			upd.ProviderWorkspaceRef = req.Connection.ProviderWorkspaceRef
		case "providerMetadata":
			patchMetadata = true
		default:
			return badRequest("body", "updateMask", fmt.Sprintf("updateMask path %q is not allowed; use providerWorkspaceRef or providerMetadata (re-authorise OAuth connections with :oauth-update)", m))
		}
	}
	c, err := a.connection(r)
	if err != nil {
		return err
	}
	if patchMetadata {
		// Merge into what the connection holds: the token's and the
		// provider's entries stay, and so does an input the token has
		// since vouched for.
		md := maps.Clone(c.ProviderMetadata)
		if md == nil {
			md = map[string]runtime.ProviderMetadataInfo{}
		}
		for k, v := range req.Connection.ProviderMetadata {
			cur, ok := md[k]
			if ok && cur.Value == v.Value {
				// Unchanged: @amp-labs/react sends back the whole map,
				// the token's entries included, with the input it adds.
				continue
			}
			if !patchableMetadata[k] {
				return badRequest("body", "connection.providerMetadata."+k, fmt.Sprintf("providerMetadata %q is read-only; only workspace and loginHost (the customer's inputs) can be patched", k))
			}
			if ok && cur.Source != "" && cur.Source != metadataSourceInput {
				return badRequest("body", "connection.providerMetadata."+k, fmt.Sprintf("providerMetadata %q came from the %s and is read-only", k, cur.Source))
			}
			v.Source = metadataSourceInput
			md[k] = v
		}
		upd.ProviderMetadata = md
	}
	c, err = a.store.UpdateConnection(r.Context(), c.ProjectID, c.ID, upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toConnection(c))
	return nil
}

// oauthUpdate is :oauth-update: a new consent for the connection, with the
// scopes the deployed integrations of its provider need now.
func (a *API) oauthUpdate(w http.ResponseWriter, r *http.Request, id string) error {
	if a.oauth == nil {
		return errNoOAuth
	}
	ctx := r.Context()
	c, err := a.store.GetConnection(ctx, Project(ctx).ID, id)
	if err != nil {
		return err
	}
	if err := CheckGroup(ctx, c.GroupRef); err != nil {
		return err
	}
	scopes, err := a.ProviderScopes(ctx, c.ProjectID, c.Provider)
	if err != nil {
		return err
	}
	u, err := a.oauth.Reauthorize(ctx, c.ProjectID, c.ID, scopes)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(u))
	return nil
}

// isOAuthBadRequest reports whether err is about the request itself
// (oauth-connect's malformed JSON, unknown or missing field): a 400.
func isOAuthBadRequest(err error) bool { return errors.Is(err, oauth.ErrBadRequest) }
