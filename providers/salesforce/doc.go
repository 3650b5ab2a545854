// Package salesforce is amp's Salesforce provider: the catalog entry
// (catalog.go: the CRM and Account Engagement modules, OAuth endpoints and
// scopes, standard objects and fields, batch and rate limits) and the CRM
// connector built from it (Client, registered in providers.Default as a
// providers.ConnectorProvider).
//
// The connector speaks REST API v60.0 at the connection's instance_url:
// describeGlobal and sObject describe for metadata; SOQL built from the
// selected fields (SELECT Id, SystemModstamp, ... WHERE SystemModstamp >
// since AND SystemModstamp <= until ORDER BY SystemModstamp, Id) paged by
// nextRecordsUrl, queryAll for deletions; Bulk API 2.0 query jobs streamed
// as CSV; sObject Collections writes of 200 records (create, update,
// upsert by external id, delete, allOrNone) and reads of up to 2,000
// records by id (GetRecords, see get.go); Bulk API 2.0 ingest jobs for
// large writes (BulkWrite: one job per call, the CSV streamed up, results
// mapped back to input positions by content, see bulkwrite.go). Errors are
// classified once
// into *providers.Error; Sforce-Limit-Info goes to Config.OnQuota, and
// Limits reads the org's allocations (GET /limits) for whoever paces
// requests. Updated and Deleted (replication.go) call getUpdated and
// getDeleted: id lists for a time window, minute-granular, chained on
// LatestDateCovered.
// REQUEST_LIMIT_EXCEEDED carries no Retry-After, so the connector asks for
// 15 minutes (30 s when the refusal names the concurrent-request cap).
//
// OAuthConfig picks the login host from the loginHost input (production,
// sandbox or a My Domain host); TokenMetadata keeps instance_url, id and
// issued_at. The fake Salesforce is in the fake subpackage.
//
// Not yet done: the account-engagement module's connector, a Composite
// (POST /composite) method (the fake serves the resource), splitting a BulkWrite over 150 MB of CSV into
// several jobs (it is refused with KindInvalid).
//
// The package must not import manifest or runtime.
package salesforce
