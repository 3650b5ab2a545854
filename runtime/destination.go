package runtime

import "time"

// DestinationWebhook is the only destination type amp delivers to for now.
const DestinationWebhook = "webhook"

// Destination is where a project's records are delivered: a webhook signed
// the Standard Webhooks way with a secret generated per destination.
type Destination struct {
	ID        string `json:"id"`
	ProjectID string `json:"-"`
	// Name is unique in the project; manifests and installation configs
	// refer to destinations by name.
	Name string `json:"name"`
	// Type is DestinationWebhook.
	Type     string              `json:"type"`
	Metadata DestinationMetadata `json:"metadata"`
	// SigningSecret is the webhook signing key, sealed by the caller
	// (seal.PurposeWebhookSecret, AAD projectID|ID|"signingSecret").
	SigningSecret []byte `json:"-"`
	// ReceivesNotifications makes the destination the project's
	// notification destination (read.backfill.done, connection.error...);
	// an amp extension.
	ReceivesNotifications bool `json:"receivesNotifications,omitzero"`
	// Disabled is set by delivery when the destination keeps failing (its
	// messages stay queued) and cleared by re-enabling it; DisabledReason
	// says why. FailingSince and Failures count the current run of failed
	// deliveries.
	Disabled       bool      `json:"disabled,omitzero"`
	DisabledReason string    `json:"disabledReason,omitzero"`
	FailingSince   time.Time `json:"-"`
	Failures       int       `json:"-"`
	CreateTime     time.Time `json:"createTime"`
	UpdateTime     time.Time `json:"updateTime,omitzero"`
}

// DestinationMetadata is a destination's address (Ampersand's
// Destination.metadata, webhook fields).
type DestinationMetadata struct {
	// URL is the webhook URL; the API layer enforces https (loopback
	// excepted in dev mode).
	URL string `json:"url"`
	// Headers are extra headers sent with every delivery.
	Headers map[string]string `json:"headers,omitzero"`
}

// Validate returns an EINVALID error when a required field is missing.
func (d *Destination) Validate() error {
	if err := required("destination projectId", d.ProjectID); err != nil {
		return err
	}
	if err := validName("destination name", d.Name); err != nil {
		return err
	}
	if d.Type != DestinationWebhook {
		return Errorf(EINVALID, "destination type %q is not supported (only %q)", d.Type, DestinationWebhook)
	}
	return required("destination metadata.url", d.Metadata.URL)
}

// DestinationUpdate holds the fields UpdateDestination may change; a nil
// field is left as it is.
type DestinationUpdate struct {
	Name     *string
	Metadata *DestinationMetadata
	// SigningSecret, when not nil, replaces the sealed signing secret
	// (rotation).
	SigningSecret []byte
	// ReceivesNotifications, when not nil, sets Destination.ReceivesNotifications.
	ReceivesNotifications *bool
	// Enabled, when true, re-enables a disabled destination: its failure
	// count is reset and its queued messages are due at once.
	Enabled *bool
}
