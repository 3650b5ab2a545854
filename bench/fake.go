package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dynamicsfake "github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	hubspotfake "github.com/ampforge/amp/providers/hubspot/fake"
	salesforcefake "github.com/ampforge/amp/providers/salesforce/fake"
)

// The OAuth client the fakes accept and the runtime registers.
const (
	clientID     = "amp-bench-client"
	clientSecret = "amp-bench-secret"
)

// fakeServer is what the bench needs of a provider fake: serving, tokens,
// and for the incremental scenarios changing records and the clock
// (providertest.Fake's controls).
type fakeServer interface {
	http.Handler
	Issue() (access, refresh string)
	IDs(object string) []string
	Touch(object, id string)
	Now() time.Time
	Advance(d time.Duration)
}

// newFake builds the scenario's fake with the provider's real limits unless
// the scenario sets its short window.
func newFake(sc scenario, latency time.Duration) fakeServer {
	opts := fakekit.Options{ClientID: clientID, ClientSecret: clientSecret, Records: sc.fakeRecords(), Latency: latency,
		Limits: fakekit.Limits{Window: sc.Window, WindowPeriod: sc.WindowPeriod, Daily: sc.Daily}}
	if sc.Kind == "incremental" {
		// The fake's clock starts at the wall clock rather than at its
		// fixed date, so records changed later are newer than the
		// runtime's watermark (see touchHandler).
		opts.Start = time.Now()
	}
	switch sc.Fake {
	case "salesforce":
		return salesforcefake.New(salesforcefake.Options{Options: opts})
	case "hubspot":
		return hubspotfake.New(hubspotfake.Options{Options: opts, SearchInBurstWindow: sc.SearchInWindow})
	default:
		return dynamicsfake.New(dynamicsfake.Options{Options: opts})
	}
}

// fakeStats is what the fake's process reports when it stops.
type fakeStats struct {
	Requests int64 `json:"requests"`
	Refused  int64 `json:"refused429"`
	// RefusedLate counts 429 answers after the first window (WindowPeriod
	// after the first request): a paced reader should have none.
	RefusedLate int64 `json:"refused429AfterFirstWindow"`
}

// statsHandler counts a fake's answers.
type statsHandler struct {
	next   http.Handler
	window time.Duration

	first              sync.Once
	start              time.Time
	requests, refused  atomic.Int64
	refusedAfterWindow atomic.Int64
}

func (h *statsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "oauth") {
		h.next.ServeHTTP(w, r)
		return
	}
	h.first.Do(func() { h.start = time.Now() })
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.next.ServeHTTP(rec, r)
	h.requests.Add(1)
	if rec.status == http.StatusTooManyRequests {
		h.refused.Add(1)
		if h.window > 0 && time.Since(h.start) > h.window {
			h.refusedAfterWindow.Add(1)
		}
	}
}

// statusRecorder keeps the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush passes streaming through (Bulk results).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// runFakeChild serves the scenario's fake until stdin closes, then prints
// its stats. Its first line is "listening <url> <access> <refresh>".
func runFakeChild(ctx context.Context, spec childSpec) error {
	sc := spec.Scenario
	fake := newFake(sc, spec.Latency)
	h := &statsHandler{next: fake, window: sc.statsWindow()}
	touch := &touchHandler{fake: fake}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fake: listen: %w", err)
	}
	access, refresh := fake.Issue()
	fmt.Printf("listening http://%s %s %s\n", l.Addr(), access, refresh)
	// The bench's own control endpoint sits beside the provider's API, outside
	// its stats.
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == touchPath {
			touch.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: serve, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	// The parent closes stdin when it is done with the fake.
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := srv.Close(); err != nil {
		return fmt.Errorf("fake: close: %w", err)
	}
	<-errc
	b, err := json.Marshal(fakeStats{Requests: h.requests.Load(), Refused: h.refused.Load(), RefusedLate: h.refusedAfterWindow.Load()})
	if err != nil {
		return fmt.Errorf("fake: stats: %w", err)
	}
	fmt.Printf("stats %s\n", b)
	return nil
}
