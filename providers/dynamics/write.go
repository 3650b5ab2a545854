package dynamics

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/ampforge/amp/providers"
)

// Writes go through $batch, one request per batch of up to MaxBatch
// records, rather than CreateMultiple/UpdateMultiple:
//   - $batch carries every operation the Writer has (create POST, update
//     PATCH with If-Match: *, upsert PATCH without it by alternate key or
//     primary key, DELETE) on
//     every table, where CreateMultiple/UpdateMultiple/UpsertMultiple do not
//     delete and are not available on every table;
//   - it answers per operation, in order, with the same status codes and
//     OData error bodies as single requests, so partial failures are per
//     record;
//   - AllOrNone maps onto one change set (one transaction: all or none);
//     without it each operation is its own part and the batch is sent with
//     Prefer: odata.continue-on-error, so one failure does not stop the
//     rest.

// MaxBatch is the most records one Write carries: the catalog's $batch
// limit.
func (c *Client) MaxBatch() int { return spec.Batch.WriteBatchSize }

// SupportsAllOrNone is true: a change set is all or none.
func (c *Client) SupportsAllOrNone() bool { return true }

// batchOp is one operation of a $batch, for input record index.
type batchOp struct {
	index  int
	method string
	url    string
	header http.Header
	body   []byte
}

// Write applies one batch.
func (c *Client) Write(ctx context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	if len(req.Records) == 0 {
		return nil, nil
	}
	if len(req.Records) > c.MaxBatch() {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("%d records in one write; at most %d", len(req.Records), c.MaxBatch())}
	}
	set := strings.ToLower(req.Object)
	id, err := c.primaryID(ctx, set)
	if err != nil {
		return nil, err
	}
	results := make([]providers.WriteResult, len(req.Records))
	ops := make([]batchOp, 0, len(req.Records))
	invalid := false
	for i, r := range req.Records {
		o, rerr := c.buildOp(set, id, req, r)
		if rerr != nil {
			results[i] = providers.WriteResult{ID: r.ID, Errors: []providers.RecordError{*rerr}}
			invalid = true
			continue
		}
		o.index = i
		ops = append(ops, o)
	}
	if req.AllOrNone && invalid {
		for i := range results {
			if len(results[i].Errors) == 0 {
				results[i] = rolledBack(req.Records[i].ID, "another record of the all-or-none batch is invalid")
			}
		}
		return results, nil
	}
	if len(ops) == 0 {
		return results, nil
	}
	body, boundary, err := encodeBatch(ops, req.AllOrNone)
	if err != nil {
		return nil, fmt.Errorf("dynamics: encoding $batch: %w", err)
	}
	header := http.Header{"Content-Type": {"multipart/mixed; boundary=" + boundary}}
	if !req.AllOrNone {
		header.Set("Prefer", "odata.continue-on-error")
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, url: "$batch", header: header, body: body})
	if err != nil {
		return nil, err
	}
	defer done(resp)
	parts, err := decodeBatch(resp)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode, Message: "malformed $batch response", Err: err}
	}
	answered := make([]bool, len(ops))
	for k, p := range parts {
		j := k
		if n, err := strconv.Atoi(p.contentID); err == nil && n >= 1 && n <= len(ops) {
			j = n - 1
		}
		if j >= len(ops) {
			continue
		}
		answered[j] = true
		o := ops[j]
		results[o.index] = opResult(p, id, req.Op, req.Records[o.index])
		if req.AllOrNone && !p.changeset && p.status >= 400 {
			// The change set failed as a whole: this operation says why,
			// every other one was rolled back.
			for m, other := range ops {
				if m != j {
					answered[m] = true
					res := rolledBack(req.Records[other.index].ID, "rolled back because record "+strconv.Itoa(o.index)+" failed: "+results[o.index].Errors[0].Message)
					res.Errors[0].Kind = results[o.index].Errors[0].Kind
					results[other.index] = res
				}
			}
			break
		}
	}
	for j, o := range ops {
		if !answered[j] {
			results[o.index] = providers.WriteResult{ID: req.Records[o.index].ID, Errors: []providers.RecordError{{
				Code: "not_executed", Message: "the $batch stopped before this operation", Kind: providers.KindRetryable,
			}}}
		}
	}
	return results, nil
}

