package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Severity ranks a finding. Errors fail validation; warnings fail it only
// with --strict; notes never do.
type Severity int

// The severities, most serious first.
const (
	SeverityError Severity = iota
	SeverityWarning
	SeverityNote
)

// String returns the severity as it is printed: error, warning or note.
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityNote:
		return "note"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText prints the severity as its name in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Pos is a position in a source file. Line and Column count from 1 (the
// column in characters), Byte from 0.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Range is the span of source a finding is about.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// Diagnostic is one validation finding.
type Diagnostic struct {
	// Rule is the id of the rule that found it, e.g. "schedule-interval".
	Rule     string
	Severity Severity
	// Summary is the one-line message.
	Summary string
	// Suggestion, when set, is what the author most likely meant
	// ("did you mean `optionalFieldsAuto`?").
	Suggestion string
	// Path is the YAML path of the offending key or value,
	// e.g. $.integrations[0].read.objects[1].schedule.
	Path string
	// Range is where in the file; nil when the finding is about no place
	// (an unreadable file, say).
	Range *Range
	// SourceLine is the text of the line Range starts on, for findings made
	// before a File exists (YAML syntax errors); formatters show it when
	// they have no File for Range.Filename.
	SourceLine string `json:"-"`
}

// Diagnostics is every finding of one run. Functions return it instead of an
// error so a run can report all problems at once.
type Diagnostics []Diagnostic

// HasErrors reports whether any finding is an error.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Severity == SeverityError })
}

// Count returns how many findings have severity s.
func (ds Diagnostics) Count(s Severity) int {
	n := 0
	for _, d := range ds {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// Err returns an error listing the errors, or nil when there are none.
// Warnings and notes never make it non-nil.
func (ds Diagnostics) Err() error {
	var errs []error
	for _, d := range ds {
		if d.Severity == SeverityError {
			errs = append(errs, errors.New(d.String()))
		}
	}
	return errors.Join(errs...)
}

// Sort orders findings by file, line and column, then rule, so output is
// stable and reads top to bottom.
func (ds Diagnostics) Sort() {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		ar, br := a.Range, b.Range
		if ar == nil || br == nil {
			switch {
			case ar == nil && br != nil:
				return -1
			case ar != nil && br == nil:
				return 1
			}
			return cmp.Compare(a.Rule, b.Rule)
		}
		return cmp.Or(
			cmp.Compare(ar.Filename, br.Filename),
			cmp.Compare(ar.Start.Line, br.Start.Line),
			cmp.Compare(ar.Start.Column, br.Start.Column),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Summary, b.Summary),
		)
	})
}

// String formats the finding in compiler style:
// file:line:col: severity[rule]: summary (suggestion).
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Range != nil {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.Range.Filename, d.Range.Start.Line, d.Range.Start.Column)
	}
	fmt.Fprintf(&b, "%s[%s]: %s", d.Severity, d.Rule, d.Summary)
	if d.Suggestion != "" {
		fmt.Fprintf(&b, " (%s)", d.Suggestion)
	}
	return b.String()
}
