package fake

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// fieldDef is one field of a fake sObject, as describe reports it.
type fieldDef struct {
	Name, Label, Type string
	Custom            bool
	Nillable          bool
	Createable        bool
	Updateable        bool
	DefaultedOnCreate bool
	ExternalID        bool
	Unique            bool
	ReferenceTo       []string
	Picklist          []string
	// Length is the string length describe reports.
	Length int
	// Compound parts, for address fields (read-only nested objects).
	compound string
	// CompoundFieldName and ExtraTypeInfo are reported by describe.
	CompoundFieldName, ExtraTypeInfo string
}

// objectDef is one fake sObject: describe data plus seeded values.
type objectDef struct {
	Name, Label, Plural, Prefix string
	Custom                      bool
	Fields                      []*fieldDef
	byLower                     map[string]*fieldDef
	// seed returns seeded record i's stored fields (API names).
	seed func(i int) map[string]any
}

func (o *objectDef) field(name string) *fieldDef { return o.byLower[strings.ToLower(name)] }

// The fake org's fixed users.
const (
	orgID  = "00Dak00000FakeOrgAAA"
	userID = "005ak000005FakeUsAAA"
)

func sys() []*fieldDef {
	return []*fieldDef{
		{Name: "Id", Label: "Record ID", Type: "id", Length: 18},
		{Name: "IsDeleted", Label: "Deleted", Type: "boolean"},
		{Name: "CreatedDate", Label: "Created Date", Type: "datetime"},
		{Name: "CreatedById", Label: "Created By ID", Type: "reference", ReferenceTo: []string{"User"}, Length: 18},
		{Name: "LastModifiedDate", Label: "Last Modified Date", Type: "datetime"},
		{Name: "LastModifiedById", Label: "Last Modified By ID", Type: "reference", ReferenceTo: []string{"User"}, Length: 18},
		{Name: "SystemModstamp", Label: "System Modstamp", Type: "datetime"},
		{Name: "OwnerId", Label: "Owner ID", Type: "reference", ReferenceTo: []string{"User"}, Createable: true, Updateable: true, DefaultedOnCreate: true, Length: 18},
	}
}

// rw is a createable, updateable, nillable field.
func rw(name, label, typ string, picklist ...string) *fieldDef {
	return &fieldDef{Name: name, Label: label, Type: typ, Nillable: true, Createable: true, Updateable: true,
		Custom: strings.HasSuffix(name, "__c"), Picklist: picklist, Length: 255}
}

// req is a required (not nillable) createable field.
func req(name, label, typ string, picklist ...string) *fieldDef {
	f := rw(name, label, typ, picklist...)
	f.Nillable = false
	return f
}

func ref(name, label string, to ...string) *fieldDef {
	f := rw(name, label, "reference")
	f.ReferenceTo, f.Length = to, 18
	return f
}

func ro(name, label, typ string) *fieldDef {
	return &fieldDef{Name: name, Label: label, Type: typ, Nillable: true, Length: 255}
}

func address(name, label string) *fieldDef {
	f := ro(name, label, "address")
	f.compound = strings.TrimSuffix(name, "Address")
	return f
}

var (
	industries  = []string{"Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Energy", "Education", "Media"}
	accountType = []string{"Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"}
	tiers       = []string{"Gold", "Silver", "Bronze"}
	stages      = []string{"Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"}
	leadStatus  = []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"}
	clean       = []string{"Pending", "Matched", "Acknowledged", "Different", "NotFound", "Inactive"}
	invStatus   = []string{"Draft", "Sent", "Paid", "Overdue"}
	departments = []string{"Finance", "Procurement", "Internal Operations", "Facilities", "Production", "Technology"}
)

func pick(list []string, i int) string { return list[i%len(list)] }

