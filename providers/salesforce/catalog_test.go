package salesforce

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
	if got.Name != Name {
		t.Errorf("Spec().Name = %q, want %q", got.Name, Name)
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
	// The generic rules are CheckSpec's; these are Salesforce's own.
	s := Spec()
	for _, o := range s.Objects {
		if len(o.Fields) == 0 {
			t.Errorf("object %q has no fields", o.Name)
		}
		for _, f := range o.Fields {
			lower := strings.ToLower(f.Name)
			// CRM manifests spell Salesforce names in lower case.
			if s.ResolveModule(o.Module) == "crm" && f.Name != lower {
				t.Errorf("%s.%s: CRM field names are lower case", o.Name, f.Name)
			}
			// Standard fields never look custom.
			if strings.HasSuffix(lower, "__c") {
				t.Errorf("%s.%s: a standard field must not end in __c", o.Name, f.Name)
			}
		}
		if id, ok := o.Field("id"); !ok || !id.ReadOnly {
			t.Errorf("%s: no read-only id field", o.Name)
		}
	}
}

func TestSampleCoverage(t *testing.T) {
	t.Parallel()
	// Objects and fields used by real sample manifests, which must validate
	// without errors.
	tests := []struct {
		module, object string
		fields         []string
	}{
		{"", "account", []string{"id", "name", "description", "industry", "website", "numberofemployees", "ownerid",
			"createddate", "lastmodifieddate", "systemmodstamp", "isdeleted", "billingstreet", "billingcity",
			"billingstate", "billingpostalcode", "billingcountry", "shippingcity", "shippingcountry", "phone", "type",
			"annualrevenue", "parentid"}},
		{"", "contact", []string{"id", "name", "firstname", "lastname", "email", "accountid", "ownerid", "createddate",
			"lastmodifieddate", "systemmodstamp", "phone", "title", "mailingcity", "mailingcountry"}},
		{"", "opportunity", []string{"id", "name", "description", "amount", "ownerid", "accountid", "stagename",
			"closedate", "createddate", "probability"}},
		{"", "lead", []string{"id", "firstname", "lastname", "company", "email", "status", "city"}},
		{"", "case", []string{"id", "subject", "status", "accountid"}},
		{"", "task", []string{"id", "subject", "whoid", "whatid"}},
		{"", "event", []string{"id", "subject", "startdatetime"}},
		{"", "note", []string{"id", "title", "body", "parentid"}},
		{"", "user", []string{"id", "email", "username"}},
		{"", "product2", []string{"id", "name", "productcode"}},
		{"", "pricebook2", []string{"id", "name"}},
		{"", "pricebookentry", []string{"id", "unitprice", "product2id"}},
		{"", "campaign", []string{"id", "name", "status"}},
		{"", "campaignmember", []string{"id", "campaignid", "contactid"}},
		{"", "opportunitylineitem", []string{"id", "opportunityid", "quantity"}},
		{"", "contract", []string{"id", "accountid", "status"}},
		{"", "order", []string{"id", "accountid", "status"}},
		{"", "quote", []string{"id", "name", "opportunityid"}},
		{"account-engagement", "prospects", []string{"id", "firstName", "lastName", "email", "company", "score",
			"grade", "createdAt", "updatedAt"}},
		{"account-engagement", "emails", []string{"id", "name", "subject"}},
		{"account-engagement", "tags", []string{"id", "name", "objectCount", "createdAt", "updatedAt"}},
		{"account-engagement", "campaigns", []string{"id", "name"}},
		{"account-engagement", "lists", []string{"id", "name"}},
		{"account-engagement", "forms", []string{"id", "name"}},
		{"account-engagement", "visitors", []string{"id", "prospectId"}},
		{"account-engagement", "opportunities", []string{"id", "name", "value"}},
		{"account-engagement", "users", []string{"id", "email"}},
	}
	s := Spec()
	for _, tt := range tests {
		o, ok := s.Object(tt.module, tt.object)
		if !ok {
			t.Errorf("module %q: object %q missing", s.ResolveModule(tt.module), tt.object)
			continue
		}
		for _, f := range tt.fields {
			if _, ok := o.Field(f); !ok {
				t.Errorf("%s: field %q missing", tt.object, f)
			}
		}
	}
	// The CRM and Account Engagement objects must not leak into each other.
	if _, ok := s.Object("", "prospects"); ok {
		t.Error("prospects found in the crm module")
	}
	if _, ok := s.Object("account-engagement", "account"); ok {
		t.Error("account found in the account-engagement module")
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	s := Spec()
	var all []providers.Scope
	all = append(all, s.Scopes.Base...)
	for _, scopes := range s.Scopes.Modules {
		all = append(all, scopes...)
	}
	for _, scopes := range s.Scopes.Actions {
		all = append(all, scopes...)
	}
	for _, sc := range all {
		if sc.Name == "" || sc.Reason == "" {
			t.Errorf("scope %+v: empty name or reason", sc)
		}
		if sc.Name == "full" {
			t.Error(`the "full" scope must never be requested`)
		}
	}
	names := map[string]bool{}
	for _, sc := range s.Scopes.Base {
		names[sc.Name] = true
	}
	if !names["api"] || !names["refresh_token"] || len(s.Scopes.Base) != 2 {
		t.Errorf("base scopes = %+v, want api and refresh_token", s.Scopes.Base)
	}
	if ae := s.Scopes.Modules["account-engagement"]; len(ae) != 1 || ae[0].Name != "pardot_api" {
		t.Errorf("account-engagement scopes = %+v, want pardot_api", ae)
	}
	for module := range s.Scopes.Modules {
		if _, ok := s.Module(module); !ok {
			t.Errorf("scopes for undeclared module %q", module)
		}
	}
	c := s.Scopes.Custom
	if len(c.Read)+len(c.Write)+len(c.Schema) != 0 {
		t.Errorf("custom object scopes = %+v, want none", c)
	}
	for _, o := range s.Objects {
		if n := len(o.Scopes.Read) + len(o.Scopes.Write) + len(o.Scopes.Schema); n != 0 {
			t.Errorf("%s: Salesforce scopes are not per object, got %+v", o.Name, o.Scopes)
		}
	}
}

func TestCustomRules(t *testing.T) {
	t.Parallel()
	c := Spec().Custom
	if c.Note == "" {
		t.Error("custom rules have no note")
	}
	for name, want := range map[string]bool{"Invoice__c": true, "invoice__c": true, "Invoice": false, "account": false} {
		if got := c.IsCustomObject(name); got != want {
			t.Errorf("IsCustomObject(%q) = %v, want %v", name, got, want)
		}
		if got := c.IsCustomField(name); got != want {
			t.Errorf("IsCustomField(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestOAuthAndLimits(t *testing.T) {
	t.Parallel()
	s := Spec()
	o := s.OAuth
	for _, u := range []string{o.AuthURL, o.TokenURL, o.RevokeURL} {
		if !strings.HasPrefix(u, "https://login.salesforce.com/services/oauth2/") {
			t.Errorf("OAuth URL %q is not on login.salesforce.com", u)
		}
	}
	if !o.PKCE || o.TokenExpiresIn || o.ScopeSeparator != " " {
		t.Errorf("OAuth = %+v, want PKCE, no expires_in and a space separator", o)
	}
	if s.Batch.WriteBatchSize != 200 || s.Batch.ReadPageSize != 2000 || s.Batch.MaxReadPageSize < s.Batch.ReadPageSize {
		t.Errorf("Batch = %+v", s.Batch)
	}
	if s.DisplayName == "" || s.Docs == "" {
		t.Error("display name or docs missing")
	}
}
