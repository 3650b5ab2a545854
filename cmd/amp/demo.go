package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/examples"
	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers/fakekit"
	hubspotfake "github.com/ampforge/amp/providers/hubspot/fake"
	salesforcefake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime/delivery/receiver"
	"github.com/ampforge/amp/runtime/server"
)

// The demo's fixed names: the provider app's credentials (the fakes accept
// only them), and the customer it connects.
const (
	demoClientID     = "amp-demo-client"
	demoClientSecret = "amp-demo-client-secret"
	demoGroupRef     = "demo-customer"
	// demoPoll is how often the demo polls the API for progress.
	demoPoll = 200 * time.Millisecond
	// demoTouches is how many records of an object one live round changes.
	demoTouches = 3
)

// Destination names: crmWebhook is the one the example manifests deliver
// records to.
const (
	demoRecordsDest = "crmWebhook"
	demoNotesDest   = "notifications"
)

type demoFlags struct {
	data    string
	addr    string
	records int
	once    bool
	timeout time.Duration
	every   time.Duration
}

func newDemoCmd() *cobra.Command {
	var fl demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole runtime locally: fake CRMs, OAuth, backfills and signed webhooks",
		Long: `Demo runs amp end to end on this machine, with no setup and no network: fakes of
Salesforce and HubSpot seeded with --records records per object, a local webhook
receiver that checks every signature, and the runtime (amp serve) on a data folder.

Through the runtime's API it registers the provider apps, creates the destinations
crmWebhook (records) and notifications, deploys examples/salesforce and
examples/hubspot, connects a customer ("demo-customer") to both fakes through the
real OAuth flow (playing the browser on the fakes' consent pages), and installs
both integrations with field mappings. The backfills start by themselves; their
progress is drawn per object.

With --once it waits until every backfilled record has reached the receiver,
prints "N records delivered" on stdout and exits (1 if that takes longer than
--timeout, naming what was still pending). Otherwise it keeps going until
interrupted: every --every it changes a few records in the fakes, asks the
runtime for an incremental read through the Read API, and prints what arrives.

The runtime's log goes to <data>/amp.log. Without --data the data folder is a new
temporary folder, removed at exit.`,
		Example: `  amp demo                  # backfill, then live changes until Ctrl-C
  amp demo --once           # backfill, print "N records delivered", exit
  amp demo --records 50000  # a bigger backfill`,
		Args: maxArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case fl.records < 1:
				return usageErrorf("--records must be at least 1, got %d", fl.records)
			case fl.timeout <= 0:
				return usageErrorf("--timeout must be positive, got %s", fl.timeout)
			case fl.every <= 0:
				return usageErrorf("--every must be positive, got %s", fl.every)
			}
			if fl.data != "" {
				if _, err := os.Stat(filepath.Join(fl.data, server.DBFileName)); err == nil {
					return usageErrorf("--data %s already holds an amp store; the demo needs an empty or new folder", fl.data)
				}
			}
			if err := runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), fl); err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.data, "data", "", "data folder to keep (default: a new temporary folder, removed at exit)")
	f.StringVar(&fl.addr, "addr", "127.0.0.1:0", "address of the runtime's API (port 0 picks a free one)")
	f.IntVar(&fl.records, "records", 2000, "records per object in each fake")
	f.BoolVar(&fl.once, "once", false, "exit once the backfill is delivered, printing \"N records delivered\"")
	f.DurationVar(&fl.timeout, "timeout", 2*time.Minute, "longest wait for the backfill to be delivered")
	f.DurationVar(&fl.every, "every", 3*time.Second, "time between live changes (without --once)")
	return cmd
}

// demoFake is what the demo uses of a provider fake (providertest.Fake).
type demoFake interface {
	http.Handler
	IDs(object string) []string
	Touch(object, id string)
	Delete(object, id string)
	Now() time.Time
	Advance(d time.Duration)
}

