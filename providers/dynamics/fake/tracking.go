package fake

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// Change tracking.
//
// Dataverse's delta token is "<version>!<MM/dd/yyyy HH:mm:ss>": a row
// version of the organisation and the time the token was issued. The
// fake keeps that shape and gives both parts a meaning of its own:
//
//   - version N >= 1 names position N-1 of the table's write log (the
//     store's log of creates, updates, touches and deletes, in write
//     order; fakekit.Store keeps one per table, and every write counts,
//     through the API, the control methods or the store itself): the
//     writes before it have been reported. Following the token returns
//     exactly the records whose latest write is at or after that position
//     and before the log's end when the delta read began (created and
//     updated ones as full rows, deleted ones as $deletedEntity), whatever
//     their modifiedon, so it is exact even when several writes share a
//     second; it pages with nextLinks and ends with a delta link at that
//     end. Writes made while it pages are left to the next delta read.
//     This is the EXACT path, and every delta link the fake issues
//     carries such a version.
//   - version 0 is a token a client made up from a time (the connector
//     does this when asked for deletions since a time without a
//     checkpoint): the fake returns the records written after the token's
//     date, in write order, paging on the write time. Its date has whole
//     seconds, so records written in that second before the client's
//     Since come back too (over-inclusion, never loss). This path is
//     APPROXIMATE and exists for the conformance suite, which asks for
//     deletions since a time.
//
// An initial tracking read (Prefer: odata.track-changes, no token) takes
// its version from the log's end before its first page, so a write made
// while it pages is reported by the first delta read (and may also show in
// the initial read): at least once, never lost.
//
// The date part is the issue time. A malformed token gets 400 0x80060888.
// A token older than
// Options.DeltaRetention (Dataverse: the organisation's
// ExpireChangeTrackingInDays, 30 days by default), or one naming a version
// the table has not reached, gets Dataverse's expired-version answer,
// after which a client must start tracking again.

// DefaultDeltaRetention is how long a delta token stays valid by default.
const DefaultDeltaRetention = 30 * 24 * time.Hour

// CodeExpiredVersionStamp is Dataverse's ExpiredVersionStamp error code,
// the answer to a delta token it no longer (or never) tracked.
const CodeExpiredVersionStamp = "0x80044352"

// deltaLayout is the date part of a delta token.
const deltaLayout = "01/02/2006 15:04:05"

// deltaToken is a parsed $deltatoken.
type deltaToken struct {
	// version is the write-log position plus one; 0 for a token made up
	// from a time.
	version int
	issued  time.Time
}

func (d deltaToken) String() string {
	return strconv.Itoa(d.version) + "!" + d.issued.UTC().Format(deltaLayout)
}

func parseDeltaToken(tok string) (deltaToken, bool) {
	v, ts, ok := strings.Cut(tok, "!")
	if !ok {
		return deltaToken{}, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return deltaToken{}, false
	}
	t, err := time.Parse(deltaLayout, ts)
	if err != nil {
		return deltaToken{}, false
	}
	return deltaToken{version: n, issued: t}, true
}

// retention is how long delta tokens stay valid; zero means forever.
func (s *Server) retention() time.Duration {
	switch {
	case s.opts.DeltaRetention < 0:
		return 0
	case s.opts.DeltaRetention == 0:
		return DefaultDeltaRetention
	}
	return s.opts.DeltaRetention
}

// checkDelta parses a $deltatoken and checks its age.
func (s *Server) checkDelta(raw string) (deltaToken, *result) {
	tok, ok := parseDeltaToken(raw)
	if !ok {
		res := errResult(http.StatusBadRequest, "0x80060888", "The delta token '"+raw+"' is not valid.")
		return tok, &res
	}
	if ret := s.retention(); ret > 0 && s.kit.Now().Sub(tok.issued) > ret {
		res := expiredVersion()
		return tok, &res
	}
	return tok, nil
}

// expiredVersion is Dataverse's answer to a delta token it does not track
// (any more): the client must start over.
func expiredVersion() result {
	return errResult(http.StatusBadRequest, CodeExpiredVersionStamp, "Version stamp associated with the client has expired. Please perform a full sync.")
}

// rejectAll accepts no record; a scan with it walks without copying.
func rejectAll(fakekit.Record) bool { return false }

// logLen is the length of a table's write log: the position the next
// write will take. A phase-1 scan walks the log by position and, when it
// accepts nothing, stops at its end.
func (s *Server) logLen(t *table) int {
	_, next, _, err := s.kit.Store.Scan(t.set, fakekit.Query{Match: rejectAll}, fakekit.Cursor{Phase: 1}, 1)
	if err != nil {
		return 0
	}
	return next.Pos
}

// changes returns up to limit records whose latest write lies in the
// write-log positions [pos, end), in write order (a record written several
// times appears once, at its latest write; deletions included), the
// position after them and whether that reached end. A record whose latest
// write is at end or later is left to the next delta read, so one delta
// read is a snapshot of the log up to end: it lists no record twice and
// ends even while writes go on.
func (s *Server) changes(t *table, pos, end, limit int) ([]fakekit.Record, int, bool, error) {
	q := fakekit.Query{IncludeDeleted: true}
	recs, next, logDone, err := s.kit.Store.Scan(t.set, q, fakekit.Cursor{Phase: 1, Pos: pos}, limit)
	if err != nil || next.Pos <= end {
		return recs, next.Pos, next.Pos >= end || logDone, err
	}
	// The page reached past end: take records one at a time, each
	// scan's cursor telling the position of the record it found.
	recs = recs[:0]
	for pos < end && len(recs) < limit {
		one, next, _, err := s.kit.Store.Scan(t.set, q, fakekit.Cursor{Phase: 1, Pos: pos}, 1)
		if err != nil {
			return nil, pos, false, err
		}
		if len(one) == 0 || next.Pos-1 >= end {
			pos = end // only writes superseded at or after end remain before it
			break
		}
		recs, pos = append(recs, one[0]), next.Pos
	}
	return recs, pos, pos >= end, nil
}
