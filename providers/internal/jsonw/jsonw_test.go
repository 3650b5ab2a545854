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
