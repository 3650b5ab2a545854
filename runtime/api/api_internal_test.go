package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/apikey"
)

func TestErrorStatus(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{runtime.ENOTFOUND: 404, runtime.ECONFLICT: 409, runtime.EINVALID: 422,
		runtime.EUNAUTHORIZED: 401, runtime.EINTERNAL: 500, "": 500} {
		if got := errorStatus(code); got != want {
			t.Errorf("errorStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestRedactPath(t *testing.T) {
	t.Parallel()
	key, _ := apikey.Generate()
	got := redactPath("/v1/projects/default/api-keys/" + key)
	if strings.Contains(got, key) || !strings.HasPrefix(got, "/v1/projects/default/api-keys/amp_...") {
		t.Errorf("redactPath = %q", got)
	}
}

func TestSetPath(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"config": map[string]any{"content": map[string]any{"read": map[string]any{"objects": map[string]any{"a": map[string]any{"x": 1}}}}}}
	if err := setPath(doc, strings.Split("config.content.read.objects.b", "."), map[string]any{"y": 2}); err != nil {
		t.Fatal(err)
	}
	if err := setPath(doc, strings.Split("config.content.read.objects.a", "."), nil); err != nil {
		t.Fatal(err)
	}
	objs := doc["config"].(map[string]any)["content"].(map[string]any)["read"].(map[string]any)["objects"].(map[string]any)
	if _, ok := objs["a"]; ok || objs["b"] == nil {
		t.Errorf("objects = %v", objs)
	}
	if err := setPath(map[string]any{"a": "s"}, []string{"a", "b"}, 1); err == nil {
		t.Error("setPath through a string succeeded")
	}
}

func TestRoutesUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range Routes() {
		if seen[r.Method+" "+r.Path] {
			t.Errorf("duplicate route %s %s", r.Method, r.Path)
		}
		seen[r.Method+" "+r.Path] = true
		if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodPut &&
			r.Method != http.MethodPatch && r.Method != http.MethodDelete {
			t.Errorf("route %s %s: unexpected method", r.Method, r.Path)
		}
	}
}
