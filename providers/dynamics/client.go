package dynamics

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/providers"
)

// APIPath is the Dataverse Web API's path under the organisation URL.
const APIPath = "/api/data/v9.2/"

// Interface guards.
var (
	_ providers.Connector      = (*Client)(nil)
	_ providers.MetadataReader = (*Client)(nil)
	_ providers.Reader         = (*Client)(nil)
	_ providers.RecordGetter   = (*Client)(nil)
	_ providers.Writer         = (*Client)(nil)
)

// Client is the Dataverse Web API connector for one organisation.
type Client struct {
	http    *http.Client
	api     string // organisation URL + APIPath
	onQuota func(providers.Quota)
	limits  serverLimits

	mu       sync.Mutex
	entities map[string]entityInfo // by entity set name
}

// entityInfo is what the client needs to know about a table.
type entityInfo struct {
	logical, set, primaryID string
	custom                  bool
	display                 string
}

// New returns a connector for cfg.BaseURL, the organisation URL
// (https://{org}.crm.dynamics.com, with or without the Web API path).
// cfg.HTTPClient carries the credentials (providers.NewAuthClient).
func New(cfg providers.Config) (*Client, error) {
	if cfg.HTTPClient == nil {
		return nil, errors.New("dynamics: Config.HTTPClient is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = cfg.Metadata[MetaOrgURL]
	}
	base = strings.TrimSuffix(strings.TrimSuffix(base, "/"), strings.TrimSuffix(APIPath, "/"))
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("dynamics: BaseURL %q is not an organisation URL such as https://contoso.crm.dynamics.com", cfg.BaseURL)
	}
	return &Client{http: cfg.HTTPClient, api: base + APIPath, onQuota: cfg.OnQuota, entities: map[string]entityInfo{}}, nil
}

// Provider returns the catalog key.
func (c *Client) Provider() string { return Name }

// request is one Web API call.
type request struct {
	method string
	// url is absolute, or relative to the Web API base.
	url    string
	header http.Header
	body   []byte
}

func (c *Client) absolute(u string) string {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return u
	}
	return c.api + u
}

// do sends a request. A response with an error status is classified and
// returned as a *providers.Error (its body drained and closed); otherwise
// the caller must drain and close the body.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.absolute(r.url), body)
	if err != nil {
		return nil, fmt.Errorf("dynamics: building %s request: %w", r.method, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if r.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, r.method, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		err := classify(resp)
		c.limits.learn(err)
		c.quota(resp.Header)
		return nil, err
	}
	c.quota(resp.Header)
	return resp, nil
}

// transportError wraps a failed round trip: an error the auth client
// already classified keeps its kind, a cancelled context stays itself, and
// anything else (connection reset, timeout) is retryable.
func transportError(ctx context.Context, method string, err error) error {
	var pe *providers.Error
	switch {
	case errors.As(err, &pe):
		if pe.Provider == "" {
			pe.Provider = Name
		}
		return fmt.Errorf("dynamics: %s: %w", method, err)
	case ctx.Err() != nil:
		return fmt.Errorf("dynamics: %s: %w", method, ctx.Err())
	}
	return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: method + " failed before a response", Err: err}
}

