package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/server"
)

// The scheduler scenario: scheduleInstalls installations, each with its
// own connection and two objects read every ten minutes (the most often
// manifests allow), on one SQLite node, measured for scheduleWindow after
// they are all installed. The scheduler's clock runs scheduleSpeed times
// faster than the wall clock, so one ten-minute cycle (every read due
// once) fits in the window: the load is that of a two-minute schedule.
const (
	scheduleInstalls = 10_000
	scheduleSpeed    = 5
	scheduleWindow   = 10 * time.Minute / scheduleSpeed
	scheduleSetup    = 16 // API calls in flight while installing
)

const scheduleManifest = `specVersion: 1.0.0
integrations:
  - name: benchSchedule
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: crmWebhook
          schedule: "*/10 * * * *"
          requiredFields:
            - fieldName: name
          backfill:
            defaultPeriod:
              days: 0
        - objectName: contact
          destination: crmWebhook
          schedule: "*/10 * * * *"
          requiredFields:
            - fieldName: lastname
          backfill:
            defaultPeriod:
              days: 0
`

// lagStore sits between the scheduler and the store: it notes when each
// due read state was due (DueReads) and, when the scheduler queues its read
// (ScheduleRead), how late that is. The scheduler itself is unchanged.
type lagStore struct {
	runtime.Store
	measuring atomic.Bool
	// start is when the scheduler's sped-up clock starts; from is when
	// measuring started on that clock: reads due before it were due while
	// installations were still being created, and are not counted.
	start time.Time
	from  time.Time

	mu     sync.Mutex
	due    map[string]time.Time
	lags   []time.Duration
	queued int
}

// now is the scheduler's clock: scheduleSpeed times the wall clock's pace
// since start.
func (s *lagStore) now() time.Time {
	return s.start.Add(time.Since(s.start) * scheduleSpeed)
}

func (s *lagStore) DueReads(ctx context.Context, now time.Time, limit int) ([]*runtime.ReadState, error) {
	states, err := s.Store.DueReads(ctx, now, limit)
	s.mu.Lock()
	for _, rs := range states {
		s.due[rs.InstallationID+"\x00"+rs.ObjectName] = rs.NextRun
	}
	s.mu.Unlock()
	return states, err
}

func (s *lagStore) ScheduleRead(ctx context.Context, projectID, installationID, objectName string, nextRun time.Time, op *runtime.Operation) (bool, error) {
	created, err := s.Store.ScheduleRead(ctx, projectID, installationID, objectName, nextRun, op)
	if err != nil || !s.measuring.Load() {
		return created, err
	}
	now := s.now()
	s.mu.Lock()
	if due, ok := s.due[installationID+"\x00"+objectName]; ok && !due.Before(s.from) {
		// Back to wall-clock time.
		s.lags = append(s.lags, now.Sub(due)/scheduleSpeed)
	}
	if created {
		s.queued++
	}
	s.mu.Unlock()
	return created, err
}

// scheduleResult is the scheduler scenario's measurement.
type scheduleResult struct {
	Installations int     `json:"installations"`
	SetupSeconds  float64 `json:"setup_seconds"`
	Due           int     `json:"due"`
	LagP50Ms      float64 `json:"lag_p50_ms"`
	LagP99Ms      float64 `json:"lag_p99_ms"`
	QueuedPerSec  float64 `json:"queued_per_sec"`
	JobsPerSec    float64 `json:"jobs_per_sec"`
	DBSizeMB      float64 `json:"db_size_mb"`
}

// runSchedule installs the scenario's installations, then measures the
// scheduler for scheduleWindow.
func runSchedule(ctx context.Context, srv *server.Server, api *apiClient, ls *lagStore, dir string, spec childSpec, integID string) (runResult, error) {
	start := time.Now()
	work := make(chan int)
	errs := make(chan error, scheduleSetup)
	var wg sync.WaitGroup
	for range scheduleSetup {
		wg.Go(func() {
			for i := range work {
				if err := install(ctx, api, spec, integID, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
feed:
	for i := range scheduleInstalls {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return runResult{}, err
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return runResult{}, err
	default:
	}
	setup := time.Since(start)

	store := srv.Store()
	p, err := store.GetProjectByName(ctx, server.DefaultProject)
	if err != nil {
		return runResult{}, fmt.Errorf("project: %w", err)
	}
	before, err := doneScheduled(ctx, store, p.ID)
	if err != nil {
		return runResult{}, err
	}
	ls.mu.Lock()
	ls.from = ls.now()
	ls.mu.Unlock()
	ls.measuring.Store(true)
	windowStart := time.Now()
	select {
	case <-ctx.Done():
		return runResult{}, ctx.Err()
	case <-time.After(scheduleWindow):
	}
	ls.measuring.Store(false)
	window := time.Since(windowStart)
	after, err := doneScheduled(ctx, store, p.ID)
	if err != nil {
		return runResult{}, err
	}
	ls.mu.Lock()
	lags := slices.Clone(ls.lags)
	queued := ls.queued
	ls.mu.Unlock()
	slices.Sort(lags)
	res := scheduleResult{Installations: scheduleInstalls, SetupSeconds: setup.Seconds(), Due: len(lags),
		QueuedPerSec: float64(queued) / window.Seconds(), JobsPerSec: float64(after-before) / window.Seconds()}
	if len(lags) > 0 {
		res.LagP50Ms = float64(lags[len(lags)*50/100].Microseconds()) / 1000
		res.LagP99Ms = float64(lags[min(len(lags)*99/100, len(lags)-1)].Microseconds()) / 1000
	}
	for _, name := range []string{server.DBFileName, server.DBFileName + "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			res.DBSizeMB += float64(fi.Size()) / (1 << 20)
		}
	}
	rss, err := peakRSS()
	if err != nil {
		return runResult{}, err
	}
	return runResult{Records: int64(len(lags)), Seconds: window.Seconds(), PeakRSSMB: rss, Schedule: &res}, nil
}

// install creates installation i: its own group and connection.
func install(ctx context.Context, api *apiClient, spec childSpec, integID string, i int) error {
	group := fmt.Sprintf("group-%05d", i)
	var conn struct{ ID string }
	gen := connectionBody(spec.Scenario, spec)
	gen["groupRef"] = group
	if err := api.call(ctx, 201, "POST", project+"/connections:generate", gen, &conn); err != nil {
		return err
	}
	return api.call(ctx, 201, "POST", project+"/integrations/"+integID+"/installations?skipSampling=true", map[string]any{
		"groupRef": group, "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": "salesforce", "read": map[string]any{"objects": map[string]any{
			"account": map[string]any{"objectName": "account"}, "contact": map[string]any{"objectName": "contact"}}}}},
	}, nil)
}

// doneScheduled counts the scheduled reads that ended.
func doneScheduled(ctx context.Context, store runtime.Store, projectID string) (int, error) {
	n := 0
	for _, st := range []runtime.OperationStatus{runtime.OperationSuccess, runtime.OperationFailure} {
		ops, err := store.ListOperations(ctx, projectID, runtime.OperationFilter{ReadType: runtime.ReadScheduled, Status: st, Limit: 1_000_000})
		if err != nil {
			return 0, fmt.Errorf("list operations: %w", err)
		}
		n += len(ops)
	}
	return n, nil
}
