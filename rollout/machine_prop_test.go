package rollout

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// machineRun feeds one random campaign a random sequence of events and checks
// the machine's promises after every step.
type machineRun struct {
	t     *testing.T
	seed  uint64
	r     *rand.Rand
	s     State
	now   time.Time
	step  int
	event Event

	opened        map[string]bool // "wave/cluster" named by an OpenWave so far
	reopenAllowed map[string]bool // "wave/cluster" a Retry sent back to a new pull request
	merged        map[string]bool // "wave/cluster" whose pull request ever merged
	waveOpened    map[int]bool
	// seen counts, over every run, the pre-flight paths taken.
	seen map[string]int
}

func (p *machineRun) fail(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("seed %d step %d (%s %+v at %s): %s", p.seed, p.step, p.event.Kind(), p.event, p.now.Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// occ keys one cluster of one wave.
func occ(wave int, cluster string) string { return fmt.Sprintf("%d/%s", wave, cluster) }

func randomMachineInput(r *rand.Rand) (Policy, []WaveSpec) {
	mins := func(opts ...int) time.Duration { return time.Duration(opts[r.IntN(len(opts))]) * time.Minute }
	p := Policy{
		Bake:             mins(0, 30, 60),
		ProgressDeadline: mins(0, 20, 45),
		MaxFailures:      r.IntN(3),
		Gates:            []string{"argocd", "eks", "prometheus"}[:1+r.IntN(3)],
		Change:           []string{KindEKSVersion, KindLabel, KindField}[r.IntN(3)],
		Revertible:       r.IntN(2) == 0,
	}
	p.CleanupGates = p.Gates[:r.IntN(len(p.Gates)+1)]
	p.Preflight = p.Change == KindEKSVersion && r.IntN(2) == 0
	waves := make([][]ClusterRef, 1+r.IntN(4))
	n := 0
	for i := range waves {
		for range 1 + r.IntN(4) {
			n++
			waves[i] = append(waves[i], ClusterRef{Name: fmt.Sprintf("c%d", n), Tenant: fmt.Sprintf("t%d", 1+r.IntN(3))})
		}
		if r.IntN(4) == 0 {
			if p.Approvals == nil {
				p.Approvals = map[int]bool{}
			}
			p.Approvals[i+1] = true
		}
	}
	specs := changeWaves(waves...)
	// A second EKS hop names the first wave's clusters again.
	if r.IntN(4) == 0 {
		specs = append(specs, WaveSpec{Clusters: waves[0]})
	}
	// Blue-green steps replace new clusters of an EKS change: green,
	// traffic, retire, each its own wave.
	if p.Change == KindEKSVersion && r.IntN(3) == 0 {
		var blues []ClusterRef
		for range 1 + r.IntN(3) {
			n++
			blues = append(blues, ClusterRef{Name: fmt.Sprintf("c%d", n), Tenant: fmt.Sprintf("t%d", 1+r.IntN(3))})
		}
		steps := []WaveSpec{{Clusters: blues, Step: StepGreen}, {Clusters: blues, Step: StepTraffic}, {Clusters: blues, Step: StepRetire}}
		if r.IntN(2) == 0 {
			specs = append(steps, specs...) // first, so that short runs reach them
			for w := range p.Approvals {
				delete(p.Approvals, w)
				p.Approvals[w+len(steps)] = true
			}
		} else {
			specs = append(specs, steps...)
		}
	}
	// A clean-up wave verifies every changed cluster once more.
	if r.IntN(3) == 0 {
		var all []ClusterRef
		for _, w := range waves {
			all = append(all, w...)
		}
		specs = append(specs, WaveSpec{Clusters: all, Cleanup: true})
	}
	return p, specs
}

// pick returns a random element of xs, or other when xs is empty or once in
// a while, so that unknown names are tried too.
func pickOr[T any](r *rand.Rand, xs []T, other T) T {
	if len(xs) == 0 || r.IntN(12) == 0 {
		return other
	}
	return xs[r.IntN(len(xs))]
}

// randomEvent mostly draws plausible events from the state (pull requests
// that exist, clusters in flight) and sometimes nonsense.
func (p *machineRun) randomEvent() Event {
	r, s := p.r, p.s
	var clusters []string
	type clusterKey struct {
		wave int
		name string
	}
	var inFlight, asked []clusterKey
	type prKey struct {
		wave   int
		tenant string
		number int
	}
	var prs []prKey
	for _, w := range s.Waves {
		for _, c := range w.Clusters {
			clusters = append(clusters, c.Name)
			if c.Phase == ClusterApplied || c.Phase == ClusterVerifying || c.Phase == ClusterSucceeded {
				inFlight = append(inFlight, clusterKey{w.Number, c.Name})
			}
			if c.Phase == ClusterPreflight {
				asked = append(asked, clusterKey{w.Number, c.Name})
			}
		}
		for _, pr := range w.PRs {
			prs = append(prs, prKey{w.Number, pr.Tenant, pr.Number})
		}
	}
	pr := pickOr(r, prs, prKey{1 + r.IntN(len(s.Waves)+1), fmt.Sprintf("t%d", 1+r.IntN(4)), 0})
	number := pr.number
	if number == 0 || r.IntN(8) == 0 {
		number = 100 + r.IntN(900)
	}
	who := pickOr(r, []string{"alice", "bob"}, "")
	switch k := r.IntN(100); {
	case k < 5 && s.Phase == CampaignPending:
		return ScheduleCampaign{By: who}
	case k < 8 && len(s.Posts) > 0:
		return Posted{Seq: s.Posts[r.IntN(len(s.Posts))].seq()}
	case k < 25:
		return Tick{CanOpen: r.IntN(10) < 7}
	case k < 35:
		return PROpened{Wave: pr.wave, Tenant: pr.tenant, Number: number}
	case k < 45:
		return PRMerged{Wave: pr.wave, Tenant: pr.tenant, Number: number, SHA: pickOr(r, []string{"s1", "s2"}, "")}
	case k < 48:
		return PRClosed{Wave: pr.wave, Tenant: pr.tenant, Number: number}
	case k < 75:
		outcome := GatePassed
		if o := r.IntN(20); o < 3 {
			outcome = GateFailed
		} else if o < 6 {
			outcome = GateWaiting
		}
		if s.Policy.Preflight && (len(asked) > 0 && r.IntN(2) == 0 || r.IntN(20) == 0) {
			target := pickOr(r, asked, clusterKey{r.IntN(len(s.Waves) + 1), pickOr(r, clusters, "nope")})
			return GateResult{Wave: target.wave, Cluster: target.name, Gate: GatePreflight, Outcome: outcome, Detail: pickOr(r, []string{"ready", "insight in ERROR"}, "x")}
		}
		target := pickOr(r, inFlight, clusterKey{r.IntN(len(s.Waves) + 1), pickOr(r, clusters, "nope")})
		return GateResult{Wave: target.wave, Cluster: target.name, Gate: pickOr(r, s.Policy.Gates, "unknown"), Outcome: outcome, Detail: pickOr(r, []string{"", "Degraded", "no data"}, "x")}
	case k < 80:
		return Approve{Wave: 1 + r.IntN(len(s.Waves)+1), By: who}
	case k < 84:
		return Pause{By: who}
	case k < 90:
		return Resume{By: who}
	case k < 95:
		return Retry{Cluster: pickOr(r, clusters, ""), By: who}
	case k < 98:
		return SkipCluster{Cluster: pickOr(r, clusters, "nope"), Reason: pickOr(r, []string{"broken", "decommissioned"}, ""), By: who}
	case k < 99:
		return Rollback{By: who}
	default:
		return Abort{By: who}
	}
}

func machineStateJSON(t *testing.T, s State) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal state: %v", err)
	}
	return string(b)
}

