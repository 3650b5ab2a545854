package receiver

import (
	"bytes"
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
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
	n, ok := numRecords(body)
	if err != nil || !ok {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(delivery.HeaderID)
	c.mu.Lock()
	repeat := c.seen[id]
	c.seen[id] = true
	c.mu.Unlock()
	if !repeat {
		c.records.Add(n)
		c.messages.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}

// numRecords reads a message's resultInfo.numRecords. The runtime writes
// resultInfo last, so only the message's tail is decoded: decoding a whole
// 300 KB message to count it cost the benchmarks' runtime process a fifth
// of its CPU, work that the builder's own server does, not amp. Any other
// layout is decoded whole.
func numRecords(body []byte) (int64, bool) {
	var info struct{ NumRecords int64 }
	const key = `"resultInfo":`
	if at := bytes.LastIndex(body, []byte(key)); at >= 0 {
		tail := bytes.TrimRight(body[at+len(key):], " \t\r\n")
		if len(tail) > 0 && tail[len(tail)-1] == '}' && json.Unmarshal(tail[:len(tail)-1], &info) == nil {
			return info.NumRecords, true
		}
	}
	var m struct{ ResultInfo struct{ NumRecords int64 } }
	if err := json.Unmarshal(body, &m); err != nil {
		return 0, false
	}
	return m.ResultInfo.NumRecords, true
}
