package salesforce

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
)

// Bulk API 2.0 ingest (BulkWrite).
//
// A job goes: POST /jobs/ingest (state Open) -> PUT .../batches with the
// CSV -> PATCH state UploadComplete -> poll GET /jobs/ingest/{id} until
// JobComplete, Failed or Aborted -> GET successfulResults/, failedResults/
// and unprocessedrecords/ (CSV).
//
// Mapping results back to input positions. Salesforce echoes no index: each
// results row carries sf__Id (and sf__Created or sf__Error) followed by the
// row's fields "as provided in the original job data", and Salesforce
// documents that "the order of records in the response is not guaranteed to
// match the ordering of records in the original job data" (it splits a job
// into internal batches of 10,000 processed in parallel). A correlation
// column is not possible either: a column that is not a field of the object
// fails the whole job (InvalidBatch : Field name not found). So BulkWrite
// matches rows by content:
//
//   - Every uploaded record is re-encoded with the same deterministic
//     encoding as the upload (cellValue) and compared with the echoed
//     cells, matched to upload columns by header name (case-insensitive), not
//     by position. Cells are compared after trimming surrounding white space
//     and turning CRLF into LF (what encoding/csv does when reading), so the
//     match survives those normalisations and nothing else.
//   - Results usually come in upload order within a file, so each file keeps
//     a cursor: the record after the previous match is tried first, at the
//     cost of one re-encoding and no index. On a miss, a content-hash index
//     of all uploaded records (built once, on first need: 8 bytes of key
//     plus 4 of chain per record) is consulted; candidates with the same hash
//     are verified cell by cell, so a hash collision cannot mis-assign.
//   - Identical input rows are interchangeable: each result goes to the
//     earliest identical record without a result yet. Which of two identical
//     rows got which new id, or which one failed, is then only decided by
//     Salesforce's per-file order (preserved within an internal batch); the
//     records themselves cannot be told apart in the upload either.
//   - For update, upsert and delete, a row whose content matches nothing is
//     matched on the key column (Id or the external id) alone, in case
//     Salesforce normalised some other value in its echo.
//   - A record left without a result (Salesforce skips results for batches
//     beyond the daily batch allocation) gets an error NO_RESULT of kind
//     unknown: it may or may not have been written.
//
// The CSV is streamed to the PUT from the records (no second copy of the
// data), with GetBody so the auth client can replay it after a refresh.

// maxIngestUpload is Bulk API 2.0's cap on one job's upload (150 MB).
const maxIngestUpload = 150_000_000

// errUploadTooLarge ends an upload that would pass maxIngestUpload.
var errUploadTooLarge = errors.New("the CSV exceeds Bulk API 2.0's 150 MB upload limit per job; split the records into smaller BulkWrite calls")

// Interface guard.
var _ providers.BulkWriter = (*Client)(nil)

// ingestRequest is the body of POST /jobs/ingest.
type ingestRequest struct {
	Object              string `json:"object"`
	Operation           string `json:"operation"`
	ExternalIDFieldName string `json:"externalIdFieldName,omitempty"`
	ContentType         string `json:"contentType"`
	LineEnding          string `json:"lineEnding"`
	ColumnDelimiter     string `json:"columnDelimiter"`
}

