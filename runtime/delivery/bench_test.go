package delivery_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime/delivery"
)

// BenchmarkDeliver sends b.N messages over loopback to two receivers that
// answer at once, through the in-memory store: the service's own overhead
// (claiming, signing, HTTP, acknowledging).
func BenchmarkDeliver(b *testing.B) {
	bb := setup(b, false)
	_, d1 := bb.receiver("a", func(w http.ResponseWriter, r *http.Request, attempt int) { w.WriteHeader(http.StatusOK) })
	_, d2 := bb.receiver("b", func(w http.ResponseWriter, r *http.Request, attempt int) { w.WriteHeader(http.StatusOK) })
	bb.enqueue(d1, b.N/2)
	bb.enqueue(d2, b.N-b.N/2)
	b.ResetTimer()
	bb.start(delivery.Config{PollInterval: time.Millisecond})
	for bb.store.size() > 0 {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
