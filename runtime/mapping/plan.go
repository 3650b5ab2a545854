package mapping

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

// Plan is one installation's mapping of one read object, compiled once and
// applied to every record. It is immutable and safe for concurrent use.
type Plan struct {
	object    string
	delivered string
	deletes   manifest.Deletes
	all       bool
	read      []string

	// plain are the unmapped top-level fields copied to fields (unused when
	// all is set: every field but those in exclude is copied).
	plain []output
	// nested are unmapped nested paths projected into fields.
	nested []output
	// mapped are the outputs that land in mappedFields.
	mapped []output
	// exclude holds, when all is set, the fields whose whole value feeds a
	// mapping and that were not asked for as unmapped fields.
	exclude map[string]struct{}
	// fieldInv holds the inverted value mappings of unmapped fields, by
	// lower-case field name.
	fieldInv map[string]map[string]any
	// fieldFwd holds the value mappings of unmapped fields, by lower-case
	// field name, for Reverse.
	fieldFwd map[string]map[string]string
	// rtree indexes mapped by delivered path, for Reverse.
	rtree      *rnode
	fieldsHint int
	mappedHint int
}

// output moves the value at src (in the record) to dst (in fields or
// mappedFields).
type output struct {
	src path
	dst []string
	// inv maps a provider value to its delivered value (Apply).
	inv map[string]any
	// fwd maps a delivered value to its provider value (Reverse).
	fwd map[string]string
	// name is how messages name the delivered field (its mapToName or
	// field name as written); from is the provider field as written.
	name, from string
}

// rnode is a node of the tree of delivered mapped paths.
type rnode struct {
	kids map[string]*rnode
	out  *output
}

// ObjectName returns the provider object to read.
func (p *Plan) ObjectName() string { return p.object }

// RawObjectName returns the provider's name of the object: the webhook
// message's rawObjectName.
func (p *Plan) RawObjectName() string { return p.object }

// DeliveredObjectName returns the object's name in webhook messages: the
// manifest's mapToName, else the provider object name.
func (p *Plan) DeliveredObjectName() string { return p.delivered }

// Deletes returns the object's effective deletes setting.
func (p *Plan) Deletes() manifest.Deletes { return p.deletes }

// AllFields reports whether every field of the object is read (the
// installation selected all fields); Fields then returns nil.
func (p *Plan) AllFields() bool { return p.all }

// Fields returns the provider fields to read, lower-case and without
// duplicates: the required fields, the selected optional fields and the
// provider field of every mapped field, in manifest order, then the other
// selected fields in name order. For a nested path it is the top-level
// field. It returns nil when AllFields is true. The record id is not listed:
// connectors always read it.
func (p *Plan) Fields() []string {
	if p.all {
		return nil
	}
	return slices.Clone(p.read)
}

// Compile checks obj (the deployed manifest's read object) against cfg (the
// installation's config of that object; nil is an empty config) and returns
// the Plan that maps its records. It returns an EINVALID *runtime.Error
// when a required customer-mapped field is not mapped, when a mapping names
// no provider field, when a field name is not a valid path, or when two
// fields would be delivered at the same place.
//
// Config entries the manifest no longer asks for are ignored: a selected
// field that is neither an optional field nor offered by optionalFieldsAuto:
// all, a field mapping for a mapToName the manifest does not declare as
// customer-mapped.
func Compile(obj *manifest.ReadObject, cfg *runtime.ReadConfigObject) (*Plan, error) {
	if obj == nil || obj.ObjectName == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "the read object has no objectName; fix the deployed manifest")
	}
	if cfg == nil {
		cfg = &runtime.ReadConfigObject{}
	}
	c := &compiler{
		obj:      obj,
		cfg:      cfg,
		p:        &Plan{object: obj.ObjectName, delivered: obj.DeliveredName(), deletes: obj.DeletesMode()},
		readSeen: map[string]bool{},
		explicit: map[string]bool{},
		vmUsed:   map[string]bool{},
	}
	c.p.all = cfg.SelectedFieldsAuto == runtime.SelectedFieldsAll
	for _, sel := range []struct {
		key      string
		fields   []*manifest.Field
		required bool
	}{{"requiredFields", obj.RequiredFields, true}, {"optionalFields", obj.OptionalFields, false}} {
		for i, f := range sel.fields {
			if f == nil {
				continue
			}
			if err := c.field(f, fmt.Sprintf("%s[%d]", sel.key, i), sel.required); err != nil {
				return nil, err
			}
		}
	}
	if err := c.extraSelected(); err != nil {
		return nil, err
	}
	c.finish()
	return c.p, nil
}