// BulkWrite writes req through one Bulk API 2.0 ingest job (operation
// insert, update, upsert on req.UpsertKey as externalIdFieldName, or
// delete) and returns one result per input record, in input order. It
// blocks until the job ends or ctx is done; when it gives up on a job it
// has created (ctx done, a failed upload or poll), it aborts the job (best
// effort, PATCH state Aborted) and names it in the error, since records may
// already have been written.
//
// The CSV's columns are the union of the records' field names (matched
// case-insensitively, the first spelling seen is used), in a stable order:
// the key column first (Id from WriteRecord.ID for update and delete, the
// upsert key for upsert), then the others sorted by name. Delete uploads
// the Id column only. A field absent from a record is an empty cell, which
// Bulk API leaves unchanged (update) or unset (insert); a nil value or an
// empty string is written as #N/A, which sets the field to null (as an
// empty string does through the REST API).
//
// Records that cannot be uploaded get a per-record error without a call:
// update and delete without ID, upsert without a key value
// (MISSING_ARGUMENT), insert without fields, and a record naming the same
// field twice in different case (INVALID_FIELD). Per-record failures from
// Salesforce come from failedResults' sf__Error ("CODE:message:fields --")
// as RecordError{Code, Message, Fields, Kind}; unprocessed records get
// NOT_PROCESSED (retryable: they were not written). See the comment at the
// top of this file for how results are mapped back to input positions.
//
// Bulk API 2.0 ingest has no all-or-none mode, so req.AllOrNone is refused
// with KindInvalid (Write honours it, 200 records per call). A job that
// ends Failed is a request-level error: kind invalid for rejected input
// (InvalidBatch, ClientInputError...), retryable when Salesforce failed
// without processing a record, unknown when some records were processed.
// An upload over 150 MB is refused with KindInvalid.
func (c *Client) BulkWrite(ctx context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	what := fmt.Sprintf("bulk %s of %d %s records", req.Op, len(req.Records), req.Object)
	if req.AllOrNone {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "ALL_OR_NONE_UNSUPPORTED",
			Message: what + ": Bulk API 2.0 ingest has no all-or-none mode; use Write (sObject Collections, 200 records per call) for atomic batches"}
	}
	if req.Object == "" {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: what + ": WriteRequest.Object is empty"}
	}
	p, err := newIngestPlan(req)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: what + ": " + err.Error()}
	}
	if len(p.upload) == 0 {
		return p.results, nil
	}

	var job jobInfo
	body := ingestRequest{Object: APIObjectName(req.Object), Operation: p.sfOp, ContentType: "CSV", LineEnding: "LF", ColumnDelimiter: "COMMA"}
	if req.Op == providers.WriteUpsert {
		body.ExternalIDFieldName = req.UpsertKey
	}
	if err := c.doJSON(ctx, http.MethodPost, c.data+"/jobs/ingest", body, &job, what+": creating the job"); err != nil {
		return nil, err
	}
	if job.ID == "" {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Message: what + ": the job info has no id"}
	}
	jobURL := c.data + "/jobs/ingest/" + url.PathEscape(job.ID)
	// From here on the job exists and may apply records whatever happens
	// to this call.
	fail := func(err error) ([]providers.WriteResult, error) {
		return nil, fmt.Errorf("ingest job %s%s: %w: %w", job.ID, c.abortJob(ctx, jobURL), providers.ErrOutcomeUnknown, err)
	}

	if err := c.uploadCSV(ctx, p, c.contentURL(&job, jobURL), what); err != nil {
		return fail(err)
	}
	if err := c.doJSON(ctx, http.MethodPatch, jobURL, map[string]string{"state": "UploadComplete"}, nil, what+": closing the job"); err != nil {
		return fail(err)
	}
	done, err := c.waitJob(ctx, "ingest", job.ID)
	if err != nil {
		return fail(err)
	}
	switch done.State {
	case "Failed":
		return nil, fmt.Errorf("%w: %w", providers.ErrOutcomeUnknown, done.ingestFailure())
	case "Aborted":
		return nil, fmt.Errorf("%w: %w", providers.ErrOutcomeUnknown, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Code: "JOB_ABORTED",
			Message: fmt.Sprintf("%s: ingest job %s was aborted after processing %d records", what, done.ID, done.NumberRecordsProcessed)})
	}

	m := &matcher{p: p, seed: maphash.MakeSeed()}
	processed, failed := int(done.NumberRecordsProcessed), int(done.NumberRecordsFailed)
	// When the counts say every uploaded record was processed, results
	// files they say are empty are not fetched: each call counts against
	// the daily allocation.
	all := processed == len(p.upload)
	files := []struct {
		name string
		kind resultKind
		skip bool
	}{
		{"successfulResults/", resultSuccess, all && processed == failed},
		{"failedResults/", resultFailed, all && failed == 0},
		{"unprocessedrecords/", resultUnprocessed, all},
	}
	for _, f := range files {
		if f.skip {
			continue
		}
		if err := c.readResults(ctx, jobURL+"/"+f.name, f.kind, m, what); err != nil {
			return nil, fmt.Errorf("ingest job %s: %w", job.ID, err)
		}
	}
	for i := range p.results {
		if !p.done[i] {
			p.results[i] = providers.WriteResult{ID: p.keyID(i), Errors: []providers.RecordError{{Code: "NO_RESULT", Kind: providers.KindUnknown,
				Message: fmt.Sprintf("ingest job %s returned no result for this record (%d result rows matched no record); it may or may not have been written", job.ID, m.unmatched)}}}
		}
	}
	return p.results, nil
}

