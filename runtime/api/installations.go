package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime"
)

type groupJSON struct {
	GroupRef   string    `json:"groupRef"`
	GroupName  string    `json:"groupName"`
	ProjectID  string    `json:"projectId"`
	CreateTime time.Time `json:"createTime"`
}

type consumerJSON struct {
	ConsumerRef  string    `json:"consumerRef"`
	ConsumerName string    `json:"consumerName"`
	ProjectID    string    `json:"projectId"`
	CreateTime   time.Time `json:"createTime"`
}

// connectionJSON is Ampersand's Connection: the runtime fields plus the
// nested group and consumer.
type connectionJSON struct {
	*runtime.Connection
	Group    groupJSON    `json:"group"`
	Consumer consumerJSON `json:"consumer"`
}

func toConnection(c *runtime.Connection) *connectionJSON {
	return &connectionJSON{Connection: c,
		Group:    groupJSON{GroupRef: c.GroupRef, GroupName: c.GroupName, ProjectID: c.ProjectID, CreateTime: c.CreateTime},
		Consumer: consumerJSON{ConsumerRef: c.ConsumerRef, ConsumerName: c.ConsumerName, ProjectID: c.ProjectID, CreateTime: c.CreateTime}}
}

// installationJSON is Ampersand's Installation.
type installationJSON struct {
	ID            string                     `json:"id"`
	ProjectID     string                     `json:"projectId"`
	IntegrationID string                     `json:"integrationId"`
	Group         groupJSON                  `json:"group"`
	HealthStatus  string                     `json:"healthStatus"`
	Connection    *connectionJSON            `json:"connection,omitempty"`
	CreateTime    time.Time                  `json:"createTime"`
	CreatedBy     string                     `json:"createdBy"`
	UpdateTime    time.Time                  `json:"updateTime,omitzero"`
	Config        runtime.InstallationConfig `json:"config"`
}

func (a *API) toInstallation(r *http.Request, in *runtime.Installation) (installationJSON, error) {
	out := installationJSON{ID: in.ID, ProjectID: in.ProjectID, IntegrationID: in.IntegrationID,
		Group:        groupJSON{GroupRef: in.GroupRef, GroupName: in.GroupName, ProjectID: in.ProjectID, CreateTime: in.CreateTime},
		HealthStatus: "healthy", CreateTime: in.CreateTime, CreatedBy: in.CreatedBy, UpdateTime: in.UpdateTime, Config: in.Config}
	c, err := a.store.GetConnection(r.Context(), in.ProjectID, in.ConnectionID)
	switch {
	case err == nil:
		out.Connection = toConnection(c)
		if c.Status == runtime.ConnectionBadCredentials {
			out.HealthStatus = "unhealthy"
		}
	case runtime.ErrorCode(err) != runtime.ENOTFOUND:
		return out, err
	}
	return out, nil
}

