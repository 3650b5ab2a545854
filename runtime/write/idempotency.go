package write

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/engine"
)

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 255

// requestHash identifies a request for its Idempotency-Key: the
// integration, the object and the body, compacted so that whitespace does
// not make two identical requests differ.
func requestHash(call Call) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", call.IntegrationID, call.ObjectName)
	var b bytes.Buffer
	if err := json.Compact(&b, call.Body); err == nil {
		h.Write(b.Bytes())
	} else {
		h.Write(call.Body)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// serveIdempotent serves a call that carries an Idempotency-Key: the first
// request with the key runs and its answer is kept; the same request again
// gets that answer without writing, while the first is still running a
// 409, and another request with the key a 422.
//
// Answers to requests that wrote nothing (refused input, a provider that
// cannot be reached) are not kept: the key is released, so the client may
// fix the request or retry it under the same key.
func (s *Service) serveIdempotent(ctx context.Context, call Call) (Answer, error) {
	key := call.IdempotencyKey
	if len(key) > MaxIdempotencyKey || !printable(key) {
		var is issues
		is.malformed("header", "Idempotency-Key", "Idempotency-Key must be 1 to %d printable ASCII characters (a UUID is a good key)", MaxIdempotencyKey)
		return is.err().(*inputError).answer(), nil
	}
	if s.cfg.State == nil {
		var is issues
		is.add("header", "Idempotency-Key", "this server keeps no idempotency records; send the request without Idempotency-Key")
		return is.err().(*inputError).answer(), nil
	}
	now := s.cfg.Now()
	rec := &runtime.IdempotencyRecord{ProjectID: call.ProjectID, Key: key, RequestHash: requestHash(call),
		CreateTime: now, ExpireTime: now.Add(s.cfg.IdempotencyTTL)}
	prev, err := s.cfg.State.BeginIdempotent(ctx, rec)
	if err != nil {
		return Answer{}, fmt.Errorf("record Idempotency-Key: %w", err)
	}
	if prev != nil {
		switch {
		case prev.RequestHash != rec.RequestHash:
			var is issues
			is.add("header", "Idempotency-Key", "Idempotency-Key %q was used with another request in the last %s; use a new key for a new request", key, s.cfg.IdempotencyTTL)
			return is.err().(*inputError).answer(), nil
		case prev.Status == 0:
			msg := fmt.Sprintf("the first request with Idempotency-Key %q, started at %s, is still running", key, prev.CreateTime.UTC().Format(time.RFC3339))
			if prev.OperationID != "" {
				msg += " (operation " + prev.OperationID + ")"
			}
			return conflictAnswer(msg + "; retry when it has answered"), nil
		}
		var a Answer
		if err := json.Unmarshal(prev.Response, &a); err != nil || a.Status == 0 {
			return Answer{}, fmt.Errorf("replay Idempotency-Key %q: the stored answer is unreadable: %v", key, err)
		}
		return a, nil
	}
	// The answer is kept even if the client hangs up: the write may have
	// happened.
	ctx = context.WithoutCancel(ctx)
	a, err := s.serve(ctx, call)
	if err != nil || !kept(a) {
		if aerr := s.cfg.State.AbandonIdempotent(ctx, call.ProjectID, key); aerr != nil {
			s.log.Warn("release an Idempotency-Key", "key", key, "err", aerr)
		}
		return a, err
	}
	stored, merr := json.Marshal(a)
	var opID string
	var body struct {
		OperationID string `json:"operationId"`
	}
	if json.Unmarshal(a.Body, &body) == nil {
		opID = body.OperationID
	}
	if merr == nil {
		merr = s.finishIdempotent(ctx, call.ProjectID, key, a.Status, stored, opID)
	}
	if merr != nil {
		s.log.Error("store the answer of an Idempotency-Key", "key", key, "err", merr)
	}
	return a, nil
}

// finishAttempts is how many times an idempotency record's answer is
// stored before giving up: a record left unfinished answers 409 until it
// expires, so a passing store failure is worth a few quick tries.
const finishAttempts = 4

// finishIdempotent is WriteStateStore.FinishIdempotent, tried up to
// finishAttempts times with a short back-off.
func (s *Service) finishIdempotent(ctx context.Context, projectID, key string, status int, response []byte, opID string) error {
	var err error
	for attempt := 1; attempt <= finishAttempts; attempt++ {
		if err = s.cfg.State.FinishIdempotent(ctx, projectID, key, status, response, opID); err == nil {
			return nil
		}
		if attempt == finishAttempts {
			break
		}
		t := time.NewTimer(engine.Backoff(50*time.Millisecond, time.Second, attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d tries: %w)", ctx.Err(), attempt, err)
		case <-t.C:
		}
	}
	return fmt.Errorf("after %d tries: %w", finishAttempts, err)
}

// kept reports whether an answer says something was (or is being)
// written, so a repeat must replay it: a write's result, or an operation
// queued.
func kept(a Answer) bool {
	if a.ContentType != contentJSON {
		return false
	}
	return a.Status == http.StatusOK || a.Status == http.StatusUnprocessableEntity
}

func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
