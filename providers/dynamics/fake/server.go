package fake

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// APIPath is the Web API's base path.
const APIPath = "/api/data/v9.2/"

// Real service-protection defaults (per user, per web server).
const (
	DefaultWindow       = 6000
	DefaultWindowPeriod = 5 * time.Minute
	DefaultConcurrency  = 52
)

// Options configure the fake.
type Options struct {
	fakekit.Options
	// Tenant is the directory tenant the token endpoint serves besides
	// "organizations" and "common"; empty means any tenant path is served.
	Tenant string
	// KeepRefresh turns refresh-token rotation off (Dataverse rotates).
	KeepRefresh bool
	// Org is the organisation name reported in token scopes
	// (https://{Org}.crm.dynamics.com/user_impersonation); default "contoso".
	Org string
	// DeltaRetention is how long a change-tracking delta token stays
	// valid after it was issued (Dataverse's ExpireChangeTrackingInDays);
	// an older token gets the expired-version answer. Zero means
	// DefaultDeltaRetention (30 days); negative means tokens never expire.
	DeltaRetention time.Duration
	// SameSecondWrites stops moving every write to a whole second of its
	// own: writes are then 1 ms apart, so several share one modifiedon
	// value (whole seconds), as in a busy organisation. Time-based reads
	// see the ties; change tracking by delta link stays exact.
	SameSecondWrites bool

	// Service protection (limits.go). Limits.Window, Limits.WindowPeriod
	// and Limits.Concurrency set the request limit, the sliding window and
	// the concurrency cap (zero: Dataverse's 6,000 per 5 minutes and 52;
	// negative: off).

	// ExecTime is the combined execution-time budget per user and window:
	// zero means DefaultExecTime (20 minutes), negative turns it off.
	ExecTime time.Duration
	// Cost models each request's execution time; the zero Cost means
	// DefaultCost.
	Cost Cost
	// ThrottlePenalty is how much longer the penalty of a throttled user
	// grows with every request it sends while throttled (at most one
	// window ahead): zero means DefaultThrottlePenalty, negative means the
	// penalty is never extended.
	ThrottlePenalty time.Duration
	// LimitClock runs the service-protection windows on the fake's clock
	// (moved by Advance) instead of the wall clock, so tests of the limits
	// are deterministic. Leave it off to measure real rates.
	LimitClock bool
}

// Server is the fake Dataverse. It is an http.Handler.
type Server struct {
	opts   Options
	kit    *fakekit.Kit
	tables map[string]*table // by entity set name
	byLog  map[string]*table // by logical name
	order  []*table

	limits *limiter
	// writeMu serialises writes so each lands on its own second.
	writeMu sync.Mutex

	data http.Handler
	mux  *http.ServeMux
}

// New returns a fake seeded with opts.Records records per table (100 when
// zero).
func New(opts Options) *Server {
	if opts.Records == 0 {
		opts.Records = 100
	}
	if opts.Org == "" {
		opts.Org = "contoso"
	}
	// Access tokens live 60 to 90 minutes; pick one lifetime per fake,
	// deterministically from the seed.
	realTTL := time.Duration(60+opts.Seed%31) * time.Minute
	ko := opts.Options
	ko.RotateRefresh = !opts.KeepRefresh
	s := &Server{opts: opts, kit: fakekit.NewKit(ko, realTTL), tables: map[string]*table{}, byLog: map[string]*table{}}
	for _, t := range newTables() {
		s.tables[t.set] = t
		s.byLog[t.logical] = t
		s.order = append(s.order, t)
		s.kit.Store.Add(t.spec(opts.Records))
	}
	now := time.Now
	if opts.LimitClock {
		now = s.kit.Clock.Now
	}
	s.limits = newLimiter(opts, now)
	// Injected throttling (Throttle, BurstEvery) answers as the request
	// limit does, quoting the limit in force.
	injected := requestLimitMessage(cmp.Or(s.limits.requests, DefaultWindow), s.limits.period)
	s.data = s.kit.Faults.Wrap(http.HandlerFunc(s.serveData), fakekit.Responses{
		RateLimited: func(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
			writeThrottled(w, retryAfter, CodeRequestLimit, injected)
		},
		ServerError: func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusServiceUnavailable, "0x80040216", "An unexpected error occurred.")
		},
	})
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/{tenant}/oauth2/v2.0/authorize", s.serveAuthorize)
	s.mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	s.mux.HandleFunc(APIPath, s.serveAPI)
	return s
}

// ServeHTTP serves the OAuth endpoints and the Web API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Kit returns the fake's shared state (clock, tokens, store, faults).
func (s *Server) Kit() *fakekit.Kit { return s.kit }

// Issue hands out an access and a refresh token without the consent page.
func (s *Server) Issue() (access, refresh string) {
	return s.kit.Tokens.Issue(fakekit.Grant{ClientID: "amp", Scope: s.scope(), Subject: s.AdminSubject()})
}

func (s *Server) scope() string {
	return "https://" + s.opts.Org + ".crm.dynamics.com/user_impersonation"
}

// IDs returns the live ids of a table in the order an unordered query
// lists them.
func (s *Server) IDs(object string) []string { return s.kit.IDs(object) }

// Touch changes a record's modified time, as a system update would.
func (s *Server) Touch(object, id string) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.alignWrite()
	_, _ = s.kit.Store.Touch(object, id)
}

