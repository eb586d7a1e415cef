package rollout

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// RenderJSON returns the plan as indented JSON ending in a newline. Every list
// in a plan is sorted, so equal plans give equal bytes.
func RenderJSON(p *Plan) ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode plan %s: %w", p.Campaign, err)
	}
	return append(b, '\n'), nil
}

// Describe says in one line what the plan's change does.
func (c PlanChange) Describe() string {
	switch c.Kind {
	case KindEKSVersion:
		s := "EKS version -> " + c.To
		if len(c.Hops) > 1 {
			s += fmt.Sprintf(" in %d hops (%s)", len(c.Hops), strings.Join(c.Hops, ", "))
		}
		return s + ", forward-only"
	case KindLabel:
		if c.Level != "" {
			return fmt.Sprintf("label %s -> %s at level %s, revertible", c.Path, c.To, c.Level)
		}
		return fmt.Sprintf("label %s -> %s, revertible", c.Path, c.To)
	default:
		mode := "forward-only"
		if c.Revertible {
			mode = "revertible"
		}
		if c.Hierarchy != "" {
			return fmt.Sprintf("field %s of hierarchy %s -> %s at level %s, %s", c.Path, c.Hierarchy, c.To, c.Level, mode)
		}
		return fmt.Sprintf("field %s in %s -> %s, %s", c.Path, c.Files, c.To, mode)
	}
}

// RenderTable shows the plan for a person: one line per cluster and wave,
// the pull request count of each wave, the files serving many clusters with
// the clusters each reaches, then the skipped clusters and why.
func RenderTable(p *Plan) string {
	var b strings.Builder
	_ = WriteTable(&b, p) // a strings.Builder does not fail
	return b.String()
}

// WriteTable writes RenderTable's text to w as it goes: a plan of 100,000
// clusters is 11 MB of it, which is never held whole. No line ends in a
// space.
func WriteTable(w io.Writer, p *Plan) error {
	t := &trimWriter{w: w}
	clusters, prs := 0, 0
	for _, w := range p.Waves {
		clusters += len(w.Clusters)
		prs += len(w.PullRequests)
	}
	fmt.Fprintf(t, "Campaign %s: %s\n", p.Campaign, p.Change.Describe())
	fmt.Fprintf(t, "%s, %s, %s, %s skipped\n\n", count(len(p.Waves), "wave"),
		count(clusters, "cluster step"), count(prs, "pull request"), strconv.Itoa(len(p.Skipped)))

	if len(p.Waves) == 0 {
		_, _ = io.WriteString(t, nothingToDo(p))
		writeSkipped(t, p.Skipped)
		return t.err
	}
	hops := p.Change.Kind == KindEKSVersion
	picked := false
	writeAligned(t, func(row func(cells ...string)) {
		head := []string{"WAVE", "ENV", "FLAGS", "CLUSTER", "TENANT", "FLEET", "FROM -> TO", "PRS"}
		if hops {
			head = slices.Insert(head, 1, "HOP")
		}
		row(head...)
		cells := make([]string, 0, 9)
		line := func(index, hop, env, flags, cluster, tenant, fleet, change, nprs string) {
			cells = append(cells[:0], index, hop, env, flags, cluster, tenant, fleet, change, nprs)
			if !hops {
				cells = slices.Delete(cells, 1, 2)
			}
			row(cells...)
		}
		for _, w := range p.Waves {
			index, hop, env, flags, nprs := strconv.Itoa(w.Index), "", w.Env, strings.Join(waveFlags(w), ","), strconv.Itoa(len(w.PullRequests))
			if w.Hop > 0 {
				hop = strconv.Itoa(w.Hop)
			}
			if env == "" {
				env = "-"
			}
			if len(w.Clusters) == 0 {
				line(index, hop, env, flags, cleanupSummary(w), "", "", "", nprs)
				continue
			}
			for i, c := range w.Clusters {
				name := c.Name
				if c.PickedCanary {
					name += " *"
					picked = true
				}
				if i > 0 {
					index, hop, env, flags, nprs = "", "", "", "", ""
				}
				line(index, hop, env, flags, name, c.Tenant, c.Fleet, w.ClusterChange(c), nprs)
			}
		}
	})
	if picked {
		_, _ = io.WriteString(t, "\n* canary picked by the planner: its fleet has no cluster flagged is_canary here\n")
	}
	writeReach(t, p.Waves)
	writeSkipped(t, p.Skipped)
	return t.err
}

