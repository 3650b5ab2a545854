package main

import (
	"math"
	"time"
)

// scenario is one measured read: a provider fake seeded with Records, the
// fake's limits, the engine's settings and what the ceiling is made of.
type scenario struct {
	Name string `json:"name"`
	// Kind is "read" (a backfill, the default), "incremental" (a
	// scheduled read of the records changed after an empty backfill),
	// "write" (asynchronous Write API batches) or "schedule".
	Kind string `json:"kind,omitzero"`
	// Provider is the catalog name (dynamicsCRM); Fake the fake's name.
	Provider string `json:"provider"`
	Fake     string `json:"fake"`
	Records  int    `json:"records"`
	// Window requests per WindowPeriod are the fake's short-window limit
	// (zero: the provider's real one).
	Window       int           `json:"window,omitzero"`
	WindowPeriod time.Duration `json:"windowPeriod,omitzero"`
	// Daily is the fake's daily allocation (zero: the real one, -1: none).
	Daily int `json:"daily,omitzero"`
	// PageSize and BulkThreshold set the engine (zero: its defaults).
	PageSize      int `json:"pageSize,omitzero"`
	BulkThreshold int `json:"bulkThreshold,omitzero"`
	// PageRecords is the most records one request returns; RatePerSec the
	// requests per second the provider permits (zero: no short window).
	PageRecords int     `json:"pageRecords"`
	RatePerSec  float64 `json:"ratePerSec,omitzero"`
	// SearchRecords and SearchPerSec describe a second kind of request a
	// read mixes in: HubSpot's full read searches the ids down while it
	// lists them up, 200 records a search, at most 5 searches a second.
	// HubSpot's usage guidelines leave searches out of the burst window;
	// SearchInWindow has the fake count them in RatePerSec's window too,
	// the stricter reading the connector falls back to until the window's
	// readings show otherwise.
	SearchRecords  int     `json:"searchRecords,omitzero"`
	SearchPerSec   float64 `json:"searchPerSec,omitzero"`
	SearchInWindow bool    `json:"searchInWindow,omitzero"`
	// RateWindow is the window the fake counts RatePerSec's limit in,
	// after which a paced reader meets no 429 (zero: WindowPeriod, or five
	// minutes when only RatePerSec is set).
	RateWindow time.Duration `json:"rateWindow,omitzero"`
	// TargetRatio is the target share of the ceiling (zero: the
	// scenario's target is not a ratio, see BENCHMARKS.md).
	TargetRatio float64 `json:"targetRatio,omitzero"`
	// Baseline names the client-library script run against the same fake.
	Baseline string `json:"baseline,omitzero"`
}

// ceiling is the best records per second the provider allows a single
// reader at this latency: records per request times permitted requests
// per second, or records per page over the page latency when latency
// binds first. Zero when neither bounds it (no latency, no rate limit).
//
// With searches mixed in, searches go beside lists (so latency does not
// bound them), within their own limit, and lists within one cursor's
// latency bound and the window. Outside the window, that is all: 100 ×
// lists/s + 200 × searches/s. In it, the window's rate bounds lists +
// searches, and the best split searches as much as search allows (a
// search returns more records for the same share of the window) and lists
// with the rest.
func (s scenario) ceiling(latency time.Duration) float64 {
	if s.SearchRecords > 0 && s.SearchPerSec > 0 && s.RatePerSec > 0 {
		search := s.SearchPerSec
		list := s.RatePerSec
		if s.SearchInWindow {
			search = min(search, s.RatePerSec)
			list -= search
		}
		if latency > 0 {
			list = min(list, 1/latency.Seconds())
		}
		return float64(s.SearchRecords)*search + float64(s.PageRecords)*list
	}
	c := math.Inf(1)
	if s.RatePerSec > 0 {
		c = float64(s.PageRecords) * s.RatePerSec
	}
	if latency > 0 {
		c = min(c, float64(s.PageRecords)/latency.Seconds())
	}
	if math.IsInf(c, 1) {
		return 0
	}
	return c
}

