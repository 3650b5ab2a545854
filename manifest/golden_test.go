package manifest_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ampforge/amp/manifest"
	_ "github.com/ampforge/amp/providers/all"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// invalidCases lists testdata/invalid/<case>/amp.yaml: each a realistic
// mistake, with want.txt and want.json holding the expected diagnostics.
func invalidCases(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "invalid", "*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	return dirs
}

// render validates a case and returns its text and json output.
func render(t *testing.T, dir string) (text, js []byte, diags manifest.Diagnostics) {
	t.Helper()
	f, diags := manifest.LoadAndValidate(filepath.Join(dir, "amp.yaml"), manifest.Options{})
	src := manifest.Sources{}
	if f != nil {
		src[f.Name] = f
	}
	var tb, jb bytes.Buffer
	if err := manifest.WriteDiagnostics(&tb, manifest.FormatText, diags, src); err != nil {
		t.Fatal(err)
	}
	if err := manifest.WriteDiagnostics(&jb, manifest.FormatJSON, diags, src); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes(), jb.Bytes(), diags
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make golden/update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestInvalidManifests(t *testing.T) {
	t.Parallel()
	cases := invalidCases(t)
	if len(cases) < 40 {
		t.Errorf("testdata/invalid holds %d cases; keep at least 40", len(cases))
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			text, js, diags := render(t, dir)
			if len(diags) == 0 {
				t.Fatalf("no findings: an invalid case must produce at least one")
			}
			if !diags.HasErrors() && diags.Count(manifest.SeverityWarning) == 0 {
				t.Errorf("only notes: an invalid case must produce an error or a warning")
			}
			for _, d := range diags {
				if d.Range == nil && d.Rule != "file-unreadable" {
					t.Errorf("%s has no position", d)
				}
				if _, ok := manifest.LookupRule(d.Rule); !ok {
					t.Errorf("%s names an unregistered rule", d)
				}
			}
			checkGolden(t, filepath.Join(dir, "want.txt"), text)
			checkGolden(t, filepath.Join(dir, "want.json"), js)
		})
	}
}

// TestRuleCoverage checks that every registered rule is hit by at least one
// invalid case (or, for rules about unreadable input, by loadErrorCases).
func TestRuleCoverage(t *testing.T) {
	t.Parallel()
	hit := map[string]bool{}
	for _, dir := range invalidCases(t) {
		_, _, diags := render(t, dir)
		for _, d := range diags {
			hit[d.Rule] = true
		}
	}
	for _, c := range loadErrorCases(t) {
		_, diags := manifest.Parse(c.name, c.data)
		for _, d := range diags {
			hit[d.Rule] = true
		}
	}
	for _, r := range manifest.Rules() {
		if !hit[r.ID] {
			t.Errorf("rule %s is hit by no case in testdata/invalid", r.ID)
		}
	}
}

// TestSamplesValidate walks Ampersand's real public sample manifests: each
// must validate with zero errors.
func TestSamplesValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "ampersand-samples", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d samples, want the 8 in testdata/ampersand-samples", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			_, diags := manifest.LoadAndValidate(path, manifest.Options{})
			for _, d := range diags {
				if d.Severity == manifest.SeverityError {
					t.Errorf("%s", d)
				}
			}
		})
	}
}

type loadErrorCase struct {
	name     string
	data     []byte
	wantRule string
	wantLine int
}

