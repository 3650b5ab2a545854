package runtime

import (
	"context"
	"time"
)

// Store is the runtime's persistent state. runtime/sqlite implements it for a
// single node and runtime/postgres will for several; runtime/storetest is the
// conformance suite both pass, so callers may rely on every contract written
// here and on nothing else.
//
// Rules every method follows:
//   - Tenant isolation: a method that touches a project's rows takes the
//     project ID (as an argument, or as the ProjectID of the value it
//     creates) and never reads, changes or deletes a row of another project.
//     Such a row is reported as ENOTFOUND, exactly like a missing one. The
//     only unscoped lookups are GetAPIKeyByHash, ConsumeOAuthState and
//     GetUploadByTokenHash, keyed by secrets; LookupJWTKey, keyed by the kid
//     of a token whose signature the key then verifies; and the housekeeping
//     DeleteExpiredOAuthStates, DeleteExpiredUploads and
//     DeleteExpiredWriteState.
//   - Errors carry a code (ErrorCode): ENOTFOUND, ECONFLICT and EINVALID as
//     documented per method; anything else is EINTERNAL, and IsRetryable tells
//     whether it was transient (the database was busy).
//   - Create methods fill in an empty ID (NewID), CreateTime and UpdateTime;
//     update methods set UpdateTime. All times are UTC at millisecond
//     precision (Millis). What a write returns or fills in equals what a later
//     read returns.
//   - Sealed fields ([]byte secrets) are stored and returned as given.
//   - Every write is atomic, and no method holds a transaction open while it
//     waits on anything but the database.
//   - Methods are safe for concurrent use. The context bounds the call,
//     including the wait for a busy database.
type Store interface {
	ProjectStore
	ProviderAppStore
	IntegrationStore
	InstallationStore
	ConnectionStore
	DestinationStore
	APIKeyStore
	JWTKeyStore
	UploadStore
	OAuthStateStore
	OperationStore
	ReadStateStore
	OutboxStore
	WriteStateStore

	// Close releases the store's resources. Only the owner that opened the
	// store (runtime/server, a test) calls it, after every other call has
	// returned.
	Close() error
}

// ProjectStore keeps projects. The API layer resolves {projectIdOrName} with
// GetProject then GetProjectByName, and answers 404 unless the project is the
// API key's own.
type ProjectStore interface {
	// CreateProject creates p and fills in its ID (when empty), CreateTime
	// and UpdateTime. Called by `amp serve` on an empty data folder (project
	// "default") and by POST /projects.
	// Returns EINVALID if p fails Validate, ECONFLICT if the name or the ID
	// is taken.
	CreateProject(ctx context.Context, p *Project) error

	// GetProject returns the project with the ID.
	// Returns ENOTFOUND if there is none.
	GetProject(ctx context.Context, id string) (*Project, error)

	// GetProjectByName returns the project with the name.
	// Returns ENOTFOUND if there is none.
	GetProjectByName(ctx context.Context, name string) (*Project, error)

	// ListProjects returns every project, by name. It is for the server's
	// operator (amp serve's admin commands); the API layer filters it down to
	// the caller's project.
	ListProjects(ctx context.Context) ([]*Project, error)

	// UpdateProject changes the non-nil fields of upd and returns the
	// project. Called by PATCH /projects/{projectIdOrName}.
	// Returns ENOTFOUND if there is no such project, EINVALID if the result
	// fails Validate, ECONFLICT if the new name is taken.
	UpdateProject(ctx context.Context, id string, upd ProjectUpdate) (*Project, error)
}

// ProviderAppStore keeps provider apps (the builder's OAuth clients), at most
// one per project and provider. Called by the provider-apps routes and
// `amp provider-app set`, and read by the OAuth flow and token refresh.
type ProviderAppStore interface {
	// CreateProviderApp creates app in app.ProjectID.
	// Returns EINVALID if app fails Validate, ENOTFOUND if the project does
	// not exist, ECONFLICT if the project already has an app for the
	// provider or the ID is taken.
	CreateProviderApp(ctx context.Context, app *ProviderApp) error

	// GetProviderApp returns the app with the ID in the project.
	// Returns ENOTFOUND if there is none.
	GetProviderApp(ctx context.Context, projectID, id string) (*ProviderApp, error)

	// GetProviderAppByProvider returns the project's app for the provider:
	// what oauth-connect and refresh use.
	// Returns ENOTFOUND if there is none.
	GetProviderAppByProvider(ctx context.Context, projectID, provider string) (*ProviderApp, error)

	// ListProviderApps returns the project's apps, by provider.
	ListProviderApps(ctx context.Context, projectID string) ([]*ProviderApp, error)

	// UpdateProviderApp changes the non-nil fields of upd and returns the app.
	// The provider cannot change.
	// Returns ENOTFOUND if the project has no such app, EINVALID if the
	// result fails Validate.
	UpdateProviderApp(ctx context.Context, projectID, id string, upd ProviderAppUpdate) (*ProviderApp, error)

	// DeleteProviderApp deletes the app. Connections made with it stay, but
	// cannot be refreshed until an app for the provider exists again.
	// Returns ENOTFOUND if the project has no such app.
	DeleteProviderApp(ctx context.Context, projectID, id string) error
}

