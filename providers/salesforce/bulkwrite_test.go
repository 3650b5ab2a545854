package salesforce

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

// wrapTransport puts hook in front of the fixture client's transport.
func (f *fixture) wrapTransport(hook func(r *http.Request)) {
	base := f.client.http.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc := *f.client.http
	hc.Transport = roundTrip(func(r *http.Request) (*http.Response, error) {
		hook(r)
		return base.RoundTrip(r)
	})
	f.client.http = &hc
}

func mustBulkWrite(t *testing.T, c *Client, req providers.WriteRequest) []providers.WriteResult {
	t.Helper()
	res, err := c.BulkWrite(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(req.Records) {
		t.Fatalf("%d results for %d records", len(res), len(req.Records))
	}
	return res
}

// TestBulkWriteRoundTrip inserts 25,000 records through one ingest job and
// reads them back, then updates, upserts by external id and deletes.
func TestBulkWriteRoundTrip(t *testing.T) {
	t.Parallel()
	const n = 25000
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 100}, BulkPolls: 2})
	ctx := context.Background()
	before := f.fake.Now()

	recs := make([]providers.WriteRecord, n)
	for i := range recs {
		fields := map[string]any{"Name": fmt.Sprintf("BULK-%06d", i), "Amount__c": float64(i) + 0.5, "External_Id__c": fmt.Sprintf("bulk-%d", i)}
		if i%3 == 0 {
			fields["Status__c"] = "Sent" // a column some records leave empty
		}
		recs[i] = providers.WriteRecord{Fields: fields}
	}
	res := mustBulkWrite(t, f.client, providers.WriteRequest{Object: "invoice__c", Op: providers.WriteCreate, Records: recs})
	ids := make([]string, n)
	for i, r := range res {
		if !r.Success || r.ID == "" || !r.Created || len(r.Errors) != 0 {
			t.Fatalf("insert result %d = %+v", i, r)
		}
		ids[i] = r.ID
	}
	// The ids are the fake's, in input order: read them back.
	var got []providers.Record
	req := providers.ReadRequest{Object: "invoice__c", Fields: []string{"Name", "Amount__c", "Status__c", "External_Id__c"}, Since: before}
	for {
		p, err := f.client.Read(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Records...)
		if p.Done {
			break
		}
		req.Cursor = p.NextCursor
	}
	if len(got) != n {
		t.Fatalf("read back %d records, want %d", len(got), n)
	}
	for i, r := range got {
		if r.ID != ids[i] || r.Fields["name"] != fmt.Sprintf("BULK-%06d", i) || r.Fields["amount__c"] != float64(i)+0.5 ||
			r.Fields["external_id__c"] != fmt.Sprintf("bulk-%d", i) || (i%3 == 0) != (r.Fields["status__c"] == "Sent") {
			t.Fatalf("record %d = %s %v, want id %s", i, r.ID, r.Fields, ids[i])
		}
	}

	// Update: a field set on some, cleared (nil -> #N/A) on others.
	upd := []providers.WriteRecord{
		{ID: ids[0], Fields: map[string]any{"Amount__c": 99.0}},
		{ID: ids[3], Fields: map[string]any{"Status__c": nil}},
		{ID: ids[7], Fields: map[string]any{"id": "ignored", "Status__c": "Paid"}},
	}
	res = mustBulkWrite(t, f.client, providers.WriteRequest{Object: "invoice__c", Op: providers.WriteUpdate, Records: upd})
	for i, r := range res {
		if !r.Success || r.ID != upd[i].ID || r.Created {
			t.Errorf("update result %d = %+v", i, r)
		}
	}
	if rec, _ := f.fake.Get("invoice__c", ids[0]); rec["Amount__c"] != 99.0 || rec["Name"] != "BULK-000000" {
		t.Errorf("updated record 0 = %v", rec)
	}
	if rec, _ := f.fake.Get("invoice__c", ids[3]); rec["Status__c"] != nil {
		t.Errorf("cleared record 3 = %v", rec)
	}
	if rec, _ := f.fake.Get("invoice__c", ids[7]); rec["Status__c"] != "Paid" {
		t.Errorf("updated record 7 = %v", rec)
	}

	// Upsert by Invoice__c's external id: a seeded record, a bulk-inserted
	// one and a new key.
	seeded := f.fake.IDs("invoice__c")[5]
	ups := []providers.WriteRecord{
		{Fields: map[string]any{"External_Id__c": "inv-5", "Status__c": "Overdue"}},
		{Fields: map[string]any{"External_Id__c": "bulk-10", "Amount__c": 1.0}},
		{Fields: map[string]any{"External_Id__c": "new-key-1", "Name": "INV-NEW"}},
	}
	res = mustBulkWrite(t, f.client, providers.WriteRequest{Object: "invoice__c", Op: providers.WriteUpsert, UpsertKey: "External_Id__c", Records: ups})
	if !res[0].Success || res[0].Created || res[0].ID != seeded || !res[1].Success || res[1].Created || res[1].ID != ids[10] ||
		!res[2].Success || !res[2].Created || res[2].ID == "" {
		t.Errorf("upsert results = %+v", res)
	}
	if rec, _ := f.fake.Get("invoice__c", seeded); rec["Status__c"] != "Overdue" || rec["External_Id__c"] != "inv-5" {
		t.Errorf("upserted seeded record = %v", rec)
	}
	if rec, ok := f.fake.Get("invoice__c", res[2].ID); !ok || rec["Name"] != "INV-NEW" {
		t.Errorf("upsert-created record = %v", rec)
	}

	// Delete, including an id that is already deleted at the second go.
	del := []providers.WriteRecord{{ID: ids[1]}, {ID: ids[2]}, {ID: ids[1]}}
	res = mustBulkWrite(t, f.client, providers.WriteRequest{Object: "invoice__c", Op: providers.WriteDelete, Records: del})
	if !res[0].Success || res[0].ID != ids[1] || !res[1].Success || res[1].ID != ids[2] {
		t.Errorf("delete results = %+v", res)
	}
	if res[2].Success || len(res[2].Errors) != 1 || res[2].Errors[0].Code != "ENTITY_IS_DELETED" || res[2].Errors[0].Kind != providers.KindNotFound || res[2].ID != ids[1] {
		t.Errorf("second delete of the same id = %+v", res[2])
	}
	for _, id := range ids[1:3] {
		if rec, _ := f.fake.Get("invoice__c", id); rec["IsDeleted"] != true {
			t.Errorf("%s not deleted: %v", id, rec)
		}
	}
}

