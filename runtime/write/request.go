package write

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
)

// Limits of a request, as Ampersand documents them.
const (
	// MaxBatch is the most records one request carries.
	MaxBatch = 100
	// DefaultDeadlineHours is an asynchronous write's retry deadline when
	// the request sets none; MaxDeadlineHours the longest it may set.
	DefaultDeadlineHours = 1
	MaxDeadlineHours     = 48
	// MaxDelayMinutes is the longest autoBatchPolicy.maxDelayMinutes.
	MaxDelayMinutes = 1440
)

// The modes of a write.
const (
	ModeSync  = "synchronous"
	ModeAsync = "asynchronous"
)

// request is the Write API body (Ampersand's WriteRequest, with amp's
// upsert type).
type request struct {
	GroupRef        string           `json:"groupRef"`
	Type            string           `json:"type"`
	Mode            string           `json:"mode"`
	RetryPolicy     *retryPolicy     `json:"retryPolicy"`
	AutoBatchPolicy *autoBatchPolicy `json:"autoBatchPolicy"`
	Record          json.RawMessage  `json:"record"`
	BatchPolicy     *batchPolicy     `json:"batchPolicy"`
	// Batch entries are decoded one by one, so that a problem inside one
	// is reported with its index.
	Batch        []json.RawMessage `json:"batch"`
	Associations json.RawMessage   `json:"associations"`
	Headers      json.RawMessage   `json:"headers"`
}

type retryPolicy struct {
	DeadlineHours *int `json:"deadlineHours"`
}

type autoBatchPolicy struct {
	MaxDelayMinutes    *int `json:"maxDelayMinutes"`
	RetryDeadlineHours *int `json:"retryDeadlineHours"`
}

type batchPolicy struct {
	AllOrNone bool `json:"allOrNone"`
}

type batchEntry struct {
	Record       json.RawMessage `json:"record"`
	Associations json.RawMessage `json:"associations"`
}

// input is a decoded, shape-checked request.
type input struct {
	groupRef  string
	op        providers.WriteOp
	async     bool
	allOrNone bool
	// single is true for a request with record rather than batch: its
	// answer has Ampersand's single-record shape.
	single bool
	// deadline is how long an asynchronous write keeps retrying.
	deadline time.Duration
	// autoBatchDelay is autoBatchPolicy.maxDelayMinutes (zero: none).
	autoBatchDelay time.Duration
	records        []inputRecord
}

// inputRecord is one record as the builder sent it.
type inputRecord struct {
	// at names it in issues: record or batch[i].record.
	at     string
	fields map[string]any
}

