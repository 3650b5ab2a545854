// Package apitest serves requests to the management API in-process for
// tests: one helper builds the request (JSON body, X-Api-Key) and records
// the answer, so runtime/api's and runtime/server's tests drive the API the
// same way.
//
// It is imported by tests only, and imports nothing of amp's.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Response is an answer recorded in-process.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do serves one request with h. body is nil (no body), a string (sent as
// is, for malformed-JSON tests) or any other value (sent as JSON); key,
// when not empty, goes in the X-Api-Key header.
func Do(t testing.TB, h http.Handler, method, path, key string, body any) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}
