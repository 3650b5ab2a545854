package runtime

import (
	"context"
	"encoding/json"
	"time"
)

// ReadType says why a read runs; it is the webhook message's readType.
type ReadType string

// The read types.
const (
	// ReadBackfill is an installation's first read of an object: the
	// history the manifest's backfill period asks for.
	ReadBackfill ReadType = "backfill"
	// ReadScheduled is a read on the object's cron schedule: what changed
	// since the previous read.
	ReadScheduled ReadType = "scheduled"
	// ReadTriggered is a read the builder asked for through the Read API.
	ReadTriggered ReadType = "triggered"
)

// Valid reports whether t is one of the read types.
func (t ReadType) Valid() bool {
	return t == ReadBackfill || t == ReadScheduled || t == ReadTriggered
}

// OperationStatus is an operation's state, as Ampersand reports it, plus
// queued (waiting for a worker, or for its retry time).
type OperationStatus string

// The operation statuses.
const (
	OperationQueued     OperationStatus = "queued"
	OperationInProgress OperationStatus = "in_progress"
	OperationSuccess    OperationStatus = "success"
	OperationFailure    OperationStatus = "failure"
)

// Done reports whether s is final.
func (s OperationStatus) Done() bool { return s == OperationSuccess || s == OperationFailure }

// The action types of operations.
const (
	// ActionRead reads an object (ReadType says why).
	ActionRead = "read"
	// ActionWrite is an asynchronous write: its Checkpoint holds the write
	// request and the per-record results so far (runtime/write owns the
	// format), and Since/Until are unused.
	ActionWrite = "write"
)

// Operation is one run of a read for one installation and object: a durable
// job the engine claims with a lease, and what the builder sees of it
// (status, counts, logs). A worker does provider I/O outside any
// transaction and commits each page's outbox messages together with the
// operation's new checkpoint, so a crash repeats at most the page in
// flight.
type Operation struct {
	ID             string `json:"id"`
	ProjectID      string `json:"projectId"`
	IntegrationID  string `json:"integrationId"`
	InstallationID string `json:"installationId"`
	// ConfigID is the installation config the operation started with.
	ConfigID string `json:"configId"`
	// ObjectName is the read object's key in the installation config (the
	// provider object name).
	ObjectName string          `json:"-"`
	ActionType string          `json:"actionType"`
	ReadType   ReadType        `json:"-"`
	Status     OperationStatus `json:"status"`
	// Since and Until bound a triggered read (zero: unbounded). A backfill
	// stores its start here too.
	Since time.Time `json:"-"`
	Until time.Time `json:"-"`
	// Checkpoint is the engine's resume state (opaque JSON); nil before the
	// first page.
	Checkpoint json.RawMessage `json:"-"`
	// Processed counts the records committed so far; Estimated is the
	// provider's count of the records to read, -1 when unknown.
	Processed int64 `json:"-"`
	Estimated int64 `json:"-"`
	// Attempts counts the failed attempts so far (retries).
	Attempts int `json:"-"`
	// Result is a short human summary once done; Error the reason of a
	// failure.
	Result string `json:"result,omitzero"`
	Error  string `json:"-"`
	// RunAt is when a queued operation may start (its retry time).
	RunAt time.Time `json:"-"`
	// LeaseOwner and LeaseExpiry say which worker runs the operation and
	// until when; a lease that expired (a crashed worker) lets another
	// worker claim the operation and resume from Checkpoint.
	LeaseOwner  string    `json:"-"`
	LeaseExpiry time.Time `json:"-"`
	CreateTime  time.Time `json:"createTime"`
	UpdateTime  time.Time `json:"updateTime,omitzero"`
	EndTime     time.Time `json:"-"`
}

// Validate returns an EINVALID error when a required field is missing.
func (op *Operation) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"operation projectId", op.ProjectID},
		{"operation integrationId", op.IntegrationID},
		{"operation installationId", op.InstallationID},
		{"operation objectName", op.ObjectName},
	} {
		if err := required(f.name, f.v); err != nil {
			return err
		}
	}
	switch op.ActionType {
	case ActionWrite:
		if op.ReadType != "" {
			return Errorf(EINVALID, "a write operation has no readType (got %q)", op.ReadType)
		}
		return nil
	case ActionRead:
	default:
		return Errorf(EINVALID, "operation actionType %q is not %q or %q", op.ActionType, ActionRead, ActionWrite)
	}
	if !op.ReadType.Valid() {
		return Errorf(EINVALID, "operation readType %q is not one of backfill, scheduled, triggered", op.ReadType)
	}
	return nil
}

// Log severities.
const (
	SeverityInfo  = "INFO"
	SeverityWarn  = "WARN"
	SeverityError = "ERROR"
)

// OperationLog is one line of an operation's log.
type OperationLog struct {
	// Seq orders the logs of a project; a Store assigns it.
	Seq         int64     `json:"-"`
	ProjectID   string    `json:"-"`
	OperationID string    `json:"-"`
	Time        time.Time `json:"timestamp"`
	Severity    string    `json:"severity"`
	Message     string    `json:"-"`
	// Err is the error text, when the line reports one.
	Err string `json:"-"`
	// Details are extra key/values (attempt, status code, retry delay).
	Details map[string]string `json:"-"`
}

