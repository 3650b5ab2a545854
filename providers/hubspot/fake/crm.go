package fake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/internal/jsonw"
)

// --- record rendering

// value returns a property's value on a record, and whether it has one.
func (o *objectDef) value(r *fakekit.Record, name string) (string, bool) {
	switch name {
	case "hs_object_id":
		return r.ID, true
	case "createdate", "hs_createdate":
		return formatTime(r.Created), true
	case o.modProp:
		return formatTime(r.Modified), true
	}
	v, ok := r.Fields[name]
	if !ok || v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		s, ok = stringValue(v)
	}
	return s, ok
}

// appendRecord appends one record in HubSpot's object shape: id,
// properties (every value a string or null), createdAt, updatedAt,
// archived (and archivedAt), and the app url when withURL.
func (s *Server) appendRecord(b []byte, o *objectDef, r *fakekit.Record, props []string, withURL bool) []byte {
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, r.ID)
	b = append(b, `,"properties":{`...)
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, p)
		b = append(b, ':')
		if v, ok := o.value(r, p); ok {
			b = jsonw.AppendString(b, v)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `},"createdAt":"`...)
	b = r.Created.UTC().AppendFormat(b, timeFormat)
	b = append(b, `","updatedAt":"`...)
	b = r.Modified.UTC().AppendFormat(b, timeFormat)
	if r.Deleted {
		b = append(b, `","archived":true,"archivedAt":"`...)
		b = r.Modified.UTC().AppendFormat(b, timeFormat)
		b = append(b, '"')
	} else {
		b = append(b, `","archived":false`...)
	}
	if withURL {
		b = append(b, `,"url":"https://app.hubspot.com/contacts/`...)
		b = strconv.AppendInt(b, PortalID, 10)
		b = append(b, "/record/"...)
		b = append(b, o.typeID...)
		b = append(b, '/')
		b = append(b, r.ID...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// selectProps resolves requested property names: unknown names are
// silently omitted, as HubSpot does; none requested means the defaults.
func (o *objectDef) selectProps(requested []string) []string {
	if len(requested) == 0 {
		return o.defaults
	}
	out := make([]string, 0, len(requested))
	for _, name := range requested {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || slices.Contains(out, name) {
			continue
		}
		if o.prop(name) != nil {
			out = append(out, name)
		}
	}
	return out
}

func queryProps(q url.Values) []string {
	var out []string
	for _, v := range q["properties"] {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// --- list and single records

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "Invalid input JSON on line 1: limit must be a positive integer", nil)
			return
		}
		limit = min(n, 100)
	}
	pos := 0
	if v := q.Get("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "Invalid input JSON on line 1: after must be a paging cursor returned by a previous page", nil)
			return
		}
		pos = n
	}
	props := o.selectProps(queryProps(q))
	var recs []fakekit.Record
	var next int
	var done bool
	if q.Get("archived") == "true" {
		recs, next, done = s.archivedPage(o, pos, limit)
	} else {
		var err error
		recs, next, done, err = s.kit.Store.ScanIDOrder(o.name, fakekit.Query{}, pos, limit)
		if err != nil {
			unknownObject(w, o.name)
			return
		}
		if s.opts.ReverseListPages {
			slices.Reverse(recs)
		}
	}
	b := make([]byte, 0, 256+len(recs)*(120+40*len(props)))
	b = append(b, `{"results":[`...)
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendRecord(b, o, &recs[i], props, false)
	}
	b = append(b, ']')
	if !done {
		after := strconv.Itoa(next)
		link := url.Values{}
		link.Set("limit", strconv.Itoa(limit))
		if len(props) > 0 && len(q["properties"]) > 0 {
			link.Set("properties", strings.Join(props, ","))
		}
		link.Set("after", after)
		b = append(b, `,"paging":{"next":{"after":`...)
		b = jsonw.AppendString(b, after)
		b = append(b, `,"link":`...)
		b = jsonw.AppendString(b, "https://api.hubapi.com/crm/v3/objects/"+r.PathValue("type")+"?"+link.Encode())
		b = append(b, "}}"...)
	}
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}

