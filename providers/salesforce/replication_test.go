package salesforce

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func wantError(t *testing.T, err error, kind providers.ErrorKind, code string) {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != kind || pe.Code != code {
		t.Errorf("error %v, want kind %v code %s", err, kind, code)
	}
}

// replicationFixture: 20 accounts seeded before 09:00 on 2026-01-05;
// account 0 touched at 09:00:30.001, account 1 deleted at 09:00:30.002,
// account 2 touched at 09:01:30.003; the clock at 09:02:30.003.
func replicationFixture(t *testing.T, opts fake.Options) (*fixture, []string) {
	t.Helper()
	opts.Records = 20
	f := newFixture(t, opts)
	ids := f.fake.IDs("Account")
	f.fake.Advance(30 * time.Second)
	f.fake.Touch("Account", ids[0])
	f.fake.Delete("Account", ids[1])
	f.fake.Advance(time.Minute)
	f.fake.Touch("Account", ids[2])
	f.fake.Advance(time.Minute)
	return f, ids
}

func TestUpdated(t *testing.T) {
	t.Parallel()
	f, ids := replicationFixture(t, fake.Options{})
	ctx := context.Background()
	seeded := slices.Concat(ids[3:], []string{ids[0], ids[2]})
	tests := []struct {
		name       string
		object     string
		start, end time.Time
		ids        []string
		covered    string
		kind       providers.ErrorKind
		code       string
	}{
		{name: "a day", object: "account", start: date("2026-01-04T09:00:00Z"), end: date("2026-01-05T10:00:00Z"),
			ids: seeded, covered: "2026-01-05T09:02:00Z"},
		{name: "seconds are ignored", object: "Account", start: date("2026-01-05T09:00:45Z"), end: date("2026-01-05T09:01:45Z"),
			ids: []string{ids[0]}, covered: "2026-01-05T09:01:00Z"},
		{name: "a local time zone", object: "account", start: date("2026-01-05T10:01:00+01:00"), end: date("2026-01-05T10:02:00+01:00"),
			ids: []string{ids[2]}, covered: "2026-01-05T09:02:00Z"},
		{name: "no change", object: "contact", start: date("2026-01-05T09:00:00Z"), end: date("2026-01-05T09:02:00Z"),
			ids: []string{}, covered: "2026-01-05T09:02:00Z"},
		{name: "empty window", object: "account", start: date("2026-01-05T09:00:10Z"), end: date("2026-01-05T09:00:50Z"),
			kind: providers.KindInvalid, code: "INVALID_REPLICATION_DATE"},
		{name: "31 days back", object: "account", start: date("2025-12-05T09:00:00Z"), end: date("2026-01-05T09:00:00Z"),
			kind: providers.KindInvalid, code: "INVALID_REPLICATION_DATE"},
		{name: "unknown object", object: "nothing__c", start: date("2026-01-05T09:00:00Z"), end: date("2026-01-05T09:02:00Z"),
			kind: providers.KindNotFound, code: "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.client.Updated(ctx, tt.object, tt.start, tt.end)
			if tt.code != "" {
				wantError(t, err, tt.kind, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.IDs, tt.ids) || !res.LatestDateCovered.Equal(date(tt.covered)) {
				t.Errorf("got %v %s, want %v %s", res.IDs, res.LatestDateCovered, tt.ids, tt.covered)
			}
		})
	}
}

// Chaining windows on LatestDateCovered neither loses nor repeats a change,
// even one made in the minute a window was read.
func TestUpdatedChained(t *testing.T) {
	t.Parallel()
	f, ids := replicationFixture(t, fake.Options{})
	ctx := context.Background()
	from := date("2026-01-05T09:00:00Z")
	var seen []string
	for i := range 4 {
		// A change lands in the current (not yet covered) minute, then a
		// window is read up to an hour ahead.
		f.fake.Touch("Account", ids[10+i])
		res, err := f.client.Updated(ctx, "account", from, f.fake.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, res.IDs...)
		if !res.LatestDateCovered.After(from) && i > 0 {
			t.Errorf("window %d did not advance: %s", i, res.LatestDateCovered)
		}
		from = res.LatestDateCovered
		f.fake.Advance(time.Minute)
	}
	res, err := f.client.Updated(ctx, "account", from, f.fake.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, res.IDs...)
	want := []string{ids[0], ids[2], ids[10], ids[11], ids[12], ids[13]}
	if !slices.Equal(seen, want) {
		t.Errorf("chained windows saw %v, want %v", seen, want)
	}
}

