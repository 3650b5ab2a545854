package mapping

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/ampforge/amp/runtime"
)

// Reverse turns a record in delivered names (the Write API's input: mapped
// names and unmapped provider field names) into provider fields, applying
// the value mappings as written (delivered value -> provider value).
//
// A mapped name becomes its provider field (the top-level name in lower
// case, a nested path as nested objects); a key that is not a mapped name
// is taken as a provider field and kept, in lower case. A nested mapped
// name must hold an object whose keys are all mapped. When two keys write
// the same provider field with different values, or one writes inside
// another, Reverse returns an EINVALID error. mapped is not modified; the
// result may share its values.
func (p *Plan) Reverse(mapped map[string]any) (map[string]any, error) {
	r := reverser{p: p, out: make(map[string]any, len(mapped))}
	for _, k := range slices.Sorted(maps.Keys(mapped)) {
		v := mapped[k]
		if n := p.rtree.kids[k]; n != nil {
			if err := r.node(n, []string{k}, v); err != nil {
				return nil, err
			}
			continue
		}
		lk := strings.ToLower(k)
		if err := r.put([]string{lk}, fwdValue(p.fieldFwd[lk], v), k); err != nil {
			return nil, err
		}
	}
	return r.out, nil
}

type reverser struct {
	p   *Plan
	out map[string]any
	// from names the delivered key that wrote each provider path; made
	// marks the objects Reverse created for nested provider paths.
	from map[string]string
	made map[string]bool
}

func (r *reverser) errorf(format string, args ...any) error {
	return runtime.Errorf(runtime.EINVALID, "%s: "+format, append([]any{r.p.delivered}, args...)...)
}

func (r *reverser) node(n *rnode, at []string, v any) error {
	if n.out != nil {
		o := n.out
		return r.put(o.src.names(), fwdValue(o.fwd, v), o.name)
	}
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return r.errorf("%s must be an object of mapped fields, not %T", pathString(at), v)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kid := n.kids[k]
		next := append(slices.Clip(at), k)
		if kid == nil {
			return r.errorf("%s is not a mapped field; the mapped fields under %s are %s", pathString(next), pathString(at), strings.Join(slices.Sorted(maps.Keys(n.kids)), ", "))
		}
		if err := r.node(kid, next, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// put stores v at the provider path keys; by names the delivered key.
func (r *reverser) put(keys []string, v any, by string) error {
	if r.from == nil {
		r.from, r.made = map[string]string{}, map[string]bool{}
	}
	m := r.out
	for i, k := range keys[:len(keys)-1] {
		prefix := strings.Join(keys[:i+1], "\x00")
		if existing, ok := m[k]; ok {
			if !r.made[prefix] {
				return r.errorf("%s and %s both write the provider field %s, one of them inside it", r.from[prefix], by, pathString(keys[:i+1]))
			}
			m = existing.(map[string]any)
			continue
		}
		child := map[string]any{}
		m[k] = child
		r.made[prefix] = true
		r.from[prefix] = by
		m = child
	}
	full := strings.Join(keys, "\x00")
	last := keys[len(keys)-1]
	if existing, ok := m[last]; ok {
		if r.made[full] {
			return r.errorf("%s and %s both write the provider field %s, one of them inside it", r.from[full], by, pathString(keys))
		}
		if reflect.DeepEqual(existing, v) {
			return nil
		}
		return r.errorf("%s and %s write different values to the provider field %s", r.from[full], by, pathString(keys))
	}
	m[last] = v
	r.from[full] = by
	return nil
}

// fwdValue returns the provider value of the delivered value v under the
// value mapping fwd.
func fwdValue(fwd map[string]string, v any) any {
	if s, ok := v.(string); ok && fwd != nil {
		if pv, ok := fwd[s]; ok {
			return pv
		}
	}
	return v
}

func pathString(keys []string) string {
	p := make(path, len(keys))
	for i, k := range keys {
		p[i] = segment{name: k}
	}
	return p.String()
}
