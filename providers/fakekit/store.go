package fakekit

import (
	"fmt"
	"maps"
	"reflect"
	"sort"
	"sync"
	"time"
)

// ObjectSpec describes one object of a fake: how many records it is seeded
// with and how to make record i. Seeded records are computed on demand, so
// an object of ten million records costs nothing until it is read.
type ObjectSpec struct {
	Name  string
	Count int
	// ID returns the id of seeded record i; Index is its inverse. Created
	// records get ids from NewID(seq) and must not collide with seeded ones.
	ID    func(i int) string
	Index func(id string) (int, bool)
	NewID func(seq int) string
	// Fields returns seeded record i's fields, as the provider names them
	// (without the id and timestamps, which the store owns).
	Fields func(i int) map[string]any
	// Lookup, when set, returns the seeded record whose field has value as
	// seeded (the inverse of Fields for unique fields such as an email), so
	// FindBy need not scan millions of records.
	Lookup func(field string, value any) (int, bool)
}

// Record is a stored record.
type Record struct {
	ID       string
	Fields   map[string]any
	Created  time.Time
	Modified time.Time
	Deleted  bool
}

// Cursor is a position in a scan. The zero Cursor starts at the beginning.
type Cursor struct {
	// Phase 0 walks seeded records by index; phase 1 walks written records
	// in the order they were written.
	Phase int
	Pos   int
}

// String encodes the cursor for a fake's paging token.
func (c Cursor) String() string { return fmt.Sprintf("%d.%d", c.Phase, c.Pos) }

// ParseCursor decodes Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	if s == "" {
		return c, nil
	}
	if _, err := fmt.Sscanf(s, "%d.%d", &c.Phase, &c.Pos); err != nil || c.Phase < 0 || c.Phase > 1 || c.Pos < 0 {
		return Cursor{}, fmt.Errorf("bad cursor %q", s)
	}
	return c, nil
}

// Store holds a fake's objects. Seeded record i was last modified at
// SeedEnd - (Count-i)*SeedStep, before the clock's start, so every write
// (stamped by the clock) is newer than every seeded record.
type Store struct {
	clock *Clock
	// SeedStep is the time between consecutive seeded records.
	SeedStep time.Duration
	seedEnd  time.Time

	mu      sync.RWMutex
	objects map[string]*objectData
}

type objectData struct {
	spec ObjectSpec
	// overlay holds seeded records that were written, by index.
	overlay map[int]*Record
	// created holds records created through the API, by id, and in
	// creation order.
	created      map[string]*Record
	createdOrder []*Record
	// log lists written records in write order (oldest first); an entry is
	// stale when the record was written again later.
	log []logEntry
	// live counts records that are not deleted.
	live int
}

type logEntry struct {
	rec      *Record
	modified time.Time
}

// NewStore returns an empty store whose writes are stamped by clock.
func NewStore(clock *Clock) *Store {
	return &Store{clock: clock, SeedStep: time.Second, seedEnd: clock.Now(), objects: map[string]*objectData{}}
}

// Add registers an object.
func (s *Store) Add(spec ObjectSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[spec.Name] = &objectData{spec: spec, overlay: map[int]*Record{}, created: map[string]*Record{}, live: spec.Count}
}

// Objects returns the registered object names, sorted.
func (s *Store) Objects() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.objects))
	for n := range s.objects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the object exists.
func (s *Store) Has(object string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.objects[object]
	return ok
}

// Live returns the number of records of object that are not deleted.
func (s *Store) Live(object string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o := s.objects[object]; o != nil {
		return o.live
	}
	return 0
}

// Total returns the number of records of object, deleted ones included
// (what a query that includes deleted records counts without a filter).
func (s *Store) Total(object string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o := s.objects[object]; o != nil {
		return o.spec.Count + len(o.created)
	}
	return 0
}

func (s *Store) seedModified(o *objectData, i int) time.Time {
	return s.seedEnd.Add(-time.Duration(o.spec.Count-i) * s.SeedStep)
}

func (s *Store) seeded(o *objectData, i int) *Record {
	if r, ok := o.overlay[i]; ok {
		return r
	}
	t := s.seedModified(o, i)
	return &Record{ID: o.spec.ID(i), Fields: o.spec.Fields(i), Created: t, Modified: t}
}

// Get returns a copy of a record, deleted ones included.
func (s *Store) Get(object, id string) (Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[object]
	if o == nil {
		return Record{}, false
	}
	r := s.find(o, id)
	if r == nil {
		return Record{}, false
	}
	return copyRecord(r), true
}

func (s *Store) find(o *objectData, id string) *Record {
	if r, ok := o.created[id]; ok {
		return r
	}
	if i, ok := o.spec.Index(id); ok && i >= 0 && i < o.spec.Count {
		return s.seeded(o, i)
	}
	return nil
}

