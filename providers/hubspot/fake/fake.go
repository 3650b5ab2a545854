package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
)

// RealTokenTTL is HubSpot's access-token lifetime (expires_in 1800).
const RealTokenTTL = 30 * time.Minute

// Real defaults for the limits (providers.md §2.4): the catalog's burst
// window (public app: 110 per 10 s), no daily cap for OAuth apps, and about
// five searches a second.
const (
	defaultSearchPerSecond = 5
)

// Options configure the fake.
type Options struct {
	fakekit.Options
	// SeedStep is the time between consecutive seeded records' modified
	// times; zero means one second. A negative value gives every seeded
	// record of an object the same modified time (ties, for testing
	// search re-anchoring).
	SeedStep time.Duration
	// WindowsOnFakeClock times the burst and search windows with the
	// fake's clock instead of the wall clock, so tests of the limits do not
	// depend on how fast the machine runs them. Benchmarks leave it off:
	// they measure real rates.
	WindowsOnFakeClock bool
	// SearchInBurstWindow counts every search in the burst window as well
	// as in search's own per-second limit. HubSpot's usage guidelines
	// leave the CRM Search API out of the burst limit, so by default the
	// fake does too; this is the stricter reading, for tests of a
	// reader that must not assume the guidelines hold.
	SearchInBurstWindow bool
	// ReverseListPages serves each page of live records from the list
	// endpoint in descending id order, which no HubSpot list does: it
	// tests that a reader relying on the list's id order notices.
	ReverseListPages bool
}

// Server is the fake HubSpot.
type Server struct {
	kit     *fakekit.Kit
	opts    Options
	objects []*objectDef
	byAlias map[string]*objectDef
	mux     *http.ServeMux
	handler http.Handler

	burst  *fakekit.Window
	daily  *fakekit.Window
	search *fakekit.Window
	// searchInWindow is Options.SearchInBurstWindow, changeable while
	// serving (SetSearchInBurstWindow).
	searchInWindow atomic.Bool

	mu       sync.Mutex
	archived map[string][]string // object -> ids in archive order
}

