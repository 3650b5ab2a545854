package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/manifest"
)

type validateArgs struct {
	paths   []string
	format  string
	strict  bool
	offline bool
	rules   bool
}

func newValidateCmd() *cobra.Command {
	var a validateArgs
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check manifests against the schema and every rule",
		Long: `Validate checks each manifest (a file, or a folder holding amp.yaml or amp.yml;
default: the current folder) against the JSON Schema and every semantic rule, and
reports all findings at once, sorted by position.

Exit status: 0 no errors, 1 errors (or warnings with --strict), 2 bad usage or
unreadable input. Silence a rule on one line with a comment
'# amp:ignore[rule-id]' on that line or the line above; --rules lists the rules.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.paths = args
			return runValidate(cmd, a)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&a.format, "format", "o", "text", "output format: text, json or github")
	f.BoolVar(&a.strict, "strict", false, "treat warnings (unknown keys, deprecations) as errors")
	f.BoolVar(&a.offline, "offline", false, "skip checks that need an amp server; today every check is offline (destinations are checked by amp deploy), so CI can pin this flag now")
	f.BoolVar(&a.rules, "rules", false, "list every rule with its id and default severity, then exit")
	return cmd
}

func runValidate(cmd *cobra.Command, a validateArgs) error {
	out := cmd.OutOrStdout()
	if a.rules {
		for _, r := range manifest.Rules() {
			fmt.Fprintf(out, "%-26s %-8s %s\n", r.ID, r.Severity, r.Summary)
		}
		return nil
	}
	if !slices.Contains(manifest.Formats, manifest.Format(a.format)) {
		return usageErrorf("unknown --format %q (want text, json or github)", a.format)
	}
	if len(a.paths) == 0 {
		a.paths = []string{"."}
	}
	var all manifest.Diagnostics
	sources := manifest.Sources{}
	var unreadable []string
	var valid []string
	for _, p := range a.paths {
		f, diags := manifest.Load(p)
		if f == nil {
			for _, d := range diags {
				if d.Rule == "file-unreadable" {
					// Not a finding about a manifest: the input is missing.
					unreadable = append(unreadable, d.Summary)
				} else {
					all = append(all, d)
				}
			}
			continue
		}
		sources[f.Name] = f
		diags = manifest.Validate(f, manifest.Options{Strict: a.strict})
		if !diags.HasErrors() {
			valid = append(valid, f.Name)
		}
		all = append(all, diags...)
	}
	for _, msg := range unreadable {
		fmt.Fprintf(cmd.ErrOrStderr(), "amp: %s\n", msg)
	}
	if len(unreadable) > 0 && len(sources) == 0 && len(all) == 0 {
		return &exitError{code: exitUsage}
	}
	if err := manifest.WriteDiagnostics(out, manifest.Format(a.format), all, sources); err != nil {
		return err
	}
	if a.format == "text" && len(valid) > 0 {
		fmt.Fprintf(out, "%s: valid\n", strings.Join(valid, ", "))
	}
	switch {
	case len(unreadable) > 0:
		return &exitError{code: exitUsage}
	case all.HasErrors():
		return failed()
	}
	return nil
}