// TestBulkWritePartialFailures checks per-record failures land on the
// right input positions, with duplicate rows, pre-failed records and
// values the fake rejects.
func TestBulkWritePartialFailures(t *testing.T) {
	t.Parallel()
	type want struct {
		ok     bool
		code   string
		kind   providers.ErrorKind
		fields []string
	}
	ok := want{ok: true}
	tests := []struct {
		name   string
		object string
		op     providers.WriteOp
		key    string
		recs   []providers.WriteRecord
		want   []want
	}{
		{
			name: "insert contacts, some without LastName, with identical rows", object: "contact", op: providers.WriteCreate,
			recs: []providers.WriteRecord{
				{Fields: map[string]any{"LastName": "Ok", "FirstName": "A"}},
				{Fields: map[string]any{"FirstName": "No last name"}},
				{Fields: map[string]any{"LastName": "Twin"}},
				{Fields: map[string]any{"FirstName": "No last name"}},
				{Fields: map[string]any{"LastName": "Twin"}},
				{Fields: map[string]any{"LastName": nil, "Email": "null@example.com"}},
				{Fields: map[string]any{}},
				{Fields: map[string]any{"LastName": "Same", "lastname": "Twice"}},
			},
			want: []want{ok,
				{code: "REQUIRED_FIELD_MISSING", kind: providers.KindInvalid, fields: []string{"LastName"}},
				ok,
				{code: "REQUIRED_FIELD_MISSING", kind: providers.KindInvalid, fields: []string{"LastName"}},
				ok,
				{code: "REQUIRED_FIELD_MISSING", kind: providers.KindInvalid, fields: []string{"LastName"}},
				{code: "MISSING_ARGUMENT", kind: providers.KindInvalid},
				{code: "INVALID_FIELD", kind: providers.KindInvalid, fields: []string{"LastName"}},
			},
		},
		{
			name: "insert opportunities with a bad date", object: "opportunity", op: providers.WriteCreate,
			recs: []providers.WriteRecord{
				{Fields: map[string]any{"Name": "Good", "StageName": "Prospecting", "CloseDate": "2024-01-31"}},
				{Fields: map[string]any{"Name": "Bad", "StageName": "Prospecting", "CloseDate": "2003-04-987654321987654321"}},
				{Fields: map[string]any{"Name": "Bad amount", "StageName": "Prospecting", "CloseDate": "2024-01-31", "Amount": "lots"}},
			},
			want: []want{ok,
				{code: "INVALID_FIELD", kind: providers.KindInvalid, fields: []string{"CloseDate"}},
				{code: "INVALID_FIELD", kind: providers.KindInvalid, fields: []string{"Amount"}},
			},
		},
		{
			name: "update with unknown, missing and other-object ids", object: "account", op: providers.WriteUpdate,
			recs: []providers.WriteRecord{
				{ID: "001000000000003AAA", Fields: map[string]any{"BillingCity": "Oslo"}},
				{ID: "001N99999999999AAA", Fields: map[string]any{"BillingCity": "Oslo"}},
				{Fields: map[string]any{"BillingCity": "Oslo"}},
				{ID: "003000000000003AAA", Fields: map[string]any{"BillingCity": "Oslo"}},
				{ID: "001000000000004AAA", Fields: map[string]any{"Name": ""}},
			},
			want: []want{ok,
				{code: "INVALID_CROSS_REFERENCE_KEY", kind: providers.KindInvalid},
				{code: "MISSING_ARGUMENT", kind: providers.KindInvalid},
				{code: "INVALID_CROSS_REFERENCE_KEY", kind: providers.KindInvalid},
				{code: "REQUIRED_FIELD_MISSING", kind: providers.KindInvalid, fields: []string{"Name"}},
			},
		},
		{
			name: "upsert with a duplicate key and a missing key", object: "invoice__c", op: providers.WriteUpsert, key: "External_Id__c",
			recs: []providers.WriteRecord{
				{Fields: map[string]any{"External_Id__c": "dup-1", "Name": "First"}},
				{Fields: map[string]any{"Name": "No key"}},
				{Fields: map[string]any{"External_Id__c": "dup-1", "Name": "Second"}},
				{Fields: map[string]any{"External_Id__c": "inv-1", "Due_Date__c": "not a date"}},
			},
			want: []want{ok,
				{code: "MISSING_ARGUMENT", kind: providers.KindInvalid, fields: []string{"External_Id__c"}},
				{code: "DUPLICATE_EXTERNAL_ID", kind: providers.KindConflict, fields: []string{"External_Id__c"}},
				{code: "INVALID_FIELD", kind: providers.KindInvalid, fields: []string{"Due_Date__c"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 10}, BulkPolls: 3})
			res := mustBulkWrite(t, f.client, providers.WriteRequest{Object: tt.object, Op: tt.op, UpsertKey: tt.key, Records: tt.recs})
			for i, w := range tt.want {
				r := res[i]
				if r.Success != w.ok {
					t.Errorf("record %d: %+v, want success %v", i, r, w.ok)
					continue
				}
				if w.ok {
					if r.ID == "" || len(r.Errors) != 0 {
						t.Errorf("record %d: %+v", i, r)
					}
					continue
				}
				if len(r.Errors) != 1 || r.Errors[0].Code != w.code || r.Errors[0].Kind != w.kind || !slices.Equal(r.Errors[0].Fields, w.fields) || r.Errors[0].Message == "" {
					t.Errorf("record %d: %+v, want %s (%s) fields %v", i, r, w.code, w.kind, w.fields)
				}
				if tt.op == providers.WriteUpdate && r.ID != tt.recs[i].ID {
					t.Errorf("record %d: id %q, want the input's %q", i, r.ID, tt.recs[i].ID)
				}
			}
			// Identical successful rows got distinct records.
			if tt.object == "contact" && (res[2].ID == res[4].ID || res[0].ID == res[2].ID) {
				t.Errorf("identical rows share an id: %+v", res)
			}
		})
	}
}

