package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
)

// Options tune Validate.
type Options struct {
	// Registry is the provider catalog; nil means providers.Default.
	Registry *providers.Registry
	// Strict turns warnings into errors (`amp validate --strict`).
	Strict bool
	// MinScheduleInterval is the shortest allowed gap between scheduled
	// reads; zero means DefaultMinScheduleInterval. Only the runtime's dev
	// mode sets it lower.
	MinScheduleInterval time.Duration
}

// Validate checks f against the JSON Schema and every semantic rule and
// returns all findings, sorted by position, with `# amp:ignore[...]`
// suppressions applied. Findings made while loading are included.
func Validate(f *File, opts Options) Diagnostics {
	if opts.Registry == nil {
		opts.Registry = providers.Default
	}
	if opts.MinScheduleInterval <= 0 {
		opts.MinScheduleInterval = DefaultMinScheduleInterval
	}
	diags := slices.Clone(f.loadDiags)
	cs, err := manifestSchema()
	if err != nil {
		// The schema is embedded and tested; failing here is a build defect.
		panic(err)
	}
	diags = append(diags, cs.schemaDiagnostics(f)...)
	for _, u := range f.unknownKeys {
		diags = append(diags, cs.keyDiagnostic(f, u))
	}
	v := &validator{f: f, opts: opts, schedules: map[string][]scheduleFinding{}}
	v.manifest()
	diags = append(diags, v.diags...)
	diags = f.applyIgnores(diags)
	if opts.Strict {
		for i := range diags {
			if diags[i].Severity == SeverityWarning {
				diags[i].Severity = SeverityError
			}
		}
	}
	diags.Sort()
	return diags
}

// LoadAndValidate loads the manifest at path and validates it.
func LoadAndValidate(path string, opts Options) (*File, Diagnostics) {
	f, diags := Load(path)
	if f == nil {
		return nil, diags
	}
	return f, Validate(f, opts)
}

// applyIgnores drops findings silenced by `# amp:ignore[rule]` on their line
// or the line above, and warns about ignore comments naming unknown rules.
func (f *File) applyIgnores(diags Diagnostics) Diagnostics {
	if len(f.ignores) == 0 {
		return diags
	}
	silenced := func(d Diagnostic) bool {
		if d.Range == nil {
			return false
		}
		line := d.Range.Start.Line
		for _, ig := range f.ignores[line] {
			if ig.id == d.Rule {
				return true
			}
		}
		for _, ig := range f.ignores[line-1] {
			if ig.id == d.Rule && ig.ownLine {
				return true
			}
		}
		return false
	}
	out := diags[:0]
	for _, d := range diags {
		if !silenced(d) {
			out = append(out, d)
		}
	}
	for line, igs := range f.ignores {
		for _, ig := range igs {
			if _, ok := LookupRule(ig.id); !ok {
				start := f.pos(line, ig.column)
				out = append(out, Diagnostic{Rule: "ignore-unknown-rule", Severity: SeverityWarning,
					Summary:    fmt.Sprintf("amp:ignore names unknown rule `%s`, so it silences nothing", ig.id),
					Suggestion: didYouMean(ig.id, ruleIDs()),
					Range:      &Range{Filename: f.Name, Start: start, End: f.pos(line, ig.column+len(ig.id))}})
			}
		}
	}
	return out
}

// validator holds one run of the semantic rules.
type validator struct {
	f         *File
	opts      Options
	diags     Diagnostics
	schedules map[string][]scheduleFinding // cached per expression
	names     map[string][]string          // object names per provider and module
}

// objectNames returns the standard object names of a module, computed once
// per run: large manifests ask for them once per custom object.
func (v *validator) objectNames(spec *providers.Spec, module string) []string {
	key := spec.Name + "/" + module
	if names, ok := v.names[key]; ok {
		return names
	}
	if v.names == nil {
		v.names = map[string][]string{}
	}
	names := objectNames(spec.ObjectsIn(module))
	v.names[key] = names
	return names
}

// has reports whether the document has a value at ptr (of any type).
func (v *validator) has(ptr string) bool {
	_, ok := v.f.values[ptr]
	return ok
}

