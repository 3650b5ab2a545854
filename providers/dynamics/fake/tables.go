package fake

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ampforge/amp/providers/fakekit"
)

// option is one choice of a picklist, state or status column.
type option struct {
	value int
	label string
	// state is the statecode a status reason belongs to; defaultStatus is
	// a state's default status reason.
	state, defaultStatus int
}

// column is one attribute of a table, as EntityDefinitions/Attributes
// describes it.
type column struct {
	name, schema, display string
	// attrType is the AttributeType (String, Integer, Picklist...).
	attrType string
	format   string
	// create and update are IsValidForCreate and IsValidForUpdate.
	create, update bool
	custom         bool
	// required is RequiredLevel.Value.
	required string
	targets  []string
	options  []option
}

// odataType is the attribute's typed metadata class.
func (c *column) odataType() string {
	switch c.attrType {
	case "Virtual":
		return ""
	case "Uniqueidentifier":
		return "#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata"
	case "Owner", "Customer":
		return "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
	}
	return "#Microsoft.Dynamics.CRM." + c.attrType + "AttributeMetadata"
}

// jsonKind is the JSON kind a column's values take: "string", "number",
// "boolean".
func (c *column) jsonKind() string {
	switch c.attrType {
	case "Integer", "BigInt", "Decimal", "Double", "Money", "Picklist", "State", "Status":
		return "number"
	case "Boolean":
		return "boolean"
	}
	return "string"
}

func (c *column) label(v any) (string, bool) {
	f, ok := v.(float64)
	if !ok {
		if i, isInt := v.(int); isInt {
			f, ok = float64(i), true
		}
	}
	if !ok {
		return "", false
	}
	for _, o := range c.options {
		if float64(o.value) == f {
			return o.label, true
		}
	}
	return "", false
}

// table is one Dataverse table of the fake.
type table struct {
	num                     int
	set, logical, schema    string
	display, displayPlural  string
	primaryID, primaryName  string
	custom                  bool
	columns                 []column
	byName                  map[string]*column
	altKey                  string // alternate key column, "" when none
	gen                     func(i int) map[string]any
	computeName             bool // fullname from firstname + lastname
	metadataID, optionSetID string

	// idMu guards forced and chosen: a row created under an id the client
	// chose (PATCH-upsert by primary key) gets it from newID, which
	// remembers its creation sequence number for paging.
	idMu   sync.Mutex
	forced string
	chosen map[string]int
}

func (t *table) column(name string) *column { return t.byName[name] }

// Seeded ids are version-4-shaped GUIDs: a per-fake constant, the table
// number, variant a000 and the record index; created records use variant
// b000 and a sequence number, so the two never collide.
const guidSalt = 0x5eed0d75

func (t *table) id(i int) string {
	return fmt.Sprintf("%08x-%04x-4000-a000-%012x", guidSalt, t.num, i)
}

func (t *table) newID(seq int) string {
	t.idMu.Lock()
	defer t.idMu.Unlock()
	if id := t.forced; id != "" {
		t.forced = ""
		if t.chosen == nil {
			t.chosen = map[string]int{}
		}
		t.chosen[id] = seq
		return id
	}
	return fmt.Sprintf("%08x-%04x-4000-b000-%012x", guidSalt, t.num, seq)
}

// force makes the next newID return id ("" cancels).
func (t *table) force(id string) {
	t.idMu.Lock()
	t.forced = id
	t.idMu.Unlock()
}

// chosenSeq is the creation sequence number of a row created under a
// client-chosen id.
func (t *table) chosenSeq(id string) (int, bool) {
	t.idMu.Lock()
	defer t.idMu.Unlock()
	n, ok := t.chosen[id]
	return n, ok
}

// index is the inverse of id.
func (t *table) index(id string) (int, bool) {
	if len(id) != 36 || id[:24] != fmt.Sprintf("%08x-%04x-4000-a000-", guidSalt, t.num) {
		return 0, false
	}
	n, err := strconv.ParseUint(id[24:], 16, 64)
	if err != nil || n > 1<<40 {
		return 0, false
	}
	return int(n), true
}

// seq is the inverse of newID.
func (t *table) seq(id string) (int, bool) {
	if len(id) != 36 || id[:24] != fmt.Sprintf("%08x-%04x-4000-b000-", guidSalt, t.num) {
		return 0, false
	}
	n, err := strconv.ParseUint(id[24:], 16, 64)
	if err != nil || n > 1<<40 {
		return 0, false
	}
	return int(n), true
}

