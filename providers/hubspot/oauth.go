package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
)

// OAuthConfig returns the oauth2 configuration for HubSpot's
// authorization-code flow, with the catalog's endpoints ({{.name}}
// placeholders filled from inputs; HubSpot's have none). HubSpot wants the
// client credentials in the form body.
func OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error) {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   fill(spec.OAuth.AuthURL, inputs),
			TokenURL:  fill(spec.OAuth.TokenURL, inputs),
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

// CheckBaseURL returns an error unless baseURL is HubSpot's API host
// (https://api.hubapi.com).
func CheckBaseURL(baseURL string) error {
	return providers.CheckHTTPSHost(Name, baseURL, []string{"api.hubapi.com"}, nil)
}

// OptionalScopes adds HubSpot's optional_scope parameter to an authorize
// URL: scopes the portal may lack (its tier) without failing the install.
func OptionalScopes(scopes []string) oauth2.AuthCodeOption {
	return oauth2.SetAuthURLParam("optional_scope", strings.Join(scopes, " "))
}

func fill(s string, inputs map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	t, err := template.New("url").Option("missingkey=zero").Parse(s)
	if err != nil {
		return s
	}
	var b bytes.Buffer
	if err := t.Execute(&b, inputs); err != nil {
		return s
	}
	return b.String()
}

// TokenMetadata returns what the runtime stores from a token response: the
// hub (portal) id and granted scopes when the response carries them (the
// v3 token response's hubId/scopes; v1 has neither, so call TokenInfo).
func TokenMetadata(tok *oauth2.Token) map[string]string {
	md := map[string]string{}
	if tok == nil {
		return md
	}
	for _, k := range []string{"hub_id", "hubId"} {
		if v := tok.Extra(k); v != nil {
			md["hub_id"] = number(v)
			break
		}
	}
	for _, k := range []string{"scopes", "scope"} {
		if v := tok.Extra(k); v != nil {
			md["scopes"] = joinScopes(v)
			break
		}
	}
	return md
}

func number(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func joinScopes(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, 0, len(x))
		for _, s := range x {
			parts = append(parts, fmt.Sprint(s))
		}
		return strings.Join(parts, " ")
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// TokenInfo asks HubSpot about an access token
// (GET {base}/oauth/v1/access-tokens/{token}) and returns the metadata to
// store: hub_id, hub_domain, user, scopes. base is the API host
// (DefaultBaseURL when empty); client may be nil.
func TokenInfo(ctx context.Context, client *http.Client, base, accessToken string) (map[string]string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if base == "" {
		base = DefaultBaseURL
	}
	u := strings.TrimRight(base, "/") + "/oauth/v1/access-tokens/" + url.PathEscape(accessToken)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, fmt.Errorf("hubspot: token info: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error prints the URL, which holds the token: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, transportError(ctx, "GET", "/oauth/v1/access-tokens/…", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return nil, &providers.Error{Kind: providers.KindRetryable, Provider: Name, Message: "reading token info failed", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, classify(resp.StatusCode, resp.Header, body)
	}
	var info struct {
		HubID     json.Number `json:"hub_id"`
		HubDomain string      `json:"hub_domain"`
		User      string      `json:"user"`
		Scopes    []string    `json:"scopes"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, malformed("/oauth/v1/access-tokens/…", err)
	}
	return map[string]string{"hub_id": info.HubID.String(), "hub_domain": info.HubDomain, "user": info.User, "scopes": strings.Join(info.Scopes, " ")}, nil
}
