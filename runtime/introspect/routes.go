package introspect

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/api"
)

// Path suffixes and routes served here.
const (
	// HydrateSuffix ends a revision path that asks for the hydrated
	// revision (revisions/{revisionId}:hydrate).
	HydrateSuffix = ":hydrate"
	// MetadataPath is the object metadata route.
	MetadataPath = "/v1/projects/{projectIdOrName}/integrations/{integrationId}/objects/{objectName}/metadata"
)

// Handlers serve the introspection routes through the management API's
// authentication and error answers.
type Handlers struct {
	svc *Service
	api *api.API
}

// NewHandlers returns the handlers of svc; a gives WriteError.
func NewHandlers(svc *Service, a *api.API) *Handlers { return &Handlers{svc: svc, api: a} }

// Routes returns the routes to add to the API (api.AddRoutes, or a
// server.Extension): the object metadata route. The hydrate route shares
// its ServeMux pattern with GET .../revisions/{revisionId}, so the revision
// handler dispatches it to ServeHydrate.
func Routes(svc *Service, a *api.API) []api.Route {
	h := NewHandlers(svc, a)
	// The installation UI reads object metadata with its frontend key.
	return []api.Route{{Method: http.MethodGet, Path: MetadataPath, Auth: api.AuthKey, Scope: api.ScopeFrontend, Handler: http.HandlerFunc(h.ServeMetadata)}}
}

// IsHydrate reports whether a revision path segment asks for hydration.
func IsHydrate(revisionSegment string) bool { return strings.HasSuffix(revisionSegment, HydrateSuffix) }

// ServeHydrate answers GET
// /v1/projects/{projectIdOrName}/integrations/{integrationId}/revisions/{revisionId}:hydrate?connectionId=
// with Ampersand's HydratedRevision. It expects the API's authentication
// to have run (api.Project set) and reads the path values integrationId
// (or integrationIdOrName) and revisionId, with or without the suffix.
func (h *Handlers) ServeHydrate(w http.ResponseWriter, r *http.Request) {
	if err := h.hydrate(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handlers) hydrate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	in, err := h.integration(r)
	if err != nil {
		return err
	}
	revID := strings.TrimSuffix(r.PathValue("revisionId"), HydrateSuffix)
	rev, err := h.svc.cfg.Store.GetRevision(ctx, in.ProjectID, in.ID, revID)
	if err != nil {
		return err
	}
	connID := r.URL.Query().Get("connectionId")
	if connID == "" {
		return missingQuery("connectionId", "connectionId is required: the customer's connection whose schema hydrates the revision")
	}
	conn, err := h.svc.Connection(ctx, in.ProjectID, connID)
	if err != nil {
		return err
	}
	if err := api.CheckGroup(ctx, conn.GroupRef); err != nil {
		return err
	}
	if conn.Provider != in.Provider {
		return runtime.Errorf(runtime.EINVALID, "connection %s is to %s, but integration %s reads %s", conn.ID, conn.Provider, in.Name, in.Provider)
	}
	out, err := h.svc.Hydrate(ctx, rev, conn)
	if err != nil {
		return err
	}
	writeJSON(w, out)
	return nil
}

// ObjectMetadata is Ampersand's ObjectMetadata.
type ObjectMetadata struct {
	Name             string                   `json:"name"`
	DisplayName      string                   `json:"displayName,omitempty"`
	MappedObjectName string                   `json:"mappedObjectName,omitempty"`
	Fields           map[string]FieldMetadata `json:"fields"`
}

