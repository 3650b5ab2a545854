package mapping

import (
	"encoding/json"

	"github.com/ampforge/amp/providers"
)

// Entry is one result[] entry of a webhook message (Ampersand's
// ResultEntry), ready for encoding/json. Deleted is amp's extension.
//
// Its maps may share values (nested objects, arrays) with the record it was
// built from, and Raw is the record's Raw: do not modify the record while
// the entry is in use.
type Entry struct {
	// Fields holds the unmapped fields under lower-case keys, and id.
	Fields map[string]any `json:"fields"`
	// MappedFields holds mapped name -> value; nil (left out) when the
	// plan maps no field.
	MappedFields map[string]any `json:"mappedFields,omitzero"`
	// Raw is the record as the provider sent it.
	Raw json.RawMessage `json:"raw,omitempty"`
	ID  string          `json:"id"`
	// Deleted marks a tombstone: a record the provider reports as deleted.
	Deleted bool `json:"deleted,omitempty"`
}

// Apply maps rec. A deleted record becomes a tombstone: id, raw, fields
// {id} and deleted: true. Apply does not modify rec.
func (p *Plan) Apply(rec *providers.Record) Entry {
	e := Entry{ID: rec.ID, Raw: rec.Raw}
	if len(e.Raw) == 0 {
		e.Raw = nil
	}
	if rec.Deleted {
		e.Fields = map[string]any{"id": idValue(rec)}
		e.Deleted = true
		return e
	}
	var fields map[string]any
	if p.all {
		fields = make(map[string]any, len(rec.Fields)+1)
		for k, v := range rec.Fields {
			if _, skip := p.exclude[k]; skip {
				continue
			}
			if p.fieldInv != nil {
				v = mapValue(p.fieldInv[k], v)
			}
			fields[k] = v
		}
	} else {
		fields = make(map[string]any, p.fieldsHint)
		for i := range p.plain {
			o := &p.plain[i]
			if v, ok := rec.Fields[o.dst[0]]; ok {
				fields[o.dst[0]] = mapValue(o.inv, v)
			}
		}
	}
	for i := range p.nested {
		o := &p.nested[i]
		if v, ok := o.src.get(rec.Fields); ok {
			setPath(fields, o.dst, mapValue(o.inv, v))
		}
	}
	fields["id"] = idValue(rec)
	e.Fields = fields
	if len(p.mapped) == 0 {
		return e
	}
	mapped := make(map[string]any, p.mappedHint)
	for i := range p.mapped {
		o := &p.mapped[i]
		var v any
		var ok bool
		if len(o.src) == 1 {
			v, ok = rec.Fields[o.src[0].name]
		} else {
			v, ok = o.src.get(rec.Fields)
		}
		if !ok {
			continue
		}
		v = mapValue(o.inv, v)
		if len(o.dst) == 1 {
			mapped[o.dst[0]] = v
		} else {
			setPath(mapped, o.dst, v)
		}
	}
	e.MappedFields = mapped
	return e
}

// idValue returns the record's id as a field value, reusing the record's
// own boxed id when it holds the same string (no allocation).
func idValue(rec *providers.Record) any {
	if v, ok := rec.Fields["id"]; ok {
		if s, ok := v.(string); ok && (s == rec.ID || rec.ID == "") {
			return v
		}
	}
	return rec.ID
}

// mapValue returns the delivered value of the provider value v under the
// inverted value mapping inv.
func mapValue(inv map[string]any, v any) any {
	if inv == nil {
		return v
	}
	if s, ok := v.(string); ok {
		if d, ok := inv[s]; ok {
			return d
		}
	}
	return v
}
