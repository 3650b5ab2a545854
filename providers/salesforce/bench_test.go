package salesforce

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

const benchRecords = 20000

var benchFields = []string{"Name", "BillingCity", "BillingCountry", "Industry", "Phone", "Website", "AnnualRevenue", "NumberOfEmployees", "Tier__c"}

// measure runs read b.N times and reports records/s, records/op and
// mallocs per record (process-wide: the in-process fake's allocations
// are included).
func measure(b *testing.B, read func() int) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	total := 0
	b.ResetTimer()
	for b.Loop() {
		total += read()
	}
	b.StopTimer()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(total)/float64(b.N), "records/op")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(total), "allocs/record")
}

func BenchmarkFullRead(b *testing.B) {
	f := newFixture(b, fake.Options{Options: fakekit.Options{Records: benchRecords}})
	ctx := context.Background()
	measure(b, func() int {
		n := 0
		req := providers.ReadRequest{Object: "account", Fields: benchFields}
		for {
			p, err := f.client.Read(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Records)
			if p.Done {
				break
			}
			req.Cursor = p.NextCursor
		}
		if n != benchRecords {
			b.Fatalf("read %d records", n)
		}
		return n
	})
}

func BenchmarkBulkRead(b *testing.B) {
	f := newFixture(b, fake.Options{Options: fakekit.Options{Records: benchRecords}, BulkChunk: 10000})
	ctx := context.Background()
	measure(b, func() int {
		n := 0
		for _, err := range f.client.BulkRead(ctx, providers.ReadRequest{Object: "account", Fields: benchFields}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchRecords {
			b.Fatalf("read %d records", n)
		}
		return n
	})
}

// BenchmarkDecodePage measures the connector alone: decoding one captured
// 2,000-record page from the fake.
func BenchmarkDecodePage(b *testing.B) {
	f := newFixture(b, fake.Options{Options: fakekit.Options{Records: 2000}})
	soql := buildSOQL(providers.ReadRequest{Object: "account", Fields: benchFields}, true)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+v60+"/query?q="+url.QueryEscape(soql), nil)
	access, _ := f.fake.Issue()
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	measure(b, func() int {
		p, err := decodePage(body, false)
		if err != nil || len(p.Records) != 2000 {
			b.Fatalf("%v %d", err, len(p.Records))
		}
		return len(p.Records)
	})
}

// BenchmarkBulkWrite runs one Bulk API 2.0 ingest job of benchWrite
// records per op against the fake with zero latency and immediate polls:
// the CSV streamed up, the fake applying it, the results CSV mapped back.
// Inserts add records to the fake on every op; updates rewrite the same
// seeded records.
func BenchmarkBulkWrite(b *testing.B) {
	const benchWrite = 10000
	for _, op := range []providers.WriteOp{providers.WriteCreate, providers.WriteUpdate} {
		b.Run(string(op), func(b *testing.B) {
			f := newFixture(b, fake.Options{Options: fakekit.Options{Records: benchWrite}, BulkPolls: -1})
			ids := f.fake.IDs("account")
			recs := make([]providers.WriteRecord, benchWrite)
			for i := range recs {
				recs[i].Fields = map[string]any{"Name": "Bench Co " + strconv.Itoa(i), "BillingCity": "Oslo", "NumberOfEmployees": float64(i), "Tier__c": "Gold"}
				if op == providers.WriteUpdate {
					recs[i].ID = ids[i]
				}
			}
			req := providers.WriteRequest{Object: "account", Op: op, Records: recs}
			ctx := context.Background()
			measure(b, func() int {
				res, err := f.client.BulkWrite(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				for i := range res {
					if !res[i].Success {
						b.Fatalf("record %d: %+v", i, res[i])
					}
				}
				return len(res)
			})
		})
	}
}

// BenchmarkIngestClientSide measures the connector's own share of a bulk
// write: encoding the CSV upload and mapping a successfulResults CSV (as
// the fake answers it, in upload order) back to input positions.
func BenchmarkIngestClientSide(b *testing.B) {
	const n = 10000
	recs := make([]providers.WriteRecord, n)
	var results bytes.Buffer
	results.WriteString(`"sf__Id","sf__Created",BillingCity,Name,NumberOfEmployees,Tier__c`)
	for i := range recs {
		recs[i].Fields = map[string]any{"Name": "Bench Co " + strconv.Itoa(i), "BillingCity": "Oslo", "NumberOfEmployees": float64(i), "Tier__c": "Gold"}
		fmt.Fprintf(&results, "\n\"001N%011dAAA\",\"true\",\"Oslo\",\"Bench Co %d\",\"%d\",\"Gold\"", i, i, i)
	}
	req := providers.WriteRequest{Object: "account", Op: providers.WriteCreate, Records: recs}
	measure(b, func() int {
		p, err := newIngestPlan(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, newCSVBody(p)); err != nil {
			b.Fatal(err)
		}
		m := &matcher{p: p, seed: maphash.MakeSeed()}
		if err := m.consume(bytes.NewReader(results.Bytes()), resultSuccess); err != nil {
			b.Fatal(err)
		}
		for i := range p.done {
			if !p.done[i] {
				b.Fatalf("record %d has no result", i)
			}
		}
		return n
	})
}
