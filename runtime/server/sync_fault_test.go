package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	hsfake "github.com/ampforge/amp/providers/hubspot/fake"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/engine"
)

// hit is one answer of a provider fake's data API, as a tap saw it.
type hit struct {
	at     time.Time // when the request arrived
	status int
	page   bool
}

// tap sits in front of a provider fake: it records the status of every data
// request, can expire the fake's access tokens every so many data requests
// (tokens expiring mid-read), and can cut one page's body in half (a
// connection dropped mid-response).
type tap struct {
	next http.Handler
	// data says which requests are data requests (not OAuth); page which
	// of those read a page of records.
	data, page func(*http.Request) bool
	// expireEvery, when positive, calls expire before every
	// expireEvery-th data request.
	expireEvery int
	expire      func()
	// truncate, when positive, is the successful page read (1-based)
	// whose body is cut in half.
	truncate int

	mu        sync.Mutex
	n         int
	pages     int
	hits      []hit
	expired   int
	truncated bool
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !t.data(r) {
		t.next.ServeHTTP(w, r)
		return
	}
	page, at := t.page(r), time.Now()
	t.mu.Lock()
	t.n++
	if t.expireEvery > 0 && t.n%t.expireEvery == 0 {
		t.expire()
		t.expired++
	}
	cut := page && t.truncate > 0 && !t.truncated
	t.mu.Unlock()
	if !cut {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		t.next.ServeHTTP(sw, r)
		t.record(at, sw.status, page)
		return
	}
	rec := httptest.NewRecorder()
	t.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		t.mu.Lock()
		t.pages++
		if t.pages == t.truncate {
			body = body[:len(body)/2]
			t.truncated = true
		}
		t.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
	t.record(at, rec.Code, page)
}

func (t *tap) record(at time.Time, status int, page bool) {
	t.mu.Lock()
	t.hits = append(t.hits, hit{at: at, status: status, page: page})
	t.mu.Unlock()
}

