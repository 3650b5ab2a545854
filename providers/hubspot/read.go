package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
)

// Reads.
//
// A full read (no Since/Until) reads from both ends of the id range at
// once. The list (/crm/v3/objects/{type}, 100 records a page, HubSpot's
// `after` cursor, stable while records change) returns records in
// ascending id order in practice, so it walks ids up from the bottom; CRM
// search, sorted on hs_object_id descending, walks them down from the
// top, 200 a page, each page a fresh query for the ids below the lowest
// one searched (keyset paging, as for incremental reads below: never near
// the 10,000-result cap). The read is done when the two meet or either
// reaches the other end. Search has its own limit
// (five a second per account, pace.go) and returns twice as many records
// a request, so a call searches whenever the account has a search slot
// free and lists otherwise: under a burst window that binds, that is
// about one search to a list. Each call sends one request, keeping the
// engine's pace of the burst window exact, except that a call sends both
// at once where the window's readings prove that HubSpot leaves searches
// out of it, as its guidelines say (proof.go; the first call lists, and
// its reading starts the proof), while the window has room to spare (a
// slow reader whose latency, not the window, binds), and for the few
// probes a window allows before the proof (pace.go).
//
// The cursor holds both ends: listHigh (every id up to it was delivered)
// and searchLow (every id from it up was). A list page must rise in id
// above listHigh; HubSpot documents `after` as opaque, so a page that
// does not switches the read to a plain list read from there,
// delivering again what search delivered rather than lose anything. A
// search that fails beside a list page is dropped for that call; a search
// that fails alone costs its call's records and the next call lists
// (rate limits and refused credentials still go to the engine); one that
// HubSpot refuses outright (400), or that fails five times in a row, is
// given up for the rest of the read, so a search outage slows a full read
// but never stops it.
// Records created during the read may be missed (the next incremental
// read has them); none that existed throughout is. MetadataTwoEndedRead
// turns it off: full reads then list only.
//
// An incremental read searches on the modified property (lastmodifieddate
// for contacts, hs_lastmodifieddate elsewhere), sorted ascending on it and
// then on hs_object_id. Every page is a fresh query anchored at the last
// record read (keyset paging):
//
//	(modified > T) OR (modified = T AND hs_object_id > lastID)
//
// so a query never pages past HubSpot's 10,000-result cap, records sharing
// one timestamp are neither lost nor repeated however many there are, and a
// record changed during the read moves behind the anchor and is read again
// at its new time instead of shifting an offset and making another record
// skip. This re-anchors on every page rather than only at the cap; it costs
// no extra requests. It relies on the secondary sort on hs_object_id being
// honoured within equal modified times.
//
// Every search of an incremental read waits for the account's next slot
// under HubSpot's search limit first (pace.go); a full read searches only
// when the slot is free (or all but: searchGrace) and lists otherwise.
//
// IncludeDeleted adds a last phase listing archived records
// (?archived=true), filtered by archivedAt to the read's window.
//
// Cursors are "d:<flags>:<listHigh>:<searchLow>:<after>" (two-ended),
// "l:<after>" (list only, and cursors from before the two-ended read),
// "s:<unix ms>:<id>" (search anchor) and "a:<after>" (archived), opaque to
// callers.

// modifiedProperty returns the object's last-modified property.
func modifiedProperty(object string) string {
	switch strings.ToLower(object) {
	case "contacts", "contact", "0-1":
		return "lastmodifieddate"
	}
	return "hs_lastmodifieddate"
}

