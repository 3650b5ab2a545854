package fake

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// step is one moment of a limits scenario: move the fake's clock by
// advance, then send requests GETs and expect these answers.
type step struct {
	advance  time.Duration
	requests int
	// want is the status of each request (429 or 200); retryAfter and
	// code are checked on the last one when it is a 429.
	want       []int
	retryAfter string
	code       string
	// burst and time, when set, are the debug headers of the last one.
	burst, time string
}

func runSteps(t *testing.T, e *env, path string, steps []step) {
	t.Helper()
	for i, st := range steps {
		e.srv.Advance(st.advance)
		var resp *http.Response
		var body []byte
		for n := range st.requests {
			resp, body = e.do(t, http.MethodGet, path, nil, "")
			if resp.StatusCode != st.want[n] {
				t.Fatalf("step %d request %d: status %d, want %d: %s", i, n, resp.StatusCode, st.want[n], body)
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			m := decode(t, body)["error"].(map[string]any)
			if got := resp.Header.Get("Retry-After"); got != st.retryAfter || m["code"] != st.code {
				t.Errorf("step %d: Retry-After %q code %v, want %q %s (%s)", i, got, m["code"], st.retryAfter, st.code, m["message"])
			}
		}
		if st.burst != "" {
			if got := resp.Header.Get("x-ms-ratelimit-burst-remaining-xrm-requests"); got != st.burst {
				t.Errorf("step %d: burst remaining %q, want %q", i, got, st.burst)
			}
		}
		if st.time != "" {
			if got := resp.Header.Get("x-ms-ratelimit-time-remaining-xrm-requests"); got != st.time {
				t.Errorf("step %d: time remaining %q, want %q", i, got, st.time)
			}
		}
	}
}

func statuses(codes ...int) []int { return codes }

func repeat(code, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = code
	}
	return out
}

// TestRequestWindowSlides checks the request limit is a sliding window:
// requests leave it 5 minutes after they were made, one by one, rather
// than all at once when a fixed window would reset.
func TestRequestWindowSlides(t *testing.T) {
	t.Parallel()
	const ok, limited = http.StatusOK, http.StatusTooManyRequests
	tests := []struct {
		name  string
		steps []step
	}{
		{"requests spread across the window boundary", []step{
			{requests: 6, want: repeat(ok, 6), burst: "4"},
			{advance: 4 * time.Minute, requests: 4, want: repeat(ok, 4), burst: "0"},
			// The 11th: the six of t=0 leave the window at 5:00.
			{requests: 1, want: statuses(limited), retryAfter: "60", code: CodeRequestLimit, burst: "0"},
			{advance: 59 * time.Second, requests: 1, want: statuses(limited), retryAfter: "1", code: CodeRequestLimit},
			// At 5:00 exactly the six of t=0 are gone (a fixed window
			// would have freed all ten), so six more pass...
			{advance: time.Second, requests: 6, want: repeat(ok, 6), burst: "0"},
			// ...and the next waits for the four of 4:00 to leave at 9:00.
			{requests: 1, want: statuses(limited), retryAfter: "240", code: CodeRequestLimit},
			{advance: 4 * time.Minute, requests: 4, want: repeat(ok, 4), burst: "0"},
			{requests: 1, want: statuses(limited), retryAfter: "60", code: CodeRequestLimit},
		}},
		{"one request per minute never trips it", []step{
			{requests: 10, want: repeat(ok, 10), burst: "0"},
			{requests: 1, want: statuses(limited), retryAfter: "300", code: CodeRequestLimit},
			{advance: 5 * time.Minute, requests: 10, want: repeat(ok, 10)},
			{advance: 5 * time.Minute, requests: 1, want: statuses(ok), burst: "9"},
			{advance: time.Minute, requests: 1, want: statuses(ok), burst: "8"},
			{advance: time.Minute, requests: 1, want: statuses(ok), burst: "7"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 10, Concurrency: -1}}, ExecTime: -1, ThrottlePenalty: -1, LimitClock: true})
			runSteps(t, e, "accounts", tt.steps)
		})
	}
}

