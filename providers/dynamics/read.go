package dynamics

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/internal/jsonw"
)

// Reads.
//
// A full read (no Since, no Until) asks for the table in its default
// order, the primary key, so a record changed between pages is neither
// repeated nor lost: Dataverse's paging cookie remembers the last key.
// Incremental reads filter on modifiedon (Since exclusive: gt; Until
// inclusive: le) and order by modifiedon then the key. They see no
// deletions, and modifiedon has whole seconds, so they are as exact as
// the caller's handling of ties on Since.
//
// Deletions are only visible through change tracking, which a read uses
// when it sets Checkpoint or IncludeDeleted:
//   - Checkpoint set (EXACT): the read follows that delta link: Dataverse
//     returns the rows created or changed since the link was issued (full
//     selected columns) and the rows deleted since then ($deletedEntity:
//     Record.Deleted, no fields, no ModifiedAt), by row version, so ties
//     in modifiedon do not matter. Since is ignored. The connector re-sends
//     the link's $deltatoken with the read's own $select, so a checkpoint
//     taken with other fields still works. Deletions are dropped unless
//     IncludeDeleted is set (the checkpoint still moves past them).
//   - IncludeDeleted without Checkpoint or Since (EXACT): the first
//     change-tracking request (Prefer: odata.track-changes): the current
//     rows, no deletions; the last page's Checkpoint starts tracking.
//   - IncludeDeleted with Since but no Checkpoint (APPROXIMATE): there is
//     no delta link to follow, so the connector makes up a delta token from
//     Since (DeltaToken: version 0, the date of Since). The fake answers it
//     with the changes written after that second (its documented time
//     path, which the conformance suite relies on). Real Dataverse ties
//     tokens to its own row versions and does not document what it does
//     with a made-up one; version 0 most likely asks for every change it
//     still tracks (and a Since older than its retention gets the expired
//     answer). The connector drops changed rows modified before Since's
//     second, but deletions carry no time and are all kept, so deletions
//     older than Since may come back (over-reporting, not loss). Callers
//     that need exact deletions keep the Checkpoint this read returns.
//
// Every change-tracking read returns, on its last page, ReadPage.Checkpoint:
// the @odata.deltaLink (relative to the Web API base), from which the next
// read continues exactly. Until bounds changed rows on the client (the
// delta link is not time-bounded); when it drops a row the read returns no
// Checkpoint, since the delta link would skip that row. An expired or
// unknown delta token is an error of kind KindInvalid with code
// CodeCheckpointExpired: start tracking again (an empty Checkpoint).
//
// The cursor is the nextLink (relative to the Web API base) plus the page
// size, mode and client-side bounds, so every page sends the same Prefer
// header and applies the same filters.

// deltaLayout is the date part of a Dataverse delta token.
const deltaLayout = "01/02/2006 15:04:05"

// DeltaToken returns the delta token the connector makes up for changes
// after since when it has no checkpoint (see Reads: approximate).
func DeltaToken(since time.Time) string {
	return "0!" + since.UTC().Format(deltaLayout)
}

// CodeCheckpointExpired is the Code of the error a read returns when its
// Checkpoint can no longer be followed: Dataverse's ExpiredVersionStamp
// ("Version stamp associated with the client has expired. Please perform
// a full sync."), also used for a delta token Dataverse calls invalid and
// for a Checkpoint that is not a delta link of the object. The error's
// kind is KindInvalid; the remedy is a read without Checkpoint (with
// IncludeDeleted), which starts tracking again.
const CodeCheckpointExpired = "0x80044352"

// CheckpointExpired reports whether err says a read's Checkpoint must be
// dropped and change tracking started again.
func CheckpointExpired(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && pe.Provider == Name && pe.Kind == providers.KindInvalid && pe.Code == CodeCheckpointExpired
}

// Read modes.
const (
	modeQuery = 'q' // a plain or modifiedon-filtered query
	modeTrack = 't' // the first change-tracking request
	modeDelta = 'd' // following a delta token
)

