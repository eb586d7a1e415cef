package rollout

import (
	"fmt"
	"slices"
)

// MachineWaves returns the waves of p the state machine runs, in order: the
// waves that change clusters. Clean-up waves (and any wave without clusters)
// are left to the bot, which opens them once the machine's last wave
// succeeded; they change no cluster's effective value.
func (p *Plan) MachineWaves() []*Wave {
	var out []*Wave
	for i := range p.Waves {
		if w := &p.Waves[i]; !w.Cleanup && len(w.Clusters) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// NewPolicy builds the machine's policy for campaign c run as waves (a
// plan's MachineWaves; wave n of the machine is waves[n-1]) of change.
func NewPolicy(c *Campaign, change PlanChange, waves []*Wave) Policy {
	selected := 0
	var approvals map[int]bool
	for i, w := range waves {
		selected += len(w.Clusters)
		if w.Approval {
			if approvals == nil {
				approvals = map[int]bool{}
			}
			approvals[i+1] = true
		}
	}
	return Policy{
		Bake:             c.Spec.Strategy.Bake.Duration,
		ProgressDeadline: c.Spec.Strategy.ProgressDeadline.Duration,
		MaxFailures:      c.Spec.Strategy.MaxFailures.Of(selected),
		Approvals:        approvals,
		Gates:            slices.Sorted(slices.Values(c.Spec.Gates.Names())),
		Change:           change.Kind,
		Revertible:       change.Kind != KindEKSVersion && change.Revertible,
	}
}

// StartState builds the Pending state the machine starts campaign c from,
// with waves the plan's MachineWaves. It refuses what the machine cannot
// run: a policy CheckPolicy refuses (no gates, to begin with), a wave that
// changes files shared by all tenants along with clusters, or a tenant whose
// clusters of one wave are spread over pull requests in several
// repositories.
func StartState(c *Campaign, change PlanChange, waves []*Wave) (State, error) {
	refs := make([][]ClusterRef, len(waves))
	first := map[string]*Wave{}
	for i, w := range waves {
		if err := checkWavePRs(w); err != nil {
			return State{}, err
		}
		for _, wc := range w.Clusters {
			prev, dup := first[wc.Name]
			if dup && prev.Hop != w.Hop {
				return State{}, fmt.Errorf("cluster %s is upgraded in hop %d (wave %d) and again in hop %d (wave %d): a rollout changes each cluster once; run one campaign per hop, spec.change.eksVersion.to %q first",
					wc.Name, prev.Hop, prev.Index, w.Hop, w.Index, wc.From)
			}
			if !dup {
				first[wc.Name] = w
			}
		}
		refs[i] = make([]ClusterRef, len(w.Clusters))
		for j, wc := range w.Clusters {
			refs[i][j] = ClusterRef{Name: wc.Name, Tenant: wc.Tenant}
		}
	}
	return NewState(c.Metadata.Name, NewPolicy(c, change, waves), refs)
}

// checkWavePRs refuses what the machine cannot follow yet: a tenant's
// clusters of one wave spread over several pull requests (several
// repositories), or a pull request of shared files in a wave that changes
// clusters.
func checkWavePRs(w *Wave) error {
	seen := map[string]string{}
	for _, pr := range w.PullRequests {
		if pr.Admin {
			return fmt.Errorf("wave %d changes files shared by all tenants (%s) along with clusters: not supported yet", w.Index, pr.Repo)
		}
		if prev, ok := seen[pr.Tenant]; ok {
			return fmt.Errorf("wave %d: tenant %s has pull requests in %s and %s: one repository per tenant is supported yet", w.Index, pr.Tenant, prev, pr.Repo)
		}
		seen[pr.Tenant] = pr.Repo
	}
	return nil
}
