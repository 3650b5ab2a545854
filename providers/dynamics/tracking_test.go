package dynamics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
)

// trackRead reads every page of req and returns the records, the number
// of pages and the last page's checkpoint. between(page) runs after every
// page but the last.
func trackRead(ctx context.Context, c *Client, req providers.ReadRequest, between func(page int)) ([]providers.Record, int, string, error) {
	var recs []providers.Record
	for pages := 1; ; pages++ {
		p, err := c.Read(ctx, req)
		if err != nil {
			return recs, pages, "", err
		}
		if want := pageSize(req.PageSize); len(p.Records) > want {
			return recs, pages, "", fmt.Errorf("page %d has %d records, more than the page size %d", pages, len(p.Records), want)
		}
		recs = append(recs, p.Records...)
		if p.Done {
			return recs, pages, p.Checkpoint, nil
		}
		if p.Checkpoint != "" {
			return recs, pages, "", fmt.Errorf("page %d is not the last but has a checkpoint", pages)
		}
		if between != nil {
			between(pages)
		}
		req.Cursor = p.NextCursor
	}
}

// changeSet is what a delta read must return: the live records changed
// (with the last telephone1 written, when one was) and the deleted ones.
type changeSet struct {
	changed map[string]bool
	phone   map[string]string
	deleted map[string]bool
}

func newChangeSet() *changeSet {
	return &changeSet{changed: map[string]bool{}, phone: map[string]string{}, deleted: map[string]bool{}}
}

// tracker makes changes to the fake's accounts through every write path
// (the connector's $batch writes, the fake's control surface and its
// store) and records them.
type tracker struct {
	t  *testing.T
	f  *fixture
	cs *changeSet
	// prev is the change set of the delta read under way, while cs
	// collects the writes for the next.
	prev *changeSet
	ids  []string // live seeded ids before the first read
	n    int
}

func (k *tracker) create() string {
	k.t.Helper()
	k.n++
	res, err := k.f.client.Write(k.t.Context(), providers.WriteRequest{Object: "accounts", Op: providers.WriteCreate,
		Records: []providers.WriteRecord{{Fields: map[string]any{"name": fmt.Sprintf("Tracked %d", k.n)}}}})
	if err != nil || !res[0].Success {
		k.t.Fatalf("create: %v %+v", err, res)
	}
	k.cs.changed[res[0].ID] = true
	return res[0].ID
}

func (k *tracker) update(id, phone string) {
	k.t.Helper()
	res, err := k.f.client.Write(k.t.Context(), providers.WriteRequest{Object: "accounts", Op: providers.WriteUpdate,
		Records: []providers.WriteRecord{{ID: id, Fields: map[string]any{"telephone1": phone}}}})
	if err != nil || !res[0].Success {
		k.t.Fatalf("update %s: %v %+v", id, err, res)
	}
	k.cs.changed[id], k.cs.phone[id] = true, phone
}

// storeUpdate writes through the fake's store, bypassing its API.
func (k *tracker) storeUpdate(id, phone string) {
	k.t.Helper()
	if _, err := k.f.srv.Kit().Store.Update("accounts", id, map[string]any{"telephone1": phone}); err != nil {
		k.t.Fatal(err)
	}
	k.cs.changed[id], k.cs.phone[id] = true, phone
}

func (k *tracker) touch(id string) {
	k.f.srv.Touch("accounts", id)
	k.cs.changed[id] = true
}

func (k *tracker) remove(id string) {
	k.t.Helper()
	res, err := k.f.client.Write(k.t.Context(), providers.WriteRequest{Object: "accounts", Op: providers.WriteDelete, Records: []providers.WriteRecord{{ID: id}}})
	if err != nil || !res[0].Success {
		k.t.Fatalf("delete %s: %v %+v", id, err, res)
	}
	delete(k.cs.changed, id)
	delete(k.cs.phone, id)
	k.cs.deleted[id] = true
}

