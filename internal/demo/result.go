package demo

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/internal/sandbox"
	"github.com/fleetbot/fleetbot/rollout"
)

// Result is the end of a demo: the campaign's final state, each cluster's
// version as EKS reports it. Its JSON form is what `fleetbot demo --json`
// prints.
type Result struct {
	Campaign string                `json:"campaign"`
	State    rollout.CampaignPhase `json:"state"`
	Waves    []WaveResult          `json:"waves"`

	// Final is the campaign's state as the bot recorded it at the end.
	Final rollout.State `json:"-"`
	// Pulls are the campaign's pull requests as the sandbox lists them at
	// the end, by number: the order they were opened in.
	Pulls []Pull `json:"-"`
	// Halts holds what the demo saw at each halt it overcame.
	Halts []Halt `json:"-"`
	// GitHub is what the bot asked of GitHub over the run.
	GitHub GitHubUse `json:"-"`
}

// GitHubUse is what the bot asked of GitHub over a run.
type GitHubUse struct {
	// Hours are the requests the sandbox counted, and refused, per budget
	// (an installation, a user) per simulated hour.
	Hours []sandbox.Usage
	// Calls are the bot's requests by endpoint, method and status.
	Calls []gh.Call
	// Paced is how many requests the bot held back, per identity, so an
	// installation's budget would last until it resets.
	Paced map[string]int
	// Passes is how many reconcile passes the bot's loop started.
	Passes int
}

// WaveResult is one wave at the end.
type WaveResult struct {
	Index        int                 `json:"index"`
	State        rollout.WavePhase   `json:"state"`
	PullRequests []PullRequestResult `json:"pullRequests"`
	Clusters     []ClusterResult     `json:"clusters"`
}

// PullRequestResult is one tenant's pull request of a wave.
type PullRequestResult struct {
	Number int    `json:"number"`
	Tenant string `json:"tenant"`
	Merged bool   `json:"merged"`
}

// ClusterResult is one cluster at the end: its phase in the campaign, the
// control-plane version EKS reports for it (empty once it is gone or being
// deleted) and, for a label change, the label's value on its Argo CD
// cluster secret. In a blue-green step, Green names the cluster replacing
// it and GreenVersion is what EKS reports for that one (empty the same
// way).
type ClusterResult struct {
	Name         string               `json:"name"`
	State        rollout.ClusterPhase `json:"state"`
	Version      string               `json:"version"`
	Label        string               `json:"label,omitempty"`
	Green        string               `json:"green,omitempty"`
	GreenVersion string               `json:"greenVersion,omitempty"`
}

// finish reads the end of the campaign, prints the summary table and
// returns the result.
func (d *demo) finish(ctx context.Context, st rollout.State) (Result, error) {
	pulls, err := d.pulls(ctx, st.Campaign)
	if err != nil {
		return Result{}, err
	}
	r := result(st, d.s.plan, d.version, d.label)
	r.Pulls, r.Halts = pulls, d.halts
	// The bot stops before its calls are counted: a request it has sent
	// and not yet had answered is counted by the sandbox and not yet by
	// the bot, and one it sends meanwhile by whichever is read later.
	if err := d.stack.StopBot(ctx); err != nil {
		return Result{}, fmt.Errorf("stop the bot: %w", err)
	}
	passes, err := d.stack.Counter("fleetbot_reconcile_total")
	if err != nil {
		return Result{}, err
	}
	r.GitHub = GitHubUse{Hours: d.stack.Sandbox.RateUsage(), Calls: d.stack.Calls(), Paced: d.stack.Paced(), Passes: int(passes)}
	fmt.Fprintln(d.opts.Out)
	if err := writeSummary(d.opts.Out, r, d.s.plan); err != nil {
		return Result{}, err
	}
	return r, nil
}

// version returns the control-plane version EKS reports for cluster name,
// which is of the fleet or replaces one of the fleet (of, in the same
// account and region); empty when EKS has no such cluster, or one being
// deleted.
func (d *demo) version(of, name string) string {
	c, ok := d.s.clusters[of]
	if !ok {
		return ""
	}
	ec, ok := d.eks.Cluster(c.Account, c.Region, name)
	if !ok {
		return ""
	}
	if ec.Status == fakeeks.Deleting {
		return ""
	}
	return ec.Version
}

