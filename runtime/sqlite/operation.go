package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ampforge/amp/runtime"
)

const operationColumns = `id, project_id, integration_id, installation_id, config_id, object_name, action_type, read_type,
	status, since, until, checkpoint, processed, estimated, attempts, result, error, run_at, lease_owner, lease_expiry,
	create_time, update_time, end_time`

func scanOperation(sc scanner) (*runtime.Operation, error) {
	var op runtime.Operation
	var since, until, runAt, leaseExpiry, ct, ut, et sql.NullInt64
	var checkpoint sql.NullString
	if err := sc.Scan(&op.ID, &op.ProjectID, &op.IntegrationID, &op.InstallationID, &op.ConfigID, &op.ObjectName,
		&op.ActionType, &op.ReadType, &op.Status, &since, &until, &checkpoint, &op.Processed, &op.Estimated,
		&op.Attempts, &op.Result, &op.Error, &runAt, &op.LeaseOwner, &leaseExpiry, &ct, &ut, &et); err != nil {
		return nil, err
	}
	if checkpoint.Valid {
		op.Checkpoint = json.RawMessage(checkpoint.String)
	}
	op.Since, op.Until, op.RunAt, op.LeaseExpiry = fromMillis(since), fromMillis(until), fromMillis(runAt), fromMillis(leaseExpiry)
	op.CreateTime, op.UpdateTime, op.EndTime = fromMillis(ct), fromMillis(ut), fromMillis(et)
	return &op, nil
}

