-- 0002_engine: what the read engine and delivery keep (operations and their
-- logs, read states, the outbox) and the destinations' delivery state.
--
-- Conventions as in 0001_init. Besides:
--   * Deleting an installation deletes its read states and all of its
--     operations, finished ones included, with their logs (composite foreign
--     keys, ON DELETE CASCADE): an operation always names a live
--     installation. The outbox messages those operations produced stay
--     queued and are delivered (outbox.operation_id is not a foreign key).
--   * Deleting a destination deletes its queued messages.
--   * An outbox message's body lives in its own table, outbox_bodies, written
--     once and deleted with the message. SQLite rewrites (or at least reads)
--     a whole record when any column of it changes, so with the body in the
--     same row every claim and retry would move the message's hundreds of
--     kilobytes again; apart, they touch a row of a few dozen bytes.

ALTER TABLE destinations ADD COLUMN receives_notifications INTEGER NOT NULL DEFAULT 0;
ALTER TABLE destinations ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE destinations ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN failing_since INTEGER;
ALTER TABLE destinations ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

CREATE TABLE operations (
	id              TEXT PRIMARY KEY,
	project_id      TEXT NOT NULL,
	integration_id  TEXT NOT NULL,
	installation_id TEXT NOT NULL,
	config_id       TEXT NOT NULL,
	object_name     TEXT NOT NULL,
	action_type     TEXT NOT NULL,
	read_type       TEXT NOT NULL,
	status          TEXT NOT NULL,        -- queued, in_progress, success, failure
	since           INTEGER,
	until           INTEGER,
	checkpoint      TEXT,                 -- JSON, opaque; NULL before the first page
	processed       INTEGER NOT NULL,
	estimated       INTEGER NOT NULL,     -- -1: unknown
	attempts        INTEGER NOT NULL,
	result          TEXT NOT NULL,
	error           TEXT NOT NULL,
	run_at          INTEGER NOT NULL,
	lease_owner     TEXT NOT NULL,        -- '' when no worker holds it
	lease_expiry    INTEGER,
	create_time     INTEGER NOT NULL,
	update_time     INTEGER NOT NULL,
	end_time        INTEGER,
	UNIQUE (project_id, id),
	FOREIGN KEY (project_id, installation_id) REFERENCES installations (project_id, id) ON DELETE CASCADE
) STRICT;

-- ClaimOperation walks the queued operations by run_at (the index's rowid
-- suffix breaks ties in creation order) and the in-progress ones, whose
-- leases it checks; both are (status, run_at) ranges.
CREATE INDEX operations_claim ON operations (status, run_at);
-- The live-lease and "already queued or running" checks, the installation
-- filter of ListOperations, and the cascade from installations.
CREATE INDEX operations_object ON operations (project_id, installation_id, object_name, status);
-- ListOperations without a filter: newest first.
CREATE INDEX operations_project ON operations (project_id, create_time);

CREATE TABLE operation_logs (
	seq          INTEGER PRIMARY KEY,     -- assigned in order by the store
	project_id   TEXT NOT NULL,
	operation_id TEXT NOT NULL,
	time         INTEGER NOT NULL,
	severity     TEXT NOT NULL,
	message      TEXT NOT NULL,
	error        TEXT NOT NULL,
	details      TEXT NOT NULL,           -- JSON object
	FOREIGN KEY (project_id, operation_id) REFERENCES operations (project_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX operation_logs_operation ON operation_logs (project_id, operation_id, seq);

CREATE TABLE read_states (
	project_id      TEXT NOT NULL,
	integration_id  TEXT NOT NULL,
	installation_id TEXT NOT NULL,
	object_name     TEXT NOT NULL,
	schedule        TEXT NOT NULL,        -- cron; '' when none
	next_run        INTEGER,              -- NULL: no scheduled read
	paused          INTEGER NOT NULL,
	pause_note      TEXT NOT NULL,
	backfill_done   INTEGER NOT NULL,
	watermark       INTEGER,
	sync            TEXT,                 -- JSON, opaque
	create_time     INTEGER NOT NULL,
	update_time     INTEGER NOT NULL,
	PRIMARY KEY (project_id, installation_id, object_name),
	FOREIGN KEY (project_id, installation_id) REFERENCES installations (project_id, id) ON DELETE CASCADE
) STRICT;

-- DueReads: the unpaused states with a next run, soonest first.
CREATE INDEX read_states_due ON read_states (next_run) WHERE paused = 0 AND next_run IS NOT NULL;

CREATE TABLE outbox (
	seq            INTEGER PRIMARY KEY,   -- enqueue order, assigned by the store
	id             TEXT NOT NULL,         -- webhook-id
	project_id     TEXT NOT NULL,
	destination_id TEXT NOT NULL,
	operation_id   TEXT NOT NULL,         -- '' when none; not a reference
	attempts       INTEGER NOT NULL,
	last_error     TEXT NOT NULL,
	-- When the message may be sent. NULL while its destination is disabled
	-- (the message is held, and ClaimMessages's index does not list it);
	-- re-enabling the destination sets it to the time of re-enabling.
	next_attempt   INTEGER,
	create_time    INTEGER NOT NULL,
	UNIQUE (project_id, id),
	FOREIGN KEY (project_id, destination_id) REFERENCES destinations (project_id, id) ON DELETE CASCADE
) STRICT;

-- ClaimMessages: due messages, next_attempt then enqueue order (the rowid
-- suffix of the index).
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE next_attempt IS NOT NULL;
-- CountMessages, holding and releasing a destination's messages, and the
-- cascade from destinations.
CREATE INDEX outbox_destination ON outbox (project_id, destination_id);

CREATE TABLE outbox_bodies (
	seq  INTEGER PRIMARY KEY REFERENCES outbox (seq) ON DELETE CASCADE,
	body BLOB NOT NULL
) STRICT;