func (v *validator) at(rule, ptr string, onKey bool, format string, args ...any) *Diagnostic {
	r := v.f.ValueRange(ptr)
	if onKey {
		r = v.f.KeyRange(ptr)
	}
	v.diags = append(v.diags, Diagnostic{Rule: rule, Severity: severityOf(rule), Summary: fmt.Sprintf(format, args...), Path: pointerToPath(ptr), Range: r})
	return &v.diags[len(v.diags)-1]
}

func (v *validator) manifest() {
	m := v.f.Manifest
	names := map[string]int{}
	for i, in := range m.Integrations {
		if in == nil {
			continue
		}
		ptr := fmt.Sprintf("/integrations/%d", i)
		if in.Name != "" {
			if first, dup := names[in.Name]; dup {
				v.at("integration-name-unique", ptr+"/name", false, "integration name `%s` is already used by integrations[%d]; names are the deploy key, so each must be unique", in.Name, first)
			} else {
				names[in.Name] = i
			}
		}
		v.integration(in, ptr)
	}
}

func (v *validator) integration(in *Integration, ptr string) {
	if in.Read == nil && in.Write == nil && in.Proxy == nil && in.Subscribe == nil && v.has(ptr) {
		label := in.Name
		if label == "" {
			label = ptr
		}
		v.at("action-required", ptr, false, "integration `%s` declares no action; add at least one of read, write, proxy or subscribe", label)
	}
	spec := v.provider(in, ptr)
	module := ""
	if spec != nil {
		module = spec.ResolveModule(in.Module)
		support := spec.ModuleSupport(module)
		for _, a := range []struct {
			key    string
			action providers.Action
			set    bool
		}{{"read", providers.ActionRead, in.Read != nil}, {"write", providers.ActionWrite, in.Write != nil}, {"proxy", providers.ActionProxy, in.Proxy != nil}, {"subscribe", providers.ActionSubscribe, in.Subscribe != nil}} {
			if a.set && !support.Supports(a.action) {
				where := spec.DisplayName
				if in.Module != "" {
					where += " module " + in.Module
				}
				v.at("action-unsupported", ptr+"/"+a.key, true, "%s does not support %s actions", where, a.key)
			}
		}
	}
	v.read(in, spec, module, ptr)
	v.write(in, spec, module, ptr)
	v.subscribe(in, spec, module, ptr)
	if ws := in.WatchSchema; ws != nil && ws.Schedule != "" {
		v.schedule(ptr+"/watchSchema/schedule", ws.Schedule, MinWatchSchemaInterval, "watch-schema-schedule")
	}
}

// provider resolves the integration's provider and module, reporting
// unknown ones. It returns nil when validation cannot use the catalog.
func (v *validator) provider(in *Integration, ptr string) *providers.Spec {
	if in.Provider == "" {
		return nil
	}
	spec, ok := v.opts.Registry.Spec(in.Provider)
	if !ok {
		if slices.Contains(providers.ElsewhereKnown, in.Provider) {
			v.at("provider-unsupported", ptr+"/provider", false, "provider `%s` has no connector in amp; the manifest is checked for structure only and `amp serve` cannot run this integration (supported: %s)", in.Provider, strings.Join(v.opts.Registry.Names(), ", "))
			return nil
		}
		d := v.at("provider-unknown", ptr+"/provider", false, "unknown provider `%s`; amp supports %s", in.Provider, strings.Join(v.opts.Registry.Names(), ", "))
		// Prefer a provider amp runs over one it only knows by name.
		d.Suggestion = didYouMean(in.Provider, v.opts.Registry.Names())
		if d.Suggestion == "" {
			d.Suggestion = didYouMean(in.Provider, providers.ElsewhereKnown)
		}
		return nil
	}
	if in.Module != "" {
		if _, ok := spec.Module(in.Module); !ok {
			ids := make([]string, len(spec.Modules))
			for i, m := range spec.Modules {
				ids[i] = m.ID
			}
			d := v.at("module-unknown", ptr+"/module", false, "%s has no module `%s`; its modules are %s", spec.DisplayName, in.Module, strings.Join(ids, ", "))
			d.Suggestion = didYouMean(in.Module, ids)
			for _, m := range spec.Modules {
				if slices.ContainsFunc(m.Aliases, func(a string) bool { return strings.EqualFold(a, in.Module) }) {
					d.Suggestion = fmt.Sprintf("%s is now %s: write `module: %s`", in.Module, m.DisplayName, m.ID)
				}
			}
			return nil
		}
	}
	return spec
}

