// Package providertest is the conformance suite every connector passes
// against its fake: complete paging, incremental windows, deletes, write
// round trips, partial batch failures, token refresh mid-read, typed rate
// limits and custom metadata. A provider's test calls Run with a function
// that builds a Harness over a fresh fake.
//
// It imports providers and the standard library's testing; never runtime.
package providertest
