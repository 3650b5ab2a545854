package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/ampforge/amp/providers/all"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/api"
	"github.com/ampforge/amp/runtime/api/apitest"
	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/server"
)

type env struct {
	t   *testing.T
	dir string
	srv *server.Server
	key string // the admin key of project "default"
}

func newEnv(t *testing.T, dev bool) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir}
	e.open(dev)
	if e.srv.AdminKey == "" {
		t.Fatal("first start minted no admin key")
	}
	e.key = e.srv.AdminKey
	return e
}

func (e *env) open(dev bool) {
	e.t.Helper()
	srv, err := server.New(server.Config{DataDir: e.dir, DevMode: dev, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.t.Cleanup(func() { srv.Close() })
}

type resp struct {
	status int
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
	r := apitest.Do(e.t, e.srv.Handler(), method, path, key, body)
	return resp{r.Status, r.Body}
}

func (e *env) must(want int, method, path string, body any) resp {
	e.t.Helper()
	r := e.do(method, path, e.key, body)
	if r.status != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// project creates another project with its own key.
func (e *env) project(name string) (id, key string) {
	e.t.Helper()
	ctx := context.Background()
	p := &runtime.Project{Name: name, AppName: name}
	if err := e.srv.Store().CreateProject(ctx, p); err != nil {
		e.t.Fatal(err)
	}
	plain, hash := apikey.Generate()
	if err := e.srv.Store().CreateAPIKey(ctx, &runtime.APIKey{ProjectID: p.ID, KeyHash: hash, Label: "k", Active: true}); err != nil {
		e.t.Fatal(err)
	}
	return p.ID, plain
}

func deployBody(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"sourceYaml": string(data)}
}

type integ struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Provider       string `json:"provider"`
	LatestRevision struct {
		ID      string         `json:"id"`
		Content map[string]any `json:"content"`
	} `json:"latestRevision"`
}

type problem struct {
	Status      int      `json:"status"`
	Detail      string   `json:"detail"`
	Causes      []string `json:"causes"`
	Issues      []struct{ In, Name, Detail string }
	Diagnostics struct {
		ErrorCount  int              `json:"error_count"`
		Diagnostics []map[string]any `json:"diagnostics"`
	} `json:"diagnostics"`
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	if r := e.do("GET", "/v1/projects/default", "", nil); r.status != 401 || !strings.Contains(string(r.body), "X-Api-Key") {
		t.Errorf("no key: %d %s", r.status, r.body)
	}
	fake, _ := apikey.Generate()
	for _, k := range []string{"nonsense", fake} {
		if r := e.do("GET", "/v1/projects/default", k, nil); r.status != 401 {
			t.Errorf("bad key %q: %d %s", k, r.status, r.body)
		}
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	if r := e.do("GET", "/v1/providers/salesforce", "", nil); r.status != 200 {
		t.Errorf("providers: %d", r.status)
	}

	// Project B's key gets 404 on every project-scoped route of project A,
	// addressed by name and by id; A's own key is not refused.
	var a struct{ ID string }
	e.must(200, "GET", "/v1/projects/default", nil).json(t, &a)
	_, keyB := e.project("other")
	fill := strings.NewReplacer("{integrationIdOrName}", "x", "{integrationId}", "x", "{revisionId}", "x",
		"{installationId}", "x", "{providerAppId}", "x", "{destination}", "x", "{apiKey}", "x", "{connectionId}", "x")
	n := 0
	for _, rt := range api.Routes() {
		if !strings.Contains(rt.Path, "{projectIdOrName}") {
			continue
		}
		for _, ref := range []string{"default", a.ID} {
			path := fill.Replace(strings.Replace(rt.Path, "{projectIdOrName}", ref, 1))
			if r := e.do(rt.Method, path, keyB, "{}"); r.status != 404 {
				t.Errorf("%s %s with another project's key = %d %s, want 404", rt.Method, path, r.status, r.body)
			}
			if r := e.do(rt.Method, path, "", "{}"); r.status != 401 {
				t.Errorf("%s %s without a key = %d, want 401", rt.Method, path, r.status)
			}
			n++
		}
	}
	if n < 40 {
		t.Errorf("checked only %d project-scoped route variants", n)
	}
	// Listing projects shows only the key's own.
	var ps []struct{ Name string }
	e.must(200, "GET", "/v1/projects", nil).json(t, &ps)
	if len(ps) != 1 || ps[0].Name != "default" {
		t.Errorf("projects = %+v", ps)
	}

	// An inactive key is refused; a created key works once shown.
	var k struct{ ID, Key string }
	e.must(201, "POST", "/v1/projects/default/api-keys", map[string]any{"label": "ci"}).json(t, &k)
	if !apikey.Valid(k.Key) {
		t.Fatalf("created key %q is not a key", k.Key)
	}
	if r := e.do("GET", "/v1/projects/default", k.Key, nil); r.status != 200 {
		t.Errorf("new key: %d", r.status)
	}
	list := e.must(200, "GET", "/v1/projects/default/api-keys", nil)
	if strings.Contains(string(list.body), k.Key) || strings.Contains(string(list.body), e.key) {
		t.Errorf("key list shows a key: %s", list.body)
	}
	e.must(200, "PATCH", "/v1/projects/default/api-keys/"+k.ID, map[string]any{"updateMask": []string{"active"}, "apiKey": map[string]any{"active": false}})
	if r := e.do("GET", "/v1/projects/default", k.Key, nil); r.status != 401 {
		t.Errorf("inactive key: %d", r.status)
	}
	e.must(204, "DELETE", "/v1/projects/default/api-keys/"+k.Key, nil)
	e.must(404, "GET", "/v1/projects/default/api-keys/"+k.ID, nil)
}

func manifests(t *testing.T) []string {
	t.Helper()
	samples, _ := filepath.Glob("../../testdata/ampersand-samples/*.y*ml")
	examples, _ := filepath.Glob("../../examples/*/amp.yaml")
	all := append(samples, examples...)
	if len(samples) == 0 || len(examples) == 0 {
		t.Fatalf("no manifests found: %v", all)
	}
	return all
}

func TestDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	for i, path := range manifests(t) {
		// Each manifest in its own project: samples reuse integration names.
		_, key := e.project("p" + string(rune('a'+i)))
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			body := deployBody(t, path)
			batch := "/v1/projects/p" + string(rune('a'+i)) + "/integrations:batch"
			r := e.do("PUT", batch, key, body)
			if r.status != 200 {
				t.Fatalf("deploy: %d %s", r.status, r.body)
			}
			var first []integ
			r.json(t, &first)
			if len(first) == 0 {
				t.Fatal("deploy returned no integrations")
			}
			for _, in := range first {
				if in.LatestRevision.ID == "" || in.LatestRevision.Content["name"] != in.Name {
					t.Errorf("%s: latest revision %+v", in.Name, in.LatestRevision)
				}
			}
			// Identical redeploy, and one with only a comment added: no new revision.
			for _, b := range []map[string]string{body, {"sourceYaml": "# reformatted\n" + body["sourceYaml"]}} {
				r = e.do("PUT", batch, key, b)
				var again []integ
				r.json(t, &again)
				for j := range again {
					if again[j].LatestRevision.ID != first[j].LatestRevision.ID {
						t.Errorf("%s: redeploy made revision %s (was %s)", again[j].Name, again[j].LatestRevision.ID, first[j].LatestRevision.ID)
					}
				}
			}
			proj := strings.TrimSuffix(batch, "/integrations:batch")
			for _, in := range first {
				r := e.do("GET", proj+"/integrations/"+in.ID+"/revisions", key, nil)
				var revs []struct{ ID string }
				r.json(t, &revs)
				if len(revs) != 1 {
					t.Errorf("%s: %d revisions, want 1", in.Name, len(revs))
				}
				if r := e.do("GET", proj+"/integrations/"+in.Name+"/revisions/"+in.LatestRevision.ID, key, nil); r.status != 200 {
					t.Errorf("get revision: %d %s", r.status, r.body)
				}
			}
		})
	}
}

func TestDeployChangeAndInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	body := deployBody(t, "../../examples/hubspot/amp.yaml")
	var first, second []integ
	e.must(200, "PUT", "/v1/projects/default/integrations:batch", body).json(t, &first)
	changed := strings.Replace(body["sourceYaml"], "days: 365", "days: 30", 1)
	if changed == body["sourceYaml"] {
		t.Fatal("example changed: update the test's edit")
	}
	e.must(200, "PUT", "/v1/projects/default/integrations:batch", map[string]string{"sourceYaml": changed}).json(t, &second)
	if second[0].LatestRevision.ID == first[0].LatestRevision.ID {
		t.Error("a changed manifest made no new revision")
	}

	var p problem
	bad := "specVersion: 1.0.0\nintegrations:\n  - name: broken\n    provider: salesfarce\n    read:\n      objects:\n        - objectName: account\n"
	e.must(422, "PUT", "/v1/projects/default/integrations:batch", map[string]string{"sourceYaml": bad}).json(t, &p)
	if p.Diagnostics.ErrorCount == 0 || len(p.Causes) == 0 || !strings.Contains(strings.Join(p.Causes, "\n"), "salesfarce") {
		t.Errorf("invalid manifest problem = %+v", p)
	}
	e.must(422, "PUT", "/v1/projects/default/integrations:batch", map[string]string{"sourceYaml": "integrations: [\n"})
	var ints []integ
	e.must(200, "GET", "/v1/projects/default/integrations", nil).json(t, &ints)
	for _, in := range ints {
		if in.Name == "broken" {
			t.Error("an invalid manifest was deployed")
		}
	}
}

func TestStrictJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	cases := []struct {
		path, body, field string
	}{
		{"/v1/projects/default/destinations", `{"name":"a","metadata":{"url":"https://x.example","bogus":1}}`, "bogus"},
		{"/v1/projects/default/provider-apps", `{"provider":"hubspot","clientId":"c","clientSecret":"s","extra":true}`, "extra"},
		{"/v1/projects/default/api-keys", `{"label":5}`, "label"},
		{"/v1/projects/default/api-keys", `{"label":"x"`, ""},
		{"/v1/projects/default/api-keys", `{"label":"x"} {}`, ""},
		{"/v1/projects/default/api-keys", ``, ""},
	}
	for _, c := range cases {
		r := e.do("POST", c.path, e.key, c.body)
		var p problem
		r.json(t, &p)
		if r.status != 400 || p.Status != 400 {
			t.Errorf("POST %s %s = %d %s, want 400", c.path, c.body, r.status, r.body)
			continue
		}
		if c.field != "" && (len(p.Issues) != 1 || p.Issues[0].Name != c.field || !strings.Contains(p.Detail, c.field)) {
			t.Errorf("POST %s %s: problem %s does not name %q", c.path, c.body, r.body, c.field)
		}
	}
	r := e.do("PUT", "/v1/projects/default/integrations:batch", e.key, `{"sourceYaml":"x","sourceYml":"y"}`)
	if r.status != 400 || !strings.Contains(string(r.body), "sourceYml") {
		t.Errorf("unknown deploy field: %d %s", r.status, r.body)
	}
}