// ServeMetadata answers GET MetadataPath: an object's fields in the
// customer's CRM. The connection is connectionId, or the project's
// connection to the integration's provider for groupRef. objectName may be
// the manifest's mapToName. excludeReadOnly=true leaves read-only fields out.
func (h *Handlers) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	if err := h.metadata(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handlers) metadata(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	excludeRO := false
	if v := q.Get("excludeReadOnly"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badQuery("excludeReadOnly", "excludeReadOnly must be true or false")
		}
		excludeRO = b
	}
	in, err := h.integration(r)
	if err != nil {
		return err
	}
	var conn *runtime.Connection
	switch id, group := q.Get("connectionId"), q.Get("groupRef"); {
	case id != "":
		if conn, err = h.svc.Connection(ctx, in.ProjectID, id); err != nil {
			return err
		}
		if err := api.CheckGroup(ctx, conn.GroupRef); err != nil {
			return err
		}
		if conn.Provider != in.Provider {
			return runtime.Errorf(runtime.EINVALID, "connection %s is to %s, but integration %s reads %s", conn.ID, conn.Provider, in.Name, in.Provider)
		}
	case group != "":
		if err := api.CheckGroup(ctx, group); err != nil {
			return err
		}
		cs, err := h.svc.cfg.Store.ListConnections(ctx, in.ProjectID, runtime.ConnectionFilter{Provider: in.Provider, GroupRef: group})
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return runtime.Errorf(runtime.ENOTFOUND, "group %q has no %s connection", group, in.Provider)
		}
		conn = cs[0]
	default:
		return missingQuery("connectionId", "connectionId (or groupRef) is required")
	}
	object, mapped := resolveObject(in, r.PathValue("objectName"))
	meta, err := h.svc.DescribeObject(ctx, conn, object)
	if err != nil {
		return err
	}
	out := ObjectMetadata{Name: meta.Name, DisplayName: meta.DisplayName, MappedObjectName: mapped,
		Fields: make(map[string]FieldMetadata, len(meta.Fields))}
	for _, f := range meta.Fields {
		if excludeRO && f.ReadOnly {
			continue
		}
		out.Fields[f.Name] = ToFieldMetadata(f)
	}
	writeJSON(w, out)
	return nil
}

// resolveObject maps a manifest mapToName to its provider object, by the
// integration's latest revision; other names are the provider's.
func resolveObject(in *runtime.Integration, name string) (object, mapped string) {
	if in.LatestRevision == nil {
		return name, ""
	}
	content, err := decodeContent(in.LatestRevision.Content)
	if err != nil {
		return name, ""
	}
	read, _ := content["read"].(map[string]any)
	objs, _ := read["objects"].([]any)
	for _, o := range objs {
		obj, _ := o.(map[string]any)
		on, _ := obj["objectName"].(string)
		if strings.EqualFold(on, name) {
			m, _ := obj["mapToName"].(string)
			return on, m
		}
	}
	for _, o := range objs {
		obj, _ := o.(map[string]any)
		on, _ := obj["objectName"].(string)
		if m, _ := obj["mapToName"].(string); m != "" && m == name {
			return on, m
		}
	}
	return name, ""
}

// integration resolves the path's integration in the request's project, by
// ID, then by name.
func (h *Handlers) integration(r *http.Request) (*runtime.Integration, error) {
	p := api.Project(r.Context())
	if p == nil {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "project not found")
	}
	ref := r.PathValue("integrationId")
	if ref == "" {
		ref = r.PathValue("integrationIdOrName")
	}
	st := h.svc.cfg.Store
	in, err := st.GetIntegration(r.Context(), p.ID, ref)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		in, err = st.GetIntegrationByName(r.Context(), p.ID, ref)
	}
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "integration %q not found", ref)
	}
	return in, err
}

// queryError is a missing or malformed query parameter (400).
type queryError struct{ name, detail string }

func (e *queryError) Error() string { return e.detail }

func missingQuery(name, detail string) error { return &queryError{name, detail} }
func badQuery(name, detail string) error     { return &queryError{name, detail} }

// writeError answers err: provider failures by kind (an unknown object is
// 404, a refusal 422 with the provider's message, throttling and outages
// 502/503, retryable), everything else as the API does.
func (h *Handlers) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var qe *queryError
	if errors.As(err, &qe) {
		api.WriteProblem(w, &api.Problem{Type: "urn:amp:problem:invalid", Title: "Bad Request", Status: http.StatusBadRequest,
			Detail: qe.detail, Issues: []api.Issue{{In: "query", Name: qe.name, Detail: qe.detail}}})
		return
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		h.api.WriteError(w, r, err)
		return
	}
	msg := pe.Provider + ": " + pe.Message
	if pe.Message == "" {
		msg = pe.Error()
	}
	switch pe.Kind {
	case providers.KindNotFound:
		h.api.WriteError(w, r, runtime.Errorf(runtime.ENOTFOUND, "%s", msg))
	case providers.KindAuth:
		h.api.WriteError(w, r, runtime.Errorf(runtime.EINVALID,
			"the provider refused the connection's credentials; the customer must reconnect: %s", msg))
	case providers.KindRateLimited, providers.KindRetryable:
		status := http.StatusBadGateway
		if pe.Kind == providers.KindRateLimited {
			status = http.StatusServiceUnavailable
			if d := pe.RetryAfter; d > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds()+0.999)))
			}
		}
		api.WriteProblem(w, &api.Problem{Type: "urn:amp:problem:provider_unavailable", Title: http.StatusText(status),
			Status: status, Detail: msg, Retryable: true})
	default:
		h.api.WriteError(w, r, runtime.Errorf(runtime.EINVALID, "%s", msg))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
