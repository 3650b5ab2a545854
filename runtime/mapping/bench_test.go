package mapping_test

import (
	"encoding/json"
	"testing"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/mapping"
)

// benchObject is a Salesforce account read with 12 fields: 9 unmapped
// (Id among them), 2 fixed mappings and 1 customer mapping, one of them
// with a value mapping.
func benchObject() *manifest.ReadObject {
	return &manifest.ReadObject{ObjectName: "account", MapToName: "company", Destination: "crm",
		RequiredFields: []*manifest.Field{
			field("Id"), field("Name"), field("Type"), field("Industry"), field("Phone"), field("Website"),
			field("AnnualRevenue"), field("NumberOfEmployees"), field("OwnerId"),
			field("BillingCity", "city"), field("Rating", "tier"), custom("country"),
		}}
}

func benchConfig() *runtime.ReadConfigObject {
	return &runtime.ReadConfigObject{ObjectName: "account",
		SelectedFieldMappings: map[string]string{"country": "BillingCountry"},
		SelectedValueMappings: map[string]map[string]string{"tier": {"gold": "Hot", "silver": "Warm", "bronze": "Cold"}},
	}
}

// benchRecord is what the Salesforce connector produces for one account.
func benchRecord() providers.Record {
	raw := json.RawMessage(`{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001000000000001AAA"},"Id":"001000000000001AAA","SystemModstamp":"2026-11-20T10:00:00.000+0000","Name":"Acme Corporation","Type":"Customer - Direct","Industry":"Manufacturing","Phone":"(212) 555-5555","Website":"https://acme.example.com","AnnualRevenue":350000000,"NumberOfEmployees":9000,"OwnerId":"005000000000001AAA","BillingCity":"New York","Rating":"Hot","BillingCountry":"USA"}`)
	return providers.Record{ID: "001000000000001AAA", Raw: raw, Fields: map[string]any{
		"id": "001000000000001AAA", "systemmodstamp": "2026-11-20T10:00:00.000+0000",
		"name": "Acme Corporation", "type": "Customer - Direct", "industry": "Manufacturing",
		"phone": "(212) 555-5555", "website": "https://acme.example.com", "annualrevenue": 350000000.0,
		"numberofemployees": 9000.0, "ownerid": "005000000000001AAA", "billingcity": "New York",
		"rating": "Hot", "billingcountry": "USA",
	}}
}

func BenchmarkApply(b *testing.B) {
	p, err := mapping.Compile(benchObject(), benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	rec := benchRecord()
	if e := p.Apply(&rec); len(e.Fields) != 9 || len(e.MappedFields) != 3 || e.MappedFields["tier"] != "gold" {
		b.Fatalf("unexpected entry: %+v", e)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Apply(&rec)
	}
}

func BenchmarkApplyAllFields(b *testing.B) {
	cfg := benchConfig()
	cfg.SelectedFieldsAuto = runtime.SelectedFieldsAll
	obj := benchObject()
	obj.OptionalFieldsAuto = "all"
	p, err := mapping.Compile(obj, cfg)
	if err != nil {
		b.Fatal(err)
	}
	rec := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Apply(&rec)
	}
}

func BenchmarkApplyTombstone(b *testing.B) {
	p, err := mapping.Compile(benchObject(), benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	rec := benchRecord()
	rec.Deleted = true
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Apply(&rec)
	}
}

// BenchmarkApplyEncode is Apply plus encoding the entry, as the engine does.
func BenchmarkApplyEncode(b *testing.B) {
	p, err := mapping.Compile(benchObject(), benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	rec := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		e := p.Apply(&rec)
		if _, err := json.Marshal(&e); err != nil {
			b.Fatal(err)
		}
	}
}
