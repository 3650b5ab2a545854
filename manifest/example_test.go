package manifest_test

import (
	"fmt"
	"os"

	"github.com/ampforge/amp/manifest"
	_ "github.com/ampforge/amp/providers/all"
)

// Parse a manifest, validate it, and print the findings the way
// `amp validate` does.
func ExampleParse() {
	src := []byte(`specVersion: 1.0.0
integrations:
  - name: crmSync
    provider: salesforce
    read:
      objects:
        - objectName: acount
          destination: crmWebhook
          schedule: "*/5 * * * *"
`)
	f, diags := manifest.Parse("amp.yaml", src)
	if f == nil {
		fmt.Println(diags.Err())
		return
	}
	for _, d := range manifest.Validate(f, manifest.Options{}) {
		fmt.Println(d)
	}
	// Output:
	// amp.yaml:7:23: error[object-unknown]: `acount` is not a Salesforce object (did you mean `account`?)
	// amp.yaml:9:21: error[schedule-interval]: schedule "*/5 * * * *" runs as often as every 5 minutes; the minimum is every 10 minutes (use e.g. `*/10 * * * *`)
}

// Scopes derives the OAuth scopes a manifest needs, with the reason for each.
func ExampleScopes() {
	f, _ := manifest.Parse("amp.yaml", []byte(`specVersion: 1.0.0
integrations:
  - name: deals
    provider: hubspot
    read:
      objects:
        - objectName: deals
          destination: crmWebhook
`))
	for _, s := range manifest.Scopes(f.Manifest, nil)[0].Scopes {
		fmt.Println(s.Name)
	}
	// Output:
	// crm.objects.deals.read
	// crm.schemas.deals.read
	// oauth
}

// Load reads a file or a folder holding amp.yaml.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "amp")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(dir+"/amp.yaml", []byte("specVersion: 1.0.0\nintegrations:\n  - name: p\n    provider: hubspot\n    proxy: {enabled: true}\n"), 0o644)
	f, diags := manifest.LoadAndValidate(dir, manifest.Options{})
	fmt.Println(f.Manifest.Integrations[0].Provider, len(diags))
	// Output: hubspot 0
}
