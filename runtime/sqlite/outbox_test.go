package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// benchEngine is a store with one leased operation and one destination:
// what the engine writes to and delivery reads from.
type benchEngine struct {
	s     *Store
	dest  *runtime.Destination
	lease runtime.Lease
}

func newBenchEngine(b *testing.B) *benchEngine {
	b.Helper()
	ctx := b.Context()
	s := openTest(b)
	p := &runtime.Project{Name: "bench", AppName: "Bench"}
	if err := s.CreateProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	res, err := s.DeployIntegrations(ctx, p.ID, []runtime.IntegrationDeploy{{Name: "x", Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte("a: 1\n")}})
	if err != nil {
		b.Fatal(err)
	}
	c := &runtime.Connection{ProjectID: p.ID, Provider: "salesforce", GroupRef: "g", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode,
		Status: runtime.ConnectionCreated, Tokens: []byte("t")}
	if err := s.CreateConnection(ctx, c); err != nil {
		b.Fatal(err)
	}
	in := &runtime.Installation{ProjectID: p.ID, IntegrationID: res[0].Integration.ID, GroupRef: "g", ConnectionID: c.ID,
		Config: runtime.InstallationConfig{Content: runtime.ConfigContent{Provider: "salesforce"}}}
	if err := s.CreateInstallation(ctx, in); err != nil {
		b.Fatal(err)
	}
	d := &runtime.Destination{ProjectID: p.ID, Name: "hook", Type: runtime.DestinationWebhook, Metadata: runtime.DestinationMetadata{URL: "https://x"}}
	if err := s.CreateDestination(ctx, d); err != nil {
		b.Fatal(err)
	}
	op := &runtime.Operation{ProjectID: p.ID, IntegrationID: in.IntegrationID, InstallationID: in.ID, ObjectName: "account",
		ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}
	if err := s.CreateOperation(ctx, op, true); err != nil {
		b.Fatal(err)
	}
	if _, err := s.ClaimOperation(ctx, "bench", time.Now().Add(time.Minute), time.Hour); err != nil {
		b.Fatal(err)
	}
	return &benchEngine{s: s, dest: d, lease: runtime.Lease{ProjectID: p.ID, OperationID: op.ID, Owner: "bench"}}
}

// body returns a JSON-like body of about size bytes, different for each n.
func benchBody(n, size int) []byte {
	rec := fmt.Appendf(nil, `{"id":"001%012d","fields":{"name":"Account %d","industry":"Manufacturing","phone":"+1 555 0100"},"raw":{"Id":"001%012d"}},`, n, n, n)
	out := make([]byte, 0, size+len(rec))
	out = append(out, `{"result":[`...)
	for len(out) < size {
		out = append(out, rec...)
	}
	return append(out[:len(out)-1], "]}"...)
}

// benchCommitPage commits pages of msgs messages of size bytes, claims and
// acks them: the engine's and delivery's store work for one page.
func benchCommitPage(b *testing.B, msgs, size int) {
	e := newBenchEngine(b)
	ctx := b.Context()
	bodies := make([][]byte, msgs)
	for i := range bodies {
		bodies[i] = benchBody(i, size)
	}
	b.SetBytes(int64(msgs * size))
	b.ReportAllocs()
	b.ResetTimer()
	var processed int64
	for i := 0; b.Loop(); i++ {
		page := make([]*runtime.OutboxMessage, msgs)
		for j := range page {
			page[j] = &runtime.OutboxMessage{ProjectID: e.lease.ProjectID, DestinationID: e.dest.ID, OperationID: e.lease.OperationID,
				Body: bodies[j]}
		}
		processed += 2000
		if err := e.s.CommitPage(ctx, runtime.PageCommit{Lease: e.lease, Checkpoint: fmt.Appendf(nil, `{"page":%d}`, i),
			Processed: processed, Estimated: -1, Messages: page}); err != nil {
			b.Fatal(err)
		}
		claimed, err := e.s.ClaimMessages(ctx, time.Now().Add(time.Minute), time.Minute, msgs)
		if err != nil {
			b.Fatal(err)
		}
		if len(claimed) != msgs {
			b.Fatalf("claimed %d messages, want %d", len(claimed), msgs)
		}
		ids := make([]string, len(claimed))
		for j, m := range claimed {
			ids[j] = m.ID
		}
		if err := e.s.AckMessages(ctx, e.lease.ProjectID, ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitPage moves 2,000 records' worth of bodies per page (7
// messages of 280 KB, Salesforce-sized records) through the outbox: commit,
// claim, ack. MB/s is body bytes.
func BenchmarkCommitPage(b *testing.B) { benchCommitPage(b, 7, 280<<10) }

// BenchmarkCommitPageSmall is the other shape of a page: many small
// messages (300 of 4 KB), where per-row costs dominate.
func BenchmarkCommitPageSmall(b *testing.B) { benchCommitPage(b, 300, 4<<10) }
