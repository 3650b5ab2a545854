package dynamics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       providers.ErrorKind
		code       string
		retryAfter time.Duration
	}{
		{"bad token", 401, map[string]string{"WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline.com/x/oauth2/authorize"}, "", providers.KindAuth, "", 0},
		{"request limit", 429, map[string]string{"Retry-After": "37"}, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`, providers.KindRateLimited, "0x80072322", 37 * time.Second},
		{"execution time", 429, map[string]string{"Retry-After": "120"}, `{"error":{"code":"0x80072321","message":"Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds."}}`, providers.KindRateLimited, "0x80072321", 2 * time.Minute},
		{"concurrency", 429, map[string]string{"Retry-After": "1"}, `{"error":{"code":"0x80072326","message":"Number of concurrent requests exceeded the limit of 52."}}`, providers.KindRateLimited, "0x80072326", time.Second},
		{"429 without Retry-After", 429, nil, `{"error":{"code":"0x80072322","message":"x"}}`, providers.KindRateLimited, "0x80072322", 5 * time.Second},
		{"record missing", 404, nil, `{"error":{"code":"0x80040217","message":"account With Id = 1 Does Not Exist"}}`, providers.KindNotFound, "0x80040217", 0},
		{"no privilege", 403, nil, `{"error":{"code":"0x80040220","message":"Principal user is missing prvReadAccount privilege"}}`, providers.KindForbidden, "0x80040220", 0},
		{"bad property", 400, nil, `{"error":{"code":"0x80060888","message":"Could not find a property named 'x'"}}`, providers.KindInvalid, "0x80060888", 0},
		{"duplicate", 412, nil, `{"error":{"code":"0x80040237","message":"A record with matching key values already exists."}}`, providers.KindConflict, "0x80040237", 0},
		{"row version", 412, nil, `{"error":{"code":"0x80060882","message":"The version of the existing record doesn't match"}}`, providers.KindConflict, "0x80060882", 0},
		{"unavailable", 503, map[string]string{"Retry-After": "3"}, `{"error":{"code":"0x80040216","message":"An unexpected error occurred."}}`, providers.KindRetryable, "0x80040216", 3 * time.Second},
		{"gateway timeout", 504, nil, `<html>timeout</html>`, providers.KindRetryable, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			c, err := New(providers.Config{HTTPClient: ts.Client(), BaseURL: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Read(t.Context(), providers.ReadRequest{Object: "accounts"})
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *providers.Error", err)
			}
			if pe.Kind != tt.kind || pe.Code != tt.code || pe.RetryAfter != tt.retryAfter || pe.Status != tt.status || pe.Provider != Name {
				t.Errorf("got kind %s code %q retry %s status %d, want %s %q %s %d", pe.Kind, pe.Code, pe.RetryAfter, pe.Status, tt.kind, tt.code, tt.retryAfter, tt.status)
			}
			if tt.status == 401 && !strings.Contains(pe.Message, "authorization_uri") {
				t.Errorf("401 message %q lacks the WWW-Authenticate authority", pe.Message)
			}
		})
	}
}

// TestFakeRefusals drives the fake's own refusals through the connector:
// its 401 for a bad token, the request window, the concurrency cap and a
// truncated page.
func TestFakeRefusals(t *testing.T) {
	t.Parallel()
	t.Run("bad token", func(t *testing.T) {
		t.Parallel()
		srv := fake.New(fake.Options{})
		ts := httptest.NewServer(srv)
		defer ts.Close()
		c, _ := New(providers.Config{HTTPClient: providers.NewAuthClient(ts.Client(), providers.StaticTokens{Tok: &oauth2.Token{AccessToken: "bogus"}}), BaseURL: ts.URL})
		_, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"})
		if providers.KindOf(err) != providers.KindAuth {
			t.Fatalf("err = %v, want auth", err)
		}
	})
	t.Run("window", func(t *testing.T) {
		t.Parallel()
		var quotas []providers.Quota
		srv := fake.New(fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 2, WindowPeriod: time.Hour}}})
		ts := httptest.NewServer(srv)
		defer ts.Close()
		access, _ := srv.Issue()
		c, _ := New(providers.Config{HTTPClient: providers.NewAuthClient(ts.Client(), providers.StaticTokens{Tok: &oauth2.Token{AccessToken: access}}), BaseURL: ts.URL,
			OnQuota: func(q providers.Quota) { quotas = append(quotas, q) }})
		for i := range 2 {
			if _, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"}); err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
		}
		_, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Kind != providers.KindRateLimited || pe.Code != "0x80072322" || pe.RetryAfter < 59*time.Minute {
			t.Fatalf("third read: %v (retry after %s), want 0x80072322 with about an hour", err, providers.RetryAfter(err))
		}
		// One reading per debug header per response, against the limit the
		// server applies: two requests, learnt from the first header (1
		// remaining after 1), then with the window from the refusal.
		var reqs []providers.Quota
		for _, q := range quotas {
			if q.Source == "x-ms-ratelimit-burst-remaining-xrm-requests" {
				reqs = append(reqs, q)
			}
		}
		want := []providers.Quota{
			{Used: 1, Limit: 2, Window: 5 * time.Minute, Source: "x-ms-ratelimit-burst-remaining-xrm-requests"},
			{Used: 2, Limit: 2, Window: 5 * time.Minute, Source: "x-ms-ratelimit-burst-remaining-xrm-requests"},
			{Used: 2, Limit: 2, Window: time.Hour, Source: "x-ms-ratelimit-burst-remaining-xrm-requests"},
		}
		if len(quotas) != 6 || len(reqs) != 3 || reqs[0] != want[0] || reqs[1] != want[1] || reqs[2] != want[2] {
			t.Errorf("quotas = %+v", quotas)
		}
	})
	t.Run("concurrency", func(t *testing.T) {
		t.Parallel()
		srv := fake.New(fake.Options{Options: fakekit.Options{Records: 3, Latency: 50 * time.Millisecond, Limits: fakekit.Limits{Concurrency: 2}}})
		ts := httptest.NewServer(srv)
		defer ts.Close()
		access, _ := srv.Issue()
		c, _ := New(providers.Config{HTTPClient: providers.NewAuthClient(ts.Client(), providers.StaticTokens{Tok: &oauth2.Token{AccessToken: access}}), BaseURL: ts.URL})
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() { _, errs[i] = c.Read(t.Context(), providers.ReadRequest{Object: "accounts"}) })
		}
		wg.Wait()
		limited := 0
		for _, err := range errs {
			var pe *providers.Error
			if errors.As(err, &pe) && pe.Code == "0x80072326" && pe.Kind == providers.KindRateLimited && pe.RetryAfter > 0 {
				limited++
			} else if err != nil {
				t.Errorf("unexpected error %v", err)
			}
		}
		if limited == 0 || limited == len(errs) {
			t.Errorf("%d of %d concurrent reads refused, want some but not all", limited, len(errs))
		}
	})
	t.Run("malformed page", func(t *testing.T) {
		t.Parallel()
		srv := fake.New(fake.Options{Options: fakekit.Options{Records: 20, MalformedRate: 1}})
		ts := httptest.NewServer(srv)
		defer ts.Close()
		access, _ := srv.Issue()
		c, _ := New(providers.Config{HTTPClient: providers.NewAuthClient(ts.Client(), providers.StaticTokens{Tok: &oauth2.Token{AccessToken: access}}), BaseURL: ts.URL})
		_, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"})
		if providers.KindOf(err) != providers.KindRetryable {
			t.Fatalf("err = %v, want retryable", err)
		}
	})
}

func TestWriteOperations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 10}})
	ctx := t.Context()
	ids := f.srv.IDs("accounts")
	tests := []struct {
		name    string
		req     providers.WriteRequest
		success []bool
		created []bool
		codes   []string
	}{
		{"upsert by alternate key: update then insert", providers.WriteRequest{Object: "accounts", Op: providers.WriteUpsert, UpsertKey: "accountnumber", Records: []providers.WriteRecord{
			{Fields: map[string]any{"accountnumber": "ACC-0000003", "name": "Renamed"}},
			{Fields: map[string]any{"accountnumber": "NEW-1", "name": "Brand New"}},
			{Fields: map[string]any{"name": "No key"}},
		}}, []bool{true, true, false}, []bool{false, true, false}, []string{"", "", "invalid_request"}},
		{"update a missing id is a 404, not a create", providers.WriteRequest{Object: "accounts", Op: providers.WriteUpdate, Records: []providers.WriteRecord{
			{ID: ids[1], Fields: map[string]any{"name": "ok"}},
			{ID: "00000000-0000-0000-0000-000000000000", Fields: map[string]any{"name": "x"}},
		}}, []bool{true, false}, []bool{false, false}, []string{"", "0x80040217"}},
		{"bad option value", providers.WriteRequest{Object: "accounts", Op: providers.WriteCreate, Records: []providers.WriteRecord{
			{Fields: map[string]any{"name": "x", "industrycode": 999}},
			{Fields: map[string]any{"name": 5}},
		}}, []bool{false, false}, []bool{false, false}, []string{"0x8004431a", "0x80048d19"}},
		{"delete twice", providers.WriteRequest{Object: "accounts", Op: providers.WriteDelete, Records: []providers.WriteRecord{
			{ID: ids[2]}, {ID: ids[2]},
		}}, []bool{true, false}, []bool{false, false}, []string{"", "0x80040217"}},
	}
	for _, tt := range tests {
		res, err := f.client.Write(ctx, tt.req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for i, r := range res {
			code := ""
			if len(r.Errors) > 0 {
				code = r.Errors[0].Code
			}
			if r.Success != tt.success[i] || r.Created != tt.created[i] || code != tt.codes[i] {
				t.Errorf("%s: result %d = %+v, want success %v created %v code %q", tt.name, i, r, tt.success[i], tt.created[i], tt.codes[i])
			}
		}
	}
	if got, _ := f.srv.Get("accounts", ids[3]); got["name"] != "Renamed" {
		t.Errorf("upsert did not update %s: %v", ids[3], got)
	}
	if _, ok := f.srv.Get("accounts", ids[2]); ok {
		t.Error("deleted record still readable")
	}
}

func TestOAuth(t *testing.T) {
	t.Parallel()
	srv := fake.New(fake.Options{Options: fakekit.Options{ClientID: "app", ClientSecret: "s3cret"}, Org: "contoso"})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfg, err := OAuthConfig("app", "s3cret", "http://127.0.0.1:9/callback", map[string]string{"workspace": "contoso"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scopes[0] != "https://contoso.crm.dynamics.com/user_impersonation" || cfg.Scopes[1] != "offline_access" ||
		cfg.Endpoint.AuthURL != "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize" {
		t.Fatalf("config = %+v", cfg)
	}
	cfg.Endpoint.AuthURL = ts.URL + "/organizations/oauth2/v2.0/authorize"
	cfg.Endpoint.TokenURL = ts.URL + "/organizations/oauth2/v2.0/token"
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier))

	// Approve on the consent page without following the redirect.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u, _ := url.Parse(authURL)
	resp, err := noRedirect.PostForm(ts.URL+u.Path, func() url.Values { q := u.Query(); q.Set("action", "approve"); return q }())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" || loc.Query().Get("state") != "st4te" {
		t.Fatalf("consent answered %d %s", resp.StatusCode, loc)
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption("wrong")); err == nil {
		t.Fatal("a wrong PKCE verifier was accepted")
	} else if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || !strings.HasPrefix(re.ErrorDescription, "AADSTS") {
		t.Errorf("wrong verifier: %v", err)
	}
	// The code was spent by the failed attempt, as codes are single-use.
	resp, _ = noRedirect.PostForm(ts.URL+u.Path, func() url.Values { q := u.Query(); q.Set("action", "approve"); return q }())
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	ttl := time.Until(tok.Expiry)
	if tok.RefreshToken == "" || ttl < 59*time.Minute || ttl > 91*time.Minute || tok.Extra("ext_expires_in") == nil {
		t.Errorf("token: refresh %q, lifetime %s, ext_expires_in %v", tok.RefreshToken, ttl, tok.Extra("ext_expires_in"))
	}
	meta := TokenMetadata(tok)
	if meta[MetaOrgURL] != "https://contoso.crm.dynamics.com" || meta[MetaWorkspace] != "contoso" {
		t.Errorf("TokenMetadata = %v", meta)
	}

	// Refresh rotates the refresh token; the old one is then refused.
	var stored []*oauth2.Token
	src := providers.NewOAuthSource(cfg, tok, ts.Client(), func(t *oauth2.Token) { stored = append(stored, t) })
	nt, err := src.Refresh(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if nt.RefreshToken == "" || nt.RefreshToken == tok.RefreshToken || nt.AccessToken == tok.AccessToken || len(stored) != 1 {
		t.Errorf("refresh did not rotate: %+v", nt)
	}
	old := providers.NewOAuthSource(cfg, tok, ts.Client(), nil)
	_, err = old.Refresh(t.Context(), tok)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuth || pe.Code != "invalid_grant" || !strings.HasPrefix(pe.Message, "AADSTS70008") {
		t.Errorf("rotated-out refresh token: %v", err)
	}
	// A wrong client secret is invalid_client.
	bad := *cfg
	bad.ClientSecret = "nope"
	_, err = providers.NewOAuthSource(&bad, nt, ts.Client(), nil).Refresh(t.Context(), nt)
	if !errors.As(err, &pe) || pe.Code != "invalid_client" {
		t.Errorf("wrong secret: %v", err)
	}
}