// ProviderAppUpdate holds the fields UpdateProviderApp may change; a nil field
// is left as it is.
type ProviderAppUpdate struct {
	ExternalRef *string
	ClientID    *string
	// ClientSecret, when not nil, replaces the sealed secret; an empty
	// non-nil slice clears it.
	ClientSecret []byte
	Scopes       *[]string
	Metadata     *ProviderAppMetadata
}

// IntegrationStore keeps integrations and their revisions. Called by the
// integrations, revisions and hydrate routes, `amp deploy` (through
// integrations:batch) and the engine.
type IntegrationStore interface {
	// DeployIntegrations deploys a batch atomically: either every entry is
	// applied or none is. For each entry, an integration of that name is
	// created with a first revision if the project has none; otherwise a
	// revision is added only if the entry's hash differs from the latest
	// revision's, and the integration's LatestRevisionID moves to it. The
	// results are in the order of deploys.
	// Returns EINVALID if deploys is empty, an entry fails Validate or two
	// entries share a name; ENOTFOUND if the project does not exist;
	// ECONFLICT if an existing integration has another provider.
	DeployIntegrations(ctx context.Context, projectID string, deploys []IntegrationDeploy) ([]DeployResult, error)

	// GetIntegration returns the integration with the ID, LatestRevision
	// filled in.
	// Returns ENOTFOUND if the project has none.
	GetIntegration(ctx context.Context, projectID, id string) (*Integration, error)

	// GetIntegrationByName returns the integration with the name,
	// LatestRevision filled in. The API resolves {integrationIdOrName} with
	// GetIntegration then GetIntegrationByName.
	// Returns ENOTFOUND if the project has none.
	GetIntegrationByName(ctx context.Context, projectID, name string) (*Integration, error)

	// ListIntegrations returns the project's integrations by name,
	// LatestRevision filled in.
	ListIntegrations(ctx context.Context, projectID string) ([]*Integration, error)

	// DeleteIntegration deletes the integration and its revisions.
	// Returns ENOTFOUND if the project has no such integration, ECONFLICT if
	// installations of it exist (delete them first).
	DeleteIntegration(ctx context.Context, projectID, id string) error

	// GetRevision returns a revision of the integration.
	// Returns ENOTFOUND if the project has no such integration or the
	// integration no such revision.
	GetRevision(ctx context.Context, projectID, integrationID, revisionID string) (*Revision, error)

	// ListRevisions returns the integration's revisions, newest first.
	// Returns ENOTFOUND if the project has no such integration.
	ListRevisions(ctx context.Context, projectID, integrationID string) ([]*Revision, error)
}

// InstallationStore keeps installations, at most one per integration and
// group. Called by the installations routes (create, get, list, patch,
// delete), `amp deploy` (to find the installations a change would break) and
// the engine.
type InstallationStore interface {
	// CreateInstallation creates in in in.ProjectID, filling in its ID,
	// Config.ID (when empty), Config.RevisionID (the integration's latest
	// revision, when empty), Config.CreateTime, CreateTime and UpdateTime.
	// Returns EINVALID if in fails Validate or its connection has another
	// provider or group than the installation; ENOTFOUND if the project has
	// no such integration or connection, or the integration no such
	// revision; ECONFLICT if the group already has an installation of the
	// integration or the ID is taken.
	CreateInstallation(ctx context.Context, in *Installation) error

	// GetInstallation returns the installation with the ID. Routes under an
	// integration must also check in.IntegrationID.
	// Returns ENOTFOUND if the project has none.
	GetInstallation(ctx context.Context, projectID, id string) (*Installation, error)

	// ListInstallations returns the project's installations that match the
	// filter, newest first (@amp-labs/react uses the first).
	ListInstallations(ctx context.Context, projectID string, filter InstallationFilter) ([]*Installation, error)

	// UpdateInstallation replaces the installation's config (and, when set
	// in upd, its connection and group name) and returns the installation.
	// The caller merges the request's update mask into the current config;
	// the store never merges.
	// Returns ENOTFOUND if the project has no such installation, or the
	// integration no such revision, or the project no such connection;
	// EINVALID if the config fails Validate or the connection has another
	// provider or group.
	UpdateInstallation(ctx context.Context, projectID, id string, upd InstallationUpdate) (*Installation, error)

	// DeleteInstallation deletes the installation; its connection stays.
	// Returns ENOTFOUND if the project has no such installation.
	DeleteInstallation(ctx context.Context, projectID, id string) error
}

