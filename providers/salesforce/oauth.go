package salesforce

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// InputLoginHost is the connection input that picks the login host.
const InputLoginHost = "loginHost"

// Login hosts.
const (
	productionLogin = "https://login.salesforce.com"
	sandboxLogin    = "https://test.salesforce.com"
)

// LoginURL returns the login base URL for a loginHost input: empty,
// "production" or "login" mean https://login.salesforce.com; "sandbox" or
// "test" mean https://test.salesforce.com; anything else is a My Domain
// host (acme.my.salesforce.com, acme--dev.sandbox.my.salesforce.com) or a
// full URL (which is how tests point the flow at a fake).
func LoginURL(loginHost string) (string, error) {
	h := strings.TrimSpace(loginHost)
	switch strings.ToLower(h) {
	case "", "production", "login", "login.salesforce.com":
		return productionLogin, nil
	case "sandbox", "test", "test.salesforce.com":
		return sandboxLogin, nil
	}
	if !strings.Contains(h, "://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("salesforce: login host %q is not a host name or URL", loginHost)
	}
	return u.Scheme + "://" + u.Host, nil
}

// OAuthConfig returns the web-server flow's configuration: the catalog's
// endpoints moved to the login host inputs[InputLoginHost] names (see
// LoginURL) and any {{.name}} placeholders filled from inputs. Client
// credentials go in the form body, as Salesforce documents. Callers add
// PKCE with oauth2.GenerateVerifier, oauth2.S256ChallengeOption and
// oauth2.VerifierOption. An unusable login host falls back to production.
func OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) *oauth2.Config {
	login, err := LoginURL(inputs[InputLoginHost])
	if err != nil {
		login = productionLogin
	}
	fill := func(u string) string {
		u = strings.Replace(u, productionLogin, login, 1)
		for k, v := range inputs {
			u = strings.ReplaceAll(u, "{{."+k+"}}", v)
		}
		return u
	}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: fill(spec.OAuth.AuthURL), TokenURL: fill(spec.OAuth.TokenURL),
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// RevokeURL returns the revocation endpoint for the same inputs.
func RevokeURL(inputs map[string]string) string {
	login, err := LoginURL(inputs[InputLoginHost])
	if err != nil {
		login = productionLogin
	}
	return strings.Replace(spec.OAuth.RevokeURL, productionLogin, login, 1)
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
