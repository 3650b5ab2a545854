package hubspot

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ampforge/amp/providers"
)

// MetadataTwoEndedRead is the Config.Metadata key turning the two-ended
// full read (read.go) off: "off" (or "false", "0", "no") makes full reads
// list only, as before it. Unset or "on" leaves it on. Like
// MetadataSearchPerSecond it is not a customer setting: an operator or a
// test sets it where the Config is built, for an account where search
// disagrees with the list (a portal whose search index lags far behind).
const MetadataTwoEndedRead = "two_ended_read"

// twoEndedRead reads MetadataTwoEndedRead.
func twoEndedRead(md map[string]string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(md[MetadataTwoEndedRead])); v {
	case "", "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	default:
		return false, fmt.Errorf("hubspot: metadata %s=%q is neither on nor off", MetadataTwoEndedRead, v)
	}
}

// noBound is searchLow before the first search: nothing searched yet.
const noBound = math.MaxUint64

// ends is the state of a two-ended full read, its cursor's payload. Ids
// are HubSpot's numeric record ids.
type ends struct {
	// after is the list's paging cursor.
	after string
	// listHigh: every live id up to it was delivered (the list walked
	// them). Zero before the first list page; ids start at 1.
	listHigh uint64
	// searchLow: every live id from it up was delivered (search walked
	// them); noBound before the first search. listHigh < searchLow.
	searchLow uint64
	// noSearch: search failed in a way retrying will not mend, or
	// maxSearchFailures times in a row; the read goes on listing, still
	// stopping where the ends meet.
	noSearch bool
	// searchFailures counts searches failed in a row; listNext makes the
	// next call list, after a call that spent its request on a failed
	// search.
	searchFailures int
	listNext       bool
}

// maxSearchFailures is how many searches in a row may fail before a read
// stops searching: a search outage slows a full read, never stalls it.
const maxSearchFailures = 5

// parseEnds decodes the state of a "d:" cursor:
// <flags>:<listHigh>:<searchLow>:<after>, after last since it is
// HubSpot's and may hold anything.
func parseEnds(state string) (ends, error) {
	parts := strings.SplitN(state, ":", 4)
	if len(parts) != 4 {
		return ends{}, fmt.Errorf("%d fields", len(parts))
	}
	e := ends{after: parts[3], searchLow: noBound}
	for flags := parts[0]; flags != ""; flags = flags[1:] {
		switch flags[0] {
		case 'n':
			e.noSearch = true
		case 'l':
			e.listNext = true
		case 'f':
			if len(flags) < 2 || flags[1] < '1' || flags[1] > '9' {
				return ends{}, fmt.Errorf("flags %q", parts[0])
			}
			e.searchFailures = int(flags[1] - '0')
			flags = flags[1:]
		default:
			return ends{}, fmt.Errorf("flags %q", parts[0])
		}
	}
	var err error
	if parts[1] != "" {
		if e.listHigh, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
			return ends{}, err
		}
	}
	if parts[2] != "" {
		if e.searchLow, err = strconv.ParseUint(parts[2], 10, 64); err != nil {
			return ends{}, err
		}
	}
	if e.listHigh >= e.searchLow {
		return ends{}, fmt.Errorf("the ends have met")
	}
	return e, nil
}

func (e ends) String() string {
	var b strings.Builder
	b.WriteString("d:")
	if e.noSearch {
		b.WriteString("n")
	}
	if e.listNext {
		b.WriteString("l")
	}
	if e.searchFailures > 0 {
		b.WriteString("f" + strconv.Itoa(min(e.searchFailures, 9)))
	}
	b.WriteByte(':')
	if e.listHigh > 0 {
		b.WriteString(strconv.FormatUint(e.listHigh, 10))
	}
	b.WriteByte(':')
	if e.searchLow != noBound {
		b.WriteString(strconv.FormatUint(e.searchLow, 10))
	}
	b.WriteByte(':')
	b.WriteString(e.after)
	return b.String()
}

// met reports whether no id lies strictly between the ends.
func (e ends) met() bool { return e.listHigh >= e.searchLow || e.searchLow-e.listHigh <= 1 }

