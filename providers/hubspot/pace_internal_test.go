package hubspot

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// The registry keeps a limiter while it holds back a search and drops it
// once it is idle, so it holds no more than the accounts searching in the
// last minute or so.
func TestPacerRegistryBounded(t *testing.T) {
	t.Parallel()
	p := &pacerRegistry{limiters: map[accountKey]*rate.Limiter{}}
	limit := rate.Limit(searchPerSecond * searchShare)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	busy := accountKey{base: DefaultBaseURL, hub: "busy"}
	for i := range 1000 {
		p.reserve(accountKey{base: DefaultBaseURL, hub: fmt.Sprint(i)}, limit, t0)
	}
	// Far more searches than the minute allows: the account's slots run
	// well past the next sweep.
	var last *rate.Reservation
	for range 600 {
		last = p.reserve(busy, limit, t0)
	}
	if n := p.size(); n != 1001 {
		t.Fatalf("%d limiters after 1001 accounts searched, want 1001", n)
	}
	if d := last.DelayFrom(t0); d < 2*sweepEvery {
		t.Fatalf("600th search waits %v, want over %v", d, 2*sweepEvery)
	}
	p.reserve(accountKey{base: DefaultBaseURL, hub: "new"}, limit, t0.Add(sweepEvery))
	if n := p.size(); n != 2 {
		t.Fatalf("%d limiters a minute later, want 2: the busy account's and the new one", n)
	}
	// The busy account's limiter survived with its queue: its next slot
	// follows the 600 taken.
	if d := p.reserve(busy, limit, t0.Add(sweepEvery)).DelayFrom(t0); d <= last.DelayFrom(t0) {
		t.Fatalf("601st search at +%v, not after the 600th at +%v: the queue was lost", d, last.DelayFrom(t0))
	}
	p.reserve(accountKey{base: DefaultBaseURL, hub: "new"}, limit, t0.Add(5*sweepEvery))
	if n := p.size(); n != 1 {
		t.Fatalf("%d limiters once every queue drained, want 1", n)
	}
}

// A Client's pace is 97% of the account's limit, HubSpot's unless the
// metadata says otherwise.
func TestSearchLimitParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  rate.Limit
	}{
		{"", 5 * searchShare},
		{" 5 ", 5 * searchShare},
		{"20", 20 * searchShare},
		{"0", rate.Inf},
		{"-1", rate.Inf},
	}
	for _, tt := range tests {
		got, err := searchLimit(map[string]string{MetadataSearchPerSecond: tt.value})
		if err != nil || got != tt.want {
			t.Errorf("%q: %v, %v; want %v", tt.value, got, err, tt.want)
		}
	}
	if got, err := searchLimit(nil); err != nil || got != 5*searchShare {
		t.Errorf("no metadata: %v, %v; want %v", got, err, 5*searchShare)
	}
}
