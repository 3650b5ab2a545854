package write

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Call is one Write API request, as the API hands it over: the path's
// project, integration and object, the Idempotency-Key header and the
// body, unread.
type Call struct {
	ProjectID string
	// IntegrationID is the integration the path named (resolved by the
	// API, by ID or name).
	IntegrationID  string
	ObjectName     string
	IdempotencyKey string
	Body           []byte
}

// Answer is a complete HTTP answer: status, content type and body. The
// API writes it as it is, so that an Idempotency-Key replay is byte for
// byte the first answer.
type Answer struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        []byte `json:"body"`
}

// Content types of answers.
const (
	contentJSON    = "application/json"
	contentProblem = "application/problem+json"
)

// problemTypeBase is the prefix of amp's problem types (the API's own).
const problemTypeBase = "urn:amp:problem:"

// Issue names one refused input: where it is (body, path, header) and
// which (batch[3].record.email).
type Issue struct {
	In     string `json:"in"`
	Name   string `json:"name,omitempty"`
	Detail string `json:"detail"`
}

// problem is the API's application/problem+json body (RFC 9457 with
// Ampersand's causes and amp's issues), written here because this package
// answers its own validation errors.
type problem struct {
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail,omitempty"`
	Subsystem string   `json:"subsystem"`
	Causes    []string `json:"causes,omitempty"`
	Retryable bool     `json:"retryable,omitempty"`
	Issues    []Issue  `json:"issues,omitempty"`
}

// maxIssues bounds the issues one answer lists: a batch of 100 bad
// records should not make a megabyte of problems.
const maxIssues = 50

// inputError is a refused request: 400 when the body does not have the
// request's shape, 422 when its well-formed content is refused.
type inputError struct {
	status int
	issues []Issue
}

func (e *inputError) Error() string {
	if len(e.issues) == 0 {
		return "invalid write request"
	}
	return e.issues[0].Name + ": " + e.issues[0].Detail
}

// issues collects the inputs a request gets wrong, so that one answer
// names all of them (up to maxIssues).
type issues struct {
	list []Issue
	// bad is set by any issue that makes the request malformed (400)
	// rather than refused (422).
	bad bool
	// dropped counts the issues past maxIssues.
	dropped int
}

func (is *issues) add(in, name, format string, args ...any) {
	if len(is.list) >= maxIssues {
		is.dropped++
		return
	}
	is.list = append(is.list, Issue{In: in, Name: name, Detail: fmt.Sprintf(format, args...)})
}

// malformed adds an issue that makes the answer 400.
func (is *issues) malformed(in, name, format string, args ...any) {
	is.bad = true
	is.add(in, name, format, args...)
}

func (is *issues) empty() bool { return len(is.list) == 0 }

// err returns the collected issues as an error, nil when there are none.
func (is *issues) err() error {
	if is.empty() {
		return nil
	}
	st := http.StatusUnprocessableEntity
	if is.bad {
		st = http.StatusBadRequest
	}
	list := is.list
	if is.dropped > 0 {
		list = append(list, Issue{In: "body", Detail: fmt.Sprintf("and %d more issues", is.dropped)})
	}
	return &inputError{status: st, issues: list}
}

// problemAnswer renders an input error as problem+json.
func (e *inputError) answer() Answer {
	p := problem{Status: e.status, Title: http.StatusText(e.status), Subsystem: "write", Issues: e.issues}
	if e.status == http.StatusBadRequest {
		p.Type = problemTypeBase + "bad_request"
	} else {
		p.Type = problemTypeBase + "invalid"
	}
	for _, is := range e.issues {
		c := is.Detail
		if is.Name != "" && !strings.HasPrefix(c, is.Name) {
			c = is.Name + ": " + c
		}
		p.Causes = append(p.Causes, c)
	}
	switch n := len(e.issues); n {
	case 1:
		p.Detail = p.Causes[0]
	default:
		p.Detail = fmt.Sprintf("%d problems with the write request; the first: %s", n, p.Causes[0])
	}
	return Answer{Status: e.status, ContentType: contentProblem, Body: marshal(p)}
}

// unavailable is the answer when the provider cannot be reached or keeps
// refusing for now: 503, retryable.
func unavailable(detail string) Answer {
	p := problem{Type: problemTypeBase + "unavailable", Title: http.StatusText(http.StatusServiceUnavailable),
		Status: http.StatusServiceUnavailable, Detail: detail, Subsystem: "write", Causes: []string{detail}, Retryable: true}
	return Answer{Status: http.StatusServiceUnavailable, ContentType: contentProblem, Body: marshal(p)}
}

// conflictAnswer is a 409 problem (an Idempotency-Key in flight).
func conflictAnswer(detail string) Answer {
	p := problem{Type: problemTypeBase + "conflict", Title: http.StatusText(http.StatusConflict),
		Status: http.StatusConflict, Detail: detail, Subsystem: "write", Causes: []string{detail}, Retryable: true}
	return Answer{Status: http.StatusConflict, ContentType: contentProblem, Body: marshal(p)}
}

// jsonAnswer renders v as the JSON answer with the status.
func jsonAnswer(status int, v any) Answer {
	return Answer{Status: status, ContentType: contentJSON, Body: marshal(v)}
}

// marshal encodes v without HTML escaping (the API's own encoding), with
// a trailing newline like json.Encoder.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only this package's own types are encoded here; a failure is a
		// programming error, answered as such rather than hidden.
		return []byte(`{"type":"urn:amp:problem:internal","status":500,"detail":"cannot encode the answer"}` + "\n")
	}
	return b.Bytes()
}
