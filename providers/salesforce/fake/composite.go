package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// The Composite resource: POST /services/data/vXX.X/composite with
// {"allOrNone":bool,"compositeRequest":[{method,url,referenceId,body,
// httpHeaders}…]} runs up to 25 subrequests in order, each through the
// fake's own handlers, and answers 200 with
// {"compositeResponse":[{body,httpHeaders,httpStatusCode,referenceId}…]}.
// The whole call is one request against the daily allocation.
// collateSubrequests is accepted and ignored: subrequests always run in
// the order given (which collation permits). httpHeaders of a result carry
// the subrequest's Location, Last-Modified and ETag headers, if any.
//
// A subrequest's url and body may use @{referenceId.field} and
// @{referenceId.records[0].Id} references to earlier subrequests' answers
// (case-sensitive, as the API is). A reference that does not resolve, or
// names a subrequest that failed, makes the subrequest fail with 400
// PROCESSING_HALTED "Invalid reference specified. No value for X found in
// Y." (a null value resolves from API version 52.0 on, and fails before).
//
// allOrNone false: every subrequest runs; failures stay local, apart from
// the subrequests that depend on a failed one. allOrNone true: the
// subrequests first run against a staging overlay (records.go) that never
// touches the store; if one fails (an HTTP error, or an sObject
// Collections answer with a failed record, whose inner allOrNone the outer
// one overrides), nothing is written, the failed subrequest keeps its
// answer and every other one, before or after it, reports 400
// PROCESSING_HALTED "The transaction was rolled back since another
// operation in the same transaction failed."; otherwise the subrequests run
// again for real. The trial and the real run hold the fake's write lock, so
// no other request changes the store in between. In the trial, reads see
// the request's own writes, as in Salesforce's transaction; a trial query
// answers its first page only, without a query locator (stagedQuery), so a
// reference to a later page's record or to nextRecordsUrl fails the trial.
//
// Supported subrequest resources: sObject resources (/sobjects/…: create,
// get, update, delete, describe), query and queryAll (with locators), and
// sObject Collections (/composite/sobjects). Others get 404 NOT_FOUND.
// Malformed requests get a top-level 400 before any subrequest runs: more
// than 25 subrequests or more than 5 query or collections subrequests
// (LIMIT_EXCEEDED), a missing method, url or referenceId, a method other
// than GET, POST, PUT, PATCH or DELETE, a referenceId with characters other
// than letters, digits and underscores or used twice, a url not under
// /services/data/ (JSON_PARSER_ERROR), or an Accept, Authorization or
// Content-Type subrequest header (INVALID_INPUT). Those error codes and
// messages are the fake's own: the documentation states only the 400.

// Composite limits.
const (
	MaxSubrequests = 25
	// maxHeavySubrequests caps query, queryAll and sObject Collections
	// subrequests in one composite request.
	maxHeavySubrequests = 5
)

// Messages of PROCESSING_HALTED answers.
const (
	rolledBackMessage = "The transaction was rolled back since another operation in the same transaction failed."
	noValueMessage    = "Invalid reference specified. No value for %s found in %s."
)

type compositeBody struct {
	AllOrNone          bool         `json:"allOrNone"`
	CollateSubrequests *bool        `json:"collateSubrequests"`
	CompositeRequest   []subrequest `json:"compositeRequest"`
}

type subrequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        json.RawMessage   `json:"body"`
	HTTPHeaders map[string]string `json:"httpHeaders"`
}

// subresult is one compositeResponse element (keys in Salesforce's order).
type subresult struct {
	Body           json.RawMessage   `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

// haltedError is a PROCESSING_HALTED element (errorCode first, as sent).
type haltedError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

var (
	referenceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_]*$`)
	referenceRE   = regexp.MustCompile(`@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)\}`)
)

func isCompositeRequest(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/services/data/"), "/")
	return strings.TrimSuffix(rest, "/") == "composite"
}

