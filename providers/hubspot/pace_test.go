package hubspot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
)

// The pacing tests run in synctest bubbles against a fake served in
// memory: a request in flight on a socket would keep the bubble's clock
// from moving. The fake's windows run on the wall clock, which in a bubble
// is the bubble's: its search limit is HubSpot's five a second, timed
// exactly as the connector's pace.
//
// The tests that pace run alone, not in parallel: the connector's
// registry of limiters is the process's, and a test on the real clock
// searching meanwhile would find their limiters idle by its clock (a
// bubble's starts in 2000) and drop them mid-read.

// searchLog is the fake's view of the searches: when each arrived and how
// many it refused.
type searchLog struct {
	mu      sync.Mutex
	arrived []time.Time
	refused int
}

// maxPerSecond returns the most searches that arrived within any one
// second.
func (l *searchLog) maxPerSecond() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := slices.Clone(l.arrived)
	slices.SortFunc(at, time.Time.Compare)
	most := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

func (l *searchLog) counts() (arrived, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.arrived), l.refused
}

// inMemory is a RoundTripper calling the fake's handler directly and
// logging its searches.
type inMemory struct {
	h   http.Handler
	log *searchLog
}

func (m inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	search := strings.HasSuffix(req.URL.Path, "/search")
	arrived := time.Now()
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, req)
	if search {
		m.log.mu.Lock()
		m.log.arrived = append(m.log.arrived, arrived)
		if rec.Code == http.StatusTooManyRequests {
			m.log.refused++
		}
		m.log.mu.Unlock()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// hosts makes every test's base URL its own, so tests never share an
// account's pace through the process-wide registry.
var hosts atomic.Int64

// memSetup is a fake and what builds Clients for it, in memory.
type memSetup struct {
	fake   *fake.Server
	log    *searchLog
	base   string
	access string
}

func newMemSetup(opts fake.Options) *memSetup {
	f := fake.New(opts)
	access, _ := f.Issue()
	return &memSetup{fake: f, log: &searchLog{}, base: fmt.Sprintf("http://hubspot-%d.test", hosts.Add(1)), access: access}
}

// httpClient returns new credentials for the fake's account.
func (m *memSetup) httpClient() *http.Client {
	return providers.NewAuthClient(&http.Client{Transport: inMemory{h: m.fake, log: m.log}},
		providers.StaticTokens{Tok: &oauth2.Token{AccessToken: m.access, TokenType: "bearer"}})
}

func (m *memSetup) client(t *testing.T, hc *http.Client, md map[string]string) *hubspot.Client {
	t.Helper()
	c, err := hubspot.New(providers.Config{HTTPClient: hc, BaseURL: m.base, Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll reads object incrementally to the end as the engine would,
// waiting out a 429 for as long as it says, and returns the distinct
// records read and the pages.
func readAll(ctx context.Context, c *hubspot.Client, object string) (map[string]bool, int, error) {
	req := providers.ReadRequest{Object: object, Since: fakekit.DefaultStart.AddDate(0, 0, -1), PageSize: 200}
	seen := map[string]bool{}
	pages := 0
	for {
		page, err := c.Read(ctx, req)
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Kind == providers.KindRateLimited {
			time.Sleep(pe.RetryAfter)
			continue
		}
		if err != nil {
			return nil, pages, fmt.Errorf("%s page %d: %w", object, pages, err)
		}
		pages++
		for _, r := range page.Records {
			seen[r.ID] = true
		}
		if page.Done {
			return seen, pages, nil
		}
		req.Cursor = page.NextCursor
	}
}

// An incremental read of more than one search query's 10,000 results,
// against HubSpot's real search limit, is never refused.
func TestSearchPacedToTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10_500
		m := newMemSetup(fake.Options{Options: fakekit.Options{Records: n}})
		c := m.client(t, m.httpClient(), nil)
		start := time.Now()
		seen, pages, err := readAll(t.Context(), c, "contacts")
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != n || pages <= 10_000/200 {
			t.Fatalf("read %d records in %d pages, want %d in more than 50", len(seen), pages, n)
		}
		arrived, refused := m.log.counts()
		if refused != 0 {
			t.Errorf("%d of %d searches refused (429), want none", refused, arrived)
		}
		if most := m.log.maxPerSecond(); most > 5 {
			t.Errorf("%d searches in one second, want at most 5", most)
		}
		// Paced, not merely lucky: 0.97 of five a second.
		if took, want := time.Since(start), time.Duration(float64(pages-1)/(5*0.97)*float64(time.Second)); took < want {
			t.Errorf("%d searches took %v, want at least %v", pages, took, want)
		}
	})
}

// Clients of one account share its pace, however many the process builds
// (the runtime builds one per job); Clients of different accounts do not
// hold each other back. The fake is one account at five searches a second:
// two Clients reading at once stay under it only when they share.
func TestSearchPaceSharedByAccount(t *testing.T) {
	tests := []struct {
		name     string
		hubs     [2]string // hub_id metadata of the two Clients
		sameHTTP bool      // both built on one *http.Client
		shared   bool
	}{
		{name: "SamePortal", hubs: [2]string{"62515", "62515"}, shared: true},
		{name: "OtherPortal", hubs: [2]string{"62515", "62516"}},
		{name: "SameCredentials", sameHTTP: true, shared: true},
		{name: "OtherCredentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 1_000 // five pages an object
				m := newMemSetup(fake.Options{Options: fakekit.Options{Records: n}})
				hc := m.httpClient()
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, object := range []string{"contacts", "companies"} {
					if !tt.sameHTTP {
						hc = m.httpClient()
					}
					var md map[string]string
					if tt.hubs[i] != "" {
						md = map[string]string{"hub_id": tt.hubs[i]}
					}
					c := m.client(t, hc, md)
					wg.Go(func() {
						seen, _, err := readAll(t.Context(), c, object)
						if err == nil && len(seen) != n {
							err = fmt.Errorf("%s: read %d records, want %d", object, len(seen), n)
						}
						errs[i] = err
					})
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				arrived, refused := m.log.counts()
				most := m.log.maxPerSecond()
				if tt.shared && (refused != 0 || most > 5) {
					t.Errorf("%d of %d searches refused, %d in one second; want none refused, at most 5", refused, arrived, most)
				}
				if !tt.shared && most <= 5 {
					t.Errorf("at most %d searches in one second: the two accounts' Clients held each other back", most)
				}
			})
		})
	}
}

