package fake

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// Bulk API 2.0 ingest jobs: POST /jobs/ingest (state Open), one PUT of CSV
// to .../batches (201), PATCH {"state":"UploadComplete"} (or "Aborted"),
// then GET /jobs/ingest/{id} polls: Options.BulkPolls polls answer
// InProgress, each applying its share of the rows to the store, and the
// next one applies the rest and answers JobComplete. A header naming a
// column that is not a field of the object fails the whole job at the
// first poll (state Failed, errorMessage "InvalidBatch : Field name not
// found : X", nothing processed), as Salesforce does. Per-row failures
// (an invalid value, a missing required field, an unknown id, a duplicate
// external id) land in failedResults/ with sf__Error "CODE:message:fields
// --"; rows not processed when a job is aborted land in unprocessedrecords/.
// Requests for the job's data or results with another API version than the
// one that created it get 409 API_VERSION_MISMATCH; an upload or state
// change the job's state does not allow gets 400 INVALIDJOBSTATE; results
// before the job has finished get 412 JOB_NOT_COMPLETE.

// maxUpload is Bulk API 2.0's per-job upload limit.
const maxUpload = 150_000_000

// ingestJob is one Bulk API 2.0 ingest job.
type ingestJob struct {
	mu                   sync.Mutex
	id, version          string
	operation            string
	obj                  *objectDef
	ext                  *fieldDef // upsert key
	lineEnding, delimStr string
	delim                rune
	created, modstamp    time.Time

	state    string
	data     []byte // the upload, until UploadComplete parses it
	uploaded bool
	header   []string    // as uploaded
	cols     []*fieldDef // per header column
	rows     [][]string
	out      []rowOutcome
	next     int // rows processed
	failed   int
	polls    int
	failMsg  string // the job fails at the next poll with this message
	errorMsg string // errorMessage of a failed job
	// usedKeys are the upsert keys the job's rows have named so far: a
	// second row with one of them is a duplicate.
	usedKeys map[string]bool
}

// rowOutcome is what processing one row did.
type rowOutcome struct {
	id      string
	created bool
	err     string // sf__Error; empty on success
}

var delimiters = map[string]rune{"": ',', "COMMA": ',', "TAB": '\t', "PIPE": '|', "SEMICOLON": ';', "CARET": '^', "BACKQUOTE": '`'}

