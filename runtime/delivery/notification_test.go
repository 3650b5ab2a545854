package delivery_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
)

func TestNotificationBodies(t *testing.T) {
	t.Parallel()
	inst := delivery.InstallationFields{
		ProjectID: "p1", Provider: "salesforce", IntegrationID: "i1", IntegrationName: "sf",
		InstallationID: "in1", ConnectionID: "c1", GroupRef: "g1", GroupName: "Group",
		ConsumerRef: "u1", ConsumerName: "User",
	}
	const instJSON = `"projectId":"p1","provider":"salesforce","integrationId":"i1","integrationName":"sf",` +
		`"installationId":"in1","connectionId":"c1","groupRef":"g1","groupName":"Group","consumerRef":"u1","consumerName":"User"`
	conn := delivery.ConnectionData{ProjectID: "p1", ConnectionID: "c1", Provider: "hubspot", GroupRef: "g1", ConsumerRef: "u1", ConsumerName: "User"}
	const connJSON = `"projectId":"p1","connectionId":"c1","provider":"hubspot","groupRef":"g1","consumerRef":"u1","consumerName":"User"`
	cfg := &runtime.InstallationConfig{ID: "cfg1", RevisionID: "r1", CreateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CreatedBy: "api"}

	for _, tc := range []struct {
		typ  string
		data any
		want string
	}{
		{delivery.NotificationReadBackfillDone,
			delivery.ReadBackfillDoneData{InstallationFields: inst, ObjectName: "account"},
			`{"notificationType":"read.backfill.done","data":{` + instJSON + `,"objectName":"account"}}`},
		{delivery.NotificationReadSchedulePaused,
			delivery.ReadSchedulePausedData{InstallationFields: inst, Config: cfg, Error: "Authentication failed"},
			`{"notificationType":"read.schedule.paused","data":{` + instJSON + `,"config":` + mustJSON(t, cfg) + `,"error":"Authentication failed"}}`},
		{delivery.NotificationConnectionError,
			delivery.ConnectionErrorData{ConnectionData: conn, Errors: []string{"refresh token revoked"}},
			`{"notificationType":"connection.error","data":{` + connJSON + `,"errors":["refresh token revoked"],"error":["refresh token revoked"]}}`},
		{delivery.NotificationConnectionError,
			&delivery.ConnectionErrorData{ConnectionData: conn},
			`{"notificationType":"connection.error","data":{` + connJSON + `,"errors":[],"error":[]}}`},
		{delivery.NotificationDestinationWebhookDisabled,
			delivery.DestinationWebhookDisabledData{ProjectID: "p1", DestinationID: "d1", DestinationName: "crm", URL: "https://example.com/hook"},
			`{"notificationType":"destination.webhook.disabled","data":{"projectId":"p1","destinationId":"d1","destinationName":"crm","url":"https://example.com/hook"}}`},
	} {
		m, err := delivery.NewNotification("p1", "dest", tc.typ, tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if string(m.Body) != tc.want {
			t.Errorf("%s body:\n got %s\nwant %s", tc.typ, m.Body, tc.want)
		}
		if m.ID == "" || m.ProjectID != "p1" || m.DestinationID != "dest" {
			t.Errorf("%s message = %+v, want an ID, project p1, destination dest", tc.typ, m)
		}
	}
	if _, err := delivery.NewNotification("p1", "", delivery.NotificationReadBackfillDone, nil); runtime.ErrorCode(err) != runtime.EINVALID {
		t.Errorf("no destination: err = %v, want EINVALID", err)
	}
	if _, err := delivery.NewNotification("p1", "d", "x", func() {}); runtime.ErrorCode(err) != runtime.EINVALID {
		t.Errorf("data that is not JSON: err = %v, want EINVALID", err)
	}
}

func TestNotificationDestination(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctx := context.Background()
	b.destination("crm", "https://crm.example/hook", newSecret())
	if d, err := delivery.NotificationDestination(ctx, b.store, b.project); d != nil || err != nil {
		t.Errorf("without one: %v, %v; want nil, nil", d, err)
	}
	if d, err := delivery.NotificationDestination(ctx, b.store, "no-such-project"); d != nil || err != nil {
		t.Errorf("unknown project: %v, %v; want nil, nil", d, err)
	}
	alerts := b.destination("alerts", "https://alerts.example/hook", newSecret())
	b.store.update(b.project, alerts.ID, func(d *runtime.Destination) { d.ReceivesNotifications = true })
	if d, err := delivery.NotificationDestination(ctx, b.store, b.project); err != nil || d == nil || d.ID != alerts.ID {
		t.Errorf("with one: %v, %v; want %s", d, err, alerts.ID)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
