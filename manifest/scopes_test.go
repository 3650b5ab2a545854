package manifest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ampforge/amp/manifest"
	_ "github.com/ampforge/amp/providers/all"
)

func parse(t *testing.T, src string) *manifest.Manifest {
	t.Helper()
	f, diags := manifest.Parse("amp.yaml", []byte(src))
	if f == nil {
		t.Fatal(diags)
	}
	if diags := manifest.Validate(f, manifest.Options{}); diags.HasErrors() {
		t.Fatalf("test manifest is invalid: %v", diags.Err())
	}
	return f.Manifest
}

// TestScopesMinimal checks, per provider, that the derived scopes are
// exactly what the manifest needs: complete, and nothing more.
func TestScopesMinimal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "hubspot reads deals writes companies",
			src: `specVersion: 1.0.0
integrations:
  - name: deals
    provider: hubspot
    read:
      objects:
        - objectName: deals
          destination: hook
          requiredFields: [{fieldName: dealname}]
    write:
      objects:
        - objectName: companies
`,
			want: []string{"crm.objects.companies.read", "crm.objects.companies.write", "crm.objects.deals.read", "crm.schemas.companies.read", "crm.schemas.deals.read", "oauth"},
		},
		{
			name: "hubspot custom object",
			src: `specVersion: 1.0.0
integrations:
  - name: pets
    provider: hubspot
    read:
      objects:
        - objectName: p_pets
          destination: hook
`,
			want: []string{"crm.objects.custom.read", "crm.schemas.custom.read", "oauth"},
		},
		{
			name: "hubspot proxy only",
			src: `specVersion: 1.0.0
integrations:
  - name: p
    provider: hubspot
    proxy: {enabled: true}
`,
			want: []string{"oauth"},
		},
		{
			name: "salesforce read and write",
			src: `specVersion: 1.0.0
integrations:
  - name: sf
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: hook
    write:
      objects:
        - objectName: contact
`,
			want: []string{"api", "refresh_token"},
		},
		{
			name: "salesforce account engagement",
			src: `specVersion: 1.0.0
integrations:
  - name: ae
    provider: salesforce
    module: account-engagement
    read:
      objects:
        - objectName: prospects
          destination: hook
`,
			want: []string{"api", "pardot_api", "refresh_token"},
		},
		{
			name: "dynamics",
			src: `specVersion: 1.0.0
integrations:
  - name: d
    provider: dynamicsCRM
    read:
      objects:
        - objectName: accounts
          destination: hook
`,
			want: []string{"https://{{.workspace}}.crm.dynamics.com/user_impersonation", "offline_access"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := manifest.Scopes(parse(t, c.src), nil)
			if len(got) != 1 || !got[0].Supported {
				t.Fatalf("got %+v", got)
			}
			if diff := cmp.Diff(c.want, got[0].Names()); diff != "" {
				t.Errorf("scopes (-want +got):\n%s", diff)
			}
			for _, s := range got[0].Scopes {
				if len(s.Reasons) == 0 || s.Reasons[0] == "" {
					t.Errorf("scope %s has no reason", s.Name)
				}
				if s.Name == "full" {
					t.Errorf("Salesforce's full scope is never minimal")
				}
				if strings.Contains(s.Name, "contacts") && strings.HasPrefix(c.name, "hubspot") {
					t.Errorf("no contacts object is used, yet %s is asked for", s.Name)
				}
			}
		})
	}
}

func TestScopesUnsupportedProvider(t *testing.T) {
	t.Parallel()
	m := parse(t, "specVersion: 1.0.0\nintegrations:\n  - name: z\n    provider: zoho\n    proxy: {enabled: true}\n")
	got := manifest.Scopes(m, nil)
	if len(got) != 1 || got[0].Supported || len(got[0].Scopes) != 0 {
		t.Errorf("got %+v, want one unsupported entry without scopes", got)
	}
	if !strings.Contains(manifest.FormatScopes(got), "no catalog entry") {
		t.Errorf("text output does not say why no scopes were derived")
	}
}

func TestProviderScopesUnion(t *testing.T) {
	t.Parallel()
	m := parse(t, `specVersion: 1.0.0
integrations:
  - name: a
    provider: hubspot
    read: {objects: [{objectName: deals, destination: hook}]}
  - name: b
    provider: hubspot
    write: {objects: [{objectName: contacts}]}
`)
	got := manifest.ProviderScopes(manifest.Scopes(m, nil), "hubspot")
	for _, want := range []string{"crm.objects.deals.read", "crm.objects.contacts.write", "oauth"} {
		if !slices.Contains(got, want) {
			t.Errorf("union %v lacks %s", got, want)
		}
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("union %v is not sorted and unique", got)
	}
}

// TestInitValidates checks that every starter manifest amp init writes is
// valid as written.
func TestInitValidates(t *testing.T) {
	t.Parallel()
	for _, c := range []manifest.InitOptions{
		{Provider: "salesforce", Objects: []string{"account", "contact", "opportunity"}},
		{Provider: "salesforce", Objects: []string{"Lead", "invoice__c"}},
		{Provider: "salesforce", Module: "account-engagement", Objects: []string{"prospects"}},
		{Provider: "hubspot", Objects: []string{"contacts", "companies", "deals", "owners"}},
		{Provider: "dynamicsCRM", Objects: []string{"accounts", "contacts"}, Name: "d365", Destination: "hook"},
	} {
		t.Run(c.Provider+"/"+strings.Join(c.Objects, ","), func(t *testing.T) {
			t.Parallel()
			src, err := manifest.Init(c)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := manifest.Parse("amp.yaml", src)
			if f == nil {
				t.Fatalf("%v\n%s", diags, src)
			}
			diags = manifest.Validate(f, manifest.Options{Strict: true})
			for _, d := range diags {
				if d.Severity != manifest.SeverityNote {
					t.Errorf("%s\n%s", d, src)
				}
			}
		})
	}
	for _, c := range []struct {
		opts manifest.InitOptions
		want string
	}{
		{manifest.InitOptions{Provider: "salesforse", Objects: []string{"account"}}, "did you mean `salesforce`"},
		{manifest.InitOptions{Provider: "hubspot", Objects: []string{"contact"}}, "did you mean `contacts`"},
		{manifest.InitOptions{Provider: "salesforce", Objects: []string{"acount"}}, "did you mean `account`"},
		{manifest.InitOptions{Provider: "salesforce"}, "--objects"},
		{manifest.InitOptions{Provider: "hubspot", Module: "marketing", Objects: []string{"contacts"}}, "no module"},
	} {
		if _, err := manifest.Init(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Init(%+v) error = %v, want it to mention %q", c.opts, err, c.want)
		}
	}
}
