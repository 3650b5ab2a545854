package dynamics

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
)

// Reads.
//
// A full read (no Since, no Until) asks for the table in its default
// order, the primary key, so a record changed between pages is neither
// repeated nor lost: Dataverse's paging cookie remembers the last key.
// Incremental reads filter on modifiedon (Since exclusive: gt; Until
// inclusive: le) and order by modifiedon then the key.
//
// Deletions are only visible through change tracking. With IncludeDeleted:
//   - without Since, the read is the first change-tracking request
//     (Prefer: odata.track-changes): the current rows, no deletions;
//   - with Since, the connector asks for the changes since then with a
//     delta token it derives from Since ("<version>!<MM/dd/yyyy HH:mm:ss>",
//     the shape Dataverse issues). The fake reads the time part of delta
//     tokens, so this is exact against it. Real Dataverse ties a delta
//     token to its own row version, so against a live organisation the
//     connector's derived token is a documented approximation; a runtime
//     that keeps the @odata.deltaLink of the previous sync should use it
//     (ReadPage has no field for it today; see the package report).
//     Changed rows come back as rows, deletions as $deletedEntity entries
//     (Record.Deleted, no fields and no ModifiedAt). Until is applied to
//     changed rows on the client; deletions carry no time and are kept.
//
// The cursor is the nextLink (relative to the Web API base) plus the page
// size and mode, so every page sends the same Prefer header.

// deltaLayout is the date part of a Dataverse delta token.
const deltaLayout = "01/02/2006 15:04:05"

// DeltaToken returns the delta token the connector uses for changes after
// since.
func DeltaToken(since time.Time) string {
	return "0!" + since.UTC().Format(deltaLayout)
}

// cursor is the state between pages.
type cursor struct {
	size     int
	tracking bool
	until    time.Time
	link     string // relative to the Web API base
	id       string // the table's primary id column
}

func (c cursor) encode() string {
	until := ""
	if !c.until.IsZero() {
		until = strconv.FormatInt(c.until.UnixNano(), 10)
	}
	mode := "q"
	if c.tracking {
		mode = "t"
	}
	raw := strings.Join([]string{"v1", strconv.Itoa(c.size), mode, until, c.id, c.link}, "\n")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("dynamics: malformed cursor: %w", err)
	}
	parts := strings.SplitN(string(raw), "\n", 6)
	if len(parts) != 6 || parts[0] != "v1" {
		return cursor{}, errors.New("dynamics: malformed cursor")
	}
	var c cursor
	if c.size, err = strconv.Atoi(parts[1]); err != nil {
		return cursor{}, errors.New("dynamics: malformed cursor page size")
	}
	c.tracking = parts[2] == "t"
	if parts[3] != "" {
		n, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil {
			return cursor{}, errors.New("dynamics: malformed cursor time")
		}
		c.until = time.Unix(0, n).UTC()
	}
	c.id, c.link = parts[4], parts[5]
	return c, nil
}

// relative strips the Web API base from a link Dataverse returned, so a
// cursor survives a change of host alias (crm vs api.crm).
func relative(link string) string {
	if i := strings.Index(link, APIPath); i >= 0 {
		return link[i+len(APIPath):]
	}
	return link
}

// pageSize clamps a requested page size to Dataverse's 5,000.
func pageSize(n int) int {
	if n <= 0 {
		return spec.Batch.ReadPageSize
	}
	return min(n, spec.Batch.MaxReadPageSize)
}

// formatTime writes a filter literal: UTC, fractional seconds only when
// present.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") }

// Read returns one page.
func (c *Client) Read(ctx context.Context, req providers.ReadRequest) (*providers.ReadPage, error) {
	var cur cursor
	if req.Cursor != "" {
		var err error
		if cur, err = decodeCursor(req.Cursor); err != nil {
			return nil, &providers.Error{Kind: providers.KindInvalid, Provider: Name, Message: err.Error()}
		}
	} else {
		set := strings.ToLower(req.Object)
		id, err := c.primaryID(ctx, set)
		if err != nil {
			return nil, err
		}
		cur = cursor{size: pageSize(req.PageSize), tracking: req.IncludeDeleted, until: req.Until, id: id}
		cur.link = buildQuery(set, id, req)
	}
	prefer := "odata.maxpagesize=" + strconv.Itoa(cur.size)
	if cur.tracking {
		prefer = "odata.track-changes," + prefer
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, url: cur.link, header: http.Header{"Prefer": {prefer}}})
	if err != nil {
		return nil, err
	}
	defer done(resp)
	var p pageBody
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode, Message: "malformed page (truncated or invalid JSON)", Err: err}
	}
	out := &providers.ReadPage{Records: make([]providers.Record, 0, len(p.Value)), Total: -1}
	if p.Count != nil {
		out.Total = *p.Count
	}
	for _, raw := range p.Value {
		rec, err := parseRecord(raw, cur.id)
		if err != nil {
			return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: "malformed record", Err: err}
		}
		if !rec.Deleted && !cur.until.IsZero() && cur.tracking && rec.ModifiedAt.After(cur.until) {
			continue
		}
		out.Records = append(out.Records, rec)
	}
	if p.Next != "" {
		next := cur
		next.link = relative(p.Next)
		out.NextCursor = next.encode()
	} else {
		out.Done = true
	}
	return out, nil
}

