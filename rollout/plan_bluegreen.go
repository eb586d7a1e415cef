package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// blueGreenProblem says why cluster cl of a blue-green environment cannot
// be replaced as the layout writes a green cluster, or "". exists reports
// a cluster name the fleet has already.
func blueGreenProblem(cl *Cluster, exists func(string) bool) string {
	r := cl.BlueGreen
	switch {
	case r == nil:
		return fmt.Sprintf("%s: the layout does not say how a green cluster is written (blueprints.blueGreen)", cl.Name)
	case r.Green == "" || r.Green == cl.Name:
		return fmt.Sprintf("%s: the layout's name template gives no new name for its green cluster", cl.Name)
	case exists(r.Green):
		return fmt.Sprintf("%s: its green cluster's name %s is taken by a cluster of the fleet", cl.Name, r.Green)
	case r.TrafficAt.File == "":
		return fmt.Sprintf("%s: its entry at %s has no traffic scalar, through which blue-green shifts traffic", cl.Name, where(r.Entry))
	case !under(cl.VersionAt, r.Entry):
		return fmt.Sprintf("%s: its version at %s is not inside its entry at %s, which the green cluster copies", cl.Name, where(cl.VersionAt), where(r.Entry))
	case !under(r.TrafficAt, r.Entry):
		return fmt.Sprintf("%s: its traffic scalar at %s is not inside its entry at %s", cl.Name, where(r.TrafficAt), where(r.Entry))
	}
	if _, err := strconv.Atoi(r.Traffic); err != nil {
		return fmt.Sprintf("%s: its traffic %q at %s is not a whole number", cl.Name, r.Traffic, where(r.TrafficAt))
	}
	return ""
}

// under reports whether the scalar at is inside the entry at entry: the
// same file and document, and a key path below the entry's.
func under(at, entry Location) bool {
	return at.File == entry.File && at.Document == entry.Document &&
		len(at.Path) > len(entry.Path) && slices.Equal(at.Path[:len(entry.Path)], entry.Path)
}

