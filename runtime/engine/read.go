package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/mapping"
)

// checkpoint is an operation's resume state, committed with every page.
type checkpoint struct {
	// Started is set once the read's bounds are fixed, at StartedAt.
	Started        bool      `json:"started,omitzero"`
	StartedAt      time.Time `json:"startedAt,omitzero"`
	Since          time.Time `json:"since,omitzero"`
	Until          time.Time `json:"until,omitzero"`
	IncludeDeleted bool      `json:"includeDeleted,omitzero"`
	// Delta is the provider change-tracking token the read started from.
	Delta string `json:"delta,omitzero"`
	// Bulk is the provider bulk job a large backfill reads; Cursor is the
	// next page's cursor (or the next chunk's locator).
	Bulk   string `json:"bulk,omitzero"`
	Cursor string `json:"cursor,omitzero"`
	// Pages counts committed pages: it seeds the pages' webhook-ids.
	Pages int `json:"pages"`
	// Read counts records read; Delivered those sent; Skipped those left
	// out as already delivered.
	Read      int64 `json:"read"`
	Delivered int64 `json:"delivered"`
	Skipped   int64 `json:"skipped"`
	Estimated int64 `json:"estimated"`
	// MaxModified is the newest modified time read: the next watermark.
	MaxModified time.Time `json:"maxModified,omitzero"`
	// Recent holds the records read within Overlap of MaxModified (id ->
	// modified, unix ms): the next incremental read skips them.
	Recent recentSet `json:"recent,omitzero"`
	// RecentFloor (unix ms) is set when Recent overflowed: records
	// modified at or before it were read but not all remembered, so the
	// next incremental read starts after it.
	RecentFloor int64 `json:"recentFloor,omitzero"`
	// NewDelta is the provider's change-tracking token from the last page.
	NewDelta string `json:"newDelta,omitzero"`
}

// syncState is ReadState.Sync.
type syncState struct {
	Recent recentSet `json:"recent,omitzero"`
	// Floor is the last read's RecentFloor.
	Floor int64  `json:"floor,omitzero"`
	Delta string `json:"delta,omitzero"`
}

// job is one claimed operation being run.
type job struct {
	e     *Engine
	op    *runtime.Operation
	lease runtime.Lease
	log   []*runtime.OperationLog

	inst   *runtime.Installation
	conn   *runtime.Connection
	integ  *manifest.Integration
	obj    *manifest.ReadObject
	plan   *mapping.Plan
	dest   *runtime.Destination
	state  *runtime.ReadState
	skip   map[string]int64
	cp     checkpoint
	pacer  *pacer
	reader providers.Reader
	bulk   providers.ResumableBulkReader
	fields []string
	header messageHeader
}

// failure is an operation-ending error with the reason the builder reads.
type failure struct {
	msg string
	err error
}

func (f *failure) Error() string {
	if f.err != nil {
		return f.msg + ": " + f.err.Error()
	}
	return f.msg
}
func (f *failure) Unwrap() error { return f.err }

func fail(err error, format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...), err: err}
}

// release is an error that parks the operation for a later retry.
type release struct {
	after  time.Duration
	reason string
	// counts says whether it uses up one of OperationTries.
	counts bool
}

func (r *release) Error() string { return r.reason }

// errLeaseLost ends a job whose lease another worker took over.
var errLeaseLost = errors.New("the operation's lease was lost")

// run runs one claimed operation to its end, its release or a lost lease.
// A keeper renews the lease while the job runs, so a long provider call (a
// bulk job being prepared) does not let the lease lapse; if the lease is
// lost anyway, the job stops at once and writes nothing more.
func (e *Engine) run(ctx context.Context, op *runtime.Operation, owner string) {
	j := &job{e: e, op: op, lease: runtime.Lease{ProjectID: op.ProjectID, OperationID: op.ID, Owner: owner}}
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var keeper sync.WaitGroup
	// The keeper gets its own copy of the lease: commit sets j.lease's
	// Expiry on the job's goroutine, and the keeper sets its own.
	lease := j.lease
	keeper.Go(func() { j.keepLease(jobCtx, cancel, lease) })
	if op.ActionType == runtime.ActionWrite {
		e.runWrite(ctx, jobCtx, j)
		cancel(nil)
		keeper.Wait()
		return
	}
	err := j.prepare(jobCtx)
	if err == nil {
		err = j.read(jobCtx)
	}
	if context.Cause(jobCtx) == errLeaseLost {
		e.log.Warn("lost the lease of an operation; another worker resumes it", "operation", op.ID)
	} else {
		j.end(ctx, err)
	}
	cancel(nil)
	keeper.Wait()
}

// runWrite hands a write operation to the WriteRunner and writes its end.
func (e *Engine) runWrite(ctx, jobCtx context.Context, j *job) {
	var end runtime.OperationEnd
	if e.cfg.Writes == nil {
		end = runtime.OperationEnd{Status: runtime.OperationFailure, Error: "this server runs no asynchronous writes", Result: "write failed: no write runner"}
	} else {
		end = e.cfg.Writes.RunWrite(jobCtx, j.op, j.lease)
	}
	switch {
	case context.Cause(jobCtx) == errLeaseLost:
		e.log.Warn("lost the lease of a write operation; another worker resumes it", "operation", j.op.ID)
		return
	case ctx.Err() != nil:
		return
	}
	end.Lease = j.lease
	if err := e.cfg.Store.EndOperation(ctx, end); err != nil {
		e.log.Error("end a write operation", "operation", j.op.ID, "err", err)
		return
	}
	if len(end.Messages) > 0 {
		e.cfg.Delivered()
	}
}

