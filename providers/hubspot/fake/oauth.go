package fake

import (
	"net/http"
	"strings"

	"github.com/ampforge/amp/providers/fakekit"
)

// oauthError writes HubSpot's OAuth error body: 400
// {"status":"BAD_REFRESH_TOKEN","message":…,"correlationId":…}.
func oauthError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"status": code, "message": msg, "correlationId": correlationID()})
}

// token serves POST /oauth/v1/token (and v3): authorization_code (with
// PKCE when the authorize request carried a challenge) and refresh_token.
// A refresh returns the same refresh token unless rotation is on.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "BAD_REQUEST", "invalid form body")
		return
	}
	f := r.PostForm
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && id == "" {
		id, secret = u, p
	}
	if id == "" {
		oauthError(w, http.StatusBadRequest, "BAD_CLIENT_ID", "missing or invalid client_id")
		return
	}
	if err := s.kit.Tokens.CheckClient(id, secret); err != nil {
		oauthError(w, http.StatusBadRequest, "BAD_CLIENT_ID", "missing or unknown client id, or wrong client secret")
		return
	}
	var access, refresh string
	var err error
	switch f.Get("grant_type") {
	case "authorization_code":
		if f.Get("redirect_uri") == "" {
			oauthError(w, http.StatusBadRequest, "BAD_REDIRECT_URI", "missing redirect_uri")
			return
		}
		access, refresh, _, err = s.kit.Tokens.ExchangeFor(id, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
		if err != nil {
			oauthError(w, http.StatusBadRequest, "BAD_AUTH_CODE", "missing or unknown auth code")
			return
		}
	case "refresh_token":
		old := f.Get("refresh_token")
		access, refresh, _, err = s.kit.Tokens.Refresh(old)
		if err != nil {
			oauthError(w, http.StatusBadRequest, "BAD_REFRESH_TOKEN", "missing or unknown refresh token")
			return
		}
		if refresh == "" {
			refresh = old
		}
	default:
		oauthError(w, http.StatusBadRequest, "BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "bearer", "refresh_token": refresh, "access_token": access,
		"expires_in": int(s.kit.Tokens.AccessTTL().Seconds()),
	})
}

func scopesOf(g fakekit.Grant) []string {
	if g.Scope == "" {
		return []string{"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.companies.read",
			"crm.objects.companies.write", "crm.objects.deals.read", "crm.objects.deals.write", "crm.objects.custom.read",
			"crm.objects.custom.write", "crm.schemas.custom.read"}
	}
	return strings.Fields(g.Scope)
}

// accessTokenInfo serves GET /oauth/v1/access-tokens/{token}.
func (s *Server) accessTokenInfo(w http.ResponseWriter, r *http.Request) {
	g, ok := s.kit.Tokens.Validate(r.PathValue("token"))
	if !ok {
		oauthError(w, http.StatusNotFound, "NOT_FOUND", "access token not found or expired")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": r.PathValue("token"), "user": "fake.user@example.com", "hub_domain": "fake-portal.hubspot.com",
		"scopes": scopesOf(g), "hub_id": PortalID, "app_id": 1001, "expires_in": int(s.kit.Tokens.AccessTTL().Seconds()),
		"user_id": 42, "token_type": "access",
	})
}

// refreshTokenInfo serves GET /oauth/v1/refresh-tokens/{token}. The token
// store cannot look a refresh token up without using it, so this answers
// for any token the store would refresh... without refreshing: it reports
// only the portal.
func (s *Server) refreshTokenInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"token": r.PathValue("token"), "user": "fake.user@example.com", "hub_domain": "fake-portal.hubspot.com",
		"scopes": scopesOf(fakekit.Grant{}), "hub_id": PortalID, "client_id": s.opts.ClientID, "user_id": 42, "token_type": "refresh",
	})
}

// deleteRefreshToken serves DELETE /oauth/v1/refresh-tokens/{token}: the
// refresh token stops working; access tokens live out their 30 minutes.
func (s *Server) deleteRefreshToken(w http.ResponseWriter, r *http.Request) {
	if !s.kit.Tokens.Revoke(r.PathValue("token")) {
		oauthError(w, http.StatusNotFound, "NOT_FOUND", "refresh token not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
