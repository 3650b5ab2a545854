package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/ampforge/amp/providers/fakekit"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// appendString writes s as a JSON string.
func appendString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// appendValue writes a JSON value.
func appendValue(b *bytes.Buffer, v any) {
	var scratch [32]byte
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		appendString(b, x)
	case bool:
		b.Write(strconv.AppendBool(scratch[:0], x))
	case int:
		b.Write(strconv.AppendInt(scratch[:0], int64(x), 10))
	case int64:
		b.Write(strconv.AppendInt(scratch[:0], x, 10))
	case float64:
		b.Write(strconv.AppendFloat(scratch[:0], x, 'f', -1, 64))
	default:
		j, err := json.Marshal(x)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(j)
	}
}

// execWrite runs one write (POST, PATCH, DELETE) outside a change set.
func (s *Server) execWrite(base string, o op) result {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	apply, fail := s.prepare(base, o)
	if fail != nil {
		return *fail
	}
	return apply()
}

// prepare validates a write and returns the function that applies it.
// Callers hold writeMu between prepare and apply, so a change set can
// validate every operation before applying any (all or none).
func (s *Server) prepare(base string, o op) (func() result, *result) {
	t, k, bad := s.parsePath(o.path)
	if bad != nil {
		return nil, bad
	}
	pref := parsePrefer(o.header)
	entityURL := func(id string) string { return base + APIPath + t.set + "(" + id + ")" }
	created := func(rec fakekit.Record, status int) result {
		h := http.Header{"Odata-Entityid": {entityURL(rec.ID)}, "Location": {entityURL(rec.ID)}}
		if !pref.representation {
			return result{status: http.StatusNoContent, header: h}
		}
		q, _ := url.ParseQuery(o.rawQuery)
		sel, res := t.parseSelect(q.Get("$select"))
		if res != nil {
			return *res
		}
		var b bytes.Buffer
		b.WriteString(`{"@odata.context":`)
		appendString(&b, base+APIPath+"$metadata#"+t.set+contextSelect(sel)+"/$entity")
		b.WriteByte(',')
		appendRecordBody(&b, t, &rec, sel.cols, pref.annotations)
		b.WriteByte('}')
		h.Set("Content-Type", "application/json; odata.metadata=minimal")
		h.Set("Preference-Applied", "return=representation")
		return result{status: status, header: h, body: b.Bytes()}
	}
	switch o.method {
	case http.MethodPost:
		if k != nil {
			return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "POST is not allowed on a single record; use PATCH."))
		}
		fields, res := t.parseBody(o.body, true)
		if res != nil {
			return nil, res
		}
		return func() result {
			t.defaults(fields)
			s.alignWrite()
			rec, err := s.kit.Store.Create(t.set, fields)
			if err != nil {
				return errResult(http.StatusInternalServerError, "0x80040216", err.Error())
			}
			return created(rec, http.StatusCreated)
		}, nil
	case http.MethodPatch:
		if k == nil {
			return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "PATCH needs a record key."))
		}
		fields, res := t.parseBody(o.body, false)
		if res != nil {
			return nil, res
		}
		var existing *fakekit.Record
		if k.altName != "" && k.altName != t.altKey {
			return nil, ptr(errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("The key '%s' is not defined as an alternate key for entity %s.", k.altName, t.logical)))
		}
		if rec, miss := s.lookup(t, k); miss == nil {
			existing = rec
		}
		ifMatch, ifNoneMatch := o.header.Get("If-Match"), o.header.Get("If-None-Match")
		switch {
		case existing != nil && ifNoneMatch == "*":
			return nil, ptr(errResult(http.StatusPreconditionFailed, "0x80040237", "A record with matching key values already exists."))
		case existing != nil && ifMatch != "" && ifMatch != "*" && ifMatch != fmt.Sprintf(`W/"%d"`, etag(existing)):
			return nil, ptr(errResult(http.StatusPreconditionFailed, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."))
		case existing == nil && ifMatch != "":
			_, miss := s.lookup(t, k)
			return nil, miss
		case existing == nil && k.id != "":
			// Dataverse would create the row with this id; the fake's
			// store chooses ids itself.
			return nil, ptr(errResult(http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Id = %s Does Not Exist (the fake cannot create records with client-chosen ids)", t.logical, k.id)))
		}
		if existing == nil {
			fields[k.altName] = k.altValue
			return func() result {
				t.defaults(fields)
				s.alignWrite()
				rec, err := s.kit.Store.Create(t.set, fields)
				if err != nil {
					return errResult(http.StatusInternalServerError, "0x80040216", err.Error())
				}
				return created(rec, http.StatusCreated)
			}, nil
		}
		id := existing.ID
		return func() result {
			if t.computeName {
				merged := existing.Fields
				if merged == nil {
					merged = map[string]any{}
				}
				for k, v := range fields {
					merged[k] = v
				}
				if _, ok := fields["firstname"]; ok {
					fields["fullname"] = fullName(merged)
				} else if _, ok := fields["lastname"]; ok {
					fields["fullname"] = fullName(merged)
				}
			}
			s.alignWrite()
			rec, err := s.kit.Store.Update(t.set, id, fields)
			if err != nil {
				return errResult(http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Id = %s Does Not Exist", t.logical, id))
			}
			return created(rec, http.StatusOK)
		}, nil
	case http.MethodDelete:
		if k == nil {
			return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "DELETE needs a record key."))
		}
		rec, miss := s.lookup(t, k)
		if miss != nil {
			return nil, miss
		}
		return func() result {
			s.alignWrite()
			if _, err := s.kit.Store.Delete(t.set, rec.ID); err != nil {
				return errResult(http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Id = %s Does Not Exist", t.logical, rec.ID))
			}
			return result{status: http.StatusNoContent, header: http.Header{}}
		}, nil
	}
	return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "The HTTP verb "+o.method+" is not supported."))
}

