package salesforce

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

// readChunks reads job from locator to the end in chunks of maxRecords,
// checking the page invariants, and returns the records and the locator
// each chunk was fetched at ("" for the first).
func readChunks(t *testing.T, c *Client, job, locator string, maxRecords int) ([]providers.Record, []string) {
	t.Helper()
	var recs []providers.Record
	var locs []string
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("the chunks never end")
		}
		p, err := c.BulkReadChunk(context.Background(), job, locator, maxRecords)
		if err != nil {
			t.Fatalf("chunk %d at %q: %v", i, locator, err)
		}
		locs = append(locs, locator)
		recs = append(recs, p.Records...)
		if p.Total != -1 || p.Checkpoint != "" {
			t.Errorf("chunk %d: Total %d, Checkpoint %q", i, p.Total, p.Checkpoint)
		}
		if p.Done {
			if p.NextCursor != "" {
				t.Errorf("last chunk has NextCursor %q", p.NextCursor)
			}
			return recs, locs
		}
		if p.NextCursor == "" || len(p.Records) == 0 {
			t.Fatalf("chunk %d: not Done, NextCursor %q, %d records", i, p.NextCursor, len(p.Records))
		}
		locator = p.NextCursor
	}
}

func bulkReadAll(t *testing.T, c *Client, req providers.ReadRequest) []providers.Record {
	t.Helper()
	var recs []providers.Record
	for r, err := range c.BulkRead(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestResumableBulkRead reads a few thousand records in small chunks: the
// chunks add up to BulkRead's output, a middle locator fetched again (after
// the records changed, and with another chunk size) returns the same
// records, and the last chunk is Done.
func TestResumableBulkRead(t *testing.T) {
	t.Parallel()
	const n = 3000
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: n}})
	req := providers.ReadRequest{Object: "account", Fields: []string{"Name", "BillingCity", "AnnualRevenue", "Tier__c"}}
	job, total, err := f.client.StartBulkRead(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if total != n || checkJobID(job) != nil {
		t.Fatalf("StartBulkRead = %q, %d", job, total)
	}
	got, locs := readChunks(t, f.client, job, "", 700)
	if len(locs) != 5 {
		t.Errorf("%d chunks of at most 700 for %d records, want 5", len(locs), n)
	}
	want := bulkReadAll(t, f.client, req)
	if len(got) != n || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d chunked records differ from BulkRead's %d", len(got), len(want))
	}

	// Change records before, in and after the middle chunk: the job's
	// results stay as they were.
	ids := f.fake.IDs("account")
	f.fake.Touch("account", ids[100])
	f.fake.Touch("account", ids[1500])
	f.fake.Delete("account", ids[1600])
	f.fake.Touch("account", ids[2100])
	f.fake.Delete("account", ids[2200])
	mid := locs[2]
	again, err := f.client.BulkReadChunk(context.Background(), job, mid, 700)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Records, got[1400:2100]) || again.Done {
		t.Errorf("the middle chunk fetched again differs (%d records, Done %v)", len(again.Records), again.Done)
	}
	// Resuming there with a larger chunk reads the rest as it was.
	rest, _ := readChunks(t, f.client, job, mid, 1000)
	if !reflect.DeepEqual(rest, got[1400:]) {
		t.Errorf("resuming at the middle locator read %d records, not the %d after it", len(rest), len(got)-1400)
	}
	// The provider's default chunk (the fake's 10,000) holds everything.
	all, locs := readChunks(t, f.client, job, "", 0)
	if len(locs) != 1 || !reflect.DeepEqual(all, got) {
		t.Errorf("default chunk size: %d chunks, %d records", len(locs), len(all))
	}
}

// TestResumableBulkReadDeleted reads tombstones with IncludeDeleted
// (queryAll) and none without.
func TestResumableBulkReadDeleted(t *testing.T) {
	t.Parallel()
	const n = 2500
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: n}})
	ids := f.fake.IDs("contact")
	gone := map[string]bool{ids[3]: true, ids[1800]: true}
	for id := range gone {
		f.fake.Delete("contact", id)
	}
	for _, deleted := range []bool{false, true} {
		req := providers.ReadRequest{Object: "contact", Fields: []string{"LastName"}, IncludeDeleted: deleted}
		job, total, err := f.client.StartBulkRead(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := readChunks(t, f.client, job, "", 400)
		wantN := n - len(gone)
		if deleted {
			wantN = n
		}
		tombs := 0
		for _, r := range got {
			if r.Deleted {
				tombs++
				if !gone[r.ID] || r.Fields["isdeleted"] != "true" || r.ModifiedAt.IsZero() {
					t.Errorf("tombstone %s: %v", r.ID, r.Fields)
				}
			} else if gone[r.ID] {
				t.Errorf("deleted %s read as live", r.ID)
			}
		}
		if total != wantN || len(got) != wantN || tombs != map[bool]int{false: 0, true: len(gone)}[deleted] {
			t.Errorf("IncludeDeleted=%v: total %d, %d records, %d tombstones", deleted, total, len(got), tombs)
		}
		if want := bulkReadAll(t, f.client, req); !reflect.DeepEqual(got, want) {
			t.Errorf("IncludeDeleted=%v: chunks differ from BulkRead", deleted)
		}
	}
}