// DescribeReach says which clusters a file serving many clusters reaches,
// in one line; it is empty for other files.
func (f FileChange) DescribeReach() string {
	return f.DescribeReachUpTo(len(f.Reach))
}

// DescribeReachUpTo is DescribeReach naming at most n clusters, the first
// in name order, and counting the others.
func (f FileChange) DescribeReachUpTo(n int) string {
	if len(f.Reach) == 0 {
		return ""
	}
	names := strings.Join(f.Reach[:min(max(n, 0), len(f.Reach))], ", ")
	if more := len(f.Reach) - n; more > 0 {
		if names != "" {
			names += ", "
		}
		names += fmt.Sprintf("and %d more", more)
	}
	return fmt.Sprintf("%s reaches %s: %s", f.Path, count(len(f.Reach), "cluster"), names)
}

// ReachShown is how many clusters a shared file's line of the plan's table
// names; the JSON plan lists every one.
const ReachShown = 50

// writeReach lists, wave by wave, the files serving many clusters that the
// plan changes and the clusters each one reaches (the first ReachShown).
func writeReach(b io.Writer, waves []Wave) {
	var lines []string
	for _, w := range waves {
		for _, pr := range w.PullRequests {
			for _, f := range pr.Files {
				if r := f.DescribeReachUpTo(ReachShown); r != "" {
					lines = append(lines, fmt.Sprintf("  wave %d: %s\n", w.Index, r))
				}
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	_, _ = io.WriteString(b, "\nShared files, changed by the fleet admins' pull request of their wave:\n")
	for _, l := range lines {
		_, _ = io.WriteString(b, l)
	}
}

func writeSkipped(b io.Writer, skipped []SkippedCluster) {
	if len(skipped) == 0 {
		return
	}
	_, _ = io.WriteString(b, "\nSkipped:\n")
	writeAligned(b, func(row func(cells ...string)) {
		row("CLUSTER", "TENANT", "ENV", "REASON", "DETAIL")
		for _, s := range skipped {
			row(s.Name, s.Tenant, s.Env, s.Reason, s.Detail)
		}
	})
}

// Idle refuses a plan that changes no cluster, saying why at the
// campaign's selector; nil when the plan has a wave. serve does not start
// a campaign that would do nothing (it would end at once, having done
// nothing), and validate says so; plan prints the plan's nothing to do.
func (p *Plan) Idle() error {
	if len(p.Waves) > 0 {
		return nil
	}
	why := strings.TrimSuffix(nothingToDo(p), ".\n")
	return &FieldError{Field: "spec.selector", Reason: strings.ToLower(why[:1]) + why[1:] + "; a campaign that changes no cluster does not start"}
}

// nothingToDo says why a plan has no wave: every selected cluster is
// skipped, counted by reason.
func nothingToDo(p *Plan) string {
	if len(p.Skipped) == 0 {
		return "Nothing to do: the plan changes no cluster.\n"
	}
	counts := map[string]int{}
	for _, s := range p.Skipped {
		counts[s.Reason]++
	}
	parts := make([]string, 0, len(counts))
	for _, r := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[r], r))
	}
	return fmt.Sprintf("Nothing to do: all %s selected are skipped (%s).\n", count(len(p.Skipped), "cluster"), strings.Join(parts, ", "))
}

// LeftOut says which selected clusters the plan leaves alone, counted by
// reason; those another campaign holds are named with it (at most named of
// them), since a person expects the campaign to upgrade them: "3 held by
// other campaigns (`d-prod-1`, `d-prod-2`: held by campaign blk-d), 2
// at-target". "" when it leaves none.
func (p *Plan) LeftOut(named int) string {
	if len(p.Skipped) == 0 {
		return ""
	}
	counts := map[string]int{}
	byHolder := map[string][]string{}
	var holders []string
	for _, s := range p.Skipped {
		counts[s.Reason]++
		if s.Reason != ReasonLocked {
			continue
		}
		if _, seen := byHolder[s.Detail]; !seen {
			holders = append(holders, s.Detail)
		}
		byHolder[s.Detail] = append(byHolder[s.Detail], s.Name)
	}
	var parts []string
	if n := counts[ReasonLocked]; n > 0 {
		var held []string
		left := named
		for _, h := range holders {
			names := byHolder[h]
			shown := names[:min(len(names), max(left, 0))]
			left -= len(shown)
			list := make([]string, len(shown))
			for i, name := range shown {
				list[i] = "`" + name + "`"
			}
			if more := len(names) - len(shown); more > 0 {
				list = append(list, fmt.Sprintf("%d more", more))
			}
			held = append(held, strings.Join(list, ", ")+": "+h)
		}
		parts = append(parts, fmt.Sprintf("%d held by other campaigns (%s)", n, strings.Join(held, "; ")))
	}
	for _, r := range sortedKeys(counts) {
		if r != ReasonLocked {
			parts = append(parts, fmt.Sprintf("%d %s", counts[r], r))
		}
	}
	return strings.Join(parts, ", ")
}

