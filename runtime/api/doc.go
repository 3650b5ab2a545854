// Package api is amp's management HTTP API (`/v1`), wire-compatible with the
// subset of Ampersand's management API that Ampersand's own clients use:
// handlers, X-Api-Key authentication, strict JSON decoding and
// application/problem+json errors.
//
// Every route is listed once, in the route table (routes.go); the mux
// registration and the test that compares the routes with
// schemas/openapi.yaml both read it.
//
// It depends on the runtime interfaces (runtime.Store, a Sealer), on
// manifest (deploy validation) and on providers (the catalog). It must not
// import runtime/sqlite, runtime/server or any other runtime implementation
// package; runtime/server wires the concrete types in.
package api
