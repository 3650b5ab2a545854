package fake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
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
// hs_object_id, `after` offsets, at most 200 a page and 10,000 a query.
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
	if byModified {
		q.Since, q.Until = bounds(groups)
		_, _, _, _ = s.kit.Store.Scan(o.name, q, fakekit.Cursor{}, 1)
	} else {
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
