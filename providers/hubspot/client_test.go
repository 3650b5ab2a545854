package hubspot_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
)

// The authorization-code flow with PKCE against the fake: consent, code
// exchange, token metadata via the access-token info endpoint.
func TestOAuthWithPKCE(t *testing.T) {
	t.Parallel()
	s := newSetup(t, fake.Options{}, nil)
	cfg, err := hubspot.OAuthConfig("client-id", "client-secret", "https://app.example/cb", nil, []string{"oauth", "crm.objects.contacts.read"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint.AuthURL != "https://app.hubspot.com/oauth/authorize" || cfg.Endpoint.TokenURL != "https://api.hubapi.com/oauth/v1/token" {
		t.Fatalf("endpoints %+v", cfg.Endpoint)
	}
	cfg.Endpoint.AuthURL, cfg.Endpoint.TokenURL = s.srv.URL+"/oauth/authorize", s.srv.URL+"/oauth/v1/token"
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), hubspot.OptionalScopes([]string{"tickets"})))
	if authURL.Query().Get("optional_scope") != "tickets" || authURL.Query().Get("scope") != "oauth crm.objects.contacts.read" {
		t.Errorf("authorize URL %s", authURL)
	}
	// Approve on the consent page (a form post), without following the redirect.
	form := authURL.Query()
	form.Set("action", "approve")
	noRedirect := *s.srv.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.PostForm(authURL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" || loc.Query().Get("state") != "st" {
		t.Fatalf("consent: %d %s", resp.StatusCode, loc)
	}
	ctx := t.Context()
	ctxc := context.WithValue(ctx, oauth2.HTTPClient, s.srv.Client())
	if _, err := cfg.Exchange(ctxc, code, oauth2.VerifierOption("wrong-verifier")); err == nil {
		t.Error("exchange with a wrong PKCE verifier succeeded")
	}
	resp, _ = noRedirect.PostForm(authURL.String(), form)
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := cfg.Exchange(ctxc, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || time.Until(tok.Expiry) < 29*time.Minute || time.Until(tok.Expiry) > 31*time.Minute {
		t.Errorf("token %+v", tok)
	}
	if md := hubspot.TokenMetadata(tok); len(md) != 0 {
		t.Errorf("v1 token response carries no hub id; metadata %v", md)
	}
	md := hubspot.TokenMetadata(tok.WithExtra(map[string]any{"hubId": float64(42), "scopes": []any{"oauth", "tickets"}}))
	if md["hub_id"] != "42" || md["scopes"] != "oauth tickets" {
		t.Errorf("v3-style metadata %v", md)
	}
	info, err := hubspot.TokenInfo(ctx, s.srv.Client(), s.srv.URL, tok.AccessToken)
	if err != nil || info["hub_id"] != "1234567" || !strings.Contains(info["scopes"], "crm.objects.contacts.read") {
		t.Errorf("token info %v, %v", info, err)
	}
	if _, err := hubspot.TokenInfo(ctx, s.srv.Client(), s.srv.URL, "nope"); providers.KindOf(err) != providers.KindNotFound {
		t.Errorf("unknown token: %v", err)
	}
	// A refresh keeps the refresh token.
	ts := providers.NewOAuthSource(cfg, tok, s.srv.Client(), nil)
	fresh, err := ts.Refresh(ctx, tok)
	if err != nil || fresh.RefreshToken != tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Errorf("refresh: %+v %v", fresh, err)
	}
}

func TestQuotaAndRateLimits(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var quotas []providers.Quota
	opts := fake.Options{Options: fakekit.Options{Limits: fakekit.Limits{Window: 2, Daily: 100}}, WindowsOnFakeClock: true}
	s := newSetup(t, opts, func(q providers.Quota) { mu.Lock(); quotas = append(quotas, q); mu.Unlock() })
	// The list answers with the headers (search does not): a plain list
	// read's cursor.
	req := providers.ReadRequest{Object: "contacts", Cursor: "l:"}
	if _, err := s.conn.Read(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(quotas) != 2 || quotas[0] != (providers.Quota{Used: 1, Limit: 2, Window: 10 * time.Second, Source: "X-HubSpot-RateLimit"}) ||
		quotas[1] != (providers.Quota{Used: 1, Limit: 100, Window: 24 * time.Hour, Source: "X-HubSpot-RateLimit-Daily"}) {
		t.Errorf("quotas %+v", quotas)
	}
	mu.Unlock()
	_, _ = s.conn.Read(t.Context(), req)
	_, err := s.conn.Read(t.Context(), req) // third in the window: refused, no Retry-After
	pe := wantKind(t, err, providers.KindRateLimited, "TEN_SECONDLY_ROLLING")
	if pe.RetryAfter != 10*time.Second {
		t.Errorf("RetryAfter %s, want the 10 s interval", pe.RetryAfter)
	}
}

func TestMalformedPageIsRetryable(t *testing.T) {
	t.Parallel()
	// No burst window, so no reading: a call that searches sends its
	// search alone (no probe beside it, see pace.go).
	s := newSetup(t, fake.Options{Options: fakekit.Options{MalformedRate: 1, Limits: fakekit.Limits{Window: -1}}}, nil)
	_, err := s.conn.Read(t.Context(), providers.ReadRequest{Object: "contacts", Cursor: "l:"})
	wantKind(t, err, providers.KindRetryable, "")
	// A full read's first call lists: its malformed answer surfaces for
	// the engine to retry.
	_, err = s.conn.Read(t.Context(), providers.ReadRequest{Object: "contacts"})
	wantKind(t, err, providers.KindRetryable, "")
	// A call that searches ("d::::", nothing read yet, no flags): a
	// malformed search answer costs that call its records (the next
	// call lists instead), and the list's malformed answer then
	// surfaces.
	page, err := s.conn.Read(t.Context(), providers.ReadRequest{Object: "contacts", Cursor: "d::::"})
	if err != nil || len(page.Records) != 0 || page.Done || page.NextCursor == "" {
		t.Fatalf("a searching call: %+v, %v; want an empty page that goes on", page, err)
	}
	_, err = s.conn.Read(t.Context(), providers.ReadRequest{Object: "contacts", Cursor: page.NextCursor})
	wantKind(t, err, providers.KindRetryable, "")
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, ok := providers.Default.Lookup("hubspot")
	if !ok {
		t.Fatal("hubspot not registered")
	}
	cp, ok := p.(providers.ConnectorProvider)
	if !ok {
		t.Fatalf("%T is not a ConnectorProvider", p)
	}
	conn, err := cp.NewConnector(providers.Config{HTTPClient: http.DefaultClient})
	if err != nil || conn.Provider() != "hubspot" {
		t.Fatalf("NewConnector = %v, %v", conn, err)
	}
	if _, err := hubspot.New(providers.Config{}); err == nil {
		t.Error("New without an HTTP client succeeded")
	}
	c, _ := hubspot.New(providers.Config{HTTPClient: http.DefaultClient})
	if c.MaxBatch() != 100 || c.SupportsAllOrNone() {
		t.Errorf("MaxBatch %d, SupportsAllOrNone %v", c.MaxBatch(), c.SupportsAllOrNone())
	}
	if _, err := c.Write(t.Context(), providers.WriteRequest{Object: "contacts", Op: providers.WriteCreate, AllOrNone: true, Records: []providers.WriteRecord{{}}}); providers.KindOf(err) != providers.KindInvalid {
		t.Errorf("AllOrNone write: %v", err)
	}
}
