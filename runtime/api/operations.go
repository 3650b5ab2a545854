package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ampforge/amp/runtime"
)

// operationJSON is Ampersand's Operation, plus amp's readType, error,
// queued, the bounds of a triggered read and the update and end times.
type operationJSON struct {
	ID             string            `json:"id"`
	ProjectID      string            `json:"projectId"`
	IntegrationID  string            `json:"integrationId"`
	InstallationID string            `json:"installationId"`
	ConfigID       string            `json:"configId"`
	ActionType     string            `json:"actionType"`
	Status         string            `json:"status"`
	Result         string            `json:"result,omitempty"`
	Metadata       operationMetadata `json:"metadata"`
	CreateTime     time.Time         `json:"createTime"`
	// amp: why the read ran (backfill, scheduled, triggered).
	ReadType runtime.ReadType `json:"readType,omitempty"`
	// amp: status is in_progress while the operation waits for a worker
	// or for its retry time (Ampersand has no such status); queued says
	// so, and runAt says when it may start.
	Queued         bool      `json:"queued,omitempty"`
	RunAt          time.Time `json:"runAt,omitzero"`
	Error          string    `json:"error,omitempty"`
	SinceTimestamp time.Time `json:"sinceTimestamp,omitzero"`
	UntilTimestamp time.Time `json:"untilTimestamp,omitzero"`
	UpdateTime     time.Time `json:"updateTime,omitzero"`
	EndTime        time.Time `json:"endTime,omitzero"`
	// amp: an asynchronous write's per-record results so far.
	WriteResults json.RawMessage `json:"writeResults,omitempty"`
}

type operationMetadata struct {
	Objects  []string            `json:"objects"`
	Progress *progressJSON       `json:"progress,omitempty"`
	Retry    *operationRetryJSON `json:"retry,omitempty"`
}

type operationRetryJSON struct {
	Attempts int `json:"attempts"`
}

// progressJSON is Operation.metadata.progress.
type progressJSON struct {
	InstallationID   string `json:"installationId"`
	ObjectName       string `json:"objectName"`
	OperationID      string `json:"operationId"`
	RecordsProcessed int64  `json:"recordsProcessed"`
	// RecordsEstimatedTotal is left out when the provider gave no count.
	RecordsEstimatedTotal *int64 `json:"recordsEstimatedTotal,omitempty"`
}

func toProgress(op *runtime.Operation) *progressJSON {
	p := &progressJSON{InstallationID: op.InstallationID, ObjectName: op.ObjectName, OperationID: op.ID,
		RecordsProcessed: op.Processed}
	if op.Estimated >= 0 {
		est := op.Estimated
		p.RecordsEstimatedTotal = &est
	}
	return p
}

func toOperation(op *runtime.Operation) operationJSON {
	out := operationJSON{ID: op.ID, ProjectID: op.ProjectID, IntegrationID: op.IntegrationID,
		InstallationID: op.InstallationID, ConfigID: op.ConfigID, ActionType: op.ActionType,
		Status: string(op.Status), Result: op.Result, CreateTime: op.CreateTime, ReadType: op.ReadType,
		Error: op.Error, SinceTimestamp: op.Since, UntilTimestamp: op.Until, UpdateTime: op.UpdateTime, EndTime: op.EndTime,
		Metadata: operationMetadata{Objects: []string{op.ObjectName}, Progress: toProgress(op)}}
	if op.Status == runtime.OperationQueued {
		out.Status, out.Queued, out.RunAt = string(runtime.OperationInProgress), true, op.RunAt
	}
	if op.Attempts > 0 {
		out.Metadata.Retry = &operationRetryJSON{Attempts: op.Attempts}
	}
	return out
}

// Page sizes of listOperations.
const (
	defaultPageSize = 200
	maxPageSize     = 1000
)

// pageToken is the decoded pageToken of listOperations: the last
// operation of the previous page.
type pageToken struct {
	T  int64  `json:"t"` // CreateTime, Unix milliseconds
	ID string `json:"id"`
}

