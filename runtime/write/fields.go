package write

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/mapping"
)

// Field setting values (runtime.FieldSetting).
const (
	settingAlways  = "always"
	settingNever   = "never"
	settingIfEmpty = "ifEmpty"
)

// pending is one record ready for the provider: provider field names in
// lower case, values as they will be sent. It is stored in an asynchronous
// write's checkpoint.
type pending struct {
	// ID is the record to update or delete.
	ID     string         `json:"id,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
	// IfEmpty lists the fields written only where the record's current
	// value is empty (writeOnUpdate: ifEmpty), checked right before the
	// write.
	IfEmpty []string `json:"ifEmpty,omitempty"`
}

// shaper turns the builder's records into provider records for one write
// object of one installation: reverse mapping, field settings, schema.
type shaper struct {
	provider string
	// object is the provider object; name how the builder named it.
	object, name string
	// plan reverses the read mapping (nil: the record's keys are provider
	// fields).
	plan *mapping.Plan
	// readable are the provider fields the installation reads, when a
	// write may only set those (inheritMapping without allowAnyFields).
	readable map[string]bool
	// settings are the installation's field settings by lower-case
	// provider field.
	settings  map[string]runtime.FieldSetting
	upsertKey string
	// schema is the customer's object by lower-case field name; nil skips
	// the schema checks.
	schema map[string]providers.FieldMetadata
}

// newShaper builds a shaper. restrict limits writes to the fields plan
// maps or reads.
func newShaper(provider, object, name string, plan *mapping.Plan, restrict bool, settings map[string]runtime.FieldSetting, upsertKey string, meta *providers.ObjectMetadata) *shaper {
	sh := &shaper{provider: provider, object: object, name: name, plan: plan, upsertKey: strings.ToLower(upsertKey)}
	if plan != nil && restrict && !plan.AllFields() {
		sh.readable = map[string]bool{}
		for _, f := range plan.Fields() {
			sh.readable[f] = true
		}
	}
	if meta != nil {
		sh.schema = make(map[string]providers.FieldMetadata, len(meta.Fields))
		for _, f := range meta.Fields {
			sh.schema[strings.ToLower(f.Name)] = f
		}
	}
	sh.settings = map[string]runtime.FieldSetting{}
	for k, s := range settings {
		sh.settings[sh.providerField(k)] = s
	}
	return sh
}

// providerField is the provider field a settings key names: a mapped name
// the plan reverses, else the key itself in lower case.
func (sh *shaper) providerField(k string) string {
	if sh.plan != nil {
		if out, err := sh.plan.Reverse(map[string]any{k: ""}); err == nil && len(out) == 1 {
			for pk := range out {
				return pk
			}
		}
	}
	return strings.ToLower(k)
}

// shape checks and converts every record of in; the issues name each
// refused input.
func (sh *shaper) shape(in *input) ([]pending, error) {
	var is issues
	out := make([]pending, len(in.records))
	for i, r := range in.records {
		out[i] = sh.record(in.op, r, &is)
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (sh *shaper) record(op providers.WriteOp, r inputRecord, is *issues) pending {
	var p pending
	idv, hasID := r.fields["id"]
	switch op {
	case providers.WriteUpdate, providers.WriteDelete:
		s, ok := idv.(string)
		if !ok || s == "" {
			is.add("body", r.at+".id", "an %s needs the record's id, a non-empty string", op)
		}
		p.ID = s
	default:
		if hasID {
			is.add("body", r.at+".id", "a %s takes no id: change an existing record with update (by id) or upsert (by the manifest's upsertKey)", op)
		}
	}
	if op == providers.WriteDelete {
		return p
	}
	rec := make(map[string]any, len(r.fields))
	for k, v := range r.fields {
		if k != "id" {
			rec[k] = v
		}
	}
	if len(rec) == 0 {
		is.add("body", r.at, "%s has no field to write", r.at)
		return p
	}
	fields, from, ok := sh.reverse(rec, r.at, is)
	if !ok {
		return p
	}
	sh.check(fields, from, r.at, is)
	if op == providers.WriteUpsert {
		if v, ok := fields[sh.upsertKey]; !ok || v == nil || v == "" {
			is.add("body", r.at+"."+sh.upsertKey, "an upsert needs a value for %s, the upsert key that identifies the record", sh.upsertKey)
		}
	}
	p.Fields, p.IfEmpty = sh.settle(op, fields)
	return p
}

// reverse maps the record's keys to provider fields. from tells which key
// of the record wrote each top-level provider field (for issues).
func (sh *shaper) reverse(rec map[string]any, at string, is *issues) (map[string]any, map[string]string, bool) {
	from := make(map[string]string, len(rec))
	ok := true
	for _, k := range slices.Sorted(maps.Keys(rec)) {
		name := at + "." + k
		if sh.plan == nil {
			lk := strings.ToLower(k)
			if prev, dup := from[lk]; dup {
				is.add("body", name, "%s and %s name the same field %s", prev, k, lk)
				ok = false
			}
			from[lk] = k
			continue
		}
		one, err := sh.plan.Reverse(map[string]any{k: rec[k]})
		if err != nil {
			is.add("body", name, "%s", runtime.ErrorMessage(err))
			ok = false
			continue
		}
		for pk := range one {
			if sh.readable != nil && !sh.readable[pk] {
				is.add("body", name, "%s is not a field of %s this installation writes: it is not a mapped field, and the installation does not read a field %s (it reads %s); the manifest's valueDefaults.allowAnyFields lets writes set any field",
					k, sh.name, pk, strings.Join(slices.Sorted(maps.Keys(sh.readable)), ", "))
				ok = false
			}
			if _, seen := from[pk]; !seen {
				from[pk] = k
			}
		}
	}
	if !ok {
		return nil, nil, false
	}
	if sh.plan == nil {
		out := make(map[string]any, len(rec))
		for k, v := range rec {
			out[strings.ToLower(k)] = v
		}
		return out, from, true
	}
	out, err := sh.plan.Reverse(rec)
	if err != nil {
		is.add("body", at, "%s", runtime.ErrorMessage(err))
		return nil, nil, false
	}
	return out, from, true
}

// check refuses fields the customer's object does not have, read-only
// fields and values of the wrong type. Keys with an @ (Dynamics'
// @odata.bind lookups) are the provider's own syntax and pass.
func (sh *shaper) check(fields map[string]any, from map[string]string, at string, is *issues) {
	if sh.schema == nil {
		return
	}
	for _, pk := range slices.Sorted(maps.Keys(fields)) {
		if strings.Contains(pk, "@") {
			continue
		}
		name := at + "." + from[pk]
		what := from[pk]
		if !strings.EqualFold(what, pk) {
			what = fmt.Sprintf("%s (the customer's field %s)", what, pk)
		}
		f, ok := sh.schema[pk]
		if !ok {
			is.add("body", name, "%s is not a field of %s in this customer's %s%s", what, sh.object, sh.provider, suggest(pk, sh.schema))
			continue
		}
		if f.ReadOnly {
			is.add("body", name, "%s is read-only in this customer's %s %s", what, sh.provider, sh.object)
			continue
		}
		if msg := checkValue(f, fields[pk]); msg != "" {
			is.add("body", name, "%s %s", what, msg)
		}
	}
}

// suggest names a field of the schema that differs from name only by
// case, underscores or a custom-field suffix, when there is one.
func suggest(name string, schema map[string]providers.FieldMetadata) string {
	norm := func(s string) string {
		s = strings.TrimSuffix(strings.ToLower(s), "__c")
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(s)
	}
	n := norm(name)
	for _, k := range slices.Sorted(maps.Keys(schema)) {
		if norm(k) == n {
			return fmt.Sprintf(" (did you mean %s?)", k)
		}
	}
	return ""
}

// checkValue returns why v cannot be written to f, or "". Null clears a
// field and is always accepted; numbers and booleans may come as the
// strings providers read them as (HubSpot returns every property as a
// string), so a record read can be written back.
func checkValue(f providers.FieldMetadata, v any) string {
	if v == nil {
		return ""
	}
	typ := f.ValueType
	if f.ProviderType != "" {
		typ += ", " + f.ProviderType
	}
	bad := func(want string) string {
		return fmt.Sprintf("must be %s (the field's type is %s), not %s", want, typ, valueKind(v))
	}
	switch f.ValueType {
	case "string", "reference":
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case "singleSelect":
		// Dynamics option sets take the option's number.
		switch v.(type) {
		case string, float64:
		default:
			return bad("one of the field's values, a string or number")
		}
	case "multiSelect":
		switch x := v.(type) {
		case string, float64:
		case []any:
			for _, e := range x {
				switch e.(type) {
				case string, float64:
				default:
					return bad("a list of the field's values")
				}
			}
		default:
			return bad("a list of the field's values")
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
		case string:
			if _, err := strconv.ParseBool(x); err != nil {
				return bad("true or false")
			}
		default:
			return bad("true or false")
		}
	case "int":
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) {
				return bad("a whole number")
			}
		case string:
			if _, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
				return bad("a whole number")
			}
		default:
			return bad("a whole number")
		}
	case "float":
		switch x := v.(type) {
		case float64:
		case string:
			if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return bad("a number")
			}
		default:
			return bad("a number")
		}
	case "date", "datetime":
		switch x := v.(type) {
		case float64:
			// Milliseconds since the epoch, as HubSpot takes them.
		case string:
			if !validTime(x, f.ValueType == "date") {
				if f.ValueType == "date" {
					return fmt.Sprintf("must be a date as 2006-01-02 (the field's type is %s), not %q", typ, x)
				}
				return fmt.Sprintf("must be a timestamp as 2006-01-02T15:04:05Z (the field's type is %s), not %q", typ, x)
			}
		default:
			return bad("a date")
		}
	}
	return ""
}

func validTime(s string, date bool) bool {
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return true
	}
	if date {
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	}
	return false
}

// valueKind names a JSON value's kind for messages.
func valueKind(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case float64:
		return "the number " + strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return "the boolean " + strconv.FormatBool(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// settle applies the installation's field settings to one record's
// provider fields (a copy) and returns the fields to write and those to
// write only where the current value is empty.
//
//   - create: a missing field gets its default; writeOnCreate never drops
//     the field.
//   - update: writeOnUpdate never drops the field; ifEmpty writes it (the
//     record's value, else the default) only where the current value is
//     empty; always writes the default when the record lacks the field.
//     Without a writeOnUpdate setting the record's own value is written
//     and no default is: an update that overwrote customer data with a
//     default the builder did not send would surprise.
//   - upsert: the record may be created or updated, which is known only
//     afterwards, so a field is dropped if either setting is never or
//     writeOnUpdate is ifEmpty (nothing the customer filled in is
//     overwritten), and defaults apply only with writeOnUpdate always.
//
// The upsert key is never dropped: it identifies the record.
func (sh *shaper) settle(op providers.WriteOp, fields map[string]any) (map[string]any, []string) {
	if len(sh.settings) == 0 {
		return fields, nil
	}
	out := maps.Clone(fields)
	var ifEmpty []string
	for _, f := range slices.Sorted(maps.Keys(sh.settings)) {
		s := sh.settings[f]
		if op == providers.WriteUpsert && f == sh.upsertKey {
			continue
		}
		_, present := out[f]
		def, hasDef := defaultValue(s.Default)
		switch op {
		case providers.WriteCreate:
			if s.WriteOnCreate == settingNever {
				delete(out, f)
			} else if !present && hasDef {
				out[f] = def
			}
		case providers.WriteUpdate:
			switch s.WriteOnUpdate {
			case settingNever:
				delete(out, f)
			case settingIfEmpty:
				if !present && hasDef {
					out[f] = def
				}
				if _, ok := out[f]; ok {
					ifEmpty = append(ifEmpty, f)
				}
			case settingAlways:
				if !present && hasDef {
					out[f] = def
				}
			}
		case providers.WriteUpsert:
			switch {
			case s.WriteOnCreate == settingNever || s.WriteOnUpdate == settingNever || s.WriteOnUpdate == settingIfEmpty:
				delete(out, f)
			case !present && hasDef && s.WriteOnUpdate == settingAlways:
				out[f] = def
			}
		}
	}
	return out, ifEmpty
}

// defaultValue returns a field setting's default as a JSON value.
func defaultValue(d *runtime.FieldSettingDefault) (any, bool) {
	switch {
	case d == nil:
		return nil, false
	case d.StringValue != nil:
		return *d.StringValue, true
	case d.IntegerValue != nil:
		return float64(*d.IntegerValue), true
	case d.BooleanValue != nil:
		return *d.BooleanValue, true
	}
	return nil, false
}

// isEmpty reports whether a provider value counts as empty for ifEmpty:
// absent, null or the empty string.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// fingerprint is the echo of a write: the compact JSON object of the
// provider fields written (lower-case keys), limited to the fields the
// installation reads (only those can be compared when the record comes
// back). It is "" when no written field is read.
func fingerprint(fields map[string]any, read map[string]bool) string {
	m := make(map[string]any, len(fields))
	for k, v := range fields {
		k = strings.ToLower(k)
		if strings.Contains(k, "@") || (read != nil && !read[k]) {
			continue
		}
		m[k] = v
	}
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}
