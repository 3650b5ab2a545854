package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/oauth"
)

// Sealer seals and opens secrets at rest (runtime/seal.Sealer implements
// it). Purposes and associated data are runtime/seal's.
type Sealer interface {
	Seal(purpose string, plaintext, aad []byte) ([]byte, error)
	Open(purpose string, sealed, aad []byte) ([]byte, error)
}

// Options configure the API.
type Options struct {
	Store  runtime.Store
	Sealer Sealer
	// Registry is the provider catalog; nil means providers.Default.
	Registry *providers.Registry
	// Logger receives request and error logs; nil discards them. Logs never
	// hold secrets: no headers, no bodies, API keys in paths redacted.
	Logger *slog.Logger
	// DevMode allows http:// webhook URLs on loopback hosts.
	DevMode bool
	// OAuth imports tokens (connections:generate) and re-authorises
	// connections (:oauth-update); nil answers those routes 500.
	OAuth *oauth.Service
	// PublicURL is the base URL clients reach the server at; the deploy
	// upload URLs (generate-upload-url) are on it. Empty means the
	// request's own scheme and host.
	PublicURL string
	// CORSOrigins are the origins (scheme://host[:port]) whose pages may call
	// the API: the builder's application that embeds @amp-labs/react. "*"
	// allows any origin; empty allows any too, as credentials travel in
	// headers (X-Api-Key, Authorization) and never in cookies. An origin
	// not listed gets no CORS headers, and its preflight is answered 403.
	CORSOrigins []string
}

// Auth says how a route authenticates.
type Auth int

const (
	// AuthKey requires a valid, active X-Api-Key. When the path has a
	// {projectIdOrName} segment, the project is resolved (by ID, then by
	// name) and must be the key's own, or the answer is 404.
	AuthKey Auth = iota
	// AuthNone serves the route without a key (health, the provider
	// catalog, an OAuth callback).
	AuthNone
)

// Scope is the API key scope a route requires (Ampersand's key scopes,
// ApiKeyScopes in api_api.yaml: "full" and "frontend"). A key without
// scopes, or with "full" among them, is a full key; a key whose scopes are
// only "frontend" is a frontend key: the one @amp-labs/react puts in a web
// page, so anyone can read it.
type Scope int

const (
	// ScopeFull, the zero value, requires a full key: a frontend key is
	// answered 403 problem+json (urn:amp:problem:forbidden).
	ScopeFull Scope = iota
	// ScopeFrontend also serves frontend keys: the routes the embedded
	// installation UI calls for one customer group (provider info, project,
	// integrations and revisions, installations, connections read,
	// oauth-connect, object metadata, hydrate).
	ScopeFrontend
)

// Key scope names, as stored in runtime.APIKey.Scopes.
const (
	KeyScopeFull     = "full"
	KeyScopeFrontend = "frontend"
)

// KeyAllows reports whether key may call a route that requires scope.
func KeyAllows(key *runtime.APIKey, scope Scope) bool {
	if key == nil {
		return false
	}
	return scope == ScopeFrontend || isFullKey(key)
}

// isFullKey: no scopes (the store's "empty means full") or "full" among
// them.
func isFullKey(key *runtime.APIKey) bool {
	return len(key.Scopes) == 0 || slices.Contains(key.Scopes, KeyScopeFull)
}

// forbiddenError is what a frontend key gets on a full-only route (403).
type forbiddenError struct{ detail string }

func (e *forbiddenError) Error() string { return e.detail }

func errForbidden(method, path string) error {
	return &forbiddenError{detail: fmt.Sprintf("%s %s needs an API key with the full scope; this key is a frontend key", method, redactPath(path))}
}

// Route is one served method and path. Path uses net/http ServeMux
// wildcards (Go 1.22 patterns), which are also OpenAPI path templates.
type Route struct {
	Method string
	Path   string
	Auth   Auth
	// Scope is the key scope an AuthKey route needs; the zero value is
	// ScopeFull. Set ScopeFrontend for routes the embedded UI calls.
	Scope   Scope
	Handler http.Handler
}

// API serves the management API.
type API struct {
	store    runtime.Store
	sealer   Sealer
	registry *providers.Registry
	log      *slog.Logger
	dev      bool
	oauth    *oauth.Service
	extra    []Route
	hydrate  http.Handler
	sampler  Sampler
	reads    ReadHooks
	writer   Writer
	now      func() time.Time
	// publicURL is Options.PublicURL without a trailing slash.
	publicURL string
	// corsAny allows every origin; corsOrigins lists the allowed ones.
	corsAny     bool
	corsOrigins map[string]bool
}

// HydratePath is the route GET .../revisions/{revisionId}:hydrate. ServeMux
// cannot tell it from the revision route, so that route hands requests with
// the suffix to the handler SetHydrate installs.
const HydratePath = "/v1/projects/{projectIdOrName}/integrations/{integrationId}/revisions/{revisionId}:hydrate"

