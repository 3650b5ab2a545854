package dynamics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
)

// wire records the request bodies a connector sends.
type wire struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	bodies []string
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.bodies = append(w.bodies, string(b))
		w.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return w.rt.RoundTrip(r)
}

func (w *wire) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.bodies) == 0 {
		return ""
	}
	return w.bodies[len(w.bodies)-1]
}

// TestUpdateVersusUpsert checks the two PATCH paths of the Writer against
// the fake: an update sends If-Match: * (so a missing row is a 404 and is
// not created), an upsert sends no If-Match (so a missing row is created,
// by primary key under the caller's GUID or by alternate key) and reports
// whether it created.
func TestUpdateVersusUpsert(t *testing.T) {
	t.Parallel()
	srv := fake.New(fake.Options{Options: fakekit.Options{Records: 5}})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	base := ts.Client()
	w := &wire{rt: base.Transport}
	base.Transport = w
	access, _ := srv.Issue()
	c, err := New(providers.Config{HTTPClient: providers.NewAuthClient(base, providers.StaticTokens{Tok: &oauth2.Token{AccessToken: access}}), BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	existing := srv.IDs("accounts")[1]
	const (
		missing = "0b1d5a1e-0000-4000-8000-000000000001"
		chosen  = "0b1d5a1e-0000-4000-8000-000000000002"
	)
	one := func(op providers.WriteOp, key string, r providers.WriteRecord) providers.WriteRequest {
		return providers.WriteRequest{Object: "accounts", Op: op, UpsertKey: key, Records: []providers.WriteRecord{r}}
	}
	tests := []struct {
		name string
		req  providers.WriteRequest
		// ifMatch is whether the batch part carries If-Match: *.
		ifMatch bool
		success bool
		created bool
		id      string // "" = any
		code    string
		kind    providers.ErrorKind
		// exists and absent are rows that must and must not exist after.
		exists, absent string
	}{
		{name: "update an existing row", req: one(providers.WriteUpdate, "", providers.WriteRecord{ID: existing, Fields: map[string]any{"name": "Updated"}}),
			ifMatch: true, success: true, id: existing, exists: existing},
		{name: "update a missing row: 404, not created", req: one(providers.WriteUpdate, "", providers.WriteRecord{ID: missing, Fields: map[string]any{"name": "Ghost"}}),
			ifMatch: true, code: "0x80040217", kind: providers.KindNotFound, absent: missing},
		{name: "upsert by primary key creates under the caller's id", req: one(providers.WriteUpsert, "accountid", providers.WriteRecord{Fields: map[string]any{"accountid": strings.ToUpper(chosen), "name": "Chosen"}}),
			success: true, created: true, id: chosen, exists: chosen},
		{name: "upsert by primary key again updates", req: one(providers.WriteUpsert, "accountid", providers.WriteRecord{Fields: map[string]any{"accountid": chosen, "name": "Chosen 2"}}),
			success: true, id: chosen},
		{name: "upsert by primary key on an existing row updates", req: one(providers.WriteUpsert, "accountid", providers.WriteRecord{Fields: map[string]any{"accountid": existing, "telephone1": "+1 555 0100"}}),
			success: true, id: existing},
		{name: "upsert by alternate key creates", req: one(providers.WriteUpsert, "accountnumber", providers.WriteRecord{Fields: map[string]any{"accountnumber": "UPS-1", "name": "By key"}}),
			success: true, created: true},
		{name: "upsert by alternate key again updates", req: one(providers.WriteUpsert, "accountnumber", providers.WriteRecord{Fields: map[string]any{"accountnumber": "UPS-1", "name": "By key 2"}}),
			success: true},
		{name: "upsert by primary key needs a GUID", req: one(providers.WriteUpsert, "accountid", providers.WriteRecord{Fields: map[string]any{"accountid": "A-1", "name": "x"}}),
			code: "invalid_request", kind: providers.KindInvalid},
	}
	for _, tt := range tests {
		res, err := c.Write(t.Context(), tt.req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		r := res[0]
		code, kind := "", providers.KindUnknown
		if len(r.Errors) > 0 {
			code, kind = r.Errors[0].Code, r.Errors[0].Kind
		}
		if r.Success != tt.success || r.Created != tt.created || code != tt.code || kind != tt.kind || (tt.id != "" && r.ID != tt.id) {
			t.Errorf("%s: %+v, want success %v created %v id %q code %q kind %s", tt.name, r, tt.success, tt.created, tt.id, tt.code, tt.kind)
		}
		if tt.code != "invalid_request" {
			if sent := strings.Contains(w.last(), "If-Match: *"); sent != tt.ifMatch {
				t.Errorf("%s: If-Match: * sent %v, want %v:\n%s", tt.name, sent, tt.ifMatch, w.last())
			}
		}
		if _, ok := srv.Get("accounts", tt.exists); tt.exists != "" && !ok {
			t.Errorf("%s: %s does not exist", tt.name, tt.exists)
		}
		if _, ok := srv.Get("accounts", tt.absent); tt.absent != "" && ok {
			t.Errorf("%s: %s was created", tt.name, tt.absent)
		}
	}
	if got, _ := srv.Get("accounts", chosen); got["name"] != "Chosen 2" {
		t.Errorf("%s = %v", chosen, got)
	}
	if got, _ := srv.Get("accounts", existing); got["name"] != "Updated" || got["telephone1"] != "+1 555 0100" {
		t.Errorf("%s = %v", existing, got)
	}
	if rec, ok := srv.Kit().Store.FindBy("accounts", "accountnumber", "UPS-1"); !ok || rec.Fields["name"] != "By key 2" {
		t.Errorf("UPS-1 = %+v, %v", rec, ok)
	}
}
