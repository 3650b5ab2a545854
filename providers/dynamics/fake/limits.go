package fake

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Service protection.
//
// Dataverse limits each user, on each web server, in three ways
// (learn.microsoft.com/power-apps/developer/data-platform/api-limits):
//
//   - the number of requests in the preceding 300 seconds (a sliding
//     window, not a fixed one): 6,000 by default, error 0x80072322;
//   - the combined execution time of those requests: 20 minutes
//     (1,200,000 ms) per 300 seconds, error 0x80072321;
//   - the number of requests in flight at once: 52, error 0x80072326.
//
// The first two engage only once they are exceeded: the request that
// reaches the limit is served, the ones after it get 429 with Retry-After
// until enough of the window has slid past. The concurrency limit refuses
// at once. A user who keeps sending while throttled has the penalty
// extended: every refused request pushes the end of the penalty further
// (Options.ThrottlePenalty each, at most one window period ahead). The
// size of that extension is the fake's choice; Microsoft documents only
// that it happens.
//
// The fake has one web server, so "per user, per web server" is per user:
// per access token subject (every token Issue and the consent page hand
// out belongs to admin@{Org}.onmicrosoft.com; a test can issue tokens for
// other subjects through Kit().Tokens).
//
// Execution time is modelled, not measured: each request costs
// Options.Cost.PerRequest, charged when it arrives, plus Cost.PerRecord for
// every record it returns or writes, charged when it ends. The defaults
// (DefaultCost) put a 5,000-row page at about one server-second, so the
// budget binds a full-speed 5,000-row reader at about 20,000 rows/s per
// user, the ceiling §4.3 of the provider notes derives, and a normal test
// never comes near it.
//
// Windows run on the wall clock, so benchmarks measure real rates, unless
// Options.LimitClock puts them on the fake's clock (Advance moves them), so
// tests of the limits are deterministic.
//
// Every answer past authentication carries the debug headers
// x-ms-ratelimit-burst-remaining-xrm-requests (requests left in the window,
// after this one: 5999 on a fresh window) and
// x-ms-ratelimit-time-remaining-xrm-requests (execution seconds left
// before this request, whose cost is known only once it is served, in
// Dataverse's format: "1,200.00" on a fresh window, then "1,199.46"...).

// Service-protection error codes, as the Web API reports them.
const (
	CodeRequestLimit     = "0x80072322" // number of requests
	CodeExecTimeLimit    = "0x80072321" // combined execution time
	CodeConcurrencyLimit = "0x80072326" // concurrent requests
)

// Default execution-time budget and penalty.
const (
	// DefaultExecTime is the combined execution-time budget per window.
	DefaultExecTime = 20 * time.Minute
	// DefaultThrottlePenalty is how much each request sent while throttled
	// lengthens the penalty.
	DefaultThrottlePenalty = 2 * time.Second
	// ConcurrencyRetryAfter is the Retry-After of a concurrency refusal.
	ConcurrencyRetryAfter = time.Second
)

// DefaultCost is the execution-time model: about one server-second for a
// 5,000-row page.
var DefaultCost = Cost{PerRequest: 20 * time.Millisecond, PerRecord: 200 * time.Microsecond}

// Cost is the modelled execution time of a request.
type Cost struct {
	// PerRequest is charged for every request that passes the limits.
	PerRequest time.Duration
	// PerRecord is charged for every record a request returns (a query
	// page, a retrieve) or writes (a create, update, upsert or delete,
	// inside $batch too).
	PerRecord time.Duration
}

// limiter applies the service-protection limits.
type limiter struct {
	now      func() time.Time
	period   time.Duration
	requests int           // per window; 0 = off
	execTime time.Duration // per window; 0 = off
	conc     int           // in flight; 0 = off
	cost     Cost
	penalty  time.Duration // per request sent while throttled; 0 = none

	mu    sync.Mutex
	users map[string]*userLimits
}

// userLimits is one user's state.
type userLimits struct {
	requests sliding // requests, one per served request
	exec     sliding // modelled execution time, in nanoseconds
	inFlight int
	// until is when the current penalty ends; code says which limit
	// caused it.
	until time.Time
	code  string
}