// ConnectionStore keeps connections, at most one per project, provider and
// group. Called by the OAuth callback (create, re-authorise), the connections
// routes, token refresh and the engine.
type ConnectionStore interface {
	// CreateConnection creates c in c.ProjectID, filling in its ID (when
	// empty; seal the tokens with an ID from NewID instead), CreateTime,
	// UpdateTime and TokenVersion (1).
	// Returns EINVALID if c fails Validate, ENOTFOUND if the project does not
	// exist, ECONFLICT if the group already has a connection to the provider
	// (re-authorise it with UpdateConnectionTokens instead) or the ID is
	// taken.
	CreateConnection(ctx context.Context, c *Connection) error

	// GetConnection returns the connection with the ID.
	// Returns ENOTFOUND if the project has none.
	GetConnection(ctx context.Context, projectID, id string) (*Connection, error)

	// ListConnections returns the project's connections that match the
	// filter, newest first.
	ListConnections(ctx context.Context, projectID string, filter ConnectionFilter) ([]*Connection, error)

	// UpdateConnection changes the non-nil descriptive fields of upd and
	// returns the connection. It does not touch tokens, status or
	// TokenVersion. Called by PATCH /connections/{id} (providerMetadata).
	// Returns ENOTFOUND if the project has no such connection.
	UpdateConnection(ctx context.Context, projectID, id string, upd ConnectionUpdate) (*Connection, error)

	// UpdateConnectionTokens writes a new token set if the connection's
	// TokenVersion is still tokenVersion, increments TokenVersion and returns
	// the connection. Called after a refresh, a re-consent (:oauth-update)
	// or a token import. A caller that gets ECONFLICT lost a race: it reads
	// the connection again and uses the newer tokens.
	// Returns ENOTFOUND if the project has no such connection, ECONFLICT if
	// TokenVersion has moved on, EINVALID if t.Tokens is empty or t.Status
	// is not valid.
	UpdateConnectionTokens(ctx context.Context, projectID, id string, tokenVersion int64, t ConnectionTokens) (*Connection, error)

	// SetConnectionStatus sets the status and returns the connection. When
	// tokenVersion is not 0 the write happens only if TokenVersion is still
	// tokenVersion, so that "bad_credentials" found with old tokens cannot
	// mark a connection that was re-authorised meanwhile. TokenVersion does
	// not change. Called by refresh (bad_credentials) and the engine
	// (working). "working" never replaces "bad_credentials": a read that
	// began with the old access token may still succeed after the refresh
	// was refused, and must not hide the refusal; only new tokens
	// (UpdateConnectionTokens, the customer reconnecting) clear it.
	// Returns ENOTFOUND if the project has no such connection, ECONFLICT if
	// TokenVersion has moved on or "working" would replace
	// "bad_credentials", EINVALID if status is not valid.
	SetConnectionStatus(ctx context.Context, projectID, id string, tokenVersion int64, status ConnectionStatus) (*Connection, error)

	// DeleteConnection deletes the connection.
	// Returns ENOTFOUND if the project has no such connection, ECONFLICT if
	// installations use it.
	DeleteConnection(ctx context.Context, projectID, id string) error
}

// DestinationStore keeps destinations, unique by name in a project. Called by
// the destinations routes, `amp destination set` and delivery.
type DestinationStore interface {
	// CreateDestination creates d in d.ProjectID.
	// Returns EINVALID if d fails Validate, ENOTFOUND if the project does not
	// exist, ECONFLICT if the name or the ID is taken.
	CreateDestination(ctx context.Context, d *Destination) error

	// GetDestination returns the destination with the ID.
	// Returns ENOTFOUND if the project has none.
	GetDestination(ctx context.Context, projectID, id string) (*Destination, error)

	// GetDestinationByName returns the destination with the name.
	// Returns ENOTFOUND if the project has none.
	GetDestinationByName(ctx context.Context, projectID, name string) (*Destination, error)

	// ListDestinations returns the project's destinations, by name.
	ListDestinations(ctx context.Context, projectID string) ([]*Destination, error)

	// UpdateDestination changes the non-nil fields of upd and returns the
	// destination.
	// Returns ENOTFOUND if the project has no such destination, EINVALID if
	// the result fails Validate, ECONFLICT if the new name is taken.
	UpdateDestination(ctx context.Context, projectID, id string, upd DestinationUpdate) (*Destination, error)

	// DeleteDestination deletes the destination. Installation configs that
	// name it are not changed.
	// Returns ENOTFOUND if the project has no such destination.
	DeleteDestination(ctx context.Context, projectID, id string) error
}

