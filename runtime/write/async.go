package write

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/engine"
)

// checkpointVersion is the version of the checkpoint format below.
const checkpointVersion = 1

// checkpoint is an asynchronous write operation's state: the request,
// its records ready for the provider, and the results so far. It is the
// operation's Checkpoint, rewritten after every chunk.
type checkpoint struct {
	V         int               `json:"v"`
	Type      providers.WriteOp `json:"type"`
	Object    string            `json:"object"`
	Name      string            `json:"name"`
	UpsertKey string            `json:"upsertKey,omitempty"`
	AllOrNone bool              `json:"allOrNone,omitempty"`
	// Deadline is when retrying stops (Unix ms).
	Deadline int64 `json:"deadline"`
	// ReadKey and EchoFields say where echoes go (see target).
	ReadKey    string    `json:"readKey,omitempty"`
	EchoFields []string  `json:"echoFields,omitempty"`
	Records    []pending `json:"records"`
	Results    []result  `json:"results"`
	// AutoBatch marks a single write that may be coalesced (see
	// autobatch.go). Gathered is set once the operation took its waiting
	// siblings, whose records follow its Own ones; Absorbed lists them.
	AutoBatch bool       `json:"autoBatch,omitempty"`
	Gathered  bool       `json:"gathered,omitempty"`
	Own       int        `json:"own,omitempty"`
	Absorbed  []absorbed `json:"absorbed,omitempty"`
}

// enqueue creates the operation of an asynchronous write and wakes the
// engine. The answer carries the operation's ID; the results come with
// write.async.done and on the operation.
func (s *Service) enqueue(ctx context.Context, t *target, in *input, recs []pending) (Answer, error) {
	now := s.cfg.Now()
	deadline := in.deadline
	if s.cfg.DeadlineCap > 0 && deadline > s.cfg.DeadlineCap {
		deadline = s.cfg.DeadlineCap
	}
	runAt := now
	cp := checkpoint{V: checkpointVersion, Type: in.op, Object: t.object, Name: t.name, UpsertKey: t.wobj.UpsertKey,
		AllOrNone: in.allOrNone, ReadKey: t.readKey, Records: recs, Results: make([]result, len(recs))}
	if in.autoBatchDelay > 0 && s.cfg.State != nil {
		// The write waits for others to join it, unless it is the
		// hundredth waiting: then it runs now and takes the others.
		cp.AutoBatch = true
		waiting, err := s.queuedAutoBatch(ctx, t, string(in.op))
		if err != nil {
			return Answer{}, err
		}
		if waiting+1 < MaxBatch {
			delay := in.autoBatchDelay
			if s.cfg.AutoBatchDelayCap > 0 && delay > s.cfg.AutoBatchDelayCap {
				delay = s.cfg.AutoBatchDelayCap
			}
			runAt = now.Add(delay)
		}
	}
	// The deadline counts from when the write may first run.
	cp.Deadline = runAt.Add(deadline).UnixMilli()
	for f := range t.echoFields {
		cp.EchoFields = append(cp.EchoFields, f)
	}
	raw, err := json.Marshal(cp)
	if err != nil {
		return Answer{}, fmt.Errorf("encode the write operation: %w", err)
	}
	op := &runtime.Operation{ProjectID: t.inst.ProjectID, IntegrationID: t.inst.IntegrationID, InstallationID: t.inst.ID,
		ConfigID: t.inst.Config.ID, ObjectName: t.key, ActionType: runtime.ActionWrite, Estimated: int64(len(recs)),
		Checkpoint: raw, RunAt: runAt}
	if err := s.cfg.Store.CreateOperation(ctx, op, false); err != nil {
		return Answer{}, fmt.Errorf("queue the write: %w", err)
	}
	s.cfg.Wake()
	return jsonAnswer(http.StatusOK, singleAnswer{OperationID: op.ID}), nil
}

