package api_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/api"
)

// hooks records the read hooks' calls.
type hooks struct {
	mu      sync.Mutex
	wakes   int
	changed []*runtime.Installation
	err     error
}

func (h *hooks) install(a *api.API) {
	a.SetReadHooks(api.ReadHooks{
		Wake: func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.wakes++
		},
		InstallationChanged: func(ctx context.Context, in *runtime.Installation) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.changed = append(h.changed, in)
			return h.err
		},
	})
}

func (h *hooks) counts() (wakes, changed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wakes, len(h.changed)
}

// problem is the part of a problem+json body the tests read.
type problem struct {
	Type   string
	Status int
	Detail string
	Issues []struct{ In, Name, Detail string }
}

// wantProblem checks r is a problem with the status whose detail or issue
// holds each of want; name, when not empty, must be the issue's name.
func wantProblem(t *testing.T, what string, r resp, status int, name string, want ...string) {
	t.Helper()
	var p problem
	if r.status != status || r.ctype != "application/problem+json" {
		t.Errorf("%s = %d %s %s, want %d problem+json", what, r.status, r.ctype, r.body, status)
		return
	}
	r.json(t, &p)
	if name != "" && (len(p.Issues) == 0 || p.Issues[0].Name != name) {
		t.Errorf("%s: issues %+v, want one naming %q", what, p.Issues, name)
	}
	for _, w := range want {
		if !strings.Contains(p.Detail, w) {
			t.Errorf("%s: detail %q does not mention %q", what, p.Detail, w)
		}
	}
}

// readWorld is a world whose installation (group acme) reads account
// (mapped to company by the example manifest) and contact, with hooks.
type readWorld struct {
	world
	pp, integ, inst string
	h               *hooks
}

func (e *env) readWorld(name string) readWorld {
	e.t.Helper()
	h := &hooks{}
	h.install(e.a)
	w := readWorld{world: e.world(name), h: h}
	w.pp = "/v1/projects/" + name
	w.integ = w.pp + "/integrations/" + w.integID
	w.inst = w.integ + "/installations/" + w.instID
	content := map[string]any{"read": map[string]any{"objects": map[string]any{
		"account": map[string]any{"objectName": "account", "selectedFieldMappings": map[string]string{"country": "billingcountry"}},
		"contact": map[string]any{"objectName": "contact"}}}}
	e.must(200, "PATCH", w.inst+"?skipSampling=true", w.key, map[string]any{
		"updateMask":   []string{"config.content.read.objects.account", "config.content.read.objects.contact"},
		"installation": map[string]any{"config": map[string]any{"content": content}}})
	return w
}

