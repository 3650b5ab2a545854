package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// Defaults.
const (
	// DefaultDaily is the fake's daily API allocation when
	// Options.Limits.Daily is zero: large enough for tests and benchmarks.
	// Real orgs get 15,000 (Developer Edition) or 100,000 plus 1,000 per
	// licence (Enterprise); set Limits.Daily to reproduce one.
	DefaultDaily = 1_000_000
	// SessionTTL is Salesforce's default session timeout.
	SessionTTL = 2 * time.Hour
	// LocatorTTL is how long an unused query locator lives.
	LocatorTTL = 15 * time.Minute
	// MaxBatchSize and MinBatchSize bound the Sforce-Query-Options batchSize.
	MaxBatchSize = 2000
	MinBatchSize = 200
)

// Options are the fake's knobs.
type Options struct {
	fakekit.Options
	// MinBatchSize is the smallest batchSize honoured (Salesforce: 200).
	// Tests set it lower to page small objects; zero means 200.
	MinBatchSize int
	// PageCap, when positive, caps every query page below the batch size,
	// as Salesforce does for wide rows.
	PageCap int
	// BulkPolls is how many status polls a Bulk query or ingest job
	// answers InProgress before JobComplete (an ingest job applies its
	// share of the rows at each); zero means 1, negative completes at the
	// first poll. Counted polls, not time, so tests need no sleeps.
	BulkPolls int
	// BulkChunk is the most rows in one Bulk results chunk when the
	// request's maxRecords is larger or absent; zero means 10,000.
	BulkChunk int
	// InstanceURL is the instance_url of token responses; empty means the
	// URL the token request came to.
	InstanceURL string
	// MaxReplicationIDs caps the ids of one getUpdated or getDeleted call
	// (EXCEEDED_ID_LIMIT beyond it); zero means Salesforce's 600,000.
	MaxReplicationIDs int
}

// Server is the fake Salesforce. It is an http.Handler.
type Server struct {
	opts    Options
	kit     *fakekit.Kit
	mux     *http.ServeMux
	data    *http.ServeMux        // the data API behind the session and allocation checks
	objects map[string]*objectDef // by lower-case name
	order   []*objectDef
	prefix  map[string]*objectDef
	daily   *fakekit.Window
	limit   int
	used    atomic.Int64
	// Bulk API counters reported by /limits.
	bulkQueryJobs, bulkBatches, bulkResultBytes dayCounter

	// txMu serialises allOrNone composite requests (write lock) against
	// every other data request (read lock).
	txMu sync.RWMutex

	mu      sync.Mutex
	purged  time.Time // last purge of the delete log
	queries map[string]*queryState
	jobs    map[string]*bulkJob
	ingest  map[string]*ingestJob
	seq     int
}

// New returns a fake Salesforce.
func New(opts Options) *Server {
	if opts.Records == 0 {
		opts.Records = 100
	}
	if opts.MinBatchSize <= 0 {
		opts.MinBatchSize = MinBatchSize
	}
	if opts.BulkPolls == 0 {
		opts.BulkPolls = 1
	}
	if opts.BulkChunk <= 0 {
		opts.BulkChunk = 10000
	}
	kit := fakekit.NewKit(opts.Options, SessionTTL)
	s := &Server{opts: opts, kit: kit, objects: map[string]*objectDef{}, prefix: map[string]*objectDef{},
		queries: map[string]*queryState{}, jobs: map[string]*bulkJob{}, ingest: map[string]*ingestJob{}}
	s.limit = fakekit.Or(opts.Limits.Daily, DefaultDaily)
	s.daily = &fakekit.Window{Limit: s.limit, Period: 24 * time.Hour, Now: kit.Clock.Now}
	for _, o := range objects(opts.Records, kit.Clock.Now()) {
		s.objects[strings.ToLower(o.Name)] = o
		s.prefix[o.Prefix] = o
		s.order = append(s.order, o)
		prefix, seed := o.Prefix, o.seed
		kit.Store.Add(fakekit.ObjectSpec{
			Name: o.Name, Count: opts.Records,
			ID:     func(i int) string { return seededID(prefix, i) },
			Index:  func(id string) (int, bool) { return seededIndex(prefix, id) },
			NewID:  func(seq int) string { return createdID(prefix, seq) },
			Fields: seed,
		})
	}
	s.routes()
	return s
}

