// Package jsonw appends JSON text by hand, for the hot paths of connectors
// and fakes that build records without reflection (Salesforce CSV rows
// turned into JSON, fake pages of thousands of records).
//
// It is internal to providers and imports only the standard library.
package jsonw

import (
	"bytes"
	"encoding/json"
)

// AppendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, everything else (UTF-8 included) as is. Like the CRM
// APIs, and unlike encoding/json's default, it leaves <, > and & alone.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// PeekString finds the string value of key in a JSON document without
// decoding it: the first occurrence, or the last when last is set (OData
// puts @odata.nextLink after the records). It is for hints only: a nested
// object with the same key can match, so callers check the hint against
// the fully decoded document. ok is false when the key is absent or its
// value is not a string (null, for one).
func PeekString(doc []byte, key string, last bool) (value string, ok bool) {
	pat := make([]byte, 0, len(key)+2)
	pat = AppendString(pat, key)
	at := -1
	if last {
		at = bytes.LastIndex(doc, pat)
	} else {
		at = bytes.Index(doc, pat)
	}
	if at < 0 {
		return "", false
	}
	rest := skipSpace(doc[at+len(pat):])
	if len(rest) == 0 || rest[0] != ':' {
		return "", false
	}
	rest = skipSpace(rest[1:])
	if len(rest) == 0 || rest[0] != '"' {
		return "", false
	}
	end, escaped := 1, false
	for ; end < len(rest) && rest[end] != '"'; end++ {
		if rest[end] == '\\' {
			escaped = true
			end++
		}
	}
	if end >= len(rest) {
		return "", false
	}
	if !escaped {
		return string(rest[1:end]), true
	}
	if err := json.Unmarshal(rest[:end+1], &value); err != nil {
		return "", false
	}
	return value, true
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
