package dynamics

import "github.com/ampforge/amp/providers"

// Name is Dynamics 365's catalog key, as manifests spell it.
const Name = "dynamicsCRM"

const moduleCRM = "crm"

// Normalised field types (see providers.Field.Type). Dataverse attribute
// types map to them as follows: String, Memo and Uniqueidentifier ->
// string; Integer and BigInt -> int; Decimal, Double and Money -> float;
// Boolean -> boolean; DateTime -> datetime (date for date-only columns);
// Lookup, Customer and Owner -> reference; Picklist, State and Status ->
// singleSelect; MultiSelectPicklist -> multiSelect; PartyList, EntityName
// and Virtual -> other.
const (
	tString   = "string"
	tBool     = "boolean"
	tSelect   = "singleSelect"
	tMulti    = "multiSelect"
	tDate     = "date"
	tDateTime = "datetime"
	tInt      = "int"
	tFloat    = "float"
	tRef      = "reference"
	tOther    = "other"
)

// Spec returns Dynamics 365's catalog entry. Callers must not modify it.
func Spec() *providers.Spec { return spec }

func init() { providers.Default.Register(provider{}) }

// rw is a column valid for create or update.
func rw(name, display, typ string) providers.Field {
	return providers.Field{Name: name, DisplayName: display, Type: typ}
}

// ro is a column Dataverse maintains (IsValidForCreate and IsValidForUpdate
// are false), or a primary key.
func ro(name, display, typ string) providers.Field {
	return providers.Field{Name: name, DisplayName: display, Type: typ, ReadOnly: true}
}

// audit returns the columns every table has.
func audit() []providers.Field {
	return []providers.Field{
		ro("createdon", "Created On", tDateTime),
		ro("createdby", "Created By", tRef),
		ro("modifiedon", "Modified On", tDateTime),
		ro("modifiedby", "Modified By", tRef),
		ro("versionnumber", "Version Number", tInt),
	}
}

// userOwned returns the columns of user- or team-owned tables.
func userOwned() []providers.Field {
	return []providers.Field{
		rw("ownerid", "Owner", tRef),
		ro("owningbusinessunit", "Owning Business Unit", tRef),
	}
}

// state returns the status columns of tables with a lifecycle.
func state() []providers.Field {
	return []providers.Field{
		rw("statecode", "Status", tSelect),
		rw("statuscode", "Status Reason", tSelect),
	}
}

