package runtime

import (
	"crypto/sha256"
	"time"
)

// JWT signing algorithms a JWTKey may verify (RFC 7518 names). Each key
// verifies exactly one, bound to its key type, so a token cannot pick a
// weaker or different algorithm than the builder registered.
const (
	JWTAlgEdDSA = "EdDSA"
	JWTAlgES256 = "ES256"
	JWTAlgRS256 = "RS256"
)

// JWTKey is a builder's public key that verifies the JWTs their front end
// sends instead of an API key (Authorization: Bearer). A token names the
// key by its ID in the JWS header's kid.
type JWTKey struct {
	// ID is also the kid tokens carry; it is unique across projects, so a
	// token tells its project the way an API key does.
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	Label     string `json:"label"`
	// Algorithm is JWTAlgEdDSA, JWTAlgES256 or JWTAlgRS256.
	Algorithm string `json:"algorithm"`
	// PublicKey is the key as DER SubjectPublicKeyInfo (x509.MarshalPKIXPublicKey).
	PublicKey []byte `json:"-"`
	// Fingerprint is the SHA-256 of PublicKey; a project registers a key once.
	Fingerprint []byte    `json:"-"`
	CreateTime  time.Time `json:"createTime"`
}

// Validate returns an EINVALID error when a required field is missing or
// the algorithm is unknown. It does not parse the key: the API does.
func (k *JWTKey) Validate() error {
	if err := required("jwt key projectId", k.ProjectID); err != nil {
		return err
	}
	switch k.Algorithm {
	case JWTAlgEdDSA, JWTAlgES256, JWTAlgRS256:
	default:
		return Errorf(EINVALID, "jwt key algorithm %q is not one of EdDSA, ES256, RS256", k.Algorithm)
	}
	if len(k.PublicKey) == 0 {
		return Errorf(EINVALID, "jwt key public key is required")
	}
	if len(k.Fingerprint) != sha256.Size {
		return Errorf(EINVALID, "jwt key fingerprint must be %d bytes", sha256.Size)
	}
	return nil
}
