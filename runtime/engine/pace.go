package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ampforge/amp/providers"
)

// pacer keeps one connection under its provider's limits. Every operation
// on the connection shares it, so three objects read at once still add up
// to one request rate.
//
// Short windows (HubSpot's 10-second burst, Dynamics' 5-minute window) set
// a token bucket to a safety share of the advertised rate, from the first
// response on: after the first window a long read should never see a 429.
// Daily allocations (Salesforce's rolling 24 hours, HubSpot's daily quota)
// are a budget: once the connection has used DailyShare of it, reads stop
// until the next day rather than starve the customer's other integrations.
type pacer struct {
	share float64 // of a short window's rate
	daily float64 // share of a daily allocation reads may use

	mu          sync.Mutex
	limiter     *rate.Limiter
	window      time.Duration
	windowLimit int
	blockUntil  time.Time
	dailyUsed   int
	dailyLimit  int
	dailySource string
}

func newPacer(share, daily float64) *pacer {
	return &pacer{share: share, daily: daily, limiter: rate.NewLimiter(rate.Inf, 1)}
}

// observe takes one rate-limit reading.
func (p *pacer) observe(q providers.Quota) {
	if q.Limit <= 0 || q.Window <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if q.Window >= 12*time.Hour {
		p.dailyUsed, p.dailyLimit, p.dailySource = q.Used, q.Limit, q.Source
		return
	}
	if q.Source == "x-ms-ratelimit-time-remaining-xrm-requests" {
		// Dynamics' execution-time budget is not a request count.
		return
	}
	if q.Window == p.window && q.Limit == p.windowLimit {
		return
	}
	p.window, p.windowLimit = q.Window, q.Limit
	perSecond := float64(q.Limit) / q.Window.Seconds() * p.share
	// A burst of one spreads requests evenly: a bucket that starts full
	// would spend the window's allowance at once and meet the limit.
	p.limiter.SetLimit(rate.Limit(perSecond))
	p.limiter.SetBurst(1)
}

// throttled makes every request on the connection wait until until (a
// provider's Retry-After).
func (p *pacer) throttled(until time.Time) {
	p.mu.Lock()
	if until.After(p.blockUntil) {
		p.blockUntil = until
	}
	p.mu.Unlock()
}

// overBudget returns a reason when the connection used its share of a daily
// allocation.
func (p *pacer) overBudget() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dailyLimit <= 0 || p.daily <= 0 {
		return ""
	}
	if float64(p.dailyUsed) >= p.daily*float64(p.dailyLimit) {
		return fmt.Sprintf("the connection used %d of its daily allocation of %d API requests (%s); reads stop at %.0f%% and resume later",
			p.dailyUsed, p.dailyLimit, p.dailySource, p.daily*100)
	}
	return ""
}

// wait blocks until the next request may go.
func (p *pacer) wait(ctx context.Context, now func() time.Time) error {
	p.mu.Lock()
	until := p.blockUntil
	p.mu.Unlock()
	if err := sleep(ctx, until.Sub(now())); err != nil {
		return err
	}
	return p.limiter.Wait(ctx)
}

// sleep waits d (nothing when d <= 0), or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pacers holds one pacer per connection.
type pacers struct {
	share, daily float64
	mu           sync.Mutex
	m            map[string]*pacer
}

func (ps *pacers) get(connectionID string) *pacer {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*pacer{}
	}
	p := ps.m[connectionID]
	if p == nil {
		p = newPacer(ps.share, ps.daily)
		ps.m[connectionID] = p
	}
	return p
}