// statsWindow is the fake's first window: 429 answers after it count as
// refused_429_after_first_window.
func (s scenario) statsWindow() time.Duration {
	switch {
	case s.RateWindow > 0:
		return s.RateWindow
	case s.WindowPeriod > 0:
		return s.WindowPeriod
	case s.RatePerSec > 0:
		return 5 * time.Minute
	}
	return 0
}

// Sizes are chosen so the whole run takes about ten minutes at 100 ms:
// one Salesforce REST page is 2,000 records, so 1,000,000 records are 500
// sequential pages (at least 50 s); HubSpot pages are 100 records at 10 or
// 19 requests a second, so 30,000 contacts take at least 30 s (16 s at
// 190); Dynamics pages are 5,000 records, 200,000 records 40 pages.
var scenarios = []scenario{
	{Name: "salesforce-rest-100k", Provider: "salesforce", Fake: "salesforce", Records: 100_000,
		BulkThreshold: -1, PageRecords: 2000, TargetRatio: 0.9, Baseline: "jsforce"},
	{Name: "salesforce-rest-1m", Provider: "salesforce", Fake: "salesforce", Records: 1_000_000,
		BulkThreshold: -1, PageRecords: 2000, TargetRatio: 0.9},
	// Bulk reads result chunks of PageSize rows (the engine's Bulk chunk).
	// At 100,000 records this is amp's default full read (Bulk above
	// 50,000), so it is the row that compares amp as a builder gets it
	// with the jsforce loop a team would write.
	{Name: "salesforce-bulk-100k", Provider: "salesforce", Fake: "salesforce", Records: 100_000,
		PageSize: 10_000, PageRecords: 10_000, Baseline: "jsforce"},
	{Name: "salesforce-bulk-1m", Provider: "salesforce", Fake: "salesforce", Records: 1_000_000,
		PageSize: 10_000, PageRecords: 10_000},
	// HubSpot's full read lists ids up (100 a request, one cursor, in the
	// burst window) and searches them down (200 a request, 5 a second per
	// account, outside the burst window as HubSpot's usage guidelines
	// have it): a ceiling of 2,000/s at 100 and at 190 per 10 s and
	// 100 ms. With searches counted in the window too (the fake's
	// stricter reading), 1,500/s at 100 per 10 s.
	{Name: "hubspot-100-per-10s", Provider: "hubspot", Fake: "hubspot", Records: 30_000,
		Window: 100, WindowPeriod: 10 * time.Second, PageRecords: 100, RatePerSec: 10, SearchRecords: 200, SearchPerSec: 5,
		TargetRatio: 0.95, Baseline: "@hubspot/api-client"},
	{Name: "hubspot-190-per-10s", Provider: "hubspot", Fake: "hubspot", Records: 30_000,
		Window: 190, WindowPeriod: 10 * time.Second, PageRecords: 100, RatePerSec: 19, SearchRecords: 200, SearchPerSec: 5,
		TargetRatio: 0.95, Baseline: "@hubspot/api-client"},
	{Name: "hubspot-strict-100-per-10s", Provider: "hubspot", Fake: "hubspot", Records: 30_000,
		Window: 100, WindowPeriod: 10 * time.Second, PageRecords: 100, RatePerSec: 10, SearchRecords: 200, SearchPerSec: 5,
		SearchInWindow: true, TargetRatio: 0.95},
	// Incremental reads after an empty backfill (days: 0): every record
	// of the fake changes, then the timed scheduled read delivers them.
	// Salesforce: one SOQL cursor on SystemModstamp, 2,000 a page, 25
	// pages. HubSpot: CRM search, 200 a page, re-anchored on every page
	// so the read passes the 10,000-result cap of one query; search's
	// own limit is 5 requests a second (the fake's real default).
	{Name: "salesforce-incremental", Kind: "incremental", Provider: "salesforce", Fake: "salesforce", Records: 50_000,
		PageRecords: 2000, TargetRatio: 0.9},
	{Name: "hubspot-search-incremental", Kind: "incremental", Provider: "hubspot", Fake: "hubspot", Records: 30_000,
		PageRecords: 200, RatePerSec: 5, RateWindow: time.Second, TargetRatio: 0.9},
	// Dataverse: 6,000 requests per 5 minutes per user.
	{Name: "dynamics-5000-per-page", Provider: "dynamicsCRM", Fake: "dynamics", Records: 200_000,
		PageSize: 5000, PageRecords: 5000, RatePerSec: 20, TargetRatio: 0.9},
	// Writes: 100 asynchronous batches of 100 records; each batch is one
	// provider call (under every provider's batch cap). The engine runs
	// one operation per installation, object and action at a time (the
	// claim's rule, so writes apply in order): one call in flight. HubSpot's
	// real window is 110 requests per 10 s, Dataverse's 6,000 per 5 minutes.
	{Name: "salesforce-write-10k", Kind: "write", Provider: "salesforce", Fake: "salesforce", Records: writeBatches * writeBatch,
		PageRecords: writeBatch},
	{Name: "hubspot-write-10k", Kind: "write", Provider: "hubspot", Fake: "hubspot", Records: writeBatches * writeBatch,
		PageRecords: writeBatch, RatePerSec: 11},
	{Name: "dynamics-write-10k", Kind: "write", Provider: "dynamicsCRM", Fake: "dynamics", Records: writeBatches * writeBatch,
		PageRecords: writeBatch, RatePerSec: 20},
	// 10,000 installations, two objects each read every ten minutes (on a
	// clock five times faster, see schedule.go), against
	// one Salesforce fake without a daily allocation (all connections
	// share the fake's org).
	{Name: "scheduler-10k-installations", Kind: "schedule", Provider: "salesforce", Fake: "salesforce",
		Records: scheduleInstalls, PageRecords: 0, Daily: -1},
}

