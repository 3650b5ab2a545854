package fake

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

type searchFilter struct {
	PropertyName string            `json:"propertyName"`
	Operator     string            `json:"operator"`
	Value        json.RawMessage   `json:"value"`
	HighValue    json.RawMessage   `json:"highValue"`
	Values       []json.RawMessage `json:"values"`
}

type searchBody struct {
	FilterGroups []struct {
		Filters []searchFilter `json:"filters"`
	} `json:"filterGroups"`
	Sorts []struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	} `json:"sorts"`
	Properties []string        `json:"properties"`
	Limit      json.RawMessage `json:"limit"` // a number, or a string as in the recordings
	After      string          `json:"after"`
	Query      string          `json:"query"`
}

// rawText returns a JSON scalar as text: strings unquoted, numbers as written.
func rawText(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(m))
}

// compiled filter
type cfilter struct {
	prop     string
	kind     byte // 't' time, 'n' number, 's' string
	op       string
	val, hi  string
	t, ht    time.Time
	n, hn    float64
	values   []string
	modified bool
}

func parseTime(s string) (time.Time, bool) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (o *objectDef) compile(f searchFilter) (cfilter, error) {
	p := o.prop(f.PropertyName)
	if p == nil {
		return cfilter{}, fmt.Errorf("There was a problem with the request. Property %q does not exist", f.PropertyName)
	}
	c := cfilter{prop: p.name, op: strings.ToUpper(f.Operator), val: rawText(f.Value), hi: rawText(f.HighValue), modified: p.name == o.modProp}
	for _, v := range f.Values {
		c.values = append(c.values, rawText(v))
	}
	switch {
	case p.typ == "datetime" || p.typ == "date":
		c.kind = 't'
	case p.typ == "number":
		c.kind = 'n'
	default:
		c.kind = 's'
	}
	needsValue := c.op != "HAS_PROPERTY" && c.op != "NOT_HAS_PROPERTY" && c.op != "IN" && c.op != "NOT_IN"
	switch c.kind {
	case 't':
		var ok bool
		if c.t, ok = parseTime(c.val); !ok && needsValue {
			return c, fmt.Errorf("There was a problem with the request. %q is not a valid date value for %s", c.val, p.name)
		}
		c.ht, _ = parseTime(c.hi)
	case 'n':
		var err error
		if c.n, err = strconv.ParseFloat(c.val, 64); err != nil && needsValue {
			return c, fmt.Errorf("There was a problem with the request. %q is not a valid number for %s", c.val, p.name)
		}
		c.hn, _ = strconv.ParseFloat(c.hi, 64)
	}
	switch c.op {
	case "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN":
	default:
		return c, fmt.Errorf("There was a problem with the request. Unknown operator %q", f.Operator)
	}
	return c, nil
}

// cmp compares a record's value with the filter value: -1, 0, 1.
func (c *cfilter) cmp(v string, hi bool) int {
	switch c.kind {
	case 't':
		t, _ := parseTime(v)
		ref := c.t
		if hi {
			ref = c.ht
		}
		return t.Compare(ref)
	case 'n':
		n, _ := strconv.ParseFloat(v, 64)
		ref := c.n
		if hi {
			ref = c.hn
		}
		switch {
		case n < ref:
			return -1
		case n > ref:
			return 1
		}
		return 0
	}
	ref := c.val
	if hi {
		ref = c.hi
	}
	return strings.Compare(strings.ToLower(v), strings.ToLower(ref))
}

