package write

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/ampforge/amp/providers"
)

// result is one record's outcome. While Done is false the record is still
// to be written; Errors then hold the last retryable failure.
type result struct {
	Done     bool          `json:"done,omitempty"`
	Success  bool          `json:"success"`
	RecordID string        `json:"recordId,omitempty"`
	Created  bool          `json:"created,omitempty"`
	Errors   []recordError `json:"errors,omitempty"`
}

// recordError is one reason a record failed: the provider's message and
// code, the fields it names, and amp's classification (reason).
type recordError struct {
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
	Fields  []string `json:"fields,omitempty"`
	Reason  string   `json:"reason"`
}

// Reasons are the classified causes of a failed record.
const (
	ReasonInvalid          = "invalid"
	ReasonConflict         = "conflict"
	ReasonNotFound         = "not_found"
	ReasonForbidden        = "forbidden"
	ReasonUnauthorized     = "unauthorized"
	ReasonRateLimited      = "rate_limited"
	ReasonUnavailable      = "unavailable"
	ReasonRolledBack       = "rolled_back"
	ReasonDeadlineExceeded = "deadline_exceeded"
	ReasonUnknown          = "unknown"
)

// reasonOf classifies a provider failure.
func reasonOf(kind providers.ErrorKind, code string) string {
	switch code {
	case "ALL_OR_NONE_OPERATION_ROLLED_BACK", "rolled_back":
		return ReasonRolledBack
	}
	switch kind {
	case providers.KindInvalid:
		return ReasonInvalid
	case providers.KindConflict:
		return ReasonConflict
	case providers.KindNotFound:
		return ReasonNotFound
	case providers.KindForbidden:
		return ReasonForbidden
	case providers.KindAuth:
		return ReasonUnauthorized
	case providers.KindRateLimited:
		return ReasonRateLimited
	case providers.KindRetryable:
		return ReasonUnavailable
	}
	return ReasonUnknown
}

// retryableKind reports whether a record failing for kind may succeed
// when tried again later.
func retryableKind(k providers.ErrorKind) bool {
	return k == providers.KindRateLimited || k == providers.KindRetryable
}

// retryableErr reports whether a request-level failure is worth another
// try: rate limits, outages, and failures nobody classified (a network
// error). auth adds refused credentials: an asynchronous write waits for
// the customer to reconnect.
func retryableErr(err error, auth bool) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return true
	}
	switch pe.Kind {
	case providers.KindRateLimited, providers.KindRetryable, providers.KindUnknown:
		return true
	case providers.KindAuth:
		return auth
	}
	return false
}

// errorOf turns a request-level failure into a record error.
func errorOf(err error) recordError {
	var pe *providers.Error
	if errors.As(err, &pe) {
		msg := pe.Message
		if msg == "" {
			msg = pe.Error()
		}
		return recordError{Message: msg, Code: pe.Code, Reason: reasonOf(pe.Kind, pe.Code)}
	}
	// Not the provider's words: a store or internal failure whose text is
	// for the logs (every caller logs err), not for the builder.
	return recordError{Message: "an internal error interrupted the write", Reason: ReasonUnavailable}
}

// batch is what one write applies to the provider: one object, one type.
type batch struct {
	writer    providers.Writer
	bulk      providers.BulkWriter
	object    string
	op        providers.WriteOp
	upsertKey string
	allOrNone bool
	log       *slog.Logger
}

// pass writes every record whose result is not done, once: in chunks of
// the writer's batch size, or in one bulk job when useBulk. It sets the
// results of the records the provider answered for; records that failed
// for a retryable reason (the whole chunk refused by a rate limit, an
// outage, or the record's own retryable error) stay not done. after is
// called with the records each chunk finished (echoes, progress commits)
// and may stop the pass by returning an error. The last retryable
// request-level error is returned as retry.
func (b *batch) pass(ctx context.Context, recs []pending, res []result, useBulk bool, after func(done []int) error) (retry error, err error) {
	todo := make([]int, 0, len(recs))
	for i := range recs {
		if !res[i].Done {
			todo = append(todo, i)
		}
	}
	size := b.writer.MaxBatch()
	if size <= 0 {
		size = 1
	}
	if useBulk {
		size = len(todo)
	}
	for start := 0; start < len(todo); start += size {
		if err := ctx.Err(); err != nil {
			return retry, err
		}
		chunk := todo[start:min(start+size, len(todo))]
		req := providers.WriteRequest{Object: b.object, Op: b.op, UpsertKey: b.upsertKey, AllOrNone: b.allOrNone,
			Records: make([]providers.WriteRecord, len(chunk))}
		for j, i := range chunk {
			req.Records[j] = providers.WriteRecord{ID: recs[i].ID, Fields: recs[i].Fields}
		}
		var out []providers.WriteResult
		var werr error
		if useBulk {
			out, werr = b.bulk.BulkWrite(ctx, req)
		} else {
			out, werr = b.writer.Write(ctx, req)
		}
		switch {
		case werr == nil && len(out) != len(chunk):
			// The provider took the request and may have applied any of
			// it: sending it again could write records twice.
			b.log.Error("the provider answered a write with the wrong number of results", "object", b.object, "records", len(chunk), "results", len(out))
			for _, i := range chunk {
				res[i] = result{Done: true, RecordID: recs[i].ID, Errors: []recordError{{
					Message: fmt.Sprintf("the provider answered %d results for %d records, so whether this record was written is unknown; check it before writing it again", len(out), len(chunk)),
					Reason:  ReasonUnknown}}}
			}
		case werr != nil:
			if ctx.Err() != nil {
				return retry, ctx.Err()
			}
			if b.mayHaveApplied(werr, useBulk) {
				b.log.Error("write failed after the provider may have applied it; not retried", "object", b.object, "op", b.op, "records", len(chunk), "err", werr)
				re := recordError{Message: "the request failed after " + providerName(werr) + " may have applied it, so whether this record was written is unknown; check it before writing it again (" + errorOf(werr).Message + ")",
					Code: errorOf(werr).Code, Reason: ReasonUnknown}
				for _, i := range chunk {
					res[i] = result{Done: true, RecordID: recs[i].ID, Errors: []recordError{re}}
				}
				break
			}
			re := errorOf(werr)
			if retryableErr(werr, true) {
				retry = werr
				for _, i := range chunk {
					res[i].Errors = []recordError{re}
				}
				b.log.Warn("write refused for now; will retry", "object", b.object, "records", len(chunk), "err", werr)
				continue
			}
			for _, i := range chunk {
				res[i] = result{Done: true, RecordID: recs[i].ID, Errors: []recordError{re}}
			}
		default:
			for j, i := range chunk {
				res[i] = outcome(out[j], recs[i])
			}
			if b.allOrNone {
				allOrNoneOutcome(chunk, res)
			}
		}
		done := slices.DeleteFunc(slices.Clone(chunk), func(i int) bool { return !res[i].Done })
		if after != nil && len(done) > 0 {
			if err := after(done); err != nil {
				return retry, err
			}
		}
	}
	return retry, nil
}

