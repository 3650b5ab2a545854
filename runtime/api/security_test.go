package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/ampforge/amp/providers/all"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/api"
	"github.com/ampforge/amp/runtime/api/apitest"
	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/oauth"
	"github.com/ampforge/amp/runtime/seal"
	"github.com/ampforge/amp/runtime/sqlite"
)

// env is the api package over a real sqlite store, sealer and OAuth
// service, with a counting sampler.
type env struct {
	t       *testing.T
	dir     string
	store   *sqlite.Store
	a       *api.API
	h       http.Handler
	samples atomic.Int32
	// oauth is the service behind :oauth-update, for tests that mount
	// oauth-connect as the server does.
	oauth *oauth.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	key, _, err := seal.LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := oauth.New(oauth.Config{Store: store, Sealer: sealer, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, store: store, oauth: svc}
	e.a = api.New(api.Options{Store: store, Sealer: sealer, OAuth: svc})
	e.a.SetSampler(func(context.Context, string, string, string, []string) error {
		e.samples.Add(1)
		return nil
	})
	return e
}

func (e *env) handler() http.Handler {
	if e.h == nil {
		e.h = e.a.Handler()
	}
	return e.h
}

// project creates a project and a key with scopes.
func (e *env) project(name string, scopes ...string) (*runtime.Project, string) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.store.GetProjectByName(ctx, name)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		p = &runtime.Project{Name: name, AppName: name}
		err = e.store.CreateProject(ctx, p)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	plain, hash := apikey.Generate()
	if err := e.store.CreateAPIKey(ctx, &runtime.APIKey{ProjectID: p.ID, KeyHash: hash, Label: "k", Scopes: scopes, Active: true}); err != nil {
		e.t.Fatal(err)
	}
	return p, plain
}

type resp struct {
	status int
	ctype  string
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(method, path, key string, body any) resp {
	e.t.Helper()
	r := apitest.Do(e.t, e.handler(), method, path, key, body)
	return resp{r.Status, r.Header.Get("Content-Type"), r.Body}
}

func (e *env) must(want int, method, path, key string, body any) resp {
	e.t.Helper()
	r := e.do(method, path, key, body)
	if r.status != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

func deployBody(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../examples/salesforce/amp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"sourceYaml": string(data)}
}

// world is project A with one of every resource, by real id.
type world struct {
	proj                                *runtime.Project
	key                                 string
	integID, integName, revID           string
	instID, connID, appID, destID, dest string
	otherKeyID, otherKey                string
	// opID is an operation of the installation.
	opID string
}

const access, refresh = "imported-access-token-5e1c0b7a", "imported-refresh-token-92d4f1aa"

func (e *env) world(name string) world {
	e.t.Helper()
	t := e.t
	var w world
	w.proj, w.key = e.project(name)
	pp := "/v1/projects/" + name
	var ints []struct {
		ID, Name       string
		LatestRevision struct{ ID string }
	}
	e.must(200, "PUT", pp+"/integrations:batch", w.key, deployBody(t)).json(t, &ints)
	w.integID, w.integName, w.revID = ints[0].ID, ints[0].Name, ints[0].LatestRevision.ID
	var app struct{ ID string }
	e.must(200, "POST", pp+"/provider-apps", w.key, map[string]any{"provider": "salesforce", "clientId": "cid", "clientSecret": "cs"}).json(t, &app)
	w.appID = app.ID
	var conn struct{ ID string }
	e.must(201, "POST", pp+"/connections:generate", w.key, generateBody("acme", nil)).json(t, &conn)
	w.connID = conn.ID
	var in struct{ ID string }
	e.must(201, "POST", pp+"/integrations/"+w.integID+"/installations?skipSampling=true", w.key,
		map[string]any{"groupRef": "acme", "connectionId": w.connID, "config": map[string]any{"content": map[string]any{}}}).json(t, &in)
	w.instID = in.ID
	var d struct{ ID, Name string }
	e.must(201, "POST", pp+"/destinations", w.key, map[string]any{"name": "hook-" + name, "type": "webhook",
		"metadata": map[string]any{"url": "https://example.com/hook"}}).json(t, &d)
	w.destID, w.dest = d.ID, d.Name
	var k struct{ ID, Key string }
	e.must(201, "POST", pp+"/api-keys", w.key, map[string]any{"label": "second"}).json(t, &k)
	w.otherKeyID, w.otherKey = k.ID, k.Key
	op := &runtime.Operation{ProjectID: w.proj.ID, IntegrationID: w.integID, InstallationID: w.instID, ObjectName: "account",
		ActionType: runtime.ActionRead, ReadType: runtime.ReadTriggered, Estimated: -1}
	if err := e.store.CreateOperation(context.Background(), op, false); err != nil {
		t.Fatal(err)
	}
	w.opID = op.ID
	return w
}

func generateBody(group string, md map[string]any) map[string]any {
	if md == nil {
		md = map[string]any{"instance_url": map[string]string{"value": "https://acme.my.salesforce.com", "source": "input"}}
	}
	return map[string]any{"provider": "salesforce", "groupRef": group, "consumerRef": "u-" + group,
		"providerMetadata": md,
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}, "scopes": []string{"api", "refresh_token"}}}
}

