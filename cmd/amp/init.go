package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/manifest"
)

func newInitCmd() *cobra.Command {
	var (
		opts    manifest.InitOptions
		objects string
		dir     string
		force   bool
		stdout  bool
	)
	cmd := &cobra.Command{
		Use:   "init --provider P --objects a,b",
		Short: "Write a valid starter amp.yaml from the provider catalog",
		Args:  maxArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Provider == "" {
				return usageErrorf("init needs --provider (one of: %s)", strings.Join(providerNames(), ", "))
			}
			for o := range strings.SplitSeq(objects, ",") {
				if o = strings.TrimSpace(o); o != "" {
					opts.Objects = append(opts.Objects, o)
				}
			}
			src, err := manifest.Init(opts)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if stdout {
				_, err := cmd.OutOrStdout().Write(src)
				return err
			}
			path := filepath.Join(dir, "amp.yaml")
			flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			if !force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL // never overwrite by accident, even in a race
			}
			file, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return usageErrorf("%s already exists; pass --force to overwrite it", path)
			}
			if err != nil {
				return usageErrorf("%v", err)
			}
			if _, err := file.Write(src); err != nil {
				file.Close()
				return fmt.Errorf("write %s: %w", path, err)
			}
			if err := file.Close(); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s; next: amp validate %s && amp scopes %s\n", path, dir, dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Provider, "provider", "", "provider catalog key: salesforce, hubspot or dynamicsCRM")
	f.StringVar(&objects, "objects", "", "comma-separated provider object names, e.g. account,contact")
	f.StringVar(&opts.Module, "module", "", "provider module (default: the provider's default module)")
	f.StringVar(&opts.Name, "name", "", "integration name (default: <provider>Sync)")
	f.StringVar(&opts.Destination, "destination", "", "destination for read objects (default: defaultWebhook)")
	f.StringVar(&dir, "dir", ".", "folder to write amp.yaml in")
	f.BoolVar(&force, "force", false, "overwrite an existing amp.yaml")
	f.BoolVar(&stdout, "stdout", false, "print the manifest instead of writing it")
	return cmd
}