func loadErrorCases(t *testing.T) []loadErrorCase {
	t.Helper()
	return []loadErrorCase{
		{"empty.yaml", nil, "empty-file", 1},
		{"blank.yaml", []byte("\n   \n\t\n"), "empty-file", 1},
		{"comments.yaml", []byte("# just a comment\n"), "empty-file", 1},
		{"binary.yaml", []byte("specVersion: 1.0.0\n\x00\x01\x02\xff"), "yaml-syntax", 2},
		{"latin1.yaml", []byte("specVersion: 1.0.0\nname: caf\xe9\n"), "yaml-syntax", 2},
		{"syntax.yaml", []byte("specVersion: 1.0.0\nintegrations:\n  - name: a\n   provider: b\n"), "yaml-syntax", 4},
		{"tab.yaml", []byte("specVersion: 1.0.0\nintegrations:\n\t- name: a\n"), "yaml-syntax", 3},
		{"unclosed.yaml", []byte("specVersion: \"1.0.0\nintegrations: []\n"), "yaml-syntax", 1},
		{"too-large.yaml", bytes.Repeat([]byte("# padding\n"), manifest.MaxFileSize/10+1), "file-too-large", 1},
		{"bomb.yaml", []byte(aliasBomb), "yaml-alias", 0},
		{"self-alias.yaml", []byte("specVersion: 1.0.0\nintegrations: &x\n  - name: a\n    read: *x\n"), "yaml-alias", 4},
		{"two-docs.yaml", []byte("specVersion: 1.0.0\nintegrations: []\n---\nspecVersion: 1.0.0\n"), "multiple-documents", 4},
	}
}

