package hubspot_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
)

// More records match than one search query can page through (10,000):
// the incremental read must still return each exactly once, in modified
// order, both when every record has its own time and when all of them
// share one (the tie crosses the 10,000 boundary many times over).
func TestSearchPastTheCap(t *testing.T) {
	t.Parallel()
	const n = 10_500
	tests := []struct {
		name     string
		seedStep time.Duration
	}{
		{"DistinctTimes", 0},
		{"OneSharedTime", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := noSearchLimit(n)
			opts.Limits.Window = -1
			opts.SeedStep = tt.seedStep
			s := newSetup(t, opts, nil)
			// Records change during the read: touched ones are read again
			// at their new time, after everything else.
			req := providers.ReadRequest{Object: "contacts", Fields: []string{"email"}, Since: fakekit.DefaultStart.AddDate(0, 0, -1), PageSize: 200}
			seen := map[string]int{}
			var last time.Time
			pages := 0
			for {
				page, err := s.conn.Read(t.Context(), req)
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				for _, r := range page.Records {
					seen[r.ID]++
					if r.ModifiedAt.Before(last) {
						t.Fatalf("record %s at %s after one at %s: not in modified order", r.ID, r.ModifiedAt, last)
					}
					last = r.ModifiedAt
				}
				if pages == 10 {
					s.fake.Touch("contacts", "1001") // already read: read again at its new time
				}
				if page.Done {
					break
				}
				req.Cursor = page.NextCursor
			}
			want := s.fake.IDs("contacts")
			if len(seen) != len(want) {
				t.Fatalf("read %d distinct records in %d pages, want %d", len(seen), pages, len(want))
			}
			for _, id := range want {
				wantN := 1
				if id == "1001" {
					wantN = 2
				}
				if seen[id] != wantN {
					t.Fatalf("record %s read %d times, want %d", id, seen[id], wantN)
				}
			}
			if pages < n/200 {
				t.Errorf("%d pages for %d records", pages, n)
			}
		})
	}
}

// The fake refuses to page one query past 10,000 results, as HubSpot does,
// and says so on the page that reaches it.
func TestFakeSearchCap(t *testing.T) {
	t.Parallel()
	f := fakeWith(t, 10_300)
	body := map[string]any{
		"filterGroups": []any{map[string]any{"filters": []any{map[string]any{"propertyName": "lastmodifieddate", "operator": "GT", "value": "0"}}}},
		"sorts":        []any{map[string]any{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}},
		"limit":        200, "after": "9900",
	}
	st, b := f.call(t, "POST", "/crm/v3/objects/contacts/search", body)
	wantStatus(t, st, 200, b)
	var page struct {
		Total   int
		Results []json.RawMessage
		Paging  struct{ Next struct{ After string } }
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	if page.Total != 10_300 || len(page.Results) != 100 || page.Paging.Next.After != "10000" {
		t.Fatalf("total %d, %d results, next %q; want 10300, 100 (up to the cap), 10000", page.Total, len(page.Results), page.Paging.Next.After)
	}
	body["after"] = "10000"
	st, b = f.call(t, "POST", "/crm/v3/objects/contacts/search", body)
	wantStatus(t, st, 400, b)
}

func fakeWith(t *testing.T, records int) *fakeAPI {
	t.Helper()
	opts := noSearchLimit(records)
	opts.Limits.Window = -1
	s := newSetup(t, opts, nil)
	access, _ := s.fake.Issue()
	return &fakeAPI{f: s.fake, srv: s.srv, token: access}
}
