package delivery_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime/delivery"
)

// The Standard Webhooks test vector, as published with the reference
// libraries (and Svix's).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignatureVector(t *testing.T) {
	t.Parallel()
	key, err := delivery.ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := delivery.Sign(key, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody)); got != vectorSig {
		t.Errorf("Sign = %s, want %s", got, vectorSig)
	}
	// Svix accepts the secret without its prefix too.
	bare, err := delivery.ParseSecret(strings.TrimPrefix(vectorSecret, "whsec_"))
	if err != nil || string(bare) != string(key) {
		t.Errorf("ParseSecret without prefix = %x, %v; want %x", bare, err, key)
	}
}

func TestSignatureIndependentVerifier(t *testing.T) {
	t.Parallel()
	secret := newSecret()
	key, err := delivery.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Fatalf("key is %d bytes, want 32", len(key))
	}
	now := time.Now()
	id, body := "msg_1", []byte(`{"a":1}`)
	headers := func(id string, ts time.Time, sig string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
		h.Set("webhook-signature", sig)
		return h
	}
	sig := delivery.Sign(key, id, now, body)
	if !strings.HasPrefix(sig, "v1,") {
		t.Fatalf("signature %q does not start with v1,", sig)
	}
	if err := verifyWebhook(secret, headers(id, now, sig), body, now); err != nil {
		t.Errorf("verify: %v", err)
	}
	// Several signatures, space-separated, as during a secret rotation.
	multi := "v1a,c29tZXRoaW5n v1,Ym9ndXM= " + sig + " v2,eHg="
	if err := verifyWebhook(secret, headers(id, now, multi), body, now); err != nil {
		t.Errorf("verify with several signatures: %v", err)
	}
	for name, tc := range map[string]struct {
		secret string
		h      http.Header
		body   []byte
	}{
		"other body":   {secret, headers(id, now, sig), []byte(`{"a":2}`)},
		"other id":     {secret, headers("msg_2", now, sig), body},
		"other time":   {secret, headers(id, now.Add(time.Second), sig), body},
		"other secret": {newSecret(), headers(id, now, sig), body},
		"stale":        {secret, headers(id, now.Add(-10*time.Minute), delivery.Sign(key, id, now.Add(-10*time.Minute), body)), body},
		"only bogus":   {secret, headers(id, now, "v1,Ym9ndXM= v1,"), body},
	} {
		if err := verifyWebhook(tc.secret, tc.h, tc.body, now); err == nil {
			t.Errorf("%s: verified, want a failure", name)
		}
	}
}

func TestSignatureParseSecretErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "whsec_abc"} {
		if _, err := delivery.ParseSecret(s); err == nil {
			t.Errorf("ParseSecret(%q) succeeded, want an error", s)
		} else if s != "" && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) && s != "whsec_" {
			t.Errorf("ParseSecret(%q) error %q shows the secret", s, err)
		}
	}
}

func ExampleSign() {
	key, err := delivery.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	fmt.Println(delivery.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)))
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}