func TestSecretsSealed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	const clientSecret = "client-secret-7f3a9c2e11d04b8f"
	r := e.must(200, "POST", "/v1/projects/default/provider-apps",
		map[string]any{"provider": "salesforce", "clientId": "cid-123", "clientSecret": clientSecret})
	var app struct{ ID, ClientID string }
	r.json(t, &app)
	if strings.Contains(string(r.body), clientSecret) {
		t.Errorf("provider app answer shows the secret: %s", r.body)
	}
	// Rotating the secret by PATCH keeps it sealed too.
	const secret2 = "client-secret-second-5d2c8e"
	e.must(200, "PATCH", "/v1/projects/default/provider-apps/"+app.ID,
		map[string]any{"updateMask": []string{"clientSecret"}, "providerApp": map[string]any{"clientSecret": secret2}})
	e.must(201, "POST", "/v1/projects/default/destinations",
		map[string]any{"name": "hook", "metadata": map[string]any{"url": "https://hooks.example.com/amp"}})
	var d struct {
		Secrets struct{ WebhookSigningKey string }
	}
	e.must(200, "GET", "/v1/projects/default/destinations/hook?includeSecrets=true", nil).json(t, &d)
	if !strings.HasPrefix(d.Secrets.WebhookSigningKey, "whsec_") {
		t.Fatalf("signing key = %q", d.Secrets.WebhookSigningKey)
	}
	if r := e.must(200, "GET", "/v1/projects/default/destinations/hook", nil); strings.Contains(string(r.body), d.Secrets.WebhookSigningKey) {
		t.Error("destination shows its secret without includeSecrets")
	}
	for _, r := range []resp{e.must(200, "GET", "/v1/projects/default/provider-apps", nil), e.must(200, "GET", "/v1/projects/default/provider-apps/"+app.ID, nil)} {
		if strings.Contains(string(r.body), "secret-") {
			t.Errorf("provider app read shows a secret: %s", r.body)
		}
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, server.DBFileName+"*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	sawClientID := false
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{clientSecret, secret2, d.Secrets.WebhookSigningKey, strings.TrimPrefix(d.Secrets.WebhookSigningKey, "whsec_"), e.key} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds a secret in plain text (%.12s...)", filepath.Base(f), s)
			}
		}
		sawClientID = sawClientID || bytes.Contains(data, []byte("cid-123"))
	}
	if !sawClientID {
		t.Error("the client id is in no database file: the scan does not see the data")
	}
}

func TestDestinationURLs(t *testing.T) {
	t.Parallel()
	prod, dev := newEnv(t, false), newEnv(t, true)
	for _, c := range []struct {
		e    *env
		url  string
		want int
	}{
		{prod, "http://hooks.example.com/x", 422},
		{prod, "http://127.0.0.1:9000/x", 422},
		{prod, "ftp://hooks.example.com/x", 422},
		{prod, "https://hooks.example.com/x", 201},
		{dev, "http://localhost:9000/x", 201},
		{dev, "http://[::1]:9000/x", 201},
		{dev, "http://hooks.example.com/x", 422},
	} {
		name := "d" + runtime.NewID()[:8]
		r := c.e.do("POST", "/v1/projects/default/destinations", c.e.key, map[string]any{"name": name, "metadata": map[string]any{"url": c.url}})
		if r.status != c.want {
			t.Errorf("destination %s = %d %s, want %d", c.url, r.status, r.body, c.want)
		}
	}
	var d struct{ ID, Name string }
	prod.must(201, "POST", "/v1/projects/default/destinations", map[string]any{"name": "main", "metadata": map[string]any{"url": "https://a.example/x"}}).json(t, &d)
	prod.must(422, "PATCH", "/v1/projects/default/destinations/"+d.ID, map[string]any{"updateMask": []string{"metadata.url"}, "destination": map[string]any{"metadata": map[string]any{"url": "http://a.example/x"}}})
	prod.must(200, "PATCH", "/v1/projects/default/destinations/"+d.ID, map[string]any{"updateMask": []string{"name"}, "destination": map[string]any{"name": "renamed"}})
	prod.must(200, "GET", "/v1/projects/default/destinations/renamed", nil)
	prod.must(204, "DELETE", "/v1/projects/default/destinations/"+d.ID, nil)
	prod.must(404, "GET", "/v1/projects/default/destinations/renamed", nil)
}

