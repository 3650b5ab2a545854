package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	dynamicsfake "github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	hubspotfake "github.com/ampforge/amp/providers/hubspot/fake"
	salesforcefake "github.com/ampforge/amp/providers/salesforce/fake"
)

// fakeServer is what every provider fake offers the command.
type fakeServer interface {
	http.Handler
	// Issue hands out an access and a refresh token without consent.
	Issue() (access, refresh string)
}

// fakes maps the names `amp fake` accepts to fake constructors.
var fakes = map[string]func(fakekit.Options) fakeServer{
	"salesforce":  func(o fakekit.Options) fakeServer { return salesforcefake.New(salesforcefake.Options{Options: o}) },
	"hubspot":     func(o fakekit.Options) fakeServer { return hubspotfake.New(hubspotfake.Options{Options: o}) },
	"dynamics":    func(o fakekit.Options) fakeServer { return dynamicsfake.New(dynamicsfake.Options{Options: o}) },
	"dynamicsCRM": func(o fakekit.Options) fakeServer { return dynamicsfake.New(dynamicsfake.Options{Options: o}) },
}

func newFakeCmd() *cobra.Command {
	var (
		opts fakekit.Options
		addr string
	)
	cmd := &cobra.Command{
		Use:   "fake salesforce|hubspot|dynamics",
		Short: "Run a faithful fake of a provider (OAuth and data API) on a local port",
		Long: `Fake runs an in-memory Salesforce, HubSpot or Dynamics 365: the provider's OAuth
endpoints (a consent page, token, refresh, revoke) and its data API on the real paths,
with deterministic seeded records, persisted writes, the provider's rate limits and
error shapes, and knobs for latency, token lifetime and fault injection.

It prints its URL and a ready access token, then serves until interrupted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("fake needs one provider: salesforce, hubspot or dynamics")
			}
			build, ok := fakes[args[0]]
			if !ok {
				return usageErrorf("no fake for %q (want salesforce, hubspot or dynamics)", args[0])
			}
			return runFake(cmd.Context(), cmd, args[0], addr, build(opts))
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:0", "host:port to listen on (port 0 picks a free one)")
	f.IntVar(&opts.Records, "records", 100, "records per standard object")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed for fault injection")
	f.DurationVar(&opts.Latency, "latency", 0, "delay added to every data request, e.g. 100ms")
	f.DurationVar(&opts.TokenTTL, "token-ttl", 0, "access-token lifetime (default: the provider's real one)")
	f.BoolVar(&opts.RotateRefresh, "rotate-refresh", false, "issue a new refresh token on every refresh")
	f.BoolVar(&opts.RefuseRefresh, "refuse-refresh", false, "answer every refresh with invalid_grant, as after the customer revoked the app")
	f.IntVar(&opts.BurstEvery, "burst-every", 0, "inject 429 bursts: after every N data requests...")
	f.IntVar(&opts.BurstLength, "burst-length", 3, "...refuse this many as rate-limited")
	f.Float64Var(&opts.FailRate, "fail-rate", 0, "fraction of data requests answered with a 5xx")
	f.Float64Var(&opts.MalformedRate, "malformed-rate", 0, "fraction of data responses cut in half")
	f.StringVar(&opts.ClientID, "client-id", "", "the only OAuth client id accepted (default: any)")
	f.StringVar(&opts.ClientSecret, "client-secret", "", "that client's secret")
	f.IntVar(&opts.Limits.Daily, "daily-limit", 0, "daily API allocation or quota (0: the provider's real one, -1: none)")
	f.IntVar(&opts.Limits.Window, "window-limit", 0, "requests per rate-limit window (0: the provider's real one, -1: none)")
	f.DurationVar(&opts.Limits.WindowPeriod, "window", 0, "rate-limit window length (0: the provider's real one)")
	f.IntVar(&opts.Limits.SearchPerSecond, "search-per-second", 0, "HubSpot search requests per second (0: real, -1: none)")
	f.IntVar(&opts.Limits.Concurrency, "concurrency", 0, "Dynamics concurrent requests (0: real, -1: none)")
	return cmd
}

func runFake(ctx context.Context, cmd *cobra.Command, name, addr string, fake fakeServer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErrorf("listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	access, refresh := fake.Issue()
	url := "http://" + ln.Addr().String()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "fake %s listening on %s\n", name, url)
	fmt.Fprintf(out, "access token:  %s\nrefresh token: %s\n", access, refresh)
	fmt.Fprintf(out, "try: curl -H 'Authorization: Bearer %s' %s%s\n", access, url, samplePath(name))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("fake %s: %w", name, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("fake %s: shutdown: %w", name, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fake %s: %w", name, err)
	}
	fmt.Fprintf(out, "fake %s stopped\n", name)
	return nil
}

func samplePath(name string) string {
	switch strings.ToLower(name) {
	case "salesforce":
		return "/services/data/v60.0/query?q=SELECT+Id,Name+FROM+Account+LIMIT+5"
	case "hubspot":
		return "/crm/v3/objects/contacts?limit=5"
	}
	return "/api/data/v9.2/accounts?$top=5"
}
