package server_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	dynfake "github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	hsfake "github.com/ampforge/amp/providers/hubspot/fake"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime/engine"
)

// noLimits turns the fakes' rate limits off for tests about something else.
var noLimits = fakekit.Limits{Daily: -1, Window: -1, SearchPerSecond: -1, Concurrency: -1}

func fakeOptions(records int) fakekit.Options {
	return fakekit.Options{ClientID: e2eClientID, ClientSecret: e2eClientSecret, Records: records, Limits: noLimits}
}

const salesforceAccounts = `specVersion: 1.0.0
integrations:
  - name: sfAccounts
    provider: salesforce
    read:
      objects:
        - objectName: account
          mapToName: company
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: name
            - fieldName: billingcity
              mapToName: city
            - mapToName: country
              prompt: Which field holds the country?
          optionalFields:
            - fieldName: industry
          backfill:
            defaultPeriod:
              %s
`

func salesforceSpec(records int, backfill string) syncSpec {
	return syncSpec{
		provider: "salesforce",
		fake:     sffake.New(sffake.Options{Options: fakeOptions(records)}),
		manifest: fmt.Sprintf(salesforceAccounts, backfill),
		objects: map[string]any{"account": map[string]any{"objectName": "account",
			"selectedFields":        map[string]bool{"industry": true},
			"selectedFieldMappings": map[string]string{"country": "billingcountry"}}},
	}
}

// TestBackfillSalesforce100k is acceptance 1: a 100,000-record Salesforce
// backfill (through the Bulk API) reaches the receiver exactly once per
// record after de-duplication by webhook-id, with the mapping's fields.
func TestBackfillSalesforce100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 records")
	}
	t.Parallel()
	const n = 100_000
	e := startSync(t, salesforceSpec(n, "fullHistory: true"))
	ops := e.waitOps("backfill", 1, 3*time.Minute)
	if ops[0].Status != "success" {
		t.Fatalf("backfill %+v", ops[0])
	}
	st := e.recv.Stats()
	if st.Distinct != n || st.Records != n {
		t.Fatalf("receiver got %d records, %d distinct; want %d exactly once (dups %v)", st.Records, st.Distinct, n, first(e.recv.Duplicates(), 5))
	}
	recs := e.recv.Records("company")
	checked := 0
	for _, id := range e.fake.IDs("account") {
		if checked == 200 {
			break
		}
		checked++
		want, _ := e.fake.Get("account", id)
		got, ok := recs[id]
		if !ok {
			t.Fatalf("record %s missing", id)
		}
		if got.MappedFields["city"] != want["BillingCity"] || got.MappedFields["country"] != want["BillingCountry"] || got.Fields["name"] != want["Name"] {
			t.Fatalf("record %s: fields %v mappedFields %v; fake has %v", id, got.Fields, got.MappedFields, want)
		}
		if _, ok := got.Fields["billingcity"]; ok {
			t.Fatalf("record %s: a mapped field is also in fields: %v", id, got.Fields)
		}
	}
	if got := e.notes.Notifications(); len(got) != 1 || got[0] != "read.backfill.done" {
		t.Errorf("notifications %v, want one read.backfill.done", got)
	}
	e.checkMessagesSample(50)
}

// TestBackfillDays checks that days bounds the backfill: the fake's seeded
// records are one second apart, ending now, so a one-day backfill of
// 100,000 records gets the last 86,400 seconds' worth... scaled down here:
// 3,000 records over 3,000 seconds, days: 0 reads none and fullHistory all.
func TestBackfillDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, backfill string
		records, want  int
	}{
		{"fullHistory", "fullHistory: true", 3000, 3000},
		{"days1", "days: 1", 3000, 3000},
		{"days0", "days: 0", 3000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := salesforceSpec(tc.records, tc.backfill)
			spec.fake = sffake.New(sffake.Options{Options: fakekit.Options{ClientID: e2eClientID, ClientSecret: e2eClientSecret,
				Records: tc.records, Limits: noLimits, Start: time.Now()}})
			e := startSync(t, spec)
			ops := e.waitOps("backfill", 1, time.Minute)
			if ops[0].Status != "success" {
				t.Fatalf("backfill %+v", ops[0])
			}
			if got := e.recv.Stats().Distinct; got != tc.want {
				t.Errorf("backfill with %s delivered %d records, want %d", tc.backfill, got, tc.want)
			}
		})
	}
}