func ptr(r result) *result { return &r }

// parseBody decodes and validates a create or update body.
func (t *table) parseBody(body []byte, create bool) (map[string]any, *result) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return nil, ptr(errResult(http.StatusBadRequest, "0x80048d19", "Error identified in Payload provided by the user for Entity :'"+t.set+"', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: The request body is not a JSON object."))
	}
	fields := make(map[string]any, len(in))
	for name, v := range in {
		if strings.HasPrefix(name, "@") {
			continue // @odata.type and other annotations
		}
		if nav, ok := strings.CutSuffix(name, "@odata.bind"); ok {
			ref, _ := v.(string)
			id := ref[strings.LastIndexByte(ref, '(')+1:]
			id = strings.TrimSuffix(id, ")")
			colName := nav
			if t.column(colName) == nil {
				if i := strings.LastIndexByte(nav, '_'); i > 0 {
					colName = nav[:i]
				}
			}
			if c := t.column(colName); c == nil || !isLookup(c) || len(id) != 36 {
				return nil, ptr(errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload.", nav)))
			}
			fields[colName] = strings.ToLower(id)
			continue
		}
		c := t.column(name)
		if c == nil || c.attrType == "Virtual" {
			return nil, ptr(errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.%s'. Make sure to only use property names that are defined by the type.", name, t.logical)))
		}
		if isLookup(c) {
			return nil, ptr(errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("Cannot set the lookup property '%s' directly; bind it with '%s@odata.bind'.", name, name)))
		}
		if (create && !c.create) || (!create && !c.update) {
			continue // Dataverse ignores columns that are not valid for the operation
		}
		if v != nil && jsonKind(v) != c.jsonKind() {
			return nil, ptr(errResult(http.StatusBadRequest, "0x80048d19", fmt.Sprintf("Error identified in Payload provided by the user for Entity :'%s', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: Cannot convert the literal '%v' to the expected type '%s'.", t.set, v, edmType(c))))
		}
		if len(c.options) > 0 && v != nil {
			if _, ok := c.label(v); !ok {
				return nil, ptr(errResult(http.StatusBadRequest, "0x8004431a", fmt.Sprintf("A validation error occurred.  The value %v of '%s' on record of type '%s' is outside the valid range.", v, c.name, t.logical)))
			}
		}
		fields[name] = v
	}
	return fields, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case float64, int, int64:
		return "number"
	case bool:
		return "boolean"
	case string:
		return "string"
	}
	return "other"
}

func edmType(c *column) string {
	switch c.jsonKind() {
	case "number":
		if c.attrType == "Money" || c.attrType == "Decimal" {
			return "Edm.Decimal"
		}
		return "Edm.Int32"
	case "boolean":
		return "Edm.Boolean"
	}
	return "Edm.String"
}

// defaults fills what Dataverse sets on create.
func (t *table) defaults(fields map[string]any) {
	if _, ok := fields["statecode"]; !ok {
		fields["statecode"] = 0
	}
	if _, ok := fields["statuscode"]; !ok {
		fields["statuscode"] = 1
	}
	if t.computeName {
		fields["fullname"] = fullName(fields)
	}
}

func fullName(f map[string]any) string {
	first, _ := f["firstname"].(string)
	last, _ := f["lastname"].(string)
	return strings.TrimSpace(first + " " + last)
}
