package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ampforge/amp/providers"
)

// MaxGetIDs is the most ids one sObject Collections retrieve by POST
// takes (the GET form stops at about 800, where its URL grows too long).
const MaxGetIDs = 2000

// MaxGetBatch is MaxGetIDs: one GetRecords call is one API request.
func (c *Client) MaxGetBatch() int { return MaxGetIDs }

// retrieveBody is the body of an sObject Collections retrieve by POST.
type retrieveBody struct {
	IDs    []string `json:"ids"`
	Fields []string `json:"fields"`
}

// GetRecords reads records by id through sObject Collections retrieve,
// POST /composite/sobjects/{SObject} with {"ids", "fields"}: the POST form
// takes 2,000 ids in its body where the GET form's URL is full at about
// 800, and both want the fields named. The fields asked for are those of
// Read (Id, SystemModstamp, then fields; with nil fields only the two), so
// a record decodes exactly as a query row does. Salesforce answers one
// element per id, in id order, null for an id that is invalid, deleted,
// of another object or not visible to the user; those are left out. Ids
// that are not 15 or 18 letters and digits are left out before the call,
// and repeats are sent once. Records carry the 18-character id. An unknown
// object is Salesforce's INVALID_TYPE (KindInvalid), as for Read; an
// unknown field is INVALID_FIELD.
func (c *Client) GetRecords(ctx context.Context, object string, ids []string, fields []string) ([]providers.Record, error) {
	valid, err := providers.GetIDs(Name, object, ids, MaxGetIDs, func(id string) (string, bool) {
		return id, (len(id) == 15 || len(id) == 18) && alnum(id, false)
	})
	if err != nil || len(valid) == 0 {
		return nil, err
	}
	body := retrieveBody{IDs: valid, Fields: selectColumns(fields, false)}
	what := fmt.Sprintf("get %d %s records", len(body.IDs), object)
	var rows []json.RawMessage
	target := c.data + "/composite/sobjects/" + url.PathEscape(APIObjectName(object))
	if err := c.doJSON(ctx, http.MethodPost, target, body, &rows, what); err != nil {
		return nil, err
	}
	out := make([]providers.Record, 0, len(rows))
	keys := make(map[string]string, len(body.Fields)+1)
	for i, raw := range rows {
		if string(raw) == "null" {
			continue
		}
		rec, err := decodeRecord(raw, keys)
		if err != nil {
			return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: http.StatusOK,
				Message: fmt.Sprintf("%s: record %d", what, i), Err: err}
		}
		if rec.Deleted {
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}
