package scheduler_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/scheduler"
	"github.com/ampforge/amp/runtime/sqlite"
)

// env is a real SQLite store with one project, integration and
// connection, and a scheduler on a movable clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	store runtime.Store
	now   time.Time
	wakes atomic.Int32
	s     *scheduler.Scheduler
	proj  *runtime.Project
	integ *runtime.Integration
	conn  *runtime.Connection
}

const integration = `{"name":"sf","provider":"salesforce","read":{"objects":[
 {"objectName":"account","destination":"hook","schedule":"*/30 * * * *","requiredFields":[{"fieldName":"name"}],"backfill":{"defaultPeriod":{"days":7}}},
 {"objectName":"contact","destination":"hook","schedule":"0 * * * *","requiredFields":[{"fieldName":"email"}],"backfill":{"defaultPeriod":{"fullHistory":true}}},
 {"objectName":"lead","destination":"hook","requiredFields":[{"fieldName":"email"}]}]}}`

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, ctx: ctx, store: st, now: time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC)}
	e.proj = &runtime.Project{Name: "p", AppName: "App"}
	must(t, st.CreateProject(ctx, e.proj))
	res, err := st.DeployIntegrations(ctx, e.proj.ID, []runtime.IntegrationDeploy{{Name: "sf", Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte(integration)}})
	must(t, err)
	e.integ = &res[0].Integration
	e.conn = &runtime.Connection{ProjectID: e.proj.ID, Provider: "salesforce", GroupRef: "g", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode,
		Status: runtime.ConnectionCreated, Tokens: []byte("sealed")}
	must(t, st.CreateConnection(ctx, e.conn))
	e.s, err = scheduler.New(scheduler.Config{Store: st, Now: func() time.Time { return e.now }, Wake: func() { e.wakes.Add(1) }})
	must(t, err)
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// install creates an installation reading objects (config key -> config).
func (e *env) install(group string, objects map[string]runtime.ReadConfigObject) *runtime.Installation {
	e.t.Helper()
	c := e.conn
	if group != "g" {
		c = &runtime.Connection{ProjectID: e.proj.ID, Provider: "salesforce", GroupRef: group, AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode,
			Status: runtime.ConnectionCreated, Tokens: []byte("sealed")}
		must(e.t, e.store.CreateConnection(e.ctx, c))
	}
	in := &runtime.Installation{ProjectID: e.proj.ID, IntegrationID: e.integ.ID, GroupRef: group, ConnectionID: c.ID,
		Config: runtime.InstallationConfig{Content: runtime.ConfigContent{Provider: "salesforce", Read: &runtime.ReadConfig{Objects: objects}}}}
	must(e.t, e.store.CreateInstallation(e.ctx, in))
	return in
}

func (e *env) ops(in *runtime.Installation, rt runtime.ReadType) []*runtime.Operation {
	e.t.Helper()
	ops, err := e.store.ListOperations(e.ctx, e.proj.ID, runtime.OperationFilter{InstallationID: in.ID, ReadType: rt})
	must(e.t, err)
	return ops
}

// TestReconcileQueuesBackfills checks each newly read object gets one
// backfill whose window follows its period (days, fullHistory, none), and
// that reconciling again queues nothing more.
func TestReconcileQueuesBackfills(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.install("g", map[string]runtime.ReadConfigObject{
		"account": {ObjectName: "account"},
		"contact": {ObjectName: "contact"},
		"lead":    {ObjectName: "lead"},
	})
	must(t, e.s.Reconcile(e.ctx, in))
	must(t, e.s.Reconcile(e.ctx, in))
	ops := e.ops(in, runtime.ReadBackfill)
	if len(ops) != 3 {
		t.Fatalf("%d backfills, want 3", len(ops))
	}
	for _, op := range ops {
		switch op.ObjectName {
		case "account":
			if want := e.now.Add(-7 * 24 * time.Hour); !op.Since.Equal(want) || !op.Until.IsZero() {
				t.Errorf("account backfill window (%s, %s], want since %s", op.Since, op.Until, want)
			}
		case "contact":
			if !op.Since.IsZero() || !op.Until.IsZero() {
				t.Errorf("fullHistory backfill window (%s, %s], want unbounded", op.Since, op.Until)
			}
		case "lead":
			if !op.Since.Equal(e.now) || !op.Until.Equal(e.now) {
				t.Errorf("no-backfill window (%s, %s], want the empty window at now", op.Since, op.Until)
			}
		}
	}
	if e.wakes.Load() != 1 {
		t.Errorf("engine woken %d times, want once (only the first reconcile queued)", e.wakes.Load())
	}
	// The installation's own schedule wins over the manifest's.
	st, err := e.store.GetReadState(e.ctx, e.proj.ID, in.ID, "lead")
	must(t, err)
	if st.Schedule != "" || !st.NextRun.IsZero() {
		t.Errorf("lead has no schedule in the manifest: %+v", st)
	}
}