// cursor is the state between pages.
type cursor struct {
	size int
	mode byte
	// until drops changed rows modified after it (tracking modes); floor
	// drops changed rows modified before it (a made-up delta token).
	until, floor time.Time
	// keepDeleted keeps $deletedEntity rows; dropped records that until
	// dropped a row, so the read must not return a checkpoint.
	keepDeleted, dropped bool
	link                 string // relative to the Web API base
	id                   string // the table's primary id column
}

func (c cursor) tracking() bool { return c.mode != modeQuery }

func encodeTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func decodeTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n).UTC(), nil
}

func (c cursor) encode() string {
	flags := ""
	if c.keepDeleted {
		flags += "k"
	}
	if c.dropped {
		flags += "x"
	}
	raw := strings.Join([]string{"v2", strconv.Itoa(c.size), string(c.mode), encodeTime(c.until), encodeTime(c.floor), flags, c.id, c.link}, "\n")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("dynamics: malformed cursor: %w", err)
	}
	parts := strings.SplitN(string(raw), "\n", 8)
	if len(parts) != 8 || parts[0] != "v2" || len(parts[2]) != 1 {
		return cursor{}, errors.New("dynamics: malformed cursor")
	}
	var c cursor
	if c.size, err = strconv.Atoi(parts[1]); err != nil {
		return cursor{}, errors.New("dynamics: malformed cursor page size")
	}
	switch c.mode = parts[2][0]; c.mode {
	case modeQuery, modeTrack, modeDelta:
	default:
		return cursor{}, errors.New("dynamics: malformed cursor mode")
	}
	if c.until, err = decodeTime(parts[3]); err != nil {
		return cursor{}, errors.New("dynamics: malformed cursor time")
	}
	if c.floor, err = decodeTime(parts[4]); err != nil {
		return cursor{}, errors.New("dynamics: malformed cursor time")
	}
	c.keepDeleted = strings.Contains(parts[5], "k")
	c.dropped = strings.Contains(parts[5], "x")
	c.id, c.link = parts[6], parts[7]
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
		if cur, err = startCursor(set, id, req); err != nil {
			return nil, err
		}
	}
	prefer := "odata.maxpagesize=" + strconv.Itoa(cur.size)
	if cur.tracking() {
		prefer = "odata.track-changes," + prefer
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, url: cur.link, header: http.Header{"Prefer": {prefer}}})
	if err != nil {
		if cur.mode == modeDelta {
			return nil, checkpointError(err)
		}
		return nil, err
	}
	defer done(resp)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode, Message: "reading the page failed", Err: err}
	}
	if req.Ahead != nil {
		// @odata.nextLink follows the records; finding it first lets the
		// caller ask for the next page while this one decodes. A cursor
		// that decoding changes (a tracking read dropping a row) differs
		// from the hint, and the caller drops the early request.
		if link, ok := jsonw.PeekString(body, "@odata.nextLink", true); ok {
			next := cur
			next.link = relative(link)
			req.Ahead(next.encode())
		}
	}
	var p pageBody
	if err := json.Unmarshal(body, &p); err != nil {
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
		if cur.tracking() {
			switch {
			case rec.Deleted:
				if !cur.keepDeleted {
					continue
				}
			case !cur.until.IsZero() && rec.ModifiedAt.After(cur.until):
				cur.dropped = true
				continue
			case !cur.floor.IsZero() && rec.ModifiedAt.Before(cur.floor):
				continue
			}
		}
		out.Records = append(out.Records, rec)
	}
	switch {
	case p.Next != "":
		next := cur
		next.link = relative(p.Next)
		out.NextCursor = next.encode()
	default:
		out.Done = true
		if cur.tracking() && !cur.dropped && p.Delta != "" {
			out.Checkpoint = relative(p.Delta)
		}
	}
	return out, nil
}

