package hubspot_test

import (
	"fmt"
	"testing"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
	"github.com/ampforge/amp/providers/providertest"
)

// The suite runs against the three ways a full read can share its work
// between the list and search.
func TestConformance(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name string
		opts fake.Options
		md   map[string]string
	}{
		// No search limit: every call of a full read finds a search
		// slot free, so search does all of it.
		{"Search", noSearchLimit(100), nil},
		// HubSpot's five searches a second: the calls in between list.
		{"ListAndSearch", fake.Options{Options: fakekit.Options{Records: 100}}, nil},
		{"ListOnly", noSearchLimit(100), map[string]string{hubspot.MetadataTwoEndedRead: "off"}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			conformance(t, m.opts, m.md)
		})
	}
}

func conformance(t *testing.T, opts fake.Options, md map[string]string) {
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		s := newSetupWith(t, opts, nil, md)
		return &providertest.Harness{
			Connector:    s.conn,
			Fake:         s.fake,
			Object:       "contacts",
			Count:        100,
			Fields:       []string{"firstname", "lastname", "email", fake.CustomProperty},
			CustomObject: fake.CustomObjectFQN,
			CustomField:  fake.CustomProperty,
			NewRecord:    newContact,
			UpdateField:  "lastname",
			UpdateValue:  func(i int) any { return fmt.Sprintf("Updated %d", i) },
			// A contact whose email another contact has: HubSpot refuses
			// that input alone (207, CONFLICT).
			InvalidRecord: func(i int) map[string]any {
				return map[string]any{"firstname": "Dup", "email": fakekit.Email(i % 100)}
			},
			PageSizes: []int{7, 10},
		}
	})
}
