package delivery_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/delivery"
)

// failTwice answers the first two attempts of each message with fail, then
// 204.
func failTwice(fail func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request, attempt int) {
	return func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt <= 2 {
			fail(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func status(code int) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

// TestFaultRetry makes each kind of transient failure twice: the message is
// sent again with the same webhook-id, a fresh timestamp and signature, and
// after the back-off, then delivered.
func TestFaultRetry(t *testing.T) {
	t.Parallel()
	const timeout = 5 * time.Second
	for name, tc := range map[string]struct {
		fail      func(w http.ResponseWriter, r *http.Request)
		lastError string
	}{
		"500": {status(http.StatusInternalServerError), "HTTP 500"},
		"503": {status(http.StatusServiceUnavailable), "HTTP 503"},
		"408": {status(http.StatusRequestTimeout), "HTTP 408"},
		"429": {status(http.StatusTooManyRequests), "HTTP 429"},
		"network": {func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}, "EOF"},
		"timeout": {func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2 * timeout)
		}, "timeout"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, true)
				rc, d := b.receiver("crm", failTwice(tc.fail))
				id := b.enqueue(d, 1)[0]
				svc, _ := b.start(delivery.Config{Timeout: timeout, InitialBackoff: time.Second, MaxBackoff: time.Minute})

				waitFor(t, time.Minute, "first attempt", func() bool { return rc.count() == 1 })
				synctest.Wait()
				if name == "timeout" {
					time.Sleep(timeout + time.Millisecond)
					synctest.Wait()
				}
				m := b.store.message(d.ProjectID, id)
				if m == nil || m.Attempts != 1 || !strings.Contains(m.LastError, tc.lastError) {
					t.Fatalf("after one failure the message is %+v, want attempts 1 and an error with %q", m, tc.lastError)
				}

				waitFor(t, time.Hour, "delivery", func() bool { return b.store.size() == 0 })
				reqs := rc.requests()
				if len(reqs) != 3 {
					t.Fatalf("receiver got %d requests, want 3", len(reqs))
				}
				for i, r := range reqs {
					if r.id != id {
						t.Errorf("attempt %d has webhook-id %q, want %q", i+1, r.id, id)
					}
				}
				// The wait before attempt n+1 is at least half of
				// InitialBackoff*2^(n-1), and a timed-out attempt ends
				// timeout after it started.
				var spent time.Duration
				if name == "timeout" {
					spent = timeout
				}
				for i, minWait := range []time.Duration{500 * time.Millisecond, time.Second} {
					if gap := reqs[i+1].at.Sub(reqs[i].at); gap < spent+minWait {
						t.Errorf("attempt %d came %s after the previous one, want at least %s", i+2, gap, spent+minWait)
					}
				}
				if reqs[0].header.Get("webhook-timestamp") == reqs[2].header.Get("webhook-timestamp") ||
					reqs[0].header.Get("webhook-signature") == reqs[2].header.Get("webhook-signature") {
					t.Errorf("a retry reused the first attempt's timestamp or signature")
				}
				if s := svc.Stats(); s.Delivered != 1 || s.Failed != 2 {
					t.Errorf("Stats = %+v, want 1 delivered, 2 failed", s)
				}
			})
		})
	}
}

// TestFaultRetryAfter: a 429 with Retry-After in seconds and a 503 with an
// HTTP date are waited for, instead of the (shorter) back-off.
func TestFaultRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		rc, d := b.receiver("crm", func(w http.ResponseWriter, r *http.Request, attempt int) {
			switch attempt {
			case 1:
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
			case 2:
				w.Header().Set("Retry-After", time.Now().Add(20*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			default:
				w.WriteHeader(http.StatusOK)
			}
		})
		b.enqueue(d, 1)
		b.start(delivery.Config{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, PollInterval: 100 * time.Millisecond})
		waitFor(t, time.Hour, "delivery", func() bool { return b.store.size() == 0 })
		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("receiver got %d requests, want 3", len(reqs))
		}
		for i, want := range []time.Duration{7 * time.Second, 20 * time.Second} {
			gap := reqs[i+1].at.Sub(reqs[i].at)
			// An HTTP date has a resolution of one second; the poll adds
			// up to 100ms.
			if gap < want-time.Second || gap > want+200*time.Millisecond {
				t.Errorf("attempt %d came %s after the previous one, want about %s (Retry-After)", i+2, gap, want)
			}
		}
	})
}

