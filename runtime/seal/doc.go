// Package seal encrypts secrets before they are written to the store: OAuth
// access and refresh tokens, provider-app client secrets, webhook signing
// secrets and PKCE verifiers. It also loads the master key (LoadKey) and
// provides Secret, a string wrapper that never prints or logs its value.
//
// # Format
//
// A Sealer holds one current 32-byte master key and any number of old ones.
// For every purpose ("amp/oauth-token/v1", ...) it derives a separate AES-256
// key from the master key with HKDF-SHA256, so a ciphertext of one kind can
// never be opened as another kind, and each purpose has its own GCM message
// budget. A sealed value is
//
//	version (1 byte) || key id (4 bytes) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// The nonce is random (cipher.NewGCMWithRandomNonce). The key id names the
// master key without revealing it, so Open picks the right key after a
// rotation, and a value sealed under a key the server does not hold fails
// with ErrUnknownKeyID instead of a vague authentication error. The version
// byte and key id are authenticated together with the caller's associated
// data, which should name where the value lives (AAD(projectID, rowID,
// column)): a ciphertext copied to another row, column or project fails to
// open with ErrTampered.
//
// Rotation: start the server with the new key as current and the old key as
// old; Open still reads everything, Seal writes under the new key, and a job
// calls NeedsReseal and Reseal on each row until no row needs it. Then the old
// key can be dropped.
//
// # Threat model
//
// Sealing protects secrets in a copy of the database that is separated from
// the key: a backup, a snapshot, a database file attached to a bug report or
// left on a disk, a read-only SQL injection, or a second operator with access
// to the database but not to the key. It also stops a writer to the database
// from moving a token from one customer's connection to another's, or from
// editing a ciphertext undetected.
//
// It does not protect against an attacker who holds the key: anyone who can
// read AMP_SECRET_KEY or <data>/secret-key (a root shell on the host, the
// server's own user, a leaked environment, a backup of the data folder that
// includes the key file) can open everything, and a compromised server process
// sees plaintext in memory. Keep the key out of database backups (AMP_SECRET_KEY
// from a secret manager is best in production). Sealing does not hide the
// length of a secret, which rows hold one, or when they change; and it cannot
// detect a writer replacing a row's ciphertext with an older ciphertext of the
// same row (a rollback), since both open correctly.
//
// Secrets never appear in errors from this package, nor does sealed data.
//
// This package uses only the standard library and must not import other amp
// packages.
package seal