// archivedPage pages through archived records in archive order.
func (s *Server) archivedPage(o *objectDef, pos, limit int) ([]fakekit.Record, int, bool) {
	s.mu.Lock()
	ids := slices.Clone(s.archived[o.name])
	s.mu.Unlock()
	var recs []fakekit.Record
	for ; pos < len(ids) && len(recs) < limit; pos++ {
		if rec, ok := s.kit.Store.Get(o.name, ids[pos]); ok && rec.Deleted {
			recs = append(recs, rec)
		}
	}
	return recs, pos, pos >= len(ids)
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "error", "OBJECT_NOT_FOUND", "resource not found", nil)
}

func (s *Server) getOne(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	q := r.URL.Query()
	rec, ok := s.find(o, r.PathValue("id"), q.Get("idProperty"))
	if !ok || (rec.Deleted && q.Get("archived") != "true") {
		notFound(w)
		return
	}
	writeBody(w, http.StatusOK, s.appendRecord(nil, o, &rec, o.selectProps(queryProps(q)), false))
}

func (s *Server) find(o *objectDef, id, idProperty string) (fakekit.Record, bool) {
	if idProperty == "" || idProperty == "hs_object_id" {
		return s.kit.Store.Get(o.name, id)
	}
	return s.kit.Store.FindBy(o.name, strings.ToLower(idProperty), id)
}

func (s *Server) createOne(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	var in batchInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		invalidJSON(w, err)
		return
	}
	fields, bad := o.convert(in.Properties)
	if len(bad) > 0 {
		propertyErrors(w, bad)
		return
	}
	if e := s.conflict(o, fields, ""); e != nil {
		writeError(w, http.StatusConflict, "error", "CONFLICT", e["message"].(string), map[string]any{"context": e["context"]})
		return
	}
	rec, err := s.kit.Store.Create(o.name, fields)
	if err != nil {
		unknownObject(w, o.name)
		return
	}
	writeBody(w, http.StatusCreated, s.appendRecord(nil, o, &rec, o.writeProps(rec), true))
}

func invalidJSON(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "Invalid input JSON on line 1: "+err.Error(), nil)
}

// --- writes

type batchInput struct {
	ID                 string         `json:"id"`
	IDProperty         string         `json:"idProperty"`
	Properties         map[string]any `json:"properties"`
	ObjectWriteTraceID string         `json:"objectWriteTraceId"`
}

type batchBody struct {
	Inputs     []batchInput `json:"inputs"`
	Properties []string     `json:"properties"`
	IDProperty string       `json:"idProperty"`
}

// convert turns written properties into stored strings, dropping
// read-only ones as HubSpot does, and returns the unknown names.
func (o *objectDef) convert(props map[string]any) (map[string]any, []string) {
	out := make(map[string]any, len(props))
	var bad []string
	for k, v := range props {
		p := o.prop(k)
		if p == nil {
			bad = append(bad, k)
			continue
		}
		if p.readOnly {
			continue
		}
		sv, _ := stringValue(v)
		out[p.name] = sv
	}
	slices.Sort(bad)
	return out, bad
}

// writeProps are the properties a write answer shows: the defaults and
// the stored ones, those with a value only (HubSpot leaves nulls out of
// write answers).
func (o *objectDef) writeProps(rec fakekit.Record) []string {
	var props []string
	for _, k := range o.defaults {
		if _, ok := o.value(&rec, k); ok {
			props = append(props, k)
		}
	}
	for k := range rec.Fields {
		if _, ok := o.value(&rec, k); ok && !slices.Contains(props, k) {
			props = append(props, k)
		}
	}
	slices.Sort(props)
	return props
}

// propertyErrors answers 400 VALIDATION_ERROR for unknown properties,
// in the shape of recording batch_create_contacts_err-many-invalid-properties.
func propertyErrors(w http.ResponseWriter, bad []string) {
	type verr struct {
		IsValid bool   `json:"isValid"`
		Message string `json:"message"`
		Error   string `json:"error"`
		Name    string `json:"name"`
	}
	var inner []verr
	var errs []any
	for _, name := range bad {
		msg := fmt.Sprintf("Property %q does not exist", name)
		inner = append(inner, verr{false, msg, "PROPERTY_DOESNT_EXIST", name})
		errs = append(errs, map[string]any{"message": msg, "code": "PROPERTY_DOESNT_EXIST", "context": map[string]any{"propertyName": []string{name}}})
	}
	j, _ := json.Marshal(inner)
	writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "Property values were not valid: "+string(j), map[string]any{"errors": errs})
}

