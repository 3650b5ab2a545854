package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
	"github.com/ampforge/amp/runtime/delivery/receiver"
	"github.com/ampforge/amp/runtime/server"
)

// The incremental scenarios: the installation backfills nothing (days: 0),
// every record of the fake then changes, and the scenario times the
// scheduled read that delivers the changes. The records change in the
// fake's process, so the runtime's process asks for it over HTTP, at
// touchPath on the fake's address (an endpoint of the bench, not of the
// provider's API).

// touchPath is where the fake's process takes a touchRequest.
const touchPath = "/_bench/touch"

// touchRequest asks the fake to give the first Count records of Object a
// new modified time.
type touchRequest struct {
	Object string `json:"object"`
	Count  int    `json:"count"`
}

// touchResponse lists the records touched.
type touchResponse struct {
	IDs []string `json:"ids"`
}

// touchHandler serves touchPath in the fake's process.
type touchHandler struct {
	fake fakeServer
	// mu keeps two touches from interleaving their clock moves.
	mu sync.Mutex
}

func (t *touchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req touchRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, "bad touch request: "+err.Error(), http.StatusBadRequest)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := t.fake.IDs(req.Object)
	if req.Count <= 0 || req.Count > len(ids) {
		http.Error(w, fmt.Sprintf("cannot touch %d of the %d records of %q", req.Count, len(ids), req.Object), http.StatusBadRequest)
		return
	}
	// The fake's clock only moves when records are written; a real
	// provider's moves with the wall clock. Catching up first makes the
	// changes newer than the watermark the runtime took from the wall
	// clock when the installation's (empty) backfill ran.
	if lag := time.Since(t.fake.Now()); lag > 0 {
		t.fake.Advance(lag)
	}
	ids = ids[:req.Count]
	for _, id := range ids {
		t.fake.Touch(req.Object, id)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(touchResponse{IDs: ids})
}

