package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/providertest"
)

// Contract tests: every recording in testdata/recordings is parsed by the
// client into concrete values, and where the fake serves the same request
// its answer has the recording's JSON shape (see sameShape).

func recording(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recordings", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %.200s", err, b)
	}
	return v
}

func sameShape(want, got any, path string, ignore ...string) []string {
	return providertest.ShapeDiff(path, want, got, providertest.ShapeOptions{Ignore: ignore})
}

func assertShape(t *testing.T, want []byte, got any, ignore ...string) {
	t.Helper()
	if diffs := sameShape(decodeJSON(t, want), got, "$", ignore...); len(diffs) > 0 {
		t.Errorf("the fake's answer differs in shape from the recording:\n  %s", strings.Join(diffs, "\n  "))
	}
}

func TestSameShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		want, got string
		diffs     int
	}{
		{`{"a":1,"b":"x"}`, `{"a":2,"b":"y","c":true}`, 0},
		{`{"a":1}`, `{"a":"1"}`, 1},
		{`{"a":null}`, `{"a":"anything"}`, 0},
		{`{"a":[{"b":1}]}`, `{"a":[{"b":1},{"c":2}]}`, 0},
		{`{"a":[{"b":1}]}`, `{"a":[{"c":1}]}`, 1},
		{`{"a":{"b":true}}`, `{}`, 1},
		{`[{"x":1}]`, `{"x":1}`, 1},
	}
	for _, tt := range tests {
		var w, g any
		_ = json.Unmarshal([]byte(tt.want), &w)
		_ = json.Unmarshal([]byte(tt.got), &g)
		if d := sameShape(w, g, "$"); len(d) != tt.diffs {
			t.Errorf("sameShape(%s, %s) = %v, want %d differences", tt.want, tt.got, d, tt.diffs)
		}
	}
}

// replay serves one scripted exchange per request, in order, checking
// each request's method and path, and records request bodies.
type replay struct {
	t      *testing.T
	steps  []step
	n      int
	bodies [][]byte
	// queries are the raw query strings of the requests.
	queries []string
}

