package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/oauth"
)

// flakyStore is the real store whose UpdateConnectionTokens fails while
// fail is above zero (each failure counts it down), as on SQLITE_BUSY or a
// disk error.
type flakyStore struct {
	runtime.Store
	fail, attempts atomic.Int64
}

func (s *flakyStore) UpdateConnectionTokens(ctx context.Context, projectID, id string, v int64, t runtime.ConnectionTokens) (*runtime.Connection, error) {
	s.attempts.Add(1)
	if s.fail.Add(-1) >= 0 {
		return nil, errors.New("sqlite: database is locked (SQLITE_BUSY)")
	}
	s.fail.Store(0)
	return s.Store.UpdateConnectionTokens(ctx, projectID, id, v, t)
}

// flakyEndpoint fronts a fake's token endpoint and answers refresh grants
// with 503 while down is set.
func flakyEndpoint(t *testing.T, f *fakeProvider, down *atomic.Bool) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(f.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() && r.Method == http.MethodPost && strings.Contains(r.URL.Path, "token") {
			http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// unpersistedEnv connects a HubSpot connection with rotating refresh
// tokens and returns a Service on a flaky store and a flaky token
// endpoint.
func unpersistedEnv(t *testing.T) (*env, *fakeProvider, *oauth.Service, *flakyStore, *atomic.Bool, *runtime.Connection) {
	t.Helper()
	f := newFake(t, hubspot.Name, fakeOpts{ttl: time.Minute, rotate: true})
	e := newEnv(t, f.kit.Now, f)
	c := e.mustConnect(hubspot.Name, "acme")
	store := &flakyStore{Store: e.store}
	down := new(atomic.Bool)
	svc, err := oauth.New(oauth.Config{Store: store, Sealer: e.sealer, PublicURL: e.api.URL, Now: f.kit.Now,
		Endpoints: map[string]string{hubspot.Name: flakyEndpoint(t, f, down).URL}, RefreshMargin: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e, f, svc, store, down, c
}

// use calls the fake's API as the connection through svc.
func use(ctx context.Context, svc *oauth.Service, e *env, f *fakeProvider, c *runtime.Connection) error {
	client, err := svc.Client(ctx, e.projectID, c.ID, nil)
	if err != nil {
		return err
	}
	resp, err := client.Get(f.srv.URL + f.apiPath)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New(resp.Status)
	}
	return nil
}

// TestUnpersistedTokenSurvives: a renewed token whose save failed holds the
// only valid (rotated) refresh token. It is not replaced by the stale
// stored token, survives a transient refresh failure while the store still
// fails, and is saved once the store recovers.
func TestUnpersistedTokenSurvives(t *testing.T) {
	e, f, svc, store, down, c := unpersistedEnv(t)
	ctx := context.Background()
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatal(err)
	}

	// The refresh works, its save fails.
	store.fail.Store(1)
	f.kit.Advance(time.Minute)
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatalf("after a failed save: %v", err)
	}
	if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.TokenVersion != c.TokenVersion {
		t.Fatalf("token version %d after a failed save, want %d", got.TokenVersion, c.TokenVersion)
	}

	// The store still fails and the next refresh fails transiently.
	store.fail.Store(1 << 20)
	down.Store(true)
	f.kit.Advance(time.Minute)
	before := store.attempts.Load()
	if err := use(ctx, svc, e, f, c); err == nil {
		t.Fatal("a refresh answered 503 succeeded")
	}
	if store.attempts.Load() == before {
		t.Error("the unpersisted token was not saved again before the refresh")
	}

	// Both recover: the kept token is saved and renewed.
	store.fail.Store(0)
	down.Store(false)
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatalf("after the store and the provider recovered: %v", err)
	}
	got, _ := e.store.GetConnection(ctx, e.projectID, c.ID)
	if got.TokenVersion != c.TokenVersion+2 || got.Status != runtime.ConnectionCreated {
		t.Fatalf("token version %d status %s, want %d (the kept token, then its renewal) created", got.TokenVersion, got.Status, c.TokenVersion+2)
	}
	// Another process reads the stored token and can renew it: the
	// rotated refresh token reached the store.
	f.kit.Advance(time.Minute)
	if err := e.get(ctx, c); err != nil {
		t.Fatalf("another process with the stored token: %v", err)
	}
	if got := f.refreshes.Load(); got != 3 { // the 503 did not reach the fake
		t.Errorf("%d refresh grants, want 3", got)
	}
}

// TestUnpersistedTokenSavedOnNextUse: a fresh unpersisted token is saved
// on the next use, without a refresh.
func TestUnpersistedTokenSavedOnNextUse(t *testing.T) {
	e, f, svc, store, _, c := unpersistedEnv(t)
	ctx := context.Background()
	store.fail.Store(1)
	f.kit.Advance(time.Minute)
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.TokenVersion != c.TokenVersion {
		t.Fatalf("token version %d after a failed save", got.TokenVersion)
	}
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.TokenVersion != c.TokenVersion+1 {
		t.Fatalf("token version %d after the next use, want %d", got.TokenVersion, c.TokenVersion+1)
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("%d refresh grants, want 1", got)
	}
	// Another process goes on from the stored token.
	f.kit.Advance(time.Minute)
	if err := e.get(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// TestUnpersistedTokenLosesToNewerVersion: when the store holds a newer
// version (here a re-authorisation by another process), it replaces the
// unpersisted token instead of being overwritten.
func TestUnpersistedTokenLosesToNewerVersion(t *testing.T) {
	e, f, svc, store, _, c := unpersistedEnv(t)
	ctx := context.Background()
	store.fail.Store(1 << 20) // the store fails writes until told otherwise
	f.kit.Advance(time.Minute)
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatal(err)
	}
	ts, err := svc.TokenSource(ctx, e.projectID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := ts.Token(ctx) // the save fails again
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.TokenVersion != c.TokenVersion {
		t.Fatalf("token version %d, want %d (unsaved)", got.TokenVersion, c.TokenVersion)
	}
	// Another process re-authorises the connection.
	u, err := e.svc.Reauthorize(ctx, e.projectID, c.ID, f.scopes)
	if err != nil {
		t.Fatal(err)
	}
	if status, page, _ := e.browse(u, nil); status != 200 || !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") {
		t.Fatalf("re-consent: %d %s", status, page)
	}
	after, _ := e.store.GetConnection(ctx, e.projectID, c.ID)
	store.fail.Store(0)
	tok, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == kept.AccessToken || tok.RefreshToken == kept.RefreshToken {
		t.Fatal("the unpersisted token won over a newer stored version")
	}
	if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.TokenVersion != after.TokenVersion || string(got.Tokens) != string(after.Tokens) {
		t.Fatal("the unpersisted token overwrote the re-authorised one")
	}
	if err := use(ctx, svc, e, f, c); err != nil {
		t.Fatal(err)
	}
}