func copyRecord(r *Record) Record {
	c := *r
	c.Fields = maps.Clone(r.Fields)
	return c
}

// Create adds a record with fields and returns it.
func (s *Store) Create(object string, fields map[string]any) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[object]
	if o == nil {
		return Record{}, fmt.Errorf("no object %q", object)
	}
	return s.create(o, fields), nil
}

func (s *Store) create(o *objectData, fields map[string]any) Record {
	now := s.clock.Tick(time.Millisecond)
	r := &Record{ID: o.spec.NewID(len(o.created)), Fields: maps.Clone(fields), Created: now, Modified: now}
	o.created[r.ID] = r
	o.createdOrder = append(o.createdOrder, r)
	o.live++
	o.log = append(o.log, logEntry{r, now})
	return copyRecord(r)
}

// Update merges fields into a live record, stamping a new modified time.
func (s *Store) Update(object, id string, fields map[string]any) (Record, error) {
	return s.write(object, id, func(r *Record) error {
		if r.Deleted {
			return ErrDeleted
		}
		if r.Fields == nil {
			r.Fields = map[string]any{}
		}
		maps.Copy(r.Fields, fields)
		return nil
	})
}

// Touch gives a live record a new modified time without changing it, as a
// system update (a formula or rollup recalculation) would.
func (s *Store) Touch(object, id string) (Record, error) {
	return s.write(object, id, func(r *Record) error {
		if r.Deleted {
			return ErrDeleted
		}
		return nil
	})
}

// Delete marks a record deleted; it stays readable as a deletion.
func (s *Store) Delete(object, id string) (Record, error) {
	return s.write(object, id, func(r *Record) error {
		if r.Deleted {
			return ErrDeleted
		}
		r.Deleted = true
		return nil
	})
}

// Store errors.
var (
	ErrNotFound = fmt.Errorf("record not found")
	ErrDeleted  = fmt.Errorf("record is deleted")
)

func (s *Store) write(object, id string, change func(*Record) error) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[object]
	if o == nil {
		return Record{}, ErrNotFound
	}
	r := s.find(o, id)
	if r == nil {
		return Record{}, ErrNotFound
	}
	if i, ok := o.spec.Index(id); ok && o.created[id] == nil {
		if _, written := o.overlay[i]; !written {
			c := copyRecord(r)
			r = &c
			o.overlay[i] = r
		}
	}
	wasDeleted := r.Deleted
	if err := change(r); err != nil {
		return Record{}, err
	}
	if r.Deleted && !wasDeleted {
		o.live--
	}
	r.Modified = s.clock.Tick(time.Millisecond)
	o.log = append(o.log, logEntry{r, r.Modified})
	return copyRecord(r), nil
}

// FindBy returns a live record whose field equals value (for upserts and
// uniqueness checks by an external key). Written records are searched
// first; seeded ones through ObjectSpec.Lookup when the object has it, by
// a scan otherwise.
func (s *Store) FindBy(object, field string, value any) (Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[object]
	if o == nil {
		return Record{}, false
	}
	if r := s.findBy(o, field, value); r != nil {
		return copyRecord(r), true
	}
	return Record{}, false
}

// CreateUnique creates a record unless a live one already has field equal
// to value, checking and writing under one lock so concurrent creates
// cannot both succeed. It returns the new record, or the existing one with
// created false.
func (s *Store) CreateUnique(object, field string, value any, fields map[string]any) (rec Record, created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[object]
	if o == nil {
		return Record{}, false, fmt.Errorf("no object %q", object)
	}
	if r := s.findBy(o, field, value); r != nil {
		return copyRecord(r), false, nil
	}
	return s.create(o, fields), true, nil
}

func (s *Store) findBy(o *objectData, field string, value any) *Record {
	for _, r := range o.createdOrder {
		if !r.Deleted && sameValue(r.Fields[field], value) {
			return r
		}
	}
	for _, r := range o.overlay {
		if !r.Deleted && sameValue(r.Fields[field], value) {
			return r
		}
	}
	if o.spec.Lookup != nil {
		if i, ok := o.spec.Lookup(field, value); ok && i >= 0 && i < o.spec.Count {
			if _, written := o.overlay[i]; !written && sameValue(o.spec.Fields(i)[field], value) {
				return s.seeded(o, i)
			}
		}
		return nil
	}
	for i := range o.spec.Count {
		if _, written := o.overlay[i]; written {
			continue
		}
		if r := s.seeded(o, i); sameValue(r.Fields[field], value) {
			return r
		}
	}
	return nil
}

