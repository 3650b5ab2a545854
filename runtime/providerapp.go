package runtime

import "time"

// ProviderApp is a builder's OAuth client registered with a provider
// (Salesforce connected app, HubSpot public app, Entra ID app registration).
// A project has at most one per provider; its connections are made and
// refreshed with it.
type ProviderApp struct {
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	// Provider is the catalog name: salesforce, hubspot, dynamics.
	Provider string `json:"provider"`
	// ExternalRef is the provider's own ID for the app, when the builder
	// gives one.
	ExternalRef string `json:"externalRef,omitzero"`
	ClientID    string `json:"clientId"`
	// ClientSecret is the OAuth client secret, sealed by the caller
	// (seal.PurposeClientSecret, AAD projectID|ID|"clientSecret"). Empty for
	// a public client that relies on PKCE alone.
	ClientSecret []byte `json:"-"`
	// Scopes are scopes the builder wants requested on top of those the
	// manifest needs (Ampersand's provider-app scopes).
	Scopes     []string            `json:"scopes,omitzero"`
	Metadata   ProviderAppMetadata `json:"metadata,omitzero"`
	CreateTime time.Time           `json:"createTime"`
	UpdateTime time.Time           `json:"updateTime,omitzero"`
}

// ProviderAppMetadata is provider-specific configuration that extends the
// standard OAuth flow (Ampersand's ProviderAppMetadata).
type ProviderAppMetadata struct {
	// AuthQueryParams are extra query parameters for the authorize URL, for
	// example HubSpot's optional_scope.
	AuthQueryParams map[string][]string `json:"authQueryParams,omitzero"`
	// ProviderParams are provider-specific values, for example Salesforce's
	// packageInstallURL, which @amp-labs/react shows as a first step.
	ProviderParams map[string]string `json:"providerParams,omitzero"`
}

// Validate returns an EINVALID error when a required field is missing.
func (a *ProviderApp) Validate() error {
	if err := required("provider app projectId", a.ProjectID); err != nil {
		return err
	}
	if err := required("provider app provider", a.Provider); err != nil {
		return err
	}
	return required("provider app clientId", a.ClientID)
}