// cleanupSummary says what a wave without cluster steps does to the files.
func cleanupSummary(w Wave) string {
	set, del := 0, 0
	for _, pr := range w.PullRequests {
		for _, f := range pr.Files {
			for _, e := range f.Edits {
				if e.Op == OpDelete {
					del++
				} else {
					set++
				}
			}
		}
	}
	var parts []string
	if set > 0 {
		parts = append(parts, "raise into "+count(set, "file"))
	}
	if del > 0 {
		parts = append(parts, "drop "+count(del, "redundant override"))
	}
	if len(parts) == 0 {
		return "(no edits)"
	}
	return "(" + strings.Join(parts, ", ") + "; no value changes)"
}

func waveFlags(w Wave) []string {
	var f []string
	if w.Canary {
		f = append(f, "canary")
	}
	if w.Approval {
		f = append(f, "approval")
	}
	if w.Cleanup {
		f = append(f, "clean-up")
	}
	if w.Shared {
		f = append(f, "shared")
	}
	if w.Step != "" {
		f = append(f, w.StepName())
	}
	if len(f) == 0 {
		f = append(f, "-")
	}
	return f
}

// StepName names a blue-green step in a word or two ("green", "traffic
// 50%", "retire"); empty in place.
func (w Wave) StepName() string {
	if w.Step == StepTraffic {
		return fmt.Sprintf("traffic %d%%", w.Traffic)
	}
	return w.Step
}

// ClusterChange says what the wave does to cluster c: its value from ->
// to, or its blue-green step.
func (w Wave) ClusterChange(c WaveCluster) string {
	switch w.Step {
	case StepGreen:
		return fmt.Sprintf("%s -> %s: add %s", orUnset(c.From), c.To, c.Green)
	case StepTraffic:
		return fmt.Sprintf("%d%% of traffic to %s", w.Traffic, c.Green)
	case StepRetire:
		return "remove, replaced by " + c.Green
	}
	return orUnset(c.From) + " -> " + c.To
}

// DescribeStep says in a sentence what a blue-green step does; empty in
// place.
func (w Wave) DescribeStep() string {
	switch {
	case w.Step == StepGreen:
		return "add each green cluster at the target version, with none of the traffic, and its labels copied from its blue cluster"
	case w.Step == StepTraffic && w.Traffic == 100:
		return "give the green clusters all of the traffic, and their blue clusters none"
	case w.Step == StepTraffic:
		return fmt.Sprintf("give the green clusters %d%% of the traffic, and their blue clusters the rest", w.Traffic)
	case w.Step == StepRetire:
		return "remove the blue clusters, which carry none of the traffic now, and their own label files"
	}
	return ""
}

// Steps returns the waves of the blue-green replacement wave idx takes a
// step of, in order: the consecutive waves from its green step to its
// retire step. It is nil for a wave changed in place.
func (p *Plan) Steps(idx int) []Wave {
	if idx < 1 || idx > len(p.Waves) || p.Waves[idx-1].Step == "" {
		return nil
	}
	first := idx
	for first > 1 && p.Waves[first-1].Step != StepGreen {
		first--
	}
	last := first
	for last < len(p.Waves) && p.Waves[last-1].Step != StepRetire {
		last++
	}
	return p.Waves[first-1 : last]
}

