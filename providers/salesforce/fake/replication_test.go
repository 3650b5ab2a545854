package fake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// replicationEnv is a fake with 10 accounts and a known history:
// seeded accounts last modified 08:59:50..08:59:59; at 09:00:30.001
// account 0 is touched; at 09:01:30.002 an account is created and at
// 09:01:30.003 account 1 is deleted; the clock then stands at
// 09:03:30.003 on 2026-01-05.
type replicationEnv struct {
	*env
	ids     []string // seeded accounts
	created string
}

func newReplicationEnv(t *testing.T, opts Options) *replicationEnv {
	t.Helper()
	opts.Records = 10
	e := &replicationEnv{env: newEnv(t, opts)}
	e.ids = e.s.IDs("Account")
	e.s.Advance(30 * time.Second)
	e.s.Touch("Account", e.ids[0])
	e.s.Advance(time.Minute)
	resp, body := e.do(t, http.MethodPost, "/services/data/v60.0/sobjects/Account", `{"Name":"Replicated Co"}`)
	var res struct{ ID string }
	if resp.StatusCode != 201 || json.Unmarshal(body, &res) != nil {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	e.created = res.ID
	e.s.Delete("Account", e.ids[1])
	e.s.Advance(2 * time.Minute)
	if got := e.s.Now().Format(time.RFC3339Nano); got != "2026-01-05T09:03:30.003Z" {
		t.Fatalf("clock at %s", got)
	}
	return e
}

func window(object, resource, start, end string) string {
	v := url.Values{}
	if start != "" {
		v.Set("start", start)
	}
	if end != "" {
		v.Set("end", end)
	}
	return "/services/data/v60.0/sobjects/" + object + "/" + resource + "/?" + v.Encode()
}

func errorCode(body []byte) string {
	var errs []apiError
	if json.Unmarshal(body, &errs) != nil || len(errs) == 0 {
		return ""
	}
	return errs[0].ErrorCode
}

func TestGetUpdated(t *testing.T) {
	t.Parallel()
	e := newReplicationEnv(t, Options{})
	all := append(slices.Clone(e.ids[2:]), e.ids[0], e.created)
	tests := []struct {
		name, object, start, end string
		status                   int
		code                     string
		ids                      []string
		latest                   string
	}{
		{name: "everything; the current minute is not covered yet", object: "Account",
			start: "2026-01-05T08:59:00+00:00", end: "2026-01-05T09:05:00+00:00",
			status: 200, ids: all, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "Z and +0000 offsets", object: "account", start: "2026-01-05T08:59:00Z", end: "2026-01-05T09:03:00.000+0000",
			status: 200, ids: all, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "seconds are ignored: 09:00:59 is 09:00", object: "Account",
			start: "2026-01-05T09:00:59+00:00", end: "2026-01-05T09:01:59+00:00",
			status: 200, ids: []string{e.ids[0]}, latest: "2026-01-05T09:01:00.000+0000"},
		{name: "start inclusive, end exclusive", object: "Account",
			start: "2026-01-05T09:01:00+00:00", end: "2026-01-05T09:02:00+00:00",
			status: 200, ids: []string{e.created}, latest: "2026-01-05T09:02:00.000+0000"},
		{name: "seeded records only", object: "Account", start: "2026-01-05T08:59:00Z", end: "2026-01-05T09:00:00Z",
			status: 200, ids: e.ids[2:], latest: "2026-01-05T09:00:00.000+0000"},
		{name: "nothing changed", object: "Contact", start: "2026-01-05T09:00:00Z", end: "2026-01-05T09:03:00Z",
			status: 200, ids: []string{}, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "a window in the future covers nothing", object: "Account", start: "2026-01-05T10:00:00Z", end: "2026-01-05T11:00:00Z",
			status: 200, ids: []string{}, latest: "2026-01-05T10:00:00.000+0000"},
		{name: "exactly 30 days back", object: "Account", start: "2025-12-06T09:03:00Z", end: "2026-01-05T09:03:00Z",
			status: 200, ids: all, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "more than 30 days back", object: "Account", start: "2025-12-06T09:02:59Z", end: "2026-01-05T09:03:00Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "start equals end once seconds go", object: "Account", start: "2026-01-05T09:01:10Z", end: "2026-01-05T09:01:50Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "start after end", object: "Account", start: "2026-01-05T09:02:00Z", end: "2026-01-05T09:01:00Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "not a date", object: "Account", start: "yesterday", end: "2026-01-05T09:01:00Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "an unencoded + became a space", object: "Account", start: "2026-01-05T09:00:00 00:00", end: "2026-01-05T09:01:00Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "end missing", object: "Account", start: "2026-01-05T09:00:00Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "unknown object", object: "Nope__c", start: "2026-01-05T09:00:00Z", end: "2026-01-05T09:01:00Z",
			status: 404, code: "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodGet, window(tt.object, "updated", tt.start, tt.end), "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if code := errorCode(body); code != tt.code {
					t.Errorf("errorCode %q, want %q: %s", code, tt.code, body)
				}
				return
			}
			var got struct {
				IDs               []string `json:"ids"`
				LatestDateCovered string   `json:"latestDateCovered"`
			}
			if err := json.Unmarshal(body, &got); err != nil || got.IDs == nil {
				t.Fatalf("%v: %s", err, body)
			}
			if !slices.Equal(got.IDs, tt.ids) || got.LatestDateCovered != tt.latest {
				t.Errorf("got %v %s, want %v %s", got.IDs, got.LatestDateCovered, tt.ids, tt.latest)
			}
		})
	}
}