// APIKeyStore keeps API keys by hash. Called by the API's authentication (on
// every request), the api-keys routes and `amp serve` (the first admin key).
type APIKeyStore interface {
	// CreateAPIKey creates k in k.ProjectID.
	// Returns EINVALID if k fails Validate, ENOTFOUND if the project does not
	// exist, ECONFLICT if the hash or the ID is taken.
	CreateAPIKey(ctx context.Context, k *APIKey) error

	// GetAPIKeyByHash returns the key with the hash (apikey.Hash), active or
	// not: the caller refuses inactive keys. It is not scoped by project:
	// the key is what tells the project.
	// Returns ENOTFOUND if there is none.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)

	// ListAPIKeys returns the project's keys, oldest first.
	ListAPIKeys(ctx context.Context, projectID string) ([]*APIKey, error)

	// UpdateAPIKey changes the non-nil fields of upd and returns the key.
	// Returns ENOTFOUND if the project has no such key, EINVALID if the
	// result fails Validate.
	UpdateAPIKey(ctx context.Context, projectID, id string, upd APIKeyUpdate) (*APIKey, error)

	// DeleteAPIKey deletes the key.
	// Returns ENOTFOUND if the project has no such key.
	DeleteAPIKey(ctx context.Context, projectID, id string) error
}

// JWTKeyStore keeps the public keys that verify front-end JWTs. Called by
// the API's authentication (Bearer tokens) and the jwt-keys routes.
type JWTKeyStore interface {
	// CreateJWTKey creates k in k.ProjectID.
	// Returns EINVALID if k fails Validate, ENOTFOUND if the project does not
	// exist, ECONFLICT if the ID is taken or the project already has a key
	// with the same fingerprint.
	CreateJWTKey(ctx context.Context, k *JWTKey) error

	// LookupJWTKey returns the key with the ID (a token's kid), whatever its
	// project: the key tells the project, and its signature check is the
	// authentication.
	// Returns ENOTFOUND if there is none.
	LookupJWTKey(ctx context.Context, id string) (*JWTKey, error)

	// ListJWTKeys returns the project's keys, oldest first.
	ListJWTKeys(ctx context.Context, projectID string) ([]*JWTKey, error)

	// DeleteJWTKey deletes the key; tokens it signed stop working at once.
	// Returns ENOTFOUND if the project has no such key.
	DeleteJWTKey(ctx context.Context, projectID, id string) error
}

// UploadStore keeps deploy source zips. Called by generate-upload-url
// (create), the upload URL (content), integrations:batch (get) and a
// periodic sweep (delete expired).
type UploadStore interface {
	// CreateUpload records u without content, filling in its ID and
	// CreateTime.
	// Returns EINVALID if u fails Validate, ENOTFOUND if the project does not
	// exist, ECONFLICT if the token hash or the ID is taken.
	CreateUpload(ctx context.Context, u *Upload) error

	// GetUploadByTokenHash returns the upload whose URL secret hashes to
	// hash, with or without content, expired or not (the caller checks).
	// Returns ENOTFOUND if there is none.
	GetUploadByTokenHash(ctx context.Context, hash []byte) (*Upload, error)

	// CompleteUpload stores the upload's content and UploadTime (now) and
	// returns the upload. Content is written once.
	// Returns ENOTFOUND if the project has no such upload, ECONFLICT if it
	// already has content.
	CompleteUpload(ctx context.Context, projectID, id string, content []byte, now time.Time) (*Upload, error)

	// GetUpload returns the project's upload, with its content if any.
	// Returns ENOTFOUND if the project has no such upload.
	GetUpload(ctx context.Context, projectID, id string) (*Upload, error)

	// DeleteExpiredUploads deletes every upload whose ExpireTime is before
	// before and returns how many it deleted.
	DeleteExpiredUploads(ctx context.Context, before time.Time) (int, error)
}

// OAuthStateStore keeps pending OAuth authorizations. Called by
// oauth-connect and :oauth-update (create), the OAuth callback (consume) and
// a periodic sweep (delete expired).
type OAuthStateStore interface {
	// CreateOAuthState records s, filling in CreateTime.
	// Returns EINVALID if s fails Validate, ENOTFOUND if the project does not
	// exist, ECONFLICT if the state value is taken.
	CreateOAuthState(ctx context.Context, s *OAuthState) error

	// ConsumeOAuthState marks the state used at now and returns it, if it is
	// unused and now is before its ExpireTime. This happens atomically: of
	// concurrent calls with the same state, exactly one succeeds. It is not
	// scoped by project: the state, a secret, is what tells the project.
	// Returns ENOTFOUND if there is no such state, EINVALID if it was already
	// used or has expired.
	ConsumeOAuthState(ctx context.Context, state string, now time.Time) (*OAuthState, error)

	// DeleteExpiredOAuthStates deletes every state, used or not, whose
	// ExpireTime is before before, and returns how many it deleted.
	DeleteExpiredOAuthStates(ctx context.Context, before time.Time) (int, error)
}
