package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dynfake "github.com/ampforge/amp/providers/dynamics/fake"
	hsfake "github.com/ampforge/amp/providers/hubspot/fake"
	sffake "github.com/ampforge/amp/providers/salesforce/fake"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/write"
)

// startWrite is startSync with the installation's write config and the
// Write API's settings.
func startWrite(t *testing.T, spec syncSpec, writeObjects map[string]any, wcfg func(*write.Config)) *syncEnv {
	t.Helper()
	spec.writeObjects, spec.write = writeObjects, wcfg
	return startSync(t, spec)
}

// writeReq posts a Write API body for the group acme (unless body sets
// groupRef) and returns the answer.
func (e *syncEnv) writeReq(object string, body map[string]any, idemKey string) (int, []byte, http.Header) {
	e.t.Helper()
	if _, ok := body["groupRef"]; !ok {
		body["groupRef"] = "acme"
	}
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.l.base+syncProj+"/integrations/"+e.integID+"/objects/"+object, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", e.l.key)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// mustWrite is writeReq that wants the status and decodes the answer.
func (e *syncEnv) mustWrite(want int, object string, body map[string]any) writeAnswerJSON {
	e.t.Helper()
	status, b, _ := e.writeReq(object, body, "")
	if status != want {
		e.t.Fatalf("write %s %v = %d %s, want %d", object, body["type"], status, b, want)
	}
	var a writeAnswerJSON
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatalf("decode %s: %v", b, err)
	}
	if a.OperationID == "" {
		e.t.Fatalf("answer without operationId: %s", b)
	}
	return a
}

type recordErrJSON struct {
	Message, Code, Reason string
	Fields                []string
}

type writeResultJSON struct {
	Success  bool
	RecordID string
	Errors   []recordErrJSON
}

// writeAnswerJSON is every shape of a write answer.
type writeAnswerJSON struct {
	OperationID  string
	Result       *writeResultJSON
	Errors       []recordErrJSON
	SuccessCount int
	FailureCount int
	Results      []writeResultJSON
}

// writeOpJSON is what the write tests read of an operation.
type writeOpJSON struct {
	ID         string
	ActionType string
	Status     string
	Queued     bool
	Error      string
	Metadata   struct{ Retry *struct{ Attempts int } }
	// WriteResults are the per-record results.
	WriteResults *struct {
		SuccessCount, FailureCount, PendingCount int
		Results                                  []writeResultJSON
	}
}

// waitWrites waits until the installation has n write operations, all
// ended, and returns them.
func (e *syncEnv) waitWrites(n int, timeout time.Duration) []writeOpJSON {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out struct{ Results []writeOpJSON }
		e.l.must(200, "GET", fmt.Sprintf("%s/integrations/%s/installations/%s/operations?pageSize=1000", syncProj, e.integID, e.instID), nil, &out)
		var writes []writeOpJSON
		ended := 0
		for _, op := range out.Results {
			if op.ActionType != "write" {
				continue
			}
			writes = append(writes, op)
			if (op.Status == "success" || op.Status == "failure") && !op.Queued {
				ended++
			}
		}
		if len(writes) >= n && ended == len(writes) {
			return writes
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s: %d write operations (want %d), %d ended", timeout, len(writes), n, ended)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// fieldOf reads a fake record's field by name, ignoring case (Salesforce
// stores API names, the others lower case).
func fieldOf(rec map[string]any, name string) any {
	for k, v := range rec {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// sameText compares a fake's value with the one written: HubSpot keeps
// every property as a string.
func sameText(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func isDeleted(rec map[string]any, ok bool) bool {
	return !ok || rec["IsDeleted"] == true || rec["archived"] == true
}

// writeCase is one provider's write tests.
type writeCase struct {
	name string
	spec func() syncSpec
	// writeObjects is the installation's write config.
	writeObjects map[string]any
	// path is the write object as the builder names it; object the
	// provider object (the fake's name).
	path, object string
	// create is a new record in the builder's names; created the fake
	// fields it must leave.
	create, created map[string]any
	// update changes a record; updated is what the fake then holds.
	update, updated map[string]any
	// upsertPath and upsertObject name the object upserted by key;
	// upsert(v) is a record with the same key and value v in
	// upsertField.
	upsertPath, upsertObject, upsertField string
	upsert                                func(v string) map[string]any
	// missingID is an id the fake has no record for.
	missingID string
	// bulk is record i of the 10,000-record test.
	bulk func(i int) map[string]any
	// allOrNone says whether the provider can roll a batch back.
	allOrNone bool
	// isWrite tells the provider's write calls (fault injection).
	isWrite func(r *http.Request) bool
	// change changes a written field in the fake, as someone else would.
	change func(f syncFake, id string)
	// deliveredName is the read object's name in webhook messages.
	deliveredName string
	// maxBatch is the connector's batch size (records per write call).
	maxBatch int
}

const sfWritesManifest = `specVersion: 1.0.0
integrations:
  - name: sfWrites
    provider: salesforce
    read:
      objects:
        - objectName: account
          mapToName: company
          destination: crmWebhook
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: name
            - fieldName: billingcity
              mapToName: city
            - mapToName: country
              prompt: Which field holds the country?
          optionalFields:
            - fieldName: industry
            - fieldName: numberofemployees
          backfill:
            defaultPeriod:
              fullHistory: true
    write:
      objects:
        - objectName: account
          inheritMapping: true
        - objectName: invoice__c
          upsertKey: external_id__c
`

func sfWriteReadObjects(countryField string) map[string]any {
	return map[string]any{"account": map[string]any{"objectName": "account",
		"selectedFields":        map[string]bool{"industry": true, "numberofemployees": true},
		"selectedFieldMappings": map[string]string{"country": countryField}}}
}

var writeCases = []writeCase{
	{
		name: "Salesforce",
		spec: func() syncSpec {
			return syncSpec{provider: "salesforce", fake: sffake.New(sffake.Options{Options: fakeOptions(20)}),
				manifest: sfWritesManifest, objects: sfWriteReadObjects("billingcountry")}
		},
		writeObjects: map[string]any{
			"account":    map[string]any{"objectName": "account", "deletionSettings": map[string]any{"enabled": true}},
			"invoice__c": map[string]any{"objectName": "invoice__c"},
		},
		path: "company", object: "account",
		create:     map[string]any{"name": "Write Co", "city": "Lyon", "country": "France", "industry": "Energy"},
		created:    map[string]any{"Name": "Write Co", "BillingCity": "Lyon", "BillingCountry": "France", "Industry": "Energy"},
		update:     map[string]any{"city": "Nice", "numberofemployees": 12},
		updated:    map[string]any{"Name": "Write Co", "BillingCity": "Nice", "NumberOfEmployees": 12},
		upsertPath: "invoice__c", upsertObject: "invoice__c", upsertField: "Status__c",
		upsert: func(v string) map[string]any {
			return map[string]any{"name": "INV-W1", "external_id__c": "w-1", "status__c": v}
		},
		missingID: "001000099999999AAA",
		bulk: func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Bulk %d", i), "city": "Paris"}
		},
		allOrNone: true,
		isWrite: func(r *http.Request) bool {
			return r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/composite/sobjects")
		},
		change: func(f syncFake, id string) {
			if _, err := f.Kit().Store.Update("Account", id, map[string]any{"BillingCity": "Changed elsewhere"}); err != nil {
				panic(err)
			}
		},
		deliveredName: "company",
		maxBatch:      200,
	},
	{
		name: "HubSpot",
		spec: func() syncSpec {
			return syncSpec{provider: "hubspot", fake: hsfake.New(hsfake.Options{Options: fakeOptions(20)}),
				manifest: `specVersion: 1.0.0
integrations:
  - name: hsWrites
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          destination: crmWebhook
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: firstname
            - fieldName: lastname
            - fieldName: email
            - fieldName: city
              mapToName: town
          backfill:
            defaultPeriod:
              fullHistory: true
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
          upsertKey: email
`,
				objects: map[string]any{"contacts": map[string]any{"objectName": "contacts"}}}
		},
		writeObjects: map[string]any{"contacts": map[string]any{"objectName": "contacts", "deletionSettings": map[string]any{"enabled": true}}},
		path:         "contacts", object: "contacts",
		create:     map[string]any{"firstname": "Ada", "lastname": "Write", "email": "ada.write@example.com", "town": "Oslo"},
		created:    map[string]any{"firstname": "Ada", "lastname": "Write", "email": "ada.write@example.com", "city": "Oslo"},
		update:     map[string]any{"town": "Bergen"},
		updated:    map[string]any{"firstname": "Ada", "city": "Bergen"},
		upsertPath: "contacts", upsertObject: "contacts", upsertField: "lastname",
		upsert: func(v string) map[string]any {
			return map[string]any{"email": "upsert.one@example.com", "firstname": "Up", "lastname": v}
		},
		missingID: "999999999999",
		bulk: func(i int) map[string]any {
			return map[string]any{"firstname": "Bulk", "lastname": fmt.Sprint(i), "email": fmt.Sprintf("bulk%d@example.com", i)}
		},
		isWrite: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/batch/") && !strings.HasSuffix(r.URL.Path, "/batch/read")
		},
		change: func(f syncFake, id string) {
			if _, err := f.Kit().Store.Update("contacts", id, map[string]any{"city": "Changed elsewhere"}); err != nil {
				panic(err)
			}
		},
		deliveredName: "contacts",
		maxBatch:      100,
	},
	{
		name: "Dynamics",
		spec: func() syncSpec {
			return syncSpec{provider: "dynamicsCRM", fake: dynfake.New(dynfake.Options{Options: fakeOptions(20)}),
				metadata: map[string]any{"workspace": map[string]string{"value": "contoso", "source": "input"}},
				manifest: `specVersion: 1.0.0
integrations:
  - name: dynWrites
    provider: dynamicsCRM
    read:
      objects:
        - objectName: accounts
          destination: crmWebhook
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: name
            - fieldName: accountnumber
            - fieldName: telephone1
              mapToName: phone
          backfill:
            defaultPeriod:
              fullHistory: true
    write:
      objects:
        - objectName: accounts
          inheritMapping: true
          upsertKey: accountnumber
`,
				objects: map[string]any{"accounts": map[string]any{"objectName": "accounts"}}}
		},
		writeObjects: map[string]any{"accounts": map[string]any{"objectName": "accounts", "deletionSettings": map[string]any{"enabled": true}}},
		path:         "accounts", object: "accounts",
		create:     map[string]any{"name": "Write Co", "accountnumber": "W-1", "phone": "+1 555 0100"},
		created:    map[string]any{"name": "Write Co", "accountnumber": "W-1", "telephone1": "+1 555 0100"},
		update:     map[string]any{"phone": "+1 555 0199"},
		updated:    map[string]any{"name": "Write Co", "telephone1": "+1 555 0199"},
		upsertPath: "accounts", upsertObject: "accounts", upsertField: "name",
		upsert: func(v string) map[string]any {
			return map[string]any{"accountnumber": "W-UP-1", "name": v}
		},
		missingID: "00000000-0000-0000-0000-00000000beef",
		bulk: func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Bulk %d", i), "accountnumber": fmt.Sprintf("B-%d", i)}
		},
		allOrNone: true,
		isWrite: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "$batch")
		},
		change: func(f syncFake, id string) {
			if _, err := f.Kit().Store.Update("accounts", id, map[string]any{"telephone1": "+1 555 0000"}); err != nil {
				panic(err)
			}
		},
		deliveredName: "accounts",
		maxBatch:      1000,
	},
}

