package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/api"
	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/introspect"
	"github.com/ampforge/amp/runtime/oauth"
	"github.com/ampforge/amp/runtime/scheduler"
	"github.com/ampforge/amp/runtime/seal"
	"github.com/ampforge/amp/runtime/sqlite"
	"github.com/ampforge/amp/runtime/write"
)

// File names in the data folder.
const (
	DBFileName       = "amp.db"
	AdminKeyFileName = "admin-api-key"
	// DefaultProject is the project created on an empty store.
	DefaultProject = "default"
)

// defaultAddr is where a server listens when Config.Addr is empty.
const defaultAddr = "127.0.0.1:8080"

// sweepInterval is how often Run deletes expired OAuth states.
const sweepInterval = 10 * time.Minute

// OAuthHTTPTimeout bounds each call of the default OAuth HTTP client.
const OAuthHTTPTimeout = 30 * time.Second

// shutdownTimeout bounds the graceful shutdown of Run.
const shutdownTimeout = 15 * time.Second

// Config configures a server.
type Config struct {
	// Addr is the listen address (host:port); ":0" picks a free port.
	Addr string
	// DataDir holds amp.db, the secret-key file (unless SecretKeyEnv is
	// set) and admin-api-key. Created (0700) if missing.
	DataDir string
	// DevMode allows http:// webhook URLs on loopback hosts.
	DevMode bool
	// Logger receives structured logs; nil means JSON to stderr. Logs never
	// hold secrets.
	Logger *slog.Logger
	// SecretKeyEnv is the value of AMP_SECRET_KEY (the caller passes
	// os.Getenv(seal.EnvVar)); empty means the key file in DataDir, created
	// on first start.
	SecretKeyEnv string
	// PublicURL is the server's base URL as browsers and providers reach it
	// (https://amp.example.com): the OAuth callback, the redirect URI to
	// register with provider apps, is PublicURL + oauth.CallbackPath.
	// Empty means http://<Addr> (localhost for an empty or wildcard host;
	// with port 0, New binds the listener to learn the port).
	PublicURL string
	// OAuthEndpoints moves a provider's OAuth endpoints to another base URL,
	// by catalog name (oauth.Config.Endpoints): for the fakes. Empty for
	// real providers.
	OAuthEndpoints map[string]string
	// OAuthHTTPClient calls token endpoints (nil: a client with an
	// OAuthHTTPTimeout timeout, so a provider that does not answer cannot
	// hold a refresh).
	OAuthHTTPClient *http.Client
	// OpenerOrigin is the origin of the builder's application that opens
	// the OAuth popup: the callback page posts its result to
	// window.opener with it as targetOrigin (oauth.Config.OpenerOrigin).
	// Empty means "*", what @amp-labs/react expects (the message carries
	// only a connection ID or an error); set it (https://app.example.com)
	// so no other page that opened the popup receives it.
	OpenerOrigin string
	// CORSOrigins are the origins (scheme://host[:port], or "*") whose
	// pages may call the API, such as the builder's application embedding
	// @amp-labs/react (api.Options.CORSOrigins). Empty allows any origin.
	CORSOrigins []string
	// Extensions add routes next to the management API, behind its
	// authentication (api.Route.Auth). Each is called once by New with the
	// wiring (store, sealer, API, OAuth service). The OAuth routes
	// (oauth-connect, the callback) are always mounted, before these.
	Extensions []Extension
	// Engine, Scheduler and Delivery, when set, adjust the sync
	// components' settings before they are built (tests, `amp demo`); the
	// server fills in the store and the wiring.
	Engine    func(*engine.Config)
	Scheduler func(*scheduler.Config)
	Delivery  func(*delivery.Config)
	// Write adjusts the Write API's settings (retry deadlines, the bulk
	// threshold) before it is built.
	Write func(*write.Config)
}

// Extension builds extra routes from the server's wiring.
type Extension func(Wiring) ([]api.Route, error)

// Wiring is what an Extension may use.
type Wiring struct {
	Store  runtime.Store
	Sealer *seal.Sealer
	// API gives ProjectIDFor, ResolveProject and WriteError, so extra
	// routes authorise and answer errors exactly like the built-in ones.
	API     *api.API
	Logger  *slog.Logger
	DevMode bool
	// OAuth is the server's OAuth service (connect flow, token sources).
	OAuth *oauth.Service
}

