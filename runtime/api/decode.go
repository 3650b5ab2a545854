package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Body size limits: manifests may be up to manifest.MaxFileSize (4 MiB),
// and JSON escaping can grow them; every other body is small.
const (
	maxBody       = 1 << 20
	maxDeployBody = 10 << 20
)

// decode reads r's JSON body into v strictly: at most limit bytes, one JSON
// value, no field v does not declare. Its errors are 400 (413 for a body
// over the limit) and name the offending field.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return decodeBytes(data, v)
}

// decodeOptional is decode for a body that may be left out: an empty body
// leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := readAll(w, r, limit)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return err
	}
	return decodeBytes(data, v)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := readAll(w, r, limit)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badRequest("body", "", "request body is required (a JSON object)")
	}
	return data, nil
}

// readAll reads at most limit bytes of r's body.
func readAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, in: "body",
				detail: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
		}
		return nil, badRequest("body", "", "cannot read the request body")
	}
	return data, nil
}

func decodeBytes(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body", "", "request body must hold a single JSON value; found more after it")
	}
	return nil
}

// jsonError turns an encoding/json error into a 400 that names the field.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("body", "", fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("body", "", "malformed JSON: the body ends too early")
	case errors.As(err, &typ):
		name := typ.Field
		if name == "" {
			name = "(body)"
		}
		return badRequest("body", name, fmt.Sprintf("field %q must be %s, not a JSON %s", name, jsonKind(typ.Type.Kind().String()), typ.Value))
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, uerr := strconv.Unquote(rest)
		if uerr != nil {
			name = rest
		}
		return badRequest("body", name, fmt.Sprintf("unknown field %q", name))
	}
	return badRequest("body", "", "invalid JSON: "+strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "a number"
	}
	return "a " + k
}

// writeJSON answers v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// queryBool reads an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("query", name, fmt.Sprintf("query parameter %q must be true or false", name))
	}
	return b, nil
}
