package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/server"
)

// apiEnv is a runtime server served in-process over httptest, with the
// admin key New minted and a count of the requests it received.
type apiEnv struct {
	t        *testing.T
	srv      *server.Server
	http     *httptest.Server
	key      string
	requests atomic.Int64
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	srv, err := server.New(server.Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretKeyEnv: ""})
	if err != nil {
		t.Fatal(err)
	}
	e := &apiEnv{t: t, srv: srv, key: srv.AdminKey}
	if e.key == "" {
		t.Fatal("server.New minted no admin key on an empty data folder")
	}
	h := srv.Handler()
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.http.Close()
		srv.Close()
	})
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

// amp runs the real command tree through Main with the env's server and key.
func (e *apiEnv) amp(stdin string, args ...string) result {
	e.t.Helper()
	return runAmp(stdin, append(args, "--server", e.http.URL, "--api-key", e.key)...)
}

func runAmp(stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// api calls the management API directly.
func (e *apiEnv) api(method, path string, body any, wantStatus int, out any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.http.URL+path, rd)
	req.Header.Set("X-Api-Key", e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, data, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (e *apiEnv) revisions(integration string) int {
	e.t.Helper()
	var revs []json.RawMessage
	e.api("GET", "/v1/projects/default/integrations/"+integration+"/revisions", nil, 200, &revs)
	return len(revs)
}

// writeManifest copies an example manifest into a new folder and returns
// the path of its amp.yaml.
func writeManifest(t *testing.T, example string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", example, "amp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, string(src))
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "amp.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func TestDeploy(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	path := writeManifest(t, "salesforce")

	// First deploy: the diff shows the integration added, and a revision is made.
	r := e.amp("", "deploy", path)
	if r.code != 0 {
		t.Fatalf("first deploy exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	wantContains(t, "first deploy stdout", r.stdout, "deployed -> "+path+": 1 change, 0 breaking",
		"+ integration salesforceSync added", "salesforceSync: created, revision ")
	if n := e.revisions("salesforceSync"); n != 1 {
		t.Fatalf("after first deploy: %d revisions, want 1", n)
	}

	// The same manifest again: no changes, no new revision.
	r = e.amp("", "deploy", path)
	if r.code != 0 {
		t.Fatalf("second deploy exit %d: %s", r.code, r.stderr)
	}
	wantContains(t, "unchanged deploy stdout", r.stdout, "no changes", "salesforceSync: unchanged (revision ")
	if n := e.revisions("salesforceSync"); n != 1 {
		t.Fatalf("after an unchanged deploy: %d revisions, want 1", n)
	}

	// A breaking change with no installation: deployed without the flag.
	// (Checked through --dry-run first, which deploys nothing.)
	next := writeManifest(t, "salesforce-next")
	before := e.requests.Load()
	r = e.amp("", "deploy", "--dry-run", next)
	if r.code != 0 {
		t.Fatalf("dry run exit %d: %s", r.code, r.stderr)
	}
	wantContains(t, "dry run stdout", r.stdout, "required field website removed  [breaking]", "dry run: nothing deployed")
	if n := e.revisions("salesforceSync"); n != 1 {
		t.Fatalf("after a dry run: %d revisions, want 1", n)
	}
	if got := e.requests.Load() - before; got != 2 { // the dry run's GET, and revisions above
		t.Errorf("dry run sent %d requests (with the check), want 2", got)
	}

	// An installation for the group acme, on a connection made through the store.
	var ints []struct{ ID, Provider string }
	e.api("GET", "/v1/projects/default/integrations", nil, 200, &ints)
	projects, err := e.srv.Store().ListProjects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn := &runtime.Connection{ProjectID: projects[0].ID, Provider: "salesforce", GroupRef: "acme", GroupName: "Acme",
		ConsumerRef: "u1", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("sealed")}
	if err := e.srv.Store().CreateConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	// The connection has no provider behind it, so the sample read is skipped.
	e.api("POST", "/v1/projects/default/integrations/"+ints[0].ID+"/installations?skipSampling=true", map[string]any{
		"groupRef": "acme", "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": "salesforce", "read": map[string]any{"objects": map[string]any{
			"account": map[string]any{"objectName": "account", "selectedFields": map[string]any{"website": true}}}}}},
	}, 201, nil)

	// The breaking change is refused, naming the installation's group.
	r = e.amp("", "deploy", next)
	if r.code != 1 {
		t.Fatalf("breaking deploy exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	wantContains(t, "refusal", r.stderr, "refusing to deploy", "1 live installation", "integration salesforceSync", "groups acme",
		"required field website removed", "--allow-destructive")
	if n := e.revisions("salesforceSync"); n != 1 {
		t.Fatalf("after a refused deploy: %d revisions, want 1", n)
	}

	// With --allow-destructive it is deployed, with a warning.
	r = e.amp("", "deploy", "--allow-destructive", next)
	if r.code != 0 {
		t.Fatalf("destructive deploy exit %d: %s", r.code, r.stderr)
	}
	wantContains(t, "destructive deploy stderr", r.stderr, "deploying breaking changes", "groups acme")
	wantContains(t, "destructive deploy stdout", r.stdout, "salesforceSync: new revision ")
	if n := e.revisions("salesforceSync"); n != 2 {
		t.Fatalf("after the destructive deploy: %d revisions, want 2", n)
	}

	// The list commands see both.
	r = e.amp("", "integrations", "list")
	wantContains(t, "integrations list", r.stdout, "NAME", "salesforceSync", "salesforce")
	r = e.amp("", "installations", "list")
	wantContains(t, "installations list", r.stdout, "GROUP", "salesforceSync", "acme", conn.ID)
	r = e.amp("", "connections", "list", "--group", "acme")
	wantContains(t, "connections list", r.stdout, "CONSUMER", conn.ID, "salesforce", "acme", "u1")
	r = e.amp("", "connections", "list", "--group", "nobody")
	if strings.Contains(r.stdout, conn.ID) || r.code != 0 {
		t.Errorf("connections list --group nobody = %+v", r)
	}
	r = e.amp("", "installations", "list", "--integration", "salesforceSync", "-o", "json")
	var insts []apiInstallation
	if err := json.Unmarshal([]byte(r.stdout), &insts); err != nil || len(insts) != 1 || insts[0].Group.GroupRef != "acme" {
		t.Errorf("installations list -o json = %v %s", err, r.stdout)
	}
}

// An invalid manifest never reaches the server, and deploy prints exactly
// what `amp validate` prints, with the same exit status.
func TestDeployInvalidManifest(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	path := writeFile(t, `specVersion: 1.0.0
integrations:
  - name: sync
    provider: salesforce
    read:
      objects:
        - objectName: acount
          destination: hook
          schedule: "* * * * *"
`)
	want := runAmp("", "validate", path)
	if want.code != 1 {
		t.Fatalf("validate exit %d, want 1: %s%s", want.code, want.stdout, want.stderr)
	}
	got := e.amp("", "deploy", path)
	if got.code != want.code || got.stdout != want.stdout || got.stderr != want.stderr {
		t.Errorf("deploy = exit %d\nstdout:\n%s\nstderr:\n%s\nwant validate's exit %d\nstdout:\n%s\nstderr:\n%s",
			got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
	}
	wantContains(t, "deploy stdout", got.stdout, "error[object-unknown]")
	// A missing manifest is unreadable input, as for validate.
	missing := filepath.Join(t.TempDir(), "nope")
	want, got = runAmp("", "validate", missing), e.amp("", "deploy", missing)
	if got.code != 2 || got != want {
		t.Errorf("deploy of a missing path = %+v, want validate's %+v", got, want)
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("the server received %d requests for invalid manifests, want 0", n)
	}
}

func TestDeployUnreachableServer(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	path := writeManifest(t, "salesforce")
	r := runAmp("", "deploy", path, "--server", url, "--api-key", "k")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	wantContains(t, "stderr", r.stderr, "cannot reach the amp server at "+url, "amp serve")

	// No API key at all is a usage error, before anything is sent.
	r = runAmp("", "integrations", "list", "--server", url, "--api-key", "")
	if r.code != 2 && os.Getenv(envAPIKey) == "" {
		t.Errorf("no API key: exit %d, want 2: %s", r.code, r.stderr)
	}
}

func TestServerProblem(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	r := runAmp("", "integrations", "list", "--server", e.http.URL, "--api-key", "wrong")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	wantContains(t, "stderr", r.stderr, "401 Unauthorized", "X-Api-Key", "--api-key")
	r = e.amp("", "destination", "set", "hook", "--url", "ftp://x.example/h")
	if r.code != 1 {
		t.Fatalf("bad destination exit %d, want 1: %s", r.code, r.stderr)
	}
	wantContains(t, "stderr", r.stderr, "422 Unprocessable Entity", "must use https")
}

func TestProviderAppSet(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	const secret = "s3cr3t-value-never-printed"
	r := e.amp(secret+"\n", "provider-app", "set", "--provider", "salesforce", "--client-id", "cid-1", "--client-secret-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantContains(t, "stdout", r.stdout, "for salesforce: created", "client id cid-1", "client secret set")
	r2 := e.amp("other-"+secret, "provider-app", "set", "--provider", "salesforce", "--client-secret-stdin")
	wantContains(t, "stdout", r2.stdout, "for salesforce: updated")
	for _, out := range []string{r.stdout, r.stderr, r2.stdout, r2.stderr} {
		if strings.Contains(out, secret) {
			t.Errorf("output holds the secret: %s", out)
		}
	}
	apps, err := e.srv.Store().ListProviderApps(context.Background(), mustProjectID(t, e))
	if err != nil || len(apps) != 1 || apps[0].ClientID != "cid-1" || len(apps[0].ClientSecret) == 0 ||
		bytes.Contains(apps[0].ClientSecret, []byte(secret)) {
		t.Errorf("stored apps = %v, %+v", err, apps)
	}

	// An empty stdin is a usage error; nothing is sent.
	before := e.requests.Load()
	r = e.amp("", "provider-app", "set", "--provider", "salesforce", "--client-secret-stdin")
	if r.code != 2 || e.requests.Load() != before {
		t.Errorf("empty secret: exit %d (%s), %d requests", r.code, r.stderr, e.requests.Load()-before)
	}
}

func TestDestinationSet(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	r := e.amp("", "destination", "set", "crmWebhook", "--url", "https://hooks.example.com/a")
	wantContains(t, "create", r.stdout, "destination crmWebhook: created")
	r = e.amp("", "destination", "set", "crmWebhook", "--url", "https://hooks.example.com/a")
	wantContains(t, "same url", r.stdout, "destination crmWebhook: unchanged")
	r = e.amp("", "destination", "set", "crmWebhook", "--url", "https://hooks.example.com/b")
	wantContains(t, "update", r.stdout, "destination crmWebhook: updated (url https://hooks.example.com/b)")
	var d struct{ Metadata struct{ URL string } }
	e.api("GET", "/v1/projects/default/destinations/crmWebhook", nil, 200, &d)
	if d.Metadata.URL != "https://hooks.example.com/b" {
		t.Errorf("url = %q", d.Metadata.URL)
	}
}

func mustProjectID(t *testing.T, e *apiEnv) string {
	t.Helper()
	ps, err := e.srv.Store().ListProjects(context.Background())
	if err != nil || len(ps) == 0 {
		t.Fatal(err)
	}
	return ps[0].ID
}
