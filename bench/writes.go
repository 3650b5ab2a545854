package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/server"
)

// Write scenarios send writeBatches asynchronous batches of writeBatch
// records each through the Write API; the fake is seeded with writeSeed
// records so the installation's backfill, which runs too, is small.
const (
	writeBatches = 100
	writeBatch   = 100
	writeSeed    = 100
)

// writeManifests are the write scenarios' integrations: the read of the
// object written, and its write.
var writeManifests = map[string]string{
	"salesforce": `specVersion: 1.0.0
integrations:
  - name: benchWrite
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
          backfill:
            defaultPeriod:
              fullHistory: true
    write:
      objects:
        - objectName: account
          inheritMapping: true
`,
	"hubspot": `specVersion: 1.0.0
integrations:
  - name: benchWrite
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
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
          upsertKey: email
`,
	"dynamicsCRM": `specVersion: 1.0.0
integrations:
  - name: benchWrite
    provider: dynamicsCRM
    read:
      objects:
        - objectName: accounts
          destination: crmWebhook
          schedule: "0 0 1 1 *"
          requiredFields:
            - fieldName: name
            - fieldName: accountnumber
          backfill:
            defaultPeriod:
              fullHistory: true
    write:
      objects:
        - objectName: accounts
          inheritMapping: true
          upsertKey: accountnumber
`,
}

// writeTargets are, by provider, the Write API path (the mapped object
// name), the installation's read and write configs and one created record.
var writeTargets = map[string]struct {
	path        string
	read, write map[string]any
	record      func(i int) map[string]any
}{
	"salesforce": {path: "company",
		read:   map[string]any{"account": map[string]any{"objectName": "account"}},
		write:  map[string]any{"account": map[string]any{"objectName": "account"}},
		record: func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("Bench %d", i), "city": "Paris"} }},
	"hubspot": {path: "contacts",
		read:  map[string]any{"contacts": map[string]any{"objectName": "contacts"}},
		write: map[string]any{"contacts": map[string]any{"objectName": "contacts"}},
		record: func(i int) map[string]any {
			return map[string]any{"firstname": "Bench", "lastname": fmt.Sprint(i), "email": fmt.Sprintf("bench%d@example.com", i)}
		}},
	"dynamicsCRM": {path: "accounts",
		read:  map[string]any{"accounts": map[string]any{"objectName": "accounts"}},
		write: map[string]any{"accounts": map[string]any{"objectName": "accounts"}},
		record: func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Bench %d", i), "accountnumber": fmt.Sprintf("B-%d", i)}
		}},
}

// runWrites installs the write integration and measures from the first
// Write API request until every write operation ended.
func runWrites(ctx context.Context, srv *server.Server, api *apiClient, sc scenario, integID, connID string) (runResult, error) {
	t := writeTargets[sc.Provider]
	var in struct{ ID string }
	if err := api.call(ctx, 201, "POST", project+"/integrations/"+integID+"/installations?skipSampling=true", map[string]any{
		"groupRef": "acme", "connectionId": connID,
		"config": map[string]any{"content": map[string]any{"provider": sc.Provider,
			"read": map[string]any{"objects": t.read}, "write": map[string]any{"objects": t.write}}},
	}, &in); err != nil {
		return runResult{}, err
	}
	bodies := make([]map[string]any, writeBatches)
	for j := range bodies {
		batch := make([]any, writeBatch)
		for i := range batch {
			batch[i] = map[string]any{"record": t.record(j*writeBatch + i)}
		}
		bodies[j] = map[string]any{"groupRef": "acme", "type": "create", "mode": "asynchronous", "batch": batch}
	}
	store := srv.Store()
	p, err := store.GetProjectByName(ctx, server.DefaultProject)
	if err != nil {
		return runResult{}, fmt.Errorf("project: %w", err)
	}
	start := time.Now()
	for _, body := range bodies {
		if err := api.call(ctx, 200, "POST", project+"/integrations/"+integID+"/objects/"+t.path, body, nil); err != nil {
			return runResult{}, err
		}
	}
	for {
		ops, err := store.ListOperations(ctx, p.ID, runtime.OperationFilter{InstallationID: in.ID, ActionType: runtime.ActionWrite, Limit: 1000})
		if err != nil {
			return runResult{}, fmt.Errorf("list operations: %w", err)
		}
		ended := 0
		for _, op := range ops {
			if op.Status.Done() {
				if op.Status != runtime.OperationSuccess {
					return runResult{}, fmt.Errorf("write operation %s ended %s: %s", op.ID, op.Status, op.Error)
				}
				ended++
			}
		}
		if ended == len(bodies) {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return runResult{}, fmt.Errorf("after 10 minutes %d of %d write operations ended", ended, len(bodies))
		}
		select {
		case <-ctx.Done():
			return runResult{}, ctx.Err()
		// Listing operations is work in the measured process: poll
		// rarely enough to stay out of the profile (±1 % of a run).
		case <-time.After(100 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	rss, err := peakRSS()
	if err != nil {
		return runResult{}, err
	}
	return runResult{Records: writeBatches * writeBatch, Seconds: elapsed.Seconds(), PeakRSSMB: rss}, nil
}
