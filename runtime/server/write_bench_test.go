package server_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/server"
)

// BenchmarkWriteAsync10k writes 10,000 records per provider as 100
// asynchronous batches of 100 against the provider's fake (no latency, no
// rate limits) and reports records per second from the first request to
// the last operation's end, the provider write calls made against the
// fewest its batch size allows, and the share of the batch ceiling
// reached (records per call over the provider's batch size). Run with
// -benchtime=1x.
func BenchmarkWriteAsync10k(b *testing.B) {
	for _, c := range writeCases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				benchWriteAsync(b, c)
			}
		})
	}
}

func benchWriteAsync(b *testing.B, c writeCase) {
	b.StopTimer()
	const n = 10_000
	spec := c.spec()
	cw := &countWrites{syncFake: spec.fake, isWrite: c.isWrite}
	fakeSrv := httptest.NewServer(cw)
	defer fakeSrv.Close()
	recvSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer recvSrv.Close()
	access, refresh := spec.fake.Issue()
	bs := startBenchServer(b, spec.provider, fakeSrv.URL, recvSrv.URL, spec.manifest, spec.metadata, access, refresh)
	defer bs.stop()
	call, srv, ctx := bs.call, bs.srv, context.Background()
	var in instJSON
	call(201, "POST", syncProj+"/integrations/"+bs.integ.ID+"/installations?skipSampling=true", map[string]any{
		"groupRef": "acme", "connectionId": bs.conn.ID,
		"config": map[string]any{"content": map[string]any{"provider": spec.provider,
			"read": map[string]any{"objects": spec.objects}, "write": map[string]any{"objects": c.writeObjects}}},
	}, &in)
	bodies := make([]map[string]any, n/100)
	for j := range bodies {
		batch := make([]any, 100)
		for i := range batch {
			batch[i] = map[string]any{"record": c.bulk(j*100 + i)}
		}
		bodies[j] = map[string]any{"groupRef": "acme", "type": "create", "mode": "asynchronous", "batch": batch}
	}
	store := srv.Store()
	p, err := store.GetProjectByName(ctx, server.DefaultProject)
	if err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	b.StartTimer()
	for _, body := range bodies {
		call(200, "POST", syncProj+"/integrations/"+bs.integ.ID+"/objects/"+c.path, body, nil)
	}
	for {
		ops, err := store.ListOperations(ctx, p.ID, runtime.OperationFilter{InstallationID: in.ID, Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		ended := 0
		for _, op := range ops {
			if op.ActionType == runtime.ActionWrite && op.Status.Done() {
				if op.Status != runtime.OperationSuccess {
					b.Fatalf("write operation %s: %s", op.ID, op.Error)
				}
				ended++
			}
		}
		if ended == len(bodies) {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("after 10 minutes %d of %d write operations ended", ended, len(bodies))
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	calls := cw.writes.Load()
	if calls == 0 {
		b.Fatalf("no %s write call reached the fake", c.name)
	}
	fewest := math.Ceil(float64(n) / float64(c.maxBatch))
	b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(calls), "write-calls")
	b.ReportMetric(fewest, "fewest-calls")
	b.ReportMetric(float64(n)/float64(calls)/float64(c.maxBatch)*100, "%-of-batch-ceiling")
}
