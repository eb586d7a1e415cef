package audit

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
)

// Markdown writes the report for a person: the campaign's summary, a section
// per wave with a table of its pull requests and one of its clusters'
// evidence, and the campaign's history.
func Markdown(out io.Writer, r Report) error {
	w := &writer{out: out}
	w.linef("# Audit report: campaign %s", r.Campaign)
	w.linef("")
	revertible := "forward-only"
	if r.Revertible {
		revertible = "revertible"
	}
	w.linef("| | |")
	w.linef("| --- | --- |")
	w.linef("| Phase | %s |", cell(r.Phase))
	w.linef("| Change | %s, %s |", cell(r.Change), revertible)
	w.linef("| Failure budget | %d |", r.FailureBudget)
	w.linef("| Gates | %s |", cell(strings.Join(r.Gates, ", ")))
	if r.HaltReason != "" {
		w.linef("| Halted | %s |", cell(r.HaltReason))
	}
	for _, wv := range r.Waves {
		w.wave(wv)
	}
	w.linef("")
	w.linef("## History")
	w.linef("")
	if len(r.History) == 0 {
		w.linef("Nothing recorded.")
	} else {
		w.linef("| Time | Event | Phase | Detail | By |")
		w.linef("| --- | --- | --- | --- | --- |")
		for _, e := range r.History {
			w.linef("| %s | %s | %s | %s | %s |", stamp(e.At), cell(e.Event), phases(e), orDash(e.Detail), orDash(e.By))
		}
	}
	w.linef("")
	w.linef("## Commands")
	w.linef("")
	if len(r.Commands) == 0 {
		w.linef("None were run.")
		return w.err
	}
	w.linef("| Time | By | Pull request | Command | Outcome | Detail |")
	w.linef("| --- | --- | --- | --- | --- | --- |")
	for _, c := range r.Commands {
		w.linef("| %s | %s | %s | `%s` | %s | %s |", stamp(c.At), cell(c.By), cell(c.PR), cell(c.Line), cell(c.Outcome), orDash(c.Detail))
	}
	return w.err
}

func (w *writer) wave(wv Wave) {
	w.linef("")
	title := fmt.Sprintf("Wave %d", wv.Number)
	switch wv.Kind {
	case "cleanup":
		title += " (clean-up)"
	case "revert":
		title += fmt.Sprintf(" (revert of wave %d)", wv.Reverts)
	}
	phase := wv.Phase
	if wv.NotReached {
		phase += " (not reached)"
	}
	w.linef("## %s: %s", title, phase)
	w.linef("")
	var facts []string
	add := func(what string, t *time.Time) {
		if t != nil {
			facts = append(facts, what+" "+stamp(*t))
		}
	}
	if wv.ApprovedBy != "" {
		facts = append(facts, "approved by "+cell(wv.ApprovedBy)+" at "+stampOf(wv.ApprovedAt))
	}
	add("opened", wv.OpenedAt)
	add("baked from", wv.BakeStart)
	add("until", wv.BakeUntil)
	add("finished", wv.FinishedAt)
	add("revert asked", wv.RevertedAt)
	if wv.SkipReason != "" {
		facts = append(facts, "skipped: "+cell(wv.SkipReason))
	}
	if len(facts) > 0 {
		w.linef("%s.", upperFirst(strings.Join(facts, "; ")))
		w.linef("")
	}
	if len(wv.PRs) == 0 {
		w.linef("No pull request opened.")
	} else {
		w.linef("| Pull request | Tenant | Status | Merge commit | Opened | Merged | Merged by | Approved by | Reviews | Closed |")
		w.linef("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, p := range wv.PRs {
			number := "-"
			if p.Number > 0 {
				number = "#" + strconv.Itoa(p.Number)
			}
			w.linef("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", number, cell(p.Tenant), cell(p.Status), orDash(p.MergeSHA),
				stampOf(p.OpenedAt), stampOf(p.MergedAt), orDash(p.MergedBy), orDash(p.ApprovedBy), reviewList(p.Reviews), stampOf(p.ClosedAt))
		}
	}
	w.linef("")
	w.linef("| Cluster | Tenant | Phase | Time | Event | Phase change | Gate | Outcome | Detail | PR | Commit | By |")
	w.linef("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range wv.Clusters {
		phase := c.Phase
		switch {
		case wv.NotReached:
			phase = string(rollout.ClusterNotReached) // Pending in the state: the campaign ended first
		case c.FailedGate != "":
			phase += " (" + c.FailedGate + ")"
		case c.SkipReason != "":
			phase += ": " + c.SkipReason
		}
		if len(c.Evidence) == 0 {
			w.linef("| %s | %s | %s | - | - | - | - | - | - | - | - | - |", cell(c.Name), cell(c.Tenant), cell(phase))
			continue
		}
		for i, e := range c.Evidence {
			name, tenant, ph := cell(c.Name), cell(c.Tenant), cell(phase)
			if i > 0 {
				name, tenant, ph = "", "", ""
			}
			pr := "-"
			if e.PR > 0 {
				pr = "#" + strconv.Itoa(e.PR)
			}
			w.linef("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", name, tenant, ph, stamp(e.At), cell(e.Event), phases(e),
				orDash(e.Gate), orDash(e.Outcome), orDash(e.Detail), pr, orDash(e.SHA), orDash(e.By))
		}
	}
}

// reviewList writes each standing review as "@user approved (counted)" or
// with why it did not count.
func reviewList(rs []Review) string {
	if len(rs) == 0 {
		return "-"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		what := "@" + r.User + " " + strings.ToLower(strings.ReplaceAll(r.State, "_", " "))
		switch {
		case r.Counted:
			what += " (counted)"
		case r.Note != "":
			what += " (" + r.Note + ")"
		}
		parts[i] = what
	}
	return cell(strings.Join(parts, "; "))
}

// writer keeps the first write error, so the report is written without a
// check on every line.
type writer struct {
	out io.Writer
	err error
}

func (w *writer) linef(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.out, format+"\n", args...)
	}
}

// cell makes s safe in a table cell: one line, pipes escaped.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return cell(s)
}

func phases(e Entry) string {
	switch {
	case e.From == "" && e.To == "":
		return "-"
	case e.From == "":
		return cell(e.To)
	}
	return cell(e.From) + " → " + cell(e.To)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOf(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
