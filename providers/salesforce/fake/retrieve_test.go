package fake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCollectionRetrieve checks both forms of sObject Collections
// retrieve: one element per id in request order, null for ids that name
// no live record of the object, and the refusals.
func TestCollectionRetrieve(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ids := e.s.IDs("Account")
	e.s.Delete("Account", ids[2])
	contact := e.s.IDs("Contact")[0]
	asked := []string{ids[1], "001000000000999AAA", ids[2], contact, "bogus", ids[0]}
	want := []string{ids[1], "", "", "", "", ids[0]}

	post, _ := json.Marshal(map[string]any{"ids": asked, "fields": []string{"id", "Name", "name", "BillingCity"}})
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"POST", http.MethodPost, "/services/data/v60.0/composite/sobjects/account", string(post)},
		{"GET", http.MethodGet, "/services/data/v60.0/composite/sobjects/Account?ids=" + strings.Join(asked, ",") + "&fields=id,Name,name,BillingCity", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.method, tc.path, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var rows []map[string]any
			if err := json.Unmarshal(body, &rows); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if len(rows) != len(asked) {
				t.Fatalf("%d elements for %d ids: %s", len(rows), len(asked), body)
			}
			for i, row := range rows {
				if want[i] == "" {
					if row != nil {
						t.Errorf("element %d (%s) = %v, want null", i, asked[i], row)
					}
					continue
				}
				stored, _ := e.s.Get("Account", want[i])
				attrs, _ := row["attributes"].(map[string]any)
				if row["Id"] != want[i] || row["Name"] != stored["Name"] || attrs["type"] != "Account" || len(row) != 4 {
					t.Errorf("element %d = %v, want Id %s, Name %v, BillingCity and attributes only", i, row, want[i], stored["Name"])
				}
			}
		})
	}
}

func TestCollectionRetrieveRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	id := e.s.IDs("Account")[0]
	many := make([]string, MaxRetrieveIDs+1)
	for i := range many {
		many[i] = id
	}
	tooMany, _ := json.Marshal(map[string]any{"ids": many, "fields": []string{"Id"}})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown object", http.MethodPost, "/services/data/v60.0/composite/sobjects/Widget__c", `{"ids":["` + id + `"],"fields":["Id"]}`, 400, "INVALID_TYPE"},
		{"unknown field", http.MethodPost, "/services/data/v60.0/composite/sobjects/Account", `{"ids":["` + id + `"],"fields":["Id","Nope__c"]}`, 400, "INVALID_FIELD"},
		{"no ids", http.MethodPost, "/services/data/v60.0/composite/sobjects/Account", `{"ids":[],"fields":["Id"]}`, 400, "MISSING_ARGUMENT"},
		{"no fields", http.MethodGet, "/services/data/v60.0/composite/sobjects/Account?ids=" + id, "", 400, "MISSING_ARGUMENT"},
		{"too many ids", http.MethodPost, "/services/data/v60.0/composite/sobjects/Account", string(tooMany), 400, "EXCEEDED_ID_LIMIT"},
		{"bad JSON", http.MethodPost, "/services/data/v60.0/composite/sobjects/Account", `{"ids":`, 400, "JSON_PARSER_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.method, tc.path, tc.body)
			var errs []apiError
			_ = json.Unmarshal(body, &errs)
			if resp.StatusCode != tc.status || len(errs) != 1 || errs[0].ErrorCode != tc.code {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
}
