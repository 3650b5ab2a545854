// Package dynamics is amp's Microsoft Dynamics 365 (Dataverse Web API
// v9.2) provider, catalog key "dynamicsCRM". It holds the catalog entry
// (catalog.go: Microsoft identity platform OAuth endpoints, the
// organisation-scoped user_impersonation scope, the standard tables by
// entity set name with their columns, batch and service-protection
// limits), registered in providers.Default when imported, and the
// connector built from it:
//   - OAuthConfig and TokenMetadata for the connect flow;
//   - Client (New): metadata from EntityDefinitions and Attributes with
//     option sets, paged reads with $select and odata.maxpagesize,
//     incremental reads on modifiedon, deletions and exact change
//     tracking through delta links (ReadRequest.Checkpoint in,
//     ReadPage.Checkpoint out; see read.go), reads by primary key
//     (GetRecords: an or-chain $filter; see get.go), and writes (create;
//     update with If-Match: *, which never creates; upsert without it, by
//     alternate key or by primary key under the caller's GUID; delete)
//     through $batch with change sets for all-or-none; errors classified
//     once into *providers.Error (the three service-protection 429s as
//     rate-limited with Retry-After), and the service-protection headers
//     reported to Config.OnQuota against the limits the server applies
//     (client.go).
//
// The fake Dataverse lives in the fake subpackage.
//
// The package must not import manifest or runtime.
package dynamics
