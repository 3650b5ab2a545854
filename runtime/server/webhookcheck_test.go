package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// verifyStandardWebhook checks a delivery's signature as the Standard
// Webhooks specification describes it, written here without looking at
// amp's signing code: the secret is "whsec_" + base64(key); the signed
// content is "<webhook-id>.<webhook-timestamp>.<body>"; the header holds
// space-separated "v1,<base64(HMAC-SHA256)>" entries, any of which may match.
func verifyStandardWebhook(secret string, h http.Header, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	id, ts, sigs := h.Get("Webhook-Id"), h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("a Standard Webhooks header is missing")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, err)
	}
	if age := time.Since(time.Unix(sec, 0)); age < -time.Minute || age > time.Hour {
		return fmt.Errorf("timestamp %s is %s away", ts, age)
	}
	var signed bytes.Buffer
	signed.WriteString(id)
	signed.WriteByte('.')
	signed.WriteString(ts)
	signed.WriteByte('.')
	signed.Write(body)
	mac := hmac.New(sha256.New, key)
	mac.Write(signed.Bytes())
	want := mac.Sum(nil)
	for _, part := range strings.Split(sigs, " ") {
		if v, ok := strings.CutPrefix(part, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(v); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("none of %q matches", sigs)
}

// notificationSchemas names each notification type's payload schema.
var notificationSchemas = map[string]string{
	"read.backfill.done":           "ReadBackfillDoneNotificationPayload",
	"read.schedule.paused":         "ReadSchedulePausedNotificationPayload",
	"connection.error":             "ConnectionErrorNotificationPayload",
	"destination.webhook.disabled": "DestinationWebhookDisabledNotificationPayload",
	"write.async.done":             "WriteAsyncDoneNotificationPayload",
}

var (
	schemaOnce sync.Once
	msgSchemas map[string]*jsonschema.Schema
	schemaErr  error
)

// validateMessage validates body against a schema of the reference files
// (components.schemas.<name> of the webhook or notifications description).
func validateMessage(t *testing.T, name string, body []byte) error {
	t.Helper()
	schemaOnce.Do(func() { msgSchemas, schemaErr = loadMessageSchemas() })
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	s := msgSchemas[name]
	if s == nil {
		return fmt.Errorf("no reference schema %q", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func loadMessageSchemas() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	files := map[string]string{
		"webhook.json":       "../../testdata/ampersand-openapi/webhook_webhook.yaml",
		"notifications.json": "../../testdata/ampersand-openapi/notifications_notifications.yaml",
	}
	for name, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if err := c.AddResource("mem:///"+name, v); err != nil {
			return nil, err
		}
	}
	out := map[string]*jsonschema.Schema{}
	s, err := c.Compile("mem:///webhook.json#/components/schemas/WebhookMessage")
	if err != nil {
		return nil, err
	}
	out["WebhookMessage"] = s
	for _, n := range notificationSchemas {
		s, err := c.Compile("mem:///notifications.json#/components/schemas/" + n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[n] = s
	}
	return out, nil
}