// A read whose context ends while it waits for its slot sends nothing and
// gives the slot back.
func TestSearchPaceRespectsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSetup(fake.Options{Options: fakekit.Options{Records: 10}})
		c := m.client(t, m.httpClient(), nil)
		req := providers.ReadRequest{Object: "contacts", Since: fakekit.DefaultStart.AddDate(0, 0, -1)}
		start := time.Now()
		if _, err := c.Read(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Read(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read past its deadline: %v, want context.DeadlineExceeded", err)
		}
		if arrived, _ := m.log.counts(); arrived != 1 {
			t.Fatalf("%d searches sent, want 1", arrived)
		}
		if _, err := c.Read(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		// The abandoned slot was given back: the next search takes the
		// second slot (1/4.85 s after the first), not the third.
		slot := time.Second * 100 / 485
		if took := time.Since(start); took < slot-time.Millisecond || took > slot+time.Millisecond {
			t.Errorf("second search after %v, want %v", took, slot)
		}
	})
}

// Pacing can be turned off (a fake without a search limit) and the limit
// given must be a number.
func TestSearchLimitMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		wantErr bool
	}{
		{"0", false},
		{"-1", false},
		{"12.5", false},
		{"five", true},
		{"NaN", true},
		{"+Inf", true},
	}
	for _, tt := range tests {
		_, err := hubspot.New(providers.Config{HTTPClient: http.DefaultClient, Metadata: map[string]string{hubspot.MetadataSearchPerSecond: tt.value}})
		if (err != nil) != tt.wantErr {
			t.Errorf("%s=%q: error %v, want error %v", hubspot.MetadataSearchPerSecond, tt.value, err, tt.wantErr)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		m := newMemSetup(fake.Options{Options: fakekit.Options{Records: 10, Limits: fakekit.Limits{SearchPerSecond: -1}}})
		c := m.client(t, m.httpClient(), map[string]string{hubspot.MetadataSearchPerSecond: "0"})
		req := providers.ReadRequest{Object: "contacts", Since: fakekit.DefaultStart.AddDate(0, 0, -1)}
		start := time.Now()
		for range 20 {
			if _, err := c.Read(t.Context(), req); err != nil {
				t.Fatal(err)
			}
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("20 unpaced searches took %v, want no wait", took)
		}
	})
}
