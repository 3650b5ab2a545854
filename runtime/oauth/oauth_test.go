package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics"
	dynfake "github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	hsfake "github.com/ampforge/amp/providers/hubspot/fake"
	"github.com/ampforge/amp/providers/salesforce"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/oauth"
	"github.com/ampforge/amp/runtime/seal"
	"github.com/ampforge/amp/runtime/sqlite"
)

const (
	clientID     = "amp-test-client"
	clientSecret = "client-secret-must-stay-sealed"
)

// fakeProvider is one provider's fake and what the tests need to know of it.
type fakeProvider struct {
	name   string
	srv    *httptest.Server
	kit    *fakekit.Kit
	scopes []string
	inputs map[string]string
	// apiPath is a data request that needs a valid token.
	apiPath string
	// refreshes counts refresh_token grants; inFlight and maxInFlight
	// track how many ran at once.
	refreshes, inFlight, maxInFlight atomic.Int64
}

// counting wraps a fake's handler to count refresh grants and how many run
// concurrently; each is slowed down to widen any race.
func (f *fakeProvider) counting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "token") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if v, _ := url.ParseQuery(string(body)); v.Get("grant_type") == "refresh_token" {
				f.refreshes.Add(1)
				n := f.inFlight.Add(1)
				defer f.inFlight.Add(-1)
				for {
					m := f.maxInFlight.Load()
					if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		h.ServeHTTP(w, r)
	})
}

type fakeOpts struct {
	ttl    time.Duration
	rotate bool
}

func newFake(t *testing.T, name string, o fakeOpts) *fakeProvider {
	t.Helper()
	ko := fakekit.Options{ClientID: clientID, ClientSecret: clientSecret, TokenTTL: o.ttl, RotateRefresh: o.rotate, Records: 3,
		Limits: fakekit.Limits{Daily: -1, Window: -1, SearchPerSecond: -1, Concurrency: -1}}
	f := &fakeProvider{name: name}
	var h http.Handler
	switch name {
	case salesforce.Name:
		s := sffake.New(sffake.Options{Options: ko})
		h, f.kit = s, s.Kit()
		f.scopes = []string{"api", "refresh_token"}
		f.apiPath = "/services/data/v59.0/sobjects/"
	case hubspot.Name:
		s := hsfake.New(hsfake.Options{Options: ko})
		h, f.kit = s, s.Kit()
		f.scopes = []string{"oauth", "crm.objects.contacts.read"}
		f.apiPath = "/crm/v3/objects/contacts?limit=1"
	case dynamics.Name:
		s := dynfake.New(dynfake.Options{Options: ko, KeepRefresh: !o.rotate})
		h, f.kit = s, s.Kit()
		f.scopes = []string{"https://{{.workspace}}.crm.dynamics.com/user_impersonation", "offline_access"}
		f.inputs = map[string]string{"workspace": "contoso"}
		f.apiPath = dynfake.APIPath + "contacts?$top=1"
	}
	f.srv = httptest.NewServer(f.counting(h))
	t.Cleanup(f.srv.Close)
	return f
}

// clock is the service's settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	t         *testing.T
	dir       string
	store     *sqlite.Store
	svc       *oauth.Service
	api       *httptest.Server // serves oauth-connect and the callback
	projectID string
	fakes     map[string]*fakeProvider
	clock     *clock
	sealer    *seal.Sealer
}

