package providertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/ampforge/amp/providers"
)

// checkGetRecords asks for five ids spread across the object, the last
// deleted first and the first asked twice, with Harness.Fields and with
// the default fields: GetRecords returns each live record once and leaves
// the deleted one out, and every record is the one Read returns for the
// same fields (Fields and ModifiedAt). Then MaxGetBatch+1 ids must be
// refused with KindInvalid.
func checkGetRecords(ctx context.Context, h *Harness, logf Logf) error {
	g, ok := h.Connector.(providers.RecordGetter)
	if !ok {
		return skipf("%s connector does not implement providers.RecordGetter", h.Connector.Provider())
	}
	r, err := reader(h)
	if err != nil {
		return err
	}
	limit := g.MaxGetBatch()
	if limit < 2 {
		return fmt.Errorf("MaxGetBatch() = %d; a batch must hold at least 2 ids", limit)
	}
	ids := h.Fake.IDs(h.Object)
	if len(ids) < 2 {
		return fmt.Errorf("the fake lists %d live %s records; GetRecords needs 2", len(ids), h.Object)
	}
	pick := spread(ids, min(5, len(ids), limit))
	gone := pick[len(pick)-1]
	h.Fake.Delete(h.Object, gone)
	want := pick[:len(pick)-1]
	ask := pick
	if len(ask) < limit {
		ask = append(slices.Clone(pick), pick[0])
	}

	var errs []error
	for _, fields := range [][]string{h.Fields, nil} {
		req := providers.ReadRequest{Object: h.Object, Fields: fields}
		read, _, err := readAll(ctx, r, req, maxPages(h))
		if err != nil {
			return fmt.Errorf("Read with fields %v: %w", fields, err)
		}
		byID := make(map[string]providers.Record, len(read))
		for _, rec := range read {
			byID[rec.ID] = rec
		}
		got, err := g.GetRecords(ctx, h.Object, ask, fields)
		if err != nil {
			errs = append(errs, fmt.Errorf("GetRecords(%v, fields %v): %w", ask, fields, err))
			continue
		}
		if err := sameIDs(got, want); err != nil {
			errs = append(errs, fmt.Errorf("GetRecords(%v, fields %v) with %s deleted: %w", ask, fields, gone, err))
		}
		for _, rec := range got {
			if err := checkRecord(rec, req); err != nil {
				errs = append(errs, fmt.Errorf("GetRecords with fields %v: %w", fields, err))
				continue
			}
			if err := sameRecord(rec, byID[rec.ID]); err != nil {
				errs = append(errs, fmt.Errorf("GetRecords with fields %v: record %s differs from Read's: %w", fields, rec.ID, err))
			}
		}
		logf("fields %v: %d records for %d ids", fields, len(got), len(ask))
	}

	over := make([]string, limit+1)
	for i := range over {
		over[i] = ids[i%len(ids)]
	}
	if _, err := g.GetRecords(ctx, h.Object, over, h.Fields); providers.KindOf(err) != providers.KindInvalid {
		errs = append(errs, fmt.Errorf("GetRecords with MaxGetBatch+1 = %d ids: err %v, want kind %s", len(over), err, providers.KindInvalid))
	}
	return errors.Join(errs...)
}

// sameRecord compares a record from GetRecords with Read's: the same
// fields with the same values, and the same modified time.
func sameRecord(got, read providers.Record) error {
	if read.ID == "" {
		return errors.New("Read did not return it")
	}
	var diffs []error
	if !got.ModifiedAt.Equal(read.ModifiedAt) {
		diffs = append(diffs, fmt.Errorf("ModifiedAt %s, Read's %s", stamp(got.ModifiedAt), stamp(read.ModifiedAt)))
	}
	for _, k := range sortedKeys(read.Fields) {
		v, ok := got.Fields[k]
		if !ok || !reflect.DeepEqual(v, read.Fields[k]) {
			diffs = append(diffs, fmt.Errorf("field %s = %s, Read's %s", k, show(v, ok), show(read.Fields[k], true)))
		}
	}
	for _, k := range sortedKeys(got.Fields) {
		if _, ok := read.Fields[k]; !ok {
			diffs = append(diffs, fmt.Errorf("field %s that Read does not return", k))
		}
	}
	return errors.Join(diffs...)
}
