package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers/dynamics"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/salesforce"
)

// Provider is what the flow needs of a provider package: its OAuth client
// configuration and what to keep from a token response.
type Provider struct {
	// Config returns the provider's oauth2 configuration for a project's
	// client, filled from the connection's inputs (workspace, login host).
	Config func(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) *oauth2.Config
	// Inspect returns the provider metadata to keep (keys as the provider
	// package names them) and the scopes granted, nil when the provider
	// does not say. apiBase is the provider's API host when it was
	// overridden (Config.Endpoints), empty otherwise; client calls it.
	Inspect func(ctx context.Context, client *http.Client, apiBase string, tok *oauth2.Token) (meta map[string]string, granted []string, err error)
}

// BuiltinProviders returns the flow adapters of amp's providers, keyed by
// catalog name.
func BuiltinProviders() map[string]Provider {
	return map[string]Provider{
		salesforce.Name: {Config: salesforce.OAuthConfig, Inspect: inspectSalesforce},
		hubspot.Name:    {Config: hubspot.OAuthConfig, Inspect: inspectHubSpot},
		dynamics.Name:   {Config: dynamics.OAuthConfig, Inspect: inspectDynamics},
	}
}

func scopeField(tok *oauth2.Token) []string {
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		return strings.Fields(s)
	}
	return nil
}

// inspectSalesforce keeps instance_url, id, org_id and user_id, and derives
// workspace (the My Domain name, which @amp-labs/react asks for otherwise)
// from instance_url.
func inspectSalesforce(_ context.Context, _ *http.Client, _ string, tok *oauth2.Token) (map[string]string, []string, error) {
	md := salesforce.TokenMetadata(tok)
	delete(md, "issued_at") // changes with every refresh; not metadata
	if u, err := url.Parse(md["instance_url"]); err == nil && u.Hostname() != "" {
		host := u.Hostname()
		ws, _, _ := strings.Cut(host, ".my.salesforce.com")
		md["workspace"] = ws
	}
	return md, scopeField(tok), nil
}

// inspectHubSpot keeps hub_id, hub_domain and user. HubSpot's v1 token
// response has neither the portal nor the scopes, so it asks the token
// info endpoint.
func inspectHubSpot(ctx context.Context, client *http.Client, apiBase string, tok *oauth2.Token) (map[string]string, []string, error) {
	md := hubspot.TokenMetadata(tok)
	if md["hub_id"] == "" || md["scopes"] == "" {
		info, err := hubspot.TokenInfo(ctx, client, apiBase, tok.AccessToken)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range info {
			if md[k] == "" && v != "" {
				md[k] = v
			}
		}
	}
	granted := strings.Fields(md["scopes"])
	delete(md, "scopes")
	return md, granted, nil
}

// inspectDynamics keeps the organisation URL and name the token's scope
// names.
func inspectDynamics(_ context.Context, _ *http.Client, _ string, tok *oauth2.Token) (map[string]string, []string, error) {
	md := dynamics.TokenMetadata(tok)
	granted := strings.Fields(md[dynamics.MetaScope])
	delete(md, dynamics.MetaScope)
	return md, granted, nil
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
