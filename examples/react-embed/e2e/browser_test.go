//go:build browser

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	_ "github.com/ampforge/amp/providers/all" // the provider catalog
	"github.com/ampforge/amp/providers/fakekit"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime/delivery/receiver"
	"github.com/ampforge/amp/runtime/server"
)

// The provider app's credentials: the fake accepts only them.
const (
	clientID     = "amp-browser-client"
	clientSecret = "amp-browser-client-secret"
	// groupRef is the customer the example page installs for.
	groupRef = "acme"
	// seeded is how many records of each object the fake holds.
	seeded = 12
)

// exampleDir is the react-embed example, relative to this package.
const exampleDir = ".."

// outRoot holds what a run leaves behind, one folder per test: the example
// built for that test's server, a screenshot and the page's HTML after each
// step, the runtime's and the browser's logs. It lives under the
// repository's build output (git-ignored) rather than t.TempDir, so it
// survives a failure; each run replaces it. AMP_BROWSER_OUT moves it.
var outRoot = sync.OnceValues(func() (string, error) {
	dir := os.Getenv("AMP_BROWSER_OUT")
	if dir == "" {
		dir = filepath.Join(exampleDir, "..", "..", "bin", "test-browser")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return dir, os.RemoveAll(dir)
})

// outDir returns this test's folder under outRoot, with its shots folder.
func outDir(t *testing.T) string {
	t.Helper()
	root, err := outRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, t.Name())
	if err := os.MkdirAll(filepath.Join(dir, "shots"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots, page HTML and logs: %s", dir)
	return dir
}

// chromium is the browser binary: AMP_CHROMIUM or Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AMP_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium, or set AMP_CHROMIUM): %v", path, err)
	}
	return path
}

// runtimeEnv is the runtime under test with the fake Salesforce and a
// webhook receiver.
type runtimeEnv struct {
	t    *testing.T
	srv  *server.Server
	fake *sffake.Server
	base string // the runtime's public URL, a bare origin
	key  string
	rc   atomic.Pointer[receiver.Receiver]
	sink string // URL of the receiver
}

// startRuntime starts the fake Salesforce, the receiver and the runtime
// (development mode, OAuth moved to the fake), all on loopback; cleanup
// stops them.
func startRuntime(t *testing.T, logTo io.Writer) *runtimeEnv {
	t.Helper()
	e := &runtimeEnv{t: t}
	fake := sffake.New(sffake.Options{Options: fakekit.Options{Records: seeded, Start: time.Now(),
		ClientID: clientID, ClientSecret: clientSecret}})
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := e.rc.Load()
		if rc == nil {
			http.Error(w, "no receiver yet", http.StatusServiceUnavailable)
			return
		}
		rc.ServeHTTP(w, r)
	}))
	t.Cleanup(sink.Close)
	e.sink = sink.URL

	dir := t.TempDir()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir, DevMode: true,
		OAuthEndpoints: map[string]string{"salesforce": fakeSrv.URL},
		Logger:         slog.New(slog.NewJSONHandler(logTo, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runtime: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("close the runtime: %v", err)
		}
	})
	e.srv, e.base, e.fake = srv, srv.PublicURL(), fake
	key, err := os.ReadFile(srv.AdminKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	e.key = strings.TrimSpace(string(key))
	return e
}