const aliasBomb = `a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// TestLoadErrors checks that bad input is reported, with its line, and
// never panics or hangs.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, c := range loadErrorCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, diags := manifest.Parse(c.name, c.data)
			var found *manifest.Diagnostic
			for i := range diags {
				if diags[i].Rule == c.wantRule {
					found = &diags[i]
				}
			}
			if found == nil {
				t.Fatalf("want a %s finding, got %v", c.wantRule, diags)
			}
			if found.Severity != manifest.SeverityError {
				t.Errorf("%s is a %s, want an error", found.Rule, found.Severity)
			}
			if c.wantLine > 0 && (found.Range == nil || found.Range.Start.Line != c.wantLine) {
				t.Errorf("%s: want line %d", found, c.wantLine)
			}
			if c.wantRule != "multiple-documents" && f != nil {
				t.Errorf("Parse returned a file for unparseable input")
			}
			if strings.TrimSpace(found.Summary) == "" {
				t.Errorf("empty summary")
			}
		})
	}
}

func TestLoadFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, diags := manifest.Load(dir); len(diags) != 1 || diags[0].Rule != "file-unreadable" || !strings.Contains(diags[0].Summary, "amp init") {
		t.Errorf("empty folder: got %v, want one file-unreadable finding that mentions amp init", diags)
	}
	src := []byte("specVersion: 1.0.0\nintegrations:\n  - name: a\n    provider: hubspot\n    proxy:\n      enabled: true\n")
	if err := os.WriteFile(filepath.Join(dir, "amp.yml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	f, diags := manifest.LoadAndValidate(dir, manifest.Options{})
	if f == nil || len(diags) != 0 {
		t.Fatalf("folder with amp.yml: got %v", diags)
	}
	if want := filepath.Join(dir, "amp.yml"); f.Name != want {
		t.Errorf("Name = %q, want %q", f.Name, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "amp.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := manifest.Load(dir); len(diags) != 1 || !strings.Contains(diags[0].Summary, "keep one") {
		t.Errorf("both names: got %v", diags)
	}
	if _, diags := manifest.Load(filepath.Join(dir, "missing.yaml")); len(diags) != 1 || diags[0].Rule != "file-unreadable" {
		t.Errorf("missing file: got %v", diags)
	}
}

// TestPositions checks that Load keeps the line and column of keys and values.
func TestPositions(t *testing.T) {
	t.Parallel()
	src := "specVersion: 1.0.0\nintegrations:\n  - name: crm\n    provider: salesforce\n    read:\n      objects:\n        - objectName: account\n          destination: hook\n          schedule: \"*/30 * * * *\"\n"
	f, diags := manifest.Parse("amp.yaml", []byte(src))
	if f == nil {
		t.Fatal(diags)
	}
	for _, c := range []struct {
		ptr       string
		key       bool
		line, col int
	}{
		{"/specVersion", false, 1, 14},
		{"/integrations/0/name", true, 3, 5},
		{"/integrations/0/provider", false, 4, 15},
		{"/integrations/0/read/objects/0", false, 7, 11},
		{"/integrations/0/read/objects/0/schedule", false, 9, 21},
		{"/integrations/0/read/objects/0/schedule", true, 9, 11},
		{"/integrations/0/read/objects/0/nope", false, 7, 11},
	} {
		r := f.ValueRange(c.ptr)
		if c.key {
			r = f.KeyRange(c.ptr)
		}
		if r.Start.Line != c.line || r.Start.Column != c.col {
			t.Errorf("%s (key %t) at %d:%d, want %d:%d", c.ptr, c.key, r.Start.Line, r.Start.Column, c.line, c.col)
		}
	}
	if r := f.ValueRange("/integrations/0/read/objects/0/schedule"); r.End.Column-r.Start.Column != len(`"*/30 * * * *"`) {
		t.Errorf("a quoted value's range spans %d columns, want the quoted text", r.End.Column-r.Start.Column)
	}
	if got := f.Manifest.Integrations[0].Read.Objects[0].Schedule; got != "*/30 * * * *" {
		t.Errorf("typed model schedule = %q", got)
	}
}

// TestCRLFPositions checks that byte offsets count the \r of CRLF files.
func TestCRLFPositions(t *testing.T) {
	t.Parallel()
	src := "specVersion: 1.0.0\r\nintegrations:\r\n  - name: a\r\n    provider: hubspt\r\n    proxy: {enabled: true}\r\n"
	f, diags := manifest.Parse("amp.yaml", []byte(src))
	if f == nil {
		t.Fatal(diags)
	}
	diags = manifest.Validate(f, manifest.Options{})
	if len(diags) != 1 || diags[0].Rule != "provider-unknown" {
		t.Fatalf("got %v", diags)
	}
	r := diags[0].Range
	if r.Start.Line != 4 || r.Start.Column != 15 || src[r.Start.Byte:r.End.Byte] != "hubspt" {
		t.Errorf("range %+v covers %q, want line 4 column 15 over hubspt", r, src[r.Start.Byte:r.End.Byte])
	}
}

// TestMergeKeys checks that YAML merge keys expand like yaml.v3 expands
// them and that they cannot get round the alias budget.
func TestMergeKeys(t *testing.T) {
	t.Parallel()
	nested := "specVersion: 1.0.0\nbase: &base {objectName: account, destination: hook}\nmid: &mid {<<: *base, schedule: \"*/30 * * * *\"}\nintegrations:\n  - name: a\n    provider: salesforce\n    read:\n      objects:\n        - <<: *mid\n          objectName: contact\n"
	f, diags := manifest.Parse("amp.yaml", []byte(nested))
	if f == nil {
		t.Fatal(diags)
	}
	o := f.Manifest.Integrations[0].Read.Objects[0]
	if o.ObjectName != "contact" || o.Destination != "hook" || o.Schedule != "*/30 * * * *" {
		t.Errorf("merged object = %+v, want contact/hook/*/30 (explicit keys win, nested merges apply)", o)
	}
	for _, d := range manifest.Validate(f, manifest.Options{}) {
		if d.Rule == "unknown-key" && strings.Contains(d.Summary, "<<") {
			t.Errorf("a nested merge key was copied as a key: %s", d)
		}
	}
	// A merge bomb: each level merges ten copies of the one before.
	var b strings.Builder
	b.WriteString("l0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "l%d: &l%d\n", i, i)
		for k := range 10 {
			fmt.Fprintf(&b, "  k%d: {<<: *l%d}\n", k, i-1)
		}
	}
	if _, diags := manifest.Parse("bomb.yaml", []byte(b.String())); len(diags) == 0 || diags[0].Rule != "yaml-alias" {
		t.Errorf("merge bomb: got %v, want a yaml-alias error", diags)
	}
}
