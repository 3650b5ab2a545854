package manifest

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultMinScheduleInterval is the shortest gap allowed between scheduled
// reads. Only the runtime's dev mode lowers it.
const DefaultMinScheduleInterval = 10 * time.Minute

// MinWatchSchemaInterval is the shortest gap between schema watches.
const MinWatchSchemaInterval = time.Hour

// scheduleFinding is one problem with a cron expression.
type scheduleFinding struct {
	rule, summary, suggestion string
}

// parseSchedule parses a 5-field cron expression. robfig/cron can panic on
// malformed TZ prefixes, so prefixes are refused first and Parse runs under
// recover.
func parseSchedule(expr string) (sched *cron.SpecSchedule, finding *scheduleFinding) {
	trimmed := strings.TrimSpace(expr)
	if strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		return nil, &scheduleFinding{"schedule-timezone", fmt.Sprintf("schedule %q has a time-zone prefix; amp schedules run in UTC", expr), "remove the TZ=/CRON_TZ= prefix"}
	}
	if strings.HasPrefix(trimmed, "@") {
		return nil, &scheduleFinding{"schedule-syntax", fmt.Sprintf("schedule %q is a descriptor; amp schedules are 5-field cron expressions", expr), descriptorHint(trimmed)}
	}
	if n := len(strings.Fields(trimmed)); n != 5 {
		hint := "the fields are: minute hour day-of-month month day-of-week"
		if n == 6 {
			hint = "drop the seconds field: " + hint
		}
		return nil, &scheduleFinding{"schedule-syntax", fmt.Sprintf("schedule %q has %d fields, not 5", expr, n), hint}
	}
	defer func() {
		if r := recover(); r != nil {
			sched, finding = nil, &scheduleFinding{"schedule-syntax", fmt.Sprintf("schedule %q is not a valid cron expression", expr), ""}
		}
	}()
	s, err := cron.ParseStandard(trimmed)
	if err != nil {
		return nil, &scheduleFinding{"schedule-syntax", fmt.Sprintf("schedule %q is not a valid cron expression: %v", expr, err), ""}
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, &scheduleFinding{"schedule-syntax", fmt.Sprintf("schedule %q is not a 5-field cron expression", expr), ""}
	}
	return spec, nil
}

func descriptorHint(d string) string {
	switch d {
	case "@hourly":
		return "write `0 * * * *`"
	case "@daily", "@midnight":
		return "write `0 0 * * *`"
	case "@weekly":
		return "write `0 0 * * 0`"
	case "@monthly":
		return "write `0 0 1 * *`"
	case "@yearly", "@annually":
		return "write `0 0 1 1 *`"
	}
	return "write minute hour day-of-month month day-of-week, e.g. `*/15 * * * *`"
}

// checkSchedule returns the problems with a schedule whose runs must be at
// least minGap apart. rule names the interval rule to report.
func checkSchedule(expr string, minGap time.Duration, intervalRule string) []scheduleFinding {
	spec, f := parseSchedule(expr)
	if f != nil {
		return []scheduleFinding{*f}
	}
	if strings.Fields(expr)[0] == "*" {
		return []scheduleFinding{{"schedule-every-minute", fmt.Sprintf("schedule %q runs every minute", expr), fmt.Sprintf("pick minutes, e.g. `*/%d * * * *`", max(10, int(minGap.Minutes())))}}
	}
	if gap := shortestGap(spec); gap < minGap {
		return []scheduleFinding{{intervalRule, fmt.Sprintf("schedule %q runs as often as every %s; the minimum is every %s", expr, gap, minGap), fmt.Sprintf("use e.g. `*/%d * * * *`", max(10, int(minGap.Minutes())))}}
	}
	return nil
}

// starBit is robfig/cron's marker bit for a `*` field.
const starBit = 1 << 63

// shortestGap returns the shortest time between two runs of the schedule,
// from its minute and hour sets: gaps within an hour, and the wrap from the
// last minute of one hour to the first of the next when both hours run.
// It is exact for every schedule that runs on consecutive days and
// conservative otherwise, and costs no simulation.
func shortestGap(s *cron.SpecSchedule) time.Duration {
	minutes := s.Minute &^ starBit
	hours := s.Hour &^ starBit
	if minutes == 0 || hours == 0 {
		return 24 * time.Hour
	}
	first := bits.TrailingZeros64(minutes)
	last := 63 - bits.LeadingZeros64(minutes)
	gap := 24 * 60
	prev := -1
	for m := first; m <= last; m++ {
		if minutes&(1<<m) == 0 {
			continue
		}
		if prev >= 0 {
			gap = min(gap, m-prev)
		}
		prev = m
	}
	for h := range 24 {
		if hours&(1<<h) != 0 && hours&(1<<((h+1)%24)) != 0 {
			gap = min(gap, 60-last+first)
			break
		}
	}
	if bits.OnesCount64(hours) == 1 && bits.OnesCount64(minutes) == 1 {
		gap = 24 * 60
	}
	return time.Duration(gap) * time.Minute
}
