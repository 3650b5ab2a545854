package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

type env struct {
	srv    *Server
	ts     *httptest.Server
	access string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	srv := New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	access, _ := srv.Issue()
	return &env{srv: srv, ts: ts, access: access}
}

func (e *env) do(t *testing.T, method, path string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.ts.URL + APIPath + path
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.access)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

func TestIDsInvert(t *testing.T) {
	t.Parallel()
	for _, tb := range newTables() {
		for _, i := range []int{0, 1, 4095, 1 << 30} {
			id := tb.id(i)
			if got, ok := tb.index(id); !ok || got != i {
				t.Errorf("%s: index(id(%d)) = %d, %v", tb.set, i, got, ok)
			}
			if _, ok := tb.seq(id); ok {
				t.Errorf("%s: seeded id %s parses as created", tb.set, id)
			}
			if _, ok := tb.index(tb.newID(i)); ok {
				t.Errorf("%s: created id parses as seeded", tb.set)
			}
		}
	}
}

func TestPagingQuirks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 12}})
	tests := []struct {
		name, path, prefer string
		status             int
		applied            string
		count              int
		next               bool
		code               string
	}{
		{"page size cap", "accounts?$select=name", "odata.maxpagesize=10000", 200, "odata.maxpagesize=5000", 12, false, ""},
		{"small pages", "accounts?$select=name", "odata.maxpagesize=5", 200, "odata.maxpagesize=5", 5, true, ""},
		{"no $skip", "accounts?$skip=5", "", 400, "", 0, false, "0x80060888"},
		{"$top limits the total and disables paging", "accounts?$top=3", "odata.maxpagesize=2", 200, "", 3, false, ""},
		{"unknown column", "accounts?$select=nosuch", "", 400, "", 0, false, "0x80060888"},
		{"lookup by its value name", "accounts?$select=_ownerid_value", "", 200, "", 12, false, ""},
		{"unknown table", "nosuchthings", "", 404, "", 0, false, "0x80060888"},
		{"track changes with $filter", "accounts?$filter=modifiedon%20gt%202020-01-01T00:00:00Z", "odata.track-changes", 400, "", 0, false, "0x80060888"},
	}
	for _, tt := range tests {
		h := map[string]string{}
		if tt.prefer != "" {
			h["Prefer"] = tt.prefer
		}
		resp, body := e.do(t, http.MethodGet, tt.path, h, "")
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
			continue
		}
		m := decode(t, body)
		if tt.status != 200 {
			if code := m["error"].(map[string]any)["code"]; code != tt.code {
				t.Errorf("%s: code %v, want %s", tt.name, code, tt.code)
			}
			continue
		}
		if got := resp.Header.Get("Preference-Applied"); got != tt.applied {
			t.Errorf("%s: Preference-Applied %q, want %q", tt.name, got, tt.applied)
		}
		if n := len(m["value"].([]any)); n != tt.count {
			t.Errorf("%s: %d rows, want %d", tt.name, n, tt.count)
		}
		if _, ok := m["@odata.nextLink"]; ok != tt.next {
			t.Errorf("%s: nextLink present %v, want %v", tt.name, ok, tt.next)
		}
		if resp.Header.Get("x-ms-ratelimit-burst-remaining-xrm-requests") == "" {
			t.Errorf("%s: no rate-limit header", tt.name)
		}
	}
	// The nextLink carries a Dataverse-shaped paging cookie.
	_, body := e.do(t, http.MethodGet, "accounts?$select=name", map[string]string{"Prefer": "odata.maxpagesize=5"}, "")
	next := decode(t, body)["@odata.nextLink"].(string)
	u, _ := url.Parse(next)
	if tok := u.Query().Get("$skiptoken"); !strings.HasPrefix(tok, `<cookie pagenumber="2" pagingcookie="%3ccookie%20page%3d%221%22%3e%3caccountid%20last%3d%22%7b`) {
		t.Errorf("skiptoken = %s", tok)
	}
}