type step struct {
	method, path string
	status       int
	body         []byte
	header       map[string]string
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rp.n >= len(rp.steps) {
		rp.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	s := rp.steps[rp.n]
	rp.n++
	if r.Method != s.method || r.URL.Path != s.path {
		rp.t.Errorf("request %d: %s %s, want %s %s", rp.n, r.Method, r.URL.Path, s.method, s.path)
	}
	b, _ := io.ReadAll(r.Body)
	rp.bodies = append(rp.bodies, b)
	rp.queries = append(rp.queries, r.URL.RawQuery)
	for k, v := range s.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.Header().Set("Sforce-Limit-Info", "api-usage=10018/100000")
	w.WriteHeader(s.status)
	_, _ = w.Write(s.body)
}

// replayClient returns a connector talking to a scripted server.
func replayClient(t *testing.T, steps ...step) (*Client, *replay, *[]providers.Quota) {
	t.Helper()
	rp := &replay{t: t, steps: steps}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	var quotas []providers.Quota
	c, err := New(providers.Config{HTTPClient: srv.Client(), BaseURL: srv.URL, OnQuota: func(q providers.Quota) { quotas = append(quotas, q) }})
	if err != nil {
		t.Fatal(err)
	}
	c.SetBulkPolling(0, 0, 0)
	t.Cleanup(func() {
		if rp.n != len(rp.steps) {
			t.Errorf("%d of %d scripted requests were made", rp.n, len(rp.steps))
		}
	})
	return c, rp, &quotas
}

const v60 = "/services/data/v60.0"

// fakeCall sends a raw request to the fake with a valid token and decodes
// the JSON answer.
func fakeCall(t *testing.T, f *fixture, method, path string, body any, header ...string) (int, any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	tok, err := f.src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if len(b) == 0 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, decodeJSON(t, b)
}

func fakeQuery(t *testing.T, f *fixture, soql string, header ...string) (int, any) {
	t.Helper()
	return fakeCall(t, f, http.MethodGet, v60+"/query?q="+url.QueryEscape(soql), nil, header...)
}

func TestContractReads(t *testing.T) {
	t.Parallel()
	type check func(t *testing.T, p *providers.ReadPage)
	tests := []struct {
		file, object string
		fields       []string
		check        check
		fakeSOQL     string
		ignore       []string
	}{
		{
			file: "read-list-leads.json", object: "lead", fields: []string{"Address", "City", "CleanStatus", "FirstName"},
			fakeSOQL: "SELECT Address, City, CleanStatus, FirstName FROM Lead",
			check: func(t *testing.T, p *providers.ReadPage) {
				// The recording has done=true with a nextRecordsUrl (a
				// trimming artefact): done wins.
				if len(p.Records) != 8 || !p.Done || p.NextCursor != "" || p.Total != 8 {
					t.Fatalf("got %d records, done %v, cursor %q, total %d", len(p.Records), p.Done, p.NextCursor, p.Total)
				}
				r := p.Records[0]
				addr, _ := r.Fields["address"].(map[string]any)
				if r.ID != "00Qak00000696HFEAY" || r.Fields["firstname"] != "Bertha" || r.Fields["city"] != "Tallahassee" ||
					addr["postalCode"] != "32306" || r.Fields["cleanstatus"] != "Pending" {
					t.Errorf("record 0 = %s %v", r.ID, r.Fields)
				}
				if r := p.Records[1]; r.Fields["city"] != nil || r.ID != "00Qak00000696HGEAY" {
					t.Errorf("record 1 = %s %v", r.ID, r.Fields)
				}
				if !json.Valid(r.Raw) || !bytes.Contains(r.Raw, []byte(`"Bertha"`)) {
					t.Errorf("Raw = %s", r.Raw)
				}
			},
		},
		{
			file: "read-list-contacts.json", object: "contact", fields: []string{"AccountId", "Department", "AssistantName", "Description"},
			fakeSOQL: "SELECT AccountId, Department, AssistantName, Description FROM Contact",
			check: func(t *testing.T, p *providers.ReadPage) {
				if len(p.Records) != 20 || p.Total != 20 || !p.Done {
					t.Fatalf("got %d records, total %d, done %v", len(p.Records), p.Total, p.Done)
				}
				r := p.Records[0]
				if r.ID != "003ak000003dQCGAA2" || r.Fields["accountid"] != "001ak00000OKNPHAA5" ||
					r.Fields["department"] != "Finance" || r.Fields["assistantname"] != "Jean Marie" || r.Fields["description"] != nil {
					t.Errorf("record 0 = %s %v", r.ID, r.Fields)
				}
			},
		},
		{
			file: "read-opportunity-with-account.json", object: "opportunity", fields: []string{"Name", "AccountId", "Amount", "StageName"},
			fakeSOQL: "SELECT Id, Name, AccountId, Amount, StageName FROM Opportunity",
			check: func(t *testing.T, p *providers.ReadPage) {
				if len(p.Records) != 2 {
					t.Fatalf("got %d records", len(p.Records))
				}
				a, b := p.Records[0], p.Records[1]
				if a.ID != "006ak00000OQ4RxAAL" || a.Fields["amount"] != 50000.0 || a.Fields["accountid"] != "001ak00000OKNPHAA5" || a.Fields["stagename"] != "Prospecting" {
					t.Errorf("record 0 = %s %v", a.ID, a.Fields)
				}
				if b.ID != "006ak00000OQ4RyAAL" || b.Fields["accountid"] != nil || b.Fields["amount"] != 30000.0 {
					t.Errorf("record 1 = %s %v", b.ID, b.Fields)
				}
			},
		},
		{
			// The fake has no relationship subqueries: its shape is compared
			// without OpportunityContactRoles.
			file: "read-opportunity-with-contacts.json", object: "opportunity",
			fields:   []string{"Name", "Amount", "StageName", "(SELECT Id, ContactId, Role FROM OpportunityContactRoles)"},
			fakeSOQL: "SELECT Id, Name, Amount, StageName FROM Opportunity", ignore: []string{"OpportunityContactRoles"},
			check: func(t *testing.T, p *providers.ReadPage) {
				if len(p.Records) != 1 {
					t.Fatalf("got %d records", len(p.Records))
				}
				roles, _ := p.Records[0].Fields["opportunitycontactroles"].(map[string]any)
				list, _ := roles["records"].([]any)
				first, _ := list[0].(map[string]any)
				if roles["totalSize"] != 2.0 || len(list) != 2 || first["ContactId"] != "003ak000003dQCGAA2" || first["Role"] != "Decision Maker" {
					t.Errorf("opportunitycontactroles = %v", roles)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := recording(t, tt.file)
			c, rp, quotas := replayClient(t, step{method: http.MethodGet, path: v60 + "/query", status: 200, body: body})
			p, err := c.Read(context.Background(), providers.ReadRequest{Object: tt.object, Fields: tt.fields, PageSize: 500})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			if len(*quotas) != 1 || (*quotas)[0].Used != 10018 || (*quotas)[0].Limit != 100000 {
				t.Errorf("quotas = %+v", *quotas)
			}
			_ = rp

			f := newFixture(t, smallPages(20))
			// A small batch so that the fake's page, like the recording,
			// carries a nextRecordsUrl.
			status, got := fakeQuery(t, f, tt.fakeSOQL, "Sforce-Query-Options", "batchSize=5")
			if status != 200 {
				t.Fatalf("fake: %d %v", status, got)
			}
			assertShape(t, body, got, tt.ignore...)
		})
	}
}

func TestContractSOQLSent(t *testing.T) {
	t.Parallel()
	c, _, _ := replayClient(t, step{method: http.MethodGet, path: v60 + "/queryAll", status: 200, body: []byte(`{"totalSize":0,"done":true,"records":[]}`)})
	since := time.Date(2024, 9, 10, 13, 12, 38, 0, time.UTC)
	var gotQuery, gotHeader string
	c.http = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		gotQuery, gotHeader = r.URL.Query().Get("q"), r.Header.Get("Sforce-Query-Options")
		return http.DefaultTransport.RoundTrip(r)
	})}
	if _, err := c.Read(context.Background(), providers.ReadRequest{Object: "account", Fields: []string{"name", "id", "Tier__c"},
		Since: since, Until: since.Add(time.Hour), IncludeDeleted: true, PageSize: 5000}); err != nil {
		t.Fatal(err)
	}
	want := "SELECT Id, SystemModstamp, IsDeleted, name, Tier__c FROM Account WHERE SystemModstamp > 2024-09-10T13:12:38.000Z AND SystemModstamp <= 2024-09-10T14:12:38.000Z ORDER BY SystemModstamp, Id"
	if gotQuery != want || gotHeader != "batchSize=2000" {
		t.Errorf("query %q\nwant  %q\nheader %q", gotQuery, want, gotHeader)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestContractErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		status int
		method string
		path   string
		call   func(c *Client) error
		code   string
		kind   providers.ErrorKind
		fake   func(t *testing.T, f *fixture) (int, any)
		fakeOK int
	}{
		{
			file: "unknown-field.json", status: 400, method: http.MethodGet, path: v60 + "/query",
			call: func(c *Client) error {
				_, err := c.Read(context.Background(), providers.ReadRequest{Object: "account", Fields: []string{"AccountNumer"}})
				return err
			},
			code: "INVALID_FIELD", kind: providers.KindInvalid, fakeOK: 400,
			fake: func(t *testing.T, f *fixture) (int, any) { return fakeQuery(t, f, "SELECT AccountNumer FROM Account") },
		},
		{
			file: "unknown-object.json", status: 400, method: http.MethodGet, path: v60 + "/query",
			call: func(c *Client) error {
				_, err := c.Read(context.Background(), providers.ReadRequest{Object: "Accout", Fields: []string{"Name", "BillingCity"}})
				return err
			},
			code: "INVALID_TYPE", kind: providers.KindInvalid, fakeOK: 400,
			fake: func(t *testing.T, f *fixture) (int, any) {
				return fakeQuery(t, f, "SELECT Name,BillingCity,IsDeleted FROM Accout")
			},
		},
		{
			file: "crm_delete_not-found.json", status: 404, method: http.MethodDelete, path: v60 + "/composite/sobjects",
			call: func(c *Client) error {
				_, err := c.Write(context.Background(), providers.WriteRequest{Object: "account", Op: providers.WriteDelete,
					Records: []providers.WriteRecord{{ID: "001ak00000OQTieAAH"}}})
				return err
			},
			code: "ENTITY_IS_DELETED", kind: providers.KindNotFound, fakeOK: 404,
			fake: func(t *testing.T, f *fixture) (int, any) {
				id := f.fake.IDs("account")[3]
				f.fake.Delete("account", id)
				return fakeCall(t, f, http.MethodDelete, v60+"/sobjects/Account/"+id, nil)
			},
		},
		{
			file: "invalid-field-upsert.json", status: 400, method: http.MethodPatch, path: v60 + "/composite/sobjects/Invoice__c/External_Id__c",
			call: func(c *Client) error {
				_, err := c.Write(context.Background(), providers.WriteRequest{Object: "invoice__c", Op: providers.WriteUpsert, UpsertKey: "External_Id__c",
					Records: []providers.WriteRecord{{Fields: map[string]any{"External_Id__c": "x", "MasterRecordId": "001ak00000OQTieAAH"}}}})
				return err
			},
			code: "INVALID_FIELD_FOR_INSERT_UPDATE", kind: providers.KindInvalid, fakeOK: 400,
			fake: func(t *testing.T, f *fixture) (int, any) {
				id := f.fake.IDs("account")[0]
				return fakeCall(t, f, http.MethodPatch, v60+"/sobjects/Account/"+id, map[string]any{"MasterRecordId": id})
			},
		},
		{
			file: "batch_create_contacts_err-bad-request.json", status: 400, method: http.MethodPost, path: v60 + "/composite/sobjects",
			call: func(c *Client) error {
				_, err := c.Write(context.Background(), providers.WriteRequest{Object: "contact", Op: providers.WriteCreate,
					Records: []providers.WriteRecord{{Fields: map[string]any{"LastName": "x"}}}})
				return err
			},
			code: "REQUIRED_FIELD_MISSING", kind: providers.KindInvalid, fakeOK: 400,
			fake: func(t *testing.T, f *fixture) (int, any) {
				return fakeCall(t, f, http.MethodPost, v60+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{}})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := recording(t, tt.file)
			c, _, _ := replayClient(t, step{method: tt.method, path: tt.path, status: tt.status, body: body})
			err := tt.call(c)
			var pe *providers.Error
			if !errorsAs(err, &pe) || pe.Code != tt.code || pe.Kind != tt.kind || pe.Status != tt.status || pe.Message == "" {
				t.Fatalf("err = %v (%+v), want %s %s", err, pe, tt.kind, tt.code)
			}
			want := decodeJSON(t, body).([]any)[0].(map[string]any)
			if pe.Message != want["message"] {
				t.Errorf("message %q, want %q", pe.Message, want["message"])
			}
			f := newFixture(t, smallPages(10))
			status, got := tt.fake(t, f)
			if status != tt.fakeOK {
				t.Fatalf("fake: status %d, want %d: %v", status, tt.fakeOK, got)
			}
			assertShape(t, body, got)
			if code := got.([]any)[0].(map[string]any)["errorCode"]; code != tt.code {
				t.Errorf("fake errorCode %v, want %s", code, tt.code)
			}
		})
	}
}

