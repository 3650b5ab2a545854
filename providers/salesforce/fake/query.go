package fake

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/internal/jsonw"
)

// soql is a parsed query.
type soql struct {
	obj    *objectDef
	fields []*fieldDef
	q      fakekit.Query
	limit  int
	// where reports whether the query filters (totalSize then needs a count).
	where bool
	// deleted filters on IsDeleted (nil: no filter).
	deleted *bool
}

// soqlError is a query the API refuses, with its code.
type soqlError struct{ code, msg string }

func (e *soqlError) Error() string { return e.code + ": " + e.msg }

var (
	selectRE = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\S+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*$`)
	andRE    = regexp.MustCompile(`(?i)\s+AND\s+`)
	condRE   = regexp.MustCompile(`^(\w+)\s*(=|!=|>=|<=|>|<)\s*(.+?)$`)
	orRE     = regexp.MustCompile(`(?i)\s+OR\s+|\(`)
)

// parseSOQL parses the subset of SOQL the fake understands.
func (s *Server) parseSOQL(text string, all bool) (*soql, error) {
	m := selectRE.FindStringSubmatch(text)
	if m == nil {
		return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: " + strings.Fields(text + " <EOF>")[0]}
	}
	fieldList, objName, where, orderBy, limit := m[1], m[2], m[3], m[4], m[5]
	o := s.object(objName)
	if o == nil {
		col := strings.Index(strings.ToUpper(text), " FROM ") + 7
		return nil, &soqlError{"INVALID_TYPE", fmt.Sprintf("\n%s FROM %s\n%s^\nERROR at Row:1:Column:%d\nsObject type '%s' is not supported. "+
			"If you are attempting to use a custom object, be sure to append the '__c' after the entity name. "+
			"Please reference your WSDL or the describe call for the appropriate names.",
			strings.TrimSpace(lastN(fieldList, 40)), objName, strings.Repeat(" ", min(col, 40)), col, objName)}
	}
	q := &soql{obj: o, q: fakekit.Query{IncludeDeleted: all}}
	for name := range strings.SplitSeq(fieldList, ",") {
		name = strings.TrimSpace(name)
		f := o.field(name)
		if f == nil {
			if strings.ContainsAny(name, "( ") {
				return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: '" + name + "'"}
			}
			return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", name, o.Name)}
		}
		q.fields = append(q.fields, f)
	}
	if where != "" {
		q.where = true
		if orRE.MatchString(where) {
			return nil, &soqlError{"MALFORMED_QUERY", "the fake supports only conditions joined by AND"}
		}
		var match []func(fakekit.Record) bool
		for cond := range strings.SplitSeq(andRE.ReplaceAllString(where, "\x00"), "\x00") {
			cm := condRE.FindStringSubmatch(strings.TrimSpace(cond))
			if cm == nil {
				return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: '" + cond + "'"}
			}
			f := o.field(cm[1])
			if f == nil {
				return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", cm[1], o.Name)}
			}
			fn, err := q.condition(f, cm[2], strings.TrimSpace(cm[3]))
			if err != nil {
				return nil, err
			}
			if fn != nil {
				match = append(match, fn)
			}
		}
		if len(match) > 0 {
			q.q.Match = func(r fakekit.Record) bool {
				for _, fn := range match {
					if !fn(r) {
						return false
					}
				}
				return true
			}
		}
	}
	_ = orderBy // results always come in SystemModstamp order
	if limit != "" {
		q.limit, _ = strconv.Atoi(limit)
	}
	return q, nil
}

func lastN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// condition applies one WHERE condition: time bounds on SystemModstamp
// and LastModifiedDate go to the store's window; others filter.
func (q *soql) condition(f *fieldDef, op, lit string) (func(fakekit.Record) bool, error) {
	switch f.Name {
	case "SystemModstamp", "LastModifiedDate", "CreatedDate":
		t, err := parseLiteral(lit)
		if err != nil {
			return nil, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("line 1: invalid datetime: %s", lit)}
		}
		if f.Name == "CreatedDate" {
			return func(r fakekit.Record) bool { return compareTime(r.Created, op, t) }, nil
		}
		ms := time.Millisecond
		switch op {
		case ">":
			q.since(t)
		case ">=":
			q.since(t.Add(-ms))
		case "<=":
			q.until(t)
		case "<":
			q.until(t.Add(-ms))
		case "=":
			q.since(t.Add(-ms))
			q.until(t)
		default:
			return func(r fakekit.Record) bool { return !r.Modified.Equal(t) }, nil
		}
		return nil, nil
	case "IsDeleted":
		want := strings.EqualFold(lit, "true")
		if !want && !strings.EqualFold(lit, "false") {
			return nil, &soqlError{"INVALID_QUERY_FILTER_OPERATOR", "IsDeleted compares with true or false"}
		}
		if op == "!=" {
			want = !want
		}
		q.deleted = &want
		return func(r fakekit.Record) bool { return r.Deleted == want }, nil
	case "Id":
		id := strings.Trim(lit, "'")
		return func(r fakekit.Record) bool { return (r.ID == id) == (op == "=") }, nil
	}
	if op != "=" && op != "!=" {
		return nil, &soqlError{"INVALID_QUERY_FILTER_OPERATOR", "the fake compares other fields only with = and !="}
	}
	var want any
	if lit != "null" {
		want = strings.Trim(lit, "'")
	}
	name := f.Name
	return func(r fakekit.Record) bool { return (fmt.Sprint(r.Fields[name]) == fmt.Sprint(want)) == (op == "=") }, nil
}

func (q *soql) since(t time.Time) {
	if q.q.Since.IsZero() || t.After(q.q.Since) {
		q.q.Since = t
	}
}

func (q *soql) until(t time.Time) {
	if q.q.Until.IsZero() || t.Before(q.q.Until) {
		q.q.Until = t
	}
}

func compareTime(a time.Time, op string, b time.Time) bool {
	switch op {
	case ">":
		return a.After(b)
	case ">=":
		return !a.Before(b)
	case "<":
		return a.Before(b)
	case "<=":
		return !a.After(b)
	case "=":
		return a.Equal(b)
	}
	return !a.Equal(b)
}

// parseLiteral parses a SOQL datetime literal.
func parseLiteral(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad datetime %q", s)
}

// queryState is an open query locator.
type queryState struct {
	id      string
	version string
	all     bool
	q       *soql
	batch   int
	total   int
	served  int
	cursors map[int]fakekit.Cursor // offset -> store position
	used    time.Time
}

func (s *Server) query(all bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		text := r.URL.Query().Get("q")
		if text == "" {
			writeErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
			return
		}
		q, err := s.parseSOQL(text, all)
		if err != nil {
			se := err.(*soqlError)
			writeErrors(w, http.StatusBadRequest, se.code, se.msg)
			return
		}
		if staged, ok := s.records(r).(*staging); ok {
			s.stagedQuery(w, r.PathValue("v"), q, s.batchSize(r), staged)
			return
		}
		st := &queryState{version: r.PathValue("v"), all: all, q: q, batch: s.batchSize(r),
			cursors: map[int]fakekit.Cursor{0: {}}, used: s.kit.Clock.Now()}
		st.total = s.count(q)
		s.mu.Lock()
		s.seq++
		st.id = fmt.Sprintf("01gak%013d", s.seq)
		s.pruneLocked()
		s.queries[st.id] = st
		s.mu.Unlock()
		s.page(w, st, 0)
	}
}

// batchSize reads Sforce-Query-Options: batchSize=N (200..2000, default 2000).
func (s *Server) batchSize(r *http.Request) int {
	n := MaxBatchSize
	for part := range strings.SplitSeq(r.Header.Get("Sforce-Query-Options"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "batchSize="); ok {
			if b, err := strconv.Atoi(v); err == nil {
				n = min(max(b, s.opts.MinBatchSize), MaxBatchSize)
			}
		}
	}
	if s.opts.PageCap > 0 {
		n = min(n, s.opts.PageCap)
	}
	return n
}

// count returns the query's totalSize.
func (s *Server) count(q *soql) int {
	n := 0
	switch {
	case !q.where && !q.q.IncludeDeleted:
		n = s.kit.Store.Live(q.obj.Name)
	case !q.where:
		// Counting by a scan builds every record: seconds for a million,
		// which no provider spends on a count.
		n = s.kit.Store.Total(q.obj.Name)
	default:
		var c fakekit.Cursor
		for {
			recs, next, done, err := s.kit.Store.Scan(q.obj.Name, q.q, c, 10000)
			if err != nil {
				break
			}
			n += len(recs)
			if done {
				break
			}
			c = next
		}
	}
	if q.limit > 0 {
		n = min(n, q.limit)
	}
	return n
}

func (s *Server) pruneLocked() {
	now := s.kit.Clock.Now()
	for id, st := range s.queries {
		if now.Sub(st.used) > LocatorTTL {
			delete(s.queries, id)
		}
	}
}

// more serves a nextRecordsUrl: /query/<queryId>-<offset>.
func (s *Server) more(w http.ResponseWriter, r *http.Request) {
	id, off, ok := strings.Cut(r.PathValue("locator"), "-")
	offset, err := strconv.Atoi(off)
	s.mu.Lock()
	st := s.queries[id]
	var cur fakekit.Cursor
	var known bool
	if st != nil {
		cur, known = st.cursors[offset]
	}
	expired := st != nil && s.kit.Clock.Now().Sub(st.used) > LocatorTTL
	if expired {
		delete(s.queries, id)
	}
	s.mu.Unlock()
	if !ok || err != nil || st == nil || !known || expired {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	_ = cur
	s.page(w, st, offset)
}

// page writes the page of st starting at offset.
func (s *Server) page(w http.ResponseWriter, st *queryState, offset int) {
	s.mu.Lock()
	cur := st.cursors[offset]
	st.used = s.kit.Clock.Now()
	s.mu.Unlock()
	limit := st.batch
	if st.q.limit > 0 {
		limit = min(limit, st.q.limit-offset)
	}
	var recs []fakekit.Record
	next, done := cur, true
	if limit > 0 {
		var err error
		recs, next, done, err = s.kit.Store.Scan(st.q.obj.Name, st.q.q, cur, limit)
		if err != nil {
			writeErrors(w, http.StatusInternalServerError, "UNKNOWN_EXCEPTION", err.Error())
			return
		}
	}
	end := offset + len(recs)
	if st.q.limit > 0 && end >= st.q.limit {
		done = true
	}
	if !done && len(recs) == 0 {
		done = true // nothing more can match
	}
	if !done {
		// Peek so that the last page says done rather than leaving an empty one.
		more, _, _, _ := s.kit.Store.Scan(st.q.obj.Name, st.q.q, next, 1)
		done = len(more) == 0
	}
	s.mu.Lock()
	if done {
		delete(s.queries, st.id)
	} else {
		st.cursors[end] = next
	}
	s.mu.Unlock()

	b := make([]byte, 0, 256+len(recs)*64*(len(st.q.fields)+2))
	b = append(b, `{"totalSize":`...)
	b = strconv.AppendInt(b, int64(st.total), 10)
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, done)
	if !done {
		resource := "query"
		if st.all {
			resource = "queryAll"
		}
		b = append(b, `,"nextRecordsUrl":"/services/data/`...)
		b = append(b, st.version...)
		b = append(b, '/')
		b = append(b, resource...)
		b = append(b, '/')
		b = append(b, st.id...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(end), 10)
		b = append(b, '"')
	}
	b = append(b, `,"records":[`...)
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendRecord(b, st.version, st.q.obj, st.q.fields, &recs[i])
	}
	b = append(b, "]}"...)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(b)
}