func writeCaseNamed(name string) writeCase {
	for _, c := range writeCases {
		if c.name == name {
			return c
		}
	}
	panic("no write case " + name)
}

func TestWriteSalesforceRoundTrip(t *testing.T) {
	t.Parallel()
	testWriteRoundTrip(t, writeCaseNamed("Salesforce"))
}

func TestWriteHubSpotRoundTrip(t *testing.T) {
	t.Parallel()
	testWriteRoundTrip(t, writeCaseNamed("HubSpot"))
}

func TestWriteDynamicsRoundTrip(t *testing.T) {
	t.Parallel()
	testWriteRoundTrip(t, writeCaseNamed("Dynamics"))
}

// testWriteRoundTrip is acceptance 1's round trips: create, update, upsert
// and delete, synchronous and asynchronous, checked in the fake; then a
// batch with one bad record, with allOrNone false and true.
func testWriteRoundTrip(t *testing.T, c writeCase) {
	e := startWrite(t, c.spec(), c.writeObjects, nil)
	get := func(object, id string) map[string]any {
		t.Helper()
		rec, ok := e.fake.Get(object, id)
		if isDeleted(rec, ok) {
			t.Fatalf("%s %s is not in the fake", object, id)
		}
		return rec
	}
	expect := func(what, object, id string, want map[string]any) {
		t.Helper()
		rec := get(object, id)
		for k, v := range want {
			if !sameText(fieldOf(rec, k), v) {
				t.Errorf("%s: %s %s has %s = %v, want %v (record %v)", what, object, id, k, fieldOf(rec, k), v, rec)
			}
		}
	}

	// Create, synchronously.
	a := e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "synchronous", "record": c.create})
	if a.Result == nil || !a.Result.Success || a.Result.RecordID == "" {
		t.Fatalf("create answered %+v", a)
	}
	id := a.Result.RecordID
	expect("create", c.object, id, c.created)

	// Update it.
	upd := map[string]any{"id": id}
	for k, v := range c.update {
		upd[k] = v
	}
	a = e.mustWrite(200, c.path, map[string]any{"type": "update", "record": upd})
	if !a.Result.Success || a.Result.RecordID != id {
		t.Fatalf("update answered %+v", a)
	}
	expect("update", c.object, id, c.updated)

	// Upsert by key twice: one record, created then updated.
	a = e.mustWrite(200, c.upsertPath, map[string]any{"type": "upsert", "record": c.upsert("First")})
	upID := a.Result.RecordID
	if !a.Result.Success || upID == "" {
		t.Fatalf("upsert (create) answered %+v", a)
	}
	expect("upsert create", c.upsertObject, upID, map[string]any{c.upsertField: "First"})
	a = e.mustWrite(200, c.upsertPath, map[string]any{"type": "upsert", "record": c.upsert("Second")})
	if !a.Result.Success || a.Result.RecordID != upID {
		t.Fatalf("upsert (update) answered %+v, want record %s again", a, upID)
	}
	expect("upsert update", c.upsertObject, upID, map[string]any{c.upsertField: "Second"})

	// A single record that fails: 422 with the provider's reason.
	status, b, _ := e.writeReq(c.path, map[string]any{"type": "update", "record": map[string]any{"id": c.missingID, c.firstKey(): "x"}}, "")
	var fail writeAnswerJSON
	_ = json.Unmarshal(b, &fail)
	if status != 422 || fail.Result == nil || fail.Result.Success || len(fail.Errors) == 0 || fail.Errors[0].Reason == "" || fail.Errors[0].Message == "" {
		t.Errorf("update of a missing record = %d %s, want 422 with the provider's error and a reason", status, b)
	}

	// A batch with one bad record, partial: the good ones are written.
	ids := e.fake.IDs(c.object)[:2]
	batch := func(v string) []any {
		return []any{
			map[string]any{"record": map[string]any{"id": ids[0], c.firstKey(): v}},
			map[string]any{"record": map[string]any{"id": c.missingID, c.firstKey(): v}},
			map[string]any{"record": map[string]any{"id": ids[1], c.firstKey(): v}},
		}
	}
	a = e.mustWrite(200, c.path, map[string]any{"type": "update", "batch": batch("Partial"), "batchPolicy": map[string]any{"allOrNone": false}})
	if a.SuccessCount != 2 || a.FailureCount != 1 || len(a.Results) != 3 || !a.Results[0].Success || a.Results[1].Success || !a.Results[2].Success {
		t.Fatalf("partial batch answered %+v", a)
	}
	if len(a.Results[1].Errors) == 0 || a.Results[1].Errors[0].Reason == "" {
		t.Errorf("failed record without a classified error: %+v", a.Results[1])
	}
	for _, id := range ids {
		expect("partial batch", c.object, id, map[string]any{c.firstProviderField(): "Partial"})
	}

	// The same batch all or none.
	status, b, _ = e.writeReq(c.path, map[string]any{"type": "update", "batch": batch("AllOrNone"), "batchPolicy": map[string]any{"allOrNone": true}}, "")
	if c.allOrNone {
		var aon writeAnswerJSON
		_ = json.Unmarshal(b, &aon)
		if status != 422 || aon.SuccessCount != 0 || aon.FailureCount != 3 || len(aon.Results) != 3 {
			t.Fatalf("all-or-none batch = %d %s, want 422 with 3 failures", status, b)
		}
		for i, r := range aon.Results {
			if r.Success || len(r.Errors) == 0 {
				t.Errorf("all-or-none result %d: %+v", i, r)
			}
		}
	} else if status != 422 || !strings.Contains(string(b), "batchPolicy.allOrNone") || !strings.Contains(string(b), "roll") {
		t.Fatalf("all-or-none batch on a provider without rollback = %d %s, want a 422 naming batchPolicy.allOrNone", status, b)
	}
	for _, id := range ids {
		expect("all-or-none batch", c.object, id, map[string]any{c.firstProviderField(): "Partial"})
	}

	// Asynchronous: a batch of creates, then the operation's results.
	var recs []any
	for i := range 5 {
		recs = append(recs, map[string]any{"record": c.bulk(900_000 + i)})
	}
	a = e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": recs})
	ops := e.waitWrites(1, 30*time.Second)
	if ops[0].ID != a.OperationID || ops[0].Status != "success" || ops[0].WriteResults == nil || ops[0].WriteResults.SuccessCount != 5 {
		t.Fatalf("async write operation %+v (answer %+v)", ops[0], a)
	}
	for _, r := range ops[0].WriteResults.Results {
		get(c.object, r.RecordID)
	}
	waitNotes(t, e, "write.async.done", 1)

	// Delete.
	a = e.mustWrite(200, c.path, map[string]any{"type": "delete", "record": map[string]any{"id": id}})
	if !a.Result.Success {
		t.Fatalf("delete answered %+v", a)
	}
	if rec, ok := e.fake.Get(c.object, id); !isDeleted(rec, ok) {
		t.Errorf("deleted record %s is still in the fake: %v", id, rec)
	}
	e.checkMessages()
}

