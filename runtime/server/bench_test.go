package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/delivery/receiver"
	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/scheduler"
	"github.com/ampforge/amp/runtime/server"
)

// benchFakeEnv makes the test binary serve a Salesforce fake instead of
// running tests: the benchmark keeps the fake (which holds the provider's
// data) out of the process whose memory it measures.
const benchFakeEnv = "AMP_BENCH_SALESFORCE_RECORDS"

// TestBenchFakeChild is the fake's process; it does nothing in a normal run.
func TestBenchFakeChild(t *testing.T) {
	records := os.Getenv(benchFakeEnv)
	if records == "" {
		t.Skip("only the backfill benchmark runs this, as its fake's process")
	}
	n, err := strconv.Atoi(records)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := sffake.New(sffake.Options{Options: fakekit.Options{ClientID: e2eClientID, ClientSecret: e2eClientSecret,
		Records: n, Limits: noLimits}, BulkChunk: 2000})
	access, refresh := f.Issue()
	fmt.Printf("listening http://%s %s %s\n", l.Addr(), access, refresh)
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		// The parent closes stdin when it is done.
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	_ = srv.Serve(l)
}

// startFakeProcess starts the Salesforce fake in a child process.
func startFakeProcess(b *testing.B, records int) (url, access, refresh string, stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchFakeChild$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), benchFakeEnv+"="+strconv.Itoa(records))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			if f := strings.Fields(rest); len(f) == 3 {
				url, access, refresh = f[0], f[1], f[2]
			}
			break
		}
	}
	if url == "" {
		_ = cmd.Process.Kill()
		b.Fatal("the fake process did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return url, access, refresh, func() {
		stdin.Close()
		_ = cmd.Wait()
	}
}

// peakHeap samples the live heap until stop and returns its peak.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkBackfill runs a whole Salesforce backfill through the pipeline
// (connector, mapping, outbox in SQLite, signed delivery) to an in-process
// receiver, and reports records per second and the peak live heap. The
// fake runs in its own process. Run with -benchtime=1x.
func BenchmarkBackfill(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				benchBackfill(b, n)
			}
		})
	}
}

func benchBackfill(b *testing.B, n int) {
	b.StopTimer()
	fakeURL, access, refresh, stopFake := startFakeProcess(b, n)
	defer stopFake()
	recv := receiver.NewCounter()
	recvSrv := httptest.NewServer(recv)
	defer recvSrv.Close()
	bs := startBenchServer(b, "salesforce", fakeURL, recvSrv.URL, fmt.Sprintf(salesforceAccounts, "fullHistory: true"), nil, access, refresh)
	defer bs.stop()

	stop := make(chan struct{})
	peak := peakHeap(stop)
	start := time.Now()
	b.StartTimer()
	bs.call(201, "POST", syncProj+"/integrations/"+bs.integ.ID+"/installations", map[string]any{
		"groupRef": "acme", "connectionId": bs.conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": "salesforce", "read": map[string]any{"objects": map[string]any{
			"account": map[string]any{"objectName": "account", "selectedFieldMappings": map[string]string{"country": "billingcountry"}}}}}},
	}, nil)
	for recv.Records() < int64(n) {
		time.Sleep(20 * time.Millisecond)
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("after 20 minutes %d of %d records arrived", recv.Records(), n)
		}
	}
	b.StopTimer()
	elapsed := time.Since(start)
	close(stop)
	p := <-peak
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(ru.Maxrss)/1024, "max-rss-MB")
	b.ReportMetric(float64(recv.Messages()), "messages")
}

// benchServer is a server run for one benchmark iteration, with the fake
// at fakeURL as provider's endpoints, set up over its API: provider app,
// the crmWebhook destination at recvURL, the manifest deployed and a
// connection with the given tokens.
type benchServer struct {
	b     *testing.B
	l     *live
	srv   *server.Server
	integ integ
	conn  connJSON
	stop  func()
}

func startBenchServer(b *testing.B, provider, fakeURL, recvURL, manifest string, metadata map[string]any, access, refresh string) *benchServer {
	b.Helper()
	dir := b.TempDir()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir, DevMode: true,
		OAuthEndpoints: map[string]string{provider: fakeURL}, Logger: slog.New(slog.DiscardHandler),
		Engine:    func(c *engine.Config) { c.PollInterval = 10 * time.Millisecond },
		Delivery:  func(c *delivery.Config) { c.PollInterval = 10 * time.Millisecond },
		Scheduler: func(c *scheduler.Config) { c.Tick = 50 * time.Millisecond },
	})
	if err != nil {
		b.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	bs := &benchServer{b: b, srv: srv, stop: func() {
		cancel()
		<-done
		srv.Close()
	}}
	// A live without a test: call fails the benchmark itself.
	bs.l = &live{t: &testing.T{}, srv: srv, base: "http://" + addr.String()}
	key, err := os.ReadFile(filepath.Join(dir, server.AdminKeyFileName))
	if err != nil {
		b.Fatal(err)
	}
	bs.l.key = strings.TrimSpace(string(key))
	bs.call(200, "POST", syncProj+"/provider-apps", map[string]any{"provider": provider, "clientId": e2eClientID, "clientSecret": e2eClientSecret}, nil)
	bs.call(201, "POST", syncProj+"/destinations", map[string]any{"name": "crmWebhook", "type": "webhook", "metadata": map[string]any{"url": recvURL}}, nil)
	var ints []integ
	bs.call(200, "PUT", syncProj+"/integrations:batch", map[string]string{"sourceYaml": manifest}, &ints)
	bs.integ = ints[0]
	gen := map[string]any{"provider": provider, "groupRef": "acme", "consumerRef": "ada",
		"oauth2AuthorizationCode": map[string]any{"accessToken": map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}}}
	if metadata != nil {
		gen["providerMetadata"] = metadata
	}
	bs.call(201, "POST", syncProj+"/connections:generate", gen, &bs.conn)
	return bs
}

// call sends a request with the admin key and fails the benchmark unless
// the answer has status want.
func (bs *benchServer) call(want int, method, path string, body any, out any) {
	bs.b.Helper()
	status, resp, _ := bs.l.call(method, path, body)
	if status != want {
		bs.b.Fatalf("%s %s = %d %s, want %d", method, path, status, resp, want)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			bs.b.Fatal(err)
		}
	}
}
