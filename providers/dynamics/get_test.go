package dynamics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/providertest"
)

// counting counts the requests that reach the transport it wraps.
type counting struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// countRequests makes f's client count its data requests.
func countRequests(f *fixture) *counting {
	hc := *f.client.http
	c := &counting{next: hc.Transport}
	if c.next == nil {
		c.next = http.DefaultTransport
	}
	hc.Transport = c
	f.client.http = &hc
	return c
}

func TestGetRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 30}})
	calls := countRequests(f)
	ids := f.srv.IDs("accounts")
	f.srv.Delete("accounts", ids[5])
	unknown := "5eed0d75-00ff-4000-a000-0000000003e7"
	for _, tc := range []struct {
		name   string
		ids    []string
		fields []string
		want   []string
		calls  int64
	}{
		{"found", []string{ids[0], ids[3], ids[7]}, []string{"name", "telephone1"}, []string{ids[0], ids[3], ids[7]}, 1},
		{"missing", []string{unknown, ids[5]}, []string{"name"}, nil, 1},
		{"mixed", []string{ids[1], unknown, ids[5], "not-a-guid", "", ids[2]}, []string{"name"}, []string{ids[1], ids[2]}, 1},
		{"braces and case", []string{"{" + strings.ToUpper(ids[4]) + "}", ids[4]}, []string{"name"}, []string{ids[4]}, 1},
		{"default fields", []string{ids[6]}, nil, []string{ids[6]}, 1},
		{"fields in any case", []string{ids[8]}, []string{"Name", "EMAILADDRESS1", "new_tier"}, []string{ids[8]}, 1},
		{"nothing to ask", []string{"x", "{not-a-guid}"}, []string{"name"}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.n.Load()
			got, err := f.client.GetRecords(t.Context(), "accounts", tc.ids, tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			if n := calls.n.Load() - before; n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
			providertest.CheckGetRecords(t, got, tc.want, f.client, "accounts", tc.fields)
		})
	}
}

func TestGetRecordsRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 5}})
	calls := countRequests(f)
	id := f.srv.IDs("accounts")[0]
	tooMany := make([]string, f.client.MaxGetBatch()+1)
	for i := range tooMany {
		tooMany[i] = id
	}
	for _, tc := range []struct {
		name, object string
		ids, fields  []string
		kind         providers.ErrorKind
		calls        bool
	}{
		{"too many ids", "accounts", tooMany, nil, providers.KindInvalid, false},
		{"no object", "", []string{id}, nil, providers.KindInvalid, false},
		{"unknown table", "widgets", []string{id}, nil, providers.KindNotFound, true},
		{"unknown column", "accounts", []string{id}, []string{"name", "nosuchcolumn"}, providers.KindInvalid, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.n.Load()
			_, err := f.client.GetRecords(t.Context(), tc.object, tc.ids, tc.fields)
			if k := providers.KindOf(err); err == nil || k != tc.kind {
				t.Errorf("err %v (kind %s), want kind %s", err, k, tc.kind)
			}
			if called := calls.n.Load() > before; called != tc.calls {
				t.Errorf("called the API: %v, want %v", called, tc.calls)
			}
		})
	}
	// The largest batch allowed is one request.
	before := calls.n.Load()
	got, err := f.client.GetRecords(t.Context(), "accounts", tooMany[1:], []string{"name"})
	if err != nil || len(got) != 1 || calls.n.Load()-before != 1 {
		t.Errorf("%d ids: %d records, %v, %d requests", len(tooMany)-1, len(got), err, calls.n.Load()-before)
	}
}

// TestGetRecordsRefreshes: an expired token is refreshed once and the
// query retried, as for reads.
func TestGetRecordsRefreshes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 5}})
	ids := f.srv.IDs("accounts")[:2]
	f.srv.ExpireTokens()
	got, err := f.client.GetRecords(t.Context(), "accounts", ids, []string{"name"})
	if err != nil {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	if !slices.Equal(providertest.SortedIDs(got), slices.Sorted(slices.Values(ids))) {
		t.Errorf("records %v, want %v", providertest.SortedIDs(got), ids)
	}
}

// TestGetRecordsSplitsLongURLs: with an organisation URL so long that 100
// ids do not fit in MaxURLLength, the ids are asked in several queries,
// each under the limit, each id once, in the or-chain form.
func TestGetRecordsSplitsLongURLs(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		asked []string
		uris  []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for clause := range strings.SplitSeq(q.Get("$filter"), " or ") {
			id, ok := strings.CutPrefix(clause, "accountid eq ")
			if !ok {
				t.Errorf("filter clause %q", clause)
			}
			asked = append(asked, id)
		}
		if sel := q.Get("$select"); sel != "name,accountid,modifiedon" {
			t.Errorf("$select=%s", sel)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(providers.Config{HTTPClient: srv.Client(), BaseURL: srv.URL + "/" + strings.Repeat("o", 28000)})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, MaxGetIDs)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	if _, err := c.GetRecords(t.Context(), "accounts", ids, []string{"name"}); err != nil {
		t.Fatal(err)
	}
	if len(uris) < 2 {
		t.Errorf("%d requests, want the ids split", len(uris))
	}
	for _, u := range uris {
		if n := len(srv.URL) + len(u); n > MaxURLLength {
			t.Errorf("a URL of %d characters", n)
		}
	}
	slices.Sort(asked)
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(asked, want) {
		t.Errorf("asked %d ids, want each of %d once", len(asked), len(want))
	}
}
