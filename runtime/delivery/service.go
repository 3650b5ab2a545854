package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/seal"
)

// Defaults of Config.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultPollInterval   = time.Second
	DefaultConcurrency    = 32
	DefaultPerDestination = 4
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 10 * time.Minute
	DefaultMaxFailures    = 20
	DefaultWindow         = 24 * time.Hour
)

const (
	// maxRetryAfter caps the wait a receiver may ask for with Retry-After.
	maxRetryAfter = time.Hour
	// logBodyBytes is how much of a refusal's response body is logged.
	logBodyBytes = 512
	// drainBytes is how much of a response body is read so that the
	// connection can be reused; past it the connection is closed.
	drainBytes = 64 << 10
	// storeTimeout bounds the store calls that follow a request.
	storeTimeout = 10 * time.Second
	// pendingPerSlot sizes the local queue: up to pendingPerSlot messages
	// per request slot are claimed ahead, so slots refill without waiting
	// for a claim.
	pendingPerSlot = 4
	userAgent      = "amp-webhooks/1"
)

// Store is what delivery needs of the store: the outbox, and the
// destinations the messages go to (runtime.Store implements it).
type Store interface {
	runtime.OutboxStore
	DestinationLister

	// GetDestination returns the destination with the ID.
	// Returns ENOTFOUND if the project has none.
	GetDestination(ctx context.Context, projectID, id string) (*runtime.Destination, error)
}

// Opener opens sealed secrets (*seal.Sealer implements it).
type Opener interface {
	Open(purpose string, sealed, aad []byte) ([]byte, error)
}

// Config is what a Service is built with. Zero fields take the defaults.
type Config struct {
	Store  Store
	Sealer Opener
	// Logger receives delivery logs (nil discards them). Logs name
	// projects, destinations and messages, never secrets or message
	// bodies.
	Logger *slog.Logger
	// Transport sends the requests (nil: a clone of http.DefaultTransport).
	// The service's client wraps it with Timeout and never follows
	// redirects.
	Transport http.RoundTripper
	// Timeout bounds one request, response body included.
	Timeout time.Duration
	// Hold is how long a claimed message is kept from other claims while
	// it waits and is sent (default 2*Timeout); it must exceed Timeout.
	Hold time.Duration
	// PollInterval is how often the outbox is read when Notify is not
	// called.
	PollInterval time.Duration
	// Concurrency bounds the requests in flight overall, PerDestination
	// those to one destination.
	Concurrency    int
	PerDestination int
	// InitialBackoff and MaxBackoff bound the jittered exponential
	// back-off between attempts: the wait before attempt n+1 is between
	// half and all of min(InitialBackoff*2^(n-1), MaxBackoff).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxFailures and Window are the rule that disables a destination
	// (runtime.DestinationFailure): MaxFailures consecutive failed
	// deliveries, or failing for Window. Negative turns a rule off.
	MaxFailures int
	Window      time.Duration
}

// Stats counts what a Service did since it was made.
type Stats struct {
	// Delivered counts messages a destination acknowledged (2xx).
	Delivered int64
	// Failed counts attempts that did not deliver a message.
	Failed int64
	// Disabled counts destinations the service disabled.
	Disabled int64
}

// Service delivers the outbox. Build it with New, run it with Run, and
// call Notify after committing messages. It is safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}

	running                     atomic.Bool
	delivered, failed, disabled atomic.Int64

	mu sync.Mutex
	// failing holds the destinations with a failure that no success has
	// reset yet, so that a success resets the store's count even when the
	// destination it read was older than the failure.
	failing map[destKey]bool
}

// New returns a Service. Config.Store and Config.Sealer are required.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("delivery: Config.Store and Config.Sealer are required")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.Hold, 2*cfg.Timeout)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.InitialBackoff, DefaultInitialBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.Window, DefaultWindow)
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.PerDestination == 0 {
		cfg.PerDestination = DefaultPerDestination
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	switch {
	case cfg.Timeout < 0 || cfg.PollInterval < 0 || cfg.InitialBackoff < 0 || cfg.Concurrency < 0 || cfg.PerDestination < 0:
		return nil, errors.New("delivery: Timeout, PollInterval, InitialBackoff, Concurrency and PerDestination must not be negative")
	case cfg.Hold <= cfg.Timeout:
		return nil, fmt.Errorf("delivery: Hold (%s) must exceed Timeout (%s)", cfg.Hold, cfg.Timeout)
	case cfg.MaxBackoff < cfg.InitialBackoff:
		return nil, fmt.Errorf("delivery: MaxBackoff (%s) is below InitialBackoff (%s)", cfg.MaxBackoff, cfg.InitialBackoff)
	}
	cfg.MaxFailures = max(cfg.MaxFailures, 0)
	cfg.Window = max(cfg.Window, 0)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := cfg.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Concurrency
		tr = t
	}
	return &Service{
		cfg: cfg,
		log: log,
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// A redirect is answered as a failure: following it would
			// send a signed message to an address the builder did not
			// register.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		wake:    make(chan struct{}, 1),
		failing: map[destKey]bool{},
	}, nil
}

