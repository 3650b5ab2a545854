package oauth

import (
	"context"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
)

// Provider is what the flow needs of a provider package: its OAuth client
// configuration and what to keep from a token response.
type Provider struct {
	// Config returns the provider's oauth2 configuration for a project's
	// client, filled from the connection's inputs (workspace, login host),
	// or an error for an input it refuses (a login host that is not the
	// provider's).
	Config func(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error)
	// Inspect returns the provider metadata to keep (keys as the provider
	// package names them) and the scopes granted, nil when the provider
	// does not say. apiBase is the provider's API host when it was
	// overridden (Config.Endpoints), empty otherwise; client calls it.
	Inspect func(ctx context.Context, client *http.Client, apiBase string, tok *oauth2.Token) (meta map[string]string, granted []string, err error)
}

// ProvidersFrom returns the flow adapters of every provider in reg that
// implements providers.OAuthProvider, keyed by catalog name. The flow
// knows providers only through the registry.
func ProvidersFrom(reg *providers.Registry) map[string]Provider {
	out := map[string]Provider{}
	for _, name := range reg.Names() {
		p, _ := reg.Lookup(name)
		if op, ok := p.(providers.OAuthProvider); ok {
			out[name] = Provider{Config: op.OAuthConfig, Inspect: op.InspectToken}
		}
	}
	return out
}

// rebase moves u to base's scheme and host, keeping its path and query.
func rebase(u, base string) string {
	if base == "" {
		return u
	}
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	b, err := url.Parse(base)
	if err != nil || b.Host == "" {
		return u
	}
	pu.Scheme, pu.Host = b.Scheme, b.Host
	return pu.String()
}

// implicitScopes are scopes providers grant without echoing them in the
// token response (Microsoft leaves out the OpenID Connect ones).
var implicitScopes = map[string]bool{"offline_access": true, "openid": true, "profile": true, "email": true}
