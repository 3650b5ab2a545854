package fake

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers/fakekit"
)

// TestPatchUpsertMatrix drives PATCH (and DELETE) with every combination
// of If-Match / If-None-Match on existing and missing rows, by primary
// key and by alternate key, in order: each case sees the rows the ones
// before it wrote.
func TestPatchUpsertMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 3}})
	existing := e.srv.IDs("accounts")[0]
	_, body := e.do(t, http.MethodGet, "accounts("+existing+")?$select=name", nil, "")
	etag0 := decode(t, body)["@odata.etag"].(string)
	const (
		newID    = "3f2504e0-4f89-11d3-9a0c-0305e82c3301" // a client's GUID
		otherID  = "3f2504e0-4f89-11d3-9a0c-0305e82c3302"
		thirdID  = "3f2504e0-4f89-11d3-9a0c-0305e82c3303"
		reprID   = "3f2504e0-4f89-11d3-9a0c-0305e82c3304"
		reserved = "5eed0d75-0001-4000-a000-0000000000ff" // seeded shape, past the 3 seeded rows
	)
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		code               string
		// entityID is the expected OData-EntityId suffix (after APIPath).
		entityID string
		// exists is the row the case must leave behind (by id), and
		// absent the one it must not have created.
		exists, absent string
	}{
		{name: "upsert creates under the client's id", method: http.MethodPatch, path: "accounts(" + newID + ")", body: `{"name":"Client chose"}`,
			status: 204, entityID: "accounts(" + newID + ")", exists: newID},
		{name: "upsert again updates it", method: http.MethodPatch, path: "accounts(" + strings.ToUpper(newID) + ")", body: `{"name":"Client chose 2"}`,
			status: 204, entityID: "accounts(" + newID + ")", exists: newID},
		{name: "If-Match: * prevents the create", method: http.MethodPatch, path: "accounts(" + otherID + ")", header: map[string]string{"If-Match": "*"}, body: `{"name":"x"}`,
			status: 404, code: CodeNotFound, absent: otherID},
		{name: "If-Match: * updates an existing row", method: http.MethodPatch, path: "accounts(" + existing + ")", header: map[string]string{"If-Match": "*"}, body: `{"telephone1":"1"}`,
			status: 204, entityID: "accounts(" + existing + ")"},
		{name: "If-None-Match: * prevents the update", method: http.MethodPatch, path: "accounts(" + existing + ")", header: map[string]string{"If-None-Match": "*"}, body: `{"name":"x"}`,
			status: 412, code: CodeDuplicateRecord},
		{name: "If-None-Match: * creates a missing row", method: http.MethodPatch, path: "accounts(" + thirdID + ")", header: map[string]string{"If-None-Match": "*"}, body: `{"name":"Third"}`,
			status: 204, entityID: "accounts(" + thirdID + ")", exists: thirdID},
		{name: "If-None-Match: null is no condition", method: http.MethodPatch, path: "accounts(" + thirdID + ")", header: map[string]string{"If-None-Match": "null"}, body: `{"name":"Third 2"}`,
			status: 204, entityID: "accounts(" + thirdID + ")"},
		{name: "stale ETag", method: http.MethodPatch, path: "accounts(" + existing + ")", header: map[string]string{"If-Match": etag0}, body: `{"name":"x"}`,
			status: 412, code: CodeVersionMismatch},
		{name: "ETag on a missing row is a 404", method: http.MethodPatch, path: "accounts(" + otherID + ")", header: map[string]string{"If-Match": etag0}, body: `{"name":"x"}`,
			status: 404, code: CodeNotFound, absent: otherID},
		{name: "representation: created", method: http.MethodPatch, path: "accounts(" + reprID + ")?$select=accountid", header: map[string]string{"Prefer": "return=representation"}, body: `{"name":"R"}`,
			status: 201, entityID: "accounts(" + reprID + ")", exists: reprID},
		{name: "representation: updated", method: http.MethodPatch, path: "accounts(" + reprID + ")?$select=accountid", header: map[string]string{"Prefer": "return=representation"}, body: `{"name":"R2"}`,
			status: 200, entityID: "accounts(" + reprID + ")"},
		{name: "alternate key: creates", method: http.MethodPatch, path: "accounts(accountnumber='U-1')", body: `{"name":"U"}`,
			status: 204, entityID: "accounts(accountnumber='U-1')"},
		{name: "alternate key: updates, key unchanged", method: http.MethodPatch, path: "accounts(accountnumber='U-1')", body: `{"name":"U2","accountnumber":"U-9"}`,
			status: 204, entityID: "accounts(accountnumber='U-1')"},
		{name: "alternate key: If-Match: * prevents the create", method: http.MethodPatch, path: "accounts(accountnumber='U-2')", header: map[string]string{"If-Match": "*"}, body: `{"name":"x"}`,
			status: 404, code: CodeNotFound},
		{name: "alternate key: If-None-Match: * prevents the update", method: http.MethodPatch, path: "accounts(accountnumber='U-1')", header: map[string]string{"If-None-Match": "*"}, body: `{"name":"x"}`,
			status: 412, code: CodeDuplicateRecord},
		{name: "alternate key: stale ETag", method: http.MethodPatch, path: "accounts(accountnumber='ACC-0000001')", header: map[string]string{"If-Match": `W/"1"`}, body: `{"name":"x"}`,
			status: 412, code: CodeVersionMismatch},
		{name: "alternate key: the body's key value is used on create", method: http.MethodPatch, path: "accounts(accountnumber='U-3')", body: `{"name":"V","accountnumber":"U-4"}`,
			status: 204, entityID: "accounts(accountnumber='U-3')"},
		{name: "delete with a stale ETag", method: http.MethodDelete, path: "accounts(" + existing + ")", header: map[string]string{"If-Match": etag0}, status: 412, code: CodeVersionMismatch},
		{name: "delete", method: http.MethodDelete, path: "accounts(" + newID + ")", status: 204},
		{name: "the fake cannot re-create a deleted id", method: http.MethodPatch, path: "accounts(" + newID + ")", body: `{"name":"again"}`, status: 400, code: "0x80040216"},
		{name: "the fake reserves its own id shapes", method: http.MethodPatch, path: "accounts(" + reserved + ")", body: `{"name":"x"}`, status: 400, code: "0x80040216", absent: reserved},
	}
	for _, tt := range tests {
		resp, body := e.do(t, tt.method, tt.path, tt.header, tt.body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
			continue
		}
		if tt.code != "" {
			if got := decode(t, body)["error"].(map[string]any)["code"]; got != tt.code {
				t.Errorf("%s: code %v, want %s", tt.name, got, tt.code)
			}
		}
		if loc := resp.Header.Get("OData-EntityId"); tt.entityID != "" && loc != e.ts.URL+APIPath+tt.entityID {
			t.Errorf("%s: OData-EntityId %q, want …%s", tt.name, loc, tt.entityID)
		}
		if tt.status == 201 || tt.status == 200 {
			m := decode(t, body)
			if m["accountid"] != reprID || resp.Header.Get("ETag") != m["@odata.etag"] {
				t.Errorf("%s: representation %v with ETag %q", tt.name, m, resp.Header.Get("ETag"))
			}
		}
		if _, ok := e.srv.Get("accounts", tt.exists); tt.exists != "" && !ok {
			t.Errorf("%s: %s does not exist", tt.name, tt.exists)
		}
		if _, ok := e.srv.Get("accounts", tt.absent); tt.absent != "" && ok {
			t.Errorf("%s: %s was created", tt.name, tt.absent)
		}
	}
	if got, _ := e.srv.Get("accounts", thirdID); got["name"] != "Third 2" {
		t.Errorf("row %s = %v", thirdID, got)
	}
	if rec, ok := e.srv.Kit().Store.FindBy("accounts", "accountnumber", "U-1"); !ok || rec.Fields["name"] != "U2" {
		t.Errorf("U-1 = %+v, %v; want renamed U2 under the same key", rec, ok)
	}
	if _, ok := e.srv.Kit().Store.FindBy("accounts", "accountnumber", "U-4"); !ok {
		t.Error("create by key U-3 with accountnumber U-4 in the body: no U-4 row")
	}
	if got, _ := e.srv.Get("accounts", existing); got["telephone1"] != "1" {
		t.Errorf("existing row = %v", got)
	}
}

