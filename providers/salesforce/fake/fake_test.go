package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

type env struct {
	s     *Server
	srv   *httptest.Server
	token string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	access, _ := s.Issue()
	return &env{s: s, srv: srv, token: access}
}

func (e *env) do(t *testing.T, method, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func q(soql string) string { return "/services/data/v60.0/query?q=" + url.QueryEscape(soql) }

func TestBadTokenGetsInvalidSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	for _, tok := range []string{"", "nonsense"} {
		e.token = tok
		resp, body := e.do(t, http.MethodGet, "/services/data/v60.0/sobjects/", "")
		if resp.StatusCode != 401 || string(body) != `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]` {
			t.Errorf("token %q: %d %s", tok, resp.StatusCode, body)
		}
	}
}

func TestDailyAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Limits: fakekit.Limits{Daily: 3}}})
	for i := 1; i <= 4; i++ {
		resp, body := e.do(t, http.MethodGet, "/services/data/v60.0/limits", "")
		info := resp.Header.Get("Sforce-Limit-Info")
		switch {
		case i <= 3 && (resp.StatusCode != 200 || info != "api-usage="+string(rune('0'+i))+"/3"):
			t.Errorf("call %d: %d %q", i, resp.StatusCode, info)
		case i == 4 && (resp.StatusCode != 403 || !strings.Contains(string(body), "REQUEST_LIMIT_EXCEEDED") || resp.Header.Get("Retry-After") != ""):
			t.Errorf("call 4: %d %q %s", resp.StatusCode, info, body)
		}
	}
	// The allocation is a rolling day on the fake's clock.
	e.s.Advance(24 * time.Hour)
	e.token, _ = e.s.Issue() // sessions last two hours
	if resp, _ := e.do(t, http.MethodGet, "/services/data/v60.0/limits", ""); resp.StatusCode != 200 {
		t.Errorf("after a day: %d", resp.StatusCode)
	}
}

func TestQueryLocators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       Options
		batch      string
		wantPages  int
		firstCount int
	}{
		{"batchSize below the minimum is raised to 200", Options{Options: fakekit.Options{Records: 450}}, "batchSize=50", 3, 200},
		{"default 2000", Options{Options: fakekit.Options{Records: 4500}}, "", 3, 2000},
		{"batchSize above 2000 is capped", Options{Options: fakekit.Options{Records: 4500}}, "batchSize=5000", 3, 2000},
		{"page cap below batchSize", Options{Options: fakekit.Options{Records: 450}, PageCap: 100}, "batchSize=200", 5, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.opts)
			path := q("SELECT Id, Name FROM Account")
			seen := map[string]bool{}
			for page := 1; ; page++ {
				resp, body := e.do(t, http.MethodGet, path, "", "Sforce-Query-Options", tt.batch)
				if resp.StatusCode != 200 {
					t.Fatalf("page %d: %d %s", page, resp.StatusCode, body)
				}
				var p struct {
					TotalSize      int    `json:"totalSize"`
					Done           bool   `json:"done"`
					NextRecordsURL string `json:"nextRecordsUrl"`
					Records        []struct{ Id string }
				}
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatal(err)
				}
				if page == 1 && len(p.Records) != tt.firstCount {
					t.Errorf("first page has %d records, want %d", len(p.Records), tt.firstCount)
				}
				for _, r := range p.Records {
					if seen[r.Id] {
						t.Fatalf("%s repeated", r.Id)
					}
					seen[r.Id] = true
				}
				if p.Done {
					if p.NextRecordsURL != "" || page != tt.wantPages || len(seen) != p.TotalSize || p.TotalSize != tt.opts.Records {
						t.Errorf("done after %d pages with %d records (total %d), next %q", page, len(seen), p.TotalSize, p.NextRecordsURL)
					}
					return
				}
				if !strings.HasPrefix(p.NextRecordsURL, "/services/data/v60.0/query/01g") || !strings.Contains(p.NextRecordsURL, "-") {
					t.Fatalf("nextRecordsUrl %q", p.NextRecordsURL)
				}
				path = p.NextRecordsURL
			}
		})
	}
}

func TestQueryLocatorExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 500}})
	_, body := e.do(t, http.MethodGet, q("SELECT Id FROM Contact"), "", "Sforce-Query-Options", "batchSize=200")
	var p struct{ NextRecordsURL string }
	_ = json.Unmarshal(body, &p)
	// Re-reading a locator works while it lives.
	if resp, _ := e.do(t, http.MethodGet, p.NextRecordsURL, ""); resp.StatusCode != 200 {
		t.Fatalf("locator: %d", resp.StatusCode)
	}
	e.s.Advance(LocatorTTL + time.Second)
	e.token, _ = e.s.Issue()
	resp, body := e.do(t, http.MethodGet, p.NextRecordsURL, "")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"errorCode":"INVALID_QUERY_LOCATOR"`) {
		t.Errorf("expired locator: %d %s", resp.StatusCode, body)
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	tests := []struct{ soql, code string }{
		{"SELECT Id FROM Nope", "INVALID_TYPE"},
		{"SELECT Id, Nope__c FROM Account", "INVALID_FIELD"},
		{"SELEKT Id FROM Account", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE SystemModstamp > yesterday", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'", "MALFORMED_QUERY"},
	}
	for _, tt := range tests {
		resp, body := e.do(t, http.MethodGet, q(tt.soql), "")
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"errorCode":"`+tt.code+`"`) || resp.Header.Get("Sforce-Limit-Info") == "" {
			t.Errorf("%s: %d %s", tt.soql, resp.StatusCode, body)
		}
	}
}

func TestDatetimesAndWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 10}})
	t0 := e.s.Now()
	e.s.Advance(time.Second)
	id := e.s.IDs("Account")[4]
	e.s.Touch("account", id)
	_, body := e.do(t, http.MethodGet, q("SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > "+t0.Format("2006-01-02T15:04:05.000Z")), "")
	var p struct {
		Records []struct{ Id, SystemModstamp string }
	}
	_ = json.Unmarshal(body, &p)
	if len(p.Records) != 1 || p.Records[0].Id != id || p.Records[0].SystemModstamp != e.s.Now().Format("2006-01-02T15:04:05.000+0000") {
		t.Errorf("window read: %s", body)
	}
}

func TestMalformedPageInjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 10, MalformedRate: 1}})
	resp, body := e.do(t, http.MethodGet, q("SELECT Id FROM Account"), "")
	if resp.StatusCode != 200 || json.Valid(body) {
		t.Errorf("malformed page: %d valid=%v", resp.StatusCode, json.Valid(body))
	}
}

func TestServerErrorInjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 10, FailRate: 1}})
	resp, body := e.do(t, http.MethodGet, q("SELECT Id FROM Account"), "")
	if resp.StatusCode != 500 || !strings.Contains(string(body), "UNKNOWN_EXCEPTION") {
		t.Errorf("injected failure: %d %s", resp.StatusCode, body)
	}
}

func TestBulkJobLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 25}, BulkPolls: 2, BulkChunk: 10})
	resp, body := e.do(t, http.MethodPost, "/services/data/v60.0/jobs/query", `{"operation":"query","query":"SELECT Id, Name FROM Account"}`)
	var job struct{ ID, State string }
	_ = json.Unmarshal(body, &job)
	if resp.StatusCode != 200 || job.State != "UploadComplete" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	base := "/services/data/v60.0/jobs/query/" + job.ID
	if resp, body := e.do(t, http.MethodGet, base+"/results", ""); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("results before completion: %d %s", resp.StatusCode, body)
	}
	for i, want := range []string{"InProgress", "InProgress", "JobComplete", "JobComplete"} {
		_, body := e.do(t, http.MethodGet, base, "")
		_ = json.Unmarshal(body, &job)
		if job.State != want {
			t.Errorf("poll %d: %s, want %s", i+1, job.State, want)
		}
	}
	if resp, body := e.do(t, http.MethodGet, "/services/data/v59.0/jobs/query/"+job.ID+"/results", ""); resp.StatusCode != http.StatusConflict {
		t.Errorf("other API version: %d %s", resp.StatusCode, body)
	}
	rows, loc, chunks := 0, "", 0
	for {
		path := base + "/results?maxRecords=100"
		if loc != "" {
			path += "&locator=" + loc
		}
		resp, body := e.do(t, http.MethodGet, path, "")
		chunks++
		n := strings.Count(string(body), "\n") - 1
		if resp.Header.Get("Sforce-NumberOfRecords") != strconvItoa(n) || !strings.HasPrefix(string(body), "Id,Name\n") {
			t.Fatalf("chunk %d: %s %q", chunks, resp.Header.Get("Sforce-NumberOfRecords"), body)
		}
		rows += n
		loc = resp.Header.Get("Sforce-Locator")
		if loc == "null" {
			break
		}
	}
	if rows != 25 || chunks != 3 {
		t.Errorf("%d rows in %d chunks, want 25 in 3", rows, chunks)
	}
}

