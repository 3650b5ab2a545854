package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

func strconvItoa(n int) string { b, _ := json.Marshal(n); return string(b) }