func (e *env) installation(w readWorld) *runtime.Installation {
	e.t.Helper()
	in, err := e.store.GetInstallation(context.Background(), w.proj.ID, w.instID)
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

func TestTriggerRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.readWorld("default")
	ctx := context.Background()
	in := e.installation(w)
	since, until := "2024-07-01T18:22:30.323771761Z", "2024-07-05T18:22:30Z"

	for _, c := range []struct {
		name, object string
		body         map[string]any
	}{
		{"mapped", "company", map[string]any{"groupRef": "acme", "mode": "async", "sinceTimestamp": since, "untilTimestamp": until}},
		{"raw", "account", map[string]any{"groupRef": "acme", "mode": "async"}},
		{"case", "ACCOUNT", map[string]any{"groupRef": "acme", "mode": "async", "sinceTimestamp": since}},
		{"by integration name", "account", map[string]any{"groupRef": "acme", "mode": "async"}},
	} {
		path := w.integ + "/objects/" + c.object
		if c.name == "by integration name" {
			path = w.pp + "/integrations/" + w.integName + "/objects/" + c.object
		}
		wakes, _ := w.h.counts()
		var out struct{ OperationID string }
		e.must(201, "POST", path, w.key, c.body).json(t, &out)
		op, err := e.store.GetOperation(ctx, w.proj.ID, out.OperationID)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if op.ObjectName != "account" || op.ActionType != runtime.ActionRead || op.ReadType != runtime.ReadTriggered ||
			op.ProjectID != w.proj.ID || op.IntegrationID != w.integID || op.InstallationID != w.instID ||
			op.ConfigID != in.Config.ID || op.Status != runtime.OperationQueued {
			t.Errorf("%s: operation = %+v", c.name, op)
		}
		wantSince := time.Time{}
		if c.body["sinceTimestamp"] != nil {
			wantSince = time.Date(2024, 7, 1, 18, 22, 30, 323771761, time.UTC)
		}
		if !runtime.Millis(op.Since).Equal(runtime.Millis(wantSince)) {
			t.Errorf("%s: since = %v, want %v", c.name, op.Since, wantSince)
		}
		if c.body["untilTimestamp"] != nil && !op.Until.Equal(time.Date(2024, 7, 5, 18, 22, 30, 0, time.UTC)) {
			t.Errorf("%s: until = %v", c.name, op.Until)
		}
		if c.body["untilTimestamp"] == nil && !op.Until.IsZero() {
			t.Errorf("%s: until = %v, want none", c.name, op.Until)
		}
		if n, _ := w.h.counts(); n != wakes+1 {
			t.Errorf("%s: wake called %d times, want once", c.name, n-wakes)
		}
	}
	var c struct{ OperationID string }
	e.must(201, "POST", w.integ+"/objects/contact", w.key, map[string]any{"groupRef": "acme", "mode": "async"}).json(t, &c)
	if op, err := e.store.GetOperation(ctx, w.proj.ID, c.OperationID); err != nil || op.ObjectName != "contact" {
		t.Errorf("contact read = %+v, %v", op, err)
	}

	wakes, _ := w.h.counts()
	ok := map[string]any{"groupRef": "acme", "mode": "async"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{"groupRef": "acme", "mode": "async"}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		what, object string
		body         any
		status       int
		name         string
		want         []string
	}{
		{"no groupRef", "account", with("groupRef", nil), 400, "groupRef", []string{"groupRef is required"}},
		{"no mode", "account", with("mode", nil), 400, "mode", []string{"async"}},
		{"sync mode", "account", with("mode", "sync"), 400, "mode", []string{`"sync"`, "async"}},
		{"bad since", "account", with("sinceTimestamp", "yesterday"), 400, "sinceTimestamp", []string{"RFC 3339"}},
		{"bad until", "account", with("untilTimestamp", "2024-07-05"), 400, "untilTimestamp", []string{"RFC 3339"}},
		{"since after until", "account", with("untilTimestamp", "2024-06-01T00:00:00Z"), 422, "sinceTimestamp", []string{"before untilTimestamp"}},
		{"unknown field", "account", with("pages", 3), 400, "pages", nil},
		{"no body", "account", nil, 400, "", []string{"required"}},
		{"unknown group", "account", with("groupRef", "nobody"), 404, "", []string{`"nobody"`}},
		{"unknown object", "lead", ok, 404, "", []string{`"lead"`, "account (company), contact"}},
		{"write-only object", "opportunity", ok, 404, "", []string{"account (company), contact"}},
		{"unknown integration", "account", ok, 404, "", []string{"integration"}},
	} {
		path := w.integ + "/objects/" + c.object
		if c.what == "unknown integration" {
			path = w.pp + "/integrations/nope/objects/account"
		}
		if c.what == "since after until" {
			c.body.(map[string]any)["sinceTimestamp"] = since
		}
		wantProblem(t, c.what, e.do("POST", path, w.key, c.body), c.status, c.name, c.want...)
	}
	// A disabled object is refused; re-enabled, it reads.
	patch := func(disabled bool) {
		e.must(200, "PATCH", w.integ+"/objects/account/config-content?skipSampling=true", w.key, map[string]any{
			"installationId": w.instID, "action": "read", "changes": []map[string]any{{"op": "add", "path": "/disabled", "value": disabled}}})
	}
	patch(true)
	wantProblem(t, "disabled", e.do("POST", w.integ+"/objects/company", w.key, ok), 422, "", "account", "disabled")
	if n, _ := w.h.counts(); n != wakes+1 {
		// The config-content patch woke the workers once (after its hook).
		t.Errorf("refused reads woke the workers %d times", n-wakes)
	}
	patch(false)
	e.must(201, "POST", w.integ+"/objects/company", w.key, ok)
	// A frontend key cannot trigger reads.
	_, front := e.project("default", "frontend")
	wantProblem(t, "frontend key", e.do("POST", w.integ+"/objects/account", front, ok), 403, "")
}

