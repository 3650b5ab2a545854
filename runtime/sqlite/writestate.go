package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ampforge/amp/runtime"
)

const idempotencyColumns = `project_id, key, request_hash, status, response, operation_id, create_time, expire_time`

func scanIdempotency(sc scanner) (*runtime.IdempotencyRecord, error) {
	var rec runtime.IdempotencyRecord
	var ct, et int64
	if err := sc.Scan(&rec.ProjectID, &rec.Key, &rec.RequestHash, &rec.Status, &rec.Response, &rec.OperationID, &ct, &et); err != nil {
		return nil, err
	}
	rec.CreateTime, rec.ExpireTime = time.UnixMilli(ct).UTC(), time.UnixMilli(et).UTC()
	return &rec, nil
}

// beginIdempotentQuery records a request under its key: ?1 project, ?2
// key, ?3 hash, ?4 operation, ?5 now, ?6 expiry. A record that is still
// live at ?5 is left alone (the statement changes no row); an expired one
// is replaced in place. The WHERE true keeps SQLite from reading ON
// CONFLICT as a join constraint of the SELECT.
const beginIdempotentQuery = `INSERT INTO idempotency (` + idempotencyColumns + `)
	SELECT ?1, ?2, ?3, 0, NULL, ?4, ?5, ?6 WHERE true
	ON CONFLICT (project_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = 0, response = NULL,
		operation_id = excluded.operation_id, create_time = excluded.create_time, expire_time = excluded.expire_time
	WHERE idempotency.expire_time <= ?5`

// BeginIdempotent implements runtime.WriteStateStore. It returns nil when it
// recorded rec, and then fills in rec's CreateTime (the store's clock) and
// rounds its ExpireTime to the millisecond; the existing record otherwise.
// A record whose ExpireTime is not after now is expired. The upsert and the
// read of the existing record are one transaction on the single writer, so
// of concurrent calls with one key exactly one records.
// Returns ENOTFOUND if the project does not exist.
func (s *Store) BeginIdempotent(ctx context.Context, rec *runtime.IdempotencyRecord) (*runtime.IdempotencyRecord, error) {
	if rec == nil || rec.ProjectID == "" || rec.Key == "" || rec.RequestHash == "" || rec.ExpireTime.IsZero() {
		return nil, fmt.Errorf("sqlite: begin idempotent request: %w",
			runtime.Errorf(runtime.EINVALID, "an idempotency record needs a projectId, a key, a request hash and an expiry"))
	}
	var existing *runtime.IdempotencyRecord
	now := s.nowMillis()
	expire := runtime.Millis(rec.ExpireTime)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		existing = nil
		res, err := tx.ExecContext(ctx, beginIdempotentQuery, rec.ProjectID, rec.Key, rec.RequestHash, rec.OperationID,
			now.UnixMilli(), expire.UnixMilli())
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return runtime.Errorf(runtime.ENOTFOUND, "project %q not found", rec.ProjectID)
		}
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		existing, err = scanIdempotency(tx.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency
			WHERE project_id = ? AND key = ?`, rec.ProjectID, rec.Key))
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin idempotent request %q: %w", rec.Key, err)
	}
	if existing == nil {
		rec.Status, rec.Response, rec.CreateTime, rec.ExpireTime = 0, nil, now, expire
	}
	return existing, nil
}

// FinishIdempotent implements runtime.WriteStateStore. An empty response
// is stored as none (nil).
// Returns EINVALID if status is not positive.
func (s *Store) FinishIdempotent(ctx context.Context, projectID, key string, status int, response []byte, operationID string) error {
	if status <= 0 {
		return fmt.Errorf("sqlite: finish idempotent request %q: %w", key,
			runtime.Errorf(runtime.EINVALID, "an idempotent request finishes with an HTTP status, not %d", status))
	}
	res, err := s.write.ExecContext(ctx, `UPDATE idempotency SET status = ?, response = ?, operation_id = ?
		WHERE project_id = ? AND key = ?`, status, blob(response), operationID, projectID, key)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "idempotency key %q not found", key) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: finish idempotent request %q: %w", key, mapErr(err))
	}
	return nil
}

// AbandonIdempotent implements runtime.WriteStateStore. A finished record
// stays (its answer is what a retry must get), and a missing one is not an
// error: there is nothing left to abandon.
func (s *Store) AbandonIdempotent(ctx context.Context, projectID, key string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM idempotency WHERE project_id = ? AND key = ? AND status = 0`, projectID, key)
	if err != nil {
		return fmt.Errorf("sqlite: abandon idempotent request %q: %w", key, mapErr(err))
	}
	return nil
}

