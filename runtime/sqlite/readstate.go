package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime"
)

const readStateColumns = `project_id, integration_id, installation_id, object_name, schedule, next_run, paused, pause_note,
	backfill_done, watermark, sync, create_time, update_time`

func scanReadState(sc scanner) (*runtime.ReadState, error) {
	var st runtime.ReadState
	var nextRun, watermark, ct, ut sql.NullInt64
	var sync sql.NullString
	if err := sc.Scan(&st.ProjectID, &st.IntegrationID, &st.InstallationID, &st.ObjectName, &st.Schedule, &nextRun,
		&st.Paused, &st.PauseNote, &st.BackfillDone, &watermark, &sync, &ct, &ut); err != nil {
		return nil, err
	}
	if sync.Valid {
		st.Sync = json.RawMessage(sync.String)
	}
	st.NextRun, st.Watermark, st.CreateTime, st.UpdateTime = fromMillis(nextRun), fromMillis(watermark), fromMillis(ct), fromMillis(ut)
	return &st, nil
}

func getReadState(ctx context.Context, q querier, projectID, installationID, objectName string) (*runtime.ReadState, error) {
	st, err := scanReadState(q.QueryRowContext(ctx, `SELECT `+readStateColumns+` FROM read_states
		WHERE project_id = ? AND installation_id = ? AND object_name = ?`, projectID, installationID, objectName))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "installation %q has no read state for %q", installationID, objectName)
	}
	return st, mapErr(err)
}

// installationIntegration returns the integration of the project's
// installation, or ENOTFOUND.
func installationIntegration(ctx context.Context, q querier, projectID, installationID string) (string, error) {
	var integrationID string
	err := q.QueryRowContext(ctx, `SELECT integration_id FROM installations WHERE project_id = ? AND id = ?`,
		projectID, installationID).Scan(&integrationID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", installationID)
	}
	return integrationID, mapErr(err)
}

// fillOperation gives op the read state's project, integration,
// installation and object where it has none, and refuses one that names
// others, or that is not a read: a read state only ever schedules reads.
func fillOperation(op *runtime.Operation, st *runtime.ReadState) error {
	if op.ActionType != runtime.ActionRead {
		return runtime.Errorf(runtime.EINVALID, "a read state schedules reads, not operations of actionType %q", op.ActionType)
	}
	for _, f := range []struct {
		name string
		dst  *string
		v    string
	}{
		{"projectId", &op.ProjectID, st.ProjectID},
		{"integrationId", &op.IntegrationID, st.IntegrationID},
		{"installationId", &op.InstallationID, st.InstallationID},
		{"objectName", &op.ObjectName, st.ObjectName},
	} {
		switch *f.dst {
		case "":
			*f.dst = f.v
		case f.v:
		default:
			return runtime.Errorf(runtime.EINVALID, "operation %s %q differs from its read state's %q", f.name, *f.dst, f.v)
		}
	}
	return op.Validate()
}

// SyncReadStates implements runtime.ReadStateStore. Everything, the new
// states' backfill operations included, is one transaction; each spec's
// Backfill is filled in as stored when it is created.
// Returns EINVALID if two specs name one object or a backfill operation
// fails Validate, is not a read, or names another installation or object.
func (s *Store) SyncReadStates(ctx context.Context, projectID, installationID string, specs []runtime.ReadStateSpec) ([]string, error) {
	seen := make(map[string]bool, len(specs))
	for _, sp := range specs {
		if sp.ObjectName == "" {
			return nil, fmt.Errorf("sqlite: sync read states: %w", runtime.Errorf(runtime.EINVALID, "a read state spec has no objectName"))
		}
		if seen[sp.ObjectName] {
			return nil, fmt.Errorf("sqlite: sync read states: %w", runtime.Errorf(runtime.EINVALID, "two read state specs name object %q", sp.ObjectName))
		}
		seen[sp.ObjectName] = true
	}
	var created []string
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		created = nil
		integrationID, err := installationIntegration(ctx, tx, projectID, installationID)
		if err != nil {
			return err
		}
		schedules := map[string]string{}
		rows, err := tx.QueryContext(ctx, `SELECT object_name, schedule FROM read_states WHERE project_id = ? AND installation_id = ?`,
			projectID, installationID)
		if err != nil {
			return mapErr(err)
		}
		for rows.Next() {
			var name, schedule string
			if err := rows.Scan(&name, &schedule); err != nil {
				rows.Close()
				return mapErr(err)
			}
			schedules[name] = schedule
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return mapErr(err)
		}
		rows.Close()

		now := s.nowMillis()
		for _, sp := range specs {
			schedule, exists := schedules[sp.ObjectName]
			switch {
			case !exists:
				_, err := tx.ExecContext(ctx, `INSERT INTO read_states (`+readStateColumns+`)
					VALUES (?, ?, ?, ?, ?, ?, 0, '', 0, NULL, NULL, ?, ?)`,
					projectID, integrationID, installationID, sp.ObjectName, sp.Schedule, millis(runtime.Millis(sp.NextRun)),
					now.UnixMilli(), now.UnixMilli())
				if err != nil {
					return mapErr(err)
				}
				if sp.Backfill != nil {
					st := &runtime.ReadState{ProjectID: projectID, IntegrationID: integrationID, InstallationID: installationID, ObjectName: sp.ObjectName}
					if err := fillOperation(sp.Backfill, st); err != nil {
						return err
					}
					if err := createOperation(ctx, tx, now, sp.Backfill, false); err != nil {
						return err
					}
				}
				created = append(created, sp.ObjectName)
			case schedule != sp.Schedule:
				_, err := tx.ExecContext(ctx, `UPDATE read_states SET schedule = ?, next_run = ?, update_time = ?
					WHERE project_id = ? AND installation_id = ? AND object_name = ?`,
					sp.Schedule, millis(runtime.Millis(sp.NextRun)), now.UnixMilli(), projectID, installationID, sp.ObjectName)
				if err != nil {
					return mapErr(err)
				}
			}
		}
		// States without a spec lose their schedule, keep the rest.
		_, err = tx.ExecContext(ctx, `UPDATE read_states SET schedule = '', next_run = NULL, update_time = ?
			WHERE project_id = ? AND installation_id = ? AND (schedule <> '' OR next_run IS NOT NULL)
			AND object_name NOT IN (SELECT value FROM json_each(?))`,
			now.UnixMilli(), projectID, installationID, jsonList(slices.Collect(maps.Keys(seen))))
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: sync read states of installation %q: %w", installationID, err)
	}
	return created, nil
}