// TestExecutionTimeBudget checks the combined execution-time limit: each
// request costs Cost.PerRequest plus Cost.PerRecord per record returned,
// the budget slides like the request window, and the refusal quotes the
// budget.
func TestExecutionTimeBudget(t *testing.T) {
	t.Parallel()
	const ok, limited = http.StatusOK, http.StatusTooManyRequests
	// 20 records at 10 ms plus 100 ms: 300 ms a read, a 1 s budget.
	opts := Options{Options: fakekit.Options{Records: 20, Limits: fakekit.Limits{Window: -1, Concurrency: -1}},
		ExecTime: time.Second, Cost: Cost{PerRequest: 100 * time.Millisecond, PerRecord: 10 * time.Millisecond}, ThrottlePenalty: -1, LimitClock: true}
	tests := []struct {
		name  string
		steps []step
	}{
		{"reads a minute apart", []step{
			{requests: 1, want: statuses(ok), time: "1.00"},
			{advance: time.Minute, requests: 1, want: statuses(ok), time: "0.70"},
			{advance: time.Minute, requests: 1, want: statuses(ok), time: "0.40"},
			// The fourth is served (0.1 s left before it), leaving 1.2 s
			// spent: the limit engages once exceeded.
			{advance: time.Minute, requests: 1, want: statuses(ok), time: "0.10"},
			// The read of t=0 leaves the window at 5:00, bringing 1.2 s
			// down to 0.9 s.
			{requests: 1, want: statuses(limited), retryAfter: "120", code: CodeExecTimeLimit, time: "0.00"},
			{advance: 2 * time.Minute, requests: 1, want: statuses(ok), time: "0.10"},
		}},
		{"a burst waits a whole window", []step{
			{requests: 4, want: repeat(ok, 4), time: "0.10"},
			{requests: 1, want: statuses(limited), retryAfter: "300", code: CodeExecTimeLimit},
			{advance: 5 * time.Minute, requests: 1, want: statuses(ok), time: "1.00"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, opts)
			runSteps(t, e, "accounts?$select=name", tt.steps)
		})
	}
	t.Run("message and write costs", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		// A $batch of five creates costs 100 ms plus 5 x 10 ms.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for i := range 5 {
			pw, _ := mw.CreatePart(map[string][]string{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}})
			fmt.Fprintf(pw, "POST %s%saccounts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n{\"name\":\"b%d\"}", e.ts.URL, APIPath, i)
		}
		_ = mw.Close()
		resp, body := e.do(t, http.MethodPost, "$batch", map[string]string{"Content-Type": "multipart/mixed; boundary=" + mw.Boundary()}, buf.String())
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), "204 No Content") != 5 {
			t.Fatalf("batch: %d %s", resp.StatusCode, body)
		}
		if _, left := e.srv.RemainingLimits(e.srv.AdminSubject()); left != 850*time.Millisecond {
			t.Errorf("after a batch of 5 creates: %s left, want 850ms", left)
		}
		// A single PATCH: 100 ms plus one record.
		if resp, body := e.do(t, http.MethodPatch, "accounts(accountnumber='C-1')", nil, `{"name":"c"}`); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("upsert: %d %s", resp.StatusCode, body)
		}
		if _, left := e.srv.RemainingLimits(e.srv.AdminSubject()); left != 740*time.Millisecond {
			t.Errorf("after an upsert: %s left, want 740ms", left)
		}
		for range 3 {
			e.do(t, http.MethodGet, "accounts", nil, "")
		}
		resp, body = e.do(t, http.MethodGet, "accounts", nil, "")
		msg := decode(t, body)["error"].(map[string]any)["message"]
		want := "Combined execution time of incoming requests exceeded limit of 1,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
		if resp.StatusCode != http.StatusTooManyRequests || msg != want {
			t.Errorf("refusal: %d %q", resp.StatusCode, msg)
		}
	})
}

// TestConcurrencyCap holds requests in flight (admitted, not finished)
// and checks the next one is refused at once, uncounted, and that a freed
// slot admits again.
func TestConcurrencyCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cap  int
	}{
		{"real default", 0},
		{"configured", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Concurrency: tt.cap}}, LimitClock: true})
			limit := tt.cap
			if limit == 0 {
				limit = DefaultConcurrency
			}
			subject := e.srv.AdminSubject()
			held := make([]admission, limit)
			for i := range held {
				if held[i] = e.srv.limits.admit(subject); held[i].refused != nil {
					t.Fatalf("slot %d refused: %+v", i, held[i].refused)
				}
			}
			before, _ := e.srv.RemainingLimits(subject)
			resp, body := e.do(t, http.MethodGet, "accounts", nil, "")
			m := decode(t, body)["error"].(map[string]any)
			want := fmt.Sprintf("Number of concurrent requests exceeded the limit of %d.", limit)
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" || m["code"] != CodeConcurrencyLimit || m["message"] != want {
				t.Errorf("over the cap: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			if after, _ := e.srv.RemainingLimits(subject); after != before {
				t.Errorf("a refused request was counted: %d then %d remaining", before, after)
			}
			// Another user has slots of its own.
			other, _ := e.srv.Kit().Tokens.Issue(fakekit.Grant{ClientID: "amp", Subject: "other@contoso.onmicrosoft.com"})
			mine := e.access
			e.access = other
			if resp, _ := e.do(t, http.MethodGet, "accounts", nil, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("another user: %d", resp.StatusCode)
			}
			e.access = mine
			held[0].done(0)
			if resp, body := e.do(t, http.MethodGet, "accounts", nil, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("after a slot was freed: %d %s", resp.StatusCode, body)
			}
		})
	}
}