// check asserts every promise of one step from old to n and returns the JSON
// encoding of n.
func (p *machineRun) check(old State, oldJSON string, n State, acts []Action, err error) string {
	p.t.Helper()
	if got := machineStateJSON(p.t, old); got != oldJSON {
		p.fail("Transition changed its input state")
	}
	newJSON := machineStateJSON(p.t, n)
	if err != nil {
		if acts != nil {
			p.fail("refused event returned actions %v", acts)
		}
		if newJSON != oldJSON {
			p.fail("refused event (%v) changed the state", err)
		}
		return newJSON
	}
	// At most one wave the campaign drives in flight, and none ahead of an
	// unfinished one.
	active := 0
	var prev *WaveState
	for i, w := range n.Waves {
		if !n.live(w) {
			continue
		}
		if w.Phase != WavePending && !w.Phase.done() {
			active++
		}
		if w.Phase != WavePending && prev != nil && !prev.Phase.done() {
			p.fail("wave %d is %s while wave %d is %s", w.Number, w.Phase, prev.Number, prev.Phase)
		}
		prev = &n.Waves[i]
	}
	if active > 1 {
		p.fail("%d waves in flight at once", active)
	}
	// Posts kept: one per wave at most, on a wave there is, numbered in
	// order; Posted takes its one off.
	on := map[int]bool{}
	for i, post := range n.Posts {
		if w := post.on(); w < 1 || w > len(n.Waves) || on[w] {
			p.fail("post %d kept for wave %d (kept: %v)", post.seq(), w, on)
		}
		on[post.on()] = true
		if a := post.Approval; a != nil && n.Waves[a.Wave-1].ApprovedBy != "" {
			p.fail("the request for wave %d's approval waits to be posted, though %s gave it", a.Wave, n.Waves[a.Wave-1].ApprovedBy)
		}
		if r := post.Report; r != nil && r.About == ReportHalted && old.Phase == CampaignHalted && n.Phase != CampaignHalted && !n.Phase.Final() {
			p.fail("a halt report waits to be posted after the campaign went on as %s", n.Phase)
		}
		if post.seq() > n.PostSeq || i > 0 && post.seq() <= n.Posts[i-1].seq() {
			p.fail("post %d out of order (last numbered %d)", post.seq(), n.PostSeq)
		}
	}
	if e, ok := p.event.(Posted); ok {
		if slices.ContainsFunc(n.Posts, func(q Post) bool { return q.seq() == e.Seq }) {
			p.fail("posted %d, and still kept", e.Seq)
		}
		p.seen["posted"]++
	}
	// Over budget never runs.
	if n.Phase == CampaignRunning && len(n.Failures()) > n.Policy.MaxFailures {
		p.fail("running with %d failures over a budget of %d", len(n.Failures()), n.Policy.MaxFailures)
	}
	if n.Phase == CampaignHalted && old.Phase != CampaignHalted {
		i := slices.IndexFunc(acts, func(a Action) bool { r, ok := a.(PostReport); return ok && r.About == ReportHalted })
		if i < 0 {
			p.fail("halted without a report")
		}
		// The halt may come from the time rules before the event, which can
		// then change the failures (a retry); after a tick nothing follows.
		rep := acts[i].(PostReport)
		if _, tick := p.event.(Tick); tick && !slices.Equal(rep.Failures, n.Failures()) {
			p.fail("halt report lists %v, want %v", rep.Failures, n.Failures())
		}
		if len(rep.Failures) <= n.Policy.MaxFailures && rep.Wave == 0 {
			p.fail("halt report names neither a failed wave nor failures over the budget: %+v", rep)
		}
	}
	// A blue-green step waits for the one before: a cluster enters a
	// pull request of a step only when its earlier steps succeeded, and a
	// rollback never reverts a retire step, nor an in-place wave of a
	// forward-only change.
	for _, a := range acts {
		ow, ok := a.(OpenWave)
		if !ok || n.Waves[ow.Wave-1].Step == "" || n.Waves[ow.Wave-1].Kind == WaveRevert {
			continue
		}
		for _, pr := range ow.PRs {
			for _, c := range pr.Clusters {
				for _, w := range n.Waves[:ow.Wave-1] {
					if i := slices.IndexFunc(w.Clusters, func(x ClusterState) bool { return x.Name == c }); i >= 0 && w.Kind == WaveChange && w.Clusters[i].Phase != ClusterSucceeded {
						p.fail("step wave %d puts %s in a pull request while its step in wave %d is %s", ow.Wave, c, w.Number, w.Clusters[i].Phase)
					}
				}
			}
		}
		if n.Waves[ow.Wave-1].Step != StepGreen {
			p.seen["later step"]++
		}
	}
	for _, w := range n.Waves[len(old.Waves):] {
		if w.Kind != WaveRevert {
			continue
		}
		switch reverted := n.Waves[w.Reverts-1]; {
		case reverted.Step == StepRetire:
			p.fail("revert wave %d reverts the retire step of wave %d", w.Number, reverted.Number)
		case reverted.Step == "" && !n.Policy.Revertible:
			p.fail("revert wave %d reverts wave %d of a forward-only change", w.Number, reverted.Number)
		case reverted.Step != "":
			p.seen["step reverted"]++
		}
	}
	// Final phases stay final; only a rollback follows success or abort.
	if old.Phase.Final() && n.Phase != old.Phase && n.Phase != CampaignRollingBack {
		p.fail("left final phase %s for %s", old.Phase, n.Phase)
	}
	// Evidence is only ever appended.
	for i, w := range n.Waves[:len(old.Waves)] {
		for j, c := range w.Clusters {
			prev := old.Waves[i].Clusters[j].Evidence
			if len(c.Evidence) < len(prev) || !slices.Equal(c.Evidence[:len(prev)], prev) {
				p.fail("evidence of %s was rewritten", c.Name)
			}
		}
	}
	if len(n.History) < len(old.History) || !slices.Equal(n.History[:len(old.History)], old.History) {
		p.fail("campaign history was rewritten")
	}
	// A Retry that took a closed pull request back allows its clusters to be
	// named by one more OpenWave.
	for i, w := range n.Waves[:len(old.Waves)] {
		for j, pr := range w.PRs {
			if j < len(old.Waves[i].PRs) && old.Waves[i].PRs[j].Status == PRStatusClosed && (pr.Status == PRStatusPending || pr.Status == PRStatusRequested) {
				if _, ok := p.event.(Retry); !ok {
					p.fail("pull request of %s in wave %d reopened by %s", pr.Tenant, w.Number, p.event.Kind())
				}
				for _, c := range w.Clusters {
					if c.Tenant == pr.Tenant && c.Phase == ClusterPending {
						p.reopenAllowed[occ(w.Number, c.Name)] = true
					}
				}
			}
		}
	}
	phaseOf := func(s State, wave int, name string) ClusterPhase {
		if wave >= 1 && wave <= len(s.Waves) {
			for _, c := range s.Waves[wave-1].Clusters {
				if c.Name == name {
					return c.Phase
				}
			}
		}
		p.fail("action names unknown cluster %s of wave %d", name, wave)
		return ""
	}
	for _, a := range acts {
		var names []string
		wave := 0
		switch a := a.(type) {
		case OpenWave:
			wave = a.Wave
			if !p.waveOpened[a.Wave] {
				p.waveOpened[a.Wave] = true
				if i := a.Wave - 1; i > 0 && n.live(n.Waves[i-1]) {
					prev := n.Waves[i-1]
					if prev.Phase != WaveSucceeded || (!prev.BakeStart.IsZero() && prev.FinishedAt.Before(prev.BakeStart.Add(n.Policy.Bake))) {
						p.fail("wave %d opened before wave %d finished its bake (%s, bake from %s to %s)", a.Wave, i, prev.Phase, prev.BakeStart, prev.FinishedAt)
					}
				}
			}
			for _, pr := range a.PRs {
				names = append(names, pr.Clusters...)
				// A held-back cluster joining an open pull request asks for
				// it again with every cluster it carries.
				joins := false
				if a.Wave <= len(old.Waves) {
					for _, c := range old.Waves[a.Wave-1].Clusters {
						joins = joins || c.JoinDue && slices.Contains(pr.Clusters, c.Name)
					}
				}
				if joins {
					p.seen["join"]++
				}
				for _, c := range pr.Clusters {
					if joins {
						p.reopenAllowed[occ(a.Wave, c)] = true
					}
					// Pre-flight answered every cluster of the wave first.
					for _, wc := range n.Waves[a.Wave-1].Clusters {
						if wc.Phase == ClusterPreflight {
							p.fail("OpenWave of wave %d while %s waits on pre-flight", a.Wave, wc.Name)
						}
						if wc.Name == c && wc.Phase != ClusterPending && wc.Phase != ClusterInPR {
							p.fail("OpenWave names %s, which is %s", c, wc.Phase)
						}
					}
				}
			}
			// "Edited twice" means named by two OpenWave actions. That is
			// allowed only after a Retry reopened the cluster's closed pull
			// request, and never once its pull request merged.
			for _, c := range names {
				k := occ(a.Wave, c)
				if p.merged[k] {
					p.fail("OpenWave names %s, whose pull request already merged", k)
				}
				if p.opened[k] && !p.reopenAllowed[k] {
					p.fail("OpenWave names %s a second time without a Retry of its closed pull request", k)
				}
				p.opened[k] = true
				delete(p.reopenAllowed, k)
			}
		case RunGates:
			names, wave = a.Clusters, a.Wave
		case RunPreflight:
			names, wave = a.Clusters, a.Wave
			if !n.Policy.Preflight {
				p.fail("RunPreflight without pre-flight in the policy")
			}
			p.seen["ask"]++
			for _, c := range a.Clusters {
				if ph := phaseOf(n, a.Wave, c); ph != ClusterPreflight {
					p.fail("RunPreflight names %s, which is %s", c, ph)
				}
			}
		}
		if len(names) > 0 && n.Phase == CampaignPaused {
			p.fail("%s while paused", a.Kind())
		}
		for _, c := range names {
			if (wave <= len(old.Waves) && phaseOf(old, wave, c) == ClusterSucceeded) || phaseOf(n, wave, c) == ClusterSucceeded {
				p.fail("%s touches succeeded cluster %s", a.Kind(), c)
			}
		}
	}
	for _, w := range n.Waves {
		for _, pr := range w.PRs {
			if pr.Status == PRStatusMerged {
				for _, c := range w.Clusters {
					if c.Tenant == pr.Tenant {
						p.merged[occ(w.Number, c.Name)] = true
					}
				}
			}
		}
	}
	return newJSON
}

