package hubspot_test

import (
	"runtime"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
)

// BenchmarkFullRead lists every contact of a 10,000-record fake (100 a
// page, the two-ended read off) with no latency and no rate limits: the
// connector and fake's own cost. Reported: records/op, records/s and
// allocs/record (connector and in-process fake together).
func BenchmarkFullRead(b *testing.B) {
	benchRead(b, false, map[string]string{hubspot.MetadataTwoEndedRead: "off"})
}

// BenchmarkTwoEndedFullRead is a full read as it is by default. With no
// search limit every call finds a search slot free, so it searches the
// ids down, 200 a page.
func BenchmarkTwoEndedFullRead(b *testing.B) {
	benchRead(b, false, nil)
}

// BenchmarkIncrementalRead reads the same records through search (200 a
// page, keyset re-anchoring).
func BenchmarkIncrementalRead(b *testing.B) {
	benchRead(b, true, nil)
}

func benchRead(b *testing.B, incremental bool, md map[string]string) {
	const n = 10_000
	s := newSetupWith(b, fake.Options{Options: fakekit.Options{Records: n, Limits: fakekit.Limits{Window: -1, SearchPerSecond: -1}}}, nil, md)
	req := providers.ReadRequest{Object: "contacts", Fields: []string{"email", "firstname", "lastname", "phone", "city"}}
	if incremental {
		req.Since = fakekit.DefaultStart.AddDate(0, 0, -1)
	}
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	total := 0
	for b.Loop() {
		r := req
		for {
			page, err := s.conn.Read(b.Context(), r)
			if err != nil {
				b.Fatal(err)
			}
			total += len(page.Records)
			if page.Done {
				break
			}
			r.Cursor = page.NextCursor
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if total != n*b.N {
		b.Fatalf("read %d records in %d ops", total, b.N)
	}
	b.ReportMetric(float64(n), "records/op")
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(total), "allocs/record")
}