// contentURL is where the job's CSV goes: the job's contentUrl when it is
// one of this API's paths, else the documented one.
func (c *Client) contentURL(job *jobInfo, jobURL string) string {
	if u := strings.TrimPrefix(job.ContentURL, "/"); strings.HasPrefix(u, "services/data/") {
		return c.base + "/" + u
	}
	return jobURL + "/batches"
}

// abortJob aborts a job BulkWrite gives up on, with its own short deadline
// (ctx may be done already), and says how it went for the error message.
func (c *Client) abortJob(ctx context.Context, jobURL string) string {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.doJSON(actx, http.MethodPatch, jobURL, map[string]string{"state": "Aborted"}, nil, "aborting the job"); err != nil {
		return fmt.Sprintf(" (not aborted: %v)", err)
	}
	return " (aborted)"
}

// uploadCSV streams the plan's CSV to the job.
func (c *Client) uploadCSV(ctx context.Context, p *ingestPlan, target, what string) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPut, target, newCSVBody(p))
	if err != nil {
		return fmt.Errorf("salesforce: %s: %w", what, err)
	}
	hr.GetBody = func() (io.ReadCloser, error) { return newCSVBody(p), nil }
	hr.ContentLength = -1
	hr.Header.Set("Content-Type", "text/csv")
	hr.Header.Set("Accept", "application/json")
	resp, err := c.do(hr, what+": uploading the CSV")
	if err != nil {
		// The transport returns the body's error (wrapped in *url.Error).
		if errors.Is(err, errUploadTooLarge) {
			return &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: what, Err: errUploadTooLarge}
		}
		return err
	}
	drain(resp.Body)
	return nil
}

// ingestFailure classifies a job that ended Failed. Its errorMessage reads
// "InvalidBatch : Field name not found : X": the part before " : " is the
// code.
func (j *jobInfo) ingestFailure() error {
	code, _, ok := strings.Cut(j.ErrorMessage, " : ")
	code = strings.TrimSpace(code)
	if !ok || code == "" || strings.ContainsAny(code, " \t") {
		code = "JOB_FAILED"
	}
	e := &providers.Error{Provider: Name, Code: code,
		Message: fmt.Sprintf("ingest job %s failed after processing %d records (%d failed): %s", j.ID, j.NumberRecordsProcessed, j.NumberRecordsFailed, j.ErrorMessage)}
	switch {
	case strings.HasPrefix(code, "Invalid") || code == "ClientInputError" || code == "FeatureNotEnabled":
		// The upload was refused: nothing more will come of retrying it.
		e.Kind = providers.KindInvalid
	case j.NumberRecordsProcessed == 0:
		// Salesforce failed (timeouts after 20 retries of a batch, an
		// internal error) without writing anything: retrying is safe.
		e.Kind = providers.KindRetryable
	default:
		// Some records were written: retrying could write them twice.
		e.Kind = providers.KindUnknown
	}
	return e
}

