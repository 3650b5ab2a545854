package salesforce

import (
	"strings"
	"time"
)

// apiNames maps the catalog's lower-case CRM object names to Salesforce API
// names. SOQL and REST paths ignore case, but the API's own spelling keeps
// requests and logs readable and matches what describe returns.
var apiNames = map[string]string{
	"account": "Account", "contact": "Contact", "lead": "Lead", "opportunity": "Opportunity",
	"case": "Case", "task": "Task", "event": "Event", "note": "Note", "user": "User",
	"product2": "Product2", "pricebook2": "Pricebook2", "pricebookentry": "PricebookEntry",
	"campaign": "Campaign", "campaignmember": "CampaignMember", "opportunitylineitem": "OpportunityLineItem",
	"contract": "Contract", "order": "Order", "quote": "Quote",
}

// APIObjectName returns the API name for an object as a manifest spells it:
// catalog objects by table (account -> Account), names already in mixed
// case unchanged, and other names (custom objects such as invoice__c) with
// their first letter upper-cased, which Salesforce accepts in any case.
func APIObjectName(name string) string {
	if n, ok := apiNames[name]; ok {
		return n
	}
	if n, ok := apiNames[strings.ToLower(name)]; ok {
		return n
	}
	if name == "" || name != strings.ToLower(name) {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// TimeLayout is how Salesforce writes datetimes: milliseconds and a
// numeric offset without a colon (2024-09-10T13:12:38.000+0000), which
// time.RFC3339 does not parse.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// ParseTime parses a Salesforce datetime, also accepting RFC 3339 (CDC
// events and Bulk CSV use 2024-09-10T13:12:38.000Z).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
			return t2.UTC(), nil
		}
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// soqlTime formats a SOQL datetime literal (unquoted, UTC, milliseconds).
func soqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
