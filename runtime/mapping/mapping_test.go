package mapping_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/mapping"
)

// field is a fixed field: read name, delivered as mapTo when set.
func field(name string, mapTo ...string) *manifest.Field {
	f := &manifest.Field{FieldName: name}
	if len(mapTo) > 0 {
		f.MapToName = mapTo[0]
	}
	return f
}

// custom is a customer-mapped field.
func custom(mapTo string) *manifest.Field { return &manifest.Field{MapToName: mapTo} }

func mustCompile(t testing.TB, obj *manifest.ReadObject, cfg *runtime.ReadConfigObject) *mapping.Plan {
	t.Helper()
	p, err := mapping.Compile(obj, cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func TestCompileFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		obj     *manifest.ReadObject
		cfg     *runtime.ReadConfigObject
		want    []string
		wantAll bool
	}{
		{
			name: "required only",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("Name"), field("BillingCity", "city")}},
			want: []string{"name", "billingcity"},
		},
		{
			name: "nil config",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("name")}, OptionalFields: []*manifest.Field{field("phone"), custom("notes")}},
			want: []string{"name"},
		},
		{
			name: "optional fields are read when selected",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{field("name")},
				OptionalFields: []*manifest.Field{field("phone"), field("Industry"), field("fax"), field("website", "site")}},
			cfg:  &runtime.ReadConfigObject{SelectedFields: map[string]bool{"phone": true, "industry": true, "fax": false, "website": true}},
			want: []string{"name", "phone", "industry", "website"},
		},
		{
			name: "customer-mapped fields read the chosen field",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{field("name"), custom("country")},
				OptionalFields: []*manifest.Field{custom("notes"), custom("region")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"country": "BillingCountry", "notes": "Description__c"}},
			want: []string{"name", "billingcountry", "description__c"},
		},
		{
			name: "lower-case dedup across fixed, selected and mapped fields",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{field("Name"), field("name", "title"), custom("label")},
				OptionalFields: []*manifest.Field{field("NAME")}},
			cfg:  &runtime.ReadConfigObject{SelectedFields: map[string]bool{"name": true}, SelectedFieldMappings: map[string]string{"label": "nAmE"}},
			want: []string{"name"},
		},
		{
			name: "nested paths read their top-level field",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{field("$['BillingAddress']['city']", "city"), field("billingaddress[country]", "country"), custom("zip")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"zip": "ShippingAddress[postalCode]"}},
			want: []string{"billingaddress", "shippingaddress"},
		},
		{
			name: "optionalFieldsAuto all reads the other selected fields in name order",
			obj: &manifest.ReadObject{ObjectName: "account", OptionalFieldsAuto: "all",
				RequiredFields: []*manifest.Field{field("name")},
				OptionalFields: []*manifest.Field{field("phone")}},
			cfg:  &runtime.ReadConfigObject{SelectedFields: map[string]bool{"zeta__c": true, "Alpha__c": true, "phone": false, "off": false}},
			want: []string{"name", "alpha__c", "zeta__c"},
		},
		{
			name: "selected fields the manifest does not offer are ignored",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("name")}},
			cfg:  &runtime.ReadConfigObject{SelectedFields: map[string]bool{"secret__c": true}, SelectedFieldMappings: map[string]string{"gone": "x"}},
			want: []string{"name"},
		},
		{
			name:    "selectedFieldsAuto all reads every field",
			obj:     &manifest.ReadObject{ObjectName: "account", OptionalFieldsAuto: "all", RequiredFields: []*manifest.Field{field("name")}},
			cfg:     &runtime.ReadConfigObject{SelectedFieldsAuto: runtime.SelectedFieldsAll},
			want:    nil,
			wantAll: true,
		},
		{
			name: "optionalFieldsAuto all alone reads only the selection",
			obj:  &manifest.ReadObject{ObjectName: "account", OptionalFieldsAuto: "all", RequiredFields: []*manifest.Field{field("name")}},
			cfg:  &runtime.ReadConfigObject{},
			want: []string{"name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustCompile(t, tt.obj, tt.cfg)
			if diff := cmp.Diff(tt.want, p.Fields()); diff != "" {
				t.Errorf("Fields() (-want +got):\n%s", diff)
			}
			if p.AllFields() != tt.wantAll {
				t.Errorf("AllFields() = %v, want %v", p.AllFields(), tt.wantAll)
			}
		})
	}
}

func TestCompileObjectNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                               string
		obj                                *manifest.ReadObject
		wantObject, wantDelivered, wantRaw string
		wantDeletes                        manifest.Deletes
	}{
		{"no rename", &manifest.ReadObject{ObjectName: "account"}, "account", "account", "account", manifest.DeletesTombstone},
		{"rename", &manifest.ReadObject{ObjectName: "account", MapToName: "company", Deletes: manifest.DeletesIgnore}, "account", "company", "account", manifest.DeletesIgnore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustCompile(t, tt.obj, nil)
			got := []any{p.ObjectName(), p.DeliveredObjectName(), p.RawObjectName(), p.Deletes()}
			want := []any{tt.wantObject, tt.wantDelivered, tt.wantRaw, tt.wantDeletes}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		obj  *manifest.ReadObject
		cfg  *runtime.ReadConfigObject
		want []string // substrings of the message
	}{
		{
			name: "nil object",
			want: []string{"no objectName"},
		},
		{
			name: "required customer-mapped field not mapped",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{{MapToName: "country", Default: "billingcountry"}}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"other": "x"}},
			want: []string{"read object account", "required field country", "does not map it", "set selectedFieldMappings.country", "suggests billingcountry"},
		},
		{
			name: "required customer-mapped field with nil config",
			obj:  &manifest.ReadObject{ObjectName: "contact", RequiredFields: []*manifest.Field{custom("owner")}},
			want: []string{"read object contact", "required field owner", "selectedFieldMappings.owner"},
		},
		{
			name: "required mapping to an empty field",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{custom("country")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"country": ""}},
			want: []string{"read object account", "selectedFieldMappings.country names no provider field", "set it to a field of account"},
		},
		{
			name: "optional mapping to an empty field",
			obj:  &manifest.ReadObject{ObjectName: "account", OptionalFields: []*manifest.Field{custom("notes")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"notes": "  "}},
			want: []string{"selectedFieldMappings.notes names no provider field", "remove the entry"},
		},
		{
			name: "bad field path",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("$['address'", "city")}},
			want: []string{"requiredFields[0].fieldName", "not a valid field path", "$['address']['city']"},
		},
		{
			name: "bad chosen path",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{custom("city")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"city": "address[city"}},
			want: []string{"selectedFieldMappings.city", "not a valid field path"},
		},
		{
			name: "bad mapToName path",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("billingcity", "$['address'][")}},
			want: []string{"requiredFields[0].mapToName", "not a valid field path"},
		},
		{
			name: "two fields delivered under one name",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("billingcity", "city"), custom("city")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"city": "shippingcity"}},
			want: []string{"billingcity and shippingcity are both delivered as mappedFields city", "different mapToName"},
		},
		{
			name: "overlapping mapped names",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("billingaddress", "address"), field("billingcity", "$['address']['city']")}},
			want: []string{"address and $['address']['city'] overlap"},
		},
		{
			name: "entry with neither name",
			obj:  &manifest.ReadObject{ObjectName: "account", OptionalFields: []*manifest.Field{field("phone"), {}}},
			want: []string{"optionalFields[1] has neither fieldName nor mapToName"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := mapping.Compile(tt.obj, tt.cfg)
			if err == nil {
				t.Fatalf("Compile = %+v, want an error", p)
			}
			if code := runtime.ErrorCode(err); code != runtime.EINVALID {
				t.Errorf("ErrorCode = %q, want %q (%v)", code, runtime.EINVALID, err)
			}
			msg := runtime.ErrorMessage(err)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	raw := json.RawMessage(`{"Id":"001","Name":"Acme"}`)
	tests := []struct {
		name string
		obj  *manifest.ReadObject
		cfg  *runtime.ReadConfigObject
		rec  providers.Record
		want mapping.Entry
	}{
		{
			name: "unmapped fields only",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("Name"), field("phone")}},
			rec: providers.Record{ID: "001", Raw: raw, Fields: map[string]any{
				"id": "001", "name": "Acme", "phone": nil, "systemmodstamp": "2026-01-01T00:00:00.000+0000"}},
			want: mapping.Entry{ID: "001", Raw: raw, Fields: map[string]any{"id": "001", "name": "Acme", "phone": nil}},
		},
		{
			name: "fixed mapping: the source field is not in fields",
			obj: &manifest.ReadObject{ObjectName: "account", MapToName: "company",
				RequiredFields: []*manifest.Field{field("name"), field("BillingCity", "city")}},
			rec: providers.Record{ID: "001", Raw: raw, Fields: map[string]any{"id": "001", "name": "Acme", "billingcity": "Paris"}},
			want: mapping.Entry{ID: "001", Raw: raw,
				Fields:       map[string]any{"id": "001", "name": "Acme"},
				MappedFields: map[string]any{"city": "Paris"}},
		},
		{
			name: "customer-mapped fields, one provider field feeding two names",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{field("name"), custom("country")},
				OptionalFields: []*manifest.Field{custom("region"), custom("notes")}},
			cfg: &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"country": "BillingCountry", "region": "billingcountry"}},
			rec: providers.Record{ID: "001", Fields: map[string]any{"id": "001", "name": "Acme", "billingcountry": "FR"}},
			want: mapping.Entry{ID: "001",
				Fields:       map[string]any{"id": "001", "name": "Acme"},
				MappedFields: map[string]any{"country": "FR", "region": "FR"}},
		},
		{
			name: "a field asked for unmapped and as a mapping source is in both",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{field("name"), custom("label")}},
			cfg: &runtime.ReadConfigObject{SelectedFieldMappings: map[string]string{"label": "name"}},
			rec: providers.Record{ID: "001", Fields: map[string]any{"id": "001", "name": "Acme"}},
			want: mapping.Entry{ID: "001",
				Fields:       map[string]any{"id": "001", "name": "Acme"},
				MappedFields: map[string]any{"label": "Acme"}},
		},
		{
			name: "mapped fields absent from the record are left out; mappedFields stays",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("billingcity", "city")}},
			rec:  providers.Record{ID: "001", Fields: map[string]any{"id": "001"}},
			want: mapping.Entry{ID: "001", Fields: map[string]any{"id": "001"}, MappedFields: map[string]any{}},
		},
		{
			name: "id comes from the record when Fields lacks it",
			obj:  &manifest.ReadObject{ObjectName: "contact", RequiredFields: []*manifest.Field{field("firstname")}},
			rec:  providers.Record{ID: "c-1", Fields: map[string]any{"firstname": "Ada"}},
			want: mapping.Entry{ID: "c-1", Fields: map[string]any{"id": "c-1", "firstname": "Ada"}},
		},
		{
			name: "value mappings: by mapToName, by provider field, on unmapped fields, pass-through",
			obj: &manifest.ReadObject{ObjectName: "opportunity",
				RequiredFields: []*manifest.Field{field("StageName", "stage"), field("type", "kind"), field("priority"), field("amount", "value"), custom("flag")}},
			cfg: &runtime.ReadConfigObject{
				SelectedFieldMappings: map[string]string{"flag": "isclosed"},
				SelectedValueMappings: map[string]map[string]string{
					"stage":    {"won": "Closed Won", "lost": "Closed Lost", "cancelled": "Closed Lost", "open": "Prospecting"},
					"Type":     {"new": "New Customer"},
					"priority": {"p1": "High"},
					"value":    {"big": "1000"},
					"flag":     {"yes": "true"},
				}},
			rec: providers.Record{ID: "006", Fields: map[string]any{
				"id": "006", "stagename": "Closed Lost", "type": "Existing", "priority": "High", "amount": 1000.0, "isclosed": true}},
			want: mapping.Entry{ID: "006",
				Fields:       map[string]any{"id": "006", "priority": "p1"},
				MappedFields: map[string]any{"stage": "cancelled", "kind": "Existing", "value": 1000.0, "flag": true}},
		},
		{
			name: "nested paths: present, missing key, wrong type, null, absent field, deeper, array, case",
			obj: &manifest.ReadObject{ObjectName: "account",
				RequiredFields: []*manifest.Field{
					field("$['BillingAddress']['city']", "city"),
					field("billingaddress[postalCode]", "zip"),
					field("billingaddress[STREET]", "street"),
					field("name[first]", "first"),
					field("shippingaddress[city]", "shipCity"),
					field("missing[city]", "gone"),
					field("geo[point][lat]", "lat"),
					field("tags[1]", "second"),
				}},
			rec: providers.Record{ID: "001", Fields: map[string]any{
				"id":              "001",
				"billingaddress":  map[string]any{"city": "Paris", "street": "1 rue"},
				"name":            "Acme",
				"shippingaddress": nil,
				"geo":             map[string]any{"point": map[string]any{"lat": 48.8}},
				"tags":            []any{"a", "b"},
			}},
			want: mapping.Entry{ID: "001",
				Fields: map[string]any{"id": "001"},
				MappedFields: map[string]any{"city": "Paris", "zip": nil, "street": "1 rue", "first": nil,
					"shipCity": nil, "lat": 48.8, "second": "b"}},
		},
		{
			name: "nested mapToName builds objects in mappedFields",
			obj: &manifest.ReadObject{ObjectName: "contact",
				RequiredFields: []*manifest.Field{field("mailingcity", "$['address']['city']"), field("mailingcountry", "address[country]"), field("email", "email")}},
			rec: providers.Record{ID: "003", Fields: map[string]any{"id": "003", "mailingcity": "Lyon", "mailingcountry": "FR", "email": "a@b.c"}},
			want: mapping.Entry{ID: "003",
				Fields:       map[string]any{"id": "003"},
				MappedFields: map[string]any{"address": map[string]any{"city": "Lyon", "country": "FR"}, "email": "a@b.c"}},
		},
		{
			name: "an unmapped nested field is projected into fields",
			obj: &manifest.ReadObject{ObjectName: "contact",
				RequiredFields: []*manifest.Field{field("properties[hs_lead_status]"), field("Properties[email]")}},
			cfg: &runtime.ReadConfigObject{SelectedValueMappings: map[string]map[string]string{"properties[hs_lead_status]": {"new": "NEW"}}},
			rec: providers.Record{ID: "1", Fields: map[string]any{"id": "1",
				"properties": map[string]any{"hs_lead_status": "NEW", "email": "a@b.c", "secret": "x"}}},
			want: mapping.Entry{ID: "1",
				Fields: map[string]any{"id": "1", "properties": map[string]any{"hs_lead_status": "new", "email": "a@b.c"}}},
		},
		{
			name: "a nested projection under a field delivered whole is the whole field",
			obj: &manifest.ReadObject{ObjectName: "contact",
				RequiredFields: []*manifest.Field{field("address[city]"), field("address")}},
			rec: providers.Record{ID: "1", Fields: map[string]any{"id": "1", "address": map[string]any{"city": "Lyon", "zip": "69000"}}},
			want: mapping.Entry{ID: "1",
				Fields: map[string]any{"id": "1", "address": map[string]any{"city": "Lyon", "zip": "69000"}}},
		},
		{
			name: "all fields: everything but whole mapping sources",
			obj: &manifest.ReadObject{ObjectName: "account", OptionalFieldsAuto: "all",
				RequiredFields: []*manifest.Field{field("name"), field("billingcity", "city"), field("billingaddress[country]", "country"), field("industry", "sector"), field("industry")}},
			cfg: &runtime.ReadConfigObject{SelectedFieldsAuto: runtime.SelectedFieldsAll,
				SelectedValueMappings: map[string]map[string]string{"rating": {"hot": "Hot"}}},
			rec: providers.Record{ID: "001", Fields: map[string]any{
				"id": "001", "name": "Acme", "billingcity": "Paris", "billingaddress": map[string]any{"country": "FR"},
				"industry": "Tech", "rating": "Hot", "custom__c": 3.0}},
			want: mapping.Entry{ID: "001",
				Fields: map[string]any{"id": "001", "name": "Acme", "billingaddress": map[string]any{"country": "FR"},
					"industry": "Tech", "rating": "hot", "custom__c": 3.0},
				MappedFields: map[string]any{"city": "Paris", "country": "FR", "sector": "Tech"}},
		},
		{
			name: "all fields: optional mapped fields apply without selection",
			obj: &manifest.ReadObject{ObjectName: "account", OptionalFieldsAuto: "all",
				OptionalFields: []*manifest.Field{field("phone", "tel")}},
			cfg:  &runtime.ReadConfigObject{SelectedFieldsAuto: runtime.SelectedFieldsAll},
			rec:  providers.Record{ID: "001", Fields: map[string]any{"id": "001", "phone": "+33", "fax": "+34"}},
			want: mapping.Entry{ID: "001", Fields: map[string]any{"id": "001", "fax": "+34"}, MappedFields: map[string]any{"tel": "+33"}},
		},
		{
			name: "tombstone with raw",
			obj:  &manifest.ReadObject{ObjectName: "account", RequiredFields: []*manifest.Field{field("name"), field("billingcity", "city")}},
			rec:  providers.Record{ID: "001", Raw: raw, Deleted: true, Fields: map[string]any{"id": "001", "name": "Acme", "isdeleted": true}},
			want: mapping.Entry{ID: "001", Raw: raw, Fields: map[string]any{"id": "001"}, Deleted: true},
		},
		{
			name: "tombstone without raw or fields",
			obj:  &manifest.ReadObject{ObjectName: "contact", RequiredFields: []*manifest.Field{field("email")}},
			rec:  providers.Record{ID: "42", Raw: json.RawMessage{}, Deleted: true},
			want: mapping.Entry{ID: "42", Fields: map[string]any{"id": "42"}, Deleted: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustCompile(t, tt.obj, tt.cfg)
			before := mustJSON(t, tt.rec.Fields)
			got := p.Apply(&tt.rec)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Apply (-want +got):\n%s", diff)
			}
			if after := mustJSON(t, tt.rec.Fields); after != before {
				t.Errorf("Apply modified the record: %s, was %s", after, before)
			}
		})
	}
}

func TestEntryJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry mapping.Entry
		want  string
	}{
		{
			name:  "with mappings",
			entry: mapping.Entry{ID: "001", Raw: json.RawMessage(`{"Id":"001"}`), Fields: map[string]any{"id": "001"}, MappedFields: map[string]any{"city": "Paris"}},
			want:  `{"fields":{"id":"001"},"mappedFields":{"city":"Paris"},"raw":{"Id":"001"},"id":"001"}`,
		},
		{
			name:  "a plan with mappings and none present",
			entry: mapping.Entry{ID: "001", Fields: map[string]any{"id": "001"}, MappedFields: map[string]any{}},
			want:  `{"fields":{"id":"001"},"mappedFields":{},"id":"001"}`,
		},
		{
			name:  "a plan without mappings",
			entry: mapping.Entry{ID: "001", Fields: map[string]any{"id": "001"}},
			want:  `{"fields":{"id":"001"},"id":"001"}`,
		},
		{
			name:  "tombstone",
			entry: mapping.Entry{ID: "001", Raw: json.RawMessage(`{"Id":"001"}`), Fields: map[string]any{"id": "001"}, Deleted: true},
			want:  `{"fields":{"id":"001"},"raw":{"Id":"001"},"id":"001","deleted":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := mustJSON(t, tt.entry); got != tt.want {
				t.Errorf("json:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestReverse(t *testing.T) {
	t.Parallel()
	obj := &manifest.ReadObject{ObjectName: "account", MapToName: "company",
		RequiredFields: []*manifest.Field{
			field("name"),
			field("StageName", "stage"),
			field("BillingCity", "$['address']['city']"),
			field("billingaddress[country]", "address[country]"),
			custom("owner"),
		},
		OptionalFields: []*manifest.Field{field("rating")}}
	cfg := &runtime.ReadConfigObject{
		SelectedFields:        map[string]bool{"rating": true},
		SelectedFieldMappings: map[string]string{"owner": "OwnerId"},
		SelectedValueMappings: map[string]map[string]string{
			"stage":  {"won": "Closed Won", "lost": "Closed Lost"},
			"rating": {"hot": "Hot"},
		},
	}
	p := mustCompile(t, obj, cfg)
	tests := []struct {
		name    string
		in      map[string]any
		want    map[string]any
		wantErr []string
	}{
		{
			name: "mapped, nested and unmapped names",
			in: map[string]any{"name": "Acme", "stage": "won", "owner": "005", "rating": "hot", "Phone": "+33",
				"address": map[string]any{"city": "Paris", "country": "FR"}},
			want: map[string]any{"name": "Acme", "stagename": "Closed Won", "ownerid": "005", "rating": "Hot", "phone": "+33",
				"billingcity": "Paris", "billingaddress": map[string]any{"country": "FR"}},
		},
		{
			name: "values without a mapping pass through",
			in:   map[string]any{"stage": "Prospecting", "rating": 3.0},
			want: map[string]any{"stagename": "Prospecting", "rating": 3.0},
		},
		{
			name: "a null nested object writes nothing",
			in:   map[string]any{"address": nil},
			want: map[string]any{},
		},
		{
			name:    "an unknown key inside a nested mapped name",
			in:      map[string]any{"address": map[string]any{"zip": "75001"}},
			wantErr: []string{"company: address[zip] is not a mapped field", "city, country"},
		},
		{
			name:    "a nested mapped name that is not an object",
			in:      map[string]any{"address": "Paris"},
			wantErr: []string{"address must be an object"},
		},
		{
			name:    "two names writing one field with different values",
			in:      map[string]any{"stage": "won", "StageName": "Closed Lost"},
			wantErr: []string{"StageName and stage write different values to the provider field stagename"},
		},
		{
			name: "two names writing one field with the same value",
			in:   map[string]any{"stage": "won", "stagename": "Closed Won"},
			want: map[string]any{"stagename": "Closed Won"},
		},
		{
			name:    "a field written whole and inside",
			in:      map[string]any{"billingaddress": "x", "address": map[string]any{"country": "FR"}},
			wantErr: []string{"address[country] and billingaddress both write the provider field billingaddress, one of them inside it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Reverse(tt.in)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Reverse = %v, want an error", got)
				}
				if runtime.ErrorCode(err) != runtime.EINVALID {
					t.Errorf("ErrorCode = %q, want invalid", runtime.ErrorCode(err))
				}
				for _, w := range tt.wantErr {
					if msg := runtime.ErrorMessage(err); !strings.Contains(msg, w) {
						t.Errorf("message %q does not contain %q", msg, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Reverse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Reverse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReverseRoundTrip(t *testing.T) {
	t.Parallel()
	obj := &manifest.ReadObject{ObjectName: "opportunity",
		RequiredFields: []*manifest.Field{
			field("name"), field("StageName", "stage"), field("amount", "$['money']['amount']"), custom("owner"),
		},
		OptionalFields: []*manifest.Field{field("type"), field("closedate", "closes")}}
	cfg := &runtime.ReadConfigObject{
		SelectedFields:        map[string]bool{"type": true, "closedate": true},
		SelectedFieldMappings: map[string]string{"owner": "OwnerId"},
		SelectedValueMappings: map[string]map[string]string{
			"stage": {"won": "Closed Won", "lost": "Closed Lost", "cancelled": "Closed Lost"},
			"type":  {"new": "New Customer"},
		},
	}
	p := mustCompile(t, obj, cfg)
	recs := []map[string]any{
		{"id": "006A", "name": "Deal", "stagename": "Closed Lost", "amount": 1200.5, "ownerid": "005", "type": "New Customer", "closedate": "2026-01-01"},
		{"id": "006B", "name": "Other", "stagename": "Prospecting", "amount": nil, "ownerid": nil, "type": "Existing", "closedate": nil},
	}
	for _, fields := range recs {
		e := p.Apply(&providers.Record{ID: fields["id"].(string), Fields: fields})
		delivered := map[string]any{}
		for k, v := range e.Fields {
			delivered[k] = v
		}
		for k, v := range e.MappedFields {
			delivered[k] = v
		}
		got, err := p.Reverse(delivered)
		if err != nil {
			t.Fatalf("Reverse(%v): %v", delivered, err)
		}
		if diff := cmp.Diff(fields, got); diff != "" {
			t.Errorf("round trip of %v (-want +got):\n%s", fields["id"], diff)
		}
	}
}

func TestApplyConcurrent(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, benchObject(), benchConfig())
	rec := benchRecord()
	want := p.Apply(&rec)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if diff := cmp.Diff(want, p.Apply(&rec)); diff != "" {
					t.Errorf("Apply differs (-want +got):\n%s", diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