// TestConfigBackfillAndScheduleWin checks the installation config's
// backfill period and schedule override the manifest's, and a disabled
// object gets no read state.
func TestConfigBackfillAndScheduleWin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	days := 2
	in := e.install("g", map[string]runtime.ReadConfigObject{
		"account": {ObjectName: "account", Schedule: "0 */6 * * *", Backfill: &runtime.BackfillConfig{DefaultPeriod: runtime.DefaultPeriodConfig{Days: &days}}},
		"contact": {ObjectName: "contact", Disabled: true},
	})
	must(t, e.s.Reconcile(e.ctx, in))
	ops := e.ops(in, runtime.ReadBackfill)
	if len(ops) != 1 || ops[0].ObjectName != "account" || !ops[0].Since.Equal(e.now.Add(-48*time.Hour)) {
		t.Fatalf("backfills %+v, want one for account over 2 days", ops)
	}
	st, err := e.store.GetReadState(e.ctx, e.proj.ID, in.ID, "account")
	must(t, err)
	if st.Schedule != "0 */6 * * *" || st.NextRun.Before(e.now) || st.NextRun.After(e.now.Add(6*time.Hour+5*time.Minute)) {
		t.Errorf("account state %+v, want the config's six-hourly schedule", st)
	}
	if _, err := e.store.GetReadState(e.ctx, e.proj.ID, in.ID, "contact"); runtime.ErrorCode(err) != runtime.ENOTFOUND {
		t.Errorf("disabled contact has a read state (err %v)", err)
	}
}

// TestTickQueuesDueReadsOnce checks a due schedule queues one scheduled
// read, none while it is still queued, and the next after it ends.
func TestTickQueuesDueReadsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.install("g", map[string]runtime.ReadConfigObject{"account": {ObjectName: "account"}})
	must(t, e.s.Reconcile(e.ctx, in))
	if n, err := e.s.Tick(e.ctx); err != nil || n != 0 {
		t.Fatalf("Tick before the schedule = %d, %v", n, err)
	}
	// Finish the backfill, as the engine would.
	op, err := e.store.ClaimOperation(e.ctx, "w", time.Now(), time.Minute)
	must(t, err)
	must(t, e.store.EndOperation(e.ctx, runtime.OperationEnd{Lease: runtime.Lease{ProjectID: op.ProjectID, OperationID: op.ID, Owner: "w"},
		Status: runtime.OperationSuccess, ReadState: &runtime.ReadStateUpdate{Watermark: e.now, BackfillDone: true, Sync: json.RawMessage(`{}`)}}))
	e.now = e.now.Add(31 * time.Minute)
	if n, err := e.s.Tick(e.ctx); err != nil || n != 1 {
		t.Fatalf("Tick after the schedule = %d, %v; want 1", n, err)
	}
	e.now = e.now.Add(31 * time.Minute)
	if n, err := e.s.Tick(e.ctx); err != nil || n != 0 {
		t.Fatalf("Tick with the last read still queued = %d, %v; want 0", n, err)
	}
	if got := len(e.ops(in, runtime.ReadScheduled)); got != 1 {
		t.Errorf("%d scheduled reads, want 1", got)
	}
	// Paused objects are not due.
	must(t, e.store.SetReadsPaused(e.ctx, e.proj.ID, in.ID, nil, true, "test"))
	e.now = e.now.Add(time.Hour)
	if n, err := e.s.Tick(e.ctx); err != nil || n != 0 {
		t.Fatalf("Tick while paused = %d, %v; want 0", n, err)
	}
}

// TestScheduleSpread checks that 400 installations on the same schedule
// get their runs spread over minutes, deterministically, never earlier
// than now and within one interval plus the spread.
func TestScheduleSpread(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seconds := map[int64]int{}
	for i := range 400 {
		in := e.install("g"+string(rune('A'+i%26))+time.Duration(i).String(), map[string]runtime.ReadConfigObject{"account": {ObjectName: "account"}})
		must(t, e.s.Reconcile(e.ctx, in))
		st, err := e.store.GetReadState(e.ctx, e.proj.ID, in.ID, "account")
		must(t, err)
		if st.NextRun.Before(e.now) || st.NextRun.After(e.now.Add(30*time.Minute+scheduler.DefaultMaxSpread)) {
			t.Fatalf("next run %s is outside [now, now+interval+spread]", st.NextRun)
		}
		seconds[st.NextRun.Unix()]++
		// The same installation and object always get the same offset.
		if err := e.s.Reconcile(e.ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	busiest := 0
	for _, n := range seconds {
		busiest = max(busiest, n)
	}
	// 400 runs over a 300-second spread: without it, all in one second.
	if len(seconds) < 200 || busiest > 8 {
		t.Errorf("400 runs fall in %d distinct seconds, at most %d in one: not spread", len(seconds), busiest)
	}
}
