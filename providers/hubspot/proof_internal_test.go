package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
)

// answered returns n requests sent every 100 ms from start, each answered
// 100 ms after it left; those whose index search picks are searches.
func answered(start time.Time, n int, search func(i int) bool) []doneRequest {
	return answeredEvery(start, 100*time.Millisecond, n, search)
}

// answeredEvery is answered with requests sent every step.
func answeredEvery(start time.Time, step time.Duration, n int, search func(i int) bool) []doneRequest {
	out := make([]doneRequest, n)
	for i := range out {
		at := start.Add(time.Duration(i) * step)
		out[i] = doneRequest{sent: at, at: at.Add(100 * time.Millisecond), search: search(i)}
	}
	return out
}

func everyOther(i int) bool { return i%2 == 0 }
func none(int) bool         { return false }
func all(int) bool          { return true }

// Each condition of a proof, alone: a reading short of this Client's
// count by the margin and the share, covering the requests other than
// searches, counting only requests answered before the reading's request
// left, sent after the floor and within the window.
func TestWindowProofProves(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 5, 9, 0, 10, 0, time.UTC)
	sent := now.Add(-100 * time.Millisecond) // the reading's request
	at := func(d time.Duration) time.Time { return now.Add(d) }
	// 20 requests 50 ms apart, all within the last fifth of the window
	// (2 s) and answered before the reading's request left.
	twenty := func(search func(i int) bool) []doneRequest {
		return answeredEvery(at(-1500*time.Millisecond), 50*time.Millisecond, 20, search)
	}
	tests := []struct {
		name  string
		done  []doneRequest
		floor time.Time
		used  int
		want  bool
	}{
		// 20 answered (10 searches) and the reading's own: 21. 11 used
		// (the lists and this one) proves it.
		{"ListsOnlyCounted", twenty(everyOther), time.Time{}, 11, true},
		{"SearchesCounted", twenty(everyOther), time.Time{}, 21, false},
		// Few requests: the margin binds. 6 answered (3 searches): 7.
		{"ShortByTheMargin", answeredEvery(at(-time.Second), 50*time.Millisecond, 6, everyOther), time.Time{}, 6, false},
		{"ShortPastTheMargin", answeredEvery(at(-time.Second), 50*time.Millisecond, 6, everyOther), time.Time{}, 5, true},
		// Many: the share binds. 40 answered and this one: 41, a quarter
		// of it 10.25.
		{"ShortUnderTheShare", answeredEvery(at(-1500*time.Millisecond), 25*time.Millisecond, 40, func(i int) bool { return i < 10 }), time.Time{}, 31, false},
		{"ShortAtTheShare", answeredEvery(at(-1500*time.Millisecond), 25*time.Millisecond, 40, func(i int) bool { return i < 11 }), time.Time{}, 30, true},
		// 10 lists and 4 searches answered: 15. A reading of 5 is short
		// of the lists too: requests left HubSpot's count unseen.
		{"ListsNotCovered", answeredEvery(at(-time.Second), 50*time.Millisecond, 14, func(i int) bool { return i >= 10 }), time.Time{}, 5, false},
		{"ListsCoveredButOne", answeredEvery(at(-time.Second), 50*time.Millisecond, 14, func(i int) bool { return i >= 10 }), time.Time{}, 10, true},
		{"NoSearches", twenty(none), time.Time{}, 11, false},
		// Only the last fifth of the window counts: a window estimated
		// from fixed steps may have shed part of older requests.
		{"BeforeTheSpan", answeredEvery(at(-5*time.Second), 50*time.Millisecond, 20, everyOther), time.Time{}, 11, false},
		// Before the floor, likewise; the floor's own request counts.
		{"BeforeTheFloor", twenty(everyOther), at(-time.Second), 11, false},
		{"FromTheFloor", answeredEvery(at(-time.Second), 100*time.Millisecond, 4, func(i int) bool { return i == 1 || i == 2 }), at(-time.Second), 3, true},
		// Five lists answered before the reading's request left, and five
		// searches sent before it but answered after: HubSpot may have
		// had none of those searches when it counted.
		{"AnsweredAfterTheReadingLeft", append(answeredEvery(at(-time.Second), 50*time.Millisecond, 5, none),
			doneRequest{sent: at(-450 * time.Millisecond), at: at(-50 * time.Millisecond), search: true},
			doneRequest{sent: at(-400 * time.Millisecond), at: at(-40 * time.Millisecond), search: true},
			doneRequest{sent: at(-350 * time.Millisecond), at: at(-30 * time.Millisecond), search: true},
			doneRequest{sent: at(-300 * time.Millisecond), at: at(-20 * time.Millisecond), search: true},
			doneRequest{sent: at(-250 * time.Millisecond), at: at(-10 * time.Millisecond), search: true}), time.Time{}, 6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := windowProof{window: 10 * time.Second, done: tt.done, floor: tt.floor}
			if got := w.proves(tt.used, sent, now); got != tt.want {
				t.Errorf("proves(%d used) = %v, want %v", tt.used, got, tt.want)
			}
		})
	}
}

