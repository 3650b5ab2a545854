package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// The write state's expiries are checked against the store's clock, not a
// "now" argument: the tests put them an hour or more from the wall clock,
// well beyond clockSlack.
const (
	live    = 2 * time.Hour
	expired = -2 * time.Hour
)

// idem returns an idempotency record that expires in expiry from now.
func idem(projectID, key, hash string, expiry time.Duration) *runtime.IdempotencyRecord {
	return &runtime.IdempotencyRecord{ProjectID: projectID, Key: key, RequestHash: hash, ExpireTime: time.Now().Add(expiry)}
}

// begin calls BeginIdempotent and fails the test unless it recorded rec.
func (f *fixture) begin(t *testing.T, rec *runtime.IdempotencyRecord) {
	t.Helper()
	got, err := f.s.BeginIdempotent(f.ctx, rec)
	noErr(t, "BeginIdempotent("+rec.Key+")", err)
	if got != nil {
		t.Fatalf("BeginIdempotent(%s) returned the existing record %+v, want it to record the request", rec.Key, got)
	}
}

// existing calls BeginIdempotent and returns the existing record, failing
// the test if there was none.
func (f *fixture) existing(t *testing.T, projectID, key string) *runtime.IdempotencyRecord {
	t.Helper()
	got, err := f.s.BeginIdempotent(f.ctx, idem(projectID, key, "probe", live))
	noErr(t, "BeginIdempotent("+key+")", err)
	if got == nil {
		t.Fatalf("BeginIdempotent(%s) recorded the probe, want the existing record", key)
	}
	return got
}

// echoes returns n echoes r<first>..., fingerprints fp-<tag>-<i>.
func echoes(first, n int, tag string) []runtime.Echo {
	out := make([]runtime.Echo, n)
	for i := range out {
		out[i] = runtime.Echo{RecordID: fmt.Sprintf("r%d", first+i), Fingerprint: fmt.Sprintf("fp-%s-%d", tag, first+i)}
	}
	return out
}

// echoMap is es as TakeEchoes returns them.
func echoMap(es ...runtime.Echo) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		m[e.RecordID] = e.Fingerprint
	}
	return m
}

func recordIDs(es []runtime.Echo) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.RecordID
	}
	return ids
}

func (f *fixture) record(t *testing.T, in *runtime.Installation, object string, es []runtime.Echo, expiry time.Duration) {
	t.Helper()
	noErr(t, "RecordEchoes", f.s.RecordEchoes(f.ctx, in.ProjectID, in.ID, object, es, time.Now().Add(expiry)))
}

func (f *fixture) take(t *testing.T, in *runtime.Installation, object string, ids ...string) map[string]string {
	t.Helper()
	got, err := f.s.TakeEchoes(f.ctx, in.ProjectID, in.ID, object, ids)
	noErr(t, "TakeEchoes", err)
	return got
}

// sameEchoes compares TakeEchoes results, nil and empty alike.
func sameEchoes(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	same(t, what, want, got)
}