// emptyList reports an action with no objects: `objects` absent, null or
// []. A value of the wrong type is the schema's to report.
func (v *validator) emptyList(ptr, action string) {
	if !v.has(ptr) {
		return
	}
	objs, _ := v.f.lookup(ptr + "/objects")
	switch objs := objs.(type) {
	case nil:
	case []any:
		if len(objs) > 0 {
			return
		}
	default:
		return
	}
	v.at("empty-list", ptr, true, "%s declares no objects; list at least one under `%s.objects` or remove `%s`", action, action, action)
}

func (v *validator) read(in *Integration, spec *providers.Spec, module, ptr string) {
	if in.Read == nil {
		return
	}
	v.emptyList(ptr+"/read", "read")
	seen := map[string]int{}
	for j, o := range in.Read.Objects {
		if o == nil {
			continue
		}
		op := fmt.Sprintf("%s/read/objects/%d", ptr, j)
		v.duplicateObject(seen, o.ObjectName, j, op, "read")
		obj := v.object(spec, module, o.ObjectName, op+"/objectName")
		v.fields(spec, obj, o, op)
		if o.Schedule != "" {
			v.schedule(op+"/schedule", o.Schedule, v.opts.MinScheduleInterval, "schedule-interval")
		}
		v.backfill(o, op)
		if o.Delivery != nil {
			v.at("delivery-deprecated", op+"/delivery", true, "`delivery` is deprecated and ignored: amp delivers every page as it is read")
			if o.Delivery.PageSize != 0 && o.Delivery.Mode != "onRequest" {
				v.at("delivery-page-size", op+"/delivery/pageSize", true, "`delivery.pageSize` applies only with `mode: onRequest`")
			}
		}
		if o.Enabled == "always" {
			v.enabledAlways(o, op)
		}
	}
}

func (v *validator) duplicateObject(seen map[string]int, name string, j int, op, action string) {
	if name == "" {
		return
	}
	key := strings.ToLower(name)
	if first, dup := seen[key]; dup {
		v.at("object-duplicate", op+"/objectName", false, "object `%s` is already listed under %s (objects[%d]); merge the two entries", name, action, first)
		return
	}
	seen[key] = j
}

// object checks an object name against the catalog and returns its entry
// when it is a standard object.
func (v *validator) object(spec *providers.Spec, module, name, ptr string) *providers.Object {
	if spec == nil || name == "" {
		return nil
	}
	if o, ok := spec.Object(module, name); ok {
		return o
	}
	for _, m := range spec.Modules {
		if m.ID == module {
			continue
		}
		if _, ok := spec.Object(m.ID, name); ok {
			v.at("object-unknown", ptr, false, "`%s` is a %s %s object, not one of module %s; set `module: %s` on the integration or use a separate integration", name, spec.DisplayName, m.DisplayName, module, m.ID)
			return nil
		}
	}
	// Where custom objects carry a suffix, a suffixed name is custom without
	// question: skip the search for a near standard name.
	suggestion := ""
	if spec.Custom.ObjectSuffix == "" || !spec.Custom.IsCustomObject(name) {
		suggestion = didYouMean(name, v.objectNames(spec, module))
	}
	if customObject(spec, name, suggestion) {
		v.at("object-custom", ptr, false, "`%s` is not a standard %s object; amp takes it as a custom object and checks it against each customer's schema when they connect", name, spec.DisplayName)
		return nil
	}
	d := v.at("object-unknown", ptr, false, "`%s` is not a %s object", name, spec.DisplayName)
	d.Suggestion = suggestion
	if spec.Custom.ObjectSuffix != "" && suggestion == "" {
		d.Suggestion = fmt.Sprintf("custom objects end in %s", spec.Custom.ObjectSuffix)
	}
	return nil
}

// customObject reports whether an object name that is not in the catalog is
// taken as a custom object. Where custom names carry no marker (HubSpot,
// Dynamics), a name one slip away from a standard object is a misspelling,
// not a custom object.
func customObject(spec *providers.Spec, name, suggestion string) bool {
	return spec.Custom.IsCustomObject(name) && (suggestion == "" || spec.Custom.ObjectSuffix != "")
}