func TestPauseUnpause(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.readWorld("default")
	ctx := context.Background()
	if _, err := e.store.SyncReadStates(ctx, w.proj.ID, w.instID, []runtime.ReadStateSpec{
		{ObjectName: "account", Schedule: "*/15 * * * *"}, {ObjectName: "contact", Schedule: "*/15 * * * *"}}); err != nil {
		t.Fatal(err)
	}
	paused := func() map[string]string {
		t.Helper()
		states, err := e.store.ListReadStates(ctx, w.proj.ID, w.instID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range states {
			if s.Paused {
				out[s.ObjectName] = s.PauseNote
			}
		}
		return out
	}
	check := func(what string, want map[string]string) {
		t.Helper()
		got := paused()
		if len(got) != len(want) {
			t.Errorf("%s: paused = %v, want %v", what, got, want)
			return
		}
		for k, v := range want {
			if n, ok := got[k]; !ok || n != v {
				t.Errorf("%s: paused = %v, want %v", what, got, want)
			}
		}
	}
	e.must(204, "POST", w.inst+":pause", w.key, map[string]any{"objects": []string{"company"}, "note": "customer asked"})
	check("pause company", map[string]string{"account": "customer asked"})
	// Twice is a no-op.
	e.must(204, "POST", w.inst+":pause", w.key, map[string]any{"objects": []string{"account"}, "note": "customer asked"})
	check("pause account again", map[string]string{"account": "customer asked"})
	// No body: every object.
	e.must(204, "POST", w.inst+":pause", w.key, nil)
	check("pause all", map[string]string{"account": "", "contact": ""})
	wakes, _ := w.h.counts()
	e.must(204, "POST", w.inst+":unpause", w.key, map[string]any{"objects": []string{"Contact"}})
	check("unpause contact", map[string]string{"account": ""})
	if n, _ := w.h.counts(); n != wakes+1 {
		t.Errorf("unpause woke the workers %d times, want once", n-wakes)
	}
	e.must(204, "POST", w.inst+":unpause", w.key, "{}")
	check("unpause all", nil)
	e.must(204, "POST", w.pp+"/integrations/"+w.integName+"/installations/"+w.instID+":pause", w.key, map[string]any{"objects": []string{"contact", "contact"}})
	check("pause by integration name", map[string]string{"contact": ""})

	for _, c := range []struct {
		what, path string
		body       any
		status     int
		name       string
		want       []string
	}{
		{"unknown object", w.inst + ":pause", map[string]any{"objects": []string{"contact", "lead"}}, 422, "objects[1]", []string{`"lead"`, "account (company), contact"}},
		{"empty object", w.inst + ":pause", map[string]any{"objects": []string{""}}, 400, "objects[0]", nil},
		{"objects not an array", w.inst + ":unpause", map[string]any{"objects": "account"}, 400, "objects", nil},
		{"unknown field", w.inst + ":pause", map[string]any{"reason": "x"}, 400, "reason", nil},
		{"malformed", w.inst + ":pause", "{", 400, "", nil},
		{"no suffix", w.inst, nil, 404, "", []string{":pause", ":unpause"}},
		{"other suffix", w.inst + ":stop", nil, 404, "", []string{":pause"}},
		{"unknown installation", w.integ + "/installations/nope:pause", nil, 404, "", []string{"nope"}},
	} {
		wantProblem(t, c.what, e.do("POST", c.path, w.key, c.body), c.status, c.name, c.want...)
	}
	check("after refusals", map[string]string{"contact": ""})
	_, front := e.project("default", "frontend")
	wantProblem(t, "frontend key", e.do("POST", w.inst+":unpause", front, nil), 403, "")
	check("after frontend key", map[string]string{"contact": ""})
}

// newOps creates n operations of the installation, alternating objects
// and read types, and returns them newest first by the store's clock.
func (e *env) newOps(w readWorld, n int) []*runtime.Operation {
	e.t.Helper()
	var ops []*runtime.Operation
	types := []runtime.ReadType{runtime.ReadScheduled, runtime.ReadTriggered}
	for i := range n {
		op := &runtime.Operation{ProjectID: w.proj.ID, IntegrationID: w.integID, InstallationID: w.instID,
			ObjectName: []string{"account", "contact"}[i%2], ActionType: runtime.ActionRead, ReadType: types[i%2], Estimated: -1}
		if err := e.store.CreateOperation(context.Background(), op, false); err != nil {
			e.t.Fatal(err)
		}
		ops = append(ops, op)
	}
	return ops
}

func TestListOperationsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.readWorld("default")
	// The world's operation, and 6 more: some share a millisecond, so
	// pages must break ties.
	ops := append(e.newOps(w, 6), &runtime.Operation{ID: w.opID})
	// An operation of another installation is not listed.
	var other struct{ ID string }
	e.must(201, "POST", w.pp+"/connections:generate", w.key, generateBody("globex", nil))
	e.must(201, "POST", w.integ+"/installations?skipSampling=true", w.key,
		map[string]any{"groupRef": "globex", "config": map[string]any{"content": map[string]any{}}}).json(t, &other)
	foreign := &runtime.Operation{ProjectID: w.proj.ID, IntegrationID: w.integID, InstallationID: other.ID, ObjectName: "account",
		ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled, Estimated: -1}
	if err := e.store.CreateOperation(context.Background(), foreign, false); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Results []struct {
			ID, Status, InstallationID string
			CreateTime                 time.Time
		}
		Pagination struct {
			Done          bool
			NextPageToken *string
		}
	}
	var all page
	e.must(200, "GET", w.inst+"/operations", w.key, nil).json(t, &all)
	if len(all.Results) != len(ops) || !all.Pagination.Done || all.Pagination.NextPageToken != nil {
		t.Fatalf("default page = %+v, want %d results and done", all, len(ops))
	}
	var want []string
	for i, r := range all.Results {
		want = append(want, r.ID)
		if r.InstallationID != w.instID || r.ID == foreign.ID {
			t.Errorf("listed %+v of another installation", r)
		}
		if i > 0 && r.CreateTime.After(all.Results[i-1].CreateTime) {
			t.Errorf("results not newest first: %v after %v", r.CreateTime, all.Results[i-1].CreateTime)
		}
	}
	for _, op := range ops {
		if !slices.Contains(want, op.ID) {
			t.Errorf("operation %s is not listed", op.ID)
		}
	}
	for _, size := range []int{1, 2, 3, 7} {
		var got []string
		path := fmt.Sprintf("%s/operations?pageSize=%d", w.inst, size)
		for n := 0; ; n++ {
			if n > len(ops) {
				t.Fatalf("pageSize %d: more than %d pages", size, len(ops))
			}
			var p page
			e.must(200, "GET", path, w.key, nil).json(t, &p)
			if len(p.Results) > size {
				t.Errorf("pageSize %d: page of %d", size, len(p.Results))
			}
			for _, r := range p.Results {
				got = append(got, r.ID)
			}
			if p.Pagination.Done {
				if p.Pagination.NextPageToken != nil {
					t.Errorf("pageSize %d: done with a nextPageToken", size)
				}
				break
			}
			if p.Pagination.NextPageToken == nil || *p.Pagination.NextPageToken == "" {
				t.Fatalf("pageSize %d: not done and no nextPageToken", size)
			}
			path = fmt.Sprintf("%s/operations?pageSize=%d&pageToken=%s", w.inst, size, *p.Pagination.NextPageToken)
			if n == 0 && size == 2 {
				// New operations do not shift the pages. (They are
				// created a few milliseconds later, so they come first
				// in every later listing.)
				time.Sleep(5 * time.Millisecond)
				e.newOps(w, 2)
			}
		}
		if size == 1 || size == 2 {
			if !slices.Equal(got, want) {
				t.Errorf("pageSize %d: pages = %v, want %v", size, got, want)
			}
			continue
		}
		// Later sizes see the two operations created meanwhile first.
		if len(got) != len(want)+2 || !slices.Equal(got[2:], want) {
			t.Errorf("pageSize %d: pages = %v, want two new then %v", size, got, want)
		}
	}
	for _, q := range []string{"pageSize=0", "pageSize=1001", "pageSize=ten", "pageSize=-1"} {
		wantProblem(t, q, e.do("GET", w.inst+"/operations?"+q, w.key, nil), 400, "pageSize", "1 to 1000")
	}
	for _, tok := range []string{"garbage!", "e30", "bm90IGpzb24"} {
		wantProblem(t, "pageToken "+tok, e.do("GET", w.inst+"/operations?pageToken="+tok, w.key, nil), 400, "pageToken", "nextPageToken")
	}
	wantProblem(t, "unknown installation", e.do("GET", w.integ+"/installations/nope/operations", w.key, nil), 404, "", "nope")
	// Another integration's path does not list it.
	wantProblem(t, "unknown integration", e.do("GET", w.pp+"/integrations/nope/installations/"+w.instID+"/operations", w.key, nil), 404, "")
}

func TestGetOperationAndLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.readWorld("default")
	ctx := context.Background()
	var trig struct{ OperationID string }
	e.must(201, "POST", w.integ+"/objects/company", w.key, map[string]any{"groupRef": "acme", "mode": "async",
		"sinceTimestamp": "2024-07-01T00:00:00Z"}).json(t, &trig)
	opPath := w.pp + "/operations/" + trig.OperationID
	type opJSON struct {
		ID, ProjectID, IntegrationID, InstallationID, ConfigID, ActionType, Status, Result, ReadType, Error string
		Queued                                                                                              bool
		SinceTimestamp                                                                                      time.Time
		CreateTime                                                                                          time.Time
		Metadata                                                                                            struct {
			Objects  []string
			Progress *struct {
				InstallationID, ObjectName, OperationID string
				RecordsProcessed                        int64
				RecordsEstimatedTotal                   *int64
			}
			Retry *struct{ Attempts int }
		}
	}
	var got opJSON
	r := e.must(200, "GET", opPath, w.key, nil)
	r.json(t, &got)
	in := e.installation(w)
	if got.ID != trig.OperationID || got.ProjectID != w.proj.ID || got.IntegrationID != w.integID || got.InstallationID != w.instID ||
		got.ConfigID != in.Config.ID || got.ActionType != "read" || got.Status != "in_progress" || !got.Queued ||
		got.ReadType != "triggered" || got.CreateTime.IsZero() || !got.SinceTimestamp.Equal(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("queued operation = %s", r.body)
	}
	if !slices.Equal(got.Metadata.Objects, []string{"account"}) || got.Metadata.Progress == nil ||
		got.Metadata.Progress.ObjectName != "account" || got.Metadata.Progress.OperationID != got.ID ||
		got.Metadata.Progress.InstallationID != w.instID || got.Metadata.Progress.RecordsProcessed != 0 ||
		got.Metadata.Progress.RecordsEstimatedTotal != nil || got.Metadata.Retry != nil {
		t.Errorf("queued operation metadata = %s", r.body)
	}
	if strings.Contains(string(r.body), `"status":"queued"`) {
		t.Errorf("status queued leaked: %s", r.body)
	}
	var logs []any
	e.must(200, "GET", opPath+"/logs", w.key, nil).json(t, &logs)
	if logs == nil || len(logs) != 0 {
		t.Errorf("logs of a new operation = %v, want []", logs)
	}

	// A worker claims it, commits a page with logs, fails an attempt, then
	// succeeds.
	now := time.Now().Add(time.Second)
	claimed, err := e.store.ClaimOperation(ctx, "w1", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if claimed.ID != trig.OperationID {
		// The world's operation is older; finish it first.
		if err := e.store.EndOperation(ctx, runtime.OperationEnd{Lease: runtime.Lease{ProjectID: claimed.ProjectID, OperationID: claimed.ID,
			Owner: "w1", Expiry: now.Add(time.Minute)}, Status: runtime.OperationSuccess}); err != nil {
			t.Fatal(err)
		}
		if claimed, err = e.store.ClaimOperation(ctx, "w1", now, time.Minute); err != nil || claimed.ID != trig.OperationID {
			t.Fatalf("claim = %+v, %v", claimed, err)
		}
	}
	lease := runtime.Lease{ProjectID: w.proj.ID, OperationID: claimed.ID, Owner: "w1", Expiry: now.Add(time.Minute)}
	logAt := time.Date(2024, 7, 2, 3, 4, 5, 0, time.UTC)
	if err := e.store.CommitPage(ctx, runtime.PageCommit{Lease: lease, Checkpoint: []byte(`{"page":1}`), Processed: 10, Estimated: 100,
		Logs: []*runtime.OperationLog{{ProjectID: w.proj.ID, OperationID: claimed.ID, Time: logAt, Severity: runtime.SeverityInfo,
			Message: "read page 1", Details: map[string]string{"records": "10"}}}}); err != nil {
		t.Fatal(err)
	}
	got = opJSON{}
	e.must(200, "GET", opPath, w.key, nil).json(t, &got)
	if got.Status != "in_progress" || got.Queued || got.Metadata.Progress.RecordsProcessed != 10 ||
		got.Metadata.Progress.RecordsEstimatedTotal == nil || *got.Metadata.Progress.RecordsEstimatedTotal != 100 {
		t.Errorf("running operation = %+v", got)
	}
	if err := e.store.EndOperation(ctx, runtime.OperationEnd{Lease: lease, Status: runtime.OperationQueued, RunAt: now.Add(time.Hour),
		Attempts: 1, Logs: []*runtime.OperationLog{{ProjectID: w.proj.ID, OperationID: claimed.ID, Time: logAt.Add(time.Second),
			Severity: runtime.SeverityWarn, Message: "provider throttled", Err: "429 Too Many Requests"}}}); err != nil {
		t.Fatal(err)
	}
	r, got = e.must(200, "GET", opPath, w.key, nil), opJSON{}
	r.json(t, &got)
	if got.Status != "in_progress" || !got.Queued || got.Metadata.Retry == nil || got.Metadata.Retry.Attempts != 1 {
		t.Errorf("retrying operation = %s", r.body)
	}
	type logJSON struct {
		Timestamp time.Time
		Severity  string
		Message   struct {
			Msg, Error string
			OpID       string `json:"operation_id"`
			Details    map[string]string
		}
	}
	var ls []logJSON
	e.must(200, "GET", opPath+"/logs", w.key, nil).json(t, &ls)
	if len(ls) != 2 || !ls[0].Timestamp.Equal(logAt) || ls[0].Severity != "INFO" || ls[0].Message.Msg != "read page 1" ||
		ls[0].Message.OpID != trig.OperationID || ls[0].Message.Details["records"] != "10" ||
		ls[1].Severity != "WARN" || ls[1].Message.Error != "429 Too Many Requests" || ls[1].Message.Msg != "provider throttled" {
		t.Errorf("logs = %+v", ls)
	}

	// A failed operation carries its error.
	claimed, err = e.store.ClaimOperation(ctx, "w2", now.Add(2*time.Hour), time.Minute)
	if err != nil || claimed.ID != trig.OperationID {
		t.Fatalf("reclaim = %+v, %v", claimed, err)
	}
	if err := e.store.EndOperation(ctx, runtime.OperationEnd{Lease: runtime.Lease{ProjectID: w.proj.ID, OperationID: claimed.ID,
		Owner: "w2", Expiry: now.Add(3 * time.Hour)}, Status: runtime.OperationFailure, Attempts: 2,
		Result: "[account] read failed", Error: "the connection's credentials were refused"}); err != nil {
		t.Fatal(err)
	}
	r, got = e.must(200, "GET", opPath, w.key, nil), opJSON{}
	r.json(t, &got)
	if got.Status != "failure" || got.Queued || got.Result != "[account] read failed" || got.Error != "the connection's credentials were refused" {
		t.Errorf("failed operation = %s", r.body)
	}

	wantProblem(t, "unknown operation", e.do("GET", w.pp+"/operations/nope", w.key, nil), 404, "", `"nope"`)
	wantProblem(t, "unknown operation logs", e.do("GET", w.pp+"/operations/nope/logs", w.key, nil), 404, "", `"nope"`)
	_, front := e.project("default", "frontend")
	wantProblem(t, "frontend key", e.do("GET", opPath, front, nil), 403, "")
	wantProblem(t, "frontend key logs", e.do("GET", opPath+"/logs", front, nil), 403, "")
}

func TestBackfillProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.readWorld("default")
	ctx := context.Background()
	backfill := &runtime.Operation{ProjectID: w.proj.ID, IntegrationID: w.integID, InstallationID: w.instID, ObjectName: "account",
		ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}
	if _, err := e.store.SyncReadStates(ctx, w.proj.ID, w.instID, []runtime.ReadStateSpec{
		{ObjectName: "account", Schedule: "*/15 * * * *", Backfill: backfill}, {ObjectName: "contact"}}); err != nil {
		t.Fatal(err)
	}
	// A later triggered read of the object is not a backfill.
	e.must(201, "POST", w.integ+"/objects/account", w.key, map[string]any{"groupRef": "acme", "mode": "async"})
	type progress struct {
		InstallationID, ObjectName, OperationID, Status string
		RecordsProcessed                                int64
		RecordsEstimatedTotal                           *int64
		CreateTime                                      time.Time
	}
	for _, name := range []string{"company", "account", "Account"} {
		var p progress
		r := e.must(200, "GET", w.inst+"/objects/"+name+"/backfill-progress", w.key, nil)
		r.json(t, &p)
		if p.OperationID != backfill.ID || p.InstallationID != w.instID || p.ObjectName != "account" || p.RecordsProcessed != 0 ||
			p.RecordsEstimatedTotal != nil || p.Status != "in_progress" || p.CreateTime.IsZero() {
			t.Errorf("progress of %s = %s", name, r.body)
		}
	}
	wantProblem(t, "no backfill", e.do("GET", w.inst+"/objects/contact/backfill-progress", w.key, nil), 404, "", `"contact"`)
	wantProblem(t, "unknown object", e.do("GET", w.inst+"/objects/lead/backfill-progress", w.key, nil), 404, "", `"lead"`, "account (company), contact")
	wantProblem(t, "unknown installation", e.do("GET", w.integ+"/installations/nope/objects/account/backfill-progress", w.key, nil), 404, "", "nope")
	_, front := e.project("default", "frontend")
	wantProblem(t, "frontend key", e.do("GET", w.inst+"/objects/account/backfill-progress", front, nil), 403, "")
}

