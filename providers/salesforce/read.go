package salesforce

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/internal/jsonw"
)

// buildSOQL returns the query for req: the columns of selectColumns,
// bounded on SystemModstamp (Since exclusive, Until inclusive), in
// SystemModstamp and Id order unless ordered is false (Bulk API 2.0
// queries).
func buildSOQL(req providers.ReadRequest, ordered bool) string {
	var b strings.Builder
	b.Grow(64 + 24*len(req.Fields))
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(selectColumns(req.Fields, req.IncludeDeleted), ", "))
	b.WriteString(" FROM ")
	b.WriteString(APIObjectName(req.Object))
	var conds []string
	if !req.Since.IsZero() {
		conds = append(conds, "SystemModstamp > "+soqlTime(req.Since))
	}
	if !req.Until.IsZero() {
		conds = append(conds, "SystemModstamp <= "+soqlTime(req.Until))
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	if ordered {
		b.WriteString(" ORDER BY SystemModstamp, Id")
	}
	return b.String()
}

// selectColumns returns the fields a read selects: Id, SystemModstamp
// (and IsDeleted for reads that include deletions), then fields, trimmed,
// without repeats (compared without case). Read and GetRecords share it,
// so a record comes back with the same fields either way.
func selectColumns(fields []string, includeDeleted bool) []string {
	cols := make([]string, 0, len(fields)+3)
	cols = append(cols, "Id", "SystemModstamp")
	seen := map[string]bool{"id": true, "systemmodstamp": true}
	if includeDeleted {
		cols = append(cols, "IsDeleted")
		seen["isdeleted"] = true
	}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		l := strings.ToLower(f)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		cols = append(cols, f)
	}
	return cols
}

// queryPage is one page of a REST query.
type queryPage struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// Read returns one page of req.Object through the REST query resource
// (queryAll when req.IncludeDeleted). The cursor is the page's
// nextRecordsUrl (a query locator, valid for about 15 minutes of
// inactivity); PageSize is sent as the Sforce-Query-Options batchSize hint
// (Salesforce honours 200 to 2,000).
func (c *Client) Read(ctx context.Context, req providers.ReadRequest) (*providers.ReadPage, error) {
	var target string
	if req.Cursor != "" {
		if !strings.HasPrefix(req.Cursor, "/services/data/") {
			return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "INVALID_QUERY_LOCATOR",
				Message: fmt.Sprintf("cursor %q is not a Salesforce nextRecordsUrl", req.Cursor)}
		}
		target = c.base + req.Cursor
	} else {
		if req.Object == "" {
			return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: "ReadRequest.Object is empty"}
		}
		resource := "/query?q="
		if req.IncludeDeleted {
			resource = "/queryAll?q="
		}
		target = c.data + resource + url.QueryEscape(buildSOQL(req, true))
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("salesforce: read %s: %w", req.Object, err)
	}
	hr.Header.Set("Accept", "application/json")
	if req.PageSize > 0 {
		hr.Header.Set("Sforce-Query-Options", "batchSize="+strconv.Itoa(min(req.PageSize, spec.Batch.MaxReadPageSize)))
	}
	what := "read " + req.Object
	resp, err := c.do(hr, what)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	drain(resp.Body)
	if err != nil {
		return nil, transportError(ctx, what, err)
	}
	if req.Ahead != nil {
		// nextRecordsUrl precedes the records: the caller can ask for the
		// next page while this one decodes.
		if next, ok := nextRecordsHint(body); ok {
			req.Ahead(next)
		}
	}
	return decodePage(body, req.IncludeDeleted)
}

// nextRecordsHint finds a query page's nextRecordsUrl without decoding the
// page. Only the part before the records is looked at, where a subquery's
// own nextRecordsUrl (inside a record) cannot be mistaken for the page's.
func nextRecordsHint(body []byte) (string, bool) {
	head := body
	if at := bytes.Index(body, []byte(`"records"`)); at >= 0 {
		head = body[:at]
	}
	next, ok := jsonw.PeekString(head, "nextRecordsUrl", false)
	return next, ok && strings.HasPrefix(next, "/services/data/")
}

