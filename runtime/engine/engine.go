package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
)

// Connectors builds a connection's connector, authenticated as the
// connection, with onQuota receiving the provider's rate-limit readings.
// *introspect.Service implements it.
type Connectors interface {
	ConnectorWithQuota(ctx context.Context, conn *runtime.Connection, onQuota func(providers.Quota)) (providers.Connector, error)
}

// WriteRunner runs asynchronous write operations; runtime/write implements
// it. The engine claims the operation, keeps its lease alive and writes the
// end the runner returns.
type WriteRunner interface {
	// RunWrite runs one claimed write operation (op.ActionType is
	// runtime.ActionWrite) and returns how it ends; the engine fills in
	// the lease. It may commit progress with Store.CommitPage under lease.
	// ctx ends when the engine stops or the lease was lost: the runner then
	// returns promptly and its end is not written.
	RunWrite(ctx context.Context, op *runtime.Operation, lease runtime.Lease) runtime.OperationEnd
}

// Defaults of Config.
const (
	DefaultWorkers         = 4
	DefaultLease           = time.Minute
	DefaultPollInterval    = time.Second
	DefaultPageSize        = 2000
	DefaultPageAttempts    = 6
	DefaultOperationTries  = 5
	DefaultRetryBase       = 250 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	DefaultOverlap         = 5 * time.Minute
	DefaultRateShare       = 0.97
	DefaultDailyShare      = 0.8
	DefaultBulkThreshold   = 50_000
	DefaultBudgetRetry     = time.Hour
	DefaultMaxRecentWindow = 20_000
)

// Config is what an Engine is built with. Store and Connectors are
// required; every other field has a default.
type Config struct {
	Store      runtime.Store
	Connectors Connectors
	// Writes runs asynchronous write operations; nil fails them.
	Writes WriteRunner
	// Delivered is called after a commit added messages to the outbox
	// (delivery's Notify), so they leave at once rather than at the next
	// poll.
	Delivered func()
	// Owner names this engine in leases (default: host, pid and a random
	// suffix).
	Owner string
	// Workers is how many operations run at once.
	Workers int
	// Lease is how long a claim lasts without a commit; a worker that
	// stalls longer loses its operation to another.
	Lease time.Duration
	// PollInterval is how often idle workers look for operations.
	PollInterval time.Duration
	// PageSize is the page size asked of providers (and the Bulk chunk
	// size).
	PageSize int
	// MaxMessageBytes caps one webhook message (default 300 KB).
	MaxMessageBytes int
	// PageAttempts is how many times a failing page is tried before the
	// operation is released for a later retry; OperationTries is how many
	// such releases end the operation as failed.
	PageAttempts   int
	OperationTries int
	// RetryBase and RetryMax bound the jittered exponential back-off.
	RetryBase, RetryMax time.Duration
	// Overlap is how far before the watermark an incremental read starts,
	// to catch changes that became visible late; records already
	// delivered are skipped.
	Overlap time.Duration
	// MaxRecent caps how many records within Overlap of the watermark a
	// read remembers to skip next time. Past it, the newest are kept and
	// the next read starts after the newest one forgotten instead of a
	// full Overlap back: a mass update is not delivered twice, at the cost
	// of a shorter overlap for that one read.
	MaxRecent int
	// RateShare is the share of a provider's short-window rate the engine
	// uses (default 0.97: against HubSpot's rolling 10-second window, 0.97
	// and 0.98 of 100 and 190 requests drew no 429 where 1.0 did; see
	// BENCHMARKS.md); DailyShare the share of a daily allocation after
	// which reads stop until BudgetRetry later.
	RateShare, DailyShare float64
	BudgetRetry           time.Duration
	// BulkThreshold is the record count above which a backfill uses the
	// provider's bulk API when it has one (negative: never).
	BulkThreshold int
	Now           func() time.Time
	Logger        *slog.Logger
}

