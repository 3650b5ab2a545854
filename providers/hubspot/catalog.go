package hubspot

import "github.com/ampforge/amp/providers"

// Name is HubSpot's catalog key, as manifests spell it.
const Name = "hubspot"

const moduleCRM = "crm"

// Normalised field types (see providers.Field.Type). HubSpot property types
// map to them as follows: string and phone_number -> string; number -> int
// for counts and ids, float for amounts and scores; date -> date; datetime
// -> datetime; bool and enumeration/booleancheckbox -> boolean; enumeration
// with select or radio -> singleSelect; enumeration with checkbox ->
// multiSelect; owner and record ids -> reference; object_coordinates and
// json -> other. On the wire every property value is a string.
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

// Spec returns HubSpot's catalog entry. Callers must not modify it.
func Spec() *providers.Spec { return spec }

func init() { providers.Default.Register(provider{}) }

// rw is a property the API accepts on create or update.
func rw(name, display, typ string) providers.Field {
	return providers.Field{Name: name, DisplayName: display, Type: typ}
}

// ro is a property HubSpot calculates or maintains (readOnlyValue).
func ro(name, display, typ string) providers.Field {
	return providers.Field{Name: name, DisplayName: display, Type: typ, ReadOnly: true}
}

// record returns the record id fields every CRM object has, followed by the
// object's own properties. HubSpot's record id is the property hs_object_id;
// manifests also name it id, the top-level field of every record.
func record(own ...providers.Field) []providers.Field {
	return append([]providers.Field{
		ro("id", "Record ID", tString),
		ro("hs_object_id", "Record ID", tInt),
	}, own...)
}

// scopes builds an object's scope rule; an empty schema means the object has
// no schema scope of its own.
func scopes(read, write, schema string) providers.ObjectScopes {
	s := providers.ObjectScopes{Read: []string{read}, Write: []string{write}}
	if schema != "" {
		s.Schema = []string{schema}
	}
	return s
}

// Engagements (calls, emails, meetings, notes, tasks): HubSpot documents the
// contacts scopes as the scope requirement of the engagement APIs, so they
// need crm.objects.contacts.read and .write and have no schema scope of
// their own.
var engagementScopes = scopes("crm.objects.contacts.read", "crm.objects.contacts.write", "")

var spec = &providers.Spec{
	Name:        Name,
	DisplayName: "HubSpot",
	Docs: "HubSpot CRM through the v3 object APIs: contacts, companies, deals, tickets, line items, products, " +
		"quotes, engagements (calls, emails, meetings, notes, tasks), owners and the marketing campaigns, emails, " +
		"forms and events. Incremental reads use CRM search (200 records a page, at most 10,000 results a query); " +
		"full reads list 100 records a page, and writes go in batches of 100. Property names are HubSpot's " +
		"internal names (firstname, hs_lastmodifieddate); portals add custom properties and custom objects freely, " +
		"so unknown names are only warned about. Each object needs its own OAuth scopes, so a manifest asks only " +
		"for what it uses. A public app gets about 110 requests per 10 seconds per installing account.",
	Modules:       []providers.Module{{ID: moduleCRM, DisplayName: "CRM"}},
	DefaultModule: moduleCRM,
	Support: providers.Support{
		Read: true, Write: true, Proxy: true, Subscribe: true,
		// Batch archive deletes records. HubSpot has no bulk (async job) API
		// for CRM reads or writes.
		Delete: true,
	},
	OAuth: providers.OAuth{
		AuthURL: "https://app.hubspot.com/oauth/authorize",
		// v1 token endpoint; it is deprecated from 2027-02-16 in favour of
		// /oauth/v3/token (same grants, all parameters in the form body).
		TokenURL: "https://api.hubapi.com/oauth/v1/token",
		// HubSpot has no RFC 7009 revocation endpoint: a refresh token is
		// deleted with DELETE /oauth/v1/refresh-tokens/{token}.
		RevokeURL:      "",
		PKCE:           false,
		ScopeSeparator: " ",
		// Access tokens last 30 minutes; the response carries expires_in.
		TokenExpiresIn: true,
	},
	Scopes: providers.ScopeRules{
		Base: []providers.Scope{
			{Name: "oauth", Reason: "required for every public app: installs the app and issues tokens"},
		},
		// Objects not in the catalog are custom objects (2-NNN or
		// p{portal}_{name}).
		Custom: providers.ObjectScopes{
			Read:   []string{"crm.objects.custom.read"},
			Write:  []string{"crm.objects.custom.write"},
			Schema: []string{"crm.schemas.custom.read"},
		},
	},
	Custom: providers.CustomRules{
		Objects: true,
		Fields:  true,
		Note:    "Custom objects are named by the portal (addressed as p{portalId}_{name} or by an objectTypeId like 2-123456) and custom properties can have any name, so unknown objects and properties cannot be told from typos offline.",
	},
	Batch: providers.BatchLimits{
		// List endpoints return at most 100 records a page; search returns
		// up to 200.
		ReadPageSize:    100,
		MaxReadPageSize: 200,
		WriteBatchSize:  100,
	},
	// Public (OAuth) apps: 110 requests per rolling 10 seconds per installing
	// account, with no daily cap of their own (private apps get 100 to 250
	// per 10 s and a daily quota). Search has a separate limit of about 5
	// requests a second per account.
	RateLimit: providers.RateLimit{Requests: 110, WindowSeconds: 10},
	Objects:   objects,
}

