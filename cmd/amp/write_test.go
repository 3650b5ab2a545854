package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime/server"
)

const writeManifestYAML = `specVersion: 1.0.0
integrations:
  - name: crmSync
    provider: salesforce
    read:
      objects:
        - objectName: account
          mapToName: company
          destination: crmWebhook
          requiredFields:
            - fieldName: name
            - fieldName: billingcity
              mapToName: city
    write:
      objects:
        - objectName: account
          inheritMapping: true
`

// writeEnv is apiEnv with a Salesforce fake connected for the group acme
// and an installation that writes accounts.
func newWriteEnv(t *testing.T) (*apiEnv, *sffake.Server) {
	t.Helper()
	const clientID, clientSecret = "cli-write-client", "cli-write-secret"
	fake := sffake.New(sffake.Options{Options: fakekit.Options{ClientID: clientID, ClientSecret: clientSecret, Records: 3,
		Limits: fakekit.Limits{Daily: -1, Window: -1, SearchPerSecond: -1, Concurrency: -1}}})
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)
	srv, err := server.New(server.Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OAuthEndpoints: map[string]string{"salesforce": fakeSrv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	e := &apiEnv{t: t, srv: srv, key: srv.AdminKey}
	h := srv.Handler()
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.http.Close()
		srv.Close()
	})
	p := "/v1/projects/default"
	e.api("POST", p+"/provider-apps", map[string]any{"provider": "salesforce", "clientId": clientID, "clientSecret": clientSecret}, 200, nil)
	e.api("POST", p+"/destinations", map[string]any{"name": "crmWebhook", "type": "webhook", "metadata": map[string]any{"url": "https://example.com/hook"}}, 201, nil)
	var ints []struct{ ID string }
	e.api("PUT", p+"/integrations:batch", map[string]string{"sourceYaml": writeManifestYAML}, 200, &ints)
	access, refresh := fake.Issue()
	var conn struct{ ID string }
	e.api("POST", p+"/connections:generate", map[string]any{"provider": "salesforce", "groupRef": "acme", "consumerRef": "ada",
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}}}, 201, &conn)
	e.api("POST", p+"/integrations/"+ints[0].ID+"/installations?skipSampling=true", map[string]any{
		"groupRef": "acme", "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": "salesforce",
			"read":  map[string]any{"objects": map[string]any{"account": map[string]any{"objectName": "account"}}},
			"write": map[string]any{"objects": map[string]any{"account": map[string]any{"objectName": "account"}}}}},
	}, 201, nil)
	return e, fake
}

func TestWriteCommand(t *testing.T) {
	t.Parallel()
	e, fake := newWriteEnv(t)

	// A record as an argument, in the builder's mapped names.
	r := e.amp("", "write", "crmSync", "company", "--group", "acme", "--type", "create", `{"name":"Cli Co","city":"Lyon"}`)
	if r.code != 0 {
		t.Fatalf("write = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var single struct {
		OperationID string
		Result      struct {
			Success  bool
			RecordID string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &single); err != nil || !single.Result.Success {
		t.Fatalf("output %q: %v", r.stdout, err)
	}
	rec, ok := fake.Get("account", single.Result.RecordID)
	if !ok || rec["Name"] != "Cli Co" || rec["BillingCity"] != "Lyon" {
		t.Fatalf("the fake has %v", rec)
	}

	// A record on stdin, with an Idempotency-Key sent twice.
	upd := `{"id":"` + single.Result.RecordID + `","city":"Nice"}`
	for range 2 {
		if r = e.amp(upd, "write", "crmSync", "company", "--group", "acme", "--type", "update", "--idempotency-key", "cli-1"); r.code != 0 {
			t.Fatalf("update = %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	if rec, _ := fake.Get("account", single.Result.RecordID); rec["BillingCity"] != "Nice" {
		t.Fatalf("the fake has %v", rec)
	}

	// A batch file with one bad record: printed, exit 1.
	batch := filepath.Join(t.TempDir(), "batch.json")
	if err := os.WriteFile(batch, []byte(`[{"name":"One"},{"record":{"city":"No name"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.amp("", "write", "crmSync", "company", "--group", "acme", "--type", "create", "--batch", batch)
	if r.code != 1 || !strings.Contains(r.stdout, `"successCount": 1`) || !strings.Contains(r.stderr, "1 of 2 records failed") {
		t.Fatalf("batch with a bad record = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Asynchronous: the operation's ID.
	r = e.amp(`{"name":"Later Co"}`, "write", "crmSync", "company", "--group", "acme", "--type", "create", "--async")
	if r.code != 0 || !strings.Contains(r.stdout, "operationId") {
		t.Fatalf("async write = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Refused input: the problem's issue, exit 1.
	r = e.amp("", "write", "crmSync", "company", "--group", "acme", "--type", "create", `{"name":"X","favourite":"blue"}`)
	if r.code != 1 || !strings.Contains(r.stderr, "record.favourite") {
		t.Fatalf("unknown field = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Usage errors: exit 2, nothing sent.
	before := e.requests.Load()
	for _, args := range [][]string{
		{"write", "crmSync", "company", "--type", "create", `{}`},
		{"write", "crmSync", "company", "--group", "acme", "--type", "merge", `{}`},
		{"write", "crmSync", "company", "--group", "acme", "--type", "create", `[1]`},
		{"write", "crmSync", "--group", "acme", "--type", "create"},
		{"write", "crmSync", "company", "--group", "acme", "--type", "create", "--all-or-none", `{"a":1}`},
	} {
		if r := e.amp("", args...); r.code != 2 {
			t.Errorf("%q = %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	if e.requests.Load() != before {
		t.Error("a usage error reached the server")
	}
}