// TestFaultRefused: a 4xx other than 408 and 429 is retried all the same,
// counted against the destination, and logged with its status and the first
// 512 bytes of the response.
func TestFaultRefused(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		head := strings.Repeat("x", 500) + "END-OF-HEAD!"
		rc, d := b.receiver("crm", func(w http.ResponseWriter, r *http.Request, attempt int) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(head + "TAIL-NOT-LOGGED"))
		})
		id := b.enqueue(d, 1)[0]
		b.start(delivery.Config{InitialBackoff: time.Second})
		waitFor(t, time.Hour, "a retry", func() bool { return rc.count() >= 2 })
		synctest.Wait()
		m := b.store.message(d.ProjectID, id)
		if m == nil || m.Attempts < 1 || !strings.Contains(m.LastError, "HTTP 400") {
			t.Fatalf("message is %+v, want it kept with attempts and HTTP 400", m)
		}
		got, _ := b.store.GetDestination(context.Background(), d.ProjectID, d.ID)
		if got.Failures < 1 {
			t.Errorf("destination failures = %d, want the refusals counted", got.Failures)
		}
		logs := b.logs.String()
		if !strings.Contains(logs, "status=400") || !strings.Contains(logs, "END-OF-HEAD!") {
			t.Errorf("logs lack the status or the response's first 512 bytes:\n%s", logs)
		}
		if strings.Contains(logs, "TAIL-NOT-LOGGED") {
			t.Errorf("logs hold more than 512 bytes of the response")
		}
	})
}

// TestFaultDisable: a destination that keeps failing is disabled after
// MaxFailures, the notification destination gets exactly one
// destination.webhook.disabled notification, the messages are kept and
// not sent while it is disabled, and re-enabling it delivers them.
func TestFaultDisable(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		alerts, ad := b.receiver("alerts", nil)
		b.store.update(ad.ProjectID, ad.ID, func(d *runtime.Destination) { d.ReceivesNotifications = true })
		crm, cd := b.receiver("crm", func(w http.ResponseWriter, r *http.Request, attempt int) {
			w.WriteHeader(http.StatusInternalServerError)
		})
		ids := b.enqueue(cd, 5)
		svc, _ := b.start(delivery.Config{MaxFailures: 3, Window: time.Hour})

		disabled := func() bool {
			d, _ := b.store.GetDestination(context.Background(), cd.ProjectID, cd.ID)
			return d.Disabled
		}
		waitFor(t, time.Hour, "the destination disabled", disabled)
		waitFor(t, time.Minute, "the notification", func() bool { return alerts.count() > 0 })
		synctest.Wait()
		sent := crm.count()
		time.Sleep(2 * time.Hour)
		if n := crm.count(); n != sent {
			t.Errorf("the disabled destination got %d more requests", n-sent)
		}
		if n, _ := b.store.CountMessages(context.Background(), cd.ProjectID, cd.ID); n != 5 {
			t.Errorf("%d messages kept for the disabled destination, want 5", n)
		}
		if s := svc.Stats(); s.Disabled != 1 {
			t.Errorf("Stats = %+v, want 1 disabled", s)
		}
		b.store.mu.Lock()
		for _, f := range b.store.failures {
			if f.MaxFailures != 3 || f.Window != time.Hour {
				t.Errorf("DestinationFailed got MaxFailures %d, Window %s; want 3, 1h", f.MaxFailures, f.Window)
			}
		}
		b.store.mu.Unlock()

		notes := alerts.requests()
		if len(notes) != 1 {
			t.Fatalf("notification destination got %d requests, want 1", len(notes))
		}
		var note struct {
			NotificationType string            `json:"notificationType"`
			Data             map[string]string `json:"data"`
		}
		if err := json.Unmarshal(notes[0].body, &note); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"projectId": cd.ProjectID, "destinationId": cd.ID, "destinationName": "crm", "url": cd.Metadata.URL}
		if note.NotificationType != delivery.NotificationDestinationWebhookDisabled || !maps.Equal(note.Data, want) {
			t.Errorf("notification = %+v, want destination.webhook.disabled with %v", note, want)
		}

		// Fixed and re-enabled: everything queued is delivered.
		crm.setRespond(nil)
		b.store.enable(cd.ProjectID, cd.ID)
		svc.Notify()
		waitFor(t, time.Minute, "delivery after re-enabling", func() bool { return b.store.size() == 0 })
		got := map[string]bool{}
		for _, r := range crm.requests()[sent:] {
			got[r.id] = true
		}
		for _, id := range ids {
			if !got[id] {
				t.Errorf("message %s not delivered after re-enabling", id)
			}
		}
		if d, _ := b.store.GetDestination(context.Background(), cd.ProjectID, cd.ID); d.Failures != 0 {
			t.Errorf("failures = %d after deliveries, want 0", d.Failures)
		}
		if alerts.count() != 1 {
			t.Errorf("notification destination got %d requests, want still 1", alerts.count())
		}
	})
}

