package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// bulkJob is a Bulk API 2.0 query job.
type bulkJob struct {
	id, operation, version string
	q                      *soql
	created                time.Time
	polls                  int
	state                  string
	processed              int
}

// jobInfo renders a job as the API does (keys of the recordings).
func (j *bulkJob) info() map[string]any {
	v, _ := strconv.ParseFloat(strings.TrimPrefix(j.version, "v"), 64)
	m := map[string]any{
		"id": j.id, "operation": j.operation, "object": j.q.obj.Name, "createdById": userID,
		"createdDate": fmtTime(j.created), "systemModstamp": fmtTime(j.created), "state": j.state,
		"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": v, "lineEnding": "LF", "columnDelimiter": "COMMA",
	}
	if j.state != "UploadComplete" {
		m["jobType"] = "V2Query"
		m["numberRecordsProcessed"] = j.processed
		m["retries"] = 0
		m["totalProcessingTime"] = 0
	}
	return m
}

func (s *Server) bulkCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operation string `json:"operation"`
		Query     string `json:"query"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return
	}
	if req.Operation != "query" && req.Operation != "queryAll" {
		writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "Invalid job operation: "+req.Operation)
		return
	}
	q, err := s.parseSOQL(req.Query, req.Operation == "queryAll")
	if err != nil {
		se := err.(*soqlError)
		writeErrors(w, http.StatusBadRequest, se.code, se.msg)
		return
	}
	for _, f := range q.fields {
		if f.Type == "address" {
			writeErrors(w, http.StatusBadRequest, "INVALIDJOB", "Selecting compound data not supported in Bulk Query")
			return
		}
	}
	s.mu.Lock()
	s.seq++
	j := &bulkJob{id: fmt.Sprintf("750ak%013d", s.seq), operation: req.Operation, version: r.PathValue("v"),
		q: q, created: s.kit.Clock.Now(), state: "UploadComplete"}
	s.jobs[j.id] = j
	info := j.info()
	s.mu.Unlock()
	s.bulkQueryJobs.add(j.created, 1)
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) *bulkJob {
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	s.mu.Unlock()
	if j == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	return j
}

// bulkInfo reports the job; polls move it InProgress, then JobComplete.
func (s *Server) bulkInfo(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	j.polls++
	complete := j.state == "JobComplete" || j.polls > s.opts.BulkPolls
	s.mu.Unlock()
	if complete && j.state != "JobComplete" {
		n := s.count(j.q)
		s.mu.Lock()
		j.state, j.processed = "JobComplete", n
		s.mu.Unlock()
	} else if !complete {
		s.mu.Lock()
		j.state = "InProgress"
		s.mu.Unlock()
	}
	s.mu.Lock()
	info := j.info()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request) {
	if j := s.job(w, r); j != nil {
		s.mu.Lock()
		delete(s.jobs, j.id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// bulkResults streams one chunk of CSV results. The locator is the
// base64 of the store cursor; "null" marks the last chunk.
func (s *Server) bulkResults(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	state := j.state
	s.mu.Unlock()
	if v := r.PathValue("v"); v != j.version {
		writeErrors(w, http.StatusConflict, "API_VERSION_MISMATCH",
			fmt.Sprintf("The job was created with API version %s; request its results with the same version, not %s", j.version, v))
		return
	}
	if state != "JobComplete" {
		writeErrors(w, http.StatusPreconditionFailed, "JOB_NOT_COMPLETE", "Job is not complete: "+j.id)
		return
	}
	limit := s.opts.BulkChunk
	if m, err := strconv.Atoi(r.URL.Query().Get("maxRecords")); err == nil && m > 0 {
		limit = min(m, limit)
	}
	var cur fakekit.Cursor
	if loc := r.URL.Query().Get("locator"); loc != "" {
		raw, err := base64.RawURLEncoding.DecodeString(loc)
		if err == nil {
			cur, err = fakekit.ParseCursor(string(raw))
		}
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "INVALID_LOCATOR", "Invalid locator: "+loc)
			return
		}
	}
	recs, next, done, err := s.kit.Store.Scan(j.q.obj.Name, j.q.q, cur, limit)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN_EXCEPTION", err.Error())
		return
	}
	if !done {
		more, _, _, _ := s.kit.Store.Scan(j.q.obj.Name, j.q.q, next, 1)
		done = len(more) == 0
	}
	locator := "null"
	if !done {
		locator = base64.RawURLEncoding.EncodeToString([]byte(next.String()))
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	row := make([]string, len(j.q.fields))
	for i, f := range j.q.fields {
		row[i] = f.Name
	}
	_ = cw.Write(row)
	for k := range recs {
		for i, f := range j.q.fields {
			row[i] = csvValue(value(j.q.obj, f, &recs[k]), f)
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv")
	h.Set("Sforce-Locator", locator)
	h.Set("Sforce-NumberOfRecords", strconv.Itoa(len(recs)))
	s.bulkResultBytes.add(s.kit.Clock.Now(), int64(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// csvValue formats a value as Bulk API CSV does: empty for null, datetimes
// in UTC with a Z.
func csvValue(v any, f *fieldDef) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if f.Type == "datetime" {
			if t, err := time.Parse(timeLayout, x); err == nil {
				return t.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
