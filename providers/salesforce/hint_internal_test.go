package salesforce

import "testing"

func TestNextRecordsHint(t *testing.T) {
	t.Parallel()
	const next = "/services/data/v60.0/query/01gD000000Xyz-2000"
	for _, tc := range []struct {
		name, body, want string
		ok               bool
	}{
		{"a page with more", `{"totalSize":5000,"done":false,"nextRecordsUrl":"` + next + `","records":[{"Id":"001"}]}`, next, true},
		{"the last page", `{"totalSize":1,"done":true,"records":[{"Id":"001"}]}`, "", false},
		{"the last page, a subquery with more inside a record",
			`{"totalSize":1,"done":true,"records":[{"Id":"001","Contacts":{"totalSize":300,"done":false,"nextRecordsUrl":"` + next + `","records":[]}}]}`, "", false},
		{"not a query locator", `{"done":false,"nextRecordsUrl":"https://elsewhere.example/x","records":[]}`, "", false},
	} {
		got, ok := nextRecordsHint([]byte(tc.body))
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("%s: nextRecordsHint = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