// sameChanges reports how recs differ from cs: every changed record once,
// live, with the last telephone1 written; every deletion (when deletions
// were asked for) once, without fields; nothing else.
func sameChanges(recs []providers.Record, cs *changeSet, withDeleted bool) []string {
	var diffs []string
	got := map[string]providers.Record{}
	for _, r := range recs {
		if _, dup := got[r.ID]; dup {
			diffs = append(diffs, "returned "+r.ID+" twice")
		}
		got[r.ID] = r
	}
	for id := range cs.changed {
		r, ok := got[id]
		switch {
		case !ok:
			diffs = append(diffs, "changed record "+id+" missing")
		case r.Deleted:
			diffs = append(diffs, "changed record "+id+" reported deleted")
		case cs.phone[id] != "" && r.Fields["telephone1"] != cs.phone[id]:
			diffs = append(diffs, fmt.Sprintf("record %s has telephone1 %v, want the last value written %q", id, r.Fields["telephone1"], cs.phone[id]))
		}
	}
	for id := range cs.deleted {
		r, ok := got[id]
		switch {
		case !withDeleted && ok:
			diffs = append(diffs, "deletion of "+id+" returned without IncludeDeleted")
		case withDeleted && (!ok || !r.Deleted || r.Fields != nil):
			diffs = append(diffs, fmt.Sprintf("deleted record %s: got %+v, want Deleted without fields", id, r))
		}
	}
	for id := range got {
		if !cs.changed[id] && !cs.deleted[id] {
			diffs = append(diffs, "returned "+id+", which did not change")
		}
	}
	return diffs
}

// setVersion replaces the version part of a checkpoint's delta token.
func setVersion(t *testing.T, checkpoint, version string) string {
	t.Helper()
	path, raw, _ := strings.Cut(checkpoint, "?")
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, date, _ := strings.Cut(q.Get("$deltatoken"), "!")
	q.Set("$deltatoken", version+"!"+date)
	return path + "?" + q.Encode()
}