// snapshot returns the answers so far in arrival order, how many times the
// tokens were expired and whether a page was cut.
func (t *tap) snapshot() ([]hit, int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hits := slices.Clone(t.hits)
	slices.SortFunc(hits, func(a, b hit) int { return a.at.Compare(b.at) })
	return hits, t.expired, t.truncated
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// tappedFake is a provider fake served through a tap.
type tappedFake struct {
	syncFake
	tap *tap
}

func (f tappedFake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.tap.ServeHTTP(w, r) }

func salesforceData(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/services/data/") }
func salesforcePage(r *http.Request) bool { return strings.Contains(r.URL.Path, "/query") }
func hubspotData(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/crm/") || strings.HasPrefix(r.URL.Path, "/account-info/")
}
func hubspotPage(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/crm/v3/objects/")
}

// hubspotSpec is a HubSpot companies sync with the fake's options.
func hubspotSpec(opts hsfake.Options) syncSpec {
	for _, c := range incrementalCases {
		if c.name == "hubspot" {
			s := c.spec()
			s.fake = hsfake.New(opts)
			return s
		}
	}
	panic("no hubspot case in incrementalCases")
}

// logLine is what the tests read of an operation's log line.
type logLine struct {
	Severity string `json:"severity"`
	Message  struct {
		Msg   string `json:"msg"`
		Error string `json:"error"`
	} `json:"message"`
}

// opLogs returns an operation's logs as the API serves them.
func (e *syncEnv) opLogs(id string) []logLine {
	e.t.Helper()
	var out []logLine
	e.l.must(200, "GET", syncProj+"/operations/"+id+"/logs", nil, &out)
	return out
}

// waitOp polls the installation's operations until one of readType
// satisfies ok, and returns it.
func (e *syncEnv) waitOp(readType string, timeout time.Duration, ok func(operationJSON) bool) operationJSON {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ops := e.operations()
		for _, op := range ops {
			if op.ReadType == readType && ok(op) {
				return op
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s no %s operation as expected: %+v", timeout, readType, ops)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func ended(op operationJSON) bool { return op.Status == "success" || op.Status == "failure" }

// ids returns the IDs of the installation's operations: a test that moves
// the scheduler's clock looks for the operations that were not there
// before (the wall clock passing a half hour schedules reads too).
func (e *syncEnv) ids() map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	for _, op := range e.operations() {
		out[op.ID] = true
	}
	return out
}

// count returns how many operations of readType the installation has.
func (e *syncEnv) count(readType string) int {
	e.t.Helper()
	n := 0
	for _, op := range e.operations() {
		if op.ReadType == readType {
			n++
		}
	}
	return n
}

// consistently checks cond every 25 ms for d: it must hold each time.
func consistently(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(25 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
	}
}

// addInstallation installs another integration, on another provider whose
// fake the server already knows (syncSpec.endpoints), for the same group,
// and returns its view of the server: the same receivers and clock, its own
// integration, connection and installation.
func (e *syncEnv) addInstallation(spec syncSpec) *syncEnv {
	e.t.Helper()
	o := *e
	o.fake, o.fakeSrv, o.provider = spec.fake, nil, spec.provider
	l := e.l
	l.must(200, "POST", syncProj+"/provider-apps", map[string]any{"provider": spec.provider, "clientId": e2eClientID, "clientSecret": e2eClientSecret}, nil)
	var ints []integ
	l.must(200, "PUT", syncProj+"/integrations:batch", map[string]string{"sourceYaml": spec.manifest}, &ints)
	o.integID = ints[0].ID
	access, refresh := spec.fake.Issue()
	var conn connJSON
	l.must(201, "POST", syncProj+"/connections:generate", map[string]any{"provider": spec.provider, "groupRef": "acme", "groupName": "Acme",
		"consumerRef": "ada", "consumerName": "Ada",
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}}}, &conn)
	o.connID = conn.ID
	var in instJSON
	l.must(201, "POST", syncProj+"/integrations/"+o.integID+"/installations"+sampling(spec), map[string]any{
		"groupRef": "acme", "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": spec.provider, "read": map[string]any{"objects": spec.objects}}},
	}, &in)
	o.instID = in.ID
	return &o
}

