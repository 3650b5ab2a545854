package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/ampforge/amp/providers/fakekit"
)

// saveError is one reason a record failed (statusCode, not errorCode).
type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// saveResult is one record's outcome.
type saveResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
	Created *bool       `json:"created,omitempty"`
}

func failed(code, msg string, fields ...string) saveResult {
	if fields == nil {
		fields = []string{}
	}
	return saveResult{Errors: []saveError{{StatusCode: code, Message: msg, Fields: fields}}}
}

var rolledBack = saveError{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
	Message: "Record rolled back because not all records were valid and the request was using AllOrNone header", Fields: []string{}}

// fieldsFor validates a record's fields for create (or update) and returns
// them under API names, or the failure.
func fieldsFor(o *objectDef, in map[string]any, create bool) (map[string]any, *saveResult) {
	out := make(map[string]any, len(in))
	var bad []string
	for k, v := range in {
		lk := strings.ToLower(k)
		if lk == "attributes" || (!create && lk == "id") {
			continue
		}
		f := o.field(k)
		if f == nil {
			r := failed("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.Name), k)
			return nil, &r
		}
		if (create && !f.Createable) || (!create && !f.Updateable) {
			bad = append(bad, f.Name)
			continue
		}
		if f.Type == "boolean" {
			if _, ok := v.(bool); !ok && v != nil {
				r := failed("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type: %v", f.Label, v), f.Name)
				return nil, &r
			}
		}
		out[f.Name] = v
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		r := failed("INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", strings.Join(bad, ", ")), bad...)
		return nil, &r
	}
	var missing []string
	for _, f := range o.Fields {
		if !f.Createable || f.Nillable || f.DefaultedOnCreate {
			continue
		}
		v, ok := out[f.Name]
		if create && (!ok || v == nil || v == "") || !create && ok && (v == nil || v == "") {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		r := failed("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+strings.Join(missing, ", ")+"]", missing...)
		return nil, &r
	}
	return out, nil
}

// collection is the body of a create, update or upsert collection.
type collection struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

func readCollection(w http.ResponseWriter, r *http.Request) (*collection, bool) {
	var c collection
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err == nil {
		err = json.Unmarshal(body, &c)
	}
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return nil, false
	}
	if len(c.Records) == 0 {
		writeErrors(w, http.StatusBadRequest, "REQUIRED_FIELD_MISSING", "At least 1 record is required")
		return nil, false
	}
	if len(c.Records) > 200 {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit exceeded: the limit is 200")
		return nil, false
	}
	return &c, true
}

func recordType(rec map[string]any) string {
	a, _ := rec["attributes"].(map[string]any)
	t, _ := a["type"].(string)
	return t
}

// apply runs one planned write per record: plan validates, do writes.
// With allOrNone, nothing is written unless every plan succeeds.
func apply(n int, allOrNone bool, plan func(i int) (func() saveResult, *saveResult)) []saveResult {
	out := make([]saveResult, n)
	dos := make([]func() saveResult, n)
	bad := false
	for i := range n {
		do, fail := plan(i)
		if fail != nil {
			out[i], bad = *fail, true
			continue
		}
		dos[i] = do
	}
	for i := range n {
		if dos[i] == nil {
			continue
		}
		if allOrNone && bad {
			out[i] = saveResult{Errors: []saveError{rolledBack}}
			continue
		}
		out[i] = dos[i]()
	}
	return out
}

func (s *Server) collectionCreate(w http.ResponseWriter, r *http.Request) {
	c, ok := readCollection(w, r)
	if !ok {
		return
	}
	st := s.records(r)
	writeJSON(w, http.StatusOK, apply(len(c.Records), c.AllOrNone, func(i int) (func() saveResult, *saveResult) {
		return s.planCreate(st, c.Records[i])
	}))
}