func newLimiter(opts Options, now func() time.Time) *limiter {
	l := &limiter{now: now, users: map[string]*userLimits{}}
	l.period = opts.Limits.WindowPeriod
	if l.period <= 0 {
		l.period = DefaultWindowPeriod
	}
	l.requests = orLimit(opts.Limits.Window, DefaultWindow)
	l.conc = orLimit(opts.Limits.Concurrency, DefaultConcurrency)
	switch {
	case opts.ExecTime < 0:
	case opts.ExecTime == 0:
		l.execTime = DefaultExecTime
	default:
		l.execTime = opts.ExecTime
	}
	l.cost = opts.Cost
	if l.cost == (Cost{}) {
		l.cost = DefaultCost
	}
	switch {
	case opts.ThrottlePenalty < 0:
	case opts.ThrottlePenalty == 0:
		l.penalty = DefaultThrottlePenalty
	default:
		l.penalty = opts.ThrottlePenalty
	}
	return l
}

func orLimit(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func (l *limiter) user(subject string) *userLimits {
	u := l.users[subject]
	if u == nil {
		// Merge entries closer together than a thousandth of the window,
		// which bounds memory at any request rate; on the fake's clock
		// merged entries share one instant, so nothing is approximated.
		g := l.period / 1000
		u = &userLimits{requests: sliding{granule: g}, exec: sliding{granule: g}}
		l.users[subject] = u
	}
	return u
}

// refusal is a service-protection 429.
type refusal struct {
	code, message string
	retryAfter    time.Duration
}

// admission is the outcome of admit.
type admission struct {
	refused *refusal
	// burst and time are the debug header values; empty when that limit
	// is off.
	burst, time string
	// done must be called once the request has been served (not after a
	// refusal), with the number of records it returned or wrote.
	done func(records int)
}

// admit applies the limits to one request of subject.
func (l *limiter) admit(subject string) admission {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	u := l.user(subject)
	u.requests.prune(now, l.period)
	u.exec.prune(now, l.period)
	var a admission
	switch {
	case l.conc > 0 && u.inFlight >= l.conc:
		// Refused at once, and not counted: it was never executed.
		a.refused = &refusal{code: CodeConcurrencyLimit, message: fmt.Sprintf("Number of concurrent requests exceeded the limit of %d.", l.conc), retryAfter: ConcurrencyRetryAfter}
	case now.Before(u.until):
		// Still throttled: sending anyway extends the penalty.
		if l.penalty > 0 {
			u.until = minTime(u.until.Add(l.penalty), now.Add(l.period))
		}
		a.refused = &refusal{code: u.code, message: l.message(u.code), retryAfter: u.until.Sub(now)}
	case l.requests > 0 && u.requests.total >= int64(l.requests):
		u.until, u.code = now.Add(u.requests.wait(now, l.period, int64(l.requests))), CodeRequestLimit
		a.refused = &refusal{code: u.code, message: l.message(u.code), retryAfter: u.until.Sub(now)}
	case l.execTime > 0 && u.exec.total >= int64(l.execTime):
		u.until, u.code = now.Add(u.exec.wait(now, l.period, int64(l.execTime))), CodeExecTimeLimit
		a.refused = &refusal{code: u.code, message: l.message(u.code), retryAfter: u.until.Sub(now)}
	}
	if l.execTime > 0 {
		a.time = formatSeconds(max(l.execTime-time.Duration(u.exec.total), 0))
	}
	if a.refused == nil {
		if l.requests > 0 {
			u.requests.add(now, 1)
		}
		if l.execTime > 0 {
			u.exec.add(now, int64(l.cost.PerRequest))
		}
		if l.conc > 0 {
			u.inFlight++
		}
		a.done = func(records int) { l.finish(u, records) }
	}
	if l.requests > 0 {
		a.burst = strconv.FormatInt(max(int64(l.requests)-u.requests.total, 0), 10)
	}
	return a
}

// finish ends a served request: it leaves the in-flight count and is
// charged for its records.
func (l *limiter) finish(u *userLimits, records int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conc > 0 {
		u.inFlight--
	}
	if l.execTime > 0 && records > 0 && l.cost.PerRecord > 0 {
		u.exec.add(l.now(), int64(records)*int64(l.cost.PerRecord))
	}
}

// message is Dataverse's text for a limit code, with the limits in force.
func (l *limiter) message(code string) string {
	secs := int(l.period / time.Second)
	switch code {
	case CodeRequestLimit:
		return requestLimitMessage(l.requests, l.period)
	case CodeExecTimeLimit:
		return fmt.Sprintf("Combined execution time of incoming requests exceeded limit of %s milliseconds over time window of %d seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.", group(l.execTime.Milliseconds()), secs)
	}
	return fmt.Sprintf("Number of concurrent requests exceeded the limit of %d.", l.conc)
}

func requestLimitMessage(limit int, period time.Duration) string {
	return fmt.Sprintf("Number of requests exceeded the limit of %d over time window of %d seconds.", limit, int(period/time.Second))
}

// remaining returns the requests and execution time left in subject's
// window now, for tests and tools.
func (l *limiter) remaining(subject string) (requests int, exec time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	u := l.user(subject)
	u.requests.prune(now, l.period)
	u.exec.prune(now, l.period)
	return max(l.requests-int(u.requests.total), 0), max(l.execTime-time.Duration(u.exec.total), 0)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sliding sums values over a sliding window: entries in time order, the
// ones older than the window pruned from the front.
type sliding struct {
	granule time.Duration
	entries []entry
	head    int
	total   int64
}

type entry struct {
	at time.Time
	v  int64
}

// add records v at now, merging it into the latest entry when that is less
// than a granule older.
func (s *sliding) add(now time.Time, v int64) {
	s.total += v
	if n := len(s.entries); n > s.head && now.Sub(s.entries[n-1].at) < max(s.granule, 1) && !now.Before(s.entries[n-1].at) {
		s.entries[n-1].v += v
		return
	}
	s.entries = append(s.entries, entry{at: now, v: v})
}

// prune drops the entries that left the window (at or before now-period).
func (s *sliding) prune(now time.Time, period time.Duration) {
	for s.head < len(s.entries) && !s.entries[s.head].at.Add(period).After(now) {
		s.total -= s.entries[s.head].v
		s.head++
	}
	if s.head > 64 && s.head*2 > len(s.entries) {
		s.entries = append(s.entries[:0], s.entries[s.head:]...)
		s.head = 0
	}
}

// wait is how long until the total drops below limit as entries leave the
// window.
func (s *sliding) wait(now time.Time, period time.Duration, limit int64) time.Duration {
	total := s.total
	for _, e := range s.entries[s.head:] {
		total -= e.v
		if total < limit {
			return max(e.at.Add(period).Sub(now), 0)
		}
	}
	return period
}

// formatSeconds writes a duration as Dataverse's time header does: seconds
// with two decimals and a thousands separator ("1,199.46").
func formatSeconds(d time.Duration) string {
	cents := int64(math.Floor(d.Seconds()*100 + 1e-9))
	return group(cents/100) + "." + fmt.Sprintf("%02d", cents%100)
}

// group writes n with comma thousands separators.
func group(n int64) string {
	if n < 0 {
		return "-" + group(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// usage counts the records one request returns or writes, for the
// execution-time charge. A request is handled by one goroutine, so it
// needs no lock.
type usage struct{ records int }

func (u *usage) add(n int) {
	if u != nil {
		u.records += n
	}
}

type usageKey struct{}

func usageFrom(ctx context.Context) *usage {
	u, _ := ctx.Value(usageKey{}).(*usage)
	return u
}

// setLimitHeaders writes the debug headers of an admission.
func setLimitHeaders(h http.Header, a admission) {
	if a.burst != "" {
		h.Set("x-ms-ratelimit-burst-remaining-xrm-requests", a.burst)
	}
	if a.time != "" {
		h.Set("x-ms-ratelimit-time-remaining-xrm-requests", a.time)
	}
}
