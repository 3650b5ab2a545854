package dynamics

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseFlat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{`{"@odata.etag":"W/\"1\"","name":"Acme","n":-1.5e3,"b":true,"f":false,"z":null,"x@OData.Community.Display.V1.FormattedValue":"X"}`, true}, // escapes in an annotation are skipped
		{`{"name":"A \"B\""}`, false}, // escapes in a value: fallback
		{`{"@odata.etag":"W/1","name":"Acme","n":-1.5e3,"b":true,"f":false,"z":null,"x@OData.Community.Display.V1.FormattedValue":"X"}`, true},
		{` { } `, true},
		{`{"a":{"b":1}}`, false},
		{`{"a":[1]}`, false},
		{`{"a":1`, false},
		{`{"a":1} x`, false},
		{`{"a" 1}`, false},
		{`{"a":"é ünïcode"}`, true},
		{`{"a":tru}`, false},
	}
	for _, tt := range tests {
		got, ok := parseFlat([]byte(tt.in), 4)
		if ok != tt.ok {
			t.Errorf("parseFlat(%s) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(tt.in), &want); err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if hasAt([]byte(k)) {
				delete(want, k)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseFlat(%s) = %v, want %v", tt.in, got, want)
		}
	}
}
