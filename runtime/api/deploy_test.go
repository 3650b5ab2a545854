package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// breakingBody removes the read object account from the example manifest:
// a breaking change for the installations of salesforceSync.
func breakingBody(t *testing.T) map[string]string {
	t.Helper()
	src := deployBody(t)["sourceYaml"]
	start := strings.Index(src, "        - objectName: account")
	end := strings.Index(src, "        - objectName: contact")
	if start < 0 || end < start {
		t.Fatal("example manifest changed: no account object before contact")
	}
	return map[string]string{"sourceYaml": src[:start] + src[end:]}
}

// nonBreakingBody changes the schedules only.
func nonBreakingBody(t *testing.T) map[string]string {
	t.Helper()
	src := deployBody(t)["sourceYaml"]
	out := strings.ReplaceAll(src, `schedule: "*/15 * * * *"`, `schedule: "*/30 * * * *"`)
	if out == src {
		t.Fatal("example manifest changed: no schedule to change")
	}
	return map[string]string{"sourceYaml": out}
}

type deployedInteg struct {
	ID, Name       string
	LatestRevision struct{ ID string }
}

func (e *env) revisions(pp, key, integ string) []struct{ ID string } {
	e.t.Helper()
	var revs []struct{ ID string }
	e.must(200, "GET", pp+"/integrations/"+integ+"/revisions", key, nil).json(e.t, &revs)
	return revs
}

func TestDeployBreakingWithInstallations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.world("brk")
	pp := "/v1/projects/brk"

	for _, q := range []string{"", "?destructive=false"} {
		r := e.must(http.StatusConflict, "PUT", pp+"/integrations:batch"+q, w.key, breakingBody(t))
		if r.ctype != "application/problem+json" {
			t.Errorf("content type %q, want application/problem+json", r.ctype)
		}
		var p struct {
			Type, Detail string
			Status       int
			Causes       []string
		}
		r.json(t, &p)
		if p.Status != http.StatusConflict || !strings.Contains(p.Detail, "salesforceSync") ||
			!strings.Contains(p.Detail, "1 installation") || !strings.Contains(p.Detail, "acme") {
			t.Errorf("problem = %+v, want 409 naming salesforceSync, 1 installation, group acme", p)
		}
		if len(p.Causes) == 0 || !strings.Contains(strings.Join(p.Causes, "\n"), "account") {
			t.Errorf("causes = %q, want the removed object account", p.Causes)
		}
		if revs := e.revisions(pp, w.key, w.integID); len(revs) != 1 || revs[0].ID != w.revID {
			t.Errorf("revisions after refused deploy = %v, want only %s", revs, w.revID)
		}
	}

	var ints []deployedInteg
	e.must(200, "PUT", pp+"/integrations:batch?destructive=true", w.key, breakingBody(t)).json(t, &ints)
	if len(ints) != 1 || ints[0].LatestRevision.ID == w.revID {
		t.Fatalf("destructive deploy = %+v, want a new revision", ints)
	}
	if revs := e.revisions(pp, w.key, w.integID); len(revs) != 2 {
		t.Errorf("revisions after destructive deploy = %d, want 2", len(revs))
	}
}

func TestDeployBreakingWithoutInstallations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := e.project("noinst")
	pp := "/v1/projects/noinst"
	var first, second []deployedInteg
	e.must(200, "PUT", pp+"/integrations:batch", key, deployBody(t)).json(t, &first)
	e.must(200, "PUT", pp+"/integrations:batch", key, breakingBody(t)).json(t, &second)
	if len(second) != 1 || second[0].LatestRevision.ID == first[0].LatestRevision.ID {
		t.Fatalf("deploy = %+v, want a new revision", second)
	}
}

func TestDeployNonBreakingWithInstallations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.world("nonbrk")
	pp := "/v1/projects/nonbrk"
	var ints []deployedInteg
	e.must(200, "PUT", pp+"/integrations:batch", w.key, nonBreakingBody(t)).json(t, &ints)
	if len(ints) != 1 || ints[0].LatestRevision.ID == w.revID {
		t.Fatalf("deploy = %+v, want a new revision", ints)
	}
	// Redeploying the deployed content is no change at all.
	e.must(200, "PUT", pp+"/integrations:batch", w.key, nonBreakingBody(t))
	if revs := e.revisions(pp, w.key, w.integID); len(revs) != 2 {
		t.Errorf("revisions = %d, want 2", len(revs))
	}
}
