package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

// manifestName names the deployed manifest in diagnostics.
const manifestName = "amp.yaml"

type integrationJSON struct {
	ID             string        `json:"id"`
	ProjectID      string        `json:"projectId"`
	Name           string        `json:"name"`
	Provider       string        `json:"provider"`
	CreateTime     time.Time     `json:"createTime"`
	UpdateTime     time.Time     `json:"updateTime,omitzero"`
	LatestRevision *revisionJSON `json:"latestRevision,omitempty"`
}

type revisionJSON struct {
	ID          string          `json:"id"`
	SpecVersion string          `json:"specVersion"`
	CreateTime  time.Time       `json:"createTime"`
	Content     json.RawMessage `json:"content"`
}

func toIntegration(in *runtime.Integration) integrationJSON {
	out := integrationJSON{ID: in.ID, ProjectID: in.ProjectID, Name: in.Name, Provider: in.Provider,
		CreateTime: in.CreateTime, UpdateTime: in.UpdateTime}
	if in.LatestRevision != nil {
		rev := toRevision(in.LatestRevision)
		out.LatestRevision = &rev
	}
	return out
}

// toRevision serves a revision's content as JSON (Ampersand's
// Revision.content, the manifest's integration). Deploys store canonical
// JSON; content stored as YAML by other writers is converted.
func toRevision(rev *runtime.Revision) revisionJSON {
	out := revisionJSON{ID: rev.ID, SpecVersion: rev.SpecVersion, CreateTime: rev.CreateTime, Content: json.RawMessage("{}")}
	switch {
	case json.Valid(rev.Content):
		out.Content = rev.Content
	default:
		if f, _ := manifest.Parse(manifestName, rev.Content); f != nil {
			if b, err := json.Marshal(f.Value); err == nil {
				out.Content = b
			}
		}
	}
	return out
}