// Server is a running amp runtime.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   runtime.Store
	sealer  *seal.Sealer
	handler http.Handler
	api     *api.API
	oauth   *oauth.Service
	engine  *engine.Engine
	sched   *scheduler.Scheduler
	deliver *delivery.Service

	// AdminKey is the admin API key minted on first start, empty otherwise.
	// The caller prints it once; it is also in AdminKeyPath.
	AdminKey string
	// AdminKeyPath is <data>/admin-api-key.
	AdminKeyPath string
	// KeyCreated is true when the sealing key file was created by New.
	KeyCreated bool

	mu       sync.Mutex
	listener net.Listener
}

// New opens the data folder and returns a server ready to Run (or to serve
// in-process through Handler). Close it when done.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data folder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.OAuthHTTPClient == nil {
		cfg.OAuthHTTPClient = &http.Client{Timeout: OAuthHTTPTimeout}
	}
	if err := checkOrigin(cfg.OpenerOrigin); err != nil {
		return nil, fmt.Errorf("opener %w", err)
	}
	for _, o := range cfg.CORSOrigins {
		if err := checkOrigin(o); err != nil || o == "" {
			return nil, fmt.Errorf("CORS %w", cmp.Or(err, errors.New(`origin "": want "*" or scheme://host[:port]`)))
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	key, created, err := seal.LoadKey(cfg.SecretKeyEnv, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("load the secret key: %w", err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, sealer: sealer, KeyCreated: created,
		AdminKeyPath: filepath.Join(cfg.DataDir, AdminKeyFileName)}
	if created {
		s.log.Warn("created a new secret key; back it up separately from the database",
			"path", filepath.Join(cfg.DataDir, seal.KeyFileName), "keyId", sealer.KeyID())
	}
	ctx := context.Background()
	dbPath := filepath.Join(cfg.DataDir, DBFileName)
	// Create the database file owner-only; SQLite gives its -wal and -shm
	// files the same mode.
	if f, err := os.OpenFile(dbPath, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, fmt.Errorf("open the store: %w", err)
	}
	s.store = store
	if err := s.bootstrap(ctx); err != nil {
		store.Close()
		return nil, err
	}
	publicURL, err := s.publicURL()
	if err != nil {
		s.Close()
		return nil, err
	}
	svc, err := oauth.New(oauth.Config{Store: store, Sealer: sealer, PublicURL: publicURL,
		Endpoints: cfg.OAuthEndpoints, HTTPClient: cfg.OAuthHTTPClient, OpenerOrigin: cfg.OpenerOrigin,
		OnAuthorized: s.resumeReads})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("oauth: %w", err)
	}
	s.oauth = svc
	a := api.New(api.Options{Store: store, Sealer: sealer, Logger: cfg.Logger, DevMode: cfg.DevMode, OAuth: svc,
		PublicURL: publicURL, CORSOrigins: cfg.CORSOrigins})
	a.AddRoutes(oauthRoutes(a, svc)...)
	// Introspection describes customers' schemas through their connections:
	// object metadata and hydrated revisions for the installation UI.
	isvc, err := introspect.New(introspect.Config{Store: store, Clients: svc, BaseURLs: cfg.OAuthEndpoints})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("introspect: %w", err)
	}
	a.AddRoutes(introspect.Routes(isvc, a)...)
	a.SetHydrate(http.HandlerFunc(introspect.NewHandlers(isvc, a).ServeHydrate))
	a.SetSampler(sampler(isvc, cfg.Logger))
	if err := s.wireSync(a, isvc); err != nil {
		s.Close()
		return nil, err
	}
	for _, ext := range cfg.Extensions {
		rs, err := ext(Wiring{Store: store, Sealer: sealer, API: a, Logger: cfg.Logger, DevMode: cfg.DevMode, OAuth: svc})
		if err != nil {
			s.Close() // the store, and the listener publicURL may have bound
			return nil, fmt.Errorf("server extension: %w", err)
		}
		a.AddRoutes(rs...)
	}
	s.api = a
	s.handler = a.Handler()
	return s, nil
}

