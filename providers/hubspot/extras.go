package hubspot

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/ampforge/amp/providers"
)

// Account is a portal's account details (GET /account-info/v3/details).
// The time zone matters: HubSpot's daily limit resets at midnight in it.
type Account struct {
	PortalID            int64  `json:"portalId"`
	AccountType         string `json:"accountType"`
	TimeZone            string `json:"timeZone"`
	CompanyCurrency     string `json:"companyCurrency"`
	UIDomain            string `json:"uiDomain"`
	DataHostingLocation string `json:"dataHostingLocation"`
}

// AccountInfo returns the connection's portal details.
func (c *Client) AccountInfo(ctx context.Context) (*Account, error) {
	u := c.base + "/account-info/v3/details"
	_, body, err := c.do(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	var a Account
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, malformed(u, err)
	}
	return &a, nil
}

// AssociationResult is what Associations returns for one source record:
// the associated record ids, or the reason HubSpot gave for that record.
type AssociationResult struct {
	To    []string
	Error *providers.RecordError
}

// Associations reads the associations from records of one object to
// another (POST /crm/v4/associations/{from}/{to}/batch/read). Records with
// none come back with HubSpot's NO_ASSOCIATIONS_FOUND reason; invalid ids
// with INVALID_IDENTIFIER. It understands both the classic answer
// ({from:{id}, to:[{toObjectId}]}) and the flattened one
// ({fromObjectId, toObjectId}).
func (c *Client) Associations(ctx context.Context, from, to string, ids []string) (map[string]AssociationResult, error) {
	inputs := make([]map[string]string, len(ids))
	for i, id := range ids {
		inputs[i] = map[string]string{"id": id}
	}
	u := c.base + "/crm/v4/associations/" + url.PathEscape(from) + "/" + url.PathEscape(to) + "/batch/read"
	_, body, err := c.do(ctx, "POST", u, map[string]any{"inputs": inputs})
	if err != nil {
		return nil, err
	}
	return parseAssociations(body, ids)
}

func parseAssociations(body []byte, ids []string) (map[string]AssociationResult, error) {
	var resp struct {
		Results []struct {
			From *struct {
				ID string `json:"id"`
			} `json:"from"`
			To []struct {
				ToObjectID json.Number `json:"toObjectId"`
			} `json:"to"`
			FromObjectID json.Number `json:"fromObjectId"`
			ToObjectID   json.Number `json:"toObjectId"`
		} `json:"results"`
		Errors []batchErrEntry `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, malformed("associations", err)
	}
	out := map[string]AssociationResult{}
	for _, r := range resp.Results {
		if r.From != nil {
			a := out[r.From.ID]
			for _, t := range r.To {
				a.To = append(a.To, t.ToObjectID.String())
			}
			out[r.From.ID] = a
			continue
		}
		if r.FromObjectID != "" {
			a := out[r.FromObjectID.String()]
			a.To = append(a.To, r.ToObjectID.String())
			out[r.FromObjectID.String()] = a
		}
	}
	for _, e := range resp.Errors {
		re := recordError(e)
		if e.SubCategory != "" {
			re.Code = e.SubCategory
		}
		keys := append(append([]string{}, e.Context["fromObjectId"]...), e.Context["id"]...)
		if len(keys) == 0 {
			// An error naming no id ("cannot be associated to itself"):
			// attach it to the ids in its message.
			// Match whole numbers only: id 1 must not match inside 12.
			words := strings.FieldsFunc(e.Message, func(r rune) bool { return r < '0' || r > '9' })
			for _, id := range ids {
				if slices.Contains(words, id) {
					keys = append(keys, id)
				}
			}
		}
		for _, k := range keys {
			a := out[k]
			a.Error = &re
			out[k] = a
		}
	}
	return out, nil
}