// TestFaultsEveryRecordArrives is acceptance 4a: a backfill through 5% of
// 5xx answers, access tokens expiring every few requests and one page cut
// in half (and, for HubSpot, 429 bursts) delivers every record exactly
// once, succeeds, and its logs show the retries.
//
// Salesforce gets no 429 bursts: it has no short-window limit, and its
// fake answers a burst with REQUEST_LIMIT_EXCEEDED, Salesforce's "daily
// allocation spent", after which the connector rightly waits 15 minutes;
// TestRateLimitSalesforceDailyShare covers that allocation.
func TestFaultsEveryRecordArrives(t *testing.T) {
	t.Parallel()
	// Pages of 25 make 80 page reads of 2,000 records: enough for the 5%
	// of failures to land several times, and the tokens to expire every
	// 15 requests (a real provider's last hours, not minutes; the engine
	// cannot tell the difference).
	const n, pageSize = 2000, 25
	faults := func(burst bool) fakekit.Options {
		o := fakeOptions(n)
		o.FailRate, o.Seed = 0.05, 7
		if burst {
			o.BurstEvery, o.BurstLength = 30, 1
		}
		return o
	}
	for _, tc := range []struct {
		name       string
		spec       func() syncSpec
		data, page func(*http.Request) bool
		// raw is the provider object, object its delivered name.
		raw, object string
		throttle    int // the status of a rate-limit answer; 0: none expected
		serverErr   int
	}{
		{"salesforce", func() syncSpec {
			s := salesforceSpec(n, "fullHistory: true")
			s.fake = sffake.New(sffake.Options{Options: faults(false), MinBatchSize: pageSize})
			return s
		}, salesforceData, salesforcePage, "account", "company", 0, http.StatusInternalServerError},
		{"hubspot", func() syncSpec { return hubspotSpec(hsfake.Options{Options: faults(true)}) },
			hubspotData, hubspotPage, "companies", "companies", http.StatusTooManyRequests, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := tc.spec()
			tp := &tap{next: spec.fake, data: tc.data, page: tc.page, expireEvery: 15, expire: spec.fake.ExpireTokens, truncate: 5}
			spec.fake = tappedFake{syncFake: spec.fake, tap: tp}
			spec.engine = func(c *engine.Config) { c.PageSize = pageSize }
			spec.skipSampling = true
			e := startSync(t, spec)
			ops := e.waitOps("backfill", 1, time.Minute)
			op := ops[0]
			if op.Status != "success" {
				t.Fatalf("backfill %+v", op)
			}
			st := e.recv.Stats()
			if st.Distinct != n || st.Records != n {
				t.Fatalf("receiver got %d records, %d distinct; want %d exactly once (dups %v)", st.Records, st.Distinct, n, first(e.recv.Duplicates(), 5))
			}
			for id := range e.recv.Records(tc.object) {
				if _, ok := e.fake.Get(tc.raw, id); !ok {
					t.Fatalf("delivered record %s is not in the fake", id)
				}
			}

			// The faults happened: otherwise this test tests nothing.
			hits, expired, truncated := tp.snapshot()
			counts := map[int]int{}
			pageFailures := 0
			for _, h := range hits {
				counts[h.status]++
				if h.page && h.status == tc.serverErr {
					pageFailures++
				}
			}
			if counts[tc.serverErr] == 0 || counts[http.StatusUnauthorized] == 0 || expired == 0 || !truncated ||
				tc.throttle != 0 && counts[tc.throttle] == 0 {
				t.Fatalf("faults not injected: statuses %v, tokens expired %d times, page cut %v", counts, expired, truncated)
			}
			if pageFailures == 0 {
				t.Fatalf("no page read failed (statuses %v): change the seed", counts)
			}

			// Each failed page read (each 5xx and the cut page) is in the
			// logs as a failed attempt, and each 429 as a wait.
			var failed, waits int
			for _, l := range e.opLogs(op.ID) {
				switch {
				case strings.Contains(l.Message.Msg, "failed (attempt"):
					failed++
				case strings.Contains(l.Message.Msg, "rate limiting"):
					waits++
				}
			}
			if failed < pageFailures+1 {
				t.Errorf("logs show %d failed attempts; the fake failed %d page reads and cut one", failed, pageFailures)
			}
			if tc.throttle != 0 && waits < counts[tc.throttle] {
				t.Errorf("logs show %d rate-limit waits; the fake sent %d rate-limit answers", waits, counts[tc.throttle])
			}
			e.checkMessagesSample(20)
		})
	}
}

