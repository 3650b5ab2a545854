package delivery_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/seal"
)

// verifyWebhook checks a delivery the way the Standard Webhooks
// specification tells a receiver to, written from the specification and
// not from this package: the secret is "whsec_" and base64 key bytes, the
// signed content is "id.timestamp.body", webhook-signature is a
// space-separated list of "version,base64" and one v1 entry must equal
// HMAC-SHA256 (compared in constant time), and the timestamp must be within
// five minutes of now.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := now.Unix() - sec; d > 300 || d < -300 {
		return fmt.Errorf("timestamp %d is %ds away from now", sec, d)
	}
	enc, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return errors.New("secret does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return errors.New("secret is not base64")
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+".")
	mac.Write(body)
	want := mac.Sum(nil)
	for s := range strings.SplitSeq(sigs, " ") {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// pipeNet is an in-memory network of net.Pipe connections, so that HTTP
// servers and clients run inside a synctest bubble (goroutines blocked on
// real sockets would keep the bubble's clock from moving).
type pipeNet struct {
	mu sync.Mutex
	ls map[string]*pipeListener
}

type pipeListener struct {
	addr  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.addr) }

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) listen() *pipeListener {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ls == nil {
		n.ls = map[string]*pipeListener{}
	}
	l := &pipeListener{addr: fmt.Sprintf("receiver%d.test:80", len(n.ls)+1), conns: make(chan net.Conn), done: make(chan struct{})}
	n.ls[l.addr] = l
	return l
}

func (n *pipeNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	l := n.ls[addr]
	n.mu.Unlock()
	refused := &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
	if l == nil {
		return nil, refused
	}
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		return nil, refused
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	id     string
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on an httptest server. It verifies every
// request with verifyWebhook, records it, and answers with respond (nil:
// 204). attempt counts the requests with that webhook-id, from 1.
type receiver struct {
	t       testing.TB
	secret  string
	srv     *httptest.Server
	respond func(w http.ResponseWriter, r *http.Request, attempt int)

	mu          sync.Mutex
	reqs        []received
	attempts    map[string]int
	inflight    int
	maxInflight int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("receiver: read body: %v", err)
		return
	}
	if err := verifyWebhook(rc.secret, r.Header, body, time.Now()); err != nil {
		rc.t.Errorf("receiver: %v", err)
	}
	id := r.Header.Get("webhook-id")
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{at: time.Now(), id: id, header: r.Header.Clone(), body: body})
	rc.attempts[id]++
	attempt := rc.attempts[id]
	rc.inflight++
	rc.maxInflight = max(rc.maxInflight, rc.inflight)
	respond := rc.respond
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		rc.inflight--
		rc.mu.Unlock()
	}()
	if respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	respond(w, r, attempt)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) setRespond(f func(w http.ResponseWriter, r *http.Request, attempt int)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bundle is one test's world: a fake store, a sealer, an optional pipe
// network (nil: loopback) and the service's logs.
type bundle struct {
	t       testing.TB
	store   *fakeStore
	sealer  *seal.Sealer
	net     *pipeNet
	logs    *syncBuffer
	project string
	secrets []string
}

// setup returns a bundle; pipe makes the receivers and the service use an
// in-memory network (for synctest).
func setup(t testing.TB, pipe bool) *bundle {
	t.Helper()
	sealer, err := seal.New(seal.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, store: newFakeStore(), sealer: sealer, logs: &syncBuffer{}, project: runtime.NewID()}
	if pipe {
		b.net = &pipeNet{}
	}
	// Registered first, so it runs last: after every service stopped.
	t.Cleanup(func() {
		logs := b.logs.String()
		for _, s := range b.secrets {
			if strings.Contains(logs, strings.TrimPrefix(s, "whsec_")) {
				t.Errorf("logs contain a signing secret")
			}
		}
		if strings.Contains(logs, "body-marker-") {
			t.Errorf("logs contain a message body")
		}
	})
	return b
}

// newSecret returns a Standard Webhooks secret as runtime/api makes them.
func newSecret() string {
	k := make([]byte, 32)
	rand.Read(k)
	return "whsec_" + base64.StdEncoding.EncodeToString(k)
}

// receiver starts a receiver and a destination of b.project that points to
// it, and returns both.
func (b *bundle) receiver(name string, respond func(w http.ResponseWriter, r *http.Request, attempt int)) (*receiver, *runtime.Destination) {
	b.t.Helper()
	rc := &receiver{t: b.t, secret: newSecret(), respond: respond, attempts: map[string]int{}}
	if b.net == nil {
		rc.srv = httptest.NewServer(rc)
	} else {
		rc.srv = httptest.NewUnstartedServer(rc)
		rc.srv.Listener.Close()
		rc.srv.Listener = b.net.listen()
		rc.srv.Start()
	}
	b.t.Cleanup(rc.srv.Close)
	b.secrets = append(b.secrets, rc.secret)
	d := b.destination(name, rc.srv.URL+"/hook", rc.secret)
	return rc, d
}

// destination adds a destination with the secret sealed as runtime/api
// seals it.
func (b *bundle) destination(name, url, secret string) *runtime.Destination {
	b.t.Helper()
	d := &runtime.Destination{ID: runtime.NewID(), ProjectID: b.project, Name: name, Type: runtime.DestinationWebhook,
		Metadata: runtime.DestinationMetadata{URL: url}}
	sealed, err := b.sealer.Seal(seal.PurposeWebhookSecret, []byte(secret), seal.AAD(d.ProjectID, d.ID, "signingSecret"))
	if err != nil {
		b.t.Fatal(err)
	}
	d.SigningSecret = sealed
	b.store.addDestination(d)
	return d
}

// enqueue queues n messages for d and returns their IDs.
func (b *bundle) enqueue(d *runtime.Destination, n int) []string {
	b.t.Helper()
	var msgs []*runtime.OutboxMessage
	var ids []string
	for i := range n {
		id := runtime.NewID()
		ids = append(ids, id)
		msgs = append(msgs, &runtime.OutboxMessage{ID: id, ProjectID: d.ProjectID, DestinationID: d.ID,
			Body: fmt.Appendf(nil, `{"action":"read","page":%d,"secretField":"body-marker-%s"}`, i, id)})
	}
	if err := b.store.EnqueueMessages(context.Background(), msgs); err != nil {
		b.t.Fatal(err)
	}
	return ids
}

// start runs a service with cfg (Store, Sealer, Logger and, on a pipe
// network, Transport filled in) until the returned stop is called or the
// test ends.
func (b *bundle) start(cfg delivery.Config) (*delivery.Service, func()) {
	b.t.Helper()
	cfg.Store, cfg.Sealer = b.store, b.sealer
	cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(b.logs, b.t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if b.net != nil && cfg.Transport == nil {
		cfg.Transport = &http.Transport{DialContext: b.net.dial}
	}
	svc, err := delivery.New(cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				b.t.Errorf("Run: %v", err)
			}
		})
	}
	b.t.Cleanup(stop)
	return svc, stop
}

// waitFor polls cond every 10ms until it holds or limit has passed (fake
// time inside a synctest bubble).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (rc *receiver) maxInFlight() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.maxInflight
}
