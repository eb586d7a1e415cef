package rollout

import (
	"fmt"
)

// StateWaves turns a plan's waves into the machine's, in the plan's order,
// so machine wave n is plan wave n. A change wave holds its clusters under
// their tenants; a shared wave, whose one pull request is the fleet
// admins', under SharedTenant. A clean-up wave changes no cluster's value, so it holds the
// clusters it must verify again: every cluster of the change waves, under
// its tenant when the tenant has a pull request in the wave, else under
// SharedTenant when a pull request of shared files carries the clean-up;
// a cluster neither touches is not in the wave.
func StateWaves(p *Plan) ([]WaveSpec, error) {
	n := 0
	for _, w := range p.Waves {
		if !w.Cleanup {
			n += len(w.Clusters)
		}
	}
	changed := make([]ClusterRef, 0, n) // in the order they first change
	seen := make(map[ClusterRef]bool, n)
	out := make([]WaveSpec, 0, len(p.Waves))
	for i, w := range p.Waves {
		if w.Index != i+1 {
			return nil, fmt.Errorf("plan wave %d is numbered %d", i+1, w.Index)
		}
		if !w.Cleanup {
			spec := WaveSpec{Step: w.Step, Clusters: make([]ClusterRef, 0, len(w.Clusters))}
			for _, c := range w.Clusters {
				ref := ClusterRef{Name: c.Name, Tenant: c.Tenant}
				if w.Shared {
					spec.Clusters = append(spec.Clusters, ClusterRef{Name: c.Name, Tenant: SharedTenant})
				} else {
					spec.Clusters = append(spec.Clusters, ref)
				}
				if !seen[ref] {
					seen[ref] = true
					changed = append(changed, ref)
				}
			}
			out = append(out, spec)
			continue
		}
		own, shared := map[string]bool{}, false
		for _, pr := range w.PullRequests {
			if pr.Admin {
				shared = true
			} else {
				own[pr.Tenant] = true
			}
		}
		kept := 0
		for _, c := range changed {
			if own[c.Tenant] || shared {
				kept++
			}
		}
		spec := WaveSpec{Cleanup: true, Clusters: make([]ClusterRef, 0, kept)}
		for _, c := range changed {
			switch {
			case own[c.Tenant]:
				spec.Clusters = append(spec.Clusters, c)
			case shared:
				spec.Clusters = append(spec.Clusters, ClusterRef{Name: c.Name, Tenant: SharedTenant})
			}
		}
		out = append(out, spec)
	}
	return out, nil
}

// CleanupGates picks, of a campaign's gates, those that verify a clean-up
// wave: the Argo CD gate, whose cluster-secret label check shows each
// cluster still carries the new value. The others watch a change being
// carried out (a Terraform apply, a new version), which a clean-up is not.
func CleanupGates(gates []string) []string {
	var out []string
	for _, g := range gates {
		if g == GateArgoCD {
			out = append(out, g)
		}
	}
	return out
}

// LifecycleGates picks, of a campaign's gates, those that verify a
// blue-green step that adds or removes a cluster: Terraform's apply, Argo
// CD's cluster secret and applications, EKS's cluster. Prometheus judges a
// cluster carrying traffic, which a green cluster does not yet and a
// removed one no longer does; it verifies the traffic steps.
func LifecycleGates(gates []string) []string {
	var out []string
	for _, g := range gates {
		if g != GatePrometheus {
			out = append(out, g)
		}
	}
	return out
}