// ingestPlan is one BulkWrite: the columns, which records go up, and the
// results being filled in.
type ingestPlan struct {
	op      providers.WriteOp
	sfOp    string
	records []providers.WriteRecord
	// cols are the CSV header names, in upload order.
	cols []string
	// colOf maps a field name as spelled in the records to its column, or
	// -1 for names that are not uploaded (an Id field for update).
	colOf map[string]int
	// idCol: column 0 holds WriteRecord.ID (update and delete).
	idCol bool
	// upload lists the records uploaded, in upload order.
	upload  []int32
	results []providers.WriteResult
	done    []bool
}

func newIngestPlan(req providers.WriteRequest) (*ingestPlan, error) {
	p := &ingestPlan{op: req.Op, records: req.Records, colOf: map[string]int{},
		results: make([]providers.WriteResult, len(req.Records)), done: make([]bool, len(req.Records))}
	switch req.Op {
	case providers.WriteCreate:
		p.sfOp = "insert"
	case providers.WriteUpdate:
		p.sfOp, p.idCol, p.cols = "update", true, []string{"Id"}
	case providers.WriteDelete:
		p.sfOp, p.idCol, p.cols = "delete", true, []string{"Id"}
	case providers.WriteUpsert:
		if strings.TrimSpace(req.UpsertKey) == "" {
			return nil, errors.New("UpsertKey is empty")
		}
		p.sfOp, p.cols = "upsert", []string{req.UpsertKey}
	default:
		return nil, fmt.Errorf("unknown write op %q", req.Op)
	}
	byLower := map[string]int{}
	if len(p.cols) > 0 {
		byLower[strings.ToLower(p.cols[0])] = 0
	}
	if req.Op != providers.WriteDelete {
		// The other columns, sorted by lower-case name so the order does
		// not depend on map iteration.
		lowerOf := map[string]string{}
		var extra []string
		for i := range p.records {
			for k := range p.records[i].Fields {
				if _, ok := lowerOf[k]; ok {
					continue
				}
				l := strings.ToLower(k)
				lowerOf[k] = l
				if _, ok := byLower[l]; ok || p.idCol && l == "id" {
					continue
				}
				byLower[l] = -1
				extra = append(extra, k)
			}
		}
		slices.SortFunc(extra, func(a, b string) int { return strings.Compare(lowerOf[a], lowerOf[b]) })
		for _, k := range extra {
			byLower[lowerOf[k]] = len(p.cols)
			p.cols = append(p.cols, k)
		}
		for k, l := range lowerOf {
			j, ok := byLower[l]
			if !ok || p.idCol && l == "id" {
				j = -1
			}
			p.colOf[k] = j
		}
	}
	p.upload = make([]int32, 0, len(p.records))
	seen := make([]int32, len(p.cols)) // seen[col] == i+1: record i has the column
	for i := range p.records {
		if e := p.check(i, seen); e != nil {
			p.results[i] = providers.WriteResult{ID: p.keyID(i), Errors: []providers.RecordError{*e}}
			p.done[i] = true
			continue
		}
		p.upload = append(p.upload, int32(i))
	}
	return p, nil
}