// TestBackfillDaysWindow seeds records over two days (one every 20 s) and
// checks a one-day backfill delivers only the last day's.
func TestBackfillDaysWindow(t *testing.T) {
	t.Parallel()
	spec := salesforceSpec(0, "days: 1")
	f := sffake.New(sffake.Options{Options: fakekit.Options{ClientID: e2eClientID, ClientSecret: e2eClientSecret,
		Records: 8640, Limits: noLimits, Start: time.Now()}})
	f.Kit().Store.SeedStep = 20 * time.Second
	spec.fake = f
	e := startSync(t, spec)
	e.waitOps("backfill", 1, time.Minute)
	got := e.recv.Stats().Distinct
	// 86,400 s / 20 s = 4,320, give or take the records at the edge.
	if got < 4310 || got > 4330 {
		t.Errorf("a one-day backfill over two days of records delivered %d, want about 4,320", got)
	}
}

// incrementalCase is one provider's incremental test.
type incrementalCase struct {
	name   string
	spec   func() syncSpec
	object string // the provider object
	mapped string // the delivered object name
}

var incrementalCases = []incrementalCase{
	{"salesforce", func() syncSpec { return salesforceSpec(3000, "fullHistory: true") }, "account", "company"},
	// A mass update: more records changed within the overlap than the
	// engine remembers (MaxRecent). The second scheduled read must still
	// deliver nothing, rather than the changes it forgot.
	{"salesforce-mass-update", func() syncSpec {
		spec := salesforceSpec(3000, "fullHistory: true")
		prev := spec.engine
		spec.engine = func(c *engine.Config) {
			if prev != nil {
				prev(c)
			}
			c.MaxRecent = 100
		}
		return spec
	}, "account", "company"},
	{"hubspot", func() syncSpec {
		return syncSpec{provider: "hubspot", fake: hsfake.New(hsfake.Options{Options: fakeOptions(3000)}),
			manifest: `specVersion: 1.0.0
integrations:
  - name: hsCompanies
    provider: hubspot
    read:
      objects:
        - objectName: companies
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: name
            - fieldName: domain
          backfill:
            defaultPeriod:
              fullHistory: true
`,
			objects: map[string]any{"companies": map[string]any{"objectName": "companies"}}}
	}, "companies", "companies"},
	{"dynamics", func() syncSpec {
		return syncSpec{provider: "dynamicsCRM", fake: dynfake.New(dynfake.Options{Options: fakeOptions(3000)}),
			metadata: map[string]any{"workspace": map[string]string{"value": "contoso", "source": "input"}},
			manifest: `specVersion: 1.0.0
integrations:
  - name: dynAccounts
    provider: dynamicsCRM
    read:
      objects:
        - objectName: accounts
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: name
            - fieldName: telephone1
              mapToName: phone
          backfill:
            defaultPeriod:
              fullHistory: true
`,
			objects: map[string]any{"accounts": map[string]any{"objectName": "accounts"}}}
	}, "accounts", "accounts"},
}

// TestIncrementalTombstone is acceptance 2 for each provider: after the
// backfill, 1,000 records change and 50 are deleted; the next scheduled
// read delivers exactly those 1,000 changes and 50 tombstones.
func TestIncrementalTombstone(t *testing.T) {
	t.Parallel()
	for _, tc := range incrementalCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startSync(t, tc.spec())
			ops := e.waitOps("backfill", 1, time.Minute)
			if ops[0].Status != "success" {
				t.Fatalf("backfill %+v", ops[0])
			}
			if got := e.recv.Stats().Distinct; got != 3000 {
				t.Fatalf("backfill delivered %d, want 3000", got)
			}
			ids := e.fake.IDs(tc.object)
			changed, deleted := map[string]bool{}, map[string]bool{}
			for _, id := range ids[:1000] {
				e.fake.Touch(tc.object, id)
				changed[id] = true
			}
			for _, id := range ids[1500:1550] {
				e.fake.Delete(tc.object, id)
				deleted[id] = true
			}
			before := len(e.recv.Messages())
			e.runSchedule()
			ops = e.waitOps("scheduled", 1, time.Minute)
			if ops[0].Status != "success" {
				t.Fatalf("scheduled read %+v", ops[0])
			}
			gotChanged, gotDeleted := map[string]int{}, map[string]int{}
			for _, m := range e.recv.Messages()[before:] {
				if m.Read == nil {
					continue
				}
				if m.Read.ReadType != "scheduled" || m.Read.ObjectName != tc.mapped {
					t.Errorf("message %s: readType %s object %s", m.ID, m.Read.ReadType, m.Read.ObjectName)
				}
				for _, r := range m.Read.Result {
					if r.Deleted {
						gotDeleted[r.ID]++
					} else {
						gotChanged[r.ID]++
					}
				}
			}
			if len(gotChanged) != 1000 || len(gotDeleted) != 50 {
				t.Fatalf("scheduled read delivered %d changes and %d tombstones, want 1000 and 50", len(gotChanged), len(gotDeleted))
			}
			for id, n := range gotChanged {
				if !changed[id] || n != 1 {
					t.Fatalf("change %s delivered %d times (changed: %v)", id, n, changed[id])
				}
			}
			for id, n := range gotDeleted {
				if !deleted[id] || n != 1 {
					t.Fatalf("tombstone %s delivered %d times (deleted: %v)", id, n, deleted[id])
				}
			}
			// Further scheduled reads with nothing new deliver nothing
			// (the third one too: after a mass update, the second read's
			// start is not the third's).
			for n := 2; n <= 3; n++ {
				before = e.recv.Stats().Records
				e.runSchedule()
				e.waitOps("scheduled", n, time.Minute)
				if got := e.recv.Stats().Records - before; got != 0 {
					t.Errorf("scheduled read %d, without changes, delivered %d records", n, got)
				}
			}
			e.checkMessagesSample(20)
		})
	}
}

