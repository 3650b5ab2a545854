// Package dynamics is amp's Microsoft Dynamics 365 (Dataverse Web API)
// provider, catalog key "dynamicsCRM". Today it holds the catalog entry
// (catalog.go): Microsoft identity platform OAuth endpoints, the
// organisation-scoped user_impersonation scope, the standard tables named by
// their entity set names with their columns for offline validation, and
// batch and service-protection limits. It registers itself in
// providers.Default when imported. The connector and the fake Dataverse will
// be added to this package later and read the same entry.
//
// The package must not import manifest or runtime.
package dynamics