// wireSync builds the sync components: delivery (outbox to webhooks), the
// write service (the Write API), the engine (read and asynchronous write
// operations) and the scheduler (backfills and schedules), and hooks them
// to the API (installation changes, triggered reads, writes).
func (s *Server) wireSync(a *api.API, isvc *introspect.Service) error {
	dc := delivery.Config{Store: s.store, Sealer: s.sealer, Logger: s.log}
	if s.cfg.Delivery != nil {
		s.cfg.Delivery(&dc)
	}
	d, err := delivery.New(dc)
	if err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	ec := engine.Config{Store: s.store, Connectors: isvc, Delivered: d.Notify, Logger: s.log}
	if s.cfg.Engine != nil {
		s.cfg.Engine(&ec)
	}
	// The write service queues asynchronous writes for the engine, which
	// runs them through the service: the engine is built second.
	var eng *engine.Engine
	wc := write.Config{Store: s.store, Connectors: isvc, Describer: isvc, Logger: s.log, Lease: ec.Lease,
		Wake: func() { eng.Wake() }}
	if ws, ok := s.store.(runtime.WriteStateStore); ok {
		wc.State = ws
	}
	if s.cfg.Write != nil {
		s.cfg.Write(&wc)
	}
	wsvc, err := write.New(wc)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	ec.Writes = wsvc
	eng, err = engine.New(ec)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	sc := scheduler.Config{Store: s.store, Wake: eng.Wake, Logger: s.log}
	if s.cfg.Scheduler != nil {
		s.cfg.Scheduler(&sc)
	}
	sched, err := scheduler.New(sc)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	a.SetReadHooks(api.ReadHooks{Wake: eng.Wake, InstallationChanged: sched.Reconcile})
	a.SetWriter(writeAPI{wsvc})
	s.engine, s.sched, s.deliver = eng, sched, d
	return nil
}

// writeAPI serves the API's Write API with the write service.
type writeAPI struct{ svc *write.Service }

func (w writeAPI) Write(ctx context.Context, call api.WriteCall) (api.WriteAnswer, error) {
	a, err := w.svc.Serve(ctx, write.Call{ProjectID: call.ProjectID, IntegrationID: call.Integration.ID,
		ObjectName: call.ObjectName, IdempotencyKey: call.IdempotencyKey, Body: call.Body})
	return api.WriteAnswer{Status: a.Status, ContentType: a.ContentType, Body: a.Body}, err
}

func (writeAPI) OperationResults(op *runtime.Operation) json.RawMessage { return write.Results(op) }

// resumeReads unpauses the reads the engine paused for a connection's
// refused credentials once the customer reconnected.
func (s *Server) resumeReads(ctx context.Context, c *runtime.Connection) {
	if s.engine == nil {
		return
	}
	if err := s.engine.ResumeAfterReauthorization(ctx, c); err != nil {
		s.log.Error("resume reads after reconnection", "connection", c.ID, "err", err)
	}
}

// Engine returns the server's sync engine.
func (s *Server) Engine() *engine.Engine { return s.engine }

// Scheduler returns the server's scheduler.
func (s *Server) Scheduler() *scheduler.Scheduler { return s.sched }

// Delivery returns the server's webhook delivery.
func (s *Server) Delivery() *delivery.Service { return s.deliver }

// sampleTimeout bounds one sample read of an installation save.
const sampleTimeout = 30 * time.Second

// sampler adapts introspect's sample read to the API's hook: a provider's
// refusal is EINVALID with the provider's message (naming the object),
// throttling, outages and timeouts are api.UnavailableError (503), refused
// credentials are EINVALID asking for a re-authorisation. When amp itself
// cannot build a client for the connection (its stored credentials do not
// open, say after AMP_SECRET_KEY changed), the save fails with that
// internal error: saving unchecked would hide the fault until the first
// scheduled read. skipSampling is the way to save without the check.
func sampler(svc *introspect.Service, log *slog.Logger) api.Sampler {
	return func(ctx context.Context, projectID, connectionID, object string, fields []string) error {
		conn, err := svc.Connection(ctx, projectID, connectionID)
		if err != nil {
			return err
		}
		if _, err := svc.Connector(ctx, conn); err != nil {
			if _, classified := errors.AsType[*providers.Error](err); !classified && runtime.ErrorCode(err) == runtime.EINTERNAL {
				log.ErrorContext(ctx, "sample read impossible: no client for the connection", "connection", conn.ID, "object", object, "err", err)
				return fmt.Errorf("the connection's stored credentials cannot be used (was the secret key changed?); re-authorise it, or save with skipSampling: %w", err)
			}
			return sampleError(conn, object, err)
		}
		ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
		defer cancel()
		_, err = svc.SampleRead(ctx, conn, object, fields)
		return sampleError(conn, object, err)
	}
}

