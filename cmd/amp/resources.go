package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// maxSecret bounds a secret read from stdin.
const maxSecret = 64 << 10

// newProviderAppCmd is `amp provider-app set`: the OAuth client of a
// provider for the project.
func newProviderAppCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provider-app",
		Short: "Manage the project's OAuth apps (client id and secret per provider)",
		Args:  cobra.ArbitraryArgs,
		RunE:  subcommandsOnly,
	}
	var (
		cf              clientFlags
		provider, id    string
		secretFromStdin bool
	)
	set := &cobra.Command{
		Use:   "set --provider P [--client-id X] [--client-secret-stdin]",
		Short: "Create or update the project's OAuth app for a provider",
		Long: `Set creates the project's OAuth app for the provider, or updates the one it has.
The client secret is read from stdin (--client-secret-stdin), never from a flag,
so it stays out of shell history and process lists; it is sealed by the server
and never printed.

  amp provider-app set --provider salesforce --client-id 3MVG9... --client-secret-stdin < secret.txt`,
		Args: maxArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if provider == "" {
				return usageErrorf("provider-app set needs --provider (one of: %s)", strings.Join(providerNames(), ", "))
			}
			if id == "" && !secretFromStdin {
				return usageErrorf("provider-app set: nothing to set; pass --client-id and/or --client-secret-stdin")
			}
			var secret string
			if secretFromStdin {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxSecret+1))
				if err != nil {
					return usageErrorf("reading the client secret from stdin: %v", err)
				}
				if len(b) > maxSecret {
					return usageErrorf("the client secret on stdin is larger than %d KiB", maxSecret>>10)
				}
				secret = strings.TrimSpace(string(b))
				if secret == "" {
					return usageErrorf("--client-secret-stdin: stdin is empty; pipe the client secret into amp")
				}
			}
			c, err := cf.newClient()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var apps []struct{ ID, Provider, ClientID string }
			if err := c.do(ctx, "GET", c.projectPath("provider-apps"), nil, nil, &apps); err != nil {
				return err
			}
			var app struct{ ID, ClientID string }
			fields := map[string]any{}
			var mask []string
			if id != "" {
				fields["clientId"] = id
				mask = append(mask, "clientId")
			}
			if secretFromStdin {
				fields["clientSecret"] = secret
				mask = append(mask, "clientSecret")
			}
			verb := "created"
			existing := ""
			for _, a := range apps {
				if a.Provider == provider {
					existing = a.ID
					break
				}
			}
			if existing == "" {
				fields["provider"] = provider
				err = c.do(ctx, "POST", c.projectPath("provider-apps"), nil, fields, &app)
			} else {
				verb = "updated"
				err = c.do(ctx, "PATCH", c.projectPath("provider-apps", existing), nil,
					map[string]any{"updateMask": mask, "providerApp": fields}, &app)
			}
			if err != nil {
				return err
			}
			what := []string{}
			if id != "" {
				what = append(what, "client id "+app.ClientID)
			}
			if secretFromStdin {
				what = append(what, "client secret set")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "provider app %s for %s: %s (%s)\n", app.ID, provider, verb, strings.Join(what, "; "))
			return nil
		},
	}
	addClientFlags(set, &cf)
	set.Flags().StringVar(&provider, "provider", "", "provider name (salesforce, hubspot, dynamics)")
	set.Flags().StringVar(&id, "client-id", "", "the OAuth client id")
	set.Flags().BoolVar(&secretFromStdin, "client-secret-stdin", false, "read the OAuth client secret from stdin")
	cmd.AddCommand(set)
	return cmd
}