// startCursor is the state of a read's first page.
func startCursor(set, id string, req providers.ReadRequest) (cursor, error) {
	cur := cursor{size: pageSize(req.PageSize), mode: modeQuery, id: id, keepDeleted: req.IncludeDeleted}
	sel := selectQuery(id, req.Fields)
	switch {
	case req.Checkpoint != "":
		tok, err := checkpointToken(set, req.Checkpoint)
		if err != nil {
			return cursor{}, err
		}
		cur.mode, cur.until = modeDelta, req.Until
		cur.link = set + "?" + sel + "&$deltatoken=" + queryEscape(tok)
	case req.IncludeDeleted && !req.Since.IsZero():
		cur.mode, cur.until, cur.floor = modeDelta, req.Until, req.Since.UTC().Truncate(time.Second)
		cur.link = set + "?" + sel + "&$deltatoken=" + queryEscape(DeltaToken(req.Since))
	case req.IncludeDeleted:
		cur.mode, cur.until = modeTrack, req.Until
		cur.link = set + "?" + sel
	default:
		cur.link = set + "?" + sel + timeFilter(id, req.Since, req.Until)
	}
	return cur, nil
}

// selectQuery is the $select of a read: the requested columns plus the
// key and modifiedon, lower case, without repeats.
func selectQuery(id string, fields []string) string {
	cols := make([]string, 0, len(fields)+2)
	seen := map[string]bool{}
	for _, f := range append(fields[:len(fields):len(fields)], id, "modifiedon") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" && !seen[f] {
			seen[f] = true
			cols = append(cols, f)
		}
	}
	return "$select=" + strings.Join(cols, ",")
}

// timeFilter is the $filter and $orderby of an incremental read, or "".
func timeFilter(id string, since, until time.Time) string {
	if since.IsZero() && until.IsZero() {
		return ""
	}
	var conds []string
	if !since.IsZero() {
		conds = append(conds, "modifiedon gt "+formatTime(since))
	}
	if !until.IsZero() {
		conds = append(conds, "modifiedon le "+formatTime(until))
	}
	return "&$filter=" + queryEscape(strings.Join(conds, " and ")) + "&$orderby=" + queryEscape("modifiedon asc,"+id+" asc")
}

// checkpointToken returns the $deltatoken of a checkpoint (a delta link,
// absolute or relative to the Web API base) for the entity set.
func checkpointToken(set, checkpoint string) (string, error) {
	bad := func(why string) error {
		return &providers.Error{Kind: providers.KindInvalid, Provider: Name, Code: CodeCheckpointExpired,
			Message: "checkpoint " + strconv.Quote(checkpoint) + " " + why + "; start change tracking again with an empty Checkpoint"}
	}
	path, rawQuery, _ := strings.Cut(relative(checkpoint), "?")
	if !strings.EqualFold(path, set) {
		return "", bad("is not a delta link of " + set)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", bad("is not a delta link: " + err.Error())
	}
	tok := q.Get("$deltatoken")
	if tok == "" {
		return "", bad("has no $deltatoken")
	}
	return tok, nil
}

// checkpointError classifies a failed delta request: Dataverse's answer to
// an expired or unknown delta token becomes KindInvalid with
// CodeCheckpointExpired (its own code and message kept in the message).
func checkpointError(err error) error {
	var pe *providers.Error
	if !errors.As(err, &pe) || !expiredToken(pe) {
		return err
	}
	msg := "change-tracking checkpoint expired or invalid; start tracking again with an empty Checkpoint"
	if pe.Message != "" {
		msg += ": " + pe.Message
	}
	if pe.Code != "" && pe.Code != CodeCheckpointExpired {
		msg += " (" + pe.Code + ")"
	}
	return &providers.Error{Kind: providers.KindInvalid, Provider: Name, Status: pe.Status, Code: CodeCheckpointExpired, Message: msg, Err: pe.Err}
}

// expiredToken recognises Dataverse's refusal of a delta token: the
// ExpiredVersionStamp code, 410 Gone (OData's answer to a stale delta
// link), or a 400 whose message says the token or version stamp is
// expired or invalid.
func expiredToken(pe *providers.Error) bool {
	switch {
	case pe.Code == CodeCheckpointExpired, pe.Status == http.StatusGone:
		return true
	case pe.Status != http.StatusBadRequest:
		return false
	}
	m := strings.ToLower(pe.Message)
	about := strings.Contains(m, "delta token") || strings.Contains(m, "deltatoken") || strings.Contains(m, "version stamp")
	return about && (strings.Contains(m, "expired") || strings.Contains(m, "invalid") || strings.Contains(m, "not valid"))
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
