package manifest_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ampforge/amp/manifest"
	_ "github.com/ampforge/amp/providers/all"
)

// Golden tests for manifest.Diff: testdata/diff/<case>/ holds old.yaml and
// new.yaml, and want.txt, want.md and want.json hold WriteDiff's output in
// each format. Rewrite the goldens with
//
//	go test ./manifest -run Diff -update
//
// and read them before committing: the update flag (declared in
// golden_test.go) accepts whatever Diff prints.

// diffCases lists the case folders under testdata/diff, sorted.
func diffCases(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "diff", "*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	return dirs
}

// loadValid loads a manifest and fails the test unless it validates without
// errors: a diff case compares two manifests that could both be deployed.
func loadValid(t *testing.T, path string) *manifest.Manifest {
	t.Helper()
	f, diags := manifest.LoadAndValidate(path, manifest.Options{})
	if f == nil {
		t.Fatalf("%s: %v", path, diags)
	}
	for _, d := range diags {
		if d.Severity == manifest.SeverityError {
			t.Errorf("%s: a diff case must be a valid manifest: %s", path, d)
		}
	}
	return f.Manifest
}

// diffCase loads a case and returns its changes.
func diffCase(t *testing.T, dir string) []manifest.Change {
	t.Helper()
	old := loadValid(t, filepath.Join(dir, "old.yaml"))
	new := loadValid(t, filepath.Join(dir, "new.yaml"))
	return manifest.Diff(old, new, nil)
}

func TestDiffGolden(t *testing.T) {
	t.Parallel()
	cases := diffCases(t)
	if len(cases) < 11 {
		t.Errorf("testdata/diff holds %d cases; keep at least 11", len(cases))
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			changes := diffCase(t, dir)
			for _, f := range []struct{ format, file string }{
				{"text", "want.txt"},
				{"markdown", "want.md"},
				{"json", "want.json"},
			} {
				var b bytes.Buffer
				if err := manifest.WriteDiff(&b, f.format, "old.yaml", "new.yaml", changes); err != nil {
					t.Fatalf("WriteDiff %s: %v", f.format, err)
				}
				checkGolden(t, filepath.Join(dir, f.file), b.Bytes())
			}
		})
	}
}

// want describes one change a case must report. Empty fields match
// anything; Breaking always has to match.
type want struct {
	Kind     manifest.ChangeKind
	Subject  string
	Action   string
	Object   string
	Field    string
	Old, New string
	Breaking bool
}

func (w want) matches(c manifest.Change) bool {
	eq := func(w, got string) bool { return w == "" || w == got }
	return eq(string(w.Kind), string(c.Kind)) && eq(w.Subject, c.Subject) && eq(w.Action, c.Action) &&
		eq(w.Object, c.Object) && eq(w.Field, c.Field) && eq(w.Old, c.Old) && eq(w.New, c.New) && w.Breaking == c.Breaking
}

func (w want) String() string {
	return fmt.Sprintf("{%s %s action=%q object=%q field=%q old=%q new=%q breaking=%t}", w.Kind, w.Subject, w.Action, w.Object, w.Field, w.Old, w.New, w.Breaking)
}

