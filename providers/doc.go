// Package providers holds what the rest of amp knows about each CRM before
// talking to it: the catalog entry (modules, support flags, OAuth endpoints,
// scope rules, standard objects and fields, batch and rate limits) and the
// Registry that names the providers a binary is built with.
//
// Each provider keeps its whole catalog entry in one place,
// providers/<name>/catalog.go, so its connector can extend it without a
// second source of truth. The package is pure data and lookups: it must not
// import manifest, runtime or anything that does network or database I/O.
package providers
