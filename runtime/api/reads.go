package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

// ReadHooks connect the Read API and installation saves to the read
// scheduler and engine (runtime/server sets them). A nil func is a no-op.
type ReadHooks struct {
	// Wake tells the engine's workers that an operation is waiting (a
	// triggered read, a backfill). It must not block.
	Wake func()
	// InstallationChanged runs after an installation is created or its
	// config changes (PATCH of the installation or of an object's
	// config-content), so the scheduler creates or updates the
	// installation's read states and queues the backfills of new objects.
	InstallationChanged func(ctx context.Context, in *runtime.Installation) error
}

// SetReadHooks installs the hooks. Call it before Handler.
func (a *API) SetReadHooks(h ReadHooks) { a.reads = h }

func (a *API) wake() {
	if a.reads.Wake != nil {
		a.reads.Wake()
	}
}

// installationChanged runs the InstallationChanged hook, then wakes the
// workers for the backfills it may have queued. A failure is logged and
// not answered: the save itself succeeded, and the scheduler reconciles
// every installation's read states at startup, so the change is picked up
// then. The hook runs to completion even if the client hangs up.
func (a *API) installationChanged(r *http.Request, in *runtime.Installation) {
	if a.reads.InstallationChanged == nil {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := a.reads.InstallationChanged(ctx, in); err != nil {
		a.log.ErrorContext(ctx, "installation changed: read states not updated; the scheduler reconciles them at startup",
			slog.String("project", in.ProjectID), slog.String("installation", in.ID), slog.String("error", err.Error()))
		return
	}
	a.wake()
}

// readObjects resolves the names a client may give an installation's read
// objects: the key of the object's read config (the provider object name)
// or the manifest's mapToName for it, by the installation's revision.
type readObjects struct {
	inst    *runtime.Installation
	content runtime.ConfigContent
	// mapped maps a manifest mapToName to its provider objectName.
	mapped map[string]string
}

// readObjectsOf returns the resolver of the installation's read objects.
func (a *API) readObjectsOf(ctx context.Context, integ *runtime.Integration, in *runtime.Installation) (*readObjects, error) {
	ro := &readObjects{inst: in, content: in.Config.Content, mapped: map[string]string{}}
	revID := in.Config.RevisionID
	if revID == "" {
		revID = integ.LatestRevisionID
	}
	if revID == "" {
		return ro, nil
	}
	mi, err := a.revisionIntegration(ctx, integ.ProjectID, integ.ID, revID)
	if err != nil {
		return nil, err
	}
	ro.addMapped(mi)
	return ro, nil
}

func (ro *readObjects) addMapped(mi *manifest.Integration) {
	if mi == nil || mi.Read == nil {
		return
	}
	for _, mo := range mi.Read.Objects {
		if mo != nil && mo.MapToName != "" && mo.ObjectName != "" {
			ro.mapped[mo.MapToName] = mo.ObjectName
		}
	}
}

// resolve returns the config key name stands for: a key, then a mapToName,
// exactly; then either ignoring case (a key or a config's objectName, then
// a mapToName).
func (ro *readObjects) resolve(name string) (string, runtime.ReadConfigObject, bool) {
	if name == "" || ro.content.Read == nil {
		return "", runtime.ReadConfigObject{}, false
	}
	if cfg, ok := ro.content.Read.Objects[name]; ok {
		return name, cfg, true
	}
	if obj, ok := ro.mapped[name]; ok {
		if key, cfg, ok := findReadConfig(ro.content, obj); ok {
			return key, cfg, true
		}
	}
	if key, cfg, ok := findReadConfig(ro.content, name); ok {
		return key, cfg, true
	}
	for m, obj := range ro.mapped {
		if strings.EqualFold(m, name) {
			if key, cfg, ok := findReadConfig(ro.content, obj); ok {
				return key, cfg, true
			}
		}
	}
	return "", runtime.ReadConfigObject{}, false
}

// list names the installation's read objects for an error message:
// "account (company), contact", or a sentence when there are none.
func (ro *readObjects) list() string {
	if ro.content.Read == nil || len(ro.content.Read.Objects) == 0 {
		return "it reads no object: add one to config.content.read.objects (PATCH the installation)"
	}
	names := make([]string, 0, len(ro.content.Read.Objects))
	for key, cfg := range ro.content.Read.Objects {
		n := key
		for m, obj := range ro.mapped {
			if strings.EqualFold(obj, key) || strings.EqualFold(obj, cfg.ObjectName) {
				n += " (" + m + ")"
				break
			}
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return "it reads " + strings.Join(names, ", ")
}

// notRead is the error for a name that resolves to no read object.
func (ro *readObjects) notRead(name string) string {
	return fmt.Sprintf("installation %s (group %s) has no read object %q; %s", ro.inst.ID, ro.inst.GroupRef, name, ro.list())
}

// readModeAsync is the only mode of ReadRequest: the read runs in the
// background and the answer carries its operation's ID.
const readModeAsync = "async"

// triggerReadBody is POST .../integrations/{integrationId}/objects/{objectName}
// (Ampersand's triggerRead) with a read body (objectPost tells it from a
// write): a read of one object of the group's installation, now, between
// sinceTimestamp and untilTimestamp when given. The read runs even while
// the object's scheduled reads are paused.
func (a *API) triggerReadBody(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req struct {
		GroupRef       string  `json:"groupRef"`
		Mode           string  `json:"mode"`
		SinceTimestamp *string `json:"sinceTimestamp"`
		UntilTimestamp *string `json:"untilTimestamp"`
	}
	if len(body) == 0 {
		return badRequest("body", "", "request body is required (a JSON object)")
	}
	if err := decodeBytes(body, &req); err != nil {
		return err
	}
	if req.GroupRef == "" {
		return badRequest("body", "groupRef", "groupRef is required: the group whose installation to read")
	}
	switch req.Mode {
	case readModeAsync:
	case "":
		return badRequest("body", "mode", `mode is required; the only mode is "async"`)
	default:
		return badRequest("body", "mode", fmt.Sprintf(`mode %q is not supported; the only mode is "async"`, req.Mode))
	}
	since, err := parseTimestamp("sinceTimestamp", req.SinceTimestamp)
	if err != nil {
		return err
	}
	until, err := parseTimestamp("untilTimestamp", req.UntilTimestamp)
	if err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return invalidInput("body", "sinceTimestamp", fmt.Sprintf("sinceTimestamp (%s) must be before untilTimestamp (%s)",
			since.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano)))
	}
	integ, err := a.integration(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ins, err := a.store.ListInstallations(ctx, integ.ProjectID, runtime.InstallationFilter{IntegrationID: integ.ID, GroupRef: req.GroupRef})
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		return runtime.Errorf(runtime.ENOTFOUND, "group %q has no installation of integration %s; create one first", req.GroupRef, integ.Name)
	}
	in := ins[0]
	ro, err := a.readObjectsOf(ctx, integ, in)
	if err != nil {
		return err
	}
	name := r.PathValue("objectName")
	key, cfg, ok := ro.resolve(name)
	if !ok {
		return runtime.Errorf(runtime.ENOTFOUND, "%s", ro.notRead(name))
	}
	if cfg.Disabled {
		return runtime.Errorf(runtime.EINVALID, "object %s is disabled in the installation of group %s (config.content.read.objects.%s.disabled); enable it to read it",
			key, in.GroupRef, key)
	}
	op := &runtime.Operation{ProjectID: in.ProjectID, IntegrationID: in.IntegrationID, InstallationID: in.ID,
		ConfigID: in.Config.ID, ObjectName: key, ActionType: runtime.ActionRead, ReadType: runtime.ReadTriggered,
		Since: since, Until: until, Estimated: -1}
	if err := a.store.CreateOperation(ctx, op, false); err != nil {
		return err
	}
	a.wake()
	writeJSON(w, http.StatusCreated, map[string]string{"operationId": op.ID})
	return nil
}

// parseTimestamp reads an optional RFC 3339 timestamp of the body; absent
// or empty is the zero time.
func parseTimestamp(name string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, badRequest("body", name, fmt.Sprintf("%s %q is not an RFC 3339 timestamp; use the form 2024-07-01T18:22:30Z", name, *s))
	}
	return t.UTC(), nil
}