func (c *cfilter) match(o *objectDef, r *fakekit.Record) bool {
	v, has := o.value(r, c.prop)
	switch c.op {
	case "HAS_PROPERTY":
		return has && v != ""
	case "NOT_HAS_PROPERTY":
		return !has || v == ""
	}
	if !has {
		return c.op == "NEQ" || c.op == "NOT_IN" || c.op == "NOT_CONTAINS_TOKEN"
	}
	switch c.op {
	case "EQ":
		return c.cmp(v, false) == 0
	case "NEQ":
		return c.cmp(v, false) != 0
	case "LT":
		return c.cmp(v, false) < 0
	case "LTE":
		return c.cmp(v, false) <= 0
	case "GT":
		return c.cmp(v, false) > 0
	case "GTE":
		return c.cmp(v, false) >= 0
	case "BETWEEN":
		return c.cmp(v, false) >= 0 && c.cmp(v, true) <= 0
	case "IN", "NOT_IN":
		in := false
		for _, x := range c.values {
			if strings.EqualFold(x, v) {
				in = true
			}
		}
		return in == (c.op == "IN")
	case "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN":
		tok := strings.ToLower(strings.Trim(c.val, "*"))
		return strings.Contains(strings.ToLower(v), tok) == (c.op == "CONTAINS_TOKEN")
	}
	return false
}

// bounds returns the modified-time window every filter group lies in, so
// the scan can skip the rest by arithmetic.
func bounds(groups [][]cfilter) (since, until time.Time) {
	var haveSince, haveUntil = true, true
	for _, g := range groups {
		var gs, gu time.Time
		for _, f := range g {
			if !f.modified {
				continue
			}
			switch f.op {
			case "GT":
				gs = later(gs, f.t)
			case "GTE", "EQ", "BETWEEN":
				gs = later(gs, f.t.Add(-time.Nanosecond))
			}
			switch f.op {
			case "LTE", "EQ":
				gu = earlier(gu, f.t)
			case "LT":
				gu = earlier(gu, f.t.Add(-time.Nanosecond))
			case "BETWEEN":
				gu = earlier(gu, f.ht)
			}
		}
		if gs.IsZero() {
			haveSince = false
		} else if since.IsZero() || gs.Before(since) {
			since = gs
		}
		if gu.IsZero() {
			haveUntil = false
		} else if gu.After(until) {
			until = gu
		}
	}
	if !haveSince || len(groups) == 0 {
		since = time.Time{}
	}
	if !haveUntil || len(groups) == 0 {
		until = time.Time{}
	}
	return since, until
}