// New returns a fake HubSpot.
func New(opts Options) *Server {
	if opts.Records == 0 {
		opts.Records = 100
	}
	kit := fakekit.NewKit(opts.Options, RealTokenTTL)
	switch {
	case opts.SeedStep < 0:
		kit.Store.SeedStep = 0
	case opts.SeedStep > 0:
		kit.Store.SeedStep = opts.SeedStep
	}
	s := &Server{kit: kit, opts: opts, byAlias: map[string]*objectDef{}, archived: map[string][]string{}}
	s.objects = portalObjects()
	for _, o := range s.objects {
		for _, alias := range []string{o.name, o.typeID, o.fqn, strings.TrimSuffix(o.name, "s")} {
			s.byAlias[strings.ToLower(alias)] = o
		}
		if o.name == "companies" {
			s.byAlias["company"] = o
		}
		kit.Store.Add(fakekit.ObjectSpec{
			Name:   o.name,
			Count:  opts.Records,
			ID:     func(i int) string { return strconv.Itoa(seedBase + i) },
			Index:  seedIndex,
			NewID:  func(seq int) string { return strconv.Itoa(createdBase + seq) },
			Fields: o.seed,
			// Seeded emails invert, so uniqueness checks and upserts by
			// email need no scan of millions of contacts.
			Lookup: func(field string, v any) (int, bool) {
				if field != "email" {
					return 0, false
				}
				return fakekit.EmailIndex(v)
			},
		})
	}
	rl := hubspot.Spec().RateLimit
	lim := opts.Limits
	period := lim.WindowPeriod
	if period == 0 {
		period = time.Duration(rl.WindowSeconds) * time.Second
	}
	var windowClock func() time.Time
	if opts.WindowsOnFakeClock {
		windowClock = kit.Clock.Now
	}
	s.burst = &fakekit.Window{Limit: fakekit.Or(lim.Window, rl.Requests), Period: period, Now: windowClock}
	s.daily = &fakekit.Window{Limit: fakekit.Or(lim.Daily, rl.DailyRequests), Period: 24 * time.Hour, Now: kit.Clock.Now}
	s.searchInWindow.Store(opts.SearchInBurstWindow)
	s.search = &fakekit.Window{Limit: fakekit.Or(lim.SearchPerSecond, defaultSearchPerSecond), Period: time.Second, Now: windowClock}

	s.mux = http.NewServeMux()
	consent := &fakekit.Consent{Tokens: kit.Tokens, Provider: "HubSpot", Subject: fmt.Sprintf("portal %d", PortalID)}
	s.mux.Handle("/oauth/authorize", consent)
	s.mux.HandleFunc("POST /oauth/v1/token", s.token)
	s.mux.HandleFunc("POST /oauth/v3/token", s.token)
	s.mux.HandleFunc("GET /oauth/v1/access-tokens/{token}", s.accessTokenInfo)
	s.mux.HandleFunc("GET /oauth/v1/refresh-tokens/{token}", s.refreshTokenInfo)
	s.mux.HandleFunc("DELETE /oauth/v1/refresh-tokens/{token}", s.deleteRefreshToken)

	api := http.NewServeMux()
	api.HandleFunc("GET /crm/v3/objects/{type}", s.list)
	api.HandleFunc("POST /crm/v3/objects/{type}", s.createOne)
	api.HandleFunc("GET /crm/v3/objects/{type}/{id}", s.getOne)
	api.HandleFunc("POST /crm/v3/objects/{type}/search", s.searchHandler)
	api.HandleFunc("POST /crm/v3/objects/{type}/batch/{op}", s.batch)
	api.HandleFunc("GET /crm/v3/properties/{type}", s.properties)
	api.HandleFunc("GET /crm/v3/schemas", s.schemas)
	api.HandleFunc("GET /crm/v3/schemas/{type}", s.schema)
	api.HandleFunc("GET /account-info/v3/details", s.accountInfo)
	api.HandleFunc("POST /crm/v4/associations/{from}/{to}/batch/read", s.associations)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "error", "", fmt.Sprintf("Unable to find a route for %s %s", r.Method, r.URL.Path), nil)
	})
	data := kit.Faults.Wrap(s.authenticate(s.limit(api)), fakekit.Responses{
		RateLimited: func(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
			if retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
			}
			s.rateHeaders(w, 0) // refused: nothing remains of the window
			rateLimited(w, "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
		},
		ServerError: func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusBadGateway, "error", "", "internal error", nil)
		},
	})
	s.mux.Handle("/crm/", data)
	s.mux.Handle("/account-info/", data)
	s.handler = s.mux
	return s
}

func seedIndex(id string) (int, bool) {
	n, err := strconv.Atoi(id)
	if err != nil || n < seedBase || n >= createdBase {
		return 0, false
	}
	return n - seedBase, true
}

// ServeHTTP serves the OAuth endpoints and the data API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Kit returns the fake's shared state (clock, tokens, store, faults).
func (s *Server) Kit() *fakekit.Kit { return s.kit }

// Issue hands out an access and a refresh token without the consent page.
func (s *Server) Issue() (access, refresh string) {
	return s.kit.Tokens.Issue(fakekit.Grant{ClientID: s.opts.ClientID, Subject: fmt.Sprintf("portal %d", PortalID)})
}

// object resolves an object type as HubSpot accepts it: name, singular,
// objectTypeId or fully qualified name.
func (s *Server) object(name string) *objectDef { return s.byAlias[strings.ToLower(name)] }

// --- providertest.Fake

// IDs returns the live ids of an object in list order.
func (s *Server) IDs(object string) []string {
	if o := s.object(object); o != nil {
		return s.kit.Store.IDs(o.name)
	}
	return nil
}

// Touch gives a record a new modified time.
func (s *Server) Touch(object, id string) {
	if o := s.object(object); o != nil {
		_, _ = s.kit.Store.Touch(o.name, id)
	}
}

// Delete archives a record, as the batch archive endpoint does.
func (s *Server) Delete(object, id string) {
	if o := s.object(object); o != nil {
		s.archive(o, id)
	}
}

