package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// segment is one step of a field path.
type segment struct {
	name string
	// index is name as an array index (a non-negative integer), or -1.
	index int
}

// path is a parsed field path. The first segment names a provider field
// (or, for a mapToName, a top-level key) and is never empty.
type path []segment

// parsePath parses $['a']['b'], $["a"]["b"], a[b][c], a['b'] or a plain
// name. A plain name is taken whole, dots and all. lowerFirst lower-cases
// the first segment (provider field names; record keys are lower-case).
func parsePath(s string, lowerFirst bool) (path, error) {
	if s == "" {
		return nil, fmt.Errorf("the name is empty")
	}
	var p path
	rest := s
	if strings.HasPrefix(s, "$") {
		rest = s[1:]
		if rest == "" {
			return nil, fmt.Errorf("the path names no field")
		}
	} else {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			p = path{newSegment(s)}
			rest = ""
		} else {
			if i == 0 {
				return nil, fmt.Errorf("the path starts with `[`; write $['a']['b'] or a[b]")
			}
			p = path{newSegment(s[:i])}
			rest = s[i:]
		}
	}
	for rest != "" {
		if rest[0] != '[' {
			return nil, fmt.Errorf("expected `[` at %q", rest)
		}
		rest = rest[1:]
		var name string
		if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
			q := rest[0]
			end := strings.IndexByte(rest[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unclosed quote")
			}
			name = rest[1 : 1+end]
			rest = rest[end+2:]
			if !strings.HasPrefix(rest, "]") {
				return nil, fmt.Errorf("expected `]` after the quoted name %q", name)
			}
		} else {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed `[`")
			}
			name = rest[:end]
			rest = rest[end:]
		}
		rest = rest[1:]
		if name == "" {
			return nil, fmt.Errorf("empty segment name")
		}
		p = append(p, newSegment(name))
	}
	if lowerFirst {
		p[0] = newSegment(strings.ToLower(p[0].name))
	}
	return p, nil
}

func newSegment(name string) segment {
	i, err := strconv.Atoi(name)
	if err != nil || i < 0 || name[0] == '+' {
		i = -1
	}
	return segment{name: name, index: i}
}

// names returns the segment names.
func (p path) names() []string {
	out := make([]string, len(p))
	for i, s := range p {
		out[i] = s.name
	}
	return out
}

// String returns the path in the short form a[b][c].
func (p path) String() string {
	var b strings.Builder
	for i, s := range p {
		if i == 0 {
			b.WriteString(s.name)
			continue
		}
		b.WriteByte('[')
		b.WriteString(s.name)
		b.WriteByte(']')
	}
	return b.String()
}

// get returns the value at p in fields. ok is false when the first
// segment is absent from fields; a missing key, null or a scalar deeper down
// yields (nil, true).
func (p path) get(fields map[string]any) (v any, ok bool) {
	v, ok = fields[p[0].name]
	if !ok {
		return nil, false
	}
	for _, s := range p[1:] {
		switch c := v.(type) {
		case map[string]any:
			next, found := c[s.name]
			if !found {
				next = lookupFold(c, s.name)
			}
			v = next
		case []any:
			if s.index < 0 || s.index >= len(c) {
				return nil, true
			}
			v = c[s.index]
		default:
			return nil, true
		}
	}
	return v, true
}

// lookupFold returns the value of the key of m equal to name without regard
// to case, or nil.
func lookupFold(m map[string]any, name string) any {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// setPath stores v at the nested keys of m, creating the objects on the
// way. It reports false when a key on the way holds something other than
// an object.
func setPath(m map[string]any, keys []string, v any) bool {
	for _, k := range keys[:len(keys)-1] {
		switch c := m[k].(type) {
		case map[string]any:
			m = c
		case nil:
			if _, taken := m[k]; taken {
				return false
			}
			child := make(map[string]any, 2)
			m[k] = child
			m = child
		default:
			return false
		}
	}
	m[keys[len(keys)-1]] = v
	return true
}
