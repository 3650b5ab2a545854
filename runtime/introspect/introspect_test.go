package introspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	_ "github.com/ampforge/amp/providers/all"
	"github.com/ampforge/amp/providers/dynamics"
	dynfake "github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	hsfake "github.com/ampforge/amp/providers/hubspot/fake"
	"github.com/ampforge/amp/providers/salesforce"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/api"
	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/introspect"
	"github.com/ampforge/amp/runtime/oauth"
	"github.com/ampforge/amp/runtime/seal"
	"github.com/ampforge/amp/runtime/sqlite"
)

const (
	clientID     = "amp-test-client"
	clientSecret = "client-secret"
)

type fake struct {
	srv *httptest.Server
	kit *fakekit.Kit
}

func newFake(t *testing.T, provider string) *fake {
	t.Helper()
	ko := fakekit.Options{ClientID: clientID, ClientSecret: clientSecret, TokenTTL: time.Hour, Records: 3,
		Limits: fakekit.Limits{Daily: -1, Window: -1, SearchPerSecond: -1, Concurrency: -1}}
	var h http.Handler
	f := &fake{}
	switch provider {
	case salesforce.Name:
		s := sffake.New(sffake.Options{Options: ko})
		h, f.kit = s, s.Kit()
	case hubspot.Name:
		s := hsfake.New(hsfake.Options{Options: ko})
		h, f.kit = s, s.Kit()
	case dynamics.Name:
		s := dynfake.New(dynfake.Options{Options: ko, KeepRefresh: true})
		h, f.kit = s, s.Kit()
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

type env struct {
	t       *testing.T
	store   *sqlite.Store
	oauth   *oauth.Service
	svc     *introspect.Service
	api     *httptest.Server
	fakes   map[string]*fake
	project string
	key     string
	// other is a second project with its own key.
	other, otherKey string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, fakes: map[string]*fake{}}
	var err error
	e.store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	sealer, err := seal.New(seal.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	endpoints := map[string]string{}
	for _, name := range []string{salesforce.Name, hubspot.Name, dynamics.Name} {
		e.fakes[name] = newFake(t, name)
		endpoints[name] = e.fakes[name].srv.URL
	}
	mkProject := func(name string) (string, string) {
		p := &runtime.Project{Name: name, AppName: "Test"}
		if err := e.store.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		for name := range e.fakes {
			app := &runtime.ProviderApp{ID: runtime.NewID(), ProjectID: p.ID, Provider: name, ClientID: clientID}
			app.ClientSecret, err = sealer.Seal(seal.PurposeClientSecret, []byte(clientSecret), seal.AAD(p.ID, app.ID, "clientSecret"))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateProviderApp(ctx, app); err != nil {
				t.Fatal(err)
			}
		}
		plain, hash := apikey.Generate()
		if err := e.store.CreateAPIKey(ctx, &runtime.APIKey{ProjectID: p.ID, KeyHash: hash, Label: "admin", Scopes: []string{"full"}, Active: true}); err != nil {
			t.Fatal(err)
		}
		return p.ID, plain
	}
	e.project, e.key = mkProject("default")
	e.other, e.otherKey = mkProject("other")
	e.oauth, err = oauth.New(oauth.Config{Store: e.store, Sealer: sealer, PublicURL: "http://amp.test", Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = introspect.New(introspect.Config{Store: e.store, Clients: e.oauth,
		BaseURLs: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Options{Store: e.store, Sealer: sealer})
	a.AddRoutes(introspect.Routes(e.svc, a)...)
	// The revision route belongs to runtime/api; this test route stands in
	// for its dispatch of {revisionId}:hydrate to ServeHydrate.
	h := introspect.NewHandlers(e.svc, a)
	a.AddRoutes(api.Route{Method: "GET", Path: "/v1/projects/{projectIdOrName}/integrations/{integrationId}/test-revisions/{revisionId}",
		Auth: api.AuthKey, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !introspect.IsHydrate(r.PathValue("revisionId")) {
				http.NotFound(w, r)
				return
			}
			h.ServeHydrate(w, r)
		})})
	e.api = httptest.NewServer(a.Handler())
	t.Cleanup(e.api.Close)
	return e
}

// connect imports tokens the fake issued as a connection of project.
func (e *env) connect(project, provider, group string) *runtime.Connection {
	e.t.Helper()
	f := e.fakes[provider]
	access, refresh := f.kit.Tokens.Issue(fakekit.Grant{ClientID: clientID})
	md := map[string]runtime.ProviderMetadataInfo{}
	switch provider {
	case salesforce.Name:
		md["instance_url"] = runtime.ProviderMetadataInfo{Value: f.srv.URL, Source: "token"}
	case dynamics.Name:
		md[dynamics.MetaOrgURL] = runtime.ProviderMetadataInfo{Value: f.srv.URL, Source: "token"}
	}
	c, err := e.oauth.Import(context.Background(), oauth.ImportRequest{ProjectID: project, Provider: provider, GroupRef: group,
		ConsumerRef: "u", AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(time.Hour), ProviderMetadata: md})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// deploy stores the first integration of the manifest file as a revision,
// as integrations:batch does (canonical JSON), after edit.
func (e *env) deploy(project, path string, edit func(map[string]any)) *runtime.Integration {
	e.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	f, diags := manifest.Parse(path, data)
	if f == nil {
		e.t.Fatal(diags)
	}
	b, _ := json.Marshal(f.Value)
	var doc struct{ Integrations []map[string]any }
	if err := json.Unmarshal(b, &doc); err != nil {
		e.t.Fatal(err)
	}
	in := doc.Integrations[0]
	if edit != nil {
		edit(in)
	}
	content, _ := json.Marshal(in)
	res, err := e.store.DeployIntegrations(context.Background(), project, []runtime.IntegrationDeploy{{
		Name: in["name"].(string), Provider: in["provider"].(string), SpecVersion: "1.0.0", Content: content}})
	if err != nil {
		e.t.Fatal(err)
	}
	return &res[0].Integration
}

func (e *env) get(key, path string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.api.URL+path, nil)
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("GET %s: %d: %v", path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

type hydrated struct {
	ID      string `json:"id"`
	Content struct {
		Provider string `json:"provider"`
		Read     struct {
			Objects []hydratedObject `json:"objects"`
		} `json:"read"`
		Write struct {
			Objects []struct{ ObjectName, DisplayName string } `json:"objects"`
		} `json:"write"`
	} `json:"content"`
}

type hydratedObject struct {
	ObjectName         string                                `json:"objectName"`
	DisplayName        string                                `json:"displayName"`
	Error              string                                `json:"error"`
	Destination        string                                `json:"destination"`
	MapToName          string                                `json:"mapToName"`
	OptionalFieldsAuto string                                `json:"optionalFieldsAuto"`
	RequiredFields     []map[string]string                   `json:"requiredFields"`
	OptionalFields     []map[string]string                   `json:"optionalFields"`
	AllFields          []map[string]string                   `json:"allFields"`
	AllFieldsMetadata  map[string]introspect.FieldMetadata   `json:"allFieldsMetadata"`
	Backfill           map[string]map[string]json.RawMessage `json:"backfill"`
}

func (h *hydrated) object(t *testing.T, name string) hydratedObject {
	t.Helper()
	for _, o := range h.Content.Read.Objects {
		if o.ObjectName == name {
			return o
		}
	}
	t.Fatalf("no read object %s in %+v", name, h.Content.Read.Objects)
	return hydratedObject{}
}

func (e *env) hydrate(in *runtime.Integration, conn *runtime.Connection) *hydrated {
	e.t.Helper()
	var h hydrated
	path := "/v1/projects/default/integrations/" + in.ID + "/test-revisions/" + in.LatestRevisionID + ":hydrate?connectionId=" + conn.ID
	if st := e.get(e.key, path, &h); st != http.StatusOK {
		e.t.Fatalf("hydrate: status %d", st)
	}
	return &h
}

func hasField(fields []map[string]string, name string) bool {
	for _, f := range fields {
		if strings.EqualFold(f["fieldName"], name) {
			return true
		}
	}
	return false
}

// checkCustom checks that a custom picklist field made it into the hydrated
// object: metadata with isCustom and values, allFields, and the expanded
// optional fields.
func checkCustom(t *testing.T, o hydratedObject, field string) {
	t.Helper()
	if o.Error != "" {
		t.Fatalf("%s: error %q", o.ObjectName, o.Error)
	}
	fm, ok := o.AllFieldsMetadata[field]
	if !ok {
		t.Fatalf("%s: allFieldsMetadata lacks %s", o.ObjectName, field)
	}
	if !fm.IsCustom || fm.FieldName != field || fm.DisplayName == "" || len(fm.Values) == 0 || fm.ValueType != providers.TypeSingleSelect {
		t.Errorf("%s.%s metadata = %+v, want custom singleSelect with values", o.ObjectName, field, fm)
	}
	for _, v := range fm.Values {
		if v.Value == "" || v.DisplayValue == "" {
			t.Errorf("%s.%s: picklist value %+v", o.ObjectName, field, v)
		}
	}
	if !hasField(o.AllFields, field) {
		t.Errorf("%s: allFields lacks %s", o.ObjectName, field)
	}
	if o.OptionalFieldsAuto != "all" || !hasField(o.OptionalFields, field) {
		t.Errorf("%s: optionalFieldsAuto %q not expanded with %s: %v", o.ObjectName, o.OptionalFieldsAuto, field, o.OptionalFields)
	}
	for _, f := range o.RequiredFields {
		if f["fieldName"] != "" && hasField(o.OptionalFields, f["fieldName"]) {
			t.Errorf("%s: required field %s is also optional", o.ObjectName, f["fieldName"])
		}
		if f["fieldName"] != "" && f["displayName"] == "" {
			t.Errorf("%s: required field %s has no displayName", o.ObjectName, f["fieldName"])
		}
	}
	if o.DisplayName == "" || o.Destination == "" {
		t.Errorf("%s: displayName %q destination %q", o.ObjectName, o.DisplayName, o.Destination)
	}
}

func TestHydrateSalesforce(t *testing.T) {
	e := newEnv(t)
	conn := e.connect(e.project, salesforce.Name, "acme")
	in := e.deploy(e.project, "../../testdata/ampersand-samples/amp-labs__samples__salesforce__amp.yaml", func(in map[string]any) {
		read := in["read"].(map[string]any)
		read["objects"] = append(read["objects"].([]any), map[string]any{"objectName": "nosuchobject__c", "destination": "salesforceWebhook"})
	})
	h := e.hydrate(in, conn)
	acc := h.object(t, "account")
	checkCustom(t, acc, "tier__c")
	if acc.MapToName != "company" || acc.Backfill["defaultPeriod"]["days"] == nil {
		t.Errorf("account: manifest keys not carried through: %+v", acc)
	}
	if acc.DisplayName != "Account" {
		t.Errorf("account displayName = %q", acc.DisplayName)
	}
	// The customer-mapped required field stays as the manifest has it.
	if len(acc.RequiredFields) != 3 || acc.RequiredFields[2]["mapToName"] != "country" || acc.RequiredFields[2]["prompt"] == "" {
		t.Errorf("account requiredFields = %v", acc.RequiredFields)
	}
	if acc.RequiredFields[1]["displayName"] != acc.AllFieldsMetadata["billingcity"].DisplayName {
		t.Errorf("billingcity displayName = %q", acc.RequiredFields[1]["displayName"])
	}
	missing := h.object(t, "nosuchobject__c")
	if missing.Error == "" || missing.DisplayName == "" || len(missing.AllFieldsMetadata) != 0 {
		t.Errorf("missing object = %+v, want an error string", missing)
	}
	if len(h.Content.Write.Objects) != 2 || h.Content.Write.Objects[0].DisplayName != "Account" {
		t.Errorf("write objects = %+v", h.Content.Write.Objects)
	}
}

func TestHydrateHubSpot(t *testing.T) {
	e := newEnv(t)
	conn := e.connect(e.project, hubspot.Name, "acme")
	in := e.deploy(e.project, "../../testdata/ampersand-samples/amp-labs__samples__hubspot__amp.yaml", func(in map[string]any) {
		read := in["read"].(map[string]any)
		read["objects"] = append(read["objects"].([]any), map[string]any{"objectName": "nosuchobject", "destination": "d",
			"optionalFieldsAuto": "all"})
	})
	h := e.hydrate(in, conn)
	checked := 0
	for _, o := range h.Content.Read.Objects {
		if o.ObjectName == "contacts" || o.ObjectName == "companies" {
			checked++
			if o.OptionalFieldsAuto == "all" {
				checkCustom(t, o, hsfake.CustomProperty)
			} else if o.AllFieldsMetadata[hsfake.CustomProperty].FieldName == "" {
				t.Errorf("%s lacks %s", o.ObjectName, hsfake.CustomProperty)
			}
		}
	}
	if checked < 2 {
		t.Errorf("checked %d of contacts and companies", checked)
	}
	if o := h.object(t, "nosuchobject"); o.Error == "" {
		t.Errorf("nosuchobject: no error: %+v", o)
	}
}

func TestHydrateDynamics(t *testing.T) {
	e := newEnv(t)
	conn := e.connect(e.project, dynamics.Name, "acme")
	in := e.deploy(e.project, "../../examples/dynamics/amp.yaml", nil)
	h := e.hydrate(in, conn)
	checkCustom(t, h.object(t, "accounts"), "new_tier")
}

func TestMetadataRoute(t *testing.T) {
	e := newEnv(t)
	conn := e.connect(e.project, salesforce.Name, "acme")
	in := e.deploy(e.project, "../../testdata/ampersand-samples/amp-labs__samples__salesforce__amp.yaml", nil)
	base := "/v1/projects/default/integrations/" + in.ID + "/objects/"

	var m introspect.ObjectMetadata
	if st := e.get(e.key, base+"account/metadata?connectionId="+conn.ID, &m); st != http.StatusOK {
		t.Fatalf("metadata: %d", st)
	}
	if m.Name != "account" || !m.Fields["tier__c"].IsCustom || m.MappedObjectName != "company" {
		t.Errorf("metadata = %+v", m)
	}
	// By mapped name and groupRef; read-only fields left out.
	m = introspect.ObjectMetadata{}
	if st := e.get(e.key, base+"company/metadata?groupRef=acme&excludeReadOnly=true", &m); st != http.StatusOK {
		t.Fatalf("metadata by mapped name: %d", st)
	}
	if m.Name != "account" || m.MappedObjectName != "company" || len(m.Fields) == 0 {
		t.Errorf("metadata = %+v", m)
	}
	for _, f := range m.Fields {
		if f.ReadOnly {
			t.Errorf("excludeReadOnly kept %s", f.FieldName)
		}
	}
	if st := e.get(e.key, base+"nosuchobject__c/metadata?connectionId="+conn.ID, nil); st != http.StatusNotFound {
		t.Errorf("unknown object: %d, want 404", st)
	}
	if st := e.get(e.key, base+"account/metadata", nil); st != http.StatusBadRequest {
		t.Errorf("no connection: %d, want 400", st)
	}

	// Another project's connection is not found, through that project's
	// own integration; and this project's path with the other key is 404.
	otherIn := e.deploy(e.other, "../../testdata/ampersand-samples/amp-labs__samples__salesforce__amp.yaml", nil)
	otherPath := "/v1/projects/other/integrations/" + otherIn.ID + "/objects/account/metadata?connectionId=" + conn.ID
	var p api.Problem
	if st := e.get(e.otherKey, otherPath, &p); st != http.StatusNotFound || strings.Contains(p.Detail, "tier") {
		t.Errorf("other project's connection: %d %+v, want 404", st, p)
	}
	if st := e.get(e.otherKey, base+"account/metadata?connectionId="+conn.ID, nil); st != http.StatusNotFound {
		t.Errorf("other key on this project: %d, want 404", st)
	}
	// Hydrate with another project's connection is 404 too.
	hp := "/v1/projects/other/integrations/" + otherIn.ID + "/test-revisions/" + otherIn.LatestRevisionID + ":hydrate?connectionId=" + conn.ID
	if st := e.get(e.otherKey, hp, nil); st != http.StatusNotFound {
		t.Errorf("hydrate with other project's connection: %d, want 404", st)
	}
}

func TestSampleRead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct{ provider, object, good, bad string }{
		{salesforce.Name, "account", "tier__c", "secret__c"},
		{dynamics.Name, "accounts", "new_tier", "new_secret"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			conn := e.connect(e.project, tc.provider, "acme")
			rec, err := e.svc.SampleRead(ctx, conn, tc.object, []string{"name", tc.good})
			if err != nil || rec == nil || rec.ID == "" {
				t.Fatalf("sample read: %+v, %v", rec, err)
			}
			_, err = e.svc.SampleRead(ctx, conn, tc.object, []string{"name", tc.bad})
			var se *introspect.SampleError
			if !errors.As(err, &se) || !strings.Contains(strings.ToLower(se.Message), tc.bad) {
				t.Fatalf("refused field: %v, want a SampleError naming %s", err, tc.bad)
			}
			t.Logf("%s refusal: %s", tc.provider, se.Message)
		})
	}
}

func TestDescribeCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conn := e.connect(e.project, salesforce.Name, "acme")
	a, err := e.svc.DescribeObject(ctx, conn, "account")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.DescribeObject(ctx, conn, "Account")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("second describe was not served from the cache")
	}
	objs, err := e.svc.ListObjects(ctx, conn)
	if err != nil || len(objs) == 0 {
		t.Fatalf("list objects: %v, %v", objs, err)
	}
}

// TestConnectorRefusesForeignBaseURL: without a Config.BaseURLs override,
// the API base URL a connection's metadata names must be https on the
// provider's own domains, since the connection's token is sent there.
func TestConnectorRefusesForeignBaseURL(t *testing.T) {
	e := newEnv(t)
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(evil.Close)
	svc, err := introspect.New(introspect.Config{Store: e.store, Clients: e.oauth})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		provider, key, base string
		ok                  bool
	}{
		{salesforce.Name, "instance_url", evil.URL, false},
		{salesforce.Name, "instance_url", "https://attacker.example", false},
		{salesforce.Name, "instance_url", "https://salesforce.com.attacker.example", false},
		{salesforce.Name, "instance_url", "https://acme.my.salesforce.com", true},
		{dynamics.Name, dynamics.MetaOrgURL, "http://contoso.crm.dynamics.com", false},
		{dynamics.Name, dynamics.MetaOrgURL, "https://contoso.crm.dynamics.com", true},
		{hubspot.Name, "instance_url", "https://attacker.example", false},
	} {
		c := e.connect(e.project, tc.provider, "g-"+tc.provider+"-"+strings.NewReplacer(":", "", "/", "", ".", "").Replace(tc.base))
		if c.ProviderMetadata == nil {
			c.ProviderMetadata = map[string]runtime.ProviderMetadataInfo{}
		}
		c.ProviderMetadata[tc.key] = runtime.ProviderMetadataInfo{Value: tc.base, Source: "token"}
		_, err := svc.Connector(ctx, c)
		if tc.ok && err != nil {
			t.Errorf("%s %s: %v", tc.provider, tc.base, err)
		}
		if !tc.ok {
			if runtime.ErrorCode(err) != runtime.EINVALID {
				t.Errorf("%s %s: Connector = %v, want EINVALID", tc.provider, tc.base, err)
			}
			if _, err := svc.ListObjects(ctx, c); err == nil {
				t.Errorf("%s %s: ListObjects succeeded", tc.provider, tc.base)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign host received %d requests", n)
	}
}