// TestDiffBreaking checks, independently of the golden text, which cases
// are breaking and which changes each one must report.
func TestDiffBreaking(t *testing.T) {
	t.Parallel()
	const (
		added   = manifest.ChangeAdded
		removed = manifest.ChangeRemoved
		changed = manifest.ChangeChanged
	)
	tests := []struct {
		name string
		// breaking: whether any change of the case is breaking.
		breaking bool
		// count is the exact number of changes; -1 skips the check.
		count int
		// must lists changes that must be reported, each exactly once.
		must []want
		// mustNot lists subjects that must not appear at all.
		mustNot []string
	}{
		{
			name: "read-object-removed", breaking: true, count: 1,
			must: []want{{Kind: removed, Subject: "object", Action: "read", Object: "contact", Breaking: true}},
		},
		{
			name: "required-field-removed", breaking: true, count: 1,
			must: []want{{Kind: removed, Subject: "field", Action: "read", Object: "account", Field: "city", Breaking: true}},
		},
		{
			name: "optional-field-removed", breaking: false, count: 1,
			must: []want{{Kind: removed, Subject: "field", Action: "read", Object: "account", Field: "website"}},
		},
		{
			name: "schedule-changed", breaking: false, count: 1,
			must: []want{{Kind: changed, Subject: "schedule", Action: "read", Object: "account", Old: "*/30 * * * *", New: "0 */2 * * *"}},
		},
		{
			// Dropping the schedule stops scheduled reads for every live
			// installation: they only get data when triggered.
			name: "schedule-removed", breaking: true, count: 1,
			must: []want{{Kind: removed, Subject: "schedule", Action: "read", Object: "account", Old: "*/30 * * * *", Breaking: true}},
		},
		{
			name: "backfill-changed", breaking: false, count: 1,
			must: []want{{Kind: changed, Subject: "backfill", Action: "read", Object: "account", Old: "30 days", New: "full history"}},
		},
		{
			// Same delivered name, another source field: one mapping
			// change, not a removal and an addition.
			name: "field-mapping-changed", breaking: false, count: 1,
			must:    []want{{Kind: changed, Subject: "mapping", Action: "read", Object: "account", Field: "city", Old: "billingcity", New: "shippingcity"}},
			mustNot: []string{"field"},
		},
		{
			// A new delivered name: the old one is gone (required, so
			// breaking) and the new one is added.
			name: "field-renamed", breaking: true, count: 2,
			must: []want{
				{Kind: removed, Subject: "field", Object: "account", Field: "city", Breaking: true},
				{Kind: added, Subject: "field", Object: "account", Field: "town"},
			},
		},
		{
			name: "field-now-optional", breaking: false, count: 1,
			must:    []want{{Kind: changed, Subject: "field", Object: "account", Field: "city"}},
			mustNot: []string{"mapping"},
		},
		{
			name: "customer-mapped-field-added", breaking: true, count: 1,
			must: []want{{Kind: added, Subject: "field", Action: "read", Object: "account", Field: "country", Breaking: true}},
		},
		{
			name: "optional-customer-mapped-field-added", breaking: false, count: 1,
			must: []want{{Kind: added, Subject: "field", Object: "account", Field: "segment"}},
		},
		{
			// Every installation must now map city itself.
			name: "field-becomes-customer-mapped", breaking: true, count: 2,
			must: []want{{Kind: changed, Subject: "mapping", Object: "account", Field: "city", Old: "billingcity", Breaking: true}},
		},
		{
			// The default only pre-fills the mapping for new installations;
			// existing ones keep the field their admin chose.
			name: "customer-mapped-default-changed", breaking: false, count: 1,
			must: []want{{Kind: changed, Subject: "mapping", Object: "account", Field: "country"}},
		},
		{
			name: "hubspot-write-adds-scope", breaking: true, count: 2,
			must: []want{
				{Kind: added, Subject: "object", Action: "write", Object: "companies"},
				{Kind: added, Subject: "scope", New: "crm.objects.companies.write", Breaking: true},
			},
		},
		{
			name: "hubspot-read-object-added", breaking: true, count: 3,
			must: []want{
				{Kind: added, Subject: "object", Action: "read", Object: "deals"},
				{Kind: added, Subject: "scope", New: "crm.objects.deals.read", Breaking: true},
				{Kind: added, Subject: "scope", New: "crm.schemas.deals.read", Breaking: true},
			},
		},
		{
			name: "integration-added", breaking: false, count: -1,
			must: []want{{Kind: added, Subject: "integration"}},
		},
		{
			name: "integration-removed", breaking: true, count: 1,
			must: []want{{Kind: removed, Subject: "integration", Breaking: true}},
		},
		{
			name: "integration-renamed", breaking: true, count: 2,
			must: []want{
				{Kind: removed, Subject: "integration", Breaking: true},
				{Kind: added, Subject: "integration"},
			},
		},
		{name: "identical", breaking: false, count: 0},
		{name: "identical-reformatted", breaking: false, count: 0},
		{
			name: "deletes-changed", breaking: false, count: 1,
			must: []want{{Kind: changed, Subject: "deletes", Object: "account", Old: "tombstone", New: "ignore"}},
		},
		{
			name: "write-object-removed", breaking: true, count: 2,
			must: []want{
				{Kind: removed, Subject: "object", Action: "write", Object: "account", Breaking: true},
				{Kind: added, Subject: "setting", Action: "proxy", New: "enabled"},
			},
		},
		{
			name: "provider-changed", breaking: true, count: -1,
			must: []want{{Kind: changed, Subject: "provider", Old: "hubspot", New: "salesforce", Breaking: true}},
		},
		{
			// Every account record is now delivered as "company": for the
			// consumer that is the old object gone, like a removed read
			// object or a renamed required field.
			name: "object-delivered-name-changed", breaking: true, count: 1,
			must: []want{{Kind: changed, Subject: "mapping", Action: "read", Object: "account", Old: "account", New: "company", Breaking: true}},
		},
		{
			// deleteEvent is dropped (delete events stop, like a removed
			// subscribe object) and updateEvent now watches email only.
			name: "subscribe-events-changed", breaking: true, count: -1,
		},
		{
			name: "subscribe-object-removed", breaking: true, count: 1,
			must: []want{{Kind: removed, Subject: "object", Action: "subscribe", Object: "contacts", Breaking: true}},
		},
		{
			// Labels and prompts shown to the customer's admin change; the
			// data does not. Not breaking (see the golden for what is
			// reported).
			name: "display-names-changed", breaking: false, count: -1,
		},
		{
			name: "enabled-always-added", breaking: false, count: 1,
			must: []want{{Kind: added, Subject: "enabled", Object: "account", New: "always"}},
		},
		{
			name: "watch-schema-added", breaking: false, count: -1,
			must: []want{{Kind: added, Subject: "setting", Action: "watchSchema", New: "fieldCreated to schemaAlerts (0 */24 * * *)"}},
		},
		{
			name: "proxy-disabled", breaking: true, count: 1,
			must: []want{{Kind: removed, Subject: "setting", Action: "proxy", Old: "enabled", Breaking: true}},
		},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			changes := diffCase(t, filepath.Join("testdata", "diff", tc.name))
			got := slices.ContainsFunc(changes, func(c manifest.Change) bool { return c.Breaking })
			if got != tc.breaking {
				t.Errorf("breaking = %t, want %t; changes:\n%s", got, tc.breaking, listChanges(changes))
			}
			if tc.count >= 0 && len(changes) != tc.count {
				t.Errorf("%d changes, want %d:\n%s", len(changes), tc.count, listChanges(changes))
			}
			for _, w := range tc.must {
				n := 0
				for _, c := range changes {
					if w.matches(c) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("want exactly one change %v, found %d in:\n%s", w, n, listChanges(changes))
				}
			}
			for _, s := range tc.mustNot {
				for _, c := range changes {
					if c.Subject == s {
						t.Errorf("unexpected %s change: %s", s, c.Summary)
					}
				}
			}
		})
	}
	for _, dir := range diffCases(t) {
		if !seen[filepath.Base(dir)] {
			t.Errorf("case %s has no row in TestDiffBreaking", filepath.Base(dir))
		}
	}
}

