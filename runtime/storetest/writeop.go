package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// newWriteOp returns a write operation of in on the object, not yet
// created. Its checkpoint stands for the write request.
func newWriteOp(in *runtime.Installation, object string, runAt time.Time) *runtime.Operation {
	return &runtime.Operation{ProjectID: in.ProjectID, IntegrationID: in.IntegrationID, InstallationID: in.ID,
		ObjectName: object, ActionType: runtime.ActionWrite, RunAt: runAt, Estimated: -1,
		Checkpoint: json.RawMessage(`{"records":[{"fields":{"name":"Acme"}}],"done":0}`)}
}

// writeOp creates a write operation (not exclusive).
func (f *fixture) writeOp(t *testing.T, in *runtime.Installation, object string, runAt time.Time) *runtime.Operation {
	t.Helper()
	op := newWriteOp(in, object, runAt)
	if err := f.s.CreateOperation(f.ctx, op, false); err != nil {
		t.Fatalf("CreateOperation(write %s): %v", object, err)
	}
	return op
}

var writeOperationTests = []test{
	{"CreateAndGet", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		op := newWriteOp(in, "account", t0)
		noErr(t, "CreateOperation(write)", f.s.CreateOperation(f.ctx, op, false))
		if op.ID == "" || op.ActionType != runtime.ActionWrite || op.ReadType != "" || op.Status != runtime.OperationQueued ||
			!op.Since.IsZero() || !op.Until.IsZero() || string(op.Checkpoint) != `{"records":[{"fields":{"name":"Acme"}}],"done":0}` {
			t.Fatalf("CreateOperation(write) returned %+v", op)
		}
		same(t, "GetOperation", op, f.getOp(t, op))
		got := f.claimID(t, "claim", "w1", t0, time.Minute, op)
		if got.ActionType != runtime.ActionWrite || got.Status != runtime.OperationInProgress {
			t.Fatalf("claimed write = %+v", got)
		}
		noErr(t, "CommitPage", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(got, "w1", t0.Add(2*time.Minute)),
			Checkpoint: json.RawMessage(`{"done":1}`), Processed: 1, Estimated: 1}))
		noErr(t, "EndOperation", f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(got, "w1", time.Time{}),
			Status: runtime.OperationSuccess, Result: "1 record written"}))
		if got := f.getOp(t, op); got.Status != runtime.OperationSuccess || string(got.Checkpoint) != `{"done":1}` || got.Processed != 1 {
			t.Fatalf("finished write = %+v", got)
		}
	}},
	{"LanesPerActionType", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		backfill := f.op(t, in, "account", runtime.ReadBackfill, t0.Add(-time.Minute))
		trig := f.op(t, in, "account", runtime.ReadTriggered, t0.Add(-30*time.Second))
		w1 := f.writeOp(t, in, "account", t0.Add(-20*time.Second))
		w2 := f.writeOp(t, in, "account", t0.Add(-10*time.Second))

		f.claimID(t, "the backfill", "r1", t0, time.Hour, backfill)
		// A write never waits for a long read of its object.
		got := f.claimID(t, "a write beside the backfill's live lease", "w1", t0, time.Hour, w1)
		// But two reads, or two writes, of one object never run at once.
		f.noClaim(t, "the second read and the second write, each behind its lane's live lease", t0)
		f.end(t, got, "w1", runtime.OperationSuccess)
		got = f.claimID(t, "the second write after the first ended", "w2", t0, time.Hour, w2)
		f.end(t, backfill, "r1", runtime.OperationSuccess)
		// Nor does a read wait for a write.
		f.claimID(t, "the triggered read beside the second write's live lease", "r2", t0, time.Hour, trig)
		f.end(t, got, "w2", runtime.OperationSuccess)

		// A write whose worker died is resumed past its expired lease,
		// whatever reads hold.
		w3 := f.writeOp(t, in, "account", t0)
		f.claimID(t, "a third write", "w3", t0, time.Minute, w3)
		w4 := f.writeOp(t, in, "account", t0)
		f.noClaim(t, "a fourth write behind the third's live lease", t0.Add(30*time.Second))
		f.claimID(t, "the third write again after its lease expired", "w4", t0.Add(2*time.Minute), time.Minute, w3)
		f.noClaim(t, "the fourth write behind the resumed third", t0.Add(2*time.Minute))
		f.end(t, w3, "w4", runtime.OperationFailure)
		f.claimID(t, "the fourth write", "w4", t0.Add(2*time.Minute), time.Minute, w4)
	}},
	{"PausedReadStateHoldsReadsOnly", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.sync(t, in, runtime.ReadStateSpec{ObjectName: "account"})
		noErr(t, "SetReadsPaused", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, nil, true, "bad credentials"))
		f.op(t, in, "account", runtime.ReadScheduled, t0.Add(-time.Minute))
		w := f.writeOp(t, in, "account", t0)
		f.claimID(t, "the write of a paused object", "w1", t0, time.Minute, w)
		f.noClaim(t, "the scheduled read of a paused object", t0)
		f.claimID(t, "the write again after its lease expired, still paused", "w2", t0.Add(time.Hour), time.Minute, w)
	}},
	{"ExclusivePerActionType", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		later := t0.Add(time.Hour) // the reads stay out of the claims below
		w := newWriteOp(in, "account", t0)
		noErr(t, "CreateOperation(write, exclusive)", f.s.CreateOperation(f.ctx, w, true))
		wantCode(t, "CreateOperation(write, exclusive) behind a queued write",
			f.s.CreateOperation(f.ctx, newWriteOp(in, "account", t0), true), runtime.ECONFLICT)
		noErr(t, "CreateOperation(read, exclusive) beside a queued write",
			f.s.CreateOperation(f.ctx, newOp(in, "account", runtime.ReadScheduled, later), true))
		wantCode(t, "CreateOperation(read, exclusive) behind a queued read",
			f.s.CreateOperation(f.ctx, newOp(in, "account", runtime.ReadScheduled, later), true), runtime.ECONFLICT)
		noErr(t, "CreateOperation(write, exclusive) of another object", f.s.CreateOperation(f.ctx, newWriteOp(in, "contact", later), true))

		got := f.claimID(t, "claim the write", "w1", t0, time.Hour, w)
		wantCode(t, "CreateOperation(write, exclusive) behind a write in progress",
			f.s.CreateOperation(f.ctx, newWriteOp(in, "account", t0), true), runtime.ECONFLICT)
		f.end(t, got, "w1", runtime.OperationSuccess)
		noErr(t, "CreateOperation(write, exclusive) after the write ended, beside a queued read",
			f.s.CreateOperation(f.ctx, newWriteOp(in, "account", t0), true))
	}},
	{"ScheduleReadIgnoresWrites", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.sync(t, in, runtime.ReadStateSpec{ObjectName: "account", Schedule: "*/5 * * * *", NextRun: t0},
			runtime.ReadStateSpec{ObjectName: "contact", Schedule: "*/5 * * * *", NextRun: t0})
		queued := f.writeOp(t, in, "account", t0.Add(time.Hour))
		running := f.writeOp(t, in, "contact", t0)
		f.claimID(t, "claim a write", "w1", t0, time.Hour, running)
		op := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled, Estimated: -1, RunAt: t0}
		created, err := f.s.ScheduleRead(f.ctx, f.a.ID, in.ID, "account", t0.Add(5*time.Minute), op)
		noErr(t, "ScheduleRead beside a queued write", err)
		if !created || op.ID == "" {
			t.Fatalf("ScheduleRead beside a queued write: created %v, operation %+v", created, op)
		}
		op2 := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled, Estimated: -1, RunAt: t0}
		created, err = f.s.ScheduleRead(f.ctx, f.a.ID, in.ID, "contact", t0.Add(5*time.Minute), op2)
		noErr(t, "ScheduleRead beside a write in progress", err)
		if !created {
			t.Fatal("ScheduleRead beside a write in progress created nothing")
		}
		if got := f.getOp(t, queued); got.Status != runtime.OperationQueued {
			t.Fatalf("the queued write after ScheduleRead = %+v", got)
		}
	}},
	{"ListByActionType", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		in2 := f.install(t, f.a.ID)
		var reads, writes []*runtime.Operation // newest first
		for i := range 6 {
			at := t0.Add(time.Duration(i) * time.Second)
			target := in
			if i%3 == 2 {
				target = in2
			}
			if i%2 == 0 {
				reads = append([]*runtime.Operation{f.op(t, target, "account", runtime.ReadTriggered, at)}, reads...)
			} else {
				writes = append([]*runtime.Operation{f.writeOp(t, target, "account", at)}, writes...)
			}
		}
		f.writeOp(t, f.install(t, f.b.ID), "account", t0)
		list := func(filter runtime.OperationFilter) []*runtime.Operation {
			t.Helper()
			ops, err := f.s.ListOperations(f.ctx, f.a.ID, filter)
			noErr(t, "ListOperations", err)
			return ops
		}
		same(t, "ListOperations(writes)", writes, list(runtime.OperationFilter{ActionType: runtime.ActionWrite}))
		same(t, "ListOperations(reads)", reads, list(runtime.OperationFilter{ActionType: runtime.ActionRead}))
		var inWrites []*runtime.Operation
		for _, op := range writes {
			if op.InstallationID == in.ID {
				inWrites = append(inWrites, op)
			}
		}
		same(t, "ListOperations(installation, writes)", inWrites,
			list(runtime.OperationFilter{InstallationID: in.ID, ObjectName: "account", ActionType: runtime.ActionWrite}))
		same(t, "ListOperations(all)", 6, len(list(runtime.OperationFilter{})))
		same(t, "ListOperations(queued writes)", writes, list(runtime.OperationFilter{ActionType: runtime.ActionWrite, Status: runtime.OperationQueued}))
		same(t, "ListOperations(successful writes)", 0, len(list(runtime.OperationFilter{ActionType: runtime.ActionWrite, Status: runtime.OperationSuccess})))
	}},
	{"ConcurrentClaimsReadsAndWrites", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		for i := range 5 {
			at := t0.Add(time.Duration(i) * time.Millisecond)
			f.op(t, in, "account", runtime.ReadTriggered, at)
			f.writeOp(t, in, "account", at)
		}
		claimed := make([]*runtime.Operation, writers)
		errs := parallel(writers, func(w int) error {
			op, err := f.s.ClaimOperation(f.ctx, fmt.Sprintf("worker-%02d", w), t0.Add(time.Second), time.Hour)
			claimed[w] = op
			return err
		})
		byAction := map[string]int{}
		for w, err := range errs {
			switch {
			case err == nil:
				byAction[claimed[w].ActionType]++
			case runtime.ErrorCode(err) != runtime.ENOTFOUND:
				t.Errorf("worker %d: %v", w, err)
			}
		}
		same(t, "operations claimed at once, by action type", map[string]int{runtime.ActionRead: 1, runtime.ActionWrite: 1}, byAction)
	}},
}