// TestBulkResultsFixed checks that a query job's results are taken when it
// completes: a locator (Salesforce's base64 of the row offset) returns the
// same bytes after the records changed, LIMIT bounds them, and polls racing
// the completion all see one result set.
func TestBulkResultsFixed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 25}, BulkPolls: -1, BulkChunk: 10})
	start := func(soql string) string {
		_, body := e.do(t, http.MethodPost, "/services/data/v60.0/jobs/query", `{"operation":"query","query":"`+soql+`"}`)
		var job struct{ ID string }
		_ = json.Unmarshal(body, &job)
		return "/services/data/v60.0/jobs/query/" + job.ID
	}
	base := start("SELECT Id, Name, SystemModstamp FROM Account")
	e.s.Advance(time.Minute)
	var wg sync.WaitGroup
	infos := make([]map[string]any, 8)
	for i := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := e.do(t, http.MethodGet, base, "")
			_ = json.Unmarshal(body, &infos[i])
		}()
	}
	wg.Wait()
	for {
		_, body := e.do(t, http.MethodGet, base, "")
		var info map[string]any
		_ = json.Unmarshal(body, &info)
		if info["state"] == "JobComplete" {
			if info["numberRecordsProcessed"] != 25.0 || info["systemModstamp"] == info["createdDate"] {
				t.Errorf("complete job: %s", body)
			}
			break
		}
		if info["state"] != "InProgress" {
			t.Fatalf("poll: %s", body)
		}
	}
	for _, info := range infos {
		if info["state"] == "JobComplete" && info["numberRecordsProcessed"] != 25.0 {
			t.Errorf("concurrent poll: %v", info)
		}
	}
	resp, first := e.do(t, http.MethodGet, base+"/results", "")
	if loc := resp.Header.Get("Sforce-Locator"); loc != "MTA" { // base64("10")
		t.Fatalf("first locator %q", loc)
	}
	resp, second := e.do(t, http.MethodGet, base+"/results?locator=MTA", "")
	if resp.Header.Get("Sforce-Locator") != "MjA" || resp.Header.Get("Sforce-NumberOfRecords") != "10" {
		t.Fatalf("second chunk: %v", resp.Header)
	}
	ids := e.s.IDs("Account")
	e.s.Touch("Account", ids[0])
	e.s.Touch("Account", ids[12])
	e.s.Delete("Account", ids[15])
	if _, again := e.do(t, http.MethodGet, base+"/results", ""); string(again) != string(first) {
		t.Errorf("first chunk changed:\n%s\n%s", first, again)
	}
	if _, again := e.do(t, http.MethodGet, base+"/results?locator=MTA&maxRecords=100", ""); string(again) != string(second) {
		t.Errorf("second chunk changed:\n%s\n%s", second, again)
	}
	resp, last := e.do(t, http.MethodGet, base+"/results?locator=MjA", "")
	if resp.Header.Get("Sforce-Locator") != "null" || strings.Count(string(last), "\n") != 6 {
		t.Errorf("last chunk: %v %q", resp.Header, last)
	}
	for _, loc := range []string{"MjU", "MDEw", "-1", "abc!", "MTA="} { // 25 (the end), "010", junk, padded
		if resp, body := e.do(t, http.MethodGet, base+"/results?locator="+url.QueryEscape(loc), ""); resp.StatusCode != 400 ||
			!strings.Contains(string(body), "INVALID_LOCATOR") {
			t.Errorf("locator %q: %d %s", loc, resp.StatusCode, body)
		}
	}

	// LIMIT bounds the results; an empty result is one chunk with a header.
	base = start("SELECT Id FROM Account LIMIT 12")
	_, body := e.do(t, http.MethodGet, base, "")
	resp, chunk := e.do(t, http.MethodGet, base+"/results?locator=MTA", "")
	if !strings.Contains(string(body), `"numberRecordsProcessed":12`) || resp.Header.Get("Sforce-NumberOfRecords") != "2" ||
		resp.Header.Get("Sforce-Locator") != "null" || !strings.HasPrefix(string(chunk), "Id\n") {
		t.Errorf("LIMIT 12: %s; %v %q", body, resp.Header, chunk)
	}
	base = start("SELECT Id FROM Account WHERE SystemModstamp > 2999-01-01T00:00:00Z")
	e.do(t, http.MethodGet, base, "")
	if resp, chunk := e.do(t, http.MethodGet, base+"/results", ""); string(chunk) != "Id\n" || resp.Header.Get("Sforce-Locator") != "null" ||
		resp.Header.Get("Sforce-NumberOfRecords") != "0" {
		t.Errorf("empty results: %v %q", resp.Header, chunk)
	}
}

func strconvItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestIngestJobLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}, BulkPolls: 2})
	const base = "/services/data/v60.0/jobs/ingest"
	csvType := []string{"Content-Type", "text/csv"}
	errorCode := func(body []byte) string {
		var list []struct{ ErrorCode string }
		_ = json.Unmarshal(body, &list)
		if len(list) == 0 {
			return ""
		}
		return list[0].ErrorCode
	}

	// Refused job definitions.
	for _, tt := range []struct{ body, code string }{
		{`{"object":"Contact","operation":"merge"}`, "INVALIDJOB"},
		{`{"object":"Nope__c","operation":"insert"}`, "INVALIDENTITY"},
		{`{"object":"Invoice__c","operation":"upsert","externalIdFieldName":"Name"}`, "INVALIDJOB"},
		{`{"object":"Contact","operation":"insert","columnDelimiter":"SPACE"}`, "INVALIDJOB"},
	} {
		if resp, body := e.do(t, http.MethodPost, base, tt.body); resp.StatusCode != 400 || errorCode(body) != tt.code {
			t.Errorf("%s: %d %s, want 400 %s", tt.body, resp.StatusCode, body, tt.code)
		}
	}

	resp, body := e.do(t, http.MethodPost, base, `{"object":"Contact","operation":"insert","contentType":"CSV","lineEnding":"LF"}`)
	var job struct{ ID, State string }
	_ = json.Unmarshal(body, &job)
	if resp.StatusCode != 200 || job.State != "Open" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	path := base + "/" + job.ID
	data := "LastName,FirstName,Email\nA,a,a@example.com\nB,,\n,NoLast,\nD,d,\nE,e,\nF,f,\n"
	steps := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		code                     string
	}{
		{"results before the job ends", http.MethodGet, path + "/successfulResults/", "", nil, 412, "JOB_NOT_COMPLETE"},
		{"upload that is not CSV", http.MethodPut, path + "/batches", data, []string{"Content-Type", "application/json"}, 400, "INVALIDJOB"},
		{"upload with another API version", http.MethodPut, "/services/data/v59.0/jobs/ingest/" + job.ID + "/batches", data, csvType, 409, "API_VERSION_MISMATCH"},
		{"upload", http.MethodPut, path + "/batches", data, csvType, 201, ""},
		{"second upload", http.MethodPut, path + "/batches", data, csvType, 400, "INVALIDJOBSTATE"},
		{"close with another API version", http.MethodPatch, "/services/data/v59.0/jobs/ingest/" + job.ID, `{"state":"UploadComplete"}`, nil, 409, "API_VERSION_MISMATCH"},
		{"close", http.MethodPatch, path, `{"state":"UploadComplete"}`, nil, 200, ""},
		{"close again", http.MethodPatch, path, `{"state":"UploadComplete"}`, nil, 400, "INVALIDJOBSTATE"},
		{"unknown job", http.MethodGet, base + "/750ak0000000000000", "", nil, 404, "NOT_FOUND"},
	}
	for _, s := range steps {
		resp, body := e.do(t, s.method, s.path, s.body, s.header...)
		if resp.StatusCode != s.status || errorCode(body) != s.code {
			t.Errorf("%s: %d %s, want %d %s", s.name, resp.StatusCode, body, s.status, s.code)
		}
	}

	// Each poll applies its share of the six rows; the store sees them.
	live := e.s.Kit().Store.Live("Contact")
	for i, want := range []struct {
		state             string
		processed, failed float64
	}{{"InProgress", 2, 0}, {"InProgress", 4, 1}, {"JobComplete", 6, 1}, {"JobComplete", 6, 1}} {
		_, body := e.do(t, http.MethodGet, path, "")
		var info map[string]any
		_ = json.Unmarshal(body, &info)
		if info["state"] != want.state || info["numberRecordsProcessed"] != want.processed || info["numberRecordsFailed"] != want.failed || info["jobType"] != "V2Ingest" {
			t.Errorf("poll %d: %s", i+1, body)
		}
		if got := e.s.Kit().Store.Live("Contact") - live; got != int(want.processed-want.failed) {
			t.Errorf("poll %d: %d contacts written", i+1, got)
		}
	}
	if resp, body := e.do(t, http.MethodGet, "/services/data/v59.0/jobs/ingest/"+job.ID+"/failedResults/", ""); resp.StatusCode != 409 {
		t.Errorf("results with another API version: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, http.MethodGet, path+"/failedResults/", "")
	if want := "\"sf__Id\",\"sf__Error\",LastName,FirstName,Email\n\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --\",\"\",\"NoLast\",\"\""; string(body) != want ||
		resp.Header.Get("Content-Type") != "text/csv" || resp.Header.Get("Sforce-NumberOfRecords") != "1" {
		t.Errorf("failedResults: %q", body)
	}
	_, body = e.do(t, http.MethodGet, path+"/successfulResults", "")
	if lines := strings.Split(string(body), "\n"); len(lines) != 6 || !strings.HasSuffix(lines[2], `","true","B","",""`) {
		t.Errorf("successfulResults: %q", body)
	}
	if resp, body := e.do(t, http.MethodPatch, path, `{"state":"Aborted"}`); resp.StatusCode != 400 || errorCode(body) != "INVALIDJOBSTATE" {
		t.Errorf("abort a complete job: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, http.MethodDelete, path, ""); resp.StatusCode != 204 {
		t.Errorf("delete job: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, http.MethodGet, path, ""); resp.StatusCode != 404 {
		t.Errorf("deleted job: %d", resp.StatusCode)
	}
}

func TestIngestJobAbortAndDelimiters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}, BulkPolls: -1})
	const base = "/services/data/v60.0/jobs/ingest"
	create := func(body string) string {
		_, b := e.do(t, http.MethodPost, base, body)
		var job struct{ ID string }
		_ = json.Unmarshal(b, &job)
		return base + "/" + job.ID
	}

	// An aborted job writes nothing and reports its rows as unprocessed.
	path := create(`{"object":"Account","operation":"insert"}`)
	e.do(t, http.MethodPut, path+"/batches", "Name\nOne\nTwo\n", "Content-Type", "text/csv")
	before := e.s.Kit().Store.Live("Account")
	resp, body := e.do(t, http.MethodPatch, path, `{"state":"UploadComplete"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("close: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, http.MethodPatch, path, `{"state":"Aborted"}`); resp.StatusCode != 200 || !strings.Contains(string(body), `"state":"Aborted"`) {
		t.Errorf("abort: %d %s", resp.StatusCode, body)
	}
	if _, body := e.do(t, http.MethodGet, path+"/unprocessedrecords/", ""); string(body) != "Name\n\"One\"\n\"Two\"" {
		t.Errorf("unprocessed: %q", body)
	}
	if e.s.Kit().Store.Live("Account") != before {
		t.Error("an aborted job wrote records")
	}

	// A tab-delimited CRLF upsert: a seeded key updates, a new one inserts.
	path = create(`{"object":"Invoice__c","operation":"upsert","externalIdFieldName":"External_Id__c","columnDelimiter":"TAB","lineEnding":"CRLF"}`)
	e.do(t, http.MethodPut, path+"/batches", "External_Id__c\tAmount__c\tName\r\ninv-2\t12.5\t\r\nnew-1\t#N/A\tNew\r\n", "Content-Type", "text/csv; charset=UTF-8")
	e.do(t, http.MethodPatch, path, `{"state":"UploadComplete"}`)
	if _, body := e.do(t, http.MethodGet, path, ""); !strings.Contains(string(body), `"state":"JobComplete"`) || !strings.Contains(string(body), `"numberRecordsFailed":0`) {
		t.Errorf("upsert job: %s", body)
	}
	_, body = e.do(t, http.MethodGet, path+"/successfulResults/", "")
	lines := strings.Split(string(body), "\n")
	if len(lines) != 3 || lines[1] != `"a0A000000000002AAA","false","inv-2","12.5",""` || !strings.HasSuffix(lines[2], `","true","new-1","#N/A","New"`) {
		t.Errorf("upsert results: %q", body)
	}
	if rec, _ := e.s.Get("Invoice__c", "a0A000000000002AAA"); rec["Amount__c"] != 12.5 || rec["Name"] != "INV-000002" {
		t.Errorf("upserted record: %v", rec)
	}
}
