package jsonw

import (
	"encoding/json"
	"testing"
)

func TestAppendStringRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nbreak\r\ttab", "\x00\x01\x1f", "café ☕ 日本", "<a href=\"x\">&</a>"} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("AppendString(%q) = %s, decodes to %q (%v)", s, b, got, err)
		}
	}
	if got := string(AppendString([]byte("x="), "<&>")); got != `x="<&>"` {
		t.Errorf("HTML characters escaped: %s", got)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("seed \" \\ \n")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(AppendString(nil, s), &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		if got != s && isValidUTF8(s) {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}

func isValidUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}

func TestPeekString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, key string
		last           bool
		want           string
		ok             bool
	}{
		{"first", `{"done":false,"nextRecordsUrl":"/q/01g-2000","records":[{"nextRecordsUrl":"x"}]}`, "nextRecordsUrl", false, "/q/01g-2000", true},
		{"last", `{"value":[{"@odata.nextLink":"inner"}],"@odata.nextLink" : "https://x/a?$skiptoken=1"}`, "@odata.nextLink", true, "https://x/a?$skiptoken=1", true},
		{"escaped", `{"k":"a\"b\\c\/d\u0026e"}`, "k", false, `a"b\c/d&e`, true},
		{"null", `{"nextRecordsUrl":null}`, "nextRecordsUrl", false, "", false},
		{"absent", `{"done":true}`, "nextRecordsUrl", false, "", false},
		{"truncated", `{"k":"abc`, "k", false, "", false},
		{"key inside a string value", `{"v":"\"k\":\"no\""}`, "k", false, "", false},
	} {
		got, ok := PeekString([]byte(tc.doc), tc.key, tc.last)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: PeekString = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