// TestResumableBulkReadRefused checks that job ids and locators read back
// from storage are refused, before any request, unless they have the shape
// Salesforce gives them.
func TestResumableBulkReadRefused(t *testing.T) {
	t.Parallel()
	c, _, _ := replayClient(t) // any request fails the test
	const job = "750ak000009AVi5AAG"
	for _, id := range []string{
		"", "750ak000009AVi", "750ak000009AVi5AAGX", "750ak000009AVi5AA/", "../../sobjects/Acc",
		"750ak000009AVi5%2F", "750ak000009AVi5?x=", "750ak000009AVi5AA\n", "750ak000009AVi5AAé",
	} {
		if _, err := c.BulkReadChunk(context.Background(), id, "", 10); providers.KindOf(err) != providers.KindInvalid {
			t.Errorf("job id %q: %v, want KindInvalid", id, err)
		}
	}
	for _, loc := range []string{
		"null", "MTAw MDA", "MTAw&x=1", "../x", "MTAwMDA\n", "MTAw%41", "MTAw#x", "MTAwMDA?", strings.Repeat("A", maxLocator+1),
	} {
		if _, err := c.BulkReadChunk(context.Background(), job, loc, 10); providers.KindOf(err) != providers.KindInvalid {
			t.Errorf("locator %q: %v, want KindInvalid", loc, err)
		}
	}
	if _, _, err := c.StartBulkRead(context.Background(), providers.ReadRequest{}); providers.KindOf(err) != providers.KindInvalid {
		t.Errorf("StartBulkRead without an object: %v", err)
	}
	// The shapes Salesforce uses pass: 15- and 18-character ids, base64
	// locators (numbers before API 49.0).
	for _, id := range []string{"750ak000009AVi5", job} {
		if err := checkJobID(id); err != nil {
			t.Errorf("job id %q: %v", id, err)
		}
	}
	for _, loc := range []string{"MTAwMDA", "MjAwMDAwMA==", "Zm9v+/8", "10000", strings.Repeat("A", maxLocator)} {
		if err := checkLocator(loc); err != nil {
			t.Errorf("locator %q: %v", loc, err)
		}
	}
}