func TestTransitionProperties(t *testing.T) {
	t.Parallel()
	seeds, steps := 1000, 100
	if testing.Short() {
		seeds = 200
	}
	finals := map[CampaignPhase]int{}
	seen := map[string]int{}
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		policy, waves := randomMachineInput(r)
		s, err := NewState("prop", policy, waves)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		p := &machineRun{t: t, seed: seed, r: r, s: s, now: machineT0,
			opened: map[string]bool{}, reopenAllowed: map[string]bool{}, merged: map[string]bool{}, waveOpened: map[int]bool{}, seen: seen}
		final := machineStateJSON(t, p.s)
		for p.step = range steps {
			p.now = p.now.Add(time.Duration(r.IntN(20)) * time.Minute)
			p.event = p.randomEvent()
			old, oldJSON := p.s, final
			n, acts, err := Transition(old, p.event, p.now)
			final = p.check(old, oldJSON, n, acts, err)
			p.s = n
		}
		for _, f := range p.s.Failures() {
			if f.Gate == GatePreflight {
				seen["held"]++
			}
		}
		var back State
		if err := json.Unmarshal([]byte(final), &back); err != nil {
			t.Fatalf("seed %d: decode final state: %v", seed, err)
		}
		if again := machineStateJSON(t, back); again != final {
			t.Fatalf("seed %d: final state does not round-trip through JSON:\n%s\n%s", seed, final, again)
		}
		finals[p.s.Phase]++
	}
	// The generator must reach every outcome, or the properties above were
	// checked on too little.
	for _, ph := range []CampaignPhase{CampaignRunning, CampaignHalted, CampaignSucceeded, CampaignAborted, CampaignRollingBack, CampaignRolledBack, CampaignPaused} {
		if finals[ph] == 0 {
			t.Errorf("no sequence ended %s (ends: %v)", ph, finals)
		}
	}
	for _, path := range []string{"ask", "held", "join", "later step", "step reverted", "posted"} {
		if seen[path] == 0 {
			t.Errorf("no sequence took the path %q (%v)", path, seen)
		}
	}
	t.Logf("pre-flight and blue-green paths: %v", seen)
}

func BenchmarkTransition(b *testing.B) {
	p := Policy{Bake: time.Hour, ProgressDeadline: time.Hour, MaxFailures: 5, Gates: []string{"argocd", "eks"}}
	var waves [][]ClusterRef
	for i := range 10 {
		var w []ClusterRef
		for j := range 15 {
			w = append(w, ClusterRef{Name: fmt.Sprintf("w%d-c%d", i, j), Tenant: fmt.Sprintf("t%d", j%5)})
		}
		waves = append(waves, w)
	}
	s, err := NewState("bench", p, changeWaves(waves...))
	if err != nil {
		b.Fatal(err)
	}
	// Add evidence to every cluster, as a long campaign would.
	for i := range s.Waves {
		for j := range s.Waves[i].Clusters {
			for k := range 20 {
				s.Waves[i].Clusters[j].Evidence = append(s.Waves[i].Clusters[j].Evidence, Evidence{At: machineT0, Event: "gate-result", Gate: "eks", Detail: fmt.Sprint(k)})
			}
		}
	}
	s, _, err = Transition(s, ScheduleCampaign{}, machineT0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Transition(s, Tick{CanOpen: true}, machineT0); err != nil {
			b.Fatal(err)
		}
	}
}
