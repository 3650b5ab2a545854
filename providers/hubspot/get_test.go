package hubspot_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
	"github.com/ampforge/amp/providers/providertest"
)

// countCalls returns an OnQuota that counts the fake's answers to data
// requests (each carries the burst window's headers).
func countCalls(n *atomic.Int64) func(providers.Quota) {
	return func(q providers.Quota) {
		if q.Source == "X-HubSpot-RateLimit" {
			n.Add(1)
		}
	}
}

func TestGetRecords(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	s := newSetup(t, noSearchLimit(30), countCalls(&calls))
	ids := s.fake.IDs("contacts")
	s.fake.Delete("contacts", ids[5]) // archived
	for _, tc := range []struct {
		name   string
		ids    []string
		fields []string
		want   []string
		calls  int64
	}{
		{"found", []string{ids[0], ids[3], ids[7]}, []string{"firstname", "email"}, []string{ids[0], ids[3], ids[7]}, 1},
		{"missing", []string{"999999", ids[5]}, []string{"email"}, nil, 1},
		{"mixed", []string{ids[1], "999999", ids[5], "not-an-id", "", ids[2]}, []string{"email"}, []string{ids[1], ids[2]}, 1},
		{"repeated", []string{ids[4], ids[4]}, []string{"lastname"}, []string{ids[4]}, 1},
		{"default fields", []string{ids[6]}, nil, []string{ids[6]}, 1},
		{"fields in any case", []string{ids[8]}, []string{"FirstName", "EMAIL", fake.CustomProperty}, []string{ids[8]}, 1},
		{"unknown property", []string{ids[9]}, []string{"email", "no_such_property"}, []string{ids[9]}, 1},
		{"nothing to ask", []string{"x", "0"}, []string{"email"}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			got, err := s.conn.GetRecords(t.Context(), "contacts", tc.ids, tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			if n := calls.Load() - before; n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
			providertest.CheckGetRecords(t, got, tc.want, s.conn, "contacts", tc.fields)
		})
	}
}

func TestGetRecordsRefusals(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	s := newSetup(t, noSearchLimit(5), countCalls(&calls))
	id := s.fake.IDs("contacts")[0]
	tooMany := make([]string, s.conn.MaxGetBatch()+1)
	for i := range tooMany {
		tooMany[i] = id
	}
	for _, tc := range []struct {
		name, object string
		ids          []string
		kind         providers.ErrorKind
		calls        int64
	}{
		{"too many ids", "contacts", tooMany, providers.KindInvalid, 0},
		{"no object", "", []string{id}, providers.KindInvalid, 0},
		{"unknown object", "butterflies", []string{id}, providers.KindNotFound, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			_, err := s.conn.GetRecords(t.Context(), tc.object, tc.ids, nil)
			if k := providers.KindOf(err); err == nil || k != tc.kind {
				t.Errorf("err %v (kind %s), want kind %s", err, k, tc.kind)
			}
			if n := calls.Load() - before; n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
		})
	}
}

// TestGetRecordsRefreshes: an expired token is refreshed once and the call
// retried, as for reads.
func TestGetRecordsRefreshes(t *testing.T) {
	t.Parallel()
	s := newSetup(t, noSearchLimit(5), nil)
	ids := s.fake.IDs("contacts")[:2]
	s.fake.ExpireTokens()
	got, err := s.conn.GetRecords(t.Context(), "contacts", ids, []string{"email"})
	if err != nil {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	if !slices.Equal(providertest.SortedIDs(got), slices.Sorted(slices.Values(ids))) {
		t.Errorf("records %v, want %v", recordIDs(got), ids)
	}
}

// TestGetRecordsAnswers covers answers the fake does not give: a whole
// batch HubSpot cannot find (404) and a per-input error other than not
// found.
func TestGetRecordsAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		records int
		kind    providers.ErrorKind
	}{
		{"all missing as 404", http.StatusNotFound,
			`{"status":"error","message":"Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.","category":"OBJECT_NOT_FOUND","context":{"ids":["1","2"]}}`, 0, providers.KindUnknown},
		{"some missing", http.StatusMultiStatus,
			`{"status":"COMPLETE","results":[{"id":"1","properties":{"hs_object_id":"1","lastmodifieddate":"2024-01-02T03:04:05.000Z"},"createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-02T03:04:05.000Z","archived":false}],"numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","message":"Could not get some CONTACT objects","context":{"ids":["2"]}}]}`, 1, providers.KindUnknown},
		{"other per-input error", http.StatusMultiStatus,
			`{"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error","category":"MISSING_SCOPES","message":"This app hasn't been granted all required scopes"}]}`, 0, providers.KindForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/crm/v3/objects/contacts/batch/read" {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			c, err := hubspot.New(providers.Config{HTTPClient: srv.Client(), BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.GetRecords(t.Context(), "contacts", []string{"1", "2"}, nil)
			switch {
			case tc.kind != providers.KindUnknown:
				if providers.KindOf(err) != tc.kind {
					t.Errorf("err %v, want kind %s", err, tc.kind)
				}
			case err != nil || len(got) != tc.records:
				t.Errorf("%d records, %v; want %d", len(got), err, tc.records)
			}
		})
	}
}
