package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/ampforge/amp/providers"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// Client is the HubSpot connector for one connection. It is safe for
// concurrent use.
type Client struct {
	http    *http.Client
	base    string
	onQuota func(providers.Quota)
	// account and searchLimit pace searches (see pace.go).
	account     accountKey
	searchLimit rate.Limit
	// twoEnded makes full reads list and search at once (fullread.go);
	// proof tells whether searches are outside the burst window (proof.go).
	twoEnded bool
	proof    windowProof
}

// provider is HubSpot's registered provider: the catalog entry plus the
// connector factory.
type provider struct{}

func (provider) Spec() *providers.Spec { return spec }

func (provider) NewConnector(cfg providers.Config) (providers.Connector, error) { return New(cfg) }

// OAuthConfig returns the connect flow's client configuration (see the
// package function OAuthConfig).
func (provider) OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error) {
	return OAuthConfig(clientID, clientSecret, redirectURL, inputs, scopes)
}

// CheckBaseURL: see the package function CheckBaseURL.
func (provider) CheckBaseURL(baseURL string) error { return CheckBaseURL(baseURL) }

// InspectToken keeps hub_id, hub_domain and user. HubSpot's v1 token
// response has neither the portal nor the scopes, so it asks the token
// info endpoint.
func (provider) InspectToken(ctx context.Context, client *http.Client, apiBase string, tok *oauth2.Token) (map[string]string, []string, error) {
	md := TokenMetadata(tok)
	if md["hub_id"] == "" || md["scopes"] == "" {
		info, err := TokenInfo(ctx, client, apiBase, tok.AccessToken)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range info {
			if md[k] == "" && v != "" {
				md[k] = v
			}
		}
	}
	granted := strings.Fields(md["scopes"])
	delete(md, "scopes")
	return md, granted, nil
}

// New builds a connector. cfg.HTTPClient must carry the connection's
// credentials (providers.NewAuthClient); cfg.BaseURL defaults to
// https://api.hubapi.com. Searches are paced to HubSpot's per-account
// search limit, shared with every other Client of the account in this
// process: the account is cfg.Metadata["hub_id"] or, without it,
// cfg.HTTPClient. cfg.Metadata[MetadataSearchPerSecond] overrides the
// limit (fakes); cfg.Metadata[MetadataTwoEndedRead] "off" makes full reads
// list only.
func New(cfg providers.Config) (*Client, error) {
	if cfg.HTTPClient == nil {
		return nil, errors.New("hubspot: Config.HTTPClient is required (it carries the connection's token)")
	}
	if cfg.Module != "" && cfg.Module != moduleCRM {
		return nil, fmt.Errorf("hubspot: unknown module %q", cfg.Module)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	limit, err := searchLimit(cfg.Metadata)
	if err != nil {
		return nil, err
	}
	twoEnded, err := twoEndedRead(cfg.Metadata)
	if err != nil {
		return nil, err
	}
	return &Client{http: cfg.HTTPClient, base: base, onQuota: cfg.OnQuota, account: accountOf(cfg, base), searchLimit: limit,
		twoEnded: twoEnded}, nil
}

// Provider returns "hubspot".
func (c *Client) Provider() string { return Name }

// MaxBatch is HubSpot's batch size (100 inputs a call).
func (c *Client) MaxBatch() int { return spec.Batch.WriteBatchSize }

// SupportsAllOrNone is false: HubSpot's batch APIs apply each input on its
// own and report failures per input (207), with no rollback option.
func (c *Client) SupportsAllOrNone() bool { return false }

// do sends one request and returns the response body of a 2xx answer. Any
// other answer, or a transport failure, is returned as a *providers.Error.
// body, when non-nil, is JSON-encoded.
func (c *Client) do(ctx context.Context, method, url string, body any) (int, []byte, error) {
	var rd io.Reader
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, fmt.Errorf("hubspot: encoding %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("hubspot: building %s %s: %w", method, url, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	search := strings.HasSuffix(url, "/search")
	sentAt := time.Now()
	pacers.sent(c.account, sentAt)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, transportError(ctx, method, url, err)
	}
	defer resp.Body.Close()
	c.quota(resp.Header, sentAt)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, resp.Body)
		perr := classify(resp.StatusCode, resp.Header, b)
		if resp.StatusCode == http.StatusTooManyRequests && (perr.Code == policyBurst || !search && perr.Code != "DAILY") {
			// The window refused a request (a search too: then searches
			// are the window's after all). See proof.go.
			c.proof.refuse()
			pacers.exhausted(c.account, time.Now())
		}
		return resp.StatusCode, b, perr
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode,
			Message: "reading the response failed", Err: fmt.Errorf("%s %s: %w", method, url, err)}
	}
	c.proof.completed(sentAt, time.Now(), search)
	return resp.StatusCode, b, nil
}

