// Package providers holds what the rest of amp knows about each CRM before
// talking to it: the catalog entry (modules, support flags, OAuth endpoints,
// scope rules, standard objects and fields, batch and rate limits) and the
// Registry that names the providers a binary is built with.
//
// Each provider keeps its whole catalog entry in one place,
// providers/<name>/catalog.go, so its connector can extend it without a
// second source of truth.
//
// Besides the catalog, the package defines what connectors share: the
// capability interfaces (MetadataReader, Reader, BulkReader, Writer,
// BulkWriter), record and request types, classified errors, and the auth
// client that adds a connection's token and renews it once on a 401. It
// must not import manifest or runtime, and holds no state beyond a
// connection's token.
package providers
