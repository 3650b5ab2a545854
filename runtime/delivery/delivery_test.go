package delivery_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
)

// TestSignatureDelivered sends messages over loopback and checks them with
// the independent verifier, given the secret string the builder is shown.
func TestSignatureDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	rc, d := b.receiver("crm", nil)
	ids := b.enqueue(d, 3)
	svc, _ := b.start(delivery.Config{PollInterval: 10 * time.Millisecond})
	waitFor(t, 10*time.Second, "delivery", func() bool { return b.store.size() == 0 })
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		if !json.Valid(r.body) {
			t.Errorf("body %q is not JSON", r.body)
		}
		if !slices.Contains(ids, r.id) {
			t.Errorf("webhook-id %q is not a queued message's ID", r.id)
		}
		if err := verifyWebhook(rc.secret, r.header, r.body, time.Now()); err != nil {
			t.Errorf("verify: %v", err)
		}
	}
	if s := svc.Stats(); s.Delivered != 3 || s.Failed != 0 {
		t.Errorf("Stats = %+v, want 3 delivered, 0 failed", s)
	}
}

// TestDeliverMany sends hundreds of messages to three destinations whose
// receivers fail some first attempts after having processed them: the
// receivers, de-duplicating on webhook-id, see every message exactly once,
// and the in-flight bounds hold.
func TestDeliverMany(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const perDest, overall, each = 3, 7, 100
		b := setup(t, true)
		var mu sync.Mutex
		active, maxActive := 0, 0
		respond := func(w http.ResponseWriter, r *http.Request, attempt int) {
			mu.Lock()
			active++
			maxActive = max(maxActive, active)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			active--
			mu.Unlock()
			h := fnv.New32a()
			h.Write([]byte(r.Header.Get("webhook-id")))
			if attempt == 1 && h.Sum32()%5 == 0 {
				// Processed, but the acknowledgement is lost.
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusOK)
		}
		var rcs []*receiver
		var want []string
		for _, name := range []string{"a", "b", "c"} {
			rc, d := b.receiver(name, respond)
			rcs = append(rcs, rc)
			want = append(want, b.enqueue(d, each)...)
		}
		svc, _ := b.start(delivery.Config{Concurrency: overall, PerDestination: perDest,
			InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, PollInterval: 100 * time.Millisecond})
		waitFor(t, time.Hour, "every message delivered", func() bool { return b.store.size() == 0 })

		seen := map[string]bool{}
		total := 0
		for _, rc := range rcs {
			reqs := rc.requests()
			total += len(reqs)
			for _, r := range reqs {
				seen[r.id] = true
			}
			if m := rc.maxInFlight(); m > perDest {
				t.Errorf("a receiver had %d requests in flight, want at most %d", m, perDest)
			}
		}
		mu.Lock()
		if maxActive > overall {
			t.Errorf("%d requests were in flight, want at most %d", maxActive, overall)
		}
		mu.Unlock()
		for _, id := range want {
			if !seen[id] {
				t.Errorf("message %s never arrived", id)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("receivers saw %d distinct ids, want %d", len(seen), len(want))
		}
		s := svc.Stats()
		if s.Delivered != int64(len(want)) || s.Failed != int64(total-len(want)) || s.Failed == 0 {
			t.Errorf("Stats = %+v, want %d delivered and %d failed (> 0)", s, len(want), total-len(want))
		}
	})
}