// call sends a request to the runtime's API with the admin key; a status
// other than want fails the test. out, when not nil, receives the JSON
// answer; the answer is returned as it came.
func (e *runtimeEnv) call(want int, method, path string, body, out any) []byte {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// setUp does the builder's part through the API: the provider app, the
// destination (delivering to the receiver) and the Salesforce example.
// It returns the deployed integration's ID.
func (e *runtimeEnv) setUp() string {
	e.t.Helper()
	const proj = "/v1/projects/" + server.DefaultProject
	e.call(http.StatusOK, "POST", proj+"/provider-apps",
		map[string]any{"provider": "salesforce", "clientId": clientID, "clientSecret": clientSecret}, nil)
	var dest struct {
		ID      string
		Secrets struct{ WebhookSigningKey string }
	}
	e.call(http.StatusCreated, "POST", proj+"/destinations",
		map[string]any{"name": "crmWebhook", "type": "webhook", "metadata": map[string]any{"url": e.sink + "/records"}}, &dest)
	if dest.Secrets.WebhookSigningKey == "" {
		e.call(http.StatusOK, "GET", proj+"/destinations/"+dest.ID+"?includeSecrets=true", nil, &dest)
	}
	rc, err := receiver.New(dest.Secrets.WebhookSigningKey)
	if err != nil {
		e.t.Fatalf("the destination's signing secret: %v", err)
	}
	e.rc.Store(rc)
	src, err := os.ReadFile(filepath.Join(exampleDir, "..", "salesforce", "amp.yaml"))
	if err != nil {
		e.t.Fatal(err)
	}
	var ints []struct{ ID, Name string }
	e.call(http.StatusOK, "PUT", proj+"/integrations:batch", map[string]string{"sourceYaml": string(src)}, &ints)
	for _, in := range ints {
		if in.Name == "salesforceSync" {
			return in.ID
		}
	}
	e.t.Fatalf("the deployment answered no salesforceSync integration: %+v", ints)
	return ""
}

// connection is what the tests read of a connection.
type connection struct {
	ID     string
	Status string
}

// connect makes the customer's Salesforce connection without a browser, the
// way the component does: oauth-connect for the authorize URL, then the
// fake's consent page approved and the runtime's callback followed.
func (e *runtimeEnv) connect(group string) connection {
	e.t.Helper()
	authorize := e.call(http.StatusOK, "POST", "/v1/oauth-connect", map[string]any{
		"projectIdOrName": server.DefaultProject, "provider": "salesforce", "groupRef": group, "groupName": "Acme",
		"consumerRef": "user-1", "consumerName": "Ada", "providerMetadata": map[string]any{}, "enableCSRFProtection": false}, nil)
	if _, page, err := fakekit.Approve(e.t.Context(), nil, string(authorize)); err != nil {
		e.t.Fatalf("approve %s: %v", authorize, err)
	} else if !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") {
		e.t.Fatalf("the OAuth callback did not succeed: %s", page)
	}
	return e.connection(group)
}

// connection returns group's Salesforce connection; there must be one.
func (e *runtimeEnv) connection(group string) connection {
	e.t.Helper()
	var conns []connection
	e.call(http.StatusOK, "GET", "/v1/projects/"+server.DefaultProject+"/connections?provider=salesforce&groupRef="+url.QueryEscape(group), nil, &conns)
	if len(conns) != 1 {
		e.t.Fatalf("%d Salesforce connections for %s, want 1: %+v", len(conns), group, conns)
	}
	return conns[0]
}

// example is a runtime set up as the builder would, with the example page
// built for it and served.
type example struct {
	*runtimeEnv
	out           string // this test's output folder
	app           string // the page's URL
	integrationID string
}

