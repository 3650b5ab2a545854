package fake

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ampforge/amp/providers/fakekit"
)

func (s *Server) tenantOK(tenant string) bool {
	return s.opts.Tenant == "" || tenant == s.opts.Tenant || tenant == "organizations" || tenant == "common"
}

// serveAuthorize is the Microsoft sign-in and consent page.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(r.PathValue("tenant")) {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+r.PathValue("tenant")+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	c := fakekit.Consent{Tokens: s.kit.Tokens, Provider: "Microsoft Dynamics 365", Subject: s.AdminSubject()}
	c.ServeHTTP(w, r)
}

// serveToken is the v2.0 token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(r.PathValue("tenant")) {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+r.PathValue("tenant")+"' not found.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	if err := s.kit.Tokens.CheckClient(clientID, secret); err != nil {
		s.tokenError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
		return
	}
	var access, refresh string
	var grant fakekit.Grant
	var err error
	switch f.Get("grant_type") {
	case "authorization_code":
		access, refresh, grant, err = s.kit.Tokens.ExchangeFor(clientID, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
		if err != nil {
			if f.Get("code_verifier") != "" {
				s.tokenError(w, http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
				return
			}
			s.tokenError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
			return
		}
	case "refresh_token":
		var newRefresh string
		access, newRefresh, grant, err = s.kit.Tokens.Refresh(f.Get("refresh_token"))
		if errors.Is(err, fakekit.ErrInvalidGrant) {
			s.tokenError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
			return
		}
		if err != nil {
			s.tokenError(w, http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed.")
			return
		}
		refresh = newRefresh
		if refresh == "" {
			refresh = f.Get("refresh_token")
		}
	default:
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
		return
	}
	scope := grant.Scope
	if scope == "" {
		scope = f.Get("scope")
	}
	// The response lists the resource scopes granted, not offline_access.
	var granted []string
	for _, sc := range strings.Fields(scope) {
		if sc != "offline_access" && sc != "openid" && sc != "profile" {
			granted = append(granted, sc)
		}
	}
	if len(granted) == 0 {
		granted = []string{s.scope()}
	}
	secs := int(s.kit.Tokens.AccessTTL().Seconds())
	body := map[string]any{
		"token_type": "Bearer", "scope": strings.Join(granted, " "),
		"expires_in": secs, "ext_expires_in": secs,
		"access_token": access,
	}
	if strings.Contains(scope, "offline_access") || f.Get("grant_type") == "refresh_token" || grant.Scope == "" {
		body["refresh_token"] = refresh
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, body)
}

// tokenError writes the identity platform's error body.
func (s *Server) tokenError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	trace, corr := newGUID(), newGUID()
	ts := s.kit.Now().UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, ts),
		"error_codes":       []int{aadsts},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts),
	})
}

func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
