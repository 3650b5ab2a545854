package fakekit

import "time"

// DefaultStart is where a fake's clock starts unless told otherwise: fixed,
// so seeded data and tests are the same on every run.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options are the knobs every fake has; each fake adds its provider's own
// limits. The same knobs are flags of `amp fake`.
type Options struct {
	// Records is how many records each standard object is seeded with.
	Records int
	// Seed makes fault injection deterministic.
	Seed uint64
	// Start sets the fake's clock; zero means DefaultStart.
	Start time.Time
	// Latency delays every data request.
	Latency time.Duration
	// TokenTTL is the access-token lifetime; zero means the provider's real one.
	TokenTTL time.Duration
	// RotateRefresh issues a new refresh token on every refresh.
	RotateRefresh bool
	// RefuseRefresh answers every refresh with invalid_grant (revoked app).
	RefuseRefresh bool
	// BurstEvery and BurstLength inject 429 bursts: after every BurstEvery
	// data requests, the next BurstLength get the rate-limit answer.
	BurstEvery, BurstLength int
	// FailRate and MalformedRate inject 5xx answers and truncated bodies.
	FailRate, MalformedRate float64
	// ClientID and ClientSecret, when set, are the only OAuth client the
	// fake accepts.
	ClientID, ClientSecret string
	// Limits are the provider's rate limits.
	Limits Limits
}

// Limits are a provider's rate limits. Each fake reads the fields its
// provider has; zero takes the provider's real default and a negative value
// turns the limit off.
type Limits struct {
	// Daily is Salesforce's rolling daily API allocation or HubSpot's daily quota.
	Daily int
	// Window requests per WindowPeriod: HubSpot's 10-second burst limit,
	// Dynamics' 5-minute service-protection window.
	Window       int
	WindowPeriod time.Duration
	// SearchPerSecond is HubSpot's separate search limit.
	SearchPerSecond int
	// Concurrency caps requests in flight (Dynamics).
	Concurrency int
}

// Or returns v when it is set (non-zero), def otherwise, and 0 (no limit)
// when v is negative.
func Or(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// Kit is the shared state of one fake: clock, tokens, data and faults.
type Kit struct {
	Clock  *Clock
	Tokens *Tokens
	Store  *Store
	Faults *Faults
}

// NewKit builds a fake's shared state from opts. realTTL is the provider's
// real access-token lifetime, used when opts.TokenTTL is zero.
func NewKit(opts Options, realTTL time.Duration) *Kit {
	start := opts.Start
	if start.IsZero() {
		start = DefaultStart
	}
	clock := NewClock(start)
	ttl := opts.TokenTTL
	if ttl == 0 {
		ttl = realTTL
	}
	k := &Kit{
		Clock:  clock,
		Tokens: NewTokens(clock, TokenPolicy{AccessTTL: ttl, RotateRefresh: opts.RotateRefresh, RefuseRefresh: opts.RefuseRefresh}),
		Store:  NewStore(clock),
		Faults: NewFaults(opts.Seed),
	}
	k.Faults.Latency = opts.Latency
	k.Faults.FailRate = opts.FailRate
	k.Faults.MalformedRate = opts.MalformedRate
	k.Faults.BurstEvery, k.Faults.BurstLength = opts.BurstEvery, opts.BurstLength
	if opts.ClientID != "" {
		k.Tokens.AddClient(opts.ClientID, opts.ClientSecret)
	}
	return k
}

// Touch gives a record a new modified time (providertest.Fake).
func (k *Kit) Touch(object, id string) { _, _ = k.Store.Touch(object, id) }

// Now returns the fake's clock.
func (k *Kit) Now() time.Time { return k.Clock.Now() }

// Advance moves the fake's clock forward.
func (k *Kit) Advance(d time.Duration) { k.Clock.Advance(d) }

// ExpireTokens invalidates every access token issued so far.
func (k *Kit) ExpireTokens() { k.Tokens.ExpireAll() }

// Throttle makes the next n data requests get the rate-limit answer.
func (k *Kit) Throttle(n int, retryAfter time.Duration) { k.Faults.Throttle(n, retryAfter) }

// IDs returns the live ids of an object in id order.
func (k *Kit) IDs(object string) []string { return k.Store.IDs(object) }
