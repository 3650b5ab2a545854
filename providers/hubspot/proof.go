package hubspot

import (
	"sync"
	"time"
)

// Searches and the burst window.
//
// HubSpot's usage guidelines leave CRM search out of the burst window
// ("This excludes the CRM Search API"), and search answers carry no
// X-HubSpot-RateLimit headers. The engine paces a Client's calls to the
// window, so where searches are outside it, a two-ended full read can send
// a search beside every list page at no cost to the window: twice the
// records a second of a list alone. Where they are not, that second
// request overruns the window and meets 429s.
//
// So the connector does not take the guidelines' word for it. Each Client
// watches its own requests and the window's readings, and treats a search
// as a request of the window until a reading proves otherwise
// (windowProof.proves). The proof is per Client, not per account: HubSpot
// counts the burst window per app and account, and a Client's requests are
// all in its connection's window. Requests of other Clients (other jobs of
// the connection) can only raise a reading above what this Client's
// requests explain, though they can also hide a fall in the count that
// observed looks for. A Client lives for one job, so a new read proves it
// again: after two of its searches, within about half a second when it
// has the account's search limit to itself. Until then its calls alternate
// between a list and a search, but for a few probes (pace.go).
//
// The proof holds for a window HubSpot keeps as an exact log of arrivals
// (its policy name is TEN_SECONDLY_ROLLING) or in fixed steps, and for one
// that estimates the log from its last steps, since it counts only the
// last fifth of the window and asks for a shortfall of a quarter. A count
// that lags HubSpot's answers by half a second or more could still pass
// for it. Whatever the cause, a 429 from the window withdraws the proof
// for the rest of the Client's life: sending more than the engine paces
// is then not safe, and the read goes on as it would without the proof.

const (
	// A reading proves nothing unless it falls short of this Client's
	// count by more than proofMargin requests (a Remaining that leaves out
	// the request it answers) and by
	// at least proofShare of the count, counting only the requests sent in
	// the last proofSpan of the window. A window estimated from fixed
	// steps (the last step's count weighted by how much of it the window
	// still covers) keeps at least 1 - proofSpan of each counted request,
	// so it cannot fall short by proofShare. A search beside each of every
	// other list makes half the requests, so a true proof falls short by
	// about half.
	proofMargin = 1
	proofShare  = 0.25
	proofSpan   = 0.2
	// maxProofLog bounds the requests kept, far above any HubSpot
	// window's limit.
	maxProofLog = 4096
)

// windowProof decides for one Client whether HubSpot leaves its searches
// out of the burst window. Safe for concurrent use: a call's list and
// search run at once.
type windowProof struct {
	mu sync.Mutex
	// done holds the requests answered with success that were sent in the
	// last window, roughly in sending order.
	done []doneRequest
	// floor: only requests sent from it on are sure to be in HubSpot's
	// count (see observed).
	floor time.Time
	// The last reading: requests used, when it arrived, the window.
	lastUsed int
	lastAt   time.Time
	window   time.Duration
	// outside: a reading proved searches are left out of the window.
	// refused: a window's 429 came; nothing is proven again.
	outside, refused bool
}

// doneRequest is a request HubSpot answered with success.
type doneRequest struct {
	sent, at time.Time
	search   bool
}

func (w *windowProof) period() time.Duration {
	if w.window > 0 {
		return w.window
	}
	return defaultBurstWindow
}

// completed notes a request sent at sent that HubSpot answered with
// success at now.
func (w *windowProof) completed(sent, now time.Time, search bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refused {
		return
	}
	w.trim(now)
	if len(w.done) >= maxProofLog {
		w.done = append(w.done[:0], w.done[1:]...)
	}
	w.done = append(w.done, doneRequest{sent: sent, at: now, search: search})
}

// observed takes a reading of the window, used requests of it, from the
// answer to a request sent at sent.
func (w *windowProof) observed(used int, window time.Duration, sent, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if window > 0 {
		w.window = window
	}
	w.trim(now)
	// Without a reading of the last window, or with a count below the
	// last one, requests may have left HubSpot's count unseen (a rolling
	// window's expiry, or a window that starts afresh): only this
	// reading's request and those sent after it count towards a proof.
	if now.Sub(w.lastAt) > w.period() || used < w.lastUsed {
		w.floor = sent
	} else if !w.outside && !w.refused && w.proves(used, sent, now) {
		w.outside = true
	}
	w.lastUsed, w.lastAt = used, now
}

// proves reports whether a reading counting used requests of the window,
// from the answer to a request sent at sent, proves that searches are
// left out. Were they counted, the reading would include that request and
// every request of this Client answered before it left and sent from the
// floor on and less than a window before now (HubSpot received each after
// its sending, so still holds it); other requests only add to it. A
// reading short of that count (over the last proofSpan of the window)
// by more than the margin and by the share can only mean HubSpot left the
// searches out. The reading must still cover the requests other than
// searches, bar one dated differently: one that does not suggests
// requests left the count unseen, which proves nothing.
func (w *windowProof) proves(used int, sent, now time.Time) bool {
	cut := now.Add(-time.Duration(proofSpan * float64(w.period())))
	count, searches := 1, 0
	for _, d := range w.done {
		if d.sent.After(cut) && !d.sent.Before(w.floor) && d.at.Before(sent) {
			count++
			if d.search {
				searches++
			}
		}
	}
	short := count - used
	return short > proofMargin && float64(short) >= proofShare*float64(count) && used+1 >= count-searches
}

// refuse withdraws the proof for good: a request of the window met a 429.
func (w *windowProof) refuse() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outside, w.refused = false, true
	w.done = nil
}

// withdrawn reports whether a window's 429 withdrew the proof for good.
func (w *windowProof) withdrawn() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused
}

// holds reports whether searches are proven outside the window.
func (w *windowProof) holds() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outside
}

// trim forgets the requests sent more than a window before now. Answers
// arrive out of sending order: it drops from the front while the oldest
// is out, which may keep a few out of date ones a while (proves skips
// them).
func (w *windowProof) trim(now time.Time) {
	cut := now.Add(-w.period())
	i := 0
	for i < len(w.done) && !w.done[i].sent.After(cut) {
		i++
	}
	if i > 0 {
		w.done = append(w.done[:0], w.done[i:]...)
	}
}
