package runtime

import (
	"context"
	"time"
)

// IdempotencyRecord remembers one Write API request made with an
// Idempotency-Key, so that the same request sent again gets the first
// answer instead of writing twice.
type IdempotencyRecord struct {
	ProjectID string
	// Key is the client's Idempotency-Key header.
	Key string
	// RequestHash identifies the request body (and target): the same key
	// with another request is refused.
	RequestHash string
	// Status is the HTTP status of the first answer; 0 while the first
	// request is still being written.
	Status int
	// Response is the first answer's body.
	Response    []byte
	OperationID string
	CreateTime  time.Time
	ExpireTime  time.Time
}

// Echo is the trace a write leaves so that the next incremental read does
// not deliver the runtime's own write back to the builder: the record and a
// fingerprint of the provider field values written.
type Echo struct {
	RecordID    string
	Fingerprint string
}

// WriteStateStore keeps what the Write API needs besides operations.
// Called by runtime/write (idempotency, echoes) and the engine (echoes).
type WriteStateStore interface {
	// BeginIdempotent records rec (Status 0) unless the project already has
	// an unexpired record with rec.Key, which it returns instead (and then
	// records nothing). The caller answers with the existing record's
	// Response, refuses a different RequestHash, or answers 409 while the
	// first request is in flight (Status 0). Expired records are replaced.
	// It returns nil when it recorded rec (filling in CreateTime).
	// Returns EINVALID if rec lacks the project, key, hash or expiry,
	// ENOTFOUND if the project does not exist.
	BeginIdempotent(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, error)

	// FinishIdempotent stores the answer of the request that began rec.
	// Returns ENOTFOUND if the record is gone (expired and replaced).
	FinishIdempotent(ctx context.Context, projectID, key string, status int, response []byte, operationID string) error

	// AbandonIdempotent deletes an unfinished record (the request failed
	// before writing anything), so the client may retry with the key.
	AbandonIdempotent(ctx context.Context, projectID, key string) error

	// RecordEchoes remembers records just written to an installation's
	// object, replacing earlier echoes of the same records; they expire at
	// expire. Returns ENOTFOUND if the project has no such installation.
	RecordEchoes(ctx context.Context, projectID, installationID, object string, echoes []Echo, expire time.Time) error

	// TakeEchoes returns the unexpired echoes of the given records and
	// deletes them: an echo suppresses at most one delivery.
	TakeEchoes(ctx context.Context, projectID, installationID, object string, recordIDs []string) (map[string]string, error)

	// DeleteExpiredWriteState deletes expired idempotency records and
	// echoes, and returns how many it deleted (housekeeping).
	DeleteExpiredWriteState(ctx context.Context, before time.Time) (int, error)
}
