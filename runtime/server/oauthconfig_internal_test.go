package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.DataDir, cfg.Addr, cfg.PublicURL, cfg.Logger = t.TempDir(), "127.0.0.1:0", "http://amp.test", slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A token endpoint that never answers must not hold a refresh forever.
func TestDefaultOAuthHTTPClientHasTimeout(t *testing.T) {
	s := newTestServer(t, Config{})
	if c := s.cfg.OAuthHTTPClient; c == nil || c.Timeout != OAuthHTTPTimeout {
		t.Fatalf("default OAuth HTTP client %+v, want a %v timeout", c, OAuthHTTPTimeout)
	}
}

func callbackPage(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/callbacks/v1/oauth?state=unknown-state&code=c", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 400 || !strings.Contains(string(b), "AUTHORIZATION_FAILED") {
		t.Fatalf("callback: %d %s", rec.Code, b)
	}
	return string(b)
}

func TestOpenerOrigin(t *testing.T) {
	page := callbackPage(t, newTestServer(t, Config{OpenerOrigin: "https://app.example.com"}))
	if !strings.Contains(page, `postMessage(message, "https://app.example.com")`) {
		t.Errorf("the callback page does not post to the configured origin:\n%s", page)
	}
	page = callbackPage(t, newTestServer(t, Config{}))
	if !strings.Contains(page, `postMessage(message, "*")`) {
		t.Errorf("the default target origin is not \"*\":\n%s", page)
	}
	for _, bad := range []string{"app.example.com", "https://app.example.com/path", "javascript:alert(1)", "https://"} {
		if _, err := New(Config{DataDir: t.TempDir(), PublicURL: "http://amp.test", OpenerOrigin: bad, Logger: slog.New(slog.DiscardHandler)}); err == nil {
			t.Errorf("opener origin %q accepted", bad)
		}
	}
}
