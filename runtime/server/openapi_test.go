package server_test

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ampforge/amp/schemas"
)

// TestOpenAPIMatchesRoutes walks every route the server serves (the route
// table of runtime/api and the extensions) and fails when a served route is missing from
// schemas/openapi.yaml or the file describes a route that is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(schemas.OpenAPI, &doc); err != nil {
		t.Fatalf("schemas/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	var documented []string
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(methods, key) {
				documented = append(documented, strings.ToUpper(key)+" "+path)
			}
		}
	}
	var served []string
	for _, r := range e.srv.Routes() {
		route := r.Method + " " + r.Path
		if slices.Contains(served, route) {
			t.Errorf("route table lists %s twice", route)
		}
		served = append(served, route)
	}
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("served route %s is missing from schemas/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("schemas/openapi.yaml describes %s, which is not served", d)
		}
	}
}
