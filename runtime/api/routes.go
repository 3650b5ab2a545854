package api

import "net/http"

// route is one row of the route table.
type route struct {
	method, path string
	auth         Auth
	// scope is the API key scope the route needs (AuthKey routes only).
	scope  Scope
	handle func(*API, http.ResponseWriter, *http.Request) error
}

// p is the prefix of project-scoped routes.
const p = "/v1/projects/{projectIdOrName}"

// routes is every built-in route. Handler registers exactly these, and the
// OpenAPI test checks schemas/openapi.yaml against exactly these.
var routes = []route{
	{"GET", "/healthz", AuthNone, ScopeFrontend, (*API).health},

	{"GET", "/v1/providers", AuthNone, ScopeFrontend, (*API).listProviders},
	{"GET", "/v1/providers/{provider}", AuthNone, ScopeFrontend, (*API).getProvider},

	{"GET", "/v1/projects", AuthKey, ScopeFull, (*API).listProjects},
	{"GET", p, AuthKey, ScopeFrontend, (*API).getProject},
	{"PATCH", p, AuthKey, ScopeFull, (*API).patchProject},

	// @amp-labs/react lists provider apps on its landing page; secrets are
	// never returned, and client ids are public in every authorize URL.
	{"GET", p + "/provider-apps", AuthKey, ScopeFrontend, (*API).listProviderApps},
	{"POST", p + "/provider-apps", AuthKey, ScopeFull, (*API).createProviderApp},
	{"GET", p + "/provider-apps/{providerAppId}", AuthKey, ScopeFrontend, (*API).getProviderApp},
	{"PATCH", p + "/provider-apps/{providerAppId}", AuthKey, ScopeFull, (*API).patchProviderApp},
	{"DELETE", p + "/provider-apps/{providerAppId}", AuthKey, ScopeFull, (*API).deleteProviderApp},

	{"PUT", p + "/integrations:batch", AuthKey, ScopeFull, (*API).deployIntegrations},
	{"GET", p + "/integrations", AuthKey, ScopeFrontend, (*API).listIntegrations},
	{"GET", p + "/integrations/{integrationIdOrName}", AuthKey, ScopeFrontend, (*API).getIntegration},
	{"GET", p + "/integrations/{integrationId}/revisions", AuthKey, ScopeFrontend, (*API).listRevisions},
	{"GET", p + "/integrations/{integrationId}/revisions/{revisionId}", AuthKey, ScopeFrontend, (*API).getRevision},

	{"GET", p + "/installations", AuthKey, ScopeFrontend, (*API).listProjectInstallations},
	{"GET", p + "/integrations/{integrationId}/installations", AuthKey, ScopeFrontend, (*API).listInstallations},
	{"POST", p + "/integrations/{integrationId}/installations", AuthKey, ScopeFrontend, (*API).createInstallation},
	{"GET", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, ScopeFrontend, (*API).getInstallation},
	{"PATCH", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, ScopeFrontend, (*API).patchInstallation},
	{"DELETE", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, ScopeFrontend, (*API).deleteInstallation},
	// {installationId}:pause and :unpause, which ServeMux cannot match
	// apart; the Read API is the builder's.
	{"POST", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, ScopeFull, (*API).installationAction},
	{"PATCH", p + "/integrations/{integrationId}/objects/{objectName}/config-content", AuthKey, ScopeFrontend, (*API).patchObjectConfigContent},

	// The Read API and operations (Ampersand serves the Read API on
	// another host, read.withampersand.com/v1, with the same paths).
	{"POST", p + "/integrations/{integrationId}/objects/{objectName}", AuthKey, ScopeFull, (*API).objectPost},
	{"GET", p + "/integrations/{integrationId}/installations/{installationId}/operations", AuthKey, ScopeFull, (*API).listOperations},
	{"GET", p + "/integrations/{integrationId}/installations/{installationId}/objects/{objectName}/backfill-progress", AuthKey, ScopeFull, (*API).getBackfillProgress},
	{"GET", p + "/operations/{operationId}", AuthKey, ScopeFull, (*API).getOperation},
	{"GET", p + "/operations/{operationId}/logs", AuthKey, ScopeFull, (*API).listOperationLogs},

	{"GET", p + "/connections", AuthKey, ScopeFrontend, (*API).listConnections},
	{"POST", p + "/connections:generate", AuthKey, ScopeFull, (*API).generateConnection},
	{"GET", p + "/connections/{connectionId}", AuthKey, ScopeFrontend, (*API).getConnection},
	// Also {connectionId}:oauth-update, which ServeMux cannot match apart.
	{"PATCH", p + "/connections/{connectionId}", AuthKey, ScopeFrontend, (*API).patchConnection},
	{"DELETE", p + "/connections/{connectionId}", AuthKey, ScopeFull, (*API).deleteConnection},

	{"GET", p + "/destinations", AuthKey, ScopeFull, (*API).listDestinations},
	{"POST", p + "/destinations", AuthKey, ScopeFull, (*API).createDestination},
	{"GET", p + "/destinations/{destination}", AuthKey, ScopeFull, (*API).getDestination},
	{"PATCH", p + "/destinations/{destination}", AuthKey, ScopeFull, (*API).patchDestination},
	{"DELETE", p + "/destinations/{destination}", AuthKey, ScopeFull, (*API).deleteDestination},

	// Public keys that verify front-end JWTs (Authorization: Bearer).
	{"GET", p + "/jwt-keys", AuthKey, ScopeFull, (*API).listJWTKeys},
	{"POST", p + "/jwt-keys", AuthKey, ScopeFull, (*API).createJWTKey},
	{"DELETE", p + "/jwt-keys/{keyId}", AuthKey, ScopeFull, (*API).deleteJWTKey},

	// The `amp` CLI's deploy: a signed URL on this server, the zip PUT
	// there (the URL's secret is the credential), then integrations:batch
	// with sourceZipUrl.
	{"GET", "/v1/generate-upload-url", AuthKey, ScopeFull, (*API).generateUploadURL},
	{"PUT", UploadPath, AuthNone, ScopeFull, (*API).putUpload},

	{"GET", p + "/api-keys", AuthKey, ScopeFull, (*API).listAPIKeys},
	{"POST", p + "/api-keys", AuthKey, ScopeFull, (*API).createAPIKey},
	{"GET", p + "/api-keys/{apiKey}", AuthKey, ScopeFull, (*API).getAPIKey},
	{"PATCH", p + "/api-keys/{apiKey}", AuthKey, ScopeFull, (*API).patchAPIKey},
	{"DELETE", p + "/api-keys/{apiKey}", AuthKey, ScopeFull, (*API).deleteAPIKey},
}