func (a *API) writeInstallations(w http.ResponseWriter, r *http.Request, ins []*runtime.Installation) error {
	out := make([]installationJSON, len(ins))
	for i, in := range ins {
		v, err := a.toInstallation(r, in)
		if err != nil {
			return err
		}
		out[i] = v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) listProjectInstallations(w http.ResponseWriter, r *http.Request) error {
	group, err := groupFilter(r.Context(), r.URL.Query().Get("groupRef"))
	if err != nil {
		return err
	}
	ins, err := a.store.ListInstallations(r.Context(), Project(r.Context()).ID,
		runtime.InstallationFilter{GroupRef: group})
	if err != nil {
		return err
	}
	return a.writeInstallations(w, r, ins)
}

func (a *API) listInstallations(w http.ResponseWriter, r *http.Request) error {
	integ, err := a.integration(r)
	if err != nil {
		return err
	}
	group, err := groupFilter(r.Context(), r.URL.Query().Get("groupRef"))
	if err != nil {
		return err
	}
	ins, err := a.store.ListInstallations(r.Context(), integ.ProjectID,
		runtime.InstallationFilter{IntegrationID: integ.ID, GroupRef: group})
	if err != nil {
		return err
	}
	return a.writeInstallations(w, r, ins)
}

func (a *API) createInstallation(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryBool(r, "skipSampling"); err != nil {
		return err
	}
	var req struct {
		GroupRef     string `json:"groupRef"`
		GroupName    string `json:"groupName"`
		ConnectionID string `json:"connectionId"`
		Config       *struct {
			RevisionID string                `json:"revisionId"`
			CreatedBy  string                `json:"createdBy"`
			Content    runtime.ConfigContent `json:"content"`
		} `json:"config"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if req.GroupRef == "" {
		return badRequest("body", "groupRef", "groupRef is required")
	}
	if req.Config == nil {
		return badRequest("body", "config", "config is required")
	}
	if err := CheckGroup(r.Context(), req.GroupRef); err != nil {
		return err
	}
	if err := a.checkConnectionGroup(r, req.ConnectionID); err != nil {
		return err
	}
	integ, err := a.integration(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	content := req.Config.Content
	switch content.Provider {
	case "":
		content.Provider = integ.Provider
	case integ.Provider:
	default:
		return runtime.Errorf(runtime.EINVALID, "config.content.provider is %q but integration %s uses %q", content.Provider, integ.Name, integ.Provider)
	}
	connID := req.ConnectionID
	if connID == "" {
		// The group's default connection to the integration's provider.
		conns, err := a.store.ListConnections(ctx, integ.ProjectID, runtime.ConnectionFilter{Provider: integ.Provider, GroupRef: req.GroupRef})
		if err != nil {
			return err
		}
		if len(conns) == 0 {
			return runtime.Errorf(runtime.EINVALID, "group %q has no %s connection; connect first (oauth-connect) or pass connectionId", req.GroupRef, integ.Provider)
		}
		connID = conns[0].ID
	}
	createdBy := req.Config.CreatedBy
	if createdBy == "" {
		createdBy = "api:create-installation"
	}
	in := &runtime.Installation{ProjectID: integ.ProjectID, IntegrationID: integ.ID, GroupRef: req.GroupRef,
		GroupName: req.GroupName, ConnectionID: connID, CreatedBy: createdBy,
		Config: runtime.InstallationConfig{RevisionID: integ.LatestRevisionID, CreatedBy: createdBy, Content: content}}
	if in.GroupName == "" {
		if c, err := a.store.GetConnection(ctx, integ.ProjectID, connID); err == nil {
			in.GroupName = c.GroupName
		}
	}
	if err := content.Validate(); err != nil {
		return err
	}
	rev, err := a.revisionIntegration(ctx, integ.ProjectID, integ.ID, integ.LatestRevisionID)
	if err != nil {
		return err
	}
	if err := a.sample(r, integ.ProjectID, req.GroupRef, connID, rev, content, nil); err != nil {
		return err
	}
	if err := a.store.CreateInstallation(ctx, in); err != nil {
		return err
	}
	a.installationChanged(r, in)
	out, err := a.toInstallation(r, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// installation returns the path's installation, which must belong to the
// path's integration.
func (a *API) installation(r *http.Request) (*runtime.Integration, *runtime.Installation, error) {
	return a.installationByID(r, r.PathValue("installationId"))
}

// installationByID returns the installation id of the path's integration
// (a suffixed path segment is cut by the caller).
func (a *API) installationByID(r *http.Request, id string) (*runtime.Integration, *runtime.Installation, error) {
	integ, err := a.integration(r)
	if err != nil {
		return nil, nil, err
	}
	in, err := a.store.GetInstallation(r.Context(), integ.ProjectID, id)
	if err == nil && in.IntegrationID != integ.ID {
		err = runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", id)
	}
	if err == nil {
		err = CheckGroup(r.Context(), in.GroupRef)
	}
	return integ, in, err
}

// checkConnectionGroup refuses a connection id of another group when the
// request is restricted to one (a JWT); "" and API keys pass.
func (a *API) checkConnectionGroup(r *http.Request, connID string) error {
	if connID == "" || RequestPrincipal(r.Context()) == nil {
		return nil
	}
	c, err := a.store.GetConnection(r.Context(), Project(r.Context()).ID, connID)
	if err != nil {
		return err
	}
	return CheckGroup(r.Context(), c.GroupRef)
}

func (a *API) getInstallation(w http.ResponseWriter, r *http.Request) error {
	_, in, err := a.installation(r)
	if err != nil {
		return err
	}
	out, err := a.toInstallation(r, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteInstallation(w http.ResponseWriter, r *http.Request) error {
	_, in, err := a.installation(r)
	if err != nil {
		return err
	}
	if err := a.store.DeleteInstallation(r.Context(), in.ProjectID, in.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// installationMaskRoots are the update mask paths PATCH accepts, and any
// path below them (config.content.read.objects.<object>[.<field>...]).
var installationMaskRoots = []string{
	"connectionId",
	"config.createdBy",
	"config.content.read.objects",
	"config.content.write.objects",
	"config.content.subscribe.objects",
	"config.content.proxy",
}

func allowedInstallationMask(path string) bool {
	for _, root := range installationMaskRoots {
		if path == root || strings.HasPrefix(path, root+".") {
			return true
		}
	}
	return false
}

// patchInstallation applies updateMask: each dotted path (relative to
// installation) is copied from the request into the current installation,
// so unmasked parts of the config stay as they are. A masked path whose
// value is null is removed.
func (a *API) patchInstallation(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryBool(r, "skipSampling"); err != nil {
		return err
	}
	data, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	// The typed decode refuses unknown fields and wrong types; the generic
	// decode keeps exactly what was sent (false, {}) for the merge.
	var typed struct {
		UpdateMask   []string `json:"updateMask"`
		Installation *struct {
			ConnectionID string `json:"connectionId"`
			Config       *struct {
				RevisionID string                `json:"revisionId"`
				CreatedBy  string                `json:"createdBy"`
				Content    runtime.ConfigContent `json:"content"`
			} `json:"config"`
		} `json:"installation"`
	}
	if err := decodeBytes(data, &typed); err != nil {
		return err
	}
	if len(typed.UpdateMask) == 0 {
		return badRequest("body", "updateMask", "updateMask is required")
	}
	if typed.Installation == nil {
		return badRequest("body", "installation", "installation is required")
	}
	var raw struct {
		Installation map[string]any `json:"installation"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return jsonError(err)
	}
	integ, cur, err := a.installation(r)
	if err != nil {
		return err
	}
	// The current installation in request form.
	curDoc, err := toDoc(map[string]any{"connectionId": cur.ConnectionID,
		"config": map[string]any{"createdBy": cur.Config.CreatedBy, "content": cur.Config.Content}})
	if err != nil {
		return err
	}
	for _, m := range typed.UpdateMask {
		if !allowedInstallationMask(m) {
			return badRequest("body", "updateMask", fmt.Sprintf("updateMask path %q is not allowed; use connectionId, config.createdBy, config.content.read.objects.<object>, config.content.write.objects[.<object>], config.content.subscribe.objects[.<object>] or config.content.proxy.enabled", m))
		}
		segs := strings.Split(m, ".")
		v, ok := lookupPath(raw.Installation, segs)
		if !ok {
			return badRequest("body", "installation."+m, fmt.Sprintf("updateMask names %q but installation.%s is missing", m, m))
		}
		if err := setPath(curDoc, segs, v); err != nil {
			return badRequest("body", "installation."+m, err.Error())
		}
	}
	var merged struct {
		ConnectionID string `json:"connectionId"`
		Config       struct {
			CreatedBy string                `json:"createdBy"`
			Content   runtime.ConfigContent `json:"content"`
		} `json:"config"`
	}
	b, err := json.Marshal(curDoc)
	if err != nil {
		return fmt.Errorf("encode merged installation: %w", err)
	}
	if err := decodeBytes(b, &merged); err != nil {
		return err
	}
	if merged.Config.Content.Provider != integ.Provider {
		return runtime.Errorf(runtime.EINVALID, "config.content.provider must stay %q", integ.Provider)
	}
	upd := runtime.InstallationUpdate{Config: runtime.InstallationConfig{RevisionID: integ.LatestRevisionID,
		CreatedBy: merged.Config.CreatedBy, Content: merged.Config.Content}}
	if merged.ConnectionID != cur.ConnectionID {
		if err := a.checkConnectionGroup(r, merged.ConnectionID); err != nil {
			return err
		}
		upd.ConnectionID = merged.ConnectionID
	}
	if err := a.sampleUpdate(r, integ, cur, merged.ConnectionID, merged.Config.Content); err != nil {
		return err
	}
	in, err := a.store.UpdateInstallation(r.Context(), cur.ProjectID, cur.ID, upd)
	if err != nil {
		return err
	}
	a.installationChanged(r, in)
	out, err := a.toInstallation(r, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sampleUpdate samples what an update changes: every scheduled read object
// when the connection or the revision changes, else the read objects whose
// config changed.
func (a *API) sampleUpdate(r *http.Request, integ *runtime.Integration, cur *runtime.Installation, connID string, content runtime.ConfigContent) error {
	changed := readObjectsChanged(cur.Config.Content, content)
	if connID != cur.ConnectionID || integ.LatestRevisionID != cur.Config.RevisionID {
		changed = nil
	}
	if err := content.Validate(); err != nil {
		return err
	}
	rev, err := a.revisionIntegration(r.Context(), integ.ProjectID, integ.ID, integ.LatestRevisionID)
	if err != nil {
		return err
	}
	return a.sample(r, integ.ProjectID, cur.GroupRef, connID, rev, content, changed)
}

// toDoc turns v into generic JSON values (maps, slices, numbers as
// json.Number).
func toDoc(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return m, nil
}

func lookupPath(m map[string]any, segs []string) (any, bool) {
	var cur any = m
	for _, s := range segs {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[s]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// setPath sets (or, for nil, deletes) the value at segs, creating objects
// on the way.
func setPath(m map[string]any, segs []string, v any) error {
	for i, s := range segs[:len(segs)-1] {
		next, ok := m[s].(map[string]any)
		if !ok {
			if m[s] != nil {
				return fmt.Errorf("%s is not an object", strings.Join(segs[:i+1], "."))
			}
			next = map[string]any{}
			m[s] = next
		}
		m = next
	}
	last := segs[len(segs)-1]
	if v == nil {
		delete(m, last)
	} else {
		m[last] = v
	}
	return nil
}