// Notify tells Run that messages were committed, so it claims them now
// instead of at the next poll. It never blocks.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counts so far.
func (s *Service) Stats() Stats {
	return Stats{Delivered: s.delivered.Load(), Failed: s.failed.Load(), Disabled: s.disabled.Load()}
}

// Run delivers until ctx ends, then lets the requests in flight finish
// (each within Timeout) and records their outcome, hands the messages it
// had claimed but not sent back to the outbox, and returns nil. Only one
// Run may be active at a time.
func (s *Service) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("delivery: Run is already running")
	}
	defer s.running.Store(false)
	defer s.client.CloseIdleConnections()
	l := &loop{
		s:          s,
		maxPending: pendingPerSlot * s.cfg.Concurrency,
		results:    make(chan result, s.cfg.Concurrency),
		pending:    map[msgKey]bool{},
		queues:     map[destKey][]*runtime.OutboxMessage{},
		inflight:   map[destKey]int{},
		streak:     map[destKey]int{},
		paused:     map[destKey]time.Time{},
		sending:    map[msgKey]bool{},
		reclaimed:  map[msgKey]bool{},
	}
	return l.run(ctx)
}

type destKey struct{ project, dest string }

type msgKey struct{ project, id string }

func destOf(m *runtime.OutboxMessage) destKey { return destKey{m.ProjectID, m.DestinationID} }

// outcome is what became of one attempt.
type outcome int

const (
	// delivered: acknowledged and deleted.
	delivered outcome = iota
	// transient: a network error, timeout, 408, 429 or 5xx; the message
	// and its destination wait.
	transient
	// refused: any other answer (another 4xx, a redirect); the message
	// waits, the destination goes on.
	refused
	// skipped: not sent (destination disabled or unreadable, secret
	// unusable).
	skipped
)

type result struct {
	m       *runtime.OutboxMessage
	outcome outcome
	// retryAfter is the receiver's Retry-After (zero: none).
	retryAfter time.Duration
	// disabled: the destination is disabled (by this attempt or before).
	disabled bool
	// retry is the failed attempt the sender recorded (nil: none).
	retry *retryRecord
}

// retryRecord is a failed attempt as RetryMessage recorded it.
type retryRecord struct {
	attempts  int
	next      time.Time
	lastError string
}

// loop is Run's state, owned by Run's goroutine. Messages are claimed into
// per-destination queues (at most maxPending claimed and not finished),
// started while the destination and the whole service have free slots, and
// finished when their sender reports on results.
type loop struct {
	s          *Service
	maxPending int
	results    chan result
	pending    map[msgKey]bool
	queues     map[destKey][]*runtime.OutboxMessage
	inflight   map[destKey]int
	total      int
	// more: the last claim was full, so more messages may be due.
	more bool
	// streak counts a destination's transient failures in a row; paused
	// holds back a destination that failed until the time given, and its
	// messages are deferred to then instead of being sent.
	streak map[destKey]int
	paused map[destKey]time.Time
	// sending holds the messages whose sender runs; reclaimed those of
	// them a claim returned again meanwhile (see finish).
	sending, reclaimed map[msgKey]bool
}

func (l *loop) run(ctx context.Context) error {
	poll := time.NewTicker(l.s.cfg.PollInterval)
	defer poll.Stop()
	// Senders outlive a cancelled ctx: a request in flight finishes and its
	// outcome is recorded.
	sendCtx := context.WithoutCancel(ctx)
	claim := true
	for {
		if claim {
			l.claim(ctx)
		}
		l.dispatch(sendCtx)
		select {
		case <-ctx.Done():
			l.stop(sendCtx)
			return nil
		case <-l.s.wake:
			claim = true
		case <-poll.C:
			claim = true
		case r := <-l.results:
			l.finish(ctx, r)
			room := l.maxPending - len(l.pending)
			claim = len(l.pending) == 0 || l.more && room >= l.s.cfg.Concurrency
		}
	}
}

