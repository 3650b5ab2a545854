package manifest_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ampforge/amp/manifest"
	_ "github.com/ampforge/amp/providers/all"
)

// FuzzLoadValidate feeds arbitrary bytes through Parse, Validate, Scopes,
// Diff and every output format: none may panic or hang, and every finding
// must name a registered rule. `make fuzz` runs it; `make test` runs the seed
// corpus (the samples, the examples and the invalid cases).
func FuzzLoadValidate(f *testing.F) {
	for _, pattern := range []string{
		filepath.Join("..", "testdata", "ampersand-samples", "*.y*ml"),
		filepath.Join("..", "examples", "*", "amp.yaml"),
		filepath.Join("testdata", "invalid", "*", "amp.yaml"),
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			data, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue // a case about an unreadable manifest
			}
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(aliasBomb))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("<<: {a: 1}\n"))
	f.Add([]byte("a: &a {x: 1}\nb: &b {k1: {<<: *a}, k2: {<<: *a}}\nc: {k1: {<<: *b}, k2: {<<: [*b, *b]}}\n"))
	f.Add([]byte("a: &a\n  <<: *a\n"))
	f.Add([]byte("specVersion: 1.0.0\nintegrations:\n  - {name: a, provider: salesforce, read: {objects: [{objectName: account, destination: d, schedule: 'TZ=x * * * *'}]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, diags := manifest.Parse("amp.yaml", data)
		if file == nil {
			if len(diags) == 0 {
				t.Fatal("Parse returned neither a file nor a reason")
			}
			return
		}
		diags = manifest.Validate(file, manifest.Options{})
		for _, d := range diags {
			if _, ok := manifest.LookupRule(d.Rule); !ok {
				t.Fatalf("unregistered rule in %v", d)
			}
		}
		for _, fm := range manifest.Formats {
			if err := manifest.WriteDiagnostics(discard{}, fm, diags, manifest.Sources{file.Name: file}); err != nil {
				t.Fatal(err)
			}
		}
		manifest.Scopes(file.Manifest, nil)
		manifest.Diff(&manifest.Manifest{}, file.Manifest, nil)
		manifest.Diff(file.Manifest, file.Manifest, nil)
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