func TestChangeTracking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 6}})
	resp, body := e.do(t, http.MethodGet, "accounts?$select=name", map[string]string{"Prefer": "odata.track-changes"}, "")
	first := decode(t, body)
	delta, _ := first["@odata.deltaLink"].(string)
	if len(first["value"].([]any)) != 6 || !strings.Contains(delta, "$deltatoken=") || !strings.Contains(resp.Header.Get("Preference-Applied"), "odata.track-changes") {
		t.Fatalf("initial sync: %s", body)
	}
	ids := e.srv.IDs("accounts")
	e.srv.Touch("accounts", ids[0])
	e.srv.Delete("accounts", ids[3])
	_, body = e.do(t, http.MethodGet, delta, nil, "")
	m := decode(t, body)
	rows := m["value"].([]any)
	if len(rows) != 2 || !strings.HasSuffix(m["@odata.context"].(string), "/$delta") {
		t.Fatalf("delta: %s", body)
	}
	changed, tomb := rows[0].(map[string]any), rows[1].(map[string]any)
	if changed["accountid"] != ids[0] || tomb["id"] != ids[3] || tomb["reason"] != "deleted" || !strings.HasSuffix(tomb["@odata.context"].(string), "#accounts/$deletedEntity") {
		t.Errorf("delta rows: %v", rows)
	}
	// The new delta link starts after these changes.
	_, body = e.do(t, http.MethodGet, m["@odata.deltaLink"].(string), nil, "")
	if n := len(decode(t, body)["value"].([]any)); n != 0 {
		t.Errorf("second delta: %d rows, want 0", n)
	}
}

// TestDeltaTokens checks the fake's delta tokens on the wire: a delta link
// carries "<write-log version>!<issue date>"; following it pages with
// nextLinks that keep the token, lists each changed record once at its
// latest write (several writes sharing a second included) and ends with
// a new delta link; an old, unknown or malformed token gets Dataverse's
// error answer.
func TestDeltaTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 8}, SameSecondWrites: true, DeltaRetention: time.Hour})
	_, body := e.do(t, http.MethodGet, "accounts?$select=name", map[string]string{"Prefer": "odata.track-changes,odata.maxpagesize=5"}, "")
	next := decode(t, body)["@odata.nextLink"].(string)
	_, body = e.do(t, http.MethodGet, next, map[string]string{"Prefer": "odata.track-changes,odata.maxpagesize=5"}, "")
	link := decode(t, body)["@odata.deltaLink"].(string)
	u, _ := url.Parse(link)
	if tok := u.Query().Get("$deltatoken"); tok != "1!01/05/2026 09:00:00" {
		t.Fatalf("first delta token %q, want version 1 (empty write log) and the issue time", tok)
	}

	ids := e.srv.IDs("accounts")
	before := e.srv.Now()
	for _, i := range []int{0, 1, 2, 3, 4, 5} {
		e.srv.Touch("accounts", ids[i])
	}
	e.srv.Touch("accounts", ids[0]) // again: listed once, at its latest write
	e.srv.Delete("accounts", ids[6])
	if !e.srv.Now().Truncate(time.Second).Equal(before.Truncate(time.Second)) {
		t.Fatal("the writes did not share a second")
	}

	var got []string
	pages := 0
	for link != "" {
		resp, body := e.do(t, http.MethodGet, link, map[string]string{"Prefer": "odata.maxpagesize=3"}, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delta page: %d %s", resp.StatusCode, body)
		}
		pages++
		m := decode(t, body)
		for _, v := range m["value"].([]any) {
			row := v.(map[string]any)
			if row["reason"] == "deleted" {
				got = append(got, "-"+row["id"].(string))
			} else {
				got = append(got, row["accountid"].(string))
			}
		}
		if n, ok := m["@odata.nextLink"].(string); ok {
			q, _ := url.Parse(n)
			if q.Query().Get("$deltatoken") == "" || q.Query().Get("$skiptoken") == "" || m["@odata.deltaLink"] != nil {
				t.Fatalf("delta nextLink %s must keep the token, add a skip token and come without a deltaLink", n)
			}
			link = n
			continue
		}
		d, _ := url.Parse(m["@odata.deltaLink"].(string))
		if tok := d.Query().Get("$deltatoken"); !strings.HasPrefix(tok, "9!") {
			t.Errorf("new delta token %q, want version 9 (after 8 writes)", tok)
		}
		link = ""
	}
	want := []string{ids[1], ids[2], ids[3], ids[4], ids[5], ids[0], "-" + ids[6]}
	if strings.Join(got, " ") != strings.Join(want, " ") || pages != 3 {
		t.Errorf("delta in %d pages: %v, want %v in 3", pages, got, want)
	}

	base := "accounts?$select=name&$deltatoken="
	tests := []struct {
		name, token string
		code        string
	}{
		{"within retention", "9!" + e.srv.Now().Add(-59*time.Minute).Format(deltaLayout), ""},
		{"past retention", "9!" + e.srv.Now().Add(-61*time.Minute).Format(deltaLayout), CodeExpiredVersionStamp},
		{"a version the log never reached", "10!" + e.srv.Now().Format(deltaLayout), CodeExpiredVersionStamp},
		{"no date", "9", "0x80060888"},
		{"negative version", "-1!" + e.srv.Now().Format(deltaLayout), "0x80060888"},
	}
	for _, tt := range tests {
		resp, body := e.do(t, http.MethodGet, base+url.QueryEscape(tt.token), nil, "")
		code := ""
		if resp.StatusCode != http.StatusOK {
			code, _ = decode(t, body)["error"].(map[string]any)["code"].(string)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tt.name, resp.StatusCode)
			}
		}
		if code != tt.code {
			t.Errorf("%s: code %q, want %q: %s", tt.name, code, tt.code, body)
		}
	}
}

func TestSingleWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 3}})
	before := e.srv.Now()
	resp, _ := e.do(t, http.MethodPost, "contacts", map[string]string{"Content-Type": "application/json"}, `{"firstname":"Ada","lastname":"King"}`)
	loc := resp.Header.Get("OData-EntityId")
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(loc, APIPath+"contacts(") {
		t.Fatalf("create: %d %q", resp.StatusCode, loc)
	}
	id := loc[strings.LastIndexByte(loc, '(')+1 : len(loc)-1]
	got, ok := e.srv.Get("contacts", id)
	if !ok || got["fullname"] != "Ada King" {
		t.Fatalf("created contact = %v", got)
	}
	mod, _ := time.Parse(time.RFC3339, got["modifiedon"].(string))
	if !mod.After(before) || mod.Nanosecond() != 0 {
		t.Errorf("modifiedon %s, want a whole second after %s", mod, before)
	}
	resp, body := e.do(t, http.MethodPost, "contacts?$select=fullname", map[string]string{"Prefer": "return=representation"}, `{"lastname":"Solo"}`)
	if resp.StatusCode != http.StatusCreated || decode(t, body)["fullname"] != "Solo" {
		t.Errorf("create with representation: %d %s", resp.StatusCode, body)
	}
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
	}{
		{"update", http.MethodPatch, "contacts(" + id + ")", map[string]string{"If-Match": "*"}, `{"jobtitle":"CTO"}`, 204},
		{"create-only on existing", http.MethodPatch, "contacts(" + id + ")", map[string]string{"If-None-Match": "*"}, `{"jobtitle":"x"}`, 412},
		{"stale etag", http.MethodPatch, "contacts(" + id + ")", map[string]string{"If-Match": `W/"1"`}, `{"jobtitle":"x"}`, 412},
		{"update missing", http.MethodPatch, "contacts(00000000-0000-0000-0000-000000000000)", map[string]string{"If-Match": "*"}, `{"jobtitle":"x"}`, 404},
		{"upsert new by key", http.MethodPatch, "accounts(accountnumber='X-1')", nil, `{"name":"X"}`, 204},
		{"not an alternate key", http.MethodPatch, "accounts(name='X')", nil, `{"name":"X"}`, 400},
		{"read-only column ignored", http.MethodPatch, "contacts(" + id + ")", nil, `{"createdon":"2020-01-01T00:00:00Z"}`, 204},
		{"delete", http.MethodDelete, "contacts(" + id + ")", nil, "", 204},
		{"delete again", http.MethodDelete, "contacts(" + id + ")", nil, "", 404},
	}
	for _, tt := range tests {
		resp, body := e.do(t, tt.method, tt.path, tt.header, tt.body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
		}
	}
	if _, ok := e.srv.Kit().Store.FindBy("accounts", "accountnumber", "X-1"); !ok {
		t.Error("upsert by alternate key did not create")
	}
}

func TestBatchChangesetRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 3}})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var cs bytes.Buffer
	cw := multipart.NewWriter(&cs)
	for i, body := range []string{`{"name":"ok"}`, `{"bogus":1}`} {
		pw, _ := cw.CreatePart(map[string][]string{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}, "Content-ID": {string(rune('1' + i))}})
		_, _ = pw.Write([]byte("POST " + e.ts.URL + APIPath + "accounts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n" + body))
	}
	_ = cw.Close()
	pw, _ := mw.CreatePart(map[string][]string{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}})
	_, _ = pw.Write(cs.Bytes())
	_ = mw.Close()
	resp, body := e.do(t, http.MethodPost, "$batch", map[string]string{"Content-Type": "multipart/mixed; boundary=" + mw.Boundary()}, buf.String())
	_, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != 200 || !strings.HasPrefix(params["boundary"], "batchresponse_") {
		t.Fatalf("batch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "HTTP/1.1 400 Bad Request") || !strings.Contains(string(body), "Content-Id: 2") && !strings.Contains(string(body), "Content-ID: 2") {
		t.Errorf("change set failure part: %s", body)
	}
	if n := len(e.srv.IDs("accounts")); n != 3 {
		t.Errorf("%d accounts after the failed change set, want 3", n)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	_, refresh := e.srv.Issue()
	post := func(form url.Values) (int, map[string]any) {
		resp, err := e.ts.Client().PostForm(e.ts.URL+"/organizations/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, decode(t, b)
	}
	status, m := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"c"}})
	newRefresh, _ := m["refresh_token"].(string)
	if status != 200 || newRefresh == "" || newRefresh == refresh || m["token_type"] != "Bearer" || m["scope"] != "https://contoso.crm.dynamics.com/user_impersonation" {
		t.Fatalf("refresh: %d %v", status, m)
	}
	if secs := m["expires_in"].(float64); secs < 3600 || secs > 5400 {
		t.Errorf("expires_in %v outside 60-90 minutes", secs)
	}
	status, m = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	desc, _ := m["error_description"].(string)
	codes, _ := m["error_codes"].([]any)
	if status != 400 || m["error"] != "invalid_grant" || !strings.HasPrefix(desc, "AADSTS70008:") || len(codes) != 1 || codes[0] != float64(70008) ||
		m["trace_id"] == nil || m["correlation_id"] == nil || m["timestamp"] == nil {
		t.Errorf("rotated-out refresh: %d %v", status, m)
	}
	e.srv.RevokeRefreshTokens()
	if status, m = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {newRefresh}}); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("revoked refresh: %d %v", status, m)
	}
	if status, m = post(url.Values{"grant_type": {"password"}}); status != 400 || m["error"] != "unsupported_grant_type" {
		t.Errorf("unsupported grant: %d %v", status, m)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.access = "nope"
	resp, body := e.do(t, http.MethodGet, "accounts", nil, "")
	if resp.StatusCode != 401 || len(body) != 0 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer authorization_uri=https://login.microsoftonline.com/") {
		t.Errorf("bad token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	good, _ := e.srv.Issue()
	e.access = good
	e.srv.Kit().Advance(91 * time.Minute)
	if resp, _ := e.do(t, http.MethodGet, "accounts", nil, ""); resp.StatusCode != 401 {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
}

func TestThrottleAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.Throttle(1, 7*time.Second)
	resp, body := e.do(t, http.MethodGet, "accounts", nil, "")
	m := decode(t, body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || m["error"].(map[string]any)["code"] != "0x80072322" {
		t.Errorf("throttled: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
