package dynamics

import (
	"strings"
	"testing"

	"github.com/ampforge/amp/providers"
)

func TestRegistered(t *testing.T) {
	t.Parallel()
	got, ok := providers.Default.Spec(Name)
	if !ok {
		t.Fatalf("providers.Default has no %q", Name)
	}
	if got != Spec() {
		t.Errorf("providers.Default.Spec(%q) is not Spec()", Name)
	}
	if Name != "dynamicsCRM" || got.Name != Name {
		t.Errorf("Name = %q, Spec().Name = %q, want dynamicsCRM", Name, got.Name)
	}
}

func TestCatalogEntryIsWellFormed(t *testing.T) {
	t.Parallel()
	for _, err := range providers.CheckSpec(Spec()) {
		t.Error(err)
	}
}

func TestObjectsAndFields(t *testing.T) {
	t.Parallel()
	// The generic rules are CheckSpec's; these are Dataverse's own.
	for _, o := range Spec().Objects {
		if o.Name != strings.ToLower(o.Name) {
			t.Errorf("object %q: entity set names are lower case", o.Name)
		}
		for _, f := range o.Fields {
			if f.Name != strings.ToLower(f.Name) {
				t.Errorf("%s.%s: logical names are lower case", o.Name, f.Name)
			}
		}
		for _, f := range []string{"createdon", "modifiedon"} {
			if got, ok := o.Field(f); !ok || !got.ReadOnly {
				t.Errorf("%s: no read-only %s", o.Name, f)
			}
		}
	}
}

func TestSampleCoverage(t *testing.T) {
	t.Parallel()
	// Objects and fields used by real sample manifests, which must validate
	// without errors; the first field is the table's primary key.
	tests := []struct {
		object string
		fields []string
	}{
		{"accounts", []string{"accountid", "name", "websiteurl", "industrycode", "numberofemployees", "ownerid",
			"createdon", "modifiedon", "telephone1", "emailaddress1", "address1_city", "address1_country", "revenue",
			"description", "parentaccountid", "statecode", "statuscode"}},
		{"contacts", []string{"contactid", "firstname", "lastname", "fullname", "emailaddress1", "parentcustomerid",
			"ownerid", "createdon", "modifiedon", "telephone1", "jobtitle", "address1_city"}},
		{"opportunities", []string{"opportunityid", "name", "estimatedvalue", "salesstagecode", "estimatedclosedate",
			"customerid", "ownerid", "createdon", "modifiedon", "stepname", "closeprobability"}},
		{"leads", []string{"leadid", "firstname", "lastname", "companyname", "emailaddress1"}},
		{"incidents", []string{"incidentid", "title", "ticketnumber", "customerid"}},
		{"tasks", []string{"activityid", "subject", "regardingobjectid", "scheduledend"}},
		{"phonecalls", []string{"activityid", "subject", "phonenumber"}},
		{"appointments", []string{"activityid", "subject", "scheduledstart", "location"}},
		{"emails", []string{"activityid", "subject", "description", "senton"}},
		{"annotations", []string{"annotationid", "subject", "notetext", "objectid"}},
		{"systemusers", []string{"systemuserid", "fullname", "internalemailaddress"}},
		{"products", []string{"productid", "name", "productnumber"}},
		{"quotes", []string{"quoteid", "name", "customerid"}},
		{"salesorders", []string{"salesorderid", "name", "customerid"}},
		{"invoices", []string{"invoiceid", "name", "customerid"}},
		{"campaigns", []string{"campaignid", "name"}},
		{"competitors", []string{"competitorid", "name"}},
	}
	s := Spec()
	for _, tt := range tests {
		o, ok := s.Object("", tt.object)
		if !ok {
			t.Errorf("object %q missing", tt.object)
			continue
		}
		for i, f := range tt.fields {
			got, ok := o.Field(f)
			if !ok {
				t.Errorf("%s: field %q missing", tt.object, f)
				continue
			}
			if i == 0 && !got.ReadOnly {
				t.Errorf("%s: primary key %q is not read-only", tt.object, f)
			}
		}
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	s := Spec()
	want := []string{"https://{{.workspace}}.crm.dynamics.com/user_impersonation", "offline_access"}
	if len(s.Scopes.Base) != len(want) {
		t.Fatalf("base scopes = %+v, want %v", s.Scopes.Base, want)
	}
	for i, sc := range s.Scopes.Base {
		if sc.Name != want[i] || sc.Reason == "" {
			t.Errorf("base scope %d = %+v, want %q with a reason", i, sc, want[i])
		}
	}
	for _, o := range s.Objects {
		if n := len(o.Scopes.Read) + len(o.Scopes.Write) + len(o.Scopes.Schema); n != 0 {
			t.Errorf("%s: Dataverse scopes are not per object, got %+v", o.Name, o.Scopes)
		}
	}
	// Every {{.name}} placeholder in the OAuth URLs and scopes must be a
	// declared input.
	inputs := map[string]bool{}
	for _, in := range s.OAuth.Inputs {
		if in.Name == "" || in.DisplayName == "" || in.Prompt == "" {
			t.Errorf("input %+v is incomplete", in)
		}
		inputs[in.Name] = true
	}
	texts := []string{s.OAuth.AuthURL, s.OAuth.TokenURL, s.OAuth.RevokeURL}
	for _, sc := range s.Scopes.Base {
		texts = append(texts, sc.Name)
	}
	for _, text := range texts {
		for rest := text; ; {
			i := strings.Index(rest, "{{.")
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], "}}")
			if j < 0 {
				t.Errorf("%q: unterminated placeholder", text)
				break
			}
			if name := rest[i+3 : i+j]; !inputs[name] {
				t.Errorf("%q uses undeclared input %q", text, name)
			}
			rest = rest[i+j+2:]
		}
	}
	if !inputs["workspace"] {
		t.Error(`no "workspace" input`)
	}
}

func TestCustomRules(t *testing.T) {
	t.Parallel()
	c := Spec().Custom
	if c.Note == "" || c.ObjectSuffix != "" || c.FieldSuffix != "" || !c.Objects || !c.Fields {
		t.Errorf("custom rules = %+v, want custom objects and fields, a note and no suffixes", c)
	}
	if !c.IsCustomObject("new_projects") || !c.IsCustomField("cr123_region") {
		t.Error("publisher-prefixed names must be allowed as custom")
	}
}

func TestOAuthAndLimits(t *testing.T) {
	t.Parallel()
	s := Spec()
	o := s.OAuth
	for _, u := range []string{o.AuthURL, o.TokenURL} {
		if !strings.HasPrefix(u, "https://login.microsoftonline.com/") || !strings.Contains(u, "/oauth2/v2.0/") {
			t.Errorf("OAuth URL %q is not a Microsoft identity platform v2 endpoint", u)
		}
	}
	if !o.TokenExpiresIn || o.ScopeSeparator != " " {
		t.Errorf("OAuth = %+v, want expires_in and a space separator", o)
	}
	if s.Batch.ReadPageSize != 5000 || s.Batch.MaxReadPageSize != 5000 {
		t.Errorf("Batch = %+v, want 5,000-row pages", s.Batch)
	}
	if s.RateLimit.Requests != 6000 || s.RateLimit.WindowSeconds != 300 {
		t.Errorf("RateLimit = %+v, want 6,000 per 300 s", s.RateLimit)
	}
	if s.Support.Subscribe || !s.Support.Read || !s.Support.Write {
		t.Errorf("Support = %+v", s.Support)
	}
	if s.DisplayName == "" || s.Docs == "" {
		t.Error("display name or docs missing")
	}
}
