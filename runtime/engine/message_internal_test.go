package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime/mapping"
)

// TestSplitterKeepsMessagesUnderTheLimit packs entries of several sizes and
// checks every message is valid JSON under the limit, counts its records
// right, and that together they hold every entry once, in order.
func TestSplitterKeepsMessagesUnderTheLimit(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1_000, 5_000, 300_000} {
		h := &messageHeader{Action: "read", ProjectID: "p", ObjectName: "account", OperationID: "op"}
		sp, err := newSplitter(h, max)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 500 {
			id := strings.Repeat("x", i%97) + "-" + string(rune('a'+i%26))
			b, _ := json.Marshal(map[string]any{"id": id, "i": i})
			sp.add(b)
			want = append(want, id)
		}
		msgs := sp.messages("p", "d", "op", 1)
		var got []string
		for k, m := range msgs {
			if len(m.Body) > max {
				t.Errorf("max %d: message %d is %d bytes", max, k, len(m.Body))
			}
			var body struct {
				ResultInfo struct{ NumRecords int } `json:"resultInfo"`
				Result     []struct{ ID string }    `json:"result"`
				Action     string                   `json:"action"`
			}
			if err := json.Unmarshal(m.Body, &body); err != nil {
				t.Fatalf("max %d: message %d is not JSON: %v", max, k, err)
			}
			if body.ResultInfo.NumRecords != len(body.Result) || body.Action != "read" {
				t.Errorf("max %d: message %d says %d records, has %d", max, k, body.ResultInfo.NumRecords, len(body.Result))
			}
			if m.ID != messageID("op", 1, k) {
				t.Errorf("message %d has id %s", k, m.ID)
			}
			for _, r := range body.Result {
				got = append(got, r.ID)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("max %d: entries differ after splitting", max)
		}
	}
}

// TestMessageIDsAreStable checks a page's ids depend only on the operation,
// the page and the part: a page read again after a crash gets the same ids.
func TestMessageIDsAreStable(t *testing.T) {
	t.Parallel()
	if messageID("op", 3, 0) != messageID("op", 3, 0) {
		t.Fatal("the same page part got two ids")
	}
	seen := map[string]bool{}
	for _, op := range []string{"a", "b"} {
		for page := range 50 {
			for part := range 5 {
				id := messageID(op, page, part)
				if seen[id] {
					t.Fatalf("id %s repeated", id)
				}
				seen[id] = true
			}
		}
	}
}

// TestPacerFollowsTheWindow feeds a HubSpot-like reading (100 requests per
// 10 s) and checks the pacer spaces requests at the safety share of it, and
// that a daily allocation stops reads at its share.
func TestPacerFollowsTheWindow(t *testing.T) {
	t.Parallel()
	p := newPacer(0.9, 0.5)
	p.observe(providers.Quota{Used: 1, Limit: 100, Window: 10 * time.Second, Source: "X-HubSpot-RateLimit"})
	if got, want := float64(p.limiter.Limit()), 9.0; got < want-0.01 || got > want+0.01 {
		t.Errorf("rate %.2f/s, want %.2f/s", got, want)
	}
	if r := p.overBudget(); r != "" {
		t.Errorf("over budget with no daily reading: %s", r)
	}
	p.observe(providers.Quota{Used: 49, Limit: 100, Window: 24 * time.Hour, Source: "Sforce-Limit-Info"})
	if r := p.overBudget(); r != "" {
		t.Errorf("over budget at 49 of 100 with a 50%% share: %s", r)
	}
	p.observe(providers.Quota{Used: 50, Limit: 100, Window: 24 * time.Hour, Source: "Sforce-Limit-Info"})
	if r := p.overBudget(); !strings.Contains(r, "50 of its daily allocation of 100") {
		t.Errorf("at 50 of 100 with a 50%% share: %q", r)
	}
}

