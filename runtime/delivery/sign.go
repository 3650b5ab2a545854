package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers every delivery carries. A destination's
// extra headers never replace them (nor Content-Type).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a Standard Webhooks signing secret: "whsec_" and the
// base64 of the key bytes.
const SecretPrefix = "whsec_"

// ParseSecret returns the HMAC key of a Standard Webhooks secret, the way
// Svix and the Standard Webhooks libraries read it: the "whsec_" prefix, if
// present, is dropped and the rest is standard base64. The error never
// contains the secret.
func ParseSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, SecretPrefix)
	if s == "" {
		return nil, errors.New("delivery: empty signing secret")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("delivery: signing secret is not whsec_ followed by base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header value of a message: "v1," and
// the base64 HMAC-SHA256, under key, of "msgID.timestamp.body" with the
// timestamp in Unix seconds. key is the decoded secret (ParseSecret), not
// the "whsec_..." string.
func Sign(key []byte, msgID string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