// TestFaultRevokedRefreshToken is acceptance 4b: once the customer revoked
// the app (refresh refused), a scheduled read marks the connection
// bad_credentials, pauses the installation's reads and sends
// connection.error and read.schedule.paused, while another installation on
// another provider, on the same server, keeps syncing.
func TestFaultRevokedRefreshToken(t *testing.T) {
	t.Parallel()
	hs := hubspotSpec(hsfake.Options{Options: fakeOptions(1000)})
	hsSrv := httptest.NewServer(hs.fake)
	t.Cleanup(hsSrv.Close)
	spec := salesforceSpec(1000, "fullHistory: true")
	spec.endpoints = map[string]string{hs.provider: hsSrv.URL}
	e := startSync(t, spec)
	other := e.addInstallation(hs)

	if op := e.waitOps("backfill", 1, time.Minute)[0]; op.Status != "success" {
		t.Fatalf("salesforce backfill %+v", op)
	}
	if op := other.waitOps("backfill", 1, time.Minute)[0]; op.Status != "success" {
		t.Fatalf("hubspot backfill %+v", op)
	}
	if got := len(e.recv.Records("company")); got != 1000 {
		t.Fatalf("salesforce backfill delivered %d, want 1000", got)
	}

	sf := e.fake.(*sffake.Server)
	sf.RevokeRefreshTokens()
	sf.ExpireTokens()
	ids := other.fake.IDs("companies")
	touched := map[string]bool{}
	for _, id := range ids[:100] {
		other.fake.Touch("companies", id)
		touched[id] = true
	}
	before := len(e.recv.Messages())
	seen, otherScheduled := e.ids(), other.count("scheduled")
	e.runSchedule()

	op := e.waitOp("scheduled", time.Minute, func(op operationJSON) bool { return !seen[op.ID] && ended(op) })
	if op.Status != "failure" || !strings.Contains(op.Error, "credentials") {
		t.Fatalf("salesforce scheduled read %+v, want a failure naming the credentials", op)
	}
	var conn connJSON
	e.l.must(200, "GET", syncProj+"/connections/"+e.connID, nil, &conn)
	if conn.Status != string(runtime.ConnectionBadCredentials) {
		t.Errorf("connection status %q, want bad_credentials", conn.Status)
	}
	rs, err := e.l.srv.Store().GetReadState(context.Background(), e.projectID(), e.instID, "account")
	if err != nil {
		t.Fatal(err)
	}
	if !rs.Paused || !strings.Contains(rs.PauseNote, "credentials") {
		t.Errorf("read state paused=%v note %q, want paused for the credentials", rs.Paused, rs.PauseNote)
	}

	// The other installation's scheduled read delivered its changes.
	if op := other.waitOps("scheduled", otherScheduled+1, time.Minute)[0]; op.Status != "success" {
		t.Fatalf("hubspot scheduled read %+v", op)
	}
	got := map[string]bool{}
	for _, m := range e.recv.Messages()[before:] {
		if m.Read == nil {
			continue
		}
		if m.Read.ObjectName != "companies" {
			t.Errorf("after the revocation, a message of %s (%s read) arrived", m.Read.ObjectName, m.Read.ReadType)
		}
		for _, r := range m.Read.Result {
			got[r.ID] = true
		}
	}
	if len(got) != len(touched) {
		t.Errorf("hubspot scheduled read delivered %d records, want the %d changed", len(got), len(touched))
	}
	for id := range got {
		if !touched[id] {
			t.Errorf("hubspot scheduled read delivered %s, which did not change", id)
		}
	}

	// A further schedule queues nothing for the paused installation and
	// runs the other's.
	seen = e.ids()
	e.runSchedule()
	if op := other.waitOps("scheduled", otherScheduled+2, time.Minute)[0]; op.Status != "success" {
		t.Fatalf("second hubspot scheduled read %+v", op)
	}
	if ops := e.operations(); len(ops) != len(seen) {
		t.Errorf("the paused installation has %d operations, want the %d it had: %+v", len(ops), len(seen), ops)
	}

	// Exactly one connection.error and one read.schedule.paused, valid.
	deadline := time.Now().Add(10 * time.Second)
	var notes map[string]int
	for {
		notes = map[string]int{}
		for _, n := range e.notes.Notifications() {
			notes[n]++
		}
		if notes["connection.error"] > 0 && notes["read.schedule.paused"] > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if notes["connection.error"] != 1 || notes["read.schedule.paused"] != 1 {
		t.Errorf("notifications %v, want one connection.error and one read.schedule.paused", notes)
	}
	e.checkMessagesSample(20)
}

// TestDestinationDownThenBack is acceptance 5a: with the records
// destination down, the backfill still succeeds (its pages are committed
// to the outbox) and the messages wait; once it is back every record
// arrives, none lost.
func TestDestinationDownThenBack(t *testing.T) {
	t.Parallel()
	const n = 3000
	spec := salesforceSpec(n, "fullHistory: true")
	spec.recvDown = http.StatusServiceUnavailable
	// The back-off of these tests is fast, so the rule that disables a
	// failing destination would fire within a second: it is off here
	// (TestDestinationDisabledAfterFailures is about it).
	spec.delivery = func(c *delivery.Config) { c.MaxFailures, c.Window = -1, -1 }
	e := startSync(t, spec)

	op := e.waitOp("backfill", time.Minute, ended)
	if op.Status != "success" {
		t.Fatalf("backfill %+v", op)
	}
	if e.outbox() == 0 {
		t.Fatal("the backfill succeeded but the outbox is empty while the destination is down")
	}
	// Attempts were made and refused, and the messages are still there.
	deadline := time.Now().Add(10 * time.Second)
	for e.l.srv.Delivery().Stats().Failed < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("delivery made %d attempts at the down destination", e.l.srv.Delivery().Stats().Failed)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if st := e.recv.Stats(); st.Messages != 0 {
		t.Fatalf("the down receiver accepted %d messages", st.Messages)
	}
	waiting := e.outbox()
	if waiting == 0 {
		t.Fatal("messages left the outbox while the destination was down")
	}
	// The notification destination is another receiver, up: the backfill's
	// notification did not wait.
	deadline = time.Now().Add(10 * time.Second)
	for len(e.notes.Notifications()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("read.backfill.done did not arrive while the records destination was down")
		}
		time.Sleep(25 * time.Millisecond)
	}

	e.recv.SetDown(0)
	e.waitOps("backfill", 1, time.Minute)
	st := e.recv.Stats()
	if st.Distinct != n || st.Records != n {
		t.Fatalf("receiver got %d records, %d distinct; want %d exactly once (dups %v)", st.Records, st.Distinct, n, first(e.recv.Duplicates(), 5))
	}
	if st.Messages != waiting {
		t.Errorf("%d messages arrived; %d were waiting", st.Messages, waiting)
	}
	var dest struct{ Disabled bool }
	e.l.must(200, "GET", syncProj+"/destinations/crmWebhook", nil, &dest)
	if dest.Disabled {
		t.Error("the destination was disabled")
	}
	e.checkMessagesSample(20)
}