func getOperation(ctx context.Context, q querier, projectID, id string) (*runtime.Operation, error) {
	op, err := scanOperation(q.QueryRowContext(ctx, `SELECT `+operationColumns+` FROM operations WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "operation %q not found", id)
	}
	return op, mapErr(err)
}

// rawText returns a JSON column's value: NULL for a nil message.
func rawText(m json.RawMessage) any {
	if m == nil {
		return nil
	}
	return string(m)
}

// activeOperationQuery is activeOperation's probe of operations_object.
const activeOperationQuery = `SELECT EXISTS (SELECT 1 FROM operations
	WHERE project_id = ? AND installation_id = ? AND object_name = ? AND action_type = ? AND status IN ('queued', 'in_progress'))`

// activeOperation reports whether the installation has a queued or
// in-progress operation of the action type on the object: reads and writes
// are separate lanes, so a queued write never keeps a scheduled read out.
func activeOperation(ctx context.Context, q querier, projectID, installationID, objectName, actionType string) (bool, error) {
	var active bool
	err := q.QueryRowContext(ctx, activeOperationQuery, projectID, installationID, objectName, actionType).Scan(&active)
	return active, mapErr(err)
}

// createOperation inserts op (queued) in tx, unless exclusive is set and the
// object already has an active operation, and fills op in as stored. The
// caller has validated op.
func createOperation(ctx context.Context, tx *sql.Tx, now time.Time, op *runtime.Operation, exclusive bool) error {
	var integrationID, configID string
	err := tx.QueryRowContext(ctx, `SELECT integration_id, config_id FROM installations WHERE project_id = ? AND id = ?`,
		op.ProjectID, op.InstallationID).Scan(&integrationID, &configID)
	if errors.Is(err, sql.ErrNoRows) {
		return runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", op.InstallationID)
	}
	if err != nil {
		return mapErr(err)
	}
	if op.IntegrationID != integrationID {
		return runtime.Errorf(runtime.EINVALID, "installation %q belongs to integration %q, not %q", op.InstallationID, integrationID, op.IntegrationID)
	}
	if exclusive {
		active, err := activeOperation(ctx, tx, op.ProjectID, op.InstallationID, op.ObjectName, op.ActionType)
		if err != nil {
			return err
		}
		if active {
			return runtime.Errorf(runtime.ECONFLICT, "installation %q already has a queued or running %s of %q", op.InstallationID, op.ActionType, op.ObjectName)
		}
	}
	id := idOrNew(op.ID)
	if op.ConfigID != "" {
		configID = op.ConfigID
	}
	runAt := runtime.Millis(op.RunAt)
	if runAt.IsZero() {
		runAt = now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO operations (`+operationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, '', '', ?, '', NULL, ?, ?, NULL)`,
		id, op.ProjectID, op.IntegrationID, op.InstallationID, configID, op.ObjectName, op.ActionType, op.ReadType,
		millis(op.Since), millis(op.Until), rawText(op.Checkpoint), op.Processed, op.Estimated, op.Attempts,
		runAt.UnixMilli(), now.UnixMilli(), now.UnixMilli())
	if isUnique(err) {
		return runtime.Errorf(runtime.ECONFLICT, "an operation with id %q already exists", id)
	}
	if err != nil {
		return mapErr(err)
	}
	out, err := getOperation(ctx, tx, op.ProjectID, id)
	if err != nil {
		return err
	}
	*op = *out
	return nil
}

// CreateOperation implements runtime.OperationStore.
func (s *Store) CreateOperation(ctx context.Context, op *runtime.Operation, exclusive bool) error {
	if err := op.Validate(); err != nil {
		return fmt.Errorf("sqlite: create operation: %w", err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		return createOperation(ctx, tx, s.nowMillis(), op, exclusive)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create %s operation of %q for installation %q: %w", opKind(op), op.ObjectName, op.InstallationID, err)
	}
	return nil
}

// opKind names an operation in errors: its read type, or "write".
func opKind(op *runtime.Operation) string {
	if op.ActionType == runtime.ActionRead {
		return string(op.ReadType)
	}
	return op.ActionType
}

// claimEligible is the condition, on operations o and the claim's time ?1,
// that ClaimOperation adds to "due": a read's state is not paused (or the
// read is triggered; a pause never holds writes), and no other operation
// of the same action type on the object holds a live lease (reads and
// writes are separate lanes). Both are primary-key or index probes
// (read_states' key, operations_object).
const claimEligible = `
	AND (o.action_type <> 'read' OR o.read_type = 'triggered' OR NOT EXISTS (SELECT 1 FROM read_states r
		WHERE r.project_id = o.project_id AND r.installation_id = o.installation_id AND r.object_name = o.object_name
		AND r.paused = 1))
	AND NOT EXISTS (SELECT 1 FROM operations l
		WHERE l.project_id = o.project_id AND l.installation_id = o.installation_id AND l.object_name = o.object_name
		AND l.action_type = o.action_type AND l.status = 'in_progress' AND l.lease_expiry > ?1 AND l.id <> o.id)`

// claimQuery picks the operation to claim: the first by (run_at, rowid) of
// the due queued operations and the in-progress ones whose lease expired.
// Each arm of the compound select walks operations_claim in that order and
// SQLite merges them, so with LIMIT 1 a claim stops at the first eligible
// row instead of sorting the backlog.
const claimQuery = `SELECT o.rowid AS r, o.run_at AS t FROM operations o INDEXED BY operations_claim
		WHERE o.status = 'queued' AND o.run_at <= ?1` + claimEligible + `
	UNION ALL
	SELECT o.rowid AS r, o.run_at AS t FROM operations o INDEXED BY operations_claim
		WHERE o.status = 'in_progress' AND o.lease_expiry <= ?1` + claimEligible + `
	ORDER BY t, r
	LIMIT 1`

// claimOperationQuery leases the operation claimQuery picks: ?1 now, ?2
// owner, ?3 lease expiry, ?4 update time.
const claimOperationQuery = `UPDATE operations
	SET status = 'in_progress', lease_owner = ?2, lease_expiry = ?3, update_time = ?4
	WHERE rowid = (SELECT r FROM (` + claimQuery + `))
	RETURNING ` + operationColumns

// ClaimOperation implements runtime.OperationStore. The choice and the
// update are one statement on the single writer connection, so two workers
// never claim the same operation. A resumed operation keeps its checkpoint,
// counts and attempts.
func (s *Store) ClaimOperation(ctx context.Context, owner string, now time.Time, lease time.Duration) (*runtime.Operation, error) {
	if owner == "" || lease <= 0 {
		return nil, runtime.Errorf(runtime.EINVALID, "a claim needs an owner and a positive lease (got %q, %v)", owner, lease)
	}
	var op *runtime.Operation
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		op, err = scanOperation(tx.QueryRowContext(ctx, claimOperationQuery, now.UnixMilli(), owner, runtime.Millis(now.Add(lease)).UnixMilli(), s.nowMillis().UnixMilli()))
		if errors.Is(err, sql.ErrNoRows) {
			return runtime.Errorf(runtime.ENOTFOUND, "no operation to claim")
		}
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim an operation for %q: %w", owner, err)
	}
	return op, nil
}

// leaseLost explains why a write under l matched no operation: ENOTFOUND if
// the project has no such operation (it may have been deleted with its
// installation), else ECONFLICT.
func leaseLost(ctx context.Context, tx *sql.Tx, l runtime.Lease) error {
	var status, owner string
	err := tx.QueryRowContext(ctx, `SELECT status, lease_owner FROM operations WHERE project_id = ? AND id = ?`,
		l.ProjectID, l.OperationID).Scan(&status, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return runtime.Errorf(runtime.ENOTFOUND, "operation %q not found", l.OperationID)
	}
	if err != nil {
		return mapErr(err)
	}
	return runtime.Errorf(runtime.ECONFLICT, "operation %q is no longer leased to %q (status %s, lease owner %q)", l.OperationID, l.Owner, status, owner)
}

func checkLease(l runtime.Lease) error {
	if l.ProjectID == "" || l.OperationID == "" || l.Owner == "" {
		return runtime.Errorf(runtime.EINVALID, "a lease needs a projectId, an operationId and an owner")
	}
	return nil
}

// fillMessages gives msgs the lease's project and operation where they
// have none, and refuses a message of another project.
func fillMessages(l runtime.Lease, msgs []*runtime.OutboxMessage) error {
	for i, m := range msgs {
		if m == nil {
			return runtime.Errorf(runtime.EINVALID, "outbox message %d is nil", i)
		}
		if m.ProjectID == "" {
			m.ProjectID = l.ProjectID
		} else if m.ProjectID != l.ProjectID {
			return runtime.Errorf(runtime.EINVALID, "outbox message %d belongs to project %q, not %q", i, m.ProjectID, l.ProjectID)
		}
		if m.OperationID == "" {
			m.OperationID = l.OperationID
		}
	}
	return nil
}

// fillLogs is fillMessages for log lines.
func fillLogs(l runtime.Lease, logs []*runtime.OperationLog) error {
	for i, lg := range logs {
		if lg == nil {
			return runtime.Errorf(runtime.EINVALID, "log line %d is nil", i)
		}
		if lg.ProjectID == "" {
			lg.ProjectID = l.ProjectID
		}
		if lg.OperationID == "" {
			lg.OperationID = l.OperationID
		}
		if lg.ProjectID != l.ProjectID || lg.OperationID != l.OperationID {
			return runtime.Errorf(runtime.EINVALID, "log line %d belongs to operation %q of project %q, not the lease's", i, lg.OperationID, lg.ProjectID)
		}
	}
	return nil
}

// CommitPage implements runtime.OperationStore. The lease is checked first,
// by the update of the operation itself, so a lost lease costs one
// statement and inserts nothing. A nil Checkpoint leaves the checkpoint as
// it is (a commit never erases one); a zero Lease.Expiry leaves the expiry.
// Messages and logs get the lease's project and operation when they have
// none.
// Returns ENOTFOUND if the project has no such operation (it may have been
// deleted with its installation), EINVALID if a message belongs to another
// project, ENOTFOUND if a message's destination does not exist.
func (s *Store) CommitPage(ctx context.Context, c runtime.PageCommit) error {
	if err := checkLease(c.Lease); err != nil {
		return fmt.Errorf("sqlite: commit page: %w", err)
	}
	if err := fillMessages(c.Lease, c.Messages); err != nil {
		return fmt.Errorf("sqlite: commit page of operation %q: %w", c.Lease.OperationID, err)
	}
	if err := fillLogs(c.Lease, c.Logs); err != nil {
		return fmt.Errorf("sqlite: commit page of operation %q: %w", c.Lease.OperationID, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMillis()
		res, err := tx.ExecContext(ctx, `UPDATE operations SET checkpoint = coalesce(?, checkpoint), processed = ?,
				estimated = CASE WHEN ? < 0 THEN estimated ELSE ? END, lease_expiry = coalesce(?, lease_expiry), update_time = ?
			WHERE project_id = ? AND id = ? AND status = 'in_progress' AND lease_owner = ?`,
			rawText(c.Checkpoint), c.Processed, c.Estimated, c.Estimated, millis(runtime.Millis(c.Lease.Expiry)), now.UnixMilli(),
			c.Lease.ProjectID, c.Lease.OperationID, c.Lease.Owner)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return leaseLost(ctx, tx, c.Lease)
		}
		if err := enqueue(ctx, tx, now, c.Messages); err != nil {
			return err
		}
		return insertLogs(ctx, tx, now, c.Logs)
	})
	if err != nil {
		return fmt.Errorf("sqlite: commit page of operation %q: %w", c.Lease.OperationID, err)
	}
	return nil
}

// RenewLease implements runtime.OperationStore.
func (s *Store) RenewLease(ctx context.Context, l runtime.Lease) error {
	if err := checkLease(l); err != nil {
		return fmt.Errorf("sqlite: renew lease: %w", err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operations SET lease_expiry = ?
			WHERE project_id = ? AND id = ? AND status = 'in_progress' AND lease_owner = ?`,
			runtime.Millis(l.Expiry).UnixMilli(), l.ProjectID, l.OperationID, l.Owner)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return leaseLost(ctx, tx, l)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: renew the lease of operation %q: %w", l.OperationID, err)
	}
	return nil
}

