package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/seal"
	"github.com/ampforge/amp/runtime/server"
)

func newServeCmd() *cobra.Command {
	var addr, data, publicURL, openerOrigin string
	var corsOrigins []string
	var dev bool
	var workers int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the amp runtime: the management API on a local SQLite store",
		Long: `Run the amp runtime: the management API (Ampersand-compatible, under /v1) on a
SQLite store in the data folder.

On an empty data folder it creates the project "default", an admin API key
(printed once and written to <data>/admin-api-key, mode 0600) and a sealing
key in <data>/secret-key unless AMP_SECRET_KEY is set. Back the key up
separately from the database. SIGINT or SIGTERM shut it down gracefully.

The OAuth callback page posts its result to the window that opened the
consent popup. --opener-origin names the origin of the application that opens
it (https://app.example.com), so no other page receives the message; the
default "*" posts to any opener, which is what @amp-labs/react expects (the
message holds only a connection ID or an error message).

--cors-origin (repeat it for several) lists the origins whose pages may call
the API, such as the application that embeds @amp-labs/react
(https://app.example.com); without it any origin may, as keys travel in
headers, never in cookies.

--workers sets how many operations (reads and asynchronous writes) run at
once. Each connection is paced to its provider's limits whatever the number;
more workers let more installations sync at the same time (a worker spends
most of its time waiting for the provider, so the default of 4 runs about 40
scheduled reads a second at 100 ms a request).`,
		Args: maxArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers < 0 || workers > maxWorkers {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--workers must be between 1 and %d (0: the default, %d); got %d", maxWorkers, engine.DefaultWorkers, workers)}
			}
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			srv, err := server.New(server.Config{Addr: addr, DataDir: data, DevMode: dev, Logger: log,
				SecretKeyEnv: os.Getenv(seal.EnvVar), PublicURL: publicURL, OpenerOrigin: openerOrigin,
				CORSOrigins: corsOrigins, Engine: func(c *engine.Config) { c.Workers = workers }})
			if err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			defer srv.Close()
			at, err := srv.Listen()
			if err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "amp serve: listening on http://%s (data in %s)\n", at, data)
			if srv.AdminKey != "" {
				fmt.Fprintf(out, "amp serve: created the admin API key for project %q; it is shown once here and kept in %s:\n  %s\n",
					server.DefaultProject, srv.AdminKeyPath, srv.AdminKey)
			}
			if err := srv.Run(cmd.Context()); err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	cmd.Flags().StringVar(&data, "data", "./amp-data", "data folder (SQLite store, secret key, admin key)")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: allow http:// webhook URLs on loopback hosts")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "base URL browsers reach this server at, for the OAuth callback (default: http://<addr>)")
	cmd.Flags().StringVar(&openerOrigin, "opener-origin", "*", "origin of the application that opens the OAuth popup (https://app.example.com), the callback page's postMessage target; \"*\" posts to any opener")
	cmd.Flags().StringArrayVar(&corsOrigins, "cors-origin", nil, "origin allowed to call the API from a browser (https://app.example.com); repeat for several; default: any origin")
	cmd.Flags().IntVar(&workers, "workers", 0, fmt.Sprintf("operations run at once (0: the default, %d)", engine.DefaultWorkers))
	return cmd
}

// maxWorkers bounds --workers: SQLite has one writer, and past a few
// hundred workers commits queue behind each other rather than run.
const maxWorkers = 256