// done drains and closes a response body.
func done(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Service-protection readings.
//
// Dataverse sends two debug headers on its answers: the requests left in
// the sliding window (x-ms-ratelimit-burst-remaining-xrm-requests, "5999"
// on a fresh window: the request itself is counted) and the combined
// execution time left (x-ms-ratelimit-time-remaining-xrm-requests, seconds
// as "1,199.46"). Neither says what the limit is, and the limits vary by
// environment (6,000 requests is only the default), so the client learns
// the limit the server applies rather than assuming the catalog's:
//   - from the server's own words: the 429 messages state the limits
//     ("Number of requests exceeded the limit of 6000 over time window of
//     300 seconds.", "... exceeded limit of 1,200,000 milliseconds over
//     time window of 300 seconds. ..."); once seen, that is the limit;
//   - until then from the headers: the most remaining ever seen, plus the
//     request it was counted after (for requests), is a lower bound that is
//     exact when the client met a fresh window, as a new connection does.
// The window comes from those messages too; until one is seen it is the
// catalog's (Dataverse's documented 300 seconds), which no header reports.
// Each header becomes one providers.Quota: for the request header Used and
// Limit count requests; for the time header (Source
// x-ms-ratelimit-time-remaining-xrm-requests) they count milliseconds of
// execution time.

// Debug header names.
const (
	headerBurst = "x-ms-ratelimit-burst-remaining-xrm-requests"
	headerTime  = "x-ms-ratelimit-time-remaining-xrm-requests"
)

// serverLimits is what the client has learnt of the server's
// service-protection limits.
type serverLimits struct {
	mu sync.Mutex
	// requests and execMillis are the limits the server stated in a 429;
	// zero until it has.
	requests, execMillis  int64
	reqWindow, execWindow time.Duration
	// maxBurst and maxTime are the most remaining seen in the headers
	// (meaningful once seenBurst and seenTime are set).
	maxBurst, maxTime   int64
	seenBurst, seenTime bool
}

// limitMessage matches the limit and window in a service-protection
// message, in the wordings Dataverse has used.
var limitMessage = regexp.MustCompile(`limit of ([\d,]+)\s*(milliseconds|seconds)?,?\s*(?:measured\s+)?over (?:the )?time window of ([\d,]+) seconds`)

// learn takes the limits a service-protection refusal states.
func (l *serverLimits) learn(err error) {
	var pe *providers.Error
	if !errors.As(err, &pe) || (pe.Code != codeRequests && pe.Code != codeExecTime) {
		return
	}
	m := limitMessage.FindStringSubmatch(pe.Message)
	if m == nil {
		return
	}
	n, err1 := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	secs, err2 := strconv.ParseInt(strings.ReplaceAll(m[3], ",", ""), 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || secs <= 0 {
		return
	}
	window := time.Duration(secs) * time.Second
	l.mu.Lock()
	defer l.mu.Unlock()
	if pe.Code == codeRequests {
		l.requests, l.reqWindow = n, window
		return
	}
	if m[2] != "milliseconds" {
		n *= 1000
	}
	l.execMillis, l.execWindow = n, window
}

// readings turns the debug headers into quotas.
func (l *serverLimits) readings(h http.Header) []providers.Quota {
	var out []providers.Quota
	defWindow := time.Duration(spec.RateLimit.WindowSeconds) * time.Second
	l.mu.Lock()
	defer l.mu.Unlock()
	if remaining, ok := parseCount(h.Get(headerBurst)); ok {
		if !l.seenBurst || remaining > l.maxBurst {
			l.maxBurst, l.seenBurst = remaining, true
		}
		limit, window := l.requests, cmp.Or(l.reqWindow, defWindow)
		if limit == 0 {
			limit = l.maxBurst + 1
		}
		out = append(out, providers.Quota{Used: int(max(limit-remaining, 0)), Limit: int(limit), Window: window, Source: headerBurst})
	}
	if remaining, ok := parseMillis(h.Get(headerTime)); ok {
		if !l.seenTime || remaining > l.maxTime {
			l.maxTime, l.seenTime = remaining, true
		}
		limit, window := l.execMillis, cmp.Or(l.execWindow, defWindow)
		if limit == 0 {
			limit = l.maxTime
		}
		out = append(out, providers.Quota{Used: int(max(limit-remaining, 0)), Limit: int(limit), Window: window, Source: headerTime})
	}
	return out
}

// parseCount reads a whole number that may carry thousands separators.
func parseCount(v string) (int64, bool) {
	v = strings.ReplaceAll(strings.TrimSpace(v), ",", "")
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}

// parseMillis reads the time header's seconds ("1,199.46") as
// milliseconds.
func parseMillis(v string) (int64, bool) {
	v = strings.ReplaceAll(strings.TrimSpace(v), ",", "")
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return int64(math.Round(f * 1000)), true
}

// quota reports the service-protection readings of a response.
func (c *Client) quota(h http.Header) {
	if c.onQuota == nil {
		return
	}
	for _, q := range c.limits.readings(h) {
		c.onQuota(q)
	}
}

// odataError is the Web API's error body.
type odataError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Service-protection and other codes with a kind of their own.
const (
	codeRequests    = "0x80072322" // number of requests exceeded
	codeExecTime    = "0x80072321" // combined execution time exceeded
	codeConcurrency = "0x80072326" // concurrent requests exceeded
	codeNotFound    = "0x80040217"
	codePrivilege   = "0x80040220"
	codeDuplicate   = "0x80040237"
	codeRowVersion  = "0x80060882"
)

// kindFor classifies an OData error by code, then by status.
func kindFor(status int, code string) providers.ErrorKind {
	switch code {
	case codeRequests, codeExecTime, codeConcurrency:
		return providers.KindRateLimited
	case codePrivilege:
		return providers.KindForbidden
	case codeDuplicate, codeRowVersion:
		return providers.KindConflict
	case codeNotFound:
		if status == http.StatusNotFound {
			return providers.KindNotFound
		}
	}
	if status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout {
		return providers.KindRetryable
	}
	return providers.KindForStatus(status)
}

// classify turns an error response into a *providers.Error. The caller
// closes the body.
func classify(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	var eb odataError
	_ = json.Unmarshal(body, &eb)
	e := &providers.Error{
		Kind: kindFor(resp.StatusCode, eb.Error.Code), Provider: Name, Status: resp.StatusCode,
		Code: eb.Error.Code, Message: eb.Error.Message,
	}
	if resp.StatusCode == http.StatusUnauthorized && e.Message == "" {
		e.Message = "the access token was refused"
		if wa := resp.Header.Get("WWW-Authenticate"); wa != "" {
			e.Message += " (" + wa + ")"
		}
	}
	if e.Message == "" && len(body) > 0 && eb.Error.Code == "" {
		e.Message = strings.TrimSpace(string(body[:min(len(body), 300)]))
	}
	if e.Kind == providers.KindRateLimited || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
		if e.RetryAfter == 0 && e.Kind == providers.KindRateLimited {
			e.RetryAfter = 5 * time.Second
		}
	}
	return e
}

// retryAfter parses Retry-After: seconds (what Dataverse sends) or an
// HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// getJSON GETs url and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, url string, header http.Header, v any) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, url: url, header: header})
	if err != nil {
		return err
	}
	defer done(resp)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode, Message: "malformed JSON response", Err: err}
	}
	return nil
}

// odataQuote quotes a string literal for OData (” escapes ').
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
