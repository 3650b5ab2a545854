package delivery_test

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
)

// fakeStore is an in-memory delivery.Store that keeps the documented
// contracts of runtime.OutboxStore: claims are exclusive until their hold
// runs out, disabled destinations' messages are not claimed, and a failure
// that disables a destination enqueues its notification, once.
type fakeStore struct {
	mu    sync.Mutex
	seq   int
	dests map[string]*runtime.Destination // by projectID/ID
	msgs  map[string]*fakeMsg             // by projectID/ID
	// failures are the DestinationFailed calls, in order.
	failures []runtime.DestinationFailure
}

type fakeMsg struct {
	runtime.OutboxMessage
	seq int
}

var _ delivery.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{dests: map[string]*runtime.Destination{}, msgs: map[string]*fakeMsg{}}
}

func key(projectID, id string) string { return projectID + "/" + id }

func (f *fakeStore) addDestination(d *runtime.Destination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *d
	f.dests[key(d.ProjectID, d.ID)] = &c
}

func (f *fakeStore) GetDestination(_ context.Context, projectID, id string) (*runtime.Destination, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.dests[key(projectID, id)]
	if !ok {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "no destination %s", id)
	}
	c := *d
	return &c, nil
}

func (f *fakeStore) ListDestinations(_ context.Context, projectID string) ([]*runtime.Destination, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtime.Destination
	for _, d := range f.dests {
		if d.ProjectID == projectID {
			c := *d
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// enable re-enables a destination as UpdateDestination(Enabled) does.
func (f *fakeStore) enable(projectID, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dests[key(projectID, id)]
	d.Disabled, d.DisabledReason, d.Failures, d.FailingSince = false, "", 0, time.Time{}
	for _, m := range f.msgs {
		if m.ProjectID == projectID && m.DestinationID == id {
			m.NextAttempt = time.Time{}
		}
	}
}

func (f *fakeStore) EnqueueMessages(_ context.Context, msgs []*runtime.OutboxMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enqueueLocked(msgs)
	return nil
}

func (f *fakeStore) enqueueLocked(msgs []*runtime.OutboxMessage) {
	for _, m := range msgs {
		if m.ID == "" {
			m.ID = runtime.NewID()
		}
		k := key(m.ProjectID, m.ID)
		if _, ok := f.msgs[k]; ok {
			continue
		}
		m.CreateTime = runtime.Millis(time.Now())
		f.seq++
		f.msgs[k] = &fakeMsg{OutboxMessage: *m, seq: f.seq}
	}
}

func (f *fakeStore) ClaimMessages(_ context.Context, now time.Time, hold time.Duration, limit int) ([]*runtime.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var due []*fakeMsg
	for _, m := range f.msgs {
		d, ok := f.dests[key(m.ProjectID, m.DestinationID)]
		if ok && !d.Disabled && !m.NextAttempt.After(now) {
			due = append(due, m)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].seq < due[j].seq })
	var out []*runtime.OutboxMessage
	for _, m := range due[:min(limit, len(due))] {
		m.NextAttempt = now.Add(hold)
		c := m.OutboxMessage
		c.Body = slices.Clone(m.Body)
		out = append(out, &c)
	}
	return out, nil
}

func (f *fakeStore) AckMessages(_ context.Context, projectID string, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.msgs, key(projectID, id))
	}
	return nil
}

func (f *fakeStore) RetryMessage(_ context.Context, projectID, id string, attempts int, next time.Time, lastError string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.msgs[key(projectID, id)]
	if !ok {
		return runtime.Errorf(runtime.ENOTFOUND, "no message %s", id)
	}
	m.Attempts, m.NextAttempt, m.LastError = attempts, next, lastError
	return nil
}

func (f *fakeStore) CountMessages(_ context.Context, projectID, destinationID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.msgs {
		if m.ProjectID == projectID && m.DestinationID == destinationID {
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) DestinationFailed(_ context.Context, fl runtime.DestinationFailure) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fl)
	d, ok := f.dests[key(fl.ProjectID, fl.DestinationID)]
	if !ok {
		return false, runtime.Errorf(runtime.ENOTFOUND, "no destination %s", fl.DestinationID)
	}
	if d.Failures == 0 {
		d.FailingSince = fl.Now
	}
	d.Failures++
	if d.Disabled {
		return false, nil
	}
	if (fl.MaxFailures > 0 && d.Failures >= fl.MaxFailures) || (fl.Window > 0 && fl.Now.Sub(d.FailingSince) >= fl.Window) {
		d.Disabled, d.DisabledReason = true, "failing"
		if fl.Notification != nil {
			f.enqueueLocked([]*runtime.OutboxMessage{fl.Notification})
		}
		return true, nil
	}
	return false, nil
}

func (f *fakeStore) DestinationSucceeded(_ context.Context, projectID, destinationID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.dests[key(projectID, destinationID)]
	if !ok {
		return runtime.Errorf(runtime.ENOTFOUND, "no destination %s", destinationID)
	}
	d.Failures, d.FailingSince = 0, time.Time{}
	return nil
}

// message returns a copy of a queued message, or nil.
func (f *fakeStore) message(projectID, id string) *runtime.OutboxMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.msgs[key(projectID, id)]
	if !ok {
		return nil
	}
	c := m.OutboxMessage
	return &c
}

// size returns how many messages are queued.
func (f *fakeStore) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

func (f *fakeStore) failureCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures)
}

// update changes a destination in place.
func (f *fakeStore) update(projectID, id string, change func(*runtime.Destination)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f.dests[key(projectID, id)])
}