// startExample starts the runtime, does the builder's part (setUp), builds
// the example for it and serves the page; cleanup stops them.
func startExample(t *testing.T) *example {
	t.Helper()
	out := outDir(t)
	logFile, err := os.Create(filepath.Join(out, "amp.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	e := startRuntime(t, logFile)
	integrationID := e.setUp()
	appDir := filepath.Join(out, "app")
	buildExample(t, e, appDir)
	app := httptest.NewServer(http.FileServer(http.Dir(appDir)))
	t.Cleanup(app.Close)
	t.Logf("runtime %s, example page %s", e.base, app.URL)
	return &example{runtimeEnv: e, out: out, app: app.URL, integrationID: integrationID}
}

// buildExample builds the example for this runtime into dir, the way its
// README says: AMP_SERVER and AMP_API_KEY at build time.
func buildExample(t *testing.T, e *runtimeEnv, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(exampleDir, "node_modules")); err != nil {
		t.Fatalf("the example's dependencies are not installed (npm ci in examples/react-embed, or make test-browser): %v", err)
	}
	cmd := exec.CommandContext(t.Context(), "npm", "run", "build", "--", "--outDir", dir, "--emptyOutDir")
	cmd.Dir = exampleDir
	cmd.Env = append(os.Environ(), "AMP_SERVER="+e.base, "AMP_API_KEY="+e.key)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	t.Logf("built the example in %s", time.Since(start).Round(time.Millisecond))
}

// browser is the page under test, with the step counter for screenshots
// and what the page did (log).
type browser struct {
	t     *testing.T
	ctx   context.Context // the tab
	shots string
	step  int
	log   *pageLog
}

// startBrowser launches Chromium headless on a fresh profile with the
// flags known to work in a container, and opens a tab.
func startBrowser(t *testing.T, out string) *browser {
	t.Helper()
	logFile, err := os.Create(filepath.Join(out, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(logFile),
	)
	netLog, err := os.Create(filepath.Join(out, "network.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netLog.Close() })
	consoleLog, err := os.Create(filepath.Join(out, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { consoleLog.Close() })
	pl := &pageLog{network: netLog, console: consoleLog,
		methods: map[network.RequestID]string{}, headers: map[network.RequestID]network.Headers{}}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf), chromedp.WithListener(pl.listen))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser; it must not carry a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromium(t), err)
	}
	return &browser{t: t, ctx: ctx, shots: filepath.Join(out, "shots"), log: pl}
}

// exchange is one request of the page and the status it was answered.
type exchange struct {
	id      network.RequestID
	method  string
	url     *url.URL
	status  int64
	headers network.Headers // the request's
}

// pageLog records the page's requests (with their bodies) and answers, and
// what it wrote to its console, to files and for the tests to check: what
// the component sent and logged is the first thing to read when a step
// fails.
type pageLog struct {
	mu        sync.Mutex
	network   io.Writer
	console   io.Writer
	methods   map[network.RequestID]string
	headers   map[network.RequestID]network.Headers
	exchanges []exchange
	lines     []string
}

// listen is the tab's event listener; it runs on chromedp's reader and
// must not block.
func (l *pageLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		var body []byte
		for _, e := range ev.Request.PostDataEntries {
			body = append(body, e.Bytes...)
		}
		fmt.Fprintf(l.network, "%s > %s %s %s\n", ev.RequestID, ev.Request.Method, ev.Request.URL, body)
		l.methods[ev.RequestID] = ev.Request.Method
		l.headers[ev.RequestID] = ev.Request.Headers
	case *network.EventResponseReceived:
		fmt.Fprintf(l.network, "%s < %d %s\n", ev.RequestID, ev.Response.Status, ev.Response.URL)
		u, err := url.Parse(ev.Response.URL)
		if err != nil {
			return
		}
		l.exchanges = append(l.exchanges, exchange{id: ev.RequestID, method: l.methods[ev.RequestID], url: u,
			status: ev.Response.Status, headers: l.headers[ev.RequestID]})
	case *cdpruntime.EventConsoleAPICalled:
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			var s string
			if a.Type == cdpruntime.RemoteObjectTypeString && jsonv2.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, a.Description)
			}
		}
		line := strings.Join(parts, " ")
		fmt.Fprintf(l.console, "%s: %s\n", ev.Type, line)
		l.lines = append(l.lines, line)
	}
}

// reset forgets what the page did so far (the files keep it).
func (l *pageLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exchanges, l.lines = nil, nil
}

// answered returns the page's answered requests with this method whose
// URL matches.
func (b *browser) answered(method string, match func(u *url.URL) bool) []exchange {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	var out []exchange
	for _, x := range b.log.exchanges {
		if x.method == method && match(x.url) {
			out = append(out, x)
		}
	}
	return out
}