// Engine runs read operations. Create it with New and start it with Run.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	pacers pacers
	wake   chan struct{}
	revs   revisionCache
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Connectors == nil {
		return nil, errors.New("engine: Config.Store and Config.Connectors are required")
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Workers, DefaultWorkers)
	def(&cfg.PageSize, DefaultPageSize)
	def(&cfg.MaxMessageBytes, DefaultMaxMessageBytes)
	def(&cfg.PageAttempts, DefaultPageAttempts)
	def(&cfg.OperationTries, DefaultOperationTries)
	def(&cfg.MaxRecent, DefaultMaxRecentWindow)
	if cfg.BulkThreshold == 0 {
		cfg.BulkThreshold = DefaultBulkThreshold
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defd(&cfg.Lease, DefaultLease)
	defd(&cfg.PollInterval, DefaultPollInterval)
	defd(&cfg.RetryBase, DefaultRetryBase)
	defd(&cfg.RetryMax, DefaultRetryMax)
	defd(&cfg.Overlap, DefaultOverlap)
	defd(&cfg.BudgetRetry, DefaultBudgetRetry)
	if cfg.RateShare <= 0 || cfg.RateShare > 1 {
		cfg.RateShare = DefaultRateShare
	}
	if cfg.DailyShare <= 0 || cfg.DailyShare > 1 {
		cfg.DailyShare = DefaultDailyShare
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Delivered == nil {
		cfg.Delivered = func() {}
	}
	return &Engine{
		cfg: cfg, log: cfg.Logger.With("component", "engine"),
		pacers: pacers{share: cfg.RateShare, daily: cfg.DailyShare},
		wake:   make(chan struct{}, 1),
	}, nil
}

// Wake makes an idle worker look for operations now (a read was just
// queued).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run runs the workers until ctx ends, then waits for them: an operation
// cut short keeps its checkpoint and is resumed by the next claim.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range e.cfg.Workers {
		// Each worker holds leases under its own name, so a worker that
		// stalled past its lease cannot commit over the one that took the
		// operation over, even within one engine.
		owner := fmt.Sprintf("%s/%d", e.cfg.Owner, i)
		wg.Go(func() { e.worker(ctx, owner) })
	}
	wg.Wait()
	return nil
}

func (e *Engine) worker(ctx context.Context, owner string) {
	t := time.NewTicker(e.cfg.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		op, err := e.cfg.Store.ClaimOperation(ctx, owner, e.cfg.Now(), e.cfg.Lease)
		switch {
		case err == nil:
			e.run(ctx, op, owner)
			// Another operation may be waiting: pass the wake-up on.
			e.Wake()
			continue
		case runtime.ErrorCode(err) != runtime.ENOTFOUND && ctx.Err() == nil:
			e.log.Error("claim an operation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-t.C:
		}
	}
}

// RunOnce claims and runs operations until none is due, then returns. Tests
// and `amp demo --once` use it to drive the engine step by step.
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	n := 0
	owner := e.cfg.Owner + "/once"
	for {
		op, err := e.cfg.Store.ClaimOperation(ctx, owner, e.cfg.Now(), e.cfg.Lease)
		if runtime.ErrorCode(err) == runtime.ENOTFOUND {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		e.run(ctx, op, owner)
		n++
	}
}

// backoff returns the jittered exponential delay before attempt n (1-based).
func (e *Engine) backoff(n int) time.Duration {
	return Backoff(e.cfg.RetryBase, e.cfg.RetryMax, n)
}

// Backoff returns the jittered exponential delay before attempt n
// (1-based): base doubled per attempt up to most, then a random point in
// its upper half, so that it is never zero and retries of many operations
// do not fall in lock-step. Other retry loops (the Write API's) share it.
func Backoff(base, most time.Duration, n int) time.Duration {
	d := float64(base) * math.Pow(2, float64(n-1))
	if d > float64(most) {
		d = float64(most)
	}
	return time.Duration(d/2 + mrand.Float64()*d/2)
}
