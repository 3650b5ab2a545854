package write

import (
	"context"
	"fmt"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/engine"
)

// The answers' shapes: Ampersand's WriteResponseSingleSuccess,
// WriteResponseSingleFail and WriteResponseBatch, whose results and
// errors carry amp's per-record detail (code, fields, reason) too.

type singleAnswer struct {
	OperationID string        `json:"operationId"`
	Result      *resultJSON   `json:"result,omitempty"`
	Errors      []recordError `json:"errors,omitempty"`
}

type batchAnswer struct {
	OperationID  string        `json:"operationId"`
	SuccessCount int           `json:"successCount"`
	FailureCount int           `json:"failureCount"`
	Results      []resultJSON  `json:"results"`
	Errors       []recordError `json:"errors,omitempty"`
}

// resultJSON is Ampersand's WriteResult plus amp's errors and created.
type resultJSON struct {
	Success  bool          `json:"success"`
	RecordID string        `json:"recordId,omitempty"`
	Created  bool          `json:"created,omitempty"`
	Errors   []recordError `json:"errors,omitempty"`
}

func toJSON(r result) resultJSON {
	out := resultJSON{Success: r.Success, Created: r.Created, Errors: r.Errors}
	if r.Success {
		out.RecordID = r.RecordID
	}
	return out
}

// writeNow runs a synchronous write: every chunk, retrying refused ones
// up to SyncAttempts times, then answers with every record's result.
func (s *Service) writeNow(ctx context.Context, t *target, in *input, recs []pending) (Answer, error) {
	res := make([]result, len(recs))
	b := s.batchFor(t, in.op, in.allOrNone)
	var lastRetry error
	for attempt := 1; ; attempt++ {
		sent, err := resolveIfEmpty(ctx, t.connector, t.object, recs, res)
		if err != nil {
			if !retryableErr(err, false) || attempt >= s.cfg.SyncAttempts {
				if !anyDone(res) {
					return Answer{}, s.providerTrouble(t, "read the current values of "+t.object+" records in", err)
				}
				// Some records are written: the answer must say so (and
				// be kept for an Idempotency-Key), so the others fail
				// with this error rather than the whole request.
				s.log.Warn("read current values for a write retry", "installation", t.inst.ID, "object", t.object, "err", err)
				failRemaining(res, recs, "could not read the current values of the record (writeOnUpdate ifEmpty) to try it again", ReasonUnavailable)
				break
			}
			lastRetry = err
		} else {
			retry, err := b.pass(ctx, sent, res, false, func(done []int) error {
				s.recordEchoes(ctx, t, sent, res, done)
				return nil
			})
			if err != nil {
				return Answer{}, fmt.Errorf("write %s: %w", t.object, err)
			}
			lastRetry = retry
		}
		_, _, open := counts(res)
		if open == 0 || attempt >= s.cfg.SyncAttempts {
			break
		}
		wait := min(max(providers.RetryAfter(lastRetry), engine.Backoff(s.cfg.RetryBase, s.cfg.SyncRetryMax, attempt)), s.cfg.SyncRetryMax)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return Answer{}, ctx.Err()
		case <-timer.C:
		}
	}
	failRemaining(res, recs, fmt.Sprintf("%s kept refusing the write (%d attempts)", t.conn.Provider, s.cfg.SyncAttempts), "")
	opID := runtime.NewID()
	ok, failed, _ := counts(res)
	s.log.Info("synchronous write", "installation", t.inst.ID, "object", t.object, "type", in.op, "written", ok, "failed", failed)
	if in.single {
		r := toJSON(res[0])
		a := singleAnswer{OperationID: opID, Result: &r}
		if !r.Success {
			a.Errors, r.Errors = r.Errors, nil
		}
		return jsonAnswer(statusOf(ok), a), nil
	}
	a := batchAnswer{OperationID: opID, SuccessCount: ok, FailureCount: failed, Results: make([]resultJSON, len(res))}
	for i, r := range res {
		a.Results[i] = toJSON(r)
	}
	if in.allOrNone && failed > 0 {
		a.Errors = []recordError{{Message: fmt.Sprintf("all-or-none batch: %d of %d records failed, so %s rolled back every record", failed, len(res), t.conn.Provider), Reason: ReasonRolledBack}}
	}
	return jsonAnswer(statusOf(ok), a), nil
}

// anyDone reports whether some record has its final result.
func anyDone(res []result) bool {
	for _, r := range res {
		if r.Done {
			return true
		}
	}
	return false
}

// batchFor returns the batch that writes t's records.
func (s *Service) batchFor(t *target, op providers.WriteOp, allOrNone bool) *batch {
	b := &batch{writer: t.writer, object: t.object, op: op, upsertKey: t.wobj.UpsertKey, allOrNone: allOrNone,
		log: s.log.With("installation", t.inst.ID)}
	if bw, ok := t.connector.(providers.BulkWriter); ok {
		b.bulk = bw
	}
	return b
}

// recordEchoes remembers the records of done that were written (not
// deleted) so that the next read of the object does not deliver them back.
// A failure is logged: the record is then delivered once more, which
// receivers already handle.
func (s *Service) recordEchoes(ctx context.Context, t *target, sent []pending, res []result, done []int) {
	if s.cfg.State == nil || t.readKey == "" {
		return
	}
	echoes := echoesOf(sent, res, done, t.echoFields)
	if len(echoes) == 0 {
		return
	}
	if err := s.cfg.State.RecordEchoes(ctx, t.inst.ProjectID, t.inst.ID, t.readKey, echoes, s.cfg.Now().Add(s.cfg.EchoTTL)); err != nil {
		s.log.Warn("remember written records as echoes", "installation", t.inst.ID, "object", t.readKey, "records", len(echoes), "err", err)
	}
}

// echoesOf returns the echoes of the successful, non-delete records of
// done.
func echoesOf(sent []pending, res []result, done []int, read map[string]bool) []runtime.Echo {
	var out []runtime.Echo
	for _, i := range done {
		r := res[i]
		if !r.Success || r.RecordID == "" || sent[i].Fields == nil {
			continue
		}
		fp := fingerprint(sent[i].Fields, read)
		if fp == "" {
			continue
		}
		out = append(out, runtime.Echo{RecordID: r.RecordID, Fingerprint: fp})
	}
	return out
}
