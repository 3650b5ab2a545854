// Package hubspot is amp's HubSpot provider: the catalog entry (catalog.go:
// OAuth endpoints, per-object scope rules, standard objects and their
// properties, batch and rate limits), and the connector (Client) built on
// it: OAuth helpers, metadata from the properties and schemas APIs, full
// reads from both ends of the id range at once (the objects list up, CRM
// search down: fullread.go), incremental reads through CRM search with
// keyset re-anchoring (paced to HubSpot's per-account search limit, which
// no response header reveals: pace.go), deletes through archived records,
// reads by id through batch read (GetRecords), and batch writes with
// per-input results. The fake HubSpot is in the fake subpackage. The
// package registers itself in providers.Default when imported.
//
// The package must not import manifest or runtime.
package hubspot