func (s *Server) composite(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	var body compositeBody
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error())
		return
	}
	if code, msg := checkComposite(body.CompositeRequest); code != "" {
		writeErrors(w, http.StatusBadRequest, code, msg)
		return
	}
	reqs := body.CompositeRequest
	version := apiVersion(r.PathValue("v"))
	var results []subresult
	if body.AllOrNone {
		s.txMu.Lock()
		defer s.txMu.Unlock()
		trial, failedAt := s.runSubrequests(withStaging(r.Context(), newStaging(s)), version, reqs, true)
		if failedAt < 0 {
			// The lock keeps the store as the trial saw it, so the real
			// run does what the trial did.
			trial, failedAt = s.runSubrequests(r.Context(), version, reqs, true)
		}
		results = trial
		if failedAt >= 0 {
			results = rollBack(reqs, trial, failedAt)
		}
	} else {
		s.txMu.RLock()
		defer s.txMu.RUnlock()
		results, _ = s.runSubrequests(r.Context(), version, reqs, false)
	}
	writeJSON(w, http.StatusOK, map[string][]subresult{"compositeResponse": results})
}

// checkComposite validates the request as a whole, returning an error code
// and message when it must be refused.
func checkComposite(reqs []subrequest) (code, msg string) {
	const parser = "JSON_PARSER_ERROR"
	if len(reqs) == 0 {
		return parser, "'compositeRequest' is a required field."
	}
	if len(reqs) > MaxSubrequests {
		return "LIMIT_EXCEEDED", fmt.Sprintf("A composite request can have at most %d subrequests; this one has %d.", MaxSubrequests, len(reqs))
	}
	heavy := 0
	seen := map[string]bool{}
	for _, sr := range reqs {
		switch {
		case sr.Method == "":
			return parser, "'method' is a required field."
		case sr.URL == "":
			return parser, "'url' is a required field."
		case sr.ReferenceID == "":
			return parser, "'referenceId' is a required field."
		}
		switch sr.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return parser, fmt.Sprintf("Invalid method '%s': use GET, POST, PUT, PATCH or DELETE.", sr.Method)
		}
		if !referenceIDRE.MatchString(sr.ReferenceID) {
			return parser, fmt.Sprintf("Invalid referenceId '%s': it must start with a letter or a number and contain only letters, numbers and underscores.", sr.ReferenceID)
		}
		if seen[sr.ReferenceID] {
			return parser, fmt.Sprintf("Duplicate referenceId '%s'.", sr.ReferenceID)
		}
		seen[sr.ReferenceID] = true
		for k := range sr.HTTPHeaders {
			switch strings.ToLower(k) {
			case "accept", "authorization", "content-type":
				return "INVALID_INPUT", fmt.Sprintf("Subrequest '%s' may not set the %s header.", sr.ReferenceID, k)
			}
		}
		rest, ok := strings.CutPrefix(sr.URL, "/services/data/")
		if !ok {
			return parser, fmt.Sprintf("The url of subrequest '%s' must start with /services/data/vXX.X/.", sr.ReferenceID)
		}
		_, path, _ := strings.Cut(rest, "/")
		if heavyResource(path) {
			heavy++
		}
	}
	if heavy > maxHeavySubrequests {
		return "LIMIT_EXCEEDED", fmt.Sprintf("A composite request can have at most %d query or sObject Collections subrequests; this one has %d.", maxHeavySubrequests, heavy)
	}
	return "", ""
}

// heavyResource reports whether a path (after the version) is a query or
// sObject Collections resource.
func heavyResource(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	return path == "query" || strings.HasPrefix(path, "query/") || strings.HasPrefix(path, "queryAll") ||
		strings.HasPrefix(path, "composite/sobjects")
}

// compositeResource reports whether a path (after the version) may be a
// subrequest.
func compositeResource(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	return path == "sobjects" || strings.HasPrefix(path, "sobjects/") || heavyResource(path)
}

// apiVersion returns the major number of "v60.0", or 0.
func apiVersion(v string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(v, "v"), ".0"))
	return n
}