// firstKey is the builder's name of the field the batch tests write.
func (c writeCase) firstKey() string {
	for _, k := range []string{"city", "town", "phone"} {
		if _, ok := c.update[k]; ok {
			return k
		}
	}
	panic("no mapped field in update")
}

// firstProviderField is firstKey's provider field.
func (c writeCase) firstProviderField() string {
	return map[string]string{"city": "BillingCity", "town": "city", "phone": "telephone1"}[c.firstKey()]
}

// waitNotes waits until n notifications of the type arrived.
func waitNotes(t *testing.T, e *syncEnv, typ string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := 0
		for _, nt := range e.notes.Notifications() {
			if nt == typ {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s notifications arrived, want %d (all: %v)", got, typ, n, e.notes.Notifications())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWrite10kAsync is acceptance 1's scale test: 10,000 asynchronous
// writes as 100 batches of 100 end with every record accounted for in the
// operations' results and present in the fake.
func TestWrite10kAsync(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 records per provider")
	}
	t.Parallel()
	for _, c := range writeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startWrite(t, c.spec(), c.writeObjects, nil)
			before := len(e.fake.IDs(c.object))
			ids := runAsync10k(t, e, c)
			if got := len(e.fake.IDs(c.object)) - before; got != 10_000 {
				t.Errorf("the fake has %d new %s records, want 10,000", got, c.object)
			}
			for _, id := range ids[:min(len(ids), 50)] {
				if rec, ok := e.fake.Get(c.object, id); isDeleted(rec, ok) {
					t.Errorf("written record %s is not in the fake", id)
				}
			}
			waitNotes(t, e, "write.async.done", 100)
			e.checkMessagesSample(10)
		})
	}
}

// runAsync10k sends 100 asynchronous batches of 100 creates and waits for
// their operations; it checks every record has exactly one result, a
// success, and returns the record ids.
func runAsync10k(t testing.TB, e *syncEnv, c writeCase) []string {
	ops := map[string]bool{}
	for b := range 100 {
		batch := make([]any, 100)
		for i := range batch {
			batch[i] = map[string]any{"record": c.bulk(b*100 + i)}
		}
		a := e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": batch})
		ops[a.OperationID] = true
	}
	done := e.waitWrites(100, 3*time.Minute)
	seen := map[string]bool{}
	var ids []string
	for _, op := range done {
		if !ops[op.ID] {
			continue
		}
		delete(ops, op.ID)
		r := op.WriteResults
		if op.Status != "success" || r == nil || r.SuccessCount != 100 || r.FailureCount != 0 || len(r.Results) != 100 {
			t.Fatalf("operation %s: %+v", op.ID, op)
		}
		for _, res := range r.Results {
			if !res.Success || res.RecordID == "" || seen[res.RecordID] {
				t.Fatalf("operation %s: result %+v (seen before: %v)", op.ID, res, seen[res.RecordID])
			}
			seen[res.RecordID] = true
			ids = append(ids, res.RecordID)
		}
	}
	if len(ops) > 0 || len(ids) != 10_000 {
		t.Fatalf("%d operations unaccounted for; %d records written, want 10,000", len(ops), len(ids))
	}
	return ids
}

// addGroup connects another group to the fake and installs the
// integration for it with the read and write configs.
func (e *syncEnv) addGroup(group string, readObjects, writeObjects map[string]any) string {
	e.t.Helper()
	access, refresh := e.fake.Issue()
	var conn connJSON
	e.l.must(201, "POST", syncProj+"/connections:generate", map[string]any{"provider": e.provider, "groupRef": group, "groupName": group,
		"consumerRef": "bo", "consumerName": "Bo",
		"oauth2AuthorizationCode": map[string]any{
			"accessToken":  map[string]any{"token": access, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
			"refreshToken": map[string]any{"token": refresh}}}, &conn)
	var in instJSON
	e.l.must(201, "POST", syncProj+"/integrations/"+e.integID+"/installations?skipSampling=true", map[string]any{
		"groupRef": group, "connectionId": conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": e.provider,
			"read": map[string]any{"objects": readObjects}, "write": map[string]any{"objects": writeObjects}}},
	}, &in)
	return in.ID
}

