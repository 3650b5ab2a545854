package providertest

import (
	"time"

	"github.com/ampforge/amp/providers"
)

// Fake is the control surface of a provider fake that the suite drives.
// Every fake in providers/<name>/fake implements it.
type Fake interface {
	// IDs returns the ids of the object's live (not deleted) records in
	// the order the provider lists them.
	IDs(object string) []string
	// Touch changes a field of a record. Its new modified time is after
	// every Now() read before the call, and Now() afterwards equals it
	// (the fake's clock ticks forward on every write).
	Touch(object, id string)
	// Delete deletes a record (as the provider would: recycle bin,
	// archive, change-tracking tombstone), with the same clock rule.
	Delete(object, id string)
	// Get returns a record's current fields as the provider stores them
	// (field names as the provider spells them), and whether it exists.
	Get(object, id string) (map[string]any, bool)
	// Now is the fake's clock: records written now get this modified time.
	Now() time.Time
	// Advance moves the fake's clock forward.
	Advance(d time.Duration)
	// ExpireTokens makes every access token issued so far invalid, so the
	// next data call gets the provider's 401.
	ExpireTokens()
	// Throttle makes the next n data requests fail with the provider's
	// rate-limit answer, asking to retry after retryAfter.
	Throttle(n int, retryAfter time.Duration)
}

// Harness is one connector wired to one fake, plus what the suite needs to
// know about the provider's data.
type Harness struct {
	// Connector talks to Fake through an auth client whose token source
	// can refresh (so a 401 mid-read is recoverable).
	Connector providers.Connector
	Fake      Fake
	// Object is a standard object seeded with Count records; Fields are
	// fields of it every seeded record has.
	Object string
	Count  int
	Fields []string
	// CustomObject is a custom object the fake seeds (with CustomField),
	// and CustomField a custom field it adds to Object.
	CustomObject, CustomField string
	// NewRecord returns the fields of a valid new record of Object; i
	// makes it unique.
	NewRecord func(i int) map[string]any
	// UpdateField is a writable field of Object the suite changes to
	// check updates; UpdateValue returns the value to write.
	UpdateField string
	UpdateValue func(i int) any
	// InvalidRecord returns fields the provider rejects for Object (a
	// missing required field or an unknown property), for partial failures.
	InvalidRecord func(i int) map[string]any
	// PageSizes are page sizes to test paging with; include one that
	// divides Count and one that does not. Nil means the provider default.
	PageSizes []int
}
