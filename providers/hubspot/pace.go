package hubspot

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ampforge/amp/providers"
)

// Search pacing.
//
// HubSpot limits CRM search on its own, apart from the burst window: five
// requests a second per account, answered without rate-limit headers. A
// caller pacing itself from the headers (Config.OnQuota) never learns that
// limit, overshoots it and loses a second to every 429. So the connector
// paces search itself, with one limiter per account shared by every Client
// of this process: the runtime builds a Client per job, and the jobs of
// one connection's objects read at the same time.
//
// The registry holds a limiter only while it matters: a limiter whose
// bucket is full behaves exactly as a new one would, so a sweep (at most
// once a minute, by whichever request comes first; no goroutine) drops
// those. Reserving happens under the registry's lock, so a limiter is
// never dropped between a Client finding it and reserving from it.
//
// The registry also keeps, per account, what the two-ended full read
// (fullread.go) needs to decide whether one call may send a second
// request when searches may count in the burst window (see proof.go):
// the last X-HubSpot-RateLimit-Remaining reading and when this process
// sent its requests in the last window. The engine paces calls, not
// requests; a call sending two spends a request the engine did not
// count, so that is allowed only while the window has room to spare both
// by HubSpot's reading and by this process's own rate.

// MetadataSearchPerSecond is the Config.Metadata key overriding the
// account's search limit, in requests a second, for fakes and tests whose
// search limit is not HubSpot's (the fake's Limits.SearchPerSecond); the
// Client paces at the same share of it as of HubSpot's. Zero or less turns
// pacing off (a fake without a search limit). It is not a customer
// setting: connection metadata comes from token responses and a fixed set
// of inputs, none of them this key.
const MetadataSearchPerSecond = "search_per_second"

// metaHubID is the connection metadata key of the account (portal) id,
// stored at connect time (see InspectToken).
const metaHubID = "hub_id"

const (
	// searchPerSecond is HubSpot's search limit per account.
	searchPerSecond = 5
	// searchShare is the share of the limit the connector uses. HubSpot
	// counts requests as they arrive: requests leaving exactly 200 ms
	// apart put a sixth one in some second as soon as one of them is
	// delayed in transit. At 97% six consecutive requests span 1.03 s, so
	// it takes more than 30 ms of jitter to trip the limit, for 3% of the
	// throughput.
	searchShare = 0.97
	// sweepEvery is how often the registry drops limiters that have gone
	// idle.
	sweepEvery = time.Minute
	// searchGrace is how long a full read's call waits for a search slot
	// that is nearly free rather than list. A caller paced to the burst
	// window calls about twice per search slot; without the grace a call
	// arriving a hair before the slot lists, and the next search waits a
	// whole call longer.
	searchGrace = 25 * time.Millisecond
	// A call may send a second request only while the last reading of
	// the burst window leaves more than ampleRemaining of it, and this
	// process's requests of the last window, that one included, come to
	// at most ampleRate of it over a whole window. The second rule is what
	// holds at the start of a read, when the window is still empty but
	// the engine's pace alone would fill it.
	ampleRemaining = 0.2
	ampleRate      = 0.8
	// ampleHistory is how much of a request history the rate rule needs
	// before it extrapolates one to a window.
	ampleHistory = 500 * time.Millisecond
	// defaultBurstWindow is HubSpot's burst window, until a response
	// says otherwise.
	defaultBurstWindow = 10 * time.Second
	// maxBurstLog bounds the request times kept per account, far above
	// any HubSpot window's limit.
	maxBurstLog = 4096
	// probeShare is the share of the burst window's limit a window's
	// probes may take (burstLog.probe).
	probeShare = 0.02
	// policyBurst is the policyName of the burst window's 429.
	policyBurst = "TEN_SECONDLY_ROLLING"
)

// accountKey names one HubSpot account as this process can tell it apart.
type accountKey struct {
	// base is the API host. HubSpot serves a portal from one host, so it
	// changes nothing there; it keeps fakes, each an account at its own
	// address but all with the same portal id, from sharing a pace.
	base string
	// hub is the portal id, when the connection's metadata has it.
	hub string
	// creds stands for the account when the portal id is unknown: Clients
	// built on one *http.Client share its credentials.
	creds *http.Client
}

// accountOf keys a Client's account: the portal id from the connection's
// metadata, else the credentials it was built with.
func accountOf(cfg providers.Config, base string) accountKey {
	if hub := strings.TrimSpace(cfg.Metadata[metaHubID]); hub != "" {
		return accountKey{base: base, hub: hub}
	}
	return accountKey{base: base, creds: cfg.HTTPClient}
}

