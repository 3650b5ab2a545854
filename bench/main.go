package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/ampforge/amp/providers/all" // every built-in provider
)

// The child processes learn their role and scenario from the environment.
const (
	childEnv = "AMP_BENCH_CHILD" // "fake" or "run"
	specEnv  = "AMP_BENCH_SPEC"  // a childSpec as JSON
)

// childSpec is what a child process is started with.
type childSpec struct {
	Scenario  scenario      `json:"scenario"`
	Latency   time.Duration `json:"latency"`
	RateShare float64       `json:"rateShare,omitzero"`
	FakeURL   string        `json:"fakeUrl,omitzero"`
	Access    string        `json:"access,omitzero"`
	Refresh   string        `json:"refresh,omitzero"`
	// CPUProfile, when set, is where the runtime's process writes a CPU
	// profile of the measured backfill.
	CPUProfile string `json:"cpuProfile,omitzero"`
}

// row is one scenario's line of the table and of results.json.
type row struct {
	Name                   string   `json:"name"`
	Records                int64    `json:"records"`
	RecordsPerSec          float64  `json:"records_per_sec"`
	Ceiling                float64  `json:"ceiling"`
	Ratio                  float64  `json:"ratio"`
	TargetRatio            float64  `json:"target_ratio"`
	PeakRSSMB              float64  `json:"peak_rss_mb"`
	Baseline               string   `json:"baseline"`
	BaselineRecordsPerSec  *float64 `json:"baseline_records_per_sec"`
	Refused429             int64    `json:"refused_429"`
	Refused429AfterWindow  int64    `json:"refused_429_after_first_window"`
	BaselineRefused429     int64    `json:"baseline_refused_429,omitzero"`
	FakeRequests           int64    `json:"fake_requests"`
	BaselineSkippedBecause string   `json:"baseline_skipped,omitzero"`
	// Schedule holds the scheduler scenario's figures.
	Schedule *scheduleResult `json:"schedule,omitzero"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(ctx, role); err != nil {
			log.Error("bench child", "role", role, "err", err)
			os.Exit(1)
		}
		return
	}
	var (
		latency     = flag.Duration("latency", 100*time.Millisecond, "latency the fakes add to every data request")
		only        = flag.String("scenarios", "", "comma-separated scenario names or prefixes (default: all)")
		out         = flag.String("out", "bench/results.json", "where to write the results")
		share       = flag.Float64("rate-share", 0, "engine.Config.RateShare for the runs (0: the engine's default)")
		baselineDir = flag.String("baseline-dir", "bench/baseline", "the client-library baselines' npm project")
		noBaseline  = flag.Bool("no-baseline", false, "skip the client-library baselines")
		profiles    = flag.String("cpuprofile", "", "folder for a CPU profile of the runtime per scenario (<scenario>.pprof)")
	)
	flag.Parse()
	if err := run(ctx, log, *latency, *only, *out, *share, *baselineDir, *noBaseline, *profiles); err != nil {
		log.Error("bench", "err", err)
		os.Exit(1)
	}
}

func runChild(ctx context.Context, role string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(specEnv)), &spec); err != nil {
		return fmt.Errorf("child spec: %w", err)
	}
	switch role {
	case "fake":
		return runFakeChild(ctx, spec)
	case "run":
		res, err := runRuntimeChild(ctx, spec)
		if err != nil {
			return err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("result: %w", err)
		}
		fmt.Printf("result %s\n", b)
		return nil
	}
	return fmt.Errorf("unknown child role %q", role)
}

func selected(only string) ([]scenario, error) {
	if only == "" {
		return scenarios, nil
	}
	var out []scenario
	for _, want := range strings.Split(only, ",") {
		want = strings.TrimSpace(want)
		matched := false
		for _, sc := range scenarios {
			if !strings.HasPrefix(sc.Name, want) {
				continue
			}
			matched = true
			if !slices.ContainsFunc(out, func(s scenario) bool { return s.Name == sc.Name }) {
				out = append(out, sc)
			}
		}
		if !matched {
			return nil, fmt.Errorf("no scenario matches %q", want)
		}
	}
	return out, nil
}

func run(ctx context.Context, log *slog.Logger, latency time.Duration, only, out string, share float64, baselineDir string, noBaseline bool, profiles string) error {
	list, err := selected(only)
	if err != nil {
		return err
	}
	bl := &baselines{dir: baselineDir}
	switch {
	case noBaseline:
		bl.skip = "skipped: -no-baseline"
	default:
		bl.prepare(ctx, log)
	}
	var rows []row
	for _, sc := range list {
		log.Info("scenario", "name", sc.Name, "records", sc.Records, "latency", latency)
		spec := childSpec{Scenario: sc, Latency: latency, RateShare: share}
		if profiles != "" {
			if err := os.MkdirAll(profiles, 0o755); err != nil {
				return fmt.Errorf("profiles: %w", err)
			}
			spec.CPUProfile = filepath.Join(profiles, sc.Name+".pprof")
		}
		r, err := measure(ctx, spec)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		if sc.Baseline != "" {
			bl.run(ctx, log, sc, latency, &r)
		}
		log.Info("measured", "name", sc.Name, "recordsPerSec", int(r.RecordsPerSec), "ratio", r.Ratio, "peakRssMb", int(r.PeakRSSMB))
		rows = append(rows, r)
	}
	printTable(os.Stdout, rows, latency)
	b, err := json.MarshalIndent(map[string]any{"latency": latency.String(), "scenarios": rows}, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// measure runs one scenario: its fake in one child, the runtime in another.
func measure(ctx context.Context, spec childSpec) (row, error) {
	sc, latency := spec.Scenario, spec.Latency
	fake, err := startFake(ctx, spec)
	if err != nil {
		return row{}, err
	}
	spec.FakeURL, spec.Access, spec.Refresh = fake.url, fake.access, fake.refresh
	var res runResult
	runErr := runJSONChild(ctx, "run", spec, "result ", &res)
	stats, stopErr := fake.stop()
	if err := errors.Join(runErr, stopErr); err != nil {
		return row{}, err
	}
	r := row{Name: sc.Name, Records: res.Records, RecordsPerSec: float64(res.Records) / res.Seconds,
		Ceiling: sc.ceiling(latency), TargetRatio: sc.TargetRatio, PeakRSSMB: res.PeakRSSMB, Baseline: sc.Baseline,
		Schedule: res.Schedule, Refused429: stats.Refused, Refused429AfterWindow: stats.RefusedLate, FakeRequests: stats.Requests}
	if r.Ceiling > 0 {
		r.Ratio = r.RecordsPerSec / r.Ceiling
	}
	return r, nil
}

// childCmd re-executes this program in a role.
func childCmd(ctx context.Context, role string, spec childSpec) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("child spec: %w", err)
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+role, specEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	return cmd, nil
}

// runJSONChild runs a child to its end and decodes the line starting with
// prefix into out.
func runJSONChild(ctx context.Context, role string, spec childSpec, prefix string, out any) error {
	cmd, err := childCmd(ctx, role, spec)
	if err != nil {
		return err
	}
	stdout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s child: %w", role, err)
	}
	for line := range strings.Lines(string(stdout)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			if err := json.Unmarshal([]byte(rest), out); err != nil {
				return fmt.Errorf("%s child: %w", role, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s child printed no %q line", role, strings.TrimSpace(prefix))
}

// fakeProc is a running fake child.
type fakeProc struct {
	url, access, refresh string
	cmd                  *exec.Cmd
	stdin                io.WriteCloser
	lines                *bufio.Scanner
}

func startFake(ctx context.Context, spec childSpec) (*fakeProc, error) {
	cmd, err := childCmd(ctx, "fake", spec)
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("fake child: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("fake child: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fake child: %w", err)
	}
	f := &fakeProc{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	for f.lines.Scan() {
		if rest, ok := strings.CutPrefix(f.lines.Text(), "listening "); ok {
			if fs := strings.Fields(rest); len(fs) == 3 {
				f.url, f.access, f.refresh = fs[0], fs[1], fs[2]
			}
			break
		}
	}
	if f.url == "" {
		stdin.Close()
		_ = cmd.Wait()
		return nil, errors.New("the fake child did not start")
	}
	return f, nil
}

// stop closes the fake's stdin, reads its stats and waits for it.
func (f *fakeProc) stop() (fakeStats, error) {
	f.stdin.Close()
	var st fakeStats
	var decodeErr error
	for f.lines.Scan() {
		if rest, ok := strings.CutPrefix(f.lines.Text(), "stats "); ok {
			decodeErr = json.Unmarshal([]byte(rest), &st)
		}
	}
	if err := f.cmd.Wait(); err != nil {
		return st, fmt.Errorf("fake child: %w", err)
	}
	if decodeErr != nil {
		return st, fmt.Errorf("fake child stats: %w", decodeErr)
	}
	return st, nil
}

func printTable(w io.Writer, rows []row, latency time.Duration) {
	fmt.Fprintf(w, "\namp bench, fakes at %s per request\n\n", latency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trecords\trecords/s\tceiling\tratio\ttarget\tpeak RSS MB\t429 late\tbaseline\tbaseline rec/s\t")
	for _, r := range rows {
		target, ceiling, ratio := "-", "-", "-"
		if r.TargetRatio > 0 {
			target = fmt.Sprintf("%.2f", r.TargetRatio)
		}
		if r.Ceiling > 0 {
			ceiling, ratio = fmt.Sprintf("%.0f", r.Ceiling), fmt.Sprintf("%.2f", r.Ratio)
		}
		base, baseRate := "-", "-"
		if r.Baseline != "" {
			base = r.Baseline
			switch {
			case r.BaselineRecordsPerSec != nil:
				baseRate = fmt.Sprintf("%.0f", *r.BaselineRecordsPerSec)
			case r.BaselineSkippedBecause != "":
				baseRate = r.BaselineSkippedBecause
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%.0f\t%d\t%s\t%s\t\n", r.Name, r.Records, r.RecordsPerSec, ceiling, ratio, target,
			r.PeakRSSMB, r.Refused429AfterWindow, base, baseRate)
	}
	tw.Flush()
	for _, r := range rows {
		if s := r.Schedule; s != nil {
			fmt.Fprintf(w, "\n%s: %d installations x 2 objects every 10 minutes on a 5x clock, installed in %.0f s; over %.0f s: %d reads due, "+
				"lag p50 %.0f ms, p99 %.0f ms, %.0f reads queued/s, %.0f scheduled reads ended/s, database %.0f MB\n",
				r.Name, s.Installations, s.SetupSeconds, float64(r.Records)/max(r.RecordsPerSec, 1e-9), s.Due, s.LagP50Ms, s.LagP99Ms,
				s.QueuedPerSec, s.JobsPerSec, s.DBSizeMB)
		}
	}
}
