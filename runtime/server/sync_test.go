package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/delivery/receiver"
	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/scheduler"
	"github.com/ampforge/amp/runtime/server"
	"github.com/ampforge/amp/runtime/write"
)

// syncFake is what the sync tests need of a provider fake.
type syncFake interface {
	http.Handler
	Issue() (access, refresh string)
	IDs(object string) []string
	Touch(object, id string)
	Delete(object, id string)
	Get(object, id string) (map[string]any, bool)
	Kit() *fakekit.Kit
	ExpireTokens()
}

// lateHandler serves with a handler set after the server started: a
// receiver needs its destination's secret, which needs the server's URL.
type lateHandler struct {
	h atomic.Pointer[receiver.Receiver]
}

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	http.Error(w, "not ready", http.StatusServiceUnavailable)
}

// testClock is the scheduler's clock: tests move it past a schedule.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// syncSpec describes one sync test's setup.
type syncSpec struct {
	provider string
	fake     syncFake
	// manifest is the integration's amp.yaml.
	manifest string
	// objects is the installation's read config.
	objects map[string]any
	// metadata is the connection's provider metadata (Dynamics' workspace).
	metadata map[string]any
	engine   func(*engine.Config)
	delivery func(*delivery.Config)
	// endpoints adds other providers' fakes to the same server (by
	// catalog name), for a second installation.
	endpoints map[string]string
	// recvDown, when set, is the status the records receiver answers
	// from the start (a destination that is down before the backfill).
	recvDown int
	// skipSampling saves the installation without the sample read, which
	// a fake injecting faults could fail.
	skipSampling bool
	// write adjusts the Write API's settings; writeObjects, when set, is
	// the installation's write config.
	write        func(*write.Config)
	writeObjects map[string]any
}

// syncEnv is a live server with one provider fake, an installation, a
// records receiver and a notifications receiver.
type syncEnv struct {
	t       *testing.T
	l       *live
	fake    syncFake
	fakeSrv *httptest.Server
	clock   *testClock
	recv    *receiver.Receiver
	notes   *receiver.Receiver
	// recvSecret and notesSecret are the destinations' signing secrets.
	recvSecret, notesSecret string
	integID                 string
	instID                  string
	connID                  string
	destID                  string
	provider                string
}

const syncProj = "/v1/projects/default"

// fastEngine makes retries and polling quick enough for tests.
func fastEngine(c *engine.Config) {
	c.PollInterval = 20 * time.Millisecond
	c.RetryBase = 5 * time.Millisecond
	c.RetryMax = 50 * time.Millisecond
	c.Lease = 10 * time.Second
}

func fastDelivery(c *delivery.Config) {
	c.PollInterval = 20 * time.Millisecond
	c.InitialBackoff = 5 * time.Millisecond
	c.MaxBackoff = 50 * time.Millisecond
}

func startSync(t *testing.T, spec syncSpec) *syncEnv {
	t.Helper()
	e := &syncEnv{t: t, fake: spec.fake, clock: &testClock{}, provider: spec.provider}
	e.fakeSrv = httptest.NewServer(spec.fake)
	t.Cleanup(e.fakeSrv.Close)
	recvH, notesH := &lateHandler{}, &lateHandler{}
	recvSrv, notesSrv := httptest.NewServer(recvH), httptest.NewServer(notesH)
	t.Cleanup(recvSrv.Close)
	t.Cleanup(notesSrv.Close)

	dir := t.TempDir()
	endpoints := map[string]string{spec.provider: e.fakeSrv.URL}
	for p, u := range spec.endpoints {
		endpoints[p] = u
	}
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: dir, DevMode: true,
		OAuthEndpoints: endpoints, Logger: slog.New(slog.DiscardHandler),
		Engine: func(c *engine.Config) {
			fastEngine(c)
			if spec.engine != nil {
				spec.engine(c)
			}
		},
		Delivery: func(c *delivery.Config) {
			fastDelivery(c)
			if spec.delivery != nil {
				spec.delivery(c)
			}
		},
		Scheduler: func(c *scheduler.Config) { c.Now = e.clock.Now; c.Tick = 20 * time.Millisecond },
		Write: func(c *write.Config) {
			c.RetryBase, c.RetryMax = 10*time.Millisecond, 100*time.Millisecond
			c.SyncRetryMax = 50 * time.Millisecond
			if spec.write != nil {
				spec.write(c)
			}
		},
	}
	e.l = startLiveConfig(t, cfg)
	t.Cleanup(e.l.stop)
	e.install(spec, recvH, notesH, recvSrv.URL, notesSrv.URL)
	if spec.writeObjects != nil {
		e.l.must(200, "PATCH", fmt.Sprintf("%s/integrations/%s/installations/%s?skipSampling=true", syncProj, e.integID, e.instID), map[string]any{
			"updateMask":   []string{"config.content.write.objects"},
			"installation": map[string]any{"config": map[string]any{"content": map[string]any{"write": map[string]any{"objects": spec.writeObjects}}}},
		}, nil)
	}
	return e
}

