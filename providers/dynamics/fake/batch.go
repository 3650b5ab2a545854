package fake

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
)

// MaxBatchOps is the most operations one $batch may carry.
const MaxBatchOps = 1000

type batchOp struct {
	contentID string
	op        op
}

// readOp parses one application/http part into an operation.
func readOp(part io.Reader) (batchOp, error) {
	br := bufio.NewReader(part)
	req, err := http.ReadRequest(br)
	if err != nil {
		return batchOp{}, fmt.Errorf("malformed request in batch: %w", err)
	}
	// Parts seldom carry Content-Length: the body is the rest of the part.
	var body []byte
	if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
		body, err = io.ReadAll(req.Body)
	} else {
		body, err = io.ReadAll(br)
	}
	if err != nil {
		return batchOp{}, err
	}
	body = bytes.TrimRight(body, "\r\n")
	path := req.URL.Path
	if i := strings.Index(path, APIPath); i >= 0 {
		path = path[i+len(APIPath):]
	} else {
		return batchOp{}, fmt.Errorf("the request URL %q is not under %s", req.URL, APIPath)
	}
	return batchOp{op: op{method: req.Method, path: path, rawQuery: req.URL.RawQuery, header: req.Header, body: body}}, nil
}

// serveBatch runs a $batch: plain operations one by one, change sets all
// or none. Without Prefer: odata.continue-on-error the batch stops at the
// first failure.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		writeError(w, http.StatusBadRequest, "0x80048d19", "The content type of a $batch request must be multipart/mixed with a boundary.")
		return
	}
	pref := parsePrefer(r.Header)
	base := baseURL(r)
	use := usageFrom(r.Context())

	// Parse everything first: a malformed batch fails as a whole.
	type unit struct {
		changeset bool
		ops       []batchOp
	}
	var units []unit
	total := 0
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "0x80048d19", "The $batch body is malformed: "+err.Error())
			return
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		u := unit{}
		switch ct {
		case "multipart/mixed":
			u.changeset = true
			cr := multipart.NewReader(part, cparams["boundary"])
			for {
				cp, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					writeError(w, http.StatusBadRequest, "0x80048d19", "The change set is malformed: "+err.Error())
					return
				}
				bo, err := readOp(cp)
				if err != nil {
					writeError(w, http.StatusBadRequest, "0x80048d19", err.Error())
					return
				}
				if bo.op.method == http.MethodGet {
					writeError(w, http.StatusBadRequest, "0x80048d19", "A change set cannot contain GET requests.")
					return
				}
				bo.contentID = cp.Header.Get("Content-ID")
				bo.op.usage = use
				u.ops = append(u.ops, bo)
			}
		case "application/http":
			bo, err := readOp(part)
			if err != nil {
				writeError(w, http.StatusBadRequest, "0x80048d19", err.Error())
				return
			}
			bo.contentID = part.Header.Get("Content-ID")
			bo.op.usage = use
			u.ops = []batchOp{bo}
		default:
			writeError(w, http.StatusBadRequest, "0x80048d19", "Unexpected part content type "+ct+" in $batch.")
			return
		}
		total += len(u.ops)
		units = append(units, u)
	}
	if total > MaxBatchOps {
		writeError(w, http.StatusBadRequest, "0x8005f103", fmt.Sprintf("The value of the parameter 'batch requests' exceeds the maximum allowed (%d).", MaxBatchOps))
		return
	}

	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	_ = mw.SetBoundary("batchresponse_" + newGUID())
	for _, u := range units {
		failed := false
		if u.changeset {
			results, failed1, fail := s.runChangeset(base, u.ops)
			if fail != nil {
				writeHTTPPart(mw, u.ops[failed1].contentID, *fail)
				failed = true
			} else {
				var cs bytes.Buffer
				cw := multipart.NewWriter(&cs)
				_ = cw.SetBoundary("changesetresponse_" + newGUID())
				for i, res := range results {
					writeHTTPPart(cw, u.ops[i].contentID, res)
				}
				_ = cw.Close()
				pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}})
				_, _ = pw.Write(cs.Bytes())
			}
		} else {
			bo := u.ops[0]
			var res result
			if bo.op.method == http.MethodGet {
				rec := &recorder{header: http.Header{}, status: http.StatusOK}
				s.serveGet(rec, base, bo.op)
				res = result{status: rec.status, header: rec.header, body: rec.body.Bytes()}
			} else {
				res = s.execWrite(base, bo.op)
			}
			writeHTTPPart(mw, bo.contentID, res)
			failed = res.status >= 400
		}
		if failed && !pref.continueOnErr {
			break
		}
	}
	_ = mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// runChangeset validates every operation, then applies them all; the
// first invalid one (whose index it returns) fails the change set and
// nothing is applied.
func (s *Server) runChangeset(base string, ops []batchOp) ([]result, int, *result) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	applies := make([]func() result, len(ops))
	for i, bo := range ops {
		apply, fail := s.prepare(base, bo.op)
		if fail != nil {
			return nil, i, fail
		}
		applies[i] = apply
	}
	results := make([]result, len(ops))
	for i, apply := range applies {
		results[i] = apply()
		if results[i].status < 400 {
			ops[i].op.usage.add(1)
		}
	}
	return results, 0, nil
}

// writeHTTPPart writes one application/http response part.
func writeHTTPPart(mw *multipart.Writer, contentID string, res result) {
	h := textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}}
	if contentID != "" {
		h.Set("Content-ID", contentID)
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", res.status, http.StatusText(res.status))
	res.header.Set("OData-Version", "4.0")
	keys := make([]string, 0, len(res.header))
	for k := range res.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if strings.EqualFold(k, "Odata-Entityid") {
			name = "OData-EntityId"
		} else if strings.EqualFold(k, "Odata-Version") {
			name = "OData-Version"
		}
		for _, v := range res.header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(res.body)
	_, _ = pw.Write(b.Bytes())
}

// recorder buffers a response inside a batch.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
