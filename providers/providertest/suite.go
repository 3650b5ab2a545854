package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
)

// subtestTimeout bounds every subtest; the fakes answer in microseconds, so
// a subtest that needs more than this is stuck (a cursor that never ends).
const subtestTimeout = 30 * time.Second

// Logf receives notes a check wants in the test log without failing it.
type Logf func(format string, args ...any)

// check is one conformance check. It returns nil when the connector passes,
// a skip error (see skipf) when the connector lacks the capability, and any
// other error describing every failure it found.
type check func(ctx context.Context, h *Harness, logf Logf) error

// checks are the suite's subtests, in the order Run starts them.
var checks = []struct {
	name string
	fn   check
}{
	{"Paging", checkPaging},
	{"Incremental", checkIncremental},
	{"Deletes", checkDeletes},
	{"WriteRoundTrip", checkWriteRoundTrip},
	{"PartialFailure", checkPartialFailure},
	{"AllOrNone", checkAllOrNone},
	{"RefreshMidPaging", checkRefreshMidPaging},
	{"RateLimited", checkRateLimited},
	{"Metadata", checkMetadata},
	{"BulkRead", checkBulkRead},
	{"GetRecords", checkGetRecords},
}

// Run runs the conformance suite. Every subtest calls newHarness for a
// connector over a fresh fake and runs in parallel with the others, so
// newHarness must not share mutable state between the harnesses it builds
// (register the fake's teardown with t.Cleanup on the t it is given).
// Subtests whose capability the connector lacks (MetadataReader, Writer,
// BulkReader, RecordGetter, allOrNone) are skipped with the reason.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if err := validHarness(h); err != nil {
				t.Fatalf("bad harness: %v", err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), subtestTimeout)
			defer cancel()
			err := c.fn(ctx, h, t.Logf)
			var skip skipError
			switch {
			case err == nil:
			case errors.As(err, &skip):
				t.Skip(string(skip))
			default:
				t.Errorf("%s %s on %s:\n%v", h.Connector.Provider(), c.name, h.Object, err)
			}
		})
	}
}

// skipError says a check does not apply to the connector.
type skipError string

func (s skipError) Error() string { return "skipped: " + string(s) }

func skipf(format string, args ...any) error { return skipError(fmt.Sprintf(format, args...)) }

// isSkip reports whether err is a check's skip.
func isSkip(err error) bool {
	var s skipError
	return errors.As(err, &s)
}

