package hubspot

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/ampforge/amp/providers"
)

// page builds a half of records with ids from..to, stepping by step (-1
// for a search page).
func page(from, to, step int) *half {
	var recs []providers.Record
	for id := from; ; id += step {
		recs = append(recs, providers.Record{ID: strconv.Itoa(id)})
		if id == to {
			break
		}
	}
	return newHalf(recs)
}

func withNext(h *half, next string) *half {
	h.next = next
	return h
}

func listPage(from, to int, next string) *half { return withNext(page(from, to, 1), next) }

func searchPage(from, to int, more bool) *half {
	h := page(from, to, -1)
	h.more = more
	return h
}

// idRange lists the ids from..to as strings, ascending.
func idRange(from, to int) []string {
	var ids []string
	for id := from; id <= to; id++ {
		ids = append(ids, strconv.Itoa(id))
	}
	return ids
}

// Each call delivers the records new to the read, judged against the
// ends before it, once; the ends move to what the pages covered, and the
// read ends when they meet or either side runs out.
func TestEndsMerge(t *testing.T) {
	t.Parallel()
	start := ends{searchLow: noBound}
	tests := []struct {
		name        string
		e           ends
		list, found *half
		want        []string // ids delivered, sorted
		next        string   // cursor; "" for done
	}{
		{
			name: "FirstSearch", e: start, found: searchPage(1300, 1101, true),
			want: idRange(1101, 1300), next: "d:::1101:",
		},
		{
			name: "FirstList", e: start, list: listPage(1001, 1100, "p2"),
			want: idRange(1001, 1100), next: "d::1100::p2",
		},
		{
			name: "BothApart", e: ends{listHigh: 1100, searchLow: 1901, after: "p2"},
			list: listPage(1101, 1200, "p3"), found: searchPage(1900, 1701, true),
			want: append(idRange(1101, 1200), idRange(1701, 1900)...), next: "d::1200:1701:p3",
		},
		{
			// The list page runs into what search delivered: only
			// its ids below searchLow are new, and the ends have met.
			name: "ListCrossesMidPage", e: ends{listHigh: 1100, searchLow: 1151, after: "p2"},
			list: listPage(1101, 1200, "p3"),
			want: idRange(1101, 1150),
		},
		{
			name: "SearchCrossesMidPage", e: ends{listHigh: 1100, searchLow: 1151, after: "p2"},
			found: searchPage(1150, 951, true),
			want:  idRange(1101, 1150),
		},
		{
			// Both pages overlap each other: the overlap once, and
			// nothing between the old ends lost.
			name: "BothCrossMidPage", e: ends{listHigh: 1100, searchLow: 1251, after: "p2"},
			list: listPage(1101, 1200, "p3"), found: searchPage(1250, 1051, true),
			want: idRange(1101, 1250),
		},
		{
			name: "EndsAdjacent", e: ends{listHigh: 1100, searchLow: 1301, after: "p2"},
			list: listPage(1101, 1200, "p3"), found: searchPage(1300, 1201, true),
			want: idRange(1101, 1300),
		},
		{
			// Gaps (deleted records) leave the ends apart; they go
			// on.
			name: "GapBetween", e: ends{listHigh: 1100, searchLow: 1301, after: "p2"},
			list: listPage(1101, 1150, "p3"), found: searchPage(1300, 1251, true),
			want: append(idRange(1101, 1150), idRange(1251, 1300)...), next: "d::1150:1251:p3",
		},
		{
			name: "ListReachesTheEnd", e: ends{listHigh: 1100, searchLow: 1901, after: "p2"},
			list: listPage(1101, 1150, ""),
			want: idRange(1101, 1150),
		},
		{
			name: "SearchReachesTheBottom", e: ends{listHigh: 1100, searchLow: 1901, after: "p2"},
			found: searchPage(1900, 1850, false),
			want:  idRange(1850, 1900),
		},
		{
			name: "EmptySearch", e: ends{listHigh: 1100, searchLow: 1901, after: "p2"},
			found: &half{ok: true},
		},
		{
			// Out of order: a plain list read from the list's cursor,
			// delivering the whole page, searched ids included.
			name: "ListOutOfOrder", e: ends{listHigh: 1100, searchLow: 1151, after: "p2"},
			list: withNext(page(1200, 1101, -1), "p3"),
			want: idRange(1101, 1200), next: "l:p3",
		},
		{
			name: "ListBelowListHigh", e: ends{listHigh: 1100, searchLow: 1901, after: "p2"},
			list: listPage(1051, 1150, "p3"), found: searchPage(1900, 1801, true),
			want: append(idRange(1051, 1150), idRange(1801, 1900)...), next: "l:p3",
		},
		{
			name: "ListIDNotANumber", e: start,
			list: &half{recs: []providers.Record{{ID: "a1"}}, next: "p2"},
			want: []string{"a1"}, next: "l:p2",
		},
		{
			// Search out of order: its page is dropped and search given
			// up; the list's page stands.
			name: "SearchOutOfOrder", e: ends{listHigh: 1100, searchLow: 1901, after: "p2"},
			list: listPage(1101, 1200, "p3"), found: searchPage(1950, 1751, true),
			want: idRange(1101, 1200), next: "d:n:1200:1901:p3",
		},
		{
			name: "NoSearchListsOn", e: ends{listHigh: 1100, searchLow: 1901, after: "p2", noSearch: true},
			list: listPage(1101, 1200, "p3"),
			want: idRange(1101, 1200), next: "d:n:1200:1901:p3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := tt.e.merge(tt.list, tt.found)
			var got []string
			for _, r := range out.Records {
				got = append(got, r.ID)
			}
			slices.Sort(got) // the ids have four digits
			if !slices.Equal(got, tt.want) {
				t.Errorf("delivered %v\nwant %v", got, tt.want)
			}
			if out.NextCursor != tt.next || out.Done != (tt.next == "") {
				t.Errorf("next %q done %v, want %q", out.NextCursor, out.Done, tt.next)
			}
		})
	}
}