// recordEchoesQuery upserts a JSON array of [recordId, fingerprint] pairs
// (?4) in one statement: ?1 project, ?2 installation, ?3 object, ?5 expiry.
// A record named twice keeps its last pair.
const recordEchoesQuery = `INSERT INTO echoes (project_id, installation_id, object_name, record_id, fingerprint, expire_time)
	SELECT ?1, ?2, ?3, value ->> 0, value ->> 1, ?5 FROM json_each(?4) WHERE true
	ON CONFLICT (project_id, installation_id, object_name, record_id)
	DO UPDATE SET fingerprint = excluded.fingerprint, expire_time = excluded.expire_time`

// RecordEchoes implements runtime.WriteStateStore.
// Returns EINVALID if an echo has no record ID, ENOTFOUND if the project
// has no such installation.
func (s *Store) RecordEchoes(ctx context.Context, projectID, installationID, object string, echoes []runtime.Echo, expire time.Time) error {
	if len(echoes) == 0 {
		return nil
	}
	pairs := make([][2]string, len(echoes))
	for i, e := range echoes {
		if e.RecordID == "" {
			return fmt.Errorf("sqlite: record echoes of %q: %w", object, runtime.Errorf(runtime.EINVALID, "echo %d has no record ID", i))
		}
		pairs[i] = [2]string{e.RecordID, e.Fingerprint}
	}
	list, err := json.Marshal(pairs)
	if err != nil {
		return fmt.Errorf("sqlite: record echoes of %q: %w", object, err)
	}
	_, err = s.write.ExecContext(ctx, recordEchoesQuery, projectID, installationID, object, string(list), runtime.Millis(expire).UnixMilli())
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		err = runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", installationID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: record %d echoes of %q for installation %q: %w", len(echoes), object, installationID, mapErr(err))
	}
	return nil
}

// takeEchoesQuery deletes the echoes of a JSON array of record IDs (?4)
// and returns them, expired ones included: those are dead anyway, and
// deleting them here spares the housekeeping. ?1 project, ?2
// installation, ?3 object.
const takeEchoesQuery = `DELETE FROM echoes
	WHERE project_id = ?1 AND installation_id = ?2 AND object_name = ?3 AND record_id IN (SELECT value FROM json_each(?4))
	RETURNING record_id, fingerprint, expire_time`

// TakeEchoes implements runtime.WriteStateStore: one DELETE ... RETURNING,
// so the echoes it returns are gone in the same transaction. An echo whose
// expiry is not after now is expired. The map is never nil.
func (s *Store) TakeEchoes(ctx context.Context, projectID, installationID, object string, recordIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(recordIDs) == 0 {
		return out, nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		clear(out)
		now := s.nowMillis().UnixMilli()
		rows, err := tx.QueryContext(ctx, takeEchoesQuery, projectID, installationID, object, jsonList(recordIDs))
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, fingerprint string
			var expire int64
			if err := rows.Scan(&id, &fingerprint, &expire); err != nil {
				return mapErr(err)
			}
			if expire > now {
				out[id] = fingerprint
			}
		}
		return mapErr(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: take echoes of %q for installation %q: %w", object, installationID, err)
	}
	return out, nil
}

// DeleteExpiredWriteState implements runtime.WriteStateStore: the records
// and echoes whose expiry is not after before (walking their expiry
// indexes), finished or not.
func (s *Store) DeleteExpiredWriteState(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, q := range []string{
			`DELETE FROM idempotency WHERE expire_time <= ?`,
			`DELETE FROM echoes WHERE expire_time <= ?`,
		} {
			res, err := tx.ExecContext(ctx, q, before.UnixMilli())
			if err != nil {
				return mapErr(err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired write state: %w", err)
	}
	return int(n), nil
}
