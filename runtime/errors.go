package runtime

import (
	"errors"
	"fmt"
)

// Error codes: a small, closed set that every runtime package speaks. The
// HTTP layer turns each into one status (ENOTFOUND 404, ECONFLICT 409,
// EINVALID 400 or 422, EUNAUTHORIZED 401, EINTERNAL 500) in one place.
const (
	// ECONFLICT: the operation conflicts with the current state: a unique
	// name or reference is taken, a row changed since the caller read it
	// (a stale version), or a row is still used by another.
	ECONFLICT = "conflict"
	// EINTERNAL: anything unexpected (a database or I/O failure). The
	// message shown to users is generic; the wrapped error is for logs.
	EINTERNAL = "internal"
	// EINVALID: the caller's input is wrong (a missing field, a value out of
	// range, a reference to something of the wrong kind, a used or expired
	// OAuth state). Retrying the same call will fail the same way.
	EINVALID = "invalid"
	// ENOTFOUND: the row does not exist, or it belongs to another project.
	ENOTFOUND = "not_found"
	// EUNAUTHORIZED: the caller is not allowed to do this.
	EUNAUTHORIZED = "unauthorized"
)

// Error is an application error: a code from the set above and a message
// that is safe to show to the API's caller. Wrap it with fmt.Errorf("...: %w")
// to add context for logs; ErrorCode and ErrorMessage still find it.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is for the API's caller: it never holds a secret, a token or
	// a database detail.
	Message string
}

// Error returns "amp error: code=<code> message=<message>".
func (e *Error) Error() string {
	return fmt.Sprintf("amp error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a nil
// err and EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain, "" for
// a nil err and "Internal error." for any other error, so that internal
// details never reach a user.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Internal error."
	}
}

// IsRetryable reports whether err (an EINTERNAL error) is transient: the same
// call may succeed if it is retried later, typically at the job level with
// back-off. A Store marks errors this way when the database was busy or
// locked (SQLite's SQLITE_BUSY, a PostgreSQL serialization failure). It looks
// for an error in err's chain with a method Retryable() bool that returns true.
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}
