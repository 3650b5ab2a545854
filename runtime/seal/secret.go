package seal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Redacted is what a Secret prints, logs and marshals as.
const Redacted = "[redacted]"

// A Secret holds a secret string (a token, a client secret, a verifier) so
// that it is never printed or logged by accident: every fmt verb, slog,
// encoding/json and encoding/text show Redacted. Reveal returns the value and
// is the only way to get it, which makes each use easy to find in review.
//
// The value sits behind a pointer, so even reflection-based printing of a
// struct with an unexported Secret field (which bypasses the methods) shows
// an address, not the value. The zero Secret is empty.
//
// A Secret can be decoded from a JSON string (a request body importing
// tokens) but encodes as "[redacted]": send the value with Reveal.
type Secret struct {
	v *string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: &s} }

// Reveal returns the secret value. Do not log it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// String returns Redacted.
func (Secret) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Secret) GoString() string { return Redacted }

// Format writes Redacted for every verb (quoted for %q).
func (Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(Redacted))
		return
	}
	io.WriteString(f, Redacted)
}

// LogValue returns Redacted, so slog never logs the value.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the JSON string "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(Redacted)), nil }

// MarshalText returns Redacted.
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalJSON decodes a JSON string (or null, giving the zero Secret).
func (s *Secret) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("secret must be a JSON string")
	}
	*s = NewSecret(v)
	return nil
}

// Interface guards.
var (
	_ fmt.Stringer     = Secret{}
	_ fmt.GoStringer   = Secret{}
	_ fmt.Formatter    = Secret{}
	_ slog.LogValuer   = Secret{}
	_ json.Marshaler   = Secret{}
	_ json.Unmarshaler = (*Secret)(nil)
)