func (s *Server) planCreate(st records, rec map[string]any) (func() saveResult, *saveResult) {
	t := recordType(rec)
	o := s.object(t)
	if o == nil {
		f := failed("INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", t))
		return nil, &f
	}
	fields, fail := fieldsFor(o, rec, true)
	if fail != nil {
		return nil, fail
	}
	if _, ok := fields["OwnerId"]; !ok {
		fields["OwnerId"] = userID
	}
	return func() saveResult {
		created, err := st.Create(o.Name, fields)
		if err != nil {
			return failed("UNKNOWN_EXCEPTION", err.Error())
		}
		return saveResult{ID: created.ID, Success: true, Errors: []saveError{}}
	}, nil
}

// find locates a record by id across objects.
func (s *Server) find(st records, id string) (*objectDef, fakekit.Record, *saveResult) {
	if !validID(id) {
		f := failed("MALFORMED_ID", "malformed id "+id)
		return nil, fakekit.Record{}, &f
	}
	o := s.prefix[id[:3]]
	if o == nil {
		f := failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
		return nil, fakekit.Record{}, &f
	}
	rec, ok := st.Get(o.Name, id)
	if !ok {
		f := failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
		return nil, fakekit.Record{}, &f
	}
	if rec.Deleted {
		f := failed("ENTITY_IS_DELETED", "entity is deleted")
		return nil, fakekit.Record{}, &f
	}
	return o, rec, nil
}

func (s *Server) planUpdate(st records, rec map[string]any) (func() saveResult, *saveResult) {
	var id string
	for k, v := range rec {
		if strings.EqualFold(k, "id") {
			id, _ = v.(string)
		}
	}
	if id == "" {
		f := failed("MISSING_ARGUMENT", "Id not specified in an update call")
		return nil, &f
	}
	o, _, fail := s.find(st, id)
	if fail != nil {
		fail.ID = id
		return nil, fail
	}
	if t := recordType(rec); t != "" && !strings.EqualFold(t, o.Name) {
		f := failed("INVALID_TYPE", fmt.Sprintf("id %s is not of type %s", id, t))
		return nil, &f
	}
	fields, fail := fieldsFor(o, rec, false)
	if fail != nil {
		fail.ID = id
		return nil, fail
	}
	return func() saveResult {
		if _, err := st.Update(o.Name, id, fields); err != nil {
			return failed("ENTITY_IS_DELETED", "entity is deleted")
		}
		return saveResult{ID: id, Success: true, Errors: []saveError{}}
	}, nil
}

func (s *Server) collectionUpdate(w http.ResponseWriter, r *http.Request) {
	c, ok := readCollection(w, r)
	if !ok {
		return
	}
	st := s.records(r)
	writeJSON(w, http.StatusOK, apply(len(c.Records), c.AllOrNone, func(i int) (func() saveResult, *saveResult) {
		return s.planUpdate(st, c.Records[i])
	}))
}

// collectionUpsert upserts by an external-id field (or Id).
func (s *Server) collectionUpsert(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", r.PathValue("obj")))
		return
	}
	key := o.field(r.PathValue("field"))
	if key == nil || (!key.ExternalID && key.Name != "Id") {
		writeErrors(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", r.PathValue("field"), o.Name))
		return
	}
	c, ok := readCollection(w, r)
	if !ok {
		return
	}
	seen := map[any]bool{}
	st := s.records(r)
	writeJSON(w, http.StatusOK, apply(len(c.Records), c.AllOrNone, func(i int) (func() saveResult, *saveResult) {
		rec := c.Records[i]
		var val any
		for k, v := range rec {
			if strings.EqualFold(k, key.Name) {
				val = v
			}
		}
		if val == nil || val == "" {
			f := failed("MISSING_ARGUMENT", key.Name+" not specified")
			return nil, &f
		}
		if seen[val] {
			f := failed("DUPLICATE_EXTERNAL_ID", fmt.Sprintf("Duplicate external id specified: %v", val), key.Name)
			return nil, &f
		}
		seen[val] = true
		var existing fakekit.Record
		var found bool
		if key.Name == "Id" {
			id, _ := val.(string)
			existing, found = st.Get(o.Name, id)
			found = found && !existing.Deleted
		} else {
			existing, found = st.FindBy(o.Name, key.Name, val)
		}
		if !found {
			do, fail := s.planCreate(st, withType(rec, o.Name))
			if fail != nil {
				return nil, fail
			}
			return func() saveResult { r := do(); t := true; r.Created = &t; return r }, nil
		}
		fields, fail := fieldsFor(o, rec, false)
		if fail != nil {
			return nil, fail
		}
		return func() saveResult {
			if _, err := st.Update(o.Name, existing.ID, fields); err != nil {
				return failed("ENTITY_IS_DELETED", "entity is deleted")
			}
			f := false
			return saveResult{ID: existing.ID, Success: true, Errors: []saveError{}, Created: &f}
		}, nil
	}))
}