// ServeHTTP serves the OAuth endpoints and the data API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	consent := &fakekit.Consent{Tokens: s.kit.Tokens, Provider: "Salesforce", Subject: "admin@fake-org.example"}
	s.mux.Handle("/services/oauth2/authorize", consent)
	s.mux.HandleFunc("POST /services/oauth2/token", s.token)
	s.mux.HandleFunc("/services/oauth2/revoke", s.revoke)
	s.mux.HandleFunc("GET /services/data/{$}", s.versions)

	d := http.NewServeMux()
	const v = "/services/data/{v}"
	d.HandleFunc("GET "+v+"/sobjects/{$}", s.describeGlobal)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/describe", s.describe)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/describe/{$}", s.describe)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/updated", s.getUpdated)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/updated/{$}", s.getUpdated)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/deleted", s.getDeleted)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/deleted/{$}", s.getDeleted)
	d.HandleFunc("POST "+v+"/sobjects/{obj}", s.createOne)
	d.HandleFunc("POST "+v+"/sobjects/{obj}/{$}", s.createOne)
	d.HandleFunc("GET "+v+"/sobjects/{obj}/{id}", s.getOne)
	d.HandleFunc("PATCH "+v+"/sobjects/{obj}/{id}", s.updateOne)
	d.HandleFunc("DELETE "+v+"/sobjects/{obj}/{id}", s.deleteOne)
	d.HandleFunc("GET "+v+"/query", s.query(false))
	d.HandleFunc("GET "+v+"/query/{$}", s.query(false))
	d.HandleFunc("GET "+v+"/queryAll", s.query(true))
	d.HandleFunc("GET "+v+"/queryAll/{$}", s.query(true))
	d.HandleFunc("GET "+v+"/query/{locator}", s.more)
	d.HandleFunc("GET "+v+"/queryAll/{locator}", s.more)
	d.HandleFunc("POST "+v+"/composite/sobjects", s.collectionCreate)
	d.HandleFunc("PATCH "+v+"/composite/sobjects", s.collectionUpdate)
	d.HandleFunc("PATCH "+v+"/composite/sobjects/{obj}/{field}", s.collectionUpsert)
	d.HandleFunc("GET "+v+"/composite/sobjects/{obj}", s.collectionRetrieve)
	d.HandleFunc("POST "+v+"/composite/sobjects/{obj}", s.collectionRetrieve)
	d.HandleFunc("DELETE "+v+"/composite/sobjects", s.collectionDelete)
	d.HandleFunc("POST "+v+"/composite", s.composite)
	d.HandleFunc("POST "+v+"/composite/{$}", s.composite)
	d.HandleFunc("GET "+v+"/limits", s.limits)
	d.HandleFunc("GET "+v+"/limits/{$}", s.limits)
	d.HandleFunc("POST "+v+"/jobs/query", s.bulkCreate)
	d.HandleFunc("GET "+v+"/jobs/query/{id}", s.bulkInfo)
	d.HandleFunc("DELETE "+v+"/jobs/query/{id}", s.bulkDelete)
	d.HandleFunc("GET "+v+"/jobs/query/{id}/results", s.bulkResults)
	d.HandleFunc("POST "+v+"/jobs/ingest", s.ingestCreate)
	d.HandleFunc("POST "+v+"/jobs/ingest/{$}", s.ingestCreate)
	d.HandleFunc("GET "+v+"/jobs/ingest/{id}", s.ingestInfo)
	d.HandleFunc("PATCH "+v+"/jobs/ingest/{id}", s.ingestState)
	d.HandleFunc("DELETE "+v+"/jobs/ingest/{id}", s.ingestDelete)
	d.HandleFunc("PUT "+v+"/jobs/ingest/{id}/batches", s.ingestUpload)
	d.HandleFunc("PUT "+v+"/jobs/ingest/{id}/batches/{$}", s.ingestUpload)
	for _, kind := range []struct{ path, name string }{
		{"successfulResults", "successful"}, {"failedResults", "failed"}, {"unprocessedrecords", "unprocessed"},
	} {
		d.HandleFunc("GET "+v+"/jobs/ingest/{id}/"+kind.path, s.ingestResults(kind.name))
		d.HandleFunc("GET "+v+"/jobs/ingest/{id}/"+kind.path+"/{$}", s.ingestResults(kind.name))
	}
	d.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	})
	s.data = d
	s.mux.Handle("/services/data/", s.kit.Faults.Wrap(s.api(d), fakekit.Responses{
		RateLimited: func(w http.ResponseWriter, r *http.Request, _ time.Duration) {
			// Salesforce sends no Retry-After.
			s.limitHeader(w)
			writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		},
		ServerError: func(w http.ResponseWriter, r *http.Request) {
			writeErrors(w, http.StatusInternalServerError, "UNKNOWN_EXCEPTION",
				"An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)")
		},
	}))
}

