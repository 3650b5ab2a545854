package api

import (
	"fmt"
	"net/http"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/seal"
)

// apiKeyJSON is Ampersand's ApiKey plus amp's id. Key holds the plaintext
// only in the answer to create; otherwise it is "[redacted]" (only the hash
// is stored).
type apiKeyJSON struct {
	ID        string   `json:"id"`
	Key       string   `json:"key"`
	Label     string   `json:"label"`
	Scopes    []string `json:"scopes"`
	ProjectID string   `json:"projectId"`
	Active    bool     `json:"active"`
}

func toAPIKey(k *runtime.APIKey, plaintext string) apiKeyJSON {
	if plaintext == "" {
		plaintext = seal.Redacted
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return apiKeyJSON{ID: k.ID, Key: plaintext, Label: k.Label, Scopes: scopes, ProjectID: k.ProjectID, Active: k.Active}
}

var validKeyScopes = map[string]bool{"full": true, "frontend": true}

func checkKeyScopes(scopes []string) error {
	for _, s := range scopes {
		if !validKeyScopes[s] {
			return runtime.Errorf(runtime.EINVALID, "API key scope %q is not one of full, frontend", s)
		}
	}
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	onlyActive, err := queryBool(r, "active")
	if err != nil {
		return err
	}
	keys, err := a.store.ListAPIKeys(r.Context(), Project(r.Context()).ID)
	if err != nil {
		return err
	}
	out := []apiKeyJSON{}
	for _, k := range keys {
		if !onlyActive || k.Active {
			out = append(out, toAPIKey(k, ""))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Label  string   `json:"label"`
		Scopes []string `json:"scopes"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if err := checkKeyScopes(req.Scopes); err != nil {
		return err
	}
	plaintext, hash := apikey.Generate()
	k := &runtime.APIKey{ProjectID: Project(r.Context()).ID, KeyHash: hash, Label: req.Label, Scopes: req.Scopes, Active: true}
	if err := a.store.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "created API key", "project", k.ProjectID, "key", apikey.Redact(plaintext), "id", k.ID)
	writeJSON(w, http.StatusCreated, toAPIKey(k, plaintext))
	return nil
}

// apiKey resolves the path's {apiKey}: the key itself (Ampersand's clients
// address keys by value) or amp's key id. Either way it must be a key of the
// path's project.
func (a *API) pathAPIKey(r *http.Request) (*runtime.APIKey, error) {
	ref, projectID := r.PathValue("apiKey"), Project(r.Context()).ID
	notFound := runtime.Errorf(runtime.ENOTFOUND, "API key %s not found", apikey.Redact(ref))
	if apikey.Valid(ref) {
		k, err := a.store.GetAPIKeyByHash(r.Context(), apikey.Hash(ref))
		if runtime.ErrorCode(err) == runtime.ENOTFOUND || (err == nil && k.ProjectID != projectID) {
			return nil, notFound
		}
		return k, err
	}
	keys, err := a.store.ListAPIKeys(r.Context(), projectID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == ref {
			return k, nil
		}
	}
	return nil, runtime.Errorf(runtime.ENOTFOUND, "API key %q not found", ref)
}

func (a *API) getAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := a.pathAPIKey(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIKey(k, ""))
	return nil
}

func (a *API) patchAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		UpdateMask []string `json:"updateMask"`
		APIKey     struct {
			Label  *string   `json:"label"`
			Active *bool     `json:"active"`
			Scopes *[]string `json:"scopes"`
		} `json:"apiKey"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if len(req.UpdateMask) == 0 {
		return badRequest("body", "updateMask", "updateMask is required (active, label, scopes)")
	}
	var upd runtime.APIKeyUpdate
	for _, m := range req.UpdateMask {
		var present bool
		switch m {
		case "label":
			upd.Label, present = req.APIKey.Label, req.APIKey.Label != nil
		case "active":
			upd.Active, present = req.APIKey.Active, req.APIKey.Active != nil
		case "scopes":
			upd.Scopes, present = req.APIKey.Scopes, req.APIKey.Scopes != nil
			if present {
				if err := checkKeyScopes(*req.APIKey.Scopes); err != nil {
					return err
				}
			}
		default:
			return badRequest("body", "updateMask", fmt.Sprintf("updateMask path %q is not one of active, label, scopes", m))
		}
		if !present {
			return badRequest("body", "apiKey."+m, fmt.Sprintf("updateMask names %q but apiKey.%s is missing", m, m))
		}
	}
	k, err := a.pathAPIKey(r)
	if err != nil {
		return err
	}
	k, err = a.store.UpdateAPIKey(r.Context(), k.ProjectID, k.ID, upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIKey(k, ""))
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := a.pathAPIKey(r)
	if err != nil {
		return err
	}
	if err := a.store.DeleteAPIKey(r.Context(), k.ProjectID, k.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