// TestBulkWriteRequestErrors covers refusals before or instead of per-record
// results.
func TestBulkWriteRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      providers.WriteRequest
		kind     providers.ErrorKind
		code     string
		contains string
		calls    bool // whether the fake was called
	}{
		{"all or none is refused", providers.WriteRequest{Object: "account", Op: providers.WriteCreate, AllOrNone: true,
			Records: []providers.WriteRecord{{Fields: map[string]any{"Name": "x"}}}}, providers.KindInvalid, "ALL_OR_NONE_UNSUPPORTED", "no all-or-none", false},
		{"upsert without key", providers.WriteRequest{Object: "invoice__c", Op: providers.WriteUpsert,
			Records: []providers.WriteRecord{{Fields: map[string]any{"Name": "x"}}}}, providers.KindInvalid, "", "UpsertKey is empty", false},
		{"unknown op", providers.WriteRequest{Object: "account", Op: "merge",
			Records: []providers.WriteRecord{{Fields: map[string]any{"Name": "x"}}}}, providers.KindInvalid, "", "unknown write op", false},
		{"unknown object", providers.WriteRequest{Object: "nosuch__c", Op: providers.WriteCreate,
			Records: []providers.WriteRecord{{Fields: map[string]any{"Name": "x"}}}}, providers.KindNotFound, "INVALIDENTITY", "not supported by the Bulk API", true},
		{"upsert key that is not an external id", providers.WriteRequest{Object: "invoice__c", Op: providers.WriteUpsert, UpsertKey: "Name",
			Records: []providers.WriteRecord{{Fields: map[string]any{"Name": "x"}}}}, providers.KindInvalid, "INVALIDJOB", "not an External ID", true},
		{"a column that is not a field fails the job", providers.WriteRequest{Object: "opportunity", Op: providers.WriteCreate,
			Records: []providers.WriteRecord{{Fields: map[string]any{"Name": "x", "StageName_invalid_field_on_purpose": "y"}}}},
			providers.KindInvalid, "InvalidBatch", "Field name not found : StageName_invalid_field_on_purpose", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, smallPages(10))
			used := f.fake.APIUsage()
			res, err := f.client.BulkWrite(context.Background(), tt.req)
			var pe *providers.Error
			if res != nil || !errors.As(err, &pe) || pe.Kind != tt.kind || pe.Code != tt.code || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("BulkWrite = %v, %v; want %s %q containing %q", res, err, tt.kind, tt.code, tt.contains)
			}
			if called := f.fake.APIUsage() > used; called != tt.calls {
				t.Errorf("fake called: %v, want %v", called, tt.calls)
			}
		})
	}

	// Nothing to upload: no job.
	f := newFixture(t, smallPages(10))
	res, err := f.client.BulkWrite(context.Background(), providers.WriteRequest{Object: "account", Op: providers.WriteDelete,
		Records: []providers.WriteRecord{{}, {}}})
	if err != nil || len(res) != 2 || res[0].Errors[0].Code != "MISSING_ARGUMENT" || f.fake.APIUsage() != 0 {
		t.Errorf("all records pre-failed: %+v, %v, %d calls", res, err, f.fake.APIUsage())
	}
	if res, err := f.client.BulkWrite(context.Background(), providers.WriteRequest{Object: "account", Op: providers.WriteCreate}); err != nil || len(res) != 0 {
		t.Errorf("no records: %v, %v", res, err)
	}
}