// decodePage turns a query response body into a ReadPage.
func decodePage(body []byte, includeDeleted bool) (*providers.ReadPage, error) {
	var p queryPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: http.StatusOK,
			Message: "the query page is not valid JSON (truncated?)", Err: err}
	}
	page := &providers.ReadPage{Records: make([]providers.Record, 0, len(p.Records)), Total: p.TotalSize, Done: p.Done}
	// Real Salesforce omits nextRecordsUrl on the last page; trust done.
	if !p.Done {
		if p.NextRecordsURL == "" {
			return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: http.StatusOK,
				Message: "query page has done=false but no nextRecordsUrl"}
		}
		page.NextCursor = p.NextRecordsURL
	}
	keys := make(map[string]string, 16)
	for i, raw := range p.Records {
		rec, err := decodeRecord(raw, keys)
		if err != nil {
			return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: http.StatusOK,
				Message: fmt.Sprintf("query record %d", i), Err: err}
		}
		if rec.Deleted && !includeDeleted {
			continue
		}
		page.Records = append(page.Records, rec)
	}
	return page, nil
}

// decodeRecord decodes one query record. keys caches lower-cased field
// names across the records of a page.
func decodeRecord(raw json.RawMessage, keys map[string]string) (providers.Record, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return providers.Record{}, err
	}
	rec := providers.Record{Raw: raw}
	attrs, _ := m["attributes"].(map[string]any)
	delete(m, "attributes")
	// Rename keys in place: a lower-case key visited later is left alone.
	for k, v := range m {
		l, ok := keys[k]
		if !ok {
			l = strings.ToLower(k)
			keys[k] = l
		}
		if l != k {
			delete(m, k)
			m[l] = v
		}
	}
	rec.Fields = m
	if id, ok := m["id"].(string); ok {
		rec.ID = id
	} else if u, ok := attrs["url"].(string); ok {
		// Sampled queries without Id still name the record in attributes.url.
		rec.ID = u[strings.LastIndexByte(u, '/')+1:]
	}
	if s, ok := m["systemmodstamp"].(string); ok {
		t, err := ParseTime(s)
		if err != nil {
			return providers.Record{}, fmt.Errorf("SystemModstamp %q: %w", s, err)
		}
		rec.ModifiedAt = t
	} else if s, ok := m["lastmodifieddate"].(string); ok {
		rec.ModifiedAt, _ = ParseTime(s)
	}
	if d, ok := m["isdeleted"].(bool); ok && d {
		rec.Deleted = true
	}
	return rec, nil
}

// jobInfo is a Bulk API 2.0 job (query or ingest) as the API reports it.
type jobInfo struct {
	ID                     string  `json:"id"`
	Operation              string  `json:"operation"`
	Object                 string  `json:"object"`
	CreatedByID            string  `json:"createdById"`
	CreatedDate            string  `json:"createdDate"`
	SystemModstamp         string  `json:"systemModstamp"`
	State                  string  `json:"state"`
	ExternalIDFieldName    string  `json:"externalIdFieldName,omitempty"`
	ConcurrencyMode        string  `json:"concurrencyMode"`
	ContentType            string  `json:"contentType"`
	APIVersion             float64 `json:"apiVersion"`
	JobType                string  `json:"jobType,omitempty"`
	ContentURL             string  `json:"contentUrl,omitempty"`
	LineEnding             string  `json:"lineEnding"`
	ColumnDelimiter        string  `json:"columnDelimiter"`
	NumberRecordsProcessed int64   `json:"numberRecordsProcessed"`
	NumberRecordsFailed    int64   `json:"numberRecordsFailed"`
	Retries                int     `json:"retries"`
	TotalProcessingTime    int64   `json:"totalProcessingTime"`
	ErrorMessage           string  `json:"errorMessage,omitempty"`

	// processedSet reports whether numberRecordsProcessed was in the
	// answer (see UnmarshalJSON).
	processedSet bool
}

