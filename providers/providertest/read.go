package providertest

import (
	"slices"
	"testing"

	"github.com/ampforge/amp/providers"
)

// ReadAllByID reads the whole object through r, page by page, and returns
// its records by id. An error fails t. Connector tests use it as the
// reference other read paths (GetRecords, Bulk) are compared with.
func ReadAllByID(t testing.TB, r providers.Reader, object string, fields []string) map[string]providers.Record {
	t.Helper()
	out := map[string]providers.Record{}
	req := providers.ReadRequest{Object: object, Fields: fields}
	for {
		page, err := r.Read(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range page.Records {
			out[rec.ID] = rec
		}
		if page.Done {
			return out
		}
		req.Cursor = page.NextCursor
	}
}

// SortedIDs returns the records' ids, sorted.
func SortedIDs(recs []providers.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	slices.Sort(ids)
	return ids
}
