package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/seal"
)

type providerAppRequest struct {
	ExternalRef  *string                      `json:"externalRef"`
	Provider     *string                      `json:"provider"`
	ClientID     *string                      `json:"clientId"`
	ClientSecret *string                      `json:"clientSecret"`
	Scopes       *[]string                    `json:"scopes"`
	Metadata     *runtime.ProviderAppMetadata `json:"metadata"`
}

// reservedAuthParams are the authorize URL parameters runtime/oauth sets
// itself: a provider app's authQueryParams must not override them (a
// redirect_uri or state of the app's choosing would hand the code to
// another host or defeat the CSRF check). Compared ignoring case and
// surrounding space.
var reservedAuthParams = []string{"redirect_uri", "state", "client_id", "code_challenge",
	"code_challenge_method", "response_type", "scope"}

// checkProviderAppMetadata refuses reserved authQueryParams keys, naming
// the key.
func checkProviderAppMetadata(field string, md *runtime.ProviderAppMetadata) error {
	if md == nil {
		return nil
	}
	for k := range md.AuthQueryParams {
		for _, r := range reservedAuthParams {
			if strings.EqualFold(strings.TrimSpace(k), r) {
				return badRequest("body", field+".authQueryParams."+k,
					fmt.Sprintf("authQueryParams %q is reserved: amp sets %s on the authorize URL itself", k, r))
			}
		}
	}
	return nil
}

// sealClientSecret seals a client secret bound to its project, row and column.
func (a *API) sealClientSecret(projectID, appID, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	sealed, err := a.sealer.Seal(seal.PurposeClientSecret, []byte(secret), seal.AAD(projectID, appID, "clientSecret"))
	if err != nil {
		return nil, fmt.Errorf("seal client secret: %w", err)
	}
	return sealed, nil
}

func (a *API) listProviderApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := a.store.ListProviderApps(r.Context(), Project(r.Context()).ID)
	if err != nil {
		return err
	}
	if apps == nil {
		apps = []*runtime.ProviderApp{}
	}
	writeJSON(w, http.StatusOK, apps)
	return nil
}

func (a *API) createProviderApp(w http.ResponseWriter, r *http.Request) error {
	var req providerAppRequest
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if err := checkProviderAppMetadata("metadata", req.Metadata); err != nil {
		return err
	}
	proj := Project(r.Context())
	app := &runtime.ProviderApp{ID: runtime.NewID(), ProjectID: proj.ID}
	if req.Provider == nil || *req.Provider == "" {
		return runtime.Errorf(runtime.EINVALID, "provider is required")
	}
	if _, ok := a.registry.Spec(*req.Provider); !ok {
		return runtime.Errorf(runtime.EINVALID, "provider %q is not in the catalog (one of: %v)", *req.Provider, a.registry.Names())
	}
	app.Provider = *req.Provider
	if req.ClientID != nil {
		app.ClientID = *req.ClientID
	}
	if req.ExternalRef != nil {
		app.ExternalRef = *req.ExternalRef
	}
	if req.Scopes != nil {
		app.Scopes = *req.Scopes
	}
	if req.Metadata != nil {
		app.Metadata = *req.Metadata
	}
	if req.ClientSecret != nil {
		sealed, err := a.sealClientSecret(proj.ID, app.ID, *req.ClientSecret)
		if err != nil {
			return err
		}
		app.ClientSecret = sealed
	}
	if err := a.store.CreateProviderApp(r.Context(), app); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, app) // Ampersand answers 200 here
	return nil
}

func (a *API) getProviderApp(w http.ResponseWriter, r *http.Request) error {
	app, err := a.store.GetProviderApp(r.Context(), Project(r.Context()).ID, r.PathValue("providerAppId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, app)
	return nil
}

func (a *API) patchProviderApp(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		UpdateMask  []string           `json:"updateMask"`
		ProviderApp providerAppRequest `json:"providerApp"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if len(req.UpdateMask) == 0 {
		return badRequest("body", "updateMask", "updateMask is required")
	}
	ctx, proj, id := r.Context(), Project(r.Context()), r.PathValue("providerAppId")
	cur, err := a.store.GetProviderApp(ctx, proj.ID, id)
	if err != nil {
		return err
	}
	in := req.ProviderApp
	var upd runtime.ProviderAppUpdate
	missing := func(name string) error {
		return badRequest("body", "providerApp."+name, fmt.Sprintf("updateMask names %q but providerApp.%s is missing", name, name))
	}
	for _, m := range req.UpdateMask {
		switch m {
		case "externalRef":
			if in.ExternalRef == nil {
				return missing(m)
			}
			upd.ExternalRef = in.ExternalRef
		case "clientId":
			if in.ClientID == nil {
				return missing(m)
			}
			upd.ClientID = in.ClientID
		case "clientSecret":
			if in.ClientSecret == nil {
				return missing(m)
			}
			sealed, err := a.sealClientSecret(proj.ID, cur.ID, *in.ClientSecret)
			if err != nil {
				return err
			}
			if sealed == nil {
				sealed = []byte{}
			}
			upd.ClientSecret = sealed
		case "scopes":
			if in.Scopes == nil {
				return missing(m)
			}
			upd.Scopes = in.Scopes
		case "metadata":
			if in.Metadata == nil {
				return missing(m)
			}
			if err := checkProviderAppMetadata("providerApp.metadata", in.Metadata); err != nil {
				return err
			}
			upd.Metadata = in.Metadata
		case "provider":
			if in.Provider == nil {
				return missing(m)
			}
			if *in.Provider != cur.Provider {
				return runtime.Errorf(runtime.EINVALID, "a provider app's provider cannot change (it is %q); create another app", cur.Provider)
			}
		default:
			return badRequest("body", "updateMask", fmt.Sprintf("updateMask path %q is not one of %v", m,
				[]string{"externalRef", "clientId", "clientSecret", "provider", "scopes", "metadata"}))
		}
	}
	app, err := a.store.UpdateProviderApp(ctx, proj.ID, cur.ID, upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, app)
	return nil
}

func (a *API) deleteProviderApp(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteProviderApp(r.Context(), Project(r.Context()).ID, r.PathValue("providerAppId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