func listChanges(cs []manifest.Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s %s %s/%s/%s old=%q new=%q breaking=%t: %s\n", c.Kind, c.Subject, c.Action, c.Object, c.Field, c.Old, c.New, c.Breaking, c.Summary)
	}
	return b.String()
}

// TestDiffInvariants checks properties every case must have, whatever the
// wording: each change has a summary and names its integration; the same
// change is never reported twice; and diffing the other way round reports
// the same number of changes, with added and removed swapped.
func TestDiffInvariants(t *testing.T) {
	t.Parallel()
	mirror := map[manifest.ChangeKind]manifest.ChangeKind{
		manifest.ChangeAdded:   manifest.ChangeRemoved,
		manifest.ChangeRemoved: manifest.ChangeAdded,
		manifest.ChangeChanged: manifest.ChangeChanged,
	}
	key := func(c manifest.Change) string {
		return strings.Join([]string{c.Subject, c.Integration, c.Action, strings.ToLower(c.Object), strings.ToLower(c.Field), c.Old + c.New}, "|")
	}
	for _, dir := range diffCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			old := loadValid(t, filepath.Join(dir, "old.yaml"))
			new := loadValid(t, filepath.Join(dir, "new.yaml"))
			fwd := manifest.Diff(old, new, nil)
			seen := map[string]bool{}
			for _, c := range fwd {
				if strings.TrimSpace(c.Summary) == "" || c.Integration == "" || c.Subject == "" {
					t.Errorf("incomplete change %+v", c)
				}
				if strings.Contains(c.Summary, "\n") {
					t.Errorf("summary spans lines: %q", c.Summary)
				}
				k := string(c.Kind) + "|" + key(c)
				if seen[k] {
					t.Errorf("change reported twice: %s", c.Summary)
				}
				seen[k] = true
			}
			rev := manifest.Diff(new, old, nil)
			if len(rev) != len(fwd) {
				t.Fatalf("old->new has %d changes, new->old %d:\n%s---\n%s", len(fwd), len(rev), listChanges(fwd), listChanges(rev))
			}
			back := map[string]int{}
			for _, c := range rev {
				back[string(c.Kind)+"|"+key(manifest.Change{Subject: c.Subject, Integration: c.Integration, Action: c.Action, Object: c.Object, Field: c.Field, Old: c.New, New: c.Old})]++
			}
			for _, c := range fwd {
				k := string(mirror[c.Kind]) + "|" + key(c)
				if back[k] == 0 {
					t.Errorf("old->new reports %q, but new->old has no %s counterpart", c.Summary, mirror[c.Kind])
				}
				back[k]--
			}
		})
	}
}