// TestSignatureAndSchema is acceptance 7 on a small sync: every message
// (records and notifications) matches its reference schema and verifies
// with the independent Standard Webhooks check.
func TestSignatureAndSchema(t *testing.T) {
	t.Parallel()
	spec := salesforceSpec(1200, "fullHistory: true")
	spec.engine = func(c *engine.Config) { c.PageSize = 200; c.MaxMessageBytes = 40_000 }
	e := startSync(t, spec)
	e.waitOps("backfill", 1, time.Minute)
	if e.recv.Stats().Messages < 10 {
		t.Fatalf("expected pages split into many messages, got %+v", e.recv.Stats())
	}
	for _, m := range e.recv.Messages() {
		if len(m.Body) > 40_000 {
			t.Errorf("message %s is %d bytes, over the 40,000 limit", m.ID, len(m.Body))
		}
	}
	e.checkMessages()
	if len(e.notes.Messages()) == 0 {
		t.Error("no notification arrived")
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// pageHook runs do before the at-th page read of a fake (1-based).
type pageHook struct {
	syncFake
	page func(*http.Request) bool
	at   int32
	do   func()
	n    atomic.Int32
}

func (h *pageHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.page(r) && h.n.Add(1) == h.at {
		h.do()
	}
	h.syncFake.ServeHTTP(w, r)
}

// TestBackfillChangesDuringTheRead: a HubSpot backfill lists records in id
// order. A record it delivered early changes while it runs, and a record it
// reads later changed ten minutes after that. The first scheduled read must
// still deliver the early record's change: the watermark a backfill leaves
// is its start, not the newest record it met.
func TestBackfillChangesDuringTheRead(t *testing.T) {
	t.Parallel()
	opts := fakeOptions(1000)
	opts.Start = time.Now() // the provider's clock and the runtime's agree
	fake := hsfake.New(hsfake.Options{Options: opts})
	ids := fake.IDs("companies")
	early, late := ids[0], ids[len(ids)/2] // late: read last whether the read walks ids up or from both ends
	spec := hubspotSpec(hsfake.Options{})
	spec.skipSampling = true
	spec.engine = func(c *engine.Config) { c.PageSize = 100 }
	spec.fake = &pageHook{syncFake: fake, page: hubspotPage, at: 3, do: func() {
		fake.Touch("companies", early) // delivered by page 1
		fake.Advance(10 * time.Minute)
		fake.Touch("companies", late) // read later in the backfill
	}}
	e := startSync(t, spec)
	if op := e.waitOps("backfill", 1, time.Minute)[0]; op.Status != "success" {
		t.Fatalf("backfill %+v", op)
	} else if est := op.Metadata.Progress.RecordsEstimatedTotal; est != 1000 {
		// The two-ended read's first page is a list, which has no
		// total; the first search's comes on a later page.
		t.Errorf("backfill's recordsEstimatedTotal = %d, want 1000", est)
	}
	if got := e.recv.Stats().Distinct; got != 1000 {
		t.Fatalf("backfill delivered %d records, want 1000", got)
	}
	before := len(e.recv.Messages())
	e.runSchedule()
	if op := e.waitOps("scheduled", 1, time.Minute)[0]; op.Status != "success" {
		t.Fatalf("scheduled read %+v", op)
	}
	got := map[string]int{}
	for _, m := range e.recv.Messages()[before:] {
		if m.Read != nil {
			for _, r := range m.Read.Result {
				got[r.ID]++
			}
		}
	}
	if got[early] != 1 {
		t.Errorf("the scheduled read delivered the record changed during the backfill %d times, want 1 (delivered: %v)", got[early], got)
	}
}