func objectNames(objs []*providers.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Name
	}
	return out
}

func fieldNames(o *providers.Object) []string {
	out := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		out[i] = f.Name
	}
	return out
}

// field checks a provider field name against the object's standard fields.
func (v *validator) field(spec *providers.Spec, obj *providers.Object, name, ptr string) {
	if spec == nil || obj == nil || name == "" || strings.HasPrefix(name, "$") {
		return
	}
	if _, ok := obj.Field(name); ok {
		return
	}
	suggestion := didYouMean(name, fieldNames(obj))
	switch {
	case spec.Custom.FieldSuffix != "" && spec.Custom.IsCustomField(name):
		// Salesforce custom fields say so in their name; nothing to check offline.
	case spec.Custom.FieldSuffix != "" || !spec.Custom.Fields:
		d := v.at("field-unknown", ptr, false, "`%s` is not a field of %s %s", name, spec.DisplayName, obj.Name)
		d.Suggestion = suggestion
		if d.Suggestion == "" && spec.Custom.FieldSuffix != "" {
			d.Suggestion = fmt.Sprintf("custom fields end in %s", spec.Custom.FieldSuffix)
		}
	case suggestion != "":
		d := v.at("field-not-standard", ptr, false, "`%s` is not a standard field of %s %s; it may be a custom field", name, spec.DisplayName, obj.Name)
		d.Suggestion = suggestion
	default:
		v.at("field-custom", ptr, false, "`%s` is not a standard field of %s %s; amp takes it as a custom field and checks it against each customer's schema when they connect", name, spec.DisplayName, obj.Name)
	}
}

func (v *validator) fields(spec *providers.Spec, obj *providers.Object, o *ReadObject, op string) {
	delivered := map[string]string{}
	for _, list := range []struct {
		key    string
		fields []*Field
	}{{"requiredFields", o.RequiredFields}, {"optionalFields", o.OptionalFields}} {
		for k, fd := range list.fields {
			if fd == nil {
				continue
			}
			fp := op + "/" + list.key + "/" + strconv.Itoa(k)
			fieldPtr, mapPtr := fp+"/fieldName", fp+"/mapToName"
			hasField, hasMap := v.has(fieldPtr), v.has(mapPtr)
			switch {
			case !hasField && !hasMap:
				v.at("field-shape", fp, false, "a field entry needs `fieldName` (read this provider field) or `mapToName` (the customer picks the field)")
				continue
			case hasField && (fd.Prompt != "" || fd.Default != "" || v.has(fp+"/prompt") || v.has(fp+"/default")):
				key := "prompt"
				if !v.has(fp + "/prompt") {
					key = "default"
				}
				v.at("field-shape", fp+"/"+key, true, "`%s` applies only to customer-mapped fields; remove `fieldName` to let the customer choose, or remove `%s`", key, key)
			}
			for _, p := range [...]struct{ ptr, val string }{{fieldPtr, fd.FieldName}, {mapPtr, fd.MapToName}} {
				if strings.HasPrefix(p.val, "$") {
					if err := checkBracketPath(p.val); err != nil {
						d := v.at("field-path", p.ptr, false, "`%s` is not a valid field path: %v", p.val, err)
						d.Suggestion = "write nested paths as $['address']['city']"
					}
				}
			}
			v.field(spec, obj, fd.FieldName, fieldPtr)
			if fd.CustomerMapped() && fd.Default != "" {
				v.field(spec, obj, fd.Default, fp+"/default")
			}
			if name := strings.ToLower(fd.DeliveredName()); name != "" {
				if first, dup := delivered[name]; dup {
					at, what := fp+"/mapToName", "mapToName"
					if fd.MapToName == "" {
						at, what = fp+"/fieldName", "fieldName"
					}
					v.at("map-to-name-unique", at, false, "records of `%s` would carry `%s` twice (also from %s); give this field a different %s", o.DeliveredName(), fd.DeliveredName(), first, what)
				} else {
					delivered[name] = fmt.Sprintf("%s[%d]", list.key, k)
				}
			}
		}
	}
}