// RunWrite runs a claimed asynchronous write operation (the engine's
// WriteRunner): one pass over the records not yet written, a progress
// commit after every chunk, then either the end (every record has its
// result: write.async.done) or a retry later when the provider refused
// some for now and the deadline allows.
func (s *Service) RunWrite(ctx context.Context, op *runtime.Operation, lease runtime.Lease) runtime.OperationEnd {
	var cp checkpoint
	if err := json.Unmarshal(op.Checkpoint, &cp); err != nil || cp.V != checkpointVersion || len(cp.Results) != len(cp.Records) {
		return runtime.OperationEnd{Status: runtime.OperationFailure, Result: "write failed: its state is unreadable",
			Error: fmt.Sprintf("write operation %s: unreadable checkpoint (version %d): %v", op.ID, cp.V, err)}
	}
	r := &asyncRun{s: s, op: op, lease: lease, cp: &cp}
	return r.run(ctx)
}

type asyncRun struct {
	s     *Service
	op    *runtime.Operation
	lease runtime.Lease
	cp    *checkpoint
	inst  *runtime.Installation
	conn  *runtime.Connection
	logs  []*runtime.OperationLog
}

func (r *asyncRun) run(ctx context.Context) runtime.OperationEnd {
	s, cp := r.s, r.cp
	deadline := time.UnixMilli(cp.Deadline)
	if cp.AutoBatch && !cp.Gathered && s.cfg.State != nil {
		taken, wait, err := r.gather(ctx)
		switch {
		case ctx.Err() != nil:
			return runtime.OperationEnd{}
		case taken:
			r.loadParties(ctx)
			return r.finish(ctx)
		case wait || err != nil:
			// Taken by a batch that still retries, or the store failed:
			// look again later, until the deadline. Past it the batch's
			// result is lost (its operation never finished): the record
			// may have been written, so it is reported failed rather
			// than written again.
			now := s.cfg.Now()
			if !now.Before(deadline) {
				why := "the retry deadline passed before the batch that took this write reported its result"
				if err != nil {
					why = "the retry deadline passed while the write could not be batched (" + errorOf(err).Message + ")"
				}
				if wait {
					why = "batch result lost: " + why + "; the record may have been written, check it before writing it again"
				}
				reason := ReasonDeadlineExceeded
				if wait {
					reason = ReasonUnknown
				}
				failRemaining(cp.Results, cp.Records, why, reason)
				r.log(runtime.SeverityError, why, err, nil)
				return r.finish(ctx)
			}
			if err != nil {
				r.log(runtime.SeverityWarn, "could not batch the write; retrying", err, nil)
			}
			raw, _ := json.Marshal(cp)
			return runtime.OperationEnd{Status: runtime.OperationQueued, RunAt: minTime(now.Add(s.cfg.RetryMax), deadline),
				Attempts: r.op.Attempts + 1, Checkpoint: raw, Error: errText(err), Logs: r.logs}
		}
	}
	retry, err := r.pass(ctx)
	if ctx.Err() != nil {
		return runtime.OperationEnd{}
	}
	var failure error
	failReason := ReasonInvalid
	if err != nil {
		var perm *permanent
		if !errors.As(err, &perm) {
			if runtime.ErrorCode(err) == runtime.ECONFLICT {
				// The lease was lost: another worker resumes.
				return runtime.OperationEnd{}
			}
			retry = err
		} else {
			failure = perm.err
			if perm.reason != "" {
				failReason = perm.reason
			}
		}
	}
	if failure != nil {
		failRemaining(cp.Results, cp.Records, failure.Error(), failReason)
	}
	if _, _, open := counts(cp.Results); open > 0 {
		now := s.cfg.Now()
		// The provider's Retry-After is honoured up to RetryMax: Salesforce
		// asks for 15 minutes after a daily-limit refusal, and trying again
		// sooner only costs one more refused call.
		wait := min(max(providers.RetryAfter(retry), engine.Backoff(s.cfg.RetryBase, s.cfg.RetryMax, r.op.Attempts+1)), s.cfg.RetryMax)
		if now.Before(deadline) {
			// The last try is at the deadline at the latest.
			runAt := minTime(now.Add(wait), deadline)
			r.log(runtime.SeverityWarn, "write refused for now; retrying later", retry, map[string]string{
				"attempt": fmt.Sprint(r.op.Attempts + 1), "records": fmt.Sprint(open), "retryIn": runAt.Sub(now).String()})
			raw, _ := json.Marshal(cp)
			return runtime.OperationEnd{Status: runtime.OperationQueued, RunAt: runAt, Attempts: r.op.Attempts + 1,
				Checkpoint: raw, Error: errText(retry), Logs: r.logs}
		}
		why := "the retry deadline passed"
		if retry != nil {
			why += " (" + errorOf(retry).Message + ")"
		}
		failRemaining(cp.Results, cp.Records, why, ReasonDeadlineExceeded)
	}
	return r.finish(ctx)
}

