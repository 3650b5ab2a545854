-- 0003_writes: asynchronous writes. Write operations share the operations
-- table with reads (action_type 'write', read_type ''), and the Write API
-- keeps its idempotency records and the echoes of its writes.
--
-- Conventions as in 0001_init and 0002_engine. Besides:
--   * An object's reads and its writes are two independent lanes: the
--     live-lease check of ClaimOperation and the "already queued or running"
--     check of exclusive creates and ScheduleRead compare the action type
--     too, so operations_object gains action_type before status.
--   * Idempotency records are keyed by the client's key within a project and
--     are not a reference to the operation they started (operation_id may
--     outlive it, or be '').
--   * Deleting an installation deletes its echoes (composite foreign key,
--     ON DELETE CASCADE).

-- Same name and purpose as 0002's index, one column longer: the lane checks
-- probe (project, installation, object, action type, status); the
-- installation filter of ListOperations and the cascade from installations
-- use its prefix as before.
DROP INDEX operations_object;
CREATE INDEX operations_object ON operations (project_id, installation_id, object_name, action_type, status);

CREATE TABLE idempotency (
	project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	key          TEXT NOT NULL,           -- the client's Idempotency-Key
	request_hash TEXT NOT NULL,
	status       INTEGER NOT NULL,        -- HTTP status; 0 while the first request runs
	response     BLOB,                    -- the first answer's body; NULL when empty
	operation_id TEXT NOT NULL,           -- '' when none; not a reference
	create_time  INTEGER NOT NULL,
	expire_time  INTEGER NOT NULL,
	PRIMARY KEY (project_id, key)
) STRICT;

-- DeleteExpiredWriteState.
CREATE INDEX idempotency_expiry ON idempotency (expire_time);

-- A write batch records and a read page takes a few thousand echoes at a
-- time, each a few dozen bytes: WITHOUT ROWID keeps them in their primary
-- key's b-tree alone, instead of a table plus an index of the same size.
CREATE TABLE echoes (
	project_id      TEXT NOT NULL,
	installation_id TEXT NOT NULL,
	object_name     TEXT NOT NULL,
	record_id       TEXT NOT NULL,
	fingerprint     TEXT NOT NULL,
	expire_time     INTEGER NOT NULL,
	PRIMARY KEY (project_id, installation_id, object_name, record_id),
	FOREIGN KEY (project_id, installation_id) REFERENCES installations (project_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- DeleteExpiredWriteState.
CREATE INDEX echoes_expiry ON echoes (expire_time);
