package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime"
)

// The outbox keeps a message's small, changing fields in outbox and its body
// in outbox_bodies (see migrations/0002_engine.sql): a claim or a retry
// rewrites a row of a few dozen bytes, never the body. Only ClaimMessages
// reads bodies.

// maxRowsPerInsert caps the rows of one multi-row INSERT (SQLite allows
// 32766 bound parameters per statement; the widest row here has 9).
const maxRowsPerInsert = 500

// execValues runs head ("INSERT INTO t (a, b)") with one "(?, ?)" group of
// cols parameters per row, at most maxRowsPerInsert rows a statement, so a
// batch costs one statement instead of one per row. row appends row i's
// arguments to args.
func execValues(ctx context.Context, tx *sql.Tx, head string, cols, n int, row func(i int, args []any) []any) error {
	group := "(" + strings.Repeat("?, ", cols-1) + "?)"
	for start := 0; start < n; start += maxRowsPerInsert {
		end := min(start+maxRowsPerInsert, n)
		var b strings.Builder
		b.Grow(len(head) + 8 + (end-start)*(len(group)+2))
		b.WriteString(head)
		b.WriteString(" VALUES ")
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(group)
			args = row(i, args)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// jsonList encodes a list of IDs for a `x IN (SELECT value FROM
// json_each(?))` set condition: one parameter, whatever the list's length.
func jsonList(ids []string) string {
	if len(ids) == 0 {
		return "[]" // not "null": json_each('null') is one NULL row
	}
	b, _ := json.Marshal(ids) // a []string always encodes
	return string(b)
}

// jsonInts is jsonList for integers.
func jsonInts(ns []int64) string {
	b := make([]byte, 0, 2+len(ns)*8)
	b = append(b, '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	return string(append(b, ']'))
}

// maxSeq returns the highest seq of a table with an INTEGER PRIMARY KEY seq
// (0 when empty). Inside a write transaction nothing else inserts, so
// seq+1... are free and keep insertion order.
func maxSeq(ctx context.Context, tx *sql.Tx, table string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM `+table).Scan(&n)
	return n, mapErr(err)
}

// enqueue inserts msgs in tx, in order, and fills in their empty IDs,
// CreateTime (now) and zero NextAttempt (now). A message whose ID is already
// queued in its project, or repeated in msgs, is skipped. Messages for a
// disabled destination are held (next_attempt NULL) until it is re-enabled.
// Returns EINVALID if a message lacks its project, destination or body,
// ENOTFOUND if its project has no such destination.
//
// The cost is a fixed number of statements per call (two lookups per
// project in msgs, one max(seq), one multi-row insert of the small columns)
// plus one execution of a prepared statement per body: a body is copied
// once into SQLite's pages and never read back here.
func enqueue(ctx context.Context, tx *sql.Tx, now time.Time, msgs []*runtime.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	type projectSet struct {
		dests, ids []string
		disabled   map[string]bool // destination -> disabled
		queued     map[string]bool // message IDs already queued
	}
	projects := map[string]*projectSet{}
	var order []string
	for i, m := range msgs {
		if m == nil {
			return runtime.Errorf(runtime.EINVALID, "outbox message %d is nil", i)
		}
		if m.ProjectID == "" || m.DestinationID == "" {
			return runtime.Errorf(runtime.EINVALID, "outbox message %d has no projectId or destinationId", i)
		}
		if len(m.Body) == 0 {
			return runtime.Errorf(runtime.EINVALID, "outbox message %d has no body", i)
		}
		m.ID = idOrNew(m.ID)
		m.CreateTime = now
		if m.NextAttempt.IsZero() {
			m.NextAttempt = now
		} else {
			m.NextAttempt = runtime.Millis(m.NextAttempt)
		}
		p := projects[m.ProjectID]
		if p == nil {
			p = &projectSet{}
			projects[m.ProjectID] = p
			order = append(order, m.ProjectID)
		}
		if !slices.Contains(p.dests, m.DestinationID) {
			p.dests = append(p.dests, m.DestinationID)
		}
		p.ids = append(p.ids, m.ID)
	}
	for _, projectID := range order {
		p := projects[projectID]
		p.disabled = make(map[string]bool, len(p.dests))
		rows, err := tx.QueryContext(ctx, `SELECT id, disabled FROM destinations
			WHERE project_id = ? AND id IN (SELECT value FROM json_each(?))`, projectID, jsonList(p.dests))
		if err != nil {
			return mapErr(err)
		}
		for rows.Next() {
			var id string
			var disabled bool
			if err := rows.Scan(&id, &disabled); err != nil {
				rows.Close()
				return mapErr(err)
			}
			p.disabled[id] = disabled
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return mapErr(err)
		}
		rows.Close()
		for _, d := range p.dests {
			if _, ok := p.disabled[d]; !ok {
				return runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", d)
			}
		}
		p.queued = map[string]bool{}
		rows, err = tx.QueryContext(ctx, `SELECT id FROM outbox
			WHERE project_id = ? AND id IN (SELECT value FROM json_each(?))`, projectID, jsonList(p.ids))
		if err != nil {
			return mapErr(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return mapErr(err)
			}
			p.queued[id] = true
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return mapErr(err)
		}
		rows.Close()
	}

	// What to insert: msgs minus the queued and the repeated IDs.
	todo := make([]*runtime.OutboxMessage, 0, len(msgs))
	for _, m := range msgs {
		p := projects[m.ProjectID]
		if p.queued[m.ID] {
			continue
		}
		p.queued[m.ID] = true
		todo = append(todo, m)
	}
	if len(todo) == 0 {
		return nil
	}
	base, err := maxSeq(ctx, tx, "outbox")
	if err != nil {
		return err
	}
	err = execValues(ctx, tx, `INSERT INTO outbox (seq, id, project_id, destination_id, operation_id, attempts, last_error, next_attempt, create_time)`,
		9, len(todo), func(i int, args []any) []any {
			m := todo[i]
			var next any = m.NextAttempt.UnixMilli()
			if projects[m.ProjectID].disabled[m.DestinationID] {
				next = nil // held until the destination is re-enabled
			}
			return append(args, base+int64(i)+1, m.ID, m.ProjectID, m.DestinationID, m.OperationID,
				m.Attempts, m.LastError, next, m.CreateTime.UnixMilli())
		})
	if err != nil {
		return mapErr(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO outbox_bodies (seq, body) VALUES (?, ?)`)
	if err != nil {
		return mapErr(err)
	}
	defer stmt.Close()
	for i, m := range todo {
		if _, err := stmt.ExecContext(ctx, base+int64(i)+1, m.Body); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// EnqueueMessages implements runtime.OutboxStore.
func (s *Store) EnqueueMessages(ctx context.Context, msgs []*runtime.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		return enqueue(ctx, tx, s.nowMillis(), msgs)
	})
	if err != nil {
		return fmt.Errorf("sqlite: enqueue %d messages: %w", len(msgs), err)
	}
	return nil
}

// claimMessagesQuery selects the due messages of enabled destinations, with
// their bodies, for ClaimMessages.
const claimMessagesQuery = `SELECT o.seq, o.id, o.project_id, o.destination_id, o.operation_id, o.attempts,
		o.last_error, o.create_time, b.body
	FROM outbox AS o INDEXED BY outbox_due
	CROSS JOIN destinations AS d ON d.project_id = o.project_id AND d.id = o.destination_id
	CROSS JOIN outbox_bodies AS b ON b.seq = o.seq
	WHERE o.next_attempt IS NOT NULL AND o.next_attempt <= ? AND d.disabled = 0
	ORDER BY o.next_attempt, o.seq
	LIMIT ?`

// countMessagesQuery counts a destination's messages from the index
// outbox_destination alone.
const countMessagesQuery = `SELECT (SELECT count(*) FROM outbox WHERE project_id = ?1 AND destination_id = ?2)
	FROM destinations WHERE project_id = ?1 AND id = ?2`

// ClaimMessages implements runtime.OutboxStore. The select and the update
// of next_attempt run in one write transaction on the single writer
// connection, so two claims never return the same message.
//
// The due messages are read from outbox_due in (next_attempt, enqueue)
// order; the CROSS JOIN keeps outbox the outer loop, so a claim reads no
// more index entries than it returns (plus the rare message of a disabled
// destination that a retry made due; the destination check skips it).
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]*runtime.OutboxMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := runtime.Millis(now.Add(hold))
	var out []*runtime.OutboxMessage
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, claimMessagesQuery, now.UnixMilli(), limit)
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		seqs := make([]int64, 0, limit)
		for rows.Next() {
			var m runtime.OutboxMessage
			var seq, ct int64
			if err := rows.Scan(&seq, &m.ID, &m.ProjectID, &m.DestinationID, &m.OperationID, &m.Attempts,
				&m.LastError, &ct, &m.Body); err != nil {
				return mapErr(err)
			}
			m.CreateTime = time.UnixMilli(ct).UTC()
			m.NextAttempt = until
			seqs = append(seqs, seq)
			out = append(out, &m)
		}
		if err := rows.Err(); err != nil {
			return mapErr(err)
		}
		rows.Close()
		if len(seqs) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET next_attempt = ? WHERE seq IN (SELECT value FROM json_each(?))`,
			until.UnixMilli(), jsonInts(seqs))
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim messages: %w", err)
	}
	return out, nil
}

// AckMessages implements runtime.OutboxStore. IDs that are not queued in
// the project (already acknowledged, deleted with their destination, or of
// another project) are ignored: acknowledging is idempotent.
func (s *Store) AckMessages(ctx context.Context, projectID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	// The cascade deletes the bodies (outbox_bodies.seq is the rowid).
	_, err := s.write.ExecContext(ctx, `DELETE FROM outbox WHERE project_id = ? AND id IN (SELECT value FROM json_each(?))`,
		projectID, jsonList(ids))
	if err != nil {
		return fmt.Errorf("sqlite: ack %d messages: %w", len(ids), mapErr(err))
	}
	return nil
}

// RetryMessage implements runtime.OutboxStore. A message whose destination
// was disabled meanwhile stays held.
func (s *Store) RetryMessage(ctx context.Context, projectID, id string, attempts int, next time.Time, lastError string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE outbox SET attempts = ?, last_error = ?,
			next_attempt = CASE WHEN (SELECT d.disabled FROM destinations d
				WHERE d.project_id = outbox.project_id AND d.id = outbox.destination_id) THEN NULL ELSE ? END
		WHERE project_id = ? AND id = ?`,
		attempts, lastError, runtime.Millis(next).UnixMilli(), projectID, id)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "message %q not found", id) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: retry message %q: %w", id, mapErr(err))
	}
	return nil
}