func validHarness(h *Harness) error {
	switch {
	case h == nil:
		return errors.New("newHarness returned nil")
	case h.Connector == nil:
		return errors.New("Harness.Connector is nil")
	case h.Fake == nil:
		return errors.New("Harness.Fake is nil")
	case h.Object == "":
		return errors.New("Harness.Object is empty")
	case h.Count <= 0:
		return fmt.Errorf("Harness.Count is %d; the object must be seeded", h.Count)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Reads

// checkPaging reads the whole object for every page size in h.PageSizes and
// the provider's default (0): every live id is read exactly once, cursors
// are non-empty until Done, and every record is well formed (see
// checkRecord).
func checkPaging(ctx context.Context, h *Harness, logf Logf) error {
	r, err := reader(h)
	if err != nil {
		return err
	}
	want := h.Fake.IDs(h.Object)
	if len(want) != h.Count {
		return fmt.Errorf("the fake lists %d live %s records, Harness.Count says %d", len(want), h.Object, h.Count)
	}
	sizes := []int{0}
	for _, s := range h.PageSizes {
		if !slices.Contains(sizes, s) {
			sizes = append(sizes, s)
		}
	}
	var errs []error
	for _, size := range sizes {
		req := providers.ReadRequest{Object: h.Object, Fields: h.Fields, PageSize: size}
		recs, pages, err := readAll(ctx, r, req, maxPages(h))
		if err != nil {
			errs = append(errs, fmt.Errorf("page size %d: %w", size, err))
			continue
		}
		if err := sameIDs(recs, want); err != nil {
			errs = append(errs, fmt.Errorf("page size %d (%d pages): %w", size, pages, err))
			continue
		}
		logf("page size %d: %d records in %d pages", size, len(recs), pages)
	}
	return errors.Join(errs...)
}

// checkIncremental touches five records in two groups and reads modified-time
// windows: since before the touches (the five), since..until the first
// group (the three; Until inclusive), since the first group (the two; Since
// exclusive) and since the end (nothing, Done at once).
func checkIncremental(ctx context.Context, h *Harness, logf Logf) error {
	r, err := reader(h)
	if err != nil {
		return err
	}
	ids := h.Fake.IDs(h.Object)
	if len(ids) < 5 {
		return fmt.Errorf("need at least 5 seeded %s records, the fake has %d", h.Object, len(ids))
	}
	touched := spread(ids, 5)
	first, second := touched[:3], touched[3:]

	// Each Touch stamps a time after every earlier Now() and leaves Now() at
	// that time (Fake.Touch). Advancing a second after t0 keeps every touch
	// strictly after t0 (Since is exclusive) even for providers with
	// one-second precision.
	t0 := h.Fake.Now()
	h.Fake.Advance(time.Second)
	for _, id := range first {
		h.Fake.Touch(h.Object, id)
	}
	t1 := h.Fake.Now()
	for _, id := range second {
		h.Fake.Touch(h.Object, id)
	}
	end := h.Fake.Now()

	base := providers.ReadRequest{Object: h.Object, Fields: h.Fields, PageSize: smallestPageSize(h)}

	req := base
	req.Since = t0
	all, _, err := readAll(ctx, r, req, maxPages(h))
	if err != nil {
		return fmt.Errorf("read since t0=%s: %w", stamp(t0), err)
	}
	if err := sameIDs(all, touched); err != nil {
		return fmt.Errorf("read since t0=%s (before the 5 touches): %w", stamp(t0), err)
	}
	mod := map[string]time.Time{}
	for _, rec := range all {
		mod[rec.ID] = rec.ModifiedAt
		if !rec.ModifiedAt.After(t0) || rec.ModifiedAt.After(end) {
			return fmt.Errorf("record %s was touched between %s and %s but reads ModifiedAt %s", rec.ID, stamp(t0), stamp(end), stamp(rec.ModifiedAt))
		}
	}

	// The bound for "the first three": the third touch left Now() at its
	// own time, t1, and the fourth is later. Use the third's modified time
	// as the connector reports it (t1 at the provider's precision): that
	// includes it only if Until really is inclusive, and it must be before
	// the fourth's or the provider cannot tell the groups apart.
	var until time.Time
	for _, id := range first {
		if mod[id].After(until) {
			until = mod[id]
		}
	}
	for _, id := range second {
		if !mod[id].After(until) {
			return fmt.Errorf("record %s touched at t1=%s reads ModifiedAt %s, not after the first group's latest %s: the fake's clock or the connector's time parsing loses precision", id, stamp(t1), stamp(mod[id]), stamp(until))
		}
	}
	req = base
	req.Since, req.Until = t0, until
	got, _, err := readAll(ctx, r, req, maxPages(h))
	if err != nil {
		return fmt.Errorf("read since %s until %s: %w", stamp(t0), stamp(until), err)
	}
	if err := sameIDs(got, first); err != nil {
		return fmt.Errorf("read since t0=%s until %s (the 3rd touch's modified time; Until is inclusive): %w", stamp(t0), stamp(until), err)
	}

	req = base
	req.Since = until
	got, _, err = readAll(ctx, r, req, maxPages(h))
	if err != nil {
		return fmt.Errorf("read since %s: %w", stamp(until), err)
	}
	if err := sameIDs(got, second); err != nil {
		return fmt.Errorf("read since %s (the 3rd touch's modified time; Since is exclusive): %w", stamp(until), err)
	}

	req = base
	req.Since = end
	page, err := r.Read(ctx, req)
	if err != nil {
		return fmt.Errorf("read since the end %s: %w", stamp(end), err)
	}
	if len(page.Records) != 0 || !page.Done {
		return fmt.Errorf("read since the end %s: got %d records (%s), Done=%v; want none and Done", stamp(end), len(page.Records), idList(page.Records), page.Done)
	}
	logf("since/until windows: t0=%s until=%s end=%s", stamp(t0), stamp(until), stamp(end))
	return nil
}

// checkDeletes deletes two records in the fake: a read with IncludeDeleted
// since before the deletes returns exactly those two, flagged Deleted, and a
// full read without IncludeDeleted returns every live id but them.
func checkDeletes(ctx context.Context, h *Harness, logf Logf) error {
	r, err := reader(h)
	if err != nil {
		return err
	}
	ids := h.Fake.IDs(h.Object)
	if len(ids) < 4 {
		return fmt.Errorf("need at least 4 seeded %s records, the fake has %d", h.Object, len(ids))
	}
	gone := []string{ids[1], ids[len(ids)-2]}
	t0 := h.Fake.Now()
	h.Fake.Advance(time.Second) // a deletion stamped at t0 would fall outside Since=t0
	for _, id := range gone {
		h.Fake.Delete(h.Object, id)
	}
	live := h.Fake.IDs(h.Object)
	for _, id := range gone {
		if slices.Contains(live, id) {
			return fmt.Errorf("fake: IDs still lists %s after Delete", id)
		}
	}

	req := providers.ReadRequest{Object: h.Object, Fields: h.Fields, Since: t0, IncludeDeleted: true}
	got, _, err := readAll(ctx, r, req, maxPages(h))
	if err != nil {
		return fmt.Errorf("read with IncludeDeleted since %s: %w", stamp(t0), err)
	}
	if err := sameIDs(got, gone); err != nil {
		return fmt.Errorf("read with IncludeDeleted since %s (before deleting %v): %w", stamp(t0), gone, err)
	}
	for _, rec := range got {
		if !rec.Deleted {
			return fmt.Errorf("read with IncludeDeleted: deleted record %s has Deleted=false", rec.ID)
		}
	}

	req = providers.ReadRequest{Object: h.Object, Fields: h.Fields}
	got, _, err = readAll(ctx, r, req, maxPages(h))
	if err != nil {
		return fmt.Errorf("full read after deletes: %w", err)
	}
	var errs []error
	for _, rec := range got {
		if slices.Contains(gone, rec.ID) {
			errs = append(errs, fmt.Errorf("full read without IncludeDeleted still returns deleted record %s", rec.ID))
		}
	}
	if err := sameIDs(got, live); err != nil {
		errs = append(errs, fmt.Errorf("full read after deletes: %w", err))
	}
	return errors.Join(errs...)
}

// checkRefreshMidPaging reads one small page, expires every token, and reads
// on from the cursor: the auth client refreshes and the read completes with
// every id exactly once.
func checkRefreshMidPaging(ctx context.Context, h *Harness, logf Logf) error {
	r, err := reader(h)
	if err != nil {
		return err
	}
	want := h.Fake.IDs(h.Object)
	req := providers.ReadRequest{Object: h.Object, Fields: h.Fields, PageSize: smallestPageSize(h)}
	page, err := r.Read(ctx, req)
	if err != nil {
		return fmt.Errorf("first page: %w", err)
	}
	if page.Done {
		return fmt.Errorf("the first page (page size %d) was the last, so a refresh mid-paging cannot be tested: give Harness.PageSizes a size smaller than Count (%d)", req.PageSize, h.Count)
	}
	if page.NextCursor == "" {
		return errors.New("first page: not Done but NextCursor is empty")
	}
	for i, rec := range page.Records {
		if err := checkRecord(rec, req); err != nil {
			return fmt.Errorf("first page record %d: %w", i, err)
		}
	}
	h.Fake.ExpireTokens()
	req.Cursor = page.NextCursor
	rest, _, err := readAll(ctx, r, req, maxPages(h))
	if err != nil {
		return fmt.Errorf("after ExpireTokens, reading on from the first page's cursor (the auth client should refresh once and retry): %w", err)
	}
	if err := sameIDs(append(slices.Clone(page.Records), rest...), want); err != nil {
		return fmt.Errorf("read across the token refresh: %w", err)
	}
	return nil
}

// checkRateLimited throttles one request: Read fails with KindRateLimited
// and a positive RetryAfter (7s where the provider sends Retry-After), and
// the next Read succeeds.
func checkRateLimited(ctx context.Context, h *Harness, logf Logf) error {
	r, err := reader(h)
	if err != nil {
		return err
	}
	const wait = 7 * time.Second
	h.Fake.Throttle(1, wait)
	req := providers.ReadRequest{Object: h.Object, Fields: h.Fields}
	_, err = r.Read(ctx, req)
	if err == nil {
		return errors.New("Read succeeded while the fake was throttling; the rate-limit answer must surface as an error (the engine, not the connector, waits)")
	}
	if k := providers.KindOf(err); k != providers.KindRateLimited {
		return fmt.Errorf("throttled Read: KindOf(err) = %s, want %s (err: %v)", k, providers.KindRateLimited, err)
	}
	switch ra := providers.RetryAfter(err); {
	case ra <= 0:
		return fmt.Errorf("throttled Read: RetryAfter(err) = %s, want > 0 (err: %v)", ra, err)
	case ra != wait:
		// Salesforce sends no Retry-After and HubSpot only sometimes: the
		// connector then picks its own delay.
		logf("throttled Read: RetryAfter = %s (the fake asked for %s; fine only if the provider sends no Retry-After)", ra, wait)
	}
	page, err := r.Read(ctx, req)
	if err != nil {
		return fmt.Errorf("Read after the throttled one: %w", err)
	}
	if page == nil {
		return errors.New("Read after the throttled one: nil page and nil error")
	}
	return nil
}

// checkBulkRead streams the whole object through the bulk API: every live id
// exactly once, no error.
func checkBulkRead(ctx context.Context, h *Harness, logf Logf) error {
	br, ok := h.Connector.(providers.BulkReader)
	if !ok {
		return skipf("%s connector does not implement providers.BulkReader", h.Connector.Provider())
	}
	want := h.Fake.IDs(h.Object)
	var got []providers.Record
	req := providers.ReadRequest{Object: h.Object, Fields: h.Fields}
	for rec, err := range br.BulkRead(ctx, req) {
		if err != nil {
			return fmt.Errorf("BulkRead after %d records: %w", len(got), err)
		}
		if rec.ID == "" {
			return fmt.Errorf("BulkRead record %d has no ID", len(got))
		}
		if rec.Deleted {
			return fmt.Errorf("BulkRead without IncludeDeleted returned deleted record %s", rec.ID)
		}
		got = append(got, rec)
	}
	if err := sameIDs(got, want); err != nil {
		return err
	}
	if rb, ok := h.Connector.(providers.ResumableBulkReader); ok {
		return checkResumableBulkRead(ctx, rb, req, want)
	}
	return nil
}

// checkResumableBulkRead reads the object again in chunks of about a third
// of it: every live id exactly once, and the second chunk's locator, fetched
// again, returns the same ids.
func checkResumableBulkRead(ctx context.Context, rb providers.ResumableBulkReader, req providers.ReadRequest, want []string) error {
	job, total, err := rb.StartBulkRead(ctx, req)
	if err != nil {
		return fmt.Errorf("StartBulkRead: %w", err)
	}
	if total != -1 && total != len(want) {
		return fmt.Errorf("StartBulkRead says %d records, want %d (or -1)", total, len(want))
	}
	size := max(1, len(want)/3)
	var got, second []providers.Record
	var secondAt string
	for locator, i := "", 0; ; i++ {
		if i > len(want)+1 {
			return fmt.Errorf("BulkReadChunk: still not Done after %d chunks of %d", i, size)
		}
		var page *providers.ReadPage
		var hints []string
		if ba, ok := rb.(providers.BulkAheadReader); ok && i%2 == 1 {
			// Every other chunk through the early-locator variant: the
			// same chunk, and a hint equal to its NextCursor.
			page, err = ba.BulkReadChunkAhead(ctx, job, locator, size, func(l string) { hints = append(hints, l) })
		} else {
			page, err = rb.BulkReadChunk(ctx, job, locator, size)
		}
		if err != nil {
			return fmt.Errorf("BulkReadChunk %d: %w", i, err)
		}
		if len(hints) > 1 || len(hints) == 1 && hints[0] != page.NextCursor {
			return fmt.Errorf("BulkReadChunkAhead %d: hinted %q, but the chunk's NextCursor is %q", i, hints, page.NextCursor)
		}
		if i == 1 {
			second, secondAt = page.Records, locator
		}
		got = append(got, page.Records...)
		if page.Done {
			break
		}
		if page.NextCursor == "" {
			return fmt.Errorf("BulkReadChunk %d: not Done but no NextCursor", i)
		}
		locator = page.NextCursor
	}
	if err := sameIDs(got, want); err != nil {
		return fmt.Errorf("BulkReadChunk: %w", err)
	}
	if secondAt != "" {
		page, err := rb.BulkReadChunk(ctx, job, secondAt, size)
		if err != nil {
			return fmt.Errorf("BulkReadChunk at the second locator again: %w", err)
		}
		if !slices.EqualFunc(page.Records, second, func(a, b providers.Record) bool { return a.ID == b.ID }) {
			return fmt.Errorf("BulkReadChunk at the second locator again: %d records, not the %d it gave before", len(page.Records), len(second))
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Writes

// checkWriteRoundTrip creates three records, updates them and deletes them,
// checking each step in the fake and the update in an incremental read.
func checkWriteRoundTrip(ctx context.Context, h *Harness, logf Logf) error {
	w, err := writer(h)
	if err != nil {
		return err
	}
	if h.NewRecord == nil || h.UpdateField == "" || h.UpdateValue == nil {
		return errors.New("the connector is a Writer but the harness lacks NewRecord, UpdateField or UpdateValue")
	}
	t0 := h.Fake.Now()
	h.Fake.Advance(time.Second)

	// Create.
	create := providers.WriteRequest{Object: h.Object, Op: providers.WriteCreate}
	for i := range 3 {
		create.Records = append(create.Records, providers.WriteRecord{Fields: h.NewRecord(i)})
	}
	res, err := w.Write(ctx, create)
	if err != nil {
		return fmt.Errorf("create 3: %w", err)
	}
	if err := resultCount(res, 3); err != nil {
		return fmt.Errorf("create 3: %w", err)
	}
	ids := make([]string, 3)
	for i, r := range res {
		if !r.Success || r.ID == "" {
			return fmt.Errorf("create 3: result %d = %s, want success with an ID", i, resultString(r))
		}
		if slices.Contains(ids[:i], r.ID) {
			return fmt.Errorf("create 3: results %d and %d share ID %s", slices.Index(ids, r.ID), i, r.ID)
		}
		ids[i] = r.ID
	}
	var errs []error
	for i, id := range ids {
		stored, ok := h.Fake.Get(h.Object, id)
		if !ok {
			errs = append(errs, fmt.Errorf("created record %d (%s): the fake does not have it", i, id))
			continue
		}
		for name, v := range h.NewRecord(i) {
			if got, ok := lookupFold(stored, name); !ok || !sameValue(got, v) {
				errs = append(errs, fmt.Errorf("created record %d (%s): the fake stores %s = %s, written %s", i, id, name, show(got, ok), show(v, true)))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// Update.
	update := providers.WriteRequest{Object: h.Object, Op: providers.WriteUpdate}
	for i, id := range ids {
		update.Records = append(update.Records, providers.WriteRecord{ID: id, Fields: map[string]any{h.UpdateField: h.UpdateValue(i)}})
	}
	res, err = w.Write(ctx, update)
	if err != nil {
		return fmt.Errorf("update %s on %v: %w", h.UpdateField, ids, err)
	}
	if err := resultCount(res, 3); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	for i, r := range res {
		if !r.Success || (r.ID != "" && r.ID != ids[i]) {
			errs = append(errs, fmt.Errorf("update: result %d = %s, want success for %s", i, resultString(r), ids[i]))
		}
	}
	for i, id := range ids {
		stored, ok := h.Fake.Get(h.Object, id)
		if !ok {
			errs = append(errs, fmt.Errorf("updated record %s: the fake no longer has it", id))
			continue
		}
		if got, ok := lookupFold(stored, h.UpdateField); !ok || !sameValue(got, h.UpdateValue(i)) {
			errs = append(errs, fmt.Errorf("updated record %s: the fake stores %s = %s, written %s", id, h.UpdateField, show(got, ok), show(h.UpdateValue(i), true)))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// Read the writes back.
	if r, ok := h.Connector.(providers.Reader); ok {
		fields := h.Fields
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, h.UpdateField) }) {
			fields = append(slices.Clone(fields), h.UpdateField)
		}
		req := providers.ReadRequest{Object: h.Object, Fields: fields, Since: t0}
		got, _, err := readAll(ctx, r, req, maxPages(h))
		if err != nil {
			return fmt.Errorf("read since before the writes (%s): %w", stamp(t0), err)
		}
		if err := sameIDs(got, ids); err != nil {
			return fmt.Errorf("read since before the writes (%s): %w", stamp(t0), err)
		}
		key := strings.ToLower(h.UpdateField)
		for _, rec := range got {
			i := slices.Index(ids, rec.ID)
			if v, ok := rec.Fields[key]; !ok || !sameValue(v, h.UpdateValue(i)) {
				errs = append(errs, fmt.Errorf("read back %s: Fields[%q] = %s, written %s", rec.ID, key, show(v, ok), show(h.UpdateValue(i), true)))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	}

	// Delete.
	del := providers.WriteRequest{Object: h.Object, Op: providers.WriteDelete}
	for _, id := range ids {
		del.Records = append(del.Records, providers.WriteRecord{ID: id})
	}
	res, err = w.Write(ctx, del)
	if err != nil {
		return fmt.Errorf("delete %v: %w", ids, err)
	}
	if err := resultCount(res, 3); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	for i, r := range res {
		if !r.Success {
			errs = append(errs, fmt.Errorf("delete: result %d = %s, want success for %s", i, resultString(r), ids[i]))
		}
	}
	live := h.Fake.IDs(h.Object)
	for _, id := range ids {
		if stored, ok := h.Fake.Get(h.Object, id); ok && !looksDeleted(stored) {
			errs = append(errs, fmt.Errorf("deleted record %s: the fake still has it, not marked deleted: %v", id, stored))
		}
		if slices.Contains(live, id) {
			errs = append(errs, fmt.Errorf("deleted record %s: the fake's IDs still list it", id))
		}
	}
	return errors.Join(errs...)
}

// checkPartialFailure creates [valid, invalid, valid] with AllOrNone=false:
// results in input order are success, failure with a reason, success, and
// the two valid records exist.
func checkPartialFailure(ctx context.Context, h *Harness, logf Logf) error {
	w, err := writer(h)
	if err != nil {
		return err
	}
	if h.NewRecord == nil || h.InvalidRecord == nil {
		return errors.New("the connector is a Writer but the harness lacks NewRecord or InvalidRecord")
	}
	req := providers.WriteRequest{Object: h.Object, Op: providers.WriteCreate, Records: []providers.WriteRecord{
		{Fields: h.NewRecord(100)}, {Fields: h.InvalidRecord(101)}, {Fields: h.NewRecord(102)},
	}}
	res, err := w.Write(ctx, req)
	if err != nil {
		return fmt.Errorf("create [valid, invalid, valid] with AllOrNone=false: request failed (a per-record failure belongs in the results): %w", err)
	}
	if err := resultCount(res, 3); err != nil {
		return err
	}
	var errs []error
	for _, i := range []int{0, 2} {
		if !res[i].Success || res[i].ID == "" {
			errs = append(errs, fmt.Errorf("result %d (valid record) = %s, want success with an ID", i, resultString(res[i])))
			continue
		}
		stored, ok := h.Fake.Get(h.Object, res[i].ID)
		if !ok {
			errs = append(errs, fmt.Errorf("result %d: created %s, but the fake does not have it", i, res[i].ID))
			continue
		}
		// The id must be the one created from this input, not a neighbour's:
		// results matched to the wrong inputs would pass a count check.
		for name, want := range req.Records[i].Fields {
			if got, ok := lookupFold(stored, name); !ok || !sameValue(got, want) {
				errs = append(errs, fmt.Errorf("result %d names %s, whose %s is %s, but input %d wrote %v: results are matched to the wrong inputs", i, res[i].ID, name, show(got, ok), i, want))
				break
			}
		}
	}
	if res[1].Success {
		errs = append(errs, fmt.Errorf("result 1 (invalid record) = %s, want a failure", resultString(res[1])))
	} else if !hasReason(res[1]) {
		errs = append(errs, fmt.Errorf("result 1 (invalid record) failed with no RecordError carrying a Code or Message: %s", resultString(res[1])))
	}
	return errors.Join(errs...)
}

// allOrNoneSupporter is implemented by connectors whose provider can roll a
// whole batch back (Salesforce allOrNone, Dynamics $batch changesets).
// HubSpot's batch APIs have no such option; a connector without the method
// is treated as unsupported.
type allOrNoneSupporter interface{ SupportsAllOrNone() bool }

// checkAllOrNone creates [valid, invalid, valid] with AllOrNone=true: either
// a request-level error or three failed results, and nothing persisted.
func checkAllOrNone(ctx context.Context, h *Harness, logf Logf) error {
	w, err := writer(h)
	if err != nil {
		return err
	}
	if s, ok := h.Connector.(allOrNoneSupporter); !ok || !s.SupportsAllOrNone() {
		return skipf("%s connector does not support AllOrNone (no SupportsAllOrNone() bool returning true)", h.Connector.Provider())
	}
	if h.NewRecord == nil || h.InvalidRecord == nil {
		return errors.New("the connector is a Writer but the harness lacks NewRecord or InvalidRecord")
	}
	before := h.Fake.IDs(h.Object)
	req := providers.WriteRequest{Object: h.Object, Op: providers.WriteCreate, AllOrNone: true, Records: []providers.WriteRecord{
		{Fields: h.NewRecord(200)}, {Fields: h.InvalidRecord(201)}, {Fields: h.NewRecord(202)},
	}}
	res, err := w.Write(ctx, req)
	var errs []error
	if err != nil {
		logf("AllOrNone batch failed as a request: %v", err)
	} else {
		if err := resultCount(res, 3); err != nil {
			return fmt.Errorf("AllOrNone=true: %w", err)
		}
		for i, r := range res {
			if r.Success {
				errs = append(errs, fmt.Errorf("AllOrNone=true: result %d = %s; with one invalid record none may succeed (allOrNone not honoured)", i, resultString(r)))
			}
		}
		if !res[1].Success && !hasReason(res[1]) {
			errs = append(errs, fmt.Errorf("AllOrNone=true: result 1 (invalid record) has no RecordError carrying a Code or Message: %s", resultString(res[1])))
		}
	}
	if after := h.Fake.IDs(h.Object); len(after) != len(before) {
		errs = append(errs, fmt.Errorf("AllOrNone=true: the fake had %d records before the failed batch and %d after; nothing may persist (new: %v)", len(before), len(after), minus(after, before)))
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------------------
// Metadata

// normalisedTypes are the value types FieldMetadata.ValueType may take.
var normalisedTypes = []string{"string", "boolean", "singleSelect", "multiSelect", "date", "datetime", "int", "float", "reference", "other"}

// noSuchObject is an object name no CRM has; plain letters so that no
// connector rejects it as malformed before asking the provider.
const noSuchObject = "ampNoSuchObjectZq"

// checkMetadata lists objects (h.Object standard, h.CustomObject custom),
// describes h.Object (every h.Fields entry, h.CustomField custom, every
// ValueType normalised), describes h.CustomObject, and describes a nonsense
// object (KindNotFound).
func checkMetadata(ctx context.Context, h *Harness, logf Logf) error {
	m, ok := h.Connector.(providers.MetadataReader)
	if !ok {
		return skipf("%s connector does not implement providers.MetadataReader", h.Connector.Provider())
	}
	var errs []error
	objs, err := m.ListObjects(ctx)
	if err != nil {
		return fmt.Errorf("ListObjects: %w", err)
	}
	findObj := func(name string) (providers.ObjectInfo, bool) {
		i := slices.IndexFunc(objs, func(o providers.ObjectInfo) bool { return strings.EqualFold(o.Name, name) })
		if i < 0 {
			return providers.ObjectInfo{}, false
		}
		return objs[i], true
	}
	if o, ok := findObj(h.Object); !ok {
		errs = append(errs, fmt.Errorf("ListObjects (%d objects) lacks %s", len(objs), h.Object))
	} else if o.Custom {
		errs = append(errs, fmt.Errorf("ListObjects: standard object %s has Custom=true", o.Name))
	}
	if h.CustomObject != "" {
		if o, ok := findObj(h.CustomObject); !ok {
			errs = append(errs, fmt.Errorf("ListObjects (%d objects) lacks custom object %s", len(objs), h.CustomObject))
		} else if !o.Custom {
			errs = append(errs, fmt.Errorf("ListObjects: custom object %s has Custom=false", o.Name))
		}
	}

	meta, err := m.DescribeObject(ctx, h.Object)
	if err != nil {
		errs = append(errs, fmt.Errorf("DescribeObject(%s): %w", h.Object, err))
	} else {
		errs = append(errs, describeErrors(meta, h.Object, false)...)
		findField := func(name string) (providers.FieldMetadata, bool) {
			i := slices.IndexFunc(meta.Fields, func(f providers.FieldMetadata) bool { return strings.EqualFold(f.Name, name) })
			if i < 0 {
				return providers.FieldMetadata{}, false
			}
			return meta.Fields[i], true
		}
		for _, name := range h.Fields {
			if _, ok := findField(name); !ok {
				errs = append(errs, fmt.Errorf("DescribeObject(%s) lacks field %s", h.Object, name))
			}
		}
		if h.CustomField != "" {
			if f, ok := findField(h.CustomField); !ok {
				errs = append(errs, fmt.Errorf("DescribeObject(%s) lacks custom field %s", h.Object, h.CustomField))
			} else if !f.Custom {
				errs = append(errs, fmt.Errorf("DescribeObject(%s): custom field %s has Custom=false", h.Object, f.Name))
			}
		}
	}
	if h.CustomObject != "" {
		meta, err := m.DescribeObject(ctx, h.CustomObject)
		if err != nil {
			errs = append(errs, fmt.Errorf("DescribeObject(%s): %w", h.CustomObject, err))
		} else {
			errs = append(errs, describeErrors(meta, h.CustomObject, true)...)
		}
	}

	_, err = m.DescribeObject(ctx, noSuchObject)
	if k := providers.KindOf(err); k != providers.KindNotFound {
		errs = append(errs, fmt.Errorf("DescribeObject(%s): KindOf(err) = %s, want %s (err: %v)", noSuchObject, k, providers.KindNotFound, err))
	}
	return errors.Join(errs...)
}

// describeErrors checks one DescribeObject answer's shape.
func describeErrors(meta *providers.ObjectMetadata, object string, custom bool) []error {
	if meta == nil {
		return []error{fmt.Errorf("DescribeObject(%s): nil metadata and nil error", object)}
	}
	var errs []error
	if !strings.EqualFold(meta.Name, object) {
		errs = append(errs, fmt.Errorf("DescribeObject(%s): Name = %q", object, meta.Name))
	}
	if meta.Custom != custom {
		errs = append(errs, fmt.Errorf("DescribeObject(%s): Custom = %v, want %v", object, meta.Custom, custom))
	}
	if len(meta.Fields) == 0 {
		errs = append(errs, fmt.Errorf("DescribeObject(%s): no fields", object))
	}
	for _, f := range meta.Fields {
		if f.Name == "" {
			errs = append(errs, fmt.Errorf("DescribeObject(%s): a field has no Name: %+v", object, f))
		}
		if !slices.Contains(normalisedTypes, f.ValueType) {
			errs = append(errs, fmt.Errorf("DescribeObject(%s): field %s has ValueType %q (provider type %q), want one of %v", object, f.Name, f.ValueType, f.ProviderType, normalisedTypes))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Helpers

func reader(h *Harness) (providers.Reader, error) {
	r, ok := h.Connector.(providers.Reader)
	if !ok {
		return nil, skipf("%s connector does not implement providers.Reader", h.Connector.Provider())
	}
	return r, nil
}

func writer(h *Harness) (providers.Writer, error) {
	w, ok := h.Connector.(providers.Writer)
	if !ok {
		return nil, skipf("%s connector does not implement providers.Writer", h.Connector.Provider())
	}
	if n := w.MaxBatch(); n < 3 {
		return nil, fmt.Errorf("MaxBatch() = %d; the suite writes batches of 3", n)
	}
	return w, nil
}

// maxPages bounds a read so that a cursor that never ends fails instead of
// spinning: even one record per page needs no more than Count pages, plus
// room for the suite's writes and a trailing empty page.
func maxPages(h *Harness) int { return h.Count + 20 }

// smallestPageSize is the smallest positive h.PageSizes entry, or 0.
func smallestPageSize(h *Harness) int {
	best := 0
	for _, s := range h.PageSizes {
		if s > 0 && (best == 0 || s < best) {
			best = s
		}
	}
	return best
}

// readAll reads from req.Cursor until Done, checking every page and record.
// It returns the records and the number of pages read.
func readAll(ctx context.Context, r providers.Reader, req providers.ReadRequest, limit int) ([]providers.Record, int, error) {
	var recs []providers.Record
	seen := map[string]int{}
	for page := 1; ; page++ {
		if page > limit {
			return recs, page - 1, fmt.Errorf("not Done after %d pages (%d records); the cursor never ends", limit, len(recs))
		}
		// A connector that hints the next cursor early (ReadRequest.Ahead)
		// must hint at most once and, on a plain read, exactly the cursor
		// it returns: the engine's read-ahead relies on it.
		var hints []string
		req.Ahead = func(c string) { hints = append(hints, c) }
		p, err := r.Read(ctx, req)
		if err != nil {
			return recs, page, fmt.Errorf("page %d (cursor %q): %w", page, req.Cursor, err)
		}
		if p == nil {
			return recs, page, fmt.Errorf("page %d: nil page and nil error", page)
		}
		plain := req.Since.IsZero() && req.Until.IsZero() && !req.IncludeDeleted
		if len(hints) > 1 || plain && len(hints) == 1 && hints[0] != p.NextCursor {
			return recs, page, fmt.Errorf("page %d: Ahead hinted %q, but the page's NextCursor is %q", page, hints, p.NextCursor)
		}
		for i, rec := range p.Records {
			if err := checkRecord(rec, req); err != nil {
				return recs, page, fmt.Errorf("page %d record %d: %w", page, i, err)
			}
		}
		recs = append(recs, p.Records...)
		if p.Done {
			if p.NextCursor != "" {
				return recs, page, fmt.Errorf("page %d is Done but NextCursor is %q (want empty)", page, p.NextCursor)
			}
			return recs, page, nil
		}
		if p.NextCursor == "" {
			return recs, page, fmt.Errorf("page %d is not Done but NextCursor is empty", page)
		}
		if prev, ok := seen[p.NextCursor]; ok {
			return recs, page, fmt.Errorf("page %d returned the same NextCursor as page %d: %q", page, prev, p.NextCursor)
		}
		seen[p.NextCursor] = page
		req.Cursor = p.NextCursor
	}
}

// checkRecord checks one read record: an ID; for a live record a modified
// time, raw JSON and the requested fields under lower-case keys; for a
// deleted one, that deletions were asked for.
func checkRecord(rec providers.Record, req providers.ReadRequest) error {
	if rec.ID == "" {
		return errors.New("record has no ID")
	}
	if len(rec.Raw) > 0 && !json.Valid(rec.Raw) {
		return fmt.Errorf("record %s: Raw is not valid JSON: %.200s", rec.ID, rec.Raw)
	}
	if rec.Deleted {
		if !req.IncludeDeleted {
			return fmt.Errorf("record %s is Deleted but the request did not set IncludeDeleted", rec.ID)
		}
		// Deleted records may carry no fields and no modified time
		// (Dataverse's $deletedEntity has only the id).
		return nil
	}
	if rec.ModifiedAt.IsZero() {
		return fmt.Errorf("record %s has a zero ModifiedAt", rec.ID)
	}
	if len(rec.Raw) == 0 {
		return fmt.Errorf("record %s has no Raw", rec.ID)
	}
	for k := range rec.Fields {
		if k != strings.ToLower(k) {
			return fmt.Errorf("record %s: Fields key %q is not lower case", rec.ID, k)
		}
	}
	for _, f := range req.Fields {
		if _, ok := rec.Fields[strings.ToLower(f)]; !ok {
			return fmt.Errorf("record %s lacks requested field %q under key %q (has %v)", rec.ID, f, strings.ToLower(f), sortedKeys(rec.Fields))
		}
	}
	return nil
}

// sameIDs reports how the ids of got differ from want, each id expected
// exactly once: duplicates, missing and unexpected ids.
func sameIDs(got []providers.Record, want []string) error {
	count := map[string]int{}
	for _, r := range got {
		count[r.ID]++
	}
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	var dup, missing, extra []string
	for id, n := range count {
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s ×%d", id, n))
		}
		if !wanted[id] {
			extra = append(extra, id)
		}
	}
	for _, id := range want {
		if count[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(dup)+len(missing)+len(extra) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "read %d records (%d distinct), want %d ids exactly once", len(got), len(count), len(want))
	for _, part := range []struct {
		name string
		ids  []string
	}{{"duplicated", dup}, {"missing", missing}, {"unexpected", extra}} {
		if len(part.ids) > 0 {
			slices.Sort(part.ids)
			fmt.Fprintf(&b, "; %d %s: %s", len(part.ids), part.name, abbreviate(part.ids))
		}
	}
	return errors.New(b.String())
}

// abbreviate lists up to ten ids.
func abbreviate(ids []string) string {
	if len(ids) <= 10 {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:10], ", ") + fmt.Sprintf(", … (%d more)", len(ids)-10)
}

func idList(recs []providers.Record) string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return abbreviate(ids)
}

// spread picks n ids spread across ids (so they fall on different pages).
func spread(ids []string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = ids[i*(len(ids)-1)/(n-1)]
	}
	return out
}

// minus returns the ids of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

func resultCount(res []providers.WriteResult, n int) error {
	if len(res) != n {
		return fmt.Errorf("got %d results for %d records; want one per record, in input order", len(res), n)
	}
	return nil
}

func hasReason(r providers.WriteResult) bool {
	return slices.ContainsFunc(r.Errors, func(e providers.RecordError) bool { return e.Code != "" || e.Message != "" })
}

func resultString(r providers.WriteResult) string {
	s := fmt.Sprintf("{Success:%v ID:%q", r.Success, r.ID)
	for _, e := range r.Errors {
		s += fmt.Sprintf(" Error{%s %q %v %s}", e.Code, e.Message, e.Fields, e.Kind)
	}
	return s + "}"
}

// lookupFold finds a field by name in any case (providers spell field names
// their own way: Name, name, emailaddress1).
func lookupFold(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// sameValue compares a written value with a stored or read one loosely:
// equal as JSON, or equal as text once normalised through JSON, since
// providers store some values as strings (HubSpot keeps every property as
// one: 5 comes back "5", true comes back "true").
func sameValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA == nil && errB == nil && string(ja) == string(jb) {
		return true
	}
	return fmt.Sprint(normalise(a)) == fmt.Sprint(normalise(b))
}

func normalise(v any) any {
	j, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(j, &out); err != nil {
		return v
	}
	return out
}

// looksDeleted reports whether a record the fake still returns is marked
// deleted the way providers do (Salesforce IsDeleted, HubSpot archived).
func looksDeleted(m map[string]any) bool {
	for _, k := range []string{"IsDeleted", "archived", "deleted"} {
		if v, ok := lookupFold(m, k); ok && fmt.Sprint(v) == "true" {
			return true
		}
	}
	return false
}

func show(v any, ok bool) string {
	if !ok {
		return "(absent)"
	}
	return fmt.Sprintf("%#v", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
