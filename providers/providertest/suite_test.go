package providertest

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
)

// The suite is tested against a small in-memory "provider": memFake holds
// the records, memConn is a connector over it. memConn's bug field turns on
// one deliberate mistake, and each check must catch the mistakes it is
// about while passing the correct connector.

type memRec struct {
	id      string
	fields  map[string]any // provider spelling: Name, Email, Amount, Score__c
	mod     time.Time
	deleted bool
}

type memFake struct {
	mu       sync.Mutex
	now      time.Time
	recs     []*memRec // one object, Contact
	tokenGen int
	throttle int
	retry    time.Duration
	nextID   int
}

func newMemFake(n int) *memFake {
	f := &memFake{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range n {
		f.recs = append(f.recs, &memRec{
			id:     fmt.Sprintf("c%03d", i),
			fields: map[string]any{"Name": fmt.Sprintf("Contact %d", i), "Email": fmt.Sprintf("c%d@example.com", i), "Amount": float64(i), "Score__c": float64(i % 5)},
			mod:    f.now.Add(-time.Duration(n-i) * time.Hour),
		})
	}
	return f
}

func (f *memFake) find(id string) *memRec {
	for _, r := range f.recs {
		if r.id == id {
			return r
		}
	}
	return nil
}

func (f *memFake) IDs(object string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range f.recs {
		if !r.deleted {
			ids = append(ids, r.id)
		}
	}
	return ids
}

func (f *memFake) Touch(object, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.find(id)
	r.fields["Email"] = "touched-" + id + "@example.com"
	r.mod = f.now
	f.now = f.now.Add(time.Second)
}

func (f *memFake) Delete(object, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.find(id)
	r.deleted, r.mod = true, f.now
	f.now = f.now.Add(time.Second)
}

func (f *memFake) Get(object, id string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.find(id)
	if r == nil || r.deleted {
		return nil, false
	}
	return maps.Clone(r.fields), true
}

func (f *memFake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *memFake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *memFake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenGen++
}

func (f *memFake) Throttle(n int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.retry = n, retryAfter
}

// memConn is the connector. Its bugs:
//
//	repeat           each page after the first starts one record early
//	dropLast         claims Done one page early
//	cursorLoop       always returns the first page's cursor
//	upperKeys        Fields keys keep the provider's case
//	ignoreSince      ignores ReadRequest.Since
//	untilExclusive   treats Until as exclusive
//	ignoreDeleted    returns deleted records even without IncludeDeleted
//	noRefresh        fails once the fake expires its token
//	wrongKind        throttling surfaces as KindRetryable
//	noRetryAfter     throttling carries no RetryAfter
//	noReason         failed writes carry no RecordError
//	swapResults      successful create results swapped between inputs
//	allOrNoneIgnored AllOrNone=true still writes the valid records
//	updateNoop       updates report success but change nothing
//	badType          a field's ValueType is not normalised
//	notFoundInvalid  an unknown object is KindInvalid
//	bulkDup          BulkRead yields the first record twice
//	getDeleted       GetRecords returns deleted records
//	getDup           GetRecords returns an id asked twice twice
//	getStale         GetRecords reports another modified time than Read
//	getNoLimit       GetRecords takes more than MaxGetBatch ids
type memConn struct {
	f     *memFake
	bug   string
	token int
}

func (c *memConn) Provider() string { return "mem" }

// call is every data request's gate: throttling, then the token.
func (c *memConn) call() error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if c.f.throttle > 0 {
		c.f.throttle--
		switch c.bug {
		case "wrongKind":
			return &providers.Error{Kind: providers.KindRetryable, Provider: "mem", Status: 429}
		case "noRetryAfter":
			return &providers.Error{Kind: providers.KindRateLimited, Provider: "mem", Status: 429}
		}
		return &providers.Error{Kind: providers.KindRateLimited, Provider: "mem", Status: 429, RetryAfter: c.f.retry}
	}
	if c.token < c.f.tokenGen {
		if c.bug == "noRefresh" {
			return &providers.Error{Kind: providers.KindAuth, Provider: "mem", Status: 401}
		}
		c.token = c.f.tokenGen // refreshed
	}
	return nil
}

func (c *memConn) record(r *memRec, fields []string) providers.Record {
	out := providers.Record{ID: r.id, ModifiedAt: r.mod, Deleted: r.deleted, Fields: map[string]any{}}
	for _, name := range fields {
		key := strings.ToLower(name)
		if c.bug == "upperKeys" {
			key = name
		}
		v, _ := lookupFold(r.fields, name)
		out.Fields[key] = normalise(v)
	}
	raw := maps.Clone(r.fields)
	raw["Id"] = r.id
	out.Raw, _ = json.Marshal(raw)
	return out
}