// TestFaultDisableWithoutNotificationDestination: no notification
// destination, so the disabling is only logged.
func TestFaultDisableWithoutNotificationDestination(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		_, cd := b.receiver("crm", func(w http.ResponseWriter, r *http.Request, attempt int) {
			w.WriteHeader(http.StatusBadGateway)
		})
		b.enqueue(cd, 2)
		b.start(delivery.Config{MaxFailures: 2})
		waitFor(t, time.Hour, "the destination disabled", func() bool {
			d, _ := b.store.GetDestination(context.Background(), cd.ProjectID, cd.ID)
			return d.Disabled
		})
		synctest.Wait()
		if n := b.store.size(); n != 2 {
			t.Errorf("%d messages queued, want the 2 kept and no notification", n)
		}
		if !strings.Contains(b.logs.String(), "destination disabled") {
			t.Errorf("the disabling was not logged")
		}
	})
}

// TestFaultNoRedirect: a redirect is a failure; its target is never sent
// the message.
func TestFaultNoRedirect(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		target, _ := b.receiver("elsewhere", nil)
		rc, d := b.receiver("crm", func(w http.ResponseWriter, r *http.Request, attempt int) {
			if attempt == 1 {
				http.Redirect(w, r, target.srv.URL+"/hook", http.StatusTemporaryRedirect)
				return
			}
			http.Redirect(w, r, "/moved", http.StatusFound)
		})
		id := b.enqueue(d, 1)[0]
		b.start(delivery.Config{})
		waitFor(t, time.Hour, "a retry", func() bool { return rc.count() >= 2 })
		synctest.Wait()
		if n := target.count(); n != 0 {
			t.Errorf("the redirect target got %d requests", n)
		}
		for _, r := range rc.requests() {
			if r.id != id {
				t.Errorf("unexpected request %s (a followed redirect?)", r.id)
			}
		}
		m := b.store.message(d.ProjectID, id)
		if m == nil || !strings.Contains(m.LastError, "redirects are not followed") {
			t.Errorf("message = %+v, want it kept with a redirect error", m)
		}
	})
}

// TestFaultSecretUnusable: a secret sealed for another destination does
// not open; the message is kept and nothing is sent.
func TestFaultSecretUnusable(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, true)
		rc, d := b.receiver("crm", nil)
		other := b.destination("other", "http://unused.test/", newSecret())
		b.store.update(d.ProjectID, d.ID, func(d *runtime.Destination) { d.SigningSecret = other.SigningSecret })
		id := b.enqueue(d, 1)[0]
		b.start(delivery.Config{})
		waitFor(t, time.Hour, "an attempt", func() bool {
			m := b.store.message(d.ProjectID, id)
			return m != nil && m.Attempts > 0
		})
		if rc.count() != 0 {
			t.Errorf("receiver got %d requests, want none", rc.count())
		}
		if d2, _ := b.store.GetDestination(context.Background(), d.ProjectID, d.ID); d2.Failures != 0 {
			t.Errorf("a server-side failure counted against the destination")
		}
	})
}
