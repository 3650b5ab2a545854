package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/ampforge/amp/schemas"
)

// shape is the structural view of one object or array in the schema, used
// for unknown- and misplaced-key checks and for naming what a value is.
type shape struct {
	noun  string            // "read object"
	where string            // "$.integrations[].read.objects[]"
	props map[string]*shape // object members (leaves have a shape with nil props)
	items *shape            // array items
	enum  []string          // the allowed values of a leaf, when fixed
}

// home is a place a key is valid.
type home struct{ noun, where string }

// keyAliases maps keys people write by mistake, per shape, to the key they
// mean. They take precedence over misplaced-key hints: in a field entry,
// `name` means fieldName, not an integration's name.
var keyAliases = map[string]map[string]string{
	"field entry":      {"name": "fieldName", "field": "fieldName", "as": "mapToName", "mapTo": "mapToName", "displayName": "mapToDisplayName"},
	"read object":      {"name": "objectName", "object": "objectName", "fields": "requiredFields", "webhook": "destination", "cron": "schedule"},
	"write object":     {"name": "objectName", "object": "objectName"},
	"subscribe object": {"name": "objectName", "object": "objectName", "webhook": "destination"},
	"integration":      {"type": "provider", "actions": "read"},
}

type compiledSchema struct {
	schema *jsonschema.Schema
	root   *shape
	// homes maps each key to the places it is valid, for misplaced-key hints.
	homes map[string][]home
}

var (
	schemaOnce sync.Once
	schemaVal  *compiledSchema
	schemaErr  error
)

func manifestSchema() (*compiledSchema, error) {
	schemaOnce.Do(func() { schemaVal, schemaErr = compileSchema(schemas.Manifest) })
	return schemaVal, schemaErr
}

func compileSchema(raw []byte) (*compiledSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	const url = "manifest.schema.json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	defs, _ := tree["$defs"].(map[string]any)
	cs := &compiledSchema{schema: sch, homes: map[string][]home{}}
	cs.root = cs.shapeOf(tree, defs, "$", "manifest")
	for k := range cs.homes {
		slices.SortFunc(cs.homes[k], func(a, b home) int { return strings.Compare(a.where, b.where) })
	}
	return cs, nil
}

func (cs *compiledSchema) shapeOf(node map[string]any, defs map[string]any, where, noun string) *shape {
	if ref, ok := node["$ref"].(string); ok {
		def, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		return cs.shapeOf(def, defs, where, noun)
	}
	if t, ok := node["title"].(string); ok && noun == "" {
		noun = t
	}
	s := &shape{noun: noun, where: where}
	if enum, ok := node["enum"].([]any); ok {
		for _, e := range enum {
			s.enum = append(s.enum, fmt.Sprint(e))
		}
	}
	if props, ok := node["properties"].(map[string]any); ok {
		s.props = map[string]*shape{}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child, _ := props[k].(map[string]any)
			s.props[k] = cs.shapeOf(child, defs, where+"."+k, "")
			cs.homes[k] = append(cs.homes[k], home{s.noun, where})
		}
	}
	if items, ok := node["items"].(map[string]any); ok {
		s.items = cs.shapeOf(items, defs, where+"[]", "")
	}
	return s
}