// TestWriteMappingTwoInstallations is acceptance 2: two installations of
// one integration map the builder's country to different Salesforce
// fields, so the same record lands in different fields; the installation's
// field settings apply (a default on create, ifEmpty on update).
func TestWriteMappingTwoInstallations(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	writeObjects := map[string]any{"account": map[string]any{"objectName": "account",
		"selectedFieldSettings": map[string]any{
			// city is the builder's mapped name of billingcity.
			"city":              map[string]any{"writeOnUpdate": "ifEmpty"},
			"industry":          map[string]any{"default": map[string]any{"stringValue": "Energy"}},
			"numberofemployees": map[string]any{"writeOnCreate": "never"},
		}}}
	e := startWrite(t, c.spec(), writeObjects, nil)
	e.addGroup("globex", sfWriteReadObjects("billingstate"), writeObjects)

	record := map[string]any{"name": "Same Co", "country": "Peru", "numberofemployees": 40}
	acme := e.mustWrite(200, "company", map[string]any{"type": "create", "record": record}).Result.RecordID
	globex := e.mustWrite(200, "company", map[string]any{"groupRef": "globex", "type": "create", "record": record}).Result.RecordID
	a, _ := e.fake.Get("account", acme)
	g, _ := e.fake.Get("account", globex)
	if fieldOf(a, "BillingCountry") != "Peru" || fieldOf(a, "BillingState") != nil {
		t.Errorf("acme maps country to billingcountry; the record is %v", a)
	}
	if fieldOf(g, "BillingState") != "Peru" || fieldOf(g, "BillingCountry") != nil {
		t.Errorf("globex maps country to billingstate; the record is %v", g)
	}
	for _, rec := range []map[string]any{a, g} {
		if fieldOf(rec, "Industry") != "Energy" {
			t.Errorf("the installation's default industry was not written: %v", rec)
		}
		if fieldOf(rec, "NumberOfEmployees") != nil {
			t.Errorf("numberofemployees is writeOnCreate never but was written: %v", rec)
		}
	}

	// ifEmpty: a filled city stays, an empty one is written.
	filled := e.fake.IDs("account")[0]
	before, _ := e.fake.Get("account", filled)
	if fieldOf(before, "BillingCity") == nil || fieldOf(before, "BillingCity") == "" {
		t.Fatalf("seeded account %s has no city: %v", filled, before)
	}
	res := e.mustWrite(200, "company", map[string]any{"type": "update", "batch": []any{
		map[string]any{"record": map[string]any{"id": filled, "city": "Overwritten", "name": "Renamed"}},
		map[string]any{"record": map[string]any{"id": acme, "city": "Lima"}},
	}})
	if res.SuccessCount != 2 {
		t.Fatalf("update answered %+v", res)
	}
	after, _ := e.fake.Get("account", filled)
	if fieldOf(after, "BillingCity") != fieldOf(before, "BillingCity") || fieldOf(after, "Name") != "Renamed" {
		t.Errorf("ifEmpty overwrote a filled city or dropped the rest: before %v, after %v", before, after)
	}
	if a, _ := e.fake.Get("account", acme); fieldOf(a, "BillingCity") != "Lima" {
		t.Errorf("ifEmpty did not fill an empty city: %v", a)
	}
}

// TestWriteBadInput is acceptance 5: each refused request is a 400 or 422
// problem+json whose issues name the input (record index and field), and
// nothing is written.
func TestWriteBadInput(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	e := startWrite(t, c.spec(), c.writeObjects, nil)
	ok := map[string]any{"name": "Fine Co"}
	many := make([]any, 101)
	for i := range many {
		many[i] = map[string]any{"record": ok}
	}
	for _, tc := range []struct {
		name   string
		object string
		body   map[string]any
		status int
		issue  string
	}{
		{"unknown object", "widgets", map[string]any{"type": "create", "record": ok}, 422, "objectName"},
		{"unknown field", "company", map[string]any{"type": "create", "record": map[string]any{"name": "X", "favourite": "blue"}}, 422, "record.favourite"},
		{"unknown field in a batch", "company", map[string]any{"type": "create", "batch": []any{
			map[string]any{"record": ok}, map[string]any{"record": ok}, map[string]any{"record": map[string]any{"name": "X", "bogus": 1}}}}, 422, "batch[2].record.bogus"},
		{"field the customer lacks", "invoice__c", map[string]any{"type": "create", "record": map[string]any{"name": "X", "colour__c": "red"}}, 422, "record.colour__c"},
		{"wrong value type", "company", map[string]any{"type": "create", "record": map[string]any{"name": "X", "numberofemployees": "many"}}, 422, "record.numberofemployees"},
		{"wrong value type in a batch", "company", map[string]any{"type": "create", "batch": []any{
			map[string]any{"record": ok}, map[string]any{"record": map[string]any{"name": true}}}}, 422, "batch[1].record.name"},
		{"record not an object", "company", map[string]any{"type": "create", "record": "Fine Co"}, 400, "record"},
		{"unknown key in a batch entry", "company", map[string]any{"type": "create", "batch": []any{
			map[string]any{"record": ok}, map[string]any{"record": ok, "colour": 1}}}, 400, "batch[1].colour"},
		{"batch entry not an object", "company", map[string]any{"type": "create", "batch": []any{map[string]any{"record": ok}, "Fine Co"}}, 400, "batch[1]"},
		{"101 records", "company", map[string]any{"type": "create", "batch": many}, 400, "batch[100]"},
		{"read-only field", "invoice__c", map[string]any{"type": "create", "record": map[string]any{"name": "X", "createddate": "2024-01-01T00:00:00Z"}}, 422, "record.createddate"},
		{"update without id", "company", map[string]any{"type": "update", "record": map[string]any{"city": "X"}}, 422, "record.id"},
		{"delete not enabled", "invoice__c", map[string]any{"type": "delete", "record": map[string]any{"id": "a0A000000000001AAA"}}, 422, "type"},
		{"unknown type", "company", map[string]any{"type": "merge", "record": ok}, 400, "type"},
		{"unknown request field", "company", map[string]any{"type": "create", "record": ok, "priority": "high"}, 400, "priority"},
		{"upsert without key", "invoice__c", map[string]any{"type": "upsert", "record": map[string]any{"name": "X"}}, 422, "record.external_id__c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.IDs("account"))
			status, b, h := e.writeReq(tc.object, tc.body, "")
			if status != tc.status || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %s, want %d problem+json", status, h.Get("Content-Type"), b, tc.status)
			}
			var p struct {
				Status int
				Detail string
				Issues []struct{ In, Name, Detail string }
			}
			if err := json.Unmarshal(b, &p); err != nil || p.Status != status || p.Detail == "" {
				t.Fatalf("problem %s: %v", b, err)
			}
			if !slices.ContainsFunc(p.Issues, func(is struct{ In, Name, Detail string }) bool { return is.Name == tc.issue && is.Detail != "" }) {
				t.Errorf("no issue names %s: %s", tc.issue, b)
			}
			if got := len(e.fake.IDs("account")); got != before {
				t.Errorf("a refused request wrote %d records", got-before)
			}
		})
	}
}

