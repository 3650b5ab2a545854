package manifest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/ampforge/amp/manifest"
)

// TestDecodeMatchesYAML checks the hand-written typed decoding against
// yaml's reflection over every sample and example: no key is forgotten.
func TestDecodeMatchesYAML(t *testing.T) {
	t.Parallel()
	var files []string
	for _, pattern := range []string{
		filepath.Join("..", "testdata", "ampersand-samples", "*.y*ml"),
		filepath.Join("..", "examples", "*", "amp.yaml"),
		filepath.Join("testdata", "diff", "*", "*.yaml"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("only %d manifests found", len(files))
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := manifest.Parse(path, src)
		if f == nil {
			t.Fatalf("%s: %v", path, diags)
		}
		var want manifest.Manifest
		if err := yaml.Unmarshal(src, &want); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if diff := cmp.Diff(&want, f.Manifest); diff != "" {
			t.Errorf("%s: typed model differs from yaml's decoding (-yaml +amp):\n%s", path, diff)
		}
	}
}
