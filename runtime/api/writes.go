package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ampforge/amp/runtime"
)

// maxWriteBody bounds a Write API body: a batch of 100 records.
const maxWriteBody = 10 << 20

// WriteCall is one Write API request as the API hands it to the Writer:
// the project and integration the path resolved to, the path's object
// name, the Idempotency-Key header and the body, unread.
type WriteCall struct {
	ProjectID      string
	Integration    *runtime.Integration
	ObjectName     string
	IdempotencyKey string
	Body           []byte
}

// WriteAnswer is the Writer's complete answer, written as it is.
type WriteAnswer struct {
	Status      int
	ContentType string
	Body        []byte
}

// Writer serves the Write API (runtime/write, wired by runtime/server).
type Writer interface {
	// Write serves one call. Refused input is an answer (400 or 422
	// problem+json naming each input); an error is answered like any
	// other, by its runtime code.
	Write(ctx context.Context, call WriteCall) (WriteAnswer, error)
	// OperationResults returns the per-record results of an asynchronous
	// write operation, shown on the operation as writeResults; nil when
	// there are none.
	OperationResults(op *runtime.Operation) json.RawMessage
}

// SetWriter installs the Write API. Call it before Handler. Without one,
// write requests are answered 501.
func (a *API) SetWriter(w Writer) { a.writer = w }

// isWriteBody reports whether a body posted to an object is a write: a
// JSON object with a "type" key. Ampersand serves reads and writes on one
// path of two hosts; amp tells them apart by the body.
func isWriteBody(body []byte) bool {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return false
	}
	_, ok := probe["type"]
	return ok
}

// writeRecords is the Write API: POST
// .../integrations/{integrationId}/objects/{objectName} with a write body.
func (a *API) writeRecords(w http.ResponseWriter, r *http.Request, body []byte) error {
	if a.writer == nil {
		detail := "this server does not serve the Write API"
		WriteProblem(w, &Problem{Type: problemTypeBase + "not_implemented", Status: http.StatusNotImplemented, Detail: detail, Causes: []string{detail}})
		return nil
	}
	integ, err := a.integration(r)
	if err != nil {
		return err
	}
	ans, err := a.writer.Write(r.Context(), WriteCall{ProjectID: integ.ProjectID, Integration: integ,
		ObjectName: r.PathValue("objectName"), IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: body})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ans.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ans.Status)
	_, _ = w.Write(ans.Body)
	return nil
}

// objectPost serves POST .../objects/{objectName}: a write when the body
// says so, else the Read API's trigger.
func (a *API) objectPost(w http.ResponseWriter, r *http.Request) error {
	body, err := readAll(w, r, maxWriteBody)
	if err != nil {
		return err
	}
	if isWriteBody(body) {
		return a.writeRecords(w, r, body)
	}
	if len(body) > maxBody {
		return &requestError{status: http.StatusRequestEntityTooLarge, in: "body", detail: fmt.Sprintf("request body is larger than %d bytes", maxBody)}
	}
	r.Body = http.NoBody
	return a.triggerReadBody(w, r, bytes.TrimSpace(body))
}

// toOperationJSON is toOperation with an asynchronous write's results.
func (a *API) toOperationJSON(op *runtime.Operation) operationJSON {
	out := toOperation(op)
	if op.ActionType == runtime.ActionWrite && a.writer != nil {
		out.WriteResults = a.writer.OperationResults(op)
	}
	return out
}
