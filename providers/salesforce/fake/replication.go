package fake

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/internal/jsonw"
)

// The replication resources:
//
//	GET /sobjects/{SObject}/updated/?start=ISO&end=ISO -> {"ids":[…],"latestDateCovered":"…+0000"}
//	GET /sobjects/{SObject}/deleted/?start=ISO&end=ISO -> {"deletedRecords":[{"id","deletedDate"}…],
//	                                                       "earliestDateAvailable":"…","latestDateCovered":"…"}
//
// driven by the store's modified times (a delete's modified time is its
// deletedDate; getUpdated leaves deleted records out). As documented
// (resources_getupdated, resources_getdeleted, SOAP getUpdated() and
// getDeleted()): the seconds of start and end are ignored; start must come
// before end; a record counts when start <= SystemModstamp <
// latestDateCovered, where latestDateCovered is end, or the start of the
// current minute when end is later (changes of a minute still under way
// are left for the next window, which starts at latestDateCovered), but
// never before start; more
// than Options.MaxReplicationIDs (600,000) ids is 400 EXCEEDED_ID_LIMIT.
// getUpdated reaches back 30 days. getDeleted reaches back 15 days, or to
// the last purge of the delete log (PurgeDeleteLog): earliestDateAvailable
// is that point, rounded up to the minute, and a start before it is 400
// INVALID_REPLICATION_DATE, the documented answer once the log has been
// purged past the start ("do a full pull of the table"). Bad dates get 400
// INVALID_REPLICATION_DATE too. The messages are the fake's own.

// Replication limits.
const (
	// MaxReplicationIDs is the most ids one getUpdated or getDeleted call
	// returns.
	MaxReplicationIDs = 600_000
	// UpdatedWindow and DeletedWindow are how far back getUpdated and
	// getDeleted reach.
	UpdatedWindow = 30 * 24 * time.Hour
	DeletedWindow = 15 * 24 * time.Hour
)

// replicationLayouts are the datetime forms start and end are parsed in:
// ISO 8601 with an offset (+00:00, +0000 or Z), with or without fractions.
var replicationLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"}

func parseReplicationTime(s string) (time.Time, bool) {
	for _, layout := range replicationLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// window parses and checks start and end. It writes the error and returns
// ok false when the request is refused.
func (s *Server) window(w http.ResponseWriter, r *http.Request, back time.Duration) (o *objectDef, start, cover time.Time, ok bool) {
	o = s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return nil, start, cover, false
	}
	q := r.URL.Query()
	var end time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"start", &start}, {"end", &end}} {
		v := q.Get(p.name)
		if v == "" {
			writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", fmt.Sprintf("The %s parameter is required", p.name))
			return nil, start, cover, false
		}
		t, valid := parseReplicationTime(v)
		if !valid {
			writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE",
				fmt.Sprintf("%s '%s' is not a valid ISO 8601 dateTime (YYYY-MM-DDThh:mm:ss+hh:mm)", p.name, v))
			return nil, start, cover, false
		}
		*p.t = t.Truncate(time.Minute) // seconds are ignored
	}
	if !start.Before(end) {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE",
			fmt.Sprintf("startDate %s must chronologically precede endDate %s (seconds are ignored)", fmtTime(start), fmtTime(end)))
		return nil, start, cover, false
	}
	now := s.kit.Clock.Now()
	if earliest := now.Add(-back).Truncate(time.Minute); start.Before(earliest) {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE",
			fmt.Sprintf("startDate %s is more than %d days ago: the earliest start is %s", fmtTime(start), int(back/(24*time.Hour)), fmtTime(earliest)))
		return nil, start, cover, false
	}
	// The window ends at end, or where the current minute starts, but not
	// before start (a window wholly in the future covers nothing).
	cover = end
	if m := now.Truncate(time.Minute); m.Before(end) {
		cover = m
	}
	if cover.Before(start) {
		cover = start
	}
	return o, start, cover, true
}

