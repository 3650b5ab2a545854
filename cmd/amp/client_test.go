package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestClientRefusesCrossHostRedirect: a redirect to another host is not
// followed, so X-Api-Key never reaches it.
func TestClientRefusesCrossHostRedirect(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-Api-Key"))
		w.Write([]byte(`[]`))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	c, err := clientFlags{server: srv.URL, apiKey: "amp_secret"}.newClient()
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	if err := c.do(context.Background(), "GET", c.projectPath("integrations"), nil, nil, &out); err == nil {
		t.Error("a cross-host redirect was followed")
	}
	if v, _ := leaked.Load().(string); v != "" {
		t.Errorf("the other host got X-Api-Key %q", v)
	}

	// A same-host redirect is still followed.
	same := httptest.NewServer(nil)
	defer same.Close()
	same.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/projects/default/x" {
			http.Redirect(w, r, "/v1/projects/default/y", http.StatusFound)
			return
		}
		if r.Header.Get("X-Api-Key") != "amp_secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`[]`))
	})
	c, _ = clientFlags{server: same.URL, apiKey: "amp_secret"}.newClient()
	if err := c.do(context.Background(), "GET", c.projectPath("x"), nil, nil, &out); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}

// TestClientPathEscaping: an escaped segment is sent once-escaped.
func TestClientPathEscaping(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.EscapedPath())
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c, err := clientFlags{server: srv.URL + "/base%2Fx", apiKey: "k", project: "my proj/1"}.newClient()
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := c.do(context.Background(), "GET", c.projectPath("destinations", "a/b c")+"/integrations:batch", nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	const want = "/base%2Fx/v1/projects/my%20proj%2F1/destinations/a%2Fb%20c/integrations:batch"
	if p, _ := got.Load().(string); p != want {
		t.Errorf("server saw path %q, want %q", p, want)
	}
}
