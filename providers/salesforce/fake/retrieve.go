package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// MaxRetrieveIDs is the most ids one sObject Collections retrieve takes.
// Salesforce documents 2,000 for the POST form; the GET form is bounded by
// its URL length instead (about 800 ids), which the fake does not model:
// it applies 2,000 to both.
const MaxRetrieveIDs = 2000

// retrieveRequest is the body of a retrieve by POST.
type retrieveRequest struct {
	IDs    []string `json:"ids"`
	Fields []string `json:"fields"`
}

// collectionRetrieve serves sObject Collections retrieve:
// GET /composite/sobjects/{SObject}?ids=a,b&fields=F1,F2 and POST to the
// same path with {"ids": [...], "fields": [...]}. The answer is a JSON
// array with one element per id, in request order: the record (attributes
// and the fields asked for, under their API names, as a query row) or
// null for an id that is malformed, of another object, deleted or
// unknown. An unknown object is 400 INVALID_TYPE and an unknown field 400
// INVALID_FIELD (the documentation states only the 400 for bad fields);
// missing ids or fields are 400 MISSING_ARGUMENT and more than
// MaxRetrieveIDs ids 400 EXCEEDED_ID_LIMIT, the codes Salesforce uses for
// those mistakes elsewhere in sObject Collections.
func (s *Server) collectionRetrieve(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", r.PathValue("obj")))
		return
	}
	var in retrieveRequest
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		in.IDs, in.Fields = splitList(q.Get("ids")), splitList(q.Get("fields"))
	} else {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err == nil {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
			return
		}
	}
	switch {
	case len(in.IDs) == 0:
		writeErrors(w, http.StatusBadRequest, "MISSING_ARGUMENT", "ids parameter is required")
		return
	case len(in.Fields) == 0:
		writeErrors(w, http.StatusBadRequest, "MISSING_ARGUMENT", "fields parameter is required")
		return
	case len(in.IDs) > MaxRetrieveIDs:
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT",
			fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", MaxRetrieveIDs))
		return
	}
	cols := make([]*fieldDef, 0, len(in.Fields))
	for _, name := range in.Fields {
		f := o.field(strings.TrimSpace(name))
		if f == nil {
			writeErrors(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", name, o.Name))
			return
		}
		if !slices.Contains(cols, f) {
			cols = append(cols, f)
		}
	}
	st := s.records(r)
	b := make([]byte, 0, 2+len(in.IDs)*64*(len(cols)+2))
	b = append(b, '[')
	for i, id := range in.IDs {
		if i > 0 {
			b = append(b, ',')
		}
		rec, ok := st.Get(o.Name, id)
		if !validID(id) || !ok || rec.Deleted {
			b = append(b, "null"...)
			continue
		}
		b = s.appendRecord(b, r.PathValue("v"), o, cols, &rec)
	}
	b = append(b, ']')
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(b)
}

// splitList splits a comma-separated query value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
