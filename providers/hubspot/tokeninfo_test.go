package hubspot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/hubspot"
)

// TestTokenInfoNeverLeaksTheToken checks both failure paths of TokenInfo:
// the token is in the URL path, so an error must not quote the URL.
func TestTokenInfoNeverLeaksTheToken(t *testing.T) {
	t.Parallel()
	const secret = "CJSecretAccessToken123"
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{not json")) }))
	defer garbage.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, base := range map[string]string{"malformed answer": garbage.URL, "connection refused": closed.URL} {
		_, err := hubspot.TokenInfo(context.Background(), nil, base, secret)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the access token: %v", name, err)
		}
	}
}

// TestQuotaNeedsRemaining checks that a response without a Remaining header
// is not reported as an exhausted window.
func TestQuotaNeedsRemaining(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-HubSpot-RateLimit-Max", "110")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"results":[]}`))
	}))
	defer srv.Close()
	var readings []providers.Quota
	c, err := hubspot.New(providers.Config{HTTPClient: srv.Client(), BaseURL: srv.URL, OnQuota: func(q providers.Quota) { readings = append(readings, q) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(context.Background(), providers.ReadRequest{Object: "contacts", Fields: []string{"email"}}); err != nil {
		t.Fatal(err)
	}
	if len(readings) != 0 {
		t.Errorf("readings %+v from a response without Remaining, want none", readings)
	}
}
