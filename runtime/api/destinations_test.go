package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// TestDestinationNotificationsAndReenable covers the amp extensions of the
// destination routes: receivesNotifications on create and PATCH, the
// delivery state in answers, and re-enabling a disabled destination with
// PATCH "enabled": true.
func TestDestinationNotificationsAndReenable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, key := e.project("dest")
	pp := "/v1/projects/dest/destinations"
	type destJSON struct {
		ID                    string
		ReceivesNotifications bool
		Disabled              bool
		DisabledReason        string
		Failures              *int // never shown
	}
	var d destJSON
	e.must(201, "POST", pp, key, map[string]any{"name": "notify", "metadata": map[string]any{"url": "https://hooks.example.com/n"},
		"receivesNotifications": true}).json(t, &d)
	if !d.ReceivesNotifications || d.Disabled {
		t.Fatalf("created destination = %+v", d)
	}
	id := d.ID
	d = destJSON{} // false fields are left out of the answer
	e.must(200, "PATCH", pp+"/"+id, key, map[string]any{"updateMask": []string{"receivesNotifications"},
		"destination": map[string]any{"receivesNotifications": false}}).json(t, &d)
	if d.ReceivesNotifications {
		t.Fatalf("PATCH receivesNotifications false = %+v", d)
	}
	e.must(400, "PATCH", pp+"/"+d.ID, key, map[string]any{"updateMask": []string{"enabled"}, "destination": map[string]any{}})

	// Delivery disables it; the answer says so, and a message waits.
	ctx := context.Background()
	if err := e.store.EnqueueMessages(ctx, []*runtime.OutboxMessage{{ProjectID: p.ID, DestinationID: d.ID, Body: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DestinationFailed(ctx, runtime.DestinationFailure{ProjectID: p.ID, DestinationID: d.ID, Now: time.Now(), MaxFailures: 1}); err != nil {
		t.Fatal(err)
	}
	e.must(200, "GET", pp+"/notify", key, nil).json(t, &d)
	if !d.Disabled || d.DisabledReason == "" || d.Failures != nil {
		t.Fatalf("disabled destination = %+v", d)
	}
	if ms, err := e.store.ClaimMessages(ctx, time.Now().Add(time.Minute), time.Minute, 10); err != nil || len(ms) != 0 {
		t.Fatalf("claimed %d messages of a disabled destination (%v)", len(ms), err)
	}

	// Re-enabled: the message is due at once.
	r := e.must(200, "PATCH", pp+"/"+d.ID, key, map[string]any{"updateMask": []string{"enabled"}, "destination": map[string]any{"enabled": true}})
	d = destJSON{}
	r.json(t, &d)
	if d.Disabled || d.DisabledReason != "" {
		t.Fatalf("re-enabled destination = %s", r.body)
	}
	if ms, err := e.store.ClaimMessages(ctx, time.Now().Add(time.Minute), time.Minute, 10); err != nil || len(ms) != 1 {
		t.Fatalf("claimed %d messages after re-enabling, want 1 (%v)", len(ms), err)
	}
	e.must(400, "PATCH", pp+"/"+d.ID, key, map[string]any{"updateMask": []string{"disabled"}, "destination": map[string]any{"enabled": true}})
}
