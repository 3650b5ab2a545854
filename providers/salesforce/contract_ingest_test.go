package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

// Contract tests for Bulk API 2.0 ingest: the recordings are served in the
// order a job goes through them and parsed by the real BulkWrite path; the
// fake's answers to the same requests have the recordings' JSON shape and
// CSV header.

const (
	recordedUpsertJob = "750ak000009BWKLAA4" // bulk_write_launch-job-opportunity.json
	recordedDeleteJob = "750ak000009BkrxAAC" // bulk_delete_launch-job-opportunity.json
)

// opportunityUpserts are eight upserts whose third is the row of
// bulk_info_partial-failure.csv.
func opportunityUpserts() []providers.WriteRecord {
	names := []string{"Ada Lovelace", "Grace Hopper", "Noemi Miller", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson", "Frances Allen"}
	recs := make([]providers.WriteRecord, len(names))
	for i, n := range names {
		recs[i] = providers.WriteRecord{Fields: map[string]any{
			"Name": n, "StageName": "GENERATED", "external_id__c": fmt.Sprintf("external-id-%d", i+1), "CloseDate": fmt.Sprintf("2024-09-%02d", i+1),
		}}
	}
	recs[2].Fields["CloseDate"] = "2003-04-987654321987654321"
	return recs
}

func csvStep(path, body string) step {
	return step{method: http.MethodGet, path: path, status: 200, body: []byte(body), header: map[string]string{"Content-Type": "text/csv"}}
}

func TestContractBulkIngest(t *testing.T) {
	t.Parallel()
	jobPath := v60 + "/jobs/ingest/" + recordedUpsertJob

	t.Run("upsert with a partial failure", func(t *testing.T) {
		t.Parallel()
		recs := opportunityUpserts()
		// The successful rows, in an order other than the upload's (as
		// internal batches finish), with the recording's column order.
		var success strings.Builder
		success.WriteString(`"sf__Id","sf__Created",Name,StageName,external_id__c,CloseDate`)
		for _, i := range []int{7, 6, 5, 4, 0, 1, 3} {
			f := recs[i].Fields
			fmt.Fprintf(&success, "\n\"006ak00000OQT%03dAAA\",\"%v\",\"%s\",\"%s\",\"%s\",\"%s\"", i, i%2 == 0, f["Name"], f["StageName"], f["external_id__c"], f["CloseDate"])
		}
		c, rp, quotas := replayClient(t,
			step{method: http.MethodPost, path: v60 + "/jobs/ingest", status: 200, body: recording(t, "bulk_write_launch-job-opportunity.json")},
			step{method: http.MethodPut, path: jobPath + "/batches", status: 201},
			step{method: http.MethodPatch, path: jobPath, status: 200, body: recording(t, "bulk_write_update-job-opportunity.json")},
			step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_in-progress.json")},
			step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_partial-failure.json")},
			csvStep(jobPath+"/successfulResults/", success.String()),
			csvStep(jobPath+"/failedResults/", string(recording(t, "bulk_info_partial-failure.csv"))),
		)
		res, err := c.BulkWrite(context.Background(), providers.WriteRequest{Object: "opportunity", Op: providers.WriteUpsert, UpsertKey: "external_id__c", Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if i == 2 {
				want := providers.RecordError{Code: "INVALID_FIELD", Kind: providers.KindInvalid, Fields: []string{"CloseDate"},
					Message: "Failed to deserialize field at col 3. Due to, '2003-04-987654321987654321' is not a valid value for the type xsd:date"}
				if r.Success || r.ID != "" || len(r.Errors) != 1 || r.Errors[0].Code != want.Code || r.Errors[0].Message != want.Message ||
					!slices.Equal(r.Errors[0].Fields, want.Fields) || r.Errors[0].Kind != want.Kind {
					t.Errorf("record 2 = %+v, want %+v", r, want)
				}
				continue
			}
			if !r.Success || r.ID != fmt.Sprintf("006ak00000OQT%03dAAA", i) || r.Created != (i%2 == 0) {
				t.Errorf("record %d = %+v", i, r)
			}
		}
		var create map[string]string
		if err := json.Unmarshal(rp.bodies[0], &create); err != nil || !maps(create, map[string]string{"object": "Opportunity", "operation": "upsert",
			"externalIdFieldName": "external_id__c", "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"}) {
			t.Errorf("job request = %s", rp.bodies[0])
		}
		if lines := strings.Split(string(rp.bodies[1]), "\n"); len(lines) != 10 || lines[0] != "external_id__c,CloseDate,Name,StageName" ||
			lines[3] != "external-id-3,2003-04-987654321987654321,Noemi Miller,GENERATED" || lines[9] != "" {
			t.Errorf("uploaded CSV = %q", rp.bodies[1])
		}
		if string(rp.bodies[2]) != `{"state":"UploadComplete"}` {
			t.Errorf("close request = %s", rp.bodies[2])
		}
		if len(*quotas) != 7 || (*quotas)[0].Used != 10018 {
			t.Errorf("quotas = %+v", *quotas)
		}
	})

	t.Run("delete of 3000 records", func(t *testing.T) {
		t.Parallel()
		const n = 3000 // bulk_info_success.json's numberRecordsProcessed
		delPath := v60 + "/jobs/ingest/" + recordedDeleteJob
		recs := make([]providers.WriteRecord, n)
		var upload, success strings.Builder
		upload.WriteString("Id\n")
		success.WriteString(`"sf__Id","sf__Created",Id`)
		for i := range recs {
			recs[i].ID = fmt.Sprintf("006ak%010dAAA", i)
			upload.WriteString(recs[i].ID + "\n")
		}
		// Two internal batches, the second finished first.
		for _, half := range [][2]int{{n / 2, n}, {0, n / 2}} {
			for i := half[0]; i < half[1]; i++ {
				fmt.Fprintf(&success, "\n\"%s\",\"false\",\"%s\"", recs[i].ID, recs[i].ID)
			}
		}
		c, rp, _ := replayClient(t,
			step{method: http.MethodPost, path: v60 + "/jobs/ingest", status: 200, body: recording(t, "bulk_delete_launch-job-opportunity.json")},
			step{method: http.MethodPut, path: delPath + "/batches", status: 201},
			step{method: http.MethodPatch, path: delPath, status: 200, body: recording(t, "bulk_write_update-job-opportunity.json")},
			step{method: http.MethodGet, path: delPath, status: 200, body: recording(t, "bulk_info_success.json")},
			csvStep(delPath+"/successfulResults/", success.String()),
		)
		res, err := c.BulkWrite(context.Background(), providers.WriteRequest{Object: "opportunity", Op: providers.WriteDelete, Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if !r.Success || r.ID != recs[i].ID || r.Created {
				t.Fatalf("record %d = %+v", i, r)
			}
		}
		if string(rp.bodies[1]) != upload.String() {
			t.Errorf("uploaded CSV differs: %.100q", rp.bodies[1])
		}
		if !strings.Contains(string(rp.bodies[0]), `"operation":"delete"`) || strings.Contains(string(rp.bodies[0]), "externalIdFieldName") {
			t.Errorf("job request = %s", rp.bodies[0])
		}
	})

	t.Run("a failed job", func(t *testing.T) {
		t.Parallel()
		c, _, _ := replayClient(t,
			step{method: http.MethodPost, path: v60 + "/jobs/ingest", status: 200, body: recording(t, "bulk_write_launch-job-opportunity.json")},
			step{method: http.MethodPut, path: jobPath + "/batches", status: 201},
			step{method: http.MethodPatch, path: jobPath, status: 200, body: recording(t, "bulk_write_update-job-opportunity.json")},
			step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_in-progress.json")},
			step{method: http.MethodGet, path: jobPath, status: 200, body: recording(t, "bulk_info_complete-failure.json")},
		)
		res, err := c.BulkWrite(context.Background(), providers.WriteRequest{Object: "opportunity", Op: providers.WriteUpsert, UpsertKey: "external_id__c",
			Records: []providers.WriteRecord{{Fields: map[string]any{"external_id__c": "e1", "StageName_invalid_field_on_purpose": "x"}}}})
		var pe *providers.Error
		if res != nil || !errors.As(err, &pe) || pe.Kind != providers.KindInvalid || pe.Code != "InvalidBatch" ||
			!strings.Contains(pe.Message, "InvalidBatch : Field name not found : StageName_invalid_field_on_purpose") || !strings.Contains(pe.Message, "750ak000009E1YXAA0") {
			t.Errorf("BulkWrite = %v, %v", res, err)
		}
	})
}

func maps(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// csvHeader returns a CSV's header line split on commas, quotes kept.
func csvHeader(body string) []string {
	line, _, _ := strings.Cut(body, "\n")
	return strings.Split(line, ",")
}

// assertCSVHeader compares a results header with a recorded one: the same
// number of columns, the same sf__ columns with the same quoting, and the
// uploaded columns (renamed by rename) as they were.
func assertCSVHeader(t *testing.T, recorded, got string, rename map[string]string) {
	t.Helper()
	want, have := csvHeader(recorded), csvHeader(got)
	if len(want) != len(have) {
		t.Fatalf("header %q, recorded %q", have, want)
	}
	for i, w := range want {
		if r, ok := rename[w]; ok {
			w = r
		}
		if have[i] != w {
			t.Errorf("header column %d = %s, recorded %s", i, have[i], w)
		}
	}
}

// TestContractBulkIngestFake runs ingest jobs against the fake with raw
// requests and compares each answer with its recording.
func TestContractBulkIngestFake(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fake.Options{Options: fakekit.Options{Records: 10}, BulkPolls: 1})
	csvHdr := []string{"Content-Type", "text/csv"}

	// An upsert on the custom object by its external id, with the
	// recording's rows on Invoice__c's fields.
	status, job := fakeCall(t, f, http.MethodPost, v60+"/jobs/ingest", map[string]string{
		"object": "Invoice__c", "operation": "upsert", "externalIdFieldName": "External_Id__c", "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"})
	if status != 200 {
		t.Fatalf("create: %d %v", status, job)
	}
	assertShape(t, recording(t, "bulk_write_launch-job-opportunity.json"), job)
	id := job.(map[string]any)["id"].(string)
	if job.(map[string]any)["contentUrl"] != "services/data/v60.0/jobs/ingest/"+id+"/batches" {
		t.Errorf("contentUrl = %v", job.(map[string]any)["contentUrl"])
	}
	path := v60 + "/jobs/ingest/" + id
	var upload strings.Builder
	upload.WriteString("Name,Status__c,External_Id__c,Due_Date__c\n")
	for i, r := range opportunityUpserts() {
		due := r.Fields["CloseDate"]
		if i == 0 {
			due = "" // a success with an empty cell
		}
		fmt.Fprintf(&upload, "%s,%s,%s,%s\n", r.Fields["Name"], r.Fields["StageName"], r.Fields["external_id__c"], due)
	}
	if status, body := fakeCall(t, f, http.MethodPut, path+"/batches", []byte(upload.String()), csvHdr...); status != 201 {
		t.Fatalf("upload: %d %v", status, body)
	}
	status, closed := fakeCall(t, f, http.MethodPatch, path, map[string]string{"state": "UploadComplete"})
	if status != 200 {
		t.Fatalf("close: %d %v", status, closed)
	}
	assertShape(t, recording(t, "bulk_write_update-job-opportunity.json"), closed)
	_, info := fakeCall(t, f, http.MethodGet, path, nil)
	if info.(map[string]any)["state"] != "InProgress" {
		t.Errorf("first poll: %v", info)
	}
	assertShape(t, recording(t, "bulk_info_in-progress.json"), info)
	_, info = fakeCall(t, f, http.MethodGet, path, nil)
	if m := info.(map[string]any); m["state"] != "JobComplete" || m["numberRecordsProcessed"] != 8.0 || m["numberRecordsFailed"] != 1.0 {
		t.Errorf("second poll: %v", info)
	}
	assertShape(t, recording(t, "bulk_info_success.json"), info)
	assertShape(t, recording(t, "bulk_info_partial-failure.json"), info)

	// failedResults is the recording with Invoice__c's field names.
	rename := map[string]string{"StageName": "Status__c", "external_id__c": "External_Id__c", "CloseDate": "Due_Date__c"}
	recorded := string(recording(t, "bulk_info_partial-failure.csv"))
	failed := fakeText(t, f, path+"/failedResults/")
	assertCSVHeader(t, recorded, failed, rename)
	want := recorded
	for from, to := range rename {
		want = strings.ReplaceAll(want, ","+from, ","+to)
		want = strings.ReplaceAll(want, "xsd:date:"+from, "xsd:date:"+to)
	}
	if failed != want {
		t.Errorf("failedResults =\n%s\nwant\n%s", failed, want)
	}
	success := fakeText(t, f, path+"/successfulResults/")
	assertCSVHeader(t, `"sf__Id","sf__Created",Name,StageName,external_id__c,CloseDate`, success, rename)
	rows := strings.Split(success, "\n")
	if len(rows) != 8 || !strings.HasPrefix(rows[1], `"a0AN`) || !strings.HasSuffix(rows[1], `","true","Ada Lovelace","GENERATED","external-id-1",""`) {
		t.Errorf("successfulResults = %q", success)
	}
	if unprocessed := fakeText(t, f, path+"/unprocessedrecords/"); unprocessed != "Name,Status__c,External_Id__c,Due_Date__c" {
		t.Errorf("unprocessedrecords = %q", unprocessed)
	}

	// A delete job's create answer; a job with a column that is not a
	// field fails like the recording.
	status, del := fakeCall(t, f, http.MethodPost, v60+"/jobs/ingest", map[string]string{"object": "Opportunity", "operation": "delete"})
	if status != 200 {
		t.Fatalf("create delete job: %d %v", status, del)
	}
	assertShape(t, recording(t, "bulk_delete_launch-job-opportunity.json"), del)
	if _, ok := del.(map[string]any)["externalIdFieldName"]; ok {
		t.Errorf("delete job has externalIdFieldName: %v", del)
	}
	_, bad := fakeCall(t, f, http.MethodPost, v60+"/jobs/ingest", map[string]string{"object": "Invoice__c", "operation": "upsert", "externalIdFieldName": "External_Id__c"})
	badPath := v60 + "/jobs/ingest/" + bad.(map[string]any)["id"].(string)
	fakeCall(t, f, http.MethodPut, badPath+"/batches", []byte("External_Id__c,StageName_invalid_field_on_purpose\nx,y\n"), csvHdr...)
	fakeCall(t, f, http.MethodPatch, badPath, map[string]string{"state": "UploadComplete"})
	_, info = fakeCall(t, f, http.MethodGet, badPath, nil)
	assertShape(t, recording(t, "bulk_info_complete-failure.json"), info)
	var rec map[string]any
	_ = json.Unmarshal(recording(t, "bulk_info_complete-failure.json"), &rec)
	if m := info.(map[string]any); m["state"] != "Failed" || m["errorMessage"] != rec["errorMessage"] || m["numberRecordsProcessed"] != 0.0 {
		t.Errorf("failed job: %v", info)
	}
}