// check returns why record i cannot be uploaded, or nil.
func (p *ingestPlan) check(i int, seen []int32) *providers.RecordError {
	r := &p.records[i]
	missing := func(msg string) *providers.RecordError {
		return &providers.RecordError{Code: "MISSING_ARGUMENT", Message: msg, Kind: providers.KindInvalid}
	}
	switch p.op {
	case providers.WriteUpdate, providers.WriteDelete:
		if r.ID == "" {
			return missing("Id not specified in an " + p.sfOp + " call")
		}
		if p.op == providers.WriteDelete {
			return nil
		}
	case providers.WriteCreate:
		if len(r.Fields) == 0 {
			return missing("the record has no fields to insert")
		}
	}
	hasKey := false
	for k, v := range r.Fields {
		j := p.colOf[k]
		if j < 0 {
			continue
		}
		if seen[j] == int32(i+1) {
			return &providers.RecordError{Code: "INVALID_FIELD", Kind: providers.KindInvalid, Fields: []string{p.cols[j]},
				Message: fmt.Sprintf("field %s is given more than once (in different case)", p.cols[j])}
		}
		seen[j] = int32(i + 1)
		if p.op == providers.WriteUpsert && j == 0 && v != nil && v != "" {
			hasKey = true
		}
	}
	if p.op == providers.WriteUpsert && !hasKey {
		e := missing(p.cols[0] + " not specified")
		e.Fields = []string{p.cols[0]}
		return e
	}
	return nil
}

// keyID is the id to report for record i when Salesforce gives none.
func (p *ingestPlan) keyID(i int) string {
	if p.idCol {
		return p.records[i].ID
	}
	return ""
}

// rowCells fills row with record i's cells in column order.
func (p *ingestPlan) rowCells(i int, row []string) []string {
	row = slices.Grow(row[:0], len(p.cols))[:len(p.cols)]
	clear(row)
	r := &p.records[i]
	if p.idCol {
		row[0] = r.ID
	}
	if p.op != providers.WriteDelete {
		for k, v := range r.Fields {
			if j := p.colOf[k]; j >= 0 {
				row[j] = cellValue(v)
			}
		}
	}
	return row
}

// cellValue is how a field value is written to the CSV: #N/A (Bulk API's
// null) for nil and "", datetimes in UTC with milliseconds, numbers without
// exponent, JSON text for anything else.
func cellValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "#N/A"
	case string:
		if x == "" {
			return "#N/A"
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case json.Number:
		return x.String()
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// csvBody encodes the plan's CSV as it is read, a few rows at a time.
type csvBody struct {
	p      *ingestPlan
	next   int // upload position of the next row
	header bool
	buf    bytes.Buffer
	cw     *csv.Writer
	row    []string
	read   int64
	err    error
}

func newCSVBody(p *ingestPlan) *csvBody {
	b := &csvBody{p: p}
	b.cw = csv.NewWriter(&b.buf)
	return b
}

func (b *csvBody) Read(out []byte) (int, error) {
	for b.buf.Len() < len(out) && b.err == nil && (!b.header || b.next < len(b.p.upload)) {
		if !b.header {
			b.header = true
			b.err = b.cw.Write(b.p.cols)
		}
		for n := 0; n < 64 && b.next < len(b.p.upload) && b.err == nil; n++ {
			b.row = b.p.rowCells(int(b.p.upload[b.next]), b.row)
			b.next++
			b.err = b.cw.Write(b.row)
		}
		b.cw.Flush()
		if b.err == nil {
			b.err = b.cw.Error()
		}
	}
	if b.buf.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	n, _ := b.buf.Read(out)
	b.read += int64(n)
	if b.read > maxIngestUpload {
		b.err = errUploadTooLarge
		b.buf.Reset()
		return n, b.err
	}
	return n, nil
}

func (b *csvBody) Close() error { return nil }

// resultKind is which results file a row comes from.
type resultKind int

const (
	resultSuccess resultKind = iota
	resultFailed
	resultUnprocessed
)

// readResults streams one results file into the plan's results.
func (c *Client) readResults(ctx context.Context, target string, kind resultKind, m *matcher, what string) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	hr.Header.Set("Accept", "text/csv")
	resp, err := c.do(hr, what+": reading results")
	if err != nil {
		return err
	}
	defer drain(resp.Body)
	if err := m.consume(resp.Body, kind); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode,
			Message: what + ": reading the results CSV " + target[strings.LastIndexByte(strings.TrimSuffix(target, "/"), '/')+1:], Err: err}
	}
	return nil
}

