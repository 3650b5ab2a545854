package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Environment variables that configure the API client; the flags of the
// same names win over them.
const (
	envServer  = "AMP_SERVER"
	envAPIKey  = "AMP_API_KEY"
	envProject = "AMP_PROJECT"
)

// defaultServer is where `amp serve` listens by default.
const defaultServer = "http://127.0.0.1:8080"

// maxResponse bounds what the client reads of one response.
const maxResponse = 32 << 20

// clientFlags are the connection flags of every command that talks to the
// runtime API.
type clientFlags struct {
	server, apiKey, project string
}

func addClientFlags(cmd *cobra.Command, f *clientFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "URL of the amp server (default $"+envServer+", else "+defaultServer+")")
	fl.StringVar(&f.apiKey, "api-key", "", "API key (default $"+envAPIKey+"; amp serve writes the admin key to <data>/admin-api-key)")
	fl.StringVar(&f.project, "project", "", "project ID or name (default $"+envProject+", else default)")
}

// apiClient calls the runtime's management API for one project.
type apiClient struct {
	base    *url.URL
	apiKey  string
	project string
	hc      *http.Client
}

// newClient resolves flags, then environment, then defaults. A missing API
// key or a malformed server URL is a usage error (exit 2).
func (f clientFlags) newClient() (*apiClient, error) {
	server := firstNonEmpty(f.server, os.Getenv(envServer), defaultServer)
	key := firstNonEmpty(f.apiKey, os.Getenv(envAPIKey))
	project := firstNonEmpty(f.project, os.Getenv(envProject), "default")
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--server %q is not an http:// or https:// URL", server)
	}
	if key == "" {
		return nil, usageErrorf("no API key: pass --api-key or set %s (amp serve wrote the admin key to <data>/admin-api-key)", envAPIKey)
	}
	return &apiClient{base: u, apiKey: key, project: project,
		hc: &http.Client{Timeout: 60 * time.Second, CheckRedirect: sameOriginRedirect}}, nil
}

// sameOriginRedirect follows a redirect only to the scheme and host of the
// first request: net/http would forward X-Api-Key to any host, and over
// plain http after an https one.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("refusing to follow a redirect to %s://%s: the API key is only sent to %s://%s",
			req.URL.Scheme, req.URL.Host, first.Scheme, first.Host)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// projectPath returns /v1/projects/{project} followed by the escaped
// segments.
func (c *apiClient) projectPath(segments ...string) string {
	p := "/v1/projects/" + url.PathEscape(c.project)
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// apiProblem is an application/problem+json answer.
type apiProblem struct {
	Status int      `json:"status"`
	Title  string   `json:"title"`
	Detail string   `json:"detail"`
	Causes []string `json:"causes"`
	Remedy string   `json:"remedy"`
	Issues []struct {
		In     string `json:"in"`
		Name   string `json:"name"`
		Detail string `json:"detail"`
	} `json:"issues"`
}

// errNotFound is wrapped by do's error on a 404, so callers can tell a
// missing resource from a failure.
var errNotFound = errors.New("not found")

// requestError is a 4xx or 5xx answer, printed as the server described it.
type requestError struct {
	method, path string
	problem      apiProblem
}

func (e *requestError) Error() string {
	p := e.problem
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.method, e.path, p.Status, firstNonEmpty(p.Title, http.StatusText(p.Status)))
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	for _, c := range p.Causes {
		if c != p.Detail {
			b.WriteString("\n  - " + c)
		}
	}
	if p.Remedy != "" {
		b.WriteString("\n" + p.Remedy)
	}
	if p.Status == http.StatusUnauthorized {
		fmt.Fprintf(&b, "\ncheck --api-key or %s", envAPIKey)
	}
	return b.String()
}

// Unwrap gives Main the exit status (1) and message, and errors.Is
// errNotFound on a 404.
func (e *requestError) Unwrap() []error {
	errs := []error{&exitError{code: exitFailure, msg: e.Error()}}
	if e.problem.Status == http.StatusNotFound {
		errs = append(errs, errNotFound)
	}
	return errs
}

// do sends body (JSON-encoded unless nil) and decodes a 2xx answer into out
// (when not nil). Errors are exitErrors: 2 when the server cannot be
// reached, 1 when it answered an error (wrapping errNotFound on a 404).
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		raw = b
	}
	resp, err := c.exchange(ctx, method, path, query, nil, raw)
	if err != nil {
		return err
	}
	if resp.status >= 300 {
		return resp.problem(method, path)
	}
	if out == nil || resp.status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return &exitError{code: exitFailure, msg: fmt.Sprintf("%s %s: unexpected answer: %v", method, path, err)}
	}
	return nil
}

// answer is a response read whole.
type answer struct {
	status      int
	contentType string
	body        []byte
}

// problem is the error of a 4xx or 5xx answer.
func (a *answer) problem(method, path string) error {
	re := &requestError{method: method, path: path}
	if json.Unmarshal(a.body, &re.problem) != nil || re.problem.Status == 0 {
		re.problem = apiProblem{Status: a.status, Detail: snippet(a.body)}
	}
	re.problem.Status = a.status
	return re
}

// exchange sends body (JSON, when not nil) with the extra headers and
// returns the answer whatever its status. It fails only when the server
// cannot be reached or read (exit 2 and 1).
func (c *apiClient) exchange(ctx context.Context, method, path string, query url.Values, header http.Header, body []byte) (*answer, error) {
	// path is already escaped (projectPath); Path must be its unescaped
	// form, or url.URL escapes the escapes (%2F becoming %252F).
	u := *c.base
	escaped := c.base.EscapedPath() + path
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, usageErrorf("path %q: %v", path, err)
	}
	u.Path, u.RawPath = unescaped, escaped
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("X-Api-Key", c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &exitError{code: exitFailure, msg: ctx.Err().Error()}
		}
		return nil, &exitError{code: exitUsage, msg: fmt.Sprintf("cannot reach the amp server at %s: %v\nIs it running? Start it with 'amp serve', or point --server or %s at it.",
			c.base.Redacted(), rootCause(err), envServer)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &exitError{code: exitFailure, msg: fmt.Sprintf("%s %s: reading the answer: %v", method, path, err)}
	}
	return &answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: data}, nil
}

// rootCause strips url.Error's "Get \"http://...\":" prefix, which repeats
// the URL.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
