package engine

import (
	"context"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
)

// notificationDestination returns the project's notification destination,
// or nil when it has none (the notification is then only in the logs).
func (e *Engine) notificationDestination(ctx context.Context, projectID string) *runtime.Destination {
	d, err := delivery.NotificationDestination(ctx, e.cfg.Store, projectID)
	if err != nil {
		e.log.Warn("find the notification destination", "project", projectID, "err", err)
	}
	return d
}

// installationFields fills the fields every installation notification has.
func (e *Engine) installationFields(ctx context.Context, in *runtime.Installation, conn *runtime.Connection) delivery.InstallationFields {
	f := delivery.InstallationFields{
		ProjectID: in.ProjectID, Provider: conn.Provider, IntegrationID: in.IntegrationID, InstallationID: in.ID,
		ConnectionID: conn.ID, GroupRef: in.GroupRef, GroupName: in.GroupName,
		ConsumerRef: conn.ConsumerRef, ConsumerName: conn.ConsumerName,
	}
	if integ, err := e.cfg.Store.GetIntegration(ctx, in.ProjectID, in.IntegrationID); err == nil {
		f.IntegrationName = integ.Name
	}
	return f
}

func (e *Engine) backfillDoneNotification(ctx context.Context, dest *runtime.Destination, in *runtime.Installation, conn *runtime.Connection, object string) (*runtime.OutboxMessage, error) {
	return delivery.NewNotification(in.ProjectID, dest.ID, delivery.NotificationReadBackfillDone,
		delivery.ReadBackfillDoneData{InstallationFields: e.installationFields(ctx, in, conn), ObjectName: object})
}

func (e *Engine) schedulePausedNotification(ctx context.Context, dest *runtime.Destination, in *runtime.Installation, conn *runtime.Connection, cause error) (*runtime.OutboxMessage, error) {
	cfg := in.Config
	return delivery.NewNotification(in.ProjectID, dest.ID, delivery.NotificationReadSchedulePaused,
		delivery.ReadSchedulePausedData{InstallationFields: e.installationFields(ctx, in, conn), Config: &cfg, Error: cause.Error()})
}

func connectionErrorNotification(dest *runtime.Destination, conn *runtime.Connection, cause error) (*runtime.OutboxMessage, error) {
	return delivery.NewNotification(conn.ProjectID, dest.ID, delivery.NotificationConnectionError,
		delivery.ConnectionErrorData{
			ConnectionData: delivery.ConnectionData{
				ProjectID: conn.ProjectID, ConnectionID: conn.ID, Provider: conn.Provider, GroupRef: conn.GroupRef,
				ConsumerRef: conn.ConsumerRef, ConsumerName: conn.ConsumerName,
			},
			Errors: []string{cause.Error()},
		})
}
