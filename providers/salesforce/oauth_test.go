package salesforce

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

func TestLoginURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "https://login.salesforce.com"},
		{"production", "https://login.salesforce.com"},
		{"login.salesforce.com", "https://login.salesforce.com"},
		{"sandbox", "https://test.salesforce.com"},
		{"Test", "https://test.salesforce.com"},
		{"acme", "https://acme.my.salesforce.com"},
		{"acme--dev", "https://acme--dev.sandbox.my.salesforce.com"},
		{"acme.my.salesforce.com", "https://acme.my.salesforce.com"},
		{"https://acme--dev.sandbox.my.salesforce.com/", "https://acme--dev.sandbox.my.salesforce.com"},
	}
	for _, tt := range tests {
		got, err := LoginURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("LoginURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		cfg, err := OAuthConfig("id", "secret", "https://amp.example/cb", map[string]string{InputLoginHost: tt.in}, nil)
		if err != nil || cfg.Endpoint.AuthURL != tt.want+"/services/oauth2/authorize" || cfg.Endpoint.TokenURL != tt.want+"/services/oauth2/token" {
			t.Errorf("%q: endpoints %+v, %v", tt.in, cfg, err)
		}
	}
	// A customer types the login host: it must not send the client
	// secret, the code and the PKCE verifier anywhere else.
	for _, in := range []string{
		"ftp://x", "http://127.0.0.1:8080", "https://attacker.example", "attacker.example",
		"http://acme.my.salesforce.com", "https://acme.my.salesforce.com:8443", "https://acme.my.salesforce.com/evil",
		"https://user@acme.my.salesforce.com", "acme.my.salesforce.com.attacker.example", "evil.com#.my.salesforce.com",
		"a.b.my.salesforce.com", ".my.salesforce.com", "https://attacker.example/?.my.salesforce.com", "169.254.169.254",
	} {
		if got, err := LoginURL(in); err == nil {
			t.Errorf("LoginURL(%q) = %q, want an error", in, got)
		}
		if cfg, err := OAuthConfig("id", "secret", "https://amp.example/cb", map[string]string{InputLoginHost: in}, nil); err == nil || cfg != nil {
			t.Errorf("OAuthConfig with login host %q = %+v, want an error (no fallback)", in, cfg)
		} else if !strings.Contains(err.Error(), "My Domain") {
			t.Errorf("OAuthConfig with login host %q: error %q does not say what is accepted", in, err)
		}
		if _, err := RevokeURL(map[string]string{InputLoginHost: in}); err == nil {
			t.Errorf("RevokeURL with login host %q: no error", in)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://acme.my.salesforce.com", "https://na1.salesforce.com/", "https://acme--dev.sandbox.my.salesforce.com", "https://acme.lightning.force.com"} {
		if err := CheckBaseURL(ok); err != nil {
			t.Errorf("CheckBaseURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"http://acme.my.salesforce.com", "https://attacker.example", "https://salesforce.com.attacker.example", "https://acme.my.salesforce.com:8443", "https://x@acme.my.salesforce.com", "https://evilsalesforce.com", "http://127.0.0.1:9"} {
		if err := CheckBaseURL(bad); err == nil {
			t.Errorf("CheckBaseURL(%q) accepted", bad)
		}
	}
}

// fakeConfig is the production configuration with its endpoints moved to
// the fake at base, as the runtime's endpoint override does.
func fakeConfig(t testing.TB, base string, scopes []string) *oauth2.Config {
	t.Helper()
	cfg, err := OAuthConfig(testClientID, testClientSecret, "https://amp.example/callback", nil, scopes)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint.AuthURL = strings.Replace(cfg.Endpoint.AuthURL, productionLogin, base, 1)
	cfg.Endpoint.TokenURL = strings.Replace(cfg.Endpoint.TokenURL, productionLogin, base, 1)
	return cfg
}

// consent runs the web-server flow with PKCE against the fake: authorize,
// approve, exchange.
func consent(t *testing.T, rotate bool) (*fake.Server, string, *oauth2.Config, *oauth2.Token, *http.Client) {
	t.Helper()
	fk := fake.New(fake.Options{Options: fakekit.Options{Records: 5, ClientID: testClientID, ClientSecret: testClientSecret, RotateRefresh: rotate}})
	f := newFixtureServer(t, fk)
	cfg := fakeConfig(t, f, []string{"api", "refresh_token"})
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("action", "approve")
	resp, err := noRedirect.PostForm(cfg.Endpoint.AuthURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st4te" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	ctx := context.Background()
	// Without the verifier the code is refused.
	if _, err := cfg.Exchange(ctx, loc.Query().Get("code")); err == nil {
		t.Error("exchange without the PKCE verifier succeeded")
	}
	resp, _ = noRedirect.PostForm(cfg.Endpoint.AuthURL, form)
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return fk, f, cfg, tok, http.DefaultClient
}

func newFixtureServer(t *testing.T, fk *fake.Server) string {
	t.Helper()
	srv := httptestServer(fk)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestOAuthFlowAndTokenMetadata(t *testing.T) {
	t.Parallel()
	for _, rotate := range []bool{false, true} {
		fk, base, cfg, tok, _ := consent(t, rotate)
		md := TokenMetadata(tok)
		if md["instance_url"] != base || md["org_id"] == "" || md["user_id"] == "" || !strings.HasPrefix(md["id"], base+"/id/") {
			t.Errorf("metadata = %v", md)
		}
		issued, _ := time.Parse(time.RFC3339, "2026-01-05T09:00:00Z")
		if md["issued_at"] != "1767603600000" || fk.Now().UnixMilli() != issued.UnixMilli() {
			t.Errorf("issued_at = %q", md["issued_at"])
		}
		if !tok.Expiry.IsZero() || tok.RefreshToken == "" || tok.Extra("signature") == "" {
			t.Errorf("token: expiry %v refresh %q signature %v", tok.Expiry, tok.RefreshToken, tok.Extra("signature"))
		}
		// The connector uses instance_url; a 401 refreshes through the fake.
		src := providers.NewOAuthSource(cfg, tok, nil, nil)
		c, err := New(providers.Config{HTTPClient: providers.NewAuthClient(nil, src), BaseURL: md["instance_url"]})
		if err != nil {
			t.Fatal(err)
		}
		fk.ExpireTokens()
		if _, err := c.ListObjects(context.Background()); err != nil {
			t.Fatalf("rotate=%v: after expiry: %v", rotate, err)
		}
		now, _ := src.Token(context.Background())
		if rotated := now.RefreshToken != tok.RefreshToken; rotated != rotate {
			t.Errorf("rotate=%v: refresh token changed = %v", rotate, rotated)
		}
		if rotate {
			// The rotated-out refresh token is dead.
			old := providers.NewOAuthSource(cfg, &oauth2.Token{RefreshToken: tok.RefreshToken}, nil, nil)
			if _, err := old.Refresh(context.Background(), nil); providers.KindOf(err) != providers.KindAuth {
				t.Errorf("old refresh token: %v", err)
			}
		}
		// Revoked refresh tokens force re-consent.
		fk.RevokeRefreshTokens()
		fk.ExpireTokens()
		_, err = c.ListObjects(context.Background())
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Kind != providers.KindAuth || pe.Code != "invalid_grant" || pe.Message != "expired access/refresh token" {
			t.Errorf("after revocation: %v", err)
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	fk, base, _, tok, _ := consent(t, false)
	revoke, err := RevokeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	revoke = strings.Replace(revoke, productionLogin, base, 1)
	resp, err := http.PostForm(revoke, url.Values{"token": {tok.RefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	// Revoking the refresh token ended its sessions.
	c, _ := New(providers.Config{HTTPClient: providers.NewAuthClient(nil, providers.StaticTokens{Tok: tok}), BaseURL: base})
	if _, err := c.ListObjects(context.Background()); providers.KindOf(err) != providers.KindAuth {
		t.Errorf("after revoke: %v", err)
	}
	resp, _ = http.PostForm(revoke, url.Values{"token": {"nope"}})
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("revoking an unknown token: %d", resp.StatusCode)
	}
	_ = fk
}