// TestDiffSamplesUnchanged diffs each of Ampersand's real sample manifests
// against itself (no changes) and against an empty manifest (each
// integration added, none breaking).
func TestDiffSamplesUnchanged(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "ampersand-samples", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			m := loadValid(t, path)
			again := loadValid(t, path)
			if cs := manifest.Diff(m, again, nil); len(cs) != 0 {
				t.Errorf("a manifest against itself: %d changes:\n%s", len(cs), listChanges(cs))
			}
			cs := manifest.Diff(&manifest.Manifest{}, m, nil)
			if len(cs) != len(m.Integrations) {
				t.Errorf("from an empty manifest: %d changes for %d integrations:\n%s", len(cs), len(m.Integrations), listChanges(cs))
			}
			for _, c := range cs {
				if c.Kind != manifest.ChangeAdded || c.Subject != "integration" || c.Breaking {
					t.Errorf("from an empty manifest: %s", c.Summary)
				}
			}
			var b bytes.Buffer
			if err := manifest.WriteDiff(&b, "text", "a", "b", nil); err != nil || b.String() != "a -> b: no changes\n" {
				t.Errorf("no changes as text: %q, %v", b.String(), err)
			}
		})
	}
}

// TestWriteDiffUnknownFormat checks WriteDiff refuses formats it does not know.
func TestWriteDiffUnknownFormat(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	err := manifest.WriteDiff(&b, "yaml", "a", "b", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown format "yaml"`) {
		t.Errorf("err = %v, want unknown format", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q for an unknown format", b.String())
	}
}
