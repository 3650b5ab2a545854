// Package engine runs read operations: it claims a queued operation with a
// lease, reads the installation's object page by page through the
// provider's connector (Salesforce Bulk API 2.0 for large backfills), maps
// each record with runtime/mapping, and commits the page's webhook
// messages together with the operation's checkpoint in one transaction, so
// a crash repeats at most the page in flight. It keeps each object's
// incremental watermark, paces every connection from the provider's
// rate-limit headers, retries transient failures with jittered back-off,
// and turns refused credentials into a paused installation and
// notifications.
//
// It depends on the runtime interfaces, runtime/mapping and runtime/delivery
// (message and notification shapes), and on providers for connectors; it
// must not import runtime/sqlite, runtime/api or runtime/server.
package engine