// touch asks the fake at base to touch count records of object.
func touch(ctx context.Context, base, object string, count int) ([]string, error) {
	b, err := json.Marshal(touchRequest{Object: object, Count: count})
	if err != nil {
		return nil, fmt.Errorf("touch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+touchPath, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("touch: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("touch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nil, fmt.Errorf("touch: the fake answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	var out touchResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("touch: %w", err)
	}
	return out.IDs, nil
}

// incrementalManifest is the provider's read manifest without a backfill:
// the installation's first read is the scheduled one measured.
func incrementalManifest(provider string) string {
	return strings.Replace(manifests[provider], "fullHistory: true", "days: 0", 1)
}

// readObject is the provider object the provider's read scenarios read.
func readObject(provider string) string {
	for name := range readObjects[provider] {
		return name
	}
	return ""
}

// idCounter is receiver.Counter that also counts the arrivals of each
// record id, so a scenario can check that every record it changed arrived
// exactly once. Repeated deliveries of one message (by webhook-id) count
// once, as a builder de-duplicating by webhook-id would.
type idCounter struct {
	records, messages atomic.Int64

	mu       sync.Mutex
	seen     map[string]bool
	arrivals map[string]int
}

func newIDCounter() *idCounter {
	return &idCounter{seen: map[string]bool{}, arrivals: map[string]int{}}
}

// Records returns the records counted so far.
func (c *idCounter) Records() int64 { return c.records.Load() }

// Messages returns the distinct messages counted so far.
func (c *idCounter) Messages() int64 { return c.messages.Load() }

func (c *idCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct {
		ResultInfo struct{ NumRecords int64 } `json:"resultInfo"`
		Result     []struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, receiver.MaxBody))
	if err != nil || json.Unmarshal(body, &m) != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(delivery.HeaderID)
	c.mu.Lock()
	repeat := c.seen[id]
	c.seen[id] = true
	if !repeat {
		for _, rec := range m.Result {
			c.arrivals[rec.ID]++
		}
	}
	c.mu.Unlock()
	if !repeat {
		c.records.Add(m.ResultInfo.NumRecords)
		c.messages.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}

// check reports how the arrivals differ from want, each record once: nil
// when they match.
func (c *idCounter) check(want []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing, repeated []string
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
		switch n := c.arrivals[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			repeated = append(repeated, id)
		}
	}
	var extra []string
	for id := range c.arrivals {
		if !wanted[id] {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(repeated)+len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	return fmt.Errorf("%d of %d changed records missing (%v), %d delivered more than once (%v), %d delivered unchanged (%v)",
		len(missing), len(want), firstN(missing, 5), len(repeated), firstN(repeated, 5), len(extra), firstN(extra, 5))
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// incStore sits between the scheduler and the store in the incremental
// scenarios. Its clock is the wall clock until jump moves it past the
// manifests' yearly schedule, and it notes when the scheduler queued the
// scheduled read: the measurement starts there, so the scheduler's
// one-second tick is not in it. The scheduler itself is unchanged.
type incStore struct {
	runtime.Store
	offset atomic.Int64 // nanoseconds ahead of the wall clock
	queued atomic.Int64 // unix nanoseconds the scheduled read was queued at
}

func (s *incStore) now() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }

// jump makes every schedule due: a year and then some.
func (s *incStore) jump() { s.offset.Add(int64(370 * 24 * time.Hour)) }

func (s *incStore) ScheduleRead(ctx context.Context, projectID, installationID, objectName string, nextRun time.Time, op *runtime.Operation) (bool, error) {
	created, err := s.Store.ScheduleRead(ctx, projectID, installationID, objectName, nextRun, op)
	if err == nil && created && op != nil && op.ReadType == runtime.ReadScheduled {
		s.queued.CompareAndSwap(0, time.Now().UnixNano())
	}
	return created, err
}

// runIncremental installs with an empty backfill, has the fake touch
// sc.Records records, makes the read due and measures from its queueing
// until the receiver counted every change; then it checks each changed
// record arrived exactly once.
func runIncremental(ctx context.Context, srv *server.Server, api *apiClient, inc *incStore, recv *idCounter, spec childSpec, integID, connID, destID string) (runResult, error) {
	sc := spec.Scenario
	var in struct{ ID string }
	if err := api.call(ctx, 201, "POST", project+"/integrations/"+integID+"/installations?skipSampling=true", map[string]any{
		"groupRef": "acme", "connectionId": connID,
		"config": map[string]any{"content": map[string]any{"provider": sc.Provider, "read": map[string]any{"objects": readObjects[sc.Provider]}}},
	}, &in); err != nil {
		return runResult{}, err
	}
	store := srv.Store()
	p, err := store.GetProjectByName(ctx, server.DefaultProject)
	if err != nil {
		return runResult{}, fmt.Errorf("project: %w", err)
	}
	if err := waitRead(ctx, store, p.ID, in.ID, runtime.ReadBackfill); err != nil {
		return runResult{}, err
	}
	if n := recv.Records(); n != 0 {
		return runResult{}, fmt.Errorf("the empty backfill delivered %d records", n)
	}
	changed, err := touch(ctx, spec.FakeURL, readObject(sc.Provider), sc.Records)
	if err != nil {
		return runResult{}, err
	}
	inc.jump()
	want := int64(len(changed))
	if err := waitRecords(ctx, recv, want); err != nil {
		return runResult{}, err
	}
	end := time.Now()
	queued := inc.queued.Load()
	if queued == 0 {
		return runResult{}, fmt.Errorf("the records arrived without a scheduled read")
	}
	rss, err := peakRSS()
	if err != nil {
		return runResult{}, err
	}
	// Exactly once: the read ended and everything it committed was
	// delivered, so nothing more can arrive.
	if err := waitRead(ctx, store, p.ID, in.ID, runtime.ReadScheduled); err != nil {
		return runResult{}, err
	}
	if err := waitOutbox(ctx, store, p.ID, destID); err != nil {
		return runResult{}, err
	}
	if err := recv.check(changed); err != nil {
		return runResult{}, fmt.Errorf("the scheduled read: %w", err)
	}
	if n := recv.Records(); n != want {
		return runResult{}, fmt.Errorf("the scheduled read delivered %d records for %d changes", n, want)
	}
	return runResult{Records: want, Seconds: end.Sub(time.Unix(0, queued)).Seconds(), Messages: recv.Messages(), PeakRSSMB: rss}, nil
}

// waitRead waits until the installation's read of readType ended, and
// fails unless it succeeded.
func waitRead(ctx context.Context, store runtime.Store, projectID, installationID string, readType runtime.ReadType) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		ops, err := store.ListOperations(ctx, projectID, runtime.OperationFilter{InstallationID: installationID, ReadType: readType, Limit: 10})
		if err != nil {
			return fmt.Errorf("list operations: %w", err)
		}
		if len(ops) > 0 && ops[0].Status.Done() {
			if ops[0].Status != runtime.OperationSuccess {
				return fmt.Errorf("the %s read ended %s: %s", readType, ops[0].Status, ops[0].Error)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s read did not end in 10 minutes", readType)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitOutbox waits until the destination's outbox is empty.
func waitOutbox(ctx context.Context, store runtime.Store, projectID, destID string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := store.CountMessages(ctx, projectID, destID)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d messages still in the outbox after 2 minutes", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
