package salesforce

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/providertest"
)

func TestGetRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, smallPages(30))
	ids := f.fake.IDs("Account")
	f.fake.Delete("Account", ids[5])
	contact := f.fake.IDs("Contact")[0]
	missing := "001000000000999AAA"
	for _, tc := range []struct {
		name   string
		ids    []string
		fields []string
		want   []string
	}{
		{"found", []string{ids[0], ids[3], ids[7]}, []string{"name", "BillingCity"}, []string{ids[0], ids[3], ids[7]}},
		{"missing", []string{missing, ids[5]}, []string{"name"}, nil},
		{"mixed", []string{ids[1], missing, ids[5], contact, "not an id", "", ids[2]}, []string{"name"}, []string{ids[1], ids[2]}},
		{"repeated", []string{ids[4], ids[4]}, []string{"industry"}, []string{ids[4]}},
		{"default fields", []string{ids[6]}, nil, []string{ids[6]}},
		{"fields in any case", []string{ids[8]}, []string{"NAME", "billingcity", "Tier__C"}, []string{ids[8]}},
		{"no ids", nil, []string{"name"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.client.GetRecords(t.Context(), "account", tc.ids, tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckGetRecords(t, got, tc.want, f.client, "account", tc.fields)
		})
	}
}

func TestGetRecordsRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, smallPages(5))
	id := f.fake.IDs("Account")[0]
	tooMany := make([]string, f.client.MaxGetBatch()+1)
	for i := range tooMany {
		tooMany[i] = id
	}
	for _, tc := range []struct {
		name, object string
		ids, fields  []string
		kind         providers.ErrorKind
		code         string
		calls        bool
	}{
		{"too many ids", "account", tooMany, nil, providers.KindInvalid, "", false},
		{"no object", "", []string{id}, nil, providers.KindInvalid, "", false},
		{"unknown object", "widget__c", []string{id}, nil, providers.KindInvalid, "INVALID_TYPE", true},
		{"unknown field", "account", []string{id}, []string{"name", "nope__c"}, providers.KindInvalid, "INVALID_FIELD", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			used := f.fake.APIUsage()
			_, err := f.client.GetRecords(t.Context(), tc.object, tc.ids, tc.fields)
			var pe *providers.Error
			if !errorsAs(err, &pe) || pe.Kind != tc.kind || pe.Code != tc.code {
				t.Fatalf("err %v, want kind %s code %q", err, tc.kind, tc.code)
			}
			if called := f.fake.APIUsage() > used; called != tc.calls {
				t.Errorf("called the API: %v, want %v", called, tc.calls)
			}
		})
	}
	// The largest batch allowed is one call.
	used := f.fake.APIUsage()
	got, err := f.client.GetRecords(t.Context(), "account", tooMany[1:], []string{"name"})
	if err != nil || len(got) != 1 || f.fake.APIUsage() != used+1 {
		t.Errorf("%d ids: %d records, %v, %d calls", len(tooMany)-1, len(got), err, f.fake.APIUsage()-used)
	}
}

// TestGetRecordsRefreshes: an expired session is refreshed once and the
// call retried, as for reads.
func TestGetRecordsRefreshes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, smallPages(5))
	ids := f.fake.IDs("Account")[:2]
	f.fake.ExpireTokens()
	got, err := f.client.GetRecords(t.Context(), "account", ids, []string{"name"})
	if err != nil {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	if !slices.Equal(providertest.SortedIDs(got), slices.Sorted(slices.Values(ids))) {
		t.Errorf("records %v, want %v", providertest.SortedIDs(got), ids)
	}
}

// TestGetRecordsDocumentedAnswer replays the answer Salesforce documents
// for a retrieve (one element per id, null for the one it cannot return)
// and checks the request: POST with ids and fields in the body.
func TestGetRecordsDocumentedAnswer(t *testing.T) {
	t.Parallel()
	answer := []byte(`[{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001xx000003DGb1AAG"},` +
		`"Id":"001xx000003DGb1AAG","SystemModstamp":"2024-09-10T13:12:38.000+0000","Name":"Acme"},` +
		`{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001xx000003DGb0AAG"},` +
		`"Id":"001xx000003DGb0AAG","SystemModstamp":"2024-09-11T08:00:00.000+0000","Name":"Global Media"},null]`)
	c, rp, _ := replayClient(t, step{method: http.MethodPost, path: v60 + "/composite/sobjects/Account", status: http.StatusOK, body: answer})
	ids := []string{"001xx000003DGb1AAG", "001xx000003DGb0AAG", "001xx000003DGb9AAG"}
	got, err := c.GetRecords(t.Context(), "account", ids, []string{"name"})
	if err != nil {
		t.Fatal(err)
	}
	var sent map[string][]string
	if err := json.Unmarshal(rp.bodies[0], &sent); err != nil || !slices.Equal(sent["ids"], ids) || !slices.Equal(sent["fields"], []string{"Id", "SystemModstamp", "name"}) {
		t.Errorf("request body %s", rp.bodies[0])
	}
	if len(got) != 2 || got[1].ID != "001xx000003DGb0AAG" || got[1].Fields["name"] != "Global Media" ||
		got[0].ModifiedAt.Format("2006-01-02T15:04:05Z") != "2024-09-10T13:12:38Z" {
		t.Errorf("records %+v", got)
	}
}