// TestWriteIdempotencyKey is acceptance 3's second half: a repeated
// request with the same Idempotency-Key gets the first answer and writes
// once; the key with another body is refused.
func TestWriteIdempotencyKey(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("HubSpot")
	e := startWrite(t, c.spec(), c.writeObjects, nil)
	before := len(e.fake.IDs("contacts"))
	body := func() map[string]any {
		return map[string]any{"type": "create", "record": map[string]any{"firstname": "Once", "lastname": "Only", "email": "once@example.com"}}
	}
	s1, b1, _ := e.writeReq("contacts", body(), "key-create-1")
	s2, b2, _ := e.writeReq("contacts", body(), "key-create-1")
	if s1 != 200 || s2 != s1 || !bytes.Equal(b1, b2) {
		t.Fatalf("first %d %s, repeat %d %s: want the same 200 answer", s1, b1, s2, b2)
	}
	if got := len(e.fake.IDs("contacts")) - before; got != 1 {
		t.Fatalf("two requests with one key wrote %d records, want 1", got)
	}
	other := body()
	other["record"].(map[string]any)["email"] = "other@example.com"
	if s, b, _ := e.writeReq("contacts", other, "key-create-1"); s != 422 || !strings.Contains(string(b), "Idempotency-Key") {
		t.Errorf("the key with another body = %d %s, want 422 naming Idempotency-Key", s, b)
	}

	// Asynchronous: one operation.
	async := func() map[string]any {
		return map[string]any{"type": "create", "mode": "asynchronous", "record": map[string]any{"firstname": "Async", "lastname": "Once", "email": "async.once@example.com"}}
	}
	_, a1, _ := e.writeReq("contacts", async(), "key-async-1")
	_, a2, _ := e.writeReq("contacts", async(), "key-async-1")
	if !bytes.Equal(a1, a2) || !strings.Contains(string(a1), "operationId") {
		t.Fatalf("async answers differ: %s / %s", a1, a2)
	}
	if ops := e.waitWrites(1, 20*time.Second); len(ops) != 1 {
		t.Fatalf("%d write operations, want 1", len(ops))
	}
	if got := len(e.fake.IDs("contacts")) - before; got != 2 {
		t.Fatalf("%d records written, want 2", got)
	}
}

// faultyWrites fails a provider's write calls on demand: the next n with
// the given statuses in turn, or every one while failAll is set. Other
// calls (describe, reads) pass.
type faultyWrites struct {
	syncFake
	isWrite  func(*http.Request) bool
	mu       sync.Mutex
	statuses []int
	failAll  atomic.Bool
	failed   atomic.Int64
	writes   atomic.Int64
}

func newFaultyWrites(f syncFake, isWrite func(*http.Request) bool) *faultyWrites {
	return &faultyWrites{syncFake: f, isWrite: isWrite}
}

// failNext makes the next write calls answer the statuses, in order.
func (f *faultyWrites) failNext(statuses ...int) {
	f.mu.Lock()
	f.statuses = append(f.statuses, statuses...)
	f.mu.Unlock()
}