// runSubrequests runs reqs in order and returns their results and the
// index of the first failure (-1 when none). With allOrNone it stops at the
// first failure, which is an HTTP error or an sObject Collections answer
// with a failed record.
func (s *Server) runSubrequests(ctx context.Context, version int, reqs []subrequest, allOrNone bool) ([]subresult, int) {
	results := make([]subresult, 0, len(reqs))
	answers := map[string]any{} // decoded bodies of the subrequests that succeeded
	failedAt := -1
	for i, sr := range reqs {
		res, decoded := s.runSubrequest(ctx, version, sr, answers)
		results = append(results, res)
		failed := res.HTTPStatusCode >= 400
		if !failed {
			answers[sr.ReferenceID] = decoded
		}
		if allOrNone && !failed && collectionFailed(sr, decoded) {
			failed = true
		}
		if failed && failedAt < 0 {
			failedAt = i
			if allOrNone {
				break
			}
		}
	}
	return results, failedAt
}

// collectionFailed reports whether an sObject Collections answer has a
// failed record.
func collectionFailed(sr subrequest, decoded any) bool {
	rest := strings.TrimPrefix(sr.URL, "/services/data/")
	_, path, _ := strings.Cut(rest, "/")
	if !strings.HasPrefix(path, "composite/sobjects") {
		return false
	}
	list, _ := decoded.([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && m["success"] == false {
			return true
		}
	}
	return false
}

// rollBack reports an allOrNone request that failed at failedAt.
func rollBack(reqs []subrequest, results []subresult, failedAt int) []subresult {
	out := make([]subresult, len(reqs))
	for i, sr := range reqs {
		if i == failedAt {
			out[i] = results[i]
			continue
		}
		out[i] = halted(sr.ReferenceID, rolledBackMessage)
	}
	return out
}

func halted(ref, msg string) subresult {
	b, _ := json.Marshal([]haltedError{{ErrorCode: "PROCESSING_HALTED", Message: msg}})
	return subresult{Body: b, HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: ref}
}

// runSubrequest resolves sr's references against answers and serves it
// through the data handlers. It returns the result and its decoded body.
func (s *Server) runSubrequest(ctx context.Context, version int, sr subrequest, answers map[string]any) (subresult, any) {
	ref := sr.ReferenceID
	target, missing := resolveURL(sr.URL, answers, version)
	if missing != "" {
		return halted(ref, missing), nil
	}
	var body []byte
	if len(sr.Body) > 0 && string(sr.Body) != "null" {
		dec := json.NewDecoder(bytes.NewReader(sr.Body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return errorResult(ref, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in the request body: "+err.Error()), nil
		}
		v, missing = resolveValue(v, answers, version)
		if missing != "" {
			return halted(ref, missing), nil
		}
		body, _ = json.Marshal(v)
	}
	rest := strings.TrimPrefix(target, "/services/data/")
	ver, path, _ := strings.Cut(rest, "/")
	if !validVersion(ver) || !compositeResource(path) {
		return errorResult(ref, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist"), nil
	}
	req, err := http.NewRequestWithContext(ctx, sr.Method, target, bytes.NewReader(body))
	if err != nil {
		return errorResult(ref, http.StatusBadRequest, "MALFORMED_URL", "The subrequest url is not valid: "+err.Error()), nil
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range sr.HTTPHeaders {
		req.Header.Set(k, v)
	}
	rec := &recorder{header: http.Header{}}
	s.data.ServeHTTP(rec, req)
	res := subresult{HTTPHeaders: map[string]string{}, HTTPStatusCode: rec.status(), ReferenceID: ref}
	for _, h := range []string{"Location", "Last-Modified", "ETag"} {
		if v := rec.header.Get(h); v != "" {
			res.HTTPHeaders[h] = v
		}
	}
	out := rec.buf.Bytes()
	var decoded any
	switch {
	case len(bytes.TrimSpace(out)) == 0:
		res.Body = json.RawMessage("null")
	case json.Valid(out):
		res.Body = json.RawMessage(bytes.Clone(out))
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		_ = dec.Decode(&decoded)
	default:
		res.Body, _ = json.Marshal(string(out))
		decoded = string(out)
	}
	return res, decoded
}

func errorResult(ref string, status int, code, msg string) subresult {
	b, _ := json.Marshal([]apiError{{Message: msg, ErrorCode: code}})
	return subresult{Body: b, HTTPHeaders: map[string]string{}, HTTPStatusCode: status, ReferenceID: ref}
}

// resolve looks a reference up: ref is the referenceId, path the rest
// (".records[0].Id"). It returns the value, or the PROCESSING_HALTED
// message.
func resolve(ref, path string, answers map[string]any, version int) (any, string) {
	missing := fmt.Sprintf(noValueMessage, ref+path, ref)
	v, ok := answers[ref]
	if !ok {
		return nil, missing
	}
	for path != "" {
		switch path[0] {
		case '.':
			end := strings.IndexAny(path[1:], ".[")
			if end < 0 {
				end = len(path) - 1
			}
			key := path[1 : end+1]
			path = path[end+1:]
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, missing
			}
			if v, ok = m[key]; !ok {
				return nil, missing
			}
		case '[':
			end := strings.IndexByte(path, ']')
			n, _ := strconv.Atoi(path[1:end])
			path = path[end+1:]
			list, isList := v.([]any)
			if !isList || n >= len(list) {
				return nil, missing
			}
			v = list[n]
		}
	}
	if v == nil && version < 52 {
		return nil, missing
	}
	return v, ""
}

// text is a referenced value as it appears inside a string.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// resolveURL substitutes the references of a subrequest url, escaping
// values for the path or the query string.
func resolveURL(u string, answers map[string]any, version int) (string, string) {
	var missing string
	query := strings.IndexByte(u, '?')
	var b strings.Builder
	last := 0
	for _, m := range referenceRE.FindAllStringSubmatchIndex(u, -1) {
		v, miss := resolve(u[m[2]:m[3]], u[m[4]:m[5]], answers, version)
		if miss != "" {
			if missing == "" {
				missing = miss
			}
			continue
		}
		b.WriteString(u[last:m[0]])
		if query >= 0 && m[0] > query {
			b.WriteString(url.QueryEscape(text(v)))
		} else {
			b.WriteString(url.PathEscape(text(v)))
		}
		last = m[1]
	}
	if missing != "" {
		return "", missing
	}
	b.WriteString(u[last:])
	return b.String(), ""
}

// resolveValue substitutes references in a decoded body: a string that is
// one reference becomes the referenced value (of any JSON type), and
// references inside longer strings are replaced by their text.
func resolveValue(v any, answers map[string]any, version int) (any, string) {
	switch x := v.(type) {
	case string:
		ms := referenceRE.FindAllStringSubmatchIndex(x, -1)
		if len(ms) == 0 {
			return x, ""
		}
		if len(ms) == 1 && ms[0][0] == 0 && ms[0][1] == len(x) {
			m := ms[0]
			return resolve(x[m[2]:m[3]], x[m[4]:m[5]], answers, version)
		}
		var b strings.Builder
		last := 0
		for _, m := range ms {
			val, miss := resolve(x[m[2]:m[3]], x[m[4]:m[5]], answers, version)
			if miss != "" {
				return nil, miss
			}
			b.WriteString(x[last:m[0]])
			b.WriteString(text(val))
			last = m[1]
		}
		b.WriteString(x[last:])
		return b.String(), ""
	case map[string]any:
		for k, e := range x {
			r, miss := resolveValue(e, answers, version)
			if miss != "" {
				return nil, miss
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, miss := resolveValue(e, answers, version)
			if miss != "" {
				return nil, miss
			}
			x[i] = r
		}
	}
	return v, ""
}

// recorder captures a subrequest's answer.
type recorder struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.buf.Write(b)
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
