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
// once a minute, by whichever search comes first; no goroutine) drops
// those. Reserving happens under the registry's lock, so a limiter is
// never dropped between a Client finding it and reserving from it.

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

// pacers is the process's registry of search limiters.
var pacers = &pacerRegistry{limiters: map[accountKey]*rate.Limiter{}}

type pacerRegistry struct {
	mu       sync.Mutex
	limiters map[accountKey]*rate.Limiter
	swept    time.Time
}

// reserve takes the account's next search slot at limit and returns it.
// A Client with a different limit for the same account (a test changing
// its fake) sets the shared limiter's limit: the last one wins.
func (p *pacerRegistry) reserve(k accountKey, limit rate.Limit, now time.Time) *rate.Reservation {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.swept) >= sweepEvery {
		p.sweep(now)
	}
	lim := p.limiters[k]
	if lim == nil {
		lim = rate.NewLimiter(limit, 1)
		p.limiters[k] = lim
	} else if lim.Limit() != limit {
		lim.SetLimitAt(now, limit)
	}
	return lim.ReserveN(now, 1)
}

// sweep drops the limiters with a full bucket. Called with p.mu held.
func (p *pacerRegistry) sweep(now time.Time) {
	for k, lim := range p.limiters {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(p.limiters, k)
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
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("hubspot: pacing search: %w", ctx.Err())
	}
}
