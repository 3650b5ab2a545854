package manifest

import (
	"encoding/json"
	"strconv"
)

// decodeManifest builds the typed model from the value the schema checked.
// It is lenient the way the schema is strict: a value of the wrong type is
// left zero (the schema reports it), and list items keep their index, so
// the typed model, the positions and the findings always agree. It does by
// hand what yaml's reflection would, at a fraction of the cost.
func decodeManifest(v any) *Manifest {
	m := obj(v)
	out := &Manifest{SpecVersion: str(m, "specVersion")}
	for _, iv := range list(m, "integrations") {
		out.Integrations = append(out.Integrations, decodeIntegration(obj(iv)))
	}
	return out
}

func decodeIntegration(m map[string]any) *Integration {
	if m == nil {
		return nil
	}
	in := &Integration{
		Name:        str(m, "name"),
		DisplayName: str(m, "displayName"),
		Provider:    str(m, "provider"),
		Module:      str(m, "module"),
	}
	if r := obj(m["read"]); r != nil {
		in.Read = &Read{}
		for _, o := range list(r, "objects") {
			in.Read.Objects = append(in.Read.Objects, decodeReadObject(obj(o)))
		}
	}
	if w := obj(m["write"]); w != nil {
		in.Write = &Write{}
		for _, o := range list(w, "objects") {
			in.Write.Objects = append(in.Write.Objects, decodeWriteObject(obj(o)))
		}
	}
	if p := obj(m["proxy"]); p != nil {
		in.Proxy = &Proxy{Enabled: boolean(p, "enabled"), UseModule: boolean(p, "useModule")}
	}
	if s := obj(m["subscribe"]); s != nil {
		in.Subscribe = &Subscribe{}
		for _, o := range list(s, "objects") {
			in.Subscribe.Objects = append(in.Subscribe.Objects, decodeSubscribeObject(obj(o)))
		}
	}
	if ws := obj(m["watchSchema"]); ws != nil {
		in.WatchSchema = &WatchSchema{Destination: str(ws, "destination"), Schedule: str(ws, "schedule")}
		if all := obj(ws["allObjects"]); all != nil {
			in.WatchSchema.AllObjects = &WatchAllObjects{
				FieldCreated: decodeEvent(all["fieldCreated"]),
				FieldDeleted: decodeEvent(all["fieldDeleted"]),
				FieldChanged: decodeEvent(all["fieldChanged"]),
			}
		}
	}
	return in
}

func decodeReadObject(m map[string]any) *ReadObject {
	if m == nil {
		return nil
	}
	o := &ReadObject{
		ObjectName:         str(m, "objectName"),
		Destination:        str(m, "destination"),
		Schedule:           str(m, "schedule"),
		MapToName:          str(m, "mapToName"),
		MapToDisplayName:   str(m, "mapToDisplayName"),
		RequiredFields:     decodeFields(list(m, "requiredFields")),
		OptionalFields:     decodeFields(list(m, "optionalFields")),
		OptionalFieldsAuto: str(m, "optionalFieldsAuto"),
		Enabled:            str(m, "enabled"),
		Deletes:            Deletes(str(m, "deletes")),
	}
	if b := obj(m["backfill"]); b != nil {
		o.Backfill = &Backfill{}
		if p := obj(b["defaultPeriod"]); p != nil {
			o.Backfill.DefaultPeriod = &Period{FullHistory: boolean(p, "fullHistory")}
			if d, ok := integer(p, "days"); ok {
				o.Backfill.DefaultPeriod.Days = &d
			}
		}
	}
	if d := obj(m["delivery"]); d != nil {
		size, _ := integer(d, "pageSize")
		o.Delivery = &Delivery{Mode: str(d, "mode"), PageSize: size}
	}
	return o
}

func decodeFields(items []any) []*Field {
	if items == nil {
		return nil
	}
	out := make([]*Field, len(items))
	for i, it := range items {
		if m := obj(it); m != nil {
			out[i] = &Field{
				FieldName:        str(m, "fieldName"),
				MapToName:        str(m, "mapToName"),
				MapToDisplayName: str(m, "mapToDisplayName"),
				Prompt:           str(m, "prompt"),
				Default:          str(m, "default"),
			}
		}
	}
	return out
}

func decodeWriteObject(m map[string]any) *WriteObject {
	if m == nil {
		return nil
	}
	o := &WriteObject{
		ObjectName:     str(m, "objectName"),
		InheritMapping: boolean(m, "inheritMapping"),
		UpsertKey:      str(m, "upsertKey"),
	}
	if vd := obj(m["valueDefaults"]); vd != nil {
		o.ValueDefaults = &ValueDefaults{AllowAnyFields: boolean(vd, "allowAnyFields")}
	}
	return o
}

func decodeSubscribeObject(m map[string]any) *SubscribeObject {
	if m == nil {
		return nil
	}
	o := &SubscribeObject{
		ObjectName:              str(m, "objectName"),
		Destination:             str(m, "destination"),
		InheritFieldsAndMapping: boolean(m, "inheritFieldsAndMapping"),
		CreateEvent:             decodeEvent(m["createEvent"]),
		DeleteEvent:             decodeEvent(m["deleteEvent"]),
		OtherEvents:             strs(list(m, "otherEvents")),
	}
	if u := obj(m["updateEvent"]); u != nil {
		o.UpdateEvent = &UpdateEvent{Enabled: str(u, "enabled"), WatchFieldsAuto: str(u, "watchFieldsAuto"), RequiredWatchFields: strs(list(u, "requiredWatchFields"))}
	}
	if a := obj(m["associationChangeEvent"]); a != nil {
		o.AssociationChangeEvent = &AssocEvent{Enabled: str(a, "enabled"), IncludeFullRecords: boolean(a, "includeFullRecords")}
	}
	return o
}

func decodeEvent(v any) *Event {
	m := obj(v)
	if m == nil {
		return nil
	}
	return &Event{Enabled: str(m, "enabled")}
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func strs(items []any) []string {
	var out []string
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func boolean(m map[string]any, key string) bool {
	b, _ := m[key].(bool)
	return b
}

func integer(m map[string]any, key string) (int, bool) {
	n, ok := m[key].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil
}
