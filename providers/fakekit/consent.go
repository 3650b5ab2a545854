package fakekit

import (
	"html/template"
	"net/http"
	"net/url"
)

// Consent serves a provider's authorize endpoint. GET shows a consent page
// with Allow and Deny buttons (a browser, or a test posting the form,
// approves); POST issues an authorization code and redirects to the
// client's redirect URI with code and state, as the real providers do.
type Consent struct {
	Tokens *Tokens
	// Provider is the name shown on the page.
	Provider string
	// Subject names the user or org that consents; the grant carries it.
	Subject string
	// RequirePKCE refuses authorize requests without an S256 challenge.
	RequirePKCE bool
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allow access – {{.Provider}} (fake)</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}code{background:#eee;padding:0 .2rem}</style></head>
<body><h1>{{.Provider}}</h1>
<p><strong>{{.ClientID}}</strong> is asking to access your {{.Provider}} data{{if .Subject}} as <code>{{.Subject}}</code>{{end}}.</p>
{{if .Scope}}<p>Scopes: <code id="scopes">{{.Scope}}</code></p>{{end}}
<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<button type="submit" name="action" value="approve" id="approve">Allow</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button>
</form></body></html>`))

func (c *Consent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" || redirect == "" {
		http.Error(w, "error=invalid_request: client_id and redirect_uri are required", http.StatusBadRequest)
		return
	}
	target, err := url.Parse(redirect)
	if err != nil || !target.IsAbs() {
		http.Error(w, "error=redirect_uri_mismatch: redirect_uri must be an absolute URL", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" {
		redirectWith(w, r, target, url.Values{"error": {"unsupported_response_type"}, "state": {q.Get("state")}})
		return
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		redirectWith(w, r, target, url.Values{"error": {"invalid_request"}, "error_description": {"only S256 code challenges are supported"}, "state": {q.Get("state")}})
		return
	}
	if c.RequirePKCE && challenge == "" {
		redirectWith(w, r, target, url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge is required"}, "state": {q.Get("state")}})
		return
	}
	if r.Method == http.MethodGet {
		params := map[string]string{}
		for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "optional_scope", "state", "code_challenge", "code_challenge_method"} {
			if v := q.Get(k); v != "" {
				params[k] = v
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = consentPage.Execute(w, map[string]any{"Provider": c.Provider, "ClientID": clientID, "Scope": q.Get("scope"), "Subject": c.Subject, "Params": params})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if q.Get("action") != "approve" {
		redirectWith(w, r, target, url.Values{"error": {"access_denied"}, "error_description": {"end-user denied authorization"}, "state": {q.Get("state")}})
		return
	}
	code := c.Tokens.NewCode(Grant{ClientID: clientID, Scope: q.Get("scope"), Subject: c.Subject}, redirect, challenge)
	redirectWith(w, r, target, url.Values{"code": {code}, "state": {q.Get("state")}})
}

func redirectWith(w http.ResponseWriter, r *http.Request, target *url.URL, params url.Values) {
	u := *target
	q := u.Query()
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