// decodeRequest reads body strictly and checks the request's shape: the
// fields Ampersand's WriteRequest allows, the type and mode, record xor
// batch (1 to MaxBatch records, each an object), the policies' ranges.
// Every problem found is reported at once.
func decodeRequest(body []byte) (*input, error) {
	var req request
	var is issues
	if err := strictDecode(body, &req); err != nil {
		name, detail := jsonProblem(err, "", requestKeys)
		is.malformed("body", name, "%s", detail)
		return nil, is.err()
	}
	in := &input{groupRef: req.GroupRef}
	if req.GroupRef == "" {
		is.malformed("body", "groupRef", "groupRef is required: the group whose installation to write to")
	}
	switch providers.WriteOp(req.Type) {
	case providers.WriteCreate, providers.WriteUpdate, providers.WriteUpsert, providers.WriteDelete:
		in.op = providers.WriteOp(req.Type)
	case "":
		is.malformed("body", "type", "type is required: create, update, upsert or delete")
	default:
		is.malformed("body", "type", "type %q is not create, update, upsert or delete", req.Type)
	}
	switch req.Mode {
	case ModeSync, "":
	case ModeAsync:
		in.async = true
	default:
		is.malformed("body", "mode", "mode %q is not %q (the default) or %q", req.Mode, ModeSync, ModeAsync)
	}
	hasRecord := len(req.Record) > 0 && string(req.Record) != "null"
	switch {
	case hasRecord && req.Batch != nil:
		is.malformed("body", "batch", "send either record (one record) or batch (1 to %d), not both", MaxBatch)
	case hasRecord:
		in.single = true
		if m, ok := decodeRecord(req.Record, "record", &is); ok {
			in.records = []inputRecord{{at: "record", fields: m}}
		}
	case req.Batch != nil:
		if len(req.Batch) == 0 {
			is.malformed("body", "batch", "batch is empty; send 1 to %d records", MaxBatch)
		}
		if len(req.Batch) > MaxBatch {
			is.malformed("body", fmt.Sprintf("batch[%d]", MaxBatch), "a batch holds at most %d records; this one has %d: split it into several requests", MaxBatch, len(req.Batch))
			break
		}
		for i, raw := range req.Batch {
			var e batchEntry
			if err := strictDecode(raw, &e); err != nil {
				name, detail := jsonProblem(err, fmt.Sprintf("batch[%d].", i), batchEntryKeys)
				is.malformed("body", name, "%s", detail)
				continue
			}
			at := fmt.Sprintf("batch[%d].record", i)
			if len(e.Record) == 0 || string(e.Record) == "null" {
				is.malformed("body", at, "%s is required", at)
				continue
			}
			if m, ok := decodeRecord(e.Record, at, &is); ok {
				in.records = append(in.records, inputRecord{at: at, fields: m})
			}
			if hasValue(e.Associations) {
				is.add("body", fmt.Sprintf("batch[%d].associations", i), "associations are not supported yet; write the record, then associate it through the proxy")
			}
		}
	default:
		is.malformed("body", "record", "record (one record) or batch (1 to %d records) is required", MaxBatch)
	}
	if req.BatchPolicy != nil {
		if in.single {
			is.malformed("body", "batchPolicy", "batchPolicy applies to batch; a single record is written or not")
		}
		in.allOrNone = req.BatchPolicy.AllOrNone
	}
	if hasValue(req.Associations) {
		is.add("body", "associations", "associations are not supported yet; write the record, then associate it through the proxy")
	}
	if hasValue(req.Headers) {
		is.add("body", "headers", "headers are not supported: amp sends no custom headers to the provider")
	}
	in.deadline = DefaultDeadlineHours * time.Hour
	if req.RetryPolicy != nil {
		if !in.async {
			is.malformed("body", "retryPolicy", "retryPolicy applies to mode %q only", ModeAsync)
		}
		if h := req.RetryPolicy.DeadlineHours; h != nil {
			if *h < 1 || *h > MaxDeadlineHours {
				is.malformed("body", "retryPolicy.deadlineHours", "deadlineHours must be 1 to %d, not %d", MaxDeadlineHours, *h)
			}
			in.deadline = time.Duration(*h) * time.Hour
		}
	}
	if p := req.AutoBatchPolicy; p != nil {
		if !in.async || !in.single {
			is.malformed("body", "autoBatchPolicy", "autoBatchPolicy applies to mode %q with a single record", ModeAsync)
		}
		switch m := p.MaxDelayMinutes; {
		case m == nil:
			is.malformed("body", "autoBatchPolicy.maxDelayMinutes", "maxDelayMinutes is required (1 to %d)", MaxDelayMinutes)
		case *m < 1 || *m > MaxDelayMinutes:
			is.malformed("body", "autoBatchPolicy.maxDelayMinutes", "maxDelayMinutes must be 1 to %d, not %d", MaxDelayMinutes, *m)
		default:
			in.autoBatchDelay = time.Duration(*m) * time.Minute
		}
		// Ampersand: retryPolicy is ignored when autoBatchPolicy is set.
		in.deadline = DefaultDeadlineHours * time.Hour
		if h := p.RetryDeadlineHours; h != nil {
			if *h < 1 || *h > MaxDeadlineHours {
				is.malformed("body", "autoBatchPolicy.retryDeadlineHours", "retryDeadlineHours must be 1 to %d, not %d", MaxDeadlineHours, *h)
			}
			in.deadline = time.Duration(*h) * time.Hour
		}
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	return in, nil
}

func hasValue(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != "[]"
}

// decodeRecord decodes one record: a JSON object of any fields.
func decodeRecord(raw json.RawMessage, at string, is *issues) (map[string]any, bool) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil || m == nil {
		is.malformed("body", at, "%s must be a JSON object of fields, not %s", at, jsonKindOf(raw))
		return nil, false
	}
	if len(m) == 0 {
		is.malformed("body", at, "%s has no fields", at)
		return nil, false
	}
	return m, true
}

// jsonKindOf names the JSON kind of raw for messages.
func jsonKindOf(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return "null"
	case s[0] == '"':
		return "a string"
	case s[0] == '[':
		return "an array"
	case s[0] == 't' || s[0] == 'f':
		return "a boolean"
	case s[0] == '{':
		return "an object"
	}
	return "a number"
}

// strictDecode decodes one JSON value into v, refusing fields v does not
// declare and anything after the value.
func strictDecode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("request body is required (a JSON object)")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("request body must hold a single JSON value; found more after it")
	}
	return nil
}

// The keys a write request and a batch entry may have, for messages about
// an unknown one.
const (
	requestKeys    = "the write request has groupRef, type, mode, record, batch, batchPolicy, retryPolicy, autoBatchPolicy, associations and headers"
	batchEntryKeys = "a batch entry has record and associations"
)

// jsonProblem names the field a decoding error is about and says what is
// wrong, in the API's words; prefix is prepended to field names, and known
// lists the keys allowed where an unknown one was found.
func jsonProblem(err error, prefix, known string) (name, detail string) {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return prefix, fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return prefix, "malformed JSON: the body ends too early"
	case errors.As(err, &typ):
		where := prefix + typ.Field
		if typ.Field == "" {
			// The value itself has the wrong type: name it, or the body.
			if where = strings.TrimSuffix(prefix, "."); where == "" {
				where = "body"
			}
		}
		return where, fmt.Sprintf("%s must be %s, not a JSON %s", where, goKind(typ.Type.Kind().String()), typ.Value)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f, uerr := strconv.Unquote(rest)
		if uerr != nil {
			f = rest
		}
		return prefix + f, fmt.Sprintf("unknown field %q: %s", f, known)
	}
	return prefix, strings.TrimPrefix(msg, "json: ")
}

func goKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct", "ptr":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "a number"
	}
	return "a " + k
}
