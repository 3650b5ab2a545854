package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
)

// APIVersion is the REST API version the connector speaks (the version of
// the recorded fixtures). Bulk API 2.0 job results must be fetched with the
// version that created the job, so one Client uses one version throughout.
const APIVersion = "v60.0"

// Retry delays for REQUEST_LIMIT_EXCEEDED, which Salesforce sends without a
// Retry-After header. The daily allocation is a rolling 24-hour window, so
// waiting seconds does not help: the engine is asked to come back in 15
// minutes. The same code also refuses requests beyond the concurrent
// long-running-request cap (25 requests of 20 s or more), which clears in
// seconds.
const (
	retryAfterDailyLimit  = 15 * time.Minute
	retryAfterConcurrency = 30 * time.Second
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// Client is a Salesforce connector for one connection. It is safe for
// concurrent use.
type Client struct {
	http    *http.Client
	base    string // instance_url without a trailing slash
	data    string // base + "/services/data/" + APIVersion
	onQuota func(providers.Quota)
	module  string

	// bulkPoll is the first delay between Bulk API job polls; it doubles
	// up to bulkPollMax. The first poll is immediate.
	bulkPoll, bulkPollMax time.Duration
	// bulkChunk is the maxRecords asked of each Bulk results request.
	bulkChunk int
}

// Interface guards.
var (
	_ providers.Connector           = (*Client)(nil)
	_ providers.MetadataReader      = (*Client)(nil)
	_ providers.Reader              = (*Client)(nil)
	_ providers.RecordGetter        = (*Client)(nil)
	_ providers.BulkReader          = (*Client)(nil)
	_ providers.ResumableBulkReader = (*Client)(nil)
	_ providers.BulkAheadReader     = (*Client)(nil)
	_ providers.Writer              = (*Client)(nil)
	_ providers.ConnectorProvider   = provider{}
)

// provider is the registered catalog entry that also builds connectors.
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

// InspectToken keeps instance_url, id, org_id and user_id, and derives the
// workspace (the My Domain name, which @amp-labs/react asks for otherwise)
// from instance_url. Salesforce echoes the granted scopes in `scope`.
func (provider) InspectToken(_ context.Context, _ *http.Client, _ string, tok *oauth2.Token) (map[string]string, []string, error) {
	md := TokenMetadata(tok)
	delete(md, "issued_at") // changes with every refresh; not metadata
	if u, err := url.Parse(md["instance_url"]); err == nil && u.Hostname() != "" {
		ws, _, _ := strings.Cut(u.Hostname(), ".my.salesforce.com")
		md["workspace"] = ws
	}
	var granted []string
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		granted = strings.Fields(s)
	}
	return md, granted, nil
}

// New returns a connector for one connection. cfg.BaseURL is the
// connection's instance_url (see TokenMetadata); cfg.HTTPClient carries its
// credentials (providers.NewAuthClient).
func New(cfg providers.Config) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		return nil, errors.New("salesforce: Config.BaseURL (the connection's instance_url) is required")
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, fmt.Errorf("salesforce: Config.BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	module := spec.ResolveModule(cfg.Module)
	if module != moduleCRM {
		return nil, fmt.Errorf("salesforce: module %q has no connector yet (only %q)", module, moduleCRM)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{
		http: hc, base: base, data: base + "/services/data/" + APIVersion,
		onQuota: cfg.OnQuota, module: module,
		bulkPoll: 500 * time.Millisecond, bulkPollMax: 10 * time.Second, bulkChunk: 50000,
	}, nil
}

// SetBulkPolling sets the delay before the second Bulk API job poll (it
// doubles up to max) and the records asked per results chunk (0 keeps the
// default of 50,000). Tests against the fake use a zero delay.
func (c *Client) SetBulkPolling(first, max time.Duration, chunk int) {
	c.bulkPoll, c.bulkPollMax = first, max
	if chunk > 0 {
		c.bulkChunk = chunk
	}
}

// Provider returns "salesforce".
func (c *Client) Provider() string { return Name }

// SupportsAllOrNone reports that sObject Collections honour allOrNone.
func (c *Client) SupportsAllOrNone() bool { return true }

// MaxBatch is the sObject Collections limit from the catalog (200).
func (c *Client) MaxBatch() int { return spec.Batch.WriteBatchSize }

// do sends one request and returns the response when its status is 2xx;
// any other answer is drained, closed and returned as a classified
// *providers.Error. The caller must close a returned body.
func (c *Client) do(req *http.Request, what string) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(req.Context(), what, err)
	}
	c.quota(resp.Header)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer drain(resp.Body)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, fmt.Errorf("salesforce: %s: %w", what, classify(resp.StatusCode, body))
}

// doJSON sends a request and decodes a 2xx JSON answer into out (when out
// is not nil).
func (c *Client) doJSON(ctx context.Context, method, url string, in any, out any, what string, hdr ...string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("salesforce: %s: encoding the request: %w", what, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("salesforce: %s: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.do(req, what)
	if err != nil {
		return err
	}
	defer drain(resp.Body)
	if out == nil {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return transportError(ctx, what, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Status: resp.StatusCode,
			Message: what + ": the response is not the expected JSON (truncated?)", Err: err}
	}
	return nil
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<20))
	_ = body.Close()
}

