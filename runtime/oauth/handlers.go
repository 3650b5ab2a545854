package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ampforge/amp/runtime"
)

// ErrBadRequest wraps the errors ConnectHandler finds in the request itself
// (malformed JSON, an unknown or a missing field), so that an Error writer
// can answer them 400 rather than as refused content.
var ErrBadRequest = errors.New("oauth: bad request")

// ConnectConfig is what ConnectHandler needs from the server.
type ConnectConfig struct {
	// Project resolves the body's projectIdOrName for the request's caller
	// (its API key) and returns the project ID, or an error: ENOTFOUND for
	// a project the key may not use.
	Project func(r *http.Request, projectIDOrName string) (string, error)
	// Scopes returns the minimal scopes the project's deployed
	// integrations of the provider need (manifest.ProviderScopes over
	// manifest.Scopes of their latest revisions). Nil requests only the
	// provider app's scopes.
	Scopes func(ctx context.Context, projectID, provider string) ([]string, error)
	// Authorize, when set, may refuse the body's groupRef and consumerRef
	// for the request's credentials (a front-end JWT acts for one group and
	// consumer); its error is written as it is.
	Authorize func(r *http.Request, groupRef, consumerRef string) error
	// Error writes an error answer; nil writes application/problem+json
	// with the status of the error's code.
	Error func(w http.ResponseWriter, r *http.Request, err error)
}

// connectBody is POST /v1/oauth-connect's body (Ampersand's
// connectOAuthParams).
type connectBody struct {
	ProjectIDOrName      string                                  `json:"projectIdOrName"`
	Provider             string                                  `json:"provider"`
	GroupRef             string                                  `json:"groupRef"`
	GroupName            string                                  `json:"groupName"`
	ConsumerRef          string                                  `json:"consumerRef"`
	ConsumerName         string                                  `json:"consumerName"`
	ProviderWorkspaceRef string                                  `json:"providerWorkspaceRef"`
	ProviderMetadata     map[string]runtime.ProviderMetadataInfo `json:"providerMetadata"`
	ProviderAppID        string                                  `json:"providerAppId"`
	EnableCSRFProtection bool                                    `json:"enableCSRFProtection"`
}

// maxBody bounds request bodies this package reads.
const maxBody = 64 << 10

