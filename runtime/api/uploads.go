package api

import (
	"archive/zip"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime"
)

// Deploy uploads: the `amp` CLI asks generate-upload-url for a signed URL,
// PUTs its zip there with Content-MD5, then names the upload as
// gs://<bucket>/<path> in integrations:batch. amp plays the bucket itself:
// the URL is on this server, and a sourceZipUrl is only ever resolved to
// one of the project's own uploads, never fetched.
const (
	// UploadBucket is the bucket name the SignedUrl answers carry.
	UploadBucket = "amp-uploads"
	// UploadPath is the route the signed URLs name; {token} is the secret.
	UploadPath = "/v1/uploads/{token}"
	// maxUploadSize bounds an uploaded zip.
	maxUploadSize = 8 << 20
	// uploadTTL bounds both the PUT and the deploy that names the upload.
	uploadTTL = time.Hour
	// maxZipEntries and maxManifestSize bound what a zip may make us read.
	maxZipEntries   = 1000
	maxManifestSize = maxDeployBody
)

// signedURLJSON is Ampersand's SignedUrl.
type signedURLJSON struct {
	URL    string `json:"url"`
	Bucket string `json:"bucket"`
	Path   string `json:"path"`
}

// generateUploadURL is GET /v1/generate-upload-url?md5=: a one-hour URL on
// this server where the key's project may PUT one zip with that MD5
// (base64, as in Content-MD5).
func (a *API) generateUploadURL(w http.ResponseWriter, r *http.Request) error {
	sum, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("md5"))
	if err != nil || len(sum) != md5.Size {
		return badRequest("query", "md5", "md5 is required: the zip's MD5 digest in base64 (as in Content-MD5)")
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := base64.RawURLEncoding.EncodeToString(secret)
	th := sha256.Sum256([]byte(token))
	u := &runtime.Upload{ProjectID: Key(r.Context()).ProjectID, TokenHash: th[:], MD5: sum, ExpireTime: a.now().Add(uploadTTL)}
	if err := a.store.CreateUpload(r.Context(), u); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signedURLJSON{URL: a.baseURL(r) + strings.Replace(UploadPath, "{token}", token, 1),
		Bucket: UploadBucket, Path: uploadObjectPath(u.ProjectID, u.ID)})
	return nil
}

// uploadObjectPath is an upload's path in the bucket.
func uploadObjectPath(projectID, id string) string { return projectID + "/" + id + ".zip" }

// baseURL is Options.PublicURL, or the request's own scheme and host.
func (a *API) baseURL(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// putUpload is PUT UploadPath: the zip itself. The URL's secret is the
// credential (the CLI sends no API key to a signed URL); Content-MD5 must
// be the digest announced to generate-upload-url, and the body must match.
func (a *API) putUpload(w http.ResponseWriter, r *http.Request) error {
	th := sha256.Sum256([]byte(r.PathValue("token")))
	u, err := a.store.GetUploadByTokenHash(r.Context(), th[:])
	if runtime.ErrorCode(err) == runtime.ENOTFOUND || (err == nil && a.now().After(u.ExpireTime)) {
		return runtime.Errorf(runtime.ENOTFOUND, "no such upload URL, or it has expired; ask generate-upload-url for a new one")
	}
	if err != nil {
		return err
	}
	if u.Content != nil {
		return runtime.Errorf(runtime.ECONFLICT, "this upload URL has been used; ask generate-upload-url for a new one")
	}
	announced, err := base64.StdEncoding.DecodeString(r.Header.Get("Content-MD5"))
	if err != nil || subtle.ConstantTimeCompare(announced, u.MD5) != 1 {
		return badRequest("header", "Content-MD5", "Content-MD5 must be the base64 MD5 given to generate-upload-url")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUploadSize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &requestError{status: http.StatusRequestEntityTooLarge, in: "body", name: "body",
				detail: fmt.Sprintf("the zip is larger than %d bytes", maxUploadSize)}
		}
		return runtime.Errorf(runtime.EINVALID, "read the upload: %v", err)
	}
	if got := md5.Sum(body); subtle.ConstantTimeCompare(got[:], u.MD5) != 1 {
		return badRequest("header", "Content-MD5", "the body's MD5 does not match Content-MD5; the upload was corrupted or cut")
	}
	if _, err := a.store.CompleteUpload(r.Context(), u.ProjectID, u.ID, body, a.now()); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "stored deploy upload", "project", u.ProjectID, "upload", u.ID, "bytes", len(body))
	w.WriteHeader(http.StatusOK)
	return nil
}

// uploadedManifest resolves a sourceZipUrl to one of the project's uploads
// and returns the amp.yaml inside it. Nothing is ever fetched: a URL that
// does not name such an upload is refused.
func (a *API) uploadedManifest(r *http.Request, sourceZipURL string) ([]byte, error) {
	projectID := Project(r.Context()).ID
	prefix := "gs://" + UploadBucket + "/" + projectID + "/"
	id, ok := strings.CutPrefix(sourceZipURL, prefix)
	if ok {
		id, ok = strings.CutSuffix(id, ".zip")
	}
	if !ok || id == "" || strings.ContainsAny(id, "/?#") {
		return nil, badRequest("body", "sourceZipUrl", "sourceZipUrl must name an upload made with generate-upload-url on this server (gs://"+
			UploadBucket+"/<path>); amp never fetches other URLs")
	}
	u, err := a.store.GetUpload(r.Context(), projectID, id)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND || (err == nil && a.now().After(u.ExpireTime)) {
		return nil, badRequest("body", "sourceZipUrl", "sourceZipUrl names no upload of this project, or it has expired")
	}
	if err != nil {
		return nil, err
	}
	if u.Content == nil {
		return nil, badRequest("body", "sourceZipUrl", "the upload has no content yet: PUT the zip to the upload URL first")
	}
	return manifestFromZip(u.Content)
}

// manifestFromZip reads amp.yaml from a deploy zip: at its root, or the one
// amp.yaml in a single folder. Entry counts and sizes are bounded, and the
// manifest is read through a limit, whatever the zip's headers claim.
func manifestFromZip(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, runtime.Errorf(runtime.EINVALID, "the upload is not a zip: %v", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, runtime.Errorf(runtime.EINVALID, "the zip has %d entries; at most %d are read", len(zr.File), maxZipEntries)
	}
	var found *zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || path.Base(f.Name) != manifestName {
			continue
		}
		if f.Name == manifestName {
			found = f
			break
		}
		if found != nil {
			return nil, runtime.Errorf(runtime.EINVALID, "the zip holds several %s files and none at its root", manifestName)
		}
		found = f
	}
	if found == nil {
		return nil, runtime.Errorf(runtime.EINVALID, "the zip holds no %s", manifestName)
	}
	if found.UncompressedSize64 > maxManifestSize {
		return nil, runtime.Errorf(runtime.EINVALID, "%s in the zip is larger than %d bytes", manifestName, maxManifestSize)
	}
	rc, err := found.Open()
	if err != nil {
		return nil, runtime.Errorf(runtime.EINVALID, "open %s in the zip: %v", manifestName, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, runtime.Errorf(runtime.EINVALID, "read %s in the zip: %v", manifestName, err)
	}
	if len(b) > maxManifestSize {
		return nil, runtime.Errorf(runtime.EINVALID, "%s in the zip is larger than %d bytes", manifestName, maxManifestSize)
	}
	return b, nil
}
