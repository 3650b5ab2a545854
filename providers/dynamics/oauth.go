package dynamics

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
)

// Metadata keys TokenMetadata returns and New reads.
const (
	// MetaOrgURL is the organisation URL the token was issued for
	// (https://{org}.crm.dynamics.com): the connector's BaseURL.
	MetaOrgURL = "orgURL"
	// MetaWorkspace is the organisation name ({org}).
	MetaWorkspace = "workspace"
	// MetaScope is the scope the token response granted.
	MetaScope = "scope"
)

// fill replaces {{.name}} placeholders with inputs.
func fill(s string, inputs map[string]string) string {
	for k, v := range inputs {
		s = strings.ReplaceAll(s, "{{."+k+"}}", v)
	}
	return s
}

// OAuthConfig returns the Microsoft identity platform v2 configuration for
// one organisation: inputs["workspace"] is the organisation name, which
// must be a host-name label (contoso), as must any other input a
// placeholder takes: it is put in the scope's host. Nil scopes mean the
// catalog's base scopes
// (https://{org}.crm.dynamics.com/user_impersonation offline_access).
// Callers use oauth2.GenerateVerifier and S256ChallengeOption for PKCE.
func OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error) {
	if scopes == nil {
		for _, sc := range spec.Scopes.Base {
			scopes = append(scopes, sc.Name)
		}
	}
	for k, v := range inputs {
		if v != "" && !providers.ValidHostLabel(v) {
			return nil, fmt.Errorf("dynamics: %s %q is not an organization name such as contoso (as in https://contoso.crm.dynamics.com)", k, v)
		}
	}
	filled := make([]string, len(scopes))
	for i, sc := range scopes {
		filled[i] = fill(sc, inputs)
	}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Scopes: filled,
		Endpoint: oauth2.Endpoint{
			AuthURL:   fill(spec.OAuth.AuthURL, inputs),
			TokenURL:  fill(spec.OAuth.TokenURL, inputs),
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

// CheckBaseURL returns an error unless baseURL (a connection's
// organisation URL) is https on a *.dynamics.com host.
func CheckBaseURL(baseURL string) error {
	return providers.CheckHTTPSHost(Name, baseURL, nil, []string{".dynamics.com"})
}

// TokenMetadata returns what the runtime stores from a token response: the
// organisation URL and name the token's scope was granted for, and the
// scope itself. Microsoft's token response names no organisation
// otherwise.
func TokenMetadata(tok *oauth2.Token) map[string]string {
	out := map[string]string{}
	if tok == nil {
		return out
	}
	scope, _ := tok.Extra("scope").(string)
	if scope == "" {
		return out
	}
	out[MetaScope] = scope
	for _, sc := range strings.Fields(scope) {
		if i := strings.Index(sc, "://"); i >= 0 {
			rest := sc[i+3:]
			host, _, _ := strings.Cut(rest, "/")
			out[MetaOrgURL] = sc[:i+3] + host
			if org, _, ok := strings.Cut(host, "."); ok {
				out[MetaWorkspace] = org
			}
			break
		}
	}
	return out
}

// provider is the registered ConnectorProvider.
type provider struct{}

// Spec returns the catalog entry.
func (provider) Spec() *providers.Spec { return spec }

// NewConnector builds a connector for one connection.
func (provider) NewConnector(cfg providers.Config) (providers.Connector, error) { return New(cfg) }

// OAuthConfig returns the connect flow's client configuration (see the
// package function OAuthConfig).
func (provider) OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error) {
	return OAuthConfig(clientID, clientSecret, redirectURL, inputs, scopes)
}

// CheckBaseURL: see the package function CheckBaseURL.
func (provider) CheckBaseURL(baseURL string) error { return CheckBaseURL(baseURL) }

// InspectToken keeps the organisation URL and name the token's scope names;
// the granted scopes are the token's scope field.
func (provider) InspectToken(_ context.Context, _ *http.Client, _ string, tok *oauth2.Token) (map[string]string, []string, error) {
	md := TokenMetadata(tok)
	granted := strings.Fields(md[MetaScope])
	delete(md, MetaScope)
	return md, granted, nil
}

var (
	_ providers.ConnectorProvider = provider{}
	_ providers.OAuthProvider     = provider{}
)
