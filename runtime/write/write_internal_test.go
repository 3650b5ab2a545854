package write

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/mapping"
)

// issueNames decodes an input error's answer and returns its status and
// the names of its issues.
func issueNames(t *testing.T, err error) (int, []string) {
	t.Helper()
	ie, ok := err.(*inputError)
	if !ok {
		t.Fatalf("error %v (%T), want an input error", err, err)
	}
	a := ie.answer()
	var p problem
	if err := json.Unmarshal(a.Body, &p); err != nil {
		t.Fatal(err)
	}
	if a.ContentType != contentProblem || p.Status != a.Status || p.Detail == "" || len(p.Causes) != len(p.Issues) {
		t.Fatalf("problem %s", a.Body)
	}
	var names []string
	for _, is := range p.Issues {
		names = append(names, is.Name)
	}
	return a.Status, names
}

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	batch := func(n int) string {
		recs := make([]string, n)
		for i := range recs {
			recs[i] = `{"record":{"name":"x"}}`
		}
		return `[` + strings.Join(recs, ",") + `]`
	}
	for _, tc := range []struct {
		name, body string
		status     int
		issues     []string
		check      func(t *testing.T, in *input)
	}{
		{name: "single create", body: `{"groupRef":"g","type":"create","record":{"name":"x"}}`, check: func(t *testing.T, in *input) {
			if !in.single || in.async || in.op != providers.WriteCreate || len(in.records) != 1 || in.records[0].at != "record" {
				t.Errorf("%+v", in)
			}
		}},
		{name: "async batch with deadline", body: `{"groupRef":"g","type":"update","mode":"asynchronous","retryPolicy":{"deadlineHours":3},"batch":` + batch(100) + `}`, check: func(t *testing.T, in *input) {
			if in.single || !in.async || len(in.records) != 100 || in.deadline.Hours() != 3 || in.records[99].at != "batch[99].record" {
				t.Errorf("%+v", in)
			}
		}},
		{name: "auto batch", body: `{"groupRef":"g","type":"create","mode":"asynchronous","autoBatchPolicy":{"maxDelayMinutes":5,"retryDeadlineHours":2},"record":{"a":1}}`, check: func(t *testing.T, in *input) {
			if in.autoBatchDelay.Minutes() != 5 || in.deadline.Hours() != 2 {
				t.Errorf("%+v", in)
			}
		}},
		{name: "malformed", body: `{"groupRef":`, status: 400, issues: []string{""}},
		{name: "not an object", body: `[1]`, status: 400, issues: []string{"body"}},
		{name: "missing everything", body: `{}`, status: 400, issues: []string{"groupRef", "type", "record"}},
		{name: "unknown field", body: `{"groupRef":"g","type":"create","record":{"a":1},"prio":1}`, status: 400, issues: []string{"prio"}},
		{name: "wrong field type", body: `{"groupRef":"g","type":"create","record":{"a":1},"batchPolicy":{"allOrNone":"yes"}}`, status: 400, issues: []string{"batchPolicy.allOrNone"}},
		{name: "bad type and mode", body: `{"groupRef":"g","type":"merge","mode":"later","record":{"a":1}}`, status: 400, issues: []string{"type", "mode"}},
		{name: "record and batch", body: `{"groupRef":"g","type":"create","record":{"a":1},"batch":[{"record":{"a":1}}]}`, status: 400, issues: []string{"batch"}},
		{name: "empty batch", body: `{"groupRef":"g","type":"create","batch":[]}`, status: 400, issues: []string{"batch"}},
		{name: "101 records", body: `{"groupRef":"g","type":"create","batch":` + batch(101) + `}`, status: 400, issues: []string{"batch[100]"}},
		{name: "records not objects", body: `{"groupRef":"g","type":"create","batch":[{"record":{"a":1}},{"record":"x"},{"record":{}},{}]}`, status: 400,
			issues: []string{"batch[1].record", "batch[2].record", "batch[3].record"}},
		{name: "policies out of place", body: `{"groupRef":"g","type":"create","record":{"a":1},"batchPolicy":{"allOrNone":true},"retryPolicy":{"deadlineHours":1},"autoBatchPolicy":{"maxDelayMinutes":1}}`, status: 400,
			issues: []string{"batchPolicy", "retryPolicy", "autoBatchPolicy"}},
		{name: "deadline out of range", body: `{"groupRef":"g","type":"create","mode":"asynchronous","record":{"a":1},"retryPolicy":{"deadlineHours":49}}`, status: 400, issues: []string{"retryPolicy.deadlineHours"}},
		{name: "delay missing", body: `{"groupRef":"g","type":"create","mode":"asynchronous","record":{"a":1},"autoBatchPolicy":{}}`, status: 400, issues: []string{"autoBatchPolicy.maxDelayMinutes"}},
		{name: "associations", body: `{"groupRef":"g","type":"create","record":{"a":1},"associations":[{"to":{"id":"1"}}]}`, status: 422, issues: []string{"associations"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := decodeRequest([]byte(tc.body))
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, in)
				return
			}
			status, names := issueNames(t, err)
			if status != tc.status || !reflect.DeepEqual(names, tc.issues) {
				t.Errorf("got %d %q, want %d %q", status, names, tc.status, tc.issues)
			}
		})
	}
}