var objects = []providers.Object{
	{
		Name: "contacts", DisplayName: "Contacts",
		Scopes: scopes("crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.read"),
		Fields: record(
			rw("firstname", "First Name", tString),
			rw("lastname", "Last Name", tString),
			rw("email", "Email", tString),
			rw("phone", "Phone Number", tString),
			rw("mobilephone", "Mobile Phone Number", tString),
			rw("fax", "Fax Number", tString),
			rw("salutation", "Salutation", tString),
			rw("company", "Company Name", tString),
			rw("website", "Website URL", tString),
			rw("jobtitle", "Job Title", tString),
			rw("industry", "Industry", tString),
			rw("annualrevenue", "Annual Revenue", tString),
			rw("numemployees", "Number of Employees", tSelect),
			rw("address", "Street Address", tString),
			rw("city", "City", tString),
			rw("state", "State/Region", tString),
			rw("zip", "Postal Code", tString),
			rw("country", "Country/Region", tString),
			rw("lifecyclestage", "Lifecycle Stage", tSelect),
			rw("hs_lead_status", "Lead Status", tSelect),
			rw("hs_persona", "Persona", tSelect),
			rw("hs_language", "Preferred language", tSelect),
			rw("hs_pipeline", "Pipeline", tSelect),
			rw("hubspot_owner_id", "Contact owner", tRef),
			rw("associatedcompanyid", "Primary Associated Company ID", tRef),
			rw("message", "Message", tString),
			rw("hs_content_membership_status", "Status", tSelect),
			rw("hs_all_assigned_business_unit_ids", "Business units", tMulti),
			ro("hs_contact_enrichment_opt_out", "Enrichment opt out", tBool),
			ro("createdate", "Create Date", tDateTime),
			ro("lastmodifieddate", "Last Modified Date", tDateTime),
			ro("hubspotscore", "HubSpot Score", tFloat),
			ro("hs_predictivecontactscorebucket", "Lead Rating", tSelect),
			ro("hs_analytics_source", "Original Traffic Source", tSelect),
			ro("hs_email_optout", "Unsubscribed from all email", tBool),
			ro("hs_associated_target_accounts", "Associated Target Accounts", tInt),
			ro("hs_date_entered_customer", "Date entered 'Customer (Lifecycle Stage Pipeline)'", tDateTime),
			ro("hs_first_subscription_create_date", "First subscription create date", tDateTime),
			ro("hs_notes_last_activity", "Last Activity", tOther),
			ro("notes_last_updated", "Last Activity Date", tDateTime),
			ro("num_associated_deals", "Number of Associated Deals", tInt),
			ro("recent_deal_amount", "Recent Deal Amount", tFloat),
		),
	},
	{
		Name: "companies", DisplayName: "Companies",
		Scopes: scopes("crm.objects.companies.read", "crm.objects.companies.write", "crm.schemas.companies.read"),
		Fields: record(
			rw("name", "Company name", tString),
			rw("domain", "Company Domain Name", tString),
			rw("website", "Website URL", tString),
			rw("phone", "Phone Number", tString),
			rw("industry", "Industry", tSelect),
			rw("description", "Description", tString),
			rw("about_us", "About Us", tString),
			rw("annualrevenue", "Annual Revenue", tFloat),
			rw("numberofemployees", "Number of Employees", tInt),
			rw("founded_year", "Year Founded", tString),
			rw("is_public", "Is Public", tBool),
			rw("type", "Type", tSelect),
			rw("lifecyclestage", "Lifecycle Stage", tSelect),
			rw("hs_lead_status", "Lead Status", tSelect),
			rw("hubspot_owner_id", "Company owner", tRef),
			rw("hs_parent_company_id", "Parent Company", tRef),
			rw("address", "Street Address", tString),
			rw("address2", "Street Address 2", tString),
			rw("city", "City", tString),
			rw("state", "State/Region", tString),
			rw("zip", "Postal Code", tString),
			rw("country", "Country/Region", tString),
			rw("timezone", "Time Zone", tString),
			rw("linkedin_company_page", "LinkedIn Company Page", tString),
			rw("facebook_company_page", "Facebook Company Page", tString),
			rw("twitterhandle", "Twitter Handle", tString),
			rw("web_technologies", "Web Technologies", tMulti),
			ro("createdate", "Create Date", tDateTime),
			ro("hs_lastmodifieddate", "Last Modified Date", tDateTime),
			ro("total_revenue", "Total Revenue", tFloat),
			ro("num_associated_contacts", "Number of Associated Contacts", tInt),
			ro("num_associated_deals", "Number of Associated Deals", tInt),
			ro("notes_last_updated", "Last Activity Date", tDateTime),
			ro("hs_analytics_source", "Original Source Type", tSelect),
		),
	},
	{
		Name: "deals", DisplayName: "Deals",
		Scopes: scopes("crm.objects.deals.read", "crm.objects.deals.write", "crm.schemas.deals.read"),
		Fields: record(
			rw("dealname", "Deal Name", tString),
			rw("amount", "Amount", tFloat),
			rw("dealstage", "Deal Stage", tSelect),
			rw("pipeline", "Pipeline", tSelect),
			rw("closedate", "Close Date", tDateTime),
			rw("description", "Deal Description", tString),
			rw("dealtype", "Deal Type", tSelect),
			rw("hubspot_owner_id", "Deal owner", tRef),
			rw("hs_priority", "Priority", tSelect),
			rw("hs_next_step", "Next step", tString),
			rw("deal_currency_code", "Currency", tSelect),
			rw("hs_forecast_probability", "Forecast Probability", tFloat),
			rw("closed_lost_reason", "Closed Lost Reason", tString),
			rw("closed_won_reason", "Closed Won Reason", tString),
			ro("createdate", "Create Date", tDateTime),
			ro("hs_lastmodifieddate", "Last Modified Date", tDateTime),
			ro("amount_in_home_currency", "Amount in company currency", tFloat),
			ro("hs_deal_stage_probability", "Deal Stage Probability", tFloat),
			ro("hs_forecast_amount", "Forecast Amount", tFloat),
			ro("hs_closed_amount", "Closed Deal Amount", tFloat),
			ro("hs_is_closed", "Is Deal Closed?", tBool),
			ro("hs_is_closed_won", "Is Closed Won", tBool),
			ro("hs_acv", "Annual contract value", tFloat),
			ro("hs_arr", "Annual recurring revenue", tFloat),
			ro("hs_mrr", "Monthly recurring revenue", tFloat),
			ro("hs_tcv", "Total contract value", tFloat),
			ro("days_to_close", "Days to close", tInt),
			ro("num_associated_contacts", "Number of Associated Contacts", tInt),
			ro("notes_last_updated", "Last Activity Date", tDateTime),
			ro("hs_analytics_source", "Original Source Type", tSelect),
		),
	},
	{
		Name: "tickets", DisplayName: "Tickets",
		// Tickets predate granular scopes: one "tickets" scope covers reads
		// and writes, and there is no ticket schema scope.
		Scopes: scopes("tickets", "tickets", ""),
		Fields: record(
			rw("subject", "Ticket name", tString),
			rw("content", "Ticket description", tString),
			rw("hs_pipeline", "Pipeline", tSelect),
			rw("hs_pipeline_stage", "Ticket status", tSelect),
			rw("hs_ticket_priority", "Priority", tSelect),
			rw("hs_ticket_category", "Category", tMulti),
			rw("hubspot_owner_id", "Ticket owner", tRef),
			rw("source_type", "Source", tSelect),
			rw("hs_resolution", "Resolution", tSelect),
			rw("closed_date", "Close date", tDateTime),
			ro("createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
			ro("time_to_close", "Time to close", tInt),
			ro("time_to_first_agent_reply", "Time to first agent email reply", tInt),
			ro("first_agent_reply_date", "First agent email reply date", tDateTime),
			ro("last_reply_date", "Last reply date", tDateTime),
			ro("notes_last_updated", "Last activity date", tDateTime),
		),
	},
	{
		// Leads (object type 0-136) sit in the prospecting workspace; each is
		// associated with a contact or company.
		Name: "leads", DisplayName: "Leads",
		Scopes: scopes("crm.objects.leads.read", "crm.objects.leads.write", ""),
		Fields: record(
			rw("hs_lead_name", "Lead name", tString),
			rw("hs_lead_type", "Lead type", tSelect),
			rw("hs_lead_label", "Lead label", tSelect),
			rw("hs_pipeline", "Pipeline", tSelect),
			rw("hs_pipeline_stage", "Lead stage", tSelect),
			rw("hubspot_owner_id", "Lead owner", tRef),
			ro("createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
		),
	},
	{
		// Owners come from /crm/v3/owners; they are users and teams, not
		// records, and cannot be written.
		Name: "owners", DisplayName: "Owners", ReadOnly: true,
		Scopes: providers.ObjectScopes{Read: []string{"crm.objects.owners.read"}},
		Fields: []providers.Field{
			ro("id", "Owner ID", tString),
			ro("email", "Email", tString),
			ro("firstName", "First Name", tString),
			ro("lastName", "Last Name", tString),
			ro("userId", "User ID", tInt),
			ro("archived", "Archived", tBool),
			ro("teams", "Teams", tOther),
			ro("createdAt", "Created At", tDateTime),
			ro("updatedAt", "Updated At", tDateTime),
		},
	},
	{
		Name: "line_items", DisplayName: "Line Items",
		Scopes: scopes("crm.objects.line_items.read", "crm.objects.line_items.write", "crm.schemas.line_items.read"),
		Fields: record(
			rw("name", "Name", tString),
			rw("description", "Description", tString),
			rw("hs_product_id", "Product ID", tRef),
			rw("hs_sku", "SKU", tString),
			rw("quantity", "Quantity", tFloat),
			rw("price", "Unit price", tFloat),
			rw("discount", "Unit discount", tFloat),
			rw("hs_discount_percentage", "Discount Percentage", tFloat),
			rw("tax", "Tax", tFloat),
			rw("hs_cost_of_goods_sold", "Unit cost", tFloat),
			rw("recurringbillingfrequency", "Billing frequency", tSelect),
			rw("hs_recurring_billing_period", "Term", tString),
			rw("hs_line_item_currency_code", "Currency", tSelect),
			rw("hs_position_on_quote", "Position on quote", tInt),
			ro("amount", "Net price", tFloat),
			ro("createdate", "Create Date", tDateTime),
			ro("hs_lastmodifieddate", "Last Modified Date", tDateTime),
		),
	},
	{
		// HubSpot lists crm.objects.products.* and the older e-commerce
		// scope as alternatives for the products API; the granular ones are
		// asked for here. There is no product schema scope.
		Name: "products", DisplayName: "Products",
		Scopes: scopes("crm.objects.products.read", "crm.objects.products.write", ""),
		Fields: record(
			rw("name", "Name", tString),
			rw("description", "Description", tString),
			rw("price", "Unit price", tFloat),
			rw("hs_sku", "SKU", tString),
			rw("hs_cost_of_goods_sold", "Unit cost", tFloat),
			rw("hs_product_type", "Product type", tSelect),
			rw("hs_url", "URL", tString),
			rw("tax", "Tax", tFloat),
			rw("recurringbillingfrequency", "Billing frequency", tSelect),
			rw("hs_recurring_billing_period", "Term", tString),
			ro("createdate", "Create Date", tDateTime),
			ro("hs_lastmodifieddate", "Last Modified Date", tDateTime),
		),
	},
	{
		Name: "quotes", DisplayName: "Quotes",
		Scopes: scopes("crm.objects.quotes.read", "crm.objects.quotes.write", "crm.schemas.quotes.read"),
		Fields: record(
			rw("hs_title", "Quote name", tString),
			rw("hs_expiration_date", "Quote expiration date", tDateTime),
			rw("hs_status", "Quote approval status", tSelect),
			rw("hs_currency", "Currency", tSelect),
			rw("hs_language", "Language", tSelect),
			rw("hs_locale", "Locale", tSelect),
			rw("hs_sender_firstname", "Sender first name", tString),
			rw("hs_sender_lastname", "Sender last name", tString),
			rw("hs_sender_email", "Sender email", tString),
			rw("hs_sender_company_name", "Sender company name", tString),
			rw("hs_comments", "Comments", tString),
			rw("hs_terms", "Terms", tString),
			rw("hs_template_type", "Template type", tString),
			rw("hs_esign_enabled", "E-signature enabled", tBool),
			rw("hubspot_owner_id", "Quote owner", tRef),
			ro("hs_quote_amount", "Quote amount", tFloat),
			ro("hs_public_url_key", "Public URL key", tString),
			ro("hs_quote_link", "Quote link", tString),
			ro("hs_createdate", "Create Date", tDateTime),
			ro("hs_lastmodifieddate", "Last Modified Date", tDateTime),
		),
	},
	{
		Name: "calls", DisplayName: "Calls", Scopes: engagementScopes,
		Fields: record(
			rw("hs_timestamp", "Activity date", tDateTime),
			rw("hs_call_title", "Call Title", tString),
			rw("hs_call_body", "Call notes", tString),
			rw("hs_call_direction", "Call direction", tSelect),
			rw("hs_call_disposition", "Call outcome", tString),
			rw("hs_call_duration", "Call duration", tInt),
			rw("hs_call_from_number", "From number", tString),
			rw("hs_call_to_number", "To Number", tString),
			rw("hs_call_recording_url", "Recording URL", tString),
			rw("hs_call_status", "Call status", tSelect),
			rw("hubspot_owner_id", "Activity assigned to", tRef),
			ro("hs_createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
		),
	},
	{
		// Reading the content of logged emails also needs sales-email-read;
		// without it HubSpot redacts the subject and body.
		Name: "emails", DisplayName: "Emails", Scopes: engagementScopes,
		Fields: record(
			rw("hs_timestamp", "Activity date", tDateTime),
			rw("hs_email_subject", "Email subject", tString),
			rw("hs_email_text", "Email body", tString),
			rw("hs_email_html", "Email HTML body", tString),
			rw("hs_email_direction", "Email direction", tSelect),
			rw("hs_email_status", "Email send status", tSelect),
			rw("hs_email_headers", "Email headers", tString),
			rw("hubspot_owner_id", "Activity assigned to", tRef),
			ro("hs_createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
		),
	},
	{
		Name: "meetings", DisplayName: "Meetings", Scopes: engagementScopes,
		Fields: record(
			rw("hs_timestamp", "Activity date", tDateTime),
			rw("hs_meeting_title", "Meeting name", tString),
			rw("hs_meeting_body", "Meeting description", tString),
			rw("hs_internal_meeting_notes", "Internal notes", tString),
			rw("hs_meeting_external_url", "External URL", tString),
			rw("hs_meeting_location", "Location", tString),
			rw("hs_meeting_start_time", "Start Time", tDateTime),
			rw("hs_meeting_end_time", "End Time", tDateTime),
			rw("hs_meeting_outcome", "Meeting outcome", tSelect),
			rw("hubspot_owner_id", "Activity assigned to", tRef),
			ro("hs_createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
		),
	},
	{
		Name: "notes", DisplayName: "Notes", Scopes: engagementScopes,
		Fields: record(
			rw("hs_timestamp", "Activity date", tDateTime),
			rw("hs_note_body", "Note body", tString),
			rw("hs_attachment_ids", "Attached file IDs", tString),
			rw("hubspot_owner_id", "Activity assigned to", tRef),
			ro("hs_createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
		),
	},
	{
		Name: "tasks", DisplayName: "Tasks", Scopes: engagementScopes,
		Fields: record(
			rw("hs_timestamp", "Due date", tDateTime),
			rw("hs_task_subject", "Task Title", tString),
			rw("hs_task_body", "Notes", tString),
			rw("hs_task_status", "Task Status", tSelect),
			rw("hs_task_priority", "Priority", tSelect),
			rw("hs_task_type", "Task Type", tSelect),
			rw("hs_task_reminders", "Reminder", tString),
			rw("hubspot_owner_id", "Assigned to", tRef),
			ro("hs_createdate", "Create date", tDateTime),
			ro("hs_lastmodifieddate", "Last modified date", tDateTime),
		),
	},
	{
		// Marketing campaigns (/marketing/v3/campaigns); the id is the
		// campaignGuid.
		Name: "marketing-campaigns", DisplayName: "Marketing Campaigns",
		Scopes: scopes("marketing.campaigns.read", "marketing.campaigns.write", ""),
		Fields: []providers.Field{
			ro("id", "Campaign GUID", tString),
			rw("hs_name", "Campaign name", tString),
			rw("hs_start_date", "Start date", tDate),
			rw("hs_end_date", "End date", tDate),
			rw("hs_notes", "Notes", tString),
			rw("hs_audience", "Audience", tString),
			rw("hs_goal", "Goal", tString),
			rw("hs_owner", "Campaign owner", tRef),
			rw("hs_currency_code", "Currency", tSelect),
			rw("hs_campaign_status", "Status", tSelect),
			rw("hs_utm", "UTM", tString),
			rw("hs_color_hex", "Color", tString),
			ro("hs_budget_items_sum_amount", "Budget total", tFloat),
			ro("hs_spend_items_sum_amount", "Spend total", tFloat),
			ro("hs_object_id", "Record ID", tInt),
			ro("createdAt", "Created At", tDateTime),
			ro("updatedAt", "Updated At", tDateTime),
		},
	},
	{
		// Marketing emails (/marketing/v3/emails). HubSpot accepts any of
		// content, marketing-email or transactional-email; content is the
		// one every Marketing Hub portal can grant.
		Name: "marketing-emails", DisplayName: "Marketing Emails",
		Scopes: scopes("content", "content", ""),
		Fields: []providers.Field{
			ro("id", "Email ID", tString),
			rw("name", "Name", tString),
			rw("subject", "Subject", tString),
			rw("type", "Type", tSelect),
			rw("subcategory", "Subcategory", tSelect),
			rw("state", "State", tSelect),
			rw("language", "Language", tString),
			rw("activeDomain", "Active domain", tString),
			rw("campaign", "Campaign", tRef),
			ro("campaignName", "Campaign name", tString),
			rw("businessUnitId", "Business unit ID", tRef),
			rw("isTransactional", "Transactional", tBool),
			ro("isPublished", "Published", tBool),
			rw("publishDate", "Publish date", tDateTime),
			ro("publishedAt", "Published at", tDateTime),
			ro("publishedById", "Published by", tRef),
			rw("from", "From", tOther),
			rw("to", "To", tOther),
			rw("content", "Content", tOther),
			ro("archived", "Archived", tBool),
			ro("createdAt", "Created At", tDateTime),
			ro("createdById", "Created by", tRef),
			ro("updatedAt", "Updated At", tDateTime),
			ro("updatedById", "Updated by", tRef),
		},
	},
	{
		// Marketing forms (/marketing/v3/forms).
		Name: "marketing-forms", DisplayName: "Marketing Forms",
		Scopes: scopes("forms", "forms", ""),
		Fields: []providers.Field{
			ro("id", "Form ID", tString),
			rw("name", "Name", tString),
			rw("formType", "Form type", tSelect),
			rw("fieldGroups", "Field groups", tOther),
			rw("configuration", "Configuration", tOther),
			rw("displayOptions", "Display options", tOther),
			rw("legalConsentOptions", "Legal consent options", tOther),
			ro("archived", "Archived", tBool),
			ro("archivedAt", "Archived At", tDateTime),
			ro("createdAt", "Created At", tDateTime),
			ro("updatedAt", "Updated At", tDateTime),
		},
	},
	{
		// Marketing events (/marketing/v3/marketing-events).
		Name: "marketing-events", DisplayName: "Marketing Events",
		Scopes: scopes("crm.objects.marketing_events.read", "crm.objects.marketing_events.write", ""),
		Fields: []providers.Field{
			ro("id", "Event ID", tString),
			ro("objectId", "Object ID", tString),
			rw("eventName", "Event name", tString),
			rw("eventOrganizer", "Event organizer", tString),
			rw("eventType", "Event type", tString),
			rw("eventDescription", "Event description", tString),
			rw("eventUrl", "Event URL", tString),
			rw("eventCancelled", "Event cancelled", tBool),
			rw("eventCompleted", "Event completed", tBool),
			rw("startDateTime", "Start date and time", tDateTime),
			rw("endDateTime", "End date and time", tDateTime),
			rw("externalEventId", "External event ID", tString),
			rw("externalAccountId", "External account ID", tString),
			rw("customProperties", "Custom properties", tOther),
			ro("registrants", "Registrants", tInt),
			ro("attendees", "Attendees", tInt),
			ro("cancellations", "Cancellations", tInt),
			ro("noShows", "No-shows", tInt),
			ro("createdAt", "Created At", tDateTime),
			ro("updatedAt", "Updated At", tDateTime),
		},
	},
}