// label returns the changed label's value on a cluster's Argo CD cluster
// secret; empty for a change of another kind.
func (d *demo) label(name string) string {
	if d.s.plan.Change.Kind != rollout.KindLabel {
		return ""
	}
	c, ok := d.argo.Cluster(name)
	if !ok {
		return ""
	}
	return c.Labels[d.s.plan.Change.Key]
}

// result builds the Result of a final state planned as plan; version and
// label tell what each cluster runs.
func result(st rollout.State, plan *rollout.Plan, version func(of, cluster string) string, label func(cluster string) string) Result {
	r := Result{Campaign: st.Campaign, State: st.Phase, Final: st, Waves: []WaveResult{}}
	for _, w := range st.Waves {
		wr := WaveResult{Index: w.Number, State: w.Phase, PullRequests: []PullRequestResult{}, Clusters: []ClusterResult{}}
		for _, pr := range w.PRs {
			wr.PullRequests = append(wr.PullRequests, PullRequestResult{Number: pr.Number, Tenant: pr.Tenant, Merged: pr.Status == rollout.PRStatusMerged})
		}
		pw := w.Number
		if w.Kind == rollout.WaveRevert {
			pw = w.Reverts
		}
		for _, c := range w.Clusters {
			cr := ClusterResult{Name: c.Name, State: c.Phase, Version: version(c.Name, c.Name), Label: label(c.Name)}
			if wc, _, ok := plan.Expected(pw, c.Name, false); ok && wc.Green != "" {
				cr.Green, cr.GreenVersion = wc.Green, version(c.Name, wc.Green)
			}
			wr.Clusters = append(wr.Clusters, cr)
		}
		r.Waves = append(r.Waves, wr)
	}
	return r
}

// writeSummary prints one row per cluster: its wave (environment and
// phase on the wave's first row), its tenant's pull request, its phase and
// its version as EKS reports it.
func writeSummary(w io.Writer, r Result, plan *rollout.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	observed := "EKS"
	if plan.Change.Kind == rollout.KindLabel {
		observed = "ARGO CD " + plan.Change.Key
	}
	fmt.Fprintf(tw, "WAVE\tENV\tWAVE STATE\tPR\tTENANT\tCLUSTER\tCLUSTER STATE\t%s\n", observed)
	for _, wr := range r.Waves {
		env := ""
		if i := wr.Index - 1; i >= 0 && i < len(plan.Waves) {
			env = plan.Waves[i].Env
			if plan.Waves[i].Step != "" {
				env += " " + plan.Waves[i].StepName()
			}
		}
		switch k := r.Final.Waves[wr.Index-1]; k.Kind {
		case rollout.WaveCleanup:
			env = "clean-up"
		case rollout.WaveRevert:
			env = fmt.Sprintf("revert %d", k.Reverts)
		}
		for j, c := range wr.Clusters {
			wave, wenv, wstate := "", "", ""
			if j == 0 {
				wave, wenv, wstate = fmt.Sprint(wr.Index), env, string(wr.State)
			}
			tenant := r.Final.Waves[wr.Index-1].Clusters[j].Tenant
			pr := "-"
			for _, p := range wr.PullRequests {
				if p.Tenant == tenant && p.Number > 0 {
					pr = fmt.Sprintf("#%d", p.Number)
				}
			}
			seen := orNone(c.Version)
			switch {
			case plan.Change.Kind == rollout.KindLabel:
				seen = orNone(c.Label)
			case c.Green != "":
				seen = orGone(c.Version) + ", " + c.Green + " " + orGone(c.GreenVersion)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", wave, wenv, wstate, pr, tenant, c.Name, c.State, seen)
		}
	}
	return tw.Flush()
}

// orGone is a version EKS reports, or "gone" when it has no such cluster.
func orGone(v string) string {
	if v == "" {
		return "gone"
	}
	return v
}
