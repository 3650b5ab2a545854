package receiver

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/ampforge/amp/runtime/delivery"
)

// Counter is a receiver that counts delivered records, once per
// webhook-id, without keeping them or checking signatures: benchmarks use
// it so that they measure the runtime's memory and time, not a receiver's.
type Counter struct {
	records, messages atomic.Int64
	mu                sync.Mutex
	seen              map[string]bool
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{seen: map[string]bool{}} }

// Records returns the records counted so far (resultInfo.numRecords of each
// distinct message).
func (c *Counter) Records() int64 { return c.records.Load() }

// Messages returns the distinct messages counted so far.
func (c *Counter) Messages() int64 { return c.messages.Load() }

// ServeHTTP counts one message.
func (c *Counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct {
		ResultInfo struct{ NumRecords int64 } `json:"resultInfo"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
	if err != nil || json.Unmarshal(body, &m) != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(delivery.HeaderID)
	c.mu.Lock()
	repeat := c.seen[id]
	c.seen[id] = true
	c.mu.Unlock()
	if !repeat {
		c.records.Add(m.ResultInfo.NumRecords)
		c.messages.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}