// SetHydrate installs the handler of HydratePath (runtime/introspect). It
// runs behind the revision route's authentication.
func (a *API) SetHydrate(h http.Handler) { a.hydrate = h }

// New returns the API. Options.Store and Options.Sealer are required.
func New(opts Options) *API {
	a := &API{store: opts.Store, sealer: opts.Sealer, registry: opts.Registry, log: opts.Logger,
		dev: opts.DevMode, oauth: opts.OAuth, now: time.Now, publicURL: strings.TrimRight(opts.PublicURL, "/"),
		corsAny: len(opts.CORSOrigins) == 0, corsOrigins: map[string]bool{}}
	for _, o := range opts.CORSOrigins {
		if o == "*" {
			a.corsAny = true
		}
		a.corsOrigins[strings.TrimRight(strings.ToLower(o), "/")] = true
	}
	if a.registry == nil {
		a.registry = providers.Default
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// RouteInfo names a route: its method and path, how it authenticates and
// the key scope it needs.
type RouteInfo struct {
	Method, Path string
	Auth         Auth
	Scope        Scope
}

// Routes lists the built-in routes, in the table's order. The OpenAPI test
// compares it with schemas/openapi.yaml.
func Routes() []RouteInfo {
	out := make([]RouteInfo, len(routes))
	for i, rt := range routes {
		out[i] = RouteInfo{Method: rt.method, Path: rt.path, Auth: rt.auth, Scope: rt.scope}
	}
	return out
}

// AddRoutes adds routes next to the built-in ones, behind the same
// authentication. Call it before Handler.
func (a *API) AddRoutes(rs ...Route) { a.extra = append(a.extra, rs...) }

// AllRoutes lists every route Handler serves: the built-in ones, then the
// added ones.
func (a *API) AllRoutes() []RouteInfo {
	out := Routes()
	for _, rt := range a.extra {
		out = append(out, RouteInfo{Method: rt.Method, Path: rt.Path, Auth: rt.Auth, Scope: rt.Scope})
	}
	if a.hydrate != nil {
		// Served behind the revision route, whose scope it shares.
		out = append(out, RouteInfo{Method: http.MethodGet, Path: HydratePath, Auth: AuthKey, Scope: ScopeFrontend})
	}
	return out
}

// ProjectIDFor resolves idOrName for the request's API key (see
// ResolveProject) and returns the project's ID: the shape runtime/oauth's
// ConnectConfig.Project expects, for routes that carry the project in
// their body.
func (a *API) ProjectIDFor(r *http.Request, idOrName string) (string, error) {
	p, err := a.ResolveProject(r.Context(), Key(r.Context()), idOrName)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// Handler returns the API's http.Handler: every route of the table and the
// extra routes, with CORS, request logging and problem+json for unknown
// paths.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.handle
		a.register(mux, rt.method, rt.path, rt.auth, rt.scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := h(a, w, r); err != nil {
				a.WriteError(w, r, err)
			}
		}))
	}
	for _, rt := range a.extra {
		a.register(mux, rt.Method, rt.Path, rt.Auth, rt.Scope, rt.Handler)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, &Problem{Type: problemTypeBase + runtime.ENOTFOUND, Status: http.StatusNotFound,
			Detail: "no such route: " + r.Method + " " + redactPath(r.URL.Path)})
	})
	return a.cors(a.logRequests(mux))
}

func (a *API) register(mux *http.ServeMux, method, path string, auth Auth, scope Scope, h http.Handler) {
	if auth == AuthKey {
		h = a.authenticate(strings.Contains(path, "{projectIdOrName}"), scope, h)
	}
	mux.Handle(method+" "+path, h)
}

type ctxKey int

const (
	keyCtx ctxKey = iota
	projectCtx
	principalCtx
)

// Key returns the API key that authenticated the request, on AuthKey routes.
func Key(ctx context.Context) *runtime.APIKey {
	k, _ := ctx.Value(keyCtx).(*runtime.APIKey)
	return k
}

// Project returns the project the request's {projectIdOrName} resolved to,
// on AuthKey routes with that segment.
func Project(ctx context.Context) *runtime.Project {
	p, _ := ctx.Value(projectCtx).(*runtime.Project)
	return p
}

