package fakekit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testStore(t *testing.T, n int) (*Store, *Clock) {
	t.Helper()
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := NewStore(clock)
	s.Add(ObjectSpec{
		Name:  "thing",
		Count: n,
		ID:    func(i int) string { return fmt.Sprintf("T%08d", i) },
		Index: func(id string) (int, bool) {
			if !strings.HasPrefix(id, "T") {
				return 0, false
			}
			i, err := strconv.Atoi(id[1:])
			return i, err == nil
		},
		NewID:  func(seq int) string { return fmt.Sprintf("N%08d", seq) },
		Fields: func(i int) map[string]any { return map[string]any{"name": Company(i)} },
	})
	return s, clock
}

func scanAll(t *testing.T, s *Store, q Query, limit int) []Record {
	t.Helper()
	var out []Record
	var c Cursor
	for pages := 0; ; pages++ {
		if pages > 1e6 {
			t.Fatal("scan does not end")
		}
		recs, next, done, err := s.Scan("thing", q, c, limit)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
		if done {
			return out
		}
		if next == c {
			t.Fatalf("cursor did not move from %v", c)
		}
		c = next
	}
}

func TestScanEveryRecordOnce(t *testing.T) {
	t.Parallel()
	s, _ := testStore(t, 1000)
	if _, err := s.Update("thing", "T00000010", map[string]any{"name": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete("thing", "T00000020"); err != nil {
		t.Fatal(err)
	}
	created, _ := s.Create("thing", map[string]any{"name": "new"})
	for _, limit := range []int{1, 7, 100, 1000, 5000} {
		recs := scanAll(t, s, Query{}, limit)
		ids := map[string]int{}
		for _, r := range recs {
			ids[r.ID]++
		}
		if len(recs) != 1000 || ids[created.ID] != 1 || ids["T00000020"] != 0 || ids["T00000010"] != 1 {
			t.Errorf("limit %d: %d records, created %d, deleted %d, updated %d", limit, len(recs), ids[created.ID], ids["T00000020"], ids["T00000010"])
		}
		for id, n := range ids {
			if n != 1 {
				t.Fatalf("limit %d: %s read %d times", limit, id, n)
			}
		}
		if !slices.IsSortedFunc(recs, func(a, b Record) int { return a.Modified.Compare(b.Modified) }) {
			t.Errorf("limit %d: not in modified order", limit)
		}
	}
}

func TestScanWindow(t *testing.T) {
	t.Parallel()
	s, clock := testStore(t, 100000)
	t0 := clock.Now()
	for _, id := range []string{"T00000005", "T00099999", "T00050000"} {
		if _, err := s.Update("thing", id, map[string]any{"name": "changed"}); err != nil {
			t.Fatal(err)
		}
	}
	t1 := clock.Now()
	if _, err := s.Delete("thing", "T00000007"); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, s, Query{Since: t0, IncludeDeleted: true}, 2)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if want := []string{"T00000005", "T00099999", "T00050000", "T00000007"}; !slices.Equal(ids, want) {
		t.Errorf("since t0: %v, want %v", ids, want)
	}
	if got := scanAll(t, s, Query{Since: t0, Until: t1}, 10); len(got) != 3 {
		t.Errorf("since t0 until t1: %d records, want 3", len(got))
	}
	if got := scanAll(t, s, Query{Since: t0}, 10); len(got) != 3 {
		t.Errorf("without deleted: %d records, want 3", len(got))
	}
	// Seeded records near the end of the seed window are found by arithmetic.
	cut := t0.Add(-10 * time.Second)
	if got := scanAll(t, s, Query{Since: cut, Until: t0.Add(-time.Millisecond)}, 100); len(got) != 8 {
		t.Errorf("last seeded seconds: %d records, want 8 (nine in the window, one of them rewritten)", len(got))
	}
	if live := s.Live("thing"); live != 99999 {
		t.Errorf("live = %d", live)
	}
}

func TestIDOrderPaging(t *testing.T) {
	t.Parallel()
	s, _ := testStore(t, 25)
	c1, _ := s.Create("thing", map[string]any{})
	c2, _ := s.Create("thing", map[string]any{})
	_, _ = s.Delete("thing", "T00000003")
	var ids []string
	pos := 0
	for {
		recs, next, done, err := s.ScanIDOrder("thing", Query{}, pos, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		if done {
			break
		}
		pos = next
	}
	if want := s.IDs("thing"); !slices.Equal(ids, want) || len(ids) != 26 || ids[24] != c1.ID || ids[25] != c2.ID {
		t.Errorf("paged %v\nwant    %v", ids, want)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tk := NewTokens(clock, TokenPolicy{AccessTTL: time.Hour, RotateRefresh: true})
	code := tk.NewCode(Grant{ClientID: "c"}, "https://app/cb", S256("verifier"))
	if _, _, _, err := tk.Exchange(code, "https://app/cb", "wrong"); err == nil {
		t.Error("a wrong PKCE verifier was accepted")
	}
	code = tk.NewCode(Grant{ClientID: "c"}, "https://app/cb", S256("verifier"))
	access, refresh, _, err := tk.Exchange(code, "https://app/cb", "verifier")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tk.Exchange(code, "https://app/cb", "verifier"); err == nil {
		t.Error("a code was accepted twice")
	}
	if _, ok := tk.Validate(access); !ok {
		t.Error("fresh token refused")
	}
	clock.Advance(time.Hour)
	if _, ok := tk.Validate(access); ok {
		t.Error("expired token accepted")
	}
	a2, r2, _, err := tk.Refresh(refresh)
	if err != nil || r2 == "" || r2 == refresh {
		t.Fatalf("rotation: new refresh %q, err %v", r2, err)
	}
	if _, _, _, err := tk.Refresh(refresh); err == nil {
		t.Error("a rotated-out refresh token still works")
	}
	tk.ExpireAll()
	if _, ok := tk.Validate(a2); ok {
		t.Error("ExpireAll left a token valid")
	}
}

func TestFaultBursts(t *testing.T) {
	t.Parallel()
	f := NewFaults(1)
	f.BurstEvery, f.BurstLength = 3, 2
	var got []int
	h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }), Responses{
		RateLimited: func(w http.ResponseWriter, r *http.Request, _ time.Duration) { w.WriteHeader(429) },
		ServerError: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
	})
	for range 10 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		got = append(got, rec.Code)
	}
	want := []int{200, 200, 200, 429, 429, 200, 200, 200, 429, 429}
	if !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func TestRefuseRefresh(t *testing.T) {
	t.Parallel()
	tk := NewTokens(NewClock(DefaultStart), TokenPolicy{RefuseRefresh: true})
	_, refresh := tk.Issue(Grant{})
	if _, _, _, err := tk.Refresh(refresh); err != ErrInvalidGrant {
		t.Errorf("refresh = %v, want invalid_grant", err)
	}
}

