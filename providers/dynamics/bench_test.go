package dynamics

import (
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
)

// BenchmarkFullRead reads 50,000 accounts in 5,000-row pages from the fake
// with zero latency and no rate limits; it reports records per second and
// allocations per record (the fake's own work included, since it runs in
// the same process).
func BenchmarkFullRead(b *testing.B) {
	const n = 50000
	f := newFixture(b, fake.Options{Options: fakekit.Options{Records: n, Limits: fakekit.Limits{Window: -1, Concurrency: -1}}, ExecTime: -1})
	fields := []string{"name", "accountnumber", "emailaddress1", "telephone1", "address1_city", "industrycode", "revenue", "new_tier"}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	total := 0
	for b.Loop() {
		req := providers.ReadRequest{Object: "accounts", Fields: fields}
		for {
			p, err := f.client.Read(b.Context(), req)
			if err != nil {
				b.Fatal(err)
			}
			total += len(p.Records)
			if p.Done {
				break
			}
			req.Cursor = p.NextCursor
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(total)/float64(b.N), "records/op")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
}
