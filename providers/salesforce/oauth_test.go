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
		{"sandbox", "https://test.salesforce.com"},
		{"acme.my.salesforce.com", "https://acme.my.salesforce.com"},
		{"https://acme--dev.sandbox.my.salesforce.com/", "https://acme--dev.sandbox.my.salesforce.com"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		got, err := LoginURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("LoginURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		cfg := OAuthConfig("id", "secret", "https://amp.example/cb", map[string]string{InputLoginHost: tt.in}, nil)
		if cfg.Endpoint.AuthURL != tt.want+"/services/oauth2/authorize" || cfg.Endpoint.TokenURL != tt.want+"/services/oauth2/token" {
			t.Errorf("%q: endpoints %+v", tt.in, cfg.Endpoint)
		}
	}
	if _, err := LoginURL("ftp://x"); err == nil {
		t.Error("ftp login host accepted")
	}
}

// consent runs the web-server flow with PKCE against the fake: authorize,
// approve, exchange.
func consent(t *testing.T, rotate bool) (*fake.Server, string, *oauth2.Config, *oauth2.Token, *http.Client) {
	t.Helper()
	fk := fake.New(fake.Options{Options: fakekit.Options{Records: 5, ClientID: testClientID, ClientSecret: testClientSecret, RotateRefresh: rotate}})
	f := newFixtureServer(t, fk)
	cfg := OAuthConfig(testClientID, testClientSecret, "https://amp.example/callback", map[string]string{InputLoginHost: f}, []string{"api", "refresh_token"})
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
	revoke := RevokeURL(map[string]string{InputLoginHost: base})
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
