package main

import (
	"math"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sc      scenario
		latency time.Duration
		want    float64
	}{
		{"latency binds without a window", scenario{PageRecords: 2000}, 100 * time.Millisecond, 20_000},
		{"rate binds", scenario{PageRecords: 100, RatePerSec: 10}, 20 * time.Millisecond, 1000},
		{"latency binds before the rate", scenario{PageRecords: 100, RatePerSec: 19}, 100 * time.Millisecond, 1000},
		{"rate alone without latency", scenario{PageRecords: 5000, RatePerSec: 20}, 0, 100_000},
		{"nothing bounds it", scenario{PageRecords: 2000}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.sc.ceiling(tc.latency); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("ceiling = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelected(t *testing.T) {
	t.Parallel()
	all, err := selected("")
	if err != nil || len(all) != len(scenarios) {
		t.Fatalf("selected(\"\") = %d scenarios, %v; want all %d", len(all), err, len(scenarios))
	}
	hs, err := selected("hubspot-1,hubspot-100")
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[0].Name != "hubspot-100-per-10s" || hs[1].Name != "hubspot-190-per-10s" {
		t.Errorf("selected(hubspot-1,hubspot-100) = %v, want the two HubSpot reads once each", hs)
	}
	if _, err := selected("nosuch"); err == nil {
		t.Error("selected(nosuch) did not fail")
	}
}

// Every scenario's provider has a manifest and read config, and every
// read scenario's fake seeds what the receiver waits for.
func TestScenariosComplete(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		if manifests[sc.Provider] == "" || readObjects[sc.Provider] == nil {
			t.Errorf("%s: no manifest or read config for %s", sc.Name, sc.Provider)
		}
		if sc.Kind == "write" && writeTargets[sc.Provider].record == nil {
			t.Errorf("%s: no write target for %s", sc.Name, sc.Provider)
		}
		if sc.Kind == "" && sc.fakeRecords() != sc.Records {
			t.Errorf("%s: the fake seeds %d records, the run waits for %d", sc.Name, sc.fakeRecords(), sc.Records)
		}
	}
}
