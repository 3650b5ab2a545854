package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/providers"
)

func providerNames() []string { return providers.Default.Names() }

func newProvidersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the providers in the catalog, or show one",
		Args:  cobra.ArbitraryArgs,
		RunE:  subcommandsOnly,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the providers amp has connectors for",
		Args:  maxArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tMODULES\tACTIONS\tOBJECTS")
			for _, n := range providerNames() {
				s, _ := providers.Default.Spec(n)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", s.Name, s.DisplayName, moduleIDs(s), strings.Join(actions(s.Support), ","), len(s.Objects))
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show PROVIDER",
		Short: "Show a provider's catalog entry: modules, OAuth, scopes, objects",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("providers show needs one provider name (one of: %s)", strings.Join(providerNames(), ", "))
			}
			s, ok := providers.Default.Spec(args[0])
			if !ok {
				return usageErrorf("unknown provider %q (one of: %s)", args[0], strings.Join(providerNames(), ", "))
			}
			showProvider(cmd, s)
			return nil
		},
	})
	return cmd
}

func moduleIDs(s *providers.Spec) string {
	ids := make([]string, len(s.Modules))
	for i, m := range s.Modules {
		ids[i] = m.ID
		if m.ID == s.DefaultModule {
			ids[i] += "*"
		}
	}
	return strings.Join(ids, ",")
}

func actions(s providers.Support) []string {
	var out []string
	for _, a := range []providers.Action{providers.ActionRead, providers.ActionWrite, providers.ActionProxy, providers.ActionSubscribe} {
		if s.Supports(a) {
			out = append(out, string(a))
		}
	}
	return out
}

func showProvider(cmd *cobra.Command, s *providers.Spec) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s (%s)\n", s.DisplayName, s.Name)
	if s.Docs != "" {
		fmt.Fprintf(w, "\n%s\n", s.Docs)
	}
	fmt.Fprintf(w, "\nactions:   %s\n", strings.Join(actions(s.Support), ", "))
	fmt.Fprintf(w, "modules:   %s (* = default)\n", moduleIDs(s))
	fmt.Fprintf(w, "authorize: %s\ntoken:     %s\n", s.OAuth.AuthURL, s.OAuth.TokenURL)
	fmt.Fprintf(w, "pkce:      %t\n", s.OAuth.PKCE)
	base := make([]string, len(s.Scopes.Base))
	for i, sc := range s.Scopes.Base {
		base[i] = sc.Name
	}
	fmt.Fprintf(w, "scopes:    %s (plus per-object scopes; see `amp scopes`)\n", strings.Join(base, " "))
	if s.Batch.WriteBatchSize > 0 {
		fmt.Fprintf(w, "batches:   read %d per page, write %d per call\n", s.Batch.ReadPageSize, s.Batch.WriteBatchSize)
	}
	if s.Custom.Note != "" {
		fmt.Fprintf(w, "custom:    %s\n", s.Custom.Note)
	}
	fmt.Fprintf(w, "\nstandard objects:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range s.Objects {
		mod := o.Module
		if mod == "" {
			mod = s.DefaultModule
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d fields\n", o.Name, o.DisplayName, mod, len(o.Fields))
	}
	tw.Flush()
}
