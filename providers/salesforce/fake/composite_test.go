package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers/fakekit"
)

type compositeAnswer struct {
	CompositeResponse []struct {
		Body           json.RawMessage   `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	} `json:"compositeResponse"`
}

// statuses returns "ref:status" per subrequest.
func (a compositeAnswer) statuses() []string {
	var out []string
	for _, r := range a.CompositeResponse {
		out = append(out, fmt.Sprintf("%s:%d", r.ReferenceID, r.HTTPStatusCode))
	}
	return out
}

// body decodes subrequest i's body.
func (a compositeAnswer) body(t *testing.T, i int) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(a.CompositeResponse[i].Body, &v); err != nil {
		t.Fatalf("subrequest %d: %v: %s", i, err, a.CompositeResponse[i].Body)
	}
	return v
}

// errorOf returns the errorCode and message of an error body.
func (a compositeAnswer) errorOf(t *testing.T, i int) (string, string) {
	t.Helper()
	list, _ := a.body(t, i).([]any)
	if len(list) == 0 {
		return "", ""
	}
	m, _ := list[0].(map[string]any)
	code, _ := m["errorCode"].(string)
	msg, _ := m["message"].(string)
	return code, msg
}

func (a compositeAnswer) id(t *testing.T, i int) string {
	t.Helper()
	m, _ := a.body(t, i).(map[string]any)
	id, _ := m["id"].(string)
	return id
}

func (e *env) composite(t *testing.T, version, body string) (*http.Response, []byte, compositeAnswer) {
	t.Helper()
	resp, b := e.do(t, http.MethodPost, "/services/data/"+version+"/composite", body, "Content-Type", "application/json")
	var a compositeAnswer
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}
	return resp, b, a
}

// storeState is what a rolled-back request must leave unchanged.
func storeState(e *env) string {
	var b strings.Builder
	for _, o := range []string{"Account", "Contact", "Lead"} {
		st := e.s.Kit().Store
		fmt.Fprintf(&b, "%s live=%d writes=%d ids=%d; ", o, st.Live(o), st.LogLen(o), len(e.s.IDs(o)))
	}
	return b.String()
}

func TestCompositeReferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	before := e.s.APIUsage()
	resp, body, a := e.composite(t, "v60.0", `{"allOrNone":false,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"refAccount","body":{"Name":"Composite Co","NumberOfEmployees":42}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"refContact",
		 "body":{"LastName":"Child of @{refAccount.id}","AccountId":"@{refAccount.id}"}},
		{"method":"GET","url":"/services/data/v60.0/sobjects/Contact/@{refContact.id}","referenceId":"getContact"},
		{"method":"GET","url":"/services/data/v58.0/query?q=SELECT Id, AccountId FROM Contact WHERE Id = '@{refContact.id}'","referenceId":"q"},
		{"method":"PATCH","url":"/services/data/v60.0/sobjects/Account/@{q.records[0].AccountId}","referenceId":"upd",
		 "body":{"Description":"contact @{getContact.LastName}","NumberOfEmployees":"@{q.totalSize}"}},
		{"method":"GET","url":"/services/data/v60.0/sobjects/Account/@{refAccount.id}","referenceId":"getAccount"},
		{"method":"DELETE","url":"/services/data/v60.0/sobjects/Contact/@{getContact.Id}","referenceId":"del"}
	]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	want := []string{"refAccount:201", "refContact:201", "getContact:200", "q:200", "upd:204", "getAccount:200", "del:204"}
	if got := a.statuses(); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v: %s", got, want, body)
	}
	account, contact := a.id(t, 0), a.id(t, 1)
	if !strings.HasPrefix(account, "001") || !strings.HasPrefix(contact, "003") {
		t.Fatalf("ids %q %q", account, contact)
	}
	if loc := a.CompositeResponse[0].HTTPHeaders["Location"]; loc != "/services/data/v60.0/sobjects/Account/"+account {
		t.Errorf("Location %q", loc)
	}
	if h := a.CompositeResponse[3].HTTPHeaders; h == nil || len(h) != 0 {
		t.Errorf("query httpHeaders %v, want {}", h)
	}
	if a.CompositeResponse[2].HTTPHeaders["Last-Modified"] == "" {
		t.Errorf("get httpHeaders %v", a.CompositeResponse[2].HTTPHeaders)
	}
	got, _ := a.body(t, 2).(map[string]any)
	if got["AccountId"] != account || got["LastName"] != "Child of "+account {
		t.Errorf("contact %v", got)
	}
	if q, _ := a.body(t, 3).(map[string]any); q["totalSize"] != 1.0 {
		t.Errorf("query %v", q)
	}
	// A whole-string reference keeps the referenced value's JSON type (the
	// number 1); one inside a longer string is spliced in as text.
	if acc, _ := a.body(t, 5).(map[string]any); acc["NumberOfEmployees"] != 1.0 || acc["Description"] != "contact Child of "+account {
		t.Errorf("account after the update %v", acc)
	}
	if string(a.CompositeResponse[6].Body) != "null" {
		t.Errorf("delete body %s", a.CompositeResponse[6].Body)
	}
	if rec, ok := e.s.Get("Contact", contact); !ok || rec["IsDeleted"] != true || rec["AccountId"] != account {
		t.Errorf("contact in the store: %v", rec)
	}
	if rec, ok := e.s.Get("Account", account); !ok || rec["Name"] != "Composite Co" || rec["NumberOfEmployees"] != 1.0 {
		t.Errorf("account in the store: %v", rec)
	}
	if used := e.s.APIUsage() - before; used != 1 {
		t.Errorf("the composite request counted %d API requests, want 1", used)
	}
}

func TestCompositeReferencePaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	seeded := e.s.IDs("Account")[1]
	_, body, a := e.composite(t, "v60.0", `{"compositeRequest":[
		{"method":"GET","url":"/services/data/v60.0/sobjects/Account/`+seeded+`","referenceId":"get"},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Opportunity","referenceId":"opp",
		 "body":{"Name":"@{get.Name} deal","StageName":"Prospecting","CloseDate":"2026-02-01","Amount":"@{get.NumberOfEmployees}",
		         "AccountId":"@{get.Id}","Description":"see @{get.attributes.url}"}}
	]}`)
	if got := a.statuses(); !slices.Equal(got, []string{"get:200", "opp:201"}) {
		t.Fatalf("%v %s", got, body)
	}
	opp, _ := e.s.Get("Opportunity", a.id(t, 1))
	acc, _ := e.s.Get("Account", seeded)
	if opp["Name"] != fmt.Sprint(acc["Name"])+" deal" || opp["Amount"] != acc["NumberOfEmployees"] || opp["AccountId"] != seeded ||
		opp["Description"] != "see /services/data/v60.0/sobjects/Account/"+seeded {
		t.Errorf("opportunity %v from account %v", opp, acc)
	}
}

func TestCompositeNullReferenceByVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version string
		want    []string
	}{
		{"v60.0", []string{"contact:201", "get:200", "lead:201"}},
		// Before API 52.0 a reference to a null field fails.
		{"v51.0", []string{"contact:201", "get:200", "lead:400"}},
	}
	for _, tt := range tests {
		e := newEnv(t, Options{Options: fakekit.Options{Records: 1}})
		_, body, a := e.composite(t, tt.version, `{"compositeRequest":[
			{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"contact","body":{"LastName":"NoFirst"}},
			{"method":"GET","url":"/services/data/v60.0/sobjects/Contact/@{contact.id}","referenceId":"get"},
			{"method":"POST","url":"/services/data/v60.0/sobjects/Lead","referenceId":"lead",
			 "body":{"FirstName":"@{get.FirstName}","LastName":"@{get.LastName}","Company":"Acme"}}
		]}`)
		if got := a.statuses(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v: %s", tt.version, got, tt.want, body)
			continue
		}
		if tt.version == "v51.0" {
			if code, msg := a.errorOf(t, 2); code != "PROCESSING_HALTED" || msg != "Invalid reference specified. No value for get.FirstName found in get." {
				t.Errorf("v51: %s %q", code, msg)
			}
			continue
		}
		if lead, _ := e.s.Get("Lead", a.id(t, 2)); lead["FirstName"] != nil || lead["LastName"] != "NoFirst" {
			t.Errorf("lead %v", lead)
		}
	}
}

func TestCompositePartialFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	_, body, a := e.composite(t, "v60.0", `{"allOrNone":false,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"good","body":{"Name":"Kept"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"bad","body":{"Website":"no name"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"dependent","body":{"LastName":"X","AccountId":"@{bad.id}"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"independent","body":{"LastName":"Y","AccountId":"@{good.id}"}},
		{"method":"GET","url":"/services/data/v60.0/limits","referenceId":"unsupported"}
	]}`)
	want := []string{"good:201", "bad:400", "dependent:400", "independent:201", "unsupported:404"}
	if got := a.statuses(); !slices.Equal(got, want) {
		t.Fatalf("%v, want %v: %s", got, want, body)
	}
	if code, _ := a.errorOf(t, 1); code != "REQUIRED_FIELD_MISSING" {
		t.Errorf("bad: %s", code)
	}
	if code, msg := a.errorOf(t, 2); code != "PROCESSING_HALTED" || msg != "Invalid reference specified. No value for bad.id found in bad." {
		t.Errorf("dependent: %s %q", code, msg)
	}
	if _, ok := e.s.Get("Account", a.id(t, 0)); !ok {
		t.Error("the good account was not kept")
	}
	if rec, ok := e.s.Get("Contact", a.id(t, 3)); !ok || rec["AccountId"] != a.id(t, 0) {
		t.Errorf("the independent contact was not kept: %v", rec)
	}
}

func TestCompositeAllOrNoneRollsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		requests string
		want     []string
		failed   int    // index of the subrequest that keeps its own answer
		code     string // its error code (or "" for a collection answer)
	}{
		{
			name: "a failed create after writes",
			requests: `
				{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"acc","body":{"Name":"Gone"}},
				{"method":"PATCH","url":"/services/data/v60.0/sobjects/Account/@{acc.id}","referenceId":"upd","body":{"Website":"gone.example"}},
				{"method":"PATCH","url":"/services/data/v60.0/sobjects/Account/{seeded0}","referenceId":"updSeeded","body":{"Website":"changed.example"}},
				{"method":"DELETE","url":"/services/data/v60.0/sobjects/Account/{seeded1}","referenceId":"delSeeded"},
				{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"bad","body":{"FirstName":"No last name","AccountId":"@{acc.id}"}},
				{"method":"POST","url":"/services/data/v60.0/sobjects/Lead","referenceId":"after","body":{"LastName":"L","Company":"C"}}`,
			want:   []string{"acc:400", "upd:400", "updSeeded:400", "delSeeded:400", "bad:400", "after:400"},
			failed: 4, code: "REQUIRED_FIELD_MISSING",
		},
		{
			name: "a reference that does not resolve",
			requests: `
				{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"acc","body":{"Name":"Gone"}},
				{"method":"GET","url":"/services/data/v60.0/sobjects/Account/@{acc.Id}","referenceId":"wrongCase"}`,
			want:   []string{"acc:400", "wrongCase:400"},
			failed: 1, code: "PROCESSING_HALTED",
		},
		{
			name: "a record deleted earlier in the request",
			requests: `
				{"method":"DELETE","url":"/services/data/v60.0/sobjects/Account/{seeded1}","referenceId":"del"},
				{"method":"PATCH","url":"/services/data/v60.0/sobjects/Account/{seeded1}","referenceId":"upd","body":{"Website":"x.example"}}`,
			want:   []string{"del:400", "upd:404"},
			failed: 1, code: "ENTITY_IS_DELETED",
		},
		{
			// The outer allOrNone overrides the collection's own: a failed
			// record fails the request, and the collection keeps its 200.
			name: "an sObject Collections subrequest with a failed record",
			requests: `
				{"method":"POST","url":"/services/data/v60.0/composite/sobjects","referenceId":"collection","body":{"allOrNone":false,"records":[
					{"attributes":{"type":"Account"},"Name":"First"},{"attributes":{"type":"Account"},"Website":"no name"}]}},
				{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"newContact","body":{"LastName":"Smith"}}`,
			want:   []string{"collection:200", "newContact:400"},
			failed: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
			seeded := e.s.IDs("Account")
			before := storeState(e)
			seededBefore, _ := e.s.Get("Account", seeded[0])
			reqs := strings.NewReplacer("{seeded0}", seeded[0], "{seeded1}", seeded[1]).Replace(tt.requests)
			resp, body, a := e.composite(t, "v60.0", `{"allOrNone":true,"compositeRequest":[`+reqs+`]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if got := a.statuses(); !slices.Equal(got, tt.want) {
				t.Fatalf("%v, want %v: %s", got, tt.want, body)
			}
			for i := range a.CompositeResponse {
				code, msg := a.errorOf(t, i)
				switch {
				case i == tt.failed && tt.code != "" && code != tt.code:
					t.Errorf("subrequest %d: %s %q, want %s", i, code, msg, tt.code)
				case i != tt.failed && (code != "PROCESSING_HALTED" || msg != "The transaction was rolled back since another operation in the same transaction failed."):
					t.Errorf("subrequest %d: %s %q, want the roll-back notice", i, code, msg)
				}
			}
			if tt.code == "" {
				// The collection answer: one success (rolled back all the same) and one failure.
				list, _ := a.body(t, tt.failed).([]any)
				if len(list) != 2 || list[0].(map[string]any)["success"] != true || list[1].(map[string]any)["success"] != false {
					t.Errorf("collection answer %s", a.CompositeResponse[tt.failed].Body)
				}
			}
			if after := storeState(e); after != before {
				t.Errorf("the store changed:\n before %s\n after  %s", before, after)
			}
			if got, _ := e.s.Get("Account", seeded[0]); fmt.Sprint(got) != fmt.Sprint(seededBefore) {
				t.Errorf("seeded account changed: %v -> %v", seededBefore, got)
			}
			if got, _ := e.s.Get("Account", seeded[1]); got["IsDeleted"] != false {
				t.Errorf("seeded account deleted: %v", got)
			}
		})
	}
}

func TestCompositeAllOrNoneCommits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	seeded := e.s.IDs("Account")
	_, body, a := e.composite(t, "v60.0", `{"allOrNone":true,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"acc","body":{"Name":"Committed"}},
		{"method":"POST","url":"/services/data/v60.0/composite/sobjects","referenceId":"contacts","body":{"records":[
			{"attributes":{"type":"Contact"},"LastName":"One","AccountId":"@{acc.id}"},
			{"attributes":{"type":"Contact"},"LastName":"Two","AccountId":"@{acc.id}"}]}},
		{"method":"PATCH","url":"/services/data/v60.0/sobjects/Contact/@{contacts[1].id}","referenceId":"upd","body":{"Title":"Boss"}},
		{"method":"DELETE","url":"/services/data/v60.0/sobjects/Account/`+seeded[2]+`","referenceId":"del"},
		{"method":"GET","url":"/services/data/v60.0/query?q=SELECT+Id,+Title+FROM+Contact+WHERE+AccountId+%3D+'@{acc.id}'","referenceId":"q"}
	]}`)
	want := []string{"acc:201", "contacts:200", "upd:204", "del:204", "q:200"}
	if got := a.statuses(); !slices.Equal(got, want) {
		t.Fatalf("%v, want %v: %s", got, want, body)
	}
	account := a.id(t, 0)
	if strings.Contains(account[3:], "X") {
		t.Errorf("the answer carries a provisional id: %s", account)
	}
	if rec, ok := e.s.Get("Account", account); !ok || rec["Name"] != "Committed" {
		t.Errorf("account %v", rec)
	}
	list, _ := a.body(t, 1).([]any)
	second, _ := list[1].(map[string]any)["id"].(string)
	if rec, ok := e.s.Get("Contact", second); !ok || rec["Title"] != "Boss" || rec["AccountId"] != account {
		t.Errorf("contact %v", rec)
	}
	if rec, _ := e.s.Get("Account", seeded[2]); rec["IsDeleted"] != true {
		t.Errorf("seeded account not deleted: %v", rec)
	}
	// The query, run for real, sees the request's own writes.
	q, _ := a.body(t, 4).(map[string]any)
	if q["totalSize"] != 2.0 {
		t.Errorf("query %v", q)
	}
}

func TestCompositeRefusals(t *testing.T) {
	t.Parallel()
	sub := func(i int, method, url string) string {
		return fmt.Sprintf(`{"method":%q,"url":%q,"referenceId":"r%d"}`, method, url, i)
	}
	many := func(n int, url string) string {
		var parts []string
		for i := range n {
			parts = append(parts, sub(i, "GET", url))
		}
		return `{"compositeRequest":[` + strings.Join(parts, ",") + `]}`
	}
	const rec = "/services/data/v60.0/sobjects/Account/describe"
	const query = "/services/data/v60.0/query?q=SELECT+Id+FROM+Account"
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"25 subrequests", many(25, rec), 200, ""},
		{"26 subrequests", many(26, rec), 400, "LIMIT_EXCEEDED"},
		{"5 queries", many(5, query), 200, ""},
		{"6 queries", many(6, query), 400, "LIMIT_EXCEEDED"},
		{"not JSON", `{"compositeRequest":`, 400, "JSON_PARSER_ERROR"},
		{"no subrequests", `{"compositeRequest":[]}`, 400, "JSON_PARSER_ERROR"},
		{"no referenceId", `{"compositeRequest":[{"method":"GET","url":"` + rec + `"}]}`, 400, "JSON_PARSER_ERROR"},
		{"no url", `{"compositeRequest":[{"method":"GET","referenceId":"a"}]}`, 400, "JSON_PARSER_ERROR"},
		{"lower-case method", `{"compositeRequest":[` + sub(0, "get", rec) + `]}`, 400, "JSON_PARSER_ERROR"},
		{"illegal referenceId", `{"compositeRequest":[{"method":"GET","url":"` + rec + `","referenceId":"ref[1]"}]}`, 400, "JSON_PARSER_ERROR"},
		{"duplicate referenceId", `{"compositeRequest":[` + sub(0, "GET", rec) + `,` + sub(0, "GET", rec) + `]}`, 400, "JSON_PARSER_ERROR"},
		{"url outside the API", `{"compositeRequest":[` + sub(0, "GET", "/sobjects/Account") + `]}`, 400, "JSON_PARSER_ERROR"},
		{"Authorization header", `{"compositeRequest":[{"method":"GET","url":"` + rec + `","referenceId":"a","httpHeaders":{"Authorization":"Bearer x"}}]}`, 400, "INVALID_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{Options: fakekit.Options{Records: 3}})
			resp, body, a := e.composite(t, "v60.0", tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if tt.status != 200 {
				if code := errorCode(body); code != tt.code {
					t.Errorf("errorCode %q, want %q: %s", code, tt.code, body)
				}
				return
			}
			for i, r := range a.CompositeResponse {
				if r.HTTPStatusCode != 200 {
					t.Errorf("subrequest %d: %d %s", i, r.HTTPStatusCode, r.Body)
				}
			}
		})
	}
}

// A composite request is one API request whatever it holds: 25
// subrequests fit in an allocation of 2.
func TestCompositeCountsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 3, Limits: fakekit.Limits{Daily: 2}}})
	var parts []string
	for i := range 25 {
		parts = append(parts, fmt.Sprintf(`{"method":"GET","url":"/services/data/v60.0/sobjects/Account/%s","referenceId":"r%d"}`, e.s.IDs("Account")[i%3], i))
	}
	body := `{"compositeRequest":[` + strings.Join(parts, ",") + `]}`
	for i, want := range []string{"api-usage=1/2", "api-usage=2/2"} {
		resp, b, a := e.composite(t, "v60.0", body)
		if resp.StatusCode != 200 || resp.Header.Get("Sforce-Limit-Info") != want || len(a.CompositeResponse) != 25 {
			t.Fatalf("call %d: %d %q %.200s", i+1, resp.StatusCode, resp.Header.Get("Sforce-Limit-Info"), b)
		}
	}
	if resp, b, _ := e.composite(t, "v60.0", body); resp.StatusCode != 403 || errorCode(b) != "REQUEST_LIMIT_EXCEEDED" {
		t.Errorf("call 3: %d %s", resp.StatusCode, b)
	}
	e.token = "expired"
	if resp, b, _ := e.composite(t, "v60.0", body); resp.StatusCode != 401 || errorCode(b) != "INVALID_SESSION_ID" {
		t.Errorf("bad token: %d %s", resp.StatusCode, b)
	}
}

// Rolled-back composite requests running alongside ordinary writes leave
// only the ordinary writes behind.
func TestCompositeAllOrNoneConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	const workers, rounds = 4, 10
	failing := `{"allOrNone":true,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"a","body":{"Name":"Never"}},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"c","body":{"AccountId":"@{a.id}"}}]}`
	done := make(chan error, 2*workers)
	for w := range workers {
		go func() {
			for range rounds {
				status, body, err := e.send(http.MethodPost, "/services/data/v60.0/composite", failing)
				var a compositeAnswer
				if err == nil {
					err = json.Unmarshal(body, &a)
				}
				if err != nil || status != 200 || len(a.CompositeResponse) != 2 || a.CompositeResponse[0].HTTPStatusCode != 400 {
					done <- fmt.Errorf("composite: %v %d %s", err, status, body)
					return
				}
			}
			done <- nil
		}()
		go func() {
			for i := range rounds {
				status, body, err := e.send(http.MethodPost, "/services/data/v60.0/sobjects/Account", fmt.Sprintf(`{"Name":"Kept %d-%d"}`, w, i))
				if err != nil || status != 201 {
					done <- fmt.Errorf("create: %v %d %s", err, status, body)
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 * workers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	st := e.s.Kit().Store
	if live, writes := st.Live("Account"), st.LogLen("Account"); live != 5+workers*rounds || writes != workers*rounds {
		t.Errorf("accounts: %d live, %d writes; want %d and %d", live, writes, 5+workers*rounds, workers*rounds)
	}
	if writes := st.LogLen("Contact"); writes != 0 {
		t.Errorf("%d contact writes, want 0", writes)
	}
}

// send is do for goroutines other than the test's: it returns errors.
func (e *env) send(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// In an allOrNone request's trial run a query sees the request's own
// writes, as a Salesforce transaction does.
func TestCompositeAllOrNoneQuerySeesOwnWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Options: fakekit.Options{Records: 5}})
	seeded := e.s.IDs("Account")
	_, body, a := e.composite(t, "v60.0", `{"allOrNone":true,"compositeRequest":[
		{"method":"POST","url":"/services/data/v60.0/sobjects/Account","referenceId":"acc","body":{"Name":"Trial Co"}},
		{"method":"PATCH","url":"/services/data/v60.0/sobjects/Account/`+seeded[0]+`","referenceId":"rename","body":{"Name":"Trial Co"}},
		{"method":"DELETE","url":"/services/data/v60.0/sobjects/Account/`+seeded[1]+`","referenceId":"del"},
		{"method":"GET","url":"/services/data/v60.0/query?q=SELECT Id, Name FROM Account WHERE Name = 'Trial Co'","referenceId":"q"},
		{"method":"GET","url":"/services/data/v60.0/query?q=SELECT Id FROM Account","referenceId":"all"},
		{"method":"POST","url":"/services/data/v60.0/sobjects/Contact","referenceId":"c","body":{"LastName":"Count @{q.totalSize}","AccountId":"@{q.records[0].Id}"}}
	]}`)
	want := []string{"acc:201", "rename:204", "del:204", "q:200", "all:200", "c:201"}
	if got := a.statuses(); !slices.Equal(got, want) {
		t.Fatalf("%v, want %v: %s", got, want, body)
	}
	q, _ := a.body(t, 3).(map[string]any)
	all, _ := a.body(t, 4).(map[string]any)
	if q["totalSize"] != 2.0 || all["totalSize"] != 5.0 {
		t.Errorf("queries: %v / %v", q, all["totalSize"])
	}
	contact, _ := e.s.Get("Contact", a.id(t, 5))
	if contact["AccountId"] != a.id(t, 0) || contact["LastName"] != "Count 2" {
		t.Errorf("contact %v, account %s", contact, a.id(t, 0))
	}
}
