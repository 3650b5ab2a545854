// Package hubspot is amp's HubSpot provider. Today it holds the catalog
// entry (catalog.go): OAuth endpoints, the per-object scope rules, the
// standard CRM, engagement and marketing objects with their properties for
// offline validation, and batch and rate limits. It registers itself in
// providers.Default when imported. The connector and the fake HubSpot will be
// added to this package later and read the same entry.
//
// The package must not import manifest or runtime.
package hubspot
