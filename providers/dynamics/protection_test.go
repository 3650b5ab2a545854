package dynamics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
)

// connect serves handler (srv, or srv behind a test wrapper) and returns
// a connector for it with srv's credentials, reporting quotas to onQuota.
func connect(t testing.TB, srv *fake.Server, handler http.Handler, onQuota func(providers.Quota)) (*Client, *httptest.Server) {
	t.Helper()
	ts := httptest.NewServer(handler)
	t.Cleanup(ts.Close)
	access, _ := srv.Issue()
	c, err := New(providers.Config{HTTPClient: providers.NewAuthClient(ts.Client(), providers.StaticTokens{Tok: &oauth2.Token{AccessToken: access}}), BaseURL: ts.URL, OnQuota: onQuota})
	if err != nil {
		t.Fatal(err)
	}
	return c, ts
}

// quotaLog collects OnQuota readings.
type quotaLog struct {
	mu  sync.Mutex
	all []providers.Quota
}

func (l *quotaLog) add(q providers.Quota) { l.mu.Lock(); l.all = append(l.all, q); l.mu.Unlock() }

// last returns the latest reading from source.
func (l *quotaLog) last(source string) providers.Quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.all) - 1; i >= 0; i-- {
		if l.all[i].Source == source {
			return l.all[i]
		}
	}
	return providers.Quota{}
}

// holdBody blocks the first read of a request body (which the fake does
// only after admitting the request) until release is closed, so a test
// holds a request in flight without sleeping.
type holdBody struct {
	io.ReadCloser
	once              sync.Once
	admitted, release chan struct{}
}

func (h *holdBody) Read(p []byte) (int, error) {
	h.once.Do(func() { close(h.admitted); <-h.release })
	return h.ReadCloser.Read(p)
}

// TestServiceProtectionRefusals drives each of Dataverse's three
// service-protection limits in the fake through the connector: each is
// KindRateLimited with its code and the fake's Retry-After.
func TestServiceProtectionRefusals(t *testing.T) {
	t.Parallel()
	read := func(c *Client) error {
		_, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts", Fields: []string{"name"}})
		return err
	}
	tests := []struct {
		name       string
		opts       fake.Options
		fill       int // reads that pass first
		code       string
		retryAfter time.Duration
		message    string
	}{
		{"number of requests", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 4}}, LimitClock: true},
			4, "0x80072322", 5 * time.Minute, "Number of requests exceeded the limit of 4 over time window of 300 seconds."},
		{"execution time", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: -1}}, ExecTime: time.Second, Cost: fake.Cost{PerRequest: 400 * time.Millisecond}, LimitClock: true},
			3, "0x80072321", 5 * time.Minute, "Combined execution time of incoming requests exceeded limit of 1,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."},
		{"concurrent requests", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Concurrency: 1}}, LimitClock: true},
			0, "0x80072326", time.Second, "Number of concurrent requests exceeded the limit of 1."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fake.New(tt.opts)
			admitted, release := make(chan struct{}), make(chan struct{})
			var releaseOnce sync.Once
			free := func() { releaseOnce.Do(func() { close(release) }) }
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Test-Hold") != "" {
					r.Body = &holdBody{ReadCloser: r.Body, admitted: admitted, release: release}
				}
				srv.ServeHTTP(w, r)
			})
			c, ts := connect(t, srv, handler, nil)
			t.Cleanup(free) // runs before the server closes, even on failure
			for i := range tt.fill {
				if err := read(c); err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
			}
			held := make(chan error, 1)
			if tt.code == "0x80072326" {
				// Hold one request in flight: a write whose body the fake
				// has not finished reading.
				access, _ := srv.Issue()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, ts.URL+APIPath+"accounts(accountnumber='HOLD')", strings.NewReader(`{"name":"held"}`))
				req.Header.Set("Authorization", "Bearer "+access)
				req.Header.Set("X-Test-Hold", "1")
				go func() {
					resp, err := ts.Client().Do(req)
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusNoContent {
							err = errors.New(resp.Status)
						}
					}
					held <- err
				}()
				<-admitted
			}
			err := read(c)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != providers.KindRateLimited || pe.Code != tt.code || pe.Status != http.StatusTooManyRequests || pe.RetryAfter != tt.retryAfter || pe.Message != tt.message {
				t.Fatalf("refused read: %v (retry after %s), want %s after %s", err, providers.RetryAfter(err), tt.code, tt.retryAfter)
			}
			if tt.code == "0x80072326" {
				free()
				if err := <-held; err != nil {
					t.Fatalf("held request: %v", err)
				}
				if err := read(c); err != nil {
					t.Errorf("read after the held request ended: %v", err)
				}
			}
		})
	}
}

