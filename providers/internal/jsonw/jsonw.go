// Package jsonw appends JSON text by hand, for the hot paths of connectors
// and fakes that build records without reflection (Salesforce CSV rows
// turned into JSON, fake pages of thousands of records).
//
// It is internal to providers and imports only the standard library.
package jsonw

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
