// Package fake is a fake Salesforce: the OAuth web-server flow (authorize
// page, token with PKCE, refresh with or without rotation, revoke) and the
// REST API subset amp uses (the version list, describeGlobal, describe,
// SOQL query and queryAll with query locators, getUpdated and getDeleted
// (replication.go), sObject and sObject Collections writes, sObject
// Collections retrieve by GET and POST (retrieve.go), the Composite
// resource with references and allOrNone (composite.go), limits
// (limits.go), Bulk API 2.0 query jobs with CSV results, Bulk API 2.0
// ingest jobs with a CSV upload and CSV results), with Salesforce's paths,
// bodies, status codes, error arrays, Sforce-Limit-Info headers and +0000
// datetimes, for API versions 20.0 to 66.0.
//
// The org has Account (with the custom field Tier__c), Contact, Lead,
// Opportunity and the custom object Invoice__c, each seeded with
// Options.Records deterministic records computed on demand.
//
// Differences from Salesforce worth knowing: SOQL is a subset (a field
// list without relationships or subqueries; WHERE conditions joined by AND
// on SystemModstamp, LastModifiedDate, CreatedDate, IsDeleted, Id or a
// field compared with a quoted string; ORDER BY is accepted but results
// always come in SystemModstamp order; LIMIT). A query locator reads the
// live store rather than a snapshot, so a record written while a read is
// under way can be returned twice (never lost). A Bulk query job, like
// Salesforce's, takes its results from the store when it completes: they
// never change, and each locator (the base64 of a row offset, as
// Salesforce's "MTAwMDA") returns the same rows for as long as the job
// exists (until deleted, or JobTTL after its creation). Ingest
// jobs (ingest.go) keep the upload order in their results files, which
// Salesforce does not promise; their CSV columns must be fields of the
// object (no relationship columns such as Account.External_Id__c);
// hardDelete deletes like delete (to the recycle bin); and the wording of
// job-level errors other than the recorded "InvalidBatch : Field name not
// found : X" is the fake's own.
package fake
