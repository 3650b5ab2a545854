package manifest

import (
	"fmt"
	"math/bits"
	"slices"
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
		hint := ""
		if f := strings.Fields(trimmed); strings.Contains(f[4], "7") && strings.Contains(err.Error(), "above maximum (6)") {
			hint = "days of the week are 0-6: use 0 for Sunday"
		}
		return nil, &scheduleFinding{"schedule-syntax", fmt.Sprintf("schedule %q is not a valid cron expression: %v", expr, err), hint}
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
	fields := strings.Fields(expr)
	if fields[0] == "*" {
		return []scheduleFinding{{"schedule-every-minute", fmt.Sprintf("schedule %q runs every minute", expr), "pick minutes, e.g. " + slower(fields, minGap)}}
	}
	if gap := shortestGap(spec); gap < minGap {
		return []scheduleFinding{{intervalRule, fmt.Sprintf("schedule %q runs as often as every %s; the minimum is every %s", expr, humanDuration(gap), humanDuration(minGap)), "use e.g. " + slower(fields, minGap)}}
	}
	return nil
}

// slower suggests the schedule with its minute (and, for an hourly floor,
// hour) field replaced so it runs no more often than minGap, keeping the
// author's hours and days.
func slower(fields []string, minGap time.Duration) string {
	out := slices.Clone(fields)
	switch {
	case minGap >= time.Hour:
		out[0] = "0"
		if minGap > time.Hour && out[1] == "*" {
			out[1] = fmt.Sprintf("*/%d", int(minGap.Hours()))
		}
	default:
		step := int(minGap.Minutes())
		for 60%step != 0 {
			step++
		}
		out[0] = fmt.Sprintf("*/%d", step)
	}
	return "`" + strings.Join(out, " ") + "`"
}

// humanDuration prints whole minutes and hours as words for "every ...":
// "5 minutes", "hour".
func humanDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d == time.Minute:
		return "minute"
	case d%time.Hour == 0 && d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return d.String()
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