// conflict returns HubSpot's per-input CONFLICT error when fields repeat
// a unique property's value (contacts' email), or nil.
func (s *Server) conflict(o *objectDef, fields map[string]any, trace string) map[string]any {
	if o.unique == "" {
		return nil
	}
	v, ok := fields[o.unique].(string)
	if !ok || v == "" {
		return nil
	}
	existing, found := s.kit.Store.FindBy(o.name, o.unique, v)
	if !found {
		return nil
	}
	return conflictError(o, existing.ID, trace)
}

// conflictError is HubSpot's per-input CONFLICT for an existing record.
func conflictError(o *objectDef, existingID, trace string) map[string]any {
	ctx := map[string]any{"existingId": []string{existingID}}
	if trace != "" {
		ctx["objectWriteTraceId"] = []string{trace}
	}
	return map[string]any{"status": "error", "category": "CONFLICT", "message": o.singular + " already exists. Existing ID: " + existingID, "context": ctx}
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	var body batchBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		invalidJSON(w, err)
		return
	}
	op := r.PathValue("op")
	switch {
	case !slices.Contains([]string{"create", "update", "upsert", "archive", "read"}, op):
		writeError(w, http.StatusNotFound, "error", "", fmt.Sprintf("Unable to find a route for POST %s", r.URL.Path), nil)
		return
	case len(body.Inputs) == 0:
		writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "Invalid input JSON on line 1: inputs must not be empty", nil)
		return
	case len(body.Inputs) > 100:
		writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", fmt.Sprintf("Batch input size (%d) exceeds maximum (100)", len(body.Inputs)), nil)
		return
	}
	if op != "create" {
		var seen, dup []string
		for _, in := range body.Inputs {
			if slices.Contains(seen, in.ID) && !slices.Contains(dup, in.ID) {
				dup = append(dup, in.ID)
			}
			seen = append(seen, in.ID)
		}
		if len(dup) > 0 {
			writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR",
				fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", strings.Join(dup, ", ")),
				map[string]any{"context": map[string]any{"ids": dup}})
			return
		}
	}
	if op == "archive" {
		for _, in := range body.Inputs {
			s.archive(o, in.ID)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fields := make([]map[string]any, len(body.Inputs))
	var bad []string
	for i, in := range body.Inputs {
		f, b := o.convert(in.Properties)
		fields[i] = f
		for _, name := range b {
			if !slices.Contains(bad, name) {
				bad = append(bad, name)
			}
		}
	}
	if len(bad) > 0 {
		propertyErrors(w, bad)
		return
	}
	started := s.kit.Now()
	var results []json.RawMessage
	var errs []map[string]any
	var missing []string
	render := func(rec fakekit.Record, props []string, isNew *bool) {
		b := s.appendRecord(nil, o, &rec, props, true)
		if isNew != nil {
			b = append(b[:len(b)-1], `,"new":`+strconv.FormatBool(*isNew)+`}`...)
		}
		results = append(results, b)
	}
	for i, in := range body.Inputs {
		switch op {
		case "create":
			if missingRequired(o, fields[i]) != "" {
				errs = append(errs, map[string]any{"status": "error", "category": "VALIDATION_ERROR",
					"message": fmt.Sprintf("Required property %q is missing", missingRequired(o, fields[i])), "context": traceContext(in.ObjectWriteTraceID)})
				continue
			}
			if v, ok := fields[i][o.unique].(string); o.unique != "" && ok && v != "" {
				// Check and create under one lock: two creates with the
				// same email cannot both succeed.
				rec, created, err := s.kit.Store.CreateUnique(o.name, o.unique, v, fields[i])
				if err == nil && !created {
					errs = append(errs, conflictError(o, rec.ID, in.ObjectWriteTraceID))
					continue
				}
				render(rec, o.writeProps(rec), nil)
				continue
			}
			rec, _ := s.kit.Store.Create(o.name, fields[i])
			render(rec, o.writeProps(rec), nil)
		case "update":
			rec, err := s.kit.Store.Update(o.name, in.ID, fields[i])
			if err != nil {
				missing = append(missing, in.ID)
				continue
			}
			render(rec, o.writeProps(rec), nil)
		case "upsert":
			rec, found := s.find(o, in.ID, in.IDProperty)
			if found && !rec.Deleted {
				rec, _ = s.kit.Store.Update(o.name, rec.ID, fields[i])
				isNew := false
				render(rec, o.writeProps(rec), &isNew)
				continue
			}
			f := maps.Clone(fields[i])
			if in.IDProperty != "" && in.IDProperty != "hs_object_id" {
				f[strings.ToLower(in.IDProperty)] = in.ID
			}
			rec, _ = s.kit.Store.Create(o.name, f)
			isNew := true
			render(rec, o.writeProps(rec), &isNew)
		case "read":
			rec, found := s.find(o, in.ID, body.IDProperty)
			if !found || rec.Deleted {
				missing = append(missing, in.ID)
				continue
			}
			render(rec, o.selectProps(body.Properties), nil)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, map[string]any{"status": "error", "category": "OBJECT_NOT_FOUND",
			"message": fmt.Sprintf("Could not get some %s objects, they may be deleted or not exist. Check that ids are valid.", strings.ToUpper(o.singular)),
			"context": map[string]any{"ids": missing}})
	}
	if op == "create" && len(body.Inputs) == 1 && len(errs) == 1 && errs[0]["category"] == "CONFLICT" {
		// A single conflicting record is refused as a whole (recording
		// batch_create_contacts_err-conflict.json).
		writeError(w, http.StatusConflict, "error", "CONFLICT", o.singular+" already exists", nil)
		return
	}
	if results == nil {
		results = []json.RawMessage{}
	}
	resp := map[string]any{"completedAt": formatTime(s.kit.Now()), "status": "COMPLETE", "startedAt": formatTime(started), "results": results}
	status := http.StatusOK
	if op == "create" {
		status = http.StatusCreated
	}
	if len(errs) > 0 {
		resp["errors"] = errs
		resp["numErrors"] = len(errs)
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, resp)
}

func traceContext(trace string) map[string]any {
	if trace == "" {
		return map[string]any{}
	}
	return map[string]any{"objectWriteTraceId": []string{trace}}
}

func missingRequired(o *objectDef, fields map[string]any) string {
	for _, name := range o.required {
		if v, _ := fields[name].(string); v == "" {
			return name
		}
	}
	return ""
}

// --- metadata

func (s *Server) properties(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	created := fakekit.DefaultStart.AddDate(-2, 0, 0)
	results := make([]any, len(o.props))
	for i, p := range o.props {
		results[i] = p.json(created)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func hasScope(g fakekit.Grant, scope string) bool {
	return g.Scope == "" || slices.Contains(strings.Fields(g.Scope), scope)
}

func missingScopes(w http.ResponseWriter, scope string) {
	writeError(w, http.StatusForbidden, "error", "MISSING_SCOPES", "One or more of the following scopes are required.",
		map[string]any{"context": map[string]any{"requiredGranularScopes": []string{scope}, "links": []string{"https://developers.hubspot.com/scopes"}}})
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request) {
	if !hasScope(grantOf(r), "crm.schemas.custom.read") {
		missingScopes(w, "crm.schemas.custom.read")
		return
	}
	created := fakekit.DefaultStart.AddDate(-1, 0, 0)
	var results []any
	for _, o := range s.objects {
		if o.custom {
			results = append(results, o.schemaJSON(created))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	if o.custom && !hasScope(grantOf(r), "crm.schemas.custom.read") {
		missingScopes(w, "crm.schemas.custom.read")
		return
	}
	writeJSON(w, http.StatusOK, o.schemaJSON(fakekit.DefaultStart.AddDate(-1, 0, 0)))
}

func (s *Server) accountInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"portalId": PortalID, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "USD",
		"additionalCurrencies": []string{}, "utcOffset": "-05:00", "utcOffsetMilliseconds": -5 * time.Hour.Milliseconds(),
		"uiDomain": "app.hubspot.com", "dataHostingLocation": "na1",
	})
}