func TestContractWrites(t *testing.T) {
	t.Parallel()
	payloadRecords := func(t *testing.T, file string, withID bool) []providers.WriteRecord {
		var p struct {
			Records []map[string]any `json:"records"`
		}
		if err := json.Unmarshal(recording(t, file), &p); err != nil {
			t.Fatal(err)
		}
		var out []providers.WriteRecord
		for _, r := range p.Records {
			wr := providers.WriteRecord{Fields: map[string]any{"FirstName": r["FirstName"], "LastName": r["LastName"]}}
			if withID {
				wr.ID, _ = r["id"].(string)
			}
			out = append(out, wr)
		}
		return out
	}
	tests := []struct {
		file, payload string
		op            providers.WriteOp
		method        string
		allOrNone     bool
		noIDs         bool
		check         func(t *testing.T, res []providers.WriteResult)
		fake          func(t *testing.T, f *fixture) any
	}{
		{
			file: "batch_create_contacts_success.json", payload: "batch_create_contacts_payload.json", op: providers.WriteCreate, method: http.MethodPost,
			check: func(t *testing.T, res []providers.WriteResult) {
				if !res[0].Success || res[0].ID != "003ak00000luKU1AAM" || res[1].ID != "003ak00000luKU2AAM" || len(res[0].Errors) != 0 {
					t.Errorf("results = %+v", res)
				}
			},
			fake: func(t *testing.T, f *fixture) any {
				_, got := fakeCall(t, f, http.MethodPost, v60+"/composite/sobjects", recording(t, "batch_create_contacts_payload.json"))
				return got
			},
		},
		{
			file: "batch_create_contacts_partial-but-allOrNone.json", op: providers.WriteCreate, method: http.MethodPost, allOrNone: true,
			check: func(t *testing.T, res []providers.WriteResult) {
				a, b := res[0], res[1]
				if a.Success || len(a.Errors) != 1 || a.Errors[0].Code != "REQUIRED_FIELD_MISSING" || !slices.Equal(a.Errors[0].Fields, []string{"LastName"}) || a.Errors[0].Kind != providers.KindInvalid {
					t.Errorf("result 0 = %+v", a)
				}
				if b.Success || len(b.Errors) != 1 || b.Errors[0].Code != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
					t.Errorf("result 1 = %+v", b)
				}
			},
			fake: func(t *testing.T, f *fixture) any {
				_, got := fakeCall(t, f, http.MethodPost, v60+"/composite/sobjects", map[string]any{"allOrNone": true, "records": []any{
					map[string]any{"attributes": map[string]any{"type": "Contact"}, "FirstName": "Siena"},
					map[string]any{"attributes": map[string]any{"type": "Contact"}, "FirstName": "Markus", "LastName": "Blevins"},
				}})
				return got
			},
		},
		{
			file: "batch_update_contacts_success.json", payload: "batch_update_contacts_payload.json", op: providers.WriteUpdate, method: http.MethodPatch,
			check: func(t *testing.T, res []providers.WriteResult) {
				if !res[0].Success || res[0].ID != "003ak00000jvIfpAAE" || !res[1].Success || res[1].ID != "003ak00000jvIfqAAE" {
					t.Errorf("results = %+v", res)
				}
			},
			fake: func(t *testing.T, f *fixture) any {
				ids := f.fake.IDs("contact")
				body := strings.NewReplacer("003ak00000jvIfpAAE", ids[0], "003ak00000jvIfqAAE", ids[1]).Replace(string(recording(t, "batch_update_contacts_payload.json")))
				_, got := fakeCall(t, f, http.MethodPatch, v60+"/composite/sobjects", []byte(body))
				return got
			},
		},
		{
			file: "batch_update_contacts_err-each-no-ids.json", op: providers.WriteUpdate, method: http.MethodPatch, noIDs: true,
			check: func(t *testing.T, res []providers.WriteResult) {
				for i, r := range res {
					if r.Success || len(r.Errors) != 1 || r.Errors[0].Code != "MISSING_ARGUMENT" || r.Errors[0].Message != "Id not specified in an update call" {
						t.Errorf("result %d = %+v", i, r)
					}
				}
			},
			fake: func(t *testing.T, f *fixture) any {
				_, got := fakeCall(t, f, http.MethodPatch, v60+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
					map[string]any{"attributes": map[string]any{"type": "Contact"}, "FirstName": "Siena"},
					map[string]any{"attributes": map[string]any{"type": "Contact"}, "FirstName": "Markus"},
				}})
				return got
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := recording(t, tt.file)
			c, rp, _ := replayClient(t, step{method: tt.method, path: v60 + "/composite/sobjects", status: 200, body: body})
			records := []providers.WriteRecord{
				{ID: "003ak00000jvIfpAAE", Fields: map[string]any{"FirstName": "Siena", "LastName": "Dyer"}},
				{ID: "003ak00000jvIfqAAE", Fields: map[string]any{"FirstName": "Markus", "LastName": "Blevins"}},
			}
			if tt.payload != "" {
				records = payloadRecords(t, tt.payload, tt.op == providers.WriteUpdate)
			}
			res, err := c.Write(context.Background(), providers.WriteRequest{Object: "contact", Op: tt.op, AllOrNone: tt.allOrNone, Records: records})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 2 {
				t.Fatalf("%d results", len(res))
			}
			tt.check(t, res)
			if tt.payload != "" {
				// The client's request has the recorded request's shape.
				assertShape(t, recording(t, tt.payload), decodeJSON(t, rp.bodies[0]))
			}
			f := newFixture(t, smallPages(10))
			assertShape(t, body, tt.fake(t, f))
		})
	}
}