// appendRecord writes one record as a query returns it.
func (s *Server) appendRecord(b []byte, version string, o *objectDef, fields []*fieldDef, r *fakekit.Record) []byte {
	b = append(b, `{"attributes":{"type":"`...)
	b = append(b, o.Name...)
	b = append(b, `","url":"/services/data/`...)
	b = append(b, version...)
	b = append(b, "/sobjects/"...)
	b = append(b, o.Name...)
	b = append(b, '/')
	b = append(b, r.ID...)
	b = append(b, `"}`...)
	for _, f := range fields {
		b = append(b, ',', '"')
		b = append(b, f.Name...)
		b = append(b, '"', ':')
		b = appendJSON(b, value(o, f, r))
	}
	return append(b, '}')
}

// value returns a field's value for a stored record.
func value(o *objectDef, f *fieldDef, r *fakekit.Record) any {
	switch f.Name {
	case "Id":
		return r.ID
	case "IsDeleted":
		return r.Deleted
	case "SystemModstamp", "LastModifiedDate":
		return fmtTime(r.Modified)
	case "CreatedDate":
		return fmtTime(r.Created)
	case "CreatedById", "LastModifiedById":
		return userID
	}
	if f.compound != "" || f.Type == "address" {
		p := f.compound
		get := func(k string) any { return r.Fields[p+k] }
		return map[string]any{"city": get("City"), "country": get("Country"), "geocodeAccuracy": nil,
			"latitude": nil, "longitude": nil, "postalCode": get("PostalCode"), "state": get("State"), "street": get("Street")}
	}
	if f.Name == "Name" && o.field("LastName") != nil {
		first, _ := r.Fields["FirstName"].(string)
		last, _ := r.Fields["LastName"].(string)
		return strings.TrimSpace(first + " " + last)
	}
	return r.Fields[f.Name]
}

// appendJSON appends a JSON value of the kinds the store holds.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return jsonw.AppendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case map[string]any:
		b = append(b, '{')
		first := true
		for _, k := range []string{"city", "country", "geocodeAccuracy", "latitude", "longitude", "postalCode", "state", "street"} {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jsonw.AppendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	}
	return jsonw.AppendString(b, fmt.Sprint(v))
}