func (c *memConn) Read(ctx context.Context, req providers.ReadRequest) (*providers.ReadPage, error) {
	if err := c.call(); err != nil {
		return nil, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var list []*memRec
	for _, r := range c.f.recs {
		if r.deleted && !req.IncludeDeleted && c.bug != "ignoreDeleted" {
			continue
		}
		if !req.Since.IsZero() && !r.mod.After(req.Since) && c.bug != "ignoreSince" {
			continue
		}
		if !req.Until.IsZero() && (r.mod.After(req.Until) || c.bug == "untilExclusive" && r.mod.Equal(req.Until)) {
			continue
		}
		list = append(list, r)
	}
	size := req.PageSize
	if size <= 0 {
		size = 10
	}
	off := 0
	if req.Cursor != "" {
		var err error
		if off, err = strconv.Atoi(req.Cursor); err != nil {
			return nil, &providers.Error{Kind: providers.KindInvalid, Provider: "mem", Message: "bad cursor"}
		}
	}
	start := off
	if c.bug == "repeat" && off > 0 {
		start = off - 1
	}
	end := min(off+size, len(list))
	page := &providers.ReadPage{Total: len(list)}
	for _, r := range list[min(start, end):end] {
		page.Records = append(page.Records, c.record(r, req.Fields))
	}
	page.Done = end >= len(list) || c.bug == "dropLast" && end+size >= len(list)
	if !page.Done {
		page.NextCursor = strconv.Itoa(end)
		if c.bug == "cursorLoop" {
			page.NextCursor = strconv.Itoa(min(size, len(list)))
		}
	}
	return page, nil
}

func (c *memConn) BulkRead(ctx context.Context, req providers.ReadRequest) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		req.PageSize = 7
		for {
			page, err := c.Read(ctx, req)
			if err != nil {
				yield(providers.Record{}, err)
				return
			}
			recs := page.Records
			if c.bug == "bulkDup" && req.Cursor == "" && len(recs) > 0 {
				recs = append([]providers.Record{recs[0]}, recs...)
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
			if page.Done {
				return
			}
			req.Cursor = page.NextCursor
		}
	}
}

func (c *memConn) MaxGetBatch() int { return 50 }

