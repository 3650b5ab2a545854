package runtime

import (
	"context"
	"encoding/json"
	"time"
)

// ReadState is the engine's memory of one installation's read object: its
// schedule, whether reads are paused, whether the backfill finished, and
// where the next incremental read starts.
type ReadState struct {
	ProjectID      string
	IntegrationID  string
	InstallationID string
	// ObjectName is the read object's key in the installation config.
	ObjectName string
	// Schedule is the cron expression of scheduled reads; empty: none.
	Schedule string
	// NextRun is when the next scheduled read is due; zero: none.
	NextRun time.Time
	// Paused stops scheduled reads (and backfills) until unpaused;
	// PauseNote says why (the builder's note, or the engine's reason such
	// as a connection's bad credentials).
	Paused    bool
	PauseNote string
	// BackfillDone is set when the backfill operation succeeded.
	BackfillDone bool
	// Watermark is the newest modified time delivered; incremental reads
	// start a little before it.
	Watermark time.Time
	// Sync is the engine's other incremental state (opaque JSON: the ids
	// delivered at the watermark, a provider's change-tracking token).
	Sync       json.RawMessage
	CreateTime time.Time
	UpdateTime time.Time
}

// ReadStateSpec is one read object an installation's config enables; see
// ReadStateStore.SyncReadStates.
type ReadStateSpec struct {
	ObjectName string
	Schedule   string
	// NextRun is the first scheduled read of a new state (zero: none); an
	// existing state keeps its NextRun unless its schedule changed.
	NextRun time.Time
	// Backfill, when not nil, is created (queued) with the state if the
	// state is new, in the same transaction.
	Backfill *Operation
}

// ReadStateUpdate is what a finished read writes to its read state.
type ReadStateUpdate struct {
	// Watermark, when not zero, replaces the watermark.
	Watermark time.Time
	// Sync, when not nil, replaces Sync.
	Sync json.RawMessage
	// BackfillDone, when true, sets BackfillDone.
	BackfillDone bool
}

// ReadStateStore keeps read states. Called by the scheduler (sync, due
// reads), the Read API (pause, unpause) and the engine (read, update through
// EndOperation).
type ReadStateStore interface {
	// SyncReadStates makes the installation's read states match specs: a
	// spec without a state creates one (and its Backfill operation); a
	// state whose schedule changed gets the spec's schedule and NextRun; a
	// state without a spec loses its schedule (NextRun zero) but keeps its
	// watermark, so re-enabling the object resumes where it stopped.
	// It returns the object names whose states it created.
	// Returns ENOTFOUND if the project has no such installation.
	SyncReadStates(ctx context.Context, projectID, installationID string, specs []ReadStateSpec) ([]string, error)

	// GetReadState returns one read state.
	// Returns ENOTFOUND if there is none in the project.
	GetReadState(ctx context.Context, projectID, installationID, objectName string) (*ReadState, error)

	// ListReadStates returns the installation's read states by object name.
	ListReadStates(ctx context.Context, projectID, installationID string) ([]*ReadState, error)

	// SetReadsPaused pauses or unpauses the named objects of the
	// installation (all of them when objects is empty) and records note.
	// Returns ENOTFOUND if the project has no such installation, EINVALID
	// naming the objects that have no read state.
	SetReadsPaused(ctx context.Context, projectID, installationID string, objects []string, paused bool, note string) error

	// DueReads returns up to limit unpaused read states whose NextRun is
	// at or before now, oldest NextRun first. Not scoped by project (the
	// scheduler serves all).
	DueReads(ctx context.Context, now time.Time, limit int) ([]*ReadState, error)

	// ScheduleRead moves the state's NextRun to nextRun and, in the same
	// transaction, creates op (a read) unless the installation already has
	// a queued or in-progress read operation on the object. It reports
	// whether op was created. Returns ENOTFOUND if the state does not
	// exist, EINVALID if op is not a read.
	ScheduleRead(ctx context.Context, projectID, installationID, objectName string, nextRun time.Time, op *Operation) (bool, error)
}