// OperationFilter selects operations of a project; empty fields match
// everything.
type OperationFilter struct {
	InstallationID string
	ObjectName     string
	ReadType       ReadType
	// ActionType selects reads or writes (ActionRead, ActionWrite).
	ActionType string
	// Status, when set, selects the operations in that status
	// (OperationQueued: those waiting to run or to be retried).
	Status OperationStatus
	// Limit caps the results (zero: 200); newest first.
	Limit int
	// Before, when not nil, continues a listing (the operations routes'
	// pageToken): only the operations that come after Before.ID in the
	// listing's order match, that is with an earlier CreateTime, or the
	// same CreateTime and later in the Store's tie order. Pages then
	// neither repeat nor skip operations while new ones are created. When
	// Before.ID is gone, only an earlier CreateTime matches.
	Before *OperationCursor
}

// OperationCursor is a position in a newest-first listing of operations:
// the last operation of the previous page.
type OperationCursor struct {
	CreateTime time.Time
	ID         string
}

// Lease names a worker's hold on an operation. Every write a worker makes
// to an operation it claimed carries its lease, and fails with ECONFLICT
// when the lease was lost (it expired and another worker took over), so a
// stalled worker can never commit over a newer one.
type Lease struct {
	ProjectID   string
	OperationID string
	Owner       string
	// Expiry is the lease's new expiry, extended by every write.
	Expiry time.Time
}

// PageCommit is what a worker commits after reading, mapping and encoding
// one page: the page's messages and the operation's new checkpoint and
// counts, in one transaction.
type PageCommit struct {
	Lease      Lease
	Checkpoint json.RawMessage
	// Processed is the operation's new total of committed records;
	// Estimated its new estimate, or -1 to leave the estimate as it is.
	Processed int64
	Estimated int64
	Messages  []*OutboxMessage
	Logs      []*OperationLog
}

// OperationEnd is how a worker ends (or parks) an operation.
type OperationEnd struct {
	Lease Lease
	// Status is OperationSuccess, OperationFailure, or OperationQueued to
	// release the operation for a retry at RunAt (Attempts counts it).
	Status   OperationStatus
	RunAt    time.Time
	Attempts int
	// Checkpoint, when not nil, replaces the operation's checkpoint.
	Checkpoint json.RawMessage
	Result     string
	Error      string
	// ReadState, when not nil, is written to the operation's read state in
	// the same transaction (a finished read moves the watermark).
	ReadState *ReadStateUpdate
	// Messages are enqueued in the same transaction (the notifications an
	// end triggers, such as read.backfill.done).
	Messages []*OutboxMessage
	Logs     []*OperationLog
}

// OperationStore keeps operations and their logs. Called by the scheduler
// and the Read API (create), the engine (claim, commit, end) and the
// operations routes (get, list, logs).
type OperationStore interface {
	// CreateOperation creates op (Status queued, RunAt now when zero).
	// When exclusive is true it creates nothing and returns ECONFLICT if
	// the installation already has a queued or in-progress operation of
	// the same action type on the object (a scheduled read never piles up
	// behind a slow one).
	// Returns EINVALID if op fails Validate, ENOTFOUND if the project has no
	// such installation.
	CreateOperation(ctx context.Context, op *Operation, exclusive bool) error

	// ClaimOperation gives owner a lease until now+lease on the oldest
	// operation that is queued with RunAt <= now, or in progress with an
	// expired lease (its worker died), unless it is a read whose read state
	// is paused and it is not a triggered read, and unless another
	// operation of the same action type on the same installation and
	// object holds a live lease (reads of an object run one at a time, and
	// so do its writes, but a write never waits for a long backfill). The
	// operation comes back in progress. It is not scoped by project
	// (workers serve all).
	// Returns ENOTFOUND when there is nothing to claim.
	ClaimOperation(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Operation, error)

	// CommitPage writes c atomically: inserts its messages and logs, and
	// sets the operation's checkpoint, counts and lease expiry.
	// Returns ECONFLICT if the lease is no longer c.Lease.Owner's.
	CommitPage(ctx context.Context, c PageCommit) error

	// RenewLease moves a held lease's expiry to lease.Expiry and changes
	// nothing else: a worker keeps its claim alive through long provider
	// calls (a bulk job being prepared) without committing.
	// Returns ECONFLICT if the lease is no longer lease.Owner's.
	RenewLease(ctx context.Context, lease Lease) error

	// EndOperation writes e atomically (see OperationEnd) and releases the
	// lease. Returns ECONFLICT if the lease is no longer e.Lease.Owner's.
	EndOperation(ctx context.Context, e OperationEnd) error

	// AppendOperationLogs adds log lines outside a commit (retries seen
	// while reading a page).
	AppendOperationLogs(ctx context.Context, logs []*OperationLog) error

	// GetOperation returns the operation with the ID.
	// Returns ENOTFOUND if the project has none.
	GetOperation(ctx context.Context, projectID, id string) (*Operation, error)

	// ListOperations returns the project's operations that match the
	// filter, newest first: by CreateTime descending, ties in a fixed order
	// (the later created first).
	ListOperations(ctx context.Context, projectID string, filter OperationFilter) ([]*Operation, error)

	// ListOperationLogs returns an operation's logs in order.
	// Returns ENOTFOUND if the project has no such operation.
	ListOperationLogs(ctx context.Context, projectID, operationID string) ([]*OperationLog, error)
}