// TestDestinationDisabledAfterFailures is acceptance 5b: a destination that
// keeps failing is disabled after MaxFailures, one
// destination.webhook.disabled notification goes to the notification
// destination, the messages stay queued, and re-enabling it (with the
// receiver back) delivers every record.
func TestDestinationDisabledAfterFailures(t *testing.T) {
	t.Parallel()
	const n = 2000
	spec := salesforceSpec(n, "fullHistory: true")
	spec.recvDown = http.StatusServiceUnavailable
	spec.delivery = func(c *delivery.Config) { c.MaxFailures = 5 }
	e := startSync(t, spec)

	type destJSON struct {
		ID             string `json:"id"`
		Disabled       bool   `json:"disabled"`
		DisabledReason string `json:"disabledReason"`
	}
	dest := func() destJSON {
		var d destJSON
		e.l.must(200, "GET", syncProj+"/destinations/crmWebhook", nil, &d)
		return d
	}
	deadline := time.Now().Add(30 * time.Second)
	for !dest().Disabled {
		if time.Now().After(deadline) {
			t.Fatalf("the destination is not disabled after %d failed attempts", e.l.srv.Delivery().Stats().Failed)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if d := dest(); d.DisabledReason == "" {
		t.Errorf("disabled destination %+v has no reason", d)
	}
	if op := e.waitOp("backfill", time.Minute, ended); op.Status != "success" {
		t.Fatalf("backfill %+v", op)
	}
	disabledNotes := func() int {
		k := 0
		for _, n := range e.notes.Notifications() {
			if n == "destination.webhook.disabled" {
				k++
			}
		}
		return k
	}
	deadline = time.Now().Add(10 * time.Second)
	for disabledNotes() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no destination.webhook.disabled notification: %v", e.notes.Notifications())
		}
		time.Sleep(25 * time.Millisecond)
	}
	// While disabled, nothing is sent or dropped, and no second
	// notification follows.
	queued := e.outbox()
	if queued == 0 {
		t.Fatal("the disabled destination's messages are gone")
	}
	failed := e.l.srv.Delivery().Stats().Failed
	consistently(t, 500*time.Millisecond, "the disabled destination's queue", func() bool {
		return e.outbox() == queued && dest().Disabled && disabledNotes() == 1 && e.l.srv.Delivery().Stats().Failed == failed
	})
	if st := e.recv.Stats(); st.Messages != 0 {
		t.Fatalf("the down receiver accepted %d messages", st.Messages)
	}

	e.recv.SetDown(0)
	id := dest().ID
	e.l.must(200, "PATCH", syncProj+"/destinations/"+id, map[string]any{"updateMask": []string{"enabled"},
		"destination": map[string]any{"enabled": true}}, nil)
	e.waitOps("backfill", 1, time.Minute)
	st := e.recv.Stats()
	if st.Distinct != n || st.Records != n {
		t.Fatalf("receiver got %d records, %d distinct; want %d exactly once (dups %v)", st.Records, st.Distinct, n, first(e.recv.Duplicates(), 5))
	}
	if d := dest(); d.Disabled {
		t.Errorf("destination %+v still disabled", d)
	}
	if k := disabledNotes(); k != 1 {
		t.Errorf("%d destination.webhook.disabled notifications, want 1", k)
	}
	e.checkMessagesSample(20)
}

