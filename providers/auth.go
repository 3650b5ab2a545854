package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
)

// TokenSource yields a connection's access token and renews it when the
// provider refuses it.
type TokenSource interface {
	// Token returns the current access token, refreshing it first when it
	// is known to have expired.
	Token(ctx context.Context) (*oauth2.Token, error)
	// Refresh renews the token after the provider refused the given one. When
	// another caller already renewed it, Refresh returns that newer token
	// without a second refresh: providers that rotate refresh tokens
	// invalidate the loser of a race.
	Refresh(ctx context.Context, refused *oauth2.Token) (*oauth2.Token, error)
}

// OAuthSource is a TokenSource over an OAuth 2.0 client configuration. It
// refreshes before expiry (when the provider says when, which Salesforce
// does not), once at a time, and on demand after a 401.
type OAuthSource struct {
	config *oauth2.Config
	// client is used for the token endpoint; nil means http.DefaultClient.
	client *http.Client
	// onToken receives every new token, to persist it (sealed).
	onToken func(*oauth2.Token)

	mu  sync.Mutex
	tok *oauth2.Token
	seq uint64 // counts refreshes, so saves happen in order

	saveMu sync.Mutex
	saved  uint64 // seq of the last token handed to onToken
}

// NewOAuthSource returns a TokenSource that starts from tok. client (may be
// nil) calls the token endpoint; onToken (may be nil) is called with every
// refreshed token, outside any lock the caller holds.
func NewOAuthSource(cfg *oauth2.Config, tok *oauth2.Token, client *http.Client, onToken func(*oauth2.Token)) *OAuthSource {
	return &OAuthSource{config: cfg, client: client, onToken: onToken, tok: tok}
}

// Token returns the current token, refreshed first when expired.
func (s *OAuthSource) Token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	tok := s.tok
	s.mu.Unlock()
	if tok != nil && tok.Valid() {
		return tok, nil
	}
	return s.Refresh(ctx, tok)
}

// Refresh renews the token unless it changed since refused was handed out.
func (s *OAuthSource) Refresh(ctx context.Context, refused *oauth2.Token) (*oauth2.Token, error) {
	s.mu.Lock()
	if s.tok != nil && refused != nil && s.tok.AccessToken != refused.AccessToken && s.tok.Valid() {
		tok := s.tok
		s.mu.Unlock()
		return tok, nil
	}
	if s.tok == nil || s.tok.RefreshToken == "" {
		s.mu.Unlock()
		return nil, &Error{Kind: KindAuth, Code: "no_refresh_token", Message: "the access token was refused and there is no refresh token; the customer must reconnect"}
	}
	if s.client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	}
	// An expired copy makes the library refresh; it keeps the old refresh
	// token when the response carries none (Salesforce without rotation).
	stale := &oauth2.Token{RefreshToken: s.tok.RefreshToken}
	tok, err := s.config.TokenSource(ctx, stale).Token()
	if err != nil {
		s.mu.Unlock()
		return nil, classifyTokenError(err)
	}
	s.tok = tok
	s.seq++
	seq := s.seq
	// Saving (sealing, a database write) happens outside mu, so a slow
	// store does not stall every request on the connection and a callback
	// may call Token. saveMu and seq keep saves in refresh order: with
	// rotating refresh tokens only the newest one works.
	s.mu.Unlock()
	if s.onToken != nil {
		s.saveMu.Lock()
		if seq > s.saved {
			s.saved = seq
			s.onToken(tok)
		}
		s.saveMu.Unlock()
	}
	return tok, nil
}

func classifyTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		kind := KindAuth
		if re.Response != nil && (re.Response.StatusCode >= 500 || re.Response.StatusCode == 429) {
			kind = KindForStatus(re.Response.StatusCode)
		}
		msg := re.ErrorDescription
		if msg == "" {
			msg = "token refresh refused"
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return &Error{Kind: kind, Status: status, Code: re.ErrorCode, Message: msg, Err: err}
	}
	return &Error{Kind: KindRetryable, Message: "token refresh failed", Err: err}
}

// StaticTokens is a TokenSource for a fixed token (private apps, tests). A
// refused token cannot be renewed.
type StaticTokens struct{ Tok *oauth2.Token }

// Token returns the fixed token.
func (s StaticTokens) Token(context.Context) (*oauth2.Token, error) { return s.Tok, nil }

// Refresh fails: a static token cannot be renewed.
func (s StaticTokens) Refresh(context.Context, *oauth2.Token) (*oauth2.Token, error) {
	return nil, &Error{Kind: KindAuth, Code: "static_token", Message: "the static access token was refused"}
}

// NewAuthClient returns a client that sends ts's token as a Bearer header
// and, when the provider answers 401, renews the token once and retries the
// request. base (may be nil) supplies the underlying transport and timeout.
func NewAuthClient(base *http.Client, ts TokenSource) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &authTransport{base: rt, ts: ts}
	return c
}

type authTransport struct {
	base http.RoundTripper
	ts   TokenSource
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.ts.Token(ctx)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	retry, ok := replayable(req)
	if !ok {
		return resp, nil
	}
	newTok, rerr := t.ts.Refresh(ctx, tok)
	if rerr != nil {
		// The refusal itself says nothing the refresh error does not; the
		// refresh error (invalid_grant: re-consent) is what the engine needs.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("access token refused and renewing it failed: %w", rerr)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return t.base.RoundTrip(withToken(retry, newTok))
}

func withToken(req *http.Request, tok *oauth2.Token) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return r
}

// replayable returns a copy of req whose body can be sent again.
func replayable(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, true
}