// permanent marks a failure that no retry will fix (the installation was
// deleted, or no longer allows the write): every record not written fails
// with it, classified as reason (empty: invalid).
type permanent struct {
	err    error
	reason string
}

// stillAllowed checks a queued write against the installation as it is
// now: its revision must still have the write object, its config must
// still write the object, and a delete must still be enabled. What is no
// longer allowed is a permanent failure; a store failure is retried.
func (s *Service) stillAllowed(ctx context.Context, inst *runtime.Installation, cp *checkpoint) error {
	integ, err := s.cfg.Store.GetIntegration(ctx, inst.ProjectID, inst.IntegrationID)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return &permanent{err: errors.New("the integration was deleted before the write ran")}
	}
	if err != nil {
		return fmt.Errorf("load integration %s: %w", inst.IntegrationID, err)
	}
	mi, err := s.revision(ctx, inst, integ)
	if code := runtime.ErrorCode(err); code == runtime.EINVALID || code == runtime.ENOTFOUND {
		return &permanent{err: fmt.Errorf("the installation's revision cannot be used: %s", runtime.ErrorMessage(err)), reason: ReasonForbidden}
	}
	if err != nil {
		return err
	}
	wobj := findWriteObject(mi, cp.Name)
	if wobj == nil || !strings.EqualFold(wobj.ObjectName, cp.Object) {
		return &permanent{err: fmt.Errorf("the installation's revision of integration %s no longer writes %s", integ.Name, cp.Name), reason: ReasonForbidden}
	}
	if cp.Type == providers.WriteUpsert && wobj.UpsertKey != cp.UpsertKey {
		return &permanent{err: fmt.Errorf("the upsertKey of %s changed from %s to %q since the write was queued", cp.Object, cp.UpsertKey, wobj.UpsertKey), reason: ReasonForbidden}
	}
	key, wcfg, ok := findWriteConfig(inst.Config.Content, cp.Object)
	if !ok {
		return &permanent{err: fmt.Errorf("the installation no longer writes %s", cp.Object), reason: ReasonForbidden}
	}
	if cp.Type == providers.WriteDelete && (wcfg.DeletionSettings == nil || !wcfg.DeletionSettings.Enabled) {
		return &permanent{err: fmt.Errorf("the installation no longer allows deleting %s records (config.content.write.objects.%s.deletionSettings.enabled)", cp.Object, key), reason: ReasonForbidden}
	}
	return nil
}

func (p *permanent) Error() string { return p.err.Error() }

// loadParties loads the installation and connection for the notification
// of a write that another operation wrote.
func (r *asyncRun) loadParties(ctx context.Context) {
	if inst, err := r.s.cfg.Store.GetInstallation(ctx, r.op.ProjectID, r.op.InstallationID); err == nil {
		r.inst = inst
		if conn, err := r.s.cfg.Store.GetConnection(ctx, inst.ProjectID, inst.ConnectionID); err == nil {
			r.conn = conn
		}
	}
}