// fill puts values into a route's path wildcards.
func fill(path string, vals map[string]string) string {
	for k, v := range vals {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return path
}

// validBodies make each mutating route get past its body checks, so the
// answer is decided by the lookup.
func validBodies(groupRef, instID string) map[string]any {
	const p = "/v1/projects/{projectIdOrName}"
	return map[string]any{
		"PATCH " + p + "/provider-apps/{providerAppId}":             map[string]any{"updateMask": []string{"clientId"}, "providerApp": map[string]any{"clientId": "x"}},
		"POST " + p + "/integrations/{integrationId}/installations": map[string]any{"groupRef": groupRef, "config": map[string]any{"content": map[string]any{}}},
		"PATCH " + p + "/integrations/{integrationId}/installations/{installationId}": map[string]any{"updateMask": []string{"config.createdBy"},
			"installation": map[string]any{"config": map[string]any{"createdBy": "x"}}},
		"PATCH " + p + "/integrations/{integrationId}/objects/{objectName}/config-content": map[string]any{"installationId": instID, "action": "read",
			"changes": []map[string]any{{"op": "replace", "path": "/disabled", "value": true}}},
		"PATCH " + p + "/connections/{connectionId}":                       map[string]any{"updateMask": []string{"providerWorkspaceRef"}, "connection": map[string]any{"providerWorkspaceRef": "x"}},
		"PATCH " + p + "/destinations/{destination}":                       map[string]any{"updateMask": []string{"name"}, "destination": map[string]any{"name": "x"}},
		"PATCH " + p + "/api-keys/{apiKey}":                                map[string]any{"updateMask": []string{"label"}, "apiKey": map[string]any{"label": "x"}},
		"POST " + p + "/integrations/{integrationId}/objects/{objectName}": map[string]any{"groupRef": groupRef, "mode": "async"},
	}
}

// TestFrontendKeyScopes walks every route with a frontend key: full-only
// routes answer 403 problem+json, the routes @amp-labs/react calls do not.
// The expected set is written out here, not read from the route table.
func TestFrontendKeyScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Added routes: the zero Scope is full.
	e.a.AddRoutes(
		api.Route{Method: "GET", Path: "/v1/ext-default", Auth: api.AuthKey, Handler: http.NotFoundHandler()},
		api.Route{Method: "GET", Path: "/v1/ext-frontend", Auth: api.AuthKey, Scope: api.ScopeFrontend, Handler: http.NotFoundHandler()},
	)
	e.a.SetHydrate(http.NotFoundHandler())
	w := e.world("default")
	_, front := e.project("default", "frontend")
	_, full := e.project("default", "full")
	_, both := e.project("default", "frontend", "full")
	const p = "/v1/projects/{projectIdOrName}"
	frontendOK := map[string]bool{
		"GET " + p:                   true,
		"GET " + p + "/integrations": true,
		"GET " + p + "/integrations/{integrationIdOrName}":                                 true,
		"GET " + p + "/integrations/{integrationId}/revisions":                             true,
		"GET " + p + "/integrations/{integrationId}/revisions/{revisionId}":                true,
		"GET " + api.HydratePath:                                                           true,
		"GET " + p + "/installations":                                                      true,
		"GET " + p + "/integrations/{integrationId}/installations":                         true,
		"POST " + p + "/integrations/{integrationId}/installations":                        true,
		"GET " + p + "/integrations/{integrationId}/installations/{installationId}":        true,
		"PATCH " + p + "/integrations/{integrationId}/installations/{installationId}":      true,
		"DELETE " + p + "/integrations/{integrationId}/installations/{installationId}":     true,
		"PATCH " + p + "/integrations/{integrationId}/objects/{objectName}/config-content": true,
		"GET " + p + "/connections":                                                        true,
		"GET " + p + "/provider-apps":                                                      true,
		"GET " + p + "/provider-apps/{providerAppId}":                                      true,
		"GET " + p + "/connections/{connectionId}":                                         true,
		"GET /v1/ext-frontend":                                                             true,
	}
	vals := map[string]string{"projectIdOrName": "default", "integrationIdOrName": w.integID, "integrationId": w.integID,
		"revisionId": w.revID, "installationId": w.instID, "connectionId": w.connID, "providerAppId": w.appID,
		"destination": w.destID, "apiKey": w.otherKeyID, "objectName": "account", "operationId": w.opID}
	bodies := validBodies("acme", w.instID)
	n := 0
	for _, rt := range e.a.AllRoutes() {
		if rt.Auth != api.AuthKey {
			continue
		}
		n++
		id := rt.Method + " " + rt.Path
		path := fill(rt.Path, vals)
		if rt.Path == api.HydratePath {
			path = fill(strings.TrimSuffix(rt.Path, ":hydrate"), vals) + ":hydrate"
		}
		body := bodies[id]
		if body == nil {
			body = "{}"
		}
		r := e.do(rt.Method, path, front, body)
		if frontendOK[id] {
			if r.status == 403 {
				t.Errorf("%s with a frontend key = 403 %s, want it served", id, r.body)
			}
			continue
		}
		var pr struct {
			Type   string
			Status int
		}
		if r.status != 403 || r.ctype != "application/problem+json" || json.Unmarshal(r.body, &pr) != nil || pr.Status != 403 || pr.Type != "urn:amp:problem:forbidden" {
			t.Errorf("%s with a frontend key = %d %s %s, want 403 problem+json", id, r.status, r.ctype, r.body)
		}
	}
	if n < 35 {
		t.Errorf("walked only %d authenticated routes", n)
	}
	// :oauth-update shares PATCH .../connections/{id}: frontend keys may
	// re-authorise (the UI's Re-authenticate), not update.
	if r := e.do("PATCH", "/v1/projects/default/connections/"+w.connID+":oauth-update", front, nil); r.status == 403 {
		t.Errorf(":oauth-update with a frontend key = 403 %s", r.body)
	}
	// A frontend key can no longer mint a full key or read a signing secret.
	e.must(403, "POST", "/v1/projects/default/api-keys", front, map[string]any{"label": "steal", "scopes": []string{"full"}})
	e.must(403, "GET", "/v1/projects/default/destinations/"+w.destID, front, nil)
	// Keys with full, with both, or with no scopes are full keys.
	for _, k := range []string{full, both, w.key} {
		e.must(200, "GET", "/v1/projects/default/api-keys", k, nil)
		e.must(200, "GET", "/v1/projects/default/provider-apps/"+w.appID, k, nil)
	}
	// Another project's path is 404 before the scope is looked at.
	e.project("other")
	if r := e.do("GET", "/v1/projects/other/api-keys", front, nil); r.status != 404 {
		t.Errorf("frontend key on another project's full-only route = %d, want 404", r.status)
	}
}

