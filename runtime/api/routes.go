package api

import "net/http"

// route is one row of the route table.
type route struct {
	method, path string
	auth         Auth
	handle       func(*API, http.ResponseWriter, *http.Request) error
}

// p is the prefix of project-scoped routes.
const p = "/v1/projects/{projectIdOrName}"

// routes is every built-in route. Handler registers exactly these, and the
// OpenAPI test checks schemas/openapi.yaml against exactly these.
var routes = []route{
	{"GET", "/healthz", AuthNone, (*API).health},

	{"GET", "/v1/providers", AuthNone, (*API).listProviders},
	{"GET", "/v1/providers/{provider}", AuthNone, (*API).getProvider},

	{"GET", "/v1/projects", AuthKey, (*API).listProjects},
	{"GET", p, AuthKey, (*API).getProject},
	{"PATCH", p, AuthKey, (*API).patchProject},

	{"GET", p + "/provider-apps", AuthKey, (*API).listProviderApps},
	{"POST", p + "/provider-apps", AuthKey, (*API).createProviderApp},
	{"GET", p + "/provider-apps/{providerAppId}", AuthKey, (*API).getProviderApp},
	{"PATCH", p + "/provider-apps/{providerAppId}", AuthKey, (*API).patchProviderApp},
	{"DELETE", p + "/provider-apps/{providerAppId}", AuthKey, (*API).deleteProviderApp},

	{"PUT", p + "/integrations:batch", AuthKey, (*API).deployIntegrations},
	{"GET", p + "/integrations", AuthKey, (*API).listIntegrations},
	{"GET", p + "/integrations/{integrationIdOrName}", AuthKey, (*API).getIntegration},
	{"GET", p + "/integrations/{integrationId}/revisions", AuthKey, (*API).listRevisions},
	{"GET", p + "/integrations/{integrationId}/revisions/{revisionId}", AuthKey, (*API).getRevision},

	{"GET", p + "/installations", AuthKey, (*API).listProjectInstallations},
	{"GET", p + "/integrations/{integrationId}/installations", AuthKey, (*API).listInstallations},
	{"POST", p + "/integrations/{integrationId}/installations", AuthKey, (*API).createInstallation},
	{"GET", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, (*API).getInstallation},
	{"PATCH", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, (*API).patchInstallation},
	{"DELETE", p + "/integrations/{integrationId}/installations/{installationId}", AuthKey, (*API).deleteInstallation},
	{"PATCH", p + "/integrations/{integrationId}/objects/{objectName}/config-content", AuthKey, (*API).patchObjectConfigContent},

	{"GET", p + "/connections", AuthKey, (*API).listConnections},
	{"POST", p + "/connections:generate", AuthKey, (*API).generateConnection},
	{"GET", p + "/connections/{connectionId}", AuthKey, (*API).getConnection},
	// Also {connectionId}:oauth-update, which ServeMux cannot match apart.
	{"PATCH", p + "/connections/{connectionId}", AuthKey, (*API).patchConnection},
	{"DELETE", p + "/connections/{connectionId}", AuthKey, (*API).deleteConnection},

	{"GET", p + "/destinations", AuthKey, (*API).listDestinations},
	{"POST", p + "/destinations", AuthKey, (*API).createDestination},
	{"GET", p + "/destinations/{destination}", AuthKey, (*API).getDestination},
	{"PATCH", p + "/destinations/{destination}", AuthKey, (*API).patchDestination},
	{"DELETE", p + "/destinations/{destination}", AuthKey, (*API).deleteDestination},

	{"GET", p + "/api-keys", AuthKey, (*API).listAPIKeys},
	{"POST", p + "/api-keys", AuthKey, (*API).createAPIKey},
	{"GET", p + "/api-keys/{apiKey}", AuthKey, (*API).getAPIKey},
	{"PATCH", p + "/api-keys/{apiKey}", AuthKey, (*API).patchAPIKey},
	{"DELETE", p + "/api-keys/{apiKey}", AuthKey, (*API).deleteAPIKey},
}