func withType(rec map[string]any, t string) map[string]any {
	out := make(map[string]any, len(rec)+1)
	for k, v := range rec {
		out[k] = v
	}
	out["attributes"] = map[string]any{"type": t}
	return out
}

func (s *Server) collectionDelete(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var ids []string
	if v := q.Get("ids"); v != "" {
		ids = strings.Split(v, ",")
	}
	if len(ids) == 0 {
		writeErrors(w, http.StatusBadRequest, "MISSING_ARGUMENT", "ids parameter is required")
		return
	}
	if len(ids) > 200 {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit exceeded: the limit is 200")
		return
	}
	st := s.records(r)
	writeJSON(w, http.StatusOK, apply(len(ids), q.Get("allOrNone") == "true", func(i int) (func() saveResult, *saveResult) {
		id := ids[i]
		o, _, fail := s.find(st, id)
		if fail != nil {
			fail.ID = id
			return nil, fail
		}
		return func() saveResult {
			if _, err := st.Delete(o.Name, id); err != nil {
				return failed("ENTITY_IS_DELETED", "entity is deleted")
			}
			return saveResult{ID: id, Success: true, Errors: []saveError{}}
		}, nil
	}))
}

// Single-record resources.

func (s *Server) createOne(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var rec map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&rec); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return
	}
	do, fail := s.planCreate(s.records(r), withType(rec, o.Name))
	if fail != nil {
		writeSaveError(w, http.StatusBadRequest, fail)
		return
	}
	res := do()
	if res.Success {
		w.Header().Set("Location", "/services/data/"+r.PathValue("v")+"/sobjects/"+o.Name+"/"+res.ID)
	}
	writeJSON(w, http.StatusCreated, res)
}

// writeSaveError answers a single-record failure as the REST error array.
func writeSaveError(w http.ResponseWriter, status int, f *saveResult) {
	e := f.Errors[0]
	fields := e.Fields
	if fields == nil {
		fields = []string{}
	}
	writeJSON(w, status, []apiError{{Message: e.Message, ErrorCode: e.StatusCode, Fields: fields}})
}

func (s *Server) getOne(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	rec, ok := s.records(r).Get(o.Name, r.PathValue("id"))
	if !ok || rec.Deleted {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Last-Modified", rec.Modified.UTC().Format(http.TimeFormat))
	_, _ = w.Write(s.appendRecord(nil, r.PathValue("v"), o, o.Fields, &rec))
}

func (s *Server) updateOne(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var rec map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&rec); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return
	}
	rec = withType(rec, o.Name)
	rec["Id"] = r.PathValue("id")
	do, fail := s.planUpdate(s.records(r), rec)
	if fail != nil {
		status := http.StatusBadRequest
		if fail.Errors[0].StatusCode == "ENTITY_IS_DELETED" || fail.Errors[0].StatusCode == "INVALID_CROSS_REFERENCE_KEY" {
			status = http.StatusNotFound
		}
		writeSaveError(w, status, fail)
		return
	}
	if res := do(); !res.Success {
		writeSaveError(w, http.StatusNotFound, &res)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteOne(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	id := r.PathValue("id")
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	st := s.records(r)
	rec, ok := st.Get(o.Name, id)
	switch {
	case !ok:
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+id)
	case rec.Deleted:
		writeErrors(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted", []string{}...)
	default:
		_, _ = st.Delete(o.Name, id)
		w.WriteHeader(http.StatusNoContent)
	}
}
