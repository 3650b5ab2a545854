package fake

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// MaxPageSize is Dataverse's cap (and default) for odata.maxpagesize.
const MaxPageSize = 5000

// adminUser is the systemuser that owns and modified the seeded rows.
const adminUser = "5eed0d75-0000-4000-9000-000000000001"

// baseURL is the organisation URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveData routes one Web API request.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, APIPath)
	switch {
	case rest == "$batch":
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "0x80060888", "The HTTP verb "+r.Method+" is not supported on $batch.")
			return
		}
		s.serveBatch(w, r)
		return
	case rest == "WhoAmI" || rest == "WhoAmI()":
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context": baseURL(r) + APIPath + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
			"BusinessUnitId": "5eed0d75-0000-4000-9000-000000000002", "UserId": adminUser,
			"OrganizationId": "5eed0d75-0000-4000-9000-000000000003",
		})
		return
	case strings.HasPrefix(rest, "EntityDefinitions"):
		s.serveMetadata(w, r, strings.TrimPrefix(rest, "EntityDefinitions"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "0x80048d19", "could not read the request body")
		return
	}
	o := op{method: r.Method, path: rest, rawQuery: r.URL.RawQuery, header: r.Header, body: body, usage: usageFrom(r.Context())}
	if r.Method == http.MethodGet {
		s.serveGet(w, baseURL(r), o)
		return
	}
	res := s.execWrite(baseURL(r), o)
	res.write(w)
}

// op is one Web API operation, direct or inside a $batch.
type op struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
	// usage counts the records the op returns or writes (nil: not
	// counted).
	usage *usage
}

// result is a buffered answer to an op.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (res result) write(w http.ResponseWriter) {
	for k, v := range res.header {
		w.Header()[k] = v
	}
	w.Header().Set("OData-Version", "4.0")
	if len(res.body) > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(res.body)))
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body)
}

func errResult(status int, code, msg string) result {
	var b bytes.Buffer
	b.WriteString(`{"error":{"code":`)
	appendString(&b, code)
	b.WriteString(`,"message":`)
	appendString(&b, msg)
	b.WriteString(`}}`)
	return result{status: status, header: http.Header{"Content-Type": {"application/json; odata.metadata=minimal"}}, body: b.Bytes()}
}

func notFoundSegment(seg string) result {
	return errResult(http.StatusNotFound, "0x80060888", "Resource not found for the segment '"+seg+"'.")
}

// key is the part of a path in parentheses: an id or alternate key.
type key struct {
	id       string
	altName  string
	altValue string
}

// parsePath splits "accounts(…)" into the table and key.
func (s *Server) parsePath(path string) (*table, *key, *result) {
	name, inner, hasKey := path, "", false
	if i := strings.IndexByte(path, '('); i >= 0 && strings.HasSuffix(path, ")") {
		name, inner, hasKey = path[:i], path[i+1:len(path)-1], true
	}
	if strings.Contains(name, "/") {
		res := errResult(http.StatusBadRequest, "0x80060888", "The fake does not serve the path '"+path+"'.")
		return nil, nil, &res
	}
	t := s.tables[name]
	if t == nil {
		res := notFoundSegment(name)
		return nil, nil, &res
	}
	if !hasKey {
		return t, nil, nil
	}
	if k, v, ok := strings.Cut(inner, "="); ok {
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		}
		return t, &key{altName: strings.TrimSpace(k), altValue: v}, nil
	}
	id := strings.ToLower(strings.Trim(inner, "{}"))
	if len(id) != 36 {
		res := errResult(http.StatusBadRequest, "0x80060888", "Bad Request - Error in query syntax.")
		return nil, nil, &res
	}
	return t, &key{id: id}, nil
}

// prefer holds the Prefer header's preferences.
type prefer struct {
	maxPageSize    int
	trackChanges   bool
	annotations    bool
	representation bool
	continueOnErr  bool
}

