package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ampforge/amp/runtime"
)

// orgID is the organisation every project of a self-hosted server belongs
// to: amp has no organisations, but Ampersand's Project requires orgId.
const orgID = "self-hosted"

type projectJSON struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	AppName      string        `json:"appName"`
	OrgID        string        `json:"orgId"`
	CreateTime   time.Time     `json:"createTime"`
	UpdateTime   time.Time     `json:"updateTime,omitzero"`
	Entitlements *entitlements `json:"entitlements,omitempty"`
}

type entitlements struct {
	BrandingRemoval struct {
		Value bool `json:"value"`
	} `json:"brandingRemoval"`
}

func toProject(p *runtime.Project) projectJSON {
	return projectJSON{ID: p.ID, Name: p.Name, AppName: p.AppName, OrgID: orgID, CreateTime: p.CreateTime, UpdateTime: p.UpdateTime}
}

func (a *API) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// listProjects lists the projects the key can access: its own.
func (a *API) listProjects(w http.ResponseWriter, r *http.Request) error {
	p, err := a.store.GetProject(r.Context(), Key(r.Context()).ProjectID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, []projectJSON{toProject(p)})
	return nil
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) error {
	withEnt, err := queryBool(r, "includeEntitlements")
	if err != nil {
		return err
	}
	out := toProject(Project(r.Context()))
	if withEnt {
		// A self-hosted server shows no vendor branding.
		out.Entitlements = &entitlements{}
		out.Entitlements.BrandingRemoval.Value = true
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) patchProject(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		UpdateMask []string `json:"updateMask"`
		Project    struct {
			AppName *string `json:"appName"`
			Name    *string `json:"name"`
		} `json:"project"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	var upd runtime.ProjectUpdate
	for _, m := range req.UpdateMask {
		switch m {
		case "appName":
			upd.AppName = req.Project.AppName
		case "name":
			upd.Name = req.Project.Name
		default:
			return badRequest("body", "updateMask", fmt.Sprintf("updateMask path %q is not one of appName, name", m))
		}
		if (m == "appName" && upd.AppName == nil) || (m == "name" && upd.Name == nil) {
			return badRequest("body", "project."+m, fmt.Sprintf("updateMask names %q but project.%s is missing", m, m))
		}
	}
	if len(req.UpdateMask) == 0 {
		return badRequest("body", "updateMask", "updateMask is required (appName, name)")
	}
	proj, err := a.store.UpdateProject(r.Context(), Project(r.Context()).ID, upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toProject(proj))
	return nil
}