func (c *memConn) GetRecords(ctx context.Context, object string, ids []string, fields []string) ([]providers.Record, error) {
	if len(ids) > c.MaxGetBatch() && c.bug != "getNoLimit" {
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: "mem", Message: "too many ids"}
	}
	if err := c.call(); err != nil {
		return nil, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var out []providers.Record
	seen := map[string]bool{}
	for _, id := range ids {
		r := c.f.find(id)
		if r == nil || r.deleted && c.bug != "getDeleted" || seen[id] && c.bug != "getDup" {
			continue
		}
		seen[id] = true
		rec := c.record(r, fields)
		rec.Deleted = false
		if c.bug == "getStale" {
			rec.ModifiedAt = rec.ModifiedAt.Add(-time.Hour)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (c *memConn) MaxBatch() int { return 200 }

func (c *memConn) SupportsAllOrNone() bool { return true }

func (c *memConn) Write(ctx context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	if err := c.call(); err != nil {
		return nil, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	res := make([]providers.WriteResult, len(req.Records))
	fail := func(code, msg string) providers.WriteResult {
		if c.bug == "noReason" {
			return providers.WriteResult{}
		}
		return providers.WriteResult{Errors: []providers.RecordError{{Code: code, Message: msg, Kind: providers.KindInvalid}}}
	}
	switch req.Op {
	case providers.WriteCreate:
		invalid := make([]bool, len(req.Records))
		for i, w := range req.Records {
			if name, _ := w.Fields["Name"].(string); name == "" {
				res[i] = fail("REQUIRED_FIELD_MISSING", "Name is required")
				invalid[i] = true
			}
		}
		rollback := slices.Contains(invalid, true) && req.AllOrNone && c.bug != "allOrNoneIgnored"
		for i, w := range req.Records {
			if invalid[i] {
				continue
			}
			if rollback {
				res[i] = fail("ALL_OR_NONE_OPERATION_ROLLED_BACK", "rolled back")
				continue
			}
			c.f.nextID++
			r := &memRec{id: fmt.Sprintf("n%03d", c.f.nextID), fields: maps.Clone(w.Fields), mod: c.f.now}
			c.f.now = c.f.now.Add(time.Second)
			c.f.recs = append(c.f.recs, r)
			res[i] = providers.WriteResult{Success: true, ID: r.id, Created: true}
		}
		if c.bug == "swapResults" {
			// Successful results handed to the wrong inputs.
			var ok []int
			for i := range res {
				if res[i].Success {
					ok = append(ok, i)
				}
			}
			if len(ok) >= 2 {
				res[ok[0]], res[ok[len(ok)-1]] = res[ok[len(ok)-1]], res[ok[0]]
			}
		}
	case providers.WriteUpdate, providers.WriteDelete:
		for i, w := range req.Records {
			r := c.f.find(w.ID)
			if r == nil || r.deleted {
				res[i] = fail("NOT_FOUND", "no record "+w.ID)
				continue
			}
			if req.Op == providers.WriteDelete {
				r.deleted = true
			} else if c.bug != "updateNoop" {
				maps.Copy(r.fields, w.Fields)
			}
			r.mod = c.f.now
			c.f.now = c.f.now.Add(time.Second)
			res[i] = providers.WriteResult{Success: true, ID: r.id}
		}
	default:
		return nil, &providers.Error{Kind: providers.KindInvalid, Provider: "mem", Message: "unsupported op " + string(req.Op)}
	}
	return res, nil
}

func (c *memConn) ListObjects(ctx context.Context) ([]providers.ObjectInfo, error) {
	return []providers.ObjectInfo{{Name: "Contact", DisplayName: "Contact"}, {Name: "Widget__c", DisplayName: "Widget", Custom: true}}, nil
}

func (c *memConn) DescribeObject(ctx context.Context, object string) (*providers.ObjectMetadata, error) {
	switch strings.ToLower(object) {
	case "contact":
		amount := "float"
		if c.bug == "badType" {
			amount = "double"
		}
		return &providers.ObjectMetadata{Name: "Contact", Fields: []providers.FieldMetadata{
			{Name: "Id", ValueType: "string", ReadOnly: true},
			{Name: "Name", ValueType: "string", Required: true},
			{Name: "Email", ValueType: "string"},
			{Name: "Amount", ValueType: amount},
			{Name: "Score__c", ValueType: "float", Custom: true},
		}}, nil
	case "widget__c":
		return &providers.ObjectMetadata{Name: "Widget__c", Custom: true, Fields: []providers.FieldMetadata{
			{Name: "Name", ValueType: "string"}, {Name: "Size__c", ValueType: "int", Custom: true},
		}}, nil
	}
	kind := providers.KindNotFound
	if c.bug == "notFoundInvalid" {
		kind = providers.KindInvalid
	}
	return nil, &providers.Error{Kind: kind, Provider: "mem", Status: 404, Code: "NOT_FOUND"}
}

func memHarness(bug string) *Harness {
	f := newMemFake(24)
	return &Harness{
		Connector:    &memConn{f: f, bug: bug},
		Fake:         f,
		Object:       "Contact",
		Count:        24,
		Fields:       []string{"Name", "Email"},
		CustomObject: "Widget__c",
		CustomField:  "Score__c",
		NewRecord: func(i int) map[string]any {
			return map[string]any{"Name": fmt.Sprintf("New %d", i), "Email": fmt.Sprintf("new%d@example.com", i), "Amount": i}
		},
		UpdateField:   "Amount",
		UpdateValue:   func(i int) any { return 1000 + i },
		InvalidRecord: func(i int) map[string]any { return map[string]any{"Email": fmt.Sprintf("bad%d@example.com", i)} },
		PageSizes:     []int{6, 7}, // 6 divides 24, 7 does not
	}
}

func checkByName(t *testing.T, name string) check {
	t.Helper()
	for _, c := range checks {
		if c.name == name {
			return c.fn
		}
	}
	t.Fatalf("no check %q", name)
	return nil
}

// TestRun runs the whole suite, as a provider's test would, on the correct
// connector.
func TestRun(t *testing.T) {
	Run(t, func(t *testing.T) *Harness { return memHarness("") })
}

// TestChecksPass calls every check directly on the correct connector: none
// fails and none skips.
func TestChecksPass(t *testing.T) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(t.Context(), memHarness(""), t.Logf); err != nil {
				t.Fatalf("correct connector failed %s: %v", c.name, err)
			}
		})
	}
}