// keepLease renews the job's lease every third of its length until ctx
// ends; a renewal refused because another worker holds the lease cancels
// the job.
func (j *job) keepLease(ctx context.Context, cancel context.CancelCauseFunc, lease runtime.Lease) {
	t := time.NewTicker(j.e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l := lease
		l.Expiry = j.now().Add(j.e.cfg.Lease)
		err := j.e.cfg.Store.RenewLease(ctx, l)
		switch {
		case runtime.ErrorCode(err) == runtime.ECONFLICT:
			cancel(errLeaseLost)
			return
		case err != nil && ctx.Err() == nil:
			j.e.log.Warn("renew an operation's lease", "operation", j.op.ID, "err", err)
		}
	}
}

func (j *job) now() time.Time { return j.e.cfg.Now() }

func (j *job) logf(severity string, err error, format string, args ...any) {
	l := &runtime.OperationLog{ProjectID: j.op.ProjectID, OperationID: j.op.ID, Time: j.now(), Severity: severity,
		Message: fmt.Sprintf(format, args...)}
	if err != nil {
		l.Err = err.Error()
	}
	j.log = append(j.log, l)
}

// flushLogs writes pending log lines now (before a wait, so the builder sees
// retries while they happen).
func (j *job) flushLogs(ctx context.Context) {
	if len(j.log) == 0 {
		return
	}
	if err := j.e.cfg.Store.AppendOperationLogs(ctx, j.log); err != nil {
		j.e.log.Warn("write operation logs", "operation", j.op.ID, "err", err)
	}
	j.log = nil
}

// prepare loads everything the read needs.
func (j *job) prepare(ctx context.Context) error {
	st := j.e.cfg.Store
	op := j.op
	if len(op.Checkpoint) > 0 {
		if err := json.Unmarshal(op.Checkpoint, &j.cp); err != nil {
			j.logf(runtime.SeverityWarn, err, "the operation's checkpoint is unreadable; starting the read again")
			j.cp = checkpoint{}
		}
	}
	inst, err := st.GetInstallation(ctx, op.ProjectID, op.InstallationID)
	if err != nil {
		if runtime.ErrorCode(err) == runtime.ENOTFOUND {
			return fail(nil, "installation %s no longer exists", op.InstallationID)
		}
		return err
	}
	j.inst = inst
	var cfgObj runtime.ReadConfigObject
	ok := false
	if inst.Config.Content.Read != nil {
		cfgObj, ok = inst.Config.Content.Read.Objects[op.ObjectName]
	}
	if !ok {
		return fail(nil, "object %q is no longer in the installation's read config", op.ObjectName)
	}
	if cfgObj.Disabled && op.ReadType != runtime.ReadBackfill {
		return fail(nil, "reads of %q are disabled in the installation's config", op.ObjectName)
	}
	rev, err := st.GetRevision(ctx, op.ProjectID, inst.IntegrationID, inst.Config.RevisionID)
	if err != nil {
		return fmt.Errorf("load revision %s: %w", inst.Config.RevisionID, err)
	}
	if j.integ, err = j.e.revs.get(rev); err != nil {
		return fail(err, "the installation's revision cannot be read")
	}
	if j.obj = ReadObject(j.integ, op.ObjectName); j.obj == nil {
		return fail(nil, "revision %s of integration %q does not read %q", rev.ID, j.integ.Name, op.ObjectName)
	}
	if j.plan, err = mapping.Compile(j.obj, &cfgObj); err != nil {
		return fail(err, "the installation's mapping of %q is incomplete", op.ObjectName)
	}
	destName := cfgObj.Destination
	if destName == "" {
		destName = j.obj.Destination
	}
	if j.dest, err = st.GetDestinationByName(ctx, op.ProjectID, destName); err != nil {
		if runtime.ErrorCode(err) == runtime.ENOTFOUND {
			return fail(nil, "destination %q does not exist in the project: create it with `amp destination set %s --url https://...`", destName, destName)
		}
		return err
	}
	if j.conn, err = st.GetConnection(ctx, op.ProjectID, inst.ConnectionID); err != nil {
		return fmt.Errorf("load connection %s: %w", inst.ConnectionID, err)
	}
	if j.conn.Status == runtime.ConnectionBadCredentials {
		return j.badCredentials(ctx, errors.New("the connection's credentials were refused earlier"))
	}
	if j.state, err = st.GetReadState(ctx, op.ProjectID, op.InstallationID, op.ObjectName); err != nil && runtime.ErrorCode(err) != runtime.ENOTFOUND {
		return err
	}
	j.pacer = j.e.pacers.get(j.conn.ID)
	c, err := j.e.cfg.Connectors.ConnectorWithQuota(ctx, j.conn, j.pacer.observe)
	if err != nil {
		return fail(err, "cannot build the %s connector", j.conn.Provider)
	}
	r, ok := c.(providers.Reader)
	if !ok {
		return fail(nil, "provider %s cannot read records", j.conn.Provider)
	}
	j.reader = r
	j.bulk, _ = c.(providers.ResumableBulkReader)
	if j.plan.AllFields() {
		md, ok := c.(providers.MetadataReader)
		if !ok {
			return fail(nil, "provider %s cannot list an object's fields", j.conn.Provider)
		}
		meta, err := md.DescribeObject(ctx, op.ObjectName)
		if err != nil {
			return j.classify(ctx, err, "describe "+op.ObjectName)
		}
		for _, f := range meta.Fields {
			j.fields = append(j.fields, f.Name)
		}
	} else {
		j.fields = j.plan.Fields()
	}
	j.header = messageHeader{
		Action: "read", ProjectID: op.ProjectID, Provider: j.conn.Provider, Workspace: j.conn.ProviderWorkspaceRef,
		GroupRef: inst.GroupRef, GroupName: inst.GroupName, InstallationID: inst.ID,
		InstallationUpdateTime: rfc3339(cmpOr(inst.UpdateTime, inst.CreateTime)),
		ObjectName:             j.obj.DeliveredName(), RawObjectName: j.obj.ObjectName, OperationID: op.ID,
		ReadType: string(op.ReadType), ConsumerRef: j.conn.ConsumerRef, ConsumerName: j.conn.ConsumerName,
	}
	if j.state != nil && op.ReadType == runtime.ReadScheduled {
		var s syncState
		if len(j.state.Sync) > 0 {
			_ = json.Unmarshal(j.state.Sync, &s)
		}
		j.skip = s.Recent
		if !j.cp.Started {
			j.cp.Delta = s.Delta
		}
	}
	if !j.cp.Started {
		j.start()
	}
	return nil
}

