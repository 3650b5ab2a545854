// Package e2e drives the react-embed example in a real browser against a
// real runtime: the customer's whole installation flow through
// @amp-labs/react, from the OAuth popup to the first backfill. The test
// needs Chromium and the example's npm dependencies, so it sits behind the
// browser build tag and runs with `make test-browser`.
package e2e