// pass loads what the write needs and writes every record not done once.
func (r *asyncRun) pass(ctx context.Context) (retry error, err error) {
	s, cp := r.s, r.cp
	inst, err := s.cfg.Store.GetInstallation(ctx, r.op.ProjectID, r.op.InstallationID)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, &permanent{err: errors.New("the installation was deleted before the write ran")}
	}
	if err != nil {
		return nil, fmt.Errorf("load installation %s: %w", r.op.InstallationID, err)
	}
	r.inst = inst
	conn, err := s.cfg.Store.GetConnection(ctx, inst.ProjectID, inst.ConnectionID)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, &permanent{err: errors.New("the installation's connection was deleted before the write ran")}
	}
	if err != nil {
		return nil, fmt.Errorf("load connection %s: %w", inst.ConnectionID, err)
	}
	r.conn = conn
	if _, _, open := counts(cp.Results); open == 0 {
		return nil, nil
	}
	// The installation may have changed since the write was queued (or
	// since its last try): what it no longer allows is not written.
	if err := s.stillAllowed(ctx, inst, cp); err != nil {
		return nil, err
	}
	connector, err := s.cfg.Connectors.ConnectorWithQuota(ctx, conn, nil)
	if err != nil {
		return err, nil
	}
	w, ok := connector.(providers.Writer)
	if !ok {
		return nil, &permanent{err: fmt.Errorf("provider %s cannot write records", conn.Provider)}
	}
	b := &batch{writer: w, object: cp.Object, op: cp.Type, upsertKey: cp.UpsertKey, allOrNone: cp.AllOrNone,
		log: s.log.With("operation", r.op.ID)}
	bw, hasBulk := connector.(providers.BulkWriter)
	b.bulk = bw
	sent, err := resolveIfEmpty(ctx, connector, cp.Object, cp.Records, cp.Results)
	if err != nil {
		return err, nil
	}
	_, _, open := counts(cp.Results)
	useBulk := hasBulk && !cp.AllOrNone && s.cfg.BulkThreshold > 0 && open >= s.cfg.BulkThreshold
	var read map[string]bool
	if len(cp.EchoFields) > 0 {
		read = map[string]bool{}
		for _, f := range cp.EchoFields {
			read[f] = true
		}
	}
	return b.pass(ctx, sent, cp.Results, useBulk, func(done []int) error {
		if s.cfg.State != nil && cp.ReadKey != "" {
			if echoes := echoesOf(sent, cp.Results, done, read); len(echoes) > 0 {
				if err := s.cfg.State.RecordEchoes(ctx, inst.ProjectID, inst.ID, cp.ReadKey, echoes, s.cfg.Now().Add(s.cfg.EchoTTL)); err != nil {
					s.log.Warn("remember written records as echoes", "operation", r.op.ID, "err", err)
				}
			}
		}
		return r.commit(ctx)
	})
}

// commit saves the results so far under the lease, so a crash resumes
// after the last chunk written.
func (r *asyncRun) commit(ctx context.Context) error {
	raw, err := json.Marshal(r.cp)
	if err != nil {
		return fmt.Errorf("encode the write's progress: %w", err)
	}
	ok, failed, _ := counts(r.cp.Results[:r.cp.own()])
	lease := r.lease
	lease.Expiry = r.s.cfg.Now().Add(r.s.cfg.Lease)
	err = r.s.cfg.Store.CommitPage(ctx, runtime.PageCommit{Lease: lease, Checkpoint: raw, Processed: int64(ok + failed), Estimated: -1, Logs: r.logs})
	if err != nil {
		return fmt.Errorf("commit the write's progress: %w", err)
	}
	r.logs = nil
	return nil
}

// finish ends the operation: success when every record was written,
// with write.async.done to the project's notification destination.
func (r *asyncRun) finish(ctx context.Context) runtime.OperationEnd {
	cp := r.cp
	if cp.Gathered && r.s.cfg.State != nil {
		r.release(ctx)
	}
	own := cp.Results[:cp.own()]
	ok, failed, _ := counts(own)
	end := runtime.OperationEnd{Status: runtime.OperationSuccess,
		Result: fmt.Sprintf("%d of %d records written", ok, len(own))}
	if len(cp.Absorbed) > 0 {
		end.Result += fmt.Sprintf(" (in one batch with %d other single-record writes)", len(cp.Absorbed))
	}
	if failed > 0 {
		end.Status = runtime.OperationFailure
		end.Result += fmt.Sprintf("; %d failed", failed)
		end.Error = fmt.Sprintf("%d of %d records failed; the first: %s", failed, len(own), firstError(own))
	}
	raw, err := json.Marshal(cp)
	if err == nil {
		end.Checkpoint = raw
	}
	r.log(runtime.SeverityInfo, end.Result, nil, nil)
	end.Logs = r.logs
	if msg := r.notification(ctx, ok, failed); msg != nil {
		end.Messages = []*runtime.OutboxMessage{msg}
	}
	return end
}

