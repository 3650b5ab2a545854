package fake

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
)

// PortalID is the fake's HubSpot account (hub) id.
const PortalID = 1234567

// The custom object and custom property every fake has.
const (
	CustomObjectName   = "pets"
	CustomObjectTypeID = "2-1234567"
	CustomObjectFQN    = "p1234567_pets"
	CustomProperty     = "favorite_color"
)

// Seeded ids are numeric strings: record i of every object is
// seedBase+i, and records created through the API count up from
// createdBase, as HubSpot's 11- and 12-digit ids do.
const (
	seedBase    = 1001
	createdBase = 100000000001
)

// searchCap is how many results one search query can page through.
const searchCap = 10000

type option struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	Description  string `json:"description"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

type propDef struct {
	name, label, typ, fieldType, group string
	options                            []option
	readOnly, custom, unique           bool
	referenced                         string
}

// objectDef is one object of the fake portal.
type objectDef struct {
	name      string // store name: contacts, companies, deals, p1234567_pets
	typeID    string // 0-1, 0-2, 0-3, 2-1234567
	fqn       string // CONTACT, COMPANY, DEAL, p1234567_pets
	singular  string
	plural    string
	modProp   string // lastmodifieddate or hs_lastmodifieddate
	custom    bool
	unique    string // property that must be unique (contacts: email)
	required  []string
	primary   string
	defaults  []string // properties returned when none are asked for
	props     []*propDef
	propIndex map[string]*propDef
	seed      func(i int) map[string]any
	urlPath   string // the record's app URL segment
}

func (o *objectDef) prop(name string) *propDef { return o.propIndex[strings.ToLower(name)] }

var selectOptions = map[string][]string{
	"lifecyclestage":   {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"},
	"hs_lead_status":   {"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"},
	"industry":         {"COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL", "MANUFACTURING"},
	"dealstage":        {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"},
	"pipeline":         {"default"},
	"hs_pipeline":      {"contacts-lifecycle-pipeline"},
	"type":             {"PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"},
	"dealtype":         {"newbusiness", "existingbusiness"},
	"hs_priority":      {"low", "medium", "high"},
	CustomProperty:     {"red", "green", "blue"},
	"species":          {"dog", "cat", "parrot", "rabbit"},
	"numemployees":     {"1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+"},
	"hs_persona":       {"persona_1", "persona_2"},
	"hs_language":      {"en", "fr", "de", "es"},
	"web_technologies": {"google_analytics", "hubspot", "salesforce"},
}

func options(name string) []option {
	vals := selectOptions[name]
	out := make([]option, len(vals))
	for i, v := range vals {
		out[i] = option{Label: strings.ToUpper(v[:1]) + v[1:], Value: v, DisplayOrder: i}
	}
	return out
}

// fromCatalog turns a catalog field into a HubSpot property definition.
func fromCatalog(f providers.Field, group string) *propDef {
	p := &propDef{name: f.Name, label: f.DisplayName, group: group, readOnly: f.ReadOnly}
	switch f.Type {
	case "boolean":
		p.typ, p.fieldType = "bool", "booleancheckbox"
		p.options = []option{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false", DisplayOrder: 1}}
	case "singleSelect":
		p.typ, p.fieldType, p.options = "enumeration", "select", options(f.Name)
	case "multiSelect":
		p.typ, p.fieldType, p.options = "enumeration", "checkbox", options(f.Name)
	case "date":
		p.typ, p.fieldType = "date", "date"
	case "datetime":
		p.typ, p.fieldType = "datetime", "date"
	case "int", "float":
		p.typ, p.fieldType = "number", "number"
	case "reference":
		p.typ, p.fieldType = "number", "number"
		switch f.Name {
		case "hubspot_owner_id":
			p.typ, p.fieldType, p.referenced = "enumeration", "select", "OWNER"
		case "associatedcompanyid", "hs_parent_company_id":
			p.referenced = "COMPANY"
		}
	case "other":
		p.typ, p.fieldType = "object_coordinates", "text"
	default:
		p.typ, p.fieldType = "string", "text"
		if strings.Contains(f.Name, "phone") {
			p.typ, p.fieldType = "string", "phonenumber"
		}
	}
	if p.readOnly && p.fieldType == "number" {
		p.fieldType = "calculation_rollup"
	}
	return p
}

func newObject(o objectDef, catalogName, group string, extra ...*propDef) *objectDef {
	if catalogName != "" {
		if co, ok := hubspot.Spec().Object("", catalogName); ok {
			for _, f := range co.Fields {
				if f.Name == "id" {
					continue // the record id, not a property
				}
				o.props = append(o.props, fromCatalog(f, group))
			}
		}
	}
	o.props = append(o.props, extra...)
	o.propIndex = map[string]*propDef{}
	for _, p := range o.props {
		o.propIndex[p.name] = p
	}
	if o.prop("hs_object_id") == nil {
		p := &propDef{name: "hs_object_id", label: "Record ID", typ: "number", fieldType: "number", group: group, readOnly: true}
		o.props = append(o.props, p)
		o.propIndex[p.name] = p
	}
	return &o
}

func customColor() *propDef {
	return &propDef{name: CustomProperty, label: "Favorite color", typ: "enumeration", fieldType: "select", group: "integrationcreatedproperties", custom: true, options: options(CustomProperty)}
}

func seedStr(i int) string { return strconv.Itoa(i) }

// portalObjects builds the fake portal's objects.
func portalObjects() []*objectDef {
	colors := selectOptions[CustomProperty]
	stages := selectOptions["lifecyclestage"]
	dealStages := selectOptions["dealstage"]
	species := selectOptions["species"]
	contacts := newObject(objectDef{
		name: "contacts", typeID: "0-1", fqn: "CONTACT", singular: "Contact", plural: "Contacts",
		modProp: "lastmodifieddate", unique: "email", primary: "firstname", urlPath: "contacts",
		defaults: []string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"},
		seed: func(i int) map[string]any {
			return map[string]any{
				"firstname": fakekit.FirstName(i), "lastname": fakekit.LastName(i), "email": fakekit.Email(i),
				"phone": fakekit.Phone(i), "company": fakekit.Company(i), "city": fakekit.City(i),
				"country": fakekit.Country(i), "lifecyclestage": stages[i%len(stages)], CustomProperty: colors[i%len(colors)],
			}
		},
	}, "contacts", "contactinformation", customColor())
	companies := newObject(objectDef{
		name: "companies", typeID: "0-2", fqn: "COMPANY", singular: "Company", plural: "Companies",
		modProp: "hs_lastmodifieddate", primary: "name", urlPath: "contacts",
		defaults: []string{"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"},
		seed: func(i int) map[string]any {
			return map[string]any{
				"name": fakekit.Company(i), "domain": "company" + seedStr(i) + ".example", "city": fakekit.City(i),
				"country": fakekit.Country(i), "phone": fakekit.Phone(i), "industry": selectOptions["industry"][i%5],
				"numberofemployees": strconv.Itoa(fakekit.Count(i)), "annualrevenue": strconv.FormatFloat(fakekit.Amount(i), 'f', -1, 64),
				CustomProperty: colors[i%len(colors)],
			}
		},
	}, "companies", "companyinformation", customColor())
	deals := newObject(objectDef{
		name: "deals", typeID: "0-3", fqn: "DEAL", singular: "Deal", plural: "Deals",
		modProp: "hs_lastmodifieddate", primary: "dealname", urlPath: "contacts",
		defaults: []string{"amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline"},
		seed: func(i int) map[string]any {
			return map[string]any{
				"dealname": fakekit.Company(i) + " deal", "amount": strconv.FormatFloat(fakekit.Amount(i), 'f', -1, 64),
				"dealstage": dealStages[i%len(dealStages)], "pipeline": "default",
				"closedate": fakekit.Date(fakekit.DefaultStart, i).Format(timeFormat),
			}
		},
	}, "deals", "dealinformation")
	pets := newObject(objectDef{
		name: CustomObjectFQN, typeID: CustomObjectTypeID, fqn: CustomObjectFQN, singular: "Pet", plural: "Pets",
		modProp: "hs_lastmodifieddate", custom: true, primary: "name", required: []string{"name"}, urlPath: "record",
		defaults: []string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"},
		seed: func(i int) map[string]any {
			return map[string]any{"name": fakekit.FirstName(i) + " the " + species[i%len(species)], "species": species[i%len(species)], "age": strconv.Itoa(i%15 + 1)}
		},
	}, "", "pet_information",
		&propDef{name: "name", label: "Name", typ: "string", fieldType: "text", group: "pet_information", custom: true},
		&propDef{name: "species", label: "Species", typ: "enumeration", fieldType: "select", group: "pet_information", custom: true, options: options("species")},
		&propDef{name: "age", label: "Age", typ: "number", fieldType: "number", group: "pet_information", custom: true},
		&propDef{name: "hs_createdate", label: "Object create date/time", typ: "datetime", fieldType: "date", group: "pet_information", readOnly: true},
		&propDef{name: "hs_lastmodifieddate", label: "Object last modified date/time", typ: "datetime", fieldType: "date", group: "pet_information", readOnly: true},
	)
	return []*objectDef{contacts, companies, deals, pets}
}

// timeFormat is how HubSpot writes times: UTC, milliseconds, Z.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// propertyJSON is a property definition as the properties API returns it.
func (p *propDef) json(created time.Time) map[string]any {
	opts := p.options
	if opts == nil {
		opts = []option{}
	}
	m := map[string]any{
		"updatedAt": formatTime(created), "createdAt": formatTime(created),
		"name": p.name, "label": p.label, "type": p.typ, "fieldType": p.fieldType,
		"description": p.label + ".", "groupName": p.group, "options": opts,
		"displayOrder": -1, "calculated": false, "externalOptions": p.referenced != "",
		"hasUniqueValue": p.unique, "hidden": false,
		"modificationMetadata": map[string]any{"archivable": !p.readOnly, "readOnlyDefinition": !p.custom, "readOnlyValue": p.readOnly},
		"formField":            !p.readOnly, "dataSensitivity": "non_sensitive",
	}
	if p.custom {
		m["archived"] = false
		m["createdUserId"] = "76070032"
		m["updatedUserId"] = "76070032"
	} else {
		m["hubspotDefined"] = true
	}
	if p.referenced != "" {
		m["referencedObjectType"] = p.referenced
	}
	return m
}

// schemaJSON is an object schema as the schemas API returns it.
func (o *objectDef) schemaJSON(created time.Time) map[string]any {
	props := []any{}
	meta := "HUBSPOT"
	id := strings.TrimPrefix(o.typeID, "0-")
	if o.custom {
		meta = "PORTAL_SPECIFIC"
		id = strings.TrimPrefix(o.typeID, "2-")
		for _, p := range o.props {
			props = append(props, p.json(created))
		}
	}
	required := o.required
	if required == nil {
		required = []string{}
	}
	return map[string]any{
		"labels":                     map[string]any{"singular": o.singular, "plural": o.plural},
		"requiredProperties":         required,
		"searchableProperties":       []string{o.primary},
		"primaryDisplayProperty":     o.primary,
		"secondaryDisplayProperties": []string{},
		"description":                o.plural + " of the fake portal.",
		"allowsSensitiveProperties":  !o.custom,
		"archived":                   false,
		"restorable":                 true,
		"metaType":                   meta,
		"id":                         id,
		"fullyQualifiedName":         o.fqn,
		"createdAt":                  formatTime(created),
		"updatedAt":                  formatTime(created),
		"createdByUserId":            nil,
		"updatedByUserId":            nil,
		"objectTypeId":               o.typeID,
		"properties":                 props,
		"associations":               []any{},
		"name":                       strings.ToUpper(strings.TrimPrefix(o.fqn, "p1234567_")),
	}
}

// stringValue converts a written value to the string HubSpot stores.
func stringValue(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case json.Number:
		return x.String(), true
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}
