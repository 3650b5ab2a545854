// Package server wires amp's runtime together: it opens the SQLite store in
// the data folder, loads or creates the sealing key, bootstraps the default
// project and its admin API key on first start, and serves runtime/api with
// runtime/oauth mounted: POST /v1/oauth-connect (scopes from the deployed
// manifests), GET /callbacks/v1/oauth (the redirect URI is
// Config.PublicURL + oauth.CallbackPath) and the connection routes; Run also
// sweeps expired OAuth states until its context is done.
// `amp serve` and in-process tests use it (New, Run, Handler, Close).
//
// It is the one runtime package that knows the concrete types
// (runtime/sqlite, runtime/seal.Sealer); cmd/amp is the only other place.
package server