type compiler struct {
	obj      *manifest.ReadObject
	cfg      *runtime.ReadConfigObject
	p        *Plan
	readSeen map[string]bool
	// explicit holds the top-level fields asked for as unmapped fields.
	explicit map[string]bool
	// unmapped holds the dst of every unmapped output, as written in fields.
	unmapped []string
	// vmUsed holds the value-mapping keys taken by a mapToName.
	vmUsed map[string]bool
}

func (c *compiler) errorf(format string, args ...any) error {
	return runtime.Errorf(runtime.EINVALID, "read object %s: %s", c.obj.ObjectName, fmt.Sprintf(format, args...))
}

// field compiles one manifest field entry (at is its place, for messages).
func (c *compiler) field(f *manifest.Field, at string, required bool) error {
	switch {
	case f.FieldName != "":
		if !required && !c.p.all && !c.selected(f.FieldName) {
			return nil
		}
		src, err := c.parse(f.FieldName, at+".fieldName", true)
		if err != nil {
			return err
		}
		c.addRead(src)
		if f.MapToName == "" {
			return c.addUnmapped(src, f.FieldName)
		}
		return c.addMapped(src, f.FieldName, f.MapToName, at)
	case f.MapToName != "":
		chosen, ok := lookupKey(c.cfg.SelectedFieldMappings, f.MapToName)
		switch {
		case !ok && required:
			hint := ""
			if f.Default != "" {
				hint = fmt.Sprintf(" (the manifest suggests %s)", f.Default)
			}
			return c.errorf("the required field %s is mapped by the customer, but the installation's config does not map it; set selectedFieldMappings.%s to the %s field that holds it%s, or make the field optional in the manifest",
				f.MapToName, f.MapToName, c.obj.ObjectName, hint)
		case !ok:
			return nil
		case strings.TrimSpace(chosen) == "":
			fix := "set it to a field of " + c.obj.ObjectName
			if !required {
				fix += ", or remove the entry to leave the optional field unmapped"
			}
			return c.errorf("selectedFieldMappings.%s names no provider field; %s", f.MapToName, fix)
		}
		chosen = strings.TrimSpace(chosen)
		src, err := c.parse(chosen, "selectedFieldMappings."+f.MapToName, true)
		if err != nil {
			return err
		}
		c.addRead(src)
		return c.addMapped(src, chosen, f.MapToName, at)
	default:
		return c.errorf("%s has neither fieldName nor mapToName; give it a fieldName (read that field) or a mapToName (the customer picks the field)", at)
	}
}

// extraSelected adds the selected fields the manifest offers through
// optionalFieldsAuto: all but does not list.
func (c *compiler) extraSelected() error {
	if c.p.all || c.obj.OptionalFieldsAuto != "all" {
		return nil
	}
	names := make([]string, 0, len(c.cfg.SelectedFields))
	for name, on := range c.cfg.SelectedFields {
		if on && strings.TrimSpace(name) != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if c.listed(name) {
			continue
		}
		src, err := c.parse(name, "selectedFields."+name, true)
		if err != nil {
			return err
		}
		c.addRead(src)
		if err := c.addUnmapped(src, name); err != nil {
			return err
		}
	}
	return nil
}

// listed reports whether name is the fieldName of one of the manifest's
// fields (those are compiled by field).
func (c *compiler) listed(name string) bool {
	for _, list := range [][]*manifest.Field{c.obj.RequiredFields, c.obj.OptionalFields} {
		for _, f := range list {
			if f != nil && f.FieldName != "" && strings.EqualFold(f.FieldName, name) {
				return true
			}
		}
	}
	return false
}

