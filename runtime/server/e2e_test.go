package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/dynamics"
	dynfake "github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	hsfake "github.com/ampforge/amp/providers/hubspot/fake"
	"github.com/ampforge/amp/providers/salesforce"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime/server"
)

const (
	e2eClientID     = "amp-e2e-client"
	e2eClientSecret = "e2e-client-secret-must-stay-sealed"
)

// e2eProvider is one provider of the end-to-end test: its fake, the
// reference manifest deployed for it and the installation made with it.
type e2eProvider struct {
	name     string
	manifest string
	srv      *httptest.Server
	// scope is one scope the deployed manifest needs.
	scope string
	// metadata is what the customer types in before connecting.
	metadata map[string]any
	// objects is the installation's read config, with field mappings.
	objects map[string]any
	// customField is a custom field the fake customer has, which the
	// hydrated revision must describe.
	customField string
}

// live is a server started with Run on a free port, over HTTP.
type live struct {
	t      *testing.T
	srv    *server.Server
	base   string
	key    string
	cancel context.CancelFunc
	done   chan error
}

func startLive(t *testing.T, dir string, endpoints map[string]string) *live {
	t.Helper()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir, OAuthEndpoints: endpoints,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	l := &live{t: t, srv: srv, base: "http://" + addr.String(), done: make(chan error, 1)}
	if l.base != srv.PublicURL() {
		t.Errorf("public URL %s, want the listen address %s", srv.PublicURL(), l.base)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() { l.done <- srv.Run(ctx) }()
	key, err := os.ReadFile(filepath.Join(dir, server.AdminKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	l.key = strings.TrimSpace(string(key))
	return l
}

func (l *live) stop() {
	l.t.Helper()
	l.cancel()
	if err := <-l.done; err != nil {
		l.t.Errorf("Run = %v", err)
	}
	if err := l.srv.Close(); err != nil {
		l.t.Error(err)
	}
}

// call sends a request with the admin key and returns the answer.
func (l *live) call(method, path string, body any) (int, []byte, http.Header) {
	l.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			l.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.base+path, rd)
	if err != nil {
		l.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", l.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (l *live) must(want int, method, path string, body any, out any) []byte {
	l.t.Helper()
	status, b, _ := l.call(method, path, body)
	if status != want {
		l.t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			l.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

var connectionInPage = regexp.MustCompile(`"connection":"([0-9a-f-]{36})"`)

// browse plays the customer's browser from the authorize URL: it opens the
// fake's consent page, approves, and follows the redirect to the callback.
// It returns the callback's status, page and URL; fakekit.Approve fails
// on a callback that does not answer 2xx, and so does the test.
func browse(t *testing.T, authorizeURL string) (int, string, string) {
	t.Helper()
	callback, page, err := fakekit.Approve(t.Context(), nil, authorizeURL)
	if err != nil {
		t.Fatalf("browse %s: %v", authorizeURL, err)
	}
	return http.StatusOK, page, callback
}

type connJSON struct {
	ID               string
	Provider         string
	Status           string
	Group            struct{ GroupRef string }
	ProviderMetadata map[string]struct{ Value, Source string }
}

type instJSON struct {
	ID            string
	IntegrationID string
	Connection    struct{ ID string }
	Config        struct {
		RevisionID string
		Content    struct {
			Read struct {
				Objects map[string]struct {
					SelectedFieldMappings map[string]string
				}
			}
		}
	}
}

// TestEndToEnd is acceptance 1 (without hydration, which introspection
// adds): a server on a temporary folder with the three fakes; the reference
// samples deployed; the OAuth flow run over HTTP as a browser would;
// installations with field mappings; a restart keeps everything. And the
// security checks that need a real flow: no token in plain text in the
// SQLite files, a reused state refused.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	kit := fakekit.Options{ClientID: e2eClientID, ClientSecret: e2eClientSecret, Records: 3,
		Limits: fakekit.Limits{Daily: -1, Window: -1, SearchPerSecond: -1, Concurrency: -1}}
	provs := []*e2eProvider{
		{name: salesforce.Name, customField: "tier__c", manifest: "../../testdata/ampersand-samples/amp-labs__samples__salesforce__amp.yaml", scope: "api",
			srv: httptest.NewServer(sffake.New(sffake.Options{Options: kit})),
			objects: map[string]any{"account": map[string]any{"objectName": "account", "selectedFields": map[string]bool{"phone": true},
				"selectedFieldMappings": map[string]string{"country": "billingcountry"}}}},
		{name: hubspot.Name, customField: "favorite_color", manifest: "../../testdata/ampersand-samples/amp-labs__samples__hubspot__amp.yaml", scope: "crm.objects.companies.read",
			srv: httptest.NewServer(hsfake.New(hsfake.Options{Options: kit})),
			objects: map[string]any{"companies": map[string]any{"objectName": "companies", "selectedFields": map[string]bool{"domain": true},
				"selectedFieldMappings": map[string]string{"priority": "hs_lead_status"}}}},
		{name: dynamics.Name, customField: "new_tier", manifest: "../../examples/dynamics/amp.yaml", scope: "https://contoso.crm.dynamics.com/user_impersonation",
			srv:      httptest.NewServer(dynfake.New(dynfake.Options{Options: kit})),
			metadata: map[string]any{"workspace": map[string]string{"value": "contoso", "source": "input"}},
			objects: map[string]any{"accounts": map[string]any{"objectName": "accounts", "selectedFields": map[string]bool{"telephone1": true},
				"selectedFieldMappings": map[string]string{"phone": "telephone1"}}}},
	}
	endpoints := map[string]string{}
	for _, p := range provs {
		t.Cleanup(p.srv.Close)
		endpoints[p.name] = p.srv.URL
	}
	dir := t.TempDir()
	l := startLive(t, dir, endpoints)
	const proj = "/v1/projects/default"

	integrations := map[string]integ{} // by provider
	conns := map[string]connJSON{}     // by provider
	installs := map[string]instJSON{}  // by provider
	var callbacks []string
	for _, p := range provs {
		l.must(200, "POST", proj+"/provider-apps", map[string]any{"provider": p.name, "clientId": e2eClientID, "clientSecret": e2eClientSecret}, nil)
		var ints []integ
		l.must(200, "PUT", proj+"/integrations:batch", deployBody(t, p.manifest), &ints)
		if len(ints) != 1 || ints[0].Provider != p.name {
			t.Fatalf("%s: deployed %+v", p.name, ints)
		}
		integrations[p.name] = ints[0]

		// The builder's page asks for the authorize URL (@amp-labs/react).
		body := map[string]any{"projectIdOrName": "default", "provider": p.name, "groupRef": "acme-" + p.name,
			"groupName": "Acme", "consumerRef": "ada", "consumerName": "Ada"}
		if p.metadata != nil {
			body["providerMetadata"] = p.metadata
		}
		status, b, h := l.call("POST", "/v1/oauth-connect", body)
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Fatalf("%s: oauth-connect = %d %s", p.name, status, b)
		}
		authorize := string(b)
		if !strings.HasPrefix(authorize, p.srv.URL) {
			t.Fatalf("%s: authorize URL %s is not at the fake %s", p.name, authorize, p.srv.URL)
		}
		u, _ := url.Parse(authorize)
		if u.Query().Get("scope") == "" || u.Query().Get("redirect_uri") != l.base+"/callbacks/v1/oauth" {
			t.Errorf("%s: authorize URL %s: want the manifest's scopes and the callback", p.name, authorize)
		}
		if scopes := strings.Fields(u.Query().Get("scope")); !slices.Contains(scopes, p.scope) {
			t.Errorf("%s: scopes %q lack %q, which the deployed manifest needs", p.name, scopes, p.scope)
		}
		status, page, callback := browse(t, authorize)
		m := connectionInPage.FindStringSubmatch(page)
		if status != 200 || !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") || m == nil {
			t.Fatalf("%s: callback = %d %s", p.name, status, page)
		}
		callbacks = append(callbacks, callback)
		var c connJSON
		l.must(200, "GET", proj+"/connections/"+m[1], nil, &c)
		if c.Provider != p.name || c.Group.GroupRef != "acme-"+p.name || c.Status != "created" {
			t.Errorf("%s: connection %+v", p.name, c)
		}
		conns[p.name] = c

		var in instJSON
		l.must(201, "POST", proj+"/integrations/"+ints[0].ID+"/installations", map[string]any{
			"groupRef": "acme-" + p.name, "connectionId": c.ID,
			"config": map[string]any{"content": map[string]any{"provider": p.name, "read": map[string]any{"objects": p.objects}}},
		}, &in)
		if in.Connection.ID != c.ID || in.Config.RevisionID != ints[0].LatestRevision.ID {
			t.Errorf("%s: installation %+v", p.name, in)
		}
		installs[p.name] = in

		// The installation UI reads the revision hydrated with this
		// customer's schema: the fake's custom field is among the fields.
		var hydrated struct {
			Content struct {
				Read struct {
					Objects []struct {
						ObjectName        string                     `json:"objectName"`
						AllFieldsMetadata map[string]json.RawMessage `json:"allFieldsMetadata"`
					} `json:"objects"`
				} `json:"read"`
			} `json:"content"`
		}
		l.must(200, "GET", proj+"/integrations/"+ints[0].ID+"/revisions/"+ints[0].LatestRevision.ID+":hydrate?connectionId="+c.ID, nil, &hydrated)
		found := false
		for _, o := range hydrated.Content.Read.Objects {
			if meta, ok := o.AllFieldsMetadata[p.customField]; ok && strings.Contains(string(meta), `"isCustom":true`) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: hydrated revision lacks the custom field %s: %+v", p.name, p.customField, hydrated)
		}
	}
	// Provider metadata was captured from each token.
	if v := conns[salesforce.Name].ProviderMetadata["instance_url"].Value; v == "" {
		t.Errorf("salesforce connection has no instance_url: %+v", conns[salesforce.Name])
	}
	if v := conns[hubspot.Name].ProviderMetadata["hub_id"].Value; v == "" {
		t.Errorf("hubspot connection has no hub_id: %+v", conns[hubspot.Name])
	}
	if v := conns[dynamics.Name].ProviderMetadata[dynamics.MetaOrgURL].Value; !strings.Contains(v, "contoso") {
		t.Errorf("dynamics connection has org URL %q", v)
	}

	// @amp-labs/react patches the connection with its whole providerMetadata
	// plus the input it asked for: unchanged token entries are accepted, a
	// changed one is not.
	sf := conns[salesforce.Name]
	md := map[string]any{}
	for k, v := range sf.ProviderMetadata {
		md[k] = map[string]string{"value": v.Value, "source": v.Source}
	}
	md["loginHost"] = map[string]string{"value": "production", "source": "input"}
	patch := map[string]any{"updateMask": []string{"providerMetadata"}, "connection": map[string]any{"providerMetadata": md}}
	l.must(200, "PATCH", proj+"/connections/"+sf.ID, patch, nil)
	md["instance_url"] = map[string]string{"value": "https://elsewhere.example", "source": "token"}
	if status, b, _ := l.call("PATCH", proj+"/connections/"+sf.ID, patch); status != 400 || !strings.Contains(string(b), "instance_url") {
		t.Errorf("PATCH changing the token's instance_url = %d %s, want 400 naming it", status, b)
	}

	// A reused state is refused, and makes no second connection.
	status, b, _ := l.call("GET", strings.TrimPrefix(callbacks[0], l.base), nil)
	if status != 400 || !strings.Contains(string(b), "AUTHORIZATION_FAILED") {
		t.Errorf("replayed callback = %d %s", status, b)
	}
	var list []connJSON
	l.must(200, "GET", proj+"/connections", nil, &list)
	if len(list) != len(provs) {
		t.Errorf("%d connections, want %d", len(list), len(provs))
	}
	l.must(200, "GET", proj+"/connections?provider="+hubspot.Name, nil, &list)
	if len(list) != 1 || list[0].ID != conns[hubspot.Name].ID {
		t.Errorf("hubspot connections = %+v", list)
	}

	// The tokens are sealed: the SQLite files never hold them in plain text,
	// and the API never shows them.
	ctx := context.Background()
	var secrets []string
	for _, p := range provs {
		ts, err := l.srv.OAuth().TokenSource(ctx, installsProject(t, l), conns[p.name].ID)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.Token(ctx)
		if err != nil {
			t.Fatalf("%s: token: %v", p.name, err)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("%s: empty token", p.name)
		}
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	}
	for _, path := range []string{proj + "/connections", proj + "/installations"} {
		_, b, _ := l.call("GET", path, nil)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("GET %s shows a token", path)
			}
		}
	}
	l.stop()
	checkNoSecrets(t, dir, append(secrets, e2eClientSecret))

	// Restart on the same folder: everything is still there.
	l = startLive(t, dir, endpoints)
	defer l.stop()
	for _, p := range provs {
		var c connJSON
		l.must(200, "GET", proj+"/connections/"+conns[p.name].ID, nil, &c)
		if c.Provider != p.name {
			t.Errorf("after restart: connection %+v", c)
		}
		in := installs[p.name]
		var got instJSON
		l.must(200, "GET", proj+"/integrations/"+in.IntegrationID+"/installations/"+in.ID, nil, &got)
		if got.Connection.ID != c.ID || got.Config.RevisionID != integrations[p.name].LatestRevision.ID {
			t.Errorf("after restart: installation %+v", got)
		}
		for obj, cfg := range p.objects {
			want := cfg.(map[string]any)["selectedFieldMappings"].(map[string]string)
			for k, v := range want {
				if got.Config.Content.Read.Objects[obj].SelectedFieldMappings[k] != v {
					t.Errorf("after restart: %s mapping %s = %+v", obj, k, got.Config.Content.Read.Objects[obj])
				}
			}
		}
		var revs []struct{ ID string }
		l.must(200, "GET", proj+"/integrations/"+in.IntegrationID+"/revisions", nil, &revs)
		if len(revs) != 1 || revs[0].ID != integrations[p.name].LatestRevision.ID {
			t.Errorf("after restart: revisions %+v", revs)
		}
		// The connection still works: its token source opens the sealed
		// tokens with the same key.
		if _, err := l.srv.OAuth().TokenSource(ctx, installsProject(t, l), c.ID); err != nil {
			t.Errorf("after restart: token source: %v", err)
		}
	}

	// A connection in use cannot be deleted; the answer names the
	// installation.
	status, b, _ = l.call("DELETE", proj+"/connections/"+sf.ID, nil)
	if status != 409 || !strings.Contains(string(b), installs[salesforce.Name].ID) {
		t.Errorf("delete a connection in use = %d %s", status, b)
	}

	// :oauth-update re-authorises the same connection.
	status, b, _ = l.call("PATCH", proj+"/connections/"+sf.ID+":oauth-update", nil)
	if status != 200 || !strings.HasPrefix(string(b), provs[0].srv.URL) {
		t.Fatalf("oauth-update = %d %s", status, b)
	}
	status, page, _ := browse(t, string(b))
	if m := connectionInPage.FindStringSubmatch(page); status != 200 || m == nil || m[1] != sf.ID {
		t.Errorf("re-authorisation callback = %d %s, want connection %s", status, page, sf.ID)
	}
	l.must(200, "GET", proj+"/connections", nil, &list)
	if len(list) != len(provs) {
		t.Errorf("after re-authorisation: %d connections", len(list))
	}
}

