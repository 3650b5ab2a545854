// Package fake is a faithful in-memory Dataverse (Dynamics 365 Web API
// v9.2) with the Microsoft identity platform's OAuth endpoints, for tests
// and for `amp fake dynamics`.
//
// It serves, on one server:
//   - /{tenant}/oauth2/v2.0/authorize (a consent page) and
//     /{tenant}/oauth2/v2.0/token (authorization_code with PKCE and
//     refresh_token grants; refresh tokens rotate; AADSTS error bodies);
//   - /api/data/v9.2/ with the tables accounts, contacts, opportunities,
//     leads and the custom table new_projects (accounts also carry the
//     custom column new_tier): OData queries with $select, a $filter of
//     modifiedon comparisons and eq clauses joined by and, or an or-chain
//     of primary-key equalities (rows by id; unquoted GUIDs, checked),
//     $orderby, URLs up to 32 KB (414 beyond), odata.maxpagesize paging (capped at 5,000) with
//     @odata.nextLink skip tokens shaped like Dataverse's paging cookies,
//     change tracking (odata.track-changes, delta links whose tokens are
//     write-log versions, $deletedEntity tombstones, expiry after
//     Options.DeltaRetention; see tracking.go), create (204 +
//     OData-EntityId), PATCH as Dataverse's upsert by primary key (the row
//     is created under the client's GUID) or alternate key, with
//     If-Match: * (update only, 404), If-None-Match: * (create only, 412
//     0x80040237) and If-Match ETags (412 0x80060882 on a stale version,
//     for DELETE too), delete, $batch with change sets, and
//     EntityDefinitions metadata with attributes and option sets;
//   - the service-protection limits per user (limits.go): requests in a
//     sliding 5-minute window, a modelled combined execution-time budget
//     and concurrent requests, answered with 429, Retry-After and the
//     0x80072322 / 0x80072321 / 0x80072326 error bodies, a longer penalty
//     for clients that keep sending while throttled, and the
//     x-ms-ratelimit-*-remaining-xrm-requests headers.
//
// Times are whole seconds, as Dataverse reports them; every write lands on
// its own second, so modifiedon orders records strictly (unless
// Options.SameSecondWrites lets writes share a second). Change tracking
// (tracking.go) is by write-log position, so it is exact either way.
//
// The package must not import manifest or runtime.
package fake