// searchLimit is the pace of a Client's searches: searchShare of the
// account's limit, or rate.Inf when pacing is off.
func searchLimit(md map[string]string) (rate.Limit, error) {
	v := strings.TrimSpace(md[MetadataSearchPerSecond])
	if v == "" {
		return rate.Limit(searchPerSecond * searchShare), nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("hubspot: metadata %s=%q is not a number of requests a second", MetadataSearchPerSecond, v)
	}
	if n <= 0 {
		return rate.Inf, nil
	}
	return rate.Limit(n * searchShare), nil
}

// pacers is the process's registry of search limiters and burst logs.
var pacers = &pacerRegistry{limiters: map[accountKey]*rate.Limiter{}}

type pacerRegistry struct {
	mu       sync.Mutex
	limiters map[accountKey]*rate.Limiter
	bursts   map[accountKey]*burstLog
	swept    time.Time
}

// limiter returns the account's search limiter at limit, sweeping first
// when a sweep is due. A Client with a different limit for the same
// account (a test changing its fake) sets the shared limiter's limit: the
// last one wins. Called with p.mu held.
func (p *pacerRegistry) limiter(k accountKey, limit rate.Limit, now time.Time) *rate.Limiter {
	p.sweepIfDue(now)
	lim := p.limiters[k]
	if lim == nil {
		lim = rate.NewLimiter(limit, 1)
		p.limiters[k] = lim
	} else if lim.Limit() != limit {
		lim.SetLimitAt(now, limit)
	}
	return lim
}

// reserve takes the account's next search slot at limit and returns it.
func (p *pacerRegistry) reserve(k accountKey, limit rate.Limit, now time.Time) *rate.Reservation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limiter(k, limit, now).ReserveN(now, 1)
}

// tryReserve takes the account's next search slot only if it is free
// within grace of now; nil when it is not (nothing is taken then).
func (p *pacerRegistry) tryReserve(k accountKey, limit rate.Limit, now time.Time, grace time.Duration) *rate.Reservation {
	p.mu.Lock()
	defer p.mu.Unlock()
	lim := p.limiter(k, limit, now)
	// The tokens may be negative: other reads of the account queued for
	// slots ahead. Those go first.
	if missing := 1 - lim.TokensAt(now); missing > 0 && missing > grace.Seconds()*float64(limit) {
		return nil
	}
	return lim.ReserveN(now, 1)
}

// sweepIfDue sweeps when the last sweep is sweepEvery old. Called with
// p.mu held.
func (p *pacerRegistry) sweepIfDue(now time.Time) {
	if now.Sub(p.swept) >= sweepEvery {
		p.sweep(now)
	}
}

// sweep drops the limiters with a full bucket and the burst logs with
// neither a request nor a reading in their window. Called with p.mu held.
func (p *pacerRegistry) sweep(now time.Time) {
	for k, lim := range p.limiters {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(p.limiters, k)
		}
	}
	for k, b := range p.bursts {
		if b.trim(now); len(b.sent) == 0 && len(b.probes) == 0 && now.Sub(b.readAt) > b.period() {
			delete(p.bursts, k)
		}
	}
	p.swept = now
}

// size returns how many limiters the registry holds.
func (p *pacerRegistry) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.limiters)
}

// burst returns the account's burst log. Called with p.mu held.
func (p *pacerRegistry) burst(k accountKey, now time.Time) *burstLog {
	p.sweepIfDue(now)
	if p.bursts == nil {
		p.bursts = map[accountKey]*burstLog{}
	}
	b := p.bursts[k]
	if b == nil {
		b = &burstLog{}
		p.bursts[k] = b
	}
	return b
}

// sent notes a request the account's Clients are sending.
func (p *pacerRegistry) sent(k accountKey, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.burst(k, now)
	b.trim(now)
	if len(b.sent) == 0 {
		b.first = now
	}
	if len(b.sent) >= maxBurstLog {
		b.sent = append(b.sent[:0], b.sent[1:]...)
	}
	b.sent = append(b.sent, now)
}

// observed takes a reading of the account's burst window.
func (p *pacerRegistry) observed(k accountKey, limit, remaining int, window time.Duration, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.burst(k, now)
	b.max, b.remaining, b.window, b.readAt = limit, remaining, window, now
}

// exhausted notes a 429 without a reading (search answers carry no
// headers): nothing is ample until the next reading.
func (p *pacerRegistry) exhausted(k accountKey, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.burst(k, now)
	b.remaining, b.readAt = 0, now
}