// selected reports whether the config selects the optional field name.
func (c *compiler) selected(name string) bool {
	for k, on := range c.cfg.SelectedFields {
		if on && strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func (c *compiler) parse(s, at string, lowerFirst bool) (path, error) {
	p, err := parsePath(s, lowerFirst)
	if err != nil {
		return nil, c.errorf("%s: %q is not a valid field path: %v; write nested paths as $['address']['city'] or address[city]", at, s, err)
	}
	return p, nil
}

func (c *compiler) addRead(src path) {
	if top := src[0].name; !c.readSeen[top] {
		c.readSeen[top] = true
		c.p.read = append(c.p.read, top)
	}
}

// addUnmapped delivers src in fields under its own (lower-case) path.
func (c *compiler) addUnmapped(src path, name string) error {
	dst := src.names()
	key := strings.Join(dst, "\x00")
	if slices.Contains(c.unmapped, key) {
		return nil
	}
	c.unmapped = append(c.unmapped, key)
	o := output{src: src, dst: dst, name: name, from: name}
	if len(src) == 1 {
		c.explicit[src[0].name] = true
		c.p.plain = append(c.p.plain, o)
	} else {
		c.p.nested = append(c.p.nested, o)
	}
	return nil
}

// addMapped delivers src in mappedFields at mapToName.
func (c *compiler) addMapped(src path, srcName, mapToName, at string) error {
	dst, err := c.parse(mapToName, at+".mapToName", false)
	if err != nil {
		return err
	}
	d := dst.names()
	for _, o := range c.p.mapped {
		switch {
		case slices.Equal(o.dst, d):
			return c.errorf("the provider fields %s and %s are both delivered as mappedFields %s; give one of them a different mapToName", o.from, srcName, mapToName)
		case isPrefix(o.dst, d), isPrefix(d, o.dst):
			return c.errorf("the mapped fields %s and %s overlap (one would be inside the other in mappedFields); give one of them a different mapToName", o.name, mapToName)
		}
	}
	o := output{src: src, dst: d, name: mapToName, from: srcName}
	vm, key, ok := lookupKeyName(c.cfg.SelectedValueMappings, mapToName)
	if ok {
		c.vmUsed[key] = true
	} else {
		vm, _, ok = lookupKeyName(c.cfg.SelectedValueMappings, srcName)
	}
	if ok {
		o.inv, o.fwd = invert(vm), maps.Clone(vm)
	}
	c.p.mapped = append(c.p.mapped, o)
	return nil
}

// finish fills in what depends on every field: value mappings of unmapped
// fields, the excluded fields, the Reverse tree and size hints.
func (c *compiler) finish() {
	p := c.p
	// Sorted, so that of keys equal but for case the smallest wins.
	for _, k := range slices.Sorted(maps.Keys(c.cfg.SelectedValueMappings)) {
		vm := c.cfg.SelectedValueMappings[k]
		lk := strings.ToLower(k)
		if c.vmUsed[k] || len(vm) == 0 || p.fieldFwd[lk] != nil {
			continue
		}
		if p.fieldInv == nil {
			p.fieldInv = map[string]map[string]any{}
			p.fieldFwd = map[string]map[string]string{}
		}
		p.fieldInv[lk], p.fieldFwd[lk] = invert(vm), maps.Clone(vm)
	}
	for i := range p.plain {
		p.plain[i].inv = p.fieldInv[p.plain[i].dst[0]]
		p.plain[i].fwd = p.fieldFwd[p.plain[i].dst[0]]
	}
	if p.all {
		for _, o := range p.mapped {
			if len(o.src) == 1 && !c.explicit[o.src[0].name] {
				if p.exclude == nil {
					p.exclude = map[string]struct{}{}
				}
				p.exclude[o.src[0].name] = struct{}{}
			}
		}
	}
	// A nested projection under a field delivered whole is redundant, and
	// writing into that field's object would change the record.
	nested := p.nested[:0]
	tops := map[string]bool{}
	for _, o := range p.nested {
		top := o.dst[0]
		whole := c.explicit[top]
		if p.all {
			_, excluded := p.exclude[top]
			whole = !excluded
		}
		if whole {
			continue
		}
		o.inv = p.fieldInv[strings.ToLower(o.name)]
		o.fwd = p.fieldFwd[strings.ToLower(o.name)]
		nested = append(nested, o)
		tops[top] = true
	}
	p.nested = nested
	p.fieldsHint = len(p.plain) + len(tops) + 1
	p.rtree = &rnode{}
	mtops := map[string]bool{}
	for i := range p.mapped {
		o := &p.mapped[i]
		mtops[o.dst[0]] = true
		n := p.rtree
		for _, k := range o.dst {
			if n.kids == nil {
				n.kids = map[string]*rnode{}
			}
			next := n.kids[k]
			if next == nil {
				next = &rnode{}
				n.kids[k] = next
			}
			n = next
		}
		n.out = o
	}
	p.mappedHint = len(mtops)
}

func isPrefix(short, long []string) bool {
	return len(short) < len(long) && slices.Equal(short, long[:len(short)])
}

// invert turns {delivered: provider} into {provider: delivered}. When
// several delivered values share a provider value, the smallest wins.
func invert(vm map[string]string) map[string]any {
	if len(vm) == 0 {
		return nil
	}
	inv := make(map[string]any, len(vm))
	for _, d := range slices.Sorted(maps.Keys(vm)) {
		if _, taken := inv[vm[d]]; !taken {
			inv[vm[d]] = d
		}
	}
	return inv
}

// lookupKey returns m[key], else the value of the smallest key of m equal
// to key without regard to case.
func lookupKey[V any](m map[string]V, key string) (V, bool) {
	v, _, ok := lookupKeyName(m, key)
	return v, ok
}

func lookupKeyName[V any](m map[string]V, key string) (V, string, bool) {
	if v, ok := m[key]; ok {
		return v, key, true
	}
	found, name := false, ""
	for k := range m {
		if strings.EqualFold(k, key) && (!found || k < name) {
			found, name = true, k
		}
	}
	if !found {
		var zero V
		return zero, "", false
	}
	return m[name], name, true
}
