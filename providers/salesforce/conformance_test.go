package salesforce

import (
	"testing"

	"github.com/ampforge/amp/providers/providertest"
)

type providertestHarness = providertest.Harness

func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, accountHarness)
}
