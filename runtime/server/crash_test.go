package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/server"
	"github.com/ampforge/amp/runtime/sqlite"
)

// crashChildEnv carries a crashChildConfig (JSON) to the test binary run
// again as TestCrashChild: the server process TestCrashBackfillResumes
// kills.
const crashChildEnv = "AMP_CRASH_CHILD"

// crashChildConfig is what the server process needs from the test.
type crashChildConfig struct {
	DataDir string `json:"dataDir"`
	// Salesforce is the Salesforce fake's base URL.
	Salesforce string `json:"salesforce"`
	// AddrFile receives the listen address once the server listens.
	AddrFile string `json:"addrFile"`
}

const (
	// crashLease is the server's operation lease: after a kill, the next
	// process claims the backfill once the dead one's lease ran out. The
	// engine renews it while a page is in flight (the first one starts the
	// bulk job and waits for its results), so it may be shorter than that
	// page.
	crashLease = 2 * time.Second
	// crashHold is how long the server's delivery holds a claimed
	// message: one that a killed process was sending goes out again after
	// it, so the test waits that long before calling the outbox settled.
	crashHold = 6 * time.Second
)

// TestCrashChild is the server process of TestCrashBackfillResumes; it
// does nothing in a normal run. It serves until it is killed, or until its
// standard input closes (the test is done, or died), when it stops
// gracefully.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(crashChildEnv)
	if raw == "" {
		t.Skip("only TestCrashBackfillResumes runs this, as the server process it kills")
	}
	var c crashChildConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("%s: %v", crashChildEnv, err)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: c.DataDir, DevMode: true,
		OAuthEndpoints: map[string]string{"salesforce": c.Salesforce},
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Engine: func(ec *engine.Config) {
			fastEngine(ec)
			ec.Lease = crashLease
		},
		Delivery: func(dc *delivery.Config) {
			fastDelivery(dc)
			dc.Timeout, dc.Hold = crashHold-time.Second, crashHold
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	// Written whole under a temporary name, so the test never reads half
	// an address.
	tmp := c.AddrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, c.AddrFile); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The reader ends at end of input, which also ends Run; should Run
	// fail first, the process exits right after and takes it along.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if err := srv.Run(ctx); err != nil {
		t.Error(err)
	}
}

// crashChild is one server process of the crash test.
type crashChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	base  string
	// done is closed when the process has exited; err is then Wait's.
	done chan struct{}
	err  error
}

