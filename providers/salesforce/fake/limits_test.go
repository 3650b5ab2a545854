package fake

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

func (e *env) limits(t *testing.T) (map[string]limit, string) {
	t.Helper()
	resp, body := e.do(t, http.MethodGet, "/services/data/v60.0/limits/", "")
	var m map[string]limit
	if resp.StatusCode != 200 || json.Unmarshal(body, &m) != nil {
		t.Fatalf("limits: %d %s", resp.StatusCode, body)
	}
	return m, resp.Header.Get("Sforce-Limit-Info")
}

func TestLimitsFollowTheAllocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		daily int
		max   int64
	}{
		{"Developer Edition", 15000, 15000},
		{"default", 0, DefaultDaily},
		{"limit off", -1, math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Daily: tt.daily}}})
			for call := int64(1); call <= 3; call++ {
				m, info := e.limits(t)
				got := m["DailyApiRequests"]
				// The header and the body count the same requests, this one included.
				if got.Max != tt.max || got.Remaining != tt.max-call || info != fmt.Sprintf("api-usage=%d/%d", call, tt.max) {
					t.Errorf("call %d: %+v %q", call, got, info)
				}
			}
			e.do(t, http.MethodGet, q("SELECT Id FROM Account"), "")
			if m, _ := e.limits(t); m["DailyApiRequests"].Remaining != tt.max-5 || e.s.APIUsage() != 5 {
				t.Errorf("after a query: %+v, usage %d", m["DailyApiRequests"], e.s.APIUsage())
			}
		})
	}
}

func TestLimitsCountBulkUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 30}, BulkPolls: -1})
	m, _ := e.limits(t)
	for name, want := range map[string]limit{
		"DailyBulkV2QueryJobs":          {10000, 10000},
		"DailyBulkV2QueryFileStorageMB": {976562, 976562},
		"DailyBulkApiBatches":           {15000, 15000},
		"DataStorageMB":                 {1073, 1073},
	} {
		if m[name] != want {
			t.Errorf("%s = %+v, want %+v", name, m[name], want)
		}
	}
	// A query job and its results.
	resp, body := e.do(t, http.MethodPost, "/services/data/v60.0/jobs/query", `{"operation":"query","query":"SELECT Id, Name FROM Account"}`)
	var job struct{ ID string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &job) != nil {
		t.Fatalf("job: %d %s", resp.StatusCode, body)
	}
	e.do(t, http.MethodGet, "/services/data/v60.0/jobs/query/"+job.ID, "")
	if resp, body := e.do(t, http.MethodGet, "/services/data/v60.0/jobs/query/"+job.ID+"/results", ""); resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("results: %d %s", resp.StatusCode, body)
	}
	// An ingest job of 3 rows uses one batch.
	resp, body = e.do(t, http.MethodPost, "/services/data/v60.0/jobs/ingest", `{"object":"Contact","operation":"insert"}`)
	if resp.StatusCode != 200 || json.Unmarshal(body, &job) != nil {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	e.do(t, http.MethodPut, "/services/data/v60.0/jobs/ingest/"+job.ID+"/batches", "LastName\nA\nB\nC\n", "Content-Type", "text/csv")
	if resp, body := e.do(t, http.MethodPatch, "/services/data/v60.0/jobs/ingest/"+job.ID, `{"state":"UploadComplete"}`); resp.StatusCode != 200 {
		t.Fatalf("close: %d %s", resp.StatusCode, body)
	}
	m, _ = e.limits(t)
	for name, want := range map[string]limit{
		"DailyBulkV2QueryJobs":          {10000, 9999},
		"DailyBulkV2QueryFileStorageMB": {976562, 976561}, // a few bytes round up to 1 MB
		"DailyBulkApiBatches":           {15000, 14999},
	} {
		if m[name] != want {
			t.Errorf("%s = %+v, want %+v", name, m[name], want)
		}
	}
	// The counters cover a rolling day.
	e.s.Advance(25 * time.Hour)
	e.token, _ = e.s.Issue()
	if m, _ = e.limits(t); m["DailyBulkV2QueryJobs"].Remaining != 10000 || m["DailyBulkApiBatches"].Remaining != 15000 || m["DailyApiRequests"].Remaining != DefaultDaily-1 {
		t.Errorf("a day later: %+v %+v %+v", m["DailyBulkV2QueryJobs"], m["DailyBulkApiBatches"], m["DailyApiRequests"])
	}
}

func TestVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 1}})
	e.token = "" // the version list needs no session
	resp, body := e.do(t, http.MethodGet, "/services/data/", "")
	var list []struct{ Label, URL, Version string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &list) != nil {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Sforce-Limit-Info") != "" {
		t.Errorf("the version list carries Sforce-Limit-Info")
	}
	if len(list) != MaxAPIVersion-MinAPIVersion+1 {
		t.Fatalf("%d versions", len(list))
	}
	labels := map[string]string{}
	for _, v := range list {
		labels[v.Version] = v.Label
		if v.URL != "/services/data/v"+v.Version {
			t.Errorf("version %s has url %s", v.Version, v.URL)
		}
	}
	for version, label := range map[string]string{
		"20.0": "Winter '11", "59.0": "Winter '24", "60.0": "Spring '24", "61.0": "Summer '24",
		"62.0": "Winter '25", "65.0": "Winter '26", "66.0": "Spring '26",
	} {
		if labels[version] != label {
			t.Errorf("%s is %q, want %q", version, labels[version], label)
		}
	}
	// Every listed version is served, and no other.
	e.token, _ = e.s.Issue()
	for _, tt := range []struct {
		version string
		status  int
	}{{"v20.0", 200}, {"v66.0", 200}, {"v19.0", 404}, {"v67.0", 404}, {"v60", 404}} {
		if resp, body := e.do(t, http.MethodGet, "/services/data/"+tt.version+"/limits", ""); resp.StatusCode != tt.status ||
			(tt.status == 404 && !strings.Contains(string(body), "NOT_FOUND")) {
			t.Errorf("%s: %d %s", tt.version, resp.StatusCode, body)
		}
	}
}
