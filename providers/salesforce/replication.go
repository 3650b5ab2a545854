package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
)

// Org limits as GET /limits names them.
const (
	LimitDailyAPIRequests              = "DailyApiRequests"
	LimitDailyBulkAPIBatches           = "DailyBulkApiBatches"
	LimitDailyBulkV2QueryJobs          = "DailyBulkV2QueryJobs"
	LimitDailyBulkV2QueryFileStorageMB = "DailyBulkV2QueryFileStorageMB"
)

// Limits reads the org's limits (GET /limits), keyed by Salesforce's names
// (LimitDailyAPIRequests …): Limit is the allocation (Max), Used is Max
// minus Remaining, Window is a day for Daily* limits and an hour for
// Hourly* ones (zero otherwise), Source is "limits". Entries without Max
// and Remaining are skipped. The call counts against DailyApiRequests
// itself, and Salesforce's figures can lag use by a few minutes; the
// Sforce-Limit-Info header of every response (Config.OnQuota) is current.
func (c *Client) Limits(ctx context.Context) (map[string]providers.Quota, error) {
	var raw map[string]json.RawMessage
	if err := c.doJSON(ctx, "GET", c.data+"/limits", nil, &raw, "reading org limits"); err != nil {
		return nil, err
	}
	out := make(map[string]providers.Quota, len(raw))
	for name, v := range raw {
		var l struct {
			Max, Remaining *int64
		}
		if json.Unmarshal(v, &l) != nil || l.Max == nil || l.Remaining == nil {
			continue
		}
		q := providers.Quota{Limit: int(*l.Max), Used: int(max(*l.Max-*l.Remaining, 0)), Source: "limits"}
		switch {
		case strings.HasPrefix(name, "Daily"):
			q.Window = 24 * time.Hour
		case strings.HasPrefix(name, "Hourly"):
			q.Window = time.Hour
		}
		out[name] = q
	}
	if _, ok := out[LimitDailyAPIRequests]; !ok {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Status: 200,
			Message: "reading org limits: the answer has no DailyApiRequests"}
	}
	return out, nil
}

// UpdatedResult is getUpdated's answer.
type UpdatedResult struct {
	// IDs are the records created or changed in the window (deleted ones
	// excluded), in no promised order.
	IDs []string
	// LatestDateCovered is where the window really ended (at most end):
	// start the next window there.
	LatestDateCovered time.Time
}

// DeletedRecord is one getDeleted entry.
type DeletedRecord struct {
	ID          string
	DeletedDate time.Time
}

// DeletedResult is getDeleted's answer.
type DeletedResult struct {
	Records []DeletedRecord
	// EarliestDateAvailable is the oldest point the delete log still
	// covers; LatestDateCovered is where to start the next window.
	EarliestDateAvailable, LatestDateCovered time.Time
}

// Updated lists the ids of object's records created or changed between
// start and end (GET /sobjects/{object}/updated/, by SystemModstamp).
// Salesforce ignores the seconds of both bounds, reaches back 30 days,
// refuses a window that does not start before it ends (KindInvalid,
// INVALID_REPLICATION_DATE) and one holding more than 600,000 ids
// (KindInvalid, EXCEEDED_ID_LIMIT: ask for a narrower window). Chain
// windows on LatestDateCovered, not on end.
func (c *Client) Updated(ctx context.Context, object string, start, end time.Time) (*UpdatedResult, error) {
	var page struct {
		IDs               []string `json:"ids"`
		LatestDateCovered string   `json:"latestDateCovered"`
	}
	what := "listing updated " + object + " records"
	if err := c.doJSON(ctx, "GET", c.replicationURL(object, "updated", start, end), nil, &page, what); err != nil {
		return nil, err
	}
	covered, err := parseReplicationTime(what, "latestDateCovered", page.LatestDateCovered)
	if err != nil {
		return nil, err
	}
	return &UpdatedResult{IDs: page.IDs, LatestDateCovered: covered}, nil
}

// Deleted lists object's records deleted between start and end (GET
// /sobjects/{object}/deleted/). The same rules as Updated apply, with a
// reach of 15 days. A start the delete log no longer covers (it was
// purged, or is older than 15 days) is refused with KindInvalid and code
// INVALID_REPLICATION_DATE: the object must then be read in full (a
// queryAll read with IncludeDeleted) to find its deletions.
func (c *Client) Deleted(ctx context.Context, object string, start, end time.Time) (*DeletedResult, error) {
	var page struct {
		DeletedRecords []struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		} `json:"deletedRecords"`
		EarliestDateAvailable string `json:"earliestDateAvailable"`
		LatestDateCovered     string `json:"latestDateCovered"`
	}
	what := "listing deleted " + object + " records"
	if err := c.doJSON(ctx, "GET", c.replicationURL(object, "deleted", start, end), nil, &page, what); err != nil {
		return nil, err
	}
	res := &DeletedResult{Records: make([]DeletedRecord, 0, len(page.DeletedRecords))}
	var err error
	if res.LatestDateCovered, err = parseReplicationTime(what, "latestDateCovered", page.LatestDateCovered); err != nil {
		return nil, err
	}
	if page.EarliestDateAvailable != "" {
		if res.EarliestDateAvailable, err = parseReplicationTime(what, "earliestDateAvailable", page.EarliestDateAvailable); err != nil {
			return nil, err
		}
	}
	for _, d := range page.DeletedRecords {
		t, err := parseReplicationTime(what, "deletedDate", d.DeletedDate)
		if err != nil {
			return nil, err
		}
		res.Records = append(res.Records, DeletedRecord{ID: d.ID, DeletedDate: t})
	}
	return res, nil
}

// replicationURL builds a getUpdated or getDeleted URL. The bounds are
// sent in UTC with an explicit +00:00 offset, the documented form.
func (c *Client) replicationURL(object, resource string, start, end time.Time) string {
	const layout = "2006-01-02T15:04:05+00:00"
	return c.data + "/sobjects/" + url.PathEscape(APIObjectName(object)) + "/" + resource +
		"/?start=" + url.QueryEscape(start.UTC().Format(layout)) + "&end=" + url.QueryEscape(end.UTC().Format(layout))
}

func parseReplicationTime(what, field, s string) (time.Time, error) {
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: 200,
			Message: fmt.Sprintf("%s: %s %q is not a Salesforce datetime", what, field, s), Err: err}
	}
	return t, nil
}