// demoProvider is one provider of the demo: its fake, the example deployed
// for it and the customer's installation.
type demoProvider struct {
	name    string // catalog name
	example string // folder in examples.FS
	fake    demoFake
	// config holds the customer's choices per read object: field
	// mappings and optional fields.
	config map[string]map[string]any

	srv            *httptest.Server
	objects        []*manifest.ReadObject // from the manifest
	integrationID  string
	connectionID   string
	installationID string
	round          int // live rounds so far, to rotate over objects
}

func demoProviders(kit fakekit.Options) []*demoProvider {
	return []*demoProvider{
		{name: "salesforce", example: "salesforce",
			fake: salesforcefake.New(salesforcefake.Options{Options: kit}),
			config: map[string]map[string]any{
				// The manifest asks the customer which field holds an
				// account's country.
				"account": {"selectedFieldMappings": map[string]string{"country": "billingcountry"},
					"selectedFields": map[string]bool{"industry": true, "numberofemployees": true}},
				"contact": {"selectedFields": map[string]bool{"title": true, "phone": true}},
			}},
		{name: "hubspot", example: "hubspot",
			fake: hubspotfake.New(hubspotfake.Options{Options: kit}),
			config: map[string]map[string]any{
				// ...and which property tracks a deal's priority.
				"deals":     {"selectedFieldMappings": map[string]string{"priority": "hs_priority"}, "selectedFields": map[string]bool{"dealtype": true}},
				"companies": {"selectedFields": map[string]bool{"city": true, "industry": true}},
			}},
	}
}

// demoSink serves the demo's webhook receivers, one per destination
// (each checks its destination's signing secret), on one local server.
// A receiver is set once its destination exists.
type demoSink struct {
	records, notes atomic.Pointer[receiver.Receiver]
}

func (s *demoSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rc *receiver.Receiver
	switch r.URL.Path {
	case "/records":
		rc = s.records.Load()
	case "/notifications":
		rc = s.notes.Load()
	}
	if rc == nil {
		http.Error(w, "no receiver here yet", http.StatusServiceUnavailable)
		return
	}
	rc.ServeHTTP(w, r)
}

// demo is one run of the demo.
type demo struct {
	fl       demoFlags
	out, log *lockedWriter
	tty      bool
	api      *apiClient
	browser  *http.Client
	srv      *server.Server
	provs    []*demoProvider
	sink     *demoSink
	sinkURL  string

	projectID string
	destIDs   map[string]string // by name
	// live is set once the backfill is delivered: from then on arrivals
	// are printed.
	live atomic.Bool

	mu    sync.Mutex
	tally map[string]int // records delivered by "provider object"
	order []string       // tally keys in arrival order
}

// lockedWriter serialises writes from the receivers' handlers and the
// demo's own loop.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) printf(format string, args ...any) {
	fmt.Fprintf(l, format, args...)
}