// sameValue compares field values without panicking on maps or slices.
func sameValue(a, b any) bool {
	if sa, ok := a.(string); ok {
		sb, ok := b.(string)
		return ok && sa == sb
	}
	return a != nil && reflect.DeepEqual(a, b)
}

// LogLen returns how many writes object has had: a monotonic version for
// change tracking.
func (s *Store) LogLen(object string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o := s.objects[object]; o != nil {
		return len(o.log)
	}
	return 0
}

// Query selects records for a scan.
type Query struct {
	// Since (exclusive) and Until (inclusive) bound the modified time;
	// zero means unbounded.
	Since, Until time.Time
	// IncludeDeleted also yields deleted records.
	IncludeDeleted bool
	// Match, when set, filters records further.
	Match func(Record) bool
}

func (q Query) accepts(r *Record) bool {
	if r.Deleted && !q.IncludeDeleted {
		return false
	}
	if !q.Since.IsZero() && !r.Modified.After(q.Since) {
		return false
	}
	if !q.Until.IsZero() && r.Modified.After(q.Until) {
		return false
	}
	return q.Match == nil || q.Match(*r)
}

// Scan returns up to limit records of object matching q, in modified-time
// order (seeded records first, then writes in the order they happened),
// starting at from, and the cursor after them. done is true when nothing
// follows. Seeded records outside the time window are skipped by
// arithmetic, so an incremental scan of a huge object is cheap.
func (s *Store) Scan(object string, q Query, from Cursor, limit int) (recs []Record, next Cursor, done bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[object]
	if o == nil {
		return nil, from, true, fmt.Errorf("no object %q", object)
	}
	c := from
	if c.Phase == 0 {
		c.Pos = max(c.Pos, s.firstSeededAfter(o, q.Since))
		last := o.spec.Count
		if !q.Until.IsZero() {
			last = min(last, s.firstSeededAfter(o, q.Until))
		}
		for ; c.Pos < last && len(recs) < limit; c.Pos++ {
			if _, written := o.overlay[c.Pos]; written {
				continue // appears in phase 1, at its write time
			}
			r := s.seeded(o, c.Pos)
			if q.accepts(r) {
				recs = append(recs, copyRecord(r))
			}
		}
		if c.Pos < last {
			return recs, c, false, nil
		}
		c = Cursor{Phase: 1, Pos: 0}
		if !q.Since.IsZero() {
			c.Pos = sort.Search(len(o.log), func(k int) bool { return o.log[k].modified.After(q.Since) })
		}
	}
	for ; c.Pos < len(o.log) && len(recs) < limit; c.Pos++ {
		e := o.log[c.Pos]
		if e.rec.Modified != e.modified {
			continue // written again later
		}
		if !q.Until.IsZero() && e.modified.After(q.Until) {
			c.Pos = len(o.log)
			break
		}
		if q.accepts(e.rec) {
			recs = append(recs, copyRecord(e.rec))
		}
	}
	return recs, c, c.Pos >= len(o.log), nil
}

// firstSeededAfter returns the first seeded index modified after t.
func (s *Store) firstSeededAfter(o *objectData, t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return sort.Search(o.spec.Count, func(i int) bool { return s.seedModified(o, i).After(t) })
}

// IDs returns the ids of the live records in id order: seeded records by
// index, then created ones in creation order.
func (s *Store) IDs(object string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[object]
	if o == nil {
		return nil
	}
	ids := make([]string, 0, o.live)
	for i := range o.spec.Count {
		if r, ok := o.overlay[i]; ok && r.Deleted {
			continue
		}
		ids = append(ids, o.spec.ID(i))
	}
	for _, r := range o.createdOrder {
		if !r.Deleted {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// ScanIDOrder returns up to limit live records from position from in id
// order (seeded by index, then created in creation order) and the next
// position; it is how list endpoints page (HubSpot's `after`).
func (s *Store) ScanIDOrder(object string, q Query, from, limit int) (recs []Record, next int, done bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[object]
	if o == nil {
		return nil, from, true, fmt.Errorf("no object %q", object)
	}
	pos := from
	for ; pos < o.spec.Count && len(recs) < limit; pos++ {
		r := s.seeded(o, pos)
		if q.accepts(r) {
			recs = append(recs, copyRecord(r))
		}
	}
	if len(recs) < limit && pos >= o.spec.Count {
		created := o.createdOrder
		for k := pos - o.spec.Count; k < len(created) && len(recs) < limit; k++ {
			if q.accepts(created[k]) {
				recs = append(recs, copyRecord(created[k]))
			}
			pos++
		}
		return recs, pos, pos >= o.spec.Count+len(created), nil
	}
	return recs, pos, pos >= o.spec.Count+len(o.created), nil
}