func (f *faultyWrites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.isWrite(r) {
		f.writes.Add(1)
		status := 0
		if f.failAll.Load() {
			status = http.StatusServiceUnavailable
		} else {
			f.mu.Lock()
			if len(f.statuses) > 0 {
				status, f.statuses = f.statuses[0], f.statuses[1:]
			}
			f.mu.Unlock()
		}
		if status != 0 {
			f.failed.Add(1)
			if status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "0")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"message":"injected failure"}`)
			return
		}
	}
	f.syncFake.ServeHTTP(w, r)
}

// TestWriteFaultRetries is acceptance 3: 429s and 5xx during an
// asynchronous batch are retried with back-off until it is written; when
// they last past the deadline, every record is reported failed.
func TestWriteFaultRetries(t *testing.T) {
	t.Parallel()
	for _, c := range writeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			spec := c.spec()
			fw := newFaultyWrites(spec.fake, c.isWrite)
			spec.fake = fw
			e := startWrite(t, spec, c.writeObjects, func(wc *write.Config) { wc.DeadlineCap = 2 * time.Second })
			batch := make([]any, 100)
			for i := range batch {
				batch[i] = map[string]any{"record": c.bulk(i)}
			}
			before := len(e.fake.IDs(c.object))

			// Transient: two 429s and two 503s, then the provider answers.
			fw.failNext(429, 503, 429, 503)
			a := e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": batch})
			ops := e.waitWrites(1, 30*time.Second)
			op := ops[0]
			if op.ID != a.OperationID || op.Status != "success" || op.WriteResults.SuccessCount != 100 {
				t.Fatalf("operation after transient faults: %+v", op)
			}
			if op.Metadata.Retry == nil || op.Metadata.Retry.Attempts != 4 {
				t.Errorf("operation retried %+v times, want 4", op.Metadata.Retry)
			}
			if got := len(e.fake.IDs(c.object)) - before; got != 100 {
				t.Errorf("%d records written, want 100", got)
			}

			// Lasting: every write refused until the deadline passes.
			fw.failAll.Store(true)
			start := time.Now()
			a = e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": batch})
			ops = e.waitWrites(2, 30*time.Second)
			op = ops[0]
			if op.ID != a.OperationID {
				op = ops[1]
			}
			if op.Status != "failure" || op.WriteResults.FailureCount != 100 || op.WriteResults.SuccessCount != 0 {
				t.Fatalf("operation past its deadline: %+v", op)
			}
			for _, r := range op.WriteResults.Results {
				if r.Success || len(r.Errors) == 0 || r.Errors[0].Reason != write.ReasonDeadlineExceeded {
					t.Fatalf("record past the deadline: %+v", r)
				}
			}
			// The last try is the last one the back-off (at most 100 ms)
			// lets land before the deadline.
			if took := time.Since(start); took < 1800*time.Millisecond {
				t.Errorf("gave up after %s, long before the 2 s deadline", took)
			}
			if fw.failed.Load() < 6 {
				t.Errorf("only %d refused write calls: the lasting fault was not retried", fw.failed.Load())
			}
			if got := len(e.fake.IDs(c.object)) - before; got != 100 {
				t.Errorf("%d records written, want the first 100 only", got)
			}
			waitNotes(t, e, "write.async.done", 2)

			// A synchronous write retries within the request, then answers
			// the record failed with the provider's reason.
			status, b, _ := e.writeReq(c.path, map[string]any{"type": "create", "record": c.bulk(500)}, "")
			var fail writeAnswerJSON
			_ = json.Unmarshal(b, &fail)
			if status != 422 || len(fail.Errors) == 0 || fail.Errors[0].Reason != write.ReasonUnavailable {
				t.Errorf("synchronous write during an outage = %d %s, want 422 with reason unavailable", status, b)
			}
			fw.failAll.Store(false)
			fw.failNext(503)
			if a := e.mustWrite(200, c.path, map[string]any{"type": "create", "record": c.bulk(501)}); !a.Result.Success {
				t.Errorf("synchronous write after one 503: %+v", a)
			}
			e.checkMessages()
		})
	}
}

// TestWriteEcho is acceptance 4: records the runtime wrote are not
// delivered back by the next incremental read; changed afterwards by
// someone else, exactly those arrive.
func TestWriteEcho(t *testing.T) {
	t.Parallel()
	for _, c := range writeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startWrite(t, c.spec(), c.writeObjects, nil)
			if ops := e.waitOps("backfill", 1, time.Minute); ops[0].Status != "success" {
				t.Fatalf("backfill %+v", ops[0])
			}
			batch := make([]any, 100)
			for i := range batch {
				batch[i] = map[string]any{"record": c.bulk(i)}
			}
			a := e.mustWrite(200, c.path, map[string]any{"type": "create", "batch": batch})
			if a.SuccessCount != 100 {
				t.Fatalf("create answered %+v", a)
			}
			written := map[string]bool{}
			var ids []string
			for _, r := range a.Results {
				written[r.RecordID] = true
				ids = append(ids, r.RecordID)
			}
			delivered := func(from int) map[string]int {
				got := map[string]int{}
				for _, m := range e.recv.Messages()[from:] {
					if m.Read == nil {
						continue
					}
					for _, r := range m.Read.Result {
						if written[r.ID] {
							got[r.ID]++
						}
					}
				}
				return got
			}
			before := len(e.recv.Messages())
			e.runSchedule()
			e.waitOps("scheduled", 1, time.Minute)
			if got := delivered(before); len(got) != 0 {
				t.Fatalf("the read delivered %d of the runtime's own writes back", len(got))
			}
			changed := map[string]bool{}
			for _, id := range ids[:10] {
				c.change(e.fake, id)
				changed[id] = true
			}
			before = len(e.recv.Messages())
			e.runSchedule()
			e.waitOps("scheduled", 2, time.Minute)
			got := delivered(before)
			if len(got) != 10 {
				t.Fatalf("after 10 changes elsewhere the read delivered %d written records, want those 10", len(got))
			}
			for id, n := range got {
				if !changed[id] || n != 1 {
					t.Errorf("record %s delivered %d times (changed: %v)", id, n, changed[id])
				}
			}
		})
	}
}

// countWrites counts a provider's write calls and Bulk API ingest calls.
type countWrites struct {
	syncFake
	isWrite        func(*http.Request) bool
	writes, ingest atomic.Int64
}

func (c *countWrites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case c.isWrite(r):
		c.writes.Add(1)
	case strings.Contains(r.URL.Path, "/jobs/ingest"):
		c.ingest.Add(1)
	}
	c.syncFake.ServeHTTP(w, r)
}

// TestWriteSalesforceBulk checks that an asynchronous write of at least
// BulkThreshold records goes through Bulk API 2.0 ingest rather than
// sObject Collections, with every record's result.
func TestWriteSalesforceBulk(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	spec := c.spec()
	cw := &countWrites{syncFake: spec.fake, isWrite: c.isWrite}
	spec.fake = cw
	e := startWrite(t, spec, c.writeObjects, func(wc *write.Config) { wc.BulkThreshold = 50 })
	before := len(e.fake.IDs("account"))
	batch := make([]any, 100)
	for i := range batch {
		batch[i] = map[string]any{"record": c.bulk(i)}
	}
	batch[7] = map[string]any{"record": map[string]any{"city": "Nowhere"}} // no name: Salesforce refuses it
	e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": batch})
	op := e.waitWrites(1, 30*time.Second)[0]
	if op.WriteResults.SuccessCount != 99 || op.WriteResults.FailureCount != 1 || op.WriteResults.Results[7].Success {
		t.Fatalf("bulk write: %+v", op.WriteResults)
	}
	if r := op.WriteResults.Results[7]; len(r.Errors) == 0 || r.Errors[0].Reason != write.ReasonInvalid {
		t.Errorf("refused record: %+v", r)
	}
	if got := len(e.fake.IDs("account")) - before; got != 99 {
		t.Errorf("%d accounts created, want 99", got)
	}
	if cw.ingest.Load() == 0 || cw.writes.Load() != 0 {
		t.Errorf("%d ingest calls and %d collection writes; want the Bulk API only", cw.ingest.Load(), cw.writes.Load())
	}
	// Below the threshold, sObject Collections.
	e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": batch[:10]})
	e.waitWrites(2, 30*time.Second)
	if cw.writes.Load() != 1 {
		t.Errorf("%d collection writes for 10 records, want 1", cw.writes.Load())
	}
}

// TestWriteAutoBatch checks autoBatchPolicy: asynchronous single-record
// writes wait to be coalesced, the hundredth runs at once and takes the
// 99 waiting into one provider call, and a few that never reach 100 go
// together when the first one's delay ends. Each operation ends with its
// own record's result.
func TestWriteAutoBatch(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	spec := c.spec()
	cw := &countWrites{syncFake: spec.fake, isWrite: c.isWrite}
	spec.fake = cw
	const delay = 3 * time.Second
	e := startWrite(t, spec, c.writeObjects, func(wc *write.Config) { wc.AutoBatchDelayCap = delay })
	before := len(e.fake.IDs("account"))
	single := func(i int) string {
		return e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous",
			"autoBatchPolicy": map[string]any{"maxDelayMinutes": 5}, "record": c.bulk(i)}).OperationID
	}
	start := time.Now()
	for i := range 100 {
		single(i)
	}
	sent := time.Since(start)
	ops := e.waitWrites(100, time.Minute) // a deadline for a loaded CI machine, not a timing target
	switch calls := cw.writes.Load(); {
	case sent < delay && calls != 1:
		t.Errorf("100 single writes made %d provider calls, want 1", calls)
	case calls > 2+int64(sent/delay):
		// Sending took longer than the delay (a loaded machine): each
		// delay that ended while they were sent flushed what waited, and
		// the rest went at 100.
		t.Errorf("100 single writes sent in %s made %d provider calls, want at most %d", sent, calls, 2+int64(sent/delay))
	}
	calls := cw.writes.Load()
	ids := map[string]bool{}
	for _, op := range ops {
		r := op.WriteResults
		if op.Status != "success" || r == nil || len(r.Results) != 1 || !r.Results[0].Success || ids[r.Results[0].RecordID] {
			t.Fatalf("operation %+v", op)
		}
		ids[r.Results[0].RecordID] = true
	}
	if got := len(e.fake.IDs("account")) - before; got != 100 {
		t.Errorf("%d accounts created, want 100", got)
	}

	// Three that never reach 100: written together once the first one's
	// (capped) delay ends.
	start = time.Now()
	for i := range 3 {
		single(1000 + i)
	}
	e.waitWrites(103, 30*time.Second)
	if took := time.Since(start); took < delay {
		t.Errorf("the last writes ended after %s, before their %s delay", took, delay)
	}
	if got := cw.writes.Load() - calls; got != 1 {
		t.Errorf("3 more single writes made %d provider calls, want 1", got)
	}
	waitNotes(t, e, "write.async.done", 103)
	e.checkMessagesSample(10)
}

// scriptedCalls answers a provider's matching calls from a script, in
// order: each step gets the call and the fake (to forward it to, or not);
// a nil step, and every call past the script, reaches the fake as it is.
// It records the body of every matching call.
type scriptedCalls struct {
	syncFake
	match  func(*http.Request) bool
	mu     sync.Mutex
	steps  []func(w http.ResponseWriter, r *http.Request, fake http.Handler)
	bodies [][]byte
}

func (s *scriptedCalls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.match(r) {
		s.syncFake.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	var step func(http.ResponseWriter, *http.Request, http.Handler)
	if len(s.steps) > 0 {
		step, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	if step == nil {
		s.syncFake.ServeHTTP(w, r)
		return
	}
	step(w, r, s.syncFake)
}

// calls returns the bodies of the matching calls so far.
func (s *scriptedCalls) calls() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

// answerJSON is a step that answers status and body without the fake.
func answerJSON(status int, body string) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// appliedThen is a step that lets the fake apply the call, then answers
// with mangle's status and body instead of the fake's (a lost or broken
// answer to a request the provider carried out).
func appliedThen(mangle func(fakeBody []byte) (int, []byte)) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, r *http.Request, fake http.Handler) {
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r)
		status, body := mangle(rec.Body.Bytes())
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// sfError is one Salesforce save result that failed with code.
func sfError(code string) string {
	return fmt.Sprintf(`{"success":false,"errors":[{"statusCode":%q,"message":"injected %s","fields":[]}]}`, code, code)
}

// TestWriteSalesforceAllOrNoneRetry checks that an all-or-none batch the
// provider rolled back because one record hit a retryable error (a
// locked row) is sent again whole, never that record alone; and that a
// batch with a record refused for good is final, the locked one included.
func TestWriteSalesforceAllOrNoneRetry(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	for _, tc := range []struct {
		name string
		// first is the answer to the first write call.
		first string
		// written says whether the batch ends written.
		written bool
		calls   int
	}{
		{"locked row only: the batch is sent again whole",
			"[" + sfError("UNABLE_TO_LOCK_ROW") + "," + sfError("ALL_OR_NONE_OPERATION_ROLLED_BACK") + "," + sfError("ALL_OR_NONE_OPERATION_ROLLED_BACK") + "]",
			true, 2},
		{"locked row and a refused record: final",
			"[" + sfError("UNABLE_TO_LOCK_ROW") + "," + sfError("INVALID_FIELD") + "," + sfError("ALL_OR_NONE_OPERATION_ROLLED_BACK") + "]",
			false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := c.spec()
			sc := &scriptedCalls{syncFake: spec.fake, match: func(r *http.Request) bool {
				return r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/composite/sobjects")
			}, steps: []func(http.ResponseWriter, *http.Request, http.Handler){answerJSON(200, tc.first)}}
			spec.fake = sc
			e := startWrite(t, spec, c.writeObjects, nil)
			ids := e.fake.IDs("account")[:3]
			var batch []any
			for _, id := range ids {
				batch = append(batch, map[string]any{"record": map[string]any{"id": id, "name": "Atomic"}})
			}
			status, b, _ := e.writeReq(c.path, map[string]any{"type": "update", "batch": batch, "batchPolicy": map[string]any{"allOrNone": true}}, "")
			var a writeAnswerJSON
			_ = json.Unmarshal(b, &a)
			renamed := 0
			for _, id := range ids {
				if rec, _ := e.fake.Get("account", id); fieldOf(rec, "Name") == "Atomic" {
					renamed++
				}
			}
			calls := sc.calls()
			for i, body := range calls {
				if n := strings.Count(string(body), `"attributes"`); n != 3 {
					t.Errorf("write call %d sent %d records of the all-or-none batch, want all 3", i+1, n)
				}
			}
			if tc.written {
				if status != 200 || a.SuccessCount != 3 || renamed != 3 || len(calls) != tc.calls {
					t.Fatalf("= %d %s; %d of 3 renamed in %d calls, want all 3 in %d", status, b, renamed, len(calls), tc.calls)
				}
				return
			}
			if status != 422 || a.FailureCount != 3 || renamed != 0 || len(calls) != tc.calls {
				t.Fatalf("= %d %s; %d of 3 renamed in %d calls, want none in %d", status, b, renamed, len(calls), tc.calls)
			}
		})
	}
}

// TestWriteSalesforceCreateOutcomeUnknown checks that a create the
// provider may have applied (the answer was lost, broken or did not add
// up, or a bulk job failed after it started) is reported failed with
// reason unknown and never sent again: a retry would create the records
// twice.
func TestWriteSalesforceCreateOutcomeUnknown(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	isCreate := func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/composite/sobjects")
	}
	isPoll := func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/jobs/ingest/") && !strings.Contains(r.URL.Path, "Results") &&
			!strings.Contains(r.URL.Path, "unprocessed")
	}
	for _, tc := range []struct {
		name  string
		match func(*http.Request) bool
		step  func(http.ResponseWriter, *http.Request, http.Handler)
		async bool
	}{
		{"500 after applying", isCreate, appliedThen(func([]byte) (int, []byte) { return 500, []byte(`[{"message":"lost","errorCode":"UNKNOWN_EXCEPTION"}]`) }), false},
		{"truncated answer", isCreate, appliedThen(func(b []byte) (int, []byte) { return 200, b[:len(b)/2] }), false},
		{"fewer results than records", isCreate, appliedThen(func(b []byte) (int, []byte) {
			var rs []json.RawMessage
			_ = json.Unmarshal(b, &rs)
			out, _ := json.Marshal(rs[:1])
			return 200, out
		}), false},
		{"bulk job rate limited while polling", isPoll, appliedThen(func([]byte) (int, []byte) {
			return 429, []byte(`[{"message":"slow down","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)
		}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := c.spec()
			sc := &scriptedCalls{syncFake: spec.fake, match: tc.match, steps: []func(http.ResponseWriter, *http.Request, http.Handler){tc.step}}
			spec.fake = sc
			e := startWrite(t, spec, c.writeObjects, func(wc *write.Config) { wc.BulkThreshold = 3 })
			before := len(e.fake.IDs("account"))
			batch := []any{map[string]any{"record": c.bulk(1)}, map[string]any{"record": c.bulk(2)}, map[string]any{"record": c.bulk(3)}}
			var results []writeResultJSON
			if tc.async {
				e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous", "batch": batch})
				op := e.waitWrites(1, 30*time.Second)[0]
				if op.Status != "failure" || op.WriteResults == nil {
					t.Fatalf("operation %+v", op)
				}
				results = op.WriteResults.Results
			} else {
				status, b, _ := e.writeReq(c.path, map[string]any{"type": "create", "batch": batch}, "")
				var a writeAnswerJSON
				_ = json.Unmarshal(b, &a)
				if status != 422 {
					t.Fatalf("= %d %s, want 422", status, b)
				}
				results = a.Results
			}
			// A bulk job's first poll applies only part of it (the fake's
			// BulkPolls); the others applied all three.
			if got := len(e.fake.IDs("account")) - before; got > 3 || (!tc.async && got != 3) {
				t.Errorf("%d accounts created for 3 records: the write was sent again", got)
			}
			if len(results) != 3 {
				t.Fatalf("%d results", len(results))
			}
			for i, r := range results {
				if r.Success || len(r.Errors) == 0 || r.Errors[0].Reason != write.ReasonUnknown || !strings.Contains(r.Errors[0].Message, "unknown") {
					t.Errorf("record %d: %+v, want failed with reason unknown", i, r)
				}
			}
		})
	}
}

