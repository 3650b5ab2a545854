// Package storetest is the conformance suite for runtime.Store: one body of
// tests that every Store implementation runs (runtime/sqlite today,
// runtime/postgres later), in the way River's riverdrivertest serves its
// drivers. A Store that passes it keeps every contract documented on
// runtime.Store: codes per method, tenant isolation, atomic deploys, single-use
// OAuth states, version-checked token writes, concurrency and millisecond
// times; and for the engine, leased operations (one claimer each, expiry and
// resume from the checkpoint, ECONFLICT on a lost lease), read states and
// their schedules, and the outbox (one claimer per message, disabled
// destinations held, disabling once); and for writes, write operations in a
// lane of their own beside reads, idempotency records (one winner per key)
// and echoes (taken once).
//
// Use it from the implementation's tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) runtime.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amp.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite needs no clock injection: the time-dependent contracts (OAuth
// state expiry, due operations, leases, due reads and messages) take "now"
// as an argument, and store-set times are checked against the wall clock
// around the call. The write state's expiries, which a store checks against
// its own clock, are set hours away from the wall clock.
//
// It imports runtime and the test libraries only, never an implementation.
package storetest