// scanWindow returns the records of o modified in [start, cover) that
// match, or ok false when there are more than the id limit.
func (s *Server) scanWindow(o *objectDef, start, cover time.Time, deleted bool) ([]fakekit.Record, bool) {
	var out []fakekit.Record
	if !cover.After(start) {
		return out, true
	}
	q := fakekit.Query{
		// Store windows are (Since, Until]; the API's is [start, cover).
		Since: start.Add(-time.Nanosecond), Until: cover.Add(-time.Nanosecond),
		IncludeDeleted: deleted,
	}
	if deleted {
		q.Match = func(r fakekit.Record) bool { return r.Deleted }
	}
	limit := fakekit.Or(s.opts.MaxReplicationIDs, MaxReplicationIDs)
	var cur fakekit.Cursor
	for {
		recs, next, done, err := s.kit.Store.Scan(o.Name, q, cur, 10000)
		if err != nil {
			return out, true
		}
		out = append(out, recs...)
		if limit > 0 && len(out) > limit {
			return nil, false
		}
		if done {
			return out, true
		}
		cur = next
	}
}

func (s *Server) exceeded(w http.ResponseWriter) {
	writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT",
		fmt.Sprintf("More than %d ids match: choose start and end dates that are closer together", fakekit.Or(s.opts.MaxReplicationIDs, MaxReplicationIDs)))
}

func (s *Server) getUpdated(w http.ResponseWriter, r *http.Request) {
	o, start, cover, ok := s.window(w, r, UpdatedWindow)
	if !ok {
		return
	}
	recs, ok := s.scanWindow(o, start, cover, false)
	if !ok {
		s.exceeded(w)
		return
	}
	b := make([]byte, 0, 64+len(recs)*21)
	b = append(b, `{"ids":[`...)
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, recs[i].ID)
	}
	b = append(b, `],"latestDateCovered":`...)
	b = jsonw.AppendString(b, fmtTime(cover))
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(b)
}

type deletedRecord struct {
	ID          string `json:"id"`
	DeletedDate string `json:"deletedDate"`
}

func (s *Server) getDeleted(w http.ResponseWriter, r *http.Request) {
	o, start, cover, ok := s.window(w, r, DeletedWindow)
	if !ok {
		return
	}
	earliest := s.earliestDeleted()
	if start.Before(earliest) {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE",
			fmt.Sprintf("startDate %s is before earliestDateAvailable %s: the delete log has been purged since; replicate the whole object again", fmtTime(start), fmtTime(earliest)))
		return
	}
	recs, ok := s.scanWindow(o, start, cover, true)
	if !ok {
		s.exceeded(w)
		return
	}
	out := make([]deletedRecord, len(recs))
	for i := range recs {
		out[i] = deletedRecord{ID: recs[i].ID, DeletedDate: fmtTime(recs[i].Modified)}
	}
	writeJSON(w, http.StatusOK, struct {
		DeletedRecords        []deletedRecord `json:"deletedRecords"`
		EarliestDateAvailable string          `json:"earliestDateAvailable"`
		LatestDateCovered     string          `json:"latestDateCovered"`
	}{out, fmtTime(earliest), fmtTime(cover)})
}

// earliestDeleted is getDeleted's earliestDateAvailable: the start of the
// retention window or the last purge, whichever is later, rounded up to a
// minute.
func (s *Server) earliestDeleted() time.Time {
	t := s.kit.Clock.Now().Add(-DeletedWindow)
	s.mu.Lock()
	if s.purged.After(t) {
		t = s.purged
	}
	s.mu.Unlock()
	if m := t.Truncate(time.Minute); !m.Equal(t) {
		return m.Add(time.Minute)
	}
	return t
}

// PurgeDeleteLog empties the delete log now, as Salesforce's purge (or an
// emptied recycle bin) does: getDeleted calls starting before now (rounded
// up to the minute) get INVALID_REPLICATION_DATE.
func (s *Server) PurgeDeleteLog() {
	s.mu.Lock()
	s.purged = s.kit.Clock.Now()
	s.mu.Unlock()
}
