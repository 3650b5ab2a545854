package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Format names an output format of diagnostics.
type Format string

// The output formats of `amp validate`.
const (
	FormatText   Format = "text"
	FormatJSON   Format = "json"
	FormatGitHub Format = "github"
)

// Formats lists every diagnostics format.
var Formats = []Format{FormatText, FormatJSON, FormatGitHub}

// JSONFormatVersion is the version of the JSON output; it changes only when
// a consumer would have to change.
const JSONFormatVersion = "1.0"

// Sources gives the formatter the source lines of each file, for snippets.
type Sources map[string]*File

// WriteDiagnostics prints diags in format fm.
func WriteDiagnostics(w io.Writer, fm Format, diags Diagnostics, src Sources) error {
	switch fm {
	case FormatText, "":
		return writeText(w, diags, src)
	case FormatJSON:
		return writeJSON(w, diags, src)
	case FormatGitHub:
		return writeGitHub(w, diags)
	}
	return fmt.Errorf("unknown format %q (want text, json or github)", fm)
}

// writeText prints compiler-style lines that editors make clickable, each
// with the source line and a caret under the offending key or value.
func writeText(w io.Writer, diags Diagnostics, src Sources) error {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
		if d.Range == nil {
			continue
		}
		line := d.SourceLine
		if f := src[d.Range.Filename]; f != nil {
			line = f.Line(d.Range.Start.Line)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		num := fmt.Sprint(d.Range.Start.Line)
		pad := strings.Repeat(" ", len(num))
		fmt.Fprintf(&b, " %s | %s\n", num, strings.ReplaceAll(line, "\t", " "))
		width := 1
		if d.Range.End.Line == d.Range.Start.Line && d.Range.End.Column > d.Range.Start.Column {
			width = d.Range.End.Column - d.Range.Start.Column
		}
		width = min(width, max(1, utf8.RuneCountInString(line)-d.Range.Start.Column+1))
		fmt.Fprintf(&b, " %s | %s%s\n", pad, strings.Repeat(" ", d.Range.Start.Column-1), strings.Repeat("^", width))
	}
	if len(diags) > 0 {
		b.WriteString(Summary(diags) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the closing count line: "2 errors, 1 warning".
func Summary(diags Diagnostics) string {
	parts := []string{plural(diags.Count(SeverityError), "error"), plural(diags.Count(SeverityWarning), "warning")}
	if n := diags.Count(SeverityNote); n > 0 {
		parts = append(parts, plural(n, "note"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

type jsonReport struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	NoteCount     int              `json:"note_count"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
}

type jsonDiagnostic struct {
	Severity   Severity     `json:"severity"`
	Rule       string       `json:"rule"`
	Summary    string       `json:"summary"`
	Suggestion string       `json:"suggestion,omitempty"`
	Path       string       `json:"path,omitempty"`
	Range      *Range       `json:"range,omitempty"`
	Snippet    *jsonSnippet `json:"snippet,omitempty"`
}

type jsonSnippet struct {
	Code           string `json:"code"`
	StartLine      int    `json:"start_line"`
	HighlightStart int    `json:"highlight_start_offset"`
	HighlightEnd   int    `json:"highlight_end_offset"`
}

// writeJSON prints a versioned report (format_version, valid, counts,
// diagnostics with ranges and snippets) for tools.
func writeJSON(w io.Writer, diags Diagnostics, src Sources) error {
	rep := jsonReport{
		FormatVersion: JSONFormatVersion,
		Valid:         !diags.HasErrors(),
		ErrorCount:    diags.Count(SeverityError),
		WarningCount:  diags.Count(SeverityWarning),
		NoteCount:     diags.Count(SeverityNote),
		Diagnostics:   make([]jsonDiagnostic, 0, len(diags)),
	}
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: d.Severity, Rule: d.Rule, Summary: d.Summary, Suggestion: d.Suggestion, Path: d.Path, Range: d.Range}
		if d.Range != nil {
			line, start := d.SourceLine, d.Range.Start.Byte-byteColumn(d.SourceLine, d.Range.Start.Column)
			if f := src[d.Range.Filename]; f != nil {
				line, start = f.Line(d.Range.Start.Line), f.pos(d.Range.Start.Line, 1).Byte
			}
			if line != "" {
				jd.Snippet = &jsonSnippet{Code: line, StartLine: d.Range.Start.Line,
					HighlightStart: d.Range.Start.Byte - start, HighlightEnd: min(len(line), max(d.Range.End.Byte-start, d.Range.Start.Byte-start))}
			}
		}
		rep.Diagnostics = append(rep.Diagnostics, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

// byteColumn returns the byte offset of character column col (from 1) in line.
func byteColumn(line string, col int) int {
	c := 1
	for i := range line {
		if c == col {
			return i
		}
		c++
	}
	return len(line)
}

// writeGitHub prints workflow commands, so findings show as annotations on
// the pull request's diff.
func writeGitHub(w io.Writer, diags Diagnostics) error {
	var b strings.Builder
	for _, d := range diags {
		level := map[Severity]string{SeverityError: "error", SeverityWarning: "warning", SeverityNote: "notice"}[d.Severity]
		msg := d.Summary
		if d.Suggestion != "" {
			msg += " (" + d.Suggestion + ")"
		}
		props := []string{"title=" + ghEscapeProp("amp "+d.Rule)}
		if d.Range != nil {
			props = append([]string{
				"file=" + ghEscapeProp(d.Range.Filename),
				fmt.Sprintf("line=%d", d.Range.Start.Line),
				fmt.Sprintf("col=%d", d.Range.Start.Column),
				fmt.Sprintf("endColumn=%d", d.Range.End.Column),
			}, props...)
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", level, strings.Join(props, ","), ghEscapeData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ghEscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghEscapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