// objects returns the fake org's sObjects, each seeded with n records.
func objects(n int, base time.Time) []*objectDef {
	accountID := func(i int) string { return seededID("001", i%max(n, 1)) }
	defs := []*objectDef{
		{
			Name: "Account", Label: "Account", Plural: "Accounts", Prefix: "001",
			Fields: append(sys(),
				ro("MasterRecordId", "Master Record ID", "reference"),
				// Person accounts are on (as in the recorded org), so the
				// account name is a switchable person name.
				func() *fieldDef {
					f := req("Name", "Account Name", "string")
					f.CompoundFieldName, f.ExtraTypeInfo = "Name", "switchablepersonname"
					return f
				}(),
				rw("Type", "Account Type", "picklist", accountType...),
				ref("ParentId", "Parent Account ID", "Account"),
				rw("BillingStreet", "Billing Street", "textarea"),
				rw("BillingCity", "Billing City", "string"),
				rw("BillingState", "Billing State/Province", "string"),
				rw("BillingPostalCode", "Billing Zip/Postal Code", "string"),
				rw("BillingCountry", "Billing Country", "string"),
				address("BillingAddress", "Billing Address"),
				rw("Phone", "Account Phone", "phone"),
				rw("Website", "Website", "url"),
				func() *fieldDef { f := ro("PhotoUrl", "Photo URL", "url"); f.ExtraTypeInfo = "imageurl"; return f }(),
				rw("Industry", "Industry", "picklist", industries...),
				rw("AnnualRevenue", "Annual Revenue", "currency"),
				rw("NumberOfEmployees", "Employees", "int"),
				rw("Description", "Account Description", "textarea"),
				rw("AccountNumber", "Account Number", "string"),
				// The custom field on a standard object.
				rw("Tier__c", "Tier", "picklist", tiers...),
			),
			seed: func(i int) map[string]any {
				return map[string]any{
					"Name": fakekit.Company(i), "Type": pick(accountType, i), "BillingCity": fakekit.City(i),
					"BillingCountry": fakekit.Country(i), "Phone": fakekit.Phone(i), "Website": fakekit.Website(i),
					"Industry": fakekit.Industry(i), "AnnualRevenue": fakekit.Amount(i), "NumberOfEmployees": float64(fakekit.Count(i)),
					"Tier__c": pick(tiers, i), "OwnerId": userID,
				}
			},
		},
		{
			Name: "Contact", Label: "Contact", Plural: "Contacts", Prefix: "003",
			Fields: append(sys(),
				ref("AccountId", "Account ID", "Account"),
				rw("FirstName", "First Name", "string"),
				req("LastName", "Last Name", "string"),
				ro("Name", "Full Name", "string"),
				rw("Email", "Email", "email"),
				rw("Phone", "Business Phone", "phone"),
				rw("Title", "Title", "string"),
				rw("Department", "Department", "string"),
				rw("AssistantName", "Assistant's Name", "string"),
				rw("Description", "Contact Description", "textarea"),
				rw("MailingCity", "Mailing City", "string"),
				rw("MailingCountry", "Mailing Country", "string"),
			),
			seed: func(i int) map[string]any {
				return map[string]any{
					"AccountId": accountID(i), "FirstName": fakekit.FirstName(i), "LastName": fakekit.LastName(i),
					"Email": fakekit.Email(i), "Phone": fakekit.Phone(i), "Department": pick(departments, i),
					"AssistantName": fakekit.FirstName(i + 3), "Title": "Engineer",
					"MailingCity": fakekit.City(i), "MailingCountry": fakekit.Country(i), "OwnerId": userID,
				}
			},
		},
		{
			Name: "Lead", Label: "Lead", Plural: "Leads", Prefix: "00Q",
			Fields: append(sys(),
				rw("FirstName", "First Name", "string"),
				req("LastName", "Last Name", "string"),
				ro("Name", "Full Name", "string"),
				req("Company", "Company", "string"),
				rw("Email", "Email", "email"),
				rw("Street", "Street", "textarea"),
				rw("City", "City", "string"),
				rw("State", "State/Province", "string"),
				rw("PostalCode", "Zip/Postal Code", "string"),
				rw("Country", "Country", "string"),
				address("Address", "Address"),
				func() *fieldDef {
					f := req("Status", "Status", "picklist", leadStatus...)
					f.DefaultedOnCreate = true
					return f
				}(),
				rw("CleanStatus", "Clean Status", "picklist", clean...),
			),
			seed: func(i int) map[string]any {
				return map[string]any{
					"FirstName": fakekit.FirstName(i), "LastName": fakekit.LastName(i), "Company": fakekit.Company(i),
					"Email": fakekit.Email(i), "City": fakekit.City(i), "Country": fakekit.Country(i),
					"Street": fmt.Sprintf("%d High Street", i%300+1), "State": "ST", "PostalCode": fmt.Sprintf("%05d", i%100000),
					"Status": pick(leadStatus, i), "CleanStatus": "Pending", "OwnerId": userID,
				}
			},
		},
		{
			Name: "Opportunity", Label: "Opportunity", Plural: "Opportunities", Prefix: "006",
			Fields: append(sys(),
				ref("AccountId", "Account ID", "Account"),
				req("Name", "Name", "string"),
				rw("Description", "Description", "textarea"),
				req("StageName", "Stage", "picklist", stages...),
				rw("Amount", "Amount", "currency"),
				rw("Probability", "Probability (%)", "percent"),
				req("CloseDate", "Close Date", "date"),
			),
			seed: func(i int) map[string]any {
				return map[string]any{
					"AccountId": accountID(i), "Name": fmt.Sprintf("%s deal", fakekit.Company(i)), "StageName": pick(stages, i),
					"Amount": fakekit.Amount(i), "Probability": float64((i * 10) % 100),
					"CloseDate": fakekit.Date(base, i).Format(time.DateOnly), "OwnerId": userID,
				}
			},
		},
		{
			// The custom object.
			Name: "Invoice__c", Label: "Invoice", Plural: "Invoices", Prefix: "a0A", Custom: true,
			Fields: append(sys(),
				req("Name", "Invoice Name", "string"),
				ref("Account__c", "Account", "Account"),
				rw("Amount__c", "Amount", "currency"),
				rw("Status__c", "Status", "picklist", invStatus...),
				rw("Due_Date__c", "Due Date", "date"),
				func() *fieldDef {
					f := rw("External_Id__c", "External ID", "string")
					f.ExternalID, f.Unique = true, true
					return f
				}(),
			),
			seed: func(i int) map[string]any {
				return map[string]any{
					"Name": fmt.Sprintf("INV-%06d", i), "Account__c": accountID(i), "Amount__c": fakekit.Amount(i),
					"Status__c": pick(invStatus, i), "Due_Date__c": fakekit.Date(base, i).Format(time.DateOnly),
					"External_Id__c": fmt.Sprintf("inv-%d", i), "OwnerId": userID,
				}
			},
		},
	}
	for _, o := range defs {
		o.byLower = make(map[string]*fieldDef, len(o.Fields))
		for _, f := range o.Fields {
			if strings.HasSuffix(f.Name, "__c") {
				f.Custom = true
			}
			o.byLower[strings.ToLower(f.Name)] = f
		}
	}
	return defs
}

// seededID is seeded record i's 18-character id: key prefix, 12 digits,
// a fixed suffix. Created records use an N after the prefix, so the two
// never collide.
func seededID(prefix string, i int) string { return fmt.Sprintf("%s%012dAAA", prefix, i) }

func createdID(prefix string, seq int) string { return fmt.Sprintf("%sN%011dAAA", prefix, seq) }

func seededIndex(prefix, id string) (int, bool) {
	if len(id) != 18 || !strings.HasPrefix(id, prefix) || id[15:] != "AAA" {
		return 0, false
	}
	i, err := strconv.Atoi(id[3:15])
	return i, err == nil
}

// validID reports whether id looks like a Salesforce id (15 or 18
// alphanumeric characters).
func validID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
