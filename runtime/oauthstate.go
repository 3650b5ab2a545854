package runtime

import "time"

// OAuthState is a pending OAuth authorization: the state parameter sent to the
// provider and everything the callback needs to finish the connection. It is
// single-use and short-lived.
type OAuthState struct {
	// State is the value the provider sends back. It must be unguessable (at
	// least 128 random bits); the caller may store a hash of it instead and
	// look up the same hash.
	State     string
	ProjectID string
	Provider  string
	// ProviderAppID is the provider app whose client started the flow.
	ProviderAppID string
	GroupRef      string
	GroupName     string
	ConsumerRef   string
	ConsumerName  string
	// ConnectionID names the connection to re-authorise (:oauth-update);
	// empty for a new connection.
	ConnectionID string
	// ProviderWorkspaceRef and ProviderMetadata are what the customer typed
	// in before the flow (Salesforce My Domain, Dynamics org URL).
	ProviderWorkspaceRef string
	ProviderMetadata     map[string]ProviderMetadataInfo
	// Scopes are the scopes requested; the callback compares them with the
	// scopes granted.
	Scopes []string
	// PKCEVerifier is the PKCE code verifier, sealed by the caller
	// (seal.PurposePKCEVerifier, AAD projectID|State|"pkceVerifier").
	PKCEVerifier []byte
	// RedirectURI is the redirect_uri of the authorize request; the token
	// exchange must send the same one.
	RedirectURI string
	// ExpireTime is when the state stops being accepted; required.
	ExpireTime time.Time
	// UsedTime is when ConsumeOAuthState accepted it; zero while unused.
	UsedTime   time.Time
	CreateTime time.Time
}

// Validate returns an EINVALID error when a required field is missing.
func (s *OAuthState) Validate() error {
	if len(s.State) < 16 {
		return Errorf(EINVALID, "oauth state must be at least 16 characters")
	}
	if err := required("oauth state projectId", s.ProjectID); err != nil {
		return err
	}
	if err := required("oauth state provider", s.Provider); err != nil {
		return err
	}
	if err := required("oauth state groupRef", s.GroupRef); err != nil {
		return err
	}
	if s.ExpireTime.IsZero() {
		return Errorf(EINVALID, "oauth state expireTime is required")
	}
	return nil
}
