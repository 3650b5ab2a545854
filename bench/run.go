package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime/delivery/receiver"
	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/scheduler"
	"github.com/ampforge/amp/runtime/server"
)

// runResult is what the runtime's process reports.
type runResult struct {
	Records   int64   `json:"records"`
	Seconds   float64 `json:"seconds"`
	Messages  int64   `json:"messages"`
	PeakRSSMB float64 `json:"peakRssMb"`
	// Schedule is the scheduler scenario's measurement.
	Schedule *scheduleResult `json:"schedule,omitzero"`
}

const project = "/v1/projects/default"

// runRuntimeChild runs the runtime in this process against the fake at
// spec.FakeURL, installs the scenario's integration, and measures the
// backfill from the installation's creation until the receiver counted
// every record.
func runRuntimeChild(ctx context.Context, spec childSpec) (runResult, error) {
	sc := spec.Scenario
	dir, err := os.MkdirTemp("", "amp-bench-")
	if err != nil {
		return runResult{}, fmt.Errorf("data folder: %w", err)
	}
	defer os.RemoveAll(dir)
	// The incremental scenarios check each record's arrivals; the others
	// only count, to keep the receiver's work out of the measurement.
	var recv interface {
		http.Handler
		Records() int64
		Messages() int64
	} = receiver.NewCounter()
	ids := newIDCounter()
	if sc.Kind == "incremental" {
		recv = ids
	}
	recvSrv := httptest.NewServer(recv)
	defer recvSrv.Close()

	lags := &lagStore{due: map[string]time.Time{}, start: time.Now()}
	inc := &incStore{}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir, DevMode: true,
		OAuthEndpoints: map[string]string{sc.Provider: spec.FakeURL}, Logger: slog.New(slog.DiscardHandler),
		// The runtime at its defaults but for what the scenario sets: the
		// engine and delivery are woken when work arrives, not polled.
		Engine: func(c *engine.Config) {
			if sc.PageSize > 0 {
				c.PageSize = sc.PageSize
			}
			if sc.BulkThreshold != 0 {
				c.BulkThreshold = sc.BulkThreshold
			}
			if spec.RateShare > 0 {
				c.RateShare = spec.RateShare
			}
		},
		Scheduler: func(c *scheduler.Config) {
			switch sc.Kind {
			case "schedule":
				lags.Store, c.Store = c.Store, lags
				c.Now = lags.now
			case "incremental":
				inc.Store, c.Store = c.Store, inc
				c.Now = inc.now
			}
		},
	})
	if err != nil {
		return runResult{}, fmt.Errorf("server: %w", err)
	}
	defer srv.Close()
	addr, err := srv.Listen()
	if err != nil {
		return runResult{}, fmt.Errorf("server: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() {
		cancel()
		<-done
	}()
	key, err := os.ReadFile(filepath.Join(dir, server.AdminKeyFileName))
	if err != nil {
		return runResult{}, fmt.Errorf("admin key: %w", err)
	}
	api := &apiClient{base: "http://" + addr.String(), key: strings.TrimSpace(string(key))}

	manifest := manifests[sc.Provider]
	switch sc.Kind {
	case "write":
		manifest = writeManifests[sc.Provider]
	case "schedule":
		manifest = scheduleManifest
	case "incremental":
		manifest = incrementalManifest(sc.Provider)
	}
	var integs []struct {
		ID string `json:"id"`
	}
	var conn, dest struct{ ID string }
	steps := []struct {
		status       int
		method, path string
		body, out    any
	}{
		{200, "POST", project + "/provider-apps", map[string]any{"provider": sc.Provider, "clientId": clientID, "clientSecret": clientSecret}, nil},
		{201, "POST", project + "/destinations", map[string]any{"name": "crmWebhook", "type": "webhook", "metadata": map[string]any{"url": recvSrv.URL}}, &dest},
		{200, "PUT", project + "/integrations:batch", map[string]string{"sourceYaml": manifest}, &integs},
		{201, "POST", project + "/connections:generate", connectionBody(sc, spec), &conn},
	}
	for _, s := range steps {
		if err := api.call(ctx, s.status, s.method, s.path, s.body, s.out); err != nil {
			return runResult{}, err
		}
	}
	if len(integs) != 1 {
		return runResult{}, fmt.Errorf("deployed %d integrations, want 1", len(integs))
	}

	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return runResult{}, fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return runResult{}, fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	switch sc.Kind {
	case "write":
		return runWrites(ctx, srv, api, sc, integs[0].ID, conn.ID)
	case "schedule":
		return runSchedule(ctx, srv, api, lags, dir, spec, integs[0].ID)
	case "incremental":
		return runIncremental(ctx, srv, api, inc, ids, spec, integs[0].ID, conn.ID, dest.ID)
	}
	start := time.Now()
	// Without the sample read: it would spend a request of the window the
	// ceiling is computed from.
	if err := api.call(ctx, 201, "POST", project+"/integrations/"+integs[0].ID+"/installations?skipSampling=true", map[string]any{
		"groupRef": "acme", "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": sc.Provider, "read": map[string]any{"objects": readObjects[sc.Provider]}}},
	}, nil); err != nil {
		return runResult{}, err
	}
	if err := waitRecords(ctx, recv, int64(sc.Records)); err != nil {
		return runResult{}, err
	}
	elapsed := time.Since(start)
	rss, err := peakRSS()
	if err != nil {
		return runResult{}, err
	}
	return runResult{Records: recv.Records(), Seconds: elapsed.Seconds(), Messages: recv.Messages(), PeakRSSMB: rss}, nil
}

func connectionBody(sc scenario, spec childSpec) map[string]any {
	gen := map[string]any{"provider": sc.Provider, "groupRef": "acme", "consumerRef": "ada",
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": spec.Access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": spec.Refresh}}}
	if md := providerMetadata[sc.Provider]; md != nil {
		gen["providerMetadata"] = md
	}
	return gen
}

// apiClient calls the management API with the admin key.
type apiClient struct {
	base, key string
}

func (a *apiClient) call(ctx context.Context, want int, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("X-Api-Key", a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// peakRSS reads this process's peak resident set (VmHWM) in MB: every
// page the runtime touched, heap, stacks, SQLite's cache and the binary,
// which is what an operator sizes a machine by.
func peakRSS() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: %w", err)
			}
			return kb / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/self/status")
}

// waitRecords waits until the receiver has counted want records, failing
// when none has arrived for two minutes.
func waitRecords(ctx context.Context, recv interface{ Records() int64 }, want int64) error {
	last, lastChange := int64(0), time.Now()
	for recv.Records() < want {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if n := recv.Records(); n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > 2*time.Minute {
			return fmt.Errorf("no record arrived for 2 minutes; %d of %d delivered", last, want)
		}
	}
	return nil
}
