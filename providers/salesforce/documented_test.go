package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

// Contract tests for resources that have no recording but a documented
// example answer (developer.salesforce.com). The examples below keep the
// documented keys, value types and formats; ids and figures are our own.
// The client parses each into concrete values, and the fake's answer to
// the same request has the example's JSON shape.

const (
	// resources_getupdated.htm, dome_get_updated.htm.
	docUpdated = `{"ids":["001D000000KnaPXIAZ","001D000000KnaPYIAZ"],"latestDateCovered":"2013-05-08T21:20:00.000+0000"}`
	// resources_getdeleted.htm, dome_get_deleted.htm.
	docDeleted = `{"deletedRecords":[{"id":"001D000000KnaPZIAZ","deletedDate":"2013-05-07T22:07:19.000+0000"}],
		"earliestDateAvailable":"2013-05-03T15:57:00.000+0000","latestDateCovered":"2013-05-08T21:20:00.000+0000"}`
	// resources_limits.htm, dome_limits.htm (a Developer Edition org; an
	// excerpt of the keys).
	docLimits = `{"ConcurrentAsyncGetReportInstances":{"Remaining":200,"Max":200},
		"DailyApiRequests":{"Remaining":14998,"Max":15000},
		"DailyAsyncApexExecutions":{"Remaining":250000,"Max":250000},
		"DailyBulkApiBatches":{"Remaining":15000,"Max":15000},
		"DailyBulkV2QueryFileStorageMB":{"Remaining":976562,"Max":976562},
		"DailyBulkV2QueryJobs":{"Remaining":10000,"Max":10000},
		"DailyStreamingApiEvents":{"Remaining":10000,"Max":10000},
		"DataStorageMB":{"Remaining":1073,"Max":1073},
		"HourlyDashboardResults":{"Remaining":5000,"Max":5000}}`
	// dome_versions.htm.
	docVersions = `[{"label":"Winter '24","url":"/services/data/v59.0","version":"59.0"},
		{"label":"Spring '24","url":"/services/data/v60.0","version":"60.0"}]`
	// resources_composite_composite_post.htm: subrequest results of a
	// create, a failed create and a subrequest halted by the failure
	// (allOrNone Parameters in Composite and Collections Requests).
	docCompositeCreated = `{"body":{"id":"001R00000064wdtIAA","success":true,"errors":[]},
		"httpHeaders":{"Location":"/services/data/v60.0/sobjects/Account/001R00000064wdtIAA"},"httpStatusCode":201,"referenceId":"refAccount"}`
	docCompositeFailed = `{"body":[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}],
		"httpHeaders":{},"httpStatusCode":400,"referenceId":"badContact"}`
	docCompositeHalted = `{"body":[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}],
		"httpHeaders":{},"httpStatusCode":400,"referenceId":"newContact"}`
)

func TestDocumentedReplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start, end := date("2013-05-05T00:00:00Z"), date("2013-05-10T00:00:00Z")
	c, rp, quotas := replayClient(t,
		step{method: "GET", path: v60 + "/sobjects/Account/updated/", status: 200, body: []byte(docUpdated)},
		step{method: "GET", path: v60 + "/sobjects/Invoice__c/deleted/", status: 200, body: []byte(docDeleted)},
		step{method: "GET", path: v60 + "/sobjects/Account/updated/", status: 400,
			body: []byte(`[{"message":"startDate must chronologically precede endDate","errorCode":"INVALID_REPLICATION_DATE"}]`)},
		step{method: "GET", path: v60 + "/sobjects/Account/deleted/", status: 400,
			body: []byte(`[{"message":"record limit reached","errorCode":"EXCEEDED_ID_LIMIT"}]`)},
	)
	up, err := c.Updated(ctx, "account", start, end)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(up.IDs, []string{"001D000000KnaPXIAZ", "001D000000KnaPYIAZ"}) || !up.LatestDateCovered.Equal(date("2013-05-08T21:20:00Z")) {
		t.Errorf("updated: %+v", up)
	}
	del, err := c.Deleted(ctx, "invoice__c", start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Records) != 1 || del.Records[0].ID != "001D000000KnaPZIAZ" || !del.Records[0].DeletedDate.Equal(date("2013-05-07T22:07:19Z")) ||
		!del.EarliestDateAvailable.Equal(date("2013-05-03T15:57:00Z")) || !del.LatestDateCovered.Equal(date("2013-05-08T21:20:00Z")) {
		t.Errorf("deleted: %+v", del)
	}
	_, err = c.Updated(ctx, "account", end, start)
	wantError(t, err, providers.KindInvalid, "INVALID_REPLICATION_DATE")
	_, err = c.Deleted(ctx, "account", start, end)
	wantError(t, err, providers.KindInvalid, "EXCEEDED_ID_LIMIT")
	// The bounds go out in the documented form, URL-encoded.
	if got := rp.queries[0]; got != "start=2013-05-05T00%3A00%3A00%2B00%3A00&end=2013-05-10T00%3A00%3A00%2B00%3A00" {
		t.Errorf("query string %s", got)
	}
	if len(*quotas) != 4 {
		t.Errorf("%d quota readings, want 4", len(*quotas))
	}

	// The fake answers the same requests in the same shape.
	f, _ := replicationFixture(t, fake.Options{})
	for _, tt := range []struct {
		path, doc string
	}{
		{"/sobjects/Account/updated/?start=2026-01-05T08%3A00%3A00%2B00%3A00&end=2026-01-05T09%3A02%3A00%2B00%3A00", docUpdated},
		{"/sobjects/Account/deleted/?start=2026-01-05T08%3A00%3A00%2B00%3A00&end=2026-01-05T09%3A02%3A00%2B00%3A00", docDeleted},
	} {
		status, got := fakeCall(t, f, http.MethodGet, v60+tt.path, nil)
		if status != 200 {
			t.Fatalf("%s: %d %v", tt.path, status, got)
		}
		assertShape(t, []byte(tt.doc), got)
	}
}