// TestPenaltyThroughConnector: a connector that reads again while
// throttled is told to wait longer each time; waiting as told clears it.
func TestPenaltyThroughConnector(t *testing.T) {
	t.Parallel()
	srv := fake.New(fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 1}}, ThrottlePenalty: 15 * time.Second, LimitClock: true})
	c, _ := connect(t, srv, srv, nil)
	var waits []time.Duration
	for _, advance := range []time.Duration{0, 100 * time.Second, 5 * time.Second, 5 * time.Second} {
		srv.Advance(advance)
		_, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"})
		if err != nil {
			if providers.KindOf(err) != providers.KindRateLimited {
				t.Fatalf("read: %v", err)
			}
			waits = append(waits, providers.RetryAfter(err))
		}
	}
	// The window frees at 5:00 (200 s after the first refusal at 1:40);
	// each read sent while throttled moves that 15 s later.
	want := []time.Duration{200 * time.Second, 210 * time.Second, 220 * time.Second}
	if len(waits) != len(want) || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
		t.Fatalf("Retry-After while throttled = %v, want %v", waits, want)
	}
	srv.Advance(waits[2])
	if _, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"}); err != nil {
		t.Errorf("read after waiting as told: %v", err)
	}
}

// TestQuotaReadings checks what the connector reports to OnQuota: the
// remaining counts of both debug headers against the limits the server
// applies, learnt from its headers and its refusals, not the catalog's.
func TestQuotaReadings(t *testing.T) {
	t.Parallel()
	const burst, timeHdr = "x-ms-ratelimit-burst-remaining-xrm-requests", "x-ms-ratelimit-time-remaining-xrm-requests"
	q := func(used, limit int, window time.Duration, source string) providers.Quota {
		return providers.Quota{Used: used, Limit: limit, Window: window, Source: source}
	}
	tests := []struct {
		name string
		opts fake.Options
		// before runs reads by another connection of the same user.
		before int
		reads  int
		// refused is whether the last read is a 429.
		refused        bool
		wantReq, wantT providers.Quota
	}{
		{"fresh window, real defaults", fake.Options{Options: fakekit.Options{Records: 3}}, 0, 2, false,
			// The first read cost 20.6 ms; the header has 10 ms steps.
			q(2, 6000, 5*time.Minute, burst), q(30, 1200000, 5*time.Minute, timeHdr)},
		{"an environment with a higher request limit", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 8000}}}, 0, 1, false,
			q(1, 8000, 5*time.Minute, burst), q(0, 1200000, 5*time.Minute, timeHdr)},
		{"a lower limit and window, learnt from the refusal", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 3, WindowPeriod: 2 * time.Minute}}}, 0, 4, true,
			q(3, 3, 2*time.Minute, burst), q(70, 1200000, 5*time.Minute, timeHdr)},
		// Another connection of the same user spent 3 requests (61.8 ms)
		// first: the headers give only lower bounds of both limits...
		{"joined mid-window: a lower bound until the refusal", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 10}}}, 3, 1, false,
			q(1, 7, 5*time.Minute, burst), q(0, 1199930, 5*time.Minute, timeHdr)},
		// ...until a refusal states the one it hit.
		{"joined mid-window, then refused", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 10}}}, 3, 8, true,
			q(10, 10, 5*time.Minute, burst), q(140, 1199930, 5*time.Minute, timeHdr)},
		{"execution time learnt from the refusal", fake.Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: -1}}, ExecTime: 1500 * time.Millisecond, Cost: fake.Cost{PerRequest: 500 * time.Millisecond}}, 0, 4, true,
			providers.Quota{}, q(1500, 1500, 5*time.Minute, timeHdr)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.LimitClock = true
			srv := fake.New(tt.opts)
			other, _ := connect(t, srv, srv, nil)
			for i := range tt.before {
				if _, err := other.Read(t.Context(), providers.ReadRequest{Object: "accounts"}); err != nil {
					t.Fatalf("other read %d: %v", i, err)
				}
			}
			var log quotaLog
			c, _ := connect(t, srv, srv, log.add)
			for i := range tt.reads {
				_, err := c.Read(t.Context(), providers.ReadRequest{Object: "accounts"})
				if last := i == tt.reads-1; (err != nil) != (last && tt.refused) {
					t.Fatalf("read %d: %v", i, err)
				}
			}
			if got := log.last(burst); got != tt.wantReq {
				t.Errorf("requests quota = %+v, want %+v", got, tt.wantReq)
			}
			if got := log.last(timeHdr); got != tt.wantT {
				t.Errorf("time quota = %+v, want %+v", got, tt.wantT)
			}
		})
	}
}

