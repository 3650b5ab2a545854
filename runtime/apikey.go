package runtime

import (
	"crypto/sha256"
	"time"
)

// APIKey is a key that authenticates requests (X-Api-Key) for one project.
// Only its hash is stored: the key itself is shown once, when created.
type APIKey struct {
	ID        string `json:"-"`
	ProjectID string `json:"projectId"`
	// KeyHash is the key's SHA-256 (runtime/apikey.Hash), 32 bytes.
	KeyHash []byte `json:"-"`
	Label   string `json:"label"`
	// Scopes are Ampersand's key scopes (full, frontend); empty means full.
	Scopes     []string  `json:"scopes"`
	Active     bool      `json:"active"`
	CreateTime time.Time `json:"-"`
	UpdateTime time.Time `json:"-"`
}

// Validate returns an EINVALID error when a required field is missing.
func (k *APIKey) Validate() error {
	if err := required("api key projectId", k.ProjectID); err != nil {
		return err
	}
	if len(k.KeyHash) != sha256.Size {
		return Errorf(EINVALID, "api key hash must be %d bytes", sha256.Size)
	}
	return required("api key label", k.Label)
}

// APIKeyUpdate holds the fields UpdateAPIKey may change; a nil field is left
// as it is.
type APIKeyUpdate struct {
	Label  *string
	Active *bool
	Scopes *[]string
}