// deployIntegrations is integrations:batch: the manifest inline
// (sourceYaml) or in a zip uploaded through generate-upload-url
// (sourceZipUrl, which is never fetched), validated exactly as `amp validate` does; errors answer 422
// with the diagnostics. Each integration whose canonical content changed
// gets a new revision. Breaking changes (manifest.Diff) to an integration
// that has installations answer 409 and deploy nothing unless the request
// says destructive=true.
func (a *API) deployIntegrations(w http.ResponseWriter, r *http.Request) error {
	destructive, err := queryBool(r, "destructive")
	if err != nil {
		return err
	}
	var req struct {
		SourceYaml   *string `json:"sourceYaml"`
		SourceZipURL *string `json:"sourceZipUrl"`
	}
	if err := decode(w, r, maxDeployBody, &req); err != nil {
		return err
	}
	var src []byte
	switch {
	case req.SourceZipURL != nil && req.SourceYaml != nil:
		return badRequest("body", "sourceZipUrl", "give one of sourceZipUrl and sourceYaml, not both")
	case req.SourceZipURL != nil:
		if src, err = a.uploadedManifest(r, *req.SourceZipURL); err != nil {
			return err
		}
	case req.SourceYaml == nil || *req.SourceYaml == "":
		return badRequest("body", "sourceYaml", "sourceYaml is required: the manifest (amp.yaml) as a string (or sourceZipUrl, an upload from generate-upload-url)")
	default:
		src = []byte(*req.SourceYaml)
	}
	f, diags := manifest.Parse(manifestName, src)
	if f != nil {
		diags = manifest.Validate(f, manifest.Options{Registry: a.registry})
	}
	if f == nil || diags.HasErrors() {
		return a.manifestProblem(w, f, diags)
	}
	ints, _ := f.Value.(map[string]any)["integrations"].([]any)
	deploys := make([]runtime.IntegrationDeploy, 0, len(f.Manifest.Integrations))
	for i, in := range f.Manifest.Integrations {
		if i >= len(ints) {
			break
		}
		// Canonical content: JSON with sorted keys, so formatting and
		// comments do not make a new revision.
		content, err := json.Marshal(ints[i])
		if err != nil {
			return fmt.Errorf("encode integration %s: %w", in.Name, err)
		}
		deploys = append(deploys, runtime.IntegrationDeploy{Name: in.Name, Provider: in.Provider,
			SpecVersion: f.Manifest.SpecVersion, Content: content, Hash: runtime.ContentHash(content)})
	}
	if len(deploys) == 0 {
		return runtime.Errorf(runtime.EINVALID, "the manifest has no integrations")
	}
	if !destructive {
		if p, err := a.breakingProblem(r.Context(), Project(r.Context()).ID, f.Manifest, deploys); err != nil || p != nil {
			if p != nil {
				WriteProblem(w, p)
			}
			return err
		}
	}
	results, err := a.store.DeployIntegrations(r.Context(), Project(r.Context()).ID, deploys)
	if err != nil {
		return err
	}
	out := make([]integrationJSON, len(results))
	for i := range results {
		out[i] = toIntegration(&results[i].Integration)
		a.log.InfoContext(r.Context(), "deployed integration", "project", Project(r.Context()).ID,
			"integration", results[i].Integration.Name, "created", results[i].Created, "changed", results[i].Changed)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// breakingProblem checks a deploy against the live installations: for each
// integration of the batch that has a latest revision and at least one
// installation, the breaking changes (manifest.Diff) from that revision to
// the new content. It returns the 409 problem that refuses the deploy, or
// nil when no breaking change reaches an installation. The check runs before
// the store's deploy, so it does not serialize with a concurrent install.
func (a *API) breakingProblem(ctx context.Context, projectID string, m *manifest.Manifest, deploys []runtime.IntegrationDeploy) (*Problem, error) {
	ints, err := a.store.ListIntegrations(ctx, projectID)
	if err != nil {
		return nil, err
	}
	deployed := make(map[string]*runtime.Integration, len(ints))
	for _, in := range ints {
		deployed[in.Name] = in
	}
	var details, causes []string
	affected := 0
	for _, d := range deploys {
		in := deployed[d.Name]
		if in == nil || in.LatestRevision == nil || in.LatestRevision.Hash == d.Hash {
			continue
		}
		old, oldErr := revisionManifest(in.LatestRevision)
		var breaking []string
		if oldErr == nil {
			for _, ch := range manifest.Diff(old, m, a.registry) {
				if ch.Breaking && ch.Integration == d.Name {
					breaking = append(breaking, ch.Summary)
				}
			}
			if len(breaking) == 0 {
				continue
			}
		}
		insts, err := a.store.ListInstallations(ctx, projectID, runtime.InstallationFilter{IntegrationID: in.ID})
		if err != nil {
			return nil, err
		}
		if len(insts) == 0 {
			continue
		}
		if oldErr != nil {
			// Fail closed: the change cannot be checked, and it reaches
			// installations.
			breaking = []string{fmt.Sprintf("integration %s: the deployed revision cannot be compared (%v)", d.Name, oldErr)}
		}
		groups := make([]string, len(insts))
		for i, inst := range insts {
			groups[i] = inst.GroupRef
		}
		affected += len(insts)
		details = append(details, fmt.Sprintf("integration %s has %s (groups %s)", d.Name,
			countNoun(len(insts), "installation"), strings.Join(groups, ", ")))
		causes = append(causes, breaking...)
	}
	if affected == 0 {
		return nil, nil
	}
	return &Problem{Type: problemTypeBase + "breaking_change", Status: http.StatusConflict,
		Detail: fmt.Sprintf("refusing to deploy: breaking changes affect %s: %s; nothing was deployed",
			countNoun(affected, "live installation"), strings.Join(details, "; ")),
		Causes: causes,
		Remedy: "deploy with destructive=true (amp deploy --allow-destructive) to deploy the breaking changes anyway"}, nil
}

// countNoun is "1 noun" or "n nouns".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// manifestProblem answers 422 with the manifest's diagnostics: causes for
// clients that read them (one line per error), and the `amp validate
// --format json` report under diagnostics.
func (a *API) manifestProblem(w http.ResponseWriter, f *manifest.File, diags manifest.Diagnostics) error {
	var buf bytes.Buffer
	src := manifest.Sources{}
	if f != nil {
		src[manifestName] = f
	}
	if err := manifest.WriteDiagnostics(&buf, manifest.FormatJSON, diags, src); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	p := &Problem{Type: problemTypeBase + "invalid_manifest", Status: http.StatusUnprocessableEntity,
		Detail: "the manifest is invalid: " + manifest.Summary(diags), Diagnostics: json.RawMessage(bytes.TrimSpace(buf.Bytes())),
		Remedy: "run `amp validate` on the manifest and fix the errors"}
	for _, d := range diags {
		if d.Severity == manifest.SeverityError {
			p.Causes = append(p.Causes, d.String())
		}
	}
	WriteProblem(w, p)
	return nil
}

func (a *API) listIntegrations(w http.ResponseWriter, r *http.Request) error {
	ints, err := a.store.ListIntegrations(r.Context(), Project(r.Context()).ID)
	if err != nil {
		return err
	}
	out := make([]integrationJSON, len(ints))
	for i, in := range ints {
		out[i] = toIntegration(in)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// integration resolves the path's integration by ID, then by name.
func (a *API) integration(r *http.Request) (*runtime.Integration, error) {
	ref := r.PathValue("integrationIdOrName")
	if ref == "" {
		ref = r.PathValue("integrationId")
	}
	projectID := Project(r.Context()).ID
	in, err := a.store.GetIntegration(r.Context(), projectID, ref)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		in, err = a.store.GetIntegrationByName(r.Context(), projectID, ref)
	}
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "integration %q not found", ref)
	}
	return in, err
}

func (a *API) getIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := a.integration(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toIntegration(in))
	return nil
}

func (a *API) listRevisions(w http.ResponseWriter, r *http.Request) error {
	in, err := a.integration(r)
	if err != nil {
		return err
	}
	revs, err := a.store.ListRevisions(r.Context(), in.ProjectID, in.ID)
	if err != nil {
		return err
	}
	out := make([]revisionJSON, len(revs))
	for i, rev := range revs {
		out[i] = toRevision(rev)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getRevision(w http.ResponseWriter, r *http.Request) error {
	if strings.HasSuffix(r.PathValue("revisionId"), ":hydrate") {
		if a.hydrate == nil {
			return runtime.Errorf(runtime.ENOTFOUND, "hydrate is not available on this server")
		}
		a.hydrate.ServeHTTP(w, r)
		return nil
	}
	in, err := a.integration(r)
	if err != nil {
		return err
	}
	rev, err := a.store.GetRevision(r.Context(), in.ProjectID, in.ID, r.PathValue("revisionId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRevision(rev))
	return nil
}