// isTerminal reports whether w is a terminal (a character device), for
// redrawing progress bars in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runDemo runs the demo until it is done (--once) or ctx ends. Everything
// it starts is stopped, and waited for, before it returns.
func runDemo(ctx context.Context, stdout, stderr io.Writer, fl demoFlags) (err error) {
	d := &demo{fl: fl, out: &lockedWriter{w: stdout}, log: &lockedWriter{w: stderr}, tty: isTerminal(stderr),
		sink: &demoSink{}, destIDs: map[string]string{}, tally: map[string]int{}}
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	dir := fl.data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "amp-demo-"); err != nil {
			return fmt.Errorf("create a data folder: %w", err)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		d.log.printf("amp demo: data folder %s (temporary, removed at exit; --data keeps one)\n", dir)
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create the data folder: %w", err)
		}
		d.log.printf("amp demo: data folder %s\n", dir)
	}
	logPath := filepath.Join(dir, "amp.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the runtime log: %w", err)
	}
	cleanups = append(cleanups, func() { logFile.Close() })

	// The fakes' clocks start now: their seeded records were modified in
	// the time just before, inside every backfill window.
	kit := fakekit.Options{Records: fl.records, Start: time.Now(), ClientID: demoClientID, ClientSecret: demoClientSecret}
	d.provs = demoProviders(kit)
	endpoints := map[string]string{}
	for _, p := range d.provs {
		p.srv = httptest.NewServer(p.fake)
		cleanups = append(cleanups, p.srv.Close)
		endpoints[p.name] = p.srv.URL
	}
	sink := httptest.NewServer(d.sink)
	cleanups = append(cleanups, sink.Close)
	d.sinkURL = sink.URL

	// One transport for the demo's own calls, so its connections are
	// closed at exit.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cleanups = append(cleanups, tr.CloseIdleConnections)
	d.browser = &http.Client{Transport: tr, Timeout: 30 * time.Second}

	srv, err := server.New(server.Config{Addr: fl.addr, DataDir: dir, DevMode: true, OAuthEndpoints: endpoints,
		Logger: slog.New(slog.NewJSONHandler(logFile, nil))})
	if err != nil {
		return fmt.Errorf("start the runtime: %w", err)
	}
	d.srv = srv
	cleanups = append(cleanups, func() { srv.Close() })
	if _, err := srv.Listen(); err != nil {
		return fmt.Errorf("start the runtime: %w", err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(runCtx) }()
	cleanups = append(cleanups, func() {
		stopRun()
		if err := <-ran; err != nil {
			d.log.printf("amp demo: runtime: %v\n", err)
		}
	})
	key := srv.AdminKey
	if key == "" {
		b, err := os.ReadFile(srv.AdminKeyPath)
		if err != nil {
			return fmt.Errorf("read the admin API key: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	// The public URL names a wildcard listen address as localhost.
	base, err := url.Parse(srv.PublicURL())
	if err != nil {
		return fmt.Errorf("the runtime's URL: %w", err)
	}
	d.api = &apiClient{base: base, apiKey: key, project: server.DefaultProject,
		hc: &http.Client{Transport: tr, Timeout: 30 * time.Second, CheckRedirect: sameOriginRedirect}}

	if err := d.setup(ctx); err != nil {
		return d.interrupted(ctx, err)
	}
	d.printURLs(base.String(), logPath)
	if err := d.waitBackfill(ctx); err != nil {
		return d.interrupted(ctx, err)
	}
	if fl.once {
		d.summary()
		return nil
	}
	d.live.Store(true)
	d.log.printf("\namp demo: backfill delivered (%d records). Changing records every %s and reading them incrementally; Ctrl-C stops.\n",
		d.sink.records.Load().Stats().Records, fl.every)
	d.liveLoop(ctx)
	d.log.printf("amp demo: stopping\n")
	return nil
}

// interrupted handles an error caused by the end of ctx (Ctrl-C): without
// --once that is how the demo is meant to stop, so it is no failure; with
// --once the demo did not get to its summary.
func (d *demo) interrupted(ctx context.Context, err error) error {
	switch {
	case ctx.Err() == nil:
		return err
	case d.fl.once:
		return errors.New("demo interrupted before the backfill was delivered")
	}
	d.log.printf("amp demo: stopping\n")
	return nil
}

// setup does, through the API, what a builder and a customer would: the
// provider apps, the destinations, the deployments, the OAuth connections
// and the installations.
func (d *demo) setup(ctx context.Context) error {
	var proj struct {
		ID string `json:"id"`
	}
	if err := d.api.do(ctx, "GET", d.api.projectPath(), nil, nil, &proj); err != nil {
		return fmt.Errorf("read the project: %w", err)
	}
	d.projectID = proj.ID
	for _, p := range d.provs {
		body := map[string]any{"provider": p.name, "clientId": demoClientID, "clientSecret": demoClientSecret}
		if err := d.api.do(ctx, "POST", d.api.projectPath("provider-apps"), nil, body, nil); err != nil {
			return fmt.Errorf("register the %s provider app: %w", p.name, err)
		}
	}
	for _, dest := range []struct {
		name, path string
		notes      bool
		rc         *atomic.Pointer[receiver.Receiver]
	}{
		{demoRecordsDest, "/records", false, &d.sink.records},
		{demoNotesDest, "/notifications", true, &d.sink.notes},
	} {
		rc, err := d.destination(ctx, dest.name, d.sinkURL+dest.path, dest.notes)
		if err != nil {
			return err
		}
		dest.rc.Store(rc)
	}
	d.log.printf("amp demo: destinations %s and %s deliver to a local receiver at %s\n", demoRecordsDest, demoNotesDest, d.sinkURL)
	for _, p := range d.provs {
		if err := d.deploy(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range d.provs {
		if err := d.connect(ctx, p); err != nil {
			return err
		}
		if err := d.install(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// destination creates a webhook destination and returns a receiver that
// checks its signing secret.
func (d *demo) destination(ctx context.Context, name, u string, notes bool) (*receiver.Receiver, error) {
	body := map[string]any{"name": name, "type": "webhook", "metadata": map[string]any{"url": u}}
	if notes {
		body["receivesNotifications"] = true
	}
	// The signing secret is shown on creation or, with includeSecrets,
	// on a read.
	type answer struct {
		ID      string `json:"id"`
		Secrets struct {
			WebhookSigningKey string `json:"webhookSigningKey"`
		} `json:"secrets"`
	}
	var created, got answer
	if err := d.api.do(ctx, "POST", d.api.projectPath("destinations"), nil, body, &created); err != nil {
		return nil, fmt.Errorf("create destination %s: %w", name, err)
	}
	got = created
	if got.Secrets.WebhookSigningKey == "" {
		q := url.Values{"includeSecrets": {"true"}}
		if err := d.api.do(ctx, "GET", d.api.projectPath("destinations", created.ID), q, nil, &got); err != nil {
			return nil, fmt.Errorf("read the signing secret of destination %s: %w", name, err)
		}
	}
	rc, err := receiver.New(got.Secrets.WebhookSigningKey)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", name, err)
	}
	rc.OnMessage = d.arrived
	d.destIDs[name] = created.ID
	return rc, nil
}

// deploy deploys the provider's example manifest, embedded in the binary.
func (d *demo) deploy(ctx context.Context, p *demoProvider) error {
	name := p.example + "/amp.yaml"
	src, err := fs.ReadFile(examples.FS, name)
	if err != nil {
		return fmt.Errorf("read the example %s: %w", name, err)
	}
	f, diags := manifest.Parse("examples/"+name, src)
	if f == nil || f.Manifest == nil || diags.HasErrors() {
		return fmt.Errorf("the example %s does not parse: %s", name, manifest.Summary(diags))
	}
	var ints []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Provider string `json:"provider"`
	}
	if err := d.api.do(ctx, "PUT", d.api.projectPath()+"/integrations:batch", nil, map[string]string{"sourceYaml": string(src)}, &ints); err != nil {
		return fmt.Errorf("deploy examples/%s: %w", name, err)
	}
	for _, mi := range f.Manifest.Integrations {
		if mi == nil || mi.Provider != p.name || mi.Read == nil {
			continue
		}
		for _, in := range ints {
			if in.Name == mi.Name {
				p.integrationID = in.ID
			}
		}
		for _, o := range mi.Read.Objects {
			if o != nil {
				p.objects = append(p.objects, o)
			}
		}
		break
	}
	if p.integrationID == "" || len(p.objects) == 0 {
		return fmt.Errorf("examples/%s deployed no %s integration that reads objects", name, p.name)
	}
	d.log.printf("amp demo: deployed examples/%s\n", name)
	return nil
}

// connectionInPage finds the connection ID in the OAuth callback page.
var connectionInPage = regexp.MustCompile(`"connection":"([0-9a-f-]{36})"`)

// connect runs the OAuth connect flow for the demo customer: the builder's
// page asks for the authorize URL, and the customer's browser approves on
// the fake's consent page and lands on the runtime's callback.
func (d *demo) connect(ctx context.Context, p *demoProvider) error {
	body := map[string]any{"projectIdOrName": server.DefaultProject, "provider": p.name, "groupRef": demoGroupRef,
		"groupName": "Demo Customer", "consumerRef": "demo-admin", "consumerName": "Demo Admin"}
	authorize, err := d.postText(ctx, "/v1/oauth-connect", body)
	if err != nil {
		return fmt.Errorf("start the %s OAuth flow: %w", p.name, err)
	}
	_, page, err := fakekit.Approve(ctx, d.browser, authorize)
	if err != nil {
		return fmt.Errorf("approve %s access on the fake's consent page: %w", p.name, err)
	}
	m := connectionInPage.FindStringSubmatch(page)
	if m == nil {
		return fmt.Errorf("the OAuth callback page names no %s connection: %s", p.name, snippet([]byte(page)))
	}
	p.connectionID = m[1]
	d.log.printf("amp demo: %s connected %s through OAuth (connection %s)\n", demoGroupRef, p.name, p.connectionID)
	return nil
}

// postText posts body as JSON with the admin key and returns the text
// answer: oauth-connect answers the authorize URL as text/plain, which
// apiClient.do (JSON only) does not read.
func (d *demo) postText(ctx context.Context, path string, body any) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.api.base.String()+path, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Api-Key", d.api.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.api.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("POST %s: read the answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, snippet(data))
	}
	return strings.TrimSpace(string(data)), nil
}

// install installs the provider's integration for the demo customer with
// the customer's mappings; the scheduler queues the backfills.
func (d *demo) install(ctx context.Context, p *demoProvider) error {
	objects := map[string]any{}
	for _, o := range p.objects {
		cfg := map[string]any{"objectName": o.ObjectName}
		maps.Copy(cfg, p.config[o.ObjectName])
		objects[o.ObjectName] = cfg
	}
	body := map[string]any{"groupRef": demoGroupRef, "connectionId": p.connectionID,
		"config": map[string]any{"content": map[string]any{"provider": p.name, "read": map[string]any{"objects": objects}}}}
	var in struct {
		ID string `json:"id"`
	}
	if err := d.api.do(ctx, "POST", d.api.projectPath("integrations", p.integrationID, "installations"), nil, body, &in); err != nil {
		return fmt.Errorf("install the %s integration: %w", p.name, err)
	}
	p.installationID = in.ID
	names := make([]string, len(p.objects))
	for i, o := range p.objects {
		names[i] = o.ObjectName
	}
	d.log.printf("amp demo: installed %s for %s (reads %s)\n", p.name, demoGroupRef, strings.Join(names, ", "))
	return nil
}

// printURLs shows where to look while the demo runs.
func (d *demo) printURLs(base, logPath string) {
	w := d.log
	w.printf("\nThe runtime's API is at %s (admin key in %s); try:\n", base, d.srv.AdminKeyPath)
	w.printf("  export AMP_API_KEY=$(cat %s)\n", d.srv.AdminKeyPath)
	for _, p := range d.provs {
		inst := base + d.api.projectPath("integrations", p.integrationID, "installations", p.installationID)
		w.printf("  curl -H \"X-Api-Key: $AMP_API_KEY\" %s/operations\n", inst)
		w.printf("  curl -H \"X-Api-Key: $AMP_API_KEY\" %s/objects/%s/backfill-progress\n", inst, p.objects[0].ObjectName)
	}
	w.printf("The runtime logs to %s.\n\n", logPath)
}

// demoObjectKey names an object in the demo's output.
func demoObjectKey(provider, object string) string { return provider + " " + object }

// arrived is the receivers' OnMessage: it counts records per object and,
// once the backfill is delivered, prints each message.
func (d *demo) arrived(m *receiver.Message) {
	if m.NotificationType != "" {
		if d.live.Load() {
			d.out.printf("notification %s\n", m.NotificationType)
		}
		return
	}
	if m.Read == nil {
		return
	}
	r := m.Read
	object := r.RawObjectName
	if object == "" {
		object = r.ObjectName
	}
	key := demoObjectKey(r.Provider, object)
	tombstones := 0
	for _, e := range r.Result {
		if e.Deleted {
			tombstones++
		}
	}
	d.mu.Lock()
	if _, ok := d.tally[key]; !ok {
		d.order = append(d.order, key)
	}
	d.tally[key] += len(r.Result)
	d.mu.Unlock()
	if d.live.Load() {
		d.out.printf("received %s (%s read): %d records, %d deleted\n", key, r.ReadType, len(r.Result), tombstones)
	}
}

// backfillState is one object's latest backfill as the API reports it.
type backfillState struct {
	provider, object string
	found            bool // the backfill operation exists
	processed        int64
	total            int64 // -1 when unknown
	status           string
	operationID      string
	shown            int // progress already printed (tenths, non-terminal)
}

func (b *backfillState) done() bool { return b.status == "success" || b.status == "failure" }

// waitBackfill shows the backfills' progress until every one succeeded and
// the outbox is empty (every record acknowledged by the receiver), bounded
// by --timeout.
func (d *demo) waitBackfill(ctx context.Context) error {
	var states []*backfillState
	for _, p := range d.provs {
		for _, o := range p.objects {
			states = append(states, &backfillState{provider: p.name, object: o.ObjectName, total: -1})
		}
	}
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, d.fl.timeout)
	defer cancel()
	t := time.NewTicker(demoPoll)
	defer t.Stop()
	drawn := false
	for {
		err := d.pollBackfills(ctx, states)
		queued, qerr := d.queued(ctx)
		if err == nil {
			err = qerr
		}
		if err == nil {
			d.drawProgress(states, drawn)
			drawn = true
		}
		if err == nil {
			for _, s := range states {
				if s.status == "failure" {
					return d.backfillFailed(ctx, s)
				}
			}
			if allDone(states) && queued == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if outer.Err() != nil {
				return outer.Err()
			}
			return d.pending(states, err)
		case <-t.C:
		}
	}
}

func allDone(states []*backfillState) bool {
	for _, s := range states {
		if s.status != "success" {
			return false
		}
	}
	return true
}

// pollBackfills reads each object's backfill progress.
func (d *demo) pollBackfills(ctx context.Context, states []*backfillState) error {
	for _, s := range states {
		p := d.provider(s.provider)
		var got struct {
			OperationID           string `json:"operationId"`
			RecordsProcessed      int64  `json:"recordsProcessed"`
			RecordsEstimatedTotal *int64 `json:"recordsEstimatedTotal"`
			Status                string `json:"status"`
		}
		path := d.api.projectPath("integrations", p.integrationID, "installations", p.installationID, "objects", s.object, "backfill-progress")
		err := d.api.do(ctx, "GET", path, nil, nil, &got)
		switch {
		case errors.Is(err, errNotFound):
			continue // not queued yet
		case err != nil:
			return fmt.Errorf("read the %s %s backfill progress: %w", s.provider, s.object, err)
		}
		s.found, s.processed, s.status, s.operationID = true, got.RecordsProcessed, got.Status, got.OperationID
		if got.RecordsEstimatedTotal != nil {
			s.total = *got.RecordsEstimatedTotal
		}
	}
	return nil
}

// queued counts the messages waiting in the outbox for the demo's
// destinations.
func (d *demo) queued(ctx context.Context) (int, error) {
	n := 0
	for name, id := range d.destIDs {
		c, err := d.srv.Store().CountMessages(ctx, d.projectID, id)
		if err != nil {
			return 0, fmt.Errorf("count the messages queued for %s: %w", name, err)
		}
		n += c
	}
	return n, nil
}

func (d *demo) provider(name string) *demoProvider {
	for _, p := range d.provs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// barWidth is the width of a progress bar, in cells.
const barWidth = 30

// drawProgress shows each backfill: bars redrawn in place on a terminal,
// else a line each time an object passes another tenth.
func (d *demo) drawProgress(states []*backfillState, redraw bool) {
	if d.tty {
		var b strings.Builder
		if redraw {
			fmt.Fprintf(&b, "\x1b[%dA", len(states))
		}
		for _, s := range states {
			fmt.Fprintf(&b, "\r\x1b[K%-22s %s\n", s.provider+" "+s.object, progressText(s))
		}
		d.log.printf("%s", b.String())
		return
	}
	for _, s := range states {
		if !s.found {
			continue
		}
		tenth := 0
		switch {
		case s.status == "success":
			tenth = 10
		case s.total > 0:
			tenth = int(min(s.processed*10/s.total, 9))
		}
		if tenth > s.shown || (tenth == 10 && s.shown < 10) {
			s.shown = tenth
			d.log.printf("%s %s: %s\n", s.provider, s.object, progressText(s))
		}
	}
}

// progressText is a bar and the counts of one backfill.
func progressText(s *backfillState) string {
	switch {
	case !s.found:
		return "waiting for the scheduler"
	case s.status == "success":
		return fmt.Sprintf("[%s] %d records, done", strings.Repeat("#", barWidth), s.processed)
	case s.total <= 0:
		return fmt.Sprintf("%d records (%s)", s.processed, strings.ReplaceAll(s.status, "_", " "))
	}
	filled := int(min(s.processed*barWidth/s.total, barWidth))
	return fmt.Sprintf("[%s%s] %d/%d records (%d%%)", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
		s.processed, s.total, s.processed*100/s.total)
}

// backfillFailed is the error for a failed backfill, with the operation's
// error as the API reports it.
func (d *demo) backfillFailed(ctx context.Context, s *backfillState) error {
	var op struct {
		Error string `json:"error"`
	}
	msg := "no error reported"
	if err := d.api.do(ctx, "GET", d.api.projectPath("operations", s.operationID), nil, nil, &op); err == nil && op.Error != "" {
		msg = op.Error
	}
	return fmt.Errorf("the %s %s backfill (operation %s) failed: %s", s.provider, s.object, s.operationID, msg)
}

// pending is the error when --timeout passed: what was still going on, as
// the API and the outbox report it.
func (d *demo) pending(states []*backfillState, last error) error {
	// A short, fresh deadline: the demo's own has passed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.pollBackfills(ctx, states); err != nil {
		last = err
	}
	var lines []string
	for _, s := range states {
		switch {
		case s.status == "success":
			continue
		case !s.found:
			lines = append(lines, fmt.Sprintf("%s %s: no backfill operation queued", s.provider, s.object))
			continue
		}
		var op struct {
			Status   string `json:"status"`
			Queued   bool   `json:"queued"`
			Error    string `json:"error"`
			Metadata struct {
				Retry *struct {
					Attempts int `json:"attempts"`
				} `json:"retry"`
			} `json:"metadata"`
		}
		line := fmt.Sprintf("%s %s: operation %s %s, %s", s.provider, s.object, s.operationID, s.status, progressText(s))
		if err := d.api.do(ctx, "GET", d.api.projectPath("operations", s.operationID), nil, nil, &op); err == nil {
			if op.Queued {
				line += ", queued"
			}
			if op.Metadata.Retry != nil {
				line += fmt.Sprintf(", %d failed attempts", op.Metadata.Retry.Attempts)
			}
			if op.Error != "" {
				line += ", last error: " + op.Error
			}
		}
		lines = append(lines, line)
	}
	names := make([]string, 0, len(d.destIDs))
	for name := range d.destIDs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if n, err := d.srv.Store().CountMessages(ctx, d.projectID, d.destIDs[name]); err == nil && n > 0 {
			lines = append(lines, fmt.Sprintf("%d messages not yet delivered to %s", n, name))
		}
	}
	if last != nil {
		lines = append(lines, "last error: "+last.Error())
	}
	if len(lines) == 0 {
		lines = append(lines, "nothing reported pending; the last check came too late")
	}
	return fmt.Errorf("the backfill was not delivered within --timeout %s; still pending:\n  %s", d.fl.timeout, strings.Join(lines, "\n  "))
}

// summary prints the per-object breakdown on stderr and the total on
// stdout.
func (d *demo) summary() {
	d.mu.Lock()
	keys := slices.Clone(d.order)
	tally := make(map[string]int, len(d.tally))
	for k, v := range d.tally {
		tally[k] = v
	}
	d.mu.Unlock()
	slices.Sort(keys)
	for _, k := range keys {
		d.log.printf("  %-22s %d records\n", k, tally[k])
	}
	notes := map[string]int{}
	for _, n := range d.sink.notes.Load().Notifications() {
		notes[n]++
	}
	for _, n := range slices.Sorted(maps.Keys(notes)) {
		d.log.printf("  notification %s: %d\n", n, notes[n])
	}
	st := d.sink.records.Load().Stats()
	if st.Rejected > 0 || st.Repeats > 0 {
		d.log.printf("  (%d messages with a bad signature refused, %d repeats dropped)\n", st.Rejected, st.Repeats)
	}
	d.out.printf("%d records delivered\n", st.Records)
}

// liveLoop changes records in the fakes every --every and triggers an
// incremental read of them, until ctx ends.
func (d *demo) liveLoop(ctx context.Context) {
	t := time.NewTicker(d.fl.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range d.provs {
			if err := d.change(ctx, p); err != nil {
				if ctx.Err() != nil {
					return
				}
				d.log.printf("amp demo: %v\n", err)
			}
		}
	}
}

// change edits a few records of one of the provider's objects (and deletes
// one where the manifest delivers tombstones), then asks for a read of
// what changed since just before.
func (d *demo) change(ctx context.Context, p *demoProvider) error {
	o := p.objects[p.round%len(p.objects)]
	p.round++
	// Bring the fake's clock up to now (it only moves on writes), a
	// second behind so the changes are not ahead of the runtime's clock.
	if lag := time.Until(p.fake.Now()) + time.Second; lag < 0 {
		p.fake.Advance(-lag)
	}
	since := p.fake.Now()
	ids := p.fake.IDs(o.ObjectName)
	if len(ids) == 0 {
		return nil
	}
	picked := map[int]bool{}
	for len(picked) < min(demoTouches, len(ids)) {
		picked[rand.IntN(len(ids))] = true
	}
	for i := range picked {
		p.fake.Touch(o.ObjectName, ids[i])
	}
	touched, deleted := len(picked), 0
	if o.DeletesMode() == manifest.DeletesTombstone && p.round%2 == 0 && len(ids) > len(picked) {
		i := rand.IntN(len(ids))
		for picked[i] {
			i = rand.IntN(len(ids))
		}
		p.fake.Delete(o.ObjectName, ids[i])
		deleted++
	}
	body := map[string]any{"groupRef": demoGroupRef, "mode": "async", "sinceTimestamp": since.UTC().Format(time.RFC3339Nano)}
	var op struct {
		OperationID string `json:"operationId"`
	}
	if err := d.api.do(ctx, "POST", d.api.projectPath("integrations", p.integrationID, "objects", o.ObjectName), nil, body, &op); err != nil {
		return fmt.Errorf("trigger a read of %s %s: %w", p.name, o.ObjectName, err)
	}
	d.out.printf("changed %d %s %s records (%d deleted); read queued (operation %s)\n", touched+deleted, p.name, o.ObjectName, deleted, op.OperationID)
	return nil
}
