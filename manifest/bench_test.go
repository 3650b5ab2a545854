package manifest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ampforge/amp/manifest"
	_ "github.com/ampforge/amp/providers/all"
)

// generated returns a manifest with n read objects (and n/4 write objects)
// spread over the three providers, each with a schedule, mapped and
// customer-mapped fields and a backfill: what a large unified integration
// looks like. Objects past the catalog are custom objects.
func generated(n int) []byte {
	var b strings.Builder
	b.WriteString("specVersion: 1.0.0\nintegrations:\n")
	provs := []struct{ name, obj, field string }{
		{"salesforce", "account", "billingcity"},
		{"hubspot", "companies", "domain"},
		{"dynamicsCRM", "accounts", "websiteurl"},
	}
	per := n / len(provs)
	for i, p := range provs {
		fmt.Fprintf(&b, "  - name: big%d\n    provider: %s\n    read:\n      objects:\n", i, p.name)
		for j := range per {
			obj := fmt.Sprintf("custom%d", j)
			if p.name == "salesforce" {
				obj += "__c"
			}
			if j == 0 {
				obj = p.obj
			}
			fmt.Fprintf(&b, `        - objectName: %s
          destination: hook%d
          schedule: "*/%d * * * *"
          mapToName: thing%d
          requiredFields:
            - fieldName: name
            - fieldName: %s
              mapToName: f%d
            - mapToName: country
              prompt: Which field holds the country?
          optionalFields:
            - fieldName: industry
          optionalFieldsAuto: all
          backfill:
            defaultPeriod:
              days: 30
`, obj, j%5, []int{10, 12, 15, 20, 30}[j%5], j, p.field, j)
		}
		b.WriteString("    write:\n      objects:\n")
		for j := range per / 4 {
			obj := fmt.Sprintf("custom%d", j)
			if p.name == "salesforce" {
				obj += "__c"
			}
			fmt.Fprintf(&b, "        - objectName: %s\n          inheritMapping: true\n", obj)
		}
	}
	return []byte(b.String())
}

// BenchmarkValidate1000Objects parses and validates a generated manifest
// with 1,000 read objects (target: under 50 ms per op).
func BenchmarkValidate1000Objects(b *testing.B) {
	src := generated(1000)
	f, diags := manifest.Parse("amp.yaml", src)
	if f == nil {
		b.Fatal(diags)
	}
	if diags := manifest.Validate(f, manifest.Options{}); diags.HasErrors() {
		b.Fatalf("generated manifest is invalid: %v", diags.Err())
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		f, _ := manifest.Parse("amp.yaml", src)
		manifest.Validate(f, manifest.Options{})
	}
}

func TestGeneratedManifestIsValid(t *testing.T) {
	t.Parallel()
	f, diags := manifest.Parse("amp.yaml", generated(60))
	if f == nil {
		t.Fatal(diags)
	}
	if diags := manifest.Validate(f, manifest.Options{}); diags.HasErrors() {
		t.Fatalf("the benchmark's manifest must be valid: %v", diags.Err())
	}
}