// The first search's total is the read's estimate.
func TestEndsMergeTotal(t *testing.T) {
	t.Parallel()
	found := searchPage(1300, 1101, true)
	found.total = 300
	if got := (ends{searchLow: noBound}).merge(nil, found).Total; got != 300 {
		t.Errorf("first search: Total %d, want 300", got)
	}
	if got := (ends{searchLow: 1301}).merge(nil, found).Total; got != -1 {
		t.Errorf("later search: Total %d, want -1", got)
	}
}

func TestParseEnds(t *testing.T) {
	t.Parallel()
	for _, e := range []ends{
		{searchLow: noBound},
		{listHigh: 1100, searchLow: 1901, after: "p:2"},
		{listHigh: 5, searchLow: noBound, noSearch: true, after: "x"},
		{listHigh: 5, searchLow: 900, listNext: true, searchFailures: 3, after: "y"},
		{searchLow: noBound, noSearch: true, searchFailures: 5},
	} {
		s := e.String()
		phase, state, _ := strings.Cut(s, ":")
		got, err := parseEnds(state)
		if phase != "d" || err != nil || got != e {
			t.Errorf("%+v -> %q -> %+v, %v", e, s, got, err)
		}
	}
	for _, bad := range []string{"", "::", "x:::", ":a::", "::b:", ":5:5:", ":6:5:", "f:::", "f0:::", "fx:::"} {
		if _, err := parseEnds(bad); err == nil {
			t.Errorf("parseEnds(%q) succeeded", bad)
		}
	}
}

// A call may send a second request only with a fresh reading that leaves
// more than a fifth of the window, and only while this process's own
// requests, extrapolated to a window, stay within 80% of it.
func TestBurstLogAmple(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	// sends spreads n requests evenly over d before now.
	sends := func(now time.Time, n int, d time.Duration) []time.Time {
		var out []time.Time
		for i := range n {
			out = append(out, now.Add(-d+time.Duration(i+1)*d/time.Duration(n)))
		}
		return out
	}
	now := t0.Add(time.Minute)
	tests := []struct {
		name string
		b    burstLog
		want bool
	}{
		{"NoReading", burstLog{sent: sends(now, 10, 2*time.Second), first: now.Add(-2 * time.Second)}, false},
		{"Ample", burstLog{sent: sends(now, 10, 2*time.Second), first: now.Add(-2 * time.Second),
			max: 190, remaining: 150, window: 10 * time.Second, readAt: now}, true},
		{"StaleReading", burstLog{sent: sends(now, 10, 2*time.Second), first: now.Add(-2 * time.Second),
			max: 190, remaining: 150, window: 10 * time.Second, readAt: now.Add(-11 * time.Second)}, false},
		{"LittleRemains", burstLog{sent: sends(now, 10, 2*time.Second), first: now.Add(-2 * time.Second),
			max: 190, remaining: 38, window: 10 * time.Second, readAt: now}, false},
		{"SentSinceTheReading", burstLog{sent: sends(now, 10, 2*time.Second), first: now.Add(-2 * time.Second),
			max: 190, remaining: 40, window: 10 * time.Second, readAt: now.Add(-time.Second)}, false},
		{"TooLittleHistory", burstLog{sent: sends(now, 2, 200*time.Millisecond), first: now.Add(-200 * time.Millisecond),
			max: 190, remaining: 180, window: 10 * time.Second, readAt: now}, false},
		// 10 a second is 100 a window: over 80% of 100, within it of 190.
		{"PaceFillsTheWindow", burstLog{sent: sends(now, 20, 2*time.Second), first: now.Add(-2 * time.Second),
			max: 100, remaining: 80, window: 10 * time.Second, readAt: now}, false},
		{"PaceLeavesRoom", burstLog{sent: sends(now, 20, 2*time.Second), first: now.Add(-2 * time.Second),
			max: 190, remaining: 170, window: 10 * time.Second, readAt: now}, true},
		{"RateAtTheEdge", burstLog{sent: sends(now, 151, 10*time.Second), first: now.Add(-time.Minute),
			max: 190, remaining: 100, window: 10 * time.Second, readAt: now}, true},
		{"RateOverTheEdge", burstLog{sent: sends(now, 152, 10*time.Second), first: now.Add(-time.Minute),
			max: 190, remaining: 100, window: 10 * time.Second, readAt: now}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.b.ample(now); got != tt.want {
				t.Errorf("ample = %v, want %v", got, tt.want)
			}
		})
	}
}