func cmpOr(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

// start fixes the read's bounds on its first attempt.
func (j *job) start() {
	j.cp = checkpoint{Started: true, StartedAt: j.now(), Delta: j.cp.Delta, Estimated: -1}
	tombstones := j.obj.DeletesMode() != manifest.DeletesIgnore
	switch j.op.ReadType {
	case runtime.ReadBackfill:
		// Deletions are asked for only so that providers that track
		// changes by token (Dynamics) hand out the token that the first
		// scheduled read continues from; a backfill delivers no tombstones.
		j.cp.IncludeDeleted = tombstones
		j.cp.Since, j.cp.Until = j.op.Since, j.op.Until
	case runtime.ReadScheduled:
		j.cp.IncludeDeleted = tombstones
		if j.state != nil && !j.state.Watermark.IsZero() {
			j.cp.Since = j.state.Watermark.Add(-j.e.cfg.Overlap)
			var s syncState
			if len(j.state.Sync) > 0 {
				_ = json.Unmarshal(j.state.Sync, &s)
			}
			if floor := time.UnixMilli(s.Floor); s.Floor > 0 && floor.After(j.cp.Since) && !floor.After(j.state.Watermark) {
				// The last read remembered only the records after floor
				// (Config.MaxRecent): start there, Since being exclusive,
				// and pass the floor on until the overlap has moved past
				// it, since the reads after this one must not go back
				// below it either.
				j.cp.Since = floor
				j.cp.RecentFloor = s.Floor
			}
		}
	case runtime.ReadTriggered:
		j.cp.IncludeDeleted = tombstones
		j.cp.Since, j.cp.Until = j.op.Since, j.op.Until
	}
	if j.state != nil {
		j.cp.MaxModified = j.state.Watermark
	}
}

// read reads pages until the end. Pages are read ahead of the commit: a
// page costs a provider round trip, decoding and a database commit, and
// only the round trips of one cursor are inherently in sequence. The next
// page is requested while the current one decodes (where the connector
// names the next cursor early, ReadRequest.Ahead) or else while it
// commits.
func (j *job) read(ctx context.Context) error {
	if j.op.ReadType == runtime.ReadBackfill && !j.op.Until.IsZero() && !j.op.Since.Before(j.op.Until) {
		// No backfill (an empty window): nothing to read, and the first
		// scheduled read starts from the window's end.
		j.cp.MaxModified = j.op.Until
		return nil
	}
	var chain *readChain
	var ahead *prefetch
	defer func() { ahead.stop() }()
	for {
		var page *providers.ReadPage
		var tried error
		if ahead != nil {
			page, tried = ahead.take(chain)
			next := ahead.following()
			if tried != nil || page.Done || next == nil || next.cursor != page.NextCursor {
				next.stop()
				next = nil
			}
			ahead = next
		} else if reason := j.pacer.overBudget(); reason != "" {
			return &release{after: j.e.cfg.BudgetRetry, reason: reason}
		}
		if tried != nil || page == nil {
			// The ordinary path, with no read-ahead running: fetch may
			// move the read's bounds (restartFromMax).
			var err error
			if page, err = j.fetch(ctx, tried); err != nil {
				return err
			}
		}
		if ahead == nil && !page.Done && page.NextCursor != "" && j.pacer.overBudget() == "" {
			chain = &readChain{j: j, ctx: ctx, base: j.request(""), bulk: j.cp.Bulk, slots: make(chan struct{}, readAhead)}
			ahead = chain.start(page.NextCursor)
		}
		if err := j.commit(ctx, page); err != nil {
			return err
		}
		if page.Done {
			return nil
		}
	}
}

// readAhead is how many pages may be fetched ahead of the page being
// committed: enough to keep one request in flight while a page decodes and
// another commits, and a bound on memory when commits are slower than the
// provider.
const readAhead = 2

// readChain is one run of read-ahead: the request its pages share (fixed
// when it starts, so nothing in it reads the job while the job commits)
// and the slots that bound it.
type readChain struct {
	j     *job
	ctx   context.Context
	base  providers.ReadRequest
	bulk  string
	slots chan struct{}
}

// prefetch is a page being read ahead, in its own goroutine. It makes one
// attempt and touches nothing of the job but the connection's pacer; a
// failed attempt goes to fetch as its first, which classifies, logs and
// retries it as if it had made it.
type prefetch struct {
	cursor string
	cancel context.CancelFunc
	done   chan struct{}
	slot   bool
	page   *providers.ReadPage
	err    error

	mu   sync.Mutex
	next *prefetch // started as soon as this page's response named its cursor
	// sealed is set when the read returned: an Ahead call after that
	// (a connector breaking ReadRequest.Ahead's contract) starts nothing
	// that the chain would not own.
	sealed bool
}

// start reads the page at cursor ahead.
func (c *readChain) start(cursor string) *prefetch {
	ctx, cancel := context.WithCancel(c.ctx)
	p := &prefetch{cursor: cursor, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		select {
		case c.slots <- struct{}{}:
			p.slot = true
		case <-ctx.Done():
			p.err = ctx.Err()
			return
		}
		if p.err = c.j.pacer.wait(ctx, c.j.now); p.err != nil {
			return
		}
		req := c.base
		req.Cursor = cursor
		req.Ahead = func(next string) { p.follow(c, next) }
		p.page, p.err = c.j.readAt(ctx, req, c.bulk)
		p.mu.Lock()
		p.sealed = true
		p.mu.Unlock()
	}()
	return p
}

// follow starts the page after p (called by the connector, within p's
// read), unless the connection used its daily share: the read loop then
// stops before the next page as it would without read-ahead.
func (p *prefetch) follow(c *readChain, cursor string) {
	if cursor == "" || c.j.pacer.overBudget() != "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == nil && !p.sealed {
		p.next = c.start(cursor)
	}
}

