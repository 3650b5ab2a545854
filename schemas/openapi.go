package schemas

import _ "embed"

// OpenAPI is schemas/openapi.yaml: the OpenAPI 3 description of exactly the
// routes `amp serve` serves (runtime/api's route table; a test keeps the
// two equal).
//
//go:embed openapi.yaml
var OpenAPI []byte