func (l *loop) claim(ctx context.Context) {
	room := l.maxPending - len(l.pending)
	if room <= 0 {
		l.more = true
		return
	}
	now := time.Now()
	msgs, err := l.s.cfg.Store.ClaimMessages(ctx, now, l.s.cfg.Hold, room)
	if err != nil {
		if ctx.Err() == nil {
			l.s.log.Error("delivery: claim messages", "error", err)
		}
		return
	}
	l.more = len(msgs) == room
	for d, until := range l.paused {
		if !now.Before(until) {
			delete(l.paused, d)
		}
	}
	for _, m := range msgs {
		k := msgKey{m.ProjectID, m.ID}
		if l.pending[k] {
			// Claimed again after its hold ran out while it waited here:
			// the new claim only extends the hold.
			if l.sending[k] {
				l.reclaimed[k] = true
			}
			continue
		}
		d := destOf(m)
		if until, ok := l.paused[d]; ok {
			l.s.reschedule(ctx, m, until)
			continue
		}
		l.pending[k] = true
		l.queues[d] = append(l.queues[d], m)
	}
}

// dispatch starts senders while there are free slots. Destinations are
// visited in map order, which varies, so none is always served last.
func (l *loop) dispatch(ctx context.Context) {
	for d, q := range l.queues {
		for len(q) > 0 && l.inflight[d] < l.s.cfg.PerDestination && l.total < l.s.cfg.Concurrency {
			m := q[0]
			q = q[1:]
			l.inflight[d]++
			l.total++
			l.sending[msgKey{m.ProjectID, m.ID}] = true
			go func() { l.results <- l.s.deliver(ctx, m) }()
		}
		if len(q) == 0 {
			delete(l.queues, d)
		} else {
			l.queues[d] = q
		}
	}
}

func (l *loop) finish(ctx context.Context, r result) {
	d := destOf(r.m)
	k := msgKey{r.m.ProjectID, r.m.ID}
	delete(l.pending, k)
	delete(l.sending, k)
	l.total--
	if l.inflight[d]--; l.inflight[d] <= 0 {
		delete(l.inflight, d)
	}
	switch {
	case r.disabled:
		// Its messages are not claimed while it is disabled and are due
		// at once when it is re-enabled: drop the ones waiting here.
		for _, m := range l.queues[d] {
			delete(l.pending, msgKey{m.ProjectID, m.ID})
		}
		delete(l.queues, d)
		delete(l.streak, d)
		delete(l.paused, d)
	case r.outcome == delivered:
		delete(l.streak, d)
		delete(l.paused, d)
	case r.outcome == transient:
		// The destination is down or asks to slow down: hold it back, so
		// that its other messages wait instead of each failing (and
		// counting towards disabling it).
		l.streak[d]++
		wait := r.retryAfter
		if wait == 0 {
			wait = l.s.backoff(l.streak[d])
		}
		if until := time.Now().Add(wait); until.After(l.paused[d]) {
			l.paused[d] = until
		}
		for _, m := range l.queues[d] {
			delete(l.pending, msgKey{m.ProjectID, m.ID})
			l.s.reschedule(ctx, m, l.paused[d])
		}
		delete(l.queues, d)
	}
	if l.reclaimed[k] {
		delete(l.reclaimed, k)
		// A claim returned the message while its sender ran: if the
		// sender had recorded its failed attempt by then, the claim
		// moved the next attempt to the end of its hold (a minute or
		// more) and nothing here sends it before that. Record the retry
		// again, so the message is due when the sender said.
		if rt := r.retry; rt != nil && !r.disabled {
			next := rt.next
			if until := l.paused[d]; until.After(next) {
				next = until
			}
			err := l.s.cfg.Store.RetryMessage(ctx, r.m.ProjectID, r.m.ID, rt.attempts, next, rt.lastError)
			if err != nil && runtime.ErrorCode(err) != runtime.ENOTFOUND && ctx.Err() == nil {
				l.s.log.Warn("delivery: reschedule message", "projectId", r.m.ProjectID, "destinationId", r.m.DestinationID, "messageId", r.m.ID, "error", err)
			}
		}
	}
}

// stop waits for the senders in flight and hands the queued messages back
// to the outbox, due now.
func (l *loop) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	now := time.Now()
	for _, q := range l.queues {
		for _, m := range q {
			l.s.reschedule(ctx, m, now)
		}
	}
	for ; l.total > 0; l.total-- {
		<-l.results
	}
}

