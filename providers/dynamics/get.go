package dynamics

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ampforge/amp/providers"
)

// MaxGetIDs is the most ids of one GetRecords call. The ids travel in the
// query URL, about 60 characters each once escaped: 100 of them take some
// 6 KB of the 32 KB Dataverse accepts, which leaves room for a long
// $select.
const MaxGetIDs = 100

// MaxURLLength is the longest URL Dataverse accepts (32 KB); a longer one
// is refused before the Web API sees it.
const MaxURLLength = 32768

// MaxGetBatch is MaxGetIDs.
func (c *Client) MaxGetBatch() int { return MaxGetIDs }

// GetRecords reads rows by primary key with one query,
// GET {entityset}?$select=...&$filter=<key> eq <guid> or <key> eq <guid>...
// An or-chain of equalities is plain OData 4.0, which every Web API
// version accepts (OData 4.01's "in" operator is not among Dataverse's
// filter operators; its Microsoft.Dynamics.CRM.In function would also do,
// but buys nothing at this size). The $select is Read's (fields, the key
// and modifiedon), so a row decodes exactly as a query row does. Rows that
// do not exist or are deleted simply do not match. Ids that are not GUIDs
// are left out before the query (a malformed GUID is a syntax error in
// $filter); braces and case do not matter, and repeats are asked once. A
// query whose URL would pass MaxURLLength (a very long $select) is split
// in two. An unknown table is KindNotFound, an unknown column KindInvalid,
// as for Read.
func (c *Client) GetRecords(ctx context.Context, object string, ids []string, fields []string) ([]providers.Record, error) {
	guids, err := providers.GetIDs(Name, object, ids, MaxGetIDs, func(id string) (string, bool) {
		g := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(id, "{"), "}"))
		return g, isGUID(g)
	})
	if err != nil || len(guids) == 0 {
		return nil, err
	}
	set := strings.ToLower(object)
	key, err := c.primaryID(ctx, set)
	if err != nil {
		return nil, err
	}
	return c.getByKey(ctx, set, key, selectQuery(key, fields), guids)
}

// getByKey queries the rows of set whose key is one of guids, following
// nextLinks, and splits the query when its URL would be too long.
func (c *Client) getByKey(ctx context.Context, set, key, sel string, guids []string) ([]providers.Record, error) {
	var filter strings.Builder
	for i, g := range guids {
		if i > 0 {
			filter.WriteString(" or ")
		}
		filter.WriteString(key)
		filter.WriteString(" eq ")
		filter.WriteString(g)
	}
	link := set + "?" + sel + "&$filter=" + queryEscape(filter.String())
	if len(c.absolute(link)) > MaxURLLength && len(guids) > 1 {
		half := len(guids) / 2
		first, err := c.getByKey(ctx, set, key, sel, guids[:half])
		if err != nil {
			return nil, err
		}
		rest, err := c.getByKey(ctx, set, key, sel, guids[half:])
		if err != nil {
			return nil, err
		}
		return append(first, rest...), nil
	}
	out := make([]providers.Record, 0, len(guids))
	for link != "" {
		resp, err := c.do(ctx, request{method: http.MethodGet, url: link})
		if err != nil {
			return nil, err
		}
		var p pageBody
		err = json.NewDecoder(resp.Body).Decode(&p)
		done(resp)
		if err != nil {
			return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode, Message: "malformed page (truncated or invalid JSON)", Err: err}
		}
		for _, raw := range p.Value {
			rec, err := parseRecord(raw, key)
			if err != nil {
				return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: "malformed record", Err: err}
			}
			if !rec.Deleted {
				out = append(out, rec)
			}
		}
		link = ""
		if p.Next != "" && len(p.Value) > 0 {
			link = relative(p.Next)
		}
	}
	return out, nil
}
