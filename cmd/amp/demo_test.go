package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/examples"
	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/runtime/server"
)

// demoExpected is how many records `amp demo --once --records n` delivers:
// n per object the demo's examples read, provided every seeded record lies
// inside the object's backfill window. The fakes seed records a second
// apart, ending at their start (now), so a window of d days holds them all
// when n seconds fit in it; the test fails rather than guess otherwise.
func demoExpected(t *testing.T, n int) int {
	t.Helper()
	total := 0
	for _, p := range demoProviders(fakekit.Options{Records: 1}) {
		name := p.example + "/amp.yaml"
		src, err := fs.ReadFile(examples.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := manifest.Parse(name, src)
		if f == nil || diags.HasErrors() {
			t.Fatalf("%s: %s", name, manifest.Summary(diags))
		}
		for _, in := range f.Manifest.Integrations {
			if in.Provider != p.name || in.Read == nil {
				continue
			}
			for _, o := range in.Read.Objects {
				period := o.Backfill.DefaultPeriod
				switch {
				case period.FullHistory:
				case period.Days != nil && time.Duration(*period.Days)*24*time.Hour > time.Duration(n)*time.Second:
				default:
					t.Fatalf("%s: %s's backfill period %+v may not hold %d records seeded a second apart; update the expected count", name, o.ObjectName, period, n)
				}
				total += n
			}
		}
	}
	if total == 0 {
		t.Fatal("the demo's examples read no object")
	}
	return total
}

// TestDemoOnce runs `amp demo --once` through the command tree: the fakes,
// the runtime, the OAuth flows, the backfills and the signed deliveries, all
// in this process. It checks the one line on stdout, that the temporary
// data folder is gone and that nothing the demo started is left running.
//
// Not parallel: counting goroutines needs the package's other tests
// paused, and top-level parallel tests wait until the sequential ones end.
func TestDemoOnce(t *testing.T) {
	const records = 200
	want := fmt.Sprintf("%d records delivered\n", demoExpected(t, records))
	before := runtime.NumGoroutine()

	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), []string{"demo", "--once", "--records", strconv.Itoa(records)}, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("amp demo --once = exit %d\nstderr:\n%s", code, stderr.String())
	}
	if stdout.String() != want {
		t.Errorf("stdout = %q, want %q\nstderr:\n%s", stdout.String(), want, stderr.String())
	}
	for _, s := range []string{"salesforce account", "salesforce contact", "hubspot deals", "hubspot companies", "backfill-progress"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr does not mention %q:\n%s", s, stderr.String())
		}
	}
	m := regexp.MustCompile(`data folder (\S+) \(temporary`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Errorf("stderr does not say where the data folder is:\n%s", stderr.String())
	} else if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temporary data folder %s is still there (%v)", m[1], err)
	}

	// Connections closed by the servers' shutdown end their goroutines
	// shortly after; give them a moment.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines running after the demo, %d before:\n%s", runtime.NumGoroutine(), before, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDemoErrors covers the demo's refusals (exit 2) and a backfill that
// is not delivered in time (exit 1, naming what was pending).
func TestDemoErrors(t *testing.T) {
	t.Parallel()
	used := t.TempDir()
	if err := os.WriteFile(filepath.Join(used, server.DBFileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		wantErr  []string
		wantKept string // a file that must remain (the --data folder is the caller's)
	}{
		{name: "argument", args: []string{"demo", "extra"}, code: exitUsage, wantErr: []string{"takes no arguments"}},
		{name: "no records", args: []string{"demo", "--records", "0"}, code: exitUsage, wantErr: []string{"--records must be at least 1"}},
		{name: "used data folder", args: []string{"demo", "--data", used}, code: exitUsage, wantErr: []string{"already holds an amp store"}},
		// Too many records to backfill in a millisecond: the wait gives up
		// and says which backfills were still running.
		{name: "timeout", args: []string{"demo", "--once", "--records", "100000", "--timeout", "1ms", "--data", filepath.Join(t.TempDir(), "data")},
			code: exitFailure, wantErr: []string{"not delivered within --timeout 1ms", "salesforce account: operation", "hubspot companies: operation"},
			wantKept: "amp.log"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Main(t.Context(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if tc.wantKept != "" {
				data := tc.args[len(tc.args)-1]
				if _, err := os.Stat(filepath.Join(data, tc.wantKept)); err != nil {
					t.Errorf("--data folder: %v", err)
				}
			}
		})
	}
}
