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
	"github.com/ampforge/amp/providers/internal/jsonw"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// appendString writes s as a JSON string.
func appendString(b *bytes.Buffer, s string) {
	b.Write(jsonw.AppendString(b.AvailableBuffer(), s))
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
	res := apply()
	if res.status < 400 {
		o.usage.add(1)
	}
	return res
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
	if k != nil && k.altName != "" {
		// Dataverse names a row addressed by alternate key the way the
		// request did.
		entityURL = func(string) string { return base + APIPath + o.path }
	}
	written := func(rec fakekit.Record, status int) result {
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
		h.Set("ETag", fmt.Sprintf(`W/"%d"`, etag(&rec)))
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
			return written(rec, http.StatusCreated)
		}, nil
	case http.MethodPatch:
		// PATCH is an upsert: it updates the row the key names, or creates
		// it when there is none. If-Match: * prevents the create (404),
		// If-None-Match: * prevents the update (412), and If-Match with an
		// ETag applies optimistic concurrency (412 on a stale version).
		if k == nil {
			return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "PATCH needs a record key."))
		}
		if k.altName != "" && k.altName != t.altKey {
			return nil, ptr(errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("The key '%s' is not defined as an alternate key for entity %s.", k.altName, t.logical)))
		}
		existing, miss := s.lookup(t, k)
		ifMatch, ifNoneMatch := strings.TrimSpace(o.header.Get("If-Match")), strings.TrimSpace(o.header.Get("If-None-Match"))
		switch {
		case existing == nil && ifMatch != "":
			return nil, miss
		case existing != nil && ifNoneMatch == "*":
			return nil, ptr(errResult(http.StatusPreconditionFailed, CodeDuplicateRecord, "A record with matching key values already exists."))
		case existing != nil && !etagMatches(ifMatch, existing):
			return nil, ptr(errResult(http.StatusPreconditionFailed, CodeVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided."))
		}
		fields, res := t.parseBody(o.body, existing == nil)
		if res != nil {
			return nil, res
		}
		if existing == nil {
			forced := k.id
			if forced != "" {
				if bad := s.refuseChosenID(t, forced); bad != nil {
					return nil, bad
				}
			} else if _, ok := fields[k.altName]; !ok {
				// The key values of the URL fill in what the body lacks.
				fields[k.altName] = k.altValue
			}
			return func() result {
				t.defaults(fields)
				s.alignWrite()
				rec, err := s.createAs(t, forced, fields)
				if err != nil {
					return errResult(http.StatusInternalServerError, "0x80040216", err.Error())
				}
				return written(rec, http.StatusCreated)
			}, nil
		}
		if k.altName != "" {
			// An update by alternate key cannot change that key.
			delete(fields, k.altName)
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
				return errResult(http.StatusNotFound, CodeNotFound, fmt.Sprintf("%s With Id = %s Does Not Exist", t.logical, id))
			}
			return written(rec, http.StatusOK)
		}, nil
	case http.MethodDelete:
		if k == nil {
			return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "DELETE needs a record key."))
		}
		rec, miss := s.lookup(t, k)
		if miss != nil {
			return nil, miss
		}
		if !etagMatches(strings.TrimSpace(o.header.Get("If-Match")), rec) {
			return nil, ptr(errResult(http.StatusPreconditionFailed, CodeVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided."))
		}
		return func() result {
			s.alignWrite()
			if _, err := s.kit.Store.Delete(t.set, rec.ID); err != nil {
				return errResult(http.StatusNotFound, CodeNotFound, fmt.Sprintf("%s With Id = %s Does Not Exist", t.logical, rec.ID))
			}
			return result{status: http.StatusNoContent, header: http.Header{}}
		}, nil
	}
	return nil, ptr(errResult(http.StatusMethodNotAllowed, "0x80060888", "The HTTP verb "+o.method+" is not supported."))
}

func ptr(r result) *result { return &r }

// Write error codes.
const (
	CodeNotFound        = "0x80040217" // ObjectDoesNotExist
	CodeDuplicateRecord = "0x80040237" // DuplicateRecord: If-None-Match: * on an existing row
	CodeVersionMismatch = "0x80060882" // ConcurrencyVersionMismatch: stale If-Match ETag
)

// etagMatches applies an If-Match header to a row: empty and * match any
// row; otherwise one of the listed ETags (W/"n", or "n") must be the
// row's.
func etagMatches(ifMatch string, rec *fakekit.Record) bool {
	if ifMatch == "" {
		return true
	}
	want := strconv.FormatInt(etag(rec), 10)
	for tag := range strings.SplitSeq(ifMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == `"`+want+`"` {
			return true
		}
	}
	return false
}

// refuseChosenID checks an id a client chose for a new row (PATCH-upsert
// by primary key). Dataverse takes any GUID; the fake refuses, with a
// message saying so, the two it cannot honour: the id of a deleted row
// (its store cannot bring an id back) and ids shaped like the ones it
// generates itself (5eed0d75-…-a000-… and -b000-…), which would collide.
func (s *Server) refuseChosenID(t *table, id string) *result {
	if rec, ok := s.kit.Store.Get(t.set, id); ok && rec.Deleted {
		return ptr(errResult(http.StatusBadRequest, "0x80040216", fmt.Sprintf("The fake cannot re-create the deleted %s %s under the same id (Dataverse would); upsert it under a new id.", t.logical, id)))
	}
	_, seeded := t.index(id)
	_, generated := t.seq(id)
	if seeded || generated {
		return ptr(errResult(http.StatusBadRequest, "0x80040216", fmt.Sprintf("The fake reserves ids shaped like %s for the rows it generates; choose another GUID.", id)))
	}
	return nil
}

// createAs creates a row, under id when it is not empty. Callers hold
// writeMu.
func (s *Server) createAs(t *table, id string, fields map[string]any) (fakekit.Record, error) {
	if id != "" {
		t.force(id)
		defer t.force("")
	}
	return s.kit.Store.Create(t.set, fields)
}

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
