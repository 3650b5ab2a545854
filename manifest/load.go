package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest manifest Load accepts. Real manifests are a few
// kilobytes; the cap keeps a mistaken path (a log, a dump) from eating memory.
const MaxFileSize = 4 << 20

// maxAliasNodes caps how many nodes alias expansion may add, so a "billion
// laughs" document fails fast instead of exhausting memory. Anchors in real
// manifests share a field list or two: a few hundred nodes.
const maxAliasNodes = 100_000

// FileNames are the names Load looks for when given a folder, in order.
var FileNames = []string{"amp.yaml", "amp.yml"}

// File is a loaded manifest: the source, the value validated by the schema,
// the typed Manifest, and where every key and value sits in the source.
type File struct {
	// Name is the path as given to Load, used in every diagnostic.
	Name string
	// Source is the file's content.
	Source []byte
	// Manifest is the typed model. Values of the wrong type are left zero;
	// Validate reports them.
	Manifest *Manifest
	// Value is the document as JSON-compatible values (map[string]any,
	// []any, string, json.Number, bool, nil), built from the YAML nodes so
	// scalars keep their YAML type.
	Value any

	lines      []string
	lineStarts []int                 // byte offset of each line, built on first use
	values     map[string]*yaml.Node // JSON pointer -> value node
	keys       map[string]*yaml.Node // JSON pointer -> key node
	ignores    map[int][]ignoredRule
	// loadDiags are findings made while parsing, reported again by Validate.
	loadDiags Diagnostics
	// unknownKeys are keys the schema does not know, found while building
	// Value, so Validate needs no second walk to report them.
	unknownKeys []unknownKey
}