// checkBracketPath accepts $['a']['b'] (single or double quotes).
func checkBracketPath(p string) error {
	rest := strings.TrimPrefix(p, "$")
	if rest == "" {
		return fmt.Errorf("the path names no field")
	}
	for rest != "" {
		if !strings.HasPrefix(rest, "[") {
			return fmt.Errorf("expected `[` at %q", rest)
		}
		rest = rest[1:]
		if rest == "" || (rest[0] != '\'' && rest[0] != '"') {
			return fmt.Errorf("segment names must be quoted")
		}
		q := rest[0]
		end := strings.IndexByte(rest[1:], q)
		if end < 0 {
			return fmt.Errorf("unclosed quote")
		}
		if end == 0 {
			return fmt.Errorf("empty segment name")
		}
		rest = rest[end+2:]
		if !strings.HasPrefix(rest, "]") {
			return fmt.Errorf("expected `]` after the quoted name")
		}
		rest = rest[1:]
	}
	return nil
}

func (v *validator) schedule(ptr, expr string, minGap time.Duration, intervalRule string) {
	key := fmt.Sprint(expr, "|", minGap, "|", intervalRule)
	findings, ok := v.schedules[key]
	if !ok {
		findings = checkSchedule(expr, minGap, intervalRule)
		v.schedules[key] = findings
	}
	for _, fd := range findings {
		v.at(fd.rule, ptr, false, "%s", fd.summary).Suggestion = fd.suggestion
	}
}

func (v *validator) backfill(o *ReadObject, op string) {
	if o.Backfill == nil || o.Backfill.DefaultPeriod == nil {
		return
	}
	pp := op + "/backfill/defaultPeriod"
	hasDays := v.has(pp + "/days")
	full := o.Backfill.DefaultPeriod.FullHistory
	switch {
	case hasDays && full:
		v.at("backfill-period", pp+"/fullHistory", true, "set either `days` or `fullHistory: true`, not both")
	case !hasDays && !full && !v.has(pp+"/fullHistory"):
		v.at("backfill-period", pp, true, "`defaultPeriod` needs `days: N` or `fullHistory: true`")
	case !hasDays && !full:
		v.at("backfill-period", pp+"/fullHistory", true, "`fullHistory: false` without `days` backfills nothing; set `days: N`, or `days: 0` for no backfill")
	}
}

func (v *validator) enabledAlways(o *ReadObject, op string) {
	if len(o.RequiredFields) == 0 {
		v.at("enabled-always", op+"/enabled", false, "`enabled: always` reads `%s` for every installation, so it needs requiredFields to know what to read", o.ObjectName)
	}
	if o.Schedule == "" {
		v.at("enabled-always", op+"/enabled", false, "`enabled: always` needs a `schedule`: no customer turns this read on, so nothing would trigger it")
	}
	for _, list := range []struct {
		key    string
		fields []*Field
	}{{"requiredFields", o.RequiredFields}, {"optionalFields", o.OptionalFields}} {
		for k, fd := range list.fields {
			if fd != nil && fd.CustomerMapped() && fd.MapToName != "" {
				v.at("enabled-always", fmt.Sprintf("%s/%s/%d", op, list.key, k), false, "customer-mapped field `%s` cannot be used with `enabled: always`: no customer is asked to map it", fd.MapToName)
			}
		}
	}
}

func (v *validator) write(in *Integration, spec *providers.Spec, module, ptr string) {
	if in.Write == nil {
		return
	}
	v.emptyList(ptr+"/write", "write")
	seen := map[string]int{}
	for j, o := range in.Write.Objects {
		if o == nil {
			continue
		}
		op := fmt.Sprintf("%s/write/objects/%d", ptr, j)
		v.duplicateObject(seen, o.ObjectName, j, op, "write")
		obj := v.object(spec, module, o.ObjectName, op+"/objectName")
		if obj != nil && obj.ReadOnly {
			v.at("action-unsupported", op+"/objectName", false, "%s %s is read-only; it cannot be written", spec.DisplayName, obj.Name)
		}
		read := in.ReadObject(o.ObjectName)
		v.sameSpelling(read, o.ObjectName, op+"/objectName")
		if o.InheritMapping && read == nil {
			v.at("inherit-mapping-no-read", op+"/inheritMapping", true, "`inheritMapping: true` but `%s` is not read by this integration, so there is no mapping to inherit", o.ObjectName)
		}
		if o.UpsertKey != "" {
			v.upsertKey(spec, obj, read, o, op+"/upsertKey")
		}
	}
}