func TestDeliverExtraHeaders(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		rc, d := b.receiver("crm", nil)
		b.store.update(d.ProjectID, d.ID, func(d *runtime.Destination) {
			d.Metadata.Headers = map[string]string{
				"X-Tenant":          "t1",
				"Authorization":     "Bearer receiver-token",
				"webhook-signature": "v1,Zm9yZ2Vk",
				"Webhook-Id":        "forged",
				"WEBHOOK-TIMESTAMP": "1",
				"content-type":      "text/plain",
			}
		})
		ids := b.enqueue(d, 1)
		b.start(delivery.Config{})
		waitFor(t, time.Minute, "delivery", func() bool { return b.store.size() == 0 })
		reqs := rc.requests()
		if len(reqs) != 1 {
			t.Fatalf("receiver got %d requests, want 1", len(reqs))
		}
		h := reqs[0].header
		for k, want := range map[string]string{
			"X-Tenant":      "t1",
			"Authorization": "Bearer receiver-token",
			"Webhook-Id":    ids[0],
			"Content-Type":  "application/json",
		} {
			if got := h.Values(k); len(got) != 1 || got[0] != want {
				t.Errorf("header %s = %q, want [%q]", k, got, want)
			}
		}
		for _, k := range []string{"Webhook-Signature", "Webhook-Timestamp"} {
			if got := h.Values(k); len(got) != 1 {
				t.Errorf("header %s = %q, want one value", k, got)
			}
		}
		if ts, _ := strconv.ParseInt(h.Get("Webhook-Timestamp"), 10, 64); ts != time.Now().Unix() {
			t.Errorf("webhook-timestamp = %d, want now (%d)", ts, time.Now().Unix())
		}
	})
}

// TestDeliverNotify shows Notify wakes the loop long before its poll.
func TestDeliverNotify(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		rc, d := b.receiver("crm", nil)
		svc, _ := b.start(delivery.Config{PollInterval: time.Hour})
		time.Sleep(time.Second) // the first claim found nothing
		start := time.Now()
		b.enqueue(d, 2)
		svc.Notify()
		svc.Notify() // never blocks
		waitFor(t, time.Minute, "delivery", func() bool { return b.store.size() == 0 })
		if took := time.Since(start); took > time.Second {
			t.Errorf("delivery after Notify took %s", took)
		}
		if rc.count() != 2 {
			t.Errorf("receiver got %d requests, want 2", rc.count())
		}
	})
}

// TestDeliverStopsOnCancel cancels Run while requests are in flight: they
// finish and are acknowledged, the messages claimed but not sent are due
// again at once, and no goroutine outlives Run (synctest.Test fails when a
// goroutine of the bubble is left blocked).
func TestDeliverStopsOnCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		rc, d := b.receiver("crm", func(w http.ResponseWriter, r *http.Request, attempt int) {
			time.Sleep(3 * time.Second)
			w.WriteHeader(http.StatusOK)
		})
		b.enqueue(d, 10)
		svc, stop := b.start(delivery.Config{Concurrency: 2, PerDestination: 2})
		waitFor(t, time.Minute, "two requests in flight", func() bool { return rc.count() == 2 })
		start := time.Now()
		stop()
		if took := time.Since(start); took <= 0 || took > 3*time.Second {
			t.Errorf("Run returned after %s, want the in-flight requests' remaining time", took)
		}
		if s := svc.Stats(); s.Delivered != 2 {
			t.Errorf("Stats = %+v, want the 2 in-flight messages delivered", s)
		}
		if n := b.store.size(); n != 8 {
			t.Errorf("%d messages left, want 8", n)
		}
		if msgs, _ := b.store.ClaimMessages(context.Background(), time.Now(), time.Minute, 100); len(msgs) != 8 {
			t.Errorf("%d messages due after stop, want all 8", len(msgs))
		}
		// Idle: Run returns at once.
		_, stop = b.start(delivery.Config{})
		time.Sleep(time.Second)
		start = time.Now()
		stop()
		if took := time.Since(start); took != 0 {
			t.Errorf("idle Run took %s to stop", took)
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	for name, cfg := range map[string]delivery.Config{
		"no store":           {Sealer: b.sealer},
		"no sealer":          {Store: b.store},
		"hold below timeout": {Store: b.store, Sealer: b.sealer, Timeout: time.Minute, Hold: time.Second},
		"backoff inverted":   {Store: b.store, Sealer: b.sealer, InitialBackoff: time.Hour, MaxBackoff: time.Minute},
		"negative":           {Store: b.store, Sealer: b.sealer, Concurrency: -1},
	} {
		if _, err := delivery.New(cfg); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
	svc, err := delivery.New(delivery.Config{Store: b.store, Sealer: b.sealer})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := svc.Run(ctx); err != nil {
		t.Errorf("Run with a cancelled context = %v, want nil", err)
	}
}
