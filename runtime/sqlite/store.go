package sqlite

import "github.com/ampforge/amp/runtime"

// Interface guard.
var _ runtime.Store = (*Store)(nil)