func encodePageToken(op *runtime.Operation) string {
	b, _ := json.Marshal(pageToken{T: op.CreateTime.UnixMilli(), ID: op.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (*runtime.OperationCursor, error) {
	bad := badRequest("query", "pageToken", "pageToken is not one this API returned; pass pagination.nextPageToken of the previous page unchanged, or leave it out for the first page")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil || t.ID == "" {
		return nil, bad
	}
	return &runtime.OperationCursor{CreateTime: time.UnixMilli(t.T).UTC(), ID: t.ID}, nil
}

// listOperations is GET .../installations/{installationId}/operations:
// the installation's operations, newest first, pageSize at a time.
func (a *API) listOperations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	size := defaultPageSize
	if s := q.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return badRequest("query", "pageSize", fmt.Sprintf("pageSize must be a whole number from 1 to %d (default %d), not %q", maxPageSize, defaultPageSize, s))
		}
		size = n
	}
	filter := runtime.OperationFilter{Limit: size + 1}
	if s := q.Get("pageToken"); s != "" {
		c, err := decodePageToken(s)
		if err != nil {
			return err
		}
		filter.Before = c
	}
	_, in, err := a.installation(r)
	if err != nil {
		return err
	}
	filter.InstallationID = in.ID
	ops, err := a.store.ListOperations(r.Context(), in.ProjectID, filter)
	if err != nil {
		return err
	}
	type pagination struct {
		Done          bool   `json:"done"`
		NextPageToken string `json:"nextPageToken,omitempty"`
	}
	out := struct {
		Results    []operationJSON `json:"results"`
		Pagination pagination      `json:"pagination"`
	}{Results: []operationJSON{}, Pagination: pagination{Done: true}}
	if len(ops) > size {
		ops = ops[:size]
		out.Pagination = pagination{NextPageToken: encodePageToken(ops[size-1])}
	}
	for _, op := range ops {
		out.Results = append(out.Results, a.toOperationJSON(op))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// operation returns the path's operation in the request's project.
func (a *API) operation(r *http.Request) (*runtime.Operation, error) {
	id := r.PathValue("operationId")
	op, err := a.store.GetOperation(r.Context(), Project(r.Context()).ID, id)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "operation %q not found", id)
	}
	return op, err
}

// getOperation is GET /v1/projects/{projectIdOrName}/operations/{operationId}.
func (a *API) getOperation(w http.ResponseWriter, r *http.Request) error {
	op, err := a.operation(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.toOperationJSON(op))
	return nil
}

// logJSON is Ampersand's Log.
type logJSON struct {
	Timestamp time.Time      `json:"timestamp"`
	Severity  string         `json:"severity"`
	Message   logMessageJSON `json:"message"`
}

type logMessageJSON struct {
	Msg         string            `json:"msg"`
	Error       string            `json:"error,omitempty"`
	OperationID string            `json:"operation_id"`
	Details     map[string]string `json:"details,omitempty"`
}

// listOperationLogs is GET .../operations/{operationId}/logs: the
// operation's log lines, oldest first.
func (a *API) listOperationLogs(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("operationId")
	logs, err := a.store.ListOperationLogs(r.Context(), Project(r.Context()).ID, id)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND {
		return runtime.Errorf(runtime.ENOTFOUND, "operation %q not found", id)
	}
	if err != nil {
		return err
	}
	out := make([]logJSON, len(logs))
	for i, l := range logs {
		out[i] = logJSON{Timestamp: l.Time, Severity: l.Severity,
			Message: logMessageJSON{Msg: l.Message, Error: l.Err, OperationID: l.OperationID, Details: l.Details}}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// backfillProgressJSON is Ampersand's BackfillProgress, plus amp's status
// (Operation.status).
type backfillProgressJSON struct {
	InstallationID        string    `json:"installationId"`
	ObjectName            string    `json:"objectName"`
	OperationID           string    `json:"operationId"`
	RecordsProcessed      int64     `json:"recordsProcessed"`
	RecordsEstimatedTotal *int64    `json:"recordsEstimatedTotal,omitempty"`
	CreateTime            time.Time `json:"createTime"`
	UpdateTime            time.Time `json:"updateTime,omitzero"`
	Status                string    `json:"status"`
}

// getBackfillProgress is GET
// .../installations/{installationId}/objects/{objectName}/backfill-progress:
// the progress of the object's latest backfill. objectName is the provider
// object or the manifest's mapToName.
func (a *API) getBackfillProgress(w http.ResponseWriter, r *http.Request) error {
	integ, in, err := a.installation(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	name := r.PathValue("objectName")
	ro, err := a.readObjectsOf(ctx, integ, in)
	if err != nil {
		return err
	}
	// An object no longer in the config may still have had a backfill.
	key, _, known := ro.resolve(name)
	if !known {
		key = name
	}
	ops, err := a.store.ListOperations(ctx, in.ProjectID, runtime.OperationFilter{InstallationID: in.ID,
		ObjectName: key, ReadType: runtime.ReadBackfill, Limit: 1})
	if err != nil {
		return err
	}
	switch {
	case len(ops) == 0 && known:
		return runtime.Errorf(runtime.ENOTFOUND, "installation %s has no backfill operation for object %q (yet, or its backfill period is none)", in.ID, name)
	case len(ops) == 0:
		return runtime.Errorf(runtime.ENOTFOUND, "installation %s has no backfill operation for object %q; %s", in.ID, name, ro.list())
	}
	op := toOperation(ops[0])
	p := op.Metadata.Progress
	writeJSON(w, http.StatusOK, backfillProgressJSON{InstallationID: p.InstallationID, ObjectName: p.ObjectName,
		OperationID: p.OperationID, RecordsProcessed: p.RecordsProcessed, RecordsEstimatedTotal: p.RecordsEstimatedTotal,
		CreateTime: op.CreateTime, UpdateTime: op.UpdateTime, Status: op.Status})
	return nil
}
