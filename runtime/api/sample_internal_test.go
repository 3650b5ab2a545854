package api

import (
	"slices"
	"testing"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

func TestSampleTargets(t *testing.T) {
	in := &manifest.Integration{Read: &manifest.Read{Objects: []*manifest.ReadObject{
		{ObjectName: "contact", Schedule: "*/10 * * * *", RequiredFields: []*manifest.Field{
			{FieldName: "name"}, {MapToName: "country"}}},
		{ObjectName: "account"},                        // no schedule anywhere: not sampled
		{ObjectName: "lead", Schedule: "*/10 * * * *"}, // not configured: not read
		{ObjectName: "opportunity", Enabled: "always", RequiredFields: []*manifest.Field{{FieldName: "amount"}}},
		{ObjectName: "task", Schedule: "*/10 * * * *"}, // disabled
		{ObjectName: "event"}, // scheduled by the installation
	}}}
	content := runtime.ConfigContent{Provider: "salesforce", Read: &runtime.ReadConfig{Objects: map[string]runtime.ReadConfigObject{
		"Contact": {ObjectName: "contact", SelectedFields: map[string]bool{"phone": true, "fax": false, "Name": true},
			SelectedFieldMappings: map[string]string{"country": "mailingcountry"}},
		"account": {ObjectName: "account", SelectedFields: map[string]bool{"x": true}},
		"task":    {ObjectName: "task", Disabled: true},
		"event":   {ObjectName: "event", Schedule: "0 * * * *"},
	}}}
	got := sampleTargets(in, content, nil)
	want := []sampleTarget{
		{object: "contact", fields: []string{"name", "mailingcountry", "phone"}},
		{object: "opportunity", fields: []string{"amount"}},
		{object: "event"},
	}
	if !slices.EqualFunc(got, want, func(a, b sampleTarget) bool { return a.object == b.object && slices.Equal(a.fields, b.fields) }) {
		t.Errorf("sampleTargets = %+v, want %+v", got, want)
	}
	// Only the changed keys, on an update.
	got = sampleTargets(in, content, func(key string) bool { return key == "event" })
	if len(got) != 1 || got[0].object != "event" {
		t.Errorf("sampleTargets(changed event) = %+v", got)
	}
}
