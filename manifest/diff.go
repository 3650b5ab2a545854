package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ampforge/amp/providers"
)

// ChangeKind classifies one change between two manifests.
type ChangeKind string

// The kinds of change Diff reports.
const (
	ChangeAdded   ChangeKind = "added"
	ChangeRemoved ChangeKind = "removed"
	ChangeChanged ChangeKind = "changed"
)

// Change is one semantic difference between two manifests.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Subject says what changed: integration, provider, module, object,
	// field, schedule, backfill, destination, mapping, setting or scope.
	Subject     string `json:"subject"`
	Integration string `json:"integration"`
	// Action is read, write, subscribe, proxy or watchSchema when the
	// change is inside one.
	Action string `json:"action,omitempty"`
	Object string `json:"object,omitempty"`
	Field  string `json:"field,omitempty"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	// Breaking is true when live installations are affected: a removed
	// object or required field, a new required customer-mapped field, or a
	// new scope that makes every customer re-consent.
	Breaking bool `json:"breaking"`
	// Summary is the change in one line.
	Summary string `json:"summary"`
}

// Diff returns the semantic changes from old to new, in manifest order:
// integrations, then each action's objects and their fields and settings,
// then the change in required OAuth scopes. reg nil means providers.Default.
func Diff(old, new *Manifest, reg *providers.Registry) []Change {
	if reg == nil {
		reg = providers.Default
	}
	d := differ{oldScopes: Scopes(old, reg), newScopes: Scopes(new, reg)}
	for _, oi := range old.Integrations {
		if oi != nil && new.Integration(oi.Name) == nil {
			d.add(Change{Kind: ChangeRemoved, Subject: "integration", Integration: oi.Name, Breaking: true,
				Summary: fmt.Sprintf("integration %s removed: its installations stop syncing", oi.Name)})
		}
	}
	for _, ni := range new.Integrations {
		if ni == nil {
			continue
		}
		oi := old.Integration(ni.Name)
		if oi == nil {
			summary := fmt.Sprintf("integration %s added (%s)", ni.Name, ni.Provider)
			for _, sc := range d.newScopes {
				if sc.Integration == ni.Name && sc.Supported {
					summary += fmt.Sprintf("; customers who install it consent to %s", strings.Join(sc.Names(), " "))
				}
			}
			d.add(Change{Kind: ChangeAdded, Subject: "integration", Integration: ni.Name, Summary: summary})
			continue
		}
		d.integration(oi, ni)
		if oi.Provider == ni.Provider {
			// A provider change is breaking already; listing the scopes of
			// two different providers as added and removed says nothing more.
			d.scopes(ni.Name)
		}
	}
	return d.changes
}

type differ struct {
	changes              []Change
	oldScopes, newScopes []IntegrationScopes
}

func (d *differ) add(c Change) { d.changes = append(d.changes, c) }

func (d *differ) setting(in, action, object, what, oldV, newV string, breaking bool) {
	if oldV == newV {
		return
	}
	c := Change{Kind: ChangeChanged, Subject: what, Integration: in, Action: action, Object: object, Old: oldV, New: newV, Breaking: breaking}
	where := object
	if where == "" {
		where = in
	}
	switch {
	case oldV == "":
		c.Kind = ChangeAdded
		c.Summary = fmt.Sprintf("%s %s: %s set to %s", action, where, what, quoteOr(newV))
	case newV == "":
		c.Kind = ChangeRemoved
		c.Summary = fmt.Sprintf("%s %s: %s %s removed", action, where, what, quoteOr(oldV))
	default:
		c.Summary = fmt.Sprintf("%s %s: %s %s -> %s", action, where, what, quoteOr(oldV), quoteOr(newV))
	}
	c.Summary = strings.TrimPrefix(c.Summary, " ")
	d.add(c)
}

func quoteOr(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

func (d *differ) integration(o, n *Integration) {
	name := n.Name
	d.setting(name, "", "", "provider", o.Provider, n.Provider, true)
	d.setting(name, "", "", "module", o.Module, n.Module, true)
	d.setting(name, "", "", "displayName", o.DisplayName, n.DisplayName, false)
	d.readObjects(name, o.Read, n.Read)
	d.writeObjects(name, o.Write, n.Write)
	d.subscribeObjects(name, o.Subscribe, n.Subscribe)
	d.proxy(name, o.Proxy, n.Proxy)
	d.watchSchema(name, o.WatchSchema, n.WatchSchema)
}

func (d *differ) proxy(in string, o, n *Proxy) {
	os, ns := proxyState(o), proxyState(n)
	switch {
	case os == ns:
	case os == "":
		d.add(Change{Kind: ChangeAdded, Subject: "setting", Integration: in, Action: "proxy", New: ns, Summary: "proxy " + ns})
	case ns == "":
		d.add(Change{Kind: ChangeRemoved, Subject: "setting", Integration: in, Action: "proxy", Old: os, Breaking: true,
			Summary: "proxy disabled: the builder's proxied calls for every installation will be refused"})
	default:
		d.add(Change{Kind: ChangeChanged, Subject: "setting", Integration: in, Action: "proxy", Old: os, New: ns, Summary: fmt.Sprintf("proxy %s (was %s)", ns, os)})
	}
}

func (d *differ) watchSchema(in string, o, n *WatchSchema) {
	switch {
	case o == nil && n == nil:
	case o == nil:
		d.add(Change{Kind: ChangeAdded, Subject: "setting", Integration: in, Action: "watchSchema", New: watchText(n),
			Summary: "watchSchema added: " + watchText(n)})
	case n == nil:
		d.add(Change{Kind: ChangeRemoved, Subject: "setting", Integration: in, Action: "watchSchema", Old: watchText(o),
			Summary: "watchSchema removed: schema changes are no longer reported"})
	default:
		d.setting(in, "watchSchema", "", "destination", o.Destination, n.Destination, false)
		d.setting(in, "watchSchema", "", "schedule", o.Schedule, n.Schedule, false)
		d.setting(in, "watchSchema", "", "events", watchEvents(o), watchEvents(n), false)
	}
}

func watchText(w *WatchSchema) string {
	sched := w.Schedule
	if sched == "" {
		sched = "daily"
	}
	return fmt.Sprintf("%s to %s (%s)", watchEvents(w), w.Destination, sched)
}

func watchEvents(w *WatchSchema) string {
	var ev []string
	if a := w.AllObjects; a != nil {
		for _, e := range []struct {
			name string
			ev   *Event
		}{{"fieldCreated", a.FieldCreated}, {"fieldDeleted", a.FieldDeleted}, {"fieldChanged", a.FieldChanged}} {
			if e.ev != nil && e.ev.Enabled != "" {
				ev = append(ev, e.name)
			}
		}
	}
	if len(ev) == 0 {
		return "no events"
	}
	return strings.Join(ev, ", ")
}

func proxyState(p *Proxy) string {
	if p == nil || !p.Enabled {
		return ""
	}
	if p.UseModule {
		return "enabled (module base URL)"
	}
	return "enabled"
}

func readList(r *Read) []*ReadObject {
	if r == nil {
		return nil
	}
	return r.Objects
}

// named is an action's object entry: read, write and subscribe objects.
type named interface {
	*ReadObject | *WriteObject | *SubscribeObject
}

// find returns the entry of list for object name, ignoring case, or nil.
func find[T named](list []T, name string) T {
	for _, x := range list {
		if x != nil && strings.EqualFold(objectNameOf(x), name) {
			return x
		}
	}
	var zero T
	return zero
}

func objectNameOf[T named](x T) string {
	switch v := any(x).(type) {
	case *ReadObject:
		return v.ObjectName
	case *WriteObject:
		return v.ObjectName
	case *SubscribeObject:
		return v.ObjectName
	}
	return ""
}

func (d *differ) readObjects(in string, o, n *Read) {
	olds, news := readList(o), readList(n)
	for _, x := range olds {
		if x != nil && find(news, x.ObjectName) == nil {
			d.add(Change{Kind: ChangeRemoved, Subject: "object", Integration: in, Action: "read", Object: x.ObjectName, Breaking: true,
				Summary: fmt.Sprintf("read object %s removed: installations stop receiving %s records", x.ObjectName, x.DeliveredName())})
		}
	}
	for _, nx := range news {
		if nx == nil {
			continue
		}
		ox := find(olds, nx.ObjectName)
		if ox == nil {
			d.add(Change{Kind: ChangeAdded, Subject: "object", Integration: in, Action: "read", Object: nx.ObjectName,
				Breaking: nx.Enabled != "always" && hasCustomerMapped(nx),
				Summary:  fmt.Sprintf("read object %s added", nx.ObjectName)})
			continue
		}
		obj := nx.ObjectName
		if ox.Schedule != "" && nx.Schedule == "" {
			d.add(Change{Kind: ChangeRemoved, Subject: "schedule", Integration: in, Action: "read", Object: obj, Old: ox.Schedule, Breaking: true,
				Summary: fmt.Sprintf("read %s: schedule %q removed: installations get no more scheduled reads, only triggered ones", obj, ox.Schedule)})
		} else {
			d.setting(in, "read", obj, "schedule", ox.Schedule, nx.Schedule, false)
		}
		d.setting(in, "read", obj, "destination", ox.Destination, nx.Destination, false)
		if ox.DeliveredName() != nx.DeliveredName() {
			d.add(Change{Kind: ChangeChanged, Subject: "mapping", Integration: in, Action: "read", Object: obj, Old: ox.DeliveredName(), New: nx.DeliveredName(), Breaking: true,
				Summary: fmt.Sprintf("read %s: records are now delivered as %s (were %s)", obj, nx.DeliveredName(), ox.DeliveredName())})
		}
		d.setting(in, "read", obj, "mapToDisplayName", ox.MapToDisplayName, nx.MapToDisplayName, false)
		d.setting(in, "read", obj, "backfill", backfillText(ox.Backfill), backfillText(nx.Backfill), false)
		d.setting(in, "read", obj, "optionalFieldsAuto", ox.OptionalFieldsAuto, nx.OptionalFieldsAuto, false)
		d.setting(in, "read", obj, "enabled", ox.Enabled, nx.Enabled, false)
		d.setting(in, "read", obj, "deletes", string(ox.DeletesMode()), string(nx.DeletesMode()), false)
		d.fields(in, obj, ox, nx)
	}
}

func hasCustomerMapped(o *ReadObject) bool {
	return slices.ContainsFunc(o.RequiredFields, func(f *Field) bool { return f != nil && f.CustomerMapped() })
}

func backfillText(b *Backfill) string {
	if b == nil || b.DefaultPeriod == nil {
		return ""
	}
	if b.DefaultPeriod.FullHistory {
		return "full history"
	}
	if b.DefaultPeriod.Days != nil {
		return fmt.Sprintf("%d days", *b.DefaultPeriod.Days)
	}
	return ""
}

type fieldEntry struct {
	f        *Field
	required bool
}

func fieldIndex(o *ReadObject) (map[string]fieldEntry, []string) {
	idx := map[string]fieldEntry{}
	var order []string
	for _, list := range []struct {
		fields   []*Field
		required bool
	}{{o.RequiredFields, true}, {o.OptionalFields, false}} {
		for _, f := range list.fields {
			if f == nil || f.DeliveredName() == "" {
				continue
			}
			key := strings.ToLower(f.DeliveredName())
			if _, dup := idx[key]; !dup {
				order = append(order, key)
			}
			idx[key] = fieldEntry{f, list.required}
		}
	}
	return idx, order
}

// fields compares fields by the name they are delivered under, so a field
// whose source changes is one change, not a removal and an addition.
func (d *differ) fields(in, obj string, o, n *ReadObject) {
	oldIdx, oldOrder := fieldIndex(o)
	newIdx, newOrder := fieldIndex(n)
	for _, k := range oldOrder {
		of := oldIdx[k]
		if _, ok := newIdx[k]; !ok {
			kind := "optional"
			if of.required {
				kind = "required"
			}
			d.add(Change{Kind: ChangeRemoved, Subject: "field", Integration: in, Action: "read", Object: obj, Field: of.f.DeliveredName(), Breaking: of.required,
				Summary: fmt.Sprintf("read %s: %s field %s removed", obj, kind, of.f.DeliveredName())})
		}
	}
	for _, k := range newOrder {
		nf := newIdx[k]
		of, ok := oldIdx[k]
		name := nf.f.DeliveredName()
		if !ok {
			kind := "optional"
			if nf.required {
				kind = "required"
			}
			breaking := nf.required && nf.f.CustomerMapped()
			summary := fmt.Sprintf("read %s: %s field %s added", obj, kind, name)
			if breaking {
				summary += " (customer-mapped: existing installations must map it)"
			}
			d.add(Change{Kind: ChangeAdded, Subject: "field", Integration: in, Action: "read", Object: obj, Field: name, Breaking: breaking, Summary: summary})
			continue
		}
		switch {
		case of.f.CustomerMapped() && nf.f.CustomerMapped():
			if of.f.Default != nf.f.Default {
				d.add(Change{Kind: ChangeChanged, Subject: "mapping", Integration: in, Action: "read", Object: obj, Field: name, Old: of.f.Default, New: nf.f.Default,
					Summary: fmt.Sprintf("read %s: %s: suggested field %s -> %s (new installations only)", obj, name, quoteOr(of.f.Default), quoteOr(nf.f.Default))})
			}
		case !of.f.CustomerMapped() && nf.f.CustomerMapped():
			d.add(Change{Kind: ChangeChanged, Subject: "mapping", Integration: in, Action: "read", Object: obj, Field: name, Old: of.f.FieldName, New: "customer-mapped",
				Breaking: nf.required,
				Summary:  fmt.Sprintf("read %s: %s is now mapped by each customer (was %s): existing installations must map it", obj, name, of.f.FieldName)})
		case of.f.CustomerMapped() && !nf.f.CustomerMapped():
			d.add(Change{Kind: ChangeChanged, Subject: "mapping", Integration: in, Action: "read", Object: obj, Field: name, Old: "customer-mapped", New: nf.f.FieldName,
				Summary: fmt.Sprintf("read %s: %s now always comes from %s (was mapped by each customer; their choices are dropped)", obj, name, nf.f.FieldName)})
		case of.f.FieldName != nf.f.FieldName:
			d.add(Change{Kind: ChangeChanged, Subject: "mapping", Integration: in, Action: "read", Object: obj, Field: name, Old: of.f.FieldName, New: nf.f.FieldName,
				Summary: fmt.Sprintf("read %s: %s now comes from %s (was %s)", obj, name, nf.f.FieldName, of.f.FieldName)})
		}
		d.setting(in, "read", obj+" field "+name, "mapToDisplayName", of.f.MapToDisplayName, nf.f.MapToDisplayName, false)
		d.setting(in, "read", obj+" field "+name, "prompt", of.f.Prompt, nf.f.Prompt, false)
		if of.required != nf.required {
			summary := fmt.Sprintf("read %s: field %s is now optional", obj, name)
			if nf.required {
				summary = fmt.Sprintf("read %s: field %s is now required", obj, name)
			}
			d.add(Change{Kind: ChangeChanged, Subject: "field", Integration: in, Action: "read", Object: obj, Field: name, Summary: summary,
				Breaking: nf.required && nf.f.CustomerMapped()})
		}
	}
}

func (d *differ) writeObjects(in string, o, n *Write) {
	var olds, news []*WriteObject
	if o != nil {
		olds = o.Objects
	}
	if n != nil {
		news = n.Objects
	}
	for _, x := range olds {
		if x != nil && find(news, x.ObjectName) == nil {
			d.add(Change{Kind: ChangeRemoved, Subject: "object", Integration: in, Action: "write", Object: x.ObjectName, Breaking: true,
				Summary: fmt.Sprintf("write object %s removed: writes to it will be refused", x.ObjectName)})
		}
	}
	for _, nx := range news {
		if nx == nil {
			continue
		}
		ox := find(olds, nx.ObjectName)
		if ox == nil {
			d.add(Change{Kind: ChangeAdded, Subject: "object", Integration: in, Action: "write", Object: nx.ObjectName, Summary: fmt.Sprintf("write object %s added", nx.ObjectName)})
			continue
		}
		d.setting(in, "write", nx.ObjectName, "inheritMapping", fmt.Sprint(ox.InheritMapping), fmt.Sprint(nx.InheritMapping), false)
		d.setting(in, "write", nx.ObjectName, "upsertKey", ox.UpsertKey, nx.UpsertKey, false)
		d.setting(in, "write", nx.ObjectName, "valueDefaults.allowAnyFields", fmt.Sprint(allowAny(ox)), fmt.Sprint(allowAny(nx)), allowAny(ox) && !allowAny(nx))
	}
}

func allowAny(o *WriteObject) bool { return o.ValueDefaults != nil && o.ValueDefaults.AllowAnyFields }

func (d *differ) subscribeObjects(in string, o, n *Subscribe) {
	var olds, news []*SubscribeObject
	if o != nil {
		olds = o.Objects
	}
	if n != nil {
		news = n.Objects
	}
	for _, x := range olds {
		if x != nil && find(news, x.ObjectName) == nil {
			d.add(Change{Kind: ChangeRemoved, Subject: "object", Integration: in, Action: "subscribe", Object: x.ObjectName, Breaking: true,
				Summary: fmt.Sprintf("subscribe object %s removed: its events stop", x.ObjectName)})
		}
	}
	for _, x := range news {
		if x == nil {
			continue
		}
		if find(olds, x.ObjectName) == nil {
			d.add(Change{Kind: ChangeAdded, Subject: "object", Integration: in, Action: "subscribe", Object: x.ObjectName, Summary: fmt.Sprintf("subscribe object %s added", x.ObjectName)})
			continue
		}
		for _, ox := range olds {
			if ox != nil && strings.EqualFold(ox.ObjectName, x.ObjectName) {
				obj := x.ObjectName
				d.setting(in, "subscribe", obj, "destination", ox.Destination, x.Destination, false)
				// Events turned off or narrowed stop reaching the builder for
				// every installation: those changes are breaking.
				for _, e := range []struct {
					name     string
					old, new string
					narrowed bool
				}{
					{"createEvent", eventState(ox.CreateEvent), eventState(x.CreateEvent), false},
					{"updateEvent", updateState(ox.UpdateEvent), updateState(x.UpdateEvent), updateNarrowed(ox.UpdateEvent, x.UpdateEvent)},
					{"deleteEvent", eventState(ox.DeleteEvent), eventState(x.DeleteEvent), false},
					{"associationChangeEvent", assocState(ox.AssociationChangeEvent), assocState(x.AssociationChangeEvent), false},
					{"otherEvents", strings.Join(ox.OtherEvents, ", "), strings.Join(x.OtherEvents, ", "), !containsAll(x.OtherEvents, ox.OtherEvents)},
				} {
					d.setting(in, "subscribe", obj, e.name, e.old, e.new, e.old != "" && (e.new == "" || e.narrowed))
				}
				break
			}
		}
	}
}

// updateNarrowed reports whether update events now watch fewer fields.
func updateNarrowed(o, n *UpdateEvent) bool {
	if o == nil || n == nil || o.Enabled == "" || n.Enabled == "" {
		return false
	}
	if n.WatchFieldsAuto == "all" {
		return false
	}
	if o.WatchFieldsAuto != "" && o.WatchFieldsAuto != n.WatchFieldsAuto {
		return true
	}
	return !containsAll(n.RequiredWatchFields, o.RequiredWatchFields)
}

// containsAll reports whether have holds every element of want, ignoring case.
func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

func eventState(e *Event) string {
	if e == nil || e.Enabled == "" {
		return ""
	}
	return e.Enabled
}

func assocState(e *AssocEvent) string {
	if e == nil || e.Enabled == "" {
		return ""
	}
	if e.IncludeFullRecords {
		return e.Enabled + " with full records"
	}
	return e.Enabled
}

func updateState(e *UpdateEvent) string {
	if e == nil || e.Enabled == "" {
		return ""
	}
	switch {
	case e.WatchFieldsAuto != "":
		return e.Enabled + ", watching " + e.WatchFieldsAuto + " fields"
	case len(e.RequiredWatchFields) > 0:
		return e.Enabled + ", watching " + strings.Join(e.RequiredWatchFields, ", ")
	}
	return e.Enabled
}

// scopes reports scopes that integration in newly needs (breaking: every
// customer must re-consent) or no longer needs.
func (d *differ) scopes(in string) {
	for _, ns := range d.newScopes {
		if ns.Integration != in {
			continue
		}
		var prev []string
		for _, os := range d.oldScopes {
			if os.Integration == ns.Integration {
				prev = os.Names()
			}
		}
		for _, sc := range ns.Scopes {
			if !slices.Contains(prev, sc.Name) {
				d.add(Change{Kind: ChangeAdded, Subject: "scope", Integration: ns.Integration, New: sc.Name, Breaking: true,
					Summary: fmt.Sprintf("scope %s added (%s): every connected customer must re-consent", sc.Name, strings.Join(sc.Reasons, "; "))})
			}
		}
		for _, name := range prev {
			if !slices.Contains(ns.Names(), name) {
				d.add(Change{Kind: ChangeRemoved, Subject: "scope", Integration: ns.Integration, Old: name, Summary: fmt.Sprintf("scope %s no longer needed", name)})
			}
		}
	}
}

// DiffFormats lists the output formats of `amp diff`.
var DiffFormats = []string{"text", "markdown", "json"}

// WriteDiff prints changes as text, markdown (a pull-request comment) or json.
func WriteDiff(w io.Writer, format, oldName, newName string, changes []Change) error {
	breaking := 0
	for _, c := range changes {
		if c.Breaking {
			breaking++
		}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if changes == nil {
			changes = []Change{}
		}
		return enc.Encode(struct {
			FormatVersion string   `json:"format_version"`
			Old           string   `json:"old"`
			New           string   `json:"new"`
			Breaking      int      `json:"breaking_count"`
			Changes       []Change `json:"changes"`
		}{JSONFormatVersion, oldName, newName, breaking, changes})
	case "markdown":
		var b strings.Builder
		fmt.Fprintf(&b, "### amp diff: %s\n\n", countLine(len(changes), breaking))
		if len(changes) == 0 {
			b.WriteString("No semantic changes.\n")
		} else {
			b.WriteString("| | Integration | Change |\n|---|---|---|\n")
			for _, c := range changes {
				mark := map[ChangeKind]string{ChangeAdded: "➕", ChangeRemoved: "➖", ChangeChanged: "✏️"}[c.Kind]
				if c.Breaking {
					mark += " ⚠️ **breaking**"
				}
				fmt.Fprintf(&b, "| %s | `%s` | %s |\n", mark, c.Integration, strings.ReplaceAll(c.Summary, "|", "\\|"))
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	case "text", "":
		var b strings.Builder
		fmt.Fprintf(&b, "%s -> %s: %s\n", oldName, newName, countLine(len(changes), breaking))
		current := "\x00"
		for _, c := range changes {
			if c.Integration != current {
				current = c.Integration
				fmt.Fprintf(&b, "integration %s\n", current)
			}
			mark := map[ChangeKind]string{ChangeAdded: "+", ChangeRemoved: "-", ChangeChanged: "~"}[c.Kind]
			line := fmt.Sprintf("  %s %s", mark, c.Summary)
			if c.Breaking {
				line += "  [breaking]"
			}
			b.WriteString(line + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(DiffFormats, ", "))
}

func countLine(n, breaking int) string {
	if n == 0 {
		return "no changes"
	}
	return fmt.Sprintf("%s, %d breaking", plural(n, "change"), breaking)
}