// startCrashChild starts a server process on cfg's data folder, its output
// going to logPath, and waits until it listens. The process is killed at
// the end of the test whatever happens.
func startCrashChild(t *testing.T, cfg crashChildConfig, logPath string) *crashChild {
	t.Helper()
	if err := os.Remove(cfg.AddrFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the process has its own copy once started
	// The timeout only backs up the closing of standard input.
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw))
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &crashChild{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	deadline := time.Now().Add(time.Minute)
	for {
		if b, err := os.ReadFile(cfg.AddrFile); err == nil {
			c.base = "http://" + string(b)
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server process did not listen within a minute:\n%s", logTail(logPath))
		}
		select {
		case <-c.done:
			t.Fatalf("the server process exited before listening (%v):\n%s", c.err, logTail(logPath))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL (what os.Process.Kill sends on Unix) and waits until
// the process is gone. Killing a process that already exited does nothing.
func (c *crashChild) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// exited reports whether the process has exited.
func (c *crashChild) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop closes the process's standard input, which makes it shut down
// gracefully, and returns how it exited.
func (c *crashChild) stop(t *testing.T) error {
	t.Helper()
	c.stdin.Close()
	select {
	case <-c.done:
		return c.err
	case <-time.After(time.Minute):
		c.kill()
		return errors.New("the server process did not stop within a minute of its input closing")
	}
}

// logTail returns the end of a server process's output.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}

// bulkCounter counts the Salesforce fake's Bulk API calls: the query jobs
// created, and the results chunks fetched, by job and locator.
type bulkCounter struct {
	next http.Handler

	mu     sync.Mutex
	jobs   int
	chunks map[string]int
}

func (b *bulkCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/jobs/query"):
		b.jobs++
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/results"):
		b.chunks[r.URL.Path+"?locator="+r.URL.Query().Get("locator")]++
	}
	b.mu.Unlock()
	b.next.ServeHTTP(w, r)
}

// counts returns the jobs created, the distinct chunks fetched and how
// many of those were fetched more than once.
func (b *bulkCounter) counts() (jobs, chunks, refetched int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range b.chunks {
		if n > 1 {
			refetched++
		}
	}
	return b.jobs, len(b.chunks), refetched
}

// backfillOp returns the installation's backfill operation (nil before it
// is queued).
func (e *syncEnv) backfillOp() *operationJSON {
	e.t.Helper()
	for _, op := range e.operations() {
		if op.ReadType == "backfill" {
			return &op
		}
	}
	return nil
}

// TestCrashBackfillResumes is acceptance 3: the server process is killed
// (SIGKILL) twice in the middle of a 200,000-record Salesforce backfill
// (through the Bulk API) and started again on the same data folder; the
// receiver ends with every record, and a record arrives in two distinct
// messages only when it was on a page in flight at a kill. Each restart
// resumes the same bulk job from the committed locator.
func TestCrashBackfillResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 records through three server processes")
	}
	t.Parallel()
	const n = 200_000
	// The receiver's distinct-record counts at which the running server is
	// killed: 20% and 55% of the backfill.
	kills := []int{n / 5, n * 11 / 20}
	start := time.Now()

	spec := salesforceSpec(n, "fullHistory: true")
	reads := &bulkCounter{next: spec.fake, chunks: map[string]int{}}
	e := &syncEnv{t: t, fake: spec.fake, provider: spec.provider}
	e.fakeSrv = httptest.NewServer(reads)
	t.Cleanup(e.fakeSrv.Close)
	recvH, notesH := &lateHandler{}, &lateHandler{}
	recvSrv, notesSrv := httptest.NewServer(recvH), httptest.NewServer(notesH)
	t.Cleanup(recvSrv.Close)
	t.Cleanup(notesSrv.Close)

	dir, logs := t.TempDir(), t.TempDir()
	cfg := crashChildConfig{DataDir: filepath.Join(dir, "data"), Salesforce: e.fakeSrv.URL, AddrFile: filepath.Join(dir, "addr")}
	var logPaths []string
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range logPaths {
				t.Logf("output of %s:\n%s", filepath.Base(p), logTail(p))
			}
		}
	})
	run := func() *crashChild {
		p := filepath.Join(logs, fmt.Sprintf("server-%d.log", len(logPaths)+1))
		logPaths = append(logPaths, p)
		c := startCrashChild(t, cfg, p)
		key, err := os.ReadFile(filepath.Join(cfg.DataDir, server.AdminKeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		e.l = &live{t: t, base: c.base, key: strings.TrimSpace(string(key))}
		return c
	}

	child := run()
	e.install(spec, recvH, notesH, recvSrv.URL, notesSrv.URL)
	var lastKill time.Time
	for i, at := range kills {
		deadline := time.Now().Add(3 * time.Minute)
		for e.recv.Stats().Distinct < at {
			if child.exited() {
				t.Fatalf("server %d exited by itself (%v)", i+1, child.err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %d: the receiver has %d records after 3 minutes, waiting for %d; backfill %+v", i+1, e.recv.Stats().Distinct, at, e.backfillOp())
			}
			time.Sleep(2 * time.Millisecond)
		}
		child.kill()
		lastKill = time.Now()
		if st := child.cmd.ProcessState; st == nil || st.Success() {
			t.Fatalf("server %d was not killed: %v", i+1, st)
		}
		got := e.recv.Stats()
		if got.Distinct >= n {
			t.Fatalf("the backfill ended before kill %d: nothing was interrupted", i+1)
		}
		t.Logf("kill %d (%v) with %d records received (%d%%); the fake served %v", i+1, child.cmd.ProcessState, got.Distinct, got.Distinct*100/n, fmtCounts(reads))
		child = run()
		if op := e.backfillOp(); op == nil || op.Status == "success" || op.Metadata.Progress.RecordsProcessed == 0 {
			t.Fatalf("after kill %d the backfill is %+v, want an unfinished operation with committed progress", i+1, op)
		}
	}

	// The last server finishes the backfill and delivers the outbox.
	deadline := time.Now().Add(3 * time.Minute)
	var op *operationJSON
	for {
		if child.exited() {
			t.Fatalf("the last server exited by itself (%v)", child.err)
		}
		op = e.backfillOp()
		if op != nil && op.Status == "failure" {
			t.Fatalf("backfill failed: %+v", op)
		}
		if op != nil && op.Status == "success" && e.recv.Stats().Distinct == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: backfill %+v, receiver %+v", op, e.recv.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Settled: nothing arrives for a second, and a message the killed
	// server was sending has had its hold to come again.
	last, quiet := e.recv.Stats(), time.Now()
	for time.Since(quiet) < time.Second || time.Since(lastKill) < crashHold+time.Second {
		time.Sleep(50 * time.Millisecond)
		if st := e.recv.Stats(); st != last {
			last, quiet = st, time.Now()
		}
	}
	if err := child.stop(t); err != nil {
		t.Fatalf("the last server did not stop cleanly: %v", err)
	}
	elapsed := time.Since(start)

	// The outbox is empty: every committed message was delivered.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, server.DBFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.GetProjectByName(ctx, server.DefaultProject)
	if err != nil {
		t.Fatal(err)
	}
	if left, err := st.CountMessages(ctx, p.ID, e.destID); err != nil || left != 0 {
		t.Errorf("the records destination's outbox holds %d messages (%v), want none", left, err)
	}

	stats := e.recv.Stats()
	if stats.Distinct != n || stats.Rejected != 0 {
		t.Errorf("receiver %+v, want %d distinct records and no rejected message", stats, n)
	}
	recs := e.recv.Records("company")
	ids := e.fake.IDs("account")
	if len(ids) != n {
		t.Fatalf("the fake holds %d accounts, want %d", len(ids), n)
	}
	var missing []string
	for _, id := range ids {
		if _, ok := recs[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d records never arrived (gaps), first %v", len(missing), first(missing, 5))
	}
	// A page read again after a kill gets the same webhook-ids, so the
	// receiver drops what it already has as repeats; records may arrive in
	// two distinct messages only from the pages in flight at the kills.
	dups := e.recv.Duplicates()
	if limit := 2 * engine.DefaultPageSize; len(dups) > limit {
		t.Errorf("%d records arrived in more than one distinct message, want at most %d (the pages in flight): first %v", len(dups), limit, first(dups, 5))
	}
	if p := op.Metadata.Progress.RecordsProcessed; p != n {
		t.Errorf("the backfill counts %d records processed, want %d: the resumed read counted some twice or skipped some", p, n)
	}
	// Each restart resumed the same bulk job from its committed locator:
	// a chunk is fetched again only when it was in flight at a kill: the
	// one committing and those the engine read ahead (at most two).
	const inFlight = 3
	jobs, chunks, refetched := reads.counts()
	if jobs != 1 || refetched > inFlight*len(kills) {
		t.Errorf("the fake served %d bulk jobs and fetched %d chunks again; want one job, resumed after each of the %d kills, refetching at most the %d chunks in flight at each", jobs, refetched, len(kills), inFlight)
	}
	if got := e.notes.Notifications(); !slices.Equal(got, []string{"read.backfill.done"}) {
		t.Errorf("notifications %v, want one read.backfill.done", got)
	}
	e.checkMessagesSample(20)
	t.Logf("%d records through %d kills in %s: %d messages, %d repeated deliveries, %d records in two distinct messages; %d bulk job, %d chunks, %d fetched again",
		n, len(kills), elapsed.Round(100*time.Millisecond), stats.Messages, stats.Repeats, len(dups), jobs, chunks, refetched)
}

// fmtCounts describes what the fake served so far.
func fmtCounts(b *bulkCounter) string {
	jobs, chunks, refetched := b.counts()
	return fmt.Sprintf("%d bulk job(s), %d chunks (%d more than once)", jobs, chunks, refetched)
}
