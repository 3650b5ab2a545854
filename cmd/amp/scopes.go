package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/manifest"
)

func newScopesCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "scopes [PATH]",
		Short: "Print the minimal OAuth scopes each integration needs, and why",
		Long: `Scopes derives, for each integration of the manifest, the minimal OAuth scopes
its reads, writes and subscriptions need, with the reason for each. Scopes are
never written in the manifest; the runtime asks customers for exactly these.`,
		Args: maxArgs(1, "the manifest or its folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			if format != "text" && format != "json" {
				return usageErrorf("unknown --format %q (want text or json)", format)
			}
			m, err := loadForCommand(cmd, path)
			if err != nil {
				return err
			}
			all := manifest.Scopes(m, nil)
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					FormatVersion string                       `json:"format_version"`
					Integrations  []manifest.IntegrationScopes `json:"integrations"`
				}{manifest.JSONFormatVersion, all})
			}
			fmt.Fprint(cmd.OutOrStdout(), manifest.FormatScopes(all))
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "text", "output format: text or json")
	return cmd
}

// loadForCommand loads a manifest for a command that needs a parsed model
// but does not validate it. Parse errors are printed and exit 1;
// unreadable input exits 2.
func loadForCommand(cmd *cobra.Command, path string) (*manifest.Manifest, error) {
	f, diags := manifest.Load(path)
	if f == nil {
		if err := manifest.WriteDiagnostics(cmd.ErrOrStderr(), manifest.FormatText, diags, nil); err != nil {
			return nil, err
		}
		for _, d := range diags {
			if d.Rule == "file-unreadable" {
				return nil, &exitError{code: exitUsage}
			}
		}
		return nil, failed()
	}
	return f.Manifest, nil
}
