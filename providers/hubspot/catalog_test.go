package hubspot

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
	// The generic rules are CheckSpec's; this one is HubSpot's own.
	for _, o := range Spec().Objects {
		// Manifests name every HubSpot record's id "id".
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
		object string
		fields []string
	}{
		{"contacts", []string{"id", "firstname", "lastname", "email", "phone", "company", "lifecyclestage",
			"hubspot_owner_id", "createdate", "lastmodifieddate", "jobtitle", "city", "country"}},
		{"companies", []string{"id", "name", "domain", "phone", "website", "industry", "description", "annualrevenue",
			"numberofemployees", "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "city", "country"}},
		{"deals", []string{"id", "dealname", "amount", "dealstage", "pipeline", "closedate", "description",
			"hubspot_owner_id", "createdate", "hs_lastmodifieddate"}},
		{"tickets", []string{"id", "subject", "content", "hs_pipeline_stage", "hs_lastmodifieddate"}},
		{"owners", []string{"id", "email", "firstName", "lastName"}},
		{"line_items", []string{"id", "name", "quantity", "price", "hs_product_id"}},
		{"products", []string{"id", "name", "price"}},
		{"quotes", []string{"id", "hs_title", "hs_expiration_date"}},
		{"calls", []string{"id", "hs_timestamp", "hs_call_body"}},
		{"emails", []string{"id", "hs_timestamp", "hs_email_subject"}},
		{"meetings", []string{"id", "hs_timestamp", "hs_meeting_title"}},
		{"notes", []string{"id", "hs_timestamp", "hs_note_body"}},
		{"tasks", []string{"id", "hs_timestamp", "hs_task_subject"}},
		{"marketing-campaigns", []string{"hs_name", "hs_notes", "hs_budget_items_sum_amount"}},
		{"marketing-emails", []string{"id", "name", "subject", "type", "updatedAt", "createdAt"}},
		{"marketing-forms", []string{"id", "name", "updatedAt", "createdAt"}},
		{"marketing-events", []string{"eventName", "eventOrganizer", "updatedAt"}},
	}
	s := Spec()
	for _, tt := range tests {
		o, ok := s.Object("", tt.object)
		if !ok {
			t.Errorf("object %q missing", tt.object)
			continue
		}
		for _, f := range tt.fields {
			if _, ok := o.Field(f); !ok {
				t.Errorf("%s: field %q missing", tt.object, f)
			}
		}
	}
	// Contacts track modification in lastmodifieddate, the other objects in
	// hs_lastmodifieddate; listing the wrong one would mislead incremental reads.
	contacts, _ := s.Object("", "contacts")
	if _, ok := contacts.Field("hs_lastmodifieddate"); ok {
		t.Error("contacts: hs_lastmodifieddate listed, contacts use lastmodifieddate")
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	s := Spec()
	if len(s.Scopes.Base) != 1 || s.Scopes.Base[0].Name != "oauth" || s.Scopes.Base[0].Reason == "" {
		t.Errorf("base scopes = %+v, want oauth with a reason", s.Scopes.Base)
	}
	check := func(where string, names []string) {
		t.Helper()
		for _, n := range names {
			if n == "" || strings.TrimSpace(n) != n || strings.Contains(n, " ") {
				t.Errorf("%s: bad scope name %q", where, n)
			}
		}
	}
	check("custom read", s.Scopes.Custom.Read)
	check("custom write", s.Scopes.Custom.Write)
	check("custom schema", s.Scopes.Custom.Schema)
	c := s.Scopes.Custom
	if len(c.Read) != 1 || c.Read[0] != "crm.objects.custom.read" ||
		len(c.Write) != 1 || c.Write[0] != "crm.objects.custom.write" ||
		len(c.Schema) != 1 || c.Schema[0] != "crm.schemas.custom.read" {
		t.Errorf("custom scopes = %+v", c)
	}
	for _, o := range s.Objects {
		check(o.Name+" read", o.Scopes.Read)
		check(o.Name+" write", o.Scopes.Write)
		check(o.Name+" schema", o.Scopes.Schema)
		if len(o.Scopes.Read) == 0 {
			t.Errorf("%s: no read scope", o.Name)
		}
		if o.ReadOnly && len(o.Scopes.Write) != 0 {
			t.Errorf("%s: read-only object with write scopes %v", o.Name, o.Scopes.Write)
		}
		if !o.ReadOnly && len(o.Scopes.Write) == 0 {
			t.Errorf("%s: writable object without a write scope", o.Name)
		}
	}

	want := map[string]providers.ObjectScopes{
		"contacts":  {Read: []string{"crm.objects.contacts.read"}, Write: []string{"crm.objects.contacts.write"}, Schema: []string{"crm.schemas.contacts.read"}},
		"companies": {Read: []string{"crm.objects.companies.read"}, Write: []string{"crm.objects.companies.write"}, Schema: []string{"crm.schemas.companies.read"}},
		"deals":     {Read: []string{"crm.objects.deals.read"}, Write: []string{"crm.objects.deals.write"}, Schema: []string{"crm.schemas.deals.read"}},
		"tickets":   {Read: []string{"tickets"}, Write: []string{"tickets"}},
		"owners":    {Read: []string{"crm.objects.owners.read"}},
	}
	for name, w := range want {
		o, ok := s.Object("", name)
		if !ok {
			t.Errorf("object %q missing", name)
			continue
		}
		if !equal(o.Scopes.Read, w.Read) || !equal(o.Scopes.Write, w.Write) || !equal(o.Scopes.Schema, w.Schema) {
			t.Errorf("%s scopes = %+v, want %+v", name, o.Scopes, w)
		}
	}
	if owners, _ := s.Object("", "owners"); !owners.ReadOnly {
		t.Error("owners must be read-only")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCustomRules(t *testing.T) {
	t.Parallel()
	c := Spec().Custom
	if c.Note == "" || c.ObjectSuffix != "" || c.FieldSuffix != "" {
		t.Errorf("custom rules = %+v, want a note and no suffixes", c)
	}
	for _, name := range []string{"p12345_cars", "2-123456", "AMPERSAND-event-occurrences-e_form_view_v2"} {
		if !c.IsCustomObject(name) {
			t.Errorf("IsCustomObject(%q) = false", name)
		}
	}
	if !c.IsCustomField("hobby__c") || !c.IsCustomField("favourite_colour") {
		t.Error("any property name may be custom")
	}
}

func TestOAuthAndLimits(t *testing.T) {
	t.Parallel()
	s := Spec()
	o := s.OAuth
	if o.AuthURL != "https://app.hubspot.com/oauth/authorize" || o.TokenURL != "https://api.hubapi.com/oauth/v1/token" {
		t.Errorf("OAuth URLs = %q, %q", o.AuthURL, o.TokenURL)
	}
	if !o.TokenExpiresIn || o.ScopeSeparator != " " {
		t.Errorf("OAuth = %+v, want expires_in and a space separator", o)
	}
	if s.Batch.ReadPageSize != 100 || s.Batch.MaxReadPageSize != 200 || s.Batch.WriteBatchSize != 100 {
		t.Errorf("Batch = %+v", s.Batch)
	}
	if s.RateLimit.Requests != 110 || s.RateLimit.WindowSeconds != 10 {
		t.Errorf("RateLimit = %+v, want 110 per 10 s (public app)", s.RateLimit)
	}
	if s.DisplayName == "" || s.Docs == "" {
		t.Error("display name or docs missing")
	}
}
