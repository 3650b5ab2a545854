package fakekit

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Faults injects latency and failures into a fake's data API. Providers
// differ in how they refuse, so the fake supplies the responses; Faults
// decides when.
type Faults struct {
	// Latency delays every data request (a realistic 100 ms makes
	// throughput figures meaningful).
	Latency time.Duration
	// FailRate is the fraction of data requests answered with a 5xx.
	FailRate float64
	// MalformedRate is the fraction of successful data responses whose
	// body is cut in half, as a dropped connection would leave it.
	MalformedRate float64
	// BurstEvery and BurstLength inject 429 bursts: after every BurstEvery
	// requests served, the next BurstLength are refused as rate-limited
	// (retry after one second).
	BurstEvery, BurstLength int

	mu         sync.Mutex
	rng        *rand.Rand
	throttle   int
	retryAfter time.Duration

	// Requests counts data requests served (including refused ones).
	Requests atomic.Int64
}

// NewFaults returns fault injection with a deterministic random source.
func NewFaults(seed uint64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Throttle makes the next n data requests get the provider's rate-limit
// answer with the given retry-after.
func (f *Faults) Throttle(n int, retryAfter time.Duration) {
	f.mu.Lock()
	f.throttle, f.retryAfter = n, retryAfter
	f.mu.Unlock()
}

// MaxBodyBytes caps a data request's body, so a fake listening on a shared
// address cannot be made to buffer without bound. Salesforce's bulk ingest
// allows 150 MB; the fake needs less.
const MaxBodyBytes = 64 << 20

// Responses are a provider's own ways of refusing.
type Responses struct {
	// RateLimited writes the provider's rate-limit response.
	RateLimited func(w http.ResponseWriter, r *http.Request, retryAfter time.Duration)
	// ServerError writes the provider's 5xx response.
	ServerError func(w http.ResponseWriter, r *http.Request)
}

// Wrap returns next with latency and faults applied.
func (f *Faults) Wrap(next http.Handler, resp Responses) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.Requests.Add(1) - 1
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		// The fate of a request is decided on arrival, under one lock, so
		// bursts and Throttle land on the right requests however many run
		// at once; the latency follows.
		f.mu.Lock()
		burst := f.BurstEvery > 0 && f.BurstLength > 0 && n%int64(f.BurstEvery+f.BurstLength) >= int64(f.BurstEvery)
		throttled, retryAfter := burst || f.throttle > 0, f.retryAfter
		if burst {
			retryAfter = time.Second
		} else if throttled {
			f.throttle--
		}
		fail := !throttled && f.FailRate > 0 && f.rng.Float64() < f.FailRate
		malformed := !throttled && !fail && f.MalformedRate > 0 && f.rng.Float64() < f.MalformedRate
		f.mu.Unlock()
		// The latency is the time to the response's first byte, as a
		// provider's latency is: the fake's own work (querying its store,
		// encoding a page) happens within it, not on top of it, so a
		// client's throughput is bounded by the latency set and nothing
		// else.
		due := time.Now().Add(f.Latency)
		switch {
		case throttled, fail:
			if !waitUntil(r, due) {
				return
			}
			if throttled {
				resp.RateLimited(w, r, retryAfter)
			} else {
				resp.ServerError(w, r)
			}
		case malformed:
			rec := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			if !waitUntil(r, due) {
				return
			}
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes()[:rec.body.Len()/2])
		default:
			lw := &lateWriter{ResponseWriter: w, r: r, due: due}
			next.ServeHTTP(lw, r)
			lw.wait() // a response with no body is late too
		}
	})
}

// waitUntil waits until due; false if the client went away first.
func waitUntil(r *http.Request, due time.Time) bool {
	d := time.Until(due)
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// lateWriter holds a response's first byte until its due time.
type lateWriter struct {
	http.ResponseWriter
	r       *http.Request
	due     time.Time
	started bool
	gone    bool
}

func (l *lateWriter) wait() bool {
	if !l.started {
		l.started = true
		l.gone = !waitUntil(l.r, l.due)
	}
	return !l.gone
}

func (l *lateWriter) WriteHeader(status int) {
	if l.wait() {
		l.ResponseWriter.WriteHeader(status)
	}
}

func (l *lateWriter) Write(p []byte) (int, error) {
	if !l.wait() {
		return 0, l.r.Context().Err()
	}
	return l.ResponseWriter.Write(p)
}

// Flush passes streaming (Salesforce's bulk results) through.
func (l *lateWriter) Flush() {
	if f, ok := l.ResponseWriter.(http.Flusher); ok && l.wait() {
		f.Flush()
	}
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

// Window counts requests in a fixed window (HubSpot's 10 seconds,
// Dynamics' 5 minutes, Salesforce's day) on the wall clock.
type Window struct {
	Limit  int
	Period time.Duration
	// Now is the time source; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	start time.Time
	used  int
}

// Take counts one request. It returns whether the request is allowed, the
// count in the window including it, and how long until the window resets.
func (w *Window) Take() (ok bool, used int, reset time.Duration) {
	if w == nil || w.Limit <= 0 {
		return true, 0, 0
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.start.IsZero() || now.Sub(w.start) >= w.Period {
		w.start, w.used = now, 0
	}
	reset = w.Period - now.Sub(w.start)
	if w.used >= w.Limit {
		return false, w.used, reset
	}
	w.used++
	return true, w.used, reset
}

// Used returns the count in the current window.
func (w *Window) Used() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.used
}
