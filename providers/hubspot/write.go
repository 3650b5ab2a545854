package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ampforge/amp/providers"
)

// Writes go through the batch endpoints (100 inputs a call): create,
// update, upsert (idProperty) and archive. HubSpot applies each input on its
// own: a partial failure is a 207 whose errors say which inputs failed. We
// tag every input with objectWriteTraceId = its index, which HubSpot echoes in
// the error's context, and also map errors by context.ids (update: "Could not
// get some CONTACT objects") so each result lands at its input's position.
// Successful results carry the record id (update, upsert) or, for create,
// are matched to inputs by their properties.

type writeInput struct {
	ID                 string            `json:"id,omitempty"`
	IDProperty         string            `json:"idProperty,omitempty"`
	Properties         map[string]string `json:"properties,omitempty"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

type batchResponse struct {
	Status  string          `json:"status"`
	Results []batchResult   `json:"results"`
	Errors  []batchErrEntry `json:"errors"`
}

type batchResult struct {
	ID         string             `json:"id"`
	Properties map[string]*string `json:"properties"`
	New        *bool              `json:"new"`
}

type batchErrEntry struct {
	Status      string              `json:"status"`
	Category    string              `json:"category"`
	SubCategory string              `json:"subCategory"`
	Message     string              `json:"message"`
	Context     map[string][]string `json:"context"`
	Errors      []apiErrorEntry     `json:"errors"`
}

// propertyString is how a value is sent: HubSpot stores every property as
// a string.
func propertyString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func properties(fields map[string]any, skip string) map[string]string {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if skip != "" && strings.EqualFold(k, skip) {
			continue
		}
		out[strings.ToLower(k)] = propertyString(v)
	}
	return out
}

// Write applies one batch; see the comment above.
func (c *Client) Write(ctx context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	n := len(req.Records)
	switch {
	case req.Object == "":
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: "WriteRequest.Object is empty"}
	case n == 0:
		return nil, nil
	case n > c.MaxBatch():
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("batch of %d records; HubSpot takes at most %d", n, c.MaxBatch())}
	case req.AllOrNone:
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "ALL_OR_NONE_UNSUPPORTED", Message: "HubSpot batch writes cannot be rolled back as a whole (no allOrNone)"}
	}
	inputs := make([]writeInput, n)
	keys := make([]string, n) // what identifies input i in results: id or upsert key value
	var path string
	for i, r := range req.Records {
		in := writeInput{ObjectWriteTraceID: strconv.Itoa(i)}
		switch req.Op {
		case providers.WriteCreate:
			in.Properties = properties(r.Fields, "")
		case providers.WriteUpdate, providers.WriteDelete:
			if r.ID == "" {
				return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("record %d: %s needs an ID", i, req.Op)}
			}
			in.ID = r.ID
			if req.Op == providers.WriteUpdate {
				in.Properties = properties(r.Fields, "")
			} else {
				in.ObjectWriteTraceID = ""
			}
		case providers.WriteUpsert:
			if req.UpsertKey == "" {
				return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: "upsert needs an UpsertKey (a unique property such as email)"}
			}
			key := strings.ToLower(req.UpsertKey)
			v, ok := r.Fields[req.UpsertKey]
			if !ok {
				v, ok = r.Fields[key]
			}
			if !ok || propertyString(v) == "" {
				return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("record %d: upsert key %s has no value", i, req.UpsertKey)}
			}
			in.ID, in.IDProperty = propertyString(v), key
			in.Properties = properties(r.Fields, req.UpsertKey)
		default:
			return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("unknown write op %q", req.Op)}
		}
		keys[i] = in.ID
		inputs[i] = in
	}
	switch req.Op {
	case providers.WriteCreate:
		path = "create"
	case providers.WriteUpdate:
		path = "update"
	case providers.WriteUpsert:
		path = "upsert"
	case providers.WriteDelete:
		path = "archive"
	}
	u := c.base + "/crm/v3/objects/" + url.PathEscape(req.Object) + "/batch/" + path
	status, body, err := c.do(ctx, "POST", u, map[string]any{"inputs": inputs})
	if err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Kind == providers.KindConflict && req.Op == providers.WriteCreate {
			// A batch refused as a whole for a conflict (a lone duplicate
			// contact): every record failed for that reason.
			out := make([]providers.WriteResult, n)
			for i := range out {
				out[i] = providers.WriteResult{Errors: []providers.RecordError{{Code: pe.Code, Message: pe.Message, Kind: providers.KindConflict}}}
			}
			return out, nil
		}
		return nil, err
	}
	if req.Op == providers.WriteDelete {
		out := make([]providers.WriteResult, n)
		for i, r := range req.Records {
			out[i] = providers.WriteResult{Success: true, ID: r.ID}
		}
		return out, nil
	}
	var br batchResponse
	if err := json.Unmarshal(body, &br); err != nil {
		return nil, malformed(u, fmt.Errorf("HTTP %d: %w", status, err))
	}
	return mapResults(req, inputs, keys, &br), nil
}

func recordError(e batchErrEntry) providers.RecordError {
	re := providers.RecordError{Code: e.Category, Message: e.Message, Kind: providers.KindInvalid}
	switch e.Category {
	case "CONFLICT":
		re.Kind = providers.KindConflict
	case "OBJECT_NOT_FOUND":
		re.Kind = providers.KindNotFound
	case "MISSING_SCOPES":
		re.Kind = providers.KindForbidden
	}
	re.Fields = append(re.Fields, e.Context["propertyName"]...)
	for _, sub := range e.Errors {
		re.Fields = append(re.Fields, sub.Context["propertyName"]...)
	}
	return re
}

// mapResults puts HubSpot's results and errors at their inputs' positions.
func mapResults(req providers.WriteRequest, inputs []writeInput, keys []string, br *batchResponse) []providers.WriteResult {
	n := len(inputs)
	out := make([]providers.WriteResult, n)
	done := make([]bool, n)
	var unplaced []providers.RecordError
	for _, e := range br.Errors {
		re := recordError(e)
		placed := false
		for _, t := range e.Context["objectWriteTraceId"] {
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < n && !done[i] {
				out[i], done[i], placed = providers.WriteResult{Errors: []providers.RecordError{re}}, true, true
			}
		}
		if !placed {
			for _, id := range e.Context["ids"] {
				for i := range n {
					if !done[i] && keys[i] != "" && strings.EqualFold(keys[i], id) {
						out[i], done[i], placed = providers.WriteResult{Errors: []providers.RecordError{re}}, true, true
					}
				}
			}
		}
		if !placed {
			unplaced = append(unplaced, re)
		}
	}
	for _, r := range br.Results {
		i := matchResult(req, inputs, keys, done, r)
		if i < 0 {
			continue
		}
		res := providers.WriteResult{Success: true, ID: r.ID}
		if r.New != nil {
			res.Created = *r.New
		}
		out[i], done[i] = res, true
	}
	for i := range n {
		if done[i] {
			continue
		}
		if len(unplaced) > 0 {
			out[i] = providers.WriteResult{Errors: []providers.RecordError{unplaced[0]}}
			unplaced = unplaced[1:]
			continue
		}
		out[i] = providers.WriteResult{Errors: []providers.RecordError{{Code: "NO_RESULT", Message: "HubSpot returned no result for this record", Kind: providers.KindUnknown}}}
	}
	return out
}

// matchResult finds the unplaced input a successful result belongs to, or -1.
func matchResult(req providers.WriteRequest, inputs []writeInput, keys []string, done []bool, r batchResult) int {
	switch req.Op {
	case providers.WriteUpdate:
		for i := range inputs {
			if !done[i] && keys[i] == r.ID {
				return i
			}
		}
	case providers.WriteUpsert:
		key := strings.ToLower(req.UpsertKey)
		v := ""
		if p := r.Properties[key]; p != nil {
			v = *p
		}
		if key == "hs_object_id" || key == "id" {
			v = r.ID
		}
		for i := range inputs {
			if !done[i] && strings.EqualFold(keys[i], v) {
				return i
			}
		}
	case providers.WriteCreate:
		// The first unplaced input whose properties the result shows.
		for i, in := range inputs {
			if done[i] {
				continue
			}
			match := true
			for k, want := range in.Properties {
				if got := r.Properties[k]; got != nil && !strings.EqualFold(*got, want) {
					match = false
					break
				}
			}
			if match {
				return i
			}
		}
	}
	if req.Op != providers.WriteCreate {
		// An update or upsert result names its record; one that matches no
		// input is not guessed at, so no failed input reads as a success.
		return -1
	}
	// A create result whose properties HubSpot trimmed: place it by order
	// only when every other result was placed, so the guess is forced.
	left := -1
	for i := range inputs {
		if !done[i] {
			if left >= 0 {
				return -1
			}
			left = i
		}
	}
	return left
}