func TestGetUpdatedPathsAndRecordRoute(t *testing.T) {
	t.Parallel()
	e := newReplicationEnv(t, Options{})
	v := "?start=2026-01-05T09%3A01%3A00Z&end=2026-01-05T09%3A02%3A00Z"
	for _, path := range []string{"/sobjects/Account/updated/" + v, "/sobjects/Account/updated" + v, "/sobjects/Account/deleted" + v} {
		if resp, body := e.do(t, http.MethodGet, "/services/data/v60.0"+path, ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	// A record id still reaches the record.
	if resp, body := e.do(t, http.MethodGet, "/services/data/v60.0/sobjects/Account/"+e.ids[3], ""); resp.StatusCode != 200 {
		t.Errorf("record: %d %s", resp.StatusCode, body)
	}
}

func TestGetUpdatedIDLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		max    int
		status int
		code   string
	}{{8, 200, ""}, {7, 400, "EXCEEDED_ID_LIMIT"}} {
		e := newReplicationEnv(t, Options{MaxReplicationIDs: tt.max})
		// The seeded minute holds the eight seeded accounts never written.
		resp, body := e.do(t, http.MethodGet, window("Account", "updated", "2026-01-05T08:59:00Z", "2026-01-05T09:00:00Z"), "")
		if resp.StatusCode != tt.status || errorCode(body) != tt.code {
			t.Errorf("limit %d: %d %s, want %d %s", tt.max, resp.StatusCode, body, tt.status, tt.code)
		}
	}
	// getDeleted counts against the same cap.
	e := newReplicationEnv(t, Options{MaxReplicationIDs: 1})
	e.s.Delete("Account", e.ids[4])
	e.s.Advance(time.Minute)
	resp, body := e.do(t, http.MethodGet, window("Account", "deleted", "2026-01-05T09:00:00Z", "2026-01-05T09:05:00Z"), "")
	if resp.StatusCode != 400 || errorCode(body) != "EXCEEDED_ID_LIMIT" {
		t.Errorf("deleted over the cap: %d %s", resp.StatusCode, body)
	}
}

type deletedAnswer struct {
	DeletedRecords []struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	} `json:"deletedRecords"`
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	LatestDateCovered     string `json:"latestDateCovered"`
}

func (d deletedAnswer) ids() []string {
	out := []string{}
	for _, r := range d.DeletedRecords {
		out = append(out, r.ID+"@"+r.DeletedDate)
	}
	return out
}

