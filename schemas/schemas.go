package schemas

import _ "embed"

// Manifest is schemas/manifest.schema.json: the structural definition of
// amp.yaml (JSON Schema 2020-12). Editors can use it through a
// `# yaml-language-server: $schema=` comment.
//
//go:embed manifest.schema.json
var Manifest []byte
