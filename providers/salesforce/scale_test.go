package salesforce

import (
	"context"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

// readAllPages reads req to the end, returning ids in order and the page count.
func readAllPages(t *testing.T, c *Client, req providers.ReadRequest, between func(page int)) ([]string, []int) {
	t.Helper()
	var ids []string
	var sizes []int
	for page := 1; ; page++ {
		p, err := c.Read(context.Background(), req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		sizes = append(sizes, len(p.Records))
		for _, r := range p.Records {
			ids = append(ids, r.ID)
		}
		if p.Done {
			return ids, sizes
		}
		if between != nil {
			between(page)
		}
		req.Cursor = p.NextCursor
	}
}

// TestScaleQueryLocators reads more records than the 2,000-row page cap
// through several query locators, with and without a batchSize hint, and
// with records changing ahead of the cursor between pages.
func TestScaleQueryLocators(t *testing.T) {
	t.Parallel()
	const n = 4500
	tests := []struct {
		name     string
		pageSize int
		wantPage []int
		touch    bool
	}{
		{"default page size is capped at 2000", 0, []int{2000, 2000, 500}, false},
		{"hint above the cap", 5000, []int{2000, 2000, 500}, false},
		{"hint of 1000", 1000, []int{1000, 1000, 1000, 1000, 500}, false},
		{"records change ahead of the cursor", 2000, []int{2000, 2000, 500}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fake.Options{Options: fakekit.Options{Records: n}})
			want := f.fake.IDs("account")
			var between func(int)
			if tt.touch {
				between = func(page int) {
					// Touch records the read has not reached yet: they move to
					// the end of SystemModstamp order and are read once there.
					f.fake.Touch("account", want[n-1-page])
					f.fake.Touch("account", want[page*2000+10])
				}
			}
			ids, sizes := readAllPages(t, f.client, providers.ReadRequest{Object: "account", Fields: []string{"name"}, PageSize: tt.pageSize}, between)
			if len(ids) != n || !equalInts(sizes, tt.wantPage) {
				t.Errorf("%d records in pages %v, want %d in %v", len(ids), sizes, n, tt.wantPage)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("%s read twice", id)
				}
				seen[id] = true
			}
			for _, id := range want {
				if !seen[id] {
					t.Fatalf("%s never read", id)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestScaleBulkRead streams more rows than one results chunk.
func TestScaleBulkRead(t *testing.T) {
	t.Parallel()
	const n = 25000
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: n}, BulkChunk: 10000})
	f.fake.Delete("contact", f.fake.IDs("contact")[7])
	for _, deleted := range []bool{false, true} {
		count, dels := 0, 0
		seen := make(map[string]bool, n)
		for r, err := range f.client.BulkRead(context.Background(), providers.ReadRequest{Object: "contact", Fields: []string{"LastName", "Email"}, IncludeDeleted: deleted}) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[r.ID] || r.Fields["lastname"] == nil && !r.Deleted {
				t.Fatalf("record %s: repeated or empty: %v", r.ID, r.Fields)
			}
			seen[r.ID] = true
			count++
			if r.Deleted {
				dels++
			}
		}
		want := n - 1
		if deleted {
			want = n
		}
		if count != want || dels != map[bool]int{false: 0, true: 1}[deleted] {
			t.Errorf("IncludeDeleted=%v: %d records, %d deleted", deleted, count, dels)
		}
	}
	// An early stop ends the stream without error.
	k := 0
	for _, err := range f.client.BulkRead(context.Background(), providers.ReadRequest{Object: "contact"}) {
		if err != nil {
			t.Fatal(err)
		}
		if k++; k == 15000 {
			break
		}
	}
}