// reschedule moves a message that was claimed but not sent to next,
// without counting an attempt. A failure only leaves it held until its
// claim runs out.
func (s *Service) reschedule(ctx context.Context, m *runtime.OutboxMessage, next time.Time) {
	err := s.cfg.Store.RetryMessage(ctx, m.ProjectID, m.ID, m.Attempts, next, m.LastError)
	if err != nil && runtime.ErrorCode(err) != runtime.ENOTFOUND && ctx.Err() == nil {
		s.log.Warn("delivery: reschedule message", "projectId", m.ProjectID, "destinationId", m.DestinationID, "messageId", m.ID, "error", err)
	}
}

// deliver makes one attempt at m and records its outcome in the store.
func (s *Service) deliver(ctx context.Context, m *runtime.OutboxMessage) result {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout+storeTimeout)
	defer cancel()
	log := s.log.With("projectId", m.ProjectID, "destinationId", m.DestinationID, "messageId", m.ID)
	d, err := s.cfg.Store.GetDestination(ctx, m.ProjectID, m.DestinationID)
	switch {
	case runtime.ErrorCode(err) == runtime.ENOTFOUND:
		log.Warn("delivery: the message's destination does not exist; the message is kept")
		s.failed.Add(1)
		rt := s.retry(ctx, log, m, 0, "destination not found")
		return result{m: m, outcome: skipped, retry: rt}
	case err != nil:
		// Left held: it is claimed again when the hold runs out.
		log.Error("delivery: read destination", "error", err)
		return result{m: m, outcome: skipped}
	case d.Disabled:
		return result{m: m, outcome: skipped, disabled: true}
	}
	key, err := s.signingKey(d)
	if err != nil {
		log.Error("delivery: cannot sign: the destination's signing secret does not open", "error", err)
		s.failed.Add(1)
		rt := s.retry(ctx, log, m, 0, "signing secret cannot be opened")
		return result{m: m, outcome: skipped, retry: rt}
	}
	resp, err := s.post(ctx, d, m, key)
	clear(key)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a token
		}
		reason := err.Error()
		if ne, ok := err.(net.Error); ok && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			reason = fmt.Sprintf("timeout: no complete response within %s", s.cfg.Timeout)
		}
		return s.failure(ctx, log, m, d, transient, 0, reason, slog.String("error", reason))
	}
	code := resp.StatusCode
	var head []byte
	if code/100 != 2 {
		head, _ = io.ReadAll(io.LimitReader(resp.Body, logBodyBytes))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
	resp.Body.Close()
	lastError := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	switch {
	case code/100 == 2:
		s.delivered.Add(1)
		if err := s.cfg.Store.AckMessages(ctx, m.ProjectID, []string{m.ID}); err != nil {
			// It is sent again when its hold runs out; receivers
			// de-duplicate on webhook-id.
			log.Error("delivery: ack delivered message", "error", err)
		}
		s.succeeded(ctx, log, d)
		return result{m: m, outcome: delivered}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		var wait time.Duration
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			wait = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return s.failure(ctx, log, m, d, transient, wait, lastError, slog.Int("status", code))
	case code/100 == 3:
		lastError += " (redirects are not followed)"
		return s.failure(ctx, log, m, d, refused, 0, lastError, slog.Int("status", code))
	default:
		return s.failure(ctx, log, m, d, refused, 0, lastError, slog.Int("status", code), slog.String("response", string(head)))
	}
}

// failure records a failed attempt: the message is retried after wait (zero:
// the back-off), and the failure counts towards disabling the destination.
func (s *Service) failure(ctx context.Context, log *slog.Logger, m *runtime.OutboxMessage, d *runtime.Destination, o outcome, wait time.Duration, lastError string, attrs ...slog.Attr) result {
	s.failed.Add(1)
	rt := s.retry(ctx, log, m, wait, lastError)
	msg := "delivery: attempt failed; will retry"
	level := slog.LevelInfo
	if o == refused {
		msg = "delivery: destination refused the message; will retry"
		level = slog.LevelWarn
	}
	log.LogAttrs(ctx, level, msg, append(attrs, slog.Int("attempt", m.Attempts+1), slog.Time("next", rt.next))...)
	return result{m: m, outcome: o, retryAfter: wait, disabled: s.destinationFailed(ctx, log, d), retry: rt}
}

// retry records a failed attempt at m, to be made again after wait (zero:
// the back-off), and returns the record.
func (s *Service) retry(ctx context.Context, log *slog.Logger, m *runtime.OutboxMessage, wait time.Duration, lastError string) *retryRecord {
	attempts := m.Attempts + 1
	if wait == 0 {
		wait = s.backoff(attempts)
	}
	next := time.Now().Add(wait)
	err := s.cfg.Store.RetryMessage(ctx, m.ProjectID, m.ID, attempts, next, lastError)
	if err != nil && runtime.ErrorCode(err) != runtime.ENOTFOUND {
		log.Error("delivery: record failed attempt", "error", err)
	}
	return &retryRecord{attempts: attempts, next: next, lastError: lastError}
}