// TestChosenIDsPage checks that rows created under client-chosen ids
// take their place in id-order paging: a full read in pages of one lists
// every live row exactly once.
func TestChosenIDsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 3}})
	for i := range 3 {
		id := fmt.Sprintf("0badc0de-0000-4000-8000-%012d", i)
		if resp, body := e.do(t, http.MethodPatch, "accounts("+id+")", nil, fmt.Sprintf(`{"name":"chosen %d"}`, i)); resp.StatusCode != 204 {
			t.Fatalf("upsert %s: %d %s", id, resp.StatusCode, body)
		}
		if resp, body := e.do(t, http.MethodPost, "accounts", nil, fmt.Sprintf(`{"name":"generated %d"}`, i)); resp.StatusCode != 204 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
	}
	var got []string
	link := e.ts.URL + APIPath + "accounts?$select=name"
	for page := 0; link != ""; page++ {
		if page > 20 {
			t.Fatal("paging does not end")
		}
		_, body := e.do(t, http.MethodGet, link, map[string]string{"Prefer": "odata.maxpagesize=1"}, "")
		m := decode(t, body)
		for _, v := range m["value"].([]any) {
			got = append(got, v.(map[string]any)["accountid"].(string))
		}
		link, _ = m["@odata.nextLink"].(string)
		if link != "" {
			if _, err := url.Parse(link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := e.srv.IDs("accounts"); !slices.Equal(got, want) {
		t.Errorf("paged ids\n%v\nwant\n%v", got, want)
	}
}
