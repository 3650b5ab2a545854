package fake

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers/fakekit"
)

// rowsOf returns the accountid of each row of a query answer, in order.
func rowsOf(t *testing.T, body []byte) []string {
	t.Helper()
	var ids []string
	for _, v := range decode(t, body)["value"].([]any) {
		ids = append(ids, v.(map[string]any)["accountid"].(string))
	}
	return ids
}

// TestFilterByKey: an or-chain of primary-key equalities returns the live
// rows with those keys in key order, and pages.
func TestFilterByKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 20}})
	ids := e.srv.IDs("accounts")
	e.srv.Delete("accounts", ids[4])
	unknown := "5eed0d75-0001-4000-a000-0000000003e7"
	chain := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, "accountid eq "+id)
		}
		return url.QueryEscape(strings.Join(parts, " or "))
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"one key", "$filter=" + url.QueryEscape("accountid eq "+strings.ToUpper(ids[3])), []string{ids[3]}},
		{"chain", "$filter=" + chain(ids[9], ids[2], unknown, ids[4], ids[7]), []string{ids[2], ids[7], ids[9]}},
		{"in parentheses", "$filter=" + url.QueryEscape("("+"accountid eq "+ids[1]+" or accountid eq "+ids[0]+")"), []string{ids[0], ids[1]}},
		{"key and column", "$filter=" + url.QueryEscape("accountid eq "+ids[5]+" and name eq 'nobody'"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodGet, "accounts?$select=name&"+tc.query, nil, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if got := rowsOf(t, body); !slices.Equal(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
		})
	}

	// Two rows a page: the chain pages like any query.
	var got []string
	next := e.ts.URL + APIPath + "accounts?$select=name&$filter=" + chain(ids[8], ids[6], ids[1], ids[3], ids[0])
	for page := 0; next != ""; page++ {
		if page > 5 {
			t.Fatal("too many pages")
		}
		resp, body := e.do(t, http.MethodGet, next, map[string]string{"Prefer": "odata.maxpagesize=2"}, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		got = append(got, rowsOf(t, body)...)
		next, _ = decode(t, body)["@odata.nextLink"].(string)
	}
	if want := []string{ids[0], ids[1], ids[3], ids[6], ids[8]}; !slices.Equal(got, want) {
		t.Errorf("paged rows %v, want %v", got, want)
	}
}

func TestFilterByKeyRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	id := e.srv.IDs("accounts")[0]
	long := "accountid eq " + id + strings.Repeat(" or accountid eq "+id, 700)
	for _, tc := range []struct {
		name, filter string
		status       int
		message      string
	}{
		{"quoted guid", "accountid eq '" + id + "'", 400, "incompatible types"},
		{"malformed guid", "accountid eq 1234-not-a-guid", 400, "Syntax error"},
		{"malformed guid in a chain", "accountid eq " + id + " or accountid eq nope", 400, "Syntax error"},
		{"or on another column", "name eq 'a' or name eq 'b'", 400, "only between 'accountid eq <guid>'"},
		{"key compared otherwise", "accountid gt " + id, 400, "only with eq"},
		{"URL too long", long, 414, "HTTP Error 414"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodGet, "accounts?$select=name&$filter="+url.QueryEscape(tc.filter), nil, "")
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.message) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.message)
			}
		})
	}
	// A quoted "or" is part of a string, not an operator.
	resp, body := e.do(t, http.MethodGet, "accounts?$select=name&$filter="+url.QueryEscape("name eq 'Black or White'"), nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("or inside a literal: %d %s", resp.StatusCode, body)
	}
}