// TestCrossProjectRealIDs: project B's key on project B's path with
// project A's real ids answers 404 on every route that takes an id, and B's
// lists show nothing of A's.
func TestCrossProjectRealIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.world("alpha")
	_, keyB := e.project("beta")
	// B has a connection in the same group name, so only the ids differ.
	e.must(200, "POST", "/v1/projects/beta/provider-apps", keyB, map[string]any{"provider": "salesforce", "clientId": "cid-b"})
	e.must(201, "POST", "/v1/projects/beta/connections:generate", keyB, generateBody("acme", nil))

	bodies := validBodies("acme", a.instID)
	variants := []map[string]string{
		{"integrationIdOrName": a.integID, "destination": a.destID, "apiKey": a.otherKeyID},
		{"integrationIdOrName": a.integName, "destination": a.dest, "apiKey": a.otherKey},
	}
	aIDs := []string{a.integID, a.revID, a.instID, a.connID, a.appID, a.destID, a.otherKeyID, a.proj.ID, a.opID}
	n := 0
	for _, rt := range e.a.AllRoutes() {
		if !strings.Contains(rt.Path, "{projectIdOrName}") {
			continue
		}
		body := bodies[rt.Method+" "+rt.Path]
		if body == nil {
			body = "{}"
		}
		for _, v := range variants {
			vals := map[string]string{"projectIdOrName": "beta", "integrationId": a.integID, "revisionId": a.revID,
				"installationId": a.instID, "connectionId": a.connID, "providerAppId": a.appID, "objectName": "account",
				"operationId": a.opID}
			for k, x := range v {
				vals[k] = x
			}
			path := fill(rt.Path, vals)
			if path == fill(rt.Path, map[string]string{"projectIdOrName": "beta"}) {
				// No id in the path: a list or a create. Lists must not
				// show A's rows.
				if rt.Method == "GET" {
					r := e.do("GET", path, keyB, nil)
					for _, id := range aIDs {
						if bytes.Contains(r.body, []byte(id)) {
							t.Errorf("GET %s with B's key shows A's id %s: %s", path, id, r.body)
						}
					}
				}
				continue
			}
			n++
			if r := e.do(rt.Method, path, keyB, body); r.status != 404 {
				t.Errorf("%s %s with project A's ids = %d %s, want 404", rt.Method, path, r.status, r.body)
			}
		}
	}
	if n < 40 {
		t.Errorf("checked only %d route variants with ids", n)
	}
	// A's resources are all still there.
	e.must(200, "GET", "/v1/projects/alpha/connections/"+a.connID, a.key, nil)
	e.must(200, "GET", "/v1/projects/alpha/api-keys/"+a.otherKey, a.key, nil)
	e.must(200, "GET", "/v1/projects/alpha/integrations/"+a.integID+"/installations/"+a.instID, a.key, nil)

	// The imported tokens are in no database file; the group ref is, so
	// the scan does see the data.
	files, _ := filepath.Glob(filepath.Join(e.dir, "amp.db*"))
	sawGroup := false
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(access)) || bytes.Contains(data, []byte(refresh)) {
			t.Errorf("%s holds an imported token in plain text", filepath.Base(f))
		}
		sawGroup = sawGroup || bytes.Contains(data, []byte("u-acme"))
	}
	if len(files) == 0 || !sawGroup {
		t.Errorf("the scan of %v does not see the data", files)
	}
}

