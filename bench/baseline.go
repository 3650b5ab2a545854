package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// baselines runs the client-library scripts in bench/baseline with node.
type baselines struct {
	dir string
	// skip, when set, is why no baseline runs ("skipped: no node").
	skip string
}

// scripts are the baseline scripts by scenario baseline name.
var scripts = map[string]string{
	"jsforce":             "jsforce-read.js",
	"@hubspot/api-client": "hubspot-read.js",
}

// prepare finds node and installs the lockfile's packages once.
func (b *baselines) prepare(ctx context.Context, log *slog.Logger) {
	if _, err := exec.LookPath("node"); err != nil {
		b.skip = "skipped: no node"
		return
	}
	if _, err := os.Stat(filepath.Join(b.dir, "node_modules")); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		b.skip = "skipped: no npm"
		return
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = b.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Warn("npm ci failed; baselines skipped", "err", err, "output", string(out))
		b.skip = "skipped: npm ci failed"
	}
}

// baselineResult is what a baseline script prints.
type baselineResult struct {
	Records int64   `json:"records"`
	Seconds float64 `json:"seconds"`
}

// run reads the scenario's data with its client library against a fresh
// fake with the same settings and fills the row's baseline fields.
func (b *baselines) run(ctx context.Context, log *slog.Logger, sc scenario, latency time.Duration, r *row) {
	if b.skip != "" {
		r.BaselineSkippedBecause = b.skip
		return
	}
	res, refused, err := b.measure(ctx, sc, latency)
	if err != nil {
		log.Warn("baseline failed", "scenario", sc.Name, "baseline", sc.Baseline, "err", err)
		r.BaselineSkippedBecause = "failed"
		return
	}
	if res.Records != int64(sc.Records) {
		log.Warn("baseline read a different count", "scenario", sc.Name, "records", res.Records, "want", sc.Records)
	}
	rate := float64(res.Records) / res.Seconds
	r.BaselineRecordsPerSec = &rate
	r.BaselineRefused429 = refused
}

func (b *baselines) measure(ctx context.Context, sc scenario, latency time.Duration) (baselineResult, int64, error) {
	fake, err := startFake(ctx, childSpec{Scenario: sc, Latency: latency})
	if err != nil {
		return baselineResult{}, 0, err
	}
	cmd := exec.CommandContext(ctx, "node", scripts[sc.Baseline])
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "AMP_BENCH_URL="+fake.url, "AMP_BENCH_TOKEN="+fake.access)
	cmd.Stderr = os.Stderr
	out, runErr := cmd.Output()
	stats, stopErr := fake.stop()
	if runErr != nil {
		return baselineResult{}, 0, fmt.Errorf("node %s: %w", scripts[sc.Baseline], runErr)
	}
	if stopErr != nil {
		return baselineResult{}, 0, stopErr
	}
	var res baselineResult
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return baselineResult{}, 0, fmt.Errorf("node %s printed %q: %w", scripts[sc.Baseline], out, err)
	}
	return res, stats.Refused, nil
}
