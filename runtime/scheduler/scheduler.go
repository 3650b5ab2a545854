package scheduler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/engine"
)

// Defaults of Config.
const (
	DefaultTick      = time.Second
	DefaultMaxSpread = 5 * time.Minute
	dueBatch         = 500
)

// Config is what a Scheduler is built with; Store is required.
type Config struct {
	Store runtime.Store
	// Wake is called after operations were queued (the engine's Wake).
	Wake func()
	// Tick is how often due schedules are looked for.
	Tick time.Duration
	// MaxSpread caps the offset that spreads installations over a
	// schedule's interval (the offset is also at most half the interval).
	MaxSpread time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// Scheduler queues backfills and scheduled reads.
type Scheduler struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	parsed map[string]cron.Schedule
}

// New returns a Scheduler.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Store == nil {
		return nil, errors.New("scheduler: Config.Store is required")
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.MaxSpread <= 0 {
		cfg.MaxSpread = DefaultMaxSpread
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg, log: cfg.Logger.With("component", "scheduler"), parsed: map[string]cron.Schedule{}}, nil
}

// Run reconciles every installation, then queues due reads every Tick until
// ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.ReconcileAll(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reconcile installations", "err", err)
	}
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("queue scheduled reads", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ReconcileAll reconciles every installation of every project (at start:
// an installation changed while the hook failed is caught up).
func (s *Scheduler) ReconcileAll(ctx context.Context) error {
	projects, err := s.cfg.Store.ListProjects(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range projects {
		insts, err := s.cfg.Store.ListInstallations(ctx, p.ID, runtime.InstallationFilter{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, in := range insts {
			if err := s.Reconcile(ctx, in); err != nil {
				errs = append(errs, fmt.Errorf("installation %s: %w", in.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Reconcile makes the installation's read states match its config: objects
// it reads get a state (and a backfill when new), with their schedule;
// objects it no longer reads lose their schedule. The API calls it after
// every installation create and update.
func (s *Scheduler) Reconcile(ctx context.Context, in *runtime.Installation) error {
	rev, err := s.cfg.Store.GetRevision(ctx, in.ProjectID, in.IntegrationID, in.Config.RevisionID)
	if err != nil {
		return fmt.Errorf("load revision: %w", err)
	}
	integ, err := engine.DecodeIntegration(rev.Content)
	if err != nil {
		return fmt.Errorf("revision %s: %w", rev.ID, err)
	}
	now := s.cfg.Now()
	var specs []runtime.ReadStateSpec
	if in.Config.Content.Read != nil {
		for name, c := range in.Config.Content.Read.Objects {
			if c.Disabled {
				continue
			}
			obj := engine.ReadObject(integ, name)
			if obj == nil {
				s.log.Warn("installation reads an object its revision does not have", "installation", in.ID, "object", name)
				continue
			}
			spec := runtime.ReadStateSpec{ObjectName: name, Schedule: strings.TrimSpace(or(c.Schedule, obj.Schedule))}
			if spec.Schedule != "" {
				next, err := s.next(spec.Schedule, in.ID, name, now)
				if err != nil {
					return fmt.Errorf("object %s: %w", name, err)
				}
				spec.NextRun = next
			}
			spec.Backfill = s.backfill(in, name, obj, c, now)
			specs = append(specs, spec)
		}
	}
	created, err := s.cfg.Store.SyncReadStates(ctx, in.ProjectID, in.ID, specs)
	if err != nil {
		return err
	}
	if len(created) > 0 {
		s.log.Info("queued backfills", "installation", in.ID, "objects", created)
		s.cfg.Wake()
	}
	return nil
}

// backfill returns the backfill operation of a newly read object. Its
// window says how far back it reads: Since now-days, from the start of
// time for fullHistory, and the empty window (now, now] when there is no
// backfill, which reads nothing and starts incremental reads from now.
func (s *Scheduler) backfill(in *runtime.Installation, name string, obj *manifest.ReadObject, c runtime.ReadConfigObject, now time.Time) *runtime.Operation {
	op := &runtime.Operation{
		ProjectID: in.ProjectID, IntegrationID: in.IntegrationID, InstallationID: in.ID, ConfigID: in.Config.ID,
		ObjectName: name, ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill,
	}
	days, full := period(obj, c)
	switch {
	case full:
	case days > 0:
		op.Since = now.Add(-time.Duration(days) * 24 * time.Hour)
	default:
		op.Since, op.Until = now, now
	}
	return op
}

// period is the backfill period: the installation's config wins over the
// manifest's default.
func period(obj *manifest.ReadObject, c runtime.ReadConfigObject) (days int, full bool) {
	if c.Backfill != nil {
		p := c.Backfill.DefaultPeriod
		if p.FullHistory {
			return 0, true
		}
		if p.Days != nil {
			return *p.Days, false
		}
	}
	if obj.Backfill != nil && obj.Backfill.DefaultPeriod != nil {
		p := obj.Backfill.DefaultPeriod
		if p.FullHistory {
			return 0, true
		}
		if p.Days != nil {
			return *p.Days, false
		}
	}
	return 0, false
}

// Tick queues a scheduled read for every due read state and returns how
// many it queued.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	queued := 0
	defer func() {
		if queued > 0 {
			s.cfg.Wake()
		}
	}()
	for {
		now := s.cfg.Now()
		due, err := s.cfg.Store.DueReads(ctx, now, dueBatch)
		if err != nil {
			return queued, err
		}
		for _, rs := range due {
			next, err := s.next(rs.Schedule, rs.InstallationID, rs.ObjectName, now)
			if err != nil {
				// Validated at deploy; a bad stored schedule stops only
				// its own object.
				s.log.Error("bad schedule", "installation", rs.InstallationID, "object", rs.ObjectName, "err", err)
				next = now.Add(24 * time.Hour)
			}
			in, err := s.cfg.Store.GetInstallation(ctx, rs.ProjectID, rs.InstallationID)
			if err != nil {
				return queued, err
			}
			op := &runtime.Operation{
				ProjectID: rs.ProjectID, IntegrationID: rs.IntegrationID, InstallationID: rs.InstallationID,
				ConfigID: in.Config.ID, ObjectName: rs.ObjectName, ActionType: runtime.ActionRead, ReadType: runtime.ReadScheduled,
			}
			created, err := s.cfg.Store.ScheduleRead(ctx, rs.ProjectID, rs.InstallationID, rs.ObjectName, next, op)
			if err != nil {
				return queued, err
			}
			if created {
				queued++
			}
		}
		if len(due) < dueBatch {
			return queued, nil
		}
	}
}

// next returns the next run of schedule after now, shifted by the
// installation and object's spread offset.
func (s *Scheduler) next(schedule, installationID, object string, now time.Time) (time.Time, error) {
	sched, err := s.parse(schedule)
	if err != nil {
		return time.Time{}, err
	}
	first := sched.Next(now)
	interval := sched.Next(first).Sub(first)
	spread := min(s.cfg.MaxSpread, interval/2)
	var offset time.Duration
	if spread > 0 {
		h := fnv.New64a()
		h.Write([]byte(installationID))
		h.Write([]byte{0})
		h.Write([]byte(object))
		offset = time.Duration(h.Sum64() % uint64(spread))
	}
	return sched.Next(now.Add(-offset)).Add(offset), nil
}

func (s *Scheduler) parse(schedule string) (cron.Schedule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.parsed[schedule]; ok {
		return c, nil
	}
	c, err := cron.ParseStandard(schedule)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", schedule, err)
	}
	if len(s.parsed) > 10_000 {
		clear(s.parsed)
	}
	s.parsed[schedule] = c
	return c, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