func rolledBack(id, why string) providers.WriteResult {
	return providers.WriteResult{ID: id, Errors: []providers.RecordError{{Code: "rolled_back", Message: why, Kind: providers.KindInvalid}}}
}

// buildOp turns one record into a request of the batch.
func (c *Client) buildOp(set, id string, req providers.WriteRequest, r providers.WriteRecord) (batchOp, *providers.RecordError) {
	bad := func(msg string) (batchOp, *providers.RecordError) {
		return batchOp{}, &providers.RecordError{Code: "invalid_request", Message: msg, Kind: providers.KindInvalid}
	}
	o := batchOp{header: http.Header{}}
	fields := make(map[string]any, len(r.Fields))
	for k, v := range r.Fields {
		if strings.IndexByte(k, '@') < 0 {
			k = strings.ToLower(k)
		}
		fields[k] = v
	}
	var err error
	switch req.Op {
	case providers.WriteCreate:
		o.method, o.url = http.MethodPost, c.api+set
		delete(fields, id)
	case providers.WriteUpdate:
		if r.ID == "" {
			return bad("an update needs the record id")
		}
		o.method, o.url = http.MethodPatch, c.api+set+"("+r.ID+")"
		o.header.Set("If-Match", "*") // update only: a missing id is a 404, not a create
		delete(fields, id)
	case providers.WriteUpsert:
		keyName := strings.ToLower(req.UpsertKey)
		if keyName == "" {
			return bad("an upsert needs UpsertKey")
		}
		v, ok := fields[keyName]
		if !ok || v == nil {
			return bad("the record has no value for the upsert key " + keyName)
		}
		// No If-Match: a PATCH without it is Dataverse's upsert (update
		// the row, or create it). Prefer: return=representation makes the
		// answer say which (201 created, 200 updated) and carry the id.
		o.method = http.MethodPatch
		o.header.Set("Prefer", "return=representation")
		if keyName == id {
			// By primary key: the row is created under the client's GUID.
			g, ok := v.(string)
			if !ok || !isGUID(g) {
				return bad(fmt.Sprintf("the upsert key %s needs a GUID, not %v", keyName, v))
			}
			o.url = c.api + set + "(" + strings.ToLower(g) + ")?$select=" + id
			delete(fields, id)
			break
		}
		var lit string
		switch x := v.(type) {
		case string:
			lit = odataQuote(x)
		case float64, int, int64, bool:
			lit = fmt.Sprint(x)
		default:
			return bad(fmt.Sprintf("the upsert key %s has a %T value", keyName, v))
		}
		o.url = c.api + set + "(" + keyName + "=" + escapeKey(lit) + ")?$select=" + id
	case providers.WriteDelete:
		if r.ID == "" {
			return bad("a delete needs the record id")
		}
		o.method, o.url = http.MethodDelete, c.api+set+"("+r.ID+")"
		return o, nil
	default:
		return bad("unknown write operation " + string(req.Op))
	}
	if o.body, err = json.Marshal(fields); err != nil {
		return bad("the record's fields are not JSON: " + err.Error())
	}
	return o, nil
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// escapeKey escapes an alternate-key literal for a URL path.
func escapeKey(lit string) string {
	var b strings.Builder
	for i := 0; i < len(lit); i++ {
		ch := lit[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"#%&/?\`+"`"+`<>{}|^+`, ch) >= 0 {
			fmt.Fprintf(&b, "%%%02X", ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func newBoundary(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// encodeBatch writes the multipart/mixed $batch body: one change set
// holding every operation (allOrNone), or one part per operation.
func encodeBatch(ops []batchOp, allOrNone bool) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(newBoundary("batch_")); err != nil {
		return nil, "", err
	}
	target := mw
	var cs *multipart.Writer
	var csBuf bytes.Buffer
	if allOrNone {
		cs = multipart.NewWriter(&csBuf)
		if err := cs.SetBoundary(newBoundary("changeset_")); err != nil {
			return nil, "", err
		}
		target = cs
	}
	for j, o := range ops {
		h := textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}, "Content-ID": {strconv.Itoa(j + 1)}}
		pw, err := target.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", o.method, o.url)
		if o.body != nil {
			b.WriteString("Content-Type: application/json; type=entry\r\n")
		}
		for k, vs := range o.header {
			for _, v := range vs {
				fmt.Fprintf(&b, "%s: %s\r\n", k, v)
			}
		}
		b.WriteString("\r\n")
		b.Write(o.body)
		if _, err := pw.Write(b.Bytes()); err != nil {
			return nil, "", err
		}
	}
	if cs != nil {
		if err := cs.Close(); err != nil {
			return nil, "", err
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cs.Boundary()}})
		if err != nil {
			return nil, "", err
		}
		if _, err := pw.Write(csBuf.Bytes()); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.Boundary(), nil
}

// batchPart is one operation's answer.
type batchPart struct {
	contentID string
	// changeset is true for answers inside a change-set response.
	changeset bool
	status    int
	header    http.Header
	body      []byte
}

// decodeBatch reads a $batch response's parts in order, flattening
// change sets.
func decodeBatch(resp *http.Response) ([]batchPart, error) {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("content type %q is not multipart", resp.Header.Get("Content-Type"))
	}
	var parts []batchPart
	var walk func(r io.Reader, boundary string, changeset bool) error
	walk = func(r io.Reader, boundary string, changeset bool) error {
		mr := multipart.NewReader(r, boundary)
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if strings.HasPrefix(ct, "multipart/") {
				if err := walk(p, cp["boundary"], true); err != nil {
					return err
				}
				continue
			}
			inner, err := http.ReadResponse(bufio.NewReader(p), nil)
			if err != nil {
				return fmt.Errorf("operation response: %w", err)
			}
			body, err := io.ReadAll(inner.Body)
			inner.Body.Close()
			if err != nil {
				return err
			}
			parts = append(parts, batchPart{contentID: p.Header.Get("Content-ID"), changeset: changeset, status: inner.StatusCode, header: inner.Header, body: body})
		}
	}
	if err := walk(resp.Body, params["boundary"], false); err != nil {
		return nil, err
	}
	return parts, nil
}

// opResult turns one operation's answer into a WriteResult.
func opResult(p batchPart, id string, op providers.WriteOp, r providers.WriteRecord) providers.WriteResult {
	if p.status >= 400 {
		var eb odataError
		_ = json.Unmarshal(p.body, &eb)
		msg := eb.Error.Message
		if msg == "" {
			msg = http.StatusText(p.status)
		}
		return providers.WriteResult{ID: r.ID, Errors: []providers.RecordError{{Code: eb.Error.Code, Message: msg, Kind: kindFor(p.status, eb.Error.Code), Fields: fieldsIn(msg)}}}
	}
	res := providers.WriteResult{Success: true, ID: r.ID}
	if e := p.header.Get("OData-EntityId"); e != "" {
		if i, j := strings.LastIndexByte(e, '('), strings.LastIndexByte(e, ')'); i >= 0 && j > i && !strings.Contains(e[i:j], "=") {
			res.ID = e[i+1 : j]
		}
	}
	if len(p.body) > 0 {
		var m map[string]any
		if json.Unmarshal(p.body, &m) == nil {
			if v, ok := m[id].(string); ok {
				res.ID = v
			}
		}
	}
	if op == providers.WriteUpsert {
		res.Created = p.status == http.StatusCreated
	}
	return res
}

// fieldsIn picks the property named in a Dataverse message such as "The
// property 'x' does not exist on type ...".
func fieldsIn(msg string) []string {
	for _, prefix := range []string{"The property '", "property named '", "of '"} {
		if i := strings.Index(msg, prefix); i >= 0 {
			rest := msg[i+len(prefix):]
			if j := strings.IndexByte(rest, '\''); j > 0 {
				return []string{rest[:j]}
			}
		}
	}
	return nil
}