func TestUpdatedIDLimit(t *testing.T) {
	t.Parallel()
	f, _ := replicationFixture(t, fake.Options{MaxReplicationIDs: 5})
	_, err := f.client.Updated(context.Background(), "account", date("2026-01-05T08:00:00Z"), date("2026-01-05T09:02:00Z"))
	wantError(t, err, providers.KindInvalid, "EXCEEDED_ID_LIMIT")
	res, err := f.client.Updated(context.Background(), "account", date("2026-01-05T09:00:00Z"), date("2026-01-05T09:02:00Z"))
	if err != nil || len(res.IDs) != 2 {
		t.Errorf("a narrower window: %+v %v", res, err)
	}
}

func TestDeleted(t *testing.T) {
	t.Parallel()
	f, ids := replicationFixture(t, fake.Options{})
	ctx := context.Background()
	res, err := f.client.Deleted(ctx, "account", date("2026-01-05T09:00:00Z"), date("2026-01-05T10:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || res.Records[0].ID != ids[1] || !res.Records[0].DeletedDate.Equal(date("2026-01-05T09:00:30.002Z")) ||
		!res.EarliestDateAvailable.Equal(date("2025-12-21T09:03:00Z")) || !res.LatestDateCovered.Equal(date("2026-01-05T09:02:00Z")) {
		t.Errorf("deleted: %+v", res)
	}
	// Deletions through the connector show up too.
	f.fake.Advance(time.Minute)
	results, err := f.client.Write(ctx, providers.WriteRequest{Object: "account", Op: providers.WriteDelete,
		Records: []providers.WriteRecord{{ID: ids[5]}}})
	if err != nil || len(results) != 1 || !results[0].Success {
		t.Fatalf("delete: %+v %v", results, err)
	}
	f.fake.Advance(time.Minute)
	res, err = f.client.Deleted(ctx, "account", res.LatestDateCovered, f.fake.Now())
	if err != nil || len(res.Records) != 1 || res.Records[0].ID != ids[5] {
		t.Errorf("next window: %+v %v", res, err)
	}
	// Past the delete log, the object must be read again in full.
	f.fake.PurgeDeleteLog()
	_, err = f.client.Deleted(ctx, "account", res.LatestDateCovered, f.fake.Now().Add(time.Hour))
	wantError(t, err, providers.KindInvalid, "INVALID_REPLICATION_DATE")
	_, err = f.client.Deleted(ctx, "account", date("2025-12-01T00:00:00Z"), date("2026-01-05T09:00:00Z"))
	wantError(t, err, providers.KindInvalid, "INVALID_REPLICATION_DATE")
}

func TestLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 5, Limits: fakekit.Limits{Daily: 15000}}})
	ctx := context.Background()
	if _, err := f.client.Read(ctx, providers.ReadRequest{Object: "account", Fields: []string{"name"}}); err != nil {
		t.Fatal(err)
	}
	limits, err := f.client.Limits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	header := f.quotas[len(f.quotas)-1]
	tests := []struct {
		name string
		want providers.Quota
	}{
		// The read and this call.
		{LimitDailyAPIRequests, providers.Quota{Used: 2, Limit: 15000, Window: 24 * time.Hour, Source: "limits"}},
		{LimitDailyBulkV2QueryJobs, providers.Quota{Used: 0, Limit: 10000, Window: 24 * time.Hour, Source: "limits"}},
		{LimitDailyBulkV2QueryFileStorageMB, providers.Quota{Used: 0, Limit: 976562, Window: 24 * time.Hour, Source: "limits"}},
		{LimitDailyBulkAPIBatches, providers.Quota{Used: 0, Limit: 15000, Window: 24 * time.Hour, Source: "limits"}},
		{"HourlyDashboardResults", providers.Quota{Used: 0, Limit: 5000, Window: time.Hour, Source: "limits"}},
		{"DataStorageMB", providers.Quota{Used: 0, Limit: 1073, Source: "limits"}},
	}
	for _, tt := range tests {
		if got := limits[tt.name]; got != tt.want {
			t.Errorf("%s = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	// The same count as the Sforce-Limit-Info header of the same response.
	if header.Used != limits[LimitDailyAPIRequests].Used || header.Limit != limits[LimitDailyAPIRequests].Limit || header.Source != "Sforce-Limit-Info" {
		t.Errorf("header %+v, body %+v", header, limits[LimitDailyAPIRequests])
	}
	// Once the allocation is spent, /limits is refused like any call.
	f.fake.Throttle(1, 0)
	_, err = f.client.Limits(ctx)
	wantError(t, err, providers.KindRateLimited, "REQUEST_LIMIT_EXCEEDED")
}
