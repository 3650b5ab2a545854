package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// JobTTL is how long a Bulk API 2.0 query job and its results are kept
// after the job was created: Salesforce deletes jobs after seven days.
const JobTTL = 7 * 24 * time.Hour

// bulkJob is a Bulk API 2.0 query job.
type bulkJob struct {
	id, operation, version string
	q                      *soql
	created, modified      time.Time
	polls                  int
	state                  string
	errorMessage           string
	completing             bool
	processed              int

	// The results, fixed when the job completes, as Salesforce keeps
	// them: the CSV header line, then the rows, each ending in "\n";
	// ends[i] is where row i ends in rows. A locator is an offset into
	// them, so it returns the same rows however often it is fetched.
	header []byte
	rows   []byte
	ends   []int
}

// jobInfo renders a job as the API does (keys of the recordings).
func (j *bulkJob) info() map[string]any {
	v, _ := strconv.ParseFloat(strings.TrimPrefix(j.version, "v"), 64)
	m := map[string]any{
		"id": j.id, "operation": j.operation, "object": j.q.obj.Name, "createdById": userID,
		"createdDate": fmtTime(j.created), "systemModstamp": fmtTime(j.modified), "state": j.state,
		"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": v, "lineEnding": "LF", "columnDelimiter": "COMMA",
	}
	if j.state != "UploadComplete" {
		m["jobType"] = "V2Query"
		m["numberRecordsProcessed"] = j.processed
		m["retries"] = 0
		m["totalProcessingTime"] = 0
	}
	if j.errorMessage != "" {
		m["errorMessage"] = j.errorMessage
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
	now := s.kit.Clock.Now()
	s.mu.Lock()
	s.seq++
	j := &bulkJob{id: fmt.Sprintf("750ak%013d", s.seq), operation: req.Operation, version: r.PathValue("v"),
		q: q, created: now, modified: now, state: "UploadComplete"}
	s.pruneJobsLocked(now)
	s.jobs[j.id] = j
	info := j.info()
	s.mu.Unlock()
	s.bulkQueryJobs.add(j.created, 1)
	writeJSON(w, http.StatusOK, info)
}

// pruneJobsLocked deletes the query jobs older than JobTTL.
func (s *Server) pruneJobsLocked(now time.Time) {
	for id, j := range s.jobs {
		if now.Sub(j.created) > JobTTL {
			delete(s.jobs, id)
		}
	}
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) *bulkJob {
	now := s.kit.Clock.Now()
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	if j != nil && now.Sub(j.created) > JobTTL {
		delete(s.jobs, j.id)
		j = nil
	}
	s.mu.Unlock()
	if j == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	return j
}

// bulkInfo reports the job; polls move it InProgress, then JobComplete,
// when its results are taken from the store once and for all.
func (s *Server) bulkInfo(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	j.polls++
	finish := j.state == "UploadComplete" || j.state == "InProgress"
	finish = finish && !j.completing && j.polls > s.opts.BulkPolls
	if j.state == "UploadComplete" {
		j.state = "InProgress"
	}
	j.completing = j.completing || finish
	s.mu.Unlock()
	if finish {
		header, rows, ends, err := s.bulkSnapshot(j.q)
		now := s.kit.Clock.Now()
		s.mu.Lock()
		j.completing, j.modified = false, now
		if err != nil {
			j.state, j.errorMessage = "Failed", err.Error()
		} else {
			j.state, j.processed = "JobComplete", len(ends)
			j.header, j.rows, j.ends = header, rows, ends
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	info := j.info()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

// bulkSnapshot renders every result row of q as CSV. A write to the
// object while it scans could show a record twice, so it scans again
// when the store changed under it, the last time under one read lock.
func (s *Server) bulkSnapshot(q *soql) (header, rows []byte, ends []int, err error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	row := make([]string, len(q.fields))
	for i, f := range q.fields {
		row[i] = f.Name
	}
	_ = cw.Write(row)
	cw.Flush()
	header = bytes.Clone(buf.Bytes())
	for attempt := 0; ; attempt++ {
		version := s.kit.Store.LogLen(q.obj.Name)
		batch := 10000
		if attempt == 2 {
			batch = math.MaxInt
		}
		buf.Reset()
		ends = ends[:0]
		var cur fakekit.Cursor
		for {
			limit := batch
			if q.limit > 0 {
				limit = min(limit, q.limit-len(ends))
			}
			if limit <= 0 {
				break
			}
			recs, next, done, err := s.kit.Store.Scan(q.obj.Name, q.q, cur, limit)
			if err != nil {
				return nil, nil, nil, err
			}
			for k := range recs {
				for i, f := range q.fields {
					row[i] = csvValue(value(q.obj, f, &recs[k]), f)
				}
				_ = cw.Write(row)
				cw.Flush()
				ends = append(ends, buf.Len())
			}
			if done || len(recs) == 0 && next == cur {
				break
			}
			cur = next
		}
		if attempt == 2 || s.kit.Store.LogLen(q.obj.Name) == version {
			return header, buf.Bytes(), ends, nil
		}
	}
}

func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request) {
	if j := s.job(w, r); j != nil {
		s.mu.Lock()
		delete(s.jobs, j.id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// locator encodes a results offset as Salesforce does (API 49.0 and
// later): the base64 of the decimal offset without padding, "MTAwMDA" for
// 10000.
func locator(offset int) string {
	return base64.RawStdEncoding.EncodeToString([]byte(strconv.Itoa(offset)))
}

// parseLocator decodes locator; ok is false for anything locator does not
// make.
func parseLocator(loc string) (offset int, ok bool) {
	raw, err := base64.RawStdEncoding.DecodeString(loc)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 || locator(n) != loc {
		return 0, false
	}
	return n, true
}

// bulkResults writes one chunk of the job's CSV results from the offset
// the locator names (the start without one). The Sforce-Locator header
// names the next chunk, "null" after the last.
func (s *Server) bulkResults(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	state, header, rows, ends := j.state, j.header, j.rows, j.ends
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
	from := 0
	if loc := r.URL.Query().Get("locator"); loc != "" {
		off, ok := parseLocator(loc)
		if !ok || off >= len(ends) {
			writeErrors(w, http.StatusBadRequest, "INVALID_LOCATOR", "Invalid locator: "+loc)
			return
		}
		from = off
	}
	to := min(from+limit, len(ends))
	start, end := 0, 0
	if from > 0 {
		start = ends[from-1]
	}
	if to > 0 {
		end = ends[to-1]
	}
	next := "null"
	if to < len(ends) {
		next = locator(to)
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv")
	h.Set("Sforce-Locator", next)
	h.Set("Sforce-NumberOfRecords", strconv.Itoa(to-from))
	s.bulkResultBytes.add(s.kit.Clock.Now(), int64(len(header)+end-start))
	_, _ = w.Write(header)
	_, _ = w.Write(rows[start:end])
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
