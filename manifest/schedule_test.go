package manifest

import (
	"testing"
	"time"
)

func TestCheckSchedule(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		expr     string
		wantRule string // "" means valid
	}{
		{"*/10 * * * *", ""},
		{"*/15 * * * *", ""},
		{"0 0 * * *", ""},
		{"0 */2 * * 1-5", ""},
		{"5,35 * * * *", ""},
		{"50 23 * * *", ""},
		{"  */30 * * * *  ", ""},
		{"*/5 * * * *", "schedule-interval"},
		{"*/26 * * * *", "schedule-interval"}, // :52 then :00
		{"0,5 * * * *", "schedule-interval"},
		{"55 * * * *", ""},
		{"58,2 * * * *", "schedule-interval"}, // :58 then :02 of the next hour
		{"* * * * *", "schedule-every-minute"},
		{"* 3 * * *", "schedule-every-minute"},
		{"TZ=UTC */10 * * * *", "schedule-timezone"},
		{"CRON_TZ=Europe/Paris 0 * * * *", "schedule-timezone"},
		{"@hourly", "schedule-syntax"},
		{"0 */10 * * * *", "schedule-syntax"},
		{"*/10 * * *", "schedule-syntax"},
		{"61 * * * *", "schedule-syntax"},
		{"*/10 * * * mon-fry", "schedule-syntax"},
		{"", "schedule-syntax"},
	} {
		got := checkSchedule(c.expr, DefaultMinScheduleInterval, "schedule-interval")
		switch {
		case c.wantRule == "" && len(got) != 0:
			t.Errorf("%q: unexpected %+v", c.expr, got)
		case c.wantRule != "" && (len(got) != 1 || got[0].rule != c.wantRule):
			t.Errorf("%q: got %+v, want %s", c.expr, got, c.wantRule)
		}
	}
}

func TestShortestGap(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		expr string
		want time.Duration
	}{
		{"*/10 * * * *", 10 * time.Minute},
		{"0 * * * *", time.Hour},
		{"0 0 * * *", 24 * time.Hour},
		{"0,30 9-17 * * *", 30 * time.Minute},
		{"45 9,10 * * *", time.Hour},
		{"0 */24 * * *", 24 * time.Hour},
	} {
		s, f := parseSchedule(c.expr)
		if f != nil {
			t.Fatalf("%q: %+v", c.expr, f)
		}
		if got := shortestGap(s); got != c.want {
			t.Errorf("%q: shortest gap %s, want %s", c.expr, got, c.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"acount", "account", 1}, {"schedlue", "schedule", 1},
		{"billingcty", "billingcity", 1}, {"kitten", "sitting", 3},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := closest("contact", []string{"contacts", "companies"}); got != "contacts" {
		t.Errorf("closest(contact) = %q", got)
	}
	if got := closest("zzzzzz", []string{"contacts"}); got != "" {
		t.Errorf("closest(zzzzzz) = %q, want none", got)
	}
}