func TestInstallations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var ints []integ
	e.must(200, "PUT", "/v1/projects/default/integrations:batch", deployBody(t, "../../examples/salesforce/amp.yaml")).json(t, &ints)
	var proj struct{ ID string }
	e.must(200, "GET", "/v1/projects/default", nil).json(t, &proj)
	conn := &runtime.Connection{ProjectID: proj.ID, Provider: ints[0].Provider, GroupRef: "acme", GroupName: "Acme",
		ConsumerRef: "u1", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("sealed")}
	if err := e.srv.Store().CreateConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	base := "/v1/projects/default/integrations/" + ints[0].ID + "/installations"
	create := `{"groupRef":"acme","connectionId":"` + conn.ID + `","config":{"content":{"provider":"` + ints[0].Provider + `","read":{"objects":{"account":{"objectName":"account","selectedFields":{"phone":true},"selectedValueMappings":{},"dynamicMappingsInput":[],"selectedFieldMappings":{"country":"billingcountry"}}}}}}}`
	type inst struct {
		ID     string
		Group  struct{ GroupRef string }
		Config struct {
			RevisionID string
			CreatedBy  string
			Content    runtime.ConfigContent
		}
		Connection struct{ ID, Status string }
	}
	// The connection is synthetic (no provider behind it): saves skip the
	// sample read, which TestSampleRead covers against the fake.
	const skip = "?skipSampling=true"
	var in inst
	e.must(201, "POST", base+skip, create).json(t, &in)
	if in.Config.RevisionID != ints[0].LatestRevision.ID || in.Connection.ID != conn.ID || in.Group.GroupRef != "acme" || in.Config.CreatedBy == "" {
		t.Errorf("created installation = %+v", in)
	}
	e.must(409, "POST", base+skip, create)
	// Without connectionId, the group's connection is used.
	e.must(422, "POST", base, `{"groupRef":"nobody","config":{"content":{}}}`)

	path := base + "/" + in.ID
	e.must(200, "PATCH", path+skip, `{"updateMask":["config.content.read.objects.contact"],"installation":{"config":{"content":{"read":{"objects":{"contact":{"objectName":"contact","selectedFields":{"email":true}}}}}}}}`).json(t, &in)
	objs := in.Config.Content.Read.Objects
	if objs["account"].SelectedFields["phone"] != true || objs["contact"].SelectedFields["email"] != true {
		t.Errorf("after masked patch: %+v", objs)
	}
	e.must(200, "PATCH", path+skip, `{"updateMask":["config.content.read.objects.account.disabled","config.content.write.objects"],"installation":{"config":{"content":{"read":{"objects":{"account":{"disabled":true}}},"write":{"objects":{"account":{"objectName":"account"}}}}}}}`).json(t, &in)
	objs = in.Config.Content.Read.Objects
	if !objs["account"].Disabled || objs["account"].SelectedFieldMappings["country"] != "billingcountry" || in.Config.Content.Write == nil {
		t.Errorf("after disabling account: %+v, write %+v", objs, in.Config.Content.Write)
	}
	for _, body := range []string{
		`{"updateMask":["config.content.read.objects.lead"],"installation":{"config":{}}}`,
		`{"updateMask":["config.id"],"installation":{}}`,
		`{"updateMask":[],"installation":{}}`,
		`{"updateMask":["connectionId"],"installation":{"connectionId":"x","color":"red"}}`,
	} {
		if r := e.do("PATCH", path, e.key, body); r.status != 400 {
			t.Errorf("PATCH %s = %d %s, want 400", body, r.status, r.body)
		}
	}
	var list []inst
	e.must(200, "GET", base+"?groupRef=acme", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != in.ID {
		t.Errorf("list = %+v", list)
	}
	e.must(200, "GET", "/v1/projects/default/installations", nil).json(t, &list)
	if len(list) != 1 {
		t.Errorf("project list = %+v", list)
	}
	e.must(200, "GET", path, nil)
	e.must(204, "DELETE", path, nil)
	e.must(404, "GET", path, nil)
}

func TestRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	keyFile := filepath.Join(e.dir, server.AdminKeyFileName)
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key file mode %v", fi.Mode().Perm())
	}
	onDisk, _ := os.ReadFile(keyFile)
	if strings.TrimSpace(string(onDisk)) != e.key {
		t.Error("admin key file does not hold the printed key")
	}
	var ints []integ
	e.must(200, "PUT", "/v1/projects/default/integrations:batch", deployBody(t, "../../examples/dynamics/amp.yaml")).json(t, &ints)
	e.must(201, "POST", "/v1/projects/default/destinations", map[string]any{"name": "hook", "metadata": map[string]any{"url": "https://h.example"}})
	var before struct {
		Secrets struct{ WebhookSigningKey string }
	}
	e.must(200, "GET", "/v1/projects/default/destinations/hook?includeSecrets=true", nil).json(t, &before)
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}

	e.open(false)
	if e.srv.AdminKey != "" {
		t.Error("restart minted a new admin key")
	}
	again, _ := os.ReadFile(keyFile)
	if !bytes.Equal(again, onDisk) {
		t.Error("restart rewrote the admin key file")
	}
	var after []integ
	e.must(200, "GET", "/v1/projects/default/integrations", nil).json(t, &after)
	if len(after) != len(ints) || after[0].LatestRevision.ID == "" {
		t.Errorf("after restart: %+v", after)
	}
	var d struct {
		Secrets struct{ WebhookSigningKey string }
	}
	e.must(200, "GET", "/v1/projects/default/destinations/hook?includeSecrets=true", nil).json(t, &d)
	if d.Secrets.WebhookSigningKey != before.Secrets.WebhookSigningKey {
		t.Error("the signing secret did not survive the restart")
	}
	var redeployed []integ
	e.must(200, "PUT", "/v1/projects/default/integrations:batch", deployBody(t, "../../examples/dynamics/amp.yaml")).json(t, &redeployed)
	if redeployed[0].LatestRevision.ID != ints[0].LatestRevision.ID {
		t.Error("redeploy after restart made a new revision")
	}
}

func TestRunShutsDown(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	res, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("healthz = %d", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestExtension(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Extensions: []server.Extension{func(w server.Wiring) ([]api.Route, error) {
			return []api.Route{{Method: "POST", Path: "/v1/echo-project", Auth: api.AuthKey,
				Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					id, err := w.API.ProjectIDFor(r, r.URL.Query().Get("p"))
					if err != nil {
						w.API.WriteError(rw, r, err)
						return
					}
					io.WriteString(rw, id)
				})}}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := &env{t: t, srv: srv, key: srv.AdminKey}
	if r := e.do("POST", "/v1/echo-project?p=default", "", nil); r.status != 401 {
		t.Errorf("extension without a key = %d", r.status)
	}
	if r := e.do("POST", "/v1/echo-project?p=default", e.key, nil); r.status != 200 || len(r.body) == 0 {
		t.Errorf("extension = %d %s", r.status, r.body)
	}
	_, other := e.project("other")
	if r := e.do("POST", "/v1/echo-project?p=default", other, nil); r.status != 404 {
		t.Errorf("extension with another project's key = %d %s", r.status, r.body)
	}
	// Built-ins, the two OAuth routes, the object-metadata route, the
	// extension's, and the hydrate route the revision route dispatches.
	if n := len(srv.Routes()); n != len(api.Routes())+5 {
		t.Errorf("Routes() has %d routes, want built-ins + 5", n)
	}
}

// TestFrontendKeyReachesTheEmbeddedUIRoutes checks that the routes the
// server adds for the installation UI (oauth-connect, object metadata)
// admit a frontend key, while a full-only route refuses it.
func TestFrontendKeyReachesTheEmbeddedUIRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	p, err := e.srv.Store().GetProjectByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	plain, hash := apikey.Generate()
	if err := e.srv.Store().CreateAPIKey(ctx, &runtime.APIKey{ProjectID: p.ID, KeyHash: hash, Label: "ui", Active: true, Scopes: []string{"frontend"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/oauth-connect", map[string]any{"projectIdOrName": "default", "provider": "salesforce", "groupRef": "g", "consumerRef": "c"}},
		{"GET", "/v1/projects/default/integrations/x/objects/account/metadata?groupRef=g", nil},
	} {
		if r := e.do(c.method, c.path, plain, c.body); r.status == 403 || r.status == 401 {
			t.Errorf("%s %s with a frontend key = %d %s, want it admitted", c.method, c.path, r.status, r.body)
		}
	}
	if r := e.do("POST", "/v1/projects/default/api-keys", plain, map[string]any{"label": "x"}); r.status != 403 {
		t.Errorf("api-keys with a frontend key = %d, want 403", r.status)
	}
}