// installsProject returns the ID of project default.
func installsProject(t *testing.T, l *live) string {
	t.Helper()
	var p struct{ ID string }
	l.must(200, "GET", "/v1/projects/default", nil, &p)
	return p.ID
}

// checkNoSecrets fails when a file of the data folder holds one of secrets.
func checkNoSecrets(t *testing.T, dir string, secrets []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, server.DBFileName+"*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	sawClient := false
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds secret %d in plain text (%.8s...)", filepath.Base(f), i, s)
			}
		}
		sawClient = sawClient || bytes.Contains(data, []byte(e2eClientID))
	}
	if !sawClient {
		t.Error("the client id is in no database file: the scan does not see the data")
	}
}

// TestConnectionRoutes covers what the flow test does not: imports, strict
// bodies, no credentials, the update mask.
func TestConnectionRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	const proj = "/v1/projects/default"
	const access, refresh = "imported-access-token-3f9a1c", "imported-refresh-token-8b2d7e"
	gen := map[string]any{"provider": salesforce.Name, "groupRef": "g1", "consumerRef": "u1",
		"providerMetadata": map[string]any{"instance_url": map[string]string{"value": "https://acme.my.salesforce.com", "source": "input"}},
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}, "scopes": []string{"api", "refresh_token"}}}
	// No provider app yet: refreshes would be impossible.
	e.must(422, "POST", proj+"/connections:generate", gen)
	e.must(200, "POST", proj+"/provider-apps", map[string]any{"provider": salesforce.Name, "clientId": "cid", "clientSecret": "cs"})
	r := e.must(201, "POST", proj+"/connections:generate", gen)
	var c connJSON
	r.json(t, &c)
	if c.Provider != salesforce.Name || c.Group.GroupRef != "g1" || strings.Contains(string(r.body), access) || strings.Contains(string(r.body), refresh) {
		t.Errorf("imported connection %s", r.body)
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, server.DBFileName+"*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte(access)) || bytes.Contains(data, []byte(refresh)) {
			t.Errorf("%s holds an imported token in plain text", filepath.Base(f))
		}
	}
	for _, body := range []string{
		`{"provider":"salesforce","groupRef":"g1","consumerRef":"u1","oauth2AuthorizationCode":{"accessToken":{"token":"x"}},"colour":1}`,
		`{"provider":"salesforce","consumerRef":"u1","oauth2AuthorizationCode":{"accessToken":{"token":"x"}}}`,
		`{"provider":"salesforce","groupRef":"g1","consumerRef":"u1"`,
	} {
		if r := e.do("POST", proj+"/connections:generate", e.key, body); r.status != 400 {
			t.Errorf("generate %s = %d %s, want 400", body, r.status, r.body)
		}
	}
	if r := e.do("POST", proj+"/connections:generate", e.key, `{"provider":"salesforce","groupRef":"g1","consumerRef":"u1","apiKey":"k"}`); r.status != 422 {
		t.Errorf("generate an apiKey connection = %d %s, want 422", r.status, r.body)
	}
	path := proj + "/connections/" + c.ID
	e.must(200, "GET", path, nil)
	e.must(400, "GET", path+"?includeCreds=true", nil)
	e.must(400, "GET", path+"?includeRefreshToken=true", nil)
	e.must(404, "GET", proj+"/connections/nope", nil)
	e.must(200, "PATCH", path, map[string]any{"updateMask": []string{"providerWorkspaceRef"}, "connection": map[string]any{"providerWorkspaceRef": "acme"}}).json(t, &c)
	e.must(400, "PATCH", path, map[string]any{"updateMask": []string{"apiKey"}, "connection": map[string]any{}})
	e.must(404, "PATCH", path+":frobnicate", nil)
	// oauth-connect's body is strict too: 400 naming the field.
	if r := e.do("POST", "/v1/oauth-connect", e.key, `{"projectIdOrName":"default","provider":"salesforce","groupRef":"g","consumerRef":"u","bogus":1}`); r.status != 400 || !strings.Contains(string(r.body), "bogus") {
		t.Errorf("oauth-connect with an unknown field = %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/oauth-connect", "", `{}`); r.status != 401 {
		t.Errorf("oauth-connect without a key = %d", r.status)
	}
	_, other := e.project("other")
	if r := e.do("POST", "/v1/oauth-connect", other, `{"projectIdOrName":"default","provider":"salesforce","groupRef":"g","consumerRef":"u"}`); r.status != 404 {
		t.Errorf("oauth-connect for another project = %d %s", r.status, r.body)
	}
	e.must(204, "DELETE", path, nil)
	e.must(404, "GET", path, nil)
}