// matcher maps results rows to input records (see the top of the file).
type matcher struct {
	p    *ingestPlan
	seed maphash.Seed
	// head and next chain the uploaded records by content hash, in input
	// order; keyHead and keyNext by the key column alone. Built on first
	// need.
	head              map[uint64]int32
	next              []int32
	keyHead           map[uint64]int32
	keyNext           []int32
	scratch, scratch2 []string
	set               []bool
	num               []byte
	unmatched         int
}

// consume reads one results CSV.
func (m *matcher) consume(r io.Reader, kind resultKind) error {
	p := m.p
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	idCol, createdCol, errCol := -1, -1, -1
	perm := make([]int, len(header)) // results column -> upload column, or -1
	covered := make([]bool, len(p.cols))
	byLower := make(map[string]int, len(p.cols))
	for j, c := range p.cols {
		byLower[strings.ToLower(c)] = j
	}
	for i, h := range header {
		perm[i] = -1
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "sf__id":
			idCol = i
			continue
		case "sf__created":
			createdCol = i
			continue
		case "sf__error":
			errCol = i
			continue
		}
		if j, ok := byLower[strings.ToLower(strings.TrimSpace(h))]; ok && !covered[j] {
			perm[i], covered[j] = j, true
		}
	}
	exact := !slices.Contains(covered, false)
	keyed := p.op != providers.WriteCreate && len(covered) > 0 && covered[0]
	if !exact && !keyed {
		return fmt.Errorf("the results header %q does not name the uploaded columns %q", header, p.cols)
	}
	row := make([]string, len(p.cols))
	cursor := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		clear(row)
		for i, v := range rec {
			if i < len(perm) && perm[i] >= 0 {
				row[perm[i]] = v
			}
		}
		i := -1
		if exact {
			i = m.byContent(row, &cursor)
		}
		if i < 0 && keyed {
			i = m.byKey(row[0])
		}
		if i < 0 {
			m.unmatched++
			continue
		}
		p.done[i] = true
		cell := func(c int) string {
			if c >= 0 && c < len(rec) {
				return rec[c]
			}
			return ""
		}
		id := strings.TrimSpace(cell(idCol))
		if id == "" {
			id = p.keyID(i)
		}
		switch kind {
		case resultSuccess:
			p.results[i] = providers.WriteResult{Success: true, ID: strings.Clone(id), Created: strings.EqualFold(cell(createdCol), "true")}
		case resultFailed:
			p.results[i] = providers.WriteResult{ID: strings.Clone(id), Errors: []providers.RecordError{parseBulkError(cell(errCol))}}
		case resultUnprocessed:
			p.results[i] = providers.WriteResult{ID: p.keyID(i), Errors: []providers.RecordError{{Code: "NOT_PROCESSED", Kind: providers.KindRetryable,
				Message: "Salesforce did not process the record (the job ended before reaching it); it was not written"}}}
		}
	}
}

// norm is how cells are compared: without surrounding white space, with
// LF line ends.
func norm(s string) string {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return s
}

func (m *matcher) hashRow(row []string) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, c := range row {
		_, _ = h.WriteString(norm(c))
		_ = h.WriteByte(0)
	}
	return h.Sum64()
}

// equal reports whether record i's cells are row's. It compares values
// as rowCells would encode them, without building the row.
func (m *matcher) equal(i int, row []string) bool {
	p := m.p
	r := &p.records[i]
	m.set = slices.Grow(m.set[:0], len(p.cols))[:len(p.cols)]
	clear(m.set)
	if p.idCol {
		if norm(r.ID) != norm(row[0]) {
			return false
		}
		m.set[0] = true
	}
	if p.op != providers.WriteDelete {
		for k, v := range r.Fields {
			j := p.colOf[k]
			if j < 0 {
				continue
			}
			m.set[j] = true
			var cell string
			switch x := v.(type) {
			case string:
				cell = x
				if x == "" {
					cell = "#N/A"
				}
			case float64:
				m.num = strconv.AppendFloat(m.num[:0], x, 'f', -1, 64)
				if string(m.num) != norm(row[j]) {
					return false
				}
				continue
			default:
				cell = cellValue(v)
			}
			if norm(cell) != norm(row[j]) {
				return false
			}
		}
	}
	for j, set := range m.set {
		if !set && norm(row[j]) != "" {
			return false
		}
	}
	return true
}