func firstError(res []result) string {
	for _, r := range res {
		if r.Done && !r.Success && len(r.Errors) > 0 {
			return r.Errors[0].Message
		}
	}
	return ""
}

// notification builds write.async.done, or nil when the project has no
// notification destination.
func (r *asyncRun) notification(ctx context.Context, ok, failed int) *runtime.OutboxMessage {
	s, cp := r.s, r.cp
	dest, err := delivery.NotificationDestination(ctx, s.cfg.Store, r.op.ProjectID)
	if err != nil {
		s.log.Warn("find the notification destination", "project", r.op.ProjectID, "err", err)
	}
	if dest == nil {
		return nil
	}
	own := cp.Results[:cp.own()]
	data := delivery.WriteAsyncDoneData{ObjectName: cp.Name, Success: failed == 0 && ok == len(own),
		SuccessfulRecordIDs: []string{}, Errors: []string{}, OperationID: r.op.ID}
	data.ProjectID, data.IntegrationID, data.InstallationID = r.op.ProjectID, r.op.IntegrationID, r.op.InstallationID
	if integ, err := s.cfg.Store.GetIntegration(ctx, r.op.ProjectID, r.op.IntegrationID); err == nil {
		data.IntegrationName = integ.Name
	}
	if r.inst != nil {
		data.GroupRef, data.GroupName = r.inst.GroupRef, r.inst.GroupName
	}
	if r.conn != nil {
		data.Provider, data.ConnectionID = r.conn.Provider, r.conn.ID
		data.ConsumerRef, data.ConsumerName = r.conn.ConsumerRef, r.conn.ConsumerName
	}
	for i, res := range own {
		switch {
		case res.Success:
			data.SuccessfulRecordIDs = append(data.SuccessfulRecordIDs, res.RecordID)
		case len(res.Errors) > 0:
			e := res.Errors[0]
			data.Errors = append(data.Errors, fmt.Sprintf("record %d: %s (%s)", i, e.Message, e.Reason))
		}
	}
	msg, err := delivery.NewNotification(r.op.ProjectID, dest.ID, delivery.NotificationWriteAsyncDone, data)
	if err != nil {
		s.log.Error("build write.async.done", "operation", r.op.ID, "err", err)
		return nil
	}
	return msg
}

func (r *asyncRun) log(severity, msg string, err error, details map[string]string) {
	l := &runtime.OperationLog{ProjectID: r.op.ProjectID, OperationID: r.op.ID, Time: r.s.cfg.Now(), Severity: severity,
		Message: msg, Details: details}
	if err != nil {
		l.Err = err.Error()
	}
	r.logs = append(r.logs, l)
}

// minTime is the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Results is an asynchronous write operation's results for the
// operations routes: counts and one result per record, in request order;
// nil when op is not a write or its state is unreadable.
func Results(op *runtime.Operation) json.RawMessage {
	if op.ActionType != runtime.ActionWrite || len(op.Checkpoint) == 0 {
		return nil
	}
	var cp checkpoint
	if err := json.Unmarshal(op.Checkpoint, &cp); err != nil || cp.V != checkpointVersion {
		return nil
	}
	type summary struct {
		Type         providers.WriteOp `json:"type"`
		ObjectName   string            `json:"objectName"`
		SuccessCount int               `json:"successCount"`
		FailureCount int               `json:"failureCount"`
		PendingCount int               `json:"pendingCount"`
		Deadline     time.Time         `json:"deadline"`
		Results      []resultJSON      `json:"results"`
	}
	own := cp.Results[:cp.own()]
	ok, failed, open := counts(own)
	out := summary{Type: cp.Type, ObjectName: cp.Name, SuccessCount: ok, FailureCount: failed, PendingCount: open,
		Deadline: time.UnixMilli(cp.Deadline).UTC(), Results: make([]resultJSON, len(own))}
	for i, r := range own {
		out.Results[i] = toJSON(r)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return raw
}