func (t *table) spec(count int) fakekit.ObjectSpec {
	return fakekit.ObjectSpec{Name: t.set, Count: count, ID: t.id, Index: t.index, NewID: t.newID, Fields: t.gen}
}

func col(name, schema, display, typ string, create, update bool) column {
	c := column{name: name, schema: schema, display: display, attrType: typ, create: create, update: update, required: "None"}
	switch typ {
	case "String", "Memo":
		c.format = "Text"
	case "DateTime":
		c.format = "DateAndTime"
	case "Integer", "Lookup", "Owner", "Customer":
		c.format = "None"
	}
	return c
}

func rw(name, schema, display, typ string) column { return col(name, schema, display, typ, true, true) }
func ro(name, schema, display, typ string) column {
	return col(name, schema, display, typ, false, false)
}

func required(c column, level string) column { c.required = level; return c }

func lookup(c column, targets ...string) column { c.targets = targets; return c }

func choices(c column, opts ...option) column { c.options = opts; return c }

func custom(c column) column { c.custom = true; return c }

func dateOnly(c column) column { c.format = "DateOnly"; return c }

// common returns the columns every user-owned table with a lifecycle has.
func common(prefix string) []column {
	return []column{
		ro("createdon", "CreatedOn", "Created On", "DateTime"),
		lookup(ro("createdby", "CreatedBy", "Created By", "Lookup"), "systemuser"),
		ro("modifiedon", "ModifiedOn", "Modified On", "DateTime"),
		lookup(ro("modifiedby", "ModifiedBy", "Modified By", "Lookup"), "systemuser"),
		ro("versionnumber", "VersionNumber", "Version Number", "BigInt"),
		lookup(required(rw("ownerid", "OwnerId", "Owner", "Owner"), "SystemRequired"), "systemuser", "team"),
		choices(col("statecode", "StateCode", "Status", "State", false, true),
			option{value: 0, label: "Active", defaultStatus: 1}, option{value: 1, label: "Inactive", defaultStatus: 2}),
		choices(rw("statuscode", "StatusCode", "Status Reason", "Status"),
			option{value: 1, label: "Active", state: 0}, option{value: 2, label: "Inactive", state: 1}),
		col("importsequencenumber", "ImportSequenceNumber", "Import Sequence Number", "Integer", true, false),
		ro(prefix+"name_virtual", "", "", "Virtual"),
	}
}

var (
	industries = []option{{value: 1, label: "Accounting"}, {value: 2, label: "Agriculture and Non-petrol Natural Resource Extraction"},
		{value: 3, label: "Broadcasting Printing and Publishing"}, {value: 4, label: "Brokers"}, {value: 5, label: "Building Supply Retail"},
		{value: 6, label: "Business Services"}, {value: 7, label: "Consulting"}, {value: 8, label: "Consumer Services"}}
	tiers        = []option{{value: 100000000, label: "Gold"}, {value: 100000001, label: "Silver"}, {value: 100000002, label: "Bronze"}}
	familyStatus = []option{{value: 1, label: "Single"}, {value: 2, label: "Married"}, {value: 3, label: "Divorced"}, {value: 4, label: "Widowed"}}
	genders      = []option{{value: 1, label: "Male"}, {value: 2, label: "Female"}}
	leadQuality  = []option{{value: 1, label: "Hot"}, {value: 2, label: "Warm"}, {value: 3, label: "Cold"}}
	salesStages  = []option{{value: 0, label: "Qualify"}, {value: 1, label: "Develop"}, {value: 2, label: "Propose"}, {value: 3, label: "Close"}}
	projectPhase = []option{{value: 100000000, label: "Planned"}, {value: 100000001, label: "Running"}, {value: 100000002, label: "Done"}}
)

func opt(list []option, i int) int { return list[(i*5+3)%len(list)].value }