func TestContractSingleSaveResults(t *testing.T) {
	t.Parallel()
	var ok, bad saveResult
	if err := json.Unmarshal(recording(t, "create-ok.json"), &ok); err != nil {
		t.Fatal(err)
	}
	if r := ok.result(); !r.Success || r.ID != "001ak00000OQTieAAH" || len(r.Errors) != 0 {
		t.Errorf("create-ok = %+v", r)
	}
	if err := json.Unmarshal(recording(t, "success-with-errors.json"), &bad); err != nil {
		t.Fatal(err)
	}
	if r := bad.result(); r.Success || r.ID != "001RM000003oLruYAE" || len(r.Errors) != 1 || r.Errors[0].Code != "MALFORMED_ID" ||
		r.Errors[0].Message != "malformed id 001RM000003oLrB000" || r.Errors[0].Kind != providers.KindInvalid {
		t.Errorf("success-with-errors = %+v", r)
	}

	f := newFixture(t, smallPages(10))
	status, got := fakeCall(t, f, http.MethodPost, v60+"/sobjects/Account", map[string]any{"Name": "Contract Co"})
	if status != http.StatusCreated {
		t.Fatalf("fake create: %d %v", status, got)
	}
	assertShape(t, recording(t, "create-ok.json"), got)
	// A collection update naming a malformed id fails that row with the id.
	_, got = fakeCall(t, f, http.MethodPatch, v60+"/composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "Account"}, "id": "001RM000003oLrB00!", "Name": "x"},
	}})
	list, _ := got.([]any)
	if len(list) != 1 {
		t.Fatalf("fake update: %v", got)
	}
	assertShape(t, recording(t, "success-with-errors.json"), list[0])
	if code := list[0].(map[string]any)["errors"].([]any)[0].(map[string]any)["statusCode"]; code != "MALFORMED_ID" {
		t.Errorf("fake statusCode %v", code)
	}
}