// byContent finds the first record without a result whose cells are row's:
// the one after the previous match first, then through the hash index.
func (m *matcher) byContent(row []string, cursor *int) int {
	p := m.p
	if i := *cursor; i < len(p.records) && !p.done[i] && m.equal(i, row) {
		*cursor = i + 1
		return i
	}
	if m.head == nil {
		m.head = make(map[uint64]int32, len(p.upload))
		m.next = make([]int32, len(p.records))
		for k := len(p.upload) - 1; k >= 0; k-- {
			i := p.upload[k]
			m.scratch2 = p.rowCells(int(i), m.scratch2)
			h := m.hashRow(m.scratch2)
			m.next[i] = -1
			if j, ok := m.head[h]; ok {
				m.next[i] = j
			}
			m.head[h] = i
		}
	}
	h := m.hashRow(row)
	first, ok := m.head[h]
	if !ok {
		return -1
	}
	// Skip the chain's records that have results already.
	for first >= 0 && p.done[first] {
		first = m.next[first]
	}
	m.head[h] = first
	for i := first; i >= 0; i = m.next[i] {
		if !p.done[i] && m.equal(int(i), row) {
			*cursor = int(i) + 1
			return int(i)
		}
	}
	return -1
}

// byKey finds the first record without a result whose key cell (Id or the
// upsert key) is key.
func (m *matcher) byKey(key string) int {
	p := m.p
	hash := func(s string) uint64 { return maphash.String(m.seed, norm(s)) }
	if m.keyHead == nil {
		m.keyHead = make(map[uint64]int32, len(p.upload))
		m.keyNext = make([]int32, len(p.records))
		for k := len(p.upload) - 1; k >= 0; k-- {
			i := p.upload[k]
			m.scratch2 = p.rowCells(int(i), m.scratch2)
			h := hash(m.scratch2[0])
			m.keyNext[i] = -1
			if j, ok := m.keyHead[h]; ok {
				m.keyNext[i] = j
			}
			m.keyHead[h] = i
		}
	}
	want := norm(key)
	for i, ok := m.keyHead[hash(key)]; ok && i >= 0; i = m.keyNext[i] {
		if p.done[i] {
			continue
		}
		m.scratch = p.rowCells(int(i), m.scratch)
		if norm(m.scratch[0]) == want {
			return int(i)
		}
	}
	return -1
}

// parseBulkError parses a failedResults sf__Error cell,
// "STATUS_CODE:message:field,field --" (the field list may be empty).
func parseBulkError(s string) providers.RecordError {
	e := providers.RecordError{Message: strings.TrimSpace(s), Kind: providers.KindInvalid}
	code, rest, ok := strings.Cut(s, ":")
	if !ok || !isStatusCode(code) {
		return e
	}
	e.Code = code
	rest = strings.TrimSpace(rest)
	if body, ok := strings.CutSuffix(rest, "--"); ok {
		body = strings.TrimSpace(body)
		if j := strings.LastIndexByte(body, ':'); j >= 0 {
			for f := range strings.SplitSeq(body[j+1:], ",") {
				if f = strings.TrimSpace(f); f != "" {
					e.Fields = append(e.Fields, f)
				}
			}
			body = strings.TrimSpace(body[:j])
		}
		rest = body
	}
	e.Message = rest
	if k, ok := kindForCode(code); ok {
		e.Kind = k
	}
	return e
}

func isStatusCode(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
