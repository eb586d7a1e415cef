package rollout

// Due lists the work a state says is outstanding, whatever actions were
// emitted before: an OpenWave per wave for the pull requests asked for and
// never reported open (a crash between persisting a state and acting on it
// loses nothing), and, when gates is set, a RunGates per wave for the merged
// clusters still waiting on their gates and for the succeeded clusters of a
// baking wave, and a RunPreflight per wave for the clusters whose pre-flight
// check has no verdict yet (gates are polled: a waiting result is asked again, and a
// failure during the bake fails the wave); last, in any phase, the reports
// and approval requests not yet reported posted (State.Posts). Carrying any
// out again is safe: a pull request is ensured, not created twice, gates
// only read, and a post edits the one status comment it would have written.
func Due(s State, gates bool) []Action {
	return append(s.due(gates), s.posts()...)
}

// due is Due but the posts.
func (s State) due(gates bool) []Action {
	var out []Action
	if s.Phase.acting() {
		out = s.openWaves(PRStatusRequested, true)
	}
	if !gates || (!s.Phase.acting() && s.Phase != CampaignHalted) {
		return out
	}
	for _, w := range s.Waves {
		if !s.live(w) {
			continue
		}
		var names, preflight []string
		for _, c := range w.Clusters {
			if c.Phase == ClusterPreflight {
				preflight = append(preflight, c.Name)
			}
			verifying := (c.Phase == ClusterApplied || c.Phase == ClusterVerifying) && !c.GatesDue
			baking := w.Phase == WaveBaking && c.Phase == ClusterSucceeded
			if verifying || baking {
				names = append(names, c.Name)
			}
		}
		if len(names) > 0 {
			out = append(out, RunGates{Wave: w.Number, Clusters: names})
		}
		if len(preflight) > 0 {
			out = append(out, RunPreflight{Wave: w.Number, Clusters: preflight})
		}
	}
	return out
}

// ScheduleState counts what the calendar needs from a state: pull requests
// open or asked for, those the next wave would open, and when the earlier
// waves started.
func (s State) ScheduleState() ScheduleState {
	var out ScheduleState
	next := true
	for _, w := range s.Waves {
		if !w.OpenedAt.IsZero() {
			out.WavesStarted = append(out.WavesStarted, w.OpenedAt)
		}
		for _, pr := range w.PRs {
			if pr.Status == PRStatusOpen || pr.Status == PRStatusRequested {
				out.OpenPRs++
			}
		}
		if next && s.live(w) && w.Phase == WavePending {
			next = false
			tenants := map[string]bool{}
			for _, c := range w.Clusters {
				if c.Phase != ClusterSkipped {
					tenants[c.Tenant] = true
				}
			}
			out.WavePRs = len(tenants)
		}
	}
	return out
}

// Refresh lists an OpenWave per wave for the pull requests up and not
// merged in the change and clean-up waves the campaign drives: ensuring
// them again regenerates one whose base moved and that now conflicts (the
// planned edits applied again on the new base, never a rebase, never a
// second pull request). Revert pull requests are left as they are.
func Refresh(s State) []Action {
	if !s.Phase.acting() && s.Phase != CampaignPaused && s.Phase != CampaignHalted {
		return nil
	}
	return s.openWaves(PRStatusOpen, false)
}

// openWaves asks again for the pull requests in status of the waves the
// campaign drives, revert waves included or not, each with the clusters
// still waiting on it.
func (s State) openWaves(status PRStatus, reverts bool) []Action {
	var out []Action
	for _, w := range s.Waves {
		if !s.live(w) || (w.Kind == WaveRevert && !reverts) {
			continue
		}
		ow := OpenWave{Wave: w.Number}
		for _, pr := range w.PRs {
			if pr.Status != status {
				continue
			}
			req := PRRequest{Tenant: pr.Tenant, Attempt: pr.Attempt}
			tenantClusters(&w, pr.Tenant, func(c *ClusterState) {
				if c.Phase == ClusterPending || c.Phase == ClusterInPR {
					req.Clusters = append(req.Clusters, c.Name)
				}
			})
			if len(req.Clusters) == 0 && w.Kind == WaveChange {
				continue // every cluster skipped: no clusters would ask for every edit
			}
			ow.PRs = append(ow.PRs, req)
		}
		if len(ow.PRs) > 0 {
			out = append(out, ow)
		}
	}
	return out
}

// WavePR names one tenant's pull request of machine wave Wave.
type WavePR struct {
	Wave   int    `json:"wave"`
	Tenant string `json:"tenant"`
	Number int    `json:"number"`
}

// AwaitingMerge lists the pull requests up and not merged in the waves the
// campaign drives, revert waves included: each needs an approval by the
// owners of its tenant before it merges, and under `merge: auto` the bot
// merges it once it has one. Nothing is listed once the campaign ended.
func AwaitingMerge(s State) []WavePR {
	if !s.Phase.acting() && s.Phase != CampaignPaused && s.Phase != CampaignHalted {
		return nil
	}
	var out []WavePR
	for _, w := range s.Waves {
		if !s.live(w) {
			continue
		}
		for _, pr := range w.PRs {
			if pr.Status == PRStatusOpen && pr.Number != 0 {
				out = append(out, WavePR{Wave: w.Number, Tenant: pr.Tenant, Number: pr.Number})
			}
		}
	}
	return out
}
