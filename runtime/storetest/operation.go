package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// install creates an installation of the integration "reads" in the
// project, on a new group and connection.
func (f *fixture) install(t *testing.T, projectID string) *runtime.Installation {
	t.Helper()
	integ := f.integration(t, projectID, "reads", "salesforce")
	conn := f.connection(t, projectID, "salesforce", fmt.Sprintf("group-%d", f.next()))
	return f.installation(t, integ, conn)
}

// newOp returns an operation of in on the object, not yet created.
func newOp(in *runtime.Installation, object string, rt runtime.ReadType, runAt time.Time) *runtime.Operation {
	return &runtime.Operation{ProjectID: in.ProjectID, IntegrationID: in.IntegrationID, InstallationID: in.ID,
		ObjectName: object, ActionType: runtime.ActionRead, ReadType: rt, RunAt: runAt, Estimated: -1}
}

// op creates an operation (not exclusive).
func (f *fixture) op(t *testing.T, in *runtime.Installation, object string, rt runtime.ReadType, runAt time.Time) *runtime.Operation {
	t.Helper()
	op := newOp(in, object, rt, runAt)
	if err := f.s.CreateOperation(f.ctx, op, false); err != nil {
		t.Fatalf("CreateOperation(%s, %s): %v", object, rt, err)
	}
	return op
}

// claim claims an operation or fails the test.
func (f *fixture) claim(t *testing.T, owner string, now time.Time, lease time.Duration) *runtime.Operation {
	t.Helper()
	op, err := f.s.ClaimOperation(f.ctx, owner, now, lease)
	if err != nil {
		t.Fatalf("ClaimOperation(%s, %v): %v", owner, now, err)
	}
	return op
}

// noClaim fails the test unless there is nothing to claim at now.
func (f *fixture) noClaim(t *testing.T, what string, now time.Time) {
	t.Helper()
	op, err := f.s.ClaimOperation(f.ctx, "nobody", now, time.Minute)
	if err == nil {
		t.Fatalf("%s: ClaimOperation returned %s (%s of %s), want nothing to claim", what, op.ID, op.ReadType, op.ObjectName)
	}
	wantCode(t, what+": ClaimOperation", err, runtime.ENOTFOUND)
}

// claimID claims and fails the test unless it got the operation.
func (f *fixture) claimID(t *testing.T, what, owner string, now time.Time, lease time.Duration, want *runtime.Operation) *runtime.Operation {
	t.Helper()
	got := f.claim(t, owner, now, lease)
	if got.ID != want.ID {
		t.Fatalf("%s: claimed %s (%s of %s), want %s (%s of %s)", what, got.ID, got.ReadType, got.ObjectName, want.ID, want.ReadType, want.ObjectName)
	}
	return got
}

func leaseOf(op *runtime.Operation, owner string, expiry time.Time) runtime.Lease {
	return runtime.Lease{ProjectID: op.ProjectID, OperationID: op.ID, Owner: owner, Expiry: expiry}
}

// end ends a leased operation with the status or fails the test.
func (f *fixture) end(t *testing.T, op *runtime.Operation, owner string, status runtime.OperationStatus) {
	t.Helper()
	err := f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op, owner, time.Time{}), Status: status})
	noErr(t, "EndOperation("+string(status)+")", err)
}

func (f *fixture) getOp(t *testing.T, op *runtime.Operation) *runtime.Operation {
	t.Helper()
	got, err := f.s.GetOperation(f.ctx, op.ProjectID, op.ID)
	noErr(t, "GetOperation", err)
	return got
}

// t0 is a fixed time, in the past, for the tests that pass "now" to the
// store: due times and leases are then independent of the store's clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