func sampleError(conn *runtime.Connection, object string, err error) error {
	if err == nil {
		return nil
	}
	var se *introspect.SampleError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %w", runtime.Errorf(runtime.EINVALID, "sample read of %s %s: %s", conn.Provider, se.Object, se.Message), err)
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case providers.KindAuth:
			return fmt.Errorf("%w: %w", runtime.Errorf(runtime.EINVALID, "sample read of %s %s: %s refused the connection's credentials; re-authorise the connection", conn.Provider, object, conn.Provider), err)
		case providers.KindRateLimited:
			return &api.UnavailableError{Message: fmt.Sprintf("sample read of %s %s: %s is throttling requests; retry later", conn.Provider, object, conn.Provider), RetryAfter: pe.RetryAfter, Err: err}
		}
	}
	if _, ok := errors.AsType[*runtime.Error](err); ok {
		return err
	}
	// Outages, timeouts, network failures, unclassified provider errors.
	return &api.UnavailableError{Message: fmt.Sprintf("sample read of %s %s: %s is unavailable; retry later, or save with skipSampling=true", conn.Provider, object, conn.Provider), Err: err}
}

// oauthRoutes are the connect flow's two routes: oauth-connect behind the
// API key (the project in its body), the callback without one (the state is
// the credential).
func oauthRoutes(a *api.API, svc *oauth.Service) []api.Route {
	connect := svc.ConnectHandler(oauth.ConnectConfig{Project: a.ProjectIDFor, Scopes: a.ProviderScopes, Error: a.WriteError,
		Authorize: api.AuthorizeConnect})
	return []api.Route{
		// The embedded UI starts connections with its frontend key.
		{Method: http.MethodPost, Path: "/v1/oauth-connect", Auth: api.AuthKey, Scope: api.ScopeFrontend, Handler: connect},
		{Method: http.MethodGet, Path: oauth.CallbackPath, Auth: api.AuthNone, Handler: svc.CallbackHandler()},
	}
}

// publicURL returns Config.PublicURL, or http://<addr> with localhost for
// an empty or wildcard host. Port 0 binds the listener to learn the port.
func (s *Server) publicURL() (string, error) {
	if s.cfg.PublicURL != "" {
		u, err := url.Parse(s.cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("public URL %q: want http(s)://host[:port]", s.cfg.PublicURL)
		}
		return strings.TrimRight(s.cfg.PublicURL, "/"), nil
	}
	host, port, err := net.SplitHostPort(s.listenAddr())
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", s.listenAddr(), err)
	}
	if port == "0" {
		addr, err := s.Listen()
		if err != nil {
			return "", err
		}
		_, port, _ = net.SplitHostPort(addr.String())
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// checkOrigin accepts "", "*" or a URL origin (scheme://host[:port], no
// path).
func checkOrigin(origin string) error {
	if origin == "" || origin == "*" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("origin %q: want \"*\" or scheme://host[:port]", origin)
	}
	return nil
}

func (s *Server) listenAddr() string {
	if s.cfg.Addr == "" {
		return defaultAddr
	}
	return s.cfg.Addr
}