var versionRE = regexp.MustCompile(`^v(\d+)\.0$`)

// The API versions the fake serves.
const (
	MinAPIVersion = 20
	MaxAPIVersion = 66
)

// validVersion reports whether "v60.0" is a version the fake serves.
func validVersion(ver string) bool {
	m := versionRE.FindStringSubmatch(ver)
	n, _ := strconv.Atoi(safeIndex(m, 1))
	return m != nil && n >= MinAPIVersion && n <= MaxAPIVersion
}

// api checks the version, the session and the daily allocation, and sets
// Sforce-Limit-Info, before the data handlers.
func (s *Server) api(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/services/data/")
		ver, _, _ := strings.Cut(rest, "/")
		if !validVersion(ver) {
			writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			tok, ok = strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
		}
		if _, valid := s.kit.Tokens.Validate(strings.TrimSpace(tok)); !ok || !valid {
			w.Header().Set("WWW-Authenticate", "Token")
			writeErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		allowed, used, _ := s.daily.Take()
		if s.limit <= 0 {
			used = int(s.used.Add(1))
		}
		w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, s.allocation()))
		if !allowed {
			writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
			return
		}
		if isCompositeRequest(r) {
			next.ServeHTTP(w, r) // takes txMu itself
			return
		}
		s.txMu.RLock()
		defer s.txMu.RUnlock()
		next.ServeHTTP(w, r)
	})
}

// allocation is the daily allocation reported by Sforce-Limit-Info and
// /limits; with the limit off it is a nominal math.MaxInt32.
func (s *Server) allocation() int {
	if s.limit <= 0 {
		return math.MaxInt32
	}
	return s.limit
}

func safeIndex(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}

func (s *Server) limitHeader(w http.ResponseWriter) {
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.APIUsage(), s.allocation()))
}