// EndOperation implements runtime.OperationStore. A final status sets
// EndTime and, when e.Attempts is not zero, Attempts; OperationQueued sets
// RunAt (now when zero) and Attempts. Result and Error are written as
// given. A missing read state is not an error (there is nothing to move).
// Returns EINVALID if e.Status is not success, failure or queued, ENOTFOUND
// if the project has no such operation.
func (s *Store) EndOperation(ctx context.Context, e runtime.OperationEnd) error {
	if err := checkLease(e.Lease); err != nil {
		return fmt.Errorf("sqlite: end operation: %w", err)
	}
	if !e.Status.Done() && e.Status != runtime.OperationQueued {
		return fmt.Errorf("sqlite: end operation %q: %w", e.Lease.OperationID,
			runtime.Errorf(runtime.EINVALID, "an operation ends as success, failure or queued, not %q", e.Status))
	}
	if err := fillMessages(e.Lease, e.Messages); err != nil {
		return fmt.Errorf("sqlite: end operation %q: %w", e.Lease.OperationID, err)
	}
	if err := fillLogs(e.Lease, e.Logs); err != nil {
		return fmt.Errorf("sqlite: end operation %q: %w", e.Lease.OperationID, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMillis()
		var runAt, attempts, endTime any
		if e.Status == runtime.OperationQueued {
			runAt, attempts = now.UnixMilli(), e.Attempts
			if !e.RunAt.IsZero() {
				runAt = e.RunAt.UnixMilli()
			}
		} else {
			endTime = now.UnixMilli()
			if e.Attempts != 0 {
				attempts = e.Attempts
			}
		}
		var installationID, objectName string
		err := tx.QueryRowContext(ctx, `UPDATE operations SET status = ?, lease_owner = '', lease_expiry = NULL,
				run_at = coalesce(?, run_at), attempts = coalesce(?, attempts), checkpoint = coalesce(?, checkpoint),
				result = ?, error = ?, update_time = ?, end_time = ?
			WHERE project_id = ? AND id = ? AND status = 'in_progress' AND lease_owner = ?
			RETURNING installation_id, object_name`,
			e.Status, runAt, attempts, rawText(e.Checkpoint), e.Result, e.Error, now.UnixMilli(), endTime,
			e.Lease.ProjectID, e.Lease.OperationID, e.Lease.Owner).Scan(&installationID, &objectName)
		if errors.Is(err, sql.ErrNoRows) {
			return leaseLost(ctx, tx, e.Lease)
		}
		if err != nil {
			return mapErr(err)
		}
		if u := e.ReadState; u != nil {
			_, err := tx.ExecContext(ctx, `UPDATE read_states SET watermark = coalesce(?, watermark), sync = coalesce(?, sync),
					backfill_done = backfill_done OR ?, update_time = ?
				WHERE project_id = ? AND installation_id = ? AND object_name = ?`,
				millis(runtime.Millis(u.Watermark)), rawText(u.Sync), u.BackfillDone, now.UnixMilli(),
				e.Lease.ProjectID, installationID, objectName)
			if err != nil {
				return mapErr(err)
			}
		}
		if err := enqueue(ctx, tx, now, e.Messages); err != nil {
			return err
		}
		return insertLogs(ctx, tx, now, e.Logs)
	})
	if err != nil {
		return fmt.Errorf("sqlite: end operation %q: %w", e.Lease.OperationID, err)
	}
	return nil
}