func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// searchHandler serves POST /crm/v3/objects/{type}/search: filter groups
// (OR of ANDs), sorts by the modified property (then hs_object_id) or by
// hs_object_id either way, `after` offsets, at most 200 a page and 10,000
// a query.
func (s *Server) searchHandler(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("type"))
	if o == nil {
		unknownObject(w, r.PathValue("type"))
		return
	}
	var body searchBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		invalidJSON(w, err)
		return
	}
	limit := 10
	if len(body.Limit) > 0 {
		n, err := strconv.Atoi(rawText(body.Limit))
		if err != nil || n < 0 {
			invalidJSON(w, fmt.Errorf("limit must be a number"))
			return
		}
		limit = min(n, 200)
	}
	after := 0
	if body.After != "" {
		n, err := strconv.Atoi(body.After)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "There was a problem with the request. after must be a paging cursor returned by a previous page", nil)
			return
		}
		after = n
	}
	if after >= searchCap {
		// HubSpot stops a query at 10,000 results; paging further fails.
		writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR",
			fmt.Sprintf("There was a problem with the request. Search results are limited to %d; after=%d is past the limit", searchCap, after), nil)
		return
	}
	limit = min(limit, searchCap-after)
	if len(body.FilterGroups) > 5 {
		writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "There was a problem with the request. At most 5 filterGroups are allowed", nil)
		return
	}
	var groups [][]cfilter
	total := 0
	for _, g := range body.FilterGroups {
		if len(g.Filters) > 10 {
			writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "There was a problem with the request. At most 10 filters per group are allowed", nil)
			return
		}
		var cg []cfilter
		for _, f := range g.Filters {
			c, err := o.compile(f)
			if err != nil {
				writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", err.Error(), nil)
				return
			}
			cg = append(cg, c)
			total++
		}
		groups = append(groups, cg)
	}
	if total > 25 {
		writeError(w, http.StatusBadRequest, "error", "VALIDATION_ERROR", "There was a problem with the request. At most 25 filters are allowed", nil)
		return
	}
	byModified := len(body.Sorts) > 0 && strings.EqualFold(body.Sorts[0].PropertyName, o.modProp)
	idDescending := len(body.Sorts) > 0 && strings.EqualFold(body.Sorts[0].PropertyName, "hs_object_id") &&
		strings.EqualFold(body.Sorts[0].Direction, "DESCENDING")
	query := strings.ToLower(body.Query)
	match := func(rec *fakekit.Record) bool {
		if query != "" {
			hit := false
			for _, v := range rec.Fields {
				if sv, ok := v.(string); ok && strings.Contains(strings.ToLower(sv), query) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
		}
		if len(groups) == 0 {
			return true
		}
		for _, g := range groups {
			ok := true
			for i := range g {
				if !g[i].match(o, rec) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}

	// One pass: skip `after` matches, keep `limit`, count the rest (up to
	// another 10,000 past the page, which bounds the work per request).
	countTo := after + limit + searchCap
	matched := 0
	var page []fakekit.Record
	q := fakekit.Query{Match: func(rec fakekit.Record) bool {
		if !match(&rec) {
			return false
		}
		if matched >= after && len(page) < limit {
			rec.Fields = maps.Clone(rec.Fields)
			page = append(page, rec)
		}
		matched++
		return matched >= countTo // stops the scan
	}}
	switch lo, hi, keyset := idRange(groups); {
	case idDescending && keyset && query == "":
		page, matched = s.idRangeDown(o, lo, hi, after, limit)
	case byModified:
		q.Since, q.Until = bounds(groups)
		_, _, _, _ = s.kit.Store.Scan(o.name, q, fakekit.Cursor{}, 1)
	case idDescending:
		s.scanIDsDown(o, idCeiling(groups), q.Match)
	default:
		_, _, _, _ = s.kit.Store.ScanIDOrder(o.name, q, 0, 1)
	}
	props := o.selectProps(body.Properties)
	b := make([]byte, 0, 256+len(page)*(160+40*len(props)))
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(matched), 10)
	b = append(b, `,"results":[`...)
	for i := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendRecord(b, o, &page[i], props, true)
	}
	b = append(b, ']')
	if next := after + len(page); matched > next && len(page) > 0 {
		b = append(b, `,"paging":{"next":{"after":"`...)
		b = strconv.AppendInt(b, int64(next), 10)
		b = append(b, `"}}`...)
	}
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}

// idCeiling returns a bound every id the filter groups can match lies
// below: +Inf unless each group bounds hs_object_id from above. It only
// saves a descending scan the ids above it.
func idCeiling(groups [][]cfilter) float64 {
	if len(groups) == 0 {
		return math.Inf(1)
	}
	ceiling := math.Inf(-1)
	for _, g := range groups {
		b := math.Inf(1)
		for _, f := range g {
			if f.prop != "hs_object_id" || f.kind != 'n' {
				continue
			}
			switch f.op {
			case "LT":
				b = min(b, f.n)
			case "LTE", "EQ":
				b = min(b, math.Floor(f.n)+1)
			case "BETWEEN":
				b = min(b, math.Floor(f.hn)+1)
			}
		}
		ceiling = max(ceiling, b)
	}
	return ceiling
}

// scanIDsDown visits the live records whose ids are below ceiling, highest
// id first, until visit returns true. Ids grow with list position (seeded
// records by index, then created ones in creation order), so the walk
// starts at ceiling's position and needs no pass over the ids above it.
func (s *Server) scanIDsDown(o *objectDef, ceiling float64, visit func(fakekit.Record) bool) {
	seeded, created := s.opts.Records, s.createdCount(o)
	top := seeded + created
	if !math.IsInf(ceiling, 1) {
		top = min(top, positionsBelow(ceiling, seeded, created))
	}
	for pos := top - 1; pos >= 0; pos-- {
		rec, ok := s.kit.Store.Get(o.name, idAt(pos, seeded))
		if !ok || rec.Deleted {
			continue
		}
		if visit(rec) {
			return
		}
	}
}

