-- 0004_embed: what embedding and the `amp` CLI's deploy need (issue 8):
-- the public keys that verify front-end JWTs, and deploy source uploads.
--
-- Conventions as in 0001_init. Besides:
--   * A JWT key's id is the kid its tokens carry, so it is unique across
--     projects (the primary key); a project registers a public key once
--     (its fingerprint, the SHA-256 of the DER key).
--   * An upload is found by the hash of the secret in its URL, never by the
--     secret; its content stays NULL until the PUT and is written once.

CREATE TABLE jwt_keys (
	id          TEXT PRIMARY KEY,
	project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	label       TEXT NOT NULL,
	algorithm   TEXT NOT NULL,            -- EdDSA, ES256 or RS256
	public_key  BLOB NOT NULL,            -- DER SubjectPublicKeyInfo
	fingerprint BLOB NOT NULL,            -- SHA-256 of public_key
	create_time INTEGER NOT NULL,
	UNIQUE (project_id, id),
	UNIQUE (project_id, fingerprint)
) STRICT;

CREATE TABLE uploads (
	id          TEXT PRIMARY KEY,
	project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	token_hash  BLOB NOT NULL UNIQUE,     -- SHA-256 of the URL's secret
	md5         BLOB NOT NULL,            -- the announced Content-MD5
	content     BLOB,                     -- the zip; NULL until uploaded
	create_time INTEGER NOT NULL,
	expire_time INTEGER NOT NULL,
	upload_time INTEGER,                  -- NULL until uploaded
	UNIQUE (project_id, id)
) STRICT;

CREATE INDEX uploads_expire ON uploads (expire_time);