// authenticate checks the credentials (X-Api-Key, or a Bearer JWT), then,
// when scoped, the path's project (another project is 404 whatever the
// key's scope), then the key's scope. A JWT authenticates as a frontend
// key restricted to its group (Principal).
func (a *API) authenticate(scoped bool, scope Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, pr, err := a.credentials(r)
		if err != nil {
			a.WriteError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), keyCtx, key)
		if pr != nil {
			ctx = context.WithValue(ctx, principalCtx, pr)
		}
		if scoped {
			p, err := a.ResolveProject(r.Context(), key, r.PathValue("projectIdOrName"))
			if err != nil {
				a.WriteError(w, r, err)
				return
			}
			ctx = context.WithValue(ctx, projectCtx, p)
		}
		if !KeyAllows(key, scope) {
			err := errForbidden(r.Method, r.URL.Path)
			if pr != nil {
				err = &forbiddenError{detail: fmt.Sprintf("%s %s needs an API key with the full scope; a bearer token (JWT) acts for one customer group only", r.Method, redactPath(r.URL.Path))}
			}
			a.WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var errUnauthenticated = runtime.Errorf(runtime.EUNAUTHORIZED, "a valid API key is required in the X-Api-Key header (or a JWT in Authorization: Bearer)")

// credentials authenticates the request: X-Api-Key when present, else an
// Authorization: Bearer JWT, which yields a frontend key of the token's
// project and the Principal that restricts it to the token's group.
func (a *API) credentials(r *http.Request) (*runtime.APIKey, *Principal, error) {
	authz := r.Header.Get("Authorization")
	if r.Header.Get("X-Api-Key") != "" || authz == "" {
		k, err := a.apiKey(r)
		return k, nil, err
	}
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, nil, runtime.Errorf(runtime.EUNAUTHORIZED, "the Authorization header must be \"Bearer <jwt>\"")
	}
	jk, claims, err := verifyJWT(strings.TrimSpace(token), func(kid string) (*runtime.JWTKey, error) {
		k, err := a.store.LookupJWTKey(r.Context(), kid)
		if runtime.ErrorCode(err) == runtime.ENOTFOUND {
			return nil, tokenError("unknown key id %q", kid)
		}
		return k, err
	}, a.now())
	if err != nil {
		return nil, nil, err
	}
	key := &runtime.APIKey{ID: "jwt:" + jk.ID, ProjectID: jk.ProjectID, Label: jk.Label,
		Scopes: []string{KeyScopeFrontend}, Active: true}
	return key, &Principal{KeyID: jk.ID, GroupRef: claims.GroupRef, ConsumerRef: claims.ConsumerRef}, nil
}

func (a *API) apiKey(r *http.Request) (*runtime.APIKey, error) {
	s := r.Header.Get("X-Api-Key")
	if s == "" || !apikey.Valid(s) {
		return nil, errUnauthenticated
	}
	k, err := a.store.GetAPIKeyByHash(r.Context(), apikey.Hash(s))
	switch {
	case runtime.ErrorCode(err) == runtime.ENOTFOUND:
		return nil, errUnauthenticated
	case err != nil:
		return nil, err
	case !k.Active:
		return nil, runtime.Errorf(runtime.EUNAUTHORIZED, "this API key is inactive")
	}
	return k, nil
}

// ResolveProject finds the project idOrName names (by ID, then by name) and
// returns it if it is key's project; any other project is ENOTFOUND, like a
// missing one. OAuth routes that carry the project in their body use it.
func (a *API) ResolveProject(ctx context.Context, key *runtime.APIKey, idOrName string) (*runtime.Project, error) {
	notFound := runtime.Errorf(runtime.ENOTFOUND, "project %q not found", idOrName)
	if key == nil || idOrName == "" {
		return nil, notFound
	}
	p, err := a.store.GetProject(ctx, idOrName)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		p, err = a.store.GetProjectByName(ctx, idOrName)
	}
	if runtime.ErrorCode(err) == runtime.ENOTFOUND || (err == nil && p.ID != key.ProjectID) {
		return nil, notFound
	}
	return p, err
}

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *API) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		a.log.InfoContext(r.Context(), "request", slog.String("method", r.Method),
			slog.String("path", redactPath(r.URL.Path)), slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)))
	})
}

// redactPath hides API keys that a client put in a path (api-keys/{apiKey}
// accepts the key itself).
func redactPath(p string) string {
	if !strings.Contains(p, apikey.Prefix) {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.Contains(s, apikey.Prefix) {
			segs[i] = apikey.Redact(s)
		}
	}
	return strings.Join(segs, "/")
}

// cors lets browser clients (@amp-labs/react) call the API from the
// allowed origins (Options.CORSOrigins): the allowed origin is echoed, as no
// cookies are used. Preflights from other origins are answered 403; their
// other requests are served without CORS headers, so the browser hides the
// answer from the page.
func (a *API) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && !a.corsAny && !a.corsOrigins[strings.ToLower(origin)] {
			w.Header().Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				WriteProblem(w, &Problem{Type: problemTypeBase + "forbidden", Status: http.StatusForbidden,
					Detail: "origin " + origin + " is not allowed to call this API; add it to the server's CORS origins (amp serve --cors-origin)"})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if origin != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, X-Api-Key, X-Amp-Client, X-Amp-Client-Version, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopback reports whether host (no port) is a loopback name or address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