func TestDocumentedLimits(t *testing.T) {
	t.Parallel()
	// Newer orgs nest per-app allocations in DailyApiRequests; entries that
	// are not limits are skipped.
	nested := `{"DailyApiRequests":{"Max":15000,"Remaining":14000,"Ant Migration Tool":{"Max":0,"Remaining":0}},
		"PermissionSets":{"Max":1500,"Remaining":1498,"CreateCustom":{"Max":1000,"Remaining":998}},"Odd":[1,2]}`
	c, _, _ := replayClient(t,
		step{method: "GET", path: v60 + "/limits", status: 200, body: []byte(docLimits)},
		step{method: "GET", path: v60 + "/limits", status: 200, body: []byte(nested)},
		step{method: "GET", path: v60 + "/limits", status: 200, body: []byte(`{"DataStorageMB":{"Max":5,"Remaining":5}}`)},
	)
	ctx := context.Background()
	got, err := c.Limits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 || got[LimitDailyAPIRequests] != (providers.Quota{Used: 2, Limit: 15000, Window: 24 * time.Hour, Source: "limits"}) ||
		got[LimitDailyBulkV2QueryJobs].Limit != 10000 || got["HourlyDashboardResults"].Window != time.Hour {
		t.Errorf("documented limits: %+v", got)
	}
	got, err = c.Limits(ctx)
	if err != nil || len(got) != 2 || got[LimitDailyAPIRequests].Used != 1000 || got["PermissionSets"].Used != 2 {
		t.Errorf("nested limits: %+v %v", got, err)
	}
	_, err = c.Limits(ctx)
	wantError(t, err, providers.KindInvalid, "")

	f := newFixture(t, smallPages(3))
	status, body := fakeCall(t, f, http.MethodGet, v60+"/limits", nil)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	assertShape(t, []byte(docLimits), body)
	status, body = fakeCall(t, f, http.MethodGet, "/services/data/", nil)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	assertShape(t, []byte(docVersions), body)
}

func TestDocumentedComposite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, smallPages(3))
	status, body := fakeCall(t, f, http.MethodPost, v60+"/composite", []byte(`{"allOrNone":false,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"refAccount","body":{"Name":"Documented"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"badContact","body":{"AccountId":"@{refAccount.id}"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"newContact","body":{"LastName":"Smith","AccountId":"@{refAccount.id}"}}
	]}`))
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	results := body.(map[string]any)["compositeResponse"].([]any)
	for i, doc := range []string{docCompositeCreated, docCompositeFailed, docCompositeCreated} {
		t.Run(fmt.Sprint(i), func(t *testing.T) { assertShape(t, []byte(doc), results[i]) })
	}
	status, body = fakeCall(t, f, http.MethodPost, v60+"/composite", []byte(`{"allOrNone":true,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"badContact","body":{"FirstName":"No last name"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"newContact","body":{"LastName":"Smith"}}
	]}`))
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	results = body.(map[string]any)["compositeResponse"].([]any)
	assertShape(t, []byte(docCompositeFailed), results[0])
	assertShape(t, []byte(docCompositeHalted), results[1])
}