// TestResumableBulkReadGone checks the answers for jobs that do not exist
// (never made, deleted, expired) and for a locator the job never gave.
func TestResumableBulkReadGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 30}})
	ctx := context.Background()
	if _, err := f.client.BulkReadChunk(ctx, "750ak0000099999AAA", "", 10); providers.KindOf(err) != providers.KindNotFound {
		t.Errorf("unknown job: %v, want KindNotFound", err)
	}
	job, _, err := f.client.StartBulkRead(ctx, providers.ReadRequest{Object: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	// A locator far past the results: the fake never made it.
	if _, err := f.client.BulkReadChunk(ctx, job, "MTAwMDAwMDA", 10); providers.KindOf(err) != providers.KindInvalid {
		t.Errorf("locator past the results: %v, want KindInvalid", err)
	}
	if status, body := fakeCall(t, f, http.MethodDelete, v60+"/jobs/query/"+url.PathEscape(job), nil); status != http.StatusNoContent {
		t.Fatalf("deleting the job: %d %v", status, body)
	}
	if _, err := f.client.BulkReadChunk(ctx, job, "", 10); providers.KindOf(err) != providers.KindNotFound {
		t.Errorf("deleted job: %v, want KindNotFound", err)
	}
	// Salesforce keeps a job for seven days.
	job, _, err = f.client.StartBulkRead(ctx, providers.ReadRequest{Object: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	f.fake.Advance(fake.JobTTL - 1)
	p, err := f.client.BulkReadChunk(ctx, job, "", 10)
	if err != nil || len(p.Records) != 10 || p.NextCursor == "" {
		t.Fatalf("job before it expires: %v", err)
	}
	f.fake.Advance(2)
	if _, err := f.client.BulkReadChunk(ctx, job, p.NextCursor, 10); providers.KindOf(err) != providers.KindNotFound {
		t.Errorf("expired job: %v, want KindNotFound", err)
	}
}

// TestContractResumableBulkRead replays StartBulkRead and BulkReadChunk
// against the recorded job answers and the documented results headers.
func TestContractResumableBulkRead(t *testing.T) {
	t.Parallel()
	const job = "750ak000009AVi5AAG"
	jobPath := v60 + "/jobs/query/" + job
	complete := strings.Replace(string(recording(t, "bulk_info_success.json")), `"750ak000009BWKLAA4"`, `"`+job+`"`, 1)
	// A JobComplete answer without numberRecordsProcessed.
	bare := strings.Replace(string(recording(t, "bulk_read-launch-job-account.json")), `"UploadComplete"`, `"JobComplete"`, 1)
	chunk := "Id,Name,SystemModstamp,IsDeleted\n001ak00000OQTieAAH,\"Acme, Inc.\",2024-09-09T13:08:34.000Z,true\n"
	csvHeader := func(loc string) map[string]string {
		return map[string]string{"Content-Type": "text/csv", "Sforce-Locator": loc, "Sforce-NumberOfRecords": "1"}
	}
	c, rp, _ := replayClient(t,
		step{method: http.MethodPost, path: v60 + "/jobs/query", status: 200, body: recording(t, "bulk_read-launch-job-account.json")},
		step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_in-progress.json")},
		step{method: http.MethodGet, path: jobPath, status: 200, body: []byte(complete)},
		step{method: http.MethodPost, path: v60 + "/jobs/query", status: 200, body: recording(t, "bulk_read-launch-job-account.json")},
		step{method: http.MethodGet, path: jobPath, status: 200, body: []byte(bare)},
		step{method: http.MethodGet, path: jobPath + "/results", status: 200, body: []byte(chunk), header: csvHeader("MjAwMA")},
		step{method: http.MethodGet, path: jobPath + "/results", status: 200, body: []byte(chunk), header: csvHeader("null")},
		step{method: http.MethodGet, path: jobPath + "/results", status: 200, body: []byte(chunk), header: csvHeader("")},
		step{method: http.MethodGet, path: jobPath + "/results", status: 404,
			body: []byte(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)},
	)
	ctx := context.Background()
	id, total, err := c.StartBulkRead(ctx, providers.ReadRequest{Object: "account", Fields: []string{"Name"}, IncludeDeleted: true})
	if err != nil || id != job || total != 3000 {
		t.Fatalf("StartBulkRead = %q, %d, %v", id, total, err)
	}
	if !strings.Contains(string(rp.bodies[0]), `"operation":"queryAll"`) ||
		!strings.Contains(string(rp.bodies[0]), `"query":"SELECT Id, SystemModstamp, IsDeleted, Name FROM Account"`) {
		t.Errorf("job request = %s", rp.bodies[0])
	}
	if _, total, err = c.StartBulkRead(ctx, providers.ReadRequest{Object: "account"}); err != nil || total != -1 {
		t.Errorf("job info without numberRecordsProcessed: total %d, %v", total, err)
	}
	p, err := c.BulkReadChunk(ctx, job, "", 0)
	if err != nil || p.NextCursor != "MjAwMA" || p.Done || len(p.Records) != 1 || !p.Records[0].Deleted ||
		p.Records[0].ID != "001ak00000OQTieAAH" || p.Records[0].Fields["name"] != "Acme, Inc." {
		t.Fatalf("first chunk = %+v, %v", p, err)
	}
	p, err = c.BulkReadChunk(ctx, job, "MjAwMA", 2000)
	if err != nil || p.NextCursor != "" || !p.Done || len(p.Records) != 1 {
		t.Fatalf("last chunk = %+v, %v", p, err)
	}
	if got := rp.queries[5:7]; got[0] != "" || got[1] != "locator=MjAwMA&maxRecords=2000" {
		t.Errorf("results queries = %q", got)
	}
	// A chunk without Sforce-Locator cannot be resumed from: not the end.
	if _, err := c.BulkReadChunk(ctx, job, "", 0); err == nil || !strings.Contains(err.Error(), "Sforce-Locator") {
		t.Errorf("chunk without Sforce-Locator: %v", err)
	}
	if _, err := c.BulkReadChunk(ctx, job, "", 0); providers.KindOf(err) != providers.KindNotFound {
		t.Errorf("404: %v, want KindNotFound", err)
	}
}