// TestLimitMessages: the limits are read from every wording of the
// refusals Dataverse has used.
func TestLimitMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, message string
		requests      int64
		execMillis    int64
		window        time.Duration
	}{
		{codeRequests, "Number of requests exceeded the limit of 6000 over time window of 300 seconds.", 6000, 0, 5 * time.Minute},
		{codeRequests, "Number of requests exceeded the limit of 4000, measured over time window of 300 seconds.", 4000, 0, 5 * time.Minute},
		{codeExecTime, "Combined execution time of incoming requests exceeded limit of 1,200,000  milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.", 0, 1200000, 5 * time.Minute},
		{codeExecTime, "Combined execution time of incoming requests exceeded the limit of 1200 seconds over the time window of 300 seconds.", 0, 1200000, 5 * time.Minute},
		{codeConcurrency, "Number of concurrent requests exceeded the limit of 52.", 0, 0, 0},
		{codeRequests, "something else", 0, 0, 0},
	}
	for _, tt := range tests {
		var l serverLimits
		l.learn(&providers.Error{Kind: providers.KindRateLimited, Code: tt.code, Message: tt.message})
		window := l.reqWindow + l.execWindow
		if l.requests != tt.requests || l.execMillis != tt.execMillis || window != tt.window {
			t.Errorf("%q: learnt %d requests, %d ms, window %s; want %d, %d, %s", tt.message, l.requests, l.execMillis, window, tt.requests, tt.execMillis, tt.window)
		}
	}
	var l serverLimits
	got := l.readings(http.Header{"X-Ms-Ratelimit-Burst-Remaining-Xrm-Requests": {"7999"}, "X-Ms-Ratelimit-Time-Remaining-Xrm-Requests": {"1,199.46"}})
	if len(got) != 2 || got[0] != (providers.Quota{Used: 1, Limit: 8000, Window: 5 * time.Minute, Source: headerBurst}) ||
		got[1] != (providers.Quota{Used: 0, Limit: 1199460, Window: 5 * time.Minute, Source: headerTime}) {
		t.Errorf("readings of a live environment's headers = %+v", got)
	}
	if got := l.readings(http.Header{"X-Ms-Ratelimit-Burst-Remaining-Xrm-Requests": {"lots"}}); len(got) != 0 {
		t.Errorf("unparseable header gave %+v", got)
	}
}