var operationTests = []test{
	{"CreateAndGet", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		since, until := time.Date(2024, 7, 1, 0, 0, 0, 123_456_789, time.UTC), time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)
		op := newOp(in, "account", runtime.ReadTriggered, time.Time{})
		op.Since, op.Until = since, until
		before := time.Now()
		noErr(t, "CreateOperation", f.s.CreateOperation(f.ctx, op, false))
		after := time.Now()
		if op.ID == "" || op.Status != runtime.OperationQueued || op.ObjectName != "account" || op.ReadType != runtime.ReadTriggered ||
			op.Estimated != -1 || op.LeaseOwner != "" || !op.LeaseExpiry.IsZero() || !op.EndTime.IsZero() || op.Checkpoint != nil {
			t.Fatalf("CreateOperation returned %+v", op)
		}
		if !op.Since.Equal(runtime.Millis(since)) || !op.Until.Equal(until) {
			t.Errorf("Since, Until = %v, %v; want %v, %v", op.Since, op.Until, runtime.Millis(since), until)
		}
		wantTime(t, "CreateTime", op.CreateTime, before, after)
		wantTime(t, "RunAt (zero: now)", op.RunAt, before, after)
		same(t, "GetOperation", op, f.getOp(t, op))

		// A set RunAt, ID and checkpoint are kept.
		id := runtime.NewID()
		op2 := newOp(in, "contact", runtime.ReadBackfill, t0)
		op2.ID, op2.Checkpoint, op2.Estimated = id, json.RawMessage(`{"cursor":"x"}`), 1234
		noErr(t, "CreateOperation with an ID", f.s.CreateOperation(f.ctx, op2, false))
		if op2.ID != id || !op2.RunAt.Equal(t0) || string(op2.Checkpoint) != `{"cursor":"x"}` || op2.Estimated != 1234 {
			t.Fatalf("CreateOperation returned %+v", op2)
		}
		same(t, "GetOperation", op2, f.getOp(t, op2))
		dup := newOp(in, "lead", runtime.ReadTriggered, t0)
		dup.ID = id
		wantCode(t, "CreateOperation with a taken ID", f.s.CreateOperation(f.ctx, dup, false), runtime.ECONFLICT)

		_, err := f.s.GetOperation(f.ctx, f.a.ID, runtime.NewID())
		wantCode(t, "GetOperation(unknown)", err, runtime.ENOTFOUND)
	}},
	{"CreateInvalid", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		inB := f.install(t, f.b.ID)
		for _, tc := range []struct {
			name   string
			change func(op *runtime.Operation)
			code   string
		}{
			{"no project", func(op *runtime.Operation) { op.ProjectID = "" }, runtime.EINVALID},
			{"no installation", func(op *runtime.Operation) { op.InstallationID = "" }, runtime.EINVALID},
			{"no object", func(op *runtime.Operation) { op.ObjectName = "" }, runtime.EINVALID},
			{"no integration", func(op *runtime.Operation) { op.IntegrationID = "" }, runtime.EINVALID},
			{"write with a read type", func(op *runtime.Operation) { op.ActionType = runtime.ActionWrite }, runtime.EINVALID},
			{"unknown action", func(op *runtime.Operation) { op.ActionType = "delete" }, runtime.EINVALID},
			{"no action", func(op *runtime.Operation) { op.ActionType = "" }, runtime.EINVALID},
			{"unknown read type", func(op *runtime.Operation) { op.ReadType = "hourly" }, runtime.EINVALID},
			{"unknown installation", func(op *runtime.Operation) { op.InstallationID = runtime.NewID() }, runtime.ENOTFOUND},
			{"another project's installation", func(op *runtime.Operation) { op.InstallationID = inB.ID }, runtime.ENOTFOUND},
			{"unknown project", func(op *runtime.Operation) { op.ProjectID = runtime.NewID() }, runtime.ENOTFOUND},
		} {
			op := newOp(in, "account", runtime.ReadScheduled, t0)
			tc.change(op)
			wantCode(t, tc.name, f.s.CreateOperation(f.ctx, op, false), tc.code)
		}
		list, err := f.s.ListOperations(f.ctx, f.a.ID, runtime.OperationFilter{})
		noErr(t, "ListOperations", err)
		if len(list) != 0 {
			t.Fatalf("%d operations after failed creates", len(list))
		}
	}},
	{"Exclusive", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		first := newOp(in, "account", runtime.ReadScheduled, t0)
		noErr(t, "CreateOperation(exclusive)", f.s.CreateOperation(f.ctx, first, true))
		wantCode(t, "CreateOperation(exclusive) behind a queued one",
			f.s.CreateOperation(f.ctx, newOp(in, "account", runtime.ReadScheduled, t0), true), runtime.ECONFLICT)
		// Other objects, other installations and non-exclusive creates are free.
		later := t0.Add(time.Hour) // out of the way of the claims below
		noErr(t, "CreateOperation(exclusive) of another object", f.s.CreateOperation(f.ctx, newOp(in, "contact", runtime.ReadScheduled, later), true))
		noErr(t, "CreateOperation(exclusive) of another installation",
			f.s.CreateOperation(f.ctx, newOp(f.install(t, f.a.ID), "account", runtime.ReadScheduled, later), true))
		trig := f.op(t, in, "account", runtime.ReadTriggered, t0.Add(time.Second))

		// In progress still counts; finished does not.
		got := f.claimID(t, "claim", "w1", t0.Add(time.Minute), time.Hour, first)
		f.end(t, got, "w1", runtime.OperationSuccess)
		wantCode(t, "CreateOperation(exclusive) behind a queued triggered read",
			f.s.CreateOperation(f.ctx, newOp(in, "account", runtime.ReadScheduled, t0), true), runtime.ECONFLICT)
		got = f.claimID(t, "claim the triggered read", "w1", t0.Add(time.Minute), time.Hour, trig)
		wantCode(t, "CreateOperation(exclusive) behind an operation in progress",
			f.s.CreateOperation(f.ctx, newOp(in, "account", runtime.ReadScheduled, t0), true), runtime.ECONFLICT)
		f.end(t, got, "w1", runtime.OperationFailure)
		noErr(t, "CreateOperation(exclusive) after the others ended",
			f.s.CreateOperation(f.ctx, newOp(in, "account", runtime.ReadScheduled, t0), true))
	}},
	{"ClaimOrder", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		inB := f.install(t, f.b.ID)
		later := f.op(t, in, "contact", runtime.ReadScheduled, t0.Add(-time.Minute))
		future := f.op(t, in, "lead", runtime.ReadScheduled, t0.Add(time.Hour))
		oldest := f.op(t, in, "account", runtime.ReadScheduled, t0.Add(-2*time.Minute))
		other := f.op(t, inB, "account", runtime.ReadScheduled, t0.Add(-30*time.Second)) // claims serve every project
		sameTime := f.op(t, in, "deal", runtime.ReadScheduled, t0)
		sameTime2 := f.op(t, in, "case", runtime.ReadScheduled, t0) // same RunAt: creation order

		got := f.claimID(t, "first claim", "w1", t0, 5*time.Hour, oldest)
		if got.Status != runtime.OperationInProgress || got.LeaseOwner != "w1" || !got.LeaseExpiry.Equal(t0.Add(5*time.Hour)) {
			t.Fatalf("claimed operation = %+v, want in progress, leased to w1 until %v", got, t0.Add(5*time.Hour))
		}
		same(t, "GetOperation after the claim", got, f.getOp(t, got))
		f.claimID(t, "second claim", "w2", t0, 5*time.Hour, later)
		f.claimID(t, "third claim", "w1", t0, 5*time.Hour, other)
		f.claimID(t, "fourth claim", "w2", t0, 5*time.Hour, sameTime)
		f.claimID(t, "fifth claim", "w2", t0, 5*time.Hour, sameTime2)
		f.noClaim(t, "before the future operation is due", t0)
		f.claimID(t, "at its RunAt", "w3", t0.Add(time.Hour), time.Minute, future)

		_, err := f.s.ClaimOperation(f.ctx, "", t0, time.Minute)
		if err == nil {
			t.Fatal("ClaimOperation without an owner succeeded")
		}
	}},
	{"LiveLeaseBlocksObject", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		first := f.op(t, in, "account", runtime.ReadBackfill, t0.Add(-time.Minute))
		trig := f.op(t, in, "account", runtime.ReadTriggered, t0.Add(-time.Second))
		other := f.op(t, in, "contact", runtime.ReadTriggered, t0)
		got := f.claimID(t, "claim", "w1", t0, time.Minute, first)
		// The triggered read of the same object waits; another object does not.
		f.claimID(t, "claim beside a live lease", "w2", t0, time.Minute, other)
		f.noClaim(t, "while the object's backfill holds a live lease", t0.Add(30*time.Second))
		f.end(t, got, "w1", runtime.OperationSuccess)
		f.claimID(t, "claim after the backfill ended", "w2", t0.Add(30*time.Second), time.Minute, trig)
	}},
	{"ExpiredLeaseResumes", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		op := f.op(t, in, "account", runtime.ReadBackfill, t0)
		queued := f.op(t, in, "account", runtime.ReadTriggered, t0.Add(time.Second))
		got := f.claimID(t, "claim", "w1", t0, time.Minute, op)
		noErr(t, "CommitPage", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(got, "w1", t0.Add(2*time.Minute)),
			Checkpoint: json.RawMessage(`{"page":1}`), Processed: 200, Estimated: 1000}))
		// The commit extended the lease to t0+2m.
		f.noClaim(t, "while the extended lease is live", t0.Add(90*time.Second))

		// w1 stalls; w2 resumes from the checkpoint.
		resumed := f.claimID(t, "claim after the lease expired", "w2", t0.Add(3*time.Minute), time.Minute, op)
		if resumed.LeaseOwner != "w2" || resumed.Status != runtime.OperationInProgress || string(resumed.Checkpoint) != `{"page":1}` ||
			resumed.Processed != 200 || resumed.Estimated != 1000 {
			t.Fatalf("resumed operation = %+v, want w2's, with the checkpoint and counts", resumed)
		}
		// The queued triggered read still waits behind w2's live lease.
		f.noClaim(t, "behind the resumed operation", t0.Add(3*time.Minute))

		// w1 wakes up: every write under its lease fails and changes nothing.
		err := f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(op, "w1", t0.Add(time.Hour)), Checkpoint: json.RawMessage(`{"page":2}`),
			Processed: 400, Estimated: -1, Logs: []*runtime.OperationLog{{ProjectID: op.ProjectID, OperationID: op.ID, Message: "stale"}}})
		wantCode(t, "CommitPage with a lost lease", err, runtime.ECONFLICT)
		err = f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op, "w1", time.Time{}), Status: runtime.OperationSuccess})
		wantCode(t, "EndOperation with a lost lease", err, runtime.ECONFLICT)
		same(t, "operation after the stale writes", resumed, f.getOp(t, op))
		logs, err := f.s.ListOperationLogs(f.ctx, op.ProjectID, op.ID)
		noErr(t, "ListOperationLogs", err)
		if len(logs) != 0 {
			t.Fatalf("a rejected commit wrote %d log lines", len(logs))
		}

		noErr(t, "CommitPage by the new owner", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(op, "w2", t0.Add(5*time.Minute)),
			Checkpoint: json.RawMessage(`{"page":2}`), Processed: 400, Estimated: -1}))
		got = f.getOp(t, op)
		if string(got.Checkpoint) != `{"page":2}` || got.Processed != 400 || got.Estimated != 1000 || !got.LeaseExpiry.Equal(t0.Add(5*time.Minute)) {
			t.Fatalf("after w2's commit: %+v", got)
		}
		f.end(t, op, "w2", runtime.OperationSuccess)
		f.claimID(t, "the triggered read after the backfill", "w3", t0.Add(4*time.Minute), time.Minute, queued)
	}},
	{"RenewLease", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		op := f.op(t, in, "account", runtime.ReadBackfill, t0)
		got := f.claimID(t, "claim", "w1", t0, time.Minute, op)
		noErr(t, "RenewLease", f.s.RenewLease(f.ctx, leaseOf(got, "w1", t0.Add(10*time.Minute))))
		renewed := f.getOp(t, op)
		if !renewed.LeaseExpiry.Equal(t0.Add(10*time.Minute)) || renewed.LeaseOwner != "w1" || renewed.Checkpoint != nil || renewed.Processed != 0 {
			t.Fatalf("after RenewLease: %+v, want only the expiry moved", renewed)
		}
		f.noClaim(t, "while the renewed lease is live", t0.Add(5*time.Minute))
		wantCode(t, "RenewLease by another owner", f.s.RenewLease(f.ctx, leaseOf(got, "w2", t0.Add(time.Hour))), runtime.ECONFLICT)
		wantCode(t, "RenewLease of another project's operation",
			f.s.RenewLease(f.ctx, runtime.Lease{ProjectID: f.b.ID, OperationID: op.ID, Owner: "w1", Expiry: t0.Add(time.Hour)}), runtime.ENOTFOUND)
		same(t, "operation after refused renewals", renewed, f.getOp(t, op))
		f.claimID(t, "claim after the renewed lease expired", "w2", t0.Add(11*time.Minute), time.Minute, op)
		wantCode(t, "RenewLease by the stale owner", f.s.RenewLease(f.ctx, leaseOf(got, "w1", t0.Add(time.Hour))), runtime.ECONFLICT)
	}},
	{"CommitPage", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		d := f.destination(t, f.a.ID, "hook")
		op := f.op(t, in, "account", runtime.ReadBackfill, t0)
		f.claimID(t, "claim", "w1", t0, time.Minute, op)
		l := leaseOf(op, "w1", t0.Add(5*time.Minute))
		msgs := []*runtime.OutboxMessage{
			{ProjectID: f.a.ID, DestinationID: d.ID, OperationID: op.ID, Body: []byte(`{"page":1,"n":0}`)},
			{ProjectID: f.a.ID, DestinationID: d.ID, OperationID: op.ID, Body: []byte(`{"page":1,"n":1}`)},
		}
		at := time.Date(2026, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
		logs := []*runtime.OperationLog{
			{ProjectID: f.a.ID, OperationID: op.ID, Time: at, Severity: runtime.SeverityInfo, Message: "read page 1", Details: map[string]string{"records": "2"}},
			{ProjectID: f.a.ID, OperationID: op.ID, Time: at, Severity: runtime.SeverityWarn, Message: "slow", Err: "took 9s"},
		}
		before := time.Now()
		noErr(t, "CommitPage", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: l, Checkpoint: json.RawMessage(`{"cursor":"p2"}`),
			Processed: 2, Estimated: 10, Messages: msgs, Logs: logs}))
		after := time.Now()
		got := f.getOp(t, op)
		if string(got.Checkpoint) != `{"cursor":"p2"}` || got.Processed != 2 || got.Estimated != 10 || !got.LeaseExpiry.Equal(l.Expiry) ||
			got.Status != runtime.OperationInProgress || got.LeaseOwner != "w1" {
			t.Fatalf("operation after CommitPage = %+v", got)
		}
		wantTime(t, "UpdateTime", got.UpdateTime, before, after)
		for i, m := range msgs {
			if m.ID == "" {
				t.Errorf("message %d has no ID after CommitPage", i)
			}
		}
		n, err := f.s.CountMessages(f.ctx, f.a.ID, d.ID)
		noErr(t, "CountMessages", err)
		same(t, "queued messages", 2, n)
		claimed, err := f.s.ClaimMessages(f.ctx, time.Now().Add(clockSlack), time.Hour, 10)
		noErr(t, "ClaimMessages", err)
		if len(claimed) != 2 || claimed[0].ID != msgs[0].ID || string(claimed[1].Body) != `{"page":1,"n":1}` || claimed[0].OperationID != op.ID {
			t.Fatalf("committed messages = %+v", claimed)
		}
		gotLogs, err := f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		if len(gotLogs) != 2 || gotLogs[0].Seq >= gotLogs[1].Seq || gotLogs[0].Seq != logs[0].Seq || gotLogs[1].Seq != logs[1].Seq {
			t.Fatalf("logs = %+v, want two in order with the Seq filled in", gotLogs)
		}
		same(t, "logs", logs, gotLogs)

		// Estimated -1 keeps the estimate; a commit without messages is fine.
		noErr(t, "CommitPage", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: l, Checkpoint: json.RawMessage(`{"cursor":"p3"}`),
			Processed: 5, Estimated: -1}))
		got = f.getOp(t, op)
		if got.Processed != 5 || got.Estimated != 10 {
			t.Fatalf("after a commit with Estimated -1: Processed %d, Estimated %d; want 5, 10", got.Processed, got.Estimated)
		}

		// A commit that fails writes nothing: here its message names a
		// destination that does not exist.
		err = f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: l, Checkpoint: json.RawMessage(`{"cursor":"bad"}`), Processed: 9, Estimated: 99,
			Messages: []*runtime.OutboxMessage{
				{ProjectID: f.a.ID, DestinationID: d.ID, Body: []byte(`{}`)},
				{ProjectID: f.a.ID, DestinationID: runtime.NewID(), Body: []byte(`{}`)},
			},
			Logs: []*runtime.OperationLog{{ProjectID: f.a.ID, OperationID: op.ID, Message: "never"}}})
		wantCode(t, "CommitPage to an unknown destination", err, runtime.ENOTFOUND)
		same(t, "operation after a failed commit", got, f.getOp(t, op))
		n, err = f.s.CountMessages(f.ctx, f.a.ID, d.ID)
		noErr(t, "CountMessages", err)
		same(t, "queued messages after a failed commit", 2, n)
		gotLogs, err = f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		same(t, "log lines after a failed commit", 2, len(gotLogs))

		wantCode(t, "CommitPage of an unknown operation", f.s.CommitPage(f.ctx, runtime.PageCommit{
			Lease: runtime.Lease{ProjectID: f.a.ID, OperationID: runtime.NewID(), Owner: "w1"}}), runtime.ENOTFOUND)
	}},
	{"EndOperation", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		notify := f.destination(t, f.a.ID, "notify")
		_, err := f.s.SyncReadStates(f.ctx, f.a.ID, in.ID, []runtime.ReadStateSpec{{ObjectName: "account"}})
		noErr(t, "SyncReadStates", err)
		op := f.op(t, in, "account", runtime.ReadBackfill, t0)
		f.claimID(t, "claim", "w1", t0, time.Minute, op)

		// Parked for a retry: queued, no lease, due at RunAt.
		err = f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op, "w1", time.Time{}), Status: runtime.OperationQueued,
			RunAt: t0.Add(10 * time.Minute), Attempts: 1, Checkpoint: json.RawMessage(`{"retry":1}`), Error: "429 Too Many Requests"})
		noErr(t, "EndOperation(queued)", err)
		got := f.getOp(t, op)
		if got.Status != runtime.OperationQueued || got.LeaseOwner != "" || !got.RunAt.Equal(t0.Add(10*time.Minute)) || got.Attempts != 1 ||
			string(got.Checkpoint) != `{"retry":1}` || !got.EndTime.IsZero() {
			t.Fatalf("operation parked for a retry = %+v", got)
		}
		wantCode(t, "CommitPage after the lease was released", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(op, "w1", time.Time{})}),
			runtime.ECONFLICT)
		f.noClaim(t, "before the retry time", t0.Add(9*time.Minute))
		got = f.claimID(t, "claim at the retry time", "w2", t0.Add(10*time.Minute), time.Minute, op)
		if got.Attempts != 1 || string(got.Checkpoint) != `{"retry":1}` {
			t.Fatalf("reclaimed operation = %+v, want its attempts and checkpoint", got)
		}

		// Success moves the read state and enqueues the notification, atomically.
		watermark := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		note := &runtime.OutboxMessage{ProjectID: f.a.ID, DestinationID: notify.ID, Body: []byte(`{"event":"read.backfill.done"}`)}
		before := time.Now()
		err = f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op, "w2", time.Time{}), Status: runtime.OperationSuccess,
			Result: "1000 records", ReadState: &runtime.ReadStateUpdate{Watermark: watermark, Sync: json.RawMessage(`{"ids":["a"]}`), BackfillDone: true},
			Messages: []*runtime.OutboxMessage{note},
			Logs:     []*runtime.OperationLog{{ProjectID: f.a.ID, OperationID: op.ID, Severity: runtime.SeverityInfo, Message: "done"}}})
		after := time.Now()
		noErr(t, "EndOperation(success)", err)
		got = f.getOp(t, op)
		if got.Status != runtime.OperationSuccess || got.LeaseOwner != "" || got.Result != "1000 records" {
			t.Fatalf("succeeded operation = %+v", got)
		}
		wantTime(t, "EndTime", got.EndTime, before, after)
		st, err := f.s.GetReadState(f.ctx, f.a.ID, in.ID, "account")
		noErr(t, "GetReadState", err)
		if !st.Watermark.Equal(watermark) || string(st.Sync) != `{"ids":["a"]}` || !st.BackfillDone {
			t.Fatalf("read state after the backfill = %+v", st)
		}
		n, err := f.s.CountMessages(f.ctx, f.a.ID, notify.ID)
		noErr(t, "CountMessages", err)
		same(t, "notifications", 1, n)
		logs, err := f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		if len(logs) != 1 || logs[0].Message != "done" {
			t.Fatalf("logs = %+v", logs)
		}
		// Finished is final.
		wantCode(t, "EndOperation again", f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op, "w2", time.Time{}),
			Status: runtime.OperationFailure}), runtime.ECONFLICT)
		f.noClaim(t, "after success", t0.Add(time.Hour))

		// A zero watermark and a nil Sync leave them; BackfillDone false does not clear it.
		op2 := f.op(t, in, "account", runtime.ReadScheduled, t0)
		f.claimID(t, "claim", "w1", t0.Add(time.Hour), time.Minute, op2)
		noErr(t, "EndOperation(failure)", f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op2, "w1", time.Time{}),
			Status: runtime.OperationFailure, Error: "bad credentials", ReadState: &runtime.ReadStateUpdate{}}))
		st2, err := f.s.GetReadState(f.ctx, f.a.ID, in.ID, "account")
		noErr(t, "GetReadState", err)
		if !st2.Watermark.Equal(watermark) || string(st2.Sync) != `{"ids":["a"]}` || !st2.BackfillDone {
			t.Fatalf("read state after an empty update = %+v", st2)
		}
		if got := f.getOp(t, op2); got.Status != runtime.OperationFailure || got.Error != "bad credentials" {
			t.Fatalf("failed operation = %+v", got)
		}

		op3 := f.op(t, in, "account", runtime.ReadScheduled, t0)
		f.claimID(t, "claim", "w1", t0.Add(time.Hour), time.Minute, op3)
		wantCode(t, "EndOperation(in_progress)", f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op3, "w1", time.Time{}),
			Status: runtime.OperationInProgress}), runtime.EINVALID)
	}},
	{"ConcurrentClaims", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		inB := f.install(t, f.b.ID)
		const n = 3 * writers
		ids := map[string]bool{}
		for i := range n {
			target := in
			if (i/2)%3 == 0 {
				target = inB
			}
			// Two operations per object: only one may be leased at a time.
			op := f.op(t, target, fmt.Sprintf("object-%02d", i/2), runtime.ReadTriggered, t0.Add(time.Duration(i)*time.Millisecond))
			ids[op.ID] = true
		}
		var mu sync.Mutex
		claims := map[string][]string{} // operation -> owners
		errs := parallel(writers, func(w int) error {
			owner := fmt.Sprintf("worker-%02d", w)
			for {
				op, err := f.s.ClaimOperation(f.ctx, owner, t0.Add(time.Second), time.Hour)
				if runtime.ErrorCode(err) == runtime.ENOTFOUND {
					return nil
				}
				if err != nil {
					return err
				}
				mu.Lock()
				claims[op.ID] = append(claims[op.ID], owner)
				mu.Unlock()
				if err := f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: leaseOf(op, owner, time.Time{}), Status: runtime.OperationSuccess}); err != nil {
					return err
				}
			}
		})
		for w, err := range errs {
			noErr(t, fmt.Sprintf("worker %d", w), err)
		}
		for id, owners := range claims {
			if !ids[id] {
				t.Errorf("claimed unknown operation %s", id)
			}
			if len(owners) != 1 {
				t.Errorf("operation %s was claimed %d times (%v), want once", id, len(owners), owners)
			}
		}
		// Workers stop at the first ENOTFOUND, which can come while an
		// object's second operation waits behind its first: claim the rest.
		for {
			op, err := f.s.ClaimOperation(f.ctx, "sweeper", t0.Add(time.Second), time.Hour)
			if runtime.ErrorCode(err) == runtime.ENOTFOUND {
				break
			}
			noErr(t, "ClaimOperation", err)
			if len(claims[op.ID]) != 0 {
				t.Fatalf("operation %s claimed again after it ended", op.ID)
			}
			claims[op.ID] = []string{"sweeper"}
			f.end(t, op, "sweeper", runtime.OperationSuccess)
		}
		same(t, "claimed operations", n, len(claims))
	}},
	{"ConcurrentClaimsOneObject", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		for i := range 5 {
			f.op(t, in, "account", runtime.ReadTriggered, t0.Add(time.Duration(i)*time.Millisecond))
		}
		claimed := make([]*runtime.Operation, writers)
		errs := parallel(writers, func(w int) error {
			op, err := f.s.ClaimOperation(f.ctx, fmt.Sprintf("worker-%02d", w), t0.Add(time.Second), time.Hour)
			claimed[w] = op
			return err
		})
		exactlyOne(t, "concurrent claims of one object's operations", errs, runtime.ENOTFOUND)
	}},
	{"PausedStateSkipped", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		_, err := f.s.SyncReadStates(f.ctx, f.a.ID, in.ID, []runtime.ReadStateSpec{{ObjectName: "account"}, {ObjectName: "contact"}})
		noErr(t, "SyncReadStates", err)
		noErr(t, "SetReadsPaused", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, []string{"account"}, true, "builder asked"))
		backfill := f.op(t, in, "account", runtime.ReadBackfill, t0.Add(-3*time.Second))
		scheduled := f.op(t, in, "account", runtime.ReadScheduled, t0.Add(-2*time.Second))
		trig := f.op(t, in, "account", runtime.ReadTriggered, t0.Add(-time.Second))
		contact := f.op(t, in, "contact", runtime.ReadScheduled, t0)

		f.claimID(t, "paused object: the triggered read only", "w1", t0, time.Minute, trig)
		f.claimID(t, "another object is not paused", "w1", t0, time.Minute, contact)
		f.noClaim(t, "paused object", t0)
		f.end(t, trig, "w1", runtime.OperationSuccess)
		f.noClaim(t, "paused object after the triggered read", t0)

		// An in-progress operation whose lease expires while paused is not resumed either.
		noErr(t, "SetReadsPaused(false)", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, nil, false, ""))
		got := f.claimID(t, "after unpausing", "w2", t0, time.Minute, backfill)
		noErr(t, "SetReadsPaused", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, nil, true, "credentials"))
		f.noClaim(t, "paused, with the backfill's lease expired", t0.Add(time.Hour))
		noErr(t, "SetReadsPaused(false)", f.s.SetReadsPaused(f.ctx, f.a.ID, in.ID, nil, false, ""))
		resumed := f.claimID(t, "unpaused, with the backfill's lease expired", "w3", t0.Add(time.Hour), time.Minute, got)
		f.end(t, resumed, "w3", runtime.OperationSuccess)
		f.claimID(t, "the scheduled read last", "w3", t0.Add(time.Hour), time.Minute, scheduled)
	}},
	{"ListOperations", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		in2 := f.install(t, f.a.ID)
		var all []*runtime.Operation // oldest first
		for i, spec := range []struct {
			in     *runtime.Installation
			object string
			rt     runtime.ReadType
		}{
			{in, "account", runtime.ReadBackfill}, {in, "contact", runtime.ReadBackfill}, {in2, "account", runtime.ReadBackfill},
			{in, "account", runtime.ReadScheduled}, {in, "account", runtime.ReadTriggered}, {in2, "account", runtime.ReadScheduled},
			{in, "contact", runtime.ReadScheduled},
		} {
			all = append(all, f.op(t, spec.in, spec.object, spec.rt, t0.Add(time.Duration(i)*time.Second)))
		}
		f.op(t, f.install(t, f.b.ID), "account", runtime.ReadBackfill, t0)
		pick := func(keep func(*runtime.Operation) bool) []*runtime.Operation {
			var out []*runtime.Operation
			for i := len(all) - 1; i >= 0; i-- {
				if keep(all[i]) {
					out = append(out, all[i])
				}
			}
			return out
		}
		list := func(filter runtime.OperationFilter) []*runtime.Operation {
			t.Helper()
			ops, err := f.s.ListOperations(f.ctx, f.a.ID, filter)
			noErr(t, "ListOperations", err)
			return ops
		}
		same(t, "ListOperations (newest first)", pick(func(*runtime.Operation) bool { return true }), list(runtime.OperationFilter{}))
		same(t, "ListOperations(installation)", pick(func(o *runtime.Operation) bool { return o.InstallationID == in.ID }),
			list(runtime.OperationFilter{InstallationID: in.ID}))
		same(t, "ListOperations(installation, object)", pick(func(o *runtime.Operation) bool { return o.InstallationID == in.ID && o.ObjectName == "account" }),
			list(runtime.OperationFilter{InstallationID: in.ID, ObjectName: "account"}))
		same(t, "ListOperations(backfills)", pick(func(o *runtime.Operation) bool { return o.ReadType == runtime.ReadBackfill }),
			list(runtime.OperationFilter{ReadType: runtime.ReadBackfill}))
		same(t, "ListOperations(limit 2)", pick(func(*runtime.Operation) bool { return true })[:2], list(runtime.OperationFilter{Limit: 2}))
		if got := list(runtime.OperationFilter{InstallationID: runtime.NewID()}); len(got) != 0 {
			t.Fatalf("ListOperations(unknown installation) = %d operations", len(got))
		}

		// Paging with Before neither repeats nor skips, also across
		// operations created between pages and equal CreateTimes.
		var paged []*runtime.Operation
		filter := runtime.OperationFilter{Limit: 3}
		for range len(all) + 2 {
			page := list(filter)
			paged = append(paged, page...)
			if len(page) < filter.Limit {
				break
			}
			last := page[len(page)-1]
			filter.Before = &runtime.OperationCursor{CreateTime: last.CreateTime, ID: last.ID}
			f.op(t, in2, "lead", runtime.ReadTriggered, t0) // newer: never on a later page
		}
		same(t, "paged listing", pick(func(*runtime.Operation) bool { return true }), paged)
		// A cursor whose operation is gone: only earlier CreateTimes match.
		gone := &runtime.OperationCursor{CreateTime: all[len(all)-1].CreateTime, ID: runtime.NewID()}
		for _, op := range list(runtime.OperationFilter{Before: gone}) {
			if !op.CreateTime.Before(gone.CreateTime) {
				t.Fatalf("ListOperations(Before a gone operation) returned one created at %v, not before %v", op.CreateTime, gone.CreateTime)
			}
		}
	}},
	{"Logs", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		op := f.op(t, in, "account", runtime.ReadTriggered, t0)
		other := f.op(t, in, "contact", runtime.ReadTriggered, t0)
		before := time.Now()
		logs := []*runtime.OperationLog{
			{ProjectID: f.a.ID, OperationID: op.ID, Severity: runtime.SeverityWarn, Message: "retrying", Err: "503", Details: map[string]string{"attempt": "1", "delay": "2s"}},
			{ProjectID: f.a.ID, OperationID: other.ID, Severity: runtime.SeverityInfo, Message: "other"},
			{ProjectID: f.a.ID, OperationID: op.ID, Time: t0, Severity: runtime.SeverityError, Message: "gave up"},
		}
		noErr(t, "AppendOperationLogs", f.s.AppendOperationLogs(f.ctx, logs))
		after := time.Now()
		wantTime(t, "a zero log Time (now)", logs[0].Time, before, after)
		if !(logs[0].Seq < logs[1].Seq && logs[1].Seq < logs[2].Seq) {
			t.Fatalf("Seq = %d, %d, %d; want increasing", logs[0].Seq, logs[1].Seq, logs[2].Seq)
		}
		got, err := f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		same(t, "logs of the operation", []*runtime.OperationLog{logs[0], logs[2]}, got)
		more := []*runtime.OperationLog{{ProjectID: f.a.ID, OperationID: op.ID, Severity: runtime.SeverityInfo, Message: "later"}}
		noErr(t, "AppendOperationLogs", f.s.AppendOperationLogs(f.ctx, more))
		got, err = f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		same(t, "logs in order", []*runtime.OperationLog{logs[0], logs[2], more[0]}, got)

		_, err = f.s.ListOperationLogs(f.ctx, f.a.ID, runtime.NewID())
		wantCode(t, "ListOperationLogs(unknown operation)", err, runtime.ENOTFOUND)
		err = f.s.AppendOperationLogs(f.ctx, []*runtime.OperationLog{
			{ProjectID: f.a.ID, OperationID: op.ID, Severity: runtime.SeverityInfo, Message: "kept?"},
			{ProjectID: f.a.ID, OperationID: runtime.NewID(), Severity: runtime.SeverityInfo, Message: "orphan"},
		})
		wantCode(t, "AppendOperationLogs(unknown operation)", err, runtime.ENOTFOUND)
		got, err = f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		same(t, "log lines after a failed append (atomic)", 3, len(got))
	}},
	{"DeleteInstallation", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		d := f.destination(t, f.a.ID, "hook")
		_, err := f.s.SyncReadStates(f.ctx, f.a.ID, in.ID, []runtime.ReadStateSpec{{ObjectName: "account", Schedule: "*/5 * * * *", NextRun: t0}})
		noErr(t, "SyncReadStates", err)
		running := f.op(t, in, "account", runtime.ReadBackfill, t0)
		queued := f.op(t, in, "contact", runtime.ReadTriggered, t0.Add(time.Minute))
		f.claimID(t, "claim", "w1", t0, time.Hour, running)
		noErr(t, "CommitPage", f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(running, "w1", time.Time{}), Processed: 1, Estimated: -1,
			Messages: []*runtime.OutboxMessage{{ProjectID: f.a.ID, DestinationID: d.ID, Body: []byte(`{}`)}}}))

		noErr(t, "DeleteInstallation", f.s.DeleteInstallation(f.ctx, f.a.ID, in.ID))
		_, err = f.s.GetReadState(f.ctx, f.a.ID, in.ID, "account")
		wantCode(t, "GetReadState after the installation was deleted", err, runtime.ENOTFOUND)
		_, err = f.s.GetOperation(f.ctx, f.a.ID, queued.ID)
		wantCode(t, "GetOperation(queued) after the installation was deleted", err, runtime.ENOTFOUND)
		f.noClaim(t, "after the installation was deleted", t0.Add(2*time.Hour))
		due, err := f.s.DueReads(f.ctx, t0.Add(time.Hour), 10)
		noErr(t, "DueReads", err)
		if len(due) != 0 {
			t.Fatalf("DueReads returned %d states of a deleted installation", len(due))
		}
		// The worker of the running operation learns it is gone.
		err = f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: leaseOf(running, "w1", time.Time{}), Processed: 2, Estimated: -1,
			Messages: []*runtime.OutboxMessage{{ProjectID: f.a.ID, DestinationID: d.ID, Body: []byte(`{}`)}}})
		if c := runtime.ErrorCode(err); c != runtime.ENOTFOUND && c != runtime.ECONFLICT {
			t.Fatalf("CommitPage of a deleted installation's operation: %v, want ENOTFOUND or ECONFLICT", err)
		}
		// Messages already committed are still delivered.
		n, err := f.s.CountMessages(f.ctx, f.a.ID, d.ID)
		noErr(t, "CountMessages", err)
		same(t, "messages committed before the delete", 1, n)
	}},
	{"TenantIsolation", func(t *testing.T, f *fixture) {
		in := f.install(t, f.a.ID)
		f.install(t, f.b.ID)
		_, err := f.s.SyncReadStates(f.ctx, f.a.ID, in.ID, []runtime.ReadStateSpec{{ObjectName: "account"}})
		noErr(t, "SyncReadStates", err)
		op := f.op(t, in, "account", runtime.ReadBackfill, t0)
		noErr(t, "AppendOperationLogs", f.s.AppendOperationLogs(f.ctx, []*runtime.OperationLog{{ProjectID: f.a.ID, OperationID: op.ID, Message: "x", Severity: runtime.SeverityInfo}}))
		f.claimID(t, "claim", "w1", t0, time.Hour, op)
		before := f.getOp(t, op)
		b := f.b.ID
		bLease := runtime.Lease{ProjectID: b, OperationID: op.ID, Owner: "w1"}

		for _, c := range []struct {
			name string
			call func() error
		}{
			{"GetOperation", func() error { _, err := f.s.GetOperation(f.ctx, b, op.ID); return err }},
			{"ListOperationLogs", func() error { _, err := f.s.ListOperationLogs(f.ctx, b, op.ID); return err }},
			{"CommitPage", func() error {
				return f.s.CommitPage(f.ctx, runtime.PageCommit{Lease: bLease, Checkpoint: json.RawMessage(`{}`), Processed: 9, Estimated: -1})
			}},
			{"EndOperation", func() error {
				return f.s.EndOperation(f.ctx, runtime.OperationEnd{Lease: bLease, Status: runtime.OperationFailure})
			}},
			{"AppendOperationLogs", func() error {
				return f.s.AppendOperationLogs(f.ctx, []*runtime.OperationLog{{ProjectID: b, OperationID: op.ID, Message: "evil", Severity: runtime.SeverityInfo}})
			}},
			{"CreateOperation", func() error {
				o := newOp(in, "account", runtime.ReadTriggered, t0)
				o.ProjectID = b
				return f.s.CreateOperation(f.ctx, o, false)
			}},
		} {
			wantCode(t, "project B: "+c.name+" of A's operation", c.call(), runtime.ENOTFOUND)
		}
		list, err := f.s.ListOperations(f.ctx, b, runtime.OperationFilter{InstallationID: in.ID})
		noErr(t, "ListOperations(B, A's installation)", err)
		if len(list) != 0 {
			t.Fatalf("ListOperations(B, A's installation) = %d operations", len(list))
		}
		same(t, "A's operation after B's attempts", before, f.getOp(t, op))
		logs, err := f.s.ListOperationLogs(f.ctx, f.a.ID, op.ID)
		noErr(t, "ListOperationLogs", err)
		if len(logs) != 1 || slices.ContainsFunc(logs, func(l *runtime.OperationLog) bool { return l.Message == "evil" }) {
			t.Fatalf("A's logs after B's attempts = %+v", logs)
		}
	}},
}
