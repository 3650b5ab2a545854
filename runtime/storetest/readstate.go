package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

func (f *fixture) readState(t *testing.T, in *runtime.Installation, object string) *runtime.ReadState {
	t.Helper()
	st, err := f.s.GetReadState(f.ctx, in.ProjectID, in.ID, object)
	noErr(t, "GetReadState("+object+")", err)
	return st
}

func (f *fixture) sync(t *testing.T, in *runtime.Installation, specs ...runtime.ReadStateSpec) []string {
	t.Helper()
	created, err := f.s.SyncReadStates(f.ctx, in.ProjectID, in.ID, specs)
	noErr(t, "SyncReadStates", err)
	return created
}

// objectsOf returns the object names of states, in order.
func objectsOf(sts []*runtime.ReadState) []string {
	var out []string
	for _, st := range sts {
		out = append(out, st.ObjectName)
	}
	return out
}

var readStateTests = []test{
	{"SyncCreateChangeRemove", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		next := t0.Add(15 * time.Minute)
		backfill := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1, RunAt: t0}
		before := time.Now()
		created := f.sync(t, in,
			runtime.ReadStateSpec{ObjectName: "account", Schedule: "*/15 * * * *", NextRun: next, Backfill: backfill},
			runtime.ReadStateSpec{ObjectName: "contact"})
		after := time.Now()
		slices.Sort(created)
		same(t, "created states", []string{"account", "contact"}, created)

		st := f.readState(t, in, "account")
		if st.ProjectID != f.a.ID || st.IntegrationID != in.IntegrationID || st.InstallationID != in.ID || st.Schedule != "*/15 * * * *" ||
			!st.NextRun.Equal(next) || st.Paused || st.BackfillDone || !st.Watermark.IsZero() || st.Sync != nil {
			t.Fatalf("new read state = %+v", st)
		}
		wantTime(t, "CreateTime", st.CreateTime, before, after)
		if c := f.readState(t, in, "contact"); c.Schedule != "" || !c.NextRun.IsZero() {
			t.Fatalf("unscheduled read state = %+v", c)
		}
		list, err := f.s.ListReadStates(f.ctx, f.a.ID, in.ID)
		noErr(t, "ListReadStates", err)
		same(t, "ListReadStates (by object name)", []string{"account", "contact"}, objectsOf(list))
		same(t, "ListReadStates[0]", st, list[0])

		// The backfill was created with the state, in the same transaction,
		// and filled in.
		if backfill.ID == "" || backfill.Status != runtime.OperationQueued || backfill.InstallationID != in.ID ||
			backfill.ObjectName != "account" || backfill.ProjectID != f.a.ID || backfill.IntegrationID != in.IntegrationID {
			t.Fatalf("backfill operation = %+v", backfill)
		}
		same(t, "GetOperation(backfill)", backfill, f.getOp(t, backfill))

		// The same specs again: nothing is created, nothing moves (an
		// unchanged schedule keeps its NextRun).
		again := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}
		created = f.sync(t, in,
			runtime.ReadStateSpec{ObjectName: "account", Schedule: "*/15 * * * *", NextRun: next.Add(time.Hour), Backfill: again},
			runtime.ReadStateSpec{ObjectName: "contact"})
		if len(created) != 0 || again.ID != "" {
			t.Fatalf("a repeated sync created %v (backfill %q)", created, again.ID)
		}
		same(t, "unchanged state", st, f.readState(t, in, "account"))
		ops, err := f.s.ListOperations(f.ctx, f.a.ID, runtime.OperationFilter{InstallationID: in.ID})
		noErr(t, "ListOperations", err)
		same(t, "operations after two syncs", 1, len(ops))

		// The watermark moves (a finished read), then the schedule changes.
		f.claimID(t, "claim the backfill", "w1", t0, time.Minute, backfill)
		mark := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		noErr(t, "EndOperation", f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(backfill, "w1", time.Time{}),
			Status: runtime.OperationSuccess, ReadState: &runtime.ReadStateUpdate{Watermark: mark, Sync: json.RawMessage(`{"t":1}`), BackfillDone: true}}))
		next2 := t0.Add(time.Hour)
		f.sync(t, in,
			runtime.ReadStateSpec{ObjectName: "account", Schedule: "0 * * * *", NextRun: next2},
			runtime.ReadStateSpec{ObjectName: "contact"})
		st = f.readState(t, in, "account")
		if st.Schedule != "0 * * * *" || !st.NextRun.Equal(next2) || !st.Watermark.Equal(mark) || !st.BackfillDone || string(st.Sync) != `{"t":1}` {
			t.Fatalf("state after a schedule change = %+v", st)
		}

		// account disappears from the config: it loses its schedule, keeps the rest.
		created = f.sync(t, in, runtime.ReadStateSpec{ObjectName: "contact"})
		if len(created) != 0 {
			t.Fatalf("sync created %v", created)
		}
		st = f.readState(t, in, "account")
		if st.Schedule != "" || !st.NextRun.IsZero() || !st.Watermark.Equal(mark) || !st.BackfillDone || string(st.Sync) != `{"t":1}` {
			t.Fatalf("state without a spec = %+v, want no schedule, the watermark kept", st)
		}
		due, err := f.s.DueReads(f.ctx, t0.Add(24*time.Hour), 10)
		noErr(t, "DueReads", err)
		if len(due) != 0 {
			t.Fatalf("DueReads returned %v after the schedule was removed", objectsOf(due))
		}
		// And comes back: not created again (no new backfill), the watermark is where it was.
		back := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}
		created = f.sync(t, in,
			runtime.ReadStateSpec{ObjectName: "account", Schedule: "0 * * * *", NextRun: next2, Backfill: back},
			runtime.ReadStateSpec{ObjectName: "contact"})
		if len(created) != 0 || back.ID != "" {
			t.Fatalf("re-enabling an object created %v (backfill %q)", created, back.ID)
		}
		st = f.readState(t, in, "account")
		if st.Schedule != "0 * * * *" || !st.NextRun.Equal(next2) || !st.Watermark.Equal(mark) {
			t.Fatalf("re-enabled state = %+v", st)
		}
		// An empty spec list removes every schedule.
		f.sync(t, in)
		list, err = f.s.ListReadStates(f.ctx, f.a.ID, in.ID)
		noErr(t, "ListReadStates", err)
		for _, st := range list {
			if st.Schedule != "" || !st.NextRun.IsZero() {
				t.Fatalf("state %s keeps its schedule after a sync without specs: %+v", st.ObjectName, st)
			}
		}
	}},
	{"SyncIsAtomic", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		bad := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: "weekly"}
		_, err := f.s.SyncReadStates(f.ctx, f.a.ID, in.ID, []runtime.ReadStateSpec{
			{ObjectName: "account", Backfill: &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}},
			{ObjectName: "contact", Backfill: bad},
		})
		wantCode(t, "SyncReadStates with an invalid backfill", err, runtime.EINVALID)
		list, err := f.s.ListReadStates(f.ctx, f.a.ID, in.ID)
		noErr(t, "ListReadStates", err)
		ops, err := f.s.ListOperations(f.ctx, f.a.ID, runtime.OperationFilter{})
		noErr(t, "ListOperations", err)
		if len(list) != 0 || len(ops) != 0 {
			t.Fatalf("a failed sync left %d states and %d operations", len(list), len(ops))
		}
		_, err = f.s.SyncReadStates(f.ctx, f.a.ID, in.ID, []runtime.ReadStateSpec{{ObjectName: "account"}, {ObjectName: "account"}})
		wantCode(t, "SyncReadStates naming an object twice", err, runtime.EINVALID)
		_, err = f.s.SyncReadStates(f.ctx, f.a.ID, runtime.NewID(), []runtime.ReadStateSpec{{ObjectName: "account"}})
		wantCode(t, "SyncReadStates(unknown installation)", err, runtime.ENOTFOUND)
		_, err = f.s.GetReadState(f.ctx, f.a.ID, in.ID, "account")
		wantCode(t, "GetReadState(none)", err, runtime.ENOTFOUND)
	}},
	{"DueReads", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		inB := f.install(t, f.b.ID)
		f.sync(t, in,
			runtime.ReadStateSpec{ObjectName: "late", Schedule: "* * * * *", NextRun: t0.Add(-time.Minute)},
			runtime.ReadStateSpec{ObjectName: "paused", Schedule: "* * * * *", NextRun: t0.Add(-time.Hour)},
			runtime.ReadStateSpec{ObjectName: "latest", Schedule: "* * * * *", NextRun: t0.Add(-3 * time.Minute)},
			runtime.ReadStateSpec{ObjectName: "now", Schedule: "* * * * *", NextRun: t0},
			runtime.ReadStateSpec{ObjectName: "future", Schedule: "* * * * *", NextRun: t0.Add(time.Millisecond)},
			runtime.ReadStateSpec{ObjectName: "unscheduled"})
		f.sync(t, inB, runtime.ReadStateSpec{ObjectName: "other", Schedule: "* * * * *", NextRun: t0.Add(-2 * time.Minute)})
		noErr(t, "SetReadsPaused", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, []string{"paused"}, true, "on hold"))

		due, err := f.s.DueReads(f.ctx, t0, 10)
		noErr(t, "DueReads", err)
		same(t, "due reads (oldest NextRun first, every project, no paused)", []string{"latest", "other", "late", "now"}, objectsOf(due))
		same(t, "due read", f.readState(t, in, "latest"), due[0])
		due, err = f.s.DueReads(f.ctx, t0, 2)
		noErr(t, "DueReads(limit 2)", err)
		same(t, "due reads (limit 2)", []string{"latest", "other"}, objectsOf(due))

		noErr(t, "SetReadsPaused(false)", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, []string{"paused"}, false, ""))
		due, err = f.s.DueReads(f.ctx, t0, 1)
		noErr(t, "DueReads", err)
		same(t, "due reads after unpausing", []string{"paused"}, objectsOf(due))
	}},
	{"ScheduleRead", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.sync(t, in, runtime.ReadStateSpec{ObjectName: "account", Schedule: "*/5 * * * *", NextRun: t0})
		sched := func(next time.Time) (*runtime.Operation, bool) {
			t.Helper()
			op := &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled, Estimated: -1, RunAt: next.Add(-5 * time.Minute)}
			created, err := f.s.ScheduleRead(f.ctx, f.a.ID, in.ID, "account", next, op)
			noErr(t, "ScheduleRead", err)
			if st := f.readState(t, in, "account"); !st.NextRun.Equal(next) {
				t.Fatalf("NextRun = %v after ScheduleRead, want %v", st.NextRun, next)
			}
			return op, created
		}
		op, created := sched(t0.Add(5 * time.Minute))
		if !created || op.ID == "" || op.Status != runtime.OperationQueued || op.InstallationID != in.ID || op.ObjectName != "account" ||
			op.ProjectID != f.a.ID || op.IntegrationID != in.IntegrationID {
			t.Fatalf("ScheduleRead: created %v, operation %+v", created, op)
		}
		same(t, "GetOperation", op, f.getOp(t, op))

		// A slow read: the schedule moves on, but reads do not pile up.
		if op2, created := sched(t0.Add(10 * time.Minute)); created || op2.ID != "" {
			t.Fatalf("ScheduleRead behind a queued read created %+v", op2)
		}
		got := f.claimID(t, "claim", "w1", t0.Add(10*time.Minute), time.Hour, op)
		if _, created := sched(t0.Add(15 * time.Minute)); created {
			t.Fatal("ScheduleRead behind a read in progress created an operation")
		}
		f.end(t, got, "w1", runtime.OperationSuccess)
		if _, created := sched(t0.Add(20 * time.Minute)); !created {
			t.Fatal("ScheduleRead after the read ended created nothing")
		}
		ops, err := f.s.ListOperations(f.ctx, f.a.ID, runtime.OperationFilter{InstallationID: in.ID})
		noErr(t, "ListOperations", err)
		same(t, "operations", 2, len(ops))

		// A zero nextRun stops the schedule.
		_, err = f.s.ScheduleRead(f.ctx, f.a.ID, in.ID, "account", time.Time{}, nil)
		noErr(t, "ScheduleRead(zero, nil)", err)
		if st := f.readState(t, in, "account"); !st.NextRun.IsZero() {
			t.Fatalf("NextRun = %v, want zero", st.NextRun)
		}

		_, err = f.s.ScheduleRead(f.ctx, f.a.ID, in.ID, "contact", t0, &runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled})
		wantCode(t, "ScheduleRead(no state)", err, runtime.ENOTFOUND)
	}},
	{"Pause", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.sync(t, in, runtime.ReadStateSpec{ObjectName: "account"}, runtime.ReadStateSpec{ObjectName: "contact"}, runtime.ReadStateSpec{ObjectName: "lead"})
		noErr(t, "SetReadsPaused", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, []string{"account", "lead"}, true, "maintenance"))
		for obj, want := range map[string]bool{"account": true, "contact": false, "lead": true} {
			st := f.readState(t, in, obj)
			if st.Paused != want || want && st.PauseNote != "maintenance" {
				t.Errorf("%s: Paused %v (note %q), want %v", obj, st.Paused, st.PauseNote, want)
			}
		}
		err := f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, []string{"contact", "deal", "ticket"}, true, "x")
		wantCode(t, "SetReadsPaused naming objects without a state", err, runtime.EINVALID)
		if msg := runtime.ErrorMessage(err); !strings.Contains(msg, "deal") || !strings.Contains(msg, "ticket") {
			t.Errorf("SetReadsPaused error %q does not name the objects", msg)
		}
		if f.readState(t, in, "contact").Paused {
			t.Fatal("a refused SetReadsPaused paused contact")
		}
		noErr(t, "SetReadsPaused(all)", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, nil, true, "bad credentials"))
		list, err := f.s.ListReadStates(f.ctx, f.a.ID, in.ID)
		noErr(t, "ListReadStates", err)
		for _, st := range list {
			if !st.Paused || st.PauseNote != "bad credentials" {
				t.Errorf("%s after pausing all: %+v", st.ObjectName, st)
			}
		}
		noErr(t, "SetReadsPaused(all, false)", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, nil, false, ""))
		for _, obj := range []string{"account", "contact", "lead"} {
			if f.readState(t, in, obj).Paused {
				t.Errorf("%s still paused", obj)
			}
		}
		wantCode(t, "SetReadsPaused(unknown installation)",
			f.s.SetReadsPaused(f.ctx, f.a.ID, runtime.NewID(), nil, true, ""), runtime.ENOTFOUND)
	}},
	{"TenantIsolation", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.sync(t, in, runtime.ReadStateSpec{ObjectName: "account", Schedule: "* * * * *", NextRun: t0})
		f.install(t, f.b.ID)
		before := f.readState(t, in, "account")
		b := f.b.ID
		for _, c := range []struct {
			name string
			call func() error
		}{
			{"SyncReadStates", func() error {
				_, err := f.s.SyncReadStates(f.ctx, b, in.ID, []runtime.ReadStateSpec{{ObjectName: "contact"}})
				return err
			}},
			{"GetReadState", func() error { _, err := f.s.GetReadState(f.ctx, b, in.ID, "account"); return err }},
			{"SetReadsPaused", func() error { return f.s.SetReadsPaused(f.ctx, b, in.ID, nil, true, "evil") }},
			{"SetReadsPaused(object)", func() error { return f.s.SetReadsPaused(f.ctx, b, in.ID, []string{"account"}, true, "evil") }},
			{"ScheduleRead", func() error {
				_, err := f.s.ScheduleRead(f.ctx, b, in.ID, "account", t0.Add(time.Hour),
					&runtime.Operation{ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled})
				return err
			}},
		} {
			wantCode(t, "project B: "+c.name+" of A's installation", c.call(), runtime.ENOTFOUND)
		}
		list, err := f.s.ListReadStates(f.ctx, b, in.ID)
		noErr(t, "ListReadStates(B, A's installation)", err)
		if len(list) != 0 {
			t.Fatalf("ListReadStates(B, A's installation) = %d states", len(list))
		}
		same(t, "A's read state after B's attempts", before, f.readState(t, in, "account"))
		ops, err := f.s.ListOperations(f.ctx, f.a.ID, runtime.OperationFilter{})
		noErr(t, "ListOperations", err)
		if len(ops) != 0 {
			t.Fatalf("B's attempts created %d operations in A", len(ops))
		}
		if _, err := f.s.GetReadState(f.ctx, f.a.ID, in.ID, "contact"); runtime.ErrorCode(err) != runtime.ENOTFOUND {
			t.Fatalf("B's SyncReadStates created a state in A: %v", err)
		}
	}},
}