// transportError wraps a failure to get an answer. A classified error (the
// auth client's failed refresh) keeps its kind; a cancelled context is
// returned as is; anything else (timeouts, resets) is retryable.
func transportError(ctx context.Context, what string, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		if pe.Provider == "" {
			pe.Provider = Name
		}
		return fmt.Errorf("salesforce: %s: %w", what, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("salesforce: %s: %w", what, ctx.Err())
	}
	return &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: what, Err: err}
}

// apiError is one element of Salesforce's error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// classify turns an error response into a *providers.Error. Salesforce
// error bodies are JSON arrays [{message, errorCode, fields}]; the first
// element decides.
func classify(status int, body []byte) *providers.Error {
	e := &providers.Error{Kind: providers.KindForStatus(status), Provider: Name, Status: status}
	var list []apiError
	if err := json.Unmarshal(body, &list); err == nil && len(list) > 0 {
		e.Code, e.Message = list[0].ErrorCode, list[0].Message
		if len(list) > 1 {
			e.Message += fmt.Sprintf(" (and %d more errors)", len(list)-1)
		}
	} else {
		// The token endpoint and some gateways answer with an object.
		var obj struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &obj) == nil && obj.Error != "" {
			e.Code, e.Message = obj.Error, obj.Description
		} else if len(body) > 0 {
			e.Message = strings.TrimSpace(string(body[:min(len(body), 300)]))
		}
	}
	if k, ok := kindForCode(e.Code); ok {
		e.Kind = k
	}
	if e.Kind == providers.KindRateLimited {
		e.RetryAfter = retryAfterDailyLimit
		if strings.Contains(e.Message, "Concurrent") {
			e.RetryAfter = retryAfterConcurrency
		}
	}
	return e
}

// kindForCode classifies Salesforce error codes (REST errorCode and
// per-record statusCode).
func kindForCode(code string) (providers.ErrorKind, bool) {
	switch code {
	case "":
		return 0, false
	case "INVALID_SESSION_ID", "INVALID_AUTH_HEADER", "invalid_grant":
		return providers.KindAuth, true
	case "REQUEST_LIMIT_EXCEEDED", "TOO_MANY_REQUESTS":
		return providers.KindRateLimited, true
	case "MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "INVALID_QUERY_LOCATOR", "INVALID_QUERY_FILTER_OPERATOR",
		"JSON_PARSER_ERROR", "REQUIRED_FIELD_MISSING", "INVALID_FIELD_FOR_INSERT_UPDATE", "MALFORMED_ID",
		"MISSING_ARGUMENT", "INVALID_CROSS_REFERENCE_KEY", "STRING_TOO_LONG", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
		"FIELD_CUSTOM_VALIDATION_EXCEPTION", "INVALID_ID_FIELD", "INVALID_TYPE_ON_FIELD_IN_RECORD",
		"ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALIDJOBSTATE", "API_VERSION_MISMATCH", "INVALID_EMAIL_ADDRESS",
		"INVALIDJOB", "JOB_NOT_COMPLETE", "INVALID_REPLICATION_DATE", "EXCEEDED_ID_LIMIT", "PROCESSING_HALTED":
		return providers.KindInvalid, true
	case "NOT_FOUND", "ENTITY_IS_DELETED", "INVALIDENTITY":
		return providers.KindNotFound, true
	case "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
		"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "FUNCTIONALITY_NOT_ENABLED":
		return providers.KindForbidden, true
	case "DUPLICATE_VALUE", "DUPLICATES_DETECTED", "DUPLICATE_EXTERNAL_ID":
		return providers.KindConflict, true
	case "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT":
		return providers.KindRetryable, true
	}
	return 0, false
}

// quota passes a Sforce-Limit-Info reading ("api-usage=10018/100000") to
// OnQuota.
func (c *Client) quota(h http.Header) {
	if c.onQuota == nil {
		return
	}
	if q, ok := parseLimitInfo(h.Get("Sforce-Limit-Info")); ok {
		c.onQuota(q)
	}
}

func parseLimitInfo(v string) (providers.Quota, bool) {
	for part := range strings.SplitSeq(v, ";") {
		part = strings.TrimSpace(part)
		rest, ok := strings.CutPrefix(part, "api-usage=")
		if !ok {
			continue
		}
		used, limit, ok := strings.Cut(rest, "/")
		if !ok {
			return providers.Quota{}, false
		}
		u, err1 := strconv.Atoi(strings.TrimSpace(used))
		l, err2 := strconv.Atoi(strings.TrimSpace(limit))
		if err1 != nil || err2 != nil {
			return providers.Quota{}, false
		}
		return providers.Quota{Used: u, Limit: l, Window: 24 * time.Hour, Source: "Sforce-Limit-Info"}, true
	}
	return providers.Quota{}, false
}
