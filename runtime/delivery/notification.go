package delivery

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

// Notification types, as Ampersand names them (notificationType).
const (
	NotificationReadBackfillDone           = "read.backfill.done"
	NotificationReadSchedulePaused         = "read.schedule.paused"
	NotificationConnectionError            = "connection.error"
	NotificationDestinationWebhookDisabled = "destination.webhook.disabled"
	NotificationWriteAsyncDone             = "write.async.done"
)

// InstallationFields are the fields common to installation notifications
// (Ampersand's InstallationFields); every one is required.
type InstallationFields struct {
	ProjectID       string `json:"projectId"`
	Provider        string `json:"provider"`
	IntegrationID   string `json:"integrationId"`
	IntegrationName string `json:"integrationName"`
	InstallationID  string `json:"installationId"`
	ConnectionID    string `json:"connectionId"`
	GroupRef        string `json:"groupRef"`
	GroupName       string `json:"groupName"`
	ConsumerRef     string `json:"consumerRef"`
	ConsumerName    string `json:"consumerName"`
}

// ReadBackfillDoneData is the data of read.backfill.done: an installation's
// backfill of an object completed.
type ReadBackfillDoneData struct {
	InstallationFields
	ObjectName string `json:"objectName"`
}

// ReadSchedulePausedData is the data of read.schedule.paused: an
// installation's scheduled reads stopped. Ampersand requires config or
// configURL; amp sends config.
type ReadSchedulePausedData struct {
	InstallationFields
	Config    *runtime.InstallationConfig `json:"config,omitempty"`
	ConfigURL string                      `json:"configURL,omitempty"`
	Error     string                      `json:"error,omitempty"`
}

// WriteAsyncDoneData is the data of write.async.done: an asynchronous
// write operation ended. Success is true only when every record was
// written; Errors holds one line per failed record.
type WriteAsyncDoneData struct {
	InstallationFields
	ObjectName          string   `json:"objectName"`
	Success             bool     `json:"success"`
	SuccessfulRecordIDs []string `json:"successfulRecordIds"`
	Errors              []string `json:"errors"`
	// OperationID is amp's: the operation whose results the builder can
	// fetch for per-record detail.
	OperationID string `json:"operationId,omitempty"`
}

// ConnectionData are the fields of connection notifications (Ampersand's
// ConnectionData); every one is required.
type ConnectionData struct {
	ProjectID    string `json:"projectId"`
	ConnectionID string `json:"connectionId"`
	Provider     string `json:"provider"`
	GroupRef     string `json:"groupRef"`
	ConsumerRef  string `json:"consumerRef"`
	ConsumerName string `json:"consumerName"`
}

// ConnectionErrorData is the data of connection.error. Error is Ampersand's
// deprecated copy of Errors, kept for older receivers: when it is nil it is
// sent equal to Errors. Both are sent as arrays, never null.
type ConnectionErrorData struct {
	ConnectionData
	Errors []string `json:"errors"`
	// Deprecated: receivers should read Errors.
	Error []string `json:"error"`
}

// MarshalJSON fills in the deprecated error array from errors.
func (d ConnectionErrorData) MarshalJSON() ([]byte, error) {
	type plain ConnectionErrorData // no MarshalJSON: no recursion
	p := plain(d)
	if p.Errors == nil {
		p.Errors = []string{}
	}
	if p.Error == nil {
		p.Error = p.Errors
	}
	return json.Marshal(p)
}

// DestinationWebhookDisabledData is the data of destination.webhook.disabled:
// delivery disabled a destination that kept failing.
type DestinationWebhookDisabledData struct {
	ProjectID       string `json:"projectId"`
	DestinationID   string `json:"destinationId"`
	DestinationName string `json:"destinationName"`
	URL             string `json:"url"`
}

// notificationBody is the webhook payload of a notification.
type notificationBody struct {
	NotificationType string `json:"notificationType"`
	Data             any    `json:"data"`
}

// NewNotification returns an outbox message for the destination carrying
// {"notificationType": notificationType, "data": data}, the payload
// Ampersand sends to webhook destinations. data is normally one of this
// package's *Data types. The message has a new ID.
// Returns EINVALID if an argument is empty or data does not encode as JSON.
func NewNotification(projectID, destinationID, notificationType string, data any) (*runtime.OutboxMessage, error) {
	if projectID == "" || destinationID == "" || notificationType == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "notification needs a project, a destination and a type")
	}
	body, err := json.Marshal(notificationBody{NotificationType: notificationType, Data: data})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", runtime.Errorf(runtime.EINVALID, "%s notification data does not encode as JSON", notificationType), err)
	}
	return &runtime.OutboxMessage{
		ID:            runtime.NewID(),
		ProjectID:     projectID,
		DestinationID: destinationID,
		Body:          body,
	}, nil
}

// DestinationLister lists a project's destinations
// (runtime.DestinationStore implements it).
type DestinationLister interface {
	ListDestinations(ctx context.Context, projectID string) ([]*runtime.Destination, error)
}

// NotificationDestination returns the project's notification destination:
// the first, by name, with ReceivesNotifications set, disabled or not (its
// messages then wait for it). It returns nil and no error when the project
// has none, or does not exist: notifications are then only logged.
func NotificationDestination(ctx context.Context, store DestinationLister, projectID string) (*runtime.Destination, error) {
	ds, err := store.ListDestinations(ctx, projectID)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list destinations of project %s: %w", projectID, err)
	}
	for _, d := range ds {
		if d.ReceivesNotifications {
			return d, nil
		}
	}
	return nil, nil
}
