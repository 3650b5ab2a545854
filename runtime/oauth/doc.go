// Package oauth makes and keeps connections: the OAuth 2.0
// authorization-code flow (with PKCE where the provider supports it) that
// POST /v1/oauth-connect starts and GET /callbacks/v1/oauth finishes, token
// imports (connections:generate), and the token sources connectors use,
// which refresh before expiry and after a 401, once at a time per
// connection, and mark a connection bad_credentials when the provider
// refuses the refresh.
//
// Secrets never leave this package unsealed: tokens are sealed with
// seal.PurposeOAuthToken and AAD(projectID, connectionID, "tokens"), PKCE
// verifiers with seal.PurposePKCEVerifier and AAD(projectID, stateHash,
// "pkceVerifier"), and the store only ever sees a SHA-256 of the state
// parameter. Errors and rendered pages carry messages, never tokens.
//
// # Routes
//
// The server mounts the two handlers (see ConnectHandler and
// CallbackHandler):
//
//	mux.Handle("POST /v1/oauth-connect", requireAPIKey(svc.ConnectHandler(oauth.ConnectConfig{Project: ..., Scopes: ..., Error: ...})))
//	mux.Handle("GET "+oauth.CallbackPath, svc.CallbackHandler()) // no API key: the provider redirects the browser here
//
// PATCH .../connections/{id}:oauth-update calls Service.Reauthorize and
// answers the URL as text/plain; connections:generate calls Service.Import.
// The server should call Service.SweepStates now and then.
package oauth
