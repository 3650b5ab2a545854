package all

import (
	// Each provider package registers its catalog entry in init.
	_ "github.com/ampforge/amp/providers/dynamics"
	_ "github.com/ampforge/amp/providers/hubspot"
	_ "github.com/ampforge/amp/providers/salesforce"
)
