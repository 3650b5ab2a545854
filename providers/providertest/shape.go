package providertest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ShapeOptions tune ShapeDiff.
type ShapeOptions struct {
	// Ignore names object keys, at any depth, that are not compared.
	Ignore []string
	// Dynamic lists path suffixes (".properties") of objects whose keys
	// vary by account and request (HubSpot's properties): only their common
	// keys are compared, and every value must be a string or null.
	Dynamic []string
	// AllowEmptyArrays accepts an empty array where the recording has
	// elements (a fake with no such children for this record).
	AllowEmptyArrays bool
}

// ShapeDiff reports how got's JSON shape differs from want's, for contract
// tests that hold a fake's answer against a recorded real one: every key of
// a want object must be in got with the same JSON type, recursively; arrays
// compare their first elements; a null in want carries no type and matches
// anything. Values are decoded JSON (any from encoding/json). path names
// the root in the messages, e.g. "$".
func ShapeDiff(path string, want, got any, opts ShapeOptions) []string {
	switch w := want.(type) {
	case nil:
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: recording has an object, answer has %s", path, JSONType(got))}
		}
		dynamic := slices.ContainsFunc(opts.Dynamic, func(d string) bool { return strings.HasSuffix(path, d) })
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var diffs []string
		for _, k := range keys {
			if slices.Contains(opts.Ignore, k) {
				continue
			}
			gv, ok := g[k]
			if !ok {
				if !dynamic {
					diffs = append(diffs, fmt.Sprintf("%s.%s: missing in the answer", path, k))
				}
				continue
			}
			diffs = append(diffs, ShapeDiff(path+"."+k, w[k], gv, opts)...)
		}
		if dynamic {
			for k, gv := range g {
				if _, ok := gv.(string); gv != nil && !ok {
					diffs = append(diffs, fmt.Sprintf("%s.%s: value is %s, the provider sends strings", path, k, JSONType(gv)))
				}
			}
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: recording has an array, answer has %s", path, JSONType(got))}
		}
		switch {
		case len(w) > 0 && len(g) > 0:
			return ShapeDiff(path+"[0]", w[0], g[0], opts)
		case len(w) > 0 && !opts.AllowEmptyArrays:
			return []string{fmt.Sprintf("%s: recording has elements, the answer's array is empty", path)}
		}
		return nil
	}
	if JSONType(want) != JSONType(got) {
		return []string{fmt.Sprintf("%s: recording has %s, answer has %s (%v)", path, JSONType(want), JSONType(got), got)}
	}
	return nil
}

// JSONType names a decoded JSON value's type.
func JSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}