func TestGetDeleted(t *testing.T) {
	t.Parallel()
	e := newReplicationEnv(t, Options{})
	const earliest = "2025-12-21T09:04:00.000+0000" // 15 days before 09:03:30.003, rounded up to the minute
	tests := []struct {
		name, start, end string
		status           int
		code             string
		deleted          []string
		latest           string
	}{
		{name: "the deletion", start: "2026-01-05T09:00:00Z", end: "2026-01-05T09:05:00Z", status: 200,
			deleted: []string{e.ids[1] + "@2026-01-05T09:01:30.003+0000"}, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "seconds ignored", start: "2026-01-05T09:01:59Z", end: "2026-01-05T09:02:01Z", status: 200,
			deleted: []string{e.ids[1] + "@2026-01-05T09:01:30.003+0000"}, latest: "2026-01-05T09:02:00.000+0000"},
		{name: "after the deletion", start: "2026-01-05T09:02:00Z", end: "2026-01-05T09:05:00Z", status: 200,
			deleted: []string{}, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "at the retention edge", start: "2025-12-21T09:04:00Z", end: "2026-01-05T09:05:00Z", status: 200,
			deleted: []string{e.ids[1] + "@2026-01-05T09:01:30.003+0000"}, latest: "2026-01-05T09:03:00.000+0000"},
		{name: "before earliestDateAvailable", start: "2025-12-21T09:03:00Z", end: "2026-01-05T09:05:00Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
		{name: "empty window", start: "2026-01-05T09:01:00Z", end: "2026-01-05T09:01:30Z",
			status: 400, code: "INVALID_REPLICATION_DATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodGet, window("Account", "deleted", tt.start, tt.end), "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if code := errorCode(body); code != tt.code {
					t.Errorf("errorCode %q, want %q", code, tt.code)
				}
				return
			}
			var got deletedAnswer
			if err := json.Unmarshal(body, &got); err != nil || got.DeletedRecords == nil {
				t.Fatalf("%v: %s", err, body)
			}
			if !slices.Equal(got.ids(), tt.deleted) || got.EarliestDateAvailable != earliest || got.LatestDateCovered != tt.latest {
				t.Errorf("got %v %s %s, want %v %s %s", got.ids(), got.EarliestDateAvailable, got.LatestDateCovered, tt.deleted, earliest, tt.latest)
			}
		})
	}
}

func TestGetDeletedAfterPurge(t *testing.T) {
	t.Parallel()
	e := newReplicationEnv(t, Options{})
	e.s.PurgeDeleteLog() // at 09:03:30.003: the log now starts at 09:04
	resp, body := e.do(t, http.MethodGet, window("Account", "deleted", "2026-01-05T09:00:00Z", "2026-01-05T09:10:00Z"), "")
	if resp.StatusCode != 400 || errorCode(body) != "INVALID_REPLICATION_DATE" {
		t.Fatalf("start before the purge: %d %s", resp.StatusCode, body)
	}
	e.s.Advance(2 * time.Minute)
	e.s.Delete("Account", e.ids[2]) // 09:05:30.004
	e.s.Advance(time.Minute)
	resp, body = e.do(t, http.MethodGet, window("Account", "deleted", "2026-01-05T09:04:00Z", "2026-01-05T09:10:00Z"), "")
	var got deletedAnswer
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("after the purge: %d %s", resp.StatusCode, body)
	}
	want := []string{e.ids[2] + "@2026-01-05T09:05:30.004+0000"}
	if !slices.Equal(got.ids(), want) || got.EarliestDateAvailable != "2026-01-05T09:04:00.000+0000" || got.LatestDateCovered != "2026-01-05T09:06:00.000+0000" {
		t.Errorf("after the purge: %s", body)
	}
	// getUpdated is not affected by the delete log.
	if resp, body := e.do(t, http.MethodGet, window("Account", "updated", "2026-01-05T09:00:00Z", "2026-01-05T09:10:00Z"), ""); resp.StatusCode != 200 {
		t.Errorf("updated after the purge: %d %s", resp.StatusCode, body)
	}
}

func TestReplicationNeedsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 1}})
	e.token = "expired"
	for _, resource := range []string{"updated", "deleted"} {
		resp, body := e.do(t, http.MethodGet, window("Account", resource, "2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z"), "")
		if resp.StatusCode != 401 || errorCode(body) != "INVALID_SESSION_ID" {
			t.Errorf("%s: %d %s", resource, resp.StatusCode, body)
		}
	}
}