// GetReadState implements runtime.ReadStateStore.
func (s *Store) GetReadState(ctx context.Context, projectID, installationID, objectName string) (*runtime.ReadState, error) {
	st, err := getReadState(ctx, s.read, projectID, installationID, objectName)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get read state: %w", err)
	}
	return st, nil
}

// ListReadStates implements runtime.ReadStateStore. An installation the
// project does not have has no states.
func (s *Store) ListReadStates(ctx context.Context, projectID, installationID string) ([]*runtime.ReadState, error) {
	sts, err := queryList(ctx, s.read, scanReadState, `SELECT `+readStateColumns+` FROM read_states
		WHERE project_id = ? AND installation_id = ? ORDER BY object_name`, projectID, installationID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list read states of installation %q: %w", installationID, err)
	}
	return sts, nil
}

// SetReadsPaused implements runtime.ReadStateStore. It changes nothing when
// an object has no state.
func (s *Store) SetReadsPaused(ctx context.Context, projectID, installationID string, objects []string, paused bool, note string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := installationIntegration(ctx, tx, projectID, installationID); err != nil {
			return err
		}
		now := s.nowMillis().UnixMilli()
		if len(objects) == 0 {
			_, err := tx.ExecContext(ctx, `UPDATE read_states SET paused = ?, pause_note = ?, update_time = ?
				WHERE project_id = ? AND installation_id = ?`, paused, note, now, projectID, installationID)
			return mapErr(err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT value FROM json_each(?) WHERE value NOT IN
			(SELECT object_name FROM read_states WHERE project_id = ? AND installation_id = ?)`,
			jsonList(objects), projectID, installationID)
		if err != nil {
			return mapErr(err)
		}
		var missing []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return mapErr(err)
			}
			missing = append(missing, name)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return mapErr(err)
		}
		rows.Close()
		if len(missing) > 0 {
			return runtime.Errorf(runtime.EINVALID, "installation %q has no read state for %s", installationID, strings.Join(quoteAll(missing), ", "))
		}
		_, err = tx.ExecContext(ctx, `UPDATE read_states SET paused = ?, pause_note = ?, update_time = ?
			WHERE project_id = ? AND installation_id = ? AND object_name IN (SELECT value FROM json_each(?))`,
			paused, note, now, projectID, installationID, jsonList(objects))
		return mapErr(err)
	})
	if err != nil {
		verb := "unpause"
		if paused {
			verb = "pause"
		}
		return fmt.Errorf("sqlite: %s reads of installation %q: %w", verb, installationID, err)
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// dueReadsQuery reads the partial index read_states_due (unpaused states
// with a next run) in order.
const dueReadsQuery = `SELECT ` + readStateColumns + ` FROM read_states INDEXED BY read_states_due
	WHERE paused = 0 AND next_run IS NOT NULL AND next_run <= ?
	ORDER BY next_run, rowid LIMIT ?`

// DueReads implements runtime.ReadStateStore.
func (s *Store) DueReads(ctx context.Context, now time.Time, limit int) ([]*runtime.ReadState, error) {
	if limit <= 0 {
		return nil, nil
	}
	sts, err := queryList(ctx, s.read, scanReadState, dueReadsQuery, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due reads: %w", err)
	}
	return sts, nil
}

// ScheduleRead implements runtime.ReadStateStore. op is filled in with the
// state's project, integration, installation and object where it has none,
// and as stored when it is created; a nil op only moves NextRun. Only the
// object's reads count as "already queued or in progress": writes run in a
// lane of their own.
// Returns EINVALID if op fails Validate, is not a read, or names another
// installation or object.
func (s *Store) ScheduleRead(ctx context.Context, projectID, installationID, objectName string, nextRun time.Time, op *runtime.Operation) (bool, error) {
	var created bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		created = false
		st, err := getReadState(ctx, tx, projectID, installationID, objectName)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		if _, err := tx.ExecContext(ctx, `UPDATE read_states SET next_run = ?, update_time = ?
			WHERE project_id = ? AND installation_id = ? AND object_name = ?`,
			millis(runtime.Millis(nextRun)), now.UnixMilli(), projectID, installationID, objectName); err != nil {
			return mapErr(err)
		}
		if op == nil {
			return nil
		}
		if err := fillOperation(op, st); err != nil {
			return err
		}
		active, err := activeOperation(ctx, tx, projectID, installationID, objectName, runtime.ActionRead)
		if err != nil || active {
			return err
		}
		if err := createOperation(ctx, tx, now, op, false); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: schedule a read of %q for installation %q: %w", objectName, installationID, err)
	}
	return created, nil
}
