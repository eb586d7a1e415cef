package rollout

import "slices"

// Step is where one cluster of a campaign stands now: the wave it is in and
// its phase there.
type Step struct {
	Cluster string `json:"cluster"`
	// Tenant is the cluster's own tenant, also when the wave is a clean-up
	// of shared files.
	Tenant string       `json:"tenant"`
	Wave   int          `json:"wave"`
	Phase  ClusterPhase `json:"phase"`
	// Detail says why it failed or was skipped: the failed gate and what it
	// saw, or the reason given.
	Detail string `json:"detail,omitempty"`
}

// Steps returns each cluster of the campaign's live waves once (the revert
// waves while it rolls back, the others otherwise), at its current step:
// the first of those waves in which it has neither succeeded nor been
// skipped, or the last one holding it when it has in every one. A cluster
// an EKS campaign holds once per hop is thus in its first hop until that
// hop succeeded on it. Clusters come in the order they first appear.
func (s State) Steps() []Step {
	var out []Step
	at := map[string]int{}
	for _, w := range s.Waves {
		if !s.live(w) {
			continue
		}
		for _, c := range w.Clusters {
			i, seen := at[c.Name]
			switch {
			case !seen:
				tenant := s.TenantOf(c.Name)
				if tenant == "" {
					tenant = c.Tenant
				}
				i = len(out)
				at[c.Name] = i
				out = append(out, Step{Cluster: c.Name, Tenant: tenant})
			case !done(out[i].Phase):
				continue // it stands in an earlier wave
			}
			out[i].Wave, out[i].Phase, out[i].Detail = w.Number, s.ClusterPhaseShown(w, c), stepDetail(c)
		}
	}
	return out
}

// done reports whether a cluster in phase p is through its wave for good.
func done(p ClusterPhase) bool { return p == ClusterSucceeded || p == ClusterSkipped }

func stepDetail(c ClusterState) string {
	switch {
	case c.Phase == ClusterSkipped:
		return c.SkipReason
	case c.FailedGate != "":
		return c.FailedGate + ": " + c.FailedDetail
	}
	return ""
}

// Progress is how far a campaign went: its live waves, those through
// (succeeded or skipped), and its clusters at their current step (Steps)
// by phase.
type Progress struct {
	Waves     int `json:"waves"`
	WavesDone int `json:"wavesDone"`
	Clusters  int `json:"clusters"`
	// ByPhase counts the clusters in each phase; phases no cluster is in
	// are left out.
	ByPhase map[ClusterPhase]int `json:"byPhase"`
}

// Done returns the clusters through the campaign: succeeded or skipped.
func (p Progress) Done() int { return p.ByPhase[ClusterSucceeded] + p.ByPhase[ClusterSkipped] }

// Progress counts the campaign's live waves and its clusters by phase.
func (s State) Progress() Progress {
	p := Progress{ByPhase: map[ClusterPhase]int{}}
	for _, w := range s.Waves {
		if !s.live(w) {
			continue
		}
		p.Waves++
		if slices.Contains([]WavePhase{WaveSucceeded, WaveSkipped}, w.Phase) {
			p.WavesDone++
		}
	}
	for _, st := range s.Steps() {
		p.Clusters++
		p.ByPhase[st.Phase]++
	}
	return p
}

// AllUp reports whether every pull request of an opened wave is on
// GitHub: it has some, and each has its number.
func (w WaveState) AllUp() bool {
	if len(w.PRs) == 0 {
		return false
	}
	for _, pr := range w.PRs {
		if pr.Number == 0 {
			return false
		}
	}
	return true
}
