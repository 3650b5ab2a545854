package server_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
)

// TestSampleRead: installation saves read a sample record of each scheduled
// read object through the customer's connection (the Salesforce fake). A
// field the customer's org lacks is refused with Salesforce's own message,
// skipSampling bypasses the check, throttling is 503, and object
// config-content patches are sampled the same way.
func TestSampleRead(t *testing.T) {
	t.Parallel()
	kit := fakekit.Options{ClientID: e2eClientID, ClientSecret: e2eClientSecret, Records: 3,
		Limits: fakekit.Limits{Daily: -1, Window: -1, SearchPerSecond: -1, Concurrency: -1}}
	fake := sffake.New(sffake.Options{Options: kit})
	fsrv := httptest.NewServer(fake)
	t.Cleanup(fsrv.Close)
	l := startLive(t, t.TempDir(), map[string]string{salesforce.Name: fsrv.URL})
	defer l.stop()
	const proj = "/v1/projects/default"

	l.must(200, "POST", proj+"/provider-apps", map[string]any{"provider": salesforce.Name, "clientId": e2eClientID, "clientSecret": e2eClientSecret}, nil)
	var ints []integ
	l.must(200, "PUT", proj+"/integrations:batch", deployBody(t, "../../testdata/ampersand-samples/amp-labs__samples__salesforce__amp.yaml"), &ints)
	status, b, _ := l.call("POST", "/v1/oauth-connect", map[string]any{"projectIdOrName": "default", "provider": salesforce.Name,
		"groupRef": "acme", "consumerRef": "ada"})
	if status != 200 {
		t.Fatalf("oauth-connect = %d %s", status, b)
	}
	status, page, _ := browse(t, string(b))
	m := connectionInPage.FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("callback = %d %s", status, page)
	}
	connID := m[1]

	// contact is scheduled in the manifest (requiredFields: name).
	base := proj + "/integrations/" + ints[0].ID + "/installations"
	install := func(fields map[string]bool) map[string]any {
		return map[string]any{"groupRef": "acme", "connectionId": connID, "config": map[string]any{"content": map[string]any{
			"provider": salesforce.Name, "read": map[string]any{"objects": map[string]any{
				"contact": map[string]any{"objectName": "contact", "selectedFields": fields},
				// account has no schedule: not sampled, so its unknown field passes.
				"account": map[string]any{"objectName": "account", "selectedFields": map[string]bool{"notsampled__c": true}},
			}}}}}
	}
	refused := func(status int, b []byte, what string) {
		t.Helper()
		var p problem
		if err := json.Unmarshal(b, &p); err != nil || status != 422 || !strings.Contains(p.Detail, "No such column 'shoesize__c'") ||
			!strings.Contains(p.Detail, "contact") || len(p.Causes) == 0 || !strings.Contains(p.Causes[0], "No such column") {
			t.Errorf("%s = %d %s, want 422 with the provider's message naming contact", what, status, b)
		}
	}
	bad := install(map[string]bool{"email": true, "shoesize__c": true})
	status, b, _ = l.call("POST", base, bad)
	refused(status, b, "create with an unknown field")

	// skipSampling saves it anyway.
	var in instJSON
	l.must(201, "POST", base+"?skipSampling=true", bad, &in)
	l.must(204, "DELETE", base+"/"+in.ID, nil, nil)

	// A valid one is sampled and saved.
	l.must(201, "POST", base, install(map[string]bool{"email": true, "phone": true}), &in)
	path := base + "/" + in.ID

	// An update whose read config changes is sampled; one that does not
	// touch the read config is not.
	patchBad := map[string]any{"updateMask": []string{"config.content.read.objects.contact.selectedFields"},
		"installation": map[string]any{"config": map[string]any{"content": map[string]any{"read": map[string]any{"objects": map[string]any{
			"contact": map[string]any{"selectedFields": map[string]bool{"shoesize__c": true}}}}}}}}
	status, b, _ = l.call("PATCH", path, patchBad)
	refused(status, b, "patch with an unknown field")
	l.must(200, "PATCH", path, map[string]any{"updateMask": []string{"config.createdBy"},
		"installation": map[string]any{"config": map[string]any{"createdBy": "ada"}}}, nil)

	// Throttling is not the customer's fault: 503, retryable.
	fake.Kit().Faults.Throttle(1000, time.Second)
	status, b, _ = l.call("PATCH", path, map[string]any{"updateMask": []string{"config.content.read.objects.contact.selectedFields"},
		"installation": map[string]any{"config": map[string]any{"content": map[string]any{"read": map[string]any{"objects": map[string]any{
			"contact": map[string]any{"selectedFields": map[string]bool{"title": true}}}}}}}})
	if status != 503 || !strings.Contains(string(b), `"retryable":true`) {
		t.Errorf("patch while throttled = %d %s, want 503 retryable", status, b)
	}
	fake.Kit().Faults.Throttle(0, 0)

	// Object config-content: JSON Patch on one object's config.
	cc := proj + "/integrations/" + ints[0].ID + "/objects/contact/config-content"
	var got struct {
		ID     string
		Config struct {
			Content struct {
				Read struct {
					Objects map[string]struct {
						ObjectName     string
						Schedule       string
						SelectedFields map[string]bool
					}
				}
			}
		}
	}
	l.must(200, "PATCH", cc, map[string]any{"groupRef": "acme", "action": "read", "changes": []map[string]any{
		{"op": "add", "path": "/selectedFields/title", "value": true},
		{"op": "remove", "path": "/selectedFields/phone"},
		{"op": "add", "path": "/schedule", "value": "*/30 * * * *"},
	}}, &got)
	l.must(200, "GET", path, nil, &got)
	c := got.Config.Content.Read.Objects["contact"]
	if got.ID != in.ID || c.ObjectName != "contact" || c.Schedule != "*/30 * * * *" || !c.SelectedFields["title"] || !c.SelectedFields["email"] || c.SelectedFields["phone"] {
		t.Errorf("after config-content patch: %+v", got)
	}
	if _, ok := got.Config.Content.Read.Objects["account"]; !ok {
		t.Errorf("config-content patch of contact lost account: %+v", got)
	}
	status, b, _ = l.call("PATCH", cc, map[string]any{"installationId": in.ID, "action": "read", "changes": []map[string]any{
		{"op": "add", "path": "/selectedFields/shoesize__c", "value": true}}})
	refused(status, b, "config-content patch with an unknown field")
	l.must(200, "PATCH", cc+"?skipSampling=true", map[string]any{"installationId": in.ID, "action": "read", "changes": []map[string]any{
		{"op": "replace", "path": "/schedule", "value": "*/15 * * * *"}}}, nil)
	for _, body := range []map[string]any{
		{"groupRef": "acme", "action": "read", "changes": []map[string]any{{"op": "remove", "path": "/nosuch"}}},
		{"groupRef": "acme", "action": "read", "changes": []map[string]any{{"op": "move", "path": "/schedule", "from": "/x"}}},
		{"groupRef": "acme", "action": "read", "changes": []map[string]any{}},
		{"action": "read", "changes": []map[string]any{{"op": "add", "path": "/schedule", "value": "x"}}},
	} {
		if status, b, _ := l.call("PATCH", cc, body); status != 400 {
			t.Errorf("config-content %v = %d %s, want 400", body, status, b)
		}
	}
	// An object the manifest does not read, and an unknown group.
	if status, b, _ := l.call("PATCH", proj+"/integrations/"+ints[0].ID+"/objects/lead/config-content", map[string]any{"groupRef": "acme", "action": "read",
		"changes": []map[string]any{{"op": "add", "path": "/schedule", "value": "*/30 * * * *"}}}); status != 422 {
		t.Errorf("config-content of an object outside the manifest = %d %s, want 422", status, b)
	}
	if status, b, _ := l.call("PATCH", cc, map[string]any{"groupRef": "nobody", "action": "read",
		"changes": []map[string]any{{"op": "add", "path": "/schedule", "value": "*/30 * * * *"}}}); status != 404 {
		t.Errorf("config-content of an unknown group = %d %s, want 404", status, b)
	}
}
