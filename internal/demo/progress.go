package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
)

// progress tells a person what a campaign does: fed each state the bot
// records, it prints one line per change that matters since the state
// before, stamped with the simulated time since the start, and a progress
// bar whenever the count of upgraded clusters changes. It writes plain
// lines, no terminal control codes, so a piped copy reads the same.
type progress struct {
	w     io.Writer
	start time.Time
	plan  *rollout.Plan
	total int

	phase    rollout.CampaignPhase
	opened   map[int]bool
	waves    map[int]rollout.WavePhase
	clusters map[string]rollout.ClusterPhase // by wave + "/" + cluster
	gates    map[string]rollout.Outcome      // by wave + "/" + cluster + "/" + gate
	bar      string
}

// newProgress returns a progress that writes to w; start is the simulated
// time lines count from, until begin moves it.
func newProgress(w io.Writer, start time.Time, plan *rollout.Plan) *progress {
	p := &progress{w: w, start: start, plan: plan, opened: map[int]bool{}, waves: map[int]rollout.WavePhase{},
		clusters: map[string]rollout.ClusterPhase{}, gates: map[string]rollout.Outcome{}}
	for _, wv := range plan.Waves {
		if !wv.Cleanup {
			p.total += len(wv.Clusters)
		}
	}
	return p
}

// event is one line to print, at the simulated time it happened.
type event struct {
	at   time.Time
	text string
}

// begin makes lines count from at: the moment the campaign is pushed.
func (p *progress) begin(at time.Time) { p.start = at }

// line prints one line at the simulated time at.
func (p *progress) line(at time.Time, format string, args ...any) {
	fmt.Fprintf(p.w, "%s  %s\n", p.stamp(at), fmt.Sprintf(format, args...))
}

