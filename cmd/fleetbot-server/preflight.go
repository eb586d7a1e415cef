package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// preflightConcurrency is how many clusters `plan --preflight` asks EKS
// about at once.
const preflightConcurrency = 8

// writePreflight asks EKS, through the campaign's eks gate role, whether
// each cluster of plan p is ready for its first hop, and writes what it
// would hold back, the warnings, and what it could not ask. clusters are
// the inventory's, for each cluster's account and region.
func writePreflight(ctx context.Context, w io.Writer, c *rollout.Campaign, p *rollout.Plan, clusters []gitops.Cluster) error {
	check, err := gate.NewPreflight(*c.Spec.Gates.EKS)
	if err != nil {
		return fmt.Errorf("--preflight: spec.gates.eks: %w", err)
	}
	byName := make(map[string]*gitops.Cluster, len(clusters))
	for i := range clusters {
		byName[clusters[i].Name] = &clusters[i]
	}
	var targets []gate.Target
	wave := map[string]int{} // each cluster's first wave
	for _, pw := range p.Waves {
		if pw.Cleanup || pw.Step != "" {
			continue // a blue-green step asks nothing: its green cluster is new
		}
		for _, wc := range pw.Clusters {
			if _, ok := wave[wc.Name]; ok {
				continue // a later hop: asked once the cluster made the first
			}
			cl, ok := byName[wc.Name]
			if !ok {
				return fmt.Errorf("--preflight: cluster %s of wave %d is not in the inventory", wc.Name, pw.Index)
			}
			wave[wc.Name] = pw.Index
			targets = append(targets, gate.Target{
				Campaign: c.Metadata.Name, Cluster: wc.Name, Tenant: wc.Tenant, Env: wc.Env, Fleet: wc.Fleet,
				Region: cl.Region, Account: cl.Account, Change: rollout.KindEKSVersion, Version: wc.To,
			})
		}
	}
	results := gate.NewRunner([]gate.Gate{check}, time.Now, gate.WithConcurrency(preflightConcurrency)).Run(ctx, targets)
	slices.SortStableFunc(results, func(a, b gate.Result) int { return wave[a.Cluster] - wave[b.Cluster] })
	var held, waiting int
	fmt.Fprintf(w, "\nPre-flight: EKS asked about %d clusters, each for its first hop\n", len(results))
	for _, r := range results {
		verdict, detail := "ready", r.Detail
		switch {
		case r.Err != nil:
			waiting++
			verdict, detail = "not asked", r.Err.Error()
		case r.Outcome == rollout.GateFailed:
			held++
			verdict = "held back"
		case r.Outcome == rollout.GateWaiting:
			waiting++
			verdict = "not ready"
		}
		fmt.Fprintf(w, "  %-10s %s (wave %d): %s\n", verdict, r.Cluster, wave[r.Cluster], detail)
	}
	fmt.Fprintf(w, "%d ready, %d held back, %d not answered.\n", len(results)-held-waiting, held, waiting)
	if held > 0 {
		fmt.Fprintf(w, "Held-back clusters stay out of their pull request and count against the failure budget (%s).\n", c.Spec.Strategy.MaxFailures)
	}
	return nil
}
