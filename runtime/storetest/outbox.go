package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// msg returns a message for the destination with a recognisable body.
func msg(d *runtime.Destination, body string) *runtime.OutboxMessage {
	return &runtime.OutboxMessage{ProjectID: d.ProjectID, DestinationID: d.ID, Body: []byte(body)}
}

func (f *fixture) enqueue(t *testing.T, msgs ...*runtime.OutboxMessage) {
	t.Helper()
	noErr(t, "EnqueueMessages", f.s.EnqueueMessages(f.ctx, msgs))
}

func (f *fixture) count(t *testing.T, d *runtime.Destination) int {
	t.Helper()
	n, err := f.s.CountMessages(f.ctx, d.ProjectID, d.ID)
	noErr(t, "CountMessages", err)
	return n
}

// claimMsgs claims up to limit messages at now, held for an hour.
func (f *fixture) claimMsgs(t *testing.T, now time.Time, limit int) []*runtime.OutboxMessage {
	t.Helper()
	ms, err := f.s.ClaimMessages(f.ctx, now, time.Hour, limit)
	noErr(t, "ClaimMessages", err)
	return ms
}

func bodiesOf(ms []*runtime.OutboxMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Body))
	}
	return out
}

func idsOf(ms []*runtime.OutboxMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// soon is a "now" after every store-set time of a test: messages enqueued
// with a zero NextAttempt are due at it.
func soon() time.Time { return time.Now().Add(clockSlack) }

var outboxTests = []test{
	{"EnqueueClaimAck", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		big := bytes.Repeat([]byte("x"), 300<<10)
		ms := []*runtime.OutboxMessage{msg(d, `{"n":1}`), msg(d, `{"n":2}`), {ProjectID: f.a.ID, DestinationID: d.ID, OperationID: "op-1", Body: big}}
		before := time.Now()
		f.enqueue(t, ms...)
		after := time.Now()
		for i, m := range ms {
			if m.ID == "" {
				t.Fatalf("message %d has no ID", i)
			}
			wantTime(t, "CreateTime", m.CreateTime, before, after)
			wantTime(t, "NextAttempt (zero: now)", m.NextAttempt, before, after)
		}
		same(t, "CountMessages", 3, f.count(t, d))

		now := soon()
		got := f.claimMsgs(t, now, 2)
		same(t, "first claim (oldest first)", []string{`{"n":1}`, `{"n":2}`}, bodiesOf(got))
		want := *ms[0]
		want.NextAttempt = runtime.Millis(now.Add(time.Hour))
		same(t, "claimed message", &want, got[0])
		got = f.claimMsgs(t, now, 10)
		if len(got) != 1 || !bytes.Equal(got[0].Body, big) || got[0].OperationID != "op-1" {
			t.Fatalf("second claim = %d messages, want the 300 KB one", len(got))
		}
		if got := f.claimMsgs(t, now, 10); len(got) != 0 {
			t.Fatalf("claimed %d messages that another claim holds", len(got))
		}
		// The hold ends: the unacknowledged messages are due again.
		got = f.claimMsgs(t, now.Add(time.Hour), 10)
		same(t, "claim after the hold", idsOf(ms), idsOf(got))

		noErr(t, "AckMessages", f.s.AckMessages(f.ctx, f.a.ID, []string{ms[0].ID, ms[2].ID}))
		same(t, "CountMessages after the ack", 1, f.count(t, d))
		noErr(t, "AckMessages again (idempotent)", f.s.AckMessages(f.ctx, f.a.ID, []string{ms[0].ID}))
		noErr(t, "AckMessages(none)", f.s.AckMessages(f.ctx, f.a.ID, nil))
		got = f.claimMsgs(t, now.Add(3*time.Hour), 10)
		same(t, "claim after the ack", []string{ms[1].ID}, idsOf(got))
		if got := f.claimMsgs(t, now, 0); len(got) != 0 {
			t.Fatalf("ClaimMessages(limit 0) = %d messages", len(got))
		}
	}},
	{"EnqueueRules", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		e := f.destination(t, f.a.ID, "other")
		first := msg(d, `first`)
		first.ID = "page-1"
		f.enqueue(t, first)
		// An ID already queued, or repeated in the batch, is skipped; the
		// same ID in another project is another message.
		dup := msg(d, `dup`)
		dup.ID = "page-1"
		rep1, rep2 := msg(e, `rep1`), msg(e, `rep2`)
		rep1.ID, rep2.ID = "page-2", "page-2"
		dB := f.destination(t, f.b.ID, "hook")
		inB := msg(dB, `b`)
		inB.ID = "page-1"
		future := msg(e, `future`)
		future.NextAttempt = time.Now().Add(24 * time.Hour)
		f.enqueue(t, dup, rep1, rep2, inB, future)
		same(t, "messages for d", 1, f.count(t, d))
		same(t, "messages for e", 2, f.count(t, e))
		same(t, "messages for B's destination", 1, f.count(t, dB))
		got, err := f.s.ClaimMessages(f.ctx, soon(), 48*time.Hour, 10)
		noErr(t, "ClaimMessages", err)
		same(t, "due messages (the future one waits)", []string{`first`, `rep1`, `b`}, bodiesOf(got))
		got = f.claimMsgs(t, future.NextAttempt, 10)
		same(t, "claim at the future time", []string{`future`}, bodiesOf(got))

		for _, tc := range []struct {
			name string
			m    *runtime.OutboxMessage
			code string
		}{
			{"no project", &runtime.OutboxMessage{DestinationID: d.ID, Body: []byte(`{}`)}, runtime.EINVALID},
			{"no destination", &runtime.OutboxMessage{ProjectID: f.a.ID, Body: []byte(`{}`)}, runtime.EINVALID},
			{"unknown destination", &runtime.OutboxMessage{ProjectID: f.a.ID, DestinationID: runtime.NewID(), Body: []byte(`{}`)}, runtime.ENOTFOUND},
			{"another project's destination", &runtime.OutboxMessage{ProjectID: f.a.ID, DestinationID: dB.ID, Body: []byte(`{}`)}, runtime.ENOTFOUND},
		} {
			// Atomic: the valid message of the batch is not enqueued either.
			err := f.s.EnqueueMessages(f.ctx, []*runtime.OutboxMessage{msg(d, `ok`), tc.m})
			wantCode(t, "EnqueueMessages: "+tc.name, err, tc.code)
		}
		same(t, "messages for d after refused batches", 1, f.count(t, d))
		same(t, "messages for B's destination after refused batches", 1, f.count(t, dB))
		_, err = f.s.CountMessages(f.ctx, f.a.ID, runtime.NewID())
		wantCode(t, "CountMessages(unknown destination)", err, runtime.ENOTFOUND)
	}},
	{"Retry", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		m1, m2 := msg(d, `one`), msg(d, `two`)
		f.enqueue(t, m1, m2)
		now := soon()
		f.claimMsgs(t, now, 10)
		next := now.Add(10 * time.Minute)
		noErr(t, "RetryMessage", f.s.RetryMessage(f.ctx, f.a.ID, m1.ID, 1, next, "503 Service Unavailable"))
		noErr(t, "RetryMessage", f.s.RetryMessage(f.ctx, f.a.ID, m2.ID, 1, now.Add(20*time.Minute), "timeout"))
		if got := f.claimMsgs(t, next.Add(-time.Millisecond), 10); len(got) != 0 {
			t.Fatalf("claimed %d messages before their retry time", len(got))
		}
		got := f.claimMsgs(t, next, 10)
		if len(got) != 1 || got[0].ID != m1.ID || got[0].Attempts != 1 || got[0].LastError != "503 Service Unavailable" {
			t.Fatalf("claim at the retry time = %+v", got)
		}
		// A retried message that is due again comes after an earlier due one.
		noErr(t, "RetryMessage", f.s.RetryMessage(f.ctx, f.a.ID, m1.ID, 2, now.Add(30*time.Minute), "503 again"))
		got = f.claimMsgs(t, now.Add(time.Hour), 10)
		same(t, "claim of both, earlier next attempt first", []string{m2.ID, m1.ID}, idsOf(got))
		if got[1].Attempts != 2 || got[1].LastError != "503 again" {
			t.Fatalf("retried message = %+v", got[1])
		}
		wantCode(t, "RetryMessage(unknown)", f.s.RetryMessage(f.ctx, f.a.ID, runtime.NewID(), 1, next, "x"), runtime.ENOTFOUND)
		noErr(t, "AckMessages", f.s.AckMessages(f.ctx, f.a.ID, []string{m1.ID}))
		wantCode(t, "RetryMessage(acknowledged)", f.s.RetryMessage(f.ctx, f.a.ID, m1.ID, 3, next, "x"), runtime.ENOTFOUND)
	}},
	{"ConcurrentClaims", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		dB := f.destination(t, f.b.ID, "hook")
		const n = 200
		var ms []*runtime.OutboxMessage
		for i := range n {
			dest := d
			if i%4 == 0 {
				dest = dB
			}
			ms = append(ms, msg(dest, fmt.Sprintf(`{"n":%d}`, i)))
		}
		f.enqueue(t, ms...)
		now := soon()
		var mu sync.Mutex
		claims := map[string]int{}
		errs := parallel(writers, func(int) error {
			for {
				got, err := f.s.ClaimMessages(f.ctx, now, time.Hour, 7)
				if err != nil {
					return err
				}
				if len(got) == 0 {
					return nil
				}
				mu.Lock()
				for _, m := range got {
					claims[m.ID]++
				}
				mu.Unlock()
			}
		})
		for w, err := range errs {
			noErr(t, fmt.Sprintf("claimer %d", w), err)
		}
		for _, m := range ms {
			if claims[m.ID] != 1 {
				t.Errorf("message %s claimed %d times, want once", m.Body, claims[m.ID])
			}
		}
		same(t, "claimed messages", n, len(claims))
	}},
	{"DisabledDestinationSkipped", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "failing")
		ok := f.destination(t, f.a.ID, "ok")
		d1, d2 := msg(d, `d1`), msg(d, `d2`)
		f.enqueue(t, d1, msg(ok, `ok1`), d2)
		now := soon()
		got := f.claimMsgs(t, now, 1)
		same(t, "first claim", []string{`d1`}, bodiesOf(got))
		noErr(t, "RetryMessage", f.s.RetryMessage(f.ctx, f.a.ID, d1.ID, 1, now.Add(24*time.Hour), "500"))
		disabled, err := f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: d.ID, Now: now, MaxFailures: 1})
		noErr(t, "DestinationFailed", err)
		if !disabled {
			t.Fatal("DestinationFailed with MaxFailures 1 did not disable the destination")
		}
		// Messages to a disabled destination stay queued, are not claimed,
		// and new ones wait too.
		f.enqueue(t, msg(d, `d3`), msg(ok, `ok2`))
		got = f.claimMsgs(t, now.Add(48*time.Hour), 10)
		same(t, "claim with the destination disabled", []string{`ok1`, `ok2`}, bodiesOf(got))
		same(t, "queued for the disabled destination", 3, f.count(t, d))
		// A failed attempt recorded after the disable does not make it due.
		noErr(t, "RetryMessage", f.s.RetryMessage(f.ctx, f.a.ID, d2.ID, 1, now, "in flight when disabled"))
		for _, m := range f.claimMsgs(t, now.Add(72*time.Hour), 10) {
			if m.DestinationID == d.ID {
				t.Fatalf("claimed %s of a disabled destination", m.Body)
			}
		}

		// Re-enabling makes every queued message due at once, the one
		// whose retry was a day away included.
		upd, err := f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Enabled: ptr(true)})
		noErr(t, "UpdateDestination(enabled)", err)
		if upd.Disabled || upd.DisabledReason != "" || upd.Failures != 0 || !upd.FailingSince.IsZero() {
			t.Fatalf("re-enabled destination = %+v", upd)
		}
		got = f.claimMsgs(t, time.Now().Add(clockSlack), 10)
		if len(got) != 3 {
			t.Fatalf("claim after re-enabling = %v, want the destination's 3 messages", bodiesOf(got))
		}
		for _, m := range got {
			if m.DestinationID != d.ID {
				t.Fatalf("claim after re-enabling returned %s", m.Body)
			}
		}
	}},
	{"DestinationFailed", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		notify, err := f.s.UpdateDestination(f.ctx, f.a.ID, f.destination(t, f.a.ID, "notify").ID,
			runtime.DestinationUpdate{ReceivesNotifications: ptr(true)})
		noErr(t, "UpdateDestination(receivesNotifications)", err)
		if !notify.ReceivesNotifications {
			t.Fatalf("UpdateDestination(receivesNotifications) = %+v", notify)
		}
		maxFailures := 3
		fail := func(now time.Time) bool {
			t.Helper()
			disabled, err := f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: d.ID, Now: now,
				MaxFailures: maxFailures, Window: time.Hour, Notification: msg(notify, `{"type":"destination.disabled"}`)})
			noErr(t, "DestinationFailed", err)
			return disabled
		}
		get := func() *runtime.Destination {
			t.Helper()
			got, err := f.s.GetDestination(f.ctx, f.a.ID, d.ID)
			noErr(t, "GetDestination", err)
			return got
		}
		if fail(t0) || fail(t0.Add(time.Minute)) {
			t.Fatal("a destination was disabled before MaxFailures")
		}
		got := get()
		if got.Failures != 2 || !got.FailingSince.Equal(t0) || got.Disabled {
			t.Fatalf("after two failures: Failures %d, FailingSince %v, Disabled %v", got.Failures, got.FailingSince, got.Disabled)
		}
		same(t, "notifications before the disable", 0, f.count(t, notify))

		// A success ends the run of failures, and does nothing when there is none.
		noErr(t, "DestinationSucceeded", f.s.DestinationSucceeded(f.ctx, f.a.ID, d.ID))
		got = get()
		if got.Failures != 0 || !got.FailingSince.IsZero() {
			t.Fatalf("after a success: Failures %d, FailingSince %v", got.Failures, got.FailingSince)
		}
		noErr(t, "DestinationSucceeded (no failures)", f.s.DestinationSucceeded(f.ctx, f.a.ID, d.ID))
		same(t, "destination after a success without failures", got, get())

		// The third consecutive failure disables it, once, with one notification.
		start := t0.Add(2 * time.Hour)
		if fail(start) || fail(start.Add(time.Second)) {
			t.Fatal("disabled early")
		}
		if !fail(start.Add(2 * time.Second)) {
			t.Fatal("the third consecutive failure did not disable the destination")
		}
		got = get()
		if !got.Disabled || got.DisabledReason == "" || got.Failures != 3 || !got.FailingSince.Equal(start) {
			t.Fatalf("disabled destination = %+v", got)
		}
		same(t, "notifications", 1, f.count(t, notify))
		if fail(start.Add(3 * time.Second)) {
			t.Fatal("DestinationFailed on a disabled destination reported disabling it")
		}
		if !get().Disabled {
			t.Fatal("the destination was re-enabled by a failure")
		}
		same(t, "notifications after more failures", 1, f.count(t, notify))
		ms := f.claimMsgs(t, soon(), 10)
		if len(ms) != 1 || ms[0].DestinationID != notify.ID || string(ms[0].Body) != `{"type":"destination.disabled"}` {
			t.Fatalf("claimed %+v, want the notification", ms)
		}

		// Re-enabling clears the failure state; the window rule then applies.
		upd, err := f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Enabled: ptr(true)})
		noErr(t, "UpdateDestination(enabled)", err)
		if upd.Disabled || upd.DisabledReason != "" || upd.Failures != 0 || !upd.FailingSince.IsZero() {
			t.Fatalf("re-enabled destination = %+v", upd)
		}
		same(t, "GetDestination after re-enabling", upd, get())
		maxFailures = 0 // the window rule alone
		w := t0.Add(5 * time.Hour)
		if fail(w) || fail(w.Add(30*time.Minute)) || fail(w.Add(59*time.Minute)) {
			t.Fatal("disabled inside the window")
		}
		noErr(t, "AckMessages", f.s.AckMessages(f.ctx, f.a.ID, idsOf(ms)))
		if !fail(w.Add(time.Hour)) {
			t.Fatal("a failure a window after the first did not disable the destination (Window rule)")
		}
		same(t, "notifications after the second disable", 1, f.count(t, notify))

		// Without a notification.
		e := f.destination(t, f.a.ID, "quiet")
		disabled, err := f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: e.ID, Now: t0, MaxFailures: 1})
		noErr(t, "DestinationFailed", err)
		if !disabled {
			t.Fatal("not disabled")
		}
		// Neither rule set: never disabled.
		g := f.destination(t, f.a.ID, "tolerant")
		for i := range 5 {
			disabled, err := f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: g.ID, Now: t0.Add(time.Duration(i) * time.Hour)})
			noErr(t, "DestinationFailed", err)
			if disabled {
				t.Fatal("a destination without rules was disabled")
			}
		}
		_, err = f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: runtime.NewID(), Now: t0, MaxFailures: 1})
		wantCode(t, "DestinationFailed(unknown)", err, runtime.ENOTFOUND)
		wantCode(t, "DestinationSucceeded(unknown)", f.s.DestinationSucceeded(f.ctx, f.a.ID, runtime.NewID()), runtime.ENOTFOUND)
	}},
	{"ConcurrentFailuresDisableOnce", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		notify := f.destination(t, f.a.ID, "notify")
		results := make([]bool, writers)
		errs := parallel(writers, func(i int) error {
			disabled, err := f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: d.ID,
				Now: t0.Add(time.Duration(i) * time.Millisecond), MaxFailures: 5, Notification: msg(notify, fmt.Sprintf(`{"from":%d}`, i))})
			results[i] = disabled
			return err
		})
		n := 0
		for i, err := range errs {
			noErr(t, fmt.Sprintf("DestinationFailed %d", i), err)
			if results[i] {
				n++
			}
		}
		same(t, "calls that disabled the destination", 1, n)
		same(t, "notifications", 1, f.count(t, notify))
	}},
	{"DisableAndEnableByUpdate", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		f.enqueue(t, msg(d, `m`))
		upd, err := f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Enabled: ptr(false)})
		noErr(t, "UpdateDestination(enabled false)", err)
		if !upd.Disabled {
			t.Fatalf("UpdateDestination(enabled false) = %+v", upd)
		}
		if got := f.claimMsgs(t, soon(), 10); len(got) != 0 {
			t.Fatalf("claimed %d messages of a destination disabled by an update", len(got))
		}
		upd, err = f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Enabled: ptr(true)})
		noErr(t, "UpdateDestination(enabled)", err)
		if upd.Disabled {
			t.Fatalf("UpdateDestination(enabled) = %+v", upd)
		}
		if got := f.claimMsgs(t, soon(), 10); len(got) != 1 {
			t.Fatalf("claimed %d messages after re-enabling, want 1", len(got))
		}
	}},
	{"DestinationFields", func(t *testing.T, f *fixture) {
		d := &runtime.Destination{ProjectID: f.a.ID, Name: "notify", Type: runtime.DestinationWebhook,
			Metadata: runtime.DestinationMetadata{URL: "https://hooks.example.com/n"}, ReceivesNotifications: true}
		noErr(t, "CreateDestination", f.s.CreateDestination(f.ctx, d))
		if !d.ReceivesNotifications || d.Disabled || d.Failures != 0 {
			t.Fatalf("CreateDestination returned %+v", d)
		}
		got, err := f.s.GetDestination(f.ctx, f.a.ID, d.ID)
		noErr(t, "GetDestination", err)
		same(t, "GetDestination", d, got)
		list, err := f.s.ListDestinations(f.ctx, f.a.ID)
		noErr(t, "ListDestinations", err)
		same(t, "ListDestinations", []*runtime.Destination{d}, list)
		upd, err := f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{ReceivesNotifications: ptr(false)})
		noErr(t, "UpdateDestination", err)
		if upd.ReceivesNotifications {
			t.Fatalf("UpdateDestination(receivesNotifications false) = %+v", upd)
		}
		// An update of other fields keeps the delivery state.
		_, err = f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: f.a.ID, DestinationID: d.ID, Now: t0, MaxFailures: 1})
		noErr(t, "DestinationFailed", err)
		upd, err = f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Name: ptr("renamed")})
		noErr(t, "UpdateDestination(name)", err)
		if !upd.Disabled || upd.DisabledReason == "" || upd.Failures != 1 || !upd.FailingSince.Equal(t0) {
			t.Fatalf("a renamed disabled destination = %+v", upd)
		}
	}},
	{"DeleteDestination", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		e := f.destination(t, f.a.ID, "kept")
		f.enqueue(t, msg(d, `gone1`), msg(e, `kept`), msg(d, `gone2`))
		noErr(t, "DeleteDestination", f.s.DeleteDestination(f.ctx, f.a.ID, d.ID))
		got := f.claimMsgs(t, soon(), 10)
		same(t, "messages after the destination was deleted", []string{`kept`}, bodiesOf(got))
	}},
	{"TenantIsolation", func(t *testing.T, f *fixture) {
		d := f.destination(t, f.a.ID, "hook")
		f.destination(t, f.b.ID, "hook")
		m := msg(d, `a's`)
		f.enqueue(t, m)
		b := f.b.ID
		before, err := f.s.GetDestination(f.ctx, f.a.ID, d.ID)
		noErr(t, "GetDestination", err)
		for _, c := range []struct {
			name string
			call func() error
		}{
			{"EnqueueMessages", func() error {
				return f.s.EnqueueMessages(f.ctx, []*runtime.OutboxMessage{{ProjectID: b, DestinationID: d.ID, Body: []byte(`evil`)}})
			}},
			{"RetryMessage", func() error { return f.s.RetryMessage(f.ctx, b, m.ID, 9, t0.Add(time.Hour), "evil") }},
			{"CountMessages", func() error { _, err := f.s.CountMessages(f.ctx, b, d.ID); return err }},
			{"DestinationFailed", func() error {
				_, err := f.s.DestinationFailed(f.ctx, runtime.DestinationFailure{ProjectID: b, DestinationID: d.ID, Now: t0, MaxFailures: 1})
				return err
			}},
			{"DestinationSucceeded", func() error { return f.s.DestinationSucceeded(f.ctx, b, d.ID) }},
			{"UpdateDestination(enabled)", func() error {
				_, err := f.s.UpdateDestination(f.ctx, b, d.ID, runtime.DestinationUpdate{Enabled: ptr(false)})
				return err
			}},
		} {
			wantCode(t, "project B: "+c.name+" of A's destination", c.call(), runtime.ENOTFOUND)
		}
		// Acknowledging another project's message deletes nothing.
		if err := f.s.AckMessages(f.ctx, b, []string{m.ID}); err != nil && runtime.ErrorCode(err) != runtime.ENOTFOUND {
			t.Fatalf("AckMessages(B, A's message): %v", err)
		}
		after, err := f.s.GetDestination(f.ctx, f.a.ID, d.ID)
		noErr(t, "GetDestination", err)
		same(t, "A's destination after B's attempts", before, after)
		got := f.claimMsgs(t, soon(), 10)
		if len(got) != 1 || got[0].ID != m.ID || got[0].Attempts != 0 || got[0].LastError != "" || got[0].ProjectID != f.a.ID {
			t.Fatalf("A's messages after B's attempts = %+v", got)
		}
	}},
}