// checkBlueGreen refuses the campaign when a cluster of a blue-green
// environment cannot be replaced, naming each one and why.
func (pl *planner) checkBlueGreen(cls []*Cluster) error {
	names := make(map[string]bool, len(pl.clusters))
	for _, c := range pl.clusters {
		names[c.Name] = true
	}
	var bad, problems []string
	for _, cl := range cls {
		if p := blueGreenProblem(cl, func(n string) bool { return names[n] }); p != "" {
			bad = append(bad, cl.Name)
			problems = append(problems, p)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &RefusedError{
		Rule:     RuleBlueGreen,
		Clusters: bad,
		Message:  "spec.strategy.method replaces these clusters blue-green, and they cannot be: " + strings.Join(problems, "; "),
	}
}

// blueGreenWaves turns each wave of a blue-green environment into its
// steps, one wave each, in order: the green clusters added at the target
// version with none of the traffic, each traffic step, the blue clusters
// removed. Every step is merged, gated and baked before the next opens.
// Other waves stay as they are.
func (pl *planner) blueGreenWaves(drafts []waveDraft, to string) []waveDraft {
	st := pl.campaign.Spec.Strategy
	var out []waveDraft
	for _, d := range drafts {
		if d.cleanup || !st.BlueGreen(d.env) {
			out = append(out, d)
			continue
		}
		green := d
		green.step = StepGreen
		green.steps = replaced(d.steps, func(s *step) []fileEdit { return greenEdits(s.cluster, to) })
		out = append(out, green)
		prev := 0
		for _, share := range st.TrafficSteps() {
			t := d
			t.step, t.traffic, t.approval = StepTraffic, share, false
			t.steps = replaced(d.steps, func(s *step) []fileEdit { return trafficEdits(s.cluster, prev, share) })
			out = append(out, t)
			prev = share
		}
		retire := d
		retire.step, retire.approval = StepRetire, false
		retire.steps = replaced(d.steps, func(s *step) []fileEdit { return retireEdits(s.cluster) })
		out = append(out, retire)
	}
	return out
}

// replaced copies steps with the green cluster named and the edits edits
// gives for each.
func replaced(steps []*step, edits func(*step) []fileEdit) []*step {
	out := make([]*step, len(steps))
	for i, s := range steps {
		c := *s
		c.green = s.cluster.BlueGreen.Green
		c.edits = edits(s)
		out[i] = &c
	}
	return out
}

// entryEdit is an edit of the blueprint holding cl's entry.
func entryEdit(cl *Cluster, e Edit) fileEdit {
	r := cl.BlueGreen
	repo := cmp.Or(r.Entry.Repo, cl.Repo)
	e.Document = r.Entry.Document
	return fileEdit{repo: repo, tenant: cl.Tenant, file: r.Entry.File, edit: e}
}

// greenPath is the key path of cl's green entry, with rel below it.
func greenPath(cl *Cluster, rel []string) []string {
	r := cl.BlueGreen
	p := slices.Clone(r.Entry.Path[:len(r.Entry.Path)-1])
	p = append(p, r.Green)
	return append(p, rel...)
}

// inEntry is the key path of at relative to cl's entry.
func inEntry(cl *Cluster, at Location) []string {
	return at.Path[len(cl.BlueGreen.Entry.Path):]
}

// greenEdits add cl's green cluster: its entry copied from cl's, at
// version to with none of the traffic, and its own label and values files
// copied from cl's.
func greenEdits(cl *Cluster, to string) []fileEdit {
	r := cl.BlueGreen
	out := []fileEdit{
		entryEdit(cl, Edit{Path: greenPath(cl, nil), Op: OpCopy, From: cl.Name, Keys: slices.Clone(r.Copy), Line: r.Entry.Line}),
		entryEdit(cl, Edit{Path: greenPath(cl, inEntry(cl, cl.VersionAt)), Op: OpSet, From: cl.Version, To: to, Quote: true}),
		entryEdit(cl, Edit{Path: greenPath(cl, inEntry(cl, r.TrafficAt)), Op: OpSet, From: r.Traffic, To: "0"}),
	}
	for _, v := range r.ownFiles() {
		if v.Green == "" {
			continue
		}
		out = append(out, fileEdit{
			repo: cmp.Or(r.Entry.Repo, cl.Repo), tenant: cl.Tenant, file: v.Green,
			create: true, copyOf: v.Blue, edit: Edit{Op: OpCreate},
		})
	}
	return out
}

// trafficEdits move the green cluster's share of cl's traffic from prev to
// share percent, and the blue one's down as much.
func trafficEdits(cl *Cluster, prev, share int) []fileEdit {
	r := cl.BlueGreen
	total, _ := strconv.Atoi(r.Traffic) // checked by blueGreenProblem
	part := func(pct int) int { return (total*pct + 50) / 100 }
	blueFrom := strconv.Itoa(total - part(prev))
	if prev == 0 {
		blueFrom = r.Traffic // as written
	}
	return []fileEdit{
		entryEdit(cl, Edit{Path: r.TrafficAt.Path, Op: OpSet, From: blueFrom, To: strconv.Itoa(total - part(share)), Line: r.TrafficAt.Line}),
		entryEdit(cl, Edit{Path: greenPath(cl, inEntry(cl, r.TrafficAt)), Op: OpSet, From: strconv.Itoa(part(prev)), To: strconv.Itoa(part(share))}),
	}
}

// retireEdits remove the blue cluster cl: its entry and its own label and
// values files.
func retireEdits(cl *Cluster) []fileEdit {
	r := cl.BlueGreen
	out := []fileEdit{entryEdit(cl, Edit{Path: slices.Clone(r.Entry.Path), Op: OpRemove, From: cl.Name, Line: r.Entry.Line})}
	for _, v := range r.ownFiles() {
		out = append(out, fileEdit{
			repo: cmp.Or(r.Entry.Repo, cl.Repo), tenant: cl.Tenant, file: v.Blue,
			delete: true, edit: Edit{Op: OpRemove},
		})
	}
	return out
}