// TestPenaltyExtension checks that a client sending while throttled
// lengthens its Retry-After, up to one window ahead, while one that waits
// as told is served when the window allows.
func TestPenaltyExtension(t *testing.T) {
	t.Parallel()
	const ok, limited = http.StatusOK, http.StatusTooManyRequests
	tests := []struct {
		name    string
		penalty time.Duration
		steps   []step
	}{
		{"waits as told", 10 * time.Second, []step{
			{requests: 2, want: repeat(ok, 2)},
			{requests: 1, want: statuses(limited), retryAfter: "300", code: CodeRequestLimit},
			{advance: 5 * time.Minute, requests: 2, want: repeat(ok, 2)},
		}},
		{"keeps sending", 10 * time.Second, []step{
			{requests: 2, want: repeat(ok, 2)},
			{requests: 1, want: statuses(limited), retryAfter: "300", code: CodeRequestLimit},
			{advance: 100 * time.Second, requests: 1, want: statuses(limited), retryAfter: "210", code: CodeRequestLimit},
			{requests: 3, want: repeat(limited, 3), retryAfter: "240", code: CodeRequestLimit},
			// The window would allow it at 5:00; the penalty runs to 5:40.
			{advance: 200 * time.Second, requests: 1, want: statuses(limited), retryAfter: "50", code: CodeRequestLimit},
			{advance: 50 * time.Second, requests: 2, want: repeat(ok, 2)},
		}},
		{"capped at one window ahead", 4 * time.Minute, []step{
			{requests: 2, want: repeat(ok, 2)},
			{requests: 1, want: statuses(limited), retryAfter: "300", code: CodeRequestLimit},
			{advance: time.Minute, requests: 1, want: statuses(limited), retryAfter: "300", code: CodeRequestLimit},
			{requests: 1, want: statuses(limited), retryAfter: "300", code: CodeRequestLimit},
		}},
		{"no extension", -1, []step{
			{requests: 2, want: repeat(ok, 2)},
			{requests: 5, want: repeat(limited, 5), retryAfter: "300", code: CodeRequestLimit},
			{advance: 5 * time.Minute, requests: 1, want: statuses(ok)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: 2}}, ThrottlePenalty: tt.penalty, LimitClock: true})
			runSteps(t, e, "accounts", tt.steps)
		})
	}
}

// TestLimitHeaders checks the debug headers on a fresh window with the
// real defaults, and their format.
func TestLimitHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 3}, LimitClock: true})
	resp, _ := e.do(t, http.MethodGet, "WhoAmI", nil, "")
	if b, tm := resp.Header.Get("x-ms-ratelimit-burst-remaining-xrm-requests"), resp.Header.Get("x-ms-ratelimit-time-remaining-xrm-requests"); b != "5999" || tm != "1,200.00" {
		t.Errorf("fresh window: burst %q time %q, want 5999 and 1,200.00", b, tm)
	}
	resp, _ = e.do(t, http.MethodGet, "accounts", nil, "")
	if b, tm := resp.Header.Get("x-ms-ratelimit-burst-remaining-xrm-requests"), resp.Header.Get("x-ms-ratelimit-time-remaining-xrm-requests"); b != "5998" || tm != "1,199.98" {
		t.Errorf("second request: burst %q time %q, want 5998 and 1,199.98", b, tm)
	}
	off := newEnv(t, Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Window: -1}}, ExecTime: -1})
	resp, _ = off.do(t, http.MethodGet, "accounts", nil, "")
	if resp.Header.Get("x-ms-ratelimit-burst-remaining-xrm-requests") != "" || resp.Header.Get("x-ms-ratelimit-time-remaining-xrm-requests") != "" {
		t.Errorf("limits off, headers still sent: %v", resp.Header)
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.00"}, {10 * time.Millisecond, "0.01"}, {1199460 * time.Millisecond, "1,199.46"},
		{20 * time.Minute, "1,200.00"}, {1234567 * time.Second, "1,234,567.00"},
	} {
		if got := formatSeconds(tt.d); got != tt.want {
			t.Errorf("formatSeconds(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestSlidingMemory checks that a window merges close entries, so its
// memory stays bounded at any request rate.
func TestSlidingMemory(t *testing.T) {
	t.Parallel()
	s := sliding{granule: 300 * time.Millisecond}
	start := time.Unix(0, 0)
	for i := range 100000 {
		now := start.Add(time.Duration(i) * 10 * time.Millisecond) // 100 per second for 1000 s
		s.prune(now, 5*time.Minute)
		s.add(now, 1)
	}
	// 30,000 requests are in the window; merging may forget up to one
	// granule's worth (30) early, never count one late.
	if live := len(s.entries) - s.head; live > 1001 || s.total > 30000 || s.total < 30000-30 {
		t.Errorf("%d live entries, total %d; want at most 1001 and 29970-30000", live, s.total)
	}
}