// accountPlan is a read mapping of Salesforce accounts: name, billingcity
// as city, the customer's choice for country, industry as a selected
// optional field with a value mapping.
func accountPlan(t *testing.T, country string) *mapping.Plan {
	t.Helper()
	obj := &manifest.ReadObject{ObjectName: "account", MapToName: "company",
		RequiredFields: []*manifest.Field{{FieldName: "name"}, {FieldName: "billingcity", MapToName: "city"}, {MapToName: "country"}},
		OptionalFields: []*manifest.Field{{FieldName: "industry"}}}
	p, err := mapping.Compile(obj, &runtime.ReadConfigObject{ObjectName: "account",
		SelectedFields:        map[string]bool{"industry": true},
		SelectedFieldMappings: map[string]string{"country": country},
		SelectedValueMappings: map[string]map[string]string{"industry": {"tech": "Technology"}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var accountSchema = &providers.ObjectMetadata{Name: "account", Fields: []providers.FieldMetadata{
	{Name: "id", ValueType: "string", ReadOnly: true},
	{Name: "name", ValueType: "string"},
	{Name: "billingcity", ValueType: "string"},
	{Name: "billingcountry", ValueType: "string"},
	{Name: "billingstate", ValueType: "string"},
	{Name: "industry", ValueType: "singleSelect"},
	{Name: "numberofemployees", ValueType: "int"},
	{Name: "annualrevenue", ValueType: "float"},
	{Name: "active__c", ValueType: "boolean"},
	{Name: "founded__c", ValueType: "date"},
	{Name: "photourl", ValueType: "string", ReadOnly: true},
}}

func TestShapeMapping(t *testing.T) {
	t.Parallel()
	rec := map[string]any{"name": "Acme", "city": "Lyon", "country": "France", "industry": "tech"}
	in := &input{op: providers.WriteCreate, records: []inputRecord{{at: "record", fields: rec}}}
	for _, tc := range []struct {
		country string
		want    map[string]any
	}{
		{"billingcountry", map[string]any{"name": "Acme", "billingcity": "Lyon", "billingcountry": "France", "industry": "Technology"}},
		{"billingstate", map[string]any{"name": "Acme", "billingcity": "Lyon", "billingstate": "France", "industry": "Technology"}},
	} {
		sh := newShaper("salesforce", "account", "company", accountPlan(t, tc.country), true, nil, "", accountSchema)
		got, err := sh.shape(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[0].Fields, tc.want) {
			t.Errorf("country mapped to %s: %v, want %v", tc.country, got[0].Fields, tc.want)
		}
	}
}

func TestShapeRefusals(t *testing.T) {
	t.Parallel()
	plan := accountPlan(t, "billingcountry")
	for _, tc := range []struct {
		name     string
		op       providers.WriteOp
		rec      map[string]any
		allowAny bool
		issues   []string
	}{
		{"unmapped field", providers.WriteCreate, map[string]any{"name": "A", "numberofemployees": 3.0}, false, []string{"batch[0].record.numberofemployees"}},
		{"any field allowed", providers.WriteCreate, map[string]any{"name": "A", "numberofemployees": 3.0}, true, nil},
		{"not in the schema", providers.WriteCreate, map[string]any{"name": "A", "favourite": 3.0}, true, []string{"batch[0].record.favourite"}},
		{"read-only", providers.WriteCreate, map[string]any{"name": "A", "photourl": "x"}, true, []string{"batch[0].record.photourl"}},
		{"wrong types", providers.WriteCreate, map[string]any{"name": 1.0, "numberofemployees": 2.5, "annualrevenue": "lots", "active__c": "maybe", "founded__c": "last year"}, true,
			[]string{"batch[0].record.active__c", "batch[0].record.annualrevenue", "batch[0].record.founded__c", "batch[0].record.name", "batch[0].record.numberofemployees"}},
		{"strings the provider reads back", providers.WriteCreate, map[string]any{"name": "A", "numberofemployees": "25", "annualrevenue": "1.5", "active__c": "true", "founded__c": "2001-02-03"}, true, nil},
		{"nulls clear", providers.WriteUpdate, map[string]any{"id": "001", "city": nil, "numberofemployees": nil}, true, nil},
		{"create with id", providers.WriteCreate, map[string]any{"id": "001", "name": "A"}, false, []string{"batch[0].record.id"}},
		{"update without id", providers.WriteUpdate, map[string]any{"name": "A"}, false, []string{"batch[0].record.id"}},
		{"update with only id", providers.WriteUpdate, map[string]any{"id": "001"}, false, []string{"batch[0].record"}},
		{"delete needs only id", providers.WriteDelete, map[string]any{"id": "001"}, false, nil},
		{"nested mapped name", providers.WriteCreate, map[string]any{"name": "A", "city": map[string]any{"x": 1}}, false, []string{"batch[0].record.city"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sh := newShaper("salesforce", "account", "company", plan, !tc.allowAny, nil, "", accountSchema)
			_, err := sh.shape(&input{op: tc.op, records: []inputRecord{{at: "batch[0].record", fields: tc.rec}}})
			if tc.issues == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			status, names := issueNames(t, err)
			slices.Sort(names)
			if status != http.StatusUnprocessableEntity || !reflect.DeepEqual(names, tc.issues) {
				t.Errorf("got %d %q, want 422 %q", status, names, tc.issues)
			}
		})
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	str := func(s string) *runtime.FieldSettingDefault { return &runtime.FieldSettingDefault{StringValue: &s} }
	settings := map[string]runtime.FieldSetting{
		"industry":          {Default: str("Energy")},
		"city":              {WriteOnUpdate: settingIfEmpty, Default: str("Paris")},
		"numberofemployees": {WriteOnCreate: settingNever},
		"name":              {WriteOnUpdate: settingNever},
		"billingstate":      {WriteOnUpdate: settingAlways, Default: str("ST")},
		"external_id__c":    {WriteOnUpdate: settingNever},
	}
	sh := newShaper("salesforce", "account", "company", accountPlan(t, "billingcountry"), false, settings, "external_id__c", nil)
	rec := map[string]any{"name": "A", "numberofemployees": 5.0, "external_id__c": "k"}
	for _, tc := range []struct {
		op      providers.WriteOp
		want    map[string]any
		ifEmpty []string
	}{
		{providers.WriteCreate, map[string]any{"name": "A", "industry": "Energy", "billingcity": "Paris", "billingstate": "ST", "external_id__c": "k"}, nil},
		{providers.WriteUpdate, map[string]any{"numberofemployees": 5.0, "billingcity": "Paris", "billingstate": "ST"}, []string{"billingcity"}},
		{providers.WriteUpsert, map[string]any{"external_id__c": "k", "billingstate": "ST"}, nil},
	} {
		got, ifEmpty := sh.settle(tc.op, rec)
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(ifEmpty, tc.ifEmpty) {
			t.Errorf("%s: %v ifEmpty %v, want %v ifEmpty %v", tc.op, got, ifEmpty, tc.want, tc.ifEmpty)
		}
	}
	if _, ok := rec["industry"]; ok {
		t.Error("settle changed its input")
	}
}

// getter is a connector whose records have fixed current values.
type getter struct {
	recs  map[string]map[string]any
	calls [][]string
}

func (g *getter) Provider() string { return "test" }
func (g *getter) MaxGetBatch() int { return 2 }
func (g *getter) GetRecords(_ context.Context, _ string, ids, _ []string) ([]providers.Record, error) {
	g.calls = append(g.calls, ids)
	var out []providers.Record
	for _, id := range ids {
		if f, ok := g.recs[id]; ok {
			out = append(out, providers.Record{ID: id, Fields: f})
		}
	}
	return out, nil
}

func TestResolveIfEmpty(t *testing.T) {
	t.Parallel()
	g := &getter{recs: map[string]map[string]any{
		"1": {"city": "Lyon"}, "2": {"city": ""}, "3": {"city": nil}, "5": {},
	}}
	recs := []pending{
		{ID: "1", Fields: map[string]any{"city": "X", "name": "a"}, IfEmpty: []string{"city"}},
		{ID: "2", Fields: map[string]any{"city": "X"}, IfEmpty: []string{"city"}},
		{ID: "3", Fields: map[string]any{"city": "X"}, IfEmpty: []string{"city"}},
		{ID: "4", Fields: map[string]any{"city": "X"}, IfEmpty: []string{"city"}},
		{ID: "5", Fields: map[string]any{"city": "X"}, IfEmpty: []string{"city"}},
		{ID: "6", Fields: map[string]any{"city": "X"}, IfEmpty: []string{"city"}},
	}
	res := make([]result, len(recs))
	res[5].Done = true
	got, err := resolveIfEmpty(context.Background(), g, "account", recs, res)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"name": "a"}, {"city": "X"}, {"city": "X"}, {"city": "X"}, {"city": "X"}, {"city": "X"}}
	for i := range got {
		if !reflect.DeepEqual(got[i].Fields, want[i]) {
			t.Errorf("record %s: %v, want %v", recs[i].ID, got[i].Fields, want[i])
		}
	}
	if len(g.calls) != 3 || len(g.calls[0]) != 2 {
		t.Errorf("GetRecords calls %v, want batches of 2 over the 5 open records", g.calls)
	}
	if _, ok := recs[0].Fields["city"]; !ok {
		t.Error("resolveIfEmpty changed its input")
	}
	// A connector that cannot read by id never overwrites.
	got, err = resolveIfEmpty(context.Background(), struct{ providers.Connector }{g}, "account", recs, res)
	if err != nil || len(got[1].Fields) != 0 {
		t.Errorf("without a getter: %v %v", got[1].Fields, err)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fields := map[string]any{"Name": "A", "billingcity": "Lyon", "numberofemployees": 5.0, "parent@odata.bind": "/x(1)"}
	if got := fingerprint(fields, nil); got != `{"billingcity":"Lyon","name":"A","numberofemployees":5}` {
		t.Errorf("fingerprint %s", got)
	}
	if got := fingerprint(fields, map[string]bool{"name": true}); got != `{"name":"A"}` {
		t.Errorf("fingerprint of read fields %s", got)
	}
	if got := fingerprint(fields, map[string]bool{"phone": true}); got != "" {
		t.Errorf("fingerprint of no read field %q", got)
	}
}

// writer is a provider writer that answers from a script.
type writer struct {
	max     int
	answers []func(req providers.WriteRequest) ([]providers.WriteResult, error)
	calls   []int
}

func (w *writer) MaxBatch() int { return w.max }
func (w *writer) Write(_ context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	w.calls = append(w.calls, len(req.Records))
	a := w.answers[0]
	if len(w.answers) > 1 {
		w.answers = w.answers[1:]
	}
	return a(req)
}

func ok(req providers.WriteRequest) ([]providers.WriteResult, error) {
	out := make([]providers.WriteResult, len(req.Records))
	for i, r := range req.Records {
		out[i] = providers.WriteResult{Success: true, ID: "id-" + fmt.Sprint(r.Fields["n"])}
	}
	return out, nil
}

func TestPass(t *testing.T) {
	t.Parallel()
	recs := make([]pending, 5)
	for i := range recs {
		recs[i] = pending{Fields: map[string]any{"n": i}}
	}
	throttled := func(providers.WriteRequest) ([]providers.WriteResult, error) {
		return nil, &providers.Error{Kind: providers.KindRateLimited, Message: "slow down"}
	}
	retryOne := func(req providers.WriteRequest) ([]providers.WriteResult, error) {
		return []providers.WriteResult{{Errors: []providers.RecordError{{Code: "UNABLE_TO_LOCK_ROW", Message: "locked", Kind: providers.KindRetryable}}}}, nil
	}
	conflictFirst := func(req providers.WriteRequest) ([]providers.WriteResult, error) {
		out, _ := ok(req)
		out[0] = providers.WriteResult{Errors: []providers.RecordError{{Code: "DUPLICATE_VALUE", Message: "dup", Kind: providers.KindConflict}}}
		return out, nil
	}
	w := &writer{max: 2, answers: []func(providers.WriteRequest) ([]providers.WriteResult, error){ok, throttled, retryOne, conflictFirst, ok}}
	b := &batch{writer: w, object: "account", op: providers.WriteCreate, log: nopLog}
	res := make([]result, len(recs))
	var commits [][]int
	after := func(done []int) error { commits = append(commits, done); return nil }
	retry, err := b.pass(context.Background(), recs, res, false, after)
	if err != nil || retry == nil {
		t.Fatalf("first pass: retry %v err %v", retry, err)
	}
	// Chunks [0 1] written, [2 3] throttled, [4] refused for now.
	if _, _, open := counts(res); open != 3 || !res[0].Success || res[2].Done || res[4].Done || res[4].Errors[0].Reason != ReasonUnavailable || res[2].Errors[0].Reason != ReasonRateLimited {
		t.Fatalf("after the first pass: %+v", res)
	}
	retry, err = b.pass(context.Background(), recs, res, false, after)
	if err != nil || retry != nil {
		t.Fatalf("second pass: retry %v err %v", retry, err)
	}
	okN, failed, open := counts(res)
	if okN != 4 || failed != 1 || open != 0 || res[2].Errors[0].Reason != ReasonConflict || res[2].Errors[0].Code != "DUPLICATE_VALUE" || res[4].RecordID != "id-4" {
		t.Errorf("after the second pass: %+v", res)
	}
	if !reflect.DeepEqual(w.calls, []int{2, 2, 1, 2, 1}) || !reflect.DeepEqual(commits, [][]int{{0, 1}, {2, 3}, {4}}) {
		t.Errorf("calls %v commits %v", w.calls, commits)
	}
}

func TestFailRemaining(t *testing.T) {
	t.Parallel()
	res := []result{{Done: true, Success: true}, {Errors: []recordError{{Message: "HTTP 503", Reason: ReasonUnavailable}}}, {}}
	failRemaining(res, []pending{{}, {ID: "7"}, {}}, "the retry deadline passed", ReasonDeadlineExceeded)
	if !res[0].Success || res[1].Success || res[1].RecordID != "7" || res[1].Errors[0].Message != "the retry deadline passed: HTTP 503" ||
		res[2].Errors[0].Reason != ReasonDeadlineExceeded {
		t.Errorf("%+v", res)
	}
}

func TestRequestHash(t *testing.T) {
	t.Parallel()
	a := requestHash(Call{IntegrationID: "i", ObjectName: "o", Body: []byte(`{"a": 1, "b": [1, 2]}`)})
	if b := requestHash(Call{IntegrationID: "i", ObjectName: "o", Body: []byte(`{"a":1,"b":[1,2]}`)}); a != b {
		t.Error("whitespace changed the hash")
	}
	for _, c := range []Call{
		{IntegrationID: "j", ObjectName: "o", Body: []byte(`{"a":1,"b":[1,2]}`)},
		{IntegrationID: "i", ObjectName: "p", Body: []byte(`{"a":1,"b":[1,2]}`)},
		{IntegrationID: "i", ObjectName: "o", Body: []byte(`{"a":2,"b":[1,2]}`)},
	} {
		if requestHash(c) == a {
			t.Errorf("%+v hashes like another request", c)
		}
	}
}

var nopLog = slog.New(slog.DiscardHandler)
