package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ampforge/amp/providers"
)

// saveResult is one element of an sObject Collections answer (and the body
// of a single-record create).
type saveResult struct {
	ID      string `json:"id,omitempty"`
	Success bool   `json:"success"`
	Created *bool  `json:"created,omitempty"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func (s saveResult) result() providers.WriteResult {
	r := providers.WriteResult{Success: s.Success, ID: s.ID, Created: s.Created != nil && *s.Created}
	for _, e := range s.Errors {
		k, ok := kindForCode(e.StatusCode)
		if !ok {
			k = providers.KindInvalid
		}
		r.Errors = append(r.Errors, providers.RecordError{Code: e.StatusCode, Message: e.Message, Fields: e.Fields, Kind: k})
	}
	return r
}

// collectionBody is the request of a create, update or upsert collection.
type collectionBody struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// Write applies one batch through sObject Collections (one API call):
// create (POST /composite/sobjects), update (PATCH, with each record's id),
// upsert by an external-id field (PATCH /composite/sobjects/{SObject}/{field})
// and delete (DELETE /composite/sobjects?ids=...). Results come back in
// input order; with AllOrNone a failure rolls the batch back and the other
// records report ALL_OR_NONE_OPERATION_ROLLED_BACK.
func (c *Client) Write(ctx context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	if n := len(req.Records); n == 0 || n > c.MaxBatch() {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name,
			Message: fmt.Sprintf("write %s: %d records; a batch holds 1 to %d", req.Object, n, c.MaxBatch())}
	}
	obj := APIObjectName(req.Object)
	what := fmt.Sprintf("%s %d %s records", req.Op, len(req.Records), req.Object)
	var (
		method, target string
		body           any
	)
	switch req.Op {
	case providers.WriteCreate, providers.WriteUpdate, providers.WriteUpsert:
		cb := collectionBody{AllOrNone: req.AllOrNone, Records: make([]map[string]any, len(req.Records))}
		for i, r := range req.Records {
			m := make(map[string]any, len(r.Fields)+2)
			for k, v := range r.Fields {
				m[k] = v
			}
			m["attributes"] = map[string]string{"type": obj}
			if req.Op == providers.WriteUpdate {
				delete(m, "Id")
				m["id"] = r.ID
			}
			cb.Records[i] = m
		}
		body = cb
		method, target = http.MethodPost, c.data+"/composite/sobjects"
		switch req.Op {
		case providers.WriteUpdate:
			method = http.MethodPatch
		case providers.WriteUpsert:
			if req.UpsertKey == "" {
				return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: what + ": UpsertKey is empty"}
			}
			method = http.MethodPatch
			target += "/" + url.PathEscape(obj) + "/" + url.PathEscape(req.UpsertKey)
		}
	case providers.WriteDelete:
		ids := make([]string, len(req.Records))
		for i, r := range req.Records {
			if r.ID == "" {
				return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: "MISSING_ARGUMENT",
					Message: fmt.Sprintf("%s: record %d has no id", what, i)}
			}
			ids[i] = r.ID
		}
		method = http.MethodDelete
		target = c.data + "/composite/sobjects?" + url.Values{
			"ids": {strings.Join(ids, ",")}, "allOrNone": {fmt.Sprint(req.AllOrNone)},
		}.Encode()
	default:
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("unknown write op %q", req.Op)}
	}
	var out []saveResult
	if err := c.doJSON(ctx, method, target, body, &out, what); err != nil {
		return nil, err
	}
	if len(out) != len(req.Records) {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name,
			Message: fmt.Sprintf("%s: Salesforce answered %d results", what, len(out))}
	}
	res := make([]providers.WriteResult, len(out))
	for i, s := range out {
		res[i] = s.result()
		if res[i].ID == "" && req.Op != providers.WriteCreate && req.Op != providers.WriteUpsert {
			res[i].ID = req.Records[i].ID
		}
	}
	return res, nil
}