// columns concatenates column groups.
func columns(groups ...[]providers.Field) []providers.Field {
	var out []providers.Field
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// own is shorthand for a group of a table's own columns.
func own(fields ...providers.Field) []providers.Field { return fields }

// activity returns the columns every activity table (task, phone call,
// appointment, email) shares; activities are keyed by activityid.
func activity() []providers.Field {
	return []providers.Field{
		ro("activityid", "Activity", tString),
		rw("subject", "Subject", tString),
		rw("description", "Description", tString),
		rw("regardingobjectid", "Regarding", tRef),
		rw("scheduledstart", "Start Date", tDateTime),
		rw("scheduledend", "Due Date", tDateTime),
		rw("actualstart", "Actual Start", tDateTime),
		rw("actualend", "Actual End", tDateTime),
		rw("actualdurationminutes", "Actual Duration", tInt),
		rw("scheduleddurationminutes", "Duration", tInt),
		rw("prioritycode", "Priority", tSelect),
		ro("activitytypecode", "Activity Type", tOther),
		ro("isregularactivity", "Is Regular Activity", tBool),
	}
}

// address returns the first address block of a table.
func address() []providers.Field {
	return []providers.Field{
		rw("address1_line1", "Address 1: Street 1", tString),
		rw("address1_line2", "Address 1: Street 2", tString),
		rw("address1_city", "Address 1: City", tString),
		rw("address1_stateorprovince", "Address 1: State/Province", tString),
		rw("address1_postalcode", "Address 1: ZIP/Postal Code", tString),
		rw("address1_country", "Address 1: Country/Region", tString),
		ro("address1_composite", "Address 1", tString),
	}
}

var spec = &providers.Spec{
	Name:        Name,
	DisplayName: "Microsoft Dynamics 365",
	Docs: "Microsoft Dynamics 365 Sales and Customer Service through the Dataverse Web API (v9.2) of one " +
		"organisation (https://<organization>.crm.dynamics.com). Tables are named by their entity set names " +
		"(accounts, contacts, opportunities) and columns by their logical names (emailaddress1, modifiedon). " +
		"Reads page 5,000 rows at a time and use change tracking to see deletes; writes go one request per " +
		"record or in $batch requests of up to 1,000 operations. Customers add tables and columns with a " +
		"publisher prefix (new_, cr123_), so unknown names are allowed. Service protection limits apply per " +
		"user and web server: 6,000 requests and 20 minutes of execution time per 5 minutes, and 52 concurrent " +
		"requests; throttled calls get 429 with Retry-After.",
	Modules:       []providers.Module{{ID: moduleCRM, DisplayName: "CRM"}},
	DefaultModule: moduleCRM,
	Support: providers.Support{
		Read: true, Write: true, Proxy: true, Delete: true,
		// No change events: Dataverse webhooks need plug-in registration in
		// the customer's environment. $batch and CreateMultiple are batches,
		// not an asynchronous bulk API.
	},
	OAuth: providers.OAuth{
		// Multi-tenant apps sign in work and school accounts through the
		// "organizations" tenant; Dataverse does not accept personal accounts.
		AuthURL:  "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
		TokenURL: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
		// The Microsoft identity platform has no token revocation endpoint.
		RevokeURL:      "",
		PKCE:           true,
		ScopeSeparator: " ",
		Inputs: []providers.Input{{
			Name:        "workspace",
			DisplayName: "Organization",
			Prompt:      "Your Dynamics 365 organization name, as in https://<organization>.crm.dynamics.com",
		}},
		// Access tokens last 60 to 90 minutes and the response carries
		// expires_in; refresh tokens rotate.
		TokenExpiresIn: true,
	},
	Scopes: providers.ScopeRules{
		Base: []providers.Scope{
			{Name: "https://{{.workspace}}.crm.dynamics.com/user_impersonation", Reason: "Dataverse Web API access as the signed-in user"},
			{Name: "offline_access", Reason: "a refresh token so scheduled reads run without the user"},
		},
		// Dataverse permissions come from the user's security roles, not
		// from OAuth scopes, so no object needs a scope of its own.
		Custom: providers.ObjectScopes{},
	},
	Custom: providers.CustomRules{
		Objects: true,
		Fields:  true,
		Note:    "Custom tables and columns carry their solution publisher's prefix (for example new_project or cr123_region), which differs per environment, so unknown names cannot be told from typos offline.",
	},
	Batch: providers.BatchLimits{
		// odata.maxpagesize defaults to and is capped at 5,000.
		ReadPageSize:    5000,
		MaxReadPageSize: 5000,
		// A $batch request holds at most 1,000 operations. Microsoft advises
		// starting far lower (about 10) because large batches exhaust the
		// execution-time limit.
		WriteBatchSize: 1000,
	},
	// Service protection: 6,000 requests per user per web server in a
	// sliding 5-minute window. The Power Platform daily entitlement is not
	// enforced on Web API calls today.
	RateLimit: providers.RateLimit{Requests: 6000, WindowSeconds: 300},
	Objects:   objects,
}

var objects = []providers.Object{
	{
		Name: "accounts", DisplayName: "Accounts",
		Fields: columns(own(
			ro("accountid", "Account", tString),
			rw("name", "Account Name", tString),
			rw("accountnumber", "Account Number", tString),
			rw("websiteurl", "Website", tString),
			rw("industrycode", "Industry", tSelect),
			rw("numberofemployees", "Number of Employees", tInt),
			rw("revenue", "Annual Revenue", tFloat),
			rw("description", "Description", tString),
			rw("telephone1", "Main Phone", tString),
			rw("telephone2", "Other Phone", tString),
			rw("fax", "Fax", tString),
			rw("emailaddress1", "Email", tString),
			rw("emailaddress2", "Email Address 2", tString),
			rw("parentaccountid", "Parent Account", tRef),
			rw("primarycontactid", "Primary Contact", tRef),
			rw("accountcategorycode", "Category", tSelect),
			rw("customertypecode", "Relationship Type", tSelect),
			rw("ownershipcode", "Ownership", tSelect),
			rw("tickersymbol", "Ticker Symbol", tString),
			rw("sic", "SIC Code", tString),
			rw("creditlimit", "Credit Limit", tFloat),
			rw("marketcap", "Market Capitalization", tFloat),
			rw("transactioncurrencyid", "Currency", tRef),
			ro("exchangerate", "Exchange Rate", tFloat),
			rw("preferredcontactmethodcode", "Preferred Method of Contact", tSelect),
			rw("donotemail", "Do not allow Emails", tBool),
			rw("donotphone", "Do not allow Phone Calls", tBool),
			rw("address2_city", "Address 2: City", tString),
			rw("address2_country", "Address 2: Country/Region", tString),
			rw("overriddencreatedon", "Record Created On", tDateTime),
			rw("importsequencenumber", "Import Sequence Number", tInt),
		), address(), userOwned(), state(), audit()),
	},
	{
		Name: "contacts", DisplayName: "Contacts",
		Fields: columns(own(
			ro("contactid", "Contact", tString),
			rw("firstname", "First Name", tString),
			rw("middlename", "Middle Name", tString),
			rw("lastname", "Last Name", tString),
			ro("fullname", "Full Name", tString),
			rw("salutation", "Salutation", tString),
			rw("nickname", "Nickname", tString),
			rw("jobtitle", "Job Title", tString),
			rw("department", "Department", tString),
			rw("emailaddress1", "Email", tString),
			rw("emailaddress2", "Email Address 2", tString),
			rw("emailaddress3", "Email Address 3", tString),
			rw("telephone1", "Business Phone", tString),
			rw("telephone2", "Home Phone", tString),
			rw("mobilephone", "Mobile Phone", tString),
			rw("fax", "Fax", tString),
			rw("websiteurl", "Website", tString),
			rw("parentcustomerid", "Company Name", tRef),
			ro("accountid", "Account", tRef),
			rw("birthdate", "Birthday", tDate),
			rw("gendercode", "Gender", tSelect),
			rw("familystatuscode", "Marital Status", tSelect),
			rw("spousesname", "Spouse/Partner Name", tString),
			rw("educationcode", "Education", tSelect),
			rw("annualincome", "Annual Income", tFloat),
			rw("description", "Description", tString),
			rw("leadsourcecode", "Lead Source", tSelect),
			rw("preferredcontactmethodcode", "Preferred Method of Contact", tSelect),
			rw("donotemail", "Do not allow Emails", tBool),
			rw("donotphone", "Do not allow Phone Calls", tBool),
			rw("transactioncurrencyid", "Currency", tRef),
			ro("exchangerate", "Exchange Rate", tFloat),
			ro("merged", "Merged", tBool),
			rw("importsequencenumber", "Import Sequence Number", tInt),
		), address(), userOwned(), state(), audit()),
	},
	{
		Name: "leads", DisplayName: "Leads",
		Fields: columns(own(
			ro("leadid", "Lead", tString),
			rw("subject", "Topic", tString),
			rw("firstname", "First Name", tString),
			rw("lastname", "Last Name", tString),
			ro("fullname", "Name", tString),
			rw("companyname", "Company Name", tString),
			rw("jobtitle", "Job Title", tString),
			rw("emailaddress1", "Email", tString),
			rw("telephone1", "Business Phone", tString),
			rw("mobilephone", "Mobile Phone", tString),
			rw("websiteurl", "Website", tString),
			rw("industrycode", "Industry", tSelect),
			rw("leadsourcecode", "Lead Source", tSelect),
			rw("leadqualitycode", "Rating", tSelect),
			rw("numberofemployees", "No. of Employees", tInt),
			rw("revenue", "Annual Revenue", tFloat),
			rw("description", "Description", tString),
			rw("parentaccountid", "Parent Account for lead", tRef),
			rw("parentcontactid", "Parent Contact for lead", tRef),
			rw("customerid", "Customer", tRef),
			rw("campaignid", "Source Campaign", tRef),
			ro("qualifyingopportunityid", "Qualifying Opportunity", tRef),
			rw("estimatedamount", "Est. Value", tFloat),
			rw("estimatedclosedate", "Est. Close Date", tDate),
			rw("budgetamount", "Budget Amount", tFloat),
			rw("prioritycode", "Priority", tSelect),
			rw("donotemail", "Do not allow Emails", tBool),
			rw("donotphone", "Do not allow Phone Calls", tBool),
		), address(), userOwned(), state(), audit()),
	},
	{
		Name: "opportunities", DisplayName: "Opportunities",
		Fields: columns(own(
			ro("opportunityid", "Opportunity", tString),
			rw("name", "Topic", tString),
			rw("estimatedvalue", "Est. Revenue", tFloat),
			rw("actualvalue", "Actual Revenue", tFloat),
			rw("estimatedclosedate", "Est. Close Date", tDate),
			rw("actualclosedate", "Actual Close Date", tDate),
			rw("salesstagecode", "Process Code", tSelect),
			rw("stepname", "Pipeline Phase", tString),
			rw("closeprobability", "Probability", tInt),
			rw("customerid", "Potential Customer", tRef),
			rw("parentaccountid", "Account", tRef),
			rw("parentcontactid", "Contact", tRef),
			rw("originatingleadid", "Originating Lead", tRef),
			rw("campaignid", "Source Campaign", tRef),
			rw("pricelevelid", "Price List", tRef),
			rw("transactioncurrencyid", "Currency", tRef),
			rw("description", "Description", tString),
			rw("opportunityratingcode", "Rating", tSelect),
			rw("prioritycode", "Priority", tSelect),
			rw("purchasetimeframe", "Purchase Timeframe", tSelect),
			rw("purchaseprocess", "Purchase Process", tSelect),
			rw("need", "Need", tSelect),
			rw("budgetamount", "Budget Amount", tFloat),
			rw("currentsituation", "Current Situation", tString),
			rw("customerneed", "Customer Need", tString),
			rw("proposedsolution", "Proposed Solution", tString),
			rw("discountamount", "Opportunity Discount Amount", tFloat),
			rw("discountpercentage", "Opportunity Discount (%)", tFloat),
			rw("isrevenuesystemcalculated", "Revenue", tBool),
			ro("totalamount", "Total Amount", tFloat),
		), userOwned(), state(), audit()),
	},
	{
		// Cases.
		Name: "incidents", DisplayName: "Cases",
		Fields: columns(own(
			ro("incidentid", "Case", tString),
			rw("title", "Case Title", tString),
			ro("ticketnumber", "Case Number", tString),
			rw("description", "Description", tString),
			rw("customerid", "Customer", tRef),
			rw("primarycontactid", "Contact", tRef),
			rw("parentcaseid", "Parent Case", tRef),
			rw("productid", "Product", tRef),
			rw("subjectid", "Subject", tRef),
			rw("contractid", "Contract", tRef),
			rw("entitlementid", "Entitlement", tRef),
			rw("prioritycode", "Priority", tSelect),
			rw("severitycode", "Severity", tSelect),
			rw("casetypecode", "Case Type", tSelect),
			rw("caseorigincode", "Origin", tSelect),
			rw("followupby", "Follow Up By", tDateTime),
			rw("responseby", "First Response By", tDateTime),
			rw("resolveby", "Resolve By", tDateTime),
			rw("firstresponsesent", "First Response Sent", tBool),
			rw("isescalated", "Is Escalated", tBool),
			ro("escalatedon", "Escalated On", tDateTime),
		), userOwned(), state(), audit()),
	},
	{
		Name: "tasks", DisplayName: "Tasks",
		Fields: columns(activity(), own(
			rw("percentcomplete", "Percent Complete", tInt),
			rw("category", "Category", tString),
			rw("subcategory", "Sub-Category", tString),
		), userOwned(), state(), audit()),
	},
	{
		Name: "phonecalls", DisplayName: "Phone Calls",
		Fields: columns(activity(), own(
			rw("phonenumber", "Phone Number", tString),
			rw("directioncode", "Direction", tBool),
			rw("leftvoicemail", "Left Voice Mail", tBool),
			rw("from", "Call From", tOther),
			rw("to", "Call To", tOther),
		), userOwned(), state(), audit()),
	},
	{
		Name: "appointments", DisplayName: "Appointments",
		Fields: columns(activity(), own(
			rw("location", "Location", tString),
			rw("isalldayevent", "All Day Event", tBool),
			rw("requiredattendees", "Required Attendees", tOther),
			rw("optionalattendees", "Optional Attendees", tOther),
			rw("organizer", "Organizer", tOther),
		), userOwned(), state(), audit()),
	},
	{
		Name: "emails", DisplayName: "Email Messages",
		Fields: columns(activity(), own(
			rw("sender", "From", tString),
			rw("torecipients", "To Recipients", tString),
			rw("from", "From", tOther),
			rw("to", "To", tOther),
			rw("cc", "Cc", tOther),
			rw("bcc", "Bcc", tOther),
			rw("directioncode", "Direction", tBool),
			ro("senton", "Date Sent", tDateTime),
			ro("messageid", "Message ID", tString),
		), userOwned(), state(), audit()),
	},
	{
		// Notes and file attachments.
		Name: "annotations", DisplayName: "Notes",
		Fields: columns(own(
			ro("annotationid", "Note", tString),
			rw("subject", "Title", tString),
			rw("notetext", "Description", tString),
			rw("objectid", "Regarding", tRef),
			ro("objecttypecode", "Object Type", tOther),
			rw("isdocument", "Is Document", tBool),
			rw("filename", "File Name", tString),
			ro("filesize", "File Size (Bytes)", tInt),
			rw("mimetype", "Mime Type", tString),
			rw("documentbody", "Document", tString),
			rw("langid", "Language ID", tString),
		), userOwned(), audit()),
	},
	{
		// Users are usually provisioned from Microsoft Entra ID.
		Name: "systemusers", DisplayName: "Users",
		Fields: columns(own(
			ro("systemuserid", "User", tString),
			ro("fullname", "Full Name", tString),
			rw("firstname", "First Name", tString),
			rw("lastname", "Last Name", tString),
			rw("internalemailaddress", "Primary Email", tString),
			rw("personalemailaddress", "Email 2", tString),
			rw("domainname", "User Name", tString),
			rw("title", "Title", tString),
			rw("jobtitle", "Job Title", tString),
			rw("businessunitid", "Business Unit", tRef),
			rw("parentsystemuserid", "Manager", tRef),
			ro("isdisabled", "Status", tBool),
			rw("accessmode", "Access Mode", tSelect),
			rw("address1_telephone1", "Main Phone", tString),
			rw("mobilephone", "Mobile Phone", tString),
			rw("employeeid", "Employee", tString),
			ro("azureactivedirectoryobjectid", "Azure AD Object ID", tString),
			rw("applicationid", "Application ID", tString),
			rw("setupuser", "Restricted Access Mode", tBool),
		), audit()),
	},
	{
		// Products are organisation-owned: no owner column.
		Name: "products", DisplayName: "Products",
		Fields: columns(own(
			ro("productid", "Product", tString),
			rw("name", "Name", tString),
			rw("productnumber", "Product ID", tString),
			rw("description", "Description", tString),
			rw("price", "List Price", tFloat),
			rw("currentcost", "Current Cost", tFloat),
			rw("standardcost", "Standard Cost", tFloat),
			rw("defaultuomid", "Default Unit", tRef),
			rw("defaultuomscheduleid", "Unit Group", tRef),
			rw("pricelevelid", "Default Price List", tRef),
			rw("producttypecode", "Product Type", tSelect),
			rw("productstructure", "Product Structure", tSelect),
			rw("quantitydecimal", "Decimals Supported", tInt),
			rw("vendorname", "Vendor", tString),
			rw("validfromdate", "Valid From", tDate),
			rw("validtodate", "Valid To", tDate),
			rw("transactioncurrencyid", "Currency", tRef),
		), state(), audit()),
	},
	{
		Name: "quotes", DisplayName: "Quotes",
		Fields: columns(own(
			ro("quoteid", "Quote", tString),
			rw("name", "Name", tString),
			ro("quotenumber", "Quote ID", tString),
			ro("revisionnumber", "Revision ID", tInt),
			rw("customerid", "Potential Customer", tRef),
			rw("opportunityid", "Opportunity", tRef),
			rw("pricelevelid", "Price List", tRef),
			rw("transactioncurrencyid", "Currency", tRef),
			rw("description", "Description", tString),
			rw("discountamount", "Quote Discount Amount", tFloat),
			rw("discountpercentage", "Quote Discount (%)", tFloat),
			rw("freightamount", "Freight Amount", tFloat),
			ro("totalamount", "Total Amount", tFloat),
			ro("totallineitemamount", "Total Detail Amount", tFloat),
			ro("totaltax", "Total Tax", tFloat),
			rw("effectivefrom", "Effective From", tDate),
			rw("effectiveto", "Effective To", tDate),
			rw("expireson", "Due By", tDate),
			rw("closedon", "Closed On", tDate),
			rw("requestdeliveryby", "Requested Delivery Date", tDate),
			rw("billto_city", "Bill To City", tString),
			rw("billto_country", "Bill To Country/Region", tString),
			rw("shipto_city", "Ship To City", tString),
			rw("shipto_country", "Ship To Country/Region", tString),
		), userOwned(), state(), audit()),
	},
	{
		// Orders.
		Name: "salesorders", DisplayName: "Orders",
		Fields: columns(own(
			ro("salesorderid", "Order", tString),
			rw("name", "Name", tString),
			ro("ordernumber", "Order ID", tString),
			rw("customerid", "Customer", tRef),
			rw("opportunityid", "Opportunity", tRef),
			rw("quoteid", "Quote", tRef),
			rw("pricelevelid", "Price List", tRef),
			rw("transactioncurrencyid", "Currency", tRef),
			rw("description", "Description", tString),
			rw("discountamount", "Order Discount Amount", tFloat),
			rw("discountpercentage", "Order Discount (%)", tFloat),
			rw("freightamount", "Freight Amount", tFloat),
			ro("totalamount", "Total Amount", tFloat),
			ro("totallineitemamount", "Total Detail Amount", tFloat),
			ro("totaltax", "Total Tax", tFloat),
			rw("prioritycode", "Priority", tSelect),
			rw("submitdate", "Date Submitted", tDate),
			rw("datefulfilled", "Date Fulfilled", tDate),
			rw("requestdeliveryby", "Requested Delivery Date", tDate),
			rw("billto_city", "Bill To City", tString),
			rw("billto_country", "Bill To Country/Region", tString),
			rw("shipto_city", "Ship To City", tString),
			rw("shipto_country", "Ship To Country/Region", tString),
		), userOwned(), state(), audit()),
	},
	{
		Name: "invoices", DisplayName: "Invoices",
		Fields: columns(own(
			ro("invoiceid", "Invoice", tString),
			rw("name", "Name", tString),
			ro("invoicenumber", "Invoice ID", tString),
			rw("customerid", "Customer", tRef),
			rw("salesorderid", "Order", tRef),
			rw("opportunityid", "Opportunity", tRef),
			rw("pricelevelid", "Price List", tRef),
			rw("transactioncurrencyid", "Currency", tRef),
			rw("description", "Description", tString),
			rw("discountamount", "Invoice Discount Amount", tFloat),
			rw("discountpercentage", "Invoice Discount (%)", tFloat),
			rw("freightamount", "Freight Amount", tFloat),
			ro("totalamount", "Total Amount", tFloat),
			ro("totallineitemamount", "Total Detail Amount", tFloat),
			ro("totaltax", "Total Tax", tFloat),
			rw("prioritycode", "Priority", tSelect),
			rw("ispricelocked", "Prices Locked", tBool),
			rw("datedelivered", "Date Delivered", tDate),
			rw("duedate", "Due Date", tDate),
			rw("billto_city", "Bill To City", tString),
			rw("billto_country", "Bill To Country/Region", tString),
		), userOwned(), state(), audit()),
	},
	{
		Name: "campaigns", DisplayName: "Campaigns",
		Fields: columns(own(
			ro("campaignid", "Campaign", tString),
			rw("name", "Name", tString),
			rw("codename", "Campaign Code", tString),
			rw("description", "Description", tString),
			rw("typecode", "Campaign Type", tSelect),
			rw("objective", "Objective", tString),
			rw("message", "Offer", tString),
			rw("promotioncodename", "Promotion Code", tString),
			rw("proposedstart", "Proposed Start", tDate),
			rw("proposedend", "Proposed End", tDate),
			rw("actualstart", "Actual Start", tDate),
			rw("actualend", "Actual End", tDate),
			rw("budgetedcost", "Budget Allocated", tFloat),
			rw("expectedrevenue", "Estimated Revenue", tFloat),
			rw("expectedresponse", "Expected Response Percentage", tInt),
			rw("othercost", "Miscellaneous Costs", tFloat),
			ro("totalactualcost", "Total Cost of Campaign", tFloat),
			ro("totalcampaignactivityactualcost", "Total Cost of Campaign Activities", tFloat),
			rw("pricelistid", "Price List", tRef),
			rw("istemplate", "Is Template", tBool),
			rw("transactioncurrencyid", "Currency", tRef),
		), userOwned(), state(), audit()),
	},
	{
		// Competitors are organisation-owned and have no status.
		Name: "competitors", DisplayName: "Competitors",
		Fields: columns(own(
			ro("competitorid", "Competitor", tString),
			rw("name", "Name", tString),
			rw("websiteurl", "Website", tString),
			rw("overview", "Overview", tString),
			rw("strengths", "Strengths", tString),
			rw("weaknesses", "Weaknesses", tString),
			rw("opportunities", "Opportunities", tString),
			rw("threats", "Threats", tString),
			rw("keyproduct", "Key Product", tString),
			rw("reportedrevenue", "Reported Revenue", tFloat),
			rw("reportingyear", "Reporting Year", tInt),
			rw("tickersymbol", "Ticker Symbol", tString),
			rw("winpercentage", "Win Percentage", tFloat),
			rw("address1_city", "Address 1: City", tString),
			rw("address1_country", "Address 1: Country/Region", tString),
			rw("transactioncurrencyid", "Currency", tRef),
		), audit()),
	},
}
