package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ampforge/amp/providers"
)

// MaxGetIDs is the most inputs of one batch read (HubSpot's batch limit).
const MaxGetIDs = 100

// MaxGetBatch is MaxGetIDs: one GetRecords call is one API request.
func (c *Client) MaxGetBatch() int { return MaxGetIDs }

// GetRecords reads records by id through the batch read endpoint,
// POST /crm/v3/objects/{objectType}/batch/read, asking for the properties
// Read asks for (fields, hs_object_id and the modified property), so a
// record decodes exactly as a list or search row does. HubSpot answers the
// ids it cannot read (unknown, archived) as per-input errors of a 207
// Multi-Status; those ids are left out, as is a whole answer of 404
// OBJECT_NOT_FOUND. Any other per-input error is returned as an error.
// Ids that are not HubSpot record ids (digits) are left out before the
// call, and repeats are sent once (HubSpot refuses a batch with duplicate
// ids). An unknown object is HubSpot's 400 "Unable to infer object type"
// (KindNotFound), as for Read.
func (c *Client) GetRecords(ctx context.Context, object string, ids []string, fields []string) ([]providers.Record, error) {
	valid, err := providers.GetIDs(Name, object, ids, MaxGetIDs, func(id string) (string, bool) { return id, recordID(id) })
	if err != nil || len(valid) == 0 {
		return nil, err
	}
	inputs := make([]map[string]string, len(valid))
	for i, id := range valid {
		inputs[i] = map[string]string{"id": id}
	}
	p := c.plan(providers.ReadRequest{Object: object, Fields: fields})
	u := c.base + "/crm/v3/objects/" + p.object + "/batch/read"
	_, body, err := c.do(ctx, http.MethodPost, u, map[string]any{"inputs": inputs, "properties": p.props})
	if err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Status == http.StatusNotFound && pe.Code == "OBJECT_NOT_FOUND" {
			return nil, nil
		}
		return nil, err
	}
	var resp struct {
		Results []json.RawMessage `json:"results"`
		Errors  []batchErrEntry   `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, malformed(u, err)
	}
	for _, e := range resp.Errors {
		if e.Category != "OBJECT_NOT_FOUND" {
			re := recordError(e)
			return nil, &providers.Error{Kind: re.Kind, Provider: Name, Status: http.StatusMultiStatus, Code: re.Code,
				Message: fmt.Sprintf("batch read %s: %s", object, re.Message)}
		}
	}
	out := make([]providers.Record, 0, len(resp.Results))
	for _, raw := range resp.Results {
		rec, err := p.record(raw)
		if err != nil {
			return nil, malformed(u, err)
		}
		if !rec.Deleted {
			out = append(out, rec)
		}
	}
	return out, nil
}

// recordID reports whether id can be a HubSpot record id (hs_object_id):
// a positive number in decimal digits.
func recordID(id string) bool {
	if id == "" || len(id) > 20 || id[0] == '0' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