// install sets up a sync over e.l's HTTP API: the provider app, the
// records and notifications destinations (whose receivers it gives to recvH
// and notesH), the integration, a connection to e.fake and an installation.
// It needs only e.l's base URL and admin key, so the server may run in
// another process.
func (e *syncEnv) install(spec syncSpec, recvH, notesH *lateHandler, recvURL, notesURL string) {
	t, l := e.t, e.l
	t.Helper()
	l.must(200, "POST", syncProj+"/provider-apps", map[string]any{"provider": spec.provider, "clientId": e2eClientID, "clientSecret": e2eClientSecret}, nil)
	var dest struct {
		ID      string
		Secrets struct{ WebhookSigningKey string }
	}
	l.must(201, "POST", syncProj+"/destinations", map[string]any{"name": "crmWebhook", "type": "webhook",
		"metadata": map[string]any{"url": recvURL}}, &dest)
	l.must(200, "GET", syncProj+"/destinations/crmWebhook?includeSecrets=true", nil, &dest)
	e.destID = dest.ID
	e.recv, e.recvSecret = mustReceiver(t, dest.Secrets.WebhookSigningKey), dest.Secrets.WebhookSigningKey
	e.recv.SetDown(spec.recvDown)
	recvH.h.Store(e.recv)
	var notes struct {
		Secrets struct{ WebhookSigningKey string }
	}
	l.must(201, "POST", syncProj+"/destinations", map[string]any{"name": "notifications", "type": "webhook",
		"receivesNotifications": true, "metadata": map[string]any{"url": notesURL}}, &notes)
	l.must(200, "GET", syncProj+"/destinations/notifications?includeSecrets=true", nil, &notes)
	e.notes, e.notesSecret = mustReceiver(t, notes.Secrets.WebhookSigningKey), notes.Secrets.WebhookSigningKey
	notesH.h.Store(e.notes)

	var ints []integ
	l.must(200, "PUT", syncProj+"/integrations:batch", map[string]string{"sourceYaml": spec.manifest}, &ints)
	e.integID = ints[0].ID

	access, refresh := spec.fake.Issue()
	gen := map[string]any{"provider": spec.provider, "groupRef": "acme", "groupName": "Acme", "consumerRef": "ada", "consumerName": "Ada",
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}}}
	if spec.metadata != nil {
		gen["providerMetadata"] = spec.metadata
	}
	var conn connJSON
	l.must(201, "POST", syncProj+"/connections:generate", gen, &conn)
	e.connID = conn.ID
	var in instJSON
	l.must(201, "POST", syncProj+"/integrations/"+e.integID+"/installations"+sampling(spec), map[string]any{
		"groupRef": "acme", "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": spec.provider, "read": map[string]any{"objects": spec.objects}}},
	}, &in)
	e.instID = in.ID
}

// sampling is the query of an installation's save.
func sampling(spec syncSpec) string {
	if spec.skipSampling {
		return "?skipSampling=true"
	}
	return ""
}

