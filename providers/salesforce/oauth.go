package salesforce

import (
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
)

// InputLoginHost is the connection input that picks the login host.
const InputLoginHost = "loginHost"

// Login hosts.
const (
	productionLogin = "https://login.salesforce.com"
	sandboxLogin    = "https://test.salesforce.com"
)

// LoginURL returns the login base URL for a loginHost input, which the
// customer types in, so it may name only Salesforce's own login hosts:
//
//   - empty, "production", "login" or "login.salesforce.com":
//     https://login.salesforce.com;
//   - "sandbox", "test" or "test.salesforce.com": https://test.salesforce.com;
//   - a My Domain name: "acme" means https://acme.my.salesforce.com and
//     "acme--dev" (a sandbox) https://acme--dev.sandbox.my.salesforce.com;
//   - a My Domain host, with or without https:// and a trailing slash:
//     {name}.my.salesforce.com or {name}--{sandbox}.sandbox.my.salesforce.com.
//
// Anything else (another host, http, a port, a path, user info) is an
// error: the token endpoint receives the client secret, the authorization
// code and the PKCE verifier. Tests reach a fake through the runtime's
// endpoint override (oauth.Config.Endpoints), not through this input.
func LoginURL(loginHost string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(loginHost))
	switch h {
	case "", "production", "login", "login.salesforce.com", "https://login.salesforce.com", "https://login.salesforce.com/":
		return productionLogin, nil
	case "sandbox", "test", "test.salesforce.com", "https://test.salesforce.com", "https://test.salesforce.com/":
		return sandboxLogin, nil
	}
	refuse := fmt.Errorf("salesforce: login host %q is not production, sandbox, a My Domain name or a My Domain host ({name}.my.salesforce.com, {name}--{sandbox}.sandbox.my.salesforce.com)", loginHost)
	if providers.ValidHostLabel(h) {
		if strings.Contains(h, "--") {
			return "https://" + h + ".sandbox.my.salesforce.com", nil
		}
		return "https://" + h + ".my.salesforce.com", nil
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "https://"), "/")
	name, ok := strings.CutSuffix(h, ".sandbox.my.salesforce.com")
	if !ok {
		name, ok = strings.CutSuffix(h, ".my.salesforce.com")
	}
	if !ok || !providers.ValidHostLabel(name) {
		return "", refuse
	}
	return "https://" + h, nil
}

// OAuthConfig returns the web-server flow's configuration: the catalog's
// endpoints moved to the login host inputs[InputLoginHost] names (see
// LoginURL). Client credentials go in the form body, as Salesforce
// documents. Callers add PKCE with oauth2.GenerateVerifier,
// oauth2.S256ChallengeOption and oauth2.VerifierOption. An unusable login
// host, or another input that is not a host-name label, is an error.
func OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error) {
	login, err := LoginURL(inputs[InputLoginHost])
	if err != nil {
		return nil, err
	}
	for k, v := range inputs {
		if k != InputLoginHost && v != "" && strings.Contains(spec.OAuth.AuthURL+spec.OAuth.TokenURL, "{{."+k+"}}") && !providers.ValidHostLabel(v) {
			return nil, fmt.Errorf("salesforce: %s %q is not a host-name label", k, v)
		}
	}
	fill := func(u string) string {
		u = strings.Replace(u, productionLogin, login, 1)
		for k, v := range inputs {
			if k != InputLoginHost {
				u = strings.ReplaceAll(u, "{{."+k+"}}", v)
			}
		}
		return u
	}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: fill(spec.OAuth.AuthURL), TokenURL: fill(spec.OAuth.TokenURL),
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

// RevokeURL returns the revocation endpoint for the same inputs.
func RevokeURL(inputs map[string]string) (string, error) {
	login, err := LoginURL(inputs[InputLoginHost])
	if err != nil {
		return "", err
	}
	return strings.Replace(spec.OAuth.RevokeURL, productionLogin, login, 1), nil
}

// CheckBaseURL returns an error unless baseURL (a connection's
// instance_url) is https on a Salesforce host: *.salesforce.com or
// *.force.com.
func CheckBaseURL(baseURL string) error {
	return providers.CheckHTTPSHost(Name, baseURL, nil, []string{".salesforce.com", ".force.com"})
}

// TokenMetadata returns what the runtime must keep from a token response:
// instance_url (the connection's Config.BaseURL; API calls never go to the
// login host), the identity URL id with the org and user ids it ends in,
// and issued_at (epoch milliseconds). Salesforce sends no expires_in.
func TokenMetadata(tok *oauth2.Token) map[string]string {
	m := map[string]string{}
	if tok == nil {
		return m
	}
	for _, k := range []string{"instance_url", "id", "issued_at"} {
		if v, ok := tok.Extra(k).(string); ok && v != "" {
			m[k] = v
		}
	}
	if id := m["id"]; id != "" {
		// https://login.salesforce.com/id/<org id>/<user id>
		parts := strings.Split(strings.TrimRight(id, "/"), "/")
		if n := len(parts); n >= 3 && parts[n-3] == "id" {
			m["org_id"], m["user_id"] = parts[n-2], parts[n-1]
		}
	}
	return m
}
