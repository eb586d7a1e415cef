package rollout

import (
	"fmt"
	"strconv"
	"strings"
)

// Hop modes of an EKS version change.
const (
	HopsSequential = "sequential"
	HopsRefuse     = "refuse"
)

// planEKS plans an EKS version change: forward only, one minor version per
// hop. Clusters more than one minor behind are planned in sequential hops
// (every cluster reaches 1.N+1 in all environments before any goes to 1.N+2)
// or refused, as the campaign says.
func (pl *planner) planEKS(ch *EKSVersionChange) error {
	target, ok := parseMinor(ch.To)
	if !ok {
		return fmt.Errorf("spec.change.eksVersion.to %q is not a 1.NN version", ch.To)
	}
	mode := ch.Hops
	if mode == "" {
		mode = HopsSequential
	}
	if mode != HopsSequential && mode != HopsRefuse {
		return fmt.Errorf("spec.change.eksVersion.hops %q: want %q or %q", ch.Hops, HopsSequential, HopsRefuse)
	}
	pl.plan.Change = PlanChange{Kind: KindEKSVersion, To: ch.To}

	type pending struct {
		cluster   *Cluster
		minor     int
		blueGreen bool // replaced by a green cluster at the target, in the last hop
	}
	var todo []pending
	var behind []string
	var blueGreen []*Cluster
	lowest := target
	for _, cl := range pl.candidates() {
		m, ok := parseMinor(cl.Version)
		if !ok {
			return fmt.Errorf("cluster %s: version %q at %s is not a 1.NN version",
				cl.Name, cl.Version, where(cl.VersionAt))
		}
		switch {
		case m == target:
			pl.skip(cl, ReasonAtTarget, "at "+cl.Version)
			continue
		case m > target:
			pl.skip(cl, ReasonAhead, fmt.Sprintf("at %s, above %s: EKS cannot downgrade a control plane", cl.Version, ch.To))
			continue
		}
		if cl.VersionAt.File == "" {
			return fmt.Errorf("cluster %s: the inventory gives no file for its version", cl.Name)
		}
		if pl.campaign.Spec.Strategy.BlueGreen(cl.Env) {
			// A green cluster starts at the target: no hop to wait for.
			blueGreen = append(blueGreen, cl)
			todo = append(todo, pending{cl, m, true})
			continue
		}
		if target-m > 1 {
			behind = append(behind, fmt.Sprintf("%s (%s)", cl.Name, cl.Version))
		}
		lowest = min(lowest, m)
		todo = append(todo, pending{cl, m, false})
	}
	if mode == HopsRefuse && len(behind) > 0 {
		names := make([]string, len(behind))
		for i, b := range behind {
			names[i], _, _ = strings.Cut(b, " ")
		}
		return &RefusedError{
			Rule:     RuleOneMinorPerHop,
			Clusters: names,
			Message: fmt.Sprintf("EKS upgrades one minor version at a time and %s are more than one minor below %s: set spec.change.eksVersion.hops to %q to plan the hops, or move them to %s first",
				strings.Join(behind, ", "), ch.To, HopsSequential, formatMinor(target-1)),
		}
	}

	all := make([]*step, len(todo))
	for i, t := range todo {
		all[i] = &step{cluster: t.cluster}
	}
	if err := pl.checkOrder(all); err != nil {
		return err
	}
	if err := pl.checkBlueGreen(blueGreen); err != nil {
		return err
	}
	if len(blueGreen) > 0 && lowest == target {
		lowest = target - 1
	}
	hops := target - lowest
	var drafts []waveDraft
	for h := 1; h <= hops; h++ {
		v := lowest + h
		pl.plan.Change.Hops = append(pl.plan.Change.Hops, formatMinor(v))
		var steps []*step
		for _, t := range todo {
			if t.blueGreen {
				if h == hops {
					steps = append(steps, eksStep(t.cluster, t.cluster.Version, ch.To, h))
				}
				continue
			}
			if t.minor >= v {
				continue
			}
			from := formatMinor(v - 1)
			if t.minor == v-1 {
				from = t.cluster.Version
			}
			steps = append(steps, eksStep(t.cluster, from, formatMinor(v), h))
		}
		drafts = append(drafts, pl.blueGreenWaves(pl.buildWaves(steps, h, nil), ch.To)...)
	}
	return pl.finish(drafts)
}

func eksStep(cl *Cluster, from, to string, hop int) *step {
	at := cl.VersionAt
	repo := at.Repo
	if repo == "" {
		repo = cl.Repo
	}
	return &step{
		cluster: cl, from: from, to: to, hop: hop,
		edits: []fileEdit{{
			repo: repo, tenant: cl.Tenant, file: at.File,
			edit: Edit{Path: at.Path, Op: OpSet, From: from, To: to, Quote: true, Line: at.Line, Document: at.Document},
		}},
	}
}

// parseMinor returns NN of a "1.NN" version.
func parseMinor(v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, "1.")
	if !ok || rest == "" || len(rest) > 3 || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

func formatMinor(n int) string { return "1." + strconv.Itoa(n) }

// where renders a location as file:line for messages.
func where(at Location) string {
	s := at.File
	if s == "" {
		s = "(unknown file)"
	}
	if at.Line > 0 {
		s += ":" + strconv.Itoa(at.Line)
	}
	if at.Repo != "" {
		s += " in " + at.Repo
	}
	return s
}