// UnmarshalJSON decodes job info, noting whether it had
// numberRecordsProcessed.
func (j *jobInfo) UnmarshalJSON(b []byte) error {
	type plain jobInfo
	var v struct {
		plain
		Processed *int64 `json:"numberRecordsProcessed"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*j = jobInfo(v.plain)
	if v.Processed != nil {
		j.NumberRecordsProcessed, j.processedSet = *v.Processed, true
	}
	return nil
}

// terminal reports whether the job has finished, and an error when it
// finished without results.
func (j *jobInfo) terminal() (bool, error) {
	switch j.State {
	case "JobComplete":
		return true, nil
	case "Failed":
		return true, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "JOB_FAILED",
			Message: fmt.Sprintf("bulk job %s failed: %s", j.ID, j.ErrorMessage)}
	case "Aborted":
		return true, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Code: "JOB_ABORTED",
			Message: fmt.Sprintf("bulk job %s was aborted", j.ID)}
	}
	return false, nil
}

// BulkRead runs a Bulk API 2.0 query job (queryAll with IncludeDeleted)
// and streams its CSV results chunk by chunk (Sforce-Locator), yielding
// records in the order of the results. Fields hold strings as the CSV has
// them (an empty cell is nil). Polling starts at once and backs off from
// the Client's poll delay; it stops when ctx is done. It is StartBulkRead
// followed by every chunk of BulkReadChunk, streamed rather than held.
func (c *Client) BulkRead(ctx context.Context, req providers.ReadRequest) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		id, _, err := c.StartBulkRead(ctx, req)
		if err != nil {
			yield(providers.Record{}, err)
			return
		}
		locator := ""
		for {
			next, more, err := c.bulkChunkRead(ctx, id, locator, c.bulkChunk, req.IncludeDeleted, nil, yield)
			if err != nil {
				yield(providers.Record{}, err)
				return
			}
			if !more || next == "" {
				return
			}
			locator = next
		}
	}
}

// StartBulkRead creates a Bulk API 2.0 query job for req (queryAll with
// IncludeDeleted; the SOQL of BulkRead), waits until it is JobComplete
// and returns its ID and numberRecordsProcessed (-1 when the job info has
// none). Salesforce keeps the job's results for seven days, or until the
// job is deleted.
func (c *Client) StartBulkRead(ctx context.Context, req providers.ReadRequest) (string, int, error) {
	if req.Object == "" {
		return "", 0, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: "ReadRequest.Object is empty"}
	}
	op := "query"
	if req.IncludeDeleted {
		op = "queryAll"
	}
	var job jobInfo
	body := map[string]string{"operation": op, "query": buildSOQL(req, false)}
	if err := c.doJSON(ctx, http.MethodPost, c.data+"/jobs/query", body, &job, "bulk query "+req.Object); err != nil {
		return "", 0, err
	}
	if err := checkJobID(job.ID); err != nil {
		return "", 0, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Status: http.StatusOK,
			Message: "bulk query " + req.Object + ": the new job's id is not a Salesforce id", Err: err}
	}
	done, err := c.waitJob(ctx, "query", job.ID)
	if err == nil {
		_, err = done.terminal()
	}
	if err != nil {
		return "", 0, err
	}
	total := -1
	if done.processedSet {
		total = int(done.NumberRecordsProcessed)
	}
	return job.ID, total, nil
}

// BulkReadChunk returns the results chunk of the completed query job
// jobID at locator (the first chunk when empty) with at most maxRecords
// records (the Salesforce default when zero or less), decoded as BulkRead
// decodes them. NextCursor is the chunk's Sforce-Locator, empty with Done
// after the last chunk (Salesforce sends "null"); Total is -1. A locator
// stays valid, and returns the same records, as long as the job exists.
// jobID and locator are checked before any request (see checkJobID and
// checkLocator); an unknown job is a KindNotFound error.
func (c *Client) BulkReadChunk(ctx context.Context, jobID, locator string, maxRecords int) (*providers.ReadPage, error) {
	return c.BulkReadChunkAhead(ctx, jobID, locator, maxRecords, nil)
}

// BulkReadChunkAhead is BulkReadChunk, calling ahead with the next chunk's
// locator from the response's Sforce-Locator header, before the chunk's CSV
// is read (providers.BulkAheadReader).
func (c *Client) BulkReadChunkAhead(ctx context.Context, jobID, locator string, maxRecords int, ahead func(string)) (*providers.ReadPage, error) {
	if err := checkJobID(jobID); err != nil {
		return nil, err
	}
	if locator != "" {
		if err := checkLocator(locator); err != nil {
			return nil, err
		}
	}
	page := &providers.ReadPage{Total: -1}
	next, _, err := c.bulkChunkRead(ctx, jobID, locator, maxRecords, true, ahead, func(r providers.Record, _ error) bool {
		page.Records = append(page.Records, r)
		return true
	})
	if err != nil {
		return nil, err
	}
	page.NextCursor, page.Done = next, next == ""
	return page, nil
}

// checkJobID accepts a Bulk API job id as Salesforce makes them, a record
// id of 15 or 18 letters and digits, so that one read back from storage
// cannot reach another resource.
func checkJobID(id string) error {
	if (len(id) == 15 || len(id) == 18) && alnum(id, false) {
		return nil
	}
	return &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "INVALID_JOB_ID",
		Message: fmt.Sprintf("%.40q is not a Salesforce bulk job id", id)}
}

// maxLocator bounds a results locator's length; Salesforce's grow with the
// number of chunks ("MTAwMDA" is the one at record 10,000).
const maxLocator = 128

// checkLocator accepts a Bulk API 2.0 results locator as Salesforce makes
// them: letters, digits and the base64 signs + / =, at most maxLocator of
// them, and never "null" (which Salesforce sends for "no more chunks").
func checkLocator(loc string) error {
	if loc != "" && len(loc) <= maxLocator && loc != "null" && alnum(loc, true) {
		return nil
	}
	return &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "INVALID_LOCATOR",
		Message: fmt.Sprintf("%.80q is not a Salesforce bulk results locator", loc)}
}

// alnum reports whether s has only ASCII letters and digits (and, with
// base64, the signs + / =).
func alnum(s string, base64 bool) bool {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
		case base64 && (b == '+' || b == '/' || b == '='):
		default:
			return false
		}
	}
	return true
}

// waitJob polls a Bulk API 2.0 job (kind "query" or "ingest") until it
// reaches a terminal state (JobComplete, Failed or Aborted) and returns
// that last job info; the caller judges the state. The first poll is
// immediate, then the delay starts at the Client's poll delay and doubles
// up to its maximum; with a zero delay (tests against the fake) polls
// follow each other at once. A done ctx ends the wait with ctx.Err().
func (c *Client) waitJob(ctx context.Context, kind, id string) (*jobInfo, error) {
	delay := c.bulkPoll
	target := c.data + "/jobs/" + kind + "/" + url.PathEscape(id)
	for {
		var job jobInfo
		if err := c.doJSON(ctx, http.MethodGet, target, nil, &job, "bulk job "+id); err != nil {
			return nil, err
		}
		switch job.State {
		case "JobComplete", "Failed", "Aborted":
			return &job, nil
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("salesforce: waiting for bulk job %s: %w", id, ctx.Err())
			case <-t.C:
			}
			delay = min(delay*2, max(c.bulkPollMax, delay))
		} else if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("salesforce: waiting for bulk job %s: %w", id, err)
		}
	}
}

// bulkChunkRead streams one results chunk of job id into yield, asking
// for at most maxRecords records when positive. It returns the next
// locator (empty after the last chunk) and whether to go on (false when
// the chunk was the last or yield asked to stop). id and locator must have
// passed checkJobID and checkLocator or come from Salesforce.
func (c *Client) bulkChunkRead(ctx context.Context, id, locator string, maxRecords int, includeDeleted bool, ahead func(string), yield func(providers.Record, error) bool) (string, bool, error) {
	q := url.Values{}
	if maxRecords > 0 {
		q.Set("maxRecords", strconv.Itoa(maxRecords))
	}
	if locator != "" {
		q.Set("locator", locator)
	}
	target := c.data + "/jobs/query/" + url.PathEscape(id) + "/results"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", false, fmt.Errorf("salesforce: bulk results %s: %w", id, err)
	}
	hr.Header.Set("Accept", "text/csv")
	resp, err := c.do(hr, "bulk results "+id)
	if err != nil {
		return "", false, err
	}
	defer drain(resp.Body)
	// Salesforce names the next chunk, or sends "null" after the last. A
	// header missing or malformed would end the read early or be refused
	// on resumption: neither is taken for the end.
	next := resp.Header.Get("Sforce-Locator")
	if next == "null" {
		next = ""
	} else if checkLocator(next) != nil {
		return "", false, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Status: resp.StatusCode,
			Message: fmt.Sprintf("bulk results %s: Sforce-Locator %.80q is not a results locator", id, next)}
	}
	if ahead != nil && next != "" {
		ahead(next)
	}
	more, err := streamCSV(resp.Body, includeDeleted, yield)
	if err != nil {
		if ctx.Err() != nil {
			return "", false, fmt.Errorf("salesforce: bulk results %s: %w", id, ctx.Err())
		}
		return "", false, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode,
			Message: "bulk results " + id + ": reading the CSV", Err: err}
	}
	return next, more && next != "", nil
}

// streamCSV yields the records of one CSV results chunk. It returns false
// when yield asked to stop.
func streamCSV(r io.Reader, includeDeleted bool, yield func(providers.Record, error) bool) (bool, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	names := make([]string, len(header))
	lower := make([]string, len(header))
	quoted := make([][]byte, len(header))
	idCol, modCol, delCol := -1, -1, -1
	for i, h := range header {
		names[i] = strings.Clone(h)
		lower[i] = strings.ToLower(h)
		quoted[i], _ = json.Marshal(names[i])
		switch lower[i] {
		case "id":
			idCol = i
		case "systemmodstamp":
			modCol = i
		case "isdeleted":
			delCol = i
		}
	}
	cr.FieldsPerRecord = len(header)
	var raw []byte
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		rec := providers.Record{Fields: make(map[string]any, len(row))}
		raw = append(raw[:0], '{')
		for i, v := range row {
			if i > 0 {
				raw = append(raw, ',')
			}
			raw = append(raw, quoted[i]...)
			raw = append(raw, ':')
			if v == "" {
				rec.Fields[lower[i]] = nil
				raw = append(raw, "null"...)
				continue
			}
			rec.Fields[lower[i]] = v
			raw = jsonw.AppendString(raw, v)
		}
		raw = append(raw, '}')
		rec.Raw = json.RawMessage(append([]byte(nil), raw...))
		if idCol >= 0 {
			rec.ID = row[idCol]
		}
		if modCol >= 0 && row[modCol] != "" {
			if t, err := ParseTime(row[modCol]); err == nil {
				rec.ModifiedAt = t
			}
		}
		if delCol >= 0 && row[delCol] == "true" {
			rec.Deleted = true
			if !includeDeleted {
				continue
			}
		}
		if !yield(rec, nil) {
			return false, nil
		}
	}
}