// ConnectHandler serves POST /v1/oauth-connect (behind the API-key
// middleware): it answers 200 text/plain with the bare authorize URL, which
// @amp-labs/react passes to window.open. Errors: 400 for malformed JSON, an
// unknown field or a missing one (named), 404 for another project, 400 when
// the project has no provider app for the provider.
func (s *Service) ConnectHandler(cc ConnectConfig) http.HandlerFunc {
	writeErr := cc.Error
	if writeErr == nil {
		writeErr = writeProblem
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var b connectBody
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			writeErr(w, r, fmt.Errorf("%w: %w", ErrBadRequest, runtime.Errorf(runtime.EINVALID, "invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))))
			return
		}
		if dec.More() {
			writeErr(w, r, fmt.Errorf("%w: %w", ErrBadRequest, runtime.Errorf(runtime.EINVALID, "invalid request body: more than one JSON value")))
			return
		}
		for _, f := range []struct{ name, v string }{{"projectIdOrName", b.ProjectIDOrName}, {"provider", b.Provider}, {"groupRef", b.GroupRef}, {"consumerRef", b.ConsumerRef}} {
			if f.v == "" {
				writeErr(w, r, fmt.Errorf("%w: %w", ErrBadRequest, runtime.Errorf(runtime.EINVALID, "%s is required", f.name)))
				return
			}
		}
		if cc.Authorize != nil {
			if err := cc.Authorize(r, b.GroupRef, b.ConsumerRef); err != nil {
				writeErr(w, r, err)
				return
			}
		}
		projectID := b.ProjectIDOrName
		if cc.Project != nil {
			var err error
			if projectID, err = cc.Project(r, b.ProjectIDOrName); err != nil {
				writeErr(w, r, err)
				return
			}
		}
		var scopes []string
		if cc.Scopes != nil {
			var err error
			if scopes, err = cc.Scopes(r.Context(), projectID, b.Provider); err != nil {
				writeErr(w, r, err)
				return
			}
		}
		inputs := map[string]string{}
		for k, v := range b.ProviderMetadata {
			if v.Value != "" {
				inputs[k] = v.Value
			}
		}
		u, err := s.Start(r.Context(), StartRequest{
			ProjectID: projectID, Provider: b.Provider, ProviderAppID: b.ProviderAppID,
			GroupRef: b.GroupRef, GroupName: b.GroupName, ConsumerRef: b.ConsumerRef, ConsumerName: b.ConsumerName,
			ProviderWorkspaceRef: b.ProviderWorkspaceRef, ProviderInputs: inputs, Scopes: scopes,
		})
		if err != nil {
			writeErr(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, u)
	}
}

// Reauthorize starts a new consent for an existing connection
// (PATCH /v1/projects/{projectIdOrName}/connections/{connectionId}:oauth-update)
// and returns the authorize URL. scopes are the manifest's minimal scopes,
// as for Start. The callback replaces the connection's tokens.
func (s *Service) Reauthorize(ctx context.Context, projectID, connectionID string, scopes []string) (string, error) {
	c, err := s.cfg.Store.GetConnection(ctx, projectID, connectionID)
	if err != nil {
		return "", fmt.Errorf("oauth: re-authorise: %w", err)
	}
	return s.Start(ctx, StartRequest{
		ProjectID: projectID, Provider: c.Provider, GroupRef: c.GroupRef, GroupName: c.GroupName,
		ConsumerRef: c.ConsumerRef, ConsumerName: c.ConsumerName, ConnectionID: c.ID,
		ProviderWorkspaceRef: c.ProviderWorkspaceRef, ProviderInputs: inputsOf(c.ProviderMetadata), Scopes: scopes,
	})
}

// callbackPage posts the outcome to the window that opened the popup and
// closes it; without an opener it stays, showing the message.
var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1>{{.Title}}</h1>
<p id="message">{{.Text}}</p>
<p>You can close this window.</p>
<script nonce="{{.Nonce}}">
(function () {
  var message = {{.Message}};
  if (window.opener) {
    window.opener.postMessage(message, {{.Origin}});
    window.close();
  }
})();
</script></body></html>`))

// CallbackHandler serves GET /callbacks/v1/oauth, where providers redirect
// the customer's browser (no API key: the state is the credential). It
// finishes the connection and renders a page that posts
// {eventType: "AUTHORIZATION_SUCCEEDED", data: {connection: "<id>"}} or
// {eventType: "AUTHORIZATION_FAILED", data: {error: "<message>"}} to
// window.opener with Config.OpenerOrigin as targetOrigin, then closes.
// Failures answer 400 (500 for internal ones) with the message on the page;
// tokens, codes and the state never appear on it.
func (s *Service) CallbackHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var conn *runtime.Connection
		var err error
		if e := q.Get("error"); e != "" {
			err = s.Deny(r.Context(), q.Get("state"), e, q.Get("error_description"))
		} else {
			conn, err = s.Callback(r.Context(), q.Get("state"), q.Get("code"))
		}
		data := map[string]any{}
		status := http.StatusOK
		var title, text, event string
		if err != nil {
			status = http.StatusBadRequest
			if runtime.ErrorCode(err) == runtime.EINTERNAL {
				status = http.StatusInternalServerError
				slog.ErrorContext(r.Context(), "oauth callback failed", "err", err)
			}
			event, title, text = "AUTHORIZATION_FAILED", "Connection failed", runtime.ErrorMessage(err)
			data["error"] = text
		} else {
			event, title = "AUTHORIZATION_SUCCEEDED", "Connected"
			text = "Your " + conn.Provider + " account is connected."
			data["connection"] = conn.ID
		}
		nonce := make([]byte, 16)
		rand.Read(nonce)
		n := base64.StdEncoding.EncodeToString(nonce)
		var buf bytes.Buffer
		if err := callbackPage.Execute(&buf, map[string]any{
			"Title": title, "Text": text, "Nonce": n, "Origin": s.cfg.OpenerOrigin,
			"Message": map[string]any{"eventType": event, "data": data},
		}); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		// The URL carries the authorization code: never send it on.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+n+"'; style-src 'nonce-"+n+"'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		w.Write(buf.Bytes())
	}
}

// writeProblem is the default error writer: RFC 9457 problem+json with the
// status of the runtime error code.
func writeProblem(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusInternalServerError
	switch runtime.ErrorCode(err) {
	case runtime.EINVALID:
		status = http.StatusBadRequest
	case runtime.ENOTFOUND:
		status = http.StatusNotFound
	case runtime.ECONFLICT:
		status = http.StatusConflict
	case runtime.EUNAUTHORIZED:
		status = http.StatusUnauthorized
	}
	if status == http.StatusInternalServerError {
		slog.Error("oauth request failed", "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": runtime.ErrorMessage(err),
	})
}