// TestReadRoutesCrossProject: project B, with the same integration and
// group, cannot reach A's installation or operations through any of the
// read and operations routes, with B's own integration in the path or A's.
func TestReadRoutesCrossProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.readWorld("alpha")
	b := e.readWorld("beta")
	if _, err := e.store.SyncReadStates(context.Background(), a.proj.ID, a.instID, []runtime.ReadStateSpec{
		{ObjectName: "account", Backfill: &runtime.Operation{ProjectID: a.proj.ID, IntegrationID: a.integID, InstallationID: a.instID,
			ObjectName: "account", ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}}}); err != nil {
		t.Fatal(err)
	}
	// A's own key reaches everything.
	e.must(200, "GET", a.inst+"/objects/account/backfill-progress", a.key, nil)
	e.must(200, "GET", a.pp+"/operations/"+a.opID, a.key, nil)

	for _, integ := range []string{b.integID, a.integID, b.integName} {
		bInteg := b.pp + "/integrations/" + integ
		aInst := bInteg + "/installations/" + a.instID
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", aInst + "/operations", nil},
			{"GET", aInst + "/objects/account/backfill-progress", nil},
			{"POST", aInst + ":pause", nil},
			{"POST", aInst + ":unpause", map[string]any{"objects": []string{"account"}}},
			{"GET", b.pp + "/operations/" + a.opID, nil},
			{"GET", b.pp + "/operations/" + a.opID + "/logs", nil},
		} {
			if r := e.do(c.method, c.path, b.key, c.body); r.status != 404 {
				t.Errorf("%s %s with B's key = %d %s, want 404", c.method, c.path, r.status, r.body)
			}
		}
		// A trigger through B's path reads B's installation of the group,
		// never A's.
		if integ != a.integID {
			var out struct{ OperationID string }
			e.must(201, "POST", bInteg+"/objects/account", b.key, map[string]any{"groupRef": "acme", "mode": "async"}).json(t, &out)
			op, err := e.store.GetOperation(context.Background(), b.proj.ID, out.OperationID)
			if err != nil || op.InstallationID != b.instID || op.ProjectID != b.proj.ID {
				t.Errorf("B's trigger made %+v, %v", op, err)
			}
		} else if r := e.do("POST", bInteg+"/objects/account", b.key, map[string]any{"groupRef": "acme", "mode": "async"}); r.status != 404 {
			t.Errorf("trigger on A's integration with B's key = %d %s, want 404", r.status, r.body)
		}
	}
	// A's key on B's paths is 404 too (the project is not its own).
	for _, path := range []string{b.pp + "/operations/" + b.opID, b.inst + "/operations"} {
		if r := e.do("GET", path, a.key, nil); r.status != 404 {
			t.Errorf("GET %s with A's key = %d, want 404", path, r.status)
		}
	}
	// B's list shows nothing of A's.
	r := e.must(200, "GET", b.inst+"/operations", b.key, nil)
	if strings.Contains(string(r.body), a.opID) || strings.Contains(string(r.body), a.instID) {
		t.Errorf("B's operations show A's: %s", r.body)
	}
	// A's read states are untouched.
	states, err := e.store.ListReadStates(context.Background(), a.proj.ID, a.instID)
	if err != nil || len(states) != 1 || states[0].Paused {
		t.Errorf("A's read states = %+v, %v", states, err)
	}
}

