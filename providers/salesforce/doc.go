// Package salesforce is amp's Salesforce provider. Today it holds the
// catalog entry (catalog.go): the CRM and Account Engagement (Pardot)
// modules, OAuth endpoints and scopes, the standard objects and fields used
// for offline validation, and batch and rate limits. It registers itself in
// providers.Default when imported. The connector and the fake Salesforce
// will be added to this package later and read the same entry.
//
// The package must not import manifest or runtime.
package salesforce
