package providertest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestShapeDiff(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, want, got string
		opts            ShapeOptions
		diff            string // a substring of the first difference; "" for none
	}{
		{"same", `{"a":1,"b":["x"],"c":{"d":true}}`, `{"a":2,"b":["y","z"],"c":{"d":false},"extra":1}`, ShapeOptions{}, ""},
		{"missing key", `{"a":1,"b":2}`, `{"a":1}`, ShapeOptions{}, "$.b: missing"},
		{"type change", `{"a":"1"}`, `{"a":1}`, ShapeOptions{}, "recording has string, answer has number"},
		{"null matches anything", `{"a":null}`, `{"a":{"b":1}}`, ShapeOptions{}, ""},
		{"nested array element", `{"r":[{"id":"1"}]}`, `{"r":[{"id":1}]}`, ShapeOptions{}, "$.r[0].id"},
		{"empty array", `{"r":[1]}`, `{"r":[]}`, ShapeOptions{}, "array is empty"},
		{"empty array allowed", `{"r":[1]}`, `{"r":[]}`, ShapeOptions{AllowEmptyArrays: true}, ""},
		{"ignored key", `{"urls":{}}`, `{"urls":[]}`, ShapeOptions{Ignore: []string{"urls"}}, ""},
		{"dynamic object", `{"properties":{"email":"a","zip":"1"}}`, `{"properties":{"email":"b","city":"c"}}`, ShapeOptions{Dynamic: []string{".properties"}}, ""},
		{"dynamic values are strings", `{"properties":{"email":"a"}}`, `{"properties":{"age":3}}`, ShapeOptions{Dynamic: []string{".properties"}}, "the provider sends strings"},
	} {
		var want, got any
		if err := json.Unmarshal([]byte(c.want), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.got), &got); err != nil {
			t.Fatal(err)
		}
		diffs := ShapeDiff("$", want, got, c.opts)
		switch {
		case c.diff == "" && len(diffs) > 0:
			t.Errorf("%s: unexpected %v", c.name, diffs)
		case c.diff != "" && (len(diffs) == 0 || !strings.Contains(diffs[0], c.diff)):
			t.Errorf("%s: got %v, want a difference containing %q", c.name, diffs, c.diff)
		}
	}
}