// TestIsEcho checks a record counts as the runtime's own write only while
// every written field still has the written value.
func TestIsEcho(t *testing.T) {
	t.Parallel()
	rec := &providers.Record{ID: "1", Fields: map[string]any{"name": "Acme", "numberofemployees": "120", "active": true, "notes": nil}}
	for _, tc := range []struct {
		fingerprint string
		want        bool
	}{
		{`{"name":"Acme"}`, true},
		{`{"Name":"Acme","numberofemployees":120}`, true},
		{`{"active":true,"notes":""}`, true},
		{`{"name":"Acme Ltd"}`, false},
		{`{"industry":"Retail"}`, false},
		{`{}`, false},
		{`not json`, false},
	} {
		if got := isEcho(tc.fingerprint, rec); got != tc.want {
			t.Errorf("isEcho(%s) = %v, want %v", tc.fingerprint, got, tc.want)
		}
	}
}

func TestRecentSetRoundTrips(t *testing.T) {
	t.Parallel()
	for _, set := range []recentSet{
		{},
		{"001A": 1, "001B": 1_700_000_000_000},
		{`quote"d`: 5, "back\\slash": 6, "ctl\x01": 7, "café": 8, "<&>": 9},
	} {
		cp := checkpoint{Recent: set, Pages: 3, Cursor: "next", MaxModified: time.UnixMilli(1_700_000_000_000).UTC(), RecentFloor: 4}
		for _, enc := range []func() ([]byte, error){cp.encode, func() ([]byte, error) { return json.Marshal(&cp) }} {
			b, err := enc()
			if err != nil {
				t.Fatal(err)
			}
			var got checkpoint
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if !maps.Equal(got.Recent, set) || got.Pages != 3 || got.Cursor != "next" || !got.MaxModified.Equal(cp.MaxModified) || got.RecentFloor != 4 {
				t.Errorf("%s decodes to %+v, want %+v", b, got, cp)
			}
		}
	}
}

// BenchmarkCheckpointRecent encodes a checkpoint holding the engine's
// default cap of records near the watermark, as every commit after a mass
// update does.
func BenchmarkCheckpointRecent(b *testing.B) {
	cp := checkpoint{Recent: recentSet{}}
	for i := range DefaultMaxRecentWindow {
		cp.Recent[fmt.Sprintf("0015g00000%08d", i)] = 1_700_000_000_000 + int64(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cp.encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendEntryIsJSONMarshal: appendEntry writes what json.Marshal writes
// for every shape of entry whose Raw is compact and has nothing to
// HTML-escape, and the same JSON value otherwise (Raw as given).
func TestAppendEntryIsJSONMarshal(t *testing.T) {
	t.Parallel()
	for _, e := range []mapping.Entry{
		{ID: "001", Fields: map[string]any{"id": "001", "name": "Acme <&> \"quoted\"", "n": 1.5, "ok": true, "none": nil}},
		{ID: "002", Fields: map[string]any{"id": "002"}, MappedFields: map[string]any{"country": "FR", "nested": map[string]any{"a": []any{1.0, "x"}}},
			Raw: json.RawMessage(`{"Id":"002","BillingCountry":"FR"}`)},
		{ID: "003", Fields: map[string]any{"id": "003"}, MappedFields: map[string]any{}, Raw: json.RawMessage(`{"Id":"003"}`), Deleted: true},
		{ID: "ünïcode\u2028", Fields: nil},
		{ID: `a<b>&"c`, Fields: map[string]any{"id": `a<b>&"c`}},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEntry([]byte("prefix"), &e)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("appendEntry = %s\nwant           %s", got[len("prefix"):], want)
		}
	}
	e := mapping.Entry{ID: "004", Fields: map[string]any{"id": "004"}, Raw: json.RawMessage("{\n  \"Id\": \"004\", \"Note\": \"<b>&\u2028\"\n}")}
	got, err := appendEntry(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(e)
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil || !reflect.DeepEqual(g, w) {
		t.Errorf("appendEntry with an indented, escapable Raw = %s; want the value of %s", got, want)
	}
}