func (v *validator) upsertKey(spec *providers.Spec, obj *providers.Object, read *ReadObject, o *WriteObject, ptr string) {
	if strings.HasPrefix(o.UpsertKey, "$") {
		v.at("upsert-key-field", ptr, false, "upsertKey must be a top-level provider field, not a path")
		return
	}
	if read != nil && (obj == nil || !hasField(obj, o.UpsertKey)) {
		for _, fd := range append(slices.Clone(read.RequiredFields), read.OptionalFields...) {
			if fd != nil && fd.MapToName != "" && strings.EqualFold(fd.MapToName, o.UpsertKey) && !strings.EqualFold(fd.FieldName, o.UpsertKey) {
				d := v.at("upsert-key-field", ptr, false, "upsertKey names the provider field; `%s` is a delivered (mapped) name", o.UpsertKey)
				if fd.FieldName != "" {
					d.Suggestion = fmt.Sprintf("use `%s`", fd.FieldName)
				}
				return
			}
		}
	}
	v.field(spec, obj, o.UpsertKey, ptr)
}

// sameSpelling warns when an object is written or subscribed to under
// another spelling than its read entry: amp matches them ignoring case, but
// readers of the manifest may not.
func (v *validator) sameSpelling(read *ReadObject, name, ptr string) {
	if read != nil && read.ObjectName != name {
		v.at("object-name-case", ptr, false, "`%s` is read as `%s`; spell it the same way in every action", name, read.ObjectName).Suggestion = fmt.Sprintf("write `%s`", read.ObjectName)
	}
}

func hasField(o *providers.Object, name string) bool {
	_, ok := o.Field(name)
	return ok
}

func (v *validator) subscribe(in *Integration, spec *providers.Spec, module, ptr string) {
	if in.Subscribe == nil {
		return
	}
	v.emptyList(ptr+"/subscribe", "subscribe")
	seen := map[string]int{}
	for j, o := range in.Subscribe.Objects {
		if o == nil {
			continue
		}
		op := fmt.Sprintf("%s/subscribe/objects/%d", ptr, j)
		v.duplicateObject(seen, o.ObjectName, j, op, "subscribe")
		v.object(spec, module, o.ObjectName, op+"/objectName")
		if spec != nil {
			if limit := spec.ModuleSupport(module).MaxSubscribeObjects; limit > 0 && j == limit {
				v.at("subscribe-limit", op, false, "%s allows at most %d subscribe objects per integration; this is number %d", spec.DisplayName, limit, j+1)
			}
		}
		v.sameSpelling(in.ReadObject(o.ObjectName), o.ObjectName, op+"/objectName")
		if o.ObjectName != "" && o.EventsEnabled() && in.ReadObject(o.ObjectName) == nil {
			v.at("subscribe-read", op+"/objectName", false, "subscribing to `%s` needs a read entry for it: events carry the fields and mapping of the read", o.ObjectName)
		}
		if !o.InheritFieldsAndMapping {
			key, onKey := op+"/inheritFieldsAndMapping", true
			if !v.has(key) {
				key, onKey = op, false
			}
			v.at("subscribe-inherit", key, onKey, "subscribe objects must set `inheritFieldsAndMapping: true`; events use the read's fields and mapping")
		}
		if ue := o.UpdateEvent; ue != nil && (ue.Enabled != "" || ue.WatchFieldsAuto != "" || v.has(op+"/updateEvent/requiredWatchFields")) {
			up := op + "/updateEvent"
			hasList := v.has(up + "/requiredWatchFields")
			switch {
			case ue.WatchFieldsAuto != "" && hasList:
				v.at("subscribe-watch-fields", up+"/requiredWatchFields", true, "set either `watchFieldsAuto` or `requiredWatchFields`, not both")
			case ue.WatchFieldsAuto == "" && !hasList:
				v.at("subscribe-watch-fields", up, true, "updateEvent needs `watchFieldsAuto: all` or a `requiredWatchFields` list")
			}
			for k, name := range ue.RequiredWatchFields {
				if strings.ContainsAny(name, ".[$/") {
					v.at("subscribe-watch-field-path", fmt.Sprintf("%s/requiredWatchFields/%d", up, k), false, "watch field `%s` must be a top-level field name, not a path", name)
				}
			}
		}
	}
}