// bootstrap creates the default project on an empty store, and an admin key
// when the only project has none (a first start, or one interrupted between
// the project and its key).
func (s *Server) bootstrap(ctx context.Context) error {
	projects, err := s.store.ListProjects(ctx)
	if err != nil {
		return fmt.Errorf("list projects: %w", err)
	}
	if len(projects) == 0 {
		p := &runtime.Project{Name: DefaultProject, AppName: "amp"}
		if err := s.store.CreateProject(ctx, p); err != nil {
			return fmt.Errorf("create the default project: %w", err)
		}
		s.log.Info("created project", "project", p.Name, "id", p.ID)
		projects = []*runtime.Project{p}
	}
	if len(projects) != 1 {
		return nil
	}
	keys, err := s.store.ListAPIKeys(ctx, projects[0].ID)
	if err != nil {
		return fmt.Errorf("list API keys: %w", err)
	}
	if len(keys) > 0 {
		return nil
	}
	plaintext, hash := apikey.Generate()
	// The file first: a key in the store that nobody knows would lock the
	// operator out.
	if err := writeSecretFile(s.AdminKeyPath, plaintext+"\n"); err != nil {
		return err
	}
	k := &runtime.APIKey{ProjectID: projects[0].ID, KeyHash: hash, Label: "admin", Scopes: []string{"full"}, Active: true}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return fmt.Errorf("create the admin API key: %w", err)
	}
	s.AdminKey = plaintext
	s.log.Info("created admin API key", "project", projects[0].Name, "key", apikey.Redact(plaintext), "path", s.AdminKeyPath)
	return nil
}

// writeSecretFile writes data to path with mode 0600, replacing it.
func writeSecretFile(path, data string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Handler returns the server's HTTP handler, for in-process tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes lists every route the server serves (built-in and extensions).
func (s *Server) Routes() []api.RouteInfo { return s.api.AllRoutes() }

// Store returns the server's store (for admin commands and tests).
func (s *Server) Store() runtime.Store { return s.store }

// OAuth returns the server's OAuth service: token sources and HTTP clients
// for connections (one per process, so refreshes stay single-flight).
func (s *Server) OAuth() *oauth.Service { return s.oauth }

// PublicURL is the base URL the OAuth callback is built from.
func (s *Server) PublicURL() string {
	return strings.TrimSuffix(s.oauth.CallbackURL(), oauth.CallbackPath)
}

// Sealer returns the server's sealer, for components wired next to the API
// (runtime/oauth seals tokens with it).
func (s *Server) Sealer() *seal.Sealer { return s.sealer }

// Listen binds Config.Addr and returns the address; Run then serves on it.
// Calling it is optional: Run listens itself when needed.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		addr := s.listenAddr()
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		s.listener = l
	}
	return s.listener.Addr(), nil
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to 15 seconds) and returns.
// It does not close the store; Close does.
func (s *Server) Run(ctx context.Context) error {
	addr, err := s.Listen()
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.listener) }()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		s.sweep(sweepCtx, sweepInterval)
	}()
	defer func() {
		stopSweep()
		<-swept
	}()
	syncCtx, stopSync := context.WithCancel(context.WithoutCancel(ctx))
	var syncWG sync.WaitGroup
	syncWG.Go(func() { _ = s.deliver.Run(syncCtx) })
	syncWG.Go(func() { _ = s.engine.Run(syncCtx) })
	syncWG.Go(func() { _ = s.sched.Run(syncCtx) })
	// The sync components stop after the HTTP server: requests in flight
	// may still queue reads. An operation cut short resumes from its last
	// committed page on the next start.
	defer func() {
		stopSync()
		syncWG.Wait()
	}()
	s.log.Info("listening", "addr", addr.String(), "dataDir", s.cfg.DataDir, "dev", s.cfg.DevMode)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// sweep deletes expired OAuth states and deploy uploads, and the Write API's expired
// idempotency records and echoes, at start and then every interval, until
// ctx is done.
func (s *Server) sweep(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	ws, _ := s.store.(runtime.WriteStateStore)
	for {
		n, err := s.oauth.SweepStates(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("sweep expired OAuth states", "err", err)
		case n > 0:
			s.log.Info("swept expired OAuth states", "count", n)
		}
		if n, err := s.store.DeleteExpiredUploads(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep expired deploy uploads", "err", err)
		} else if n > 0 {
			s.log.Info("swept expired deploy uploads", "count", n)
		}
		if ws != nil {
			n, err := ws.DeleteExpiredWriteState(ctx, time.Now())
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("sweep expired write state", "err", err)
			case n > 0:
				s.log.Info("swept expired idempotency records and echoes", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases the store. Call it after Run has returned.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.listener != nil {
		s.listener.Close()
	}
	s.mu.Unlock()
	return s.store.Close()
}
