package gitops

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a Diagnostic blocks a rollout (SeverityError) or only
// deserves attention (SeverityWarning).
type Severity string

// The severities of a Diagnostic.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a layout, blueprint, member or label
// file. File is the path a person would open: the repository as given joined
// with the repository-relative path. Line is 1-based, 0 when the problem
// concerns the whole file. Field is the dotted path of the field the problem
// is in (such as spec.strategy.approvals[0]), empty when none is named.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"`
	Field    string   `json:"field,omitempty"`
	Message  string   `json:"message"`
}

// What says the problem without its place: "field: message", or the
// message alone when no field is named.
func (d Diagnostic) What() string {
	if d.Field == "" {
		return d.Message
	}
	return d.Field + ": " + d.Message
}

// String formats d as "file:line: severity: message", the form editors and CI
// log viewers link to the place.
func (d Diagnostic) String() string {
	if d.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", d.File, d.Line, d.Severity, d.What())
	}
	return fmt.Sprintf("%s: %s: %s", d.File, d.Severity, d.What())
}

// Diagnostics is a list of Diagnostic; as an error it lists every one of them.
type Diagnostics []Diagnostic

// Error joins the diagnostics one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the diagnostics of severity error.
func (ds Diagnostics) Errors() Diagnostics { return ds.bySeverity(SeverityError) }

// Warnings returns the diagnostics of severity warning.
func (ds Diagnostics) Warnings() Diagnostics { return ds.bySeverity(SeverityWarning) }

func (ds Diagnostics) bySeverity(sev Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	return out
}

// sortDiagnostics orders by file, line, severity, then what they say, so output is stable
// whatever order files were parsed in, and drops exact repeats.
func sortDiagnostics(ds Diagnostics) Diagnostics {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.What(), b.What()),
		)
	})
	return slices.Compact(ds)
}