// insertLogs inserts logs in tx with one multi-row insert and fills in
// their Seq, an empty Severity (INFO) and a zero Time (now). The caller has
// checked their projects and operations, or relies on the foreign key.
func insertLogs(ctx context.Context, tx *sql.Tx, now time.Time, logs []*runtime.OperationLog) error {
	if len(logs) == 0 {
		return nil
	}
	details := make([]string, len(logs))
	for i, l := range logs {
		switch l.Severity {
		case "":
			l.Severity = runtime.SeverityInfo
		case runtime.SeverityInfo, runtime.SeverityWarn, runtime.SeverityError:
		default:
			return runtime.Errorf(runtime.EINVALID, "log severity %q is not one of INFO, WARN, ERROR", l.Severity)
		}
		if l.Time.IsZero() {
			l.Time = now
		} else {
			l.Time = runtime.Millis(l.Time)
		}
		details[i] = metadataText(l.Details)
	}
	base, err := maxSeq(ctx, tx, "operation_logs")
	if err != nil {
		return err
	}
	err = execValues(ctx, tx, `INSERT INTO operation_logs (seq, project_id, operation_id, time, severity, message, error, details)`,
		8, len(logs), func(i int, args []any) []any {
			l := logs[i]
			return append(args, base+int64(i)+1, l.ProjectID, l.OperationID, l.Time.UnixMilli(), l.Severity, l.Message, l.Err, details[i])
		})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return runtime.Errorf(runtime.ENOTFOUND, "a log line names an operation that its project does not have")
	}
	if err != nil {
		return mapErr(err)
	}
	for i, l := range logs {
		l.Seq = base + int64(i) + 1
	}
	return nil
}