func TestContractMetadata(t *testing.T) {
	t.Parallel()
	compositeBody := func(t *testing.T, file string) []byte {
		var c struct {
			CompositeResponse []struct {
				Body json.RawMessage `json:"body"`
			} `json:"compositeResponse"`
		}
		if err := json.Unmarshal(recording(t, file), &c); err != nil || len(c.CompositeResponse) != 1 {
			t.Fatalf("%s: %v", file, err)
		}
		return c.CompositeResponse[0].Body
	}
	tests := []struct {
		file, object, path, fakeObject string
		check                          func(t *testing.T, m *providers.ObjectMetadata)
		ignore                         []string
	}{
		{
			file: "metadata_read_accounts-sampled.json", object: "account", path: v60 + "/sobjects/Account/describe", fakeObject: "Account",
			// The trimmed recording has "urls": [] where Salesforce sends an
			// object; its fields are compared by name below.
			ignore: []string{"urls", "fields"},
			check: func(t *testing.T, m *providers.ObjectMetadata) {
				if m.Name != "account" || m.Custom || m.DisplayName != "Account" || len(m.Fields) != 4 {
					t.Fatalf("metadata = %+v", m)
				}
				want := []providers.FieldMetadata{
					{Name: "name", DisplayName: "Account Name", ValueType: "string", ProviderType: "string", Required: true, ReferenceTo: []string{}},
					{Name: "photourl", DisplayName: "Photo URL", ValueType: "string", ProviderType: "url", ReadOnly: true, ReferenceTo: []string{}},
					{Name: "createdbyid", DisplayName: "Created By ID", ValueType: "reference", ProviderType: "reference", ReadOnly: true, ReferenceTo: []string{"User"}},
					{Name: "createddate", DisplayName: "Created Date", ValueType: "datetime", ProviderType: "datetime", ReadOnly: true, ReferenceTo: []string{}},
				}
				for i, w := range want {
					g := m.Fields[i]
					if g.Name != w.Name || g.DisplayName != w.DisplayName || g.ValueType != w.ValueType || g.ProviderType != w.ProviderType ||
						g.ReadOnly != w.ReadOnly || g.Required != w.Required || g.Custom || !slices.Equal(g.ReferenceTo, w.ReferenceTo) {
						t.Errorf("field %d = %+v, want %+v", i, g, w)
					}
				}
			},
		},
		{
			file: "metadata_read_custom-object-with-custom-fields.json", object: "testobject15__c", path: v60 + "/sobjects/Testobject15__c/describe", fakeObject: "Invoice__c",
			check: func(t *testing.T, m *providers.ObjectMetadata) {
				if m.Name != "testobject15__c" || !m.Custom || m.DisplayName != "Test Object 15" || len(m.Fields) != 5 {
					t.Fatalf("metadata = %+v", m)
				}
				byName := map[string]providers.FieldMetadata{}
				for _, f := range m.Fields {
					byName[f.Name] = f
				}
				if f := byName["interests__c"]; !f.Custom || f.ValueType != "multiSelect" || len(f.Values) != 3 || f.Values[1].Value != "swimming" {
					t.Errorf("interests__c = %+v", f)
				}
				if f := byName["mailbox__c"]; !f.Custom || f.ValueType != "string" || f.ProviderType != "email" || f.Required {
					t.Errorf("mailbox__c = %+v", f)
				}
				if f := byName["id"]; f.Custom || !f.ReadOnly || f.ValueType != "string" {
					t.Errorf("id = %+v", f)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := compositeBody(t, tt.file)
			c, _, _ := replayClient(t, step{method: http.MethodGet, path: tt.path, status: 200, body: body})
			m, err := c.DescribeObject(context.Background(), tt.object)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
			f := newFixture(t, smallPages(10))
			status, got := fakeCall(t, f, http.MethodGet, v60+"/sobjects/"+tt.fakeObject+"/describe", nil)
			if status != 200 {
				t.Fatalf("fake: %d", status)
			}
			assertShape(t, body, got, tt.ignore...)
			// Each recorded field against the fake's field of the same name,
			// where the fake has one (the first elements differ: Id first).
			fakeFields := map[string]any{}
			for _, fd := range got.(map[string]any)["fields"].([]any) {
				fakeFields[fd.(map[string]any)["name"].(string)] = fd
			}
			matched := 0
			for _, fd := range decodeJSON(t, body).(map[string]any)["fields"].([]any) {
				name := fd.(map[string]any)["name"].(string)
				if g, ok := fakeFields[name]; ok {
					matched++
					if d := sameShape(fd, g, "$.fields["+name+"]"); len(d) > 0 {
						t.Errorf("field %s differs in shape:\n  %s", name, strings.Join(d, "\n  "))
					}
				}
			}
			if matched == 0 {
				t.Error("no recorded field has a namesake in the fake")
			}
		})
	}
}

func TestContractBulk(t *testing.T) {
	t.Parallel()
	const job = "750ak000009AVi5AAG"
	jobPath := v60 + "/jobs/query/" + job
	complete := strings.Replace(string(recording(t, "bulk_info_success.json")), `"750ak000009BWKLAA4"`, `"`+job+`"`, 1)
	csvChunk1 := "Id,Name,SystemModstamp\n001ak00000OQTieAAH,\"Acme, Inc.\",2024-09-09T13:08:34.000Z\n"
	csvChunk2 := "Id,Name,SystemModstamp\n001ak00000OQTifAAH,\"Quote \"\"q\"\"\",\n"
	c, rp, _ := replayClient(t,
		step{method: http.MethodPost, path: v60 + "/jobs/query", status: 200, body: recording(t, "bulk_read-launch-job-account.json")},
		step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_in-progress.json")},
		step{method: http.MethodGet, path: jobPath, status: 200, body: []byte(complete)},
		step{method: http.MethodGet, path: jobPath + "/results", status: 200, body: []byte(csvChunk1),
			header: map[string]string{"Content-Type": "text/csv", "Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "1"}},
		step{method: http.MethodGet, path: jobPath + "/results", status: 200, body: []byte(csvChunk2),
			header: map[string]string{"Content-Type": "text/csv", "Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"}},
	)
	var recs []providers.Record
	for r, err := range c.BulkRead(context.Background(), providers.ReadRequest{Object: "account", Fields: []string{"Name"}}) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].ID != "001ak00000OQTieAAH" || recs[0].Fields["name"] != "Acme, Inc." ||
		!recs[0].ModifiedAt.Equal(time.Date(2024, 9, 9, 13, 8, 34, 0, time.UTC)) || recs[1].Fields["name"] != `Quote "q"` || recs[1].Fields["systemmodstamp"] != nil {
		t.Errorf("records = %+v", recs)
	}
	if string(recs[1].Raw) != `{"Id":"001ak00000OQTifAAH","Name":"Quote \"q\"","SystemModstamp":null}` {
		t.Errorf("raw = %s", recs[1].Raw)
	}
	var create map[string]string
	_ = json.Unmarshal(rp.bodies[0], &create)
	if create["operation"] != "query" || create["query"] != "SELECT Id, SystemModstamp, Name FROM Account" {
		t.Errorf("job request = %s", rp.bodies[0])
	}

	// A failed job ends the read with its error message.
	c2, _, _ := replayClient(t,
		step{method: http.MethodPost, path: v60 + "/jobs/query", status: 200, body: recording(t, "bulk_read-launch-job-account.json")},
		step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_complete-failure.json")},
	)
	var gotErr error
	for _, err := range c2.BulkRead(context.Background(), providers.ReadRequest{Object: "account"}) {
		gotErr = err
	}
	if providers.KindOf(gotErr) != providers.KindInvalid || !strings.Contains(fmt.Sprint(gotErr), "Field name not found : StageName_invalid_field_on_purpose") {
		t.Errorf("failed job: %v", gotErr)
	}

	// The fake's job answers have the recorded shape.
	f := newFixture(t, smallPages(10))
	status, got := fakeCall(t, f, http.MethodPost, v60+"/jobs/query", map[string]string{"operation": "query", "query": "SELECT Id, Name FROM Account"})
	if status != 200 {
		t.Fatalf("fake job: %d %v", status, got)
	}
	assertShape(t, recording(t, "bulk_read-launch-job-account.json"), got)
}

// TestContractBulkIngestRecordings decodes every Bulk API 2.0 ingest
// recording as job info (TestContractBulkIngest replays them through
// BulkWrite, TestContractBulkIngestFake compares the fake's answers).
func TestContractBulkIngestRecordings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, state, op string
		processed       int64
		failed          int64
		terminal        bool
		contentURL      bool
	}{
		{"bulk_write_launch-job-opportunity.json", "Open", "upsert", 0, 0, false, true},
		{"bulk_write_update-job-opportunity.json", "UploadComplete", "upsert", 0, 0, false, false},
		{"bulk_delete_launch-job-opportunity.json", "Open", "delete", 0, 0, false, true},
		{"bulk_info_in-progress.json", "InProgress", "upsert", 2000, 0, false, false},
		{"bulk_info_success.json", "JobComplete", "upsert", 3000, 0, true, false},
		{"bulk_info_partial-failure.json", "JobComplete", "upsert", 8, 1, true, false},
		{"bulk_info_complete-failure.json", "Failed", "upsert", 0, 0, true, false},
	}
	for _, tt := range tests {
		var j jobInfo
		if err := json.Unmarshal(recording(t, tt.file), &j); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		done, err := j.terminal()
		if j.State != tt.state || j.Operation != tt.op || j.Object != "Opportunity" || j.APIVersion != 60 ||
			j.NumberRecordsProcessed != tt.processed || j.NumberRecordsFailed != tt.failed || done != tt.terminal || (j.ContentURL != "") != tt.contentURL {
			t.Errorf("%s: %+v (terminal %v)", tt.file, j, done)
		}
		if (err != nil) != (tt.state == "Failed") {
			t.Errorf("%s: err = %v", tt.file, err)
		}
		if _, perr := ParseTime(j.CreatedDate); perr != nil {
			t.Errorf("%s: createdDate %q: %v", tt.file, j.CreatedDate, perr)
		}
	}
	var rows []providers.Record
	_, err := streamCSV(bytes.NewReader(recording(t, "bulk_info_partial-failure.csv")), false, func(r providers.Record, _ error) bool {
		rows = append(rows, r)
		return true
	})
	if err != nil || len(rows) != 1 {
		t.Fatalf("failed results: %d rows, %v", len(rows), err)
	}
	if r := rows[0].Fields; r["sf__id"] != nil || !strings.HasPrefix(r["sf__error"].(string), "INVALID_FIELD:Failed to deserialize field at col 3") ||
		r["external_id__c"] != "external-id-3" || r["name"] != "Noemi Miller" {
		t.Errorf("failed row = %v", r)
	}
}

