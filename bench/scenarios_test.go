package main

import (
	"math"
	"strings"
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
		{"search's five a second bind before latency", scenario{PageRecords: 200, RatePerSec: 5}, 100 * time.Millisecond, 1000},
		{"latency binds before search's rate", scenario{PageRecords: 200, RatePerSec: 5}, 250 * time.Millisecond, 800},
		{"nothing bounds it", scenario{PageRecords: 2000}, 0, 0},
		{"lists and searches share a window that binds", scenario{PageRecords: 100, RatePerSec: 10, SearchRecords: 200, SearchPerSec: 5, SearchInWindow: true}, 100 * time.Millisecond, 1500},
		{"lists' latency binds beside searches in the window", scenario{PageRecords: 100, RatePerSec: 19, SearchRecords: 200, SearchPerSec: 5, SearchInWindow: true}, 100 * time.Millisecond, 2000},
		{"searches alone fill a narrow window", scenario{PageRecords: 100, RatePerSec: 4, SearchRecords: 200, SearchPerSec: 5, SearchInWindow: true}, 100 * time.Millisecond, 800},
		{"searches and lists in the window without latency", scenario{PageRecords: 100, RatePerSec: 19, SearchRecords: 200, SearchPerSec: 5, SearchInWindow: true}, 0, 2400},
		{"searches outside the window beside lists", scenario{PageRecords: 100, RatePerSec: 10, SearchRecords: 200, SearchPerSec: 5}, 100 * time.Millisecond, 2000},
		{"searches outside a narrow window", scenario{PageRecords: 100, RatePerSec: 4, SearchRecords: 200, SearchPerSec: 5}, 100 * time.Millisecond, 1400},
		{"searches outside the window without latency", scenario{PageRecords: 100, RatePerSec: 19, SearchRecords: 200, SearchPerSec: 5}, 0, 2900},
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
	inc, err := selected("salesforce-inc,hubspot-search")
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 2 || inc[0].Name != "salesforce-incremental" || inc[1].Name != "hubspot-search-incremental" {
		t.Errorf("selected(salesforce-inc,hubspot-search) = %v, want the two incremental reads", inc)
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
		if (sc.Kind == "" || sc.Kind == "incremental") && sc.fakeRecords() != sc.Records {
			t.Errorf("%s: the fake seeds %d records, the run waits for %d", sc.Name, sc.fakeRecords(), sc.Records)
		}
		if sc.Kind == "incremental" {
			m := incrementalManifest(sc.Provider)
			if !strings.Contains(m, "days: 0") || strings.Contains(m, "fullHistory") {
				t.Errorf("%s: the manifest backfills:\n%s", sc.Name, m)
			}
			if readObject(sc.Provider) == "" {
				t.Errorf("%s: no object to touch", sc.Name)
			}
		}
	}
}

func TestStatsWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sc   scenario
		want time.Duration
	}{
		{"the scenario's window", scenario{WindowPeriod: 10 * time.Second, RatePerSec: 10}, 10 * time.Second},
		{"a rate without a window", scenario{RatePerSec: 20}, 5 * time.Minute},
		{"the rate's own window wins", scenario{RatePerSec: 5, RateWindow: time.Second}, time.Second},
		{"no limit", scenario{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.sc.statsWindow(); got != tc.want {
				t.Errorf("statsWindow = %v, want %v", got, tc.want)
			}
		})
	}
}