// TestWriteAsyncRechecksInstallation checks that an asynchronous delete
// retried after the customer turned deletion off is not carried out: each
// run checks the installation as it is then.
func TestWriteAsyncRechecksInstallation(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("HubSpot")
	spec := c.spec()
	var e *syncEnv
	var disableErr atomic.Value
	sc := &scriptedCalls{syncFake: spec.fake, match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/batch/archive")
	}, steps: []func(http.ResponseWriter, *http.Request, http.Handler){func(w http.ResponseWriter, r *http.Request, fake http.Handler) {
		// The customer turns deletion off while the first try fails.
		status, b, _ := e.l.call("PATCH", fmt.Sprintf("%s/integrations/%s/installations/%s?skipSampling=true", syncProj, e.integID, e.instID), map[string]any{
			"updateMask":   []string{"config.content.write.objects"},
			"installation": map[string]any{"config": map[string]any{"content": map[string]any{"write": map[string]any{"objects": map[string]any{"contacts": map[string]any{"objectName": "contacts"}}}}}},
		})
		if status != 200 {
			disableErr.Store(fmt.Sprintf("%d %s", status, b))
		}
		answerJSON(503, `{"message":"injected outage"}`)(w, r, fake)
	}}}
	spec.fake = sc
	e = startWrite(t, spec, c.writeObjects, nil)
	id := e.fake.IDs("contacts")[0]
	e.mustWrite(200, c.path, map[string]any{"type": "delete", "mode": "asynchronous", "record": map[string]any{"id": id}})
	op := e.waitWrites(1, 30*time.Second)[0]
	if v := disableErr.Load(); v != nil {
		t.Fatalf("turn deletion off: %v", v)
	}
	if rec, ok := e.fake.Get("contacts", id); isDeleted(rec, ok) {
		t.Errorf("contact %s was deleted after the installation stopped allowing deletes", id)
	}
	if op.Status != "failure" || op.WriteResults == nil || len(op.WriteResults.Results) != 1 {
		t.Fatalf("operation %+v", op)
	}
	if r := op.WriteResults.Results[0]; r.Success || len(r.Errors) == 0 || r.Errors[0].Reason != write.ReasonForbidden || !strings.Contains(r.Errors[0].Message, "deletionSettings") {
		t.Errorf("result %+v, want failed (forbidden) naming deletionSettings", r)
	}
	if n := len(sc.calls()); n != 1 {
		t.Errorf("%d delete calls, want the first only", n)
	}
}