func (s *Server) archive(o *objectDef, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.kit.Store.Delete(o.name, id); err != nil {
		return false
	}
	s.archived[o.name] = append(s.archived[o.name], id)
	return true
}

// Get returns a record's properties as stored (strings), with archived
// set for archived records.
func (s *Server) Get(object, id string) (map[string]any, bool) {
	o := s.object(object)
	if o == nil {
		return nil, false
	}
	r, ok := s.kit.Store.Get(o.name, id)
	if !ok {
		return nil, false
	}
	f := r.Fields
	if f == nil {
		f = map[string]any{}
	}
	f["hs_object_id"] = r.ID
	f[o.modProp] = formatTime(r.Modified)
	if r.Deleted {
		f["archived"] = true
	}
	return f, true
}

// Now is the fake's clock.
func (s *Server) Now() time.Time { return s.kit.Now() }

// Advance moves the clock forward.
func (s *Server) Advance(d time.Duration) { s.kit.Advance(d) }

// ExpireTokens invalidates every access token issued so far.
func (s *Server) ExpireTokens() { s.kit.ExpireTokens() }

// Throttle makes the next n data requests get HubSpot's 429.
func (s *Server) Throttle(n int, retryAfter time.Duration) { s.kit.Throttle(n, retryAfter) }

// --- auth and limits

type grantKey struct{}

// grantOf returns the grant of the request's access token.
func grantOf(r *http.Request) fakekit.Grant {
	g, _ := r.Context().Value(grantKey{}).(fakekit.Grant)
	return g
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			writeError(w, http.StatusUnauthorized, "error", "INVALID_AUTHENTICATION",
				"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil)
			return
		}
		g, valid := s.kit.Tokens.Validate(tok)
		if !valid {
			writeError(w, http.StatusUnauthorized, "error", "INVALID_AUTHENTICATION",
				"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, g)))
	})
}

func (s *Server) rateHeaders(w http.ResponseWriter, remaining int) {
	h := w.Header()
	if s.burst.Limit > 0 {
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.burst.Period.Milliseconds(), 10))
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.burst.Limit))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	}
	if s.daily.Limit > 0 {
		// Daily headers: private apps only (a daily quota is configured).
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.daily.Limit))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(s.daily.Limit-s.daily.Used(), 0)))
	}
}

func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isSearch := strings.HasSuffix(r.URL.Path, "/search")
		if isSearch {
			// Search has its own per-second limit and answers without
			// rate-limit headers.
			if ok, _, _ := s.search.Take(); !ok {
				rateLimited(w, "SECONDLY", "You have reached your secondly limit.")
				return
			}
		}
		if ok, _, _ := s.daily.Take(); !ok {
			s.rateHeaders(w, s.burst.Limit-s.burst.Used())
			rateLimited(w, "DAILY", "You have reached your daily limit.")
			return
		}
		if isSearch && !s.searchInWindow.Load() {
			next.ServeHTTP(w, r)
			return
		}
		ok, used, _ := s.burst.Take()
		if !isSearch {
			s.rateHeaders(w, s.burst.Limit-used)
		}
		if !ok {
			rateLimited(w, "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetSearchInBurstWindow changes Options.SearchInBurstWindow for the
// requests that follow: a HubSpot whose counting changes under a reader
// that learned it.
func (s *Server) SetSearchInBurstWindow(on bool) { s.searchInWindow.Store(on) }

func rateLimited(w http.ResponseWriter, policy, msg string) {
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"status": "error", "message": msg, "errorType": "RATE_LIMIT", "correlationId": correlationID(),
		"policyName": policy, "requestId": correlationID(),
	})
}

// --- responses

func correlationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes HubSpot's standard error body. extra adds keys
// (context, errors, subCategory).
func writeError(w http.ResponseWriter, status int, st, category, msg string, extra map[string]any) {
	body := map[string]any{"status": st, "message": msg, "correlationId": correlationID()}
	if category != "" {
		body["category"] = category
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

func unknownObject(w http.ResponseWriter, name string) {
	writeError(w, http.StatusBadRequest, "error", "", "Unable to infer object type from: "+name, nil)
}