// half is one request's page: its records, their ids (ok false when one
// is not a number) and where it goes on.
type half struct {
	recs []providers.Record
	ids  []uint64
	ok   bool
	// next is the list's cursor ("" at the end); more says whether
	// search results go on below the page.
	next  string
	more  bool
	total int
}

func newHalf(recs []providers.Record) *half {
	h := &half{recs: recs, ids: make([]uint64, len(recs)), ok: true, total: -1}
	for i, r := range recs {
		id, err := strconv.ParseUint(r.ID, 10, 64)
		if err != nil {
			h.ok = false
			break
		}
		h.ids[i] = id
	}
	return h
}

// ascendsAbove reports whether the ids rise strictly, all above low.
func (h *half) ascendsAbove(low uint64) bool {
	if !h.ok {
		return false
	}
	for _, id := range h.ids {
		if id <= low {
			return false
		}
		low = id
	}
	return true
}

// descendsBelow reports whether the ids fall strictly, all below high.
func (h *half) descendsBelow(high uint64) bool {
	if !h.ok {
		return false
	}
	for _, id := range h.ids {
		if id >= high {
			return false
		}
		high = id
	}
	return true
}

// readTwoEnded reads one page of a two-ended full read: see read.go. A
// call sends one request, a search when the account has a search slot
// free and a list page otherwise, or both at once when searches are
// proven outside the burst window (proof.go), the window has room to
// spare, or a probe is left (pace.go): the engine paces calls to the
// window, so a call's one request of the window keeps that pace exact.
func (c *Client) readTwoEnded(ctx context.Context, p *readPlan, state string) (*providers.ReadPage, error) {
	e, err := parseEnds(state)
	if err != nil {
		return nil, badCursor("d:" + state)
	}
	search := !e.noSearch && !e.listNext && c.twoEnded
	e.listNext = false
	var (
		slot *rate.Reservation
		wait time.Duration
	)
	if search {
		slot, wait, search = c.searchSlot(time.Now())
	}
	var list, found *half
	switch {
	case search && (c.proof.holds() || pacers.ample(c.account, time.Now()) || !c.proof.withdrawn() && pacers.probe(c.account, time.Now())):
		var listErr, searchErr error
		var wg sync.WaitGroup
		wg.Go(func() { list, listErr = c.listHalf(ctx, p, e.after) })
		if searchErr = waitSlot(ctx, slot, wait); searchErr == nil {
			found, searchErr = c.searchHalf(ctx, p, e.searchLow)
		}
		wg.Wait()
		if listErr != nil {
			return nil, listErr
		}
		if searchErr != nil {
			// The list's page stands on its own: the search is retried
			// on a later call, or never when it cannot work.
			if ctx.Err() != nil || providers.KindOf(searchErr) == providers.KindAuth {
				return nil, searchErr
			}
			e.noSearch = e.noSearch || searchUnusable(searchErr)
			if providers.KindOf(searchErr) == providers.KindRateLimited {
				pacers.exhausted(c.account, time.Now())
			}
			found = nil
		}
	case search:
		if err := waitSlot(ctx, slot, wait); err != nil {
			return nil, err
		}
		found, err = c.searchHalf(ctx, p, e.searchLow)
		if err != nil {
			switch providers.KindOf(err) {
			case providers.KindAuth, providers.KindRateLimited:
				// The engine reconnects or waits the limit out.
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, err
			}
			e.searchFailures++
			if !searchUnusable(err) && e.searchFailures < maxSearchFailures {
				// The call spent its request on the failed search: it
				// returns no records, and the next call lists. The
				// engine is not asked to retry it, since a search that
				// keeps failing would then stop the whole read.
				e.listNext = true
				return &providers.ReadPage{Total: -1, NextCursor: e.String()}, nil
			}
			e.noSearch = true
			if list, err = c.listHalf(ctx, p, e.after); err != nil {
				return nil, err
			}
		} else {
			e.searchFailures = 0
		}
	default:
		if list, err = c.listHalf(ctx, p, e.after); err != nil {
			return nil, err
		}
	}
	return e.merge(list, found), nil
}