// Delete deletes a record; change tracking reports it as $deletedEntity.
func (s *Server) Delete(object, id string) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.alignWrite()
	_, _ = s.kit.Store.Delete(object, id)
}

// Get returns a live record's columns; a deleted record is gone, as in
// Dataverse.
func (s *Server) Get(object, id string) (map[string]any, bool) {
	r, ok := s.kit.Store.Get(object, id)
	if !ok || r.Deleted {
		return nil, false
	}
	t := s.tables[object]
	f := r.Fields
	if f == nil {
		f = map[string]any{}
	}
	if t != nil {
		f[t.primaryID] = r.ID
	}
	f["createdon"], f["modifiedon"] = stamp(r.Created), stamp(r.Modified)
	return f, true
}

// Now is the fake's clock.
func (s *Server) Now() time.Time { return s.kit.Now() }

// Advance moves the clock forward.
func (s *Server) Advance(d time.Duration) { s.kit.Advance(d) }

// ExpireTokens invalidates every access token issued so far.
func (s *Server) ExpireTokens() { s.kit.ExpireTokens() }

// Throttle makes the next n data requests get 429 with Retry-After.
func (s *Server) Throttle(n int, retryAfter time.Duration) { s.kit.Throttle(n, retryAfter) }

// RevokeRefreshTokens revokes every refresh token (a password change or an
// admin revoking sessions): the next refresh gets AADSTS50173.
func (s *Server) RevokeRefreshTokens() { s.kit.Tokens.RevokeRefreshTokens() }

// alignWrite moves the clock to 1 ms before the next whole second, so the
// store's write (which ticks 1 ms) lands on its own whole second; with
// Options.SameSecondWrites it does nothing. Callers hold writeMu.
func (s *Server) alignWrite() {
	if s.opts.SameSecondWrites {
		return
	}
	now := s.kit.Clock.Now()
	target := now.Truncate(time.Second).Add(time.Second - time.Millisecond)
	s.kit.Clock.Advance(target.Sub(now))
}

// stamp formats a time as Dataverse does: UTC, whole seconds, Z.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// serveAPI authenticates, applies the service-protection limits and
// serves the data API.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if len(baseURL(r))+len(r.RequestURI) > MaxURLLength {
		urlTooLong(w)
		return
	}
	w.Header().Set("OData-Version", "4.0")
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		s.unauthorized(w)
		return
	}
	grant, valid := s.kit.Tokens.Validate(tok)
	if !valid {
		s.unauthorized(w)
		return
	}
	a := s.limits.admit(grant.Subject)
	setLimitHeaders(w.Header(), a)
	if a.refused != nil {
		writeThrottled(w, a.refused.retryAfter, a.refused.code, a.refused.message)
		return
	}
	u := &usage{}
	defer func() { a.done(u.records) }()
	s.data.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), usageKey{}, u)))
}

// MaxURLLength is the longest URL Dataverse accepts, 32 KB (a request
// inside a $batch body may have up to 64 KB, which the fake does not
// check).
const MaxURLLength = 32768

// urlTooLong is the answer to a longer URL: the web server refuses it
// before Dataverse sees it (no token check, no OData error body). The
// status is documented only as a refusal; the page is the Windows HTTP
// server's 414, which the fake assumes.
func urlTooLong(w http.ResponseWriter) {
	const page = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">` + "\r\n" +
		`<HTML><HEAD><TITLE>Request URL Too Long</TITLE>` + "\r\n" +
		`<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>` + "\r\n" +
		`<BODY><h2>Request URL Too Long</h2>` + "\r\n" +
		`<hr><p>HTTP Error 414. The request URL is too long.</p>` + "\r\n" + `</BODY></HTML>` + "\r\n"
	w.Header().Set("Content-Type", "text/html; charset=us-ascii")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(http.StatusRequestURITooLong)
	_, _ = w.Write([]byte(page))
}

// RemainingLimits returns what is left of subject's service-protection
// budget now: requests and execution time in the sliding window (zero for
// a limit that is off). Issue's tokens belong to AdminSubject.
func (s *Server) RemainingLimits(subject string) (requests int, exec time.Duration) {
	return s.limits.remaining(subject)
}

// AdminSubject is the user every token of Issue and the consent page
// belongs to.
func (s *Server) AdminSubject() string { return "admin@" + s.opts.Org + ".onmicrosoft.com" }

// unauthorized is Dataverse's answer to a missing, bad or expired token:
// 401 with an empty body and the authority in WWW-Authenticate.
func (s *Server) unauthorized(w http.ResponseWriter) {
	tenant := s.opts.Tenant
	if tenant == "" {
		tenant = "organizations"
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri=https://login.microsoftonline.com/%s/oauth2/authorize, resource_id=https://%s.crm.dynamics.com/`, tenant, s.opts.Org))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// writeThrottled writes a service-protection refusal.
func writeThrottled(w http.ResponseWriter, retryAfter time.Duration, code, msg string) {
	secs := int(math.Ceil(retryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"@Microsoft.PowerApps.CDS.ErrorDetails.ApiExceededLimitType": "ApiExceededLimitType",
		"@Microsoft.PowerApps.CDS.HelpLink":                          "http://go.microsoft.com/fwlink/?LinkID=398563&error=Microsoft.Crm.CrmException%3a" + strings.TrimPrefix(code, "0x") + "&client=platform",
		"@Microsoft.PowerApps.CDS.TraceText":                         "",
		"@Microsoft.PowerApps.CDS.InnerError.Message":                msg,
	}})
}

// writeError writes an OData error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