// buildQuery is the first page's URL, relative to the Web API base.
func buildQuery(set, id string, req providers.ReadRequest) string {
	cols := make([]string, 0, len(req.Fields)+2)
	seen := map[string]bool{}
	for _, f := range append(req.Fields, id, "modifiedon") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" && !seen[f] {
			seen[f] = true
			cols = append(cols, f)
		}
	}
	q := "$select=" + strings.Join(cols, ",")
	switch {
	case req.IncludeDeleted && !req.Since.IsZero():
		q += "&$deltatoken=" + queryEscape(DeltaToken(req.Since))
	case req.IncludeDeleted:
	case !req.Since.IsZero() || !req.Until.IsZero():
		var conds []string
		if !req.Since.IsZero() {
			conds = append(conds, "modifiedon gt "+formatTime(req.Since))
		}
		if !req.Until.IsZero() {
			conds = append(conds, "modifiedon le "+formatTime(req.Until))
		}
		q += "&$filter=" + queryEscape(strings.Join(conds, " and ")) + "&$orderby=" + queryEscape("modifiedon asc,"+id+" asc")
	}
	return set + "?" + q
}

// queryEscape escapes a query value with %20 for spaces, as Dataverse
// writes its links.
func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// pageBody is one page of a query: records stay raw until parseRecord.
type pageBody struct {
	Value []json.RawMessage `json:"value"`
	Next  string            `json:"@odata.nextLink"`
	Delta string            `json:"@odata.deltaLink"`
	Count *int              `json:"@odata.count"`
}

// parseRecord turns one row (or $deletedEntity) into a Record. Fields
// keep the columns under their logical names (already lower case) without
// annotations; a lookup's _x_value is also exposed as x.
func parseRecord(raw json.RawMessage, id string) (providers.Record, error) {
	m, ok := parseFlat(raw, 16)
	if !ok || m["reason"] == "deleted" {
		m = nil
		if err := json.Unmarshal(raw, &m); err != nil {
			return providers.Record{}, err
		}
	}
	if ctx, _ := m["@odata.context"].(string); strings.HasSuffix(ctx, "$deletedEntity") || m["reason"] == "deleted" {
		rid, _ := m["id"].(string)
		return providers.Record{ID: rid, Raw: raw, Deleted: true}, nil
	}
	rec := providers.Record{Raw: raw, Fields: m}
	for k, v := range m {
		if strings.IndexByte(k, '@') >= 0 {
			delete(m, k)
			continue
		}
		if lk := strings.ToLower(k); lk != k {
			delete(m, k)
			m[lk] = v
		}
		if strings.HasPrefix(k, "_") && strings.HasSuffix(k, "_value") {
			if inner := strings.ToLower(k[1 : len(k)-len("_value")]); m[inner] == nil {
				m[inner] = v
			}
		}
	}
	rec.ID, _ = m[id].(string)
	if s, ok := m["modifiedon"].(string); ok && s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return rec, fmt.Errorf("modifiedon %q: %w", s, err)
		}
		rec.ModifiedAt = t.UTC()
	}
	return rec, nil
}

// primaryID returns a table's primary key column: from the catalog for
// standard tables, otherwise from EntityDefinitions (cached).
func (c *Client) primaryID(ctx context.Context, set string) (string, error) {
	if o, ok := spec.Object("", set); ok && len(o.Fields) > 0 {
		return o.Fields[0].Name, nil
	}
	info, err := c.entity(ctx, set)
	if err != nil {
		return "", err
	}
	return info.primaryID, nil
}
