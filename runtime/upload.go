package runtime

import (
	"crypto/md5"
	"crypto/sha256"
	"time"
)

// Upload is a deploy source zip the `amp` CLI puts on the server
// (generate-upload-url, then PUT) before it names it as sourceZipUrl in
// integrations:batch. The server never fetches a source from elsewhere.
type Upload struct {
	ID        string
	ProjectID string
	// TokenHash is the SHA-256 of the secret in the upload URL: whoever
	// holds the URL may PUT the content once, without an API key (the CLI
	// sends none to a signed URL).
	TokenHash []byte
	// MD5 is the digest announced by generate-upload-url?md5=; the content
	// must match it.
	MD5 []byte
	// Content is the zip; nil until uploaded.
	Content    []byte
	CreateTime time.Time
	// ExpireTime ends both the PUT and the use in a deploy.
	ExpireTime time.Time
	// UploadTime is when the content arrived; zero until then.
	UploadTime time.Time
}

// Validate returns an EINVALID error when a required field is missing.
func (u *Upload) Validate() error {
	if err := required("upload projectId", u.ProjectID); err != nil {
		return err
	}
	if len(u.TokenHash) != sha256.Size {
		return Errorf(EINVALID, "upload token hash must be %d bytes", sha256.Size)
	}
	if len(u.MD5) != md5.Size {
		return Errorf(EINVALID, "upload md5 must be %d bytes", md5.Size)
	}
	if u.ExpireTime.IsZero() {
		return Errorf(EINVALID, "upload expireTime is required")
	}
	return nil
}
