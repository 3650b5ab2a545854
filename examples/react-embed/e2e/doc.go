// Package e2e drives the react-embed example in a real browser against a
// real runtime: the customer's whole installation flow through
// @amp-labs/react, from the OAuth popup to the first backfill, and the
// error paths the component shows (an expired connection and its
// re-authentication, a wrong API key, a JWT for another customer). The
// tests need Chromium and the example's npm dependencies, so they sit
// behind the browser build tag and run with `make test-browser`.
package e2e
