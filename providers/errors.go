package providers

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies a provider failure once, in the connector, so the
// engine decides what to do without knowing any provider's error codes.
type ErrorKind int

// The error kinds.
const (
	// KindUnknown is an error the connector could not classify.
	KindUnknown ErrorKind = iota
	// KindAuth: the credentials were refused; refresh, then re-consent.
	KindAuth
	// KindRateLimited: slow down; Error.RetryAfter says for how long.
	KindRateLimited
	// KindRetryable: a transient failure (5xx, timeout); retry with back-off.
	KindRetryable
	// KindNotFound: the object or record does not exist.
	KindNotFound
	// KindInvalid: the request was wrong (bad field, malformed query);
	// retrying will not help.
	KindInvalid
	// KindForbidden: the connection lacks a scope or permission.
	KindForbidden
	// KindConflict: the write conflicts with existing data (duplicate).
	KindConflict
)

var kindNames = [...]string{"unknown", "auth", "rate-limited", "retryable", "not-found", "invalid", "forbidden", "conflict"}

// String returns the kind's name.
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a classified provider failure. It keeps the provider's own code
// and message, and wraps the underlying error when there is one.
type Error struct {
	Kind     ErrorKind
	Provider string
	// Status is the HTTP status, when the failure came from a response.
	Status int
	// Code is the provider's error code (INVALID_SESSION_ID, RATE_LIMITS...).
	Code    string
	Message string
	// RetryAfter is how long to wait before retrying, when known.
	RetryAfter time.Duration
	Err        error
}

// Error formats the failure as "provider: kind (HTTP status): code: message".
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Provider, e.Kind)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err, or KindUnknown when err is not an *Error.
func KindOf(err error) ErrorKind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return KindUnknown
}

// RetryAfter returns how long err asks the caller to wait, or zero.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// KindForStatus is the default classification of an HTTP status, for
// responses whose body says nothing more specific.
func KindForStatus(status int) ErrorKind {
	switch {
	case status == 401:
		return KindAuth
	case status == 403:
		return KindForbidden
	case status == 404:
		return KindNotFound
	case status == 409:
		return KindConflict
	case status == 429:
		return KindRateLimited
	case status >= 500:
		return KindRetryable
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}
