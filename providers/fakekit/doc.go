// Package fakekit holds what the provider fakes (providers/<name>/fake)
// share: a settable clock, an OAuth token store with authorization codes,
// PKCE, expiry, rotation and revocation, the consent page a browser or test
// approves, latency and fault injection, and a record store that serves
// millions of deterministic seeded records without building them, with
// writes layered on top.
//
// It is test infrastructure that ships in the binary (`amp fake`). It must
// not import manifest or runtime.
package fakekit
