package fake_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot/fake"
)

type client struct {
	srv *httptest.Server
	f   *fake.Server
}

func start(t *testing.T, opts fake.Options) *client {
	t.Helper()
	f := fake.New(opts)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &client{srv: srv, f: f}
}

func (c *client) do(t *testing.T, method, path, token string, body io.Reader) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, c.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == "POST" && strings.HasPrefix(path, "/oauth") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp, m
}

func TestBadTokenGetsHubSpots401(t *testing.T) {
	t.Parallel()
	c := start(t, fake.Options{})
	for _, tok := range []string{"", "not-a-token"} {
		resp, body := c.do(t, "GET", "/crm/v3/objects/contacts", tok, nil)
		if resp.StatusCode != 401 || body["status"] != "error" || body["category"] != "INVALID_AUTHENTICATION" ||
			!strings.HasPrefix(body["message"].(string), "Authentication credentials not found") || body["correlationId"] == "" {
			t.Errorf("token %q: %d %v", tok, resp.StatusCode, body)
		}
	}
	access, _ := c.f.Issue()
	c.f.Advance(fake.RealTokenTTL) // 30 minutes later the token is dead
	if resp, _ := c.do(t, "GET", "/crm/v3/objects/contacts", access, nil); resp.StatusCode != 401 {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limits   fakekit.Limits
		path     string
		policy   string
		headers  bool
		allowed  int
		dailyHdr bool
	}{
		{"Burst", fakekit.Limits{Window: 3, SearchPerSecond: -1}, "/crm/v3/objects/contacts", "TEN_SECONDLY_ROLLING", true, 3, false},
		{"Daily", fakekit.Limits{Window: -1, Daily: 2, SearchPerSecond: -1}, "/crm/v3/objects/contacts", "DAILY", false, 2, true},
		{"SearchPerSecond", fakekit.Limits{SearchPerSecond: 2}, "/crm/v3/objects/contacts/search", "SECONDLY", false, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := start(t, fake.Options{Options: fakekit.Options{Limits: tt.limits}, WindowsOnFakeClock: true})
			access, _ := c.f.Issue()
			method := "GET"
			if strings.HasSuffix(tt.path, "search") {
				method = "POST"
			}
			for i := range tt.allowed + 1 {
				var body io.Reader
				if method == "POST" {
					body = strings.NewReader(`{"limit":1}`)
				}
				resp, m := c.do(t, method, tt.path, access, body)
				if i < tt.allowed {
					if resp.StatusCode != 200 {
						t.Fatalf("request %d: %d %v", i, resp.StatusCode, m)
					}
					if tt.name == "Burst" && resp.Header.Get("X-HubSpot-RateLimit-Remaining") != string(rune('0'+tt.allowed-1-i)) {
						t.Errorf("request %d: remaining %q", i, resp.Header.Get("X-HubSpot-RateLimit-Remaining"))
					}
					if tt.name == "SearchPerSecond" && resp.Header.Get("X-HubSpot-RateLimit-Max") != "" {
						t.Errorf("search answered with rate-limit headers")
					}
					continue
				}
				if resp.StatusCode != 429 || m["policyName"] != tt.policy || m["errorType"] != "RATE_LIMIT" || m["status"] != "error" {
					t.Fatalf("over the limit: %d %v", resp.StatusCode, m)
				}
				if got := resp.Header.Get("X-HubSpot-RateLimit-Max") != ""; got != tt.headers {
					t.Errorf("rate-limit headers present = %v, want %v", got, tt.headers)
				}
				if tt.headers && resp.Header.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "10000" {
					t.Errorf("interval header %q", resp.Header.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
				}
				if got := resp.Header.Get("X-HubSpot-RateLimit-Daily") != ""; got != tt.dailyHdr {
					t.Errorf("daily headers present = %v, want %v", got, tt.dailyHdr)
				}
			}
		})
	}
	// Throttle (fault injection) sends Retry-After.
	c := start(t, fake.Options{})
	access, _ := c.f.Issue()
	c.f.Throttle(1, 3*time.Second)
	resp, m := c.do(t, "GET", "/crm/v3/objects/contacts", access, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || m["policyName"] != "TEN_SECONDLY_ROLLING" {
		t.Errorf("throttled: %d %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), m)
	}
}

// Searches stay out of the burst window, as HubSpot's usage guidelines
// have it, unless SearchInBurstWindow counts them there too: with a window
// of 3, a list after three searches is answered (Remaining 2) or refused.
func TestSearchAndTheBurstWindow(t *testing.T) {
	t.Parallel()
	for _, in := range []bool{false, true} {
		t.Run(fmt.Sprintf("SearchInBurstWindow=%v", in), func(t *testing.T) {
			t.Parallel()
			c := start(t, fake.Options{Options: fakekit.Options{Limits: fakekit.Limits{Window: 3, SearchPerSecond: 10}},
				WindowsOnFakeClock: true, SearchInBurstWindow: in})
			access, _ := c.f.Issue()
			for i := range 3 {
				if resp, m := c.do(t, "POST", "/crm/v3/objects/contacts/search", access, strings.NewReader(`{"limit":1}`)); resp.StatusCode != 200 {
					t.Fatalf("search %d: %d %v", i, resp.StatusCode, m)
				}
			}
			resp, m := c.do(t, "GET", "/crm/v3/objects/contacts", access, nil)
			switch {
			case !in && (resp.StatusCode != 200 || resp.Header.Get("X-HubSpot-RateLimit-Remaining") != "2"):
				t.Errorf("a list after three searches: %d, Remaining %q; want 200, 2 (searches outside the window)",
					resp.StatusCode, resp.Header.Get("X-HubSpot-RateLimit-Remaining"))
			case in && (resp.StatusCode != 429 || m["policyName"] != "TEN_SECONDLY_ROLLING"):
				t.Errorf("a list after three searches: %d %v; want a TEN_SECONDLY_ROLLING 429 (searches in the window)", resp.StatusCode, m)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rotate bool
	}{{"SameRefreshToken", false}, {"Rotation", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := start(t, fake.Options{Options: fakekit.Options{RotateRefresh: tt.rotate, ClientID: "id", ClientSecret: "secret"}})
			_, refresh := c.f.Issue()
			form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"id"}, "client_secret": {"secret"}, "refresh_token": {refresh}}
			resp, m := c.do(t, "POST", "/oauth/v1/token", "", strings.NewReader(form.Encode()))
			if resp.StatusCode != 200 || m["expires_in"] != float64(1800) || m["token_type"] != "bearer" || m["access_token"] == "" {
				t.Fatalf("refresh: %d %v", resp.StatusCode, m)
			}
			if same := m["refresh_token"] == refresh; same == tt.rotate {
				t.Errorf("refresh_token %v (old %s), rotation %v", m["refresh_token"], refresh, tt.rotate)
			}
			access := m["access_token"].(string)
			resp, info := c.do(t, "GET", "/oauth/v1/access-tokens/"+access, "", nil)
			if resp.StatusCode != 200 || info["hub_id"] != float64(fake.PortalID) {
				t.Errorf("token info: %d %v", resp.StatusCode, info)
			}
			// A deleted refresh token is refused with BAD_REFRESH_TOKEN.
			cur := m["refresh_token"].(string)
			if resp, _ := c.do(t, "DELETE", "/oauth/v1/refresh-tokens/"+cur, "", nil); resp.StatusCode != 204 {
				t.Fatalf("delete refresh token: %d", resp.StatusCode)
			}
			form.Set("refresh_token", cur)
			resp, m = c.do(t, "POST", "/oauth/v1/token", "", strings.NewReader(form.Encode()))
			if resp.StatusCode != 400 || m["status"] != "BAD_REFRESH_TOKEN" || m["correlationId"] == "" {
				t.Errorf("revoked refresh: %d %v", resp.StatusCode, m)
			}
			form.Set("client_secret", "wrong")
			if resp, m = c.do(t, "POST", "/oauth/v1/token", "", strings.NewReader(form.Encode())); m["status"] != "BAD_CLIENT_ID" {
				t.Errorf("wrong secret: %d %v", resp.StatusCode, m)
			}
		})
	}
}

func TestWritesShowInReads(t *testing.T) {
	t.Parallel()
	c := start(t, fake.Options{Options: fakekit.Options{Records: 5}})
	access, _ := c.f.Issue()
	before := c.f.Now()
	resp, m := c.do(t, "POST", "/crm/v3/objects/contacts/batch/update", access, strings.NewReader(`{"inputs":[{"id":"1002","properties":{"firstname":"Changed","favorite_color":"blue"}}]}`))
	if resp.StatusCode != 200 {
		t.Fatalf("update: %d %v", resp.StatusCode, m)
	}
	got, ok := c.f.Get("contacts", "1002")
	if !ok || got["firstname"] != "Changed" || got[fake.CustomProperty] != "blue" {
		t.Errorf("stored %v", got)
	}
	if resp, _ := c.do(t, "POST", "/crm/v3/objects/contacts/batch/archive", access, strings.NewReader(`{"inputs":[{"id":"1003"}]}`)); resp.StatusCode != 204 {
		t.Fatalf("archive: %d", resp.StatusCode)
	}
	_, m = c.do(t, "GET", "/crm/v3/objects/contacts?archived=true&properties=email", access, nil)
	res := m["results"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["id"] != "1003" || res[0].(map[string]any)["archived"] != true || res[0].(map[string]any)["archivedAt"] == nil {
		t.Errorf("archived list %v", m)
	}
	_, m = c.do(t, "GET", "/crm/v3/objects/contacts?limit=100", access, nil)
	if n := len(m["results"].([]any)); n != 4 {
		t.Errorf("live list has %d records, want 4", n)
	}
	body := `{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GT","value":"` + before.Format(time.RFC3339Nano) + `"}]}],"sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],"properties":["firstname"]}`
	_, m = c.do(t, "POST", "/crm/v3/objects/contacts/search", access, strings.NewReader(body))
	if m["total"] != float64(1) || m["results"].([]any)[0].(map[string]any)["id"] != "1002" {
		t.Errorf("search since the update: %v", m)
	}
}

func TestConsentPage(t *testing.T) {
	t.Parallel()
	c := start(t, fake.Options{})
	resp, _ := c.do(t, "GET", "/oauth/authorize?client_id=x&redirect_uri=https://app.example/cb&response_type=code&scope=oauth&optional_scope=tickets&state=s", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("authorize page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// Search sorted on hs_object_id descending walks ids down: created records
// above the seeded ones, archived ones left out, `after` an offset. A
// single group of id bounds (the connector's keyset query) is answered
// without a scan; the scan (any other filter) must agree with it.
func TestSearchByIDDescending(t *testing.T) {
	t.Parallel()
	c := start(t, fake.Options{Options: fakekit.Options{Records: 50, Limits: fakekit.Limits{Window: -1, SearchPerSecond: -1}}})
	access, _ := c.f.Issue()
	var created []string
	for i := range 3 {
		rec, err := c.f.Kit().Store.Create("contacts", map[string]any{"email": fmt.Sprintf("new%d@example.org", i)})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, rec.ID)
	}
	for _, id := range []string{"1020", "1048", created[1]} {
		c.f.Delete("contacts", id)
	}
	idFilter := func(op, v string) string {
		return fmt.Sprintf(`{"propertyName":"hs_object_id","operator":%q,"value":%q}`, op, v)
	}
	// Seeded contacts all have an email, so this filter selects nothing
	// more or less; it only makes the query one the fake must scan for.
	const hasEmail = `{"propertyName":"email","operator":"HAS_PROPERTY"}`
	tests := []struct {
		name    string
		filters []string // one group; none: no filter groups
		limit   int
		after   string
		want    []string
		total   int
		next    bool
	}{
		{name: "Top", limit: 3, want: []string{created[2], created[0], "1050"}, total: 50, next: true},
		{name: "Below", filters: []string{idFilter("LT", "1050")}, limit: 3, want: []string{"1049", "1047", "1046"}, total: 47, next: true},
		{name: "BelowScanned", filters: []string{idFilter("LT", "1050"), hasEmail}, limit: 3, want: []string{"1049", "1047", "1046"}, total: 47, next: true},
		{name: "Between", filters: []string{idFilter("GTE", "1045"), idFilter("LTE", "1049")}, limit: 10, want: []string{"1049", "1047", "1046", "1045"}, total: 4},
		{name: "Offset", filters: []string{idFilter("LT", "1050")}, limit: 2, after: "2", want: []string{"1046", "1045"}, total: 47, next: true},
		{name: "OffsetScanned", filters: []string{idFilter("LT", "1050"), hasEmail}, limit: 2, after: "2", want: []string{"1046", "1045"}, total: 47, next: true},
		{name: "Bottom", filters: []string{idFilter("LT", "1003")}, limit: 10, want: []string{"1002", "1001"}, total: 2},
		{name: "Nothing", filters: []string{idFilter("LT", "1001")}, limit: 10, total: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			groups := "[]"
			if len(tt.filters) > 0 {
				groups = `[{"filters":[` + strings.Join(tt.filters, ",") + `]}]`
			}
			body := fmt.Sprintf(`{"filterGroups":%s,"sorts":[{"propertyName":"hs_object_id","direction":"DESCENDING"}],"properties":["email"],"limit":%d,"after":%q}`,
				groups, tt.limit, tt.after)
			resp, m := c.do(t, "POST", "/crm/v3/objects/contacts/search", access, strings.NewReader(body))
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
			var got []string
			for _, r := range m["results"].([]any) {
				got = append(got, r.(map[string]any)["id"].(string))
			}
			_, hasNext := m["paging"]
			if !slices.Equal(got, tt.want) || m["total"] != float64(tt.total) || hasNext != tt.next {
				t.Errorf("ids %v, total %v, next %v; want %v, %d, %v", got, m["total"], hasNext, tt.want, tt.total, tt.next)
			}
		})
	}
}

// ReverseListPages serves list pages out of id order, for the connector's
// check of it.
func TestReverseListPages(t *testing.T) {
	t.Parallel()
	c := start(t, fake.Options{Options: fakekit.Options{Records: 5}, ReverseListPages: true})
	access, _ := c.f.Issue()
	_, m := c.do(t, "GET", "/crm/v3/objects/contacts?limit=3", access, nil)
	var got []string
	for _, r := range m["results"].([]any) {
		got = append(got, r.(map[string]any)["id"].(string))
	}
	if !slices.Equal(got, []string{"1003", "1002", "1001"}) {
		t.Errorf("first page %v, want 1003 1002 1001", got)
	}
}