// TestInstallationChangedHook: every save of an installation's config
// calls the hook with the saved installation; a failing hook does not fail
// the save; a refused save does not call it.
func TestInstallationChangedHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := &hooks{}
	h.install(e.a)
	w := e.world("default")
	_, n := h.counts()
	if n != 1 || h.changed[0].ID != w.instID || h.changed[0].Config.ID == "" || h.changed[0].GroupRef != "acme" {
		t.Fatalf("create called the hook %d times with %+v, want once with the installation", n, h.changed)
	}
	base := "/v1/projects/default/integrations/" + w.integID
	inst := base + "/installations/" + w.instID
	e.must(200, "PATCH", inst+"?skipSampling=true", w.key, map[string]any{"updateMask": []string{"config.content.read.objects.contact"},
		"installation": map[string]any{"config": map[string]any{"content": map[string]any{"read": map[string]any{"objects": map[string]any{
			"contact": map[string]any{"objectName": "contact"}}}}}}})
	wakes, n := h.counts()
	last := h.changed[n-1]
	if n != 2 || last.ID != w.instID || last.Config.Content.Read == nil || last.Config.Content.Read.Objects["contact"].ObjectName != "contact" {
		t.Errorf("patch called the hook %d times, last with %+v", n-1, last)
	}
	if wakes != 2 {
		t.Errorf("hooks that succeeded woke the workers %d times, want 2", wakes)
	}
	e.must(200, "PATCH", base+"/objects/contact/config-content?skipSampling=true", w.key, map[string]any{
		"groupRef": "acme", "action": "read", "changes": []map[string]any{{"op": "add", "path": "/schedule", "value": "0 * * * *"}}})
	_, n = h.counts()
	if last := h.changed[n-1]; n != 3 || last.Config.Content.Read.Objects["contact"].Schedule != "0 * * * *" {
		t.Errorf("config-content patch called the hook %d times, last with %+v", n-2, last)
	}
	// Refused saves do not call it.
	e.do("PATCH", inst, w.key, map[string]any{"updateMask": []string{"bogus"}, "installation": map[string]any{}})
	e.do("POST", base+"/installations", w.key, map[string]any{"config": map[string]any{"content": map[string]any{}}})
	if _, n := h.counts(); n != 3 {
		t.Errorf("refused saves called the hook: %d calls", n)
	}
	// A failing hook is logged, and the save still succeeds.
	h.mu.Lock()
	h.err = errors.New("scheduler down")
	h.mu.Unlock()
	wakes, _ = h.counts()
	e.must(201, "POST", "/v1/projects/default/connections:generate", w.key, generateBody("globex", nil))
	e.must(201, "POST", base+"/installations?skipSampling=true", w.key, map[string]any{"groupRef": "globex", "config": map[string]any{"content": map[string]any{}}})
	if got, n := h.counts(); n != 4 || got != wakes {
		t.Errorf("failing hook: %d calls, %d wakes (want 4 calls, no new wake)", n, got-wakes)
	}
}
