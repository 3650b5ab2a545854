package sqlite

import (
	"encoding/json"
	"fmt"
)

// marshal encodes a JSON column.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON column: %w", err)
	}
	return b, nil
}

// unmarshal decodes a JSON column into v.
func unmarshal(text string, v any) error {
	if text == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("decode JSON column: %w", err)
	}
	return nil
}

// stringsText encodes a string list; nil and empty are both "[]".
func stringsText(ss []string) string {
	if len(ss) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ss) // a []string always encodes
	return string(b)
}

// parseStrings decodes a string list; an empty list is nil, so that what a
// write was given and what a read returns compare equal.
func parseStrings(text string) ([]string, error) {
	var ss []string
	if err := unmarshal(text, &ss); err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}

// metadataText encodes provider metadata; nil and empty are both "{}".
func metadataText[V any](m map[string]V) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // the value types used (strings, ProviderMetadataInfo) always encode
	return string(b)
}

// parseMap decodes a map; an empty map is nil.
func parseMap[V any](text string) (map[string]V, error) {
	var m map[string]V
	if err := unmarshal(text, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