// take waits for the page, or the error of its attempt, and frees its slot.
func (p *prefetch) take(c *readChain) (*providers.ReadPage, error) {
	<-p.done
	p.cancel()
	if p.slot {
		p.slot = false
		<-c.slots
	}
	return p.page, p.err
}

// following is the read-ahead p started for the page after it, if any;
// final once p is done.
func (p *prefetch) following() *prefetch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}

// stop abandons p and whatever it started (the read ended, or went another
// way) and waits for their goroutines.
func (p *prefetch) stop() {
	for ; p != nil; p = p.following() {
		p.cancel()
		<-p.done
	}
}

// request is the read request for the page at cursor.
func (j *job) request(cursor string) providers.ReadRequest {
	return providers.ReadRequest{
		Object: j.op.ObjectName, Fields: j.fields, Since: j.cp.Since, Until: j.cp.Until, Cursor: cursor,
		PageSize: j.e.cfg.PageSize, IncludeDeleted: j.cp.IncludeDeleted, Checkpoint: j.cp.Delta,
	}
}

// fetch reads the next page, retrying what can be retried. tried is the
// error of an attempt a prefetch already made for this page, if any: it
// counts as the first.
func (j *job) fetch(ctx context.Context, tried error) (*providers.ReadPage, error) {
	req := j.request(j.cp.Cursor)
	what := fmt.Sprintf("page %d of %s", j.cp.Pages+1, j.op.ObjectName)
	throttles := 0
	for attempt := 1; ; attempt++ {
		var page *providers.ReadPage
		err := tried
		if tried != nil {
			tried = nil
		} else {
			if err := j.pacer.wait(ctx, j.now); err != nil {
				return nil, err
			}
			if page, err = j.readOnce(ctx, req); err == nil {
				return page, nil
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var pe *providers.Error
		kind := providers.KindOf(err)
		switch {
		case kind == providers.KindRateLimited:
			throttles++
			wait := j.e.backoff(throttles)
			if errors.As(err, &pe) && pe.RetryAfter > 0 {
				wait = pe.RetryAfter
			}
			j.pacer.throttled(j.now().Add(wait))
			j.logf(runtime.SeverityWarn, err, "%s: %s is rate limiting the connection; waiting %s", what, j.conn.Provider, wait.Round(time.Millisecond))
			if throttles > 3*j.e.cfg.PageAttempts || wait > j.e.cfg.Lease/2 {
				return nil, &release{after: max(wait, j.e.backoff(throttles)), reason: "the provider keeps rate limiting the connection", counts: false}
			}
			attempt-- // throttling is pacing, not failure
			if err := j.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case kind == providers.KindAuth:
			return nil, j.authFailed(ctx, err)
		case kind == providers.KindInvalid && req.Cursor != "" && j.cp.Bulk == "":
			// A cursor the provider no longer knows (an expired query
			// locator): start the page sequence again after the newest
			// record committed; ordered reads make that exact, and the
			// skip set drops what was delivered.
			j.logf(runtime.SeverityWarn, err, "%s: the provider refused the read's cursor; resuming after %s", what, rfc3339(j.cp.MaxModified))
			j.restartFromMax()
			req.Cursor, req.Since = "", j.cp.Since
			continue
		case kind == providers.KindRetryable || kind == providers.KindUnknown:
			if attempt >= j.e.cfg.PageAttempts {
				j.logf(runtime.SeverityError, err, "%s failed %d times; the operation will retry later", what, attempt)
				return nil, &release{after: j.e.backoff(j.op.Attempts + 1), reason: err.Error(), counts: true}
			}
			wait := j.e.backoff(attempt)
			j.logf(runtime.SeverityWarn, err, "%s failed (attempt %d of %d); retrying in %s", what, attempt, j.e.cfg.PageAttempts, wait.Round(time.Millisecond))
			if err := j.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, fail(err, "%s: %s refused the read", what, j.conn.Provider)
		}
	}
}

// readOnce makes one provider call for the next page: a REST page, or a
// bulk chunk once a large backfill moved to the bulk API.
func (j *job) readOnce(ctx context.Context, req providers.ReadRequest) (*providers.ReadPage, error) {
	page, err := j.readAt(ctx, req, j.cp.Bulk)
	if err != nil || j.cp.Bulk != "" {
		return page, err
	}
	if j.cp.Pages == 0 && req.Cursor == "" && page.Total >= 0 {
		j.cp.Estimated = int64(page.Total)
		if j.useBulk(page) {
			job, total, err := j.bulk.StartBulkRead(ctx, req)
			if err != nil {
				return nil, err
			}
			j.cp.Bulk = job
			if total >= 0 {
				j.cp.Estimated = int64(total)
			}
			j.logf(runtime.SeverityInfo, nil, "%d records to read: using the bulk API (job %s)", page.Total, job)
			return j.bulk.BulkReadChunk(ctx, job, "", j.e.cfg.PageSize)
		}
	}
	return page, nil
}

// readAt makes the provider call for one page and nothing else, so that a
// prefetch can run it beside a commit: a bulk chunk when bulk names the
// job, otherwise a REST page.
func (j *job) readAt(ctx context.Context, req providers.ReadRequest, bulk string) (*providers.ReadPage, error) {
	if bulk != "" {
		if ba, ok := j.bulk.(providers.BulkAheadReader); ok && req.Ahead != nil {
			return ba.BulkReadChunkAhead(ctx, bulk, req.Cursor, j.e.cfg.PageSize, req.Ahead)
		}
		return j.bulk.BulkReadChunk(ctx, bulk, req.Cursor, j.e.cfg.PageSize)
	}
	return j.reader.Read(ctx, req)
}

func (j *job) useBulk(first *providers.ReadPage) bool {
	return j.bulk != nil && j.op.ReadType == runtime.ReadBackfill && j.e.cfg.BulkThreshold > 0 &&
		first.Total > j.e.cfg.BulkThreshold && !first.Done && j.cp.Delta == ""
}

// restartFromMax restarts an ordered read after the newest committed record.
func (j *job) restartFromMax() {
	j.cp.Cursor = ""
	if !j.cp.MaxModified.IsZero() && j.cp.MaxModified.After(j.cp.Since) {
		// Records at exactly MaxModified are in Recent, so the skip set
		// drops them; start a millisecond before to keep ties.
		j.cp.Since = j.cp.MaxModified.Add(-time.Millisecond)
		if j.skip == nil {
			j.skip = map[string]int64{}
		}
		for id, ms := range j.cp.Recent {
			j.skip[id] = ms
		}
	}
}

// sleep waits d (the lease keeper runs meanwhile), with the log written
// first so the builder sees the retry while it waits.
func (j *job) sleep(ctx context.Context, d time.Duration) error {
	j.flushLogs(ctx)
	return sleep(ctx, d)
}

// commit maps a page and commits its messages with the new checkpoint.
func (j *job) commit(ctx context.Context, page *providers.ReadPage) error {
	sp, err := newSplitter(&j.header, j.e.cfg.MaxMessageBytes)
	if err != nil {
		return err
	}
	j.header.OperationTime = rfc3339(j.now())
	backfill := j.op.ReadType == runtime.ReadBackfill
	tombstones := j.obj.DeletesMode() != manifest.DeletesIgnore
	echoes, err := j.echoes(ctx, page)
	if err != nil {
		return err
	}
	var buf []byte
	for i := range page.Records {
		rec := &page.Records[i]
		j.cp.Read++
		if rec.Deleted && (backfill || !tombstones) {
			continue
		}
		if fp, ok := echoes[rec.ID]; ok && isEcho(fp, rec) {
			// The runtime's own write coming back: the builder already
			// has it. Tracked, so the overlap does not bring it back.
			j.track(rec)
			j.cp.Skipped++
			continue
		}
		// Tracked even when skipped: the next read's overlap covers it
		// again, and must skip it again.
		j.track(rec)
		if prev, ok := j.skip[rec.ID]; ok && !rec.ModifiedAt.IsZero() && prev == rec.ModifiedAt.UnixMilli() {
			j.cp.Skipped++
			continue
		}
		entry := j.plan.Apply(rec)
		if buf, err = appendEntry(buf[:0], &entry); err != nil {
			return fail(err, "encode record %s", rec.ID)
		}
		sp.add(buf)
		j.cp.Delivered++
	}
	j.pruneRecent()
	if j.cp.Estimated < 0 && page.Total >= 0 {
		// A connector may learn the total after its first page (HubSpot's
		// two-ended read lists first; its first search has the total).
		j.cp.Estimated = int64(page.Total)
	}
	j.cp.Pages++
	j.cp.Cursor = page.NextCursor
	if page.Checkpoint != "" {
		j.cp.NewDelta = page.Checkpoint
	}
	msgs := sp.messages(j.op.ProjectID, j.dest.ID, j.op.ID, j.cp.Pages)
	cp, err := j.cp.encode()
	if err != nil {
		return err
	}
	j.lease.Expiry = j.now().Add(j.e.cfg.Lease)
	err = j.e.cfg.Store.CommitPage(ctx, runtime.PageCommit{
		Lease: j.lease, Checkpoint: cp, Processed: j.cp.Read, Estimated: j.cp.Estimated, Messages: msgs, Logs: j.log,
	})
	if err != nil {
		return err
	}
	j.op.Checkpoint = cp
	j.log = nil
	if len(msgs) > 0 {
		j.e.cfg.Delivered()
	}
	if j.conn.Status != runtime.ConnectionWorking {
		if c, err := j.e.cfg.Store.SetConnectionStatus(ctx, j.conn.ProjectID, j.conn.ID, j.conn.TokenVersion, runtime.ConnectionWorking); err == nil {
			j.conn = c
		} else {
			j.conn.Status = runtime.ConnectionWorking // try once per operation
		}
	}
	return nil
}

// echoStore is the part of the store that remembers the runtime's own
// writes (runtime.WriteStateStore).
type echoStore interface {
	TakeEchoes(ctx context.Context, projectID, installationID, object string, recordIDs []string) (map[string]string, error)
}

// echoes takes the echoes of a scheduled read's page: records the Write API
// wrote that the read may be about to deliver back.
func (j *job) echoes(ctx context.Context, page *providers.ReadPage) (map[string]string, error) {
	es, ok := j.e.cfg.Store.(echoStore)
	if !ok || j.op.ReadType != runtime.ReadScheduled || len(page.Records) == 0 || !j.writes() {
		return nil, nil
	}
	ids := make([]string, 0, len(page.Records))
	for i := range page.Records {
		if !page.Records[i].Deleted {
			ids = append(ids, page.Records[i].ID)
		}
	}
	m, err := es.TakeEchoes(ctx, j.op.ProjectID, j.op.InstallationID, j.op.ObjectName, ids)
	if err != nil {
		return nil, fmt.Errorf("read the echoes of the runtime's writes: %w", err)
	}
	return m, nil
}

// writes reports whether the integration writes the object read, the only
// case in which the runtime's own writes can come back.
func (j *job) writes() bool {
	if j.integ.Write == nil {
		return false
	}
	for _, w := range j.integ.Write.Objects {
		if w != nil && strings.EqualFold(w.ObjectName, j.op.ObjectName) {
			return true
		}
	}
	return false
}

// isEcho reports whether rec still holds exactly what the runtime wrote:
// every written field (fingerprint: a JSON object of lower-case provider
// fields) has the same value, so nobody changed those fields since. Values
// compare by their text, since providers return numbers as strings in some
// paths (Salesforce Bulk CSV); null and "" are the same emptiness.
func isEcho(fingerprint string, rec *providers.Record) bool {
	var written map[string]any
	if err := json.Unmarshal([]byte(fingerprint), &written); err != nil || len(written) == 0 {
		return false
	}
	for k, v := range written {
		if textOf(v) != textOf(rec.Fields[strings.ToLower(k)]) {
			return false
		}
	}
	return true
}

func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// track moves the run's watermark and remembers the records near it.
func (j *job) track(rec *providers.Record) {
	if rec.ModifiedAt.IsZero() {
		return
	}
	if rec.ModifiedAt.After(j.cp.MaxModified) {
		// Records that fell out of the window are pruned once a page
		// (commit), not here: an ordered read moves the watermark on
		// nearly every record.
		j.cp.MaxModified = rec.ModifiedAt
	}
	if ms := rec.ModifiedAt.UnixMilli(); rec.ModifiedAt.After(j.cp.MaxModified.Add(-j.e.cfg.Overlap)) && ms > j.cp.RecentFloor {
		if j.cp.Recent == nil {
			j.cp.Recent = recentSet{}
		}
		// Over the cap for at most a page: pruneRecent trims it.
		j.cp.Recent[rec.ID] = ms
	}
}

// pruneRecent drops the remembered records older than the overlap window
// below the watermark and, past Config.MaxRecent, the oldest of the rest:
// the newest records are the ones the next read's overlap meets first.
func (j *job) pruneRecent() {
	floor := j.cp.MaxModified.Add(-j.e.cfg.Overlap).UnixMilli()
	for id, ms := range j.cp.Recent {
		if ms <= floor {
			delete(j.cp.Recent, id)
		}
	}
	if len(j.cp.Recent) <= j.e.cfg.MaxRecent {
		return
	}
	// Keep only records modified after the (MaxRecent+1)-th newest time,
	// so that every record at or before the new floor is forgotten alike
	// (ties included) and the next read can start after it.
	times := make([]int64, 0, len(j.cp.Recent))
	for _, ms := range j.cp.Recent {
		times = append(times, ms)
	}
	slices.Sort(times)
	cut := times[len(times)-1-j.e.cfg.MaxRecent]
	for id, ms := range j.cp.Recent {
		if ms <= cut {
			delete(j.cp.Recent, id)
		}
	}
	j.cp.RecentFloor = max(j.cp.RecentFloor, cut)
}

// classify turns a provider error outside the page loop into the job's
// outcome.
func (j *job) classify(ctx context.Context, err error, what string) error {
	switch providers.KindOf(err) {
	case providers.KindAuth:
		return j.authFailed(ctx, err)
	case providers.KindRetryable, providers.KindRateLimited, providers.KindUnknown:
		return &release{after: j.e.backoff(j.op.Attempts + 1), reason: what + ": " + err.Error(), counts: true}
	}
	return fail(err, "%s", what)
}

// authFailed handles refused credentials: when the refresh was refused the
// connection is now bad_credentials (runtime/oauth marked it): pause and
// notify. Otherwise (the builder's provider app was refused) retry later.
func (j *job) authFailed(ctx context.Context, err error) error {
	c, gerr := j.e.cfg.Store.GetConnection(ctx, j.conn.ProjectID, j.conn.ID)
	if gerr == nil && c.Status == runtime.ConnectionBadCredentials {
		j.conn = c
		return j.badCredentials(ctx, err)
	}
	j.logf(runtime.SeverityError, err, "the provider refused the connection's credentials")
	return &release{after: j.e.backoff(j.op.Attempts + 1), reason: err.Error(), counts: true}
}

// CredentialsPauseNote is the pause note of reads the engine paused because
// their connection's credentials were refused; reconnecting (ResumeAfter
// Reauthorization) unpauses exactly those.
const CredentialsPauseNote = "paused: the connection's credentials were refused; the customer must reconnect"

// ResumeAfterReauthorization unpauses the reads the engine paused for the
// connection's refused credentials, once the customer reconnected; reads
// the builder paused stay paused. The OAuth callback calls it.
func (e *Engine) ResumeAfterReauthorization(ctx context.Context, conn *runtime.Connection) error {
	insts, err := e.cfg.Store.ListInstallations(ctx, conn.ProjectID, runtime.InstallationFilter{ConnectionID: conn.ID})
	if err != nil {
		return err
	}
	resumed := false
	for _, in := range insts {
		states, err := e.cfg.Store.ListReadStates(ctx, in.ProjectID, in.ID)
		if err != nil {
			return err
		}
		var objects []string
		for _, st := range states {
			if st.Paused && st.PauseNote == CredentialsPauseNote {
				objects = append(objects, st.ObjectName)
			}
		}
		if len(objects) == 0 {
			continue
		}
		if err := e.cfg.Store.SetReadsPaused(ctx, in.ProjectID, in.ID, objects, false, "resumed: the customer reconnected"); err != nil {
			return err
		}
		e.log.Info("resumed reads after reconnection", "installation", in.ID, "objects", objects)
		resumed = true
	}
	if resumed {
		e.Wake()
	}
	return nil
}

// badCredentials pauses every read of the connection's installations and
// sends connection.error and read.schedule.paused.
func (j *job) badCredentials(ctx context.Context, cause error) error {
	note := CredentialsPauseNote
	insts, err := j.e.cfg.Store.ListInstallations(ctx, j.op.ProjectID, runtime.InstallationFilter{ConnectionID: j.conn.ID})
	if err != nil {
		return err
	}
	var msgs []*runtime.OutboxMessage
	dest := j.e.notificationDestination(ctx, j.op.ProjectID)
	for _, in := range insts {
		if err := j.e.cfg.Store.SetReadsPaused(ctx, in.ProjectID, in.ID, nil, true, note); err != nil && runtime.ErrorCode(err) != runtime.EINVALID {
			return err
		}
		if dest != nil {
			if m, err := j.e.schedulePausedNotification(ctx, dest, in, j.conn, cause); err == nil {
				msgs = append(msgs, m)
			}
		}
	}
	if dest != nil {
		if m, err := connectionErrorNotification(dest, j.conn, cause); err == nil {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) > 0 {
		if err := j.e.cfg.Store.EnqueueMessages(ctx, msgs); err != nil {
			return err
		}
		j.e.cfg.Delivered()
	}
	j.logf(runtime.SeverityError, cause, "the connection's credentials were refused: reads of its installations are paused until the customer reconnects")
	return fail(cause, "connection %s has bad credentials", j.conn.ID)
}

// end writes the operation's outcome.
func (j *job) end(ctx context.Context, err error) {
	if ctx.Err() != nil {
		// Shutting down: the lease runs out and the next claim resumes
		// from the last committed page.
		return
	}
	st := j.e.cfg.Store
	e := runtime.OperationEnd{Lease: j.lease}
	var rel *release
	var fl *failure
	switch {
	case err == nil:
		e.Status = runtime.OperationSuccess
		e.Result = j.result()
		e.ReadState = j.stateUpdate()
		j.logf(runtime.SeverityInfo, nil, "%s", e.Result)
		if j.op.ReadType == runtime.ReadBackfill {
			if dest := j.e.notificationDestination(ctx, j.op.ProjectID); dest != nil {
				if m, err := j.e.backfillDoneNotification(ctx, dest, j.inst, j.conn, j.op.ObjectName); err == nil {
					e.Messages = append(e.Messages, m)
				}
			}
		}
	case runtime.ErrorCode(err) == runtime.ECONFLICT:
		j.e.log.Warn("lost the lease of an operation; another worker resumes it", "operation", j.op.ID)
		return
	case errors.As(err, &rel):
		attempts := j.op.Attempts
		if rel.counts {
			attempts++
		}
		if attempts >= j.e.cfg.OperationTries {
			e.Status, e.Error = runtime.OperationFailure, rel.reason
			e.Result = fmt.Sprintf("[%s] failed after %d attempts: %s", j.op.ObjectName, attempts, rel.reason)
			j.logf(runtime.SeverityError, nil, "giving up after %d attempts", attempts)
			break
		}
		e.Status, e.RunAt, e.Attempts, e.Error = runtime.OperationQueued, j.now().Add(rel.after), attempts, rel.reason
		j.logf(runtime.SeverityWarn, nil, "will retry at %s: %s", rfc3339(e.RunAt), rel.reason)
	case errors.As(err, &fl):
		e.Status, e.Error = runtime.OperationFailure, fl.Error()
		e.Result = fmt.Sprintf("[%s] failed: %s", j.op.ObjectName, fl.msg)
		j.logf(runtime.SeverityError, fl.err, "%s", fl.msg)
	default:
		attempts := j.op.Attempts + 1
		if attempts >= j.e.cfg.OperationTries {
			e.Status, e.Error = runtime.OperationFailure, err.Error()
			e.Result = fmt.Sprintf("[%s] failed: %v", j.op.ObjectName, err)
		} else {
			e.Status, e.RunAt, e.Attempts, e.Error = runtime.OperationQueued, j.now().Add(j.e.backoff(attempts)), attempts, err.Error()
		}
		j.logf(runtime.SeverityError, err, "the read stopped")
	}
	e.Logs = j.log
	if err := st.EndOperation(ctx, e); err != nil {
		j.e.log.Error("end an operation", "operation", j.op.ID, "err", err)
		return
	}
	if len(e.Messages) > 0 {
		j.e.cfg.Delivered()
	}
}

func (j *job) result() string {
	if j.cp.Delivered == 0 {
		return fmt.Sprintf("[%s] No new data found", j.obj.DeliveredName())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %d records delivered", j.obj.DeliveredName(), j.cp.Delivered)
	if j.cp.Skipped > 0 {
		b.WriteString(" (" + strconv.FormatInt(j.cp.Skipped, 10) + " already delivered skipped)")
	}
	return b.String()
}

// stateUpdate is what a successful read writes to its read state. A
// triggered read leaves the watermark alone: it is the builder's ad hoc
// window, not the object's incremental position.
func (j *job) stateUpdate() *runtime.ReadStateUpdate {
	if j.op.ReadType == runtime.ReadTriggered {
		return nil
	}
	j.pruneRecent()
	delta := j.cp.NewDelta
	if delta == "" {
		delta = j.cp.Delta
	}
	b, _ := json.Marshal(syncState{Recent: j.cp.Recent, Floor: j.cp.RecentFloor, Delta: delta})
	u := &runtime.ReadStateUpdate{Watermark: j.cp.MaxModified, Sync: b, BackfillDone: j.op.ReadType == runtime.ReadBackfill}
	started := j.cp.StartedAt
	if started.IsZero() {
		// A checkpoint from before StartedAt existed: the operation's
		// creation is earlier still, so the safe side.
		started = j.op.CreateTime
	}
	if j.op.ReadType == runtime.ReadBackfill && !started.IsZero() && u.Watermark.After(started) {
		// A backfill reads in the provider's order (ids, a snapshot), not
		// by modified time: a record it passed early and that changed
		// while it went on is older than records it met later. Were the
		// watermark the newest record read, the first scheduled read
		// would start after that change and lose it; from the backfill's
		// start it reads every change made meanwhile (some of them again).
		// The start is the server's clock and watermarks the provider's:
		// Overlap absorbs the skew between them.
		u.Watermark = started
	}
	if u.Watermark.IsZero() && !j.cp.Since.IsZero() {
		u.Watermark = j.cp.Since
	}
	return u
}