// TestConnectionMetadataReadOnly: PATCH may set workspace and loginHost
// only, as input; the token's entries stay. connections:generate takes the
// inputs and the API base only.
func TestConnectionMetadataReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.world("default")
	path := "/v1/projects/default/connections/" + w.connID
	type md map[string]struct{ Value, Source string }
	var c struct{ ProviderMetadata md }
	e.must(200, "GET", path, w.key, nil).json(t, &c)
	if got := c.ProviderMetadata["instance_url"]; got.Value != "https://acme.my.salesforce.com" || got.Source != "token" {
		t.Fatalf("imported instance_url = %+v, want source token", got)
	}
	for _, k := range []string{"instance_url", "orgURL", "hub_id", "user_id"} {
		r := e.do("PATCH", path, w.key, map[string]any{"updateMask": []string{"providerMetadata"},
			"connection": map[string]any{"providerMetadata": map[string]any{k: map[string]string{"value": "https://evil.example", "source": "token"}}}})
		if r.status != 400 || !strings.Contains(string(r.body), k) {
			t.Errorf("PATCH providerMetadata.%s = %d %s, want 400 naming it", k, r.status, r.body)
		}
	}
	e.must(200, "PATCH", path, w.key, map[string]any{"updateMask": []string{"providerMetadata"},
		"connection": map[string]any{"providerMetadata": map[string]any{
			"workspace": map[string]string{"value": "acme-dev-ed", "source": "token"},
			"loginHost": map[string]string{"value": "sandbox", "source": "provider"}}}}).json(t, &c)
	if c.ProviderMetadata["workspace"].Source != "input" || c.ProviderMetadata["loginHost"].Source != "input" ||
		c.ProviderMetadata["workspace"].Value != "acme-dev-ed" {
		t.Errorf("patched metadata = %+v, want workspace and loginHost as input", c.ProviderMetadata)
	}
	if got := c.ProviderMetadata["instance_url"]; got.Value != "https://acme.my.salesforce.com" || got.Source != "token" {
		t.Errorf("a patch changed instance_url: %+v", got)
	}
	// An entry the token gave cannot be overwritten, even workspace.
	e.must(201, "POST", "/v1/projects/default/connections:generate", w.key, generateBody("tok", nil))
	ctx := context.Background()
	conns, _ := e.store.ListConnections(ctx, w.proj.ID, runtime.ConnectionFilter{GroupRef: "tok"})
	tokMD := map[string]runtime.ProviderMetadataInfo{"workspace": {Value: "real", Source: "token"}}
	if _, err := e.store.UpdateConnection(ctx, w.proj.ID, conns[0].ID, runtime.ConnectionUpdate{ProviderMetadata: tokMD}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("PATCH", "/v1/projects/default/connections/"+conns[0].ID, w.key, map[string]any{"updateMask": []string{"providerMetadata"},
		"connection": map[string]any{"providerMetadata": map[string]any{"workspace": map[string]string{"value": "mine", "source": "input"}}}}); r.status != 400 || !strings.Contains(string(r.body), "workspace") {
		t.Errorf("PATCH over a token's workspace = %d %s, want 400", r.status, r.body)
	}

	// generate: token-derived keys other than the API base are refused.
	for k, v := range map[string]string{"hub_id": "1", "user_id": "u", "instance_url": "javascript:alert(1)"} {
		r := e.do("POST", "/v1/projects/default/connections:generate", w.key, generateBody("g-"+k,
			map[string]any{k: map[string]string{"value": v, "source": "token"}}))
		if r.status != 400 || !strings.Contains(string(r.body), k) {
			t.Errorf("generate with providerMetadata.%s = %d %s, want 400 naming it", k, r.status, r.body)
		}
	}
}