// searchUnusable reports whether a search error will not go away by
// retrying: HubSpot refused the query itself.
func searchUnusable(err error) bool {
	switch providers.KindOf(err) {
	case providers.KindInvalid, providers.KindNotFound, providers.KindForbidden:
		return true
	}
	return false
}

// merge delivers a call's pages (either may be nil) and moves the ends.
// Each page is judged against the ends as they were before the call: the
// list's records below searchLow are new, and so are search's records
// above listHigh; a record in both pages is delivered once. When the
// pages overlap, the ends have met and the read is done.
//
// A list page out of ascending id order breaks the premise that the ends
// bound what was delivered. The read then goes on as a plain list read
// from the list's cursor, delivering everything: records search already
// delivered come again, none is lost.
func (e ends) merge(list, found *half) *providers.ReadPage {
	out := &providers.ReadPage{Total: -1}
	next := e
	done := false
	var listed map[string]bool
	if list != nil && found != nil {
		listed = make(map[string]bool, len(list.recs))
	}
	if list != nil {
		if !list.ascendsAbove(e.listHigh) {
			out.Records = append(out.Records, list.recs...)
			if found != nil {
				for _, r := range list.recs {
					listed[r.ID] = true
				}
				for _, r := range found.recs {
					if !listed[r.ID] {
						out.Records = append(out.Records, r)
					}
				}
			}
			if list.next == "" {
				out.Done = true
			} else {
				out.NextCursor = "l:" + list.next
			}
			return out
		}
		for i, r := range list.recs {
			if list.ids[i] < e.searchLow {
				out.Records = append(out.Records, r)
				if listed != nil {
					listed[r.ID] = true
				}
			}
		}
		if n := len(list.ids); n > 0 {
			next.listHigh = list.ids[n-1]
		}
		next.after = list.next
		done = list.next == ""
	}
	if found != nil {
		if !found.descendsBelow(e.searchLow) {
			next.noSearch = true
		} else {
			for i, r := range found.recs {
				if found.ids[i] > e.listHigh && !listed[r.ID] {
					out.Records = append(out.Records, r)
				}
			}
			if n := len(found.ids); n > 0 {
				next.searchLow = found.ids[n-1]
			}
			// Search reaching the bottom has walked every id below
			// the old searchLow.
			done = done || !found.more || len(found.ids) == 0
			if e.searchLow == noBound {
				out.Total = found.total
			}
		}
	}
	if done || next.met() {
		out.Done = true
	} else {
		out.NextCursor = next.String()
	}
	return out
}

// listHalf reads one page of the live list.
func (c *Client) listHalf(ctx context.Context, p *readPlan, after string) (*half, error) {
	recs, next, err := c.listPage(ctx, p, after, false)
	if err != nil {
		return nil, err
	}
	h := newHalf(recs)
	h.next = next
	return h, nil
}

// searchHalf searches the ids below `below` (noBound: all), highest
// first, a page of up to 200. Each page is a fresh query anchored at the
// lowest id searched so far, so it never nears the 10,000-result cap.
func (c *Client) searchHalf(ctx context.Context, p *readPlan, below uint64) (*half, error) {
	body := searchRequest{
		FilterGroups: []filterGroup{},
		Sorts:        []searchSort{{PropertyName: "hs_object_id", Direction: "DESCENDING"}},
		Properties:   p.props,
		Limit:        pageSize(p.req, spec.Batch.MaxReadPageSize, spec.Batch.MaxReadPageSize),
	}
	if below != noBound {
		body.FilterGroups = []filterGroup{{Filters: []searchFilter{{"hs_object_id", "LT", strconv.FormatUint(below, 10)}}}}
	}
	u := c.base + "/crm/v3/objects/" + p.object + "/search"
	_, resp, err := c.do(ctx, "POST", u, body)
	if err != nil {
		return nil, err
	}
	hp, recs, err := p.decode(u, resp)
	if err != nil {
		return nil, err
	}
	h := newHalf(recs)
	h.more = hp.next() != ""
	if hp.Total != nil {
		h.total = *hp.Total
	}
	return h, nil
}