// newDestinationCmd is `amp destination set NAME --url U`.
func newDestinationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "destination",
		Short: "Manage the project's webhook destinations",
		Args:  cobra.ArbitraryArgs,
		RunE:  subcommandsOnly,
	}
	var (
		cf     clientFlags
		target string
	)
	set := &cobra.Command{
		Use:   "set NAME --url URL",
		Short: "Create a webhook destination, or change its URL",
		Long: `Set creates the webhook destination NAME (the name manifests refer to in
'destination:') or changes its URL. The server generates a signing secret per
destination; the URL must use https (http on loopback only when the server runs
with --dev).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("destination set needs one destination NAME, got %s", plural(len(args), "argument"))
			}
			if target == "" {
				return usageErrorf("destination set needs --url")
			}
			name := args[0]
			c, err := cf.newClient()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			var d struct {
				ID       string
				Metadata struct{ URL string }
			}
			err = c.do(ctx, "GET", c.projectPath("destinations", name), nil, nil, &d)
			switch {
			case errors.Is(err, errNotFound):
				body := map[string]any{"name": name, "type": "webhook", "metadata": map[string]any{"url": target}}
				if err := c.do(ctx, "POST", c.projectPath("destinations"), nil, body, &d); err != nil {
					return err
				}
				fmt.Fprintf(out, "destination %s: created (id %s, url %s)\n", name, d.ID, d.Metadata.URL)
				return nil
			case err != nil:
				return err
			case d.Metadata.URL == target:
				fmt.Fprintf(out, "destination %s: unchanged (url %s)\n", name, target)
				return nil
			}
			body := map[string]any{"updateMask": []string{"metadata.url"},
				"destination": map[string]any{"metadata": map[string]any{"url": target}}}
			if err := c.do(ctx, "PATCH", c.projectPath("destinations", d.ID), nil, body, &d); err != nil {
				return err
			}
			fmt.Fprintf(out, "destination %s: updated (url %s)\n", name, d.Metadata.URL)
			return nil
		},
	}
	addClientFlags(set, &cf)
	set.Flags().StringVar(&target, "url", "", "the webhook URL deliveries are posted to")
	cmd.AddCommand(set)
	return cmd
}

// listCmd builds `amp GROUP list`: fetch (into raw JSON), then print a
// table or, with --format json, the server's JSON.
func listCmd(group, short string, setup func(*cobra.Command), run func(cmd *cobra.Command, c *apiClient, raw *json.RawMessage, tw *tabwriter.Writer) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   group,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE:  subcommandsOnly,
	}
	var (
		cf     clientFlags
		format string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  maxArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageErrorf("unknown --format %q (want text or json)", format)
			}
			c, err := cf.newClient()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			var table bytes.Buffer
			tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
			if err := run(cmd, c, &raw, tw); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				var b bytes.Buffer
				if err := json.Indent(&b, raw, "", "  "); err != nil {
					return err
				}
				b.WriteByte('\n')
				_, err := b.WriteTo(out)
				return err
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = table.WriteTo(out)
			return err
		},
	}
	addClientFlags(list, &cf)
	list.Flags().StringVarP(&format, "format", "o", "text", "output format: text or json")
	if setup != nil {
		setup(list)
	}
	cmd.AddCommand(list)
	return cmd
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newIntegrationsCmd() *cobra.Command {
	return listCmd("integrations", "List the project's deployed integrations", nil,
		func(cmd *cobra.Command, c *apiClient, raw *json.RawMessage, tw *tabwriter.Writer) error {
			if err := c.do(cmd.Context(), "GET", c.projectPath("integrations"), nil, nil, raw); err != nil {
				return err
			}
			var ints []apiIntegration
			if err := json.Unmarshal(*raw, &ints); err != nil {
				return err
			}
			fmt.Fprintln(tw, "NAME\tPROVIDER\tID\tREVISION\tDEPLOYED")
			for _, in := range ints {
				rev, at := "-", "-"
				if in.LatestRevision != nil {
					rev, at = in.LatestRevision.ID, shortTime(in.LatestRevision.CreateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.Name, in.Provider, in.ID, rev, at)
			}
			return nil
		})
}

func newInstallationsCmd() *cobra.Command {
	var integration string
	return listCmd("installations", "List the project's installations", func(list *cobra.Command) {
		list.Flags().StringVar(&integration, "integration", "", "only the installations of this integration (name or ID)")
	}, func(cmd *cobra.Command, c *apiClient, raw *json.RawMessage, tw *tabwriter.Writer) error {
		ctx := cmd.Context()
		var ints []apiIntegration
		if err := c.do(ctx, "GET", c.projectPath("integrations"), nil, nil, &ints); err != nil {
			return err
		}
		names := map[string]string{}
		for _, in := range ints {
			names[in.ID] = in.Name
		}
		path := c.projectPath("installations")
		if integration != "" {
			path = c.projectPath("integrations", integration, "installations")
		}
		if err := c.do(ctx, "GET", path, nil, nil, raw); err != nil {
			return err
		}
		var insts []apiInstallation
		if err := json.Unmarshal(*raw, &insts); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tINTEGRATION\tGROUP\tHEALTH\tCONNECTION\tREVISION\tCREATED")
		for _, in := range insts {
			conn := "-"
			if in.Connection != nil {
				conn = in.Connection.ID + " (" + in.Connection.Status + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, firstNonEmpty(names[in.IntegrationID], in.IntegrationID),
				in.Group.GroupRef, in.HealthStatus, conn, firstNonEmpty(in.Config.RevisionID, "-"), shortTime(in.CreateTime))
		}
		return nil
	})
}

// apiConnection is the part of Ampersand's Connection the CLI shows.
type apiConnection struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	Status     string    `json:"status"`
	CreateTime time.Time `json:"createTime"`
	Group      struct {
		GroupRef string `json:"groupRef"`
	} `json:"group"`
	Consumer struct {
		ConsumerRef string `json:"consumerRef"`
	} `json:"consumer"`
}

func newConnectionsCmd() *cobra.Command {
	var provider, group string
	return listCmd("connections", "List the project's connections (customers' authorizations)", func(list *cobra.Command) {
		list.Flags().StringVar(&provider, "provider", "", "only connections to this provider")
		list.Flags().StringVar(&group, "group", "", "only connections of this group (groupRef)")
	}, func(cmd *cobra.Command, c *apiClient, raw *json.RawMessage, tw *tabwriter.Writer) error {
		q := url.Values{}
		if provider != "" {
			q.Set("provider", provider)
		}
		if group != "" {
			q.Set("groupRef", group)
		}
		if err := c.do(cmd.Context(), "GET", c.projectPath("connections"), q, nil, raw); err != nil {
			return err
		}
		var conns []apiConnection
		if err := json.Unmarshal(*raw, &conns); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tPROVIDER\tGROUP\tCONSUMER\tSTATUS\tCREATED")
		for _, cn := range conns {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cn.ID, cn.Provider, cn.Group.GroupRef, cn.Consumer.ConsumerRef, cn.Status, shortTime(cn.CreateTime))
		}
		return nil
	})
}
