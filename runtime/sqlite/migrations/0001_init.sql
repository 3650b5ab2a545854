-- 0001_init: the runtime foundation (issue 4).
--
-- Conventions:
--   * STRICT tables: SQLite refuses a value of the wrong type instead of
--     storing it anyway.
--   * Times are unix milliseconds (INTEGER, UTC); NULL means "not set".
--   * JSON columns are TEXT; sealed secrets, hashes and manifest bytes are
--     BLOB. The store never sees a plaintext secret.
--   * Every project-owned table has UNIQUE (project_id, id), and references
--     between project-owned rows are composite foreign keys on
--     (project_id, id): a row can only ever point at a row of its own
--     project, whatever the Go code does.

CREATE TABLE projects (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	app_name    TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

CREATE TABLE provider_apps (
	id            TEXT PRIMARY KEY,
	project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	provider      TEXT NOT NULL,
	external_ref  TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	client_secret BLOB,                   -- sealed
	scopes        TEXT NOT NULL,          -- JSON array
	metadata      TEXT NOT NULL,          -- JSON ProviderAppMetadata
	create_time   INTEGER NOT NULL,
	update_time   INTEGER NOT NULL,
	UNIQUE (project_id, provider),
	UNIQUE (project_id, id)
) STRICT;

CREATE TABLE integrations (
	id                 TEXT PRIMARY KEY,
	project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name               TEXT NOT NULL,
	provider           TEXT NOT NULL,
	-- The latest revision. No foreign key (revisions reference integrations);
	-- DeployIntegrations sets it in the transaction that inserts the revision.
	latest_revision_id TEXT NOT NULL,
	create_time        INTEGER NOT NULL,
	update_time        INTEGER NOT NULL,
	UNIQUE (project_id, name),
	UNIQUE (project_id, id)
) STRICT;

CREATE TABLE revisions (
	id             TEXT PRIMARY KEY,
	project_id     TEXT NOT NULL,
	integration_id TEXT NOT NULL,
	number         INTEGER NOT NULL,      -- 1, 2, ... per integration
	spec_version   TEXT NOT NULL,
	content        BLOB NOT NULL,         -- the manifest text as deployed
	hash           TEXT NOT NULL,
	create_time    INTEGER NOT NULL,
	UNIQUE (integration_id, number),
	UNIQUE (integration_id, id),
	FOREIGN KEY (project_id, integration_id) REFERENCES integrations (project_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE connections (
	id                     TEXT PRIMARY KEY,
	project_id             TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	provider               TEXT NOT NULL,
	provider_app_id        TEXT NOT NULL,
	group_ref              TEXT NOT NULL,
	group_name             TEXT NOT NULL,
	consumer_ref           TEXT NOT NULL,
	consumer_name          TEXT NOT NULL,
	provider_workspace_ref TEXT NOT NULL,
	provider_consumer_ref  TEXT NOT NULL,
	auth_scheme            TEXT NOT NULL,
	status                 TEXT NOT NULL,
	tokens                 BLOB,          -- sealed token set
	token_expiry           INTEGER,
	token_version          INTEGER NOT NULL,
	scopes                 TEXT NOT NULL, -- JSON array, as granted
	provider_metadata      TEXT NOT NULL, -- JSON map name -> ProviderMetadataInfo
	create_time            INTEGER NOT NULL,
	update_time            INTEGER NOT NULL,
	UNIQUE (project_id, provider, group_ref),
	UNIQUE (project_id, id)
) STRICT;

CREATE TABLE installations (
	id                 TEXT PRIMARY KEY,
	project_id         TEXT NOT NULL,
	integration_id     TEXT NOT NULL,
	group_ref          TEXT NOT NULL,
	group_name         TEXT NOT NULL,
	connection_id      TEXT NOT NULL,
	created_by         TEXT NOT NULL,
	config_id          TEXT NOT NULL,
	config_revision_id TEXT NOT NULL,
	config_create_time INTEGER NOT NULL,
	config_created_by  TEXT NOT NULL,
	config_content     TEXT NOT NULL,     -- JSON ConfigContent
	create_time        INTEGER NOT NULL,
	update_time        INTEGER NOT NULL,
	UNIQUE (project_id, integration_id, group_ref),
	UNIQUE (project_id, id),
	FOREIGN KEY (project_id, integration_id) REFERENCES integrations (project_id, id),
	FOREIGN KEY (project_id, connection_id) REFERENCES connections (project_id, id),
	FOREIGN KEY (integration_id, config_revision_id) REFERENCES revisions (integration_id, id)
) STRICT;

CREATE INDEX installations_connection ON installations (project_id, connection_id);
CREATE INDEX installations_config_revision ON installations (integration_id, config_revision_id);

CREATE TABLE destinations (
	id             TEXT PRIMARY KEY,
	project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	type           TEXT NOT NULL,
	metadata       TEXT NOT NULL,         -- JSON DestinationMetadata
	signing_secret BLOB,                  -- sealed
	create_time    INTEGER NOT NULL,
	update_time    INTEGER NOT NULL,
	UNIQUE (project_id, name),
	UNIQUE (project_id, id)
) STRICT;

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	key_hash    BLOB NOT NULL UNIQUE,     -- SHA-256 of the key
	label       TEXT NOT NULL,
	scopes      TEXT NOT NULL,            -- JSON array
	active      INTEGER NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	UNIQUE (project_id, id)
) STRICT;

CREATE INDEX api_keys_project ON api_keys (project_id, create_time);

CREATE TABLE oauth_states (
	state                  TEXT PRIMARY KEY,
	project_id             TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	provider               TEXT NOT NULL,
	provider_app_id        TEXT NOT NULL,
	group_ref              TEXT NOT NULL,
	group_name             TEXT NOT NULL,
	consumer_ref           TEXT NOT NULL,
	consumer_name          TEXT NOT NULL,
	connection_id          TEXT NOT NULL,
	provider_workspace_ref TEXT NOT NULL,
	provider_metadata      TEXT NOT NULL, -- JSON
	scopes                 TEXT NOT NULL, -- JSON array, as requested
	pkce_verifier          BLOB,          -- sealed
	redirect_uri           TEXT NOT NULL,
	expire_time            INTEGER NOT NULL,
	used_time              INTEGER,
	create_time            INTEGER NOT NULL
) STRICT;

CREATE INDEX oauth_states_expire ON oauth_states (expire_time);
