package receiver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ampforge/amp/runtime/delivery"
)

func TestCounterCountsEachMessageOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		status     int
		records    int64
	}{
		{"resultInfo last, as amp writes it",
			`{"action":"read","result":[{"id":"1"},{"id":"2"}],"resultInfo":{"type":"inline","numRecords":2}}`, http.StatusNoContent, 2},
		{"resultInfo first",
			`{"resultInfo":{"type":"inline","numRecords":3},"result":[{"id":"1"},{"id":"2"},{"id":"3"}]}`, http.StatusNoContent, 3},
		{"a record field named resultInfo, before the real one",
			`{"result":[{"fields":{"resultInfo":{"numRecords":99}}}],"resultInfo":{"numRecords":1}}` + "\n", http.StatusNoContent, 1},
		{"a record field named resultInfo, after the real one",
			`{"resultInfo":{"numRecords":1},"result":[{"fields":{"resultInfo":{"numRecords":99}}}]}`, http.StatusNoContent, 1},
		{"not JSON", `{"resultInfo":`, http.StatusBadRequest, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := NewCounter()
			for range 2 { // the same webhook-id twice counts once
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
				req.Header.Set(delivery.HeaderID, "msg_1")
				rec := httptest.NewRecorder()
				c.ServeHTTP(rec, req)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d", rec.Code, tc.status)
				}
			}
			if c.Records() != tc.records {
				t.Errorf("counted %d records, want %d", c.Records(), tc.records)
			}
		})
	}
}
