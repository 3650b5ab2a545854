package write

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ampforge/amp/runtime"
)

// Auto-batching (autoBatchPolicy) coalesces asynchronous single-record
// writes of one installation, object and type into one provider call.
// It is built on operation rows and on the store's idempotency records,
// without a store method of its own:
//
//   - Each single write is its own durable operation, queued to run
//     maxDelayMinutes later; the hundredth one waiting runs at once.
//   - The operation that runs first gathers the queued siblings (oldest
//     first, up to MaxBatch records in all) and takes each one by
//     recording an idempotency record keyed by the sibling's ID with its
//     own ID as the request hash. BeginIdempotent is first-wins, so a
//     sibling is taken by one operation only, and a sibling that already
//     runs on its own (it took itself the same way) is left alone. The
//     taken records and the list of siblings are committed before anything
//     is written, so a crash resumes with the same batch.
//   - When the batch ends, each sibling's result is stored as the answer
//     of its idempotency record. When a sibling's own time comes, it finds
//     it was taken and ends with that result (and its own
//     write.async.done); while the batch is still retrying it waits.
//
// The engine runs one write operation per installation and object at a
// time, so a sibling never runs while the batch that took it does.

// listLimit bounds the queued writes one listing reads: the hundredth
// auto-batch write runs at once, so a few hundred cover every kind waiting
// for one installation's object.
const listLimit = 500

// takenKey is the idempotency key that marks operation id as taken by a
// batch. The control character keeps it apart from every client's key,
// which must be printable.
func takenKey(id string) string { return "\x1eautobatch/" + id }

// absorbed is a sibling whose record a batch writes: its operation and
// the record's index in the batch.
type absorbed struct {
	Op    string `json:"op"`
	Index int    `json:"index"`
}

// take records that operation id is written by batch, unless another
// operation (or id itself) took it first. It returns the holder's record
// when it did, nil when batch holds it now.
func (s *Service) take(ctx context.Context, projectID, id, batch string) (*runtime.IdempotencyRecord, error) {
	now := s.cfg.Now()
	rec := &runtime.IdempotencyRecord{ProjectID: projectID, Key: takenKey(id), RequestHash: batch, OperationID: batch,
		CreateTime: now, ExpireTime: now.Add(2 * MaxDeadlineHours * time.Hour)}
	prev, err := s.cfg.State.BeginIdempotent(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("take write operation %s into a batch: %w", id, err)
	}
	if prev != nil && prev.RequestHash == batch {
		return nil, nil
	}
	return prev, nil
}

// gather makes r's operation the batch of the queued auto-batch siblings
// it can take, or finds it was taken itself. It returns true when the
// operation's results came from the batch that took it.
func (r *asyncRun) gather(ctx context.Context) (taken bool, wait bool, err error) {
	s, cp, op := r.s, r.cp, r.op
	holder, err := s.take(ctx, op.ProjectID, op.ID, op.ID)
	if err != nil {
		return false, false, err
	}
	if holder != nil {
		if holder.Status == 0 {
			// The batch that took this write still runs or retries.
			return false, true, nil
		}
		var res []result
		if err := json.Unmarshal(holder.Response, &res); err != nil || len(res) != len(cp.Results) {
			return false, false, fmt.Errorf("the result operation %s left for this write is unreadable: %v", holder.OperationID, err)
		}
		cp.Results = res
		r.log(runtime.SeverityInfo, "written in the batch of operation "+holder.OperationID, nil, map[string]string{"batch": holder.OperationID})
		return true, false, nil
	}
	// Only queued writes can join; the listing is newest first, so a
	// backlog beyond listLimit leaves its oldest for the next batch, which
	// runs no later than their own delay anyway.
	ops, err := s.cfg.Store.ListOperations(ctx, op.ProjectID, runtime.OperationFilter{InstallationID: op.InstallationID,
		ObjectName: op.ObjectName, ActionType: runtime.ActionWrite, Status: runtime.OperationQueued, Limit: listLimit})
	if err != nil {
		return false, false, fmt.Errorf("list the writes waiting to be batched: %w", err)
	}
	// Oldest first: they have waited longest.
	slices.Reverse(ops)
	cp.Own = len(cp.Records)
	for _, sib := range ops {
		if len(cp.Records) >= MaxBatch {
			break
		}
		if sib.ID == op.ID || sib.Status != runtime.OperationQueued {
			continue
		}
		var scp checkpoint
		if json.Unmarshal(sib.Checkpoint, &scp) != nil || !scp.AutoBatch || scp.V != checkpointVersion || scp.Type != cp.Type ||
			scp.Object != cp.Object || scp.UpsertKey != cp.UpsertKey || len(scp.Records) != 1 {
			continue
		}
		holder, err := s.take(ctx, op.ProjectID, sib.ID, op.ID)
		if err != nil {
			return false, false, err
		}
		if holder != nil {
			continue
		}
		cp.Absorbed = append(cp.Absorbed, absorbed{Op: sib.ID, Index: len(cp.Records)})
		cp.Records = append(cp.Records, scp.Records[0])
		cp.Results = append(cp.Results, result{})
	}
	cp.Gathered = true
	if len(cp.Absorbed) > 0 {
		r.log(runtime.SeverityInfo, fmt.Sprintf("batched with %d waiting single-record writes", len(cp.Absorbed)), nil, nil)
	}
	// The batch is fixed before anything is written.
	return false, false, r.commit(ctx)
}

// release stores the result of every record of the batch for the
// operation it belongs to; the siblings pick theirs up when they run.
func (r *asyncRun) release(ctx context.Context) {
	s, cp := r.s, r.cp
	own, err := json.Marshal(cp.Results[:cp.own()])
	if err == nil {
		err = s.finishIdempotent(ctx, r.op.ProjectID, takenKey(r.op.ID), 200, own, r.op.ID)
	}
	if err != nil {
		s.log.Warn("store an auto-batched write's result", "operation", r.op.ID, "err", err)
	}
	for _, a := range cp.Absorbed {
		res, err := json.Marshal(cp.Results[a.Index : a.Index+1])
		if err == nil {
			err = s.finishIdempotent(ctx, r.op.ProjectID, takenKey(a.Op), 200, res, r.op.ID)
		}
		if err != nil {
			// The sibling then waits until its deadline and fails
			// as "batch result lost", without writing again.
			s.log.Error("hand a batched write its result", "operation", a.Op, "batch", r.op.ID, "err", err)
		}
	}
}

// own is how many of the checkpoint's records are its operation's own.
func (cp *checkpoint) own() int {
	if cp.Own > 0 && cp.Own <= len(cp.Results) {
		return cp.Own
	}
	return len(cp.Results)
}

// queuedAutoBatch counts the auto-batch writes of the same kind waiting
// for the installation's object, so that the hundredth runs at once.
func (s *Service) queuedAutoBatch(ctx context.Context, t *target, op string) (int, error) {
	ops, err := s.cfg.Store.ListOperations(ctx, t.inst.ProjectID, runtime.OperationFilter{InstallationID: t.inst.ID,
		ObjectName: t.key, ActionType: runtime.ActionWrite, Status: runtime.OperationQueued, Limit: listLimit})
	if err != nil {
		return 0, fmt.Errorf("count the writes waiting to be batched: %w", err)
	}
	n := 0
	for _, o := range ops {
		if o.Status != runtime.OperationQueued {
			continue
		}
		var cp checkpoint
		if json.Unmarshal(o.Checkpoint, &cp) == nil && cp.AutoBatch && string(cp.Type) == op {
			n++
		}
	}
	return n, nil
}