// stamp formats the time since the start as +h:mm:ss.
func (p *progress) stamp(at time.Time) string {
	d := max(at.Sub(p.start), 0).Round(time.Second)
	return fmt.Sprintf("+%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// pad is as wide as a stamp, for lines that continue the one before.
func (p *progress) pad() string { return strings.Repeat(" ", len(p.stamp(p.start))) }

// header says what the demo runs.
func (p *progress) header(s *setup, speed float64) {
	pl := s.plan
	prs := 0
	for _, w := range pl.Waves {
		prs += len(w.PullRequests)
	}
	fmt.Fprintf(p.w, "fleetbot demo: campaign %s, %s -> %s on %d clusters in %d waves, %d pull requests (%d left out)\n",
		pl.Campaign, changeName(pl.Change.Kind), pl.Change.To, p.total, len(pl.Waves), prs, len(pl.Skipped))
	fmt.Fprintf(p.w, "a local GitHub, a simulated fleet (Terraform CI, Argo CD, EKS) and the real bot; the clock runs %gx, times are simulated\n", speed)
	if len(s.fail) > 0 {
		fmt.Fprintf(p.w, "made to fail: %s\n", strings.Join(sortedKeys(s.fail), ", "))
	}
}

func changeName(kind string) string {
	switch kind {
	case rollout.KindEKSVersion:
		return "EKS version"
	case rollout.KindLabel:
		return "label"
	}
	return kind
}

// observe prints what changed since the state observed before.
func (p *progress) observe(st rollout.State) {
	var evs []event
	for _, w := range st.Waves {
		evs = append(evs, p.wave(w)...)
	}
	evs = append(evs, p.campaign(st)...)
	// Within one second, keep the order of the state: a cluster's gates in
	// the order the change travels, a wave's clusters before its bake.
	slices.SortStableFunc(evs, func(a, b event) int {
		return a.at.Truncate(time.Second).Compare(b.at.Truncate(time.Second))
	})
	for _, e := range evs {
		fmt.Fprintf(p.w, "%s  %s\n", p.stamp(e.at), e.text)
	}
	if bar := p.progressBar(st); bar != p.bar {
		p.bar = bar
		fmt.Fprintf(p.w, "%s  %s\n", p.pad(), bar)
	}
}

// wave reports a wave's opening, its clusters' gate results and phases, and
// its bake.
func (p *progress) wave(w rollout.WaveState) []event {
	var evs []event
	if !p.opened[w.Number] && w.AllUp() {
		p.opened[w.Number] = true
		// The wave opened when its last pull request did: after EKS's
		// pre-flight answers, which come between the wave's start and its
		// pull requests.
		at := w.OpenedAt
		for _, pr := range w.PRs {
			if pr.OpenedAt.After(at) {
				at = pr.OpenedAt
			}
		}
		evs = append(evs, event{at, p.opening(w)})
	}
	for _, c := range w.Clusters {
		evs = append(evs, p.cluster(w.Number, c)...)
	}
	prev := p.waves[w.Number]
	p.waves[w.Number] = w.Phase
	if prev == w.Phase {
		return evs
	}
	switch w.Phase {
	case rollout.WaveBaking:
		evs = append(evs, event{w.BakeStart, fmt.Sprintf("wave %d: every cluster settled; baking %s, until %s",
			w.Number, w.BakeUntil.Sub(w.BakeStart), p.stamp(w.BakeUntil))})
	case rollout.WaveSucceeded:
		if prev == rollout.WaveBaking || !w.BakeUntil.IsZero() {
			evs = append(evs, event{w.FinishedAt, fmt.Sprintf("wave %d: bake over, no failure; wave succeeded", w.Number)})
		} else {
			evs = append(evs, event{w.FinishedAt, fmt.Sprintf("wave %d succeeded", w.Number)})
		}
	case rollout.WaveFailed:
		evs = append(evs, event{w.FinishedAt, fmt.Sprintf("wave %d failed", w.Number)})
	}
	return evs
}

// opening describes an opened wave: its environment, and each pull request
// with its tenant and clusters.
func (p *progress) opening(w rollout.WaveState) string {
	var b strings.Builder
	switch i := w.Number - 1; {
	case w.Kind == rollout.WaveRevert:
		fmt.Fprintf(&b, "revert wave %d (reverts wave %d)", w.Number, w.Reverts)
	case i < len(p.plan.Waves):
		fmt.Fprintf(&b, "wave %d/%d", w.Number, len(p.plan.Waves))
		pw := p.plan.Waves[i]
		kind := pw.Env
		switch {
		case pw.Cleanup:
			kind = "clean-up"
		case pw.Hop > 0 && len(p.plan.Change.Hops) > 1:
			kind += fmt.Sprintf(", hop %d to %s", pw.Hop, p.plan.Change.Hops[pw.Hop-1])
		}
		if pw.Canary {
			kind += ", canary"
		}
		if pw.Step != "" {
			kind += ", blue-green " + pw.StepName()
		}
		fmt.Fprintf(&b, " (%s)", kind)
	}
	b.WriteString(" opens:")
	for i, pr := range w.PRs {
		if i > 0 {
			b.WriteString(";")
		}
		var names []string
		for _, c := range w.Clusters {
			// A cluster pre-flight held back is in no pull request.
			if c.Tenant == pr.Tenant && c.Phase != rollout.ClusterSkipped && c.FailedGate != rollout.GatePreflight {
				names = append(names, c.Name)
			}
		}
		fmt.Fprintf(&b, " #%d %s (%s)", pr.Number, pr.Tenant, strings.Join(names, ", "))
	}
	return b.String()
}

// gateOrder is the order a change travels: Terraform applies it, Argo CD
// syncs it, Prometheus measures it, EKS reports it.
var gateOrder = []string{rollout.GateTerraform, rollout.GateArgoCD, rollout.GatePrometheus, rollout.GateEKS}

// cluster reports a cluster's new gate verdicts in wave n and its settling.
func (p *progress) cluster(n int, c rollout.ClusterState) []event {
	var evs []event
	names := slices.Clone(gateOrder)
	for g := range c.Gates {
		if !slices.Contains(names, g) {
			names = append(names, g)
		}
	}
	for _, g := range names {
		rec, ok := c.Gates[g]
		key := fmt.Sprintf("%d/%s/%s", n, c.Name, g)
		if !ok {
			delete(p.gates, key)
			continue
		}
		if p.gates[key] == rec.Outcome {
			continue
		}
		p.gates[key] = rec.Outcome
		if rec.Outcome == rollout.GateWaiting {
			continue
		}
		evs = append(evs, event{rec.At, fmt.Sprintf("%s  %-9s %s: %s", c.Name, g, rec.Outcome, rollout.GateSentence(rec.Detail))})
	}
	ckey := fmt.Sprintf("%d/%s", n, c.Name)
	prev := p.clusters[ckey]
	p.clusters[ckey] = c.Phase
	if prev == c.Phase {
		return evs
	}
	at := time.Time{}
	if n := len(c.Evidence); n > 0 {
		at = c.Evidence[n-1].At
	}
	switch c.Phase {
	case rollout.ClusterTimedOut:
		evs = append(evs, event{at, fmt.Sprintf("%s  timed out: %s", c.Name, orNone(rollout.GateSentence(c.FailedDetail)))})
	case rollout.ClusterSkipped:
		by := ""
		if n := len(c.Evidence); n > 0 && c.Evidence[n-1].By != "" {
			by = " by " + c.Evidence[n-1].By
		}
		evs = append(evs, event{at, fmt.Sprintf("%s  skipped%s: %s", c.Name, by, c.SkipReason)})
	}
	return evs
}

// campaign reports the campaign's halts, resumptions and end.
func (p *progress) campaign(st rollout.State) []event {
	prev := p.phase
	p.phase = st.Phase
	if prev == st.Phase {
		return nil
	}
	at := time.Time{}
	by := ""
	if n := len(st.History); n > 0 {
		at, by = st.History[n-1].At, st.History[n-1].By
	}
	switch st.Phase {
	case rollout.CampaignHalted:
		var b strings.Builder
		fmt.Fprintf(&b, "HALTED: %s; no new pull requests until the failures are retried or skipped", st.HaltReason)
		for _, f := range st.Failures() {
			fmt.Fprintf(&b, "\n%s    wave %d, %s of %s: %s", p.pad(), f.Wave, f.Cluster, f.Tenant, f.Phase)
			if f.Gate != "" {
				fmt.Fprintf(&b, " at the %s gate", f.Gate)
			}
			if f.Detail != "" {
				fmt.Fprintf(&b, ", which saw: %s", rollout.GateSentence(f.Detail))
			}
		}
		return []event{{at, b.String()}}
	case rollout.CampaignRunning:
		if prev == rollout.CampaignHalted || prev == rollout.CampaignPaused {
			if by != "" {
				by = " by " + by
			}
			return []event{{at, "campaign resumed" + by}}
		}
	case rollout.CampaignSucceeded:
		up, skipped := p.counts(st)
		line := fmt.Sprintf("campaign %s succeeded: %d clusters upgraded in %d waves, %d skipped", st.Campaign, up, len(st.Waves), skipped)
		if f := st.Failures(); len(f) > 0 {
			line += fmt.Sprintf(", %d failed within the budget of %d (%s)", len(f), st.Policy.MaxFailures, failureNames(f))
		}
		return []event{{at, line}}
	case rollout.CampaignRollingBack:
		if by != "" {
			by = " by " + by
		}
		return []event{{at, fmt.Sprintf("campaign %s rolling back%s: revert waves open one at a time, last wave first", st.Campaign, by)}}
	case rollout.CampaignAborted, rollout.CampaignRolledBack:
		return []event{{at, fmt.Sprintf("campaign %s %s", st.Campaign, st.Phase)}}
	}
	return nil
}

// counts returns how many cluster changes succeeded and how many were
// skipped (one per EKS hop of a cluster; clean-ups and reverts change no
// version).
func (p *progress) counts(st rollout.State) (succeeded, skipped int) {
	for _, w := range st.Waves {
		if w.Kind != rollout.WaveChange {
			continue
		}
		for _, c := range w.Clusters {
			switch c.Phase {
			case rollout.ClusterSucceeded:
				succeeded++
			case rollout.ClusterSkipped:
				skipped++
			}
		}
	}
	return succeeded, skipped
}

// barWidth is the number of cells of the progress bar.
const barWidth = 30

// progressBar draws the clusters upgraded so far out of all the campaign
// changes: '#' upgraded, 'x' skipped, '.' to do.
func (p *progress) progressBar(st rollout.State) string {
	up, skipped := p.counts(st)
	total := max(p.total, 1)
	done := up * barWidth / total
	gone := min(skipped*barWidth/total+boolInt(skipped > 0 && skipped*barWidth < total), barWidth-done)
	bar := strings.Repeat("#", done) + strings.Repeat("x", gone) + strings.Repeat(".", barWidth-done-gone)
	s := fmt.Sprintf("[%s] %d/%d clusters upgraded", bar, up, p.total)
	if skipped > 0 {
		s += fmt.Sprintf(", %d skipped", skipped)
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// failureNames names failed clusters with the gate that failed them:
// "a-dev-gpu-1 at preflight, b-dev-1 at terraform".
func failureNames(fs []rollout.Failure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Cluster
		if f.Gate != "" {
			parts[i] += " at " + f.Gate
		}
	}
	return strings.Join(parts, ", ")
}