// fakeRecords is how many records the scenario's fake seeds per object.
func (s scenario) fakeRecords() int {
	switch s.Kind {
	case "write":
		return writeSeed
	case "schedule":
		return 10
	}
	return s.Records
}

// manifests are the integrations each provider's scenarios deploy: one
// object, a few fields and a mapping, delivered to the crmWebhook
// destination, backfilling full history.
var manifests = map[string]string{
	"salesforce": `specVersion: 1.0.0
integrations:
  - name: benchRead
    provider: salesforce
    read:
      objects:
        - objectName: account
          mapToName: company
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: name
            - fieldName: billingcity
              mapToName: city
            - mapToName: country
              prompt: Which field holds the country?
          optionalFields:
            - fieldName: industry
          backfill:
            defaultPeriod:
              fullHistory: true
`,
	"hubspot": `specVersion: 1.0.0
integrations:
  - name: benchRead
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: firstname
            - fieldName: lastname
            - fieldName: email
          backfill:
            defaultPeriod:
              fullHistory: true
`,
	"dynamicsCRM": `specVersion: 1.0.0
integrations:
  - name: benchRead
    provider: dynamicsCRM
    read:
      objects:
        - objectName: accounts
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: name
            - fieldName: telephone1
              mapToName: phone
          backfill:
            defaultPeriod:
              fullHistory: true
`,
}

// readObjects are the installations' read configs, by provider.
var readObjects = map[string]map[string]any{
	"salesforce": {"account": map[string]any{"objectName": "account",
		"selectedFields":        map[string]bool{"industry": true},
		"selectedFieldMappings": map[string]string{"country": "billingcountry"}}},
	"hubspot":     {"contacts": map[string]any{"objectName": "contacts"}},
	"dynamicsCRM": {"accounts": map[string]any{"objectName": "accounts"}},
}

// providerMetadata is the connection metadata a provider needs (Dynamics'
// organisation).
var providerMetadata = map[string]map[string]any{
	"dynamicsCRM": {"workspace": map[string]string{"value": "contoso", "source": "input"}},
}