// AppendOperationLogs implements runtime.OperationStore.
// Returns ENOTFOUND if a line's project has no such operation, EINVALID if
// a line has no project or operation, or an unknown severity.
func (s *Store) AppendOperationLogs(ctx context.Context, logs []*runtime.OperationLog) error {
	for i, l := range logs {
		if l == nil || l.ProjectID == "" || l.OperationID == "" {
			return fmt.Errorf("sqlite: append operation logs: %w", runtime.Errorf(runtime.EINVALID, "log line %d has no projectId or operationId", i))
		}
	}
	if len(logs) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		return insertLogs(ctx, tx, s.nowMillis(), logs)
	})
	if err != nil {
		return fmt.Errorf("sqlite: append %d operation logs: %w", len(logs), err)
	}
	return nil
}

// GetOperation implements runtime.OperationStore.
func (s *Store) GetOperation(ctx context.Context, projectID, id string) (*runtime.Operation, error) {
	op, err := getOperation(ctx, s.read, projectID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get operation %q: %w", id, err)
	}
	return op, nil
}

// defaultOperationLimit is ListOperations' cap when the filter has none.
const defaultOperationLimit = 200

// ListOperations implements runtime.OperationStore: by create_time, then
// rowid (creation order), descending. Only the filter's set fields become
// conditions, so the planner can use operations_object for an installation
// and operations_project otherwise.
func (s *Store) ListOperations(ctx context.Context, projectID string, f runtime.OperationFilter) ([]*runtime.Operation, error) {
	where, args := []string{"project_id = ?"}, []any{projectID}
	for _, c := range []struct{ col, v string }{
		{"installation_id", f.InstallationID},
		{"object_name", f.ObjectName},
		{"read_type", string(f.ReadType)},
		{"action_type", f.ActionType},
		{"status", string(f.Status)},
	} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if c := f.Before; c != nil {
		// After the cursor in (create_time DESC, rowid DESC) order. A
		// cursor whose operation is gone has no rowid: the comparison is
		// NULL and only an earlier create_time matches.
		t := runtime.Millis(c.CreateTime).UnixMilli()
		where = append(where, `(create_time < ? OR create_time = ? AND rowid <
			(SELECT rowid FROM operations WHERE project_id = ? AND id = ? AND create_time = ?))`)
		args = append(args, t, t, projectID, c.ID, t)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultOperationLimit
	}
	args = append(args, limit)
	ops, err := queryList(ctx, s.read, scanOperation, `SELECT `+operationColumns+` FROM operations
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY create_time DESC, rowid DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list operations: %w", err)
	}
	return ops, nil
}

func scanOperationLog(sc scanner) (*runtime.OperationLog, error) {
	var l runtime.OperationLog
	var tm int64
	var details string
	if err := sc.Scan(&l.Seq, &l.ProjectID, &l.OperationID, &tm, &l.Severity, &l.Message, &l.Err, &details); err != nil {
		return nil, err
	}
	m, err := parseMap[string](details)
	if err != nil {
		return nil, err
	}
	l.Time, l.Details = time.UnixMilli(tm).UTC(), m
	return &l, nil
}

// ListOperationLogs implements runtime.OperationStore.
func (s *Store) ListOperationLogs(ctx context.Context, projectID, operationID string) ([]*runtime.OperationLog, error) {
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM operations WHERE project_id = ? AND id = ?`, projectID, operationID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "operation %q not found", operationID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list logs of operation %q: %w", operationID, mapErr(err))
	}
	logs, err := queryList(ctx, s.read, scanOperationLog, `SELECT seq, project_id, operation_id, time, severity, message, error, details
		FROM operation_logs WHERE project_id = ? AND operation_id = ? ORDER BY seq`, projectID, operationID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list logs of operation %q: %w", operationID, err)
	}
	return logs, nil
}