func mustReceiver(t *testing.T, secret string) *receiver.Receiver {
	t.Helper()
	r, err := receiver.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startLiveConfig is startLive with a whole Config.
func startLiveConfig(t *testing.T, cfg server.Config) *live {
	t.Helper()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	l := &live{t: t, srv: srv, base: "http://" + addr.String(), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() { l.done <- srv.Run(ctx) }()
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, server.AdminKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	l.key = strings.TrimSpace(string(key))
	return l
}

// operationJSON is what the tests read of an operation.
type operationJSON struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	ReadType string `json:"readType"`
	Error    string `json:"error"`
	Result   string `json:"result"`
	Queued   bool   `json:"queued"`
	Metadata struct {
		Objects  []string `json:"objects"`
		Progress struct {
			RecordsProcessed      int64 `json:"recordsProcessed"`
			RecordsEstimatedTotal int64 `json:"recordsEstimatedTotal"`
		} `json:"progress"`
	} `json:"metadata"`
}

func (e *syncEnv) operations() []operationJSON {
	e.t.Helper()
	var out struct{ Results []operationJSON }
	e.l.must(200, "GET", fmt.Sprintf("%s/integrations/%s/installations/%s/operations", syncProj, e.integID, e.instID), nil, &out)
	return out.Results
}

// waitOps waits until n operations of readType exist and every operation
// has ended, and the outbox of the records destination is empty.
func (e *syncEnv) waitOps(readType string, n int, timeout time.Duration) []operationJSON {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ops := e.operations()
		var of []operationJSON
		busy := false
		for _, op := range ops {
			if op.ReadType == readType {
				of = append(of, op)
			}
			if op.Status == "in_progress" {
				busy = true
			}
		}
		if len(of) >= n && !busy && e.outbox() == 0 {
			return of
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s: %d %s operations (want %d), busy=%v, outbox %d: %+v", timeout, len(of), readType, n, busy, e.outbox(), ops)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (e *syncEnv) outbox() int {
	e.t.Helper()
	n, err := e.l.srv.Store().CountMessages(context.Background(), e.projectID(), e.destID)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *syncEnv) projectID() string {
	e.t.Helper()
	p, err := e.l.srv.Store().GetProjectByName(context.Background(), "default")
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

// runSchedule moves the scheduler's clock past every schedule, so each
// read object gets one scheduled read. The tests' manifests read yearly
// ("0 0 1 1 *"), so that no schedule comes due by the wall clock while a
// test runs; a jump of more than a year passes any schedule.
func (e *syncEnv) runSchedule() {
	e.clock.Advance(370 * 24 * time.Hour)
}

// checkMessages checks every message that arrived: read messages against
// the webhook message schema, notifications against theirs, and every
// signature with verifyStandardWebhook (written here from the Standard
// Webhooks specification, independently of delivery and receiver).
func (e *syncEnv) checkMessages() { e.checkMessagesSample(0) }

// checkMessagesSample is checkMessages on at most n record messages, spread
// over the run (0: all), and every notification.
func (e *syncEnv) checkMessagesSample(n int) {
	e.t.Helper()
	for _, r := range []struct {
		recv   *receiver.Receiver
		secret string
	}{{e.recv, e.recvSecret}, {e.notes, e.notesSecret}} {
		msgs := r.recv.Messages()
		step := 1
		if n > 0 && len(msgs) > n {
			step = len(msgs) / n
		}
		for i, m := range msgs {
			if i%step != 0 && m.NotificationType == "" {
				continue
			}
			if err := verifyStandardWebhook(r.secret, m.Header, m.Body); err != nil {
				e.t.Errorf("message %s: signature: %v", m.ID, err)
			}
			ref := "WebhookMessage"
			if m.NotificationType != "" {
				ref = notificationSchemas[m.NotificationType]
			}
			if err := validateMessage(e.t, ref, m.Body); err != nil {
				e.t.Errorf("message %s does not match %s: %v", m.ID, ref, err)
			}
		}
	}
}
