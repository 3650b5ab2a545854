// Package runtime is the vocabulary of amp's runtime (amp serve): the domain
// types every runtime package shares (Project, ProviderApp, Integration,
// Revision, Installation and its ConfigContent, Connection, Destination,
// APIKey, OAuthState), the error codes they fail with (Error, ErrorCode), and
// the interfaces the runtime consumes, starting with Store.
//
// The package holds no implementation: runtime/sqlite (and later
// runtime/postgres) implement Store, runtime/storetest is the conformance
// suite both pass, and runtime/api, runtime/oauth, runtime/engine and the
// rest depend on these interfaces, never on each other's internals. Only
// runtime/server and cmd/amp know every concrete type.
//
// Rules: this package imports only the standard library. It must not import
// manifest, providers, any database driver, net/http or another runtime
// package; manifest and providers never import it.
//
// # Tenant isolation
//
// Every Store method that reads or writes a project's data takes the
// project's ID and scopes its query by it: a row that belongs to another
// project is reported exactly like a row that does not exist (ENOTFOUND), so
// a caller cannot even learn that it exists. The only lookups that are not
// scoped are the two that establish which project a request belongs to, and
// they are keyed by an unguessable secret: an API key's hash
// (Store.GetAPIKeyByHash) and an OAuth state (Store.ConsumeOAuthState).
//
// # Secrets
//
// Fields of type []byte named after a secret (ProviderApp.ClientSecret,
// Connection.Tokens, Destination.SigningSecret, OAuthState.PKCEVerifier) hold
// values already sealed by the caller (runtime/seal). A Store stores and
// returns those bytes as they are and never sees plaintext. API keys are
// stored as hashes (APIKey.KeyHash). None of these fields is ever encoded to
// JSON (their tags are "-").
//
// # JSON
//
// Fields carry JSON tags with the names of Ampersand's management API where a
// field maps one to one (api_api.yaml, config_config.yaml), so runtime/api
// can encode them directly. Fields the API nests differently (an
// installation's group and connection, a revision's content served as JSON)
// or does not expose are tagged "-", and runtime/api builds those parts.
//
// # Times
//
// A Store keeps times at millisecond precision in UTC: every time it returns,
// whether it set it (CreateTime, UpdateTime) or was given it (ExpireTime,
// TokenExpiry), is truncated to the millisecond and in UTC, so what a write
// returns equals what a later read returns. The zero time means "not set".
package runtime
