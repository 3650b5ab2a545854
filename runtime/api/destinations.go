package api

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/seal"
)

// signingSecretBytes is the entropy of a webhook signing secret.
const signingSecretBytes = 32

// newSigningSecret returns a Standard Webhooks secret: "whsec_" and the
// base64 of random bytes, which Svix-based receivers accept as is.
func newSigningSecret() string {
	b := make([]byte, signingSecretBytes)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func signingSecretAAD(projectID, destID string) []byte {
	return seal.AAD(projectID, destID, "signingSecret")
}

// checkWebhookURL refuses anything but https, except http on a loopback
// host when the server runs in dev mode.
func (a *API) checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return runtime.Errorf(runtime.EINVALID, "metadata.url %q is not an absolute URL without credentials", s)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && a.dev && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return runtime.Errorf(runtime.EINVALID, "metadata.url must use https; http is allowed for loopback hosts only when the server runs with --dev")
	}
	return runtime.Errorf(runtime.EINVALID, "metadata.url must use https (got %q)", u.Scheme)
}

type destinationJSON struct {
	*runtime.Destination
	Secrets *destinationSecrets `json:"secrets,omitempty"`
}

type destinationSecrets struct {
	WebhookSigningKey string `json:"webhookSigningKey"`
}

func (a *API) listDestinations(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.store.ListDestinations(r.Context(), Project(r.Context()).ID)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []*runtime.Destination{}
	}
	writeJSON(w, http.StatusOK, ds)
	return nil
}

func (a *API) createDestination(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name                  string                      `json:"name"`
		Type                  string                      `json:"type"`
		Metadata              runtime.DestinationMetadata `json:"metadata"`
		ReceivesNotifications bool                        `json:"receivesNotifications"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if req.Type == "" {
		req.Type = runtime.DestinationWebhook
	}
	if err := a.checkWebhookURL(req.Metadata.URL); err != nil {
		return err
	}
	proj := Project(r.Context())
	d := &runtime.Destination{ID: runtime.NewID(), ProjectID: proj.ID, Name: req.Name, Type: req.Type, Metadata: req.Metadata,
		ReceivesNotifications: req.ReceivesNotifications}
	sealed, err := a.sealer.Seal(seal.PurposeWebhookSecret, []byte(newSigningSecret()), signingSecretAAD(proj.ID, d.ID))
	if err != nil {
		return fmt.Errorf("seal signing secret: %w", err)
	}
	d.SigningSecret = sealed
	if err := a.store.CreateDestination(r.Context(), d); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// destination resolves the path's destination by ID, then by name
// (Ampersand's GET takes the name, PATCH and DELETE the ID).
func (a *API) destination(r *http.Request) (*runtime.Destination, error) {
	ref, projectID := r.PathValue("destination"), Project(r.Context()).ID
	d, err := a.store.GetDestination(r.Context(), projectID, ref)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		d, err = a.store.GetDestinationByName(r.Context(), projectID, ref)
	}
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", ref)
	}
	return d, err
}

func (a *API) getDestination(w http.ResponseWriter, r *http.Request) error {
	withSecrets, err := queryBool(r, "includeSecrets")
	if err != nil {
		return err
	}
	rotate, err := queryBool(r, "rotate")
	if err != nil {
		return err
	}
	d, err := a.destination(r)
	if err != nil {
		return err
	}
	if rotate {
		sealed, err := a.sealer.Seal(seal.PurposeWebhookSecret, []byte(newSigningSecret()), signingSecretAAD(d.ProjectID, d.ID))
		if err != nil {
			return fmt.Errorf("seal signing secret: %w", err)
		}
		if d, err = a.store.UpdateDestination(r.Context(), d.ProjectID, d.ID, runtime.DestinationUpdate{SigningSecret: sealed}); err != nil {
			return err
		}
	}
	out := destinationJSON{Destination: d}
	if withSecrets {
		secret, err := a.sealer.Open(seal.PurposeWebhookSecret, d.SigningSecret, signingSecretAAD(d.ProjectID, d.ID))
		if err != nil {
			return fmt.Errorf("open signing secret of destination %s: %w", d.ID, err)
		}
		out.Secrets = &destinationSecrets{WebhookSigningKey: string(secret)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// destinationMaskPaths are the updateMask paths PATCH accepts.
const destinationMaskPaths = "name, metadata.url, metadata.headers, receivesNotifications, enabled"

func (a *API) patchDestination(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		UpdateMask  []string `json:"updateMask"`
		Destination struct {
			Name     *string `json:"name"`
			Metadata *struct {
				URL     *string            `json:"url"`
				Headers *map[string]string `json:"headers"`
			} `json:"metadata"`
			// amp extensions.
			ReceivesNotifications *bool `json:"receivesNotifications"`
			// Enabled true re-enables a destination that delivery
			// disabled (its queued messages are sent at once); false
			// disables it (its messages stay queued).
			Enabled *bool `json:"enabled"`
		} `json:"destination"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if len(req.UpdateMask) == 0 {
		return badRequest("body", "updateMask", "updateMask is required ("+destinationMaskPaths+")")
	}
	d, err := a.destination(r)
	if err != nil {
		return err
	}
	in := req.Destination
	var upd runtime.DestinationUpdate
	md := d.Metadata
	missing := func(m string) error {
		return badRequest("body", "destination."+m, fmt.Sprintf("updateMask names %q but destination.%s is missing", m, m))
	}
	for _, m := range req.UpdateMask {
		switch m {
		case "name":
			if in.Name == nil {
				return missing(m)
			}
			upd.Name = in.Name
		case "metadata.url":
			if in.Metadata == nil || in.Metadata.URL == nil {
				return missing(m)
			}
			if err := a.checkWebhookURL(*in.Metadata.URL); err != nil {
				return err
			}
			md.URL = *in.Metadata.URL
			upd.Metadata = &md
		case "metadata.headers":
			if in.Metadata == nil || in.Metadata.Headers == nil {
				return missing(m)
			}
			md.Headers = *in.Metadata.Headers
			upd.Metadata = &md
		case "receivesNotifications":
			if in.ReceivesNotifications == nil {
				return missing(m)
			}
			upd.ReceivesNotifications = in.ReceivesNotifications
		case "enabled":
			if in.Enabled == nil {
				return missing(m)
			}
			upd.Enabled = in.Enabled
		default:
			return badRequest("body", "updateMask", fmt.Sprintf("updateMask path %q is not one of %s", m, destinationMaskPaths))
		}
	}
	d, err = a.store.UpdateDestination(r.Context(), d.ProjectID, d.ID, upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) deleteDestination(w http.ResponseWriter, r *http.Request) error {
	d, err := a.destination(r)
	if err != nil {
		return err
	}
	if err := a.store.DeleteDestination(r.Context(), d.ProjectID, d.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