// TestFaultBurstsConcurrent checks that bursts refuse exactly their share
// of requests when many run at once with latency.
func TestFaultBurstsConcurrent(t *testing.T) {
	t.Parallel()
	f := NewFaults(1)
	f.BurstEvery, f.BurstLength, f.Latency = 10, 2, time.Millisecond
	h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), Responses{
		RateLimited: func(w http.ResponseWriter, r *http.Request, _ time.Duration) { w.WriteHeader(429) },
		ServerError: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
	})
	var throttled atomic.Int32
	var wg sync.WaitGroup
	for range 1200 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code == 429 {
				throttled.Add(1)
			}
		})
	}
	wg.Wait()
	if got := throttled.Load(); got != 200 {
		t.Errorf("%d of 1200 requests throttled, want 200 (2 in every 12)", got)
	}
}

func TestFindByAndCreateUnique(t *testing.T) {
	t.Parallel()
	s, _ := testStore(t, 50000)
	if r, ok := s.FindBy("thing", "name", Company(40000)); !ok || r.ID != "T00040000" {
		t.Errorf("FindBy seeded = %v %v", r.ID, ok)
	}
	if _, ok := s.FindBy("thing", "name", []string{"x"}); ok {
		t.Error("a slice value matched")
	}
	var wg sync.WaitGroup
	var created atomic.Int32
	for range 20 {
		wg.Go(func() {
			if _, ok, err := s.CreateUnique("thing", "name", "unique-1", map[string]any{"name": "unique-1"}); err == nil && ok {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Errorf("%d concurrent CreateUnique calls created the record, want 1", created.Load())
	}
}

// TestLiveAndTotalCountWhatScansFind: Live and Total are the counts of
// scans without and with deleted records, after creates and deletes.
func TestLiveAndTotalCountWhatScansFind(t *testing.T) {
	t.Parallel()
	s, _ := testStore(t, 50)
	for i := range 3 {
		if _, err := s.Create("thing", map[string]any{"name": fmt.Sprint("new ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"T00000003", "T00000040"} {
		if _, err := s.Delete("thing", id); err != nil {
			t.Fatal(err)
		}
	}
	if live, scanned := s.Live("thing"), len(scanAll(t, s, Query{}, 7)); live != scanned || live != 51 {
		t.Errorf("Live = %d, a scan finds %d; want 51", live, scanned)
	}
	if total, scanned := s.Total("thing"), len(scanAll(t, s, Query{IncludeDeleted: true}, 7)); total != scanned || total != 53 {
		t.Errorf("Total = %d, a scan with deleted records finds %d; want 53", total, scanned)
	}
}