func parsePrefer(h http.Header) prefer {
	var p prefer
	for _, line := range h.Values("Prefer") {
		for part := range strings.SplitSeq(line, ",") {
			part = strings.TrimSpace(part)
			k, v, _ := strings.Cut(part, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "odata.maxpagesize":
				p.maxPageSize, _ = strconv.Atoi(strings.TrimSpace(v))
			case "odata.track-changes":
				p.trackChanges = true
			case "odata.include-annotations":
				v = strings.Trim(v, `"`)
				p.annotations = v == "*" || strings.Contains(v, "FormattedValue")
			case "return":
				p.representation = v == "representation"
			case "odata.continue-on-error":
				p.continueOnErr = true
			}
		}
	}
	return p
}

// selection is a query's $select, resolved against the table.
type selection struct {
	names []string // as the client spelled them, for @odata.context
	cols  []*column
}

func (t *table) parseSelect(sel string) (selection, *result) {
	var out selection
	if sel == "" {
		for i := range t.columns {
			if c := &t.columns[i]; c.attrType != "Virtual" {
				out.cols = append(out.cols, c)
			}
		}
		return out, nil
	}
	for name := range strings.SplitSeq(sel, ",") {
		name = strings.TrimSpace(name)
		colName := name
		if strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_value") {
			colName = name[1 : len(name)-len("_value")]
			if c := t.column(colName); c == nil || !isLookup(c) {
				res := errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, t.logical))
				return out, &res
			}
		}
		c := t.column(colName)
		if c == nil || c.attrType == "Virtual" || (isLookup(c) && colName == name) {
			res := errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, t.logical))
			return out, &res
		}
		out.names = append(out.names, name)
		out.cols = append(out.cols, c)
	}
	if !containsCol(out.cols, t.primaryID) {
		out.cols = append(out.cols, t.column(t.primaryID))
	}
	return out, nil
}

func containsCol(cols []*column, name string) bool {
	for _, c := range cols {
		if c.name == name {
			return true
		}
	}
	return false
}

func isLookup(c *column) bool {
	return c.attrType == "Lookup" || c.attrType == "Owner" || c.attrType == "Customer"
}

// filter is the subset of $filter the fake understands: modifiedon
// comparisons, equality on the primary key and on columns, joined by
// "and"; or an "or" chain of primary-key equalities (see parseKeyChain).
type filter struct {
	since, until time.Time
	eq           map[string]string
	// ids, when not nil, are the primary keys a row must have (lower case).
	ids map[string]bool
}

var (
	filterClause = regexp.MustCompile(`^\s*(\w+)\s+(eq|gt|ge|lt|le)\s+(.+?)\s*$`)
	andWord      = regexp.MustCompile(`(?i)\s+and\s+`)
	orWord       = regexp.MustCompile(`(?i)\s+or\s+`)
)

func (t *table) parseFilter(f string) (filter, *result) {
	var out filter
	if f == "" {
		return out, nil
	}
	bad := func(msg string) (filter, *result) {
		res := errResult(http.StatusBadRequest, "0x80060888", msg)
		return out, &res
	}
	if orWord.MatchString(maskQuoted(f)) {
		return t.parseKeyChain(f)
	}
	for _, clause := range andWord.Split(f, -1) {
		m := filterClause.FindStringSubmatch(clause)
		if m == nil {
			return bad("Syntax error at position 0 in '" + f + "' (the fake understands 'modifiedon gt|ge|lt|le <datetime>' and '<column> eq <value>' joined by 'and').")
		}
		name, opName, lit := m[1], m[2], m[3]
		if t.column(name) == nil {
			return bad(fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, t.logical))
		}
		if name == t.primaryID {
			if opName != "eq" {
				return bad("The fake compares the primary key only with eq.")
			}
			g, res := guidLiteral(f, lit)
			if res != nil {
				return out, res
			}
			if out.ids == nil {
				out.ids = map[string]bool{g: true}
			} else if !out.ids[g] {
				out.ids = map[string]bool{} // two different keys: nothing matches
			}
			continue
		}
		if name == "modifiedon" && opName != "eq" {
			ts, err := time.Parse(time.RFC3339Nano, lit)
			if err != nil {
				return bad("The DateTimeOffset text '" + lit + "' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.")
			}
			switch opName {
			case "gt":
				out.since = later(out.since, ts)
			case "ge":
				out.since = later(out.since, ts.Add(-time.Nanosecond))
			case "le":
				out.until = earlier(out.until, ts)
			case "lt":
				out.until = earlier(out.until, ts.Add(-time.Nanosecond))
			}
			continue
		}
		if opName != "eq" {
			return bad("The fake compares only modifiedon with " + opName + ".")
		}
		if out.eq == nil {
			out.eq = map[string]string{}
		}
		if len(lit) >= 2 && lit[0] == '\'' {
			lit = strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
		}
		out.eq[name] = lit
	}
	return out, nil
}