// apiError is Salesforce's error element.
type apiError struct {
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode"`
	// Fields is omitted when nil; a non-nil empty slice is sent as [].
	Fields any `json:"fields,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	e := apiError{Message: msg, ErrorCode: code}
	if fields != nil {
		e.Fields = fields
	}
	writeJSON(w, status, []apiError{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// object resolves an object name in any case.
func (s *Server) object(name string) *objectDef { return s.objects[strings.ToLower(name)] }

// ---------------------------------------------------------------------------
// OAuth

func (s *Server) loginURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token serves the authorization_code (with PKCE) and refresh_token grants.
// Salesforce's answer has instance_url, id, issued_at (epoch ms as a
// string) and signature, and no expires_in; a refresh answer carries a
// refresh_token only when rotation is on.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	var access, refresh string
	var grant fakekit.Grant
	switch f.Get("grant_type") {
	case "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "grant type is missing")
		return
	case "authorization_code":
		if err := s.kit.Tokens.CheckClient(clientID, secret); err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
		var err error
		access, refresh, grant, err = s.kit.Tokens.ExchangeFor(clientID, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
		if err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
	case "refresh_token":
		if err := s.kit.Tokens.CheckClient(clientID, secret); err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
		var err error
		access, refresh, grant, err = s.kit.Tokens.Refresh(f.Get("refresh_token"))
		if err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	login := s.loginURL(r)
	instance := s.opts.InstanceURL
	if instance == "" {
		instance = login
	}
	id := login + "/id/" + orgID + "/" + userID
	issued := strconv.FormatInt(s.kit.Clock.Now().UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + issued))
	scope := grant.Scope
	if scope == "" {
		scope = "api refresh_token"
	}
	body := map[string]string{
		"access_token": access, "signature": base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"scope": scope, "instance_url": instance, "id": id, "token_type": "Bearer", "issued_at": issued,
	}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, http.StatusOK, body)
}

// revoke revokes an access or refresh token (form or query token=).
// Revoking a refresh token also ends the sessions issued from it; the fake
// cannot tell which, so it ends every session.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.Form.Get("token")
	if tok == "" {
		tokenError(w, http.StatusBadRequest, "unsupported_token_type", "this token type is not supported")
		return
	}
	if !s.kit.Tokens.Revoke(tok) {
		tokenError(w, http.StatusBadRequest, "invalid_token", "invalid token")
		return
	}
	if strings.HasPrefix(tok, "r_") {
		s.kit.Tokens.ExpireAll()
	}
	w.WriteHeader(http.StatusOK)
}

// ---------------------------------------------------------------------------
// Control (providertest.Fake and more)

// Kit returns the fake's shared state.
func (s *Server) Kit() *fakekit.Kit { return s.kit }

// Issue hands out an access and a refresh token without the consent page.
func (s *Server) Issue() (access, refresh string) {
	return s.kit.Tokens.Issue(fakekit.Grant{ClientID: s.opts.ClientID, Scope: "api refresh_token", Subject: "admin@fake-org.example"})
}

// IDs returns the live ids of object in store order.
func (s *Server) IDs(object string) []string {
	if o := s.object(object); o != nil {
		return s.kit.Store.IDs(o.Name)
	}
	return nil
}

// Touch gives a record a new SystemModstamp.
func (s *Server) Touch(object, id string) {
	s.txMu.RLock()
	defer s.txMu.RUnlock()
	if o := s.object(object); o != nil {
		_, _ = s.kit.Store.Touch(o.Name, id)
	}
}

// Delete moves a record to the recycle bin (queryAll shows it IsDeleted).
func (s *Server) Delete(object, id string) {
	s.txMu.RLock()
	defer s.txMu.RUnlock()
	if o := s.object(object); o != nil {
		_, _ = s.kit.Store.Delete(o.Name, id)
	}
}

// Get returns a record's stored fields with Id, SystemModstamp and
// IsDeleted, as the API names them.
func (s *Server) Get(object, id string) (map[string]any, bool) {
	o := s.object(object)
	if o == nil {
		return nil, false
	}
	rec, ok := s.kit.Store.Get(o.Name, id)
	if !ok {
		return nil, false
	}
	m := map[string]any{}
	for k, v := range rec.Fields {
		m[k] = v
	}
	m["Id"], m["IsDeleted"] = rec.ID, rec.Deleted
	m["SystemModstamp"] = rec.Modified.Format(timeLayout)
	return m, true
}

// Now is the fake's clock.
func (s *Server) Now() time.Time { return s.kit.Clock.Now() }

// Advance moves the clock.
func (s *Server) Advance(d time.Duration) { s.kit.Clock.Advance(d) }

// ExpireTokens ends every session: the next data call gets 401
// INVALID_SESSION_ID.
func (s *Server) ExpireTokens() { s.kit.Tokens.ExpireAll() }

// RevokeRefreshTokens revokes every refresh token: the next refresh gets
// invalid_grant "expired access/refresh token".
func (s *Server) RevokeRefreshTokens() { s.kit.Tokens.RevokeRefreshTokens() }

// Throttle answers the next n data requests with 403 REQUEST_LIMIT_EXCEEDED
// (Salesforce sends no Retry-After, so retryAfter is not sent either).
func (s *Server) Throttle(n int, retryAfter time.Duration) { s.kit.Faults.Throttle(n, retryAfter) }

// APIUsage returns the requests counted against the daily allocation.
func (s *Server) APIUsage() int {
	if s.limit <= 0 {
		return int(s.used.Load())
	}
	return s.daily.Used()
}

// timeLayout is Salesforce's datetime format.
const timeLayout = "2006-01-02T15:04:05.000-0700"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

var errNoObject = errors.New("no such object")
