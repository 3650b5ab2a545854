package hubspot_test

import (
	"fmt"
	"testing"

	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot/fake"
	"github.com/ampforge/amp/providers/providertest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		s := newSetup(t, noSearchLimit(100), nil)
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