var writeStateTests = []test{
	{"BeginFinish", func(t *testing.T, f *fixture) {
		rec := idem(f.a.ID, "key-1", "hash-1", live)
		rec.OperationID = "op-pending"
		before := time.Now()
		f.begin(t, rec)
		after := time.Now()
		wantTime(t, "CreateTime", rec.CreateTime, before, after)
		if rec.Status != 0 || rec.ExpireTime.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("recorded %+v, want Status 0 and a millisecond ExpireTime", rec)
		}

		// While the first request runs, a retry finds it in flight, with
		// the first request's hash whatever its own.
		same(t, "the record in flight", rec, f.existing(t, f.a.ID, "key-1"))

		op := runtime.NewID()
		noErr(t, "FinishIdempotent", f.s.FinishIdempotent(f.ctx, f.a.ID, "key-1", 201, []byte(`{"operationId":"x"}`), op))
		want := *rec
		want.Status, want.Response, want.OperationID = 201, []byte(`{"operationId":"x"}`), op
		same(t, "the finished record", &want, f.existing(t, f.a.ID, "key-1"))
		same(t, "the finished record, asked again", &want, f.existing(t, f.a.ID, "key-1"))

		wantCode(t, "FinishIdempotent(unknown key)", f.s.FinishIdempotent(f.ctx, f.a.ID, "key-2", 200, []byte(`{}`), ""), runtime.ENOTFOUND)
		f.begin(t, idem(f.a.ID, "key-2", "hash-1", live)) // keys are independent

		for _, tc := range []struct {
			name   string
			change func(*runtime.IdempotencyRecord)
		}{
			{"no project", func(r *runtime.IdempotencyRecord) { r.ProjectID = "" }},
			{"no key", func(r *runtime.IdempotencyRecord) { r.Key = "" }},
			{"no hash", func(r *runtime.IdempotencyRecord) { r.RequestHash = "" }},
			{"no expiry", func(r *runtime.IdempotencyRecord) { r.ExpireTime = time.Time{} }},
		} {
			r := idem(f.a.ID, "key-3", "hash-3", live)
			tc.change(r)
			_, err := f.s.BeginIdempotent(f.ctx, r)
			wantCode(t, "BeginIdempotent("+tc.name+")", err, runtime.EINVALID)
		}
		f.begin(t, idem(f.a.ID, "key-3", "hash-3", live)) // the invalid calls recorded nothing
	}},
	{"Abandon", func(t *testing.T, f *fixture) {
		f.begin(t, idem(f.a.ID, "key-1", "hash-1", live))
		noErr(t, "AbandonIdempotent", f.s.AbandonIdempotent(f.ctx, f.a.ID, "key-1"))
		// The client may retry with the key, even with another body.
		retry := idem(f.a.ID, "key-1", "hash-2", live)
		f.begin(t, retry)
		same(t, "the retry's record", retry, f.existing(t, f.a.ID, "key-1"))

		// A finished record is not abandoned: its answer is what a retry gets.
		noErr(t, "FinishIdempotent", f.s.FinishIdempotent(f.ctx, f.a.ID, "key-1", 200, []byte(`{"ok":true}`), ""))
		noErr(t, "AbandonIdempotent(finished)", f.s.AbandonIdempotent(f.ctx, f.a.ID, "key-1"))
		if got := f.existing(t, f.a.ID, "key-1"); got.Status != 200 || got.RequestHash != "hash-2" {
			t.Fatalf("finished record after AbandonIdempotent = %+v", got)
		}
	}},
	{"Expiry", func(t *testing.T, f *fixture) {
		// An expired record in flight is replaced...
		f.begin(t, idem(f.a.ID, "key-1", "hash-1", expired))
		fresh := idem(f.a.ID, "key-1", "hash-2", live)
		f.begin(t, fresh)
		same(t, "the replacement", fresh, f.existing(t, f.a.ID, "key-1"))

		// ... and so is an expired finished one, answer and all.
		old := idem(f.a.ID, "key-2", "hash-1", expired)
		f.begin(t, old)
		noErr(t, "FinishIdempotent", f.s.FinishIdempotent(f.ctx, f.a.ID, "key-2", 201, []byte(`{"old":true}`), runtime.NewID()))
		fresh = idem(f.a.ID, "key-2", "hash-2", live)
		f.begin(t, fresh)
		got := f.existing(t, f.a.ID, "key-2")
		if got.Status != 0 || got.Response != nil || got.OperationID != "" || got.RequestHash != "hash-2" {
			t.Fatalf("the replacement of a finished record = %+v, want a new record in flight", got)
		}
		same(t, "the replacement", fresh, got)

		// Once deleted, an expired record cannot be finished.
		f.begin(t, idem(f.a.ID, "key-3", "hash-1", expired))
		_, err := f.s.DeleteExpiredWriteState(f.ctx, time.Now())
		noErr(t, "DeleteExpiredWriteState", err)
		wantCode(t, "FinishIdempotent after the record expired and was deleted",
			f.s.FinishIdempotent(f.ctx, f.a.ID, "key-3", 200, []byte(`{}`), ""), runtime.ENOTFOUND)
	}},
	{"ConcurrentBegin", func(t *testing.T, f *fixture) {
		recs := make([]*runtime.IdempotencyRecord, writers)
		got := make([]*runtime.IdempotencyRecord, writers)
		errs := parallel(writers, func(i int) error {
			project := f.a.ID
			if i%4 == 3 {
				project = f.b.ID // the same key in another project is another record
			}
			recs[i] = idem(project, "key-1", fmt.Sprintf("hash-%02d", i), live)
			var err error
			got[i], err = f.s.BeginIdempotent(f.ctx, recs[i])
			return err
		})
		winners := map[string]string{} // project -> winning hash
		for i, err := range errs {
			noErr(t, fmt.Sprintf("BeginIdempotent %d", i), err)
			if got[i] == nil {
				if w, ok := winners[recs[i].ProjectID]; ok {
					t.Fatalf("BeginIdempotent %d recorded %s after %s already had", i, recs[i].RequestHash, w)
				}
				winners[recs[i].ProjectID] = recs[i].RequestHash
			}
		}
		if len(winners) != 2 {
			t.Fatalf("%d projects got a winner (%v), want both", len(winners), winners)
		}
		for i, g := range got {
			if g != nil && (g.RequestHash != winners[recs[i].ProjectID] || g.ProjectID != recs[i].ProjectID || g.Status != 0) {
				t.Errorf("BeginIdempotent %d returned %+v, want the in-flight record of %s", i, g, winners[recs[i].ProjectID])
			}
		}
	}},
	{"Echoes", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		batch := echoes(0, 3000, "a")
		f.record(t, in, "account", batch, live)
		// An echo suppresses one delivery: taken once, then gone.
		sameEchoes(t, "TakeEchoes(r0, r1, unknown)", echoMap(batch[0], batch[1]), f.take(t, in, "account", "r0", "r1", "unknown"))
		sameEchoes(t, "TakeEchoes(r0, r1) again", nil, f.take(t, in, "account", "r0", "r1"))
		sameEchoes(t, "TakeEchoes(the rest of the batch)", echoMap(batch[2:]...), f.take(t, in, "account", recordIDs(batch)...))
		sameEchoes(t, "TakeEchoes(the whole batch) again", nil, f.take(t, in, "account", recordIDs(batch)...))

		// A newer write of a record replaces its echo.
		f.record(t, in, "account", echoes(0, 2, "old"), live)
		f.record(t, in, "account", echoes(1, 2, "new"), live)
		sameEchoes(t, "TakeEchoes after a replacement", echoMap(runtime.Echo{RecordID: "r0", Fingerprint: "fp-old-0"},
			runtime.Echo{RecordID: "r1", Fingerprint: "fp-new-1"}, runtime.Echo{RecordID: "r2", Fingerprint: "fp-new-2"}),
			f.take(t, in, "account", "r0", "r1", "r2"))

		// Echoes belong to an installation and an object.
		in2 := f.install(t, f.a.ID)
		f.record(t, in, "contact", echoes(0, 1, "contact"), live)
		f.record(t, in2, "account", echoes(0, 1, "in2"), live)
		sameEchoes(t, "TakeEchoes(account) of contact's record", nil, f.take(t, in, "account", "r0"))
		sameEchoes(t, "TakeEchoes(contact)", echoMap(echoes(0, 1, "contact")...), f.take(t, in, "contact", "r0"))
		sameEchoes(t, "TakeEchoes of the other installation", echoMap(echoes(0, 1, "in2")...), f.take(t, in2, "account", "r0"))

		noErr(t, "RecordEchoes(none)", f.s.RecordEchoes(f.ctx, f.a.ID, in.ID, "account", nil, time.Now().Add(live)))
		sameEchoes(t, "TakeEchoes(none)", nil, f.take(t, in, "account"))
	}},
	{"EchoExpiry", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.record(t, in, "account", echoes(0, 2, "dead"), expired)
		f.record(t, in, "account", echoes(2, 2, "live"), live)
		sameEchoes(t, "TakeEchoes(expired and live)", echoMap(echoes(2, 2, "live")...), f.take(t, in, "account", "r0", "r1", "r2", "r3"))
		// A record written again gets the new expiry with its new echo.
		f.record(t, in, "account", echoes(4, 1, "dead"), expired)
		f.record(t, in, "account", echoes(4, 1, "again"), live)
		sameEchoes(t, "TakeEchoes after an expired echo was replaced", echoMap(echoes(4, 1, "again")...), f.take(t, in, "account", "r4"))
	}},
	{"DeleteExpired", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		inB := f.install(t, f.b.ID)
		f.begin(t, idem(f.a.ID, "dead-1", "h", expired))
		f.begin(t, idem(f.a.ID, "dead-2", "h", expired))
		noErr(t, "FinishIdempotent", f.s.FinishIdempotent(f.ctx, f.a.ID, "dead-2", 200, []byte(`{}`), ""))
		f.begin(t, idem(f.b.ID, "dead-1", "h", expired))
		liveRec := idem(f.a.ID, "live", "h", live)
		f.begin(t, liveRec)
		f.record(t, in, "account", echoes(0, 3, "dead"), expired)
		f.record(t, in, "account", echoes(3, 2, "live"), live)
		f.record(t, inB, "contact", echoes(0, 1, "dead"), expired)

		n, err := f.s.DeleteExpiredWriteState(f.ctx, time.Now())
		noErr(t, "DeleteExpiredWriteState", err)
		same(t, "deleted (3 records, 4 echoes)", 7, n)
		n, err = f.s.DeleteExpiredWriteState(f.ctx, time.Now())
		noErr(t, "DeleteExpiredWriteState again", err)
		same(t, "deleted again", 0, n)

		same(t, "the live record", liveRec, f.existing(t, f.a.ID, "live"))
		sameEchoes(t, "the live echoes", echoMap(echoes(3, 2, "live")...), f.take(t, in, "account", "r0", "r1", "r2", "r3", "r4"))
		for _, k := range []string{"dead-1", "dead-2"} {
			wantCode(t, "FinishIdempotent("+k+") after the delete", f.s.FinishIdempotent(f.ctx, f.a.ID, k, 200, nil, ""), runtime.ENOTFOUND)
		}
		// A later cut-off takes what was live.
		n, err = f.s.DeleteExpiredWriteState(f.ctx, time.Now().Add(2*live))
		noErr(t, "DeleteExpiredWriteState(later)", err)
		same(t, "deleted at a later cut-off (the live record; its echoes were taken)", 1, n)
	}},
	{"DeleteInstallation", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		keep := f.install(t, f.a.ID)
		f.record(t, in, "account", echoes(0, 5, "gone"), live)
		f.record(t, keep, "account", echoes(0, 5, "kept"), live)
		noErr(t, "DeleteInstallation", f.s.DeleteInstallation(f.ctx, f.a.ID, in.ID))
		sameEchoes(t, "TakeEchoes of a deleted installation", nil, f.take(t, in, "account", recordIDs(echoes(0, 5, ""))...))
		n, err := f.s.DeleteExpiredWriteState(f.ctx, time.Now().Add(2*live))
		noErr(t, "DeleteExpiredWriteState", err)
		same(t, "echoes left (the other installation's)", 5, n)
	}},
	{"TenantIsolation", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.install(t, f.b.ID)
		b := f.b.ID
		finished := idem(f.a.ID, "key-done", "hash-a", live)
		f.begin(t, finished)
		noErr(t, "FinishIdempotent", f.s.FinishIdempotent(f.ctx, f.a.ID, "key-done", 201, []byte(`{"a":1}`), "op-a"))
		finished.Status, finished.Response, finished.OperationID = 201, []byte(`{"a":1}`), "op-a"
		pending := idem(f.a.ID, "key-pending", "hash-a", live)
		f.begin(t, pending)
		f.record(t, in, "account", echoes(0, 3, "a"), live)

		// B's calls with A's keys and installation neither see nor touch A's state.
		f.begin(t, idem(b, "key-done", "hash-b", live))
		wantCode(t, "project B: FinishIdempotent of A's key", f.s.FinishIdempotent(f.ctx, b, "key-pending", 500, []byte(`{"b":1}`), ""), runtime.ENOTFOUND)
		noErr(t, "project B: AbandonIdempotent of A's key", f.s.AbandonIdempotent(f.ctx, b, "key-pending"))
		wantCode(t, "project B: RecordEchoes on A's installation",
			f.s.RecordEchoes(f.ctx, b, in.ID, "account", echoes(0, 3, "b"), time.Now().Add(live)), runtime.ENOTFOUND)
		got, err := f.s.TakeEchoes(f.ctx, b, in.ID, "account", []string{"r0", "r1", "r2"})
		noErr(t, "project B: TakeEchoes on A's installation", err)
		sameEchoes(t, "project B: TakeEchoes on A's installation", nil, got)
		noErr(t, "project B: FinishIdempotent of its own key", f.s.FinishIdempotent(f.ctx, b, "key-done", 500, []byte(`{"b":1}`), ""))

		same(t, "A's finished record", finished, f.existing(t, f.a.ID, "key-done"))
		same(t, "A's pending record", pending, f.existing(t, f.a.ID, "key-pending"))
		sameEchoes(t, "A's echoes", echoMap(echoes(0, 3, "a")...), f.take(t, in, "account", "r0", "r1", "r2"))
		if got := f.existing(t, b, "key-done"); got.RequestHash != "hash-b" || got.Status != 500 {
			t.Fatalf("B's record = %+v", got)
		}
	}},
}