// TestRateLimitHubSpotPacing is acceptance 6a: a read spanning several of
// HubSpot's burst windows sees no 429 after the first window, and every
// record arrives.
//
// The fake applies HubSpot's real limit, 100 requests per 10 seconds. The
// engine reads one page at a time, each sent after the previous answer, so
// pacing at 97% of the rate (engine.DefaultRateShare) keeps any window at
// about 98 requests: below 100 however late the answers come.
func TestRateLimitHubSpotPacing(t *testing.T) {
	t.Parallel()
	// HubSpot's real burst limit: 100 requests per 10 seconds.
	const window, limit = 10 * time.Second, 100
	// Pages of 10 make 205 list requests of 2,050 records: about 23 s at
	// 9 a second, more than two windows. Small pages keep each request
	// cheap, so the engine, even on a busy machine, is held back by the
	// pacer rather than by its own work.
	const n, pageSize = 2050, 10
	opts := fakeOptions(n)
	opts.Limits = fakekit.Limits{Window: limit, WindowPeriod: window, Daily: -1, SearchPerSecond: -1, Concurrency: -1}
	// Searches count in the window too (the fake's stricter reading of
	// HubSpot's limits): every request of the read is then the window's,
	// and the engine's pacing alone must keep them under it. With
	// searches outside it, the read would go searching beside its lists
	// and end within two windows.
	spec := hubspotSpec(hsfake.Options{Options: opts, SearchInBurstWindow: true})
	tp := &tap{next: spec.fake, data: hubspotData, page: hubspotPage}
	spec.fake = tappedFake{syncFake: spec.fake, tap: tp}
	spec.engine = func(c *engine.Config) { c.PageSize = pageSize }
	e := startSync(t, spec)
	op := e.waitOps("backfill", 1, time.Minute)[0]
	if op.Status != "success" {
		t.Fatalf("backfill %+v", op)
	}
	if st := e.recv.Stats(); st.Distinct != n || st.Records != n {
		t.Fatalf("receiver got %d records, %d distinct; want %d exactly once", st.Records, st.Distinct, n)
	}
	hits, _, _ := tp.snapshot()
	if len(hits) < n/pageSize {
		t.Fatalf("%d data requests, want at least %d", len(hits), n/pageSize)
	}
	start, end := hits[0].at, hits[len(hits)-1].at
	if span := end.Sub(start); span < 2*window {
		t.Fatalf("the read took %s, not the several windows of %s this test is about", span, window)
	}
	late, early := 0, 0
	// busiest is the most requests the fake saw in any window-long span.
	busiest := 0
	for i, h := range hits {
		j := i
		for j < len(hits) && hits[j].at.Sub(h.at) < window {
			j++
		}
		busiest = max(busiest, j-i)
		if h.status != http.StatusTooManyRequests {
			continue
		}
		if h.at.Sub(start) > window {
			late++
		} else {
			early++
		}
	}
	if late != 0 {
		t.Errorf("%d requests got 429 after the first window (%d in it), of %d over %s", late, early, len(hits), end.Sub(start))
	}
	t.Logf("%d requests over %s; at most %d in %s (limit %d)", len(hits), end.Sub(start).Round(time.Millisecond), busiest, window, limit)
}

