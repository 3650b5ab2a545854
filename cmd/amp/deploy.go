package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/manifest"
)

// deployedName names the deployed side of the diff deploy prints.
const deployedName = "deployed"

// Wire shapes of the runtime API the CLI reads (runtime/api, schemas/openapi.yaml).
type (
	apiRevision struct {
		ID          string          `json:"id"`
		SpecVersion string          `json:"specVersion"`
		CreateTime  time.Time       `json:"createTime"`
		Content     json.RawMessage `json:"content"`
	}
	apiIntegration struct {
		ID             string       `json:"id"`
		Name           string       `json:"name"`
		Provider       string       `json:"provider"`
		CreateTime     time.Time    `json:"createTime"`
		UpdateTime     time.Time    `json:"updateTime"`
		LatestRevision *apiRevision `json:"latestRevision"`
	}
	apiInstallation struct {
		ID            string `json:"id"`
		IntegrationID string `json:"integrationId"`
		Group         struct {
			GroupRef  string `json:"groupRef"`
			GroupName string `json:"groupName"`
		} `json:"group"`
		HealthStatus string `json:"healthStatus"`
		Connection   *struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"connection"`
		CreateTime time.Time `json:"createTime"`
		Config     struct {
			RevisionID string `json:"revisionId"`
		} `json:"config"`
	}
)

type deployArgs struct {
	client           clientFlags
	dryRun           bool
	allowDestructive bool
}

func newDeployCmd() *cobra.Command {
	var a deployArgs
	cmd := &cobra.Command{
		Use:   "deploy [PATH]",
		Short: "Validate a manifest and deploy it to an amp server",
		Long: `Deploy validates the manifest (a file, or a folder holding amp.yaml; default: the
current folder) exactly as 'amp validate' does and sends nothing when it has
errors. It then prints the semantic diff against the revisions deployed on the
server, and deploys: each integration gets a new revision when its content
changed, and is reported "unchanged" otherwise.

Breaking changes (a removed object or required field, a new required mapped
field, a new scope) to an integration that has installations are refused, naming
the installations, unless --allow-destructive is given. Deploy never prompts.

The server, API key and project come from --server, --api-key and --project, or
AMP_SERVER, AMP_API_KEY and AMP_PROJECT.

Exit status: 0 deployed (or dry run), 1 invalid manifest, refused breaking
change or an error answered by the server, 2 bad usage, unreadable input or an
unreachable server.`,
		Args: maxArgs(1, "the manifest or its folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			return runDeploy(cmd, a, path)
		},
	}
	addClientFlags(cmd, &a.client)
	f := cmd.Flags()
	f.BoolVar(&a.dryRun, "dry-run", false, "print the diff against the deployed revisions and deploy nothing")
	f.BoolVar(&a.allowDestructive, "allow-destructive", false, "deploy breaking changes even when installations are affected")
	return cmd
}

// validateForDeploy loads and validates path with the code and output of
// `amp validate` (text format): on errors it prints the same diagnostics on
// stdout and fails (exit 1, or 2 when the input is unreadable). Warnings are
// printed and do not stop the deploy.
func validateForDeploy(cmd *cobra.Command, path string) (*manifest.File, error) {
	out := cmd.OutOrStdout()
	f, diags := manifest.Load(path)
	if f == nil {
		var rest manifest.Diagnostics
		unreadable := false
		for _, d := range diags {
			if d.Rule == "file-unreadable" {
				fmt.Fprintf(cmd.ErrOrStderr(), "amp: %s\n", d.Summary)
				unreadable = true
			} else {
				rest = append(rest, d)
			}
		}
		if unreadable && len(rest) == 0 {
			return nil, &exitError{code: exitUsage}
		}
		if err := manifest.WriteDiagnostics(out, manifest.FormatText, rest, manifest.Sources{}); err != nil {
			return nil, err
		}
		if unreadable {
			return nil, &exitError{code: exitUsage}
		}
		return nil, failed()
	}
	diags = manifest.Validate(f, manifest.Options{})
	if len(diags) > 0 {
		if err := manifest.WriteDiagnostics(out, manifest.FormatText, diags, manifest.Sources{f.Name: f}); err != nil {
			return nil, err
		}
	}
	if diags.HasErrors() {
		return nil, failed()
	}
	return f, nil
}

// deployedManifest rebuilds a manifest from the latest deployed revision of
// each integration named in names. Deployed integrations that the manifest
// does not name are left out: a deploy does not remove them.
func deployedManifest(specVersion string, deployed map[string]apiIntegration, names []string) (*manifest.Manifest, error) {
	doc := map[string]any{"specVersion": specVersion}
	ints := []json.RawMessage{}
	for _, n := range names {
		in, ok := deployed[n]
		if !ok || in.LatestRevision == nil || len(in.LatestRevision.Content) == 0 {
			continue
		}
		ints = append(ints, in.LatestRevision.Content)
	}
	doc["integrations"] = ints
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	f, diags := manifest.Parse(deployedName, b)
	if f == nil {
		return nil, fmt.Errorf("cannot read the deployed revisions: %s", manifest.Summary(diags))
	}
	return f.Manifest, nil
}

func runDeploy(cmd *cobra.Command, a deployArgs, path string) error {
	f, err := validateForDeploy(cmd, path)
	if err != nil {
		return err
	}
	c, err := a.client.newClient()
	if err != nil {
		return err
	}
	ctx, out, errOut := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()

	var list []apiIntegration
	if err := c.do(ctx, "GET", c.projectPath("integrations"), nil, nil, &list); err != nil {
		return err
	}
	deployed := map[string]apiIntegration{}
	for _, in := range list {
		deployed[in.Name] = in
	}
	var names []string
	inManifest := map[string]bool{}
	for _, in := range f.Manifest.Integrations {
		if in != nil {
			names = append(names, in.Name)
			inManifest[in.Name] = true
		}
	}
	old, err := deployedManifest(f.Manifest.SpecVersion, deployed, names)
	if err != nil {
		return &exitError{code: exitFailure, msg: err.Error()}
	}
	changes := manifest.Diff(old, f.Manifest, nil)
	if err := manifest.WriteDiff(out, "text", deployedName, f.Name, changes); err != nil {
		return err
	}
	for _, in := range list {
		if !inManifest[in.Name] {
			fmt.Fprintf(out, "note: integration %s is deployed but not in %s; deploy leaves it as it is\n", in.Name, f.Name)
		}
	}
	if a.dryRun {
		fmt.Fprintln(out, "dry run: nothing deployed")
		return nil
	}

	// Breaking changes that reach live installations.
	breaking := map[string][]manifest.Change{}
	var order []string
	for _, ch := range changes {
		if ch.Breaking {
			if _, seen := breaking[ch.Integration]; !seen {
				order = append(order, ch.Integration)
			}
			breaking[ch.Integration] = append(breaking[ch.Integration], ch)
		}
	}
	var refusal strings.Builder
	affected := 0
	for _, name := range order {
		in, ok := deployed[name]
		if !ok {
			continue
		}
		var insts []apiInstallation
		if err := c.do(ctx, "GET", c.projectPath("integrations", in.ID, "installations"), nil, nil, &insts); err != nil {
			return err
		}
		if len(insts) == 0 {
			continue
		}
		affected += len(insts)
		groups := make([]string, len(insts))
		for i, inst := range insts {
			groups[i] = inst.Group.GroupRef
		}
		fmt.Fprintf(&refusal, "  integration %s: %s (groups %s)\n", name, plural(len(insts), "installation"), strings.Join(groups, ", "))
		for _, ch := range breaking[name] {
			fmt.Fprintf(&refusal, "    - %s\n", ch.Summary)
		}
	}
	if affected > 0 {
		if !a.allowDestructive {
			return &exitError{code: exitFailure, msg: fmt.Sprintf("refusing to deploy: breaking changes affect %s:\n%sNothing was deployed. Re-run with --allow-destructive to deploy anyway.",
				plural(affected, "live installation"), refusal.String())}
		}
		fmt.Fprintf(errOut, "amp: deploying breaking changes that affect %s (--allow-destructive):\n%s", plural(affected, "live installation"), refusal.String())
	}

	q := url.Values{}
	if a.allowDestructive {
		q.Set("destructive", "true")
	}
	var result []apiIntegration
	body := map[string]string{"sourceYaml": string(f.Source)}
	if err := c.do(ctx, "PUT", c.projectPath()+"/integrations:batch", q, body, &result); err != nil {
		return err
	}
	for _, in := range result {
		rev := ""
		if in.LatestRevision != nil {
			rev = in.LatestRevision.ID
		}
		prev, existed := deployed[in.Name]
		switch {
		case !existed:
			fmt.Fprintf(out, "%s: created, revision %s\n", in.Name, rev)
		case prev.LatestRevision != nil && prev.LatestRevision.ID == rev:
			fmt.Fprintf(out, "%s: unchanged (revision %s)\n", in.Name, rev)
		default:
			fmt.Fprintf(out, "%s: new revision %s\n", in.Name, rev)
		}
	}
	return nil
}
