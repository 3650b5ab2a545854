package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFakeStandalone runs `amp fake <provider>` through the real command
// tree on a free port and checks that a plain HTTP call with a bad token
// gets the provider's real refusal, and the printed token works.
func TestFakeStandalone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		provider, path string
		check          func(t *testing.T, status int, h http.Header, body []byte)
	}{
		{"salesforce", "/services/data/v60.0/query?q=SELECT+Id+FROM+Account", func(t *testing.T, status int, _ http.Header, body []byte) {
			var errs []struct{ ErrorCode string }
			if status != 401 || json.Unmarshal(body, &errs) != nil || len(errs) != 1 || errs[0].ErrorCode != "INVALID_SESSION_ID" {
				t.Errorf("bad token: %d %s, want 401 [{errorCode: INVALID_SESSION_ID}]", status, body)
			}
		}},
		{"hubspot", "/crm/v3/objects/contacts?limit=5", func(t *testing.T, status int, _ http.Header, body []byte) {
			var e struct{ Status, Message, Category string }
			if status != 401 || json.Unmarshal(body, &e) != nil || e.Status != "error" || e.Message == "" || e.Category != "INVALID_AUTHENTICATION" {
				t.Errorf("bad token: %d %s, want HubSpot's 401 body", status, body)
			}
		}},
		{"dynamics", "/api/data/v9.2/accounts?$top=5", func(t *testing.T, status int, h http.Header, body []byte) {
			if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer authorization_uri=") {
				t.Errorf("bad token: %d %q %s, want 401 with a Bearer authorization_uri challenge", status, h.Get("WWW-Authenticate"), body)
			}
		}},
	} {
		t.Run(c.provider, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			pr, pw := io.Pipe()
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, []string{"fake", c.provider, "--records", "10"}, strings.NewReader(""), pw, io.Discard)
				pw.Close()
			}()
			lines := bufio.NewScanner(pr)
			var base, token string
			for lines.Scan() && (base == "" || token == "") {
				line := lines.Text()
				if u, ok := strings.CutPrefix(line, "fake "+c.provider+" listening on "); ok {
					base = u
				}
				if tok, ok := strings.CutPrefix(line, "access token:"); ok {
					token = strings.TrimSpace(tok)
				}
			}
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			if base == "" || token == "" {
				t.Fatalf("no URL or token printed")
			}
			get := func(tok string) (int, http.Header, []byte) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+c.path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header, body
			}
			status, header, body := get("not-a-token")
			c.check(t, status, header, body)
			if status, _, body := get(token); status != 200 {
				t.Errorf("printed token refused: %d %s", status, body)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("amp fake exited %d after interrupt, want 0", code)
			}
		})
	}
}