func TestContractChangeEvents(t *testing.T) {
	t.Parallel()
	ev, err := ParseChangeEvent(recording(t, "subscription_update_contact.json"))
	if err != nil {
		t.Fatal(err)
	}
	name, _ := ev.Fields["name"].(map[string]any)
	if ev.Object != "contact" || ev.ChangeType != "UPDATE" || !slices.Equal(ev.RecordIDs, []string{"003ak00000IiFInAAN"}) ||
		!slices.Equal(ev.ChangedFields, []string{"lastmodifieddate", "name.lastname"}) || name["LastName"] != "Youngest" ||
		!ev.CommitTime.Equal(time.UnixMilli(1745500706000)) || ev.CommitUser != "005ak00000EpjsfAAB" {
		t.Errorf("update event = %+v", ev)
	}
	ev, err = ParseChangeEvent(recording(t, "subscription_new_account.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Object != "account" || ev.ChangeType != "CREATE" || !slices.Equal(ev.RecordIDs, []string{"0015f00002J9YYEAA3"}) ||
		ev.Fields["name"] != "Acme" || ev.Fields["description"] != "Sample account record." || ev.Fields["createddate"] != 1712693965000.0 {
		t.Errorf("create event = %+v", ev)
	}
}

func errorsAs(err error, target **providers.Error) bool { return errors.As(err, target) }