// allOrNoneOutcome keeps an all-or-none chunk whole: the provider rolled
// every record back when one failed, so a record left open by a retryable
// error (a locked row) must not be sent again alone. When every failure
// in the chunk is retryable or a roll-back, the whole chunk is reopened
// and sent again together; when one record failed for good, the whole
// chunk is final and the open ones fail with their error.
func allOrNoneOutcome(chunk []int, res []result) {
	open, final := false, false
	for _, i := range chunk {
		switch r := res[i]; {
		case !r.Done:
			open = true
		case !r.Success && !rolledBack(r):
			final = true
		}
	}
	if !open {
		return
	}
	for _, i := range chunk {
		if final {
			res[i].Done = true
			continue
		}
		if res[i].Success {
			// An all-or-none chunk with a record open cannot have
			// written another; a provider saying so is not believed
			// over its own roll-back.
			continue
		}
		res[i].Done = false
	}
}

// rolledBack reports whether a failed result only says the record was
// rolled back with its batch.
func rolledBack(r result) bool {
	if len(r.Errors) == 0 {
		return false
	}
	for _, e := range r.Errors {
		if e.Reason != ReasonRolledBack {
			return false
		}
	}
	return true
}

// mayHaveApplied reports whether a request-level failure of the write
// leaves the provider in an unknown state that a retry could make worse:
// a create (which has no key to make it idempotent) whose request reached
// the provider without a refusal saying it was not processed (a lost
// connection, a 500, a truncated answer), and any failure of a bulk job
// but its creation. Rate limits, 503s and refused credentials say nothing
// was applied.
func (b *batch) mayHaveApplied(err error, bulk bool) bool {
	if !retryableErr(err, true) {
		// Final anyway, with the provider's own reason.
		return false
	}
	if bulk {
		return errors.Is(err, providers.ErrOutcomeUnknown)
	}
	if b.op != providers.WriteCreate {
		return false
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return true
	}
	switch {
	case pe.Kind == providers.KindRateLimited, pe.Kind == providers.KindAuth:
		return false
	case pe.Status == http.StatusServiceUnavailable, pe.Status == http.StatusTooManyRequests:
		return false
	}
	return true
}

// providerName is the provider a failure came from, for messages.
func providerName(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Provider != "" {
		return pe.Provider
	}
	return "the provider"
}

// outcome is a provider result as a record result: a failure whose every
// error is retryable stays not done.
func outcome(r providers.WriteResult, p pending) result {
	out := result{Done: true, Success: r.Success, RecordID: r.ID, Created: r.Created}
	if out.RecordID == "" {
		out.RecordID = p.ID
	}
	if r.Success {
		return out
	}
	retry := len(r.Errors) > 0
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, recordError{Message: e.Message, Code: e.Code, Fields: e.Fields, Reason: reasonOf(e.Kind, e.Code)})
		if !retryableKind(e.Kind) {
			retry = false
		}
	}
	if len(out.Errors) == 0 {
		out.Errors = []recordError{{Message: "the provider reported a failure without a reason", Reason: ReasonUnknown}}
	}
	out.Done = !retry
	return out
}

// failRemaining ends every record not done as failed: why, then its last
// error, classified as reason (empty: the last error's own reason).
func failRemaining(res []result, recs []pending, why, reason string) {
	for i := range res {
		if res[i].Done {
			continue
		}
		errs := []recordError{{Message: why, Reason: cmp.Or(reason, ReasonUnavailable)}}
		for _, e := range res[i].Errors {
			e.Message = why + ": " + e.Message
			e.Reason = cmp.Or(reason, e.Reason)
			errs = []recordError{e}
			break
		}
		res[i] = result{Done: true, RecordID: recs[i].ID, Errors: errs}
	}
}

// counts returns how many records succeeded and failed (done ones only).
func counts(res []result) (ok, failed, open int) {
	for _, r := range res {
		switch {
		case !r.Done:
			open++
		case r.Success:
			ok++
		default:
			failed++
		}
	}
	return ok, failed, open
}