// The registry's burst logs go once they hold neither a request nor a
// reading of the last window, like its idle limiters.
func TestBurstLogSwept(t *testing.T) {
	t.Parallel()
	p := &pacerRegistry{limiters: map[accountKey]*rate.Limiter{}}
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	idle, busy, late := accountKey{hub: "idle"}, accountKey{hub: "busy"}, accountKey{hub: "late"}
	p.sent(idle, t0)
	p.observed(idle, 100, 99, 10*time.Second, t0)
	p.sent(busy, t0.Add(55*time.Second))
	p.sent(late, t0.Add(sweepEvery+time.Second)) // sweeps first
	if _, ok := p.bursts[idle]; ok || len(p.bursts) != 2 {
		t.Errorf("burst logs after the sweep: %v; want busy's and late's", slices.Collect(maps.Keys(p.bursts)))
	}
}

// A window allows probeShare of its limit in probes (2 at 100 per 10 s,
// none under 50), only with a recent reading that leaves room, and again
// once the window has passed.
func TestBurstLogProbes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	win := 10 * time.Second
	take := func(b *burstLog, at time.Time, n int) int {
		got := 0
		for range n {
			if b.probe(at) {
				got++
			}
		}
		return got
	}
	tests := []struct {
		name string
		b    burstLog
		want int
	}{
		{"NoReading", burstLog{}, 0},
		{"StaleReading", burstLog{max: 100, remaining: 99, window: win, readAt: now.Add(-11 * time.Second)}, 0},
		{"WindowNearlySpent", burstLog{max: 100, remaining: 20, window: win, readAt: now}, 0},
		// 5 sent since a reading of 25 left: 20, a fifth of 100.
		{"SpentSinceTheReading", burstLog{max: 100, remaining: 25, window: win, readAt: now.Add(-time.Second),
			sent: []time.Time{now.Add(-500 * time.Millisecond), now.Add(-400 * time.Millisecond), now.Add(-300 * time.Millisecond), now.Add(-200 * time.Millisecond), now.Add(-100 * time.Millisecond)}}, 0},
		{"RoomSinceTheReading", burstLog{max: 100, remaining: 26, window: win, readAt: now.Add(-time.Second),
			sent: []time.Time{now.Add(-500 * time.Millisecond), now.Add(-400 * time.Millisecond), now.Add(-300 * time.Millisecond), now.Add(-200 * time.Millisecond), now.Add(-100 * time.Millisecond)}}, 2},
		{"At100", burstLog{max: 100, remaining: 99, window: win, readAt: now}, 2},
		{"At190", burstLog{max: 190, remaining: 189, window: win, readAt: now}, 3},
		{"At40", burstLog{max: 40, remaining: 39, window: win, readAt: now}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := take(&tt.b, now, 5); got != tt.want {
				t.Errorf("%d probes taken, want %d", got, tt.want)
			}
		})
	}
	t.Run("NextWindow", func(t *testing.T) {
		t.Parallel()
		b := burstLog{max: 100, remaining: 99, window: win, readAt: now}
		if got := take(&b, now, 5); got != 2 {
			t.Fatalf("%d probes in the first window, want 2", got)
		}
		// A window later, but for the grace a probe's search may take.
		b.readAt = now.Add(win + time.Millisecond)
		if got := take(&b, b.readAt, 5); got != 0 {
			t.Fatalf("%d probes just a window later, want 0: the searches may still be within one window", got)
		}
		later := now.Add(win + searchGrace + time.Millisecond)
		b.readAt = later
		if got := take(&b, later, 5); got != 2 {
			t.Errorf("%d probes a window later, want 2", got)
		}
	})
}
