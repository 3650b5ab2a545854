package dynamics

import (
	"context"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
)

// readAll reads to the end, calling between(page) after every page.
func readAll(ctx context.Context, t *testing.T, c *Client, req providers.ReadRequest, between func(page int)) ([]providers.Record, int) {
	t.Helper()
	var out []providers.Record
	for page := 1; ; page++ {
		p, err := c.Read(ctx, req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if want := pageSize(req.PageSize); len(p.Records) > want {
			t.Fatalf("page %d has %d records, more than the page size %d", page, len(p.Records), want)
		}
		out = append(out, p.Records...)
		if p.Done {
			return out, page
		}
		if between != nil {
			between(page)
		}
		req.Cursor = p.NextCursor
	}
}

// TestScalePaging reads tables larger than several 5,000-row pages: the
// page size is capped at 5,000 even when more is asked, a full read keeps
// every record exactly once while records change between pages, and
// incremental and change-tracking reads page through more changes than
// one page holds.
func TestScalePaging(t *testing.T) {
	t.Parallel()
	const n = 23456
	tests := []struct {
		name     string
		pageSize int
		pages    int
	}{
		{"default page size", 0, 5},
		{"asks for more than the cap", 20000, 5},
		{"odd page size", 4999, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fake.Options{Options: fakekit.Options{Records: n}})
			want := f.srv.IDs("accounts")
			// Between pages: touch a record already read and one not yet
			// read, and delete one not yet read; create one.
			var deleted []string
			between := func(page int) {
				f.srv.Touch("accounts", want[(page-1)*1000])
				f.srv.Touch("accounts", want[n-1-page])
				gone := want[n-100-page]
				f.srv.Delete("accounts", gone)
				deleted = append(deleted, gone)
			}
			recs, pages := readAll(t.Context(), t, f.client, providers.ReadRequest{Object: "accounts", Fields: []string{"name"}, PageSize: tt.pageSize}, between)
			if pages != tt.pages {
				t.Errorf("%d pages, want %d", pages, tt.pages)
			}
			seen := map[string]int{}
			for _, r := range recs {
				seen[r.ID]++
			}
			for id, k := range seen {
				if k != 1 {
					t.Fatalf("%s read %d times", id, k)
				}
			}
			for _, id := range want {
				if seen[id] == 0 && !contains(deleted, id) {
					t.Fatalf("%s lost", id)
				}
			}
			if len(seen) != n-len(deleted) {
				t.Errorf("%d distinct records, want %d", len(seen), n-len(deleted))
			}
		})
	}

	t.Run("incremental and deltas past one page", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 12000}})
		ids := f.srv.IDs("accounts")
		t0 := f.srv.Now()
		for i := 0; i < 6000; i++ {
			f.srv.Touch("accounts", ids[i*2])
		}
		for i := 1; i <= 7; i++ {
			f.srv.Delete("accounts", ids[i*1001])
		}
		changed, pages := readAll(t.Context(), t, f.client, providers.ReadRequest{Object: "accounts", Fields: []string{"name"}, Since: t0}, nil)
		if len(changed) != 6000-3 || pages != 2 { // 3 of the deleted ids (2002, 4004, 6006) had been touched
			t.Errorf("incremental: %d records in %d pages, want 5997 in 2", len(changed), pages)
		}
		for k := 1; k < len(changed); k++ {
			if !changed[k].ModifiedAt.After(changed[k-1].ModifiedAt) {
				t.Fatalf("incremental read not in modifiedon order at %d", k)
			}
		}
		delta, pages := readAll(t.Context(), t, f.client, providers.ReadRequest{Object: "accounts", Fields: []string{"name"}, Since: t0, IncludeDeleted: true}, nil)
		dels := 0
		for _, r := range delta {
			if r.Deleted {
				dels++
			}
		}
		if len(delta) != 6000-3+7 || dels != 7 || pages != 2 {
			t.Errorf("delta: %d records (%d deleted) in %d pages, want 6004 (7) in 2", len(delta), dels, pages)
		}
		// Until bounds a delta read on the client; deletions are kept.
		mid := changed[2999].ModifiedAt
		bounded, _ := readAll(t.Context(), t, f.client, providers.ReadRequest{Object: "accounts", Since: t0, Until: mid, IncludeDeleted: true}, nil)
		live := 0
		for _, r := range bounded {
			if !r.Deleted {
				live++
				if r.ModifiedAt.After(mid) {
					t.Fatalf("record %s modified %s after Until %s", r.ID, r.ModifiedAt, mid)
				}
			}
		}
		if live != 3000 {
			t.Errorf("delta until the 3000th change: %d live records, want 3000", live)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