// at returns the shape of the value at an instance location, or nil.
func (cs *compiledSchema) at(loc []string) *shape {
	s := cs.root
	for _, seg := range loc {
		switch {
		case s == nil:
			return nil
		case s.items != nil && isIndex(seg):
			s = s.items
		case s.props != nil:
			s = s.props[seg]
		default:
			return nil
		}
	}
	return s
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (s *shape) keyNames() []string {
	out := make([]string, 0, len(s.props))
	for k := range s.props {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// unknownKey is a key the schema does not know, found while building the value.
type unknownKey struct {
	ptr, key string
	in       *shape
}

// keyDiagnostic reports an unknown key: a warning naming the key the author
// most likely meant, or where the key belongs when it is valid elsewhere.
func (cs *compiledSchema) keyDiagnostic(f *File, u unknownKey) Diagnostic {
	k, s := u.key, u.in
	d := Diagnostic{Severity: SeverityWarning, Path: pointerToPath(u.ptr), Range: f.KeyRange(u.ptr)}
	if meant, ok := keyAliases[s.noun][k]; ok {
		d.Rule = "unknown-key"
		d.Summary = fmt.Sprintf("unknown key `%s` in %s; amp ignores it", k, article(s.noun))
		d.Suggestion = fmt.Sprintf("did you mean `%s`?", meant)
	} else if homes := cs.homes[k]; len(homes) > 0 {
		d.Rule = "misplaced-key"
		d.Summary = fmt.Sprintf("`%s` is not a key of %s; it belongs in %s, so amp ignores it here", k, article(s.noun), homesText(homes))
	} else {
		d.Rule = "unknown-key"
		d.Summary = fmt.Sprintf("unknown key `%s` in %s; amp ignores it", k, article(s.noun))
		d.Suggestion = didYouMean(k, s.keyNames())
	}
	return d
}

// homesText lists the places a key is valid, grouped by what they are:
// "a field entry (requiredFields[] or optionalFields[])".
func homesText(homes []home) string {
	var nouns []string
	wheres := map[string][]string{}
	for _, h := range homes {
		if _, ok := wheres[h.noun]; !ok {
			nouns = append(nouns, h.noun)
		}
		wheres[h.noun] = append(wheres[h.noun], h.where)
	}
	parts := make([]string, len(nouns))
	for i, n := range nouns {
		parts[i] = fmt.Sprintf("%s (%s)", article(n), strings.Join(wheres[n], " or "))
	}
	return strings.Join(parts, " or ")
}

// schemaDiagnostics validates the value against the JSON Schema and turns
// each failing leaf into a diagnostic at the right key or value.
func (cs *compiledSchema) schemaDiagnostics(f *File) Diagnostics {
	err := cs.schema.Validate(f.Value)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return Diagnostics{{Rule: "type", Severity: SeverityError, Path: "$", Summary: err.Error(), Range: f.ValueRange("")}}
	}
	var out Diagnostics
	cs.collect(f, ve, &out)
	return out
}

func (cs *compiledSchema) collect(f *File, ve *jsonschema.ValidationError, out *Diagnostics) {
	ptr := ""
	for _, seg := range ve.InstanceLocation {
		ptr += "/" + escapePointer(seg)
	}
	last := ""
	if n := len(ve.InstanceLocation); n > 0 {
		last = ve.InstanceLocation[n-1]
	}
	noun := "value"
	if s := cs.at(ve.InstanceLocation); s != nil && s.noun != "" {
		noun = s.noun
	}
	add := func(rule, summary, suggestion string, r *Range, path string) {
		*out = append(*out, Diagnostic{Rule: rule, Severity: SeverityError, Summary: summary, Suggestion: suggestion, Path: path, Range: r})
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			rule := "required-key"
			if ptr == "" && m == "specVersion" {
				rule = "spec-version"
			}
			add(rule, fmt.Sprintf("%s is missing required key `%s`%s", article(noun), m, requiredHint(m)), "", f.KeyRange(ptr), pointerToPath(ptr))
		}
		return
	case *kind.Type:
		rule := "type"
		if ptr == "/specVersion" {
			rule = "spec-version"
		}
		if k.Got == "null" && last == "objects" {
			return // an action with an empty objects key: empty-list says it better
		}
		label := "`" + keyLabel(last, noun) + "`"
		if last == "" || isIndex(last) {
			label = "each " + noun
		}
		add(rule, fmt.Sprintf("%s must be %s, not %s", label, typeWords(k.Want), gotWords(k.Got, f, ptr)), cs.typeHint(f, ve.InstanceLocation, ptr, k), f.ValueRange(ptr), pointerToPath(ptr))
		return
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		rule := "enum"
		if ptr == "/specVersion" {
			rule = "spec-version"
		}
		suggestion := didYouMean(fmt.Sprint(k.Got), want)
		if rule == "spec-version" {
			suggestion = "write `specVersion: 1.0.0`"
		}
		add(rule, fmt.Sprintf("`%s` must be %s, not `%v`", keyLabel(last, noun), oneOfWords(want), k.Got), suggestion, f.ValueRange(ptr), pointerToPath(ptr))
		return
	case *kind.MinItems:
		add("empty-list", fmt.Sprintf("`%s` is empty; list at least one", last), "", f.ValueRange(ptr), pointerToPath(ptr))
		return
	case *kind.MinLength:
		add("value-range", fmt.Sprintf("`%s` is empty", keyLabel(last, noun)), "", f.ValueRange(ptr), pointerToPath(ptr))
		return
	case *kind.Minimum:
		add("value-range", fmt.Sprintf("`%s` must be at least %s, not %s", last, k.Want.FloatString(0), k.Got.FloatString(0)), "", f.ValueRange(ptr), pointerToPath(ptr))
		return
	case *kind.Maximum:
		add("value-range", fmt.Sprintf("`%s` must be at most %s, not %s", last, k.Want.FloatString(0), k.Got.FloatString(0)), "", f.ValueRange(ptr), pointerToPath(ptr))
		return
	case *kind.AnyOf, *kind.OneOf:
		// Field entries: the semantic field-shape rule explains these better.
		return
	}
	if len(ve.Causes) == 0 {
		add("type", fmt.Sprintf("%s: %v", noun, ve.ErrorKind), "", f.ValueRange(ptr), pointerToPath(ptr))
		return
	}
	for _, c := range ve.Causes {
		cs.collect(f, c, out)
	}
}

func valueAt(f *File, ptr string) any {
	if n, ok := f.values[ptr]; ok {
		return n.Value
	}
	return nil
}

func keyLabel(last, noun string) string {
	if last == "" || isIndex(last) {
		return noun
	}
	return last
}

func article(noun string) string {
	if noun == "" {
		return "the value"
	}
	if noun == "manifest" {
		return "the manifest"
	}
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func typeWords(want []string) string {
	words := make([]string, len(want))
	for i, w := range want {
		switch w {
		case "object":
			words[i] = "a mapping"
		case "array":
			words[i] = "a list"
		case "integer":
			words[i] = "a whole number"
		case "boolean":
			words[i] = "true or false"
		default:
			words[i] = article(w)
		}
	}
	return strings.Join(words, " or ")
}

func oneOfWords(want []string) string {
	if len(want) == 1 {
		return "`" + want[0] + "`"
	}
	return "one of `" + strings.Join(want, "`, `") + "`"
}

// gotWords describes the value that has the wrong type.
func gotWords(got string, f *File, ptr string) string {
	switch got {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "null":
		return "empty (null)"
	}
	return fmt.Sprintf("%s `%v`", got, valueAt(f, ptr))
}

// typeHint says how to fix a wrongly typed value, from what was written
// and how (quoted or plain).
func (cs *compiledSchema) typeHint(f *File, loc []string, ptr string, k *kind.Type) string {
	n := f.values[ptr]
	if n == nil {
		return ""
	}
	quoted := n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle
	s := cs.at(loc)
	if s != nil && len(s.enum) > 0 {
		if ptr == "/specVersion" {
			return "write `specVersion: 1.0.0`"
		}
		return fmt.Sprintf("write %s", oneOfWords(s.enum))
	}
	switch {
	case slices.Contains(k.Want, "boolean") && k.Got == "string" && quoted:
		return "write true or false without quotes"
	case slices.Contains(k.Want, "boolean") && k.Got == "string":
		return fmt.Sprintf("YAML 1.2 reads `%s` as text: write true or false", n.Value)
	case slices.Contains(k.Want, "integer") && k.Got == "string" && quoted:
		return "write the number without quotes"
	case slices.Contains(k.Want, "integer") && k.Got == "string":
		return "write a whole number, such as 30"
	case slices.Contains(k.Want, "string") && (k.Got == "number" || k.Got == "integer" || k.Got == "boolean"):
		return fmt.Sprintf("quote it: \"%v\"", valueAt(f, ptr))
	case slices.Contains(k.Want, "object") && k.Got == "string" && s != nil && s.noun == "field entry":
		return fmt.Sprintf("write `- fieldName: %s`", n.Value)
	}
	return ""
}

func requiredHint(key string) string {
	switch key {
	case "destination":
		return ": name the project destination (webhook) that receives the records"
	case "objectName":
		return ": name the provider object, e.g. account or contacts"
	case "provider":
		return ": e.g. salesforce, hubspot or dynamicsCRM"
	case "defaultPeriod":
		return ": set days or fullHistory under it"
	}
	return ""
}