func (s *Server) ingestCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Object              string `json:"object"`
		Operation           string `json:"operation"`
		ExternalIDFieldName string `json:"externalIdFieldName"`
		ContentType         string `json:"contentType"`
		LineEnding          string `json:"lineEnding"`
		ColumnDelimiter     string `json:"columnDelimiter"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return
	}
	o := s.object(req.Object)
	if o == nil {
		writeErrors(w, http.StatusBadRequest, "INVALIDENTITY", fmt.Sprintf("Entity '%s' is not supported by the Bulk API.", req.Object))
		return
	}
	switch req.Operation {
	case "insert", "update", "upsert", "delete", "hardDelete":
	default:
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid job operation: "+req.Operation)
		return
	}
	var ext *fieldDef
	if req.Operation == "upsert" {
		ext = o.field(req.ExternalIDFieldName)
		if ext == nil || (!ext.ExternalID && ext.Name != "Id") {
			writeErrors(w, http.StatusBadRequest, "INVALIDJOB",
				fmt.Sprintf("InvalidJob : Field name provided, %s is not an External ID or indexed field for %s", req.ExternalIDFieldName, o.Name))
			return
		}
	}
	if req.ContentType != "" && req.ContentType != "CSV" {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Unsupported content type: "+req.ContentType)
		return
	}
	delim, ok := delimiters[req.ColumnDelimiter]
	if !ok {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid column delimiter: "+req.ColumnDelimiter)
		return
	}
	if req.LineEnding != "" && req.LineEnding != "LF" && req.LineEnding != "CRLF" {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid line ending: "+req.LineEnding)
		return
	}
	now := s.kit.Clock.Now()
	j := &ingestJob{version: r.PathValue("v"), operation: req.Operation, obj: o, ext: ext, delim: delim,
		lineEnding: orDefault(req.LineEnding, "LF"), delimStr: orDefault(req.ColumnDelimiter, "COMMA"),
		created: now, modstamp: now, state: "Open"}
	s.mu.Lock()
	s.seq++
	j.id = fmt.Sprintf("750ak%013d", s.seq)
	s.ingest[j.id] = j
	s.mu.Unlock()
	j.mu.Lock()
	info := j.info(infoCreate)
	j.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// infoKind selects which keys a job answer has (as in the recordings).
type infoKind int

const (
	infoCreate infoKind = iota // the create answer: contentUrl, no counts
	infoPatch                  // the state-change answer: the short form
	infoFull                   // GET: counts and jobType
)

// info renders the job; j.mu is held.
func (j *ingestJob) info(kind infoKind) map[string]any {
	v, _ := strconv.ParseFloat(strings.TrimPrefix(j.version, "v"), 64)
	m := map[string]any{
		"id": j.id, "operation": j.operation, "object": j.obj.Name, "createdById": userID,
		"createdDate": fmtTime(j.created), "systemModstamp": fmtTime(j.modstamp), "state": j.state,
		"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": v,
	}
	if j.ext != nil {
		m["externalIdFieldName"] = j.ext.Name
	}
	switch kind {
	case infoCreate:
		m["contentUrl"] = "services/data/" + j.version + "/jobs/ingest/" + j.id + "/batches"
		m["lineEnding"], m["columnDelimiter"] = j.lineEnding, j.delimStr
	case infoFull:
		m["jobType"] = "V2Ingest"
		m["lineEnding"], m["columnDelimiter"] = j.lineEnding, j.delimStr
		m["numberRecordsProcessed"] = j.next
		m["numberRecordsFailed"] = j.failed
		m["retries"] = 0
		m["totalProcessingTime"] = j.next / 4
		m["apiActiveProcessingTime"] = j.next / 5
		m["apexProcessingTime"] = 0
		if j.state == "Failed" {
			m["errorMessage"] = j.errorMsg
		}
	}
	return m
}

// ingestJob finds the job of the request, answering 404 when there is none
// and, with checkVersion, 409 when the request's API version is not the
// job's.
func (s *Server) ingestJob(w http.ResponseWriter, r *http.Request, checkVersion bool) *ingestJob {
	s.mu.Lock()
	j := s.ingest[r.PathValue("id")]
	s.mu.Unlock()
	if j == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return nil
	}
	if v := r.PathValue("v"); checkVersion && v != j.version {
		writeErrors(w, http.StatusConflict, "API_VERSION_MISMATCH",
			fmt.Sprintf("The job was created with API version %s; use the same version, not %s", j.version, v))
		return nil
	}
	return j
}

// ingestUpload takes the job's one CSV upload.
func (s *Server) ingestUpload(w http.ResponseWriter, r *http.Request) {
	j := s.ingestJob(w, r, true)
	if j == nil {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/csv" {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Unsupported content type for upload: "+r.Header.Get("Content-Type"))
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxUpload+1))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Could not read the upload: "+err.Error())
		return
	}
	if len(data) > maxUpload {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : The upload exceeds the 150 MB limit")
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state != "Open" || j.uploaded {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOBSTATE", fmt.Sprintf("Job %s is not in the Open state or already has its data (state %s)", j.id, j.state))
		return
	}
	j.data, j.uploaded = data, true
	w.WriteHeader(http.StatusCreated)
}

// ingestState closes (UploadComplete) or aborts a job.
func (s *Server) ingestState(w http.ResponseWriter, r *http.Request) {
	j := s.ingestJob(w, r, true)
	if j == nil {
		return
	}
	var req struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case req.State == "UploadComplete" && j.state == "Open":
		j.close()
		if j.failMsg == "" {
			s.bulkBatches.add(s.kit.Clock.Now(), int64(max((len(j.rows)+bulkBatchRecords-1)/bulkBatchRecords, 1)))
		}
	case req.State == "Aborted" && (j.state == "Open" || j.state == "UploadComplete" || j.state == "InProgress"):
		j.state = "Aborted"
		j.data = nil
	default:
		writeErrors(w, http.StatusBadRequest, "INVALIDJOBSTATE", fmt.Sprintf("Job %s cannot change from state %s to %s", j.id, j.state, req.State))
		return
	}
	j.modstamp = s.kit.Clock.Now()
	writeJSON(w, http.StatusOK, j.info(infoPatch))
}

// close parses the upload; a bad header or CSV makes the job fail at its
// first poll. j.mu is held.
func (j *ingestJob) close() {
	j.state = "UploadComplete"
	data := j.data
	j.data = nil
	if !j.uploaded || len(bytes.TrimSpace(data)) == 0 {
		j.failMsg = "ClientInputError : No data was uploaded for this job"
		return
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = j.delim
	header, err := cr.Read()
	if err != nil {
		j.failMsg = "ClientInputError : " + err.Error()
		return
	}
	seen := map[string]bool{}
	for _, h := range header {
		f := j.obj.field(strings.TrimSpace(h))
		if f == nil {
			j.failMsg = "InvalidBatch : Field name not found : " + h
			return
		}
		if seen[f.Name] {
			j.failMsg = "InvalidBatch : Duplicate field name : " + h
			return
		}
		seen[f.Name] = true
		j.cols = append(j.cols, f)
	}
	switch {
	case (j.operation == "update" || j.operation == "delete" || j.operation == "hardDelete") && !seen["Id"]:
		j.failMsg = "InvalidBatch : Field name not found : Id"
		return
	case j.operation == "upsert" && !seen[j.ext.Name]:
		j.failMsg = "InvalidBatch : Field name not found : " + j.ext.Name
		return
	}
	j.header = header
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			j.failMsg = "ClientInputError : " + err.Error()
			j.rows, j.cols = nil, nil
			return
		}
		j.rows = append(j.rows, row)
	}
	j.out = make([]rowOutcome, len(j.rows))
}

// ingestInfo reports the job; polls of a closed job move it along.
func (s *Server) ingestInfo(w http.ResponseWriter, r *http.Request) {
	j := s.ingestJob(w, r, false)
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == "UploadComplete" || j.state == "InProgress" {
		j.polls++
		switch {
		case j.failMsg != "":
			j.state, j.errorMsg = "Failed", j.failMsg
		case s.opts.BulkPolls < 0 || j.polls > s.opts.BulkPolls:
			s.process(j, len(j.rows))
			j.state = "JobComplete"
		default:
			s.process(j, len(j.rows)*j.polls/(s.opts.BulkPolls+1))
			j.state = "InProgress"
		}
		j.modstamp = s.kit.Clock.Now()
	}
	writeJSON(w, http.StatusOK, j.info(infoFull))
}

func (s *Server) ingestDelete(w http.ResponseWriter, r *http.Request) {
	if j := s.ingestJob(w, r, false); j != nil {
		s.mu.Lock()
		delete(s.ingest, j.id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// process applies rows j.next..upto to the store. j.mu is held.
func (s *Server) process(j *ingestJob, upto int) {
	if upto <= j.next {
		return
	}
	var keys map[string]string // upsert: external id -> record id
	if j.operation == "upsert" && j.ext.Name != "Id" {
		keys = s.externalIDs(j.obj, j.ext)
	}
	for ; j.next < upto; j.next++ {
		out := s.ingestRow(j, j.rows[j.next], keys)
		if out.err != "" {
			j.failed++
		}
		j.out[j.next] = out
	}
}

// externalIDs indexes an object's live records by an external-id field.
func (s *Server) externalIDs(o *objectDef, f *fieldDef) map[string]string {
	m := map[string]string{}
	var cur fakekit.Cursor
	for {
		recs, next, done, err := s.kit.Store.Scan(o.Name, fakekit.Query{}, cur, 10000)
		if err != nil {
			return m
		}
		for _, r := range recs {
			if v, ok := r.Fields[f.Name]; ok && v != nil && v != "" {
				if k := fmt.Sprint(v); m[k] == "" {
					m[k] = r.ID
				}
			}
		}
		if done {
			return m
		}
		cur = next
	}
}

// bulkError formats a failure as sf__Error: "CODE:message:fields --".
func bulkError(f *saveResult) string {
	e := f.Errors[0]
	return e.StatusCode + ":" + e.Message + ":" + strings.Join(e.Fields, ",") + " --"
}

// ingestRow applies one row.
func (s *Server) ingestRow(j *ingestJob, row []string, keys map[string]string) rowOutcome {
	o := j.obj
	fields := make(map[string]any, len(row))
	var id string
	for c, f := range j.cols {
		cell := row[c]
		if f.Name == "Id" && j.operation != "insert" && j.operation != "upsert" {
			id = strings.TrimSpace(cell)
			continue
		}
		if j.operation == "delete" || j.operation == "hardDelete" || cell == "" {
			// Deletes read the Id only; an empty cell leaves a field alone.
			continue
		}
		if cell == "#N/A" {
			fields[f.Name] = nil
			continue
		}
		v, xsd, ok := parseCell(f, cell)
		if !ok {
			return rowOutcome{err: fmt.Sprintf("INVALID_FIELD:Failed to deserialize field at col %d. Due to, '%s' is not a valid value for the type xsd:%s:%s --", c, cell, xsd, f.Name)}
		}
		fields[f.Name] = v
	}
	fail := func(f *saveResult) rowOutcome { return rowOutcome{id: f.ID, err: bulkError(f)} }
	create := func() rowOutcome {
		do, f := s.planCreate(s.kit.Store, withType(fields, o.Name))
		if f != nil {
			return fail(f)
		}
		res := do()
		if !res.Success {
			return fail(&res)
		}
		return rowOutcome{id: res.ID, created: true}
	}
	update := func(id string) rowOutcome {
		found, _, f := s.find(s.kit.Store, id)
		if f == nil && found != o {
			r := failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
			f = &r
		}
		if f != nil {
			f.ID = id
			return fail(f)
		}
		vals, f := fieldsFor(o, fields, false)
		if f != nil {
			f.ID = id
			return fail(f)
		}
		if _, err := s.kit.Store.Update(o.Name, id, vals); err != nil {
			return rowOutcome{id: id, err: "ENTITY_IS_DELETED:entity is deleted: --"}
		}
		return rowOutcome{id: id}
	}
	switch j.operation {
	case "insert":
		return create()
	case "update":
		if id == "" {
			return rowOutcome{err: "MISSING_ARGUMENT:Id not specified in an update call: --"}
		}
		return update(id)
	case "delete", "hardDelete":
		if id == "" {
			return rowOutcome{err: "MISSING_ARGUMENT:Id not specified in a delete call: --"}
		}
		found, _, f := s.find(s.kit.Store, id)
		if f == nil && found != o {
			r := failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
			f = &r
		}
		if f != nil {
			f.ID = id
			return fail(f)
		}
		if _, err := s.kit.Store.Delete(o.Name, id); err != nil {
			return rowOutcome{id: id, err: "ENTITY_IS_DELETED:entity is deleted: --"}
		}
		return rowOutcome{id: id}
	}
	// upsert
	key, _ := fields[j.ext.Name].(string)
	if key == "" {
		return rowOutcome{err: fmt.Sprintf("MISSING_ARGUMENT:%s not specified:%s --", j.ext.Name, j.ext.Name)}
	}
	if j.ext.Name == "Id" {
		delete(fields, "Id")
		return update(key)
	}
	if j.usedKeys[key] {
		return rowOutcome{err: fmt.Sprintf("DUPLICATE_EXTERNAL_ID:Duplicate external id specified: %s:%s --", key, j.ext.Name)}
	}
	if j.usedKeys == nil {
		j.usedKeys = map[string]bool{}
	}
	j.usedKeys[key] = true
	if existing, found := keys[key]; found {
		return update(existing)
	}
	out := create()
	if out.err == "" {
		keys[key] = out.id
	}
	return out
}

// parseCell converts a CSV cell to the value the store keeps for f, or
// reports the XML schema type it failed to parse as.
func parseCell(f *fieldDef, cell string) (any, string, bool) {
	switch f.Type {
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(cell)) {
		case "true", "1", "yes":
			return true, "", true
		case "false", "0", "no":
			return false, "", true
		}
		return nil, "boolean", false
	case "currency", "double", "percent":
		v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
		return v, "double", err == nil
	case "int":
		v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
		return v, "int", err == nil && v == float64(int64(v))
	case "date":
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(cell))
		return t.Format(time.DateOnly), "date", err == nil
	case "datetime":
		c := strings.TrimSpace(cell)
		t, err := time.Parse(time.RFC3339Nano, c)
		if err != nil {
			t, err = time.Parse(timeLayout, c)
		}
		return fmtTime(t), "dateTime", err == nil
	}
	return cell, "", true
}

// ingestResults serves successfulResults/, failedResults/ or
// unprocessedrecords/ in Salesforce's CSV: the sf__ columns quoted in the
// header, the uploaded header as it was, every data cell quoted, rows in
// upload order.
func (s *Server) ingestResults(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j := s.ingestJob(w, r, true)
		if j == nil {
			return
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		switch j.state {
		case "JobComplete", "Failed", "Aborted":
		default:
			writeErrors(w, http.StatusPreconditionFailed, "JOB_NOT_COMPLETE", "Job is not complete: "+j.id)
			return
		}
		var b bytes.Buffer
		switch kind {
		case "successful":
			b.WriteString(`"sf__Id","sf__Created"`)
		case "failed":
			b.WriteString(`"sf__Id","sf__Error"`)
		}
		for i, h := range j.header {
			if i > 0 || kind != "unprocessed" {
				b.WriteByte(',')
			}
			b.WriteString(csvHeaderCell(h))
		}
		rows := 0
		// Rows are separated by LF, without one after the last row (as in
		// the recorded failedResults).
		emit := func(row []string, pre ...string) {
			b.WriteByte('\n')
			first := true
			for _, c := range append(pre, row...) {
				if !first {
					b.WriteByte(',')
				}
				first = false
				b.WriteByte('"')
				b.WriteString(strings.ReplaceAll(c, `"`, `""`))
				b.WriteByte('"')
			}
			rows++
		}
		switch kind {
		case "unprocessed":
			for _, row := range j.rows[j.next:] {
				emit(row)
			}
		default:
			for k, out := range j.out[:j.next] {
				switch {
				case kind == "successful" && out.err == "":
					emit(j.rows[k], out.id, strconv.FormatBool(out.created))
				case kind == "failed" && out.err != "":
					emit(j.rows[k], out.id, out.err)
				}
			}
		}
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Sforce-NumberOfRecords", strconv.Itoa(rows))
		_, _ = w.Write(b.Bytes())
	}
}

// csvHeaderCell writes an uploaded header name as is, quoted only when CSV
// needs it.
func csvHeaderCell(h string) string {
	if strings.ContainsAny(h, ",\"\r\n") {
		return `"` + strings.ReplaceAll(h, `"`, `""`) + `"`
	}
	return h
}