// parseKeyChain parses the one use of "or" the fake understands, the way
// clients ask for rows by id: "<key> eq <guid> or <key> eq <guid> ...",
// optionally in one pair of parentheses.
func (t *table) parseKeyChain(f string) (filter, *result) {
	out := filter{ids: map[string]bool{}}
	chain := strings.TrimSpace(f)
	if strings.HasPrefix(chain, "(") && strings.HasSuffix(chain, ")") {
		chain = chain[1 : len(chain)-1]
	}
	for _, clause := range orWord.Split(chain, -1) {
		m := filterClause.FindStringSubmatch(clause)
		if m == nil || m[1] != t.primaryID || m[2] != "eq" || andWord.MatchString(clause) || strings.ContainsAny(clause, "()") {
			res := errResult(http.StatusBadRequest, "0x80060888", "The fake understands 'or' only between '"+t.primaryID+" eq <guid>' clauses, not in '"+f+"'.")
			return filter{}, &res
		}
		g, res := guidLiteral(f, m[3])
		if res != nil {
			return filter{}, res
		}
		out.ids[g] = true
	}
	return out, nil
}

// guidLiteral checks a Guid literal of filter f (unquoted, 8-4-4-4-12 hex)
// and returns it in lower case, or Dataverse's refusal: a quoted string
// compared with a Guid has incompatible types, anything else is a syntax
// error.
func guidLiteral(f, lit string) (string, *result) {
	if strings.HasPrefix(lit, "'") {
		res := errResult(http.StatusBadRequest, "0x80060888", "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'.")
		return "", &res
	}
	if !guidRE.MatchString(lit) {
		res := errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("Syntax error at position %d in '%s'.", strings.Index(f, lit)+len(lit), f))
		return "", &res
	}
	return strings.ToLower(lit), nil
}

// maskQuoted replaces what is inside string literals with underscores,
// so operators are looked for outside them. A doubled quote inside a
// literal toggles twice and so stays inside.
func maskQuoted(f string) string {
	b := []byte(f)
	in := false
	for i, c := range b {
		switch {
		case c == '\'':
			in = !in
		case in:
			b[i] = '_'
		}
	}
	return string(b)
}

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

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

func (f filter) match() func(fakekit.Record) bool {
	if len(f.eq) == 0 && f.ids == nil {
		return nil
	}
	return func(r fakekit.Record) bool {
		if f.ids != nil && !f.ids[r.ID] {
			return false
		}
		for k, want := range f.eq {
			if fmt.Sprint(valueOf(r.Fields[k])) != want {
				return false
			}
		}
		return true
	}
}

func valueOf(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}

// cookie is the fake's paging state, carried in $skiptoken as a
// Dataverse-shaped paging cookie.
type cookie struct {
	page    int
	lastID  string
	firstID string
	lastMod time.Time
	// trackVersion is the version an initial change-tracking read started
	// at (see tracking.go); its delta link carries it.
	trackVersion int
	// logPos is where a delta read continues in the table's write log
	// and logEnd where it stops; hasPos says they are set.
	logPos, logEnd int
	hasPos         bool
	tracking       bool
}

var cookieAttr = regexp.MustCompile(`<(\w+) last="([^"]*)"(?: first="([^"]*)")?`)

