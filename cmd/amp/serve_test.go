package main

import (
	"strings"
	"testing"
)

func TestServeRefusesWorkersOutOfRange(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"-1", "257"} {
		r := runAmp("", "serve", "--data", t.TempDir(), "--workers", n)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--workers must be between 1 and 256") {
			t.Errorf("amp serve --workers %s: exit %d, stderr %q", n, r.code, r.stderr)
		}
	}
}