type hsPage struct {
	Total   *int              `json:"total"`
	Results []json.RawMessage `json:"results"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

func (p *hsPage) next() string {
	if p.Paging == nil || p.Paging.Next == nil {
		return ""
	}
	return p.Paging.Next.After
}

type hsRecord struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	UpdatedAt  string         `json:"updatedAt"`
	Archived   bool           `json:"archived"`
	ArchivedAt string         `json:"archivedAt"`
}

// readPlan holds what one Read computes once: paths, the property list and
// the field keys every record must carry.
type readPlan struct {
	req     providers.ReadRequest
	object  string // path-escaped
	modProp string
	props   []string // HubSpot property names to ask for
	keys    []string // lower-case requested field names
}

func (c *Client) plan(req providers.ReadRequest) *readPlan {
	p := &readPlan{req: req, object: url.PathEscape(req.Object), modProp: modifiedProperty(req.Object)}
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && name != "id" && !seen[name] {
			seen[name] = true
			p.props = append(p.props, name)
		}
	}
	for _, f := range req.Fields {
		k := strings.ToLower(strings.TrimSpace(f))
		p.keys = append(p.keys, k)
		add(k)
	}
	add("hs_object_id")
	add(p.modProp)
	return p
}

// Read returns one page of records; see the comment above for the paging.
func (c *Client) Read(ctx context.Context, req providers.ReadRequest) (*providers.ReadPage, error) {
	if req.Object == "" {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: "ReadRequest.Object is empty"}
	}
	p := c.plan(req)
	incremental := !req.Since.IsZero() || !req.Until.IsZero()
	cur := req.Cursor
	if cur == "" {
		switch {
		case incremental:
			cur = "s::"
		case c.twoEnded:
			// A list first: its reading of the burst window is where the
			// proof that searches are outside it starts (proof.go).
			cur = ends{searchLow: noBound, listNext: true}.String()
		default:
			cur = "l:"
		}
	}
	phase, state, ok := strings.Cut(cur, ":")
	if !ok || phase == "d" && incremental {
		return nil, badCursor(req.Cursor)
	}
	var (
		page *providers.ReadPage
		err  error
	)
	switch phase {
	case "d":
		page, err = c.readTwoEnded(ctx, p, state)
	case "l":
		page, err = c.readList(ctx, p, state, false)
	case "a":
		page, err = c.readList(ctx, p, state, true)
	case "s":
		page, err = c.readSearch(ctx, p, state)
	default:
		return nil, badCursor(req.Cursor)
	}
	if err != nil {
		return nil, err
	}
	if page.Done && phase != "a" && req.IncludeDeleted {
		page.Done, page.NextCursor = false, "a:"
	}
	return page, nil
}

func badCursor(c string) error {
	return &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: fmt.Sprintf("malformed cursor %q", c)}
}

func pageSize(req providers.ReadRequest, def, maxSize int) int {
	if req.PageSize <= 0 {
		return def
	}
	return min(req.PageSize, maxSize)
}

// readList reads one page of GET /crm/v3/objects/{type}, live or archived.
func (c *Client) readList(ctx context.Context, p *readPlan, after string, archived bool) (*providers.ReadPage, error) {
	recs, next, err := c.listPage(ctx, p, after, archived)
	if err != nil {
		return nil, err
	}
	out := &providers.ReadPage{Records: recs, Total: -1}
	if archived && (!p.req.Since.IsZero() || !p.req.Until.IsZero()) {
		out.Records = slices.DeleteFunc(recs, func(r providers.Record) bool { return !inWindow(r.ModifiedAt, p.req.Since, p.req.Until) })
	}
	if next != "" {
		prefix := "l:"
		if archived {
			prefix = "a:"
		}
		out.NextCursor = prefix + next
	} else {
		out.Done = true
	}
	return out, nil
}

// listPage fetches and decodes one page of the list, and returns the
// cursor of the next ("" at the end).
func (c *Client) listPage(ctx context.Context, p *readPlan, after string, archived bool) ([]providers.Record, string, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(pageSize(p.req, spec.Batch.ReadPageSize, spec.Batch.ReadPageSize)))
	q.Set("properties", strings.Join(p.props, ","))
	q.Set("archived", strconv.FormatBool(archived))
	if after != "" {
		q.Set("after", after)
	}
	u := c.base + "/crm/v3/objects/" + p.object + "?" + q.Encode()
	_, body, err := c.do(ctx, "GET", u, nil)
	if err != nil {
		return nil, "", err
	}
	hp, recs, err := p.decode(u, body)
	if err != nil {
		return nil, "", err
	}
	return recs, hp.next(), nil
}

// decode decodes a list or search answer from u and its records.
func (p *readPlan) decode(u string, body []byte) (*hsPage, []providers.Record, error) {
	var hp hsPage
	if err := json.Unmarshal(body, &hp); err != nil {
		return nil, nil, malformed(u, err)
	}
	recs := make([]providers.Record, 0, len(hp.Results))
	for _, raw := range hp.Results {
		rec, err := p.record(raw)
		if err != nil {
			return nil, nil, malformed(u, err)
		}
		recs = append(recs, rec)
	}
	return &hp, recs, nil
}

func inWindow(t, since, until time.Time) bool {
	return (since.IsZero() || t.After(since)) && (until.IsZero() || !t.After(until))
}

func malformed(u string, err error) error {
	return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: "malformed response", Err: fmt.Errorf("%s: %w", u, err)}
}

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type filterGroup struct {
	Filters []searchFilter `json:"filters"`
}

type searchSort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

type searchRequest struct {
	FilterGroups []filterGroup `json:"filterGroups"`
	Sorts        []searchSort  `json:"sorts"`
	Properties   []string      `json:"properties"`
	Limit        int           `json:"limit"`
	After        string        `json:"after,omitempty"`
}

const isoMillis = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(isoMillis) }

// searchBody builds the keyset query for anchor (t, lastID); a zero t
// starts at req.Since.
func (p *readPlan) searchBody(t time.Time, lastID string, limit int) searchRequest {
	var upper []searchFilter
	if !p.req.Until.IsZero() {
		upper = []searchFilter{{p.modProp, "LTE", iso(p.req.Until)}}
	}
	var groups []filterGroup
	switch {
	case t.IsZero():
		groups = []filterGroup{{Filters: upper}}
	case lastID == "":
		groups = []filterGroup{{Filters: append([]searchFilter{{p.modProp, "GT", iso(t)}}, upper...)}}
	default:
		groups = []filterGroup{
			{Filters: append([]searchFilter{{p.modProp, "GT", iso(t)}}, upper...)},
			{Filters: append([]searchFilter{{p.modProp, "EQ", iso(t)}, {"hs_object_id", "GT", lastID}}, upper...)},
		}
	}
	return searchRequest{
		FilterGroups: groups,
		Sorts:        []searchSort{{p.modProp, "ASCENDING"}, {"hs_object_id", "ASCENDING"}},
		Properties:   p.props,
		Limit:        limit,
	}
}

func (c *Client) readSearch(ctx context.Context, p *readPlan, state string) (*providers.ReadPage, error) {
	msText, lastID, ok := strings.Cut(state, ":")
	if !ok {
		return nil, badCursor("s:" + state)
	}
	anchor := p.req.Since
	if msText != "" {
		ms, err := strconv.ParseInt(msText, 10, 64)
		if err != nil {
			return nil, badCursor("s:" + state)
		}
		anchor = time.UnixMilli(ms).UTC()
	}
	body := p.searchBody(anchor, lastID, pageSize(p.req, spec.Batch.MaxReadPageSize, spec.Batch.MaxReadPageSize))
	u := c.base + "/crm/v3/objects/" + p.object + "/search"
	if err := c.paceSearch(ctx); err != nil {
		return nil, err
	}
	_, resp, err := c.do(ctx, "POST", u, body)
	if err != nil {
		return nil, err
	}
	hp, recs, err := p.decode(u, resp)
	if err != nil {
		return nil, err
	}
	out := &providers.ReadPage{Records: recs, Total: -1}
	if hp.Total != nil {
		out.Total = *hp.Total
	}
	if hp.next() == "" || len(out.Records) == 0 {
		out.Done = true
		return out, nil
	}
	last := out.Records[len(out.Records)-1]
	out.NextCursor = "s:" + strconv.FormatInt(last.ModifiedAt.UnixMilli(), 10) + ":" + last.ID
	return out, nil
}

// record decodes one HubSpot record. Its properties become Fields (keys
// lower-cased; requested but absent properties nil).
func (p *readPlan) record(raw json.RawMessage) (providers.Record, error) {
	var hr hsRecord
	if err := json.Unmarshal(raw, &hr); err != nil {
		return providers.Record{}, err
	}
	if hr.ID == "" {
		return providers.Record{}, fmt.Errorf("record without an id: %.100s", raw)
	}
	fields := hr.Properties
	if fields == nil {
		fields = make(map[string]any, len(p.keys))
	}
	for k, v := range fields {
		if lk := strings.ToLower(k); lk != k {
			delete(fields, k)
			fields[lk] = v
		}
	}
	for _, k := range p.keys {
		if _, ok := fields[k]; !ok {
			if k == "id" {
				fields[k] = hr.ID
			} else {
				fields[k] = nil
			}
		}
	}
	rec := providers.Record{ID: hr.ID, Fields: fields, Raw: raw, Deleted: hr.Archived}
	mod, _ := fields[p.modProp].(string)
	if hr.Archived && hr.ArchivedAt != "" {
		mod = hr.ArchivedAt
	} else if mod == "" {
		mod = hr.UpdatedAt
	}
	if mod != "" {
		t, err := parseTime(mod)
		if err != nil {
			return providers.Record{}, fmt.Errorf("record %s: modified time %q: %w", hr.ID, mod, err)
		}
		rec.ModifiedAt = t
	}
	return rec, nil
}

// parseTime reads HubSpot's times: ISO 8601 (Z or an offset) or epoch
// milliseconds as a string.
func parseTime(s string) (time.Time, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
