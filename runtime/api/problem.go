package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ampforge/amp/runtime"
)

// problemTypeBase prefixes the type URI of amp's problems; the suffix is the
// runtime error code (not_found, conflict, invalid, ...).
const problemTypeBase = "urn:amp:problem:"

// Problem is an application/problem+json body (RFC 9457) with the fields of
// Ampersand's ApiProblem and InputValidationProblem that clients read.
// @amp-labs/react shows causes (joined by newlines) or else detail.
type Problem struct {
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail,omitempty"`
	Subsystem string   `json:"subsystem,omitempty"`
	Causes    []string `json:"causes,omitempty"`
	Remedy    string   `json:"remedy,omitempty"`
	Retryable bool     `json:"retryable,omitempty"`
	Issues    []Issue  `json:"issues,omitempty"`
	// Diagnostics is the manifest validation report in `amp validate
	// --format json` form, on a refused deploy.
	Diagnostics json.RawMessage `json:"diagnostics,omitempty"`
}

// Issue is one input validation issue: where (in) and which input (name).
type Issue struct {
	In     string `json:"in"`
	Name   string `json:"name,omitempty"`
	Detail string `json:"detail"`
}

// errorStatus is THE mapping from runtime error codes to HTTP statuses.
// EINVALID is 422: the request was well-formed JSON but its content is
// refused; syntax errors (malformed JSON, unknown fields) are 400 and come
// from decode, not from here.
func errorStatus(code string) int {
	switch code {
	case runtime.ENOTFOUND:
		return http.StatusNotFound
	case runtime.ECONFLICT:
		return http.StatusConflict
	case runtime.EINVALID:
		return http.StatusUnprocessableEntity
	case runtime.EUNAUTHORIZED:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Subsystem == "" {
		p.Subsystem = "api"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(p)
}

// WriteError answers err as a problem: its runtime code decides the status
// (errorStatus), its runtime message the detail. Internal errors are logged
// with their cause and answered with a generic message.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var bad *requestError
	if errors.As(err, &bad) {
		WriteProblem(w, bad.problem())
		return
	}
	var forbidden *forbiddenError
	if errors.As(err, &forbidden) {
		WriteProblem(w, &Problem{Type: problemTypeBase + "forbidden", Status: http.StatusForbidden,
			Detail: forbidden.detail, Causes: []string{forbidden.detail}})
		return
	}
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) {
		a.log.WarnContext(r.Context(), "provider unavailable", slog.String("method", r.Method),
			slog.String("path", redactPath(r.URL.Path)), slog.String("error", err.Error()))
		WriteProblem(w, unavailable.problem(w))
		return
	}
	if isOAuthBadRequest(err) {
		WriteProblem(w, (&requestError{status: http.StatusBadRequest, in: "body", detail: runtime.ErrorMessage(err)}).problem())
		return
	}
	code := runtime.ErrorCode(err)
	status := errorStatus(code)
	if status == http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", redactPath(r.URL.Path)), slog.String("error", err.Error()))
	}
	p := &Problem{Type: problemTypeBase + code, Status: status, Detail: runtime.ErrorMessage(err)}
	if status == http.StatusInternalServerError {
		p.Retryable = runtime.IsRetryable(err)
	}
	if status == http.StatusUnprocessableEntity {
		p.Causes = []string{p.Detail}
	}
	WriteProblem(w, p)
}

// requestError is a 4xx about the request itself (syntax, size, update
// mask), answered with the issue it names.
type requestError struct {
	status int
	in     string // body, query, path, header
	name   string // the field or parameter
	detail string
}

func (e *requestError) Error() string { return e.detail }

func (e *requestError) problem() *Problem {
	p := &Problem{Type: problemTypeBase + "bad_request", Status: e.status, Detail: e.detail, Causes: []string{e.detail}}
	switch e.status {
	case http.StatusRequestEntityTooLarge:
		p.Type = problemTypeBase + "too_large"
	case http.StatusUnprocessableEntity:
		p.Type = problemTypeBase + runtime.EINVALID
	}
	if e.in != "" {
		p.Issues = []Issue{{In: e.in, Name: e.name, Detail: e.detail}}
	}
	return p
}

// badRequest returns a 400 naming the input at fault.
func badRequest(in, name, detail string) error {
	return &requestError{status: http.StatusBadRequest, in: in, name: name, detail: detail}
}

// invalidInput returns a 422 (urn:amp:problem:invalid) naming the input
// whose well-formed value is refused.
func invalidInput(in, name, detail string) error {
	return &requestError{status: http.StatusUnprocessableEntity, in: in, name: name, detail: detail}
}