// The floor moves to a reading's request when there is no reading of the
// last window before it, or when the count fell: what was sent before may
// have left HubSpot's count unseen. A window's 429 withdraws the proof
// for good.
func TestWindowProofObserved(t *testing.T) {
	t.Parallel()
	win := 10 * time.Second
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	feed := func(w *windowProof, ds []doneRequest) {
		for _, d := range ds {
			w.completed(d.sent, d.at, d.search)
		}
	}
	t.Run("FirstReading", func(t *testing.T) {
		t.Parallel()
		// Twelve seconds of searches alone (an incremental read), then a
		// list whose reading counts only itself: in a window that began
		// afresh, the searches may be gone from it.
		var w windowProof
		feed(&w, answered(t0, 120, all))
		now := t0.Add(12 * time.Second)
		w.observed(1, win, now.Add(-100*time.Millisecond), now)
		if w.holds() {
			t.Fatal("a first reading proved searches outside the window")
		}
		// Then lists and searches after it, the reading counting the
		// lists alone: that proves it.
		feed(&w, answered(now, 10, everyOther))
		later := now.Add(1100 * time.Millisecond)
		w.observed(7, win, later.Add(-100*time.Millisecond), later) // 1 before, 5 lists, this one
		if !w.holds() {
			t.Fatal("readings after the first, short of the searches, did not prove it")
		}
	})
	t.Run("StaleReading", func(t *testing.T) {
		t.Parallel()
		var w windowProof
		w.observed(1, win, t0, t0)
		feed(&w, answered(t0.Add(2*time.Second), 100, everyOther))
		now := t0.Add(12 * time.Second)                          // over a window after the last reading
		w.observed(11, win, now.Add(-100*time.Millisecond), now) // the lists of the last 2 s and this one
		if w.holds() {
			t.Fatal("a reading a window after the last one proved searches outside the window")
		}
	})
	t.Run("CountFell", func(t *testing.T) {
		t.Parallel()
		var w windowProof
		feed(&w, answered(t0, 20, everyOther))
		w.observed(1, win, t0, t0.Add(100*time.Millisecond))
		w.observed(21, win, t0.Add(2*time.Second), t0.Add(2100*time.Millisecond)) // counted
		now := t0.Add(2200 * time.Millisecond)
		w.observed(11, win, now.Add(-100*time.Millisecond), now) // fell: requests left the count
		if w.holds() {
			t.Fatal("a count that fell proved searches outside the window")
		}
	})
	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		var w windowProof
		w.observed(1, win, t0, t0)
		feed(&w, answered(t0, 20, everyOther))
		now := t0.Add(3 * time.Second)
		w.observed(6, win, now.Add(-100*time.Millisecond), now) // the lists of the last 2 s and this one
		if !w.holds() {
			t.Fatal("no proof from a reading counting only the lists")
		}
		w.refuse()
		if w.holds() {
			t.Fatal("the proof stands after a 429")
		}
		feed(&w, answered(now, 40, everyOther))
		later := now.Add(5 * time.Second)
		w.observed(31, win, later.Add(-100*time.Millisecond), later)
		if w.holds() {
			t.Error("readings after a 429 proved it again")
		}
	})
}

// Which 429s withdraw the proof: the burst window's, on a list or a
// search (then searches are the window's after all), and any other but
// the daily one on a request of the window; not search's own per-second
// limit, nor the daily quota.
func TestWindowProofRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, policy string
		withdrawn    bool
	}{
		{"/crm/v3/objects/contacts", "TEN_SECONDLY_ROLLING", true},
		{"/crm/v3/objects/contacts/search", "TEN_SECONDLY_ROLLING", true},
		{"/crm/v3/objects/contacts", "SECONDLY", true},
		{"/crm/v3/objects/contacts/search", "SECONDLY", false},
		{"/crm/v3/objects/contacts", "DAILY", false},
		{"/crm/v3/objects/contacts/search", "DAILY", false},
	}
	for _, tt := range tests {
		t.Run(tt.policy+tt.path, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, `{"status":"error","message":"limit","errorType":"RATE_LIMIT","policyName":%q}`, tt.policy)
			}))
			t.Cleanup(srv.Close)
			c, err := New(providers.Config{HTTPClient: srv.Client(), BaseURL: srv.URL, Metadata: map[string]string{MetadataSearchPerSecond: "0"}})
			if err != nil {
				t.Fatal(err)
			}
			c.proof.outside = true
			method := "GET"
			if tt.path != "/crm/v3/objects/contacts" {
				method = "POST"
			}
			if _, _, err := c.do(context.Background(), method, srv.URL+tt.path, nil); providers.KindOf(err) != providers.KindRateLimited {
				t.Fatalf("%s %s: %v, want a rate limit", method, tt.path, err)
			}
			if got := !c.proof.holds(); got != tt.withdrawn {
				t.Errorf("after a %s 429 on %s: withdrawn %v, want %v", tt.policy, tt.path, got, tt.withdrawn)
			}
		})
	}
}