// Custom methods on an installation: POST
// .../installations/{installationId}:pause and :unpause. ServeMux cannot
// match a literal after a wildcard in one segment, so POST
// .../installations/{installationId} dispatches on them.
const (
	pauseSuffix   = ":pause"
	unpauseSuffix = ":unpause"
)

// installationAction serves POST .../installations/{installationId} with
// the :pause or :unpause suffix; without one there is no such route.
func (a *API) installationAction(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("installationId")
	if id, ok := strings.CutSuffix(ref, pauseSuffix); ok {
		return a.setReadsPaused(w, r, id, true)
	}
	if id, ok := strings.CutSuffix(ref, unpauseSuffix); ok {
		return a.setReadsPaused(w, r, id, false)
	}
	return runtime.Errorf(runtime.ENOTFOUND, "no such route: POST installations/%s (the custom methods are %s and %s)", ref, pauseSuffix, unpauseSuffix)
}

// setReadsPaused is pauseReads and unpauseReads: the named objects (mapped
// or provider names), or all of them, stop or resume their scheduled reads
// and backfills. Reads in flight finish; triggered reads still run. Doing
// it twice is a no-op.
func (a *API) setReadsPaused(w http.ResponseWriter, r *http.Request, id string, paused bool) error {
	var req struct {
		Objects []string `json:"objects"`
		Note    string   `json:"note"`
	}
	if err := decodeOptional(w, r, maxBody, &req); err != nil {
		return err
	}
	for i, o := range req.Objects {
		if o == "" {
			return badRequest("body", fmt.Sprintf("objects[%d]", i), fmt.Sprintf("objects[%d] is empty; name an object, or leave objects out for all of them", i))
		}
	}
	integ, in, err := a.installationByID(r, id)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var keys []string
	if len(req.Objects) > 0 {
		ro, err := a.readObjectsOf(ctx, integ, in)
		if err != nil {
			return err
		}
		for i, name := range req.Objects {
			key, _, ok := ro.resolve(name)
			if !ok {
				return invalidInput("body", fmt.Sprintf("objects[%d]", i), ro.notRead(name))
			}
			if !slices.Contains(keys, key) {
				keys = append(keys, key)
			}
		}
	}
	if err := a.store.SetReadsPaused(ctx, in.ProjectID, in.ID, keys, paused, req.Note); err != nil {
		return err
	}
	if !paused {
		// Reads that were due while paused can run now.
		a.wake()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
