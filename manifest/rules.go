package manifest

import (
	"slices"
	"strings"
)

// Rule describes one validation rule. Every diagnostic names the rule that
// produced it, and `# amp:ignore[rule-id]` silences a rule on one line.
type Rule struct {
	ID       string
	Severity Severity
	// Summary is one sentence saying what the rule checks.
	Summary string
}

// rules is the registry of every rule, in the order `amp validate --rules`
// lists them. A test checks each one is hit by at least one invalid manifest
// in testdata.
var rules = []Rule{
	// Reading the file.
	{"file-unreadable", SeverityError, "The manifest file or folder can be read."},
	{"file-too-large", SeverityError, "The manifest is under the size limit."},
	{"empty-file", SeverityError, "The manifest holds a YAML document."},
	{"yaml-syntax", SeverityError, "The manifest is well-formed YAML text."},
	{"multiple-documents", SeverityError, "The manifest holds exactly one YAML document."},
	{"yaml-alias", SeverityError, "Aliases expand to a bounded document (no alias bombs)."},
	{"duplicate-key", SeverityError, "No key appears twice in one mapping."},

	// Structure (the JSON Schema and the key tables).
	{"spec-version", SeverityError, "specVersion is present and is 1.0.0."},
	{"required-key", SeverityError, "Required keys are present."},
	{"type", SeverityError, "Every value has the type its key expects."},
	{"enum", SeverityError, "Values with a fixed set of choices use one of them."},
	{"value-range", SeverityError, "Numbers and strings are within their bounds."},
	{"unknown-key", SeverityWarning, "Every key is known (Ampersand silently ignores unknown ones)."},
	{"misplaced-key", SeverityWarning, "Keys that are valid elsewhere are in the place they belong."},
	{"empty-list", SeverityError, "Object lists are not empty."},

	// Integrations and objects.
	{"integration-name-unique", SeverityError, "Integration names are unique in the file."},
	{"action-required", SeverityError, "Each integration declares at least one of read, write, proxy or subscribe."},
	{"object-duplicate", SeverityError, "An object appears at most once in an action."},
	{"object-name-case", SeverityWarning, "An object is spelled the same way in read, write and subscribe."},
	{"backfill-period", SeverityError, "backfill.defaultPeriod has exactly one of days and fullHistory."},
	{"field-shape", SeverityError, "A field entry is either existent (fieldName) or customer-mapped (mapToName, prompt, default)."},
	{"field-path", SeverityError, "Bracket paths such as $['address']['city'] are well formed."},
	{"map-to-name-unique", SeverityError, "The delivered field names of an object are unique."},
	{"delivery-deprecated", SeverityWarning, "The deprecated delivery block is flagged; the runtime ignores it."},
	{"delivery-page-size", SeverityError, "delivery.pageSize is set only with delivery.mode onRequest."},
	{"enabled-always", SeverityError, "enabled: always has required fields, no customer-mapped fields, and a schedule."},
	{"inherit-mapping-no-read", SeverityWarning, "inheritMapping has a read object to inherit from."},
	{"upsert-key-field", SeverityError, "upsertKey names a field of the object, not a path or a mapped name."},

	// Schedules.
	{"schedule-syntax", SeverityError, "Schedules are valid 5-field cron expressions."},
	{"schedule-timezone", SeverityError, "Schedules carry no TZ= or CRON_TZ= prefix."},
	{"schedule-every-minute", SeverityError, "The minute field of a schedule is not `*`."},
	{"schedule-interval", SeverityError, "Scheduled reads run at most every 10 minutes."},
	{"watch-schema-schedule", SeverityError, "Schema watches run at most hourly."},

	// Subscribe.
	{"subscribe-read", SeverityError, "A subscribed object with events enabled is also read."},
	{"subscribe-inherit", SeverityError, "Subscribe objects set inheritFieldsAndMapping: true."},
	{"subscribe-watch-fields", SeverityError, "updateEvent has exactly one of watchFieldsAuto and requiredWatchFields."},
	{"subscribe-watch-field-path", SeverityError, "Watch fields are top-level field names."},
	{"subscribe-limit", SeverityError, "The provider's cap on subscribed objects is respected."},

	// Provider catalog.
	{"provider-unknown", SeverityError, "The provider is in the catalog."},
	{"provider-unsupported", SeverityWarning, "The provider has a connector in this runtime."},
	{"module-unknown", SeverityError, "The module is one of the provider's modules."},
	{"action-unsupported", SeverityError, "The provider (or module) supports the action."},
	{"object-unknown", SeverityError, "Objects are the provider's standard objects or follow its custom-object naming."},
	{"object-custom", SeverityNote, "Objects not in the standard catalog are taken as custom objects."},
	{"field-unknown", SeverityError, "Fields are standard fields or follow the provider's custom-field naming."},
	{"field-not-standard", SeverityWarning, "Fields close to a standard field's name are flagged as likely misspellings."},
	{"field-custom", SeverityNote, "Fields not in the standard catalog are taken as custom fields."},

	// Suppression comments.
	{"ignore-unknown-rule", SeverityWarning, "amp:ignore comments name existing rules."},
}

// Rules returns every validation rule.
func Rules() []Rule { return slices.Clone(rules) }

// LookupRule returns the rule with the given id.
func LookupRule(id string) (Rule, bool) {
	i := slices.IndexFunc(rules, func(r Rule) bool { return r.ID == id })
	if i < 0 {
		return Rule{}, false
	}
	return rules[i], true
}

func ruleIDs() []string {
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	return ids
}

// severityOf returns a rule's default severity; unknown ids are errors so a
// typo in the validator cannot hide a finding.
func severityOf(id string) Severity {
	if r, ok := LookupRule(id); ok {
		return r.Severity
	}
	return SeverityError
}

// ignoreMarker is the comment that silences rules on its line or the next.
const ignoreMarker = "amp:ignore["

// parseIgnores returns, for each line that carries `# amp:ignore[a, b]`, the
// rule ids it names with their columns. A comment that stands alone on its
// line also covers the next line; a trailing one covers only its own.
func parseIgnores(lines []string) map[int][]ignoredRule {
	out := map[int][]ignoredRule{}
	for i, line := range lines {
		hash := commentStart(line)
		if hash < 0 {
			continue
		}
		at := strings.Index(line[hash:], ignoreMarker)
		if at < 0 {
			continue
		}
		start := hash + at + len(ignoreMarker)
		end := strings.IndexByte(line[start:], ']')
		if end < 0 {
			continue
		}
		own := strings.TrimSpace(line[:hash]) == ""
		col := start
		for part := range strings.SplitSeq(line[start:start+end], ",") {
			id := strings.TrimSpace(part)
			if id != "" {
				out[i+1] = append(out[i+1], ignoredRule{id: id, column: col + strings.Index(part, id) + 1, ownLine: own})
			}
			col += len(part) + 1
		}
	}
	return out
}

// commentStart returns the byte index of the `#` that starts a YAML comment
// on line, or -1: a `#` counts only outside quotes and at the start of the
// line or after white space.
func commentStart(line string) int {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
					i++ // '' is an escaped quote inside single quotes
				} else {
					quote = 0
				}
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '"' || c == '\'':
			if i == 0 || strings.ContainsRune(" \t:[{,-", rune(line[i-1])) {
				quote = c
			}
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return i
		}
	}
	return -1
}

type ignoredRule struct {
	id     string
	column int
	// ownLine is true when the comment stands alone on its line, so it
	// also covers the line below.
	ownLine bool
}
