package fakekit

import (
	"sync"
	"time"
)

// Clock is a fake's settable clock. Records written now get Now() as their
// modified time, so tests control incremental windows exactly.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to start (truncated to the millisecond, as
// providers report times).
func NewClock(start time.Time) *Clock { return &Clock{now: start.UTC().Truncate(time.Millisecond)} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d. A negative d is ignored: the
// store's write log relies on time only moving forward.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Tick advances the clock by step and returns the new time, so each write
// gets a distinct, increasing modified time strictly after any Now() read
// before it, and Now() afterwards is the time of the latest write.
func (c *Clock) Tick(step time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(step)
	return c.now
}