// TestRateLimitSalesforceDailyShare is acceptance 6b: a backfill that needs
// more than its share of the daily API allocation stops at the share (the
// operation waits, it does not fail), and what it delivered is whole.
func TestRateLimitSalesforceDailyShare(t *testing.T) {
	t.Parallel()
	// 20,000 records in pages of 200 need 100 requests; the share is 30.
	const n, pageSize, daily, share = 20_000, 200, 60, 0.5
	spec := salesforceSpec(n, "fullHistory: true")
	opts := fakeOptions(n)
	opts.Limits.Daily = daily
	sf := sffake.New(sffake.Options{Options: opts, MinBatchSize: pageSize})
	spec.fake = sf
	spec.engine = func(c *engine.Config) { c.PageSize, c.DailyShare = pageSize, share }
	e := startSync(t, spec)

	op := e.waitOp("backfill", time.Minute, func(op operationJSON) bool { return op.Queued && op.Error != "" || ended(op) })
	if op.Status != "in_progress" || !op.Queued || !strings.Contains(op.Error, "daily allocation") {
		t.Fatalf("backfill %+v, want it queued with an error naming the daily allocation", op)
	}
	logged := false
	for _, l := range e.opLogs(op.ID) {
		logged = logged || strings.Contains(l.Message.Msg, "daily allocation")
	}
	if !logged {
		t.Errorf("the operation's logs do not name the daily allocation: %+v", e.opLogs(op.ID))
	}
	// The read stops before the request that would pass the share, so
	// the count is the share exactly; a page read retried after a 401
	// (a refresh) would add one, hence the slack of two.
	limit := int(daily * share)
	if used := sf.APIUsage(); used < limit || used > limit+2 {
		t.Errorf("the fake counted %d requests, want %d (%.0f%% of %d), give or take two", used, limit, share*100, daily)
	}

	// Everything committed is delivered, once, and real.
	deadline := time.Now().Add(time.Minute)
	for e.outbox() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d messages", e.outbox())
		}
		time.Sleep(25 * time.Millisecond)
	}
	op = e.waitOp("backfill", time.Second, func(operationJSON) bool { return true })
	st := e.recv.Stats()
	if st.Distinct == 0 || st.Distinct != st.Records || int64(st.Distinct) != op.Metadata.Progress.RecordsProcessed {
		t.Fatalf("receiver got %d records, %d distinct; the operation read %d", st.Records, st.Distinct, op.Metadata.Progress.RecordsProcessed)
	}
	seeded := map[string]bool{}
	for _, id := range sf.IDs("account") {
		seeded[id] = true
	}
	for id := range e.recv.Records("company") {
		if !seeded[id] {
			t.Fatalf("delivered record %s is not in the fake", id)
		}
	}
	if op.Status != "in_progress" || !op.Queued {
		t.Errorf("the backfill is %s (queued %v) after its records were delivered, want still queued: %+v", op.Status, op.Queued, op)
	}
}
