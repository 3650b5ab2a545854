package manifest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSchemaMatchesTypes checks that every object in the JSON Schema has
// exactly the keys of its Go type, so the schema editors use, the unknown-key
// check and the typed model cannot drift apart.
func TestSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	cs, err := manifestSchema()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]reflect.Type{
		"manifest":                 reflect.TypeFor[Manifest](),
		"integration":              reflect.TypeFor[Integration](),
		"read action":              reflect.TypeFor[Read](),
		"write action":             reflect.TypeFor[Write](),
		"proxy action":             reflect.TypeFor[Proxy](),
		"subscribe action":         reflect.TypeFor[Subscribe](),
		"read object":              reflect.TypeFor[ReadObject](),
		"write object":             reflect.TypeFor[WriteObject](),
		"subscribe object":         reflect.TypeFor[SubscribeObject](),
		"field entry":              reflect.TypeFor[Field](),
		"backfill":                 reflect.TypeFor[Backfill](),
		"backfill period":          reflect.TypeFor[Period](),
		"delivery block":           reflect.TypeFor[Delivery](),
		"valueDefaults block":      reflect.TypeFor[ValueDefaults](),
		"watchSchema block":        reflect.TypeFor[WatchSchema](),
		"allObjects block":         reflect.TypeFor[WatchAllObjects](),
		"event":                    reflect.TypeFor[Event](),
		"schema-change event":      reflect.TypeFor[Event](),
		"update event":             reflect.TypeFor[UpdateEvent](),
		"association change event": reflect.TypeFor[AssocEvent](),
	}
	seen := map[string]bool{}
	var walk func(s *shape)
	walk = func(s *shape) {
		if s == nil {
			return
		}
		if s.props != nil {
			seen[s.noun] = true
			typ, ok := types[s.noun]
			if !ok {
				t.Errorf("schema object %q (%s) has no Go type in this test", s.noun, s.where)
			} else if diff := keyDiff(s.keyNames(), yamlKeys(typ)); diff != "" {
				t.Errorf("%s (%s) vs %s: %s", s.noun, s.where, typ.Name(), diff)
			}
			for _, c := range s.props {
				walk(c)
			}
		}
		walk(s.items)
	}
	walk(cs.root)
	for noun := range types {
		if !seen[noun] {
			t.Errorf("Go type for %q is not reached from the schema root", noun)
		}
	}
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	slices.Sort(keys)
	return keys
}

func keyDiff(schema, goKeys []string) string {
	var out []string
	for _, k := range schema {
		if !slices.Contains(goKeys, k) {
			out = append(out, "schema only: "+k)
		}
	}
	for _, k := range goKeys {
		if !slices.Contains(schema, k) {
			out = append(out, "Go only: "+k)
		}
	}
	return strings.Join(out, "; ")
}
