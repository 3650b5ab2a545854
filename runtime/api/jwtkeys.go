package api

import (
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"time"

	"github.com/ampforge/amp/runtime"
)

// jwtKeyJSON is a registered JWT key. ID is the kid the builder's tokens
// must carry in their header.
type jwtKeyJSON struct {
	ID           string    `json:"id"`
	ProjectID    string    `json:"projectId"`
	Label        string    `json:"label"`
	Algorithm    string    `json:"algorithm"`
	PublicKeyPEM string    `json:"publicKeyPem"`
	CreateTime   time.Time `json:"createTime"`
}

func toJWTKey(k *runtime.JWTKey) jwtKeyJSON {
	return jwtKeyJSON{ID: k.ID, ProjectID: k.ProjectID, Label: k.Label, Algorithm: k.Algorithm,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.PublicKey})), CreateTime: k.CreateTime}
}

func (a *API) listJWTKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := a.store.ListJWTKeys(r.Context(), Project(r.Context()).ID)
	if err != nil {
		return err
	}
	out := make([]jwtKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toJWTKey(k)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createJWTKey registers a public key (PEM SubjectPublicKeyInfo or a JWK).
// The algorithm follows from the key type; a given algorithm must agree.
func (a *API) createJWTKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Label        string          `json:"label"`
		Algorithm    string          `json:"algorithm"`
		PublicKeyPEM string          `json:"publicKeyPem"`
		JWK          json.RawMessage `json:"jwk"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	field := "publicKeyPem"
	if len(req.JWK) > 0 {
		field = "jwk"
	}
	der, alg, err := parsePublicKey(req.PublicKeyPEM, req.JWK, req.Algorithm)
	if err != nil {
		return badRequest("body", field, err.Error())
	}
	fp := sha256.Sum256(der)
	k := &runtime.JWTKey{ProjectID: Project(r.Context()).ID, Label: req.Label, Algorithm: alg, PublicKey: der, Fingerprint: fp[:]}
	if err := a.store.CreateJWTKey(r.Context(), k); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "registered JWT key", "project", k.ProjectID, "kid", k.ID, "algorithm", k.Algorithm)
	writeJSON(w, http.StatusCreated, toJWTKey(k))
	return nil
}

func (a *API) deleteJWTKey(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteJWTKey(r.Context(), Project(r.Context()).ID, r.PathValue("keyId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