// newEnv starts a store, the fakes, and a server with the two handlers.
// now, when not nil, is the service's clock (a fake's, for refresh tests).
func newEnv(t *testing.T, now func() time.Time, fakes ...*fakeProvider) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dir: t.TempDir(), fakes: map[string]*fakeProvider{}, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	if now == nil {
		now = e.clock.Now
	}
	var err error
	e.store, err = sqlite.Open(ctx, filepath.Join(e.dir, "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	sealer, err := seal.New(seal.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	e.sealer = sealer
	p := &runtime.Project{Name: "default", AppName: "Test App"}
	if err := e.store.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	e.projectID = p.ID
	endpoints := map[string]string{}
	for _, f := range fakes {
		e.fakes[f.name] = f
		endpoints[f.name] = f.srv.URL
		app := &runtime.ProviderApp{ID: runtime.NewID(), ProjectID: p.ID, Provider: f.name, ClientID: clientID}
		app.ClientSecret, err = sealer.Seal(seal.PurposeClientSecret, []byte(clientSecret), seal.AAD(p.ID, app.ID, "clientSecret"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateProviderApp(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	e.api = httptest.NewServer(mux)
	t.Cleanup(e.api.Close)
	e.svc, err = oauth.New(oauth.Config{
		Store: e.store, Sealer: sealer, PublicURL: e.api.URL, OpenerOrigin: "http://app.example",
		Now: now, Endpoints: endpoints, RefreshMargin: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("POST /v1/oauth-connect", e.svc.ConnectHandler(oauth.ConnectConfig{
		Project: func(_ *http.Request, idOrName string) (string, error) {
			if idOrName != "default" && idOrName != p.ID {
				return "", runtime.Errorf(runtime.ENOTFOUND, "project %s not found", idOrName)
			}
			return p.ID, nil
		},
		Scopes: func(_ context.Context, _, provider string) ([]string, error) {
			if f := e.fakes[provider]; f != nil {
				return f.scopes, nil
			}
			return nil, nil
		},
	}))
	mux.Handle("GET "+oauth.CallbackPath, e.svc.CallbackHandler())
	return e
}

// connect asks the API for an authorize URL, as @amp-labs/react does.
func (e *env) connect(provider, group string) string {
	e.t.Helper()
	md := ""
	for k, v := range e.fakes[provider].inputs {
		md = fmt.Sprintf(`{%q:{"value":%q,"source":"input"}}`, k, v)
	}
	if md == "" {
		md = "{}"
	}
	body := fmt.Sprintf(`{"projectIdOrName":"default","provider":%q,"groupRef":%q,"groupName":"Acme","consumerRef":"user-1","consumerName":"Ada","providerMetadata":%s,"enableCSRFProtection":false}`, provider, group, md)
	resp, err := http.Post(e.api.URL+"/v1/oauth-connect", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		e.t.Fatalf("oauth-connect: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return string(b)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// browse plays the customer's browser: it opens the authorize URL, posts
// the consent form (after edit changes its fields) and follows the
// redirect to the callback. It returns the callback page and its URL.
func (e *env) browse(authorizeURL string, edit func(url.Values)) (status int, page string, callbackURL string) {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(authorizeURL)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("consent page: %d %s", resp.StatusCode, b)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(b), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	form.Set("action", "approve")
	if edit != nil {
		edit(form)
	}
	// <form method="post"> without action posts to the page's own URL.
	resp, err = c.PostForm(authorizeURL, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL.String()
}

var connectionInPage = regexp.MustCompile(`"connection":"([0-9a-f-]{36})"`)

// mustConnect runs the whole flow and returns the connection.
func (e *env) mustConnect(provider, group string) *runtime.Connection {
	e.t.Helper()
	status, page, _ := e.browse(e.connect(provider, group), nil)
	m := connectionInPage.FindStringSubmatch(page)
	if status != 200 || m == nil || !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") {
		e.t.Fatalf("callback page: %d %s", status, page)
	}
	c, err := e.store.GetConnection(context.Background(), e.projectID, m[1])
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// get calls the fake's API as the connection.
func (e *env) get(ctx context.Context, c *runtime.Connection) error {
	client, err := e.svc.Client(ctx, e.projectID, c.ID, nil)
	if err != nil {
		return err
	}
	f := e.fakes[c.Provider]
	resp, err := client.Get(f.srv.URL + f.apiPath)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d %s", f.apiPath, resp.StatusCode, b)
	}
	return nil
}

// dataFiles returns the bytes of every file in the data folder (database,
// WAL and shared memory).
func (e *env) dataFiles() []byte {
	e.t.Helper()
	var all []byte
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(e.dir, de.Name()))
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestConnectFlow(t *testing.T) {
	cases := []struct {
		provider   string
		wantScopes []string
		wantMeta   func(f *fakeProvider) map[string]string
	}{
		{salesforce.Name, []string{"api", "refresh_token"}, func(f *fakeProvider) map[string]string {
			return map[string]string{"instance_url": f.srv.URL, "org_id": "00D000000000001AAA"}
		}},
		{hubspot.Name, []string{"crm.objects.contacts.read", "oauth"}, func(*fakeProvider) map[string]string {
			return map[string]string{"hub_id": fmt.Sprint(hsfake.PortalID)}
		}},
		{dynamics.Name, []string{"https://contoso.crm.dynamics.com/user_impersonation", "offline_access"}, func(*fakeProvider) map[string]string {
			return map[string]string{dynamics.MetaOrgURL: "https://contoso.crm.dynamics.com", "workspace": "contoso"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			f := newFake(t, tc.provider, fakeOpts{})
			e := newEnv(t, nil, f)
			c := e.mustConnect(tc.provider, "acme")
			if c.Provider != tc.provider || c.GroupRef != "acme" || c.ConsumerRef != "user-1" || c.GroupName != "Acme" || c.Status != runtime.ConnectionCreated || c.AuthScheme != runtime.AuthSchemeOAuth2AuthorizationCode {
				t.Errorf("connection = %+v", c)
			}
			if !slices.Equal(c.Scopes, tc.wantScopes) {
				t.Errorf("scopes = %q, want %q", c.Scopes, tc.wantScopes)
			}
			for k, v := range tc.wantMeta(f) {
				if got := c.ProviderMetadata[k].Value; got != v && !(k == "org_id" && got != "") {
					t.Errorf("providerMetadata[%s] = %q, want %q (all: %v)", k, got, v, c.ProviderMetadata)
				}
			}
			if err := e.get(context.Background(), c); err != nil {
				t.Fatalf("using the connection: %v", err)
			}
			// The tokens are sealed: nothing in the data folder shows them.
			ts, err := e.svc.TokenSource(context.Background(), e.projectID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ts.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			data := e.dataFiles()
			for name, secret := range map[string]string{"access token": tok.AccessToken, "refresh token": tok.RefreshToken, "client secret": clientSecret} {
				if secret == "" {
					t.Errorf("%s is empty", name)
				} else if bytes.Contains(data, []byte(secret)) {
					t.Errorf("the data folder contains the %s in plain text", name)
				}
			}
			if bytes.Contains(c.Tokens, []byte(tok.AccessToken)) {
				t.Error("Connection.Tokens is not sealed")
			}
		})
	}
}

func TestCallbackRefusesReusedState(t *testing.T) {
	f := newFake(t, salesforce.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	status, page, callback := e.browse(e.connect(salesforce.Name, "acme"), nil)
	if status != 200 || !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") {
		t.Fatalf("first callback: %d %s", status, page)
	}
	resp, err := http.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "AUTHORIZATION_FAILED") || !strings.Contains(string(b), "already completed") {
		t.Fatalf("replayed callback: %d %s", resp.StatusCode, b)
	}
	// The Go API reports it as a typed error.
	u, _ := url.Parse(callback)
	_, err = e.svc.Callback(context.Background(), u.Query().Get("state"), u.Query().Get("code"))
	if !errors.Is(err, oauth.ErrStateRefused) || runtime.ErrorCode(err) != runtime.EINVALID {
		t.Fatalf("Callback with a used state = %v, want ErrStateRefused", err)
	}
	_, err = e.svc.Callback(context.Background(), "made-up-state-value-0123456789", "code")
	if !errors.Is(err, oauth.ErrStateRefused) {
		t.Fatalf("Callback with an unknown state = %v, want ErrStateRefused", err)
	}
	list, _ := e.store.ListConnections(context.Background(), e.projectID, runtime.ConnectionFilter{})
	if len(list) != 1 {
		t.Fatalf("%d connections, want 1", len(list))
	}
}

func TestCallbackRefusesExpiredState(t *testing.T) {
	f := newFake(t, salesforce.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	authorize := e.connect(salesforce.Name, "acme")
	e.clock.Advance(oauth.StateTTL + time.Second)
	status, page, _ := e.browse(authorize, nil)
	if status != 400 || !strings.Contains(page, "AUTHORIZATION_FAILED") || !strings.Contains(page, "expired") {
		t.Fatalf("late callback: %d %s", status, page)
	}
	if list, _ := e.store.ListConnections(context.Background(), e.projectID, runtime.ConnectionFilter{}); len(list) != 0 {
		t.Fatalf("an expired state made %d connections", len(list))
	}
}

func TestCallbackWrongPKCEVerifier(t *testing.T) {
	f := newFake(t, salesforce.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	u, _ := url.Parse(e.connect(salesforce.Name, "acme"))
	q := u.Query()
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorize URL has no S256 challenge: %s", u)
	}
	// An attacker's challenge: the verifier the server holds does not match.
	q.Set("code_challenge", fakekit.S256("another-verifier-another-verifier-another-verifier"))
	u.RawQuery = q.Encode()
	status, page, _ := e.browse(u.String(), nil)
	if status != 400 || !strings.Contains(page, "AUTHORIZATION_FAILED") || !strings.Contains(page, "refused the authorization code") {
		t.Fatalf("callback with a wrong verifier: %d %s", status, page)
	}
}

func TestCallbackMissingScope(t *testing.T) {
	for _, provider := range []string{salesforce.Name, hubspot.Name} {
		t.Run(provider, func(t *testing.T) {
			f := newFake(t, provider, fakeOpts{})
			f.scopes = append(f.scopes, "extra_scope")
			e := newEnv(t, nil, f)
			status, page, _ := e.browse(e.connect(provider, "acme"), func(v url.Values) {
				// The customer unticks a permission.
				v.Set("scope", strings.Join(slices.DeleteFunc(strings.Fields(v.Get("scope")), func(s string) bool { return s == "extra_scope" }), " "))
			})
			if status != 400 || !strings.Contains(page, "AUTHORIZATION_FAILED") || !strings.Contains(page, "did not grant the scope extra_scope") {
				t.Fatalf("callback without a scope: %d %s", status, page)
			}
			if list, _ := e.store.ListConnections(context.Background(), e.projectID, runtime.ConnectionFilter{}); len(list) != 0 {
				t.Fatalf("a refused scope made %d connections", len(list))
			}
		})
	}
}

func TestCallbackDenied(t *testing.T) {
	f := newFake(t, hubspot.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	status, page, _ := e.browse(e.connect(hubspot.Name, "acme"), func(v url.Values) { v.Set("action", "deny") })
	if status != 400 || !strings.Contains(page, "AUTHORIZATION_FAILED") || !strings.Contains(page, "denied") {
		t.Fatalf("denied: %d %s", status, page)
	}
	if !strings.Contains(page, `"http://app.example"`) {
		t.Errorf("the page does not post to the configured origin: %s", page)
	}
}

func TestReauthorisationUpdatesConnection(t *testing.T) {
	f := newFake(t, dynamics.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	first := e.mustConnect(dynamics.Name, "acme")
	ctx := context.Background()
	if err := e.get(ctx, first); err != nil {
		t.Fatal(err)
	}
	// :oauth-update names the connection.
	u, err := e.svc.Reauthorize(ctx, e.projectID, first.ID, f.scopes)
	if err != nil {
		t.Fatal(err)
	}
	if status, page, _ := e.browse(u, nil); status != 200 || !strings.Contains(page, first.ID) {
		t.Fatalf("oauth-update callback: %d %s", status, page)
	}
	third, _ := e.store.GetConnection(ctx, e.projectID, first.ID)
	if third.TokenVersion != first.TokenVersion+1 || bytes.Equal(third.Tokens, first.Tokens) {
		t.Fatalf("token version after :oauth-update = %d, want %d", third.TokenVersion, first.TokenVersion+1)
	}
	if err := e.get(ctx, third); err != nil {
		t.Fatal(err)
	}
	// Another group gets its own connection.
	other := e.mustConnect(dynamics.Name, "globex")
	if other.ID == first.ID {
		t.Fatal("another group re-authorised the first group's connection")
	}
}

func TestConnectHandlerErrors(t *testing.T) {
	f := newFake(t, hubspot.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	for body, want := range map[string]string{
		`{"projectIdOrName":"default","provider":"hubspot","groupRef":"g","consumerRef":"c","bogus":1}`: `unknown field \"bogus\"`,
		`{"projectIdOrName":"default","provider":"hubspot","groupRef":"g"}`:                             "consumerRef is required",
		`{"projectIdOrName":"default",`: "invalid request body",
		`{"projectIdOrName":"default","provider":"salesforce","groupRef":"g","consumerRef":"c"}`: "no provider app for salesforce",
		`{"projectIdOrName":"other","provider":"hubspot","groupRef":"g","consumerRef":"c"}`:      "not found",
	} {
		resp, err := http.Post(e.api.URL+"/v1/oauth-connect", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 4 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s %s, want a problem naming %q", body, resp.StatusCode, resp.Header.Get("Content-Type"), b, want)
		}
	}
}

func TestImport(t *testing.T) {
	f := newFake(t, hubspot.Name, fakeOpts{ttl: time.Hour})
	e := newEnv(t, nil, f)
	access, refresh := f.kit.Tokens.Issue(fakekit.Grant{ClientID: clientID})
	ctx := context.Background()
	c, err := e.svc.Import(ctx, oauth.ImportRequest{ProjectID: e.projectID, Provider: hubspot.Name, GroupRef: "acme", ConsumerRef: "u",
		AccessToken: access, RefreshToken: refresh, Scopes: []string{"oauth"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.get(ctx, c); err != nil {
		t.Fatal(err)
	}
	data := e.dataFiles()
	if bytes.Contains(data, []byte(access)) || bytes.Contains(data, []byte(refresh)) {
		t.Fatal("imported tokens are stored in plain text")
	}
}

// TestRefreshUnderLoad is acceptance 5: short-lived rotating tokens keep a
// connection working across many refreshes under 20 concurrent users, with
// exactly one refresh per expiry and never two at once; a revoked refresh
// token then turns the connection to bad_credentials.
func TestRefreshUnderLoad(t *testing.T) {
	for _, provider := range []string{hubspot.Name, salesforce.Name, dynamics.Name} {
		t.Run(provider, func(t *testing.T) {
			const ttl = time.Minute
			f := newFake(t, provider, fakeOpts{ttl: ttl, rotate: true})
			e := newEnv(t, f.kit.Now, f) // the service runs on the fake's clock
			c := e.mustConnect(provider, "acme")
			ctx := context.Background()
			const rounds, users, calls = 15, 20, 3
			for round := range rounds {
				if round > 0 {
					f.kit.Advance(ttl) // every access token has expired
				}
				var wg sync.WaitGroup
				errs := make(chan error, users*calls)
				for range users {
					wg.Go(func() {
						for range calls {
							if err := e.get(ctx, c); err != nil {
								errs <- err
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if got := f.refreshes.Load(); got != rounds-1 {
				t.Errorf("%d refreshes for %d expiries", got, rounds-1)
			}
			if got := f.maxInFlight.Load(); got != 1 {
				t.Errorf("%d refreshes in flight at once, want 1", got)
			}
			now, _ := e.store.GetConnection(ctx, e.projectID, c.ID)
			if now.TokenVersion != c.TokenVersion+rounds-1 || now.Status != runtime.ConnectionCreated {
				t.Errorf("after the refreshes: token version %d status %s, want %d created", now.TokenVersion, now.Status, c.TokenVersion+rounds-1)
			}

			// The customer revokes the app.
			f.kit.Tokens.RevokeRefreshTokens()
			f.kit.Advance(ttl)
			before := f.refreshes.Load()
			var wg sync.WaitGroup
			var authErrs atomic.Int64
			for range users {
				wg.Go(func() {
					err := e.get(ctx, c)
					if providers.KindOf(err) == providers.KindAuth {
						authErrs.Add(1)
					} else {
						t.Errorf("after revocation: %v, want a KindAuth error", err)
					}
				})
			}
			wg.Wait()
			if authErrs.Load() != users {
				t.Fatalf("%d of %d users got KindAuth", authErrs.Load(), users)
			}
			if got := f.refreshes.Load() - before; got != 1 {
				t.Errorf("%d refresh attempts after revocation, want 1 (then bad_credentials stops them)", got)
			}
			bad, _ := e.store.GetConnection(ctx, e.projectID, c.ID)
			if bad.Status != runtime.ConnectionBadCredentials {
				t.Fatalf("status after a refused refresh = %s, want bad_credentials", bad.Status)
			}
			// Re-consent (:oauth-update) makes it work again.
			u, err := e.svc.Reauthorize(ctx, e.projectID, c.ID, f.scopes)
			if err != nil {
				t.Fatal(err)
			}
			if status, page, _ := e.browse(u, nil); status != 200 || !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") {
				t.Fatalf("re-consent: %d %s", status, page)
			}
			again, _ := e.store.GetConnection(ctx, e.projectID, c.ID)
			if again.ID != c.ID || again.Status != runtime.ConnectionCreated {
				t.Fatalf("re-consent: %s %s", again.ID, again.Status)
			}
			if err := e.get(ctx, again); err != nil {
				t.Fatalf("after re-consent: %v", err)
			}
		})
	}
}

// TestRefreshByAnotherProcess: a refresh made by another process (another
// Service on the same store) is picked up instead of refreshing again with
// the rotated-out refresh token.
func TestRefreshByAnotherProcess(t *testing.T) {
	f := newFake(t, hubspot.Name, fakeOpts{ttl: time.Minute, rotate: true})
	e := newEnv(t, f.kit.Now, f)
	c := e.mustConnect(hubspot.Name, "acme")
	ctx := context.Background()
	if err := e.get(ctx, c); err != nil {
		t.Fatal(err)
	}
	other, err := oauth.New(oauth.Config{Store: e.store, Sealer: e.sealer, PublicURL: e.api.URL, Now: f.kit.Now,
		Endpoints: map[string]string{hubspot.Name: f.srv.URL}, RefreshMargin: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.kit.Advance(time.Minute)
	client, err := other.Client(ctx, e.projectID, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(f.srv.URL + f.apiPath)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("other process: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := e.get(ctx, c); err != nil {
		t.Fatalf("this process after the other refreshed: %v", err)
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Fatalf("%d refreshes, want 1", got)
	}
	if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.Status != runtime.ConnectionCreated {
		t.Fatalf("status %s", got.Status)
	}
}
