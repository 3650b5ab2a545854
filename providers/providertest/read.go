package providertest

import (
	"reflect"
	"slices"
	"strings"
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

// CheckGetRecords checks what a connector's GetRecords returned for ids
// want: exactly those records, each with the fields, modified time and raw
// record that a Read of the same fields gives for it, and every field asked
// for present.
func CheckGetRecords(t testing.TB, got []providers.Record, want []string, r providers.Reader, object string, fields []string) {
	t.Helper()
	if ids, want := SortedIDs(got), slices.Sorted(slices.Values(want)); !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	read := ReadAllByID(t, r, object, fields)
	for _, rec := range got {
		r := read[rec.ID]
		if !reflect.DeepEqual(rec.Fields, r.Fields) || !rec.ModifiedAt.Equal(r.ModifiedAt) || rec.ModifiedAt.IsZero() || rec.Deleted || len(rec.Raw) == 0 {
			t.Errorf("GetRecords %s = %v at %s, Read gave %v at %s", rec.ID, rec.Fields, rec.ModifiedAt, r.Fields, r.ModifiedAt)
		}
		for _, name := range fields {
			if _, ok := rec.Fields[strings.ToLower(name)]; !ok {
				t.Errorf("record %s lacks field %s: %v", rec.ID, name, rec.Fields)
			}
		}
	}
}