// TestChangeTracking is the checkpoint contract against the fake: an
// initial tracking read returns every row and a checkpoint; a read with
// it returns exactly the changes since (creates and updates as rows,
// deletions with Deleted set), however many share a modifiedon second,
// paged like any read, and a new checkpoint with which the next read
// returns nothing; an expired or foreign checkpoint is a KindInvalid
// error with CodeCheckpointExpired, after which tracking starts again.
func TestChangeTracking(t *testing.T) {
	t.Parallel()
	const records = 20
	fields := []string{"name", "telephone1"}
	tests := []struct {
		name      string
		retention time.Duration
		pageSize  int
		// during and duringDelta run between the pages of the initial
		// and the delta read.
		during, duringDelta func(k *tracker, page int)
		change              func(k *tracker)
		// mutate changes the checkpoint before the delta read.
		mutate   func(t *testing.T, cp string) string
		advance  time.Duration
		noDelete bool // the delta read does not set IncludeDeleted
		wantErr  bool
		minPages int
		ties     bool // several changed rows share a modifiedon
	}{
		{name: "no changes"},
		{name: "creates, updates and deletes in the same second", ties: true, change: func(k *tracker) {
			a, b := k.create(), k.create()
			k.update(k.ids[1], "+1 555 0101")
			k.update(a, "+1 555 0102")
			k.touch(k.ids[2])
			k.storeUpdate(k.ids[3], "+1 555 0103")
			k.remove(k.ids[4])
			k.remove(b) // created and deleted since the checkpoint
			k.update(k.ids[5], "+1 555 0104")
			k.update(k.ids[5], "+1 555 0105") // twice: once, with the last value
			k.touch(k.ids[6])
			k.remove(k.ids[6]) // changed, then deleted
		}},
		{name: "deletions dropped without IncludeDeleted", noDelete: true, change: func(k *tracker) {
			k.update(k.ids[0], "+1 555 0110")
			k.remove(k.ids[1])
		}},
		{name: "more changes than a page", pageSize: 4, minPages: 4, ties: true, change: func(k *tracker) {
			for i := range 10 {
				k.touch(k.ids[i])
			}
			for i := 10; i < 13; i++ {
				k.remove(k.ids[i])
			}
			k.create()
			k.create()
		}},
		{name: "writes between pages of a delta read go to the next", pageSize: 3, minPages: 3, change: func(k *tracker) {
			for i := range 8 {
				k.touch(k.ids[i])
			}
		}, duringDelta: func(k *tracker, page int) {
			k.update(k.ids[page-1], fmt.Sprintf("+1 555 03%02d", page)) // already read in this delta
			// Not read yet: its latest write is past this read's end, so
			// only the next read reports it.
			k.update(k.ids[6], fmt.Sprintf("+1 555 04%02d", page))
			delete(k.prev.changed, k.ids[6])
			k.remove(k.ids[10+page]) // unchanged so far
			k.create()
		}},
		{name: "writes between pages of the initial read", pageSize: 6, during: func(k *tracker, page int) {
			k.remove(k.ids[page*6-1])                                     // already read
			k.update(k.ids[page*6-2], fmt.Sprintf("+1 555 02%02d", page)) // already read
			k.touch(k.ids[page*6])                                        // not read yet
			if page == 1 {
				k.create() // read at the end of this read, and again in the delta
			}
		}},
		{name: "within the default retention", advance: 29 * 24 * time.Hour, change: func(k *tracker) { k.touch(k.ids[0]) }},
		{name: "past the default retention of 30 days", advance: 31 * 24 * time.Hour, wantErr: true, change: func(k *tracker) { k.touch(k.ids[0]) }},
		{name: "no expiry with a negative retention", retention: -1, advance: 400 * 24 * time.Hour, change: func(k *tracker) { k.remove(k.ids[0]) }},
		{name: "past a short retention", retention: time.Hour, advance: 2 * time.Hour, wantErr: true},
		{name: "a version the table never reached", wantErr: true, mutate: func(t *testing.T, cp string) string { return setVersion(t, cp, "999999") }},
		{name: "a malformed delta token", wantErr: true, mutate: func(t *testing.T, cp string) string { return setVersion(t, cp, "x") }},
		{name: "a checkpoint of another table", wantErr: true, mutate: func(_ *testing.T, cp string) string { return strings.Replace(cp, "accounts?", "contacts?", 1) }},
		{name: "not a delta link", wantErr: true, mutate: func(_ *testing.T, cp string) string { return "accounts?$select=name" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, fake.Options{Options: fakekit.Options{Records: records}, SameSecondWrites: true, DeltaRetention: tt.retention})
			k := &tracker{t: t, f: f, cs: newChangeSet(), ids: f.srv.IDs("accounts")}
			req := providers.ReadRequest{Object: "accounts", Fields: fields, PageSize: tt.pageSize, IncludeDeleted: true}
			var during func(int)
			if tt.during != nil {
				during = func(page int) { tt.during(k, page) }
			}
			initial, _, cp, err := trackRead(ctx, f.client, req, during)
			if err != nil {
				t.Fatalf("initial tracking read: %v", err)
			}
			seen := map[string]int{}
			for _, r := range initial {
				if r.Deleted {
					t.Errorf("initial read returned deletion %s", r.ID)
				}
				seen[r.ID]++
			}
			for _, id := range k.ids {
				if seen[id] != 1 {
					t.Errorf("initial read returned %s %d times, want once", id, seen[id])
				}
			}
			if cp == "" {
				t.Fatal("initial tracking read returned no checkpoint")
			}
			if tt.change != nil {
				tt.change(k)
			}
			f.srv.Advance(tt.advance)
			if tt.mutate != nil {
				cp = tt.mutate(t, cp)
			}

			// Writes made while the delta read pages belong to the next.
			cs := k.cs
			k.prev, k.cs = cs, newChangeSet()
			var duringDelta func(int)
			if tt.duringDelta != nil {
				duringDelta = func(page int) { tt.duringDelta(k, page) }
			}
			req = providers.ReadRequest{Object: "accounts", Fields: fields, PageSize: tt.pageSize, IncludeDeleted: !tt.noDelete, Checkpoint: cp}
			delta, pages, next, err := trackRead(ctx, f.client, req, duringDelta)
			if tt.wantErr {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != providers.KindInvalid || pe.Code != CodeCheckpointExpired || !CheckpointExpired(err) {
					t.Fatalf("read with checkpoint %q: err = %v, want KindInvalid %s", cp, err, CodeCheckpointExpired)
				}
				// Start again: a tracking read without a checkpoint.
				req.Checkpoint, req.IncludeDeleted = "", true
				all, _, again, err := trackRead(ctx, f.client, req, nil)
				if err != nil || again == "" || len(all) != len(f.srv.IDs("accounts")) {
					t.Fatalf("restart: %d records, checkpoint %q, err %v; want %d and a checkpoint", len(all), again, err, len(f.srv.IDs("accounts")))
				}
				return
			}
			if err != nil {
				t.Fatalf("read with checkpoint: %v", err)
			}
			if pages < tt.minPages {
				t.Errorf("delta read took %d pages, want at least %d", pages, tt.minPages)
			}
			for _, d := range sameChanges(delta, cs, !tt.noDelete) {
				t.Errorf("delta read: %s", d)
			}
			if tt.ties {
				stamps := map[time.Time]int{}
				tied := 0
				for _, r := range delta {
					if !r.Deleted {
						if stamps[r.ModifiedAt]++; stamps[r.ModifiedAt] == 2 {
							tied++
						}
					}
				}
				if tied == 0 {
					t.Error("no two changed rows share a modifiedon; the case does not test ties")
				}
			}
			if next == "" || (len(delta) > 0 && next == cp) {
				t.Fatalf("delta read returned checkpoint %q, want a new one (was %q)", next, cp)
			}

			req.Checkpoint, req.Cursor = next, ""
			again, _, last, err := trackRead(ctx, f.client, req, nil)
			if err != nil || last == "" {
				t.Fatalf("read with the new checkpoint: checkpoint %q, err %v", last, err)
			}
			for _, d := range sameChanges(again, k.cs, !tt.noDelete) {
				t.Errorf("read with the new checkpoint (want only the writes made while the delta read paged): %s", d)
			}
		})
	}
}