func transportError(ctx context.Context, method, url string, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		// The auth transport could not renew the token.
		if pe.Provider == "" {
			pe.Provider = Name
		}
		return fmt.Errorf("hubspot: %s %s: %w", method, url, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("hubspot: %s %s: %w", method, url, err)
	}
	return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: "request failed", Err: fmt.Errorf("%s %s: %w", method, url, err)}
}

// apiError is HubSpot's error body (providers.md §2.3).
type apiError struct {
	Status        string          `json:"status"`
	Message       string          `json:"message"`
	CorrelationID string          `json:"correlationId"`
	Category      string          `json:"category"`
	SubCategory   string          `json:"subCategory"`
	ErrorType     string          `json:"errorType"`
	PolicyName    string          `json:"policyName"`
	Context       map[string]any  `json:"context"`
	Errors        []apiErrorEntry `json:"errors"`
}

type apiErrorEntry struct {
	Message string              `json:"message"`
	Code    string              `json:"code"`
	Context map[string][]string `json:"context"`
}

// classify turns a non-2xx answer into a *providers.Error, once.
func classify(status int, h http.Header, body []byte) *providers.Error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	e := &providers.Error{Kind: providers.KindForStatus(status), Provider: Name, Status: status, Message: ae.Message}
	e.Code = ae.Category
	if e.Code == "" && ae.Status != "" && ae.Status != "error" {
		e.Code = ae.Status // OAuth errors: BAD_REFRESH_TOKEN...
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	if ae.CorrelationID != "" {
		e.Message += " (correlationId " + ae.CorrelationID + ")"
	}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind = providers.KindRateLimited
		e.Code = ae.PolicyName
		if e.Code == "" {
			e.Code = ae.ErrorType
		}
		e.RetryAfter = retryAfter(h, ae.PolicyName)
	case status == 423: // locked: concurrent updates to one record
		e.Kind, e.RetryAfter = providers.KindRetryable, 2*time.Second
	case status == http.StatusBadRequest && strings.HasPrefix(ae.Message, "Unable to infer object type"):
		e.Kind = providers.KindNotFound
		e.Code = "OBJECT_TYPE_NOT_FOUND"
	case ae.Category == "MISSING_SCOPES":
		e.Kind = providers.KindForbidden
	case ae.Category == "CONFLICT":
		e.Kind = providers.KindConflict
	case ae.Category == "OBJECT_NOT_FOUND":
		e.Kind = providers.KindNotFound
	case ae.Category == "INVALID_AUTHENTICATION" || ae.Category == "EXPIRED_AUTHENTICATION":
		e.Kind = providers.KindAuth
	}
	if e.Code == "" && len(ae.Errors) > 0 {
		e.Code = ae.Errors[0].Code
	}
	return e
}

// retryAfter reads Retry-After when HubSpot sends it; otherwise it backs
// off by policy, as HubSpot's SDKs do: the burst window's interval, a
// second for search, an hour for the daily quota.
func retryAfter(h http.Header, policy string) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), time.Second)
		}
	}
	switch policy {
	case "SECONDLY", "SEARCH_SECONDLY":
		return time.Second
	case "DAILY":
		return time.Hour
	}
	if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return 10 * time.Second
}

// quota reports the rate-limit headers to cfg.OnQuota: the burst window
// and, for private apps, the daily quota. The burst window's reading is
// also kept for the account (pace.go), with or without OnQuota; sentAt is
// when the request that brought it left.
func (c *Client) quota(h http.Header, sentAt time.Time) {
	// A reading is taken only when both the limit and what remains of it
	// parse: a missing Remaining must not look like an exhausted quota.
	limit, err1 := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Max"))
	rem, err2 := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Remaining"))
	if err1 == nil && err2 == nil {
		win := defaultBurstWindow
		if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
			win = time.Duration(ms) * time.Millisecond
		}
		now := time.Now()
		pacers.observed(c.account, limit, rem, win, now)
		c.proof.observed(limit-rem, win, sentAt, now)
		if c.onQuota != nil {
			c.onQuota(providers.Quota{Used: limit - rem, Limit: limit, Window: win, Source: "X-HubSpot-RateLimit"})
		}
	}
	if c.onQuota == nil {
		return
	}
	daily, err1 := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Daily"))
	rem, err2 = strconv.Atoi(h.Get("X-HubSpot-RateLimit-Daily-Remaining"))
	if err1 == nil && err2 == nil {
		c.onQuota(providers.Quota{Used: daily - rem, Limit: daily, Window: 24 * time.Hour, Source: "X-HubSpot-RateLimit-Daily"})
	}
}

// Interface guards.
var (
	_ providers.Connector         = (*Client)(nil)
	_ providers.Reader            = (*Client)(nil)
	_ providers.RecordGetter      = (*Client)(nil)
	_ providers.Writer            = (*Client)(nil)
	_ providers.MetadataReader    = (*Client)(nil)
	_ providers.ConnectorProvider = provider{}
)