// problem is the runtime's problem+json answer, as @amp-labs/react reads it.
type problem struct {
	Detail string
	Causes []string
}

// message is the text the component makes of the problem
// (handleServerError): the causes, else the detail.
func (p problem) message() string {
	if len(p.Causes) > 0 {
		return strings.Join(p.Causes, "\n")
	}
	return p.Detail
}

// problem reads the answer to x as the browser received it.
func (b *browser) problem(x exchange) problem {
	b.t.Helper()
	p, err := b.readProblem(x)
	if err != nil {
		b.failf("%v", err)
	}
	return p
}

// readProblem is problem returning its failure.
func (b *browser) readProblem(x exchange) (problem, error) {
	var p problem
	tctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(tctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: x.id})
	if err != nil {
		return p, fmt.Errorf("read the answer to %s %s: %w", x.method, x.url, err)
	}
	if err := json.Unmarshal(res.Body, &p); err != nil || p.message() == "" {
		return p, fmt.Errorf("the answer to %s %s is not problem+json with a detail: %s (%v)", x.method, x.url, res.Body, err)
	}
	return p, nil
}

// waitConsole waits until the page has written a console line containing
// text.
func (b *browser) waitConsole(what, text string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		b.log.mu.Lock()
		for _, l := range b.log.lines {
			if strings.Contains(l, text) {
				b.log.mu.Unlock()
				return
			}
		}
		b.log.mu.Unlock()
		if time.Now().After(deadline) {
			b.failf("%s: no console line contains %q", what, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// text returns the text the page shows.
func (b *browser) text() string {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Evaluate[string]("document.body.innerText"))
	if err != nil {
		b.failf("read the page's text: %v", err)
	}
	return s
}

// failf saves what the tab shows and fails the test.
func (b *browser) failf(format string, args ...any) {
	b.t.Helper()
	b.snapshot(b.ctx, "failed")
	b.t.Fatalf(format, args...)
}

// stepTimeout bounds each wait for the page.
const stepTimeout = 30 * time.Second

// do runs the actions on ctx (the tab or the popup) within stepTimeout;
// an error fails the test after saving what the tab shows.
func (b *browser) do(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		b.snapshot(ctx, "failed-"+slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// poll waits within stepTimeout until the JavaScript expression is truthy
// on ctx's page and returns its value as a string.
func (b *browser) poll(ctx context.Context, what, expr string) string {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Poll[string](expr, chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		b.snapshot(ctx, "failed-"+slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// clickUntil clicks sel (an XPath, or #id) until
// done (a JS expression) is truthy, at most three times. Lists re-render
// while they filter: a click that lands on an element being replaced is
// lost. Before clicking again it checks done once more, so a slow render is
// not clicked twice (which would untick a checkbox).
func (b *browser) clickUntil(what, sel, done string) {
	b.t.Helper()
	click := chromedp.Click(sel, chromedp.NodeVisible)
	if id, ok := strings.CutPrefix(sel, "#"); ok {
		click = chromedp.Click(chromedp.ID(id), chromedp.NodeVisible)
	}
	for attempt := 1; ; attempt++ {
		b.do(b.ctx, what, click)
		if b.pollFor(b.ctx, done, 4*time.Second) != "" {
			return
		}
		if attempt == 3 {
			b.snapshot(b.ctx, "failed-"+slug(what))
			b.t.Fatalf("%s: still not done after %d clicks", what, attempt)
		}
	}
}

// choose picks option in the combobox of the field whose container has
// the id field: it clears the current choice, types typed to filter the
// list and clicks the option. Each step can be undone by a re-render on a
// slow machine (clearing a choice re-renders the mapping row, which can
// empty the input while keys arrive), so the whole sequence is retried,
// each attempt waiting a few seconds for the option rather than the
// step timeout; a last failure reports what the combobox showed.
func (b *browser) choose(what, field, typed, option string) {
	b.t.Helper()
	sel := "#" + field
	input := sel + ` input[role="combobox"]`
	chosen := fmt.Sprintf(`(() => { const i = document.querySelector(%q); return i && i.value === %q ? 'ok' : null; })()`, input, option)
	shown := fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll(%q)].find(l => l.textContent.trim() === %q);
		return li && li.offsetParent !== null ? 'ok' : null;
	})()`, sel+` ul[role="listbox"] li`, option)
	click := fmt.Sprintf(`//*[@id=%q]//ul[@role="listbox"]/li[normalize-space(.)=%q]`, field, option)
	const attempts = 4
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			b.t.Logf("%s: attempt %d", what, attempt)
		}
		// Blur first: focusing the input empties it (the component's
		// onFocus), which drops whatever an earlier attempt typed.
		b.do(b.ctx, what+": blur", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
		b.do(b.ctx, what+": clear the current choice", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const c = document.querySelector(%q); if (c) c.click(); })()`, sel+` button[aria-label="clear selection"]`)))
		b.do(b.ctx, what+": type", chromedp.Click(chromedp.CSS(input), chromedp.NodeVisible), chromedp.SendKeys(chromedp.CSS(input), typed))
		if b.pollFor(b.ctx, shown, 5*time.Second) == "" {
			continue
		}
		// The list re-renders while it filters: a click that lands on
		// an option being replaced is lost; the next attempt retypes.
		cctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := chromedp.Do(cctx, chromedp.Click(click, chromedp.NodeVisible))
		cancel()
		if err == nil && b.pollFor(b.ctx, chosen, 4*time.Second) != "" {
			return
		}
	}
	sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	state, _ := chromedp.Run(sctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
		const i = document.querySelector(%q);
		const items = [...document.querySelectorAll(%q)].map(l => l.textContent.trim());
		return JSON.stringify({input: i ? i.value : null, expanded: i ? i.getAttribute('aria-expanded') : null, options: items.slice(0, 10), count: items.length});
	})()`, input, sel+` ul[role="listbox"] li`)))
	b.snapshot(b.ctx, "failed-"+slug(what))
	b.t.Fatalf("%s: %q not chosen after %d attempts; the combobox shows %s", what, option, attempts, state)
}

