package fake

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"sync"

	"github.com/ampforge/amp/providers/fakekit"
)

// records is what the write and sObject handlers read and write: the
// store itself, or a staging overlay while an allOrNone composite request
// is checked (see composite.go). *fakekit.Store implements it.
type records interface {
	Get(object, id string) (fakekit.Record, bool)
	Create(object string, fields map[string]any) (fakekit.Record, error)
	Update(object, id string, fields map[string]any) (fakekit.Record, error)
	Delete(object, id string) (fakekit.Record, error)
	FindBy(object, field string, value any) (fakekit.Record, bool)
}

var _ records = (*fakekit.Store)(nil)

type stagingKey struct{}

// records returns the records a request works on: the staging overlay of
// the composite request it belongs to, or the store.
func (s *Server) records(r *http.Request) records {
	if st, ok := r.Context().Value(stagingKey{}).(*staging); ok {
		return st
	}
	return s.kit.Store
}

func withStaging(ctx context.Context, st *staging) context.Context {
	return context.WithValue(ctx, stagingKey{}, st)
}

// staging holds the writes of a composite request's trial run on top of
// the store, which it never changes: created records get provisional ids
// (key prefix, "X", a sequence), updates and deletes are kept as copies.
// Reads of staged records see the staged copy; queries do not see staged
// writes.
type staging struct {
	base   *fakekit.Store
	prefix func(object string) string
	now    func() fakekit.Record // a template with Created and Modified set

	mu     sync.Mutex
	recs   map[string]stagedRecord // by id
	order  []string                // staged ids, first write first
	nextID int
}

type stagedRecord struct {
	object string
	rec    fakekit.Record
}

func newStaging(s *Server) *staging {
	return &staging{
		base: s.kit.Store,
		prefix: func(object string) string {
			if o := s.object(object); o != nil {
				return o.Prefix
			}
			return "000"
		},
		now: func() fakekit.Record {
			t := s.kit.Clock.Now()
			return fakekit.Record{Created: t, Modified: t}
		},
		recs: map[string]stagedRecord{},
	}
}

func (st *staging) Get(object, id string) (fakekit.Record, bool) {
	st.mu.Lock()
	sr, ok := st.recs[id]
	st.mu.Unlock()
	if ok {
		if sr.object != object {
			return fakekit.Record{}, false
		}
		return copyRec(sr.rec), true
	}
	return st.base.Get(object, id)
}

func (st *staging) Create(object string, fields map[string]any) (fakekit.Record, error) {
	if !st.base.Has(object) {
		return fakekit.Record{}, fmt.Errorf("no object %q", object)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.nextID++
	rec := st.now()
	rec.ID = fmt.Sprintf("%sX%011dAAA", st.prefix(object), st.nextID)
	rec.Fields = maps.Clone(fields)
	st.put(object, rec)
	return copyRec(rec), nil
}

func (st *staging) put(object string, rec fakekit.Record) {
	if _, ok := st.recs[rec.ID]; !ok {
		st.order = append(st.order, rec.ID)
	}
	st.recs[rec.ID] = stagedRecord{object: object, rec: rec}
}

func (st *staging) change(object, id string, fn func(*fakekit.Record)) (fakekit.Record, error) {
	rec, ok := st.Get(object, id)
	if !ok {
		return fakekit.Record{}, fakekit.ErrNotFound
	}
	if rec.Deleted {
		return fakekit.Record{}, fakekit.ErrDeleted
	}
	fn(&rec)
	rec.Modified = st.now().Modified
	st.mu.Lock()
	st.put(object, rec)
	st.mu.Unlock()
	return copyRec(rec), nil
}

func (st *staging) Update(object, id string, fields map[string]any) (fakekit.Record, error) {
	return st.change(object, id, func(r *fakekit.Record) {
		if r.Fields == nil {
			r.Fields = map[string]any{}
		}
		maps.Copy(r.Fields, fields)
	})
}

func (st *staging) Delete(object, id string) (fakekit.Record, error) {
	return st.change(object, id, func(r *fakekit.Record) { r.Deleted = true })
}

// FindBy looks at staged records first, then at the store's, skipping a
// stored match the staging has changed or deleted.
func (st *staging) FindBy(object, field string, value any) (fakekit.Record, bool) {
	st.mu.Lock()
	for _, id := range st.order {
		sr := st.recs[id]
		if sr.object == object && !sr.rec.Deleted && sameValue(sr.rec.Fields[field], value) {
			st.mu.Unlock()
			return copyRec(sr.rec), true
		}
	}
	st.mu.Unlock()
	rec, ok := st.base.FindBy(object, field, value)
	if !ok {
		return fakekit.Record{}, false
	}
	st.mu.Lock()
	_, staged := st.recs[rec.ID]
	st.mu.Unlock()
	if staged {
		return fakekit.Record{}, false
	}
	return rec, true
}

func copyRec(r fakekit.Record) fakekit.Record {
	r.Fields = maps.Clone(r.Fields)
	return r
}

// sameValue compares field values as the store's FindBy does.
func sameValue(a, b any) bool {
	if sa, ok := a.(string); ok {
		sb, ok := b.(string)
		return ok && sa == sb
	}
	return a != nil && reflect.DeepEqual(a, b)
}

// list returns the staged records of object, first write first.
func (st *staging) list(object string) []fakekit.Record {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []fakekit.Record
	for _, id := range st.order {
		if sr := st.recs[id]; sr.object == object {
			out = append(out, copyRec(sr.rec))
		}
	}
	return out
}

func (st *staging) has(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.recs[id]
	return ok
}

// accepts is fakekit.Query's filter, for staged records.
func accepts(q fakekit.Query, r *fakekit.Record) bool {
	switch {
	case r.Deleted && !q.IncludeDeleted:
		return false
	case !q.Since.IsZero() && !r.Modified.After(q.Since):
		return false
	case !q.Until.IsZero() && r.Modified.After(q.Until):
		return false
	}
	return q.Match == nil || q.Match(*r)
}

// stagedQuery answers a query in a composite request's trial run: the
// stored records the trial has not changed, then the staged ones (the
// newest, so last in SystemModstamp order), first page only and without
// a query locator. Only references use the answer: a trial that succeeds
// is run again for real, and a failed one reports only the failure.
func (s *Server) stagedQuery(w http.ResponseWriter, version string, q *soql, batch int, st *staging) {
	limit := batch
	if q.limit > 0 {
		limit = min(limit, q.limit)
	}
	base := q.q
	match := base.Match
	base.Match = func(r fakekit.Record) bool { return !st.has(r.ID) && (match == nil || match(r)) }
	var recs []fakekit.Record
	total := 0
	var cur fakekit.Cursor
	for {
		page, next, done, err := s.kit.Store.Scan(q.obj.Name, base, cur, 10000)
		if err != nil {
			break
		}
		total += len(page)
		recs = append(recs, page[:min(len(page), max(limit-len(recs), 0))]...)
		if done {
			break
		}
		cur = next
	}
	for _, r := range st.list(q.obj.Name) {
		if accepts(q.q, &r) {
			total++
			if len(recs) < limit {
				recs = append(recs, r)
			}
		}
	}
	if q.limit > 0 {
		total = min(total, q.limit)
	}
	b := make([]byte, 0, 256+len(recs)*64*(len(q.fields)+2))
	b = append(b, `{"totalSize":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, len(recs) >= total)
	b = append(b, `,"records":[`...)
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendRecord(b, version, q.obj, q.fields, &recs[i])
	}
	b = append(b, "]}"...)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(b)
}
