// Package fake is a HubSpot that runs in-process (an http.Handler) or
// standalone (`amp fake hubspot`). It serves the OAuth endpoints (authorize
// consent page, /oauth/v1/token and /oauth/v3/token with authorization_code,
// PKCE and refresh_token grants, access- and refresh-token info, refresh-token
// deletion) and the CRM v3 APIs the connector uses: object lists with
// `after` paging and archived records, search with filter groups, sorts and
// the 10,000-result cap, batch create/update/upsert/archive with 207 partial
// results, properties, schemas and account info. Rate limits (10-second
// burst window, daily quota, search per second) answer with HubSpot's 429
// bodies and X-HubSpot-RateLimit-* headers; searches count in the daily
// quota and their own per-second limit but not in the burst window, as
// HubSpot's usage guidelines have it (Options.SearchInBurstWindow counts
// them there too). A bad token gets HubSpot's 401.
//
// Seeded data is deterministic and computed lazily by fakekit.Store:
// contacts, companies and deals (opts.Records each), the custom object
// p1234567_pets (objectTypeId 2-1234567) and the custom property
// favorite_color on contacts and companies.
package fake