// pollFor is poll without failing: it returns "" when expr is still falsy
// after timeout.
func (b *browser) pollFor(ctx context.Context, expr string, timeout time.Duration) string {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Poll[string](expr, chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		return ""
	}
	return v
}

// snapshot saves a screenshot and the HTML of ctx's page as the next step.
func (b *browser) snapshot(ctx context.Context, name string) {
	b.t.Helper()
	b.step++
	base := filepath.Join(b.shots, fmt.Sprintf("%02d-%s", b.step, name))
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	if html, err := chromedp.Run(tctx, chromedp.Evaluate[string]("document.documentElement.outerHTML")); err != nil {
		b.t.Logf("page HTML %s: %v", name, err)
	} else if err := os.WriteFile(base+".html", []byte(html), 0o644); err != nil {
		b.t.Logf("page HTML %s: %v", name, err)
	}
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return '-'
	}, s)
}

// approveInPopup clicks sel on the page, which must open the provider's
// consent page in a popup, and approves there.
func (b *browser) approveInPopup(what, sel string) {
	b.t.Helper()
	popupID := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.Type == "page" })
	b.do(b.ctx, what, chromedp.Click(sel, chromedp.NodeVisible))
	var id target.ID
	select {
	case id = <-popupID:
	case <-time.After(stepTimeout):
		b.snapshot(b.ctx, "no-popup")
		b.t.Fatalf("%s opened no popup", what)
	}
	popup, cancelPopup := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	b.t.Cleanup(cancelPopup)
	// The first run attaches to the popup, for as long as the context of
	// that run lives: it must not carry a deadline.
	if err := chromedp.Do(popup); err != nil {
		b.t.Fatalf("attach to the popup: %v", err)
	}
	b.do(popup, "open the consent page", front, chromedp.WaitVisible(chromedp.ID("approve")))
	b.snapshot(popup, "consent-page")
	b.do(popup, "approve", chromedp.Click(chromedp.ID("approve"), chromedp.NodeVisible))
}