func newTables() []*table {
	base := fakekit.DefaultStart
	tables := []*table{
		{
			num: 1, set: "accounts", logical: "account", schema: "Account", display: "Account", displayPlural: "Accounts",
			primaryID: "accountid", primaryName: "name", altKey: "accountnumber",
			columns: append([]column{
				ro("accountid", "AccountId", "Account", "Uniqueidentifier"),
				required(rw("name", "Name", "Account Name", "String"), "ApplicationRequired"),
				rw("accountnumber", "AccountNumber", "Account Number", "String"),
				rw("websiteurl", "WebSiteURL", "Website", "String"),
				rw("telephone1", "Telephone1", "Main Phone", "String"),
				rw("emailaddress1", "EMailAddress1", "Email", "String"),
				rw("address1_city", "Address1_City", "Address 1: City", "String"),
				rw("address1_country", "Address1_Country", "Address 1: Country/Region", "String"),
				choices(rw("industrycode", "IndustryCode", "Industry", "Picklist"), industries...),
				rw("numberofemployees", "NumberOfEmployees", "Number of Employees", "Integer"),
				rw("revenue", "Revenue", "Annual Revenue", "Money"),
				rw("description", "Description", "Description", "Memo"),
				rw("donotemail", "DoNotEMail", "Do not allow Emails", "Boolean"),
				lookup(rw("parentaccountid", "ParentAccountId", "Parent Account", "Lookup"), "account"),
				custom(choices(rw("new_tier", "new_Tier", "Tier", "Picklist"), tiers...)),
			}, common("account")...),
			gen: func(i int) map[string]any {
				return map[string]any{
					"name": fakekit.Company(i), "accountnumber": fmt.Sprintf("ACC-%07d", i), "websiteurl": fakekit.Website(i),
					"telephone1": fakekit.Phone(i), "emailaddress1": fakekit.Email(i), "address1_city": fakekit.City(i),
					"address1_country": fakekit.Country(i), "industrycode": opt(industries, i), "numberofemployees": fakekit.Count(i),
					"revenue": fakekit.Amount(i), "description": nil, "donotemail": i%4 == 0, "new_tier": opt(tiers, i),
					"statecode": 0, "statuscode": 1, "importsequencenumber": nil,
				}
			},
		},
		{
			num: 2, set: "contacts", logical: "contact", schema: "Contact", display: "Contact", displayPlural: "Contacts",
			primaryID: "contactid", primaryName: "fullname", computeName: true, altKey: "emailaddress1",
			columns: append([]column{
				ro("contactid", "ContactId", "Contact", "Uniqueidentifier"),
				rw("firstname", "FirstName", "First Name", "String"),
				required(rw("lastname", "LastName", "Last Name", "String"), "ApplicationRequired"),
				ro("fullname", "FullName", "Full Name", "String"),
				rw("emailaddress1", "EMailAddress1", "Email", "String"),
				rw("telephone1", "Telephone1", "Business Phone", "String"),
				rw("fax", "Fax", "Fax", "String"),
				rw("jobtitle", "JobTitle", "Job Title", "String"),
				rw("address1_city", "Address1_City", "Address 1: City", "String"),
				choices(rw("familystatuscode", "FamilyStatusCode", "Marital Status", "Picklist"), familyStatus...),
				choices(rw("gendercode", "GenderCode", "Gender", "Picklist"), genders...),
				dateOnly(rw("birthdate", "BirthDate", "Birthday", "DateTime")),
				rw("annualincome", "AnnualIncome", "Annual Income", "Money"),
				ro("merged", "Merged", "Merged", "Boolean"),
				lookup(rw("parentcustomerid", "ParentCustomerId", "Company Name", "Customer"), "account", "contact"),
				lookup(ro("accountid", "AccountId", "Account", "Lookup"), "account"),
			}, common("contact")...),
			gen: func(i int) map[string]any {
				first, last := fakekit.FirstName(i), fakekit.LastName(i)
				return map[string]any{
					"firstname": first, "lastname": last, "fullname": first + " " + last, "emailaddress1": fakekit.Email(i),
					"telephone1": fakekit.Phone(i), "fax": fakekit.Phone(i + 1), "jobtitle": "Engineer", "address1_city": fakekit.City(i),
					"familystatuscode": opt(familyStatus, i), "gendercode": opt(genders, i),
					"birthdate":    fakekit.Date(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), i).Format("2006-01-02"),
					"annualincome": fakekit.Amount(i), "merged": false, "statecode": 0, "statuscode": 1, "importsequencenumber": nil,
				}
			},
		},
		{
			num: 3, set: "opportunities", logical: "opportunity", schema: "Opportunity", display: "Opportunity", displayPlural: "Opportunities",
			primaryID: "opportunityid", primaryName: "name",
			columns: append([]column{
				ro("opportunityid", "OpportunityId", "Opportunity", "Uniqueidentifier"),
				required(rw("name", "Name", "Topic", "String"), "ApplicationRequired"),
				rw("estimatedvalue", "EstimatedValue", "Est. Revenue", "Money"),
				dateOnly(rw("estimatedclosedate", "EstimatedCloseDate", "Est. Close Date", "DateTime")),
				rw("closeprobability", "CloseProbability", "Probability", "Integer"),
				choices(rw("salesstagecode", "SalesStageCode", "Process Code", "Picklist"), salesStages...),
				rw("stepname", "StepName", "Pipeline Phase", "String"),
				rw("description", "Description", "Description", "Memo"),
				lookup(rw("customerid", "CustomerId", "Potential Customer", "Customer"), "account", "contact"),
			}, common("opportunity")...),
			gen: func(i int) map[string]any {
				return map[string]any{
					"name": "Deal " + fakekit.Company(i), "estimatedvalue": fakekit.Amount(i),
					"estimatedclosedate": fakekit.Date(base, i).Format("2006-01-02"), "closeprobability": fakekit.Count(i) % 101,
					"salesstagecode": opt(salesStages, i), "stepname": "1-Qualify", "description": nil,
					"statecode": 0, "statuscode": 1, "importsequencenumber": nil,
				}
			},
		},
		{
			num: 4, set: "leads", logical: "lead", schema: "Lead", display: "Lead", displayPlural: "Leads",
			primaryID: "leadid", primaryName: "fullname", computeName: true,
			columns: append([]column{
				ro("leadid", "LeadId", "Lead", "Uniqueidentifier"),
				required(rw("subject", "Subject", "Topic", "String"), "ApplicationRequired"),
				rw("firstname", "FirstName", "First Name", "String"),
				required(rw("lastname", "LastName", "Last Name", "String"), "ApplicationRequired"),
				ro("fullname", "FullName", "Name", "String"),
				rw("companyname", "CompanyName", "Company Name", "String"),
				rw("emailaddress1", "EMailAddress1", "Email", "String"),
				rw("telephone1", "Telephone1", "Business Phone", "String"),
				choices(rw("leadqualitycode", "LeadQualityCode", "Rating", "Picklist"), leadQuality...),
				rw("revenue", "Revenue", "Annual Revenue", "Money"),
			}, common("lead")...),
			gen: func(i int) map[string]any {
				first, last := fakekit.FirstName(i), fakekit.LastName(i)
				return map[string]any{
					"subject": "Interested in " + fakekit.Industry(i), "firstname": first, "lastname": last, "fullname": first + " " + last,
					"companyname": fakekit.Company(i), "emailaddress1": fakekit.Email(i), "telephone1": fakekit.Phone(i),
					"leadqualitycode": opt(leadQuality, i), "revenue": fakekit.Amount(i), "statecode": 0, "statuscode": 1, "importsequencenumber": nil,
				}
			},
		},
		{
			num: 5, set: "new_projects", logical: "new_project", schema: "new_Project", display: "Project", displayPlural: "Projects",
			primaryID: "new_projectid", primaryName: "new_name", custom: true,
			columns: append([]column{
				custom(ro("new_projectid", "new_ProjectId", "Project", "Uniqueidentifier")),
				custom(required(rw("new_name", "new_Name", "Name", "String"), "ApplicationRequired")),
				custom(rw("new_budget", "new_Budget", "Budget", "Money")),
				custom(dateOnly(rw("new_startdate", "new_StartDate", "Start Date", "DateTime"))),
				custom(choices(rw("new_phase", "new_Phase", "Phase", "Picklist"), projectPhase...)),
				custom(lookup(rw("new_accountid", "new_AccountId", "Account", "Lookup"), "account")),
			}, common("new_project")...),
			gen: func(i int) map[string]any {
				return map[string]any{
					"new_name": fmt.Sprintf("Project %d", i), "new_budget": fakekit.Amount(i),
					"new_startdate": fakekit.Date(base, i).Format("2006-01-02"), "new_phase": opt(projectPhase, i),
					"statecode": 0, "statuscode": 1, "importsequencenumber": nil,
				}
			},
		},
	}
	for _, t := range tables {
		t.byName = map[string]*column{}
		// The virtual column stands for Dataverse's *name columns; give it
		// the real naming (e.g. accountname_virtual -> statecodename).
		for i := range t.columns {
			c := &t.columns[i]
			if c.attrType == "Virtual" {
				c.name, c.schema = "statecodename", "StateCodeName"
			}
			t.byName[c.name] = c
		}
		t.metadataID = fmt.Sprintf("%08x-0000-4000-8000-%012x", guidSalt, t.num)
		t.optionSetID = fmt.Sprintf("%08x-0001-4000-8000-%012x", guidSalt, t.num)
	}
	return tables
}