func (c cookie) token(primaryID string) string {
	var inner strings.Builder
	fmt.Fprintf(&inner, `<cookie page="%d">`, c.page)
	if !c.lastMod.IsZero() {
		// Full precision: the fake's write times are unique to the
		// millisecond even when modifiedon (whole seconds) ties.
		ts := c.lastMod.UTC().Format(time.RFC3339Nano)
		fmt.Fprintf(&inner, `<modifiedon last="%s" first="%s" />`, ts, ts)
	}
	fmt.Fprintf(&inner, `<%s last="{%s}" first="{%s}" />`, primaryID, strings.ToUpper(c.lastID), strings.ToUpper(c.firstID))
	if c.trackVersion > 0 {
		fmt.Fprintf(&inner, `<tracking last="%d" />`, c.trackVersion)
	}
	if c.hasPos {
		fmt.Fprintf(&inner, `<changelog last="%d" first="%d" />`, c.logPos, c.logEnd)
	}
	inner.WriteString(`</cookie>`)
	tracking := "False"
	if c.tracking {
		tracking = "True"
	}
	return fmt.Sprintf(`<cookie pagenumber="%d" pagingcookie="%s" istracking="%s" />`, c.page+1, escape(inner.String(), false), tracking)
}

var cookieOuter = regexp.MustCompile(`pagenumber="(\d+)" pagingcookie="([^"]*)" istracking="(\w+)"`)

func parseCookie(tok, primaryID string) (cookie, bool) {
	var c cookie
	m := cookieOuter.FindStringSubmatch(tok)
	if m == nil {
		return c, false
	}
	c.page, _ = strconv.Atoi(m[1])
	c.page--
	c.tracking = m[3] == "True"
	inner, err := url.PathUnescape(m[2])
	if err != nil {
		return c, false
	}
	for _, a := range cookieAttr.FindAllStringSubmatch(inner, -1) {
		switch a[1] {
		case "modifiedon":
			if c.lastMod, err = time.Parse(time.RFC3339Nano, a[2]); err != nil {
				return c, false
			}
		case "tracking":
			if c.trackVersion, err = strconv.Atoi(a[2]); err != nil || c.trackVersion < 1 {
				return c, false
			}
		case "changelog":
			if c.logPos, err = strconv.Atoi(a[2]); err != nil || c.logPos < 0 {
				return c, false
			}
			if c.logEnd, err = strconv.Atoi(a[3]); err != nil || c.logEnd < c.logPos {
				return c, false
			}
			c.hasPos = true
		case primaryID:
			c.lastID = strings.ToLower(strings.Trim(a[2], "{}"))
			c.firstID = strings.ToLower(strings.Trim(a[3], "{}"))
		}
	}
	return c, c.lastID != ""
}

