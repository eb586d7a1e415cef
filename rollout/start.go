package rollout

import (
	"fmt"
	"slices"
)

// NewPolicy builds the machine's policy for campaign c planned as p (nil
// for a policy of the campaign file alone): the failure budget counts each
// selected cluster once however many EKS hops it takes, approvals keep the
// plan's wave numbers (machine wave n is plan wave n), and clean-up waves
// are verified by CleanupGates.
func NewPolicy(c *Campaign, p *Plan) Policy {
	gates := slices.Sorted(slices.Values(c.Spec.Gates.Names()))
	pol := Policy{
		Bake:             c.Spec.Strategy.Bake.Duration,
		ProgressDeadline: c.Spec.Strategy.ProgressDeadline.Duration,
		Gates:            gates,
		CleanupGates:     CleanupGates(gates),
		AutoMerge:        c.Spec.Merge == MergeAuto,
	}
	if p == nil {
		return pol
	}
	selected := map[string]bool{}
	for _, w := range p.Waves {
		for _, wc := range w.Clusters {
			selected[wc.Name] = true
		}
		if w.Approval {
			if pol.Approvals == nil {
				pol.Approvals = map[int]bool{}
			}
			pol.Approvals[w.Index] = true
		}
	}
	pol.MaxFailures = c.Spec.Strategy.MaxFailures.Of(len(selected))
	pol.Change, pol.Described = p.Change.Kind, p.Change.Describe()
	pol.HaltUnapproved = c.Spec.Strategy.UnapprovedMerge != UnapprovedRecord
	pol.Revertible = p.Change.Kind != KindEKSVersion && p.Change.Revertible
	pol.Preflight = p.Change.Kind == KindEKSVersion && c.Spec.Gates.EKS != nil && c.Spec.Gates.EKS.Preflight
	return pol
}

// StartState builds the Pending state the machine starts campaign c from,
// planned as p: every wave of the plan, clean-up waves included (see
// StateWaves). It refuses what the machine cannot run: a policy CheckPolicy
// refuses (no gates, to begin with), a wave that changes files shared by all
// tenants along with clusters, or a tenant whose clusters of one wave are
// spread over pull requests in several repositories.
func StartState(c *Campaign, p *Plan) (State, error) {
	waves, err := startWaves(p)
	if err != nil {
		return State{}, err
	}
	return NewState(c.Metadata.Name, NewPolicy(c, p), waves)
}

// CheckStart refuses what StartState refuses, without making the state:
// what a plan is asked before serve would start it (a state holds every
// cluster of every wave).
func CheckStart(c *Campaign, p *Plan) error {
	waves, err := startWaves(p)
	if err != nil {
		return err
	}
	return checkNewState(c.Metadata.Name, NewPolicy(c, p), waves)
}

// startWaves is StateWaves of a plan whose waves' pull requests the
// machine can follow (checkWavePRs).
func startWaves(p *Plan) ([]WaveSpec, error) {
	for i := range p.Waves {
		if w := &p.Waves[i]; !w.Cleanup {
			if err := checkWavePRs(w); err != nil {
				return nil, err
			}
		}
	}
	return StateWaves(p)
}

// checkWavePRs refuses what the machine cannot follow yet: a tenant's
// clusters of one wave spread over several pull requests (several
// repositories), a pull request of shared files in a wave that changes
// clusters through tenants' pull requests, or a tenant's pull request in a
// shared wave (whose clusters wait on the fleet admins' one).
func checkWavePRs(w *Wave) error {
	seen := make(map[string]string, len(w.PullRequests))
	for _, pr := range w.PullRequests {
		tenant := pr.Tenant
		switch {
		case pr.Admin && !w.Shared:
			return fmt.Errorf("wave %d changes files shared by all tenants (%s) along with clusters: not supported yet", w.Index, pr.Repo)
		case !pr.Admin && w.Shared:
			return fmt.Errorf("wave %d changes files shared by all tenants along with tenant %s's files: not supported yet", w.Index, pr.Tenant)
		case pr.Admin:
			tenant = SharedTenant
		}
		if prev, ok := seen[tenant]; ok {
			return fmt.Errorf("wave %d: %s pull requests in %s and %s: one repository per tenant is supported yet", w.Index, prOwner(pr), prev, pr.Repo)
		}
		seen[tenant] = pr.Repo
	}
	return nil
}

// prOwner names who a pull request is for, with the verb that follows.
func prOwner(pr PullRequest) string {
	if pr.Admin {
		return "the fleet admins have"
	}
	return "tenant " + pr.Tenant + " has"
}
