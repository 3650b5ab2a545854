package write

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ampforge/amp/providers"
)

// resolveIfEmpty returns recs with every ifEmpty field dropped where the
// record's current value is not empty. Only the records whose result is
// not done are looked at; the others are returned as they are. A
// connector that cannot read records by id gets every ifEmpty field
// dropped: a value that cannot be seen is never overwritten. recs is not
// modified.
func resolveIfEmpty(ctx context.Context, conn providers.Connector, object string, recs []pending, res []result) ([]pending, error) {
	var idx []int
	need := map[string]bool{}
	for i, p := range recs {
		if len(p.IfEmpty) > 0 && !res[i].Done && p.ID != "" {
			idx = append(idx, i)
			for _, f := range p.IfEmpty {
				need[f] = true
			}
		}
	}
	if len(idx) == 0 {
		return recs, nil
	}
	out := slices.Clone(recs)
	current := map[string]map[string]any{}
	g, ok := conn.(providers.RecordGetter)
	if ok {
		size := max(g.MaxGetBatch(), 1)
		fields := slices.Sorted(maps.Keys(need))
		for start := 0; start < len(idx); start += size {
			chunk := idx[start:min(start+size, len(idx))]
			ids := make([]string, len(chunk))
			for j, i := range chunk {
				ids[j] = recs[i].ID
			}
			got, err := g.GetRecords(ctx, object, ids, fields)
			if err != nil {
				return nil, fmt.Errorf("read the current values of %d %s records (writeOnUpdate ifEmpty): %w", len(ids), object, err)
			}
			for _, r := range got {
				current[r.ID] = r.Fields
			}
		}
	}
	for _, i := range idx {
		p := out[i]
		fields := maps.Clone(p.Fields)
		cur, found := current[p.ID]
		for _, f := range p.IfEmpty {
			// A record the provider did not return will fail its update
			// as not found; its fields are left for that answer.
			if ok && !found {
				continue
			}
			if !ok || !isEmpty(cur[f]) {
				delete(fields, f)
			}
		}
		p.Fields = fields
		out[i] = p
	}
	return out, nil
}