// escape percent-encodes everything but unreserved characters; upper
// selects upper-case hex as in the outer $skiptoken.
func escape(s string, upper bool) string {
	const lowerHex, upperHex = "0123456789abcdef", "0123456789ABCDEF"
	hex := lowerHex
	if upper {
		hex = upperHex
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// withoutParams drops the named query parameters from a raw query.
func withoutParams(raw string, names ...string) string {
	var keep []string
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		drop := false
		for _, n := range names {
			if k == n {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, "&")
}

// serveGet answers a query or a single-record retrieve.
func (s *Server) serveGet(w http.ResponseWriter, base string, o op) {
	t, k, bad := s.parsePath(o.path)
	if bad != nil {
		bad.write(w)
		return
	}
	q, err := url.ParseQuery(o.rawQuery)
	if err != nil {
		errResult(http.StatusBadRequest, "0x80060888", "The query string is malformed.").write(w)
		return
	}
	sel, bad := t.parseSelect(q.Get("$select"))
	if bad != nil {
		bad.write(w)
		return
	}
	pref := parsePrefer(o.header)
	if k != nil {
		rec, res := s.lookup(t, k)
		if res != nil {
			res.write(w)
			return
		}
		var b bytes.Buffer
		b.WriteString(`{"@odata.context":`)
		appendString(&b, base+APIPath+"$metadata#"+t.set+contextSelect(sel)+"/$entity")
		b.WriteByte(',')
		appendRecordBody(&b, t, rec, sel.cols, pref.annotations)
		b.WriteByte('}')
		o.usage.add(1)
		result{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json; odata.metadata=minimal"}}, body: b.Bytes()}.write(w)
		return
	}
	for _, unsupported := range []string{"$skip", "$expand", "$apply"} {
		if q.Has(unsupported) {
			errResult(http.StatusBadRequest, "0x80060888", "The query parameter "+unsupported+" is not supported").write(w)
			return
		}
	}
	flt, bad := t.parseFilter(q.Get("$filter"))
	if bad != nil {
		bad.write(w)
		return
	}
	orderBy := strings.ToLower(strings.Join(strings.Fields(q.Get("$orderby")), " "))
	timeOrder := false
	switch orderBy {
	case "", t.primaryID, t.primaryID + " asc":
	case "modifiedon", "modifiedon asc", "modifiedon asc," + t.primaryID, "modifiedon asc," + t.primaryID + " asc",
		"modifiedon asc, " + t.primaryID + " asc", "modifiedon, " + t.primaryID, "modifiedon," + t.primaryID:
		timeOrder = true
	default:
		errResult(http.StatusBadRequest, "0x80060888", "The fake orders only by modifiedon asc and the primary key, not by '"+q.Get("$orderby")+"'.").write(w)
		return
	}
	size := pref.maxPageSize
	if size <= 0 || size > MaxPageSize {
		size = MaxPageSize
	}
	top := -1
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errResult(http.StatusBadRequest, "0x80060888", "Invalid value for $top.").write(w)
			return
		}
		top, size = n, min(n, MaxPageSize)
	}
	delta := q.Get("$deltatoken")
	tracking := pref.trackChanges || delta != ""
	if tracking && (q.Has("$filter") || q.Has("$orderby") || q.Has("$top")) {
		errResult(http.StatusBadRequest, "0x80060888", "Change tracking cannot be combined with $filter, $orderby, $expand or $top.").write(w)
		return
	}
	var ck cookie
	if tok := q.Get("$skiptoken"); tok != "" {
		var ok bool
		if ck, ok = parseCookie(tok, t.primaryID); !ok {
			errResult(http.StatusBadRequest, "0x80060888", "The $skiptoken is not valid.").write(w)
			return
		}
	}

	var tok deltaToken
	if delta != "" {
		var bad *result
		if tok, bad = s.checkDelta(delta); bad != nil {
			bad.write(w)
			return
		}
	}
	// An initial change-tracking read remembers, on its first page and
	// before reading, the write-log position its delta link will carry:
	// a write racing the read is then reported again, never lost.
	if pref.trackChanges && delta == "" && ck.trackVersion == 0 {
		ck.trackVersion = s.logLen(t) + 1
	}

	query := fakekit.Query{Since: flt.since, Until: flt.until, Match: flt.match()}
	var recs []fakekit.Record
	var done bool
	// deltaVersion is the version of the delta link that ends a delta
	// read; nextPos is where a write-log delta read continues.
	var deltaVersion, nextPos int
	switch {
	case delta != "" && tok.version > 0: // exact: by write-log position
		pos := tok.version - 1
		if ck.hasPos {
			pos = ck.logPos
		} else {
			ck.logEnd = s.logLen(t) // the snapshot this delta read reports
			if pos > ck.logEnd {
				expiredVersion().write(w) // a version this table never reached
				return
			}
		}
		recs, nextPos, done, err = s.changes(t, pos, ck.logEnd, size)
		deltaVersion = ck.logEnd + 1
	case delta != "": // approximate: a client's time token
		deltaVersion = s.logLen(t) + 1 // before reading, as above
		query.Since, query.IncludeDeleted = later(tok.issued, ck.lastMod), true
		timeOrder = true
		recs, _, done, err = s.kit.Store.Scan(t.set, query, fakekit.Cursor{}, size)
	case timeOrder:
		query.Since = later(query.Since, ck.lastMod)
		recs, _, done, err = s.kit.Store.Scan(t.set, query, fakekit.Cursor{}, size)
	case flt.ids != nil:
		recs, done = s.byKey(t, query, flt.ids, ck.lastID, size)
	default:
		from := 0
		if ck.lastID != "" {
			from = s.positionAfter(t, ck.lastID)
		}
		recs, _, done, err = s.kit.Store.ScanIDOrder(t.set, query, from, size)
		deltaVersion = ck.trackVersion
	}
	if err != nil {
		errResult(http.StatusInternalServerError, "0x80040216", err.Error()).write(w)
		return
	}
	if top >= 0 {
		done = true
	}
	o.usage.add(len(recs))

	h := w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal")
	h.Set("OData-Version", "4.0")
	applied := []string{}
	if tracking {
		applied = append(applied, "odata.track-changes")
	}
	if pref.maxPageSize > 0 && top < 0 {
		applied = append(applied, "odata.maxpagesize="+strconv.Itoa(size))
	}
	if pref.annotations {
		applied = append(applied, `odata.include-annotations="OData.Community.Display.V1.FormattedValue"`)
	}
	if len(applied) > 0 {
		h.Set("Preference-Applied", strings.Join(applied, ","))
	}
	b := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(b)
	b.Reset()
	b.WriteString(`{"@odata.context":`)
	ctx := base + APIPath + "$metadata#" + t.set + contextSelect(sel)
	if delta != "" {
		ctx += "/$delta"
	}
	appendString(b, ctx)
	b.WriteString(`,"@Microsoft.Dynamics.CRM.totalrecordcount":-1,"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded":false,"@Microsoft.Dynamics.CRM.globalmetadataversion":"6012567","value":[`)
	deletedCtx := base + APIPath + "$metadata#" + t.set + "/$deletedEntity"
	for i := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		if recs[i].Deleted {
			b.WriteString(`{"@odata.context":`)
			appendString(b, deletedCtx)
			b.WriteString(`,"id":"`)
			b.WriteString(recs[i].ID)
			b.WriteString(`","reason":"deleted"}`)
			continue
		}
		b.WriteByte('{')
		appendRecordBody(b, t, &recs[i], sel.cols, pref.annotations)
		b.WriteByte('}')
	}
	b.WriteByte(']')
	link := base + APIPath + t.set + "?"
	switch {
	case !done && len(recs) > 0:
		last := recs[len(recs)-1]
		next := cookie{page: ck.page + 1, lastID: last.ID, firstID: recs[0].ID, trackVersion: ck.trackVersion, tracking: tracking}
		if delta != "" && tok.version > 0 {
			next.logPos, next.logEnd, next.hasPos = nextPos, ck.logEnd, true
		} else if timeOrder {
			next.lastMod = last.Modified
		}
		qs := withoutParams(o.rawQuery, "$skiptoken")
		if qs != "" {
			qs += "&"
		}
		b.WriteString(`,"@odata.nextLink":`)
		appendString(b, link+qs+"$skiptoken="+escape(next.token(t.primaryID), true))
	case tracking:
		qs := withoutParams(o.rawQuery, "$skiptoken", "$deltatoken")
		if qs != "" {
			qs += "&"
		}
		next := deltaToken{version: deltaVersion, issued: s.kit.Now()}
		b.WriteString(`,"@odata.deltaLink":`)
		appendString(b, link+qs+"$deltatoken="+escape(next.String(), false))
	}
	b.WriteByte('}')
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// byKey answers a query whose filter names its rows' primary keys: the
// live rows with those keys that pass query, in primary-key order as an
// unordered query lists them, the page after lastID (when set) of at most
// size rows. It looks the keys up rather than scanning the table.
func (s *Server) byKey(t *table, query fakekit.Query, ids map[string]bool, lastID string, size int) ([]fakekit.Record, bool) {
	type row struct {
		pos int
		rec fakekit.Record
	}
	after := 0
	if lastID != "" {
		after = s.positionAfter(t, lastID)
	}
	var rows []row
	for id := range ids {
		rec, ok := s.kit.Store.Get(t.set, id)
		if !ok || rec.Deleted ||
			!query.Since.IsZero() && !rec.Modified.After(query.Since) ||
			!query.Until.IsZero() && rec.Modified.After(query.Until) ||
			query.Match != nil && !query.Match(rec) {
			continue
		}
		if pos := s.positionAfter(t, id); pos > after {
			rows = append(rows, row{pos, rec})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return a.pos - b.pos })
	done := len(rows) <= size
	recs := make([]fakekit.Record, 0, min(len(rows), size))
	for _, r := range rows[:min(len(rows), size)] {
		recs = append(recs, r.rec)
	}
	return recs, done
}

// positionAfter is the id-order position just after id.
func (s *Server) positionAfter(t *table, id string) int {
	if i, ok := t.index(id); ok {
		return i + 1
	}
	if n, ok := t.seq(id); ok {
		return s.opts.Records + n + 1
	}
	if n, ok := t.chosenSeq(id); ok {
		return s.opts.Records + n + 1
	}
	return 0
}

func contextSelect(sel selection) string {
	if len(sel.names) == 0 {
		return ""
	}
	return "(" + strings.Join(sel.names, ",") + ")"
}

// lookup finds a live record by id or alternate key.
func (s *Server) lookup(t *table, k *key) (*fakekit.Record, *result) {
	if k.altName != "" {
		if k.altName != t.altKey {
			res := errResult(http.StatusBadRequest, "0x80060888", fmt.Sprintf("The key '%s' is not defined as an alternate key for entity %s.", k.altName, t.logical))
			return nil, &res
		}
		rec, ok := s.kit.Store.FindBy(t.set, t.altKey, k.altValue)
		if !ok {
			res := errResult(http.StatusNotFound, "0x80040217", fmt.Sprintf("A record with the specified key values does not exist in %s entity", t.logical))
			return nil, &res
		}
		return &rec, nil
	}
	rec, ok := s.kit.Store.Get(t.set, k.id)
	if !ok || rec.Deleted {
		res := errResult(http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Id = %s Does Not Exist", t.logical, k.id))
		return nil, &res
	}
	return &rec, nil
}

// etag is a record's row version: its write time in milliseconds, unique
// per write even when writes share a second (Options.SameSecondWrites).
func etag(r *fakekit.Record) int64 { return r.Modified.UnixMilli() - 1600000000000 }

// appendRecordBody writes a record's members (without braces).
func appendRecordBody(b *bytes.Buffer, t *table, r *fakekit.Record, cols []*column, annotations bool) {
	b.WriteString(`"@odata.etag":"W/\"`)
	b.WriteString(strconv.FormatInt(etag(r), 10))
	b.WriteString(`\""`)
	for _, c := range cols {
		var v any
		switch c.name {
		case t.primaryID:
			v = r.ID
		case "createdon":
			v = stamp(r.Created)
		case "modifiedon":
			v = stamp(r.Modified)
		case "versionnumber":
			v = etag(r)
		default:
			v = r.Fields[c.name]
			if v == nil && (c.name == "ownerid" || c.name == "createdby" || c.name == "modifiedby") {
				v = adminUser
			}
		}
		name := c.name
		if isLookup(c) {
			name = "_" + c.name + "_value"
		}
		if annotations && v != nil {
			if label, ok := c.label(v); ok {
				b.WriteString(`,"` + name + `@OData.Community.Display.V1.FormattedValue":`)
				appendString(b, label)
			} else if c.attrType == "Boolean" {
				label := "No"
				if v == true {
					label = "Yes"
				}
				b.WriteString(`,"` + name + `@OData.Community.Display.V1.FormattedValue":`)
				appendString(b, label)
			}
		}
		b.WriteString(`,"`)
		b.WriteString(name)
		b.WriteString(`":`)
		appendValue(b, v)
	}
}
