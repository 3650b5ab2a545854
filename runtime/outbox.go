package runtime

import (
	"context"
	"time"
)

// OutboxMessage is one webhook message waiting for delivery: a page of
// records, or a notification. It is written in the same transaction as the
// state change that produced it, and deleted once the destination
// acknowledged it.
type OutboxMessage struct {
	// ID is the message's webhook-id, stable across retries so receivers
	// can de-duplicate. A Store fills in an empty ID.
	ID            string
	ProjectID     string
	DestinationID string
	// OperationID is the operation that produced the message, if any.
	OperationID string
	// Body is the JSON payload, exactly as it will be sent and signed.
	Body []byte
	// Attempts counts failed deliveries; LastError is the latest reason.
	Attempts  int
	LastError string
	// NextAttempt is when the message may be sent (again).
	NextAttempt time.Time
	CreateTime  time.Time
}

// DestinationFailure reports a failed delivery to a destination.
type DestinationFailure struct {
	ProjectID     string
	DestinationID string
	Now           time.Time
	// MaxFailures and Window say when the destination is disabled: after
	// MaxFailures consecutive failures, or when it has been failing for
	// Window (zero: that rule is off).
	MaxFailures int
	Window      time.Duration
	// Notification is enqueued, in the same transaction, only if this
	// failure disables the destination.
	Notification *OutboxMessage
}

// OutboxStore keeps the messages waiting for delivery. Called by the engine
// (through CommitPage and EndOperation, and EnqueueMessages) and delivery.
type OutboxStore interface {
	// EnqueueMessages adds messages, filling in empty IDs, CreateTime and a
	// zero NextAttempt (now). A message whose ID is already queued is
	// skipped.
	EnqueueMessages(ctx context.Context, msgs []*OutboxMessage) error

	// ClaimMessages returns up to limit messages due at now whose
	// destination is enabled, oldest first, and moves their NextAttempt to
	// now+hold so that no other claim returns them while they are sent.
	// Not scoped by project (delivery serves all).
	ClaimMessages(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]*OutboxMessage, error)

	// AckMessages deletes delivered messages of a project.
	AckMessages(ctx context.Context, projectID string, ids []string) error

	// RetryMessage records a failed attempt: Attempts, LastError and the
	// next attempt's time. Returns ENOTFOUND if the message is gone.
	RetryMessage(ctx context.Context, projectID, id string, attempts int, next time.Time, lastError string) error

	// CountMessages returns how many messages wait for the destination.
	CountMessages(ctx context.Context, projectID, destinationID string) (int, error)

	// DestinationFailed counts a failed delivery against the destination
	// and disables it when f's rule says so, reporting whether this call
	// disabled it. Returns ENOTFOUND if the project has no such
	// destination.
	DestinationFailed(ctx context.Context, f DestinationFailure) (bool, error)

	// DestinationSucceeded resets the destination's failure count.
	DestinationSucceeded(ctx context.Context, projectID, destinationID string) error
}