// front brings the page to the front: headless Chromium paints only the
// active page, and a screenshot or a click waits for a frame.
var front = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
	return err
})

// button is the XPath of a visible button with exactly this text.
func button(text string) string {
	return fmt.Sprintf("//button[normalize-space(.)=%q]", text)
}

// TestInstallThroughReactEmbed is the customer's whole flow in the
// example page: connect Salesforce through the OAuth popup, map the
// required Country field, pick optional fields, install, configure
// Contact and Write. The runtime must then hold exactly those choices, and
// the first backfill must deliver accounts with country mapped.
func TestInstallThroughReactEmbed(t *testing.T) {
	t.Parallel()
	start := time.Now()
	x := startExample(t)
	e, integrationID := x.runtimeEnv, x.integrationID

	b := startBrowser(t, x.out)
	b.do(b.ctx, "open the example page",
		chromedp.Navigate(x.app),
		chromedp.WaitVisible(button("Next")),
	)
	b.snapshot(b.ctx, "before-connect")

	// Next opens the consent page in a popup.
	b.approveInPopup("click Next", button("Next"))

	// The callback page posts the connection to the example page; the
	// component closes the popup and shows the configuration, unless the
	// connection lacks a provider input the runtime advertises (ProviderInfo
	// metadata.input): then it asks the customer for it first.
	b.do(b.ctx, "bring the page to the front", front)
	view := b.poll(b.ctx, "show the configuration", `(() => {
		if ([...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Install')) return 'configure';
		if (document.getElementById('loginHost')) return 'metadata';
		return null;
	})()`)
	if view == "metadata" {
		// An optional input (Salesforce's login host) must not be
		// listed in GET /v1/providers/salesforce metadata.input.
		b.snapshot(b.ctx, "asked-for-login-host")
		t.Fatalf("after the OAuth flow the component asked for the Login host: the runtime lists an input the new connection lacks")
	}
	b.snapshot(b.ctx, "after-connect")

	// Company (account): the manifest asks which field holds the
	// country and suggests Billing Country; choose it again in the
	// combobox, then tick two optional fields.
	b.choose("map Country to Billing Country", "country", "Billing Co", "Billing Country")
	b.clickUntil("tick Account Phone", `#phone`, `document.querySelector('#phone[aria-checked="true"]') && 'ok'`)
	// Industry is on another page of the list: search for it.
	b.do(b.ctx, "search for Industry", chromedp.SendKeys(chromedp.ID("field-search"), "Industry"))
	b.clickUntil("tick Industry", `#industry`, `document.querySelector('#industry[aria-checked="true"]') && 'ok'`)
	b.snapshot(b.ctx, "company-configured")

	b.do(b.ctx, "install", chromedp.Click(button("Install"), chromedp.NodeVisible))
	b.poll(b.ctx, "wait for onInstallSuccess", `document.getElementById('amp-events').textContent.includes('installed ') && 'ok'`)
	b.snapshot(b.ctx, "installed")

	// Contact: its required fields only.
	b.do(b.ctx, "open Contact", chromedp.Click(tab("Contact"), chromedp.NodeVisible))
	b.snapshot(b.ctx, "contact")
	b.do(b.ctx, "save Contact", chromedp.Click(button("Save"), chromedp.NodeVisible))
	b.poll(b.ctx, "wait for the Contact update", `document.querySelectorAll('#amp-events li').length >= 2 && 'ok'`)
	b.snapshot(b.ctx, "contact-saved")

	// Write: allow writing contacts.
	b.do(b.ctx, "open Write", chromedp.Click(tab("Write"), chromedp.NodeVisible))
	b.snapshot(b.ctx, "write")
	b.do(b.ctx, "allow writing contacts", chromedp.Click(`//label[normalize-space(.)="Contact"]`, chromedp.NodeVisible))
	b.do(b.ctx, "save Write", chromedp.Click(button("Save"), chromedp.NodeVisible))
	b.poll(b.ctx, "wait for the Write update", `document.querySelectorAll('#amp-events li').length >= 3 && 'ok'`)
	b.snapshot(b.ctx, "write-saved")
	t.Logf("browser flow done after %s", time.Since(start).Round(time.Millisecond))

	// The runtime holds exactly what the customer chose: the body of the
	// install and of the two updates, merged by their update masks.
	var insts []struct {
		ID     string
		Config struct{ Content any }
	}
	e.call(http.StatusOK, "GET", "/v1/projects/"+server.DefaultProject+"/integrations/"+integrationID+"/installations?groupRef="+groupRef, nil, &insts)
	if len(insts) != 1 {
		t.Fatalf("%d installations for %s, want 1", len(insts), groupRef)
	}
	var want any
	if err := json.Unmarshal([]byte(wantContent), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, insts[0].Config.Content); diff != "" {
		t.Errorf("installation %s config content (-want +got):\n%s", insts[0].ID, diff)
	}

	// The first backfill delivers every account with country mapped from
	// BillingCountry, and the optional fields ticked.
	accounts := waitAccounts(t, e.rc.Load(), seeded, time.Minute)
	for _, a := range accounts {
		country, _ := a.MappedFields["country"].(string)
		if country == "" || country != a.Raw["BillingCountry"] {
			t.Errorf("account %s: mappedFields.country = %v, want BillingCountry %v", a.ID, a.MappedFields["country"], a.Raw["BillingCountry"])
		}
		for _, f := range []string{"phone", "industry", "name"} {
			if _, ok := a.Fields[f]; !ok {
				t.Errorf("account %s: no field %s in %v", a.ID, f, a.Fields)
			}
		}
	}
	t.Logf("%d accounts delivered after %s", len(accounts), time.Since(start).Round(time.Millisecond))
}

