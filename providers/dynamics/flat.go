package dynamics

import (
	"strconv"
	"unsafe"
)

// parseFlat decodes a record whose values are all scalars (what Dataverse
// returns for $select'ed columns) into a map, skipping annotation keys
// (those holding '@'), whose values may hold escapes. It allocates the map and one string per string
// value, a fraction of what encoding/json's reflection costs. ok is false
// for anything else (nested values, escapes in keys or strings, malformed
// input): the caller then falls back to encoding/json.
func parseFlat(b []byte, sizeHint int) (m map[string]any, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	m = make(map[string]any, sizeHint)
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		ks, ke, esc := scanString(b, i)
		if ke < 0 || esc {
			return nil, false
		}
		key := b[ks:ke]
		i = skipWS(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return nil, false
		}
		var v any
		skip := hasAt(key)
		switch c := b[i]; {
		case c == '"':
			vs, ve, esc := scanString(b, i)
			if ve < 0 || (esc && !skip) {
				return nil, false
			}
			if !skip {
				v = string(b[vs:ve])
			}
			i = ve + 1
		case c == 't' && hasWord(b, i, "true"):
			v, i = true, i+4
		case c == 'f' && hasWord(b, i, "false"):
			v, i = false, i+5
		case c == 'n' && hasWord(b, i, "null"):
			v, i = nil, i+4
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || (b[j] >= '0' && b[j] <= '9')) {
				j++
			}
			f, err := strconv.ParseFloat(unsafe.String(&b[i], j-i), 64)
			if err != nil {
				return nil, false
			}
			v, i = f, j
		default:
			return nil, false // nested object or array
		}
		if !skip {
			m[string(key)] = v
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return nil, false
		}
		if b[i] == '}' {
			return m, skipWS(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return nil, false
		}
		i = skipWS(b, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString returns the content bounds of the string starting at b[i]
// (a quote) and whether it holds escapes; end is -1 when unterminated or
// holding control characters.
func scanString(b []byte, i int) (start, end int, escaped bool) {
	start = i + 1
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return start, j, escaped
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return start, -1, escaped
		}
	}
	return start, -1, escaped
}

func hasWord(b []byte, i int, w string) bool {
	return len(b)-i >= len(w) && string(b[i:i+len(w)]) == w
}

func hasAt(key []byte) bool {
	for _, c := range key {
		if c == '@' {
			return true
		}
	}
	return false
}
