// Package examples holds the example manifests (one amp.yaml per folder)
// and embeds them, so commands that deploy them, such as `amp demo`, work
// from any directory and from an installed binary.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed */amp.yaml
var files embed.FS

// FS holds every example manifest at <example>/amp.yaml
// (salesforce/amp.yaml, hubspot/amp.yaml...), exactly as in the repository.
var FS fs.FS = files