func orUnset(v string) string {
	if v == "" {
		return "(unset)"
	}
	return v
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// mermaidNames is the most cluster names a wave's box lists; above it the box
// gives counts.
const mermaidNames = 4

// RenderMermaid draws the plan as a Mermaid flowchart: the waves in order, an
// approval gate before each wave that needs one, canary, clean-up and shared
// waves styled apart (the shared class is declared only when used, so plans
// without shared waves draw as before), and hops as subgraphs when there is
// more than one.
func RenderMermaid(p *Plan) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	if len(p.Waves) == 0 {
		b.WriteString("  empty[\"" + mermaidText(p.Campaign) + ": nothing to change\"]\n")
		return b.String()
	}
	subgraphs := len(p.Change.Hops) > 1 // EKS only: every wave has a hop
	var chain []string
	var canary, cleanup, gates, shared []string
	open := 0
	for _, w := range p.Waves {
		indent := "  "
		if subgraphs {
			if w.Hop != open {
				if open > 0 {
					b.WriteString("  end\n")
				}
				fmt.Fprintf(&b, "  subgraph hop%d[\"hop %d: to %s\"]\n", w.Hop, w.Hop, p.Change.Hops[w.Hop-1])
				open = w.Hop
			}
			indent = "    "
		}
		id := "w" + strconv.Itoa(w.Index)
		if w.Approval {
			gate := "a" + strconv.Itoa(w.Index)
			fmt.Fprintf(&b, "%s%s{{\"approval: %s\"}}\n", indent, gate, mermaidText(gateName(w)))
			chain = append(chain, gate)
			gates = append(gates, gate)
		}
		fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, id, waveBox(w))
		chain = append(chain, id)
		if w.Canary {
			canary = append(canary, id)
		}
		if w.Cleanup {
			cleanup = append(cleanup, id)
		}
		if w.Shared {
			shared = append(shared, id)
		}
	}
	if open > 0 {
		b.WriteString("  end\n")
	}
	for i := 1; i < len(chain); i++ {
		fmt.Fprintf(&b, "  %s --> %s\n", chain[i-1], chain[i])
	}
	b.WriteString("  classDef canary fill:#fff4c2,stroke:#b08800\n")
	b.WriteString("  classDef cleanup fill:#e3efff,stroke:#3b6fb6\n")
	b.WriteString("  classDef approval fill:#fde2e2,stroke:#b03030\n")
	if len(shared) > 0 {
		b.WriteString("  classDef shared fill:#e8f5e9,stroke:#2e7d32\n")
	}
	for _, c := range []struct {
		class string
		ids   []string
	}{{"canary", canary}, {"cleanup", cleanup}, {"approval", gates}, {"shared", shared}} {
		if len(c.ids) > 0 {
			fmt.Fprintf(&b, "  class %s %s\n", strings.Join(c.ids, ","), c.class)
		}
	}
	return b.String()
}

// gateName says what an approval gate opens: an environment, the shared
// files of every environment, or a clean-up.
func gateName(w Wave) string {
	switch {
	case w.Env != "":
		return w.Env
	case w.Shared:
		return "every environment"
	}
	return "clean-up"
}

func orDash(v, alt string) string {
	if v == "" {
		return alt
	}
	return v
}

func waveBox(w Wave) string {
	title := []string{"wave " + strconv.Itoa(w.Index)}
	if w.Env != "" {
		title = append(title, w.Env)
	}
	if w.Canary {
		title = append(title, "canary")
	}
	if w.Cleanup {
		title = append(title, "clean-up")
	}
	if w.Shared {
		title = append(title, "shared")
	}
	if w.Step != "" {
		title = append(title, w.StepName())
	}
	lines := []string{strings.Join(title, " · ")}
	for _, pr := range w.PullRequests {
		for _, f := range pr.Files {
			if len(f.Reach) > 0 {
				lines = append(lines, fmt.Sprintf("%s: reaches %s", f.Path, count(len(f.Reach), "cluster")))
			}
		}
	}
	switch {
	case len(w.Clusters) == 0:
		lines = append(lines, strings.Trim(cleanupSummary(w), "()"), count(len(w.PullRequests), "pull request"))
	case len(w.Clusters) <= mermaidNames:
		for _, c := range w.Clusters {
			name := c.Name
			if c.PickedCanary {
				name += " (picked)"
			}
			change := orUnset(c.From) + " → " + c.To
			if w.Step != "" {
				change = w.ClusterChange(c)
			}
			lines = append(lines, name+": "+change)
		}
	default:
		tenants := map[string]bool{}
		for _, c := range w.Clusters {
			tenants[c.Tenant] = true
		}
		lines = append(lines, fmt.Sprintf("%s of %s → %s", count(len(w.Clusters), "cluster"), count(len(tenants), "tenant"), w.Clusters[0].To))
	}
	for i := range lines {
		lines[i] = mermaidText(lines[i])
	}
	return strings.Join(lines, "<br/>")
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
