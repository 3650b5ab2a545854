package runtime

import "time"

// ConnectionStatus is a connection's health, as Ampersand reports it.
type ConnectionStatus string

// The connection statuses.
const (
	// ConnectionCreated: the connection was just made, or its access token
	// was just refreshed.
	ConnectionCreated ConnectionStatus = "created"
	// ConnectionWorking: a request with the connection succeeded.
	ConnectionWorking ConnectionStatus = "working"
	// ConnectionBadCredentials: the provider refused the credentials or a
	// refresh (invalid_grant); the customer must reconnect (:oauth-update).
	ConnectionBadCredentials ConnectionStatus = "bad_credentials"
)

// Valid reports whether s is one of the statuses above.
func (s ConnectionStatus) Valid() bool {
	switch s {
	case ConnectionCreated, ConnectionWorking, ConnectionBadCredentials:
		return true
	}
	return false
}

// AuthSchemeOAuth2AuthorizationCode is the auth scheme of connections made
// through the OAuth authorization-code flow (with or without PKCE).
const AuthSchemeOAuth2AuthorizationCode = "oauth2/authorizationCode"

// Connection is a customer's authorization of a provider: the sealed tokens,
// the scopes the provider granted and what the token response told about the
// customer's account. A project has at most one connection per provider and
// group.
type Connection struct {
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	Provider  string `json:"provider"`
	// ProviderAppID is the provider app whose client obtained the tokens;
	// a refresh must use the same client.
	ProviderAppID string `json:"-"`
	// GroupRef and GroupName identify the customer (Ampersand's group);
	// ConsumerRef and ConsumerName the person who connected.
	GroupRef     string `json:"-"`
	GroupName    string `json:"-"`
	ConsumerRef  string `json:"-"`
	ConsumerName string `json:"-"`
	// ProviderWorkspaceRef is the customer's workspace at the provider (the
	// Salesforce My Domain, the Dynamics organisation), when there is one.
	ProviderWorkspaceRef string `json:"providerWorkspaceRef,omitzero"`
	// ProviderConsumerRef is the provider's ID of the user who connected.
	ProviderConsumerRef string `json:"providerConsumerRef,omitzero"`
	// AuthScheme is AuthSchemeOAuth2AuthorizationCode for OAuth connections.
	AuthScheme string           `json:"authScheme"`
	Status     ConnectionStatus `json:"status"`
	// Tokens is the token set (access and refresh token), sealed by the
	// caller (seal.PurposeOAuthToken, AAD projectID|ID|"tokens").
	Tokens []byte `json:"-"`
	// TokenExpiry is when the access token expires; zero when unknown.
	TokenExpiry time.Time `json:"-"`
	// TokenVersion counts the writes of Tokens, from 1. A token write names
	// the version it replaces and fails with ECONFLICT when another write
	// came first, so a refresh that lost a race cannot overwrite a newer
	// token (providers that rotate refresh tokens invalidate the older one).
	TokenVersion int64 `json:"-"`
	// Scopes are the scopes the provider granted.
	Scopes []string `json:"-"`
	// ProviderMetadata holds what the connection learnt about the account
	// (Salesforce instance URL, HubSpot portal id, Dynamics org URL) and what
	// the customer typed in (workspace).
	ProviderMetadata map[string]ProviderMetadataInfo `json:"providerMetadata,omitzero"`
	CreateTime       time.Time                       `json:"createTime"`
	UpdateTime       time.Time                       `json:"updateTime,omitzero"`
}

// ProviderMetadataInfo is one provider metadata value (Ampersand's
// ProviderMetadataInfo).
type ProviderMetadataInfo struct {
	Value string `json:"value"`
	// Source is input (typed by the customer), token (from the token
	// response) or provider (asked of the provider's API).
	Source      string `json:"source"`
	DisplayName string `json:"displayName,omitzero"`
}

// Validate returns an EINVALID error when a required field is missing or the
// status is unknown.
func (c *Connection) Validate() error {
	if err := required("connection projectId", c.ProjectID); err != nil {
		return err
	}
	if err := required("connection provider", c.Provider); err != nil {
		return err
	}
	if err := required("connection groupRef", c.GroupRef); err != nil {
		return err
	}
	if err := required("connection authScheme", c.AuthScheme); err != nil {
		return err
	}
	if !c.Status.Valid() {
		return Errorf(EINVALID, "connection status %q is not one of created, working, bad_credentials", c.Status)
	}
	return nil
}

// ConnectionFilter selects connections of a project; empty fields match
// everything.
type ConnectionFilter struct {
	Provider    string
	GroupRef    string
	ConsumerRef string
}

// ConnectionTokens is a token write: the new sealed token set and what comes
// with it.
type ConnectionTokens struct {
	// Tokens is the new sealed token set; required.
	Tokens []byte
	// TokenExpiry is the new access token's expiry; zero when unknown.
	TokenExpiry time.Time
	// Scopes, when not nil, replaces the granted scopes (a re-consent can
	// change them; a refresh usually does not).
	Scopes []string
	// Status is the connection's new status: ConnectionCreated after a
	// refresh or a re-consent, per Ampersand's semantics.
	Status ConnectionStatus
	// ProviderMetadata, when not nil, replaces the provider metadata (a
	// re-consent may report a new instance URL).
	ProviderMetadata map[string]ProviderMetadataInfo
}

// ConnectionUpdate holds the descriptive fields UpdateConnection may change;
// a nil field is left as it is. Tokens and status change only through the
// version-checked methods.
type ConnectionUpdate struct {
	ProviderWorkspaceRef *string
	ProviderConsumerRef  *string
	GroupName            *string
	ConsumerName         *string
	// ProviderMetadata, when not nil, replaces the whole map.
	ProviderMetadata map[string]ProviderMetadataInfo
}