// wantContent is the installation's config content after the flow: what
// @amp-labs/react sends for the choices made (its install body and its two
// updates), with nothing added or lost by the runtime.
const wantContent = `{
	"provider": "salesforce",
	"read": {"objects": {
		"account": {"objectName": "account", "selectedFields": {"industry": true, "phone": true},
			"selectedFieldMappings": {"country": "billingcountry"}, "selectedValueMappings": {}, "dynamicMappingsInput": []},
		"contact": {"objectName": "contact", "selectedFields": {},
			"selectedFieldMappings": {}, "selectedValueMappings": {}, "dynamicMappingsInput": []}
	}},
	"write": {"objects": {"contact": {"objectName": "contact"}}}
}`

// waitAccounts waits until the receiver holds n distinct accounts and
// returns them.
func waitAccounts(t *testing.T, rc *receiver.Receiver, n int, limit time.Duration) []receiver.Entry {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		byID := map[string]receiver.Entry{}
		for _, m := range rc.Messages() {
			if m.Read == nil || (m.Read.RawObjectName != "account" && m.Read.ObjectName != "account") {
				continue
			}
			for _, e := range m.Read.Result {
				byID[e.ID] = e
			}
		}
		if len(byID) >= n {
			out := make([]receiver.Entry, 0, len(byID))
			for _, e := range byID {
				out = append(out, e)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accounts delivered within %s (receiver: %+v)", len(byID), n, limit, rc.Stats())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tab is the XPath of the navigation tab with this label.
func tab(label string) string {
	return fmt.Sprintf(`//button[@role="tab"][.//span[normalize-space(.)=%q]]`, label)
}