// lostBatchState is a write state store in which every auto-batched
// write was taken by a batch that never reports its result (its
// operation was lost).
type lostBatchState struct {
	runtime.WriteStateStore
}

func (s lostBatchState) BeginIdempotent(ctx context.Context, rec *runtime.IdempotencyRecord) (*runtime.IdempotencyRecord, error) {
	if strings.Contains(rec.Key, "autobatch/") {
		return &runtime.IdempotencyRecord{ProjectID: rec.ProjectID, Key: rec.Key, RequestHash: "lost-batch", OperationID: "lost-batch",
			CreateTime: time.Now().Add(-time.Minute), ExpireTime: time.Now().Add(time.Hour)}, nil
	}
	return s.WriteStateStore.BeginIdempotent(ctx, rec)
}

// TestWriteAutoBatchLostBatch checks that an auto-batched write taken by
// a batch that never reports ends at its deadline as failed ("batch
// result lost"), without writing its record itself.
func TestWriteAutoBatchLostBatch(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	spec := c.spec()
	cw := &countWrites{syncFake: spec.fake, isWrite: c.isWrite}
	spec.fake = cw
	e := startWrite(t, spec, c.writeObjects, func(wc *write.Config) {
		wc.State = lostBatchState{wc.State}
		wc.AutoBatchDelayCap, wc.DeadlineCap = 200*time.Millisecond, time.Second
	})
	e.mustWrite(200, c.path, map[string]any{"type": "create", "mode": "asynchronous",
		"autoBatchPolicy": map[string]any{"maxDelayMinutes": 5}, "record": c.bulk(1)})
	op := e.waitWrites(1, 20*time.Second)[0]
	if op.Status != "failure" || op.WriteResults == nil || len(op.WriteResults.Results) != 1 {
		t.Fatalf("operation %+v", op)
	}
	if r := op.WriteResults.Results[0]; r.Success || len(r.Errors) == 0 || r.Errors[0].Reason != write.ReasonUnknown || !strings.Contains(r.Errors[0].Message, "batch result lost") {
		t.Errorf("result %+v, want failed: batch result lost", r)
	}
	if n := cw.writes.Load(); n != 0 {
		t.Errorf("%d write calls: the write was carried out although a batch had taken it", n)
	}
}

// TestWriteSyncPartlyWritten checks that a synchronous write whose retry
// cannot be made after some records were written answers those records'
// results (200) instead of a 503 that hides them.
func TestWriteSyncPartlyWritten(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	spec := c.spec()
	writeObjects := map[string]any{"account": map[string]any{"objectName": "account",
		"selectedFieldSettings": map[string]any{"city": map[string]any{"writeOnUpdate": "ifEmpty"}}}}
	var ids []string
	sc := &scriptedCalls{syncFake: spec.fake, match: func(r *http.Request) bool {
		return r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/composite/sobjects")
	}}
	sc.steps = []func(http.ResponseWriter, *http.Request, http.Handler){
		nil, // the current values, for ifEmpty
		func(w http.ResponseWriter, r *http.Request, fake http.Handler) {
			// The first record is written, the second's row is locked.
			answerJSON(200, fmt.Sprintf(`[{"id":%q,"success":true,"errors":[]},%s]`, ids[0], sfError("UNABLE_TO_LOCK_ROW")))(w, r, fake)
		},
		// The current values again, for the retry: refused.
		answerJSON(400, `[{"message":"injected refusal","errorCode":"INVALID_QUERY_FILTER_OPERATOR"}]`),
	}
	spec.fake = sc
	e := startWrite(t, spec, writeObjects, nil)
	ids = e.fake.IDs("account")[:2]
	status, b, _ := e.writeReq(c.path, map[string]any{"type": "update", "batch": []any{
		map[string]any{"record": map[string]any{"id": ids[0], "city": "Lima"}},
		map[string]any{"record": map[string]any{"id": ids[1], "city": "Lima"}},
	}}, "")
	var a writeAnswerJSON
	if err := json.Unmarshal(b, &a); err != nil || status != 200 {
		t.Fatalf("= %d %s, want 200 with each record's result", status, b)
	}
	if a.SuccessCount != 1 || a.FailureCount != 1 || len(a.Results) != 2 || !a.Results[0].Success || a.Results[1].Success || len(a.Results[1].Errors) == 0 {
		t.Errorf("answer %+v, want the first written and the second failed", a)
	}
}

// TestWriteBadCredentials checks a write to a connection whose credentials
// were refused answers 409 saying the customer must reconnect, and writes
// nothing.
func TestWriteBadCredentials(t *testing.T) {
	t.Parallel()
	c := writeCaseNamed("Salesforce")
	e := startWrite(t, c.spec(), c.writeObjects, nil)
	st := e.l.srv.Store()
	conn, err := st.GetConnection(context.Background(), e.projectID(), e.connID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetConnectionStatus(context.Background(), conn.ProjectID, conn.ID, conn.TokenVersion, runtime.ConnectionBadCredentials); err != nil {
		t.Fatal(err)
	}
	before := len(e.fake.IDs("account"))
	status, b, h := e.writeReq(c.path, map[string]any{"type": "create", "mode": "synchronous", "record": c.create}, "")
	if status != 409 || !strings.Contains(string(b), "reconnect") || h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("write through a refused connection = %d %s, want 409 asking to reconnect", status, b)
	}
	if got := len(e.fake.IDs("account")); got != before {
		t.Errorf("%d accounts written through a refused connection", got-before)
	}
}