// ample reports whether the account's burst window has room for a
// request the caller's pace does not count (see ampleRemaining).
func (p *pacerRegistry) ample(k accountKey, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.burst(k, now).ample(now)
}

// probe takes one of the account's probes, if one is left: see
// burstLog.probe.
func (p *pacerRegistry) probe(k accountKey, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.burst(k, now).probe(now)
}

// burstLog is one account's view of HubSpot's burst window.
type burstLog struct {
	// sent holds the times of the requests sent in the last window,
	// oldest first; first is the earliest since the log was last empty.
	sent  []time.Time
	first time.Time
	// The last reading of the X-HubSpot-RateLimit headers; max is zero
	// until one arrives.
	max, remaining int
	window         time.Duration
	readAt         time.Time
	// probes holds the times of the probes taken in the last window.
	probes []time.Time
}

func (b *burstLog) period() time.Duration {
	if b.window > 0 {
		return b.window
	}
	return defaultBurstWindow
}

// trim forgets the requests older than a window.
func (b *burstLog) trim(now time.Time) {
	cut := now.Add(-b.period())
	i := 0
	for i < len(b.sent) && !b.sent[i].After(cut) {
		i++
	}
	if i > 0 {
		b.sent = append(b.sent[:0], b.sent[i:]...)
	}
	// A probe's search may leave up to searchGrace after it was taken.
	i = 0
	for i < len(b.probes) && !b.probes[i].After(cut.Add(-searchGrace)) {
		i++
	}
	if i > 0 {
		b.probes = append(b.probes[:0], b.probes[i:]...)
	}
}

func (b *burstLog) ample(now time.Time) bool {
	b.trim(now)
	win := b.period()
	if b.max <= 0 || now.Sub(b.readAt) > win {
		return false
	}
	// What remains now: the reading, less what was sent since.
	left := b.remaining
	for _, t := range b.sent {
		if t.After(b.readAt) {
			left--
		}
	}
	if float64(left) <= ampleRemaining*float64(b.max) {
		return false
	}
	span := min(win, now.Sub(b.first))
	if len(b.sent) == 0 || span < ampleHistory {
		return false
	}
	projected := float64(len(b.sent)+1) * win.Seconds() / span.Seconds()
	return projected <= ampleRate*float64(b.max)
}

// probe reports whether a call may send a search beside its list before
// the Client knows whether searches count in the window (proof.go), and
// takes the probe if so. Such a search is one the engine's pace did not
// count, if HubSpot counts it: the account has probeShare of the window's
// limit of them a window (2 at 100 per 10 s, within the 3 the engine's
// pace leaves), and only while the last reading leaves more than
// ampleRemaining of the window. They let a read's first calls list and
// search at once while the proof is still to come.
func (b *burstLog) probe(now time.Time) bool {
	b.trim(now)
	if b.max <= 0 || now.Sub(b.readAt) > b.period() {
		return false
	}
	left := b.remaining
	for _, t := range b.sent {
		if t.After(b.readAt) {
			left--
		}
	}
	if float64(left) <= ampleRemaining*float64(b.max) || len(b.probes) >= int(probeShare*float64(b.max)) {
		return false
	}
	b.probes = append(b.probes, now)
	return true
}

// paceSearch waits for the account's next search slot. It gives the slot
// back and returns the context's error when ctx ends first.
func (c *Client) paceSearch(ctx context.Context) error {
	if c.searchLimit == rate.Inf {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hubspot: pacing search: %w", err)
	}
	now := time.Now()
	r := pacers.reserve(c.account, c.searchLimit, now)
	return waitSlot(ctx, r, r.DelayFrom(now))
}

// searchSlot takes the account's next search slot if it is free within
// searchGrace, and returns how long to wait for it (see waitSlot). ok is
// false when the slot is further off: nothing is taken then.
func (c *Client) searchSlot(now time.Time) (r *rate.Reservation, wait time.Duration, ok bool) {
	if c.searchLimit == rate.Inf {
		return nil, 0, true
	}
	if r = pacers.tryReserve(c.account, c.searchLimit, now, searchGrace); r == nil {
		return nil, 0, false
	}
	return r, r.DelayFrom(now), true
}

// waitSlot waits d for the reserved slot r (nil: unpaced). It gives the
// slot back and returns the context's error when ctx ends first.
func waitSlot(ctx context.Context, r *rate.Reservation, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		if r != nil {
			r.Cancel()
		}
		return fmt.Errorf("hubspot: pacing search: %w", ctx.Err())
	}
}