// CountMessages implements runtime.OutboxStore. It counts index entries of
// outbox_destination and never reads a body. Returns ENOTFOUND if the
// project has no such destination.
func (s *Store) CountMessages(ctx context.Context, projectID, destinationID string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, countMessagesQuery, projectID, destinationID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", destinationID)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: count messages of destination %q: %w", destinationID, mapErr(err))
	}
	return n, nil
}

// DestinationFailed implements runtime.OutboxStore: in one transaction it
// counts the failure, and when the rule is met disables the destination,
// holds its queued messages and enqueues f.Notification.
func (s *Store) DestinationFailed(ctx context.Context, f runtime.DestinationFailure) (bool, error) {
	now := runtime.Millis(f.Now)
	if now.IsZero() {
		now = s.nowMillis()
	}
	var disabled bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		disabled = false
		var already bool
		var failures int
		var since sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT disabled, failures, failing_since FROM destinations WHERE project_id = ? AND id = ?`,
			f.ProjectID, f.DestinationID).Scan(&already, &failures, &since)
		if errors.Is(err, sql.ErrNoRows) {
			return runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", f.DestinationID)
		}
		if err != nil {
			return mapErr(err)
		}
		if already {
			return nil
		}
		failures++
		failingSince := fromMillis(since)
		if failingSince.IsZero() {
			failingSince = now
		}
		disabled = f.MaxFailures > 0 && failures >= f.MaxFailures ||
			f.Window > 0 && now.Sub(failingSince) >= f.Window
		if !disabled {
			_, err := tx.ExecContext(ctx, `UPDATE destinations SET failures = ?, failing_since = ? WHERE project_id = ? AND id = ?`,
				failures, failingSince.UnixMilli(), f.ProjectID, f.DestinationID)
			return mapErr(err)
		}
		reason := fmt.Sprintf("disabled after %d consecutive failed deliveries since %s", failures, failingSince.Format(time.RFC3339))
		if _, err := tx.ExecContext(ctx, `UPDATE destinations SET failures = ?, failing_since = ?, disabled = 1, disabled_reason = ?,
				update_time = ? WHERE project_id = ? AND id = ?`,
			failures, failingSince.UnixMilli(), reason, s.nowMillis().UnixMilli(), f.ProjectID, f.DestinationID); err != nil {
			return mapErr(err)
		}
		if err := holdMessages(ctx, tx, f.ProjectID, f.DestinationID); err != nil {
			return err
		}
		if f.Notification == nil {
			return nil
		}
		if f.Notification.ProjectID == "" {
			f.Notification.ProjectID = f.ProjectID
		} else if f.Notification.ProjectID != f.ProjectID {
			return runtime.Errorf(runtime.EINVALID, "the notification belongs to project %q, not %q", f.Notification.ProjectID, f.ProjectID)
		}
		return enqueue(ctx, tx, s.nowMillis(), []*runtime.OutboxMessage{f.Notification})
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: record a failed delivery to destination %q: %w", f.DestinationID, err)
	}
	return disabled, nil
}

// DestinationSucceeded implements runtime.OutboxStore. Delivery calls it
// after every successful delivery, so it reads first, on the read pool, and
// takes the writer only when there is a failure count to reset.
// Returns ENOTFOUND if the project has no such destination.
func (s *Store) DestinationSucceeded(ctx context.Context, projectID, destinationID string) error {
	var failures int
	var since sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT failures, failing_since FROM destinations WHERE project_id = ? AND id = ?`,
		projectID, destinationID).Scan(&failures, &since)
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", destinationID)
	}
	if err == nil && (failures != 0 || since.Valid) {
		_, err = s.write.ExecContext(ctx, `UPDATE destinations SET failures = 0, failing_since = NULL
			WHERE project_id = ? AND id = ? AND (failures <> 0 OR failing_since IS NOT NULL)`, projectID, destinationID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: record a delivery to destination %q: %w", destinationID, mapErr(err))
	}
	return nil
}

// holdMessages takes a disabled destination's queued messages out of
// ClaimMessages's index.
func holdMessages(ctx context.Context, tx *sql.Tx, projectID, destinationID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt = NULL
		WHERE project_id = ? AND destination_id = ? AND next_attempt IS NOT NULL`, projectID, destinationID)
	return mapErr(err)
}

// releaseMessages makes every queued message of the destination due at now.
func releaseMessages(ctx context.Context, tx *sql.Tx, projectID, destinationID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt = ? WHERE project_id = ? AND destination_id = ?`,
		now.UnixMilli(), projectID, destinationID)
	return mapErr(err)
}
