package fakekit

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// Token errors, named after the OAuth 2.0 error codes providers send.
var (
	ErrInvalidGrant  = errors.New("invalid_grant")
	ErrInvalidClient = errors.New("invalid_client")
	ErrInvalidPKCE   = errors.New("invalid_request")
)

// TokenPolicy sets how a fake's tokens behave.
type TokenPolicy struct {
	// AccessTTL is how long an access token lives; zero means forever.
	AccessTTL time.Duration
	// RotateRefresh issues a new refresh token on every refresh and
	// invalidates the old one (Salesforce rotation, Dynamics).
	RotateRefresh bool
	// CodeTTL is how long an authorization code lives (default 15 min).
	CodeTTL time.Duration
	// RefuseRefresh answers every refresh with invalid_grant, as when the
	// customer revoked the app: the connection must be re-consented.
	RefuseRefresh bool
}

// Grant is what a token was issued for.
type Grant struct {
	ClientID string
	Scope    string
	// Subject identifies the consenting user or org (tests read it back).
	Subject string
}

type accessToken struct {
	grant   Grant
	expires time.Time // zero: never
	epoch   int
}

type authCode struct {
	grant       Grant
	redirectURI string
	challenge   string // S256 PKCE challenge, empty without PKCE
	expires     time.Time
}

// Tokens is a fake's OAuth token store. It is safe for concurrent use.
type Tokens struct {
	clock  *Clock
	policy TokenPolicy

	mu      sync.Mutex
	codes   map[string]authCode
	access  map[string]accessToken
	refresh map[string]Grant
	// epoch rises on ExpireAll: tokens of older epochs are refused.
	epoch int
	// Clients maps client id to secret; empty accepts any client.
	clients map[string]string
}

// NewTokens returns an empty token store on clock.
func NewTokens(clock *Clock, policy TokenPolicy) *Tokens {
	if policy.CodeTTL == 0 {
		policy.CodeTTL = 15 * time.Minute
	}
	return &Tokens{clock: clock, policy: policy, codes: map[string]authCode{}, access: map[string]accessToken{}, refresh: map[string]Grant{}, clients: map[string]string{}}
}

// AddClient registers an OAuth client; once any is registered, only
// registered clients with the right secret get tokens.
func (t *Tokens) AddClient(id, secret string) {
	t.mu.Lock()
	t.clients[id] = secret
	t.mu.Unlock()
}

// CheckClient verifies a client id and secret.
func (t *Tokens) CheckClient(id, secret string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.clients) == 0 {
		return nil
	}
	if s, ok := t.clients[id]; !ok || subtle.ConstantTimeCompare([]byte(s), []byte(secret)) != 1 {
		return ErrInvalidClient
	}
	return nil
}

// NewCode issues an authorization code after consent.
func (t *Tokens) NewCode(g Grant, redirectURI, challenge string) string {
	code := randomToken("code")
	t.mu.Lock()
	t.codes[code] = authCode{grant: g, redirectURI: redirectURI, challenge: challenge, expires: t.clock.Now().Add(t.policy.CodeTTL)}
	t.mu.Unlock()
	return code
}

// Exchange trades a code for tokens without checking which client redeems
// it; ExchangeFor is the stricter form.
func (t *Tokens) Exchange(code, redirectURI, verifier string) (access, refresh string, g Grant, err error) {
	return t.ExchangeFor("", code, redirectURI, verifier)
}

// ExchangeFor trades a code for tokens. The code is single-use and belongs
// to the client it was issued to (clientID, when not empty, must match);
// the redirect URI must match; a PKCE challenge requires the matching
// verifier.
func (t *Tokens) ExchangeFor(clientID, code, redirectURI, verifier string) (access, refresh string, g Grant, err error) {
	t.mu.Lock()
	c, ok := t.codes[code]
	delete(t.codes, code)
	t.mu.Unlock()
	switch {
	case !ok || t.clock.Now().After(c.expires):
		return "", "", Grant{}, ErrInvalidGrant
	case clientID != "" && c.grant.ClientID != clientID:
		return "", "", Grant{}, ErrInvalidGrant
	case c.redirectURI != "" && c.redirectURI != redirectURI:
		return "", "", Grant{}, ErrInvalidGrant
	case c.challenge != "" && verifier == "":
		return "", "", Grant{}, ErrInvalidGrant
	case c.challenge != "" && S256(verifier) != c.challenge:
		return "", "", Grant{}, ErrInvalidGrant
	}
	access = t.issueAccess(c.grant)
	refresh = randomToken("refresh")
	t.mu.Lock()
	t.refresh[refresh] = c.grant
	t.mu.Unlock()
	return access, refresh, c.grant, nil
}

// Refresh issues a new access token for a refresh token. With rotation it
// also returns a new refresh token and revokes the old one; otherwise
// newRefresh is empty.
func (t *Tokens) Refresh(refresh string) (access, newRefresh string, g Grant, err error) {
	t.mu.Lock()
	g, ok := t.refresh[refresh]
	ok = ok && !t.policy.RefuseRefresh
	if ok && t.policy.RotateRefresh {
		delete(t.refresh, refresh)
		newRefresh = randomToken("refresh")
		t.refresh[newRefresh] = g
	}
	t.mu.Unlock()
	if !ok {
		return "", "", Grant{}, ErrInvalidGrant
	}
	return t.issueAccess(g), newRefresh, g, nil
}

// Issue creates an access and a refresh token directly, skipping consent;
// tests and the standalone server use it to hand out credentials.
func (t *Tokens) Issue(g Grant) (access, refresh string) {
	access = t.issueAccess(g)
	refresh = randomToken("refresh")
	t.mu.Lock()
	t.refresh[refresh] = g
	t.mu.Unlock()
	return access, refresh
}

func (t *Tokens) issueAccess(g Grant) string {
	tok := randomToken("access")
	var exp time.Time
	if t.policy.AccessTTL > 0 {
		exp = t.clock.Now().Add(t.policy.AccessTTL)
	}
	t.mu.Lock()
	t.access[tok] = accessToken{grant: g, expires: exp, epoch: t.epoch}
	t.mu.Unlock()
	return tok
}

// AccessTTL returns the configured access-token lifetime.
func (t *Tokens) AccessTTL() time.Duration { return t.policy.AccessTTL }

// Validate checks an access token and returns its grant.
func (t *Tokens) Validate(access string) (Grant, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.access[access]
	if !ok || a.epoch != t.epoch || (!a.expires.IsZero() && !t.clock.Now().Before(a.expires)) {
		return Grant{}, false
	}
	return a.grant, true
}

// Revoke revokes an access or refresh token. Revoking a refresh token also
// revokes nothing else: access tokens live out their lifetime, as with
// HubSpot; Salesforce-style cascading is the caller's choice via ExpireAll.
func (t *Tokens) Revoke(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, a := t.access[token]
	_, r := t.refresh[token]
	delete(t.access, token)
	delete(t.refresh, token)
	return a || r
}

// RevokeRefreshTokens revokes every refresh token, so the next refresh gets
// invalid_grant and the customer must re-consent.
func (t *Tokens) RevokeRefreshTokens() {
	t.mu.Lock()
	t.refresh = map[string]Grant{}
	t.mu.Unlock()
}

// ExpireAll invalidates every access token issued so far.
func (t *Tokens) ExpireAll() {
	t.mu.Lock()
	t.epoch++
	t.mu.Unlock()
}

// S256 is the PKCE S256 transform of a verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken(kind string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return kind[:1] + "_" + base64.RawURLEncoding.EncodeToString(b)
}