// TestBulkWriteCancelWhilePolling cancels the context during polling: the
// call returns the context's error and aborts the job, whose records stay
// unprocessed.
func TestBulkWriteCancelWhilePolling(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 10}, BulkPolls: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var polls atomic.Int32
	var mu sync.Mutex
	var jobPath string
	f.wrapTransport(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/jobs/ingest/") {
			mu.Lock()
			jobPath = r.URL.Path
			mu.Unlock()
			if polls.Add(1) == 3 {
				cancel()
			}
		}
	})
	recs := []providers.WriteRecord{{Fields: map[string]any{"LastName": "One"}}, {Fields: map[string]any{"LastName": "Two"}}}
	liveBefore := len(f.fake.IDs("contact"))
	res, err := f.client.BulkWrite(ctx, providers.WriteRequest{Object: "contact", Op: providers.WriteCreate, Records: recs})
	if res != nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "(aborted)") {
		t.Fatalf("BulkWrite = %v, %v", res, err)
	}
	if n := polls.Load(); n != 3 {
		t.Errorf("%d polls, want 3 (the third one is cancelled)", n)
	}
	mu.Lock()
	path := jobPath
	mu.Unlock()
	status, info := fakeCall(t, f, http.MethodGet, path, nil)
	if m, _ := info.(map[string]any); status != 200 || m["state"] != "Aborted" || m["numberRecordsProcessed"] != 0.0 {
		t.Errorf("job after cancel: %d %v", status, info)
	}
	if n := len(f.fake.IDs("contact")); n != liveBefore {
		t.Errorf("%d contacts, want %d: an aborted job wrote records", n, liveBefore)
	}
	body := fakeText(t, f, path+"/unprocessedrecords/")
	if body != "LastName\n\"One\"\n\"Two\"" {
		t.Errorf("unprocessed records = %q", body)
	}
}