// TestChecksCatchBugs runs each check on a connector with a mistake it is
// about: it must fail (not skip), and say so in words a reader can act on.
func TestChecksCatchBugs(t *testing.T) {
	for _, tc := range []struct {
		bug, check, want string
	}{
		{"repeat", "Paging", "duplicated"},
		{"repeat", "RefreshMidPaging", "duplicated"},
		{"dropLast", "Paging", "missing"},
		{"dropLast", "BulkRead", "missing"},
		{"cursorLoop", "Paging", "same NextCursor"},
		{"upperKeys", "Paging", "not lower case"},
		{"ignoreSince", "Incremental", "unexpected"},
		{"untilExclusive", "Incremental", "Until is inclusive"},
		{"ignoreDeleted", "Paging", ""}, // passes: nothing deleted yet
		{"ignoreDeleted", "Deletes", "did not set IncludeDeleted"},
		{"noRefresh", "RefreshMidPaging", "auth"},
		{"wrongKind", "RateLimited", "want rate-limited"},
		{"noRetryAfter", "RateLimited", "want > 0"},
		{"noReason", "PartialFailure", "no RecordError"},
		{"swapResults", "PartialFailure", "matched to the wrong inputs"},
		{"allOrNoneIgnored", "AllOrNone", "allOrNone not honoured"},
		{"updateNoop", "WriteRoundTrip", "Amount"},
		{"badType", "Metadata", `"double"`},
		{"notFoundInvalid", "Metadata", "want not-found"},
		{"bulkDup", "BulkRead", "duplicated"},
		{"getDeleted", "GetRecords", "unexpected"},
		{"getDup", "GetRecords", "duplicated"},
		{"getStale", "GetRecords", "ModifiedAt"},
		{"getNoLimit", "GetRecords", "MaxGetBatch+1"},
	} {
		t.Run(tc.bug+"/"+tc.check, func(t *testing.T) {
			err := checkByName(t, tc.check)(t.Context(), memHarness(tc.bug), t.Logf)
			switch {
			case tc.want == "":
				if err != nil {
					t.Fatalf("%s should not notice bug %s: %v", tc.check, tc.bug, err)
				}
			case err == nil:
				t.Fatalf("%s passed a connector with bug %s", tc.check, tc.bug)
			case isSkip(err):
				t.Fatalf("%s skipped a connector with bug %s: %v", tc.check, tc.bug, err)
			case !strings.Contains(err.Error(), tc.want):
				t.Fatalf("%s failed bug %s without mentioning %q: %v", tc.check, tc.bug, tc.want, err)
			default:
				t.Logf("caught: %v", err)
			}
		})
	}
}

// readOnly is a connector with only the Reader capability.
type readOnly struct{ c *memConn }

func (r readOnly) Provider() string { return "mem" }
func (r readOnly) Read(ctx context.Context, req providers.ReadRequest) (*providers.ReadPage, error) {
	return r.c.Read(ctx, req)
}

// noAllOrNone is a Writer that does not declare SupportsAllOrNone.
type noAllOrNone struct{ c *memConn }

func (n noAllOrNone) Provider() string { return "mem" }
func (n noAllOrNone) MaxBatch() int    { return n.c.MaxBatch() }
func (n noAllOrNone) Write(ctx context.Context, req providers.WriteRequest) ([]providers.WriteResult, error) {
	return n.c.Write(ctx, req)
}

// TestSkips: checks of capabilities a connector lacks skip; the others run.
func TestSkips(t *testing.T) {
	h := memHarness("")
	h.Connector = readOnly{h.Connector.(*memConn)}
	for _, name := range []string{"WriteRoundTrip", "PartialFailure", "AllOrNone", "Metadata", "BulkRead", "GetRecords"} {
		if err := checkByName(t, name)(t.Context(), h, t.Logf); !isSkip(err) {
			t.Errorf("%s on a read-only connector: got %v, want a skip", name, err)
		}
	}
	for _, name := range []string{"Paging", "Incremental", "RateLimited"} {
		if err := checkByName(t, name)(t.Context(), memHarness(""), t.Logf); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	h = memHarness("")
	h.Connector = noAllOrNone{h.Connector.(*memConn)}
	if err := checkAllOrNone(t.Context(), h, t.Logf); !isSkip(err) {
		t.Errorf("AllOrNone without SupportsAllOrNone: got %v, want a skip", err)
	}
	if err := checkPartialFailure(t.Context(), h, t.Logf); err != nil {
		t.Errorf("PartialFailure without SupportsAllOrNone: %v", err)
	}
}

// TestSameIDs pins the wording of the id comparison.
func TestSameIDs(t *testing.T) {
	recs := func(ids ...string) []providers.Record {
		var out []providers.Record
		for _, id := range ids {
			out = append(out, providers.Record{ID: id})
		}
		return out
	}
	if err := sameIDs(recs("b", "a"), []string{"a", "b"}); err != nil {
		t.Errorf("same ids in another order: %v", err)
	}
	err := sameIDs(recs("a", "a", "c"), []string{"a", "b"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"a ×2", "1 missing: b", "1 unexpected: c"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	ids := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}
	if got := spread(ids, 5); !slices.Equal(got, []string{"0", "2", "4", "6", "8"}) {
		t.Errorf("spread = %v", got)
	}
}
