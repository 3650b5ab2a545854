// Package providertest is the conformance suite every connector passes
// against its fake: complete paging, incremental windows, deletes, write
// round trips, partial batch failures, token refresh mid-read, typed rate
// limits, custom metadata and, where the connector reads by id, records
// that match what Read returns. A provider's test calls Run with a function
// that builds a Harness over a fresh fake.
//
// It imports providers and the standard library's testing; never runtime.
package providertest