// idRange returns the ids [lo, hi) the filter groups select when they are
// at most one group of bounds on hs_object_id, the shape of a keyset
// query; keyset is false otherwise.
func idRange(groups [][]cfilter) (lo, hi float64, keyset bool) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if len(groups) > 1 {
		return lo, hi, false
	}
	for _, g := range groups {
		for _, f := range g {
			if f.prop != "hs_object_id" || f.kind != 'n' {
				return lo, hi, false
			}
			switch f.op {
			case "LT":
				hi = min(hi, f.n)
			case "LTE":
				hi = min(hi, math.Floor(f.n)+1)
			case "GT":
				lo = max(lo, math.Floor(f.n)+1)
			case "GTE":
				lo = max(lo, f.n)
			default:
				return lo, hi, false
			}
		}
	}
	return lo, hi, true
}

// idRangeDown answers a keyset query sorted on hs_object_id descending
// without a scan: the page is read by id from the top of the range, and
// the total is the positions in the range less the archived records among
// them.
func (s *Server) idRangeDown(o *objectDef, lo, hi float64, after, limit int) ([]fakekit.Record, int) {
	seeded, created := s.opts.Records, s.createdCount(o)
	bottom, top := positionsBelow(lo, seeded, created), positionsBelow(hi, seeded, created)
	if top <= bottom {
		return nil, 0
	}
	total := top - bottom
	s.mu.Lock()
	for _, id := range s.archived[o.name] {
		if pos, ok := positionOf(id, seeded, created); ok && pos >= bottom && pos < top {
			total--
		}
	}
	s.mu.Unlock()
	var page []fakekit.Record
	skipped := 0
	for pos := top - 1; pos >= bottom && len(page) < limit; pos-- {
		rec, ok := s.kit.Store.Get(o.name, idAt(pos, seeded))
		switch {
		case !ok || rec.Deleted:
		case skipped < after:
			skipped++
		default:
			page = append(page, rec)
		}
	}
	return page, total
}

// idAt is the id at a list position.
func idAt(pos, seeded int) string {
	if pos < seeded {
		return strconv.Itoa(seedBase + pos)
	}
	return strconv.Itoa(createdBase + pos - seeded)
}

// positionOf is idAt's inverse.
func positionOf(id string, seeded, created int) (int, bool) {
	n, err := strconv.Atoi(id)
	switch {
	case err != nil:
		return 0, false
	case n >= seedBase && n < seedBase+seeded:
		return n - seedBase, true
	case n >= createdBase && n < createdBase+created:
		return seeded + n - createdBase, true
	}
	return 0, false
}

// positionsBelow counts the list positions whose ids are below ceiling.
func positionsBelow(ceiling float64, seeded, created int) int {
	if math.IsInf(ceiling, -1) || math.IsNaN(ceiling) {
		return 0
	}
	c := math.Ceil(ceiling) // an integer id is below ceiling iff it is below c
	if c <= float64(seedBase) {
		return 0
	}
	if c < float64(seedBase+seeded) {
		return int(c) - seedBase
	}
	if c <= float64(createdBase) {
		return seeded
	}
	return seeded + int(min(c-float64(createdBase), float64(created)))
}

// createdCount returns how many records were created through the API,
// deleted ones included. Created ids count up from createdBase without
// gaps, so it probes ids by doubling and then bisects.
func (s *Server) createdCount(o *objectDef) int {
	exists := func(k int) bool {
		_, ok := s.kit.Store.Get(o.name, strconv.Itoa(createdBase+k))
		return ok
	}
	if !exists(0) {
		return 0
	}
	lo, hi := 1, 2 // exists(lo-1)
	for exists(hi - 1) {
		lo, hi = hi, hi*2
	}
	return lo + sort.Search(hi-lo, func(i int) bool { return !exists(lo + i) })
}