// TestCheckpointAfterApproximateDelta: a deletions-since-a-time read (no
// checkpoint, the made-up token) still ends with a real checkpoint, from
// which the next read is exact; Until that drops a row withholds it.
func TestCheckpointAfterApproximateDelta(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 10}})
	ids := f.srv.IDs("accounts")
	t0 := f.srv.Now()
	f.srv.Advance(time.Second)
	f.srv.Delete("accounts", ids[0])
	f.srv.Touch("accounts", ids[1])
	mid := f.srv.Now()
	f.srv.Touch("accounts", ids[2])

	recs, _, cp, err := trackRead(ctx, f.client, providers.ReadRequest{Object: "accounts", Since: t0, IncludeDeleted: true}, nil)
	if err != nil || len(recs) != 3 || !recs[0].Deleted || recs[0].ID != ids[0] || cp == "" {
		t.Fatalf("since read: %+v, checkpoint %q, err %v", recs, cp, err)
	}
	if _, _, withheld, err := trackRead(ctx, f.client, providers.ReadRequest{Object: "accounts", Since: t0, Until: mid, IncludeDeleted: true}, nil); err != nil || withheld != "" {
		t.Errorf("Until dropped a row, yet the read returned checkpoint %q (err %v)", withheld, err)
	}

	f.srv.Delete("accounts", ids[3])
	recs, _, _, err = trackRead(ctx, f.client, providers.ReadRequest{Object: "accounts", IncludeDeleted: true, Checkpoint: cp}, nil)
	if err != nil || len(recs) != 1 || recs[0].ID != ids[3] || !recs[0].Deleted {
		t.Errorf("read with the checkpoint: %+v, err %v; want only the deletion of %s", recs, err, ids[3])
	}
}

// TestCheckpointErrors classifies Dataverse's answers to a delta link it
// no longer honours, and leaves its other errors alone.
func TestCheckpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		expired bool
		code    string
	}{
		{"expired version stamp", 400, `{"error":{"code":"0x80044352","message":"Version stamp associated with the client has expired. Please perform a full sync."}}`, true, CodeCheckpointExpired},
		{"invalid delta token", 400, `{"error":{"code":"0x80060888","message":"The delta token '1!x' is not valid."}}`, true, CodeCheckpointExpired},
		{"gone", 410, ``, true, CodeCheckpointExpired},
		{"bad column is not a checkpoint problem", 400, `{"error":{"code":"0x80060888","message":"Could not find a property named 'x' on type 'Microsoft.Dynamics.CRM.account'."}}`, false, "0x80060888"},
		{"throttled is not a checkpoint problem", 429, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`, false, "0x80072322"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			queries := make(chan string, 1)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				queries <- r.URL.RawQuery
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			c, err := New(providers.Config{HTTPClient: ts.Client(), BaseURL: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			cp := "https://contoso.crm.dynamics.com/api/data/v9.2/accounts?$select=name,accountid&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44"
			_, err = c.Read(t.Context(), providers.ReadRequest{Object: "accounts", Fields: []string{"name", "telephone1"}, Checkpoint: cp})
			var pe *providers.Error
			if !errors.As(err, &pe) || CheckpointExpired(err) != tt.expired || pe.Code != tt.code || pe.Status != tt.status {
				t.Errorf("err = %v; want expired %v, code %s, status %d", err, tt.expired, tt.code, tt.status)
			}
			got := <-queries
			if !strings.Contains(got, "$deltatoken=919042%2108%2F22%2F2017%2008%3A10%3A44") || !strings.Contains(got, "$select=name,telephone1,accountid,modifiedon") {
				t.Errorf("request query %q: want the checkpoint's token with the read's own $select", got)
			}
		})
	}
}
