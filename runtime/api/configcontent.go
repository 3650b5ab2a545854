package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

// patchOp is one JSON Patch operation (RFC 6902): add, remove or replace.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchObjectConfigContent is PATCH .../objects/{objectName}/config-content:
// JSON Patch operations applied to one object's config (read, write or
// subscribe) of the installation that groupRef or installationId names.
// A read change is sampled like a PATCH of the installation.
func (a *API) patchObjectConfigContent(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryBool(r, "skipSampling"); err != nil {
		return err
	}
	var req struct {
		GroupRef       string    `json:"groupRef"`
		InstallationID string    `json:"installationId"`
		Action         string    `json:"action"`
		Changes        []patchOp `json:"changes"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	switch {
	case (req.GroupRef == "") == (req.InstallationID == ""):
		return badRequest("body", "groupRef", "exactly one of groupRef and installationId is required")
	case req.Action != "read" && req.Action != "write" && req.Action != "subscribe":
		return badRequest("body", "action", "action must be read, write or subscribe")
	case len(req.Changes) == 0:
		return badRequest("body", "changes", "changes must hold at least one operation")
	}
	for i, c := range req.Changes {
		name := fmt.Sprintf("changes[%d]", i)
		switch {
		case c.Op != "add" && c.Op != "remove" && c.Op != "replace":
			return badRequest("body", name+".op", fmt.Sprintf("%s.op must be add, remove or replace, not %q", name, c.Op))
		case !strings.HasPrefix(c.Path, "/"):
			return badRequest("body", name+".path", fmt.Sprintf("%s.path must start with /", name))
		case c.Op != "remove" && len(c.Value) == 0:
			return badRequest("body", name+".value", fmt.Sprintf("%s.value is required for %s", name, c.Op))
		}
	}
	// A JWT naming another group is refused before the lookup: after it, a
	// group without an installation would answer 404 and one with an
	// installation 403, telling the token which groups are installed.
	if req.GroupRef != "" {
		if err := CheckGroup(r.Context(), req.GroupRef); err != nil {
			return err
		}
	}
	integ, err := a.integration(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var cur *runtime.Installation
	if req.InstallationID != "" {
		cur, err = a.store.GetInstallation(ctx, integ.ProjectID, req.InstallationID)
		if err == nil && cur.IntegrationID != integ.ID {
			err = runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", req.InstallationID)
		}
		if err != nil {
			return err
		}
	} else {
		ins, err := a.store.ListInstallations(ctx, integ.ProjectID, runtime.InstallationFilter{IntegrationID: integ.ID, GroupRef: req.GroupRef})
		if err != nil {
			return err
		}
		if len(ins) == 0 {
			return runtime.Errorf(runtime.ENOTFOUND, "group %q has no installation of integration %s", req.GroupRef, integ.Name)
		}
		cur = ins[0]
	}
	if err := CheckGroup(ctx, cur.GroupRef); err != nil {
		return err
	}
	object := r.PathValue("objectName")
	rev, err := a.revisionIntegration(ctx, integ.ProjectID, integ.ID, integ.LatestRevisionID)
	if err != nil {
		return err
	}
	if !manifestHasObject(rev, req.Action, object) {
		return runtime.Errorf(runtime.EINVALID, "integration %s has no %s object %q", integ.Name, req.Action, object)
	}
	doc, err := toDoc(cur.Config.Content)
	if err != nil {
		return err
	}
	objects, err := childObject(doc, req.Action, "objects")
	if err != nil {
		return err
	}
	for k := range objects {
		if strings.EqualFold(k, object) {
			object = k
			break
		}
	}
	objCfg, ok := objects[object].(map[string]any)
	if !ok {
		objCfg = map[string]any{"objectName": object}
	}
	var target any = objCfg
	for i, c := range req.Changes {
		if target, err = applyPatchOp(target, c); err != nil {
			return badRequest("body", fmt.Sprintf("changes[%d]", i), fmt.Sprintf("changes[%d] (%s %s): %v", i, c.Op, c.Path, err))
		}
	}
	objects[object] = target
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode config content: %w", err)
	}
	var content runtime.ConfigContent
	if err := decodeBytes(b, &content); err != nil {
		return err
	}
	if err := content.Validate(); err != nil {
		return err
	}
	if req.Action == "read" {
		changed := readObjectsChanged(cur.Config.Content, content)
		if integ.LatestRevisionID != cur.Config.RevisionID {
			changed = nil
		}
		if err := a.sample(r, integ.ProjectID, cur.GroupRef, cur.ConnectionID, rev, content, changed); err != nil {
			return err
		}
	}
	in, err := a.store.UpdateInstallation(ctx, cur.ProjectID, cur.ID, runtime.InstallationUpdate{
		Config: runtime.InstallationConfig{RevisionID: integ.LatestRevisionID, Content: content}})
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

// manifestHasObject reports whether the integration has object (ignoring
// case) under action.
func manifestHasObject(in *manifest.Integration, action, object string) bool {
	var names []string
	switch {
	case action == "read" && in.Read != nil:
		for _, o := range in.Read.Objects {
			if o != nil {
				names = append(names, o.ObjectName)
			}
		}
	case action == "write" && in.Write != nil:
		for _, o := range in.Write.Objects {
			if o != nil {
				names = append(names, o.ObjectName)
			}
		}
	case action == "subscribe" && in.Subscribe != nil:
		for _, o := range in.Subscribe.Objects {
			if o != nil {
				names = append(names, o.ObjectName)
			}
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, object) {
			return true
		}
	}
	return false
}

// childObject returns doc[keys[0]][keys[1]]..., creating empty objects on
// the way.
func childObject(doc map[string]any, keys ...string) (map[string]any, error) {
	cur := doc
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			if cur[k] != nil {
				return nil, runtime.Errorf(runtime.EINVALID, "config content %s is not an object", strings.Join(keys[:i+1], "."))
			}
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	return cur, nil
}

// applyPatchOp applies one JSON Patch operation to doc and returns the
// result. The path is a JSON Pointer (RFC 6901) below doc.
func applyPatchOp(doc any, op patchOp) (any, error) {
	var value any
	if op.Op != "remove" {
		dec := json.NewDecoder(strings.NewReader(string(op.Value)))
		dec.UseNumber()
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("value: %v", err)
		}
	}
	segs := strings.Split(op.Path[1:], "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return patchAt(doc, segs, op.Op, value)
}

func patchAt(node any, segs []string, op string, value any) (any, error) {
	key := segs[0]
	last := len(segs) == 1
	switch n := node.(type) {
	case map[string]any:
		child, exists := n[key]
		if !last {
			if !exists {
				if op != "add" {
					return nil, fmt.Errorf("no member %q", key)
				}
				child = map[string]any{}
			}
			v, err := patchAt(child, segs[1:], op, value)
			if err != nil {
				return nil, err
			}
			n[key] = v
			return n, nil
		}
		switch op {
		case "add":
			n[key] = value
		case "replace":
			if !exists {
				return nil, fmt.Errorf("no member %q to replace", key)
			}
			n[key] = value
		case "remove":
			if !exists {
				return nil, fmt.Errorf("no member %q to remove", key)
			}
			delete(n, key)
		}
		return n, nil
	case []any:
		if last && op == "add" && key == "-" {
			return append(n, value), nil
		}
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i > len(n) || (i == len(n) && !(last && op == "add")) {
			return nil, fmt.Errorf("no array index %q", key)
		}
		if !last {
			v, err := patchAt(n[i], segs[1:], op, value)
			if err != nil {
				return nil, err
			}
			n[i] = v
			return n, nil
		}
		switch op {
		case "add":
			return append(n[:i], append([]any{value}, n[i:]...)...), nil
		case "replace":
			n[i] = value
			return n, nil
		default:
			return append(n[:i], n[i+1:]...), nil
		}
	default:
		return nil, fmt.Errorf("cannot descend into a %T at %q", node, key)
	}
}