// TestBulkWriteRefreshesMidJob expires the session just before the upload:
// the auth client refreshes and replays the streamed CSV (GetBody).
func TestBulkWriteRefreshesMidJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, smallPages(10))
	var once sync.Once
	f.wrapTransport(func(r *http.Request) {
		if r.Method == http.MethodPut {
			once.Do(f.fake.ExpireTokens)
		}
	})
	recs := make([]providers.WriteRecord, 500)
	for i := range recs {
		recs[i] = providers.WriteRecord{Fields: map[string]any{"Name": fmt.Sprintf("Refresh %d", i)}}
	}
	before, err := f.src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res := mustBulkWrite(t, f.client, providers.WriteRequest{Object: "account", Op: providers.WriteCreate, Records: recs})
	if after, _ := f.src.Token(context.Background()); after.AccessToken == before.AccessToken {
		t.Error("the session was not refreshed")
	}
	for i, r := range res {
		if rec, ok := f.fake.Get("account", r.ID); !r.Success || !ok || rec["Name"] != fmt.Sprintf("Refresh %d", i) {
			t.Fatalf("record %d: %+v %v", i, r, rec)
		}
	}
}

// TestBulkWriteCSV checks the uploaded CSV: stable columns, key first,
// quoting, nulls.
func TestBulkWriteCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  providers.WriteRequest
		want string
	}{
		{"insert", providers.WriteRequest{Op: providers.WriteCreate, Records: []providers.WriteRecord{
			{Fields: map[string]any{"Name": `Acme, "Inc"`, "billingcity": "Oslo", "NumberOfEmployees": 12.0}},
			{Fields: map[string]any{"BillingCity": nil, "name": "B", "Tier__c": "", "Active": true}},
		}}, "Active,billingcity,Name,NumberOfEmployees,Tier__c\n,Oslo,\"Acme, \"\"Inc\"\"\",12,\ntrue,#N/A,B,,#N/A\n"},
		{"update puts Id first and drops Id fields", providers.WriteRequest{Op: providers.WriteUpdate, Records: []providers.WriteRecord{
			{ID: "001A", Fields: map[string]any{"Id": "other", "Name": "x\ny"}},
		}}, "Id,Name\n001A,\"x\ny\"\n"},
		{"upsert puts the key first", providers.WriteRequest{Op: providers.WriteUpsert, UpsertKey: "External_Id__c", Records: []providers.WriteRecord{
			{Fields: map[string]any{"Amount__c": 1.5, "external_id__c": "k1"}},
		}}, "External_Id__c,Amount__c\nk1,1.5\n"},
		{"delete uploads ids only", providers.WriteRequest{Op: providers.WriteDelete, Records: []providers.WriteRecord{
			{ID: "001A", Fields: map[string]any{"Name": "ignored"}}, {ID: "001B"},
		}}, "Id\n001A\n001B\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := newIngestPlan(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			buf := make([]byte, 7) // small reads cross row boundaries
			body := newCSVBody(p)
			for {
				n, err := body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if b.String() != tt.want {
				t.Errorf("CSV =\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}

func TestParseBulkError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want providers.RecordError
	}{
		{"INVALID_FIELD:Failed to deserialize field at col 3. Due to, '2003-04-987654321987654321' is not a valid value for the type xsd:date:CloseDate --",
			providers.RecordError{Code: "INVALID_FIELD", Message: "Failed to deserialize field at col 3. Due to, '2003-04-987654321987654321' is not a valid value for the type xsd:date",
				Fields: []string{"CloseDate"}, Kind: providers.KindInvalid}},
		{"REQUIRED_FIELD_MISSING:Required fields are missing: [LastName, Company]:LastName,Company --",
			providers.RecordError{Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [LastName, Company]", Fields: []string{"LastName", "Company"}, Kind: providers.KindInvalid}},
		{"DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record with id: a0A000000000001:--",
			providers.RecordError{Code: "DUPLICATE_VALUE", Message: "duplicate value found: External_Id__c duplicates value on record with id: a0A000000000001", Kind: providers.KindConflict}},
		{"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record: --",
			providers.RecordError{Code: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access to this record", Kind: providers.KindRetryable}},
		{"something odd happened", providers.RecordError{Message: "something odd happened", Kind: providers.KindInvalid}},
	}
	for _, tt := range tests {
		got := parseBulkError(tt.in)
		if got.Code != tt.want.Code || got.Message != tt.want.Message || !slices.Equal(got.Fields, tt.want.Fields) || got.Kind != tt.want.Kind {
			t.Errorf("parseBulkError(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestIngestFailureKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg       string
		processed int64
		kind      providers.ErrorKind
		code      string
	}{
		{"InvalidBatch : Field name not found : StageName_invalid_field_on_purpose", 0, providers.KindInvalid, "InvalidBatch"},
		{"ClientInputError : LineEnding is invalid on user data", 0, providers.KindInvalid, "ClientInputError"},
		{"InternalServerError : Failed to process query", 0, providers.KindRetryable, "InternalServerError"},
		{"Batch failed after 10 retries", 10000, providers.KindUnknown, "JOB_FAILED"},
	}
	for _, tt := range tests {
		j := jobInfo{ID: "750x", State: "Failed", ErrorMessage: tt.msg, NumberRecordsProcessed: tt.processed}
		var pe *providers.Error
		if err := j.ingestFailure(); !errors.As(err, &pe) || pe.Kind != tt.kind || pe.Code != tt.code || !strings.Contains(pe.Message, tt.msg) {
			t.Errorf("%q: %v, want %s %s", tt.msg, err, tt.kind, tt.code)
		}
	}
}

// TestMatcherOutOfOrder feeds results in reverse order, with identical
// rows, a row matching no record, and one matched by its key only.
func TestMatcherOutOfOrder(t *testing.T) {
	t.Parallel()
	p, err := newIngestPlan(providers.WriteRequest{Op: providers.WriteUpdate, Records: []providers.WriteRecord{
		{ID: "001A", Fields: map[string]any{"Name": "same"}},
		{ID: "001B", Fields: map[string]any{"Name": "same"}},
		{ID: "001B", Fields: map[string]any{"Name": "same"}},
		{ID: "001C", Fields: map[string]any{"Name": " padded\r\nline "}},
		{ID: "001D", Fields: map[string]any{"Name": "changed by Salesforce"}},
		{ID: "001E", Fields: map[string]any{"Name": "no result"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := &matcher{p: p, seed: maphash.MakeSeed()}
	success := "\"sf__Id\",\"sf__Created\",Name,Id\n" +
		"\"001D\",\"false\",\"CHANGED\",\"001D\"\n" +
		"\"001C\",\"false\",\"padded\nline\",\"001C\"\n" +
		"\"001B\",\"false\",\"same\",\"001B\"\n" +
		"\"001Z\",\"false\",\"unknown\",\"001Z\"\n"
	failed := "\"sf__Id\",\"sf__Error\",Id,Name\n" +
		"\"001B\",\"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--\",\"001B\",\"same\"\n" +
		"\"001A\",\"ENTITY_IS_DELETED:entity is deleted:--\",\"001A\",\"same\"\n"
	if err := m.consume(strings.NewReader(success), resultSuccess); err != nil {
		t.Fatal(err)
	}
	if err := m.consume(strings.NewReader(failed), resultFailed); err != nil {
		t.Fatal(err)
	}
	r := p.results
	if r[0].Success || r[0].Errors[0].Code != "ENTITY_IS_DELETED" || !r[1].Success || r[2].Success || r[2].Errors[0].Code != "UNABLE_TO_LOCK_ROW" ||
		!r[3].Success || r[3].ID != "001C" || !r[4].Success || r[4].ID != "001D" || p.done[5] || m.unmatched != 1 {
		t.Errorf("results = %+v, done %v, unmatched %d", r, p.done, m.unmatched)
	}
}

// fakeText GETs a path from the fake and returns the body.
func fakeText(t *testing.T, f *fixture, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	tok, err := f.src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b.String())
	}
	return b.String()
}

// TestMatcherInsertReordered maps insert results that come back reversed
// and split across files: there is no key column, so content decides.
func TestMatcherInsertReordered(t *testing.T) {
	t.Parallel()
	recs := make([]providers.WriteRecord, 50)
	for i := range recs {
		recs[i] = providers.WriteRecord{Fields: map[string]any{"Name": fmt.Sprintf("N%d", i%10), "Amount": float64(i)}}
	}
	p, err := newIngestPlan(providers.WriteRequest{Op: providers.WriteCreate, Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	m := &matcher{p: p, seed: maphash.MakeSeed()}
	var success, failed strings.Builder
	success.WriteString(`"sf__Id","sf__Created",Name,Amount`)
	failed.WriteString(`"sf__Id","sf__Error",Amount,Name`)
	for i := len(recs) - 1; i >= 0; i-- {
		if i%7 == 0 {
			fmt.Fprintf(&failed, "\n\"\",\"STRING_TOO_LONG:too long:Name --\",\"%d\",\"N%d\"", i, i%10)
			continue
		}
		fmt.Fprintf(&success, "\n\"001X%03d\",\"true\",\"N%d\",\"%d\"", i, i%10, i)
	}
	if err := m.consume(strings.NewReader(success.String()), resultSuccess); err != nil {
		t.Fatal(err)
	}
	if err := m.consume(strings.NewReader(failed.String()), resultFailed); err != nil {
		t.Fatal(err)
	}
	for i, r := range p.results {
		if i%7 == 0 {
			if r.Success || r.Errors[0].Code != "STRING_TOO_LONG" || !slices.Equal(r.Errors[0].Fields, []string{"Name"}) {
				t.Errorf("record %d = %+v", i, r)
			}
		} else if !r.Success || r.ID != fmt.Sprintf("001X%03d", i) {
			t.Errorf("record %d = %+v", i, r)
		}
	}
	if m.unmatched != 0 {
		t.Errorf("%d unmatched rows", m.unmatched)
	}
}
