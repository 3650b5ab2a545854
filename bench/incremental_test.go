package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime/delivery"
)

// The touch endpoint changes the first records of the object on the real
// fakes, after bringing the fake's clock (which starts at a fixed date for
// the read scenarios) up to the wall clock, and refuses what it cannot do.
func TestTouch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ fake, object string }{
		{"salesforce", "account"},
		{"hubspot", "contacts"},
	} {
		t.Run(tc.fake, func(t *testing.T) {
			t.Parallel()
			fake := newFake(scenario{Fake: tc.fake, Records: 50}, 0)
			srv := httptest.NewServer(&touchHandler{fake: fake})
			t.Cleanup(srv.Close)
			ctx := context.Background()
			before := time.Now().Truncate(time.Millisecond)
			ids, err := touch(ctx, srv.URL, tc.object, 20)
			if err != nil {
				t.Fatal(err)
			}
			if want := fake.IDs(tc.object)[:20]; !slices.Equal(ids, want) {
				t.Errorf("touched %v, want the first 20 ids %v", ids, want)
			}
			// Every touch ticks the clock by a millisecond after the catch-up.
			if now := fake.Now(); now.Before(before.Add(20 * time.Millisecond)) {
				t.Errorf("the fake's clock is at %s after the touch, want past %s", now, before.Add(20*time.Millisecond))
			}
			for _, bad := range []touchRequest{{tc.object, 51}, {tc.object, 0}, {"nosuch", 1}} {
				if _, err := touch(ctx, srv.URL, bad.Object, bad.Count); err == nil || !strings.Contains(err.Error(), "400") {
					t.Errorf("touch(%+v) = %v, want a 400", bad, err)
				}
			}
		})
	}
}

func TestIDCounter(t *testing.T) {
	t.Parallel()
	type msg struct {
		webhookID string
		ids       []string
	}
	for _, tc := range []struct {
		name    string
		msgs    []msg
		want    []string
		records int64
		err     string // in check's error; empty: none
	}{
		{"each once", []msg{{"m1", []string{"a", "b"}}, {"m2", []string{"c"}}}, []string{"a", "b", "c"}, 3, ""},
		{"a redelivered message counts once", []msg{{"m1", []string{"a", "b"}}, {"m1", []string{"a", "b"}}}, []string{"a", "b"}, 2, ""},
		{"a record in two messages", []msg{{"m1", []string{"a", "b"}}, {"m2", []string{"b"}}}, []string{"a", "b"}, 3, "1 delivered more than once"},
		{"a record missing", []msg{{"m1", []string{"a"}}}, []string{"a", "b"}, 1, "1 of 2 changed records missing"},
		{"a record not changed", []msg{{"m1", []string{"a", "z"}}}, []string{"a"}, 2, "1 delivered unchanged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newIDCounter()
			for _, m := range tc.msgs {
				var entries []string
				for _, id := range m.ids {
					entries = append(entries, fmt.Sprintf(`{"id":%q,"fields":{}}`, id))
				}
				body := fmt.Sprintf(`{"resultInfo":{"type":"inline","numRecords":%d},"result":[%s]}`, len(m.ids), strings.Join(entries, ","))
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				req.Header.Set(delivery.HeaderID, m.webhookID)
				rec := httptest.NewRecorder()
				c.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					t.Fatalf("message %s answered %d", m.webhookID, rec.Code)
				}
			}
			if got := c.Records(); got != tc.records {
				t.Errorf("Records = %d, want %d", got, tc.records)
			}
			err := c.check(tc.want)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("check = %v, want nil", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("check = %v, want %q", err, tc.err)
			}
		})
	}
}