// Load reads and parses the manifest at path, which may name the file or a
// folder holding amp.yaml or amp.yml. It returns nil and the reasons when the
// file cannot be read or parsed; otherwise the File and any findings made
// while parsing (duplicate keys, say). Load does not validate: call Validate.
func Load(path string) (*File, Diagnostics) {
	name, err := Resolve(path)
	if err != nil {
		return nil, Diagnostics{{Rule: "file-unreadable", Severity: SeverityError, Summary: err.Error()}}
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, Diagnostics{{Rule: "file-unreadable", Severity: SeverityError, Summary: fmt.Sprintf("cannot read the manifest: %v", err)}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, Diagnostics{{Rule: "file-unreadable", Severity: SeverityError, Summary: fmt.Sprintf("cannot read %s: %v", name, err)}}
	}
	return Parse(name, data)
}

// Resolve turns a path argument into the manifest file it means: the path
// itself, or the amp.yaml or amp.yml in a folder. Both in one folder is an
// error, so it is never ambiguous which file is deployed.
func Resolve(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if target, lerr := os.Readlink(path); lerr == nil {
				return "", fmt.Errorf("%s is a symbolic link to %s, which does not exist; fix the link or pass the manifest itself", path, target)
			}
			return "", fmt.Errorf("%s does not exist; pass the path of amp.yaml or of its folder", path)
		}
		return "", fmt.Errorf("cannot read the manifest: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	var found []string
	for _, n := range FileNames {
		p := filepath.Join(path, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no %s in %s; create one with `amp init` or pass the manifest's path", strings.Join(FileNames, " or "), path)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("both %s and %s exist; keep one so it is clear which is deployed", found[0], found[1])
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// Parse parses manifest source. name is used in diagnostics only.
func Parse(name string, data []byte) (*File, Diagnostics) {
	fail := func(rule, format string, args ...any) (*File, Diagnostics) {
		return nil, Diagnostics{{Rule: rule, Severity: SeverityError, Summary: fmt.Sprintf(format, args...), Range: &Range{Filename: name, Start: Pos{1, 1, 0}, End: Pos{1, 1, 0}}}}
	}
	if len(data) > MaxFileSize {
		return fail("file-too-large", "the manifest is larger than %d MiB; amp.yaml files are a few kilobytes, so check the path", MaxFileSize>>20)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 || !utf8.Valid(data) {
		if i < 0 {
			i = firstInvalidUTF8(data)
		}
		f := &File{Name: name, Source: data, lines: splitLines(data)}
		r := f.rangeAtByte(i)
		return nil, Diagnostics{{Rule: "yaml-syntax", Severity: SeverityError, Summary: fmt.Sprintf("the file is not UTF-8 text (binary data at byte %d); a manifest is a YAML text file", i), Range: r}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail("empty-file", "the manifest is empty; it needs at least specVersion and integrations (run `amp init` for a starter)")
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			line := 1
			if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
			}
			f := &File{Name: name, Source: data, lines: splitLines(data)}
			// yaml.v3 names the line where the enclosing block began, often
			// far above the mistake; the first line whose prefix no longer
			// parses is where the author has to look.
			if l := firstBadLine(f.lines, line); l > 0 {
				line = l
			}
			d := syntaxDiagnostic(f, line, msg)
			return nil, Diagnostics{d}
		}
		docs = append(docs, &doc)
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 || isNull(docs[0].Content[0]) {
		return fail("empty-file", "the manifest holds no YAML document (only comments?); it needs at least specVersion and integrations")
	}

	f := &File{
		Name:   name,
		Source: data,
		lines:  splitLines(data),
		// About one value per 12 bytes of YAML; sizing up front saves rehashing.
		values: make(map[string]*yaml.Node, len(data)/12),
		keys:   make(map[string]*yaml.Node, len(data)/16),
	}
	f.ignores = parseIgnores(f.lines)
	f.pos(1, 1) // fills lineStarts now, so a File is safe to read from many goroutines
	var diags Diagnostics
	if len(docs) > 1 {
		n := docs[1]
		diags = append(diags, Diagnostic{Rule: "multiple-documents", Severity: SeverityError, Path: "$",
			Summary: fmt.Sprintf("the file holds %d YAML documents; amp reads one manifest per file, so remove the `---` separators or split the file", len(docs)),
			Range:   f.nodeRange(n.Content[0])})
	}

	root := docs[0].Content[0]
	cs, err := manifestSchema()
	if err != nil {
		panic(err) // the schema is embedded and tested; failing here is a build defect
	}
	b := builder{f: f}
	f.Value = b.build(root, "", cs.root)
	if b.overflow {
		summary := fmt.Sprintf("aliases expand to more than %d nodes; expand the anchors by hand or remove the nested aliases", maxAliasNodes)
		if b.cycle {
			summary = fmt.Sprintf("alias *%s is inside its own anchor, so it never ends; point it at another anchor", b.overflowAt.Value)
		}
		return nil, append(diags, Diagnostic{Rule: "yaml-alias", Severity: SeverityError, Path: "$", Summary: summary, Range: f.nodeRange(b.overflowAt)})
	}
	diags = append(diags, b.diags...)
	f.Manifest = decodeManifest(f.Value)
	f.loadDiags = diags
	return f, diags
}

// firstBadLine returns the line a YAML syntax error is really on: the
// smallest k such that the first k lines do not parse, searched from the
// line yaml reported (from) down, because a multi-line flow collection or
// quoted value above it fails when cut even though it is fine whole. Only
// when the text before from already fails (an unclosed quote yaml noticed at
// the end) is the search moved above it. Cutting block YAML at a line end
// leaves it valid, so failure is monotonic within a range and binary search
// works. It returns 0 when the whole text parses.
func firstBadLine(lines []string, from int) int {
	fails := func(k int) bool {
		dec := yaml.NewDecoder(strings.NewReader(strings.Join(lines[:k], "\n")))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				return false
			}
			if err != nil {
				return true
			}
		}
	}
	lo, hi := max(1, min(from, len(lines))), len(lines)
	if !fails(hi) {
		return 0
	}
	if lo > 1 && fails(lo-1) {
		// The mistake is above: an unclosed quote or bracket that yaml
		// only noticed at the end of the stream.
		lo, hi = 1, lo-1
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// syntaxDiagnostic turns a YAML parser message into a finding a person can
// act on, with the offending line attached for the snippet.
func syntaxDiagnostic(f *File, line int, msg string) Diagnostic {
	text := f.Line(line)
	r := f.lineRange(line)
	if indent := len(text) - len(strings.TrimLeft(text, " ")); indent < len(text) {
		r.Start = f.pos(line, indent+1)
	}
	summary, hint := "invalid YAML: "+msg, ""
	switch {
	case strings.Contains(text, "\t") && strings.Contains(msg, "cannot start any token"):
		summary = "invalid YAML: a tab indents this line; YAML indents with spaces only"
		if i := strings.IndexByte(text, '\t'); i >= 0 {
			r = &Range{Filename: f.Name, Start: f.pos(line, i+1), End: f.pos(line, i+2)}
		}
	case aliasValueRE.MatchString(text):
		loc := aliasValueRE.FindStringSubmatchIndex(text)
		col := utf8.RuneCountInString(text[:loc[2]]) + 1
		r = &Range{Filename: f.Name, Start: f.pos(line, col), End: f.pos(line, f.lineLen(line)+1)}
		summary = "invalid YAML: a value that starts with `*` is read as an alias"
		hint = "quote the value, e.g. schedule: \"*/15 * * * *\""
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"):
		summary = "invalid YAML: this line's indentation does not fit the block above it (" + msg + ")"
		hint = "indent it like its sibling keys"
	case strings.Contains(msg, "mapping values are not allowed in this context"):
		summary = "invalid YAML: a `key: value` appears where a plain value was expected (" + msg + ")"
		hint = "quote values that contain `: `, or fix the indentation"
	}
	return Diagnostic{Rule: "yaml-syntax", Severity: SeverityError, Summary: summary, Suggestion: hint, Range: r, SourceLine: text}
}

// aliasValueRE matches `key: *something`, an unquoted value starting with
// `*`, which YAML reads as an alias: the commonest cause is a cron schedule.
var aliasValueRE = regexp.MustCompile(`^\s*(?:-\s+)?[A-Za-z_][\w-]*:\s+(\*)\S*\s`)

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// splitLines splits source into lines without their line ends. A line
// keeps a trailing \r of a CRLF file out of its text but in its byte count,
// so byte offsets stay exact.
func splitLines(data []byte) []string {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\r") {
			lines[i] = l[:len(l)-1]
		}
	}
	return lines
}

// builder turns the YAML node tree into JSON-compatible values, recording
// each value's node under its JSON pointer.
type builder struct {
	f          *File
	diags      Diagnostics
	expanded   int
	overflow   bool
	overflowAt *yaml.Node
	cycle      bool                // the overflow is an alias inside its own anchor
	expanding  map[*yaml.Node]bool // anchors being expanded, to catch cycles
}

func (b *builder) build(n *yaml.Node, ptr string, sh *shape) any {
	if b.overflow {
		return nil
	}
	if len(b.expanding) > 0 {
		// Only nodes reached through aliases count: the file's own nodes
		// are bounded by MaxFileSize already.
		b.expanded++
		if b.expanded > maxAliasNodes {
			b.overflow, b.overflowAt = true, n
			return nil
		}
	}
	if n.Kind == yaml.AliasNode {
		// Positions point at the alias, where the author wrote it.
		if _, ok := b.f.values[ptr]; !ok {
			b.f.values[ptr] = n
		}
		if b.expanding[n.Alias] {
			b.overflow, b.overflowAt, b.cycle = true, n, true
			return nil
		}
		if b.expanding == nil {
			b.expanding = map[*yaml.Node]bool{}
		}
		b.expanding[n.Alias] = true
		v := b.build(n.Alias, ptr, sh)
		delete(b.expanding, n.Alias)
		return v
	}
	if _, ok := b.f.values[ptr]; !ok {
		b.f.values[ptr] = n
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		b.mapping(n, ptr, m, sh, false)
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		var items *shape
		if sh != nil {
			items = sh.items
		}
		for i, c := range n.Content {
			s = append(s, b.build(c, ptr+"/"+strconv.Itoa(i), items))
		}
		return s
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return b.build(n.Content[0], ptr, sh)
		}
	}
	return nil
}

// mapping fills m from mapping node n. YAML merge keys (<<) are honoured the
// way yaml.v3 decodes them: explicit keys win over merged ones.
func (b *builder) mapping(n *yaml.Node, ptr string, m map[string]any, sh *shape, merging bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key := k.Value
		child := ptr + "/" + escapePointer(key)
		if _, dup := m[key]; dup {
			if merging {
				continue // keys written out, or merged earlier, win
			}
			b.diags = append(b.diags, Diagnostic{Rule: "duplicate-key", Severity: SeverityError, Path: pointerToPath(child),
				Summary: fmt.Sprintf("key `%s` appears twice in this mapping (first on line %d); YAML tools disagree on which one wins (amp reads the first), so remove one", key, b.f.keys[child].Line),
				Range:   b.f.nodeRange(k)})
			continue
		}
		b.f.keys[child] = k
		m[key] = b.build(v, child, b.member(sh, key, child))
	}
	for _, mv := range merges {
		b.merge(mv, ptr, m, sh)
	}
}

// merge adds the keys of a merge source (a mapping, an alias of one, or a
// list of them) that m lacks. Aliases count against the expansion budget
// and are checked for cycles exactly as in build, so merge keys cannot be
// used to get round either.
func (b *builder) merge(n *yaml.Node, ptr string, m map[string]any, sh *shape) {
	if b.overflow {
		return
	}
	if len(b.expanding) > 0 {
		b.expanded++
		if b.expanded > maxAliasNodes {
			b.overflow, b.overflowAt = true, n
			return
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if b.expanding[n.Alias] {
			b.overflow, b.overflowAt, b.cycle = true, n, true
			return
		}
		if b.expanding == nil {
			b.expanding = map[*yaml.Node]bool{}
		}
		b.expanding[n.Alias] = true
		b.merge(n.Alias, ptr, m, sh)
		delete(b.expanding, n.Alias)
	case yaml.MappingNode:
		b.mapping(n, ptr, m, sh, true)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			b.merge(c, ptr, m, sh)
		}
	}
}

// member returns the shape of key inside sh, recording the key as unknown
// when sh is an object shape that does not have it.
func (b *builder) member(sh *shape, key, ptr string) *shape {
	if sh == nil || sh.props == nil {
		return nil
	}
	sub, ok := sh.props[key]
	if !ok {
		b.f.unknownKeys = append(b.f.unknownKeys, unknownKey{ptr: ptr, key: key, in: sh})
	}
	return sub
}

// scalarValue converts a scalar by its resolved tag, so `2024-01-01` stays a
// string and `30` becomes a number, as the schema expects.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var v bool
		if n.Decode(&v) == nil {
			return v
		}
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		var v float64
		if n.Decode(&v) == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
		}
	case "!!float":
		var v float64
		if n.Decode(&v) == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return n.Value
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func unescapePointer(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// pointerToPath turns a JSON pointer into the YAML path users read:
// /integrations/0/read -> $.integrations[0].read.
func pointerToPath(ptr string) string {
	var b strings.Builder
	b.WriteString("$")
	if ptr == "" {
		return b.String()
	}
	for seg := range strings.SplitSeq(ptr[1:], "/") {
		seg = unescapePointer(seg)
		if isIndex(seg) {
			fmt.Fprintf(&b, "[%s]", seg)
		} else if isPlainKey(seg) {
			b.WriteString("." + seg)
		} else {
			fmt.Fprintf(&b, "[%q]", seg)
		}
	}
	return b.String()
}

func isPlainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// lookup returns the built value at JSON pointer ptr.
func (f *File) lookup(ptr string) (any, bool) {
	v := f.Value
	if ptr == "" {
		return v, true
	}
	for seg := range strings.SplitSeq(ptr[1:], "/") {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[unescapePointer(seg)]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// ValueRange returns where the value at JSON pointer ptr sits, falling back
// to the nearest enclosing value when ptr does not exist.
func (f *File) ValueRange(ptr string) *Range {
	for {
		if n, ok := f.values[ptr]; ok {
			return f.nodeRange(n)
		}
		if ptr == "" {
			return f.lineRange(1)
		}
		ptr = ptr[:strings.LastIndexByte(ptr, '/')]
	}
}

// KeyRange returns where the key of the member at ptr sits, or the value's
// range for array items and the root.
func (f *File) KeyRange(ptr string) *Range {
	if n, ok := f.keys[ptr]; ok {
		return f.nodeRange(n)
	}
	return f.ValueRange(ptr)
}

func (f *File) nodeRange(n *yaml.Node) *Range {
	line, col := n.Line, n.Column
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	width := 1
	if n.Kind == yaml.ScalarNode || n.Kind == yaml.AliasNode {
		width = utf8.RuneCountInString(n.Value)
		if n.Kind == yaml.AliasNode {
			width++ // the *
		}
		switch n.Style {
		case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
			width += 2
		case yaml.LiteralStyle, yaml.FoldedStyle:
			width = 1
		}
		if width < 1 {
			width = 1
		}
	}
	start := f.pos(line, col)
	// Keep the end on the start line: multi-line scalars underline their first line.
	end := f.pos(line, col+width)
	if lineLen := f.lineLen(line); end.Column > lineLen+1 {
		end = f.pos(line, lineLen+1)
	}
	return &Range{Filename: f.Name, Start: start, End: end}
}

func (f *File) lineRange(line int) *Range {
	if line < 1 || line > len(f.lines) {
		line = max(1, min(line, len(f.lines)))
	}
	return &Range{Filename: f.Name, Start: f.pos(line, 1), End: f.pos(line, f.lineLen(line)+1)}
}

func (f *File) rangeAtByte(off int) *Range {
	line, lineStart := 1, 0
	for i, l := range f.lines {
		if lineStart+len(l)+1 > off {
			line = i + 1
			break
		}
		lineStart += len(l) + 1
	}
	col := utf8.RuneCountInString(safePrefix(f.lines[line-1], off-lineStart)) + 1
	p := Pos{Line: line, Column: col, Byte: off}
	return &Range{Filename: f.Name, Start: p, End: Pos{Line: line, Column: col + 1, Byte: off + 1}}
}

func safePrefix(s string, n int) string {
	if n < 0 {
		return ""
	}
	if n > len(s) {
		return s
	}
	return s[:n]
}

func (f *File) lineLen(line int) int {
	if line < 1 || line > len(f.lines) {
		return 0
	}
	return utf8.RuneCountInString(f.lines[line-1])
}

// pos converts a line and a character column to a Pos with a byte offset.
func (f *File) pos(line, col int) Pos {
	if f.lineStarts == nil {
		// Offsets come from the source bytes, so CRLF line ends count.
		f.lineStarts = make([]int, 1, len(f.lines)+1)
		if len(f.Source) > 0 {
			for i, c := range f.Source {
				if c == '\n' {
					f.lineStarts = append(f.lineStarts, i+1)
				}
			}
		} else {
			for _, l := range f.lines {
				f.lineStarts = append(f.lineStarts, f.lineStarts[len(f.lineStarts)-1]+len(l)+1)
			}
		}
		for len(f.lineStarts) < len(f.lines)+1 {
			f.lineStarts = append(f.lineStarts, f.lineStarts[len(f.lineStarts)-1])
		}
	}
	off := f.lineStarts[max(0, min(line-1, len(f.lines)))]
	if line >= 1 && line <= len(f.lines) {
		s := f.lines[line-1]
		c := 1
		for i := range s {
			if c == col {
				return Pos{Line: line, Column: col, Byte: off + i}
			}
			c++
		}
		off += len(s)
		return Pos{Line: line, Column: col, Byte: off + (col - c)}
	}
	return Pos{Line: line, Column: col, Byte: off}
}

// Line returns source line n (from 1), or "" when out of range.
func (f *File) Line(n int) string {
	if n < 1 || n > len(f.lines) {
		return ""
	}
	return f.lines[n-1]
}
