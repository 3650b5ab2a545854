package hubspot_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
)

// The two-ended full read's tests run in synctest bubbles against a fake
// served in memory, like the pacing tests (pace_test.go): the mix of
// lists and searches depends on time (search's five a second, the burst
// window), which a bubble makes exact. They run alone, not in parallel,
// for the reason given there.

// mixLog is the fake's view of a read: the requests it answered, by
// endpoint, and the 429s.
type mixLog struct {
	mu       sync.Mutex
	lists    int
	searches []time.Time // arrivals
	refused  []time.Time // 429s, lists and searches
	start    time.Time
}

func (l *mixLog) counts() (lists, searches, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lists, len(l.searches), len(l.refused)
}

// refusedAfter counts the 429s later than d after the first request.
func (l *mixLog) refusedAfter(d time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, at := range l.refused {
		if at.Sub(l.start) > d {
			n++
		}
	}
	return n
}

// mostSearchesInASecond returns the most searches that arrived within any
// one second.
func (l *mixLog) mostSearchesInASecond() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	most := 0
	for i := range l.searches { // arrivals are in order: one clock
		n := 0
		for j := i; j < len(l.searches) && l.searches[j].Sub(l.searches[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// mixTransport calls the fake in memory and logs its answers. failSearch,
// when set, answers the n-th search (from 0) with the status it returns
// instead of the fake (0: the fake answers).
type mixTransport struct {
	h          http.Handler
	log        *mixLog
	failSearch func(n int) int
}

func (m *mixTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	search := strings.HasSuffix(req.URL.Path, "/search")
	list := req.Method == "GET" && strings.HasPrefix(req.URL.Path, "/crm/v3/objects/") && strings.Count(req.URL.Path, "/") == 4
	m.log.mu.Lock()
	now := time.Now()
	if m.log.start.IsZero() {
		m.log.start = now
	}
	n := len(m.log.searches)
	m.log.mu.Unlock()
	rec := httptest.NewRecorder()
	if status := 0; search && m.failSearch != nil {
		if status = m.failSearch(n); status != 0 {
			rec.Code = status
			rec.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(rec.Body, `{"status":"error","message":"injected %d","correlationId":"x"}`, status)
		}
	}
	if rec.Body.Len() == 0 {
		m.h.ServeHTTP(rec, req)
	}
	m.log.mu.Lock()
	switch {
	case search:
		m.log.searches = append(m.log.searches, now)
	case list:
		m.log.lists++
	}
	if rec.Code == http.StatusTooManyRequests {
		m.log.refused = append(m.log.refused, now)
	}
	m.log.mu.Unlock()
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// enginePace stands in for the engine's pacer: calls at 97% of the burst
// window's rate, from the first reading on.
type enginePace struct{ lim *rate.Limiter }

func newEnginePace() *enginePace { return &enginePace{lim: rate.NewLimiter(rate.Inf, 1)} }

func (p *enginePace) observe(q providers.Quota) {
	if q.Window < time.Hour && q.Limit > 0 {
		p.lim.SetLimit(rate.Limit(float64(q.Limit) / q.Window.Seconds() * 0.97))
	}
}

// mixRead is one full read through a Client of a fresh in-memory fake.
type mixRead struct {
	fake *fake.Server
	log  *mixLog
	c    *hubspot.Client
	pace *enginePace // nil: calls unpaced
}

func newMixRead(t *testing.T, opts fake.Options, md map[string]string, failSearch func(int) int, paced bool) *mixRead {
	t.Helper()
	m := newMemSetup(opts)
	r := &mixRead{fake: m.fake, log: &mixLog{}}
	tr := &mixTransport{h: m.fake, log: r.log, failSearch: failSearch}
	hc := providers.NewAuthClient(&http.Client{Transport: tr}, providers.StaticTokens{Tok: &oauth2.Token{AccessToken: m.access, TokenType: "bearer"}})
	cfg := providers.Config{HTTPClient: hc, BaseURL: m.base, Metadata: md}
	if paced {
		r.pace = newEnginePace()
		cfg.OnQuota = r.pace.observe
	}
	c, err := hubspot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	return r
}

// readAll reads the object to the end as the engine does: one call at a
// time, each after the pace, waiting out a 429 for as long as it says and
// retrying what is retryable after a second. between runs before every
// call after the first (n counts the calls made). It returns how often
// each id was delivered.
func (r *mixRead) readAll(ctx context.Context, object string, between func(n int)) (map[string]int, error) {
	req := providers.ReadRequest{Object: object, Fields: []string{"email"}}
	seen := map[string]int{}
	for n := 0; ; n++ {
		if n > 5_000 {
			return seen, errors.New("not done after 5,000 calls")
		}
		if n > 0 && between != nil {
			between(n)
		}
		if r.pace != nil {
			if err := r.pace.lim.Wait(ctx); err != nil {
				return seen, err
			}
		}
		page, err := r.c.Read(ctx, req)
		if err != nil {
			var pe *providers.Error
			if errors.As(err, &pe) && (pe.Kind == providers.KindRateLimited || pe.Kind == providers.KindRetryable) {
				time.Sleep(max(pe.RetryAfter, time.Second))
				continue
			}
			return seen, fmt.Errorf("call %d (cursor %q): %w", n, req.Cursor, err)
		}
		for _, rec := range page.Records {
			seen[rec.ID]++
		}
		if page.Done {
			if page.NextCursor != "" {
				return seen, fmt.Errorf("done with a cursor %q", page.NextCursor)
			}
			return seen, nil
		}
		req.Cursor = page.NextCursor
	}
}

// A full read delivers every record that existed throughout and was never
// deleted, exactly once however the list and search share the work, and
// each the rest at most once; from a list out of id order, every record
// at least once.
func TestTwoEndedRead(t *testing.T) {
	const n = 1_050 // ids 1001..2050 unless a case seeds more
	tests := []struct {
		name       string
		opts       func(*fake.Options)
		md         map[string]string
		failSearch func(n int) int
		// between changes the fake during the read; it returns the ids
		// the read need not deliver (deleted, or created meanwhile).
		between func(t *testing.T, f *fake.Server, call int, excused map[string]bool)
		// dupes allows a record more than once (the fallback to a plain
		// list).
		dupes bool
		// lists and searches: whether the read must have used each.
		lists, searches bool
		// refused: whether the fake must have answered a 429.
		refused bool
		// doubles: whether some calls must have sent two requests.
		doubles bool
	}{
		{name: "EndsMeet", lists: true, searches: true},
		{
			// The first call lists, the second searches the top 200
			// (ids 1851..2050) and takes the only search slot for ten
			// seconds; then the top 300 go, so the list ends at 1750
			// without ever reaching the searched ids.
			name: "ListReachesTheEnd", lists: true, searches: true,
			md: map[string]string{hubspot.MetadataSearchPerSecond: "0.1"},
			between: func(t *testing.T, f *fake.Server, call int, excused map[string]bool) {
				if call == 2 {
					for id := 1751; id <= 2050; id++ {
						f.Delete("contacts", strconv.Itoa(id))
						excused[strconv.Itoa(id)] = true
					}
				}
			},
		},
		{
			// The fake allows one search a second, the Client paces at
			// five: searches meet 429s, alone and beside lists (the
			// window is wide enough for both at once).
			name: "Search429s", lists: true, searches: true, refused: true, doubles: true,
			opts: func(o *fake.Options) { o.Limits.SearchPerSecond, o.Limits.Window = 1, 1000 },
			md:   map[string]string{hubspot.MetadataSearchPerSecond: "5"},
		},
		{
			name: "Search5xxAlone", lists: true, searches: true,
			failSearch: func(n int) int {
				if n >= 1 && n <= 3 {
					return http.StatusBadGateway
				}
				return 0
			},
		},
		{
			// Past the first half second, calls list and search at once.
			name: "Search5xxBesideLists", lists: true, searches: true, doubles: true,
			opts: func(o *fake.Options) { o.Records, o.Limits.Window = 3000, 1000 },
			failSearch: func(n int) int {
				if n >= 6 && n <= 8 {
					return http.StatusBadGateway
				}
				return 0
			},
		},
		{
			// A search outage: the read lists every other call, stops
			// searching after maxSearchFailures, and still ends.
			name: "SearchAlways5xx", lists: true, searches: true,
			failSearch: func(int) int { return http.StatusBadGateway },
		},
		{
			name: "SearchRefused400", lists: true, searches: true,
			failSearch: func(int) int { return http.StatusBadRequest },
		},
		{
			// Every call creates a record and deletes one that
			// existed, some read already, some not yet.
			name: "ChangesDuringTheRead", lists: true, searches: true,
			between: func(t *testing.T, f *fake.Server, call int, excused map[string]bool) {
				rec, err := f.Kit().Store.Create("contacts", map[string]any{"email": fmt.Sprintf("new%d@example.org", call)})
				if err != nil {
					t.Fatal(err)
				}
				excused[rec.ID] = true
				id := strconv.Itoa(1001 + (call*389)%n)
				f.Delete("contacts", id)
				excused[id] = true
			},
		},
		{
			// The first call lists, so the read falls back to listing
			// before it searches.
			name: "ListOutOfOrder", lists: true, dupes: true,
			opts: func(o *fake.Options) { o.ReverseListPages = true },
		},
		{
			name: "Off", lists: true,
			md: map[string]string{hubspot.MetadataTwoEndedRead: "off"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := fake.Options{Options: fakekit.Options{Records: n, Latency: 100 * time.Millisecond}}
				if tt.opts != nil {
					tt.opts(&opts) // ids are 1001 up, whatever the count
				}
				r := newMixRead(t, opts, tt.md, tt.failSearch, false)
				before := r.fake.IDs("contacts")
				excused := map[string]bool{}
				var between func(int)
				if tt.between != nil {
					between = func(call int) { tt.between(t, r.fake, call, excused) }
				}
				calls := 0
				seen, err := r.readAll(t.Context(), "contacts", func(call int) {
					calls = call
					if between != nil {
						between(call)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				calls++
				for _, id := range before {
					if got := seen[id]; !excused[id] && (got == 0 || got > 1 && !tt.dupes) {
						t.Errorf("record %s delivered %d times, want once", id, got)
					}
				}
				for id, got := range seen {
					if got > 1 && !tt.dupes {
						t.Errorf("record %s delivered %d times", id, got)
					}
					if _, ok := r.fake.Get("contacts", id); !ok {
						t.Errorf("record %s delivered, but the fake never had it", id)
					}
				}
				lists, searches, refused := r.log.counts()
				doubles := lists + searches - calls
				if tt.lists != (lists > 0) || tt.searches != (searches > 0) || tt.refused != (refused > 0) || tt.doubles && doubles <= 0 {
					t.Errorf("%d calls: %d lists, %d searches, %d refused; want lists %v, searches %v, refused %v, some calls sending both %v",
						calls, lists, searches, refused, tt.lists, tt.searches, tt.refused, tt.doubles)
				}
			})
		})
	}
}

// Paced as the engine paces (97% of the burst window's rate, one call at
// a time, 100 ms a request), a full read meets no 429 and no more than
// five searches in a second. With searches outside the burst window (as
// HubSpot's guidelines have it) the readings prove it within a second and
// calls list and search at once: about 2,000 records a second against
// 1,000 for a list alone. Where searches count in the window and it binds
// (100 per 10 s) calls alternate between a search and a list, about 1,500
// a second, but for the two probes a window allows; where latency binds
// (190 per 10 s) calls list and also search while the window has room,
// about 2,000 a second.
func TestTwoEndedReadRequestMix(t *testing.T) {
	tests := []struct {
		window         int
		searchInWindow bool
		records        int
		// The least records a second: 0.95 of the ceiling (BENCHMARKS.md),
		// in the bubble's exact time.
		minRate float64
		// Calls that sent two requests at once: whether there must be
		// some, or at most the probes (two a window begun).
		doubles bool
	}{
		{window: 100, records: 24_000, minRate: 0.95 * 2000, doubles: true},
		{window: 190, records: 24_000, minRate: 0.95 * 2000, doubles: true},
		{window: 100, searchInWindow: true, records: 16_000, minRate: 0.95 * 1500},
		{window: 190, searchInWindow: true, records: 20_000, minRate: 0.95 * 2000, doubles: true},
	}
	for _, tt := range tests {
		name := strconv.Itoa(tt.window) + "Per10s"
		if tt.searchInWindow {
			name += "SearchInWindow"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := fake.Options{Options: fakekit.Options{Records: tt.records, Latency: 100 * time.Millisecond,
					Limits: fakekit.Limits{Window: tt.window, WindowPeriod: 10 * time.Second}}, SearchInBurstWindow: tt.searchInWindow}
				r := newMixRead(t, opts, nil, nil, true)
				start := time.Now()
				calls := 0
				seen, err := r.readAll(t.Context(), "contacts", func(n int) { calls = n })
				if err != nil {
					t.Fatal(err)
				}
				calls++
				took := time.Since(start)
				if len(seen) != tt.records {
					t.Fatalf("%d records delivered, want %d", len(seen), tt.records)
				}
				lists, searches, refused := r.log.counts()
				if refused != 0 {
					t.Errorf("%d requests refused (429), %d after the first window; want none", refused, r.log.refusedAfter(10*time.Second))
				}
				if most := r.log.mostSearchesInASecond(); most > 5 {
					t.Errorf("%d searches in one second, want at most 5", most)
				}
				doubles := lists + searches - calls
				probes := 2 * int(math.Ceil(took.Seconds()/10))
				if tt.doubles && doubles <= 0 || !tt.doubles && doubles > probes {
					t.Errorf("%d of %d calls sent two requests; want some: %v (else at most the %d probes)", doubles, calls, tt.doubles, probes)
				}
				rate := float64(len(seen)) / took.Seconds()
				t.Logf("%d records in %v (%.0f/s): %d calls, %d lists, %d searches", len(seen), took, rate, calls, lists, searches)
				if took <= 10*time.Second {
					t.Errorf("the read took %v: it must outlast the first window to show it meets no 429 after it", took)
				}
				if rate < tt.minRate {
					t.Errorf("%.0f records/s, want at least %.0f", rate, tt.minRate)
				}
			})
		})
	}
}

// A read that learned searches are outside the burst window, on a HubSpot
// that starts counting them there: the window's 429 withdraws the proof,
// and from then on no call sends two requests, and every record still
// arrives once.
func TestTwoEndedReadProofWithdrawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const records = 24_000
		opts := fake.Options{Options: fakekit.Options{Records: records, Latency: 100 * time.Millisecond,
			Limits: fakekit.Limits{Window: 100, WindowPeriod: 10 * time.Second}}}
		r := newMixRead(t, opts, nil, nil, true)
		var (
			calls, atRefusal, requestsThen int
			switched, refusedSeen          bool
		)
		seen, err := r.readAll(t.Context(), "contacts", func(n int) {
			calls = n
			lists, searches, refused := r.log.counts()
			switch {
			case !switched && n == 30:
				if lists+searches <= n {
					t.Errorf("%d calls sent %d requests before the switch: no proof, no call sent two", n, lists+searches)
				}
				r.fake.SetSearchInBurstWindow(true)
				switched = true
			case switched && !refusedSeen && refused > 0:
				refusedSeen, atRefusal, requestsThen = true, n, lists+searches
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		calls++
		if len(seen) != records {
			t.Fatalf("%d records delivered, want %d", len(seen), records)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("record %s delivered %d times", id, n)
			}
		}
		if !refusedSeen {
			t.Fatal("no 429 after the fake began counting searches in the window")
		}
		lists, searches, refused := r.log.counts()
		if extra := lists + searches - requestsThen - (calls - atRefusal); extra > 0 {
			t.Errorf("%d calls sent two requests after the first 429 (%d refused in all)", extra, refused)
		}
		t.Logf("%d calls, %d lists, %d searches, %d refused; the first 429 before call %d", calls, lists, searches, refused, atRefusal)
	})
}