// TestSampleRefusesOtherGroupsConnection: an installation save that names
// another group's connection makes no provider call and answers what the
// store answers.
func TestSampleRefusesOtherGroupsConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.world("default")
	base := "/v1/projects/default/integrations/" + w.integID + "/installations"
	content := map[string]any{"read": map[string]any{"objects": map[string]any{"account": map[string]any{"objectName": "account",
		"selectedFields": map[string]bool{"phone": true}, "selectedFieldMappings": map[string]string{"country": "billingcountry"}}}}}
	create := map[string]any{"groupRef": "victim-not", "connectionId": w.connID, "config": map[string]any{"content": content}}
	// What the store says, without sampling.
	want := e.must(422, "POST", base+"?skipSampling=true", w.key, create)
	e.samples.Store(0)
	got := e.must(422, "POST", base, w.key, create)
	if n := e.samples.Load(); n != 0 {
		t.Errorf("create with another group's connection made %d sample reads", n)
	}
	var pw, pg struct{ Detail string }
	want.json(t, &pw)
	got.json(t, &pg)
	if pw.Detail == "" || pw.Detail != pg.Detail {
		t.Errorf("detail = %q, want the store's %q", pg.Detail, pw.Detail)
	}
	// Patch: move group acme's installation to group other's connection.
	var other struct{ ID string }
	e.must(201, "POST", "/v1/projects/default/connections:generate", w.key, generateBody("other", nil)).json(t, &other)
	patch := map[string]any{"updateMask": []string{"connectionId", "config.content.read.objects.account"},
		"installation": map[string]any{"connectionId": other.ID, "config": map[string]any{"content": content}}}
	inst := base + "/" + w.instID
	want = e.must(422, "PATCH", inst+"?skipSampling=true", w.key, patch)
	e.samples.Store(0)
	got = e.must(422, "PATCH", inst, w.key, patch)
	if n := e.samples.Load(); n != 0 {
		t.Errorf("patch to another group's connection made %d sample reads", n)
	}
	want.json(t, &pw)
	got.json(t, &pg)
	if pw.Detail != pg.Detail {
		t.Errorf("patch detail = %q, want the store's %q", pg.Detail, pw.Detail)
	}
	// The group's own connection is still sampled.
	e.samples.Store(0)
	e.must(200, "PATCH", inst, w.key, map[string]any{"updateMask": []string{"config.content.read.objects.account"},
		"installation": map[string]any{"config": map[string]any{"content": content}}})
	if e.samples.Load() == 0 {
		t.Error("a save with the group's own connection made no sample read")
	}
}

// TestReservedAuthQueryParams: authQueryParams cannot override what the
// authorize URL must carry.
func TestReservedAuthQueryParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := e.project("default")
	pp := "/v1/projects/default/provider-apps"
	for _, k := range []string{"redirect_uri", "state", "client_id", "code_challenge", "code_challenge_method", "response_type", "scope", "Redirect_URI"} {
		r := e.do("POST", pp, key, map[string]any{"provider": "hubspot", "clientId": "c",
			"metadata": map[string]any{"authQueryParams": map[string][]string{k: {"x"}}}})
		if r.status != 400 || !strings.Contains(string(r.body), k) {
			t.Errorf("create with authQueryParams %s = %d %s, want 400 naming it", k, r.status, r.body)
		}
	}
	var app struct{ ID string }
	e.must(200, "POST", pp, key, map[string]any{"provider": "hubspot", "clientId": "c",
		"metadata": map[string]any{"authQueryParams": map[string][]string{"optional_scope": {"crm.objects.deals.read"}}}}).json(t, &app)
	r := e.do("PATCH", pp+"/"+app.ID, key, map[string]any{"updateMask": []string{"metadata"},
		"providerApp": map[string]any{"metadata": map[string]any{"authQueryParams": map[string][]string{"state": {"fixed"}}}}})
	if r.status != 400 || !strings.Contains(string(r.body), "state") {
		t.Errorf("patch with authQueryParams state = %d %s, want 400", r.status, r.body)
	}
}