// destinationFailed counts a failure against d and reports whether d is
// now disabled.
func (s *Service) destinationFailed(ctx context.Context, log *slog.Logger, d *runtime.Destination) bool {
	k := destKey{d.ProjectID, d.ID}
	s.mu.Lock()
	s.failing[k] = true
	s.mu.Unlock()
	note := s.disabledNotification(ctx, log, d)
	disabled, err := s.cfg.Store.DestinationFailed(ctx, runtime.DestinationFailure{
		ProjectID:     d.ProjectID,
		DestinationID: d.ID,
		Now:           time.Now(),
		MaxFailures:   s.cfg.MaxFailures,
		Window:        s.cfg.Window,
		Notification:  note,
	})
	if err != nil {
		if runtime.ErrorCode(err) != runtime.ENOTFOUND {
			log.Error("delivery: count destination failure", "error", err)
		}
		return false
	}
	if disabled {
		s.disabled.Add(1)
		log.Error("delivery: destination disabled after repeated failures; its messages are kept until it is re-enabled",
			"destinationName", d.Name, "notified", note != nil)
	}
	return disabled
}

// disabledNotification returns the destination.webhook.disabled message
// that goes with a failure of d, for the store to enqueue if the failure
// disables d; nil when the project has no notification destination.
func (s *Service) disabledNotification(ctx context.Context, log *slog.Logger, d *runtime.Destination) *runtime.OutboxMessage {
	nd, err := NotificationDestination(ctx, s.cfg.Store, d.ProjectID)
	if err != nil {
		log.Error("delivery: find notification destination", "error", err)
		return nil
	}
	if nd == nil {
		return nil
	}
	m, err := NewNotification(d.ProjectID, nd.ID, NotificationDestinationWebhookDisabled, DestinationWebhookDisabledData{
		ProjectID:       d.ProjectID,
		DestinationID:   d.ID,
		DestinationName: d.Name,
		URL:             d.Metadata.URL,
	})
	if err != nil {
		log.Error("delivery: build notification", "error", err)
		return nil
	}
	return m
}

// succeeded resets d's failure count when it has one.
func (s *Service) succeeded(ctx context.Context, log *slog.Logger, d *runtime.Destination) {
	k := destKey{d.ProjectID, d.ID}
	s.mu.Lock()
	was := s.failing[k]
	delete(s.failing, k)
	s.mu.Unlock()
	if !was && d.Failures == 0 && d.FailingSince.IsZero() {
		return
	}
	if err := s.cfg.Store.DestinationSucceeded(ctx, d.ProjectID, d.ID); err != nil && runtime.ErrorCode(err) != runtime.ENOTFOUND {
		log.Error("delivery: reset destination failures", "error", err)
		s.mu.Lock()
		s.failing[k] = true
		s.mu.Unlock()
	}
}

// signingKey opens d's signing secret and returns its HMAC key.
func (s *Service) signingKey(d *runtime.Destination) ([]byte, error) {
	secret, err := s.cfg.Sealer.Open(seal.PurposeWebhookSecret, d.SigningSecret, seal.AAD(d.ProjectID, d.ID, "signingSecret"))
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return ParseSecret(string(secret))
}

// reserved are the headers a destination's extra headers cannot set.
var reserved = map[string]bool{
	http.CanonicalHeaderKey(HeaderID):        true,
	http.CanonicalHeaderKey(HeaderTimestamp): true,
	http.CanonicalHeaderKey(HeaderSignature): true,
	"Content-Type":                           true,
}

// post sends m, signed now, to d.
func (s *Service) post(ctx context.Context, d *runtime.Destination, m *runtime.OutboxMessage, key []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Metadata.URL, bytes.NewReader(m.Body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("User-Agent", userAgent)
	for k, v := range d.Metadata.Headers {
		if !reserved[http.CanonicalHeaderKey(k)] {
			h.Set(k, v)
		}
	}
	now := time.Now()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderID, m.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, Sign(key, m.ID, now, m.Body))
	return s.client.Do(req)
}

// backoff returns the jittered wait after the nth failure in a row.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.InitialBackoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date),
// capped at maxRetryAfter; zero when it is absent, invalid or not in the
// future.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// Interface guards.
var (
	_ Store  = runtime.Store(nil)
	_ Opener = (*seal.Sealer)(nil)
)
