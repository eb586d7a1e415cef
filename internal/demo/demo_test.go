package demo_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/demo"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// testSpeed compresses the clock more than the default: the sample
// campaign's 10m bake takes a quarter of a second.
const testSpeed = 2400

// testDeadline replaces the sample campaign's 2h progress deadline: at
// testSpeed 2h is 3 seconds of wall time, which a machine busy with the
// rest of the race-enabled suite may need for a reconcile pass or two;
// 12h is 18 seconds, so a timeout in these tests means a stuck gate.
const testDeadline = "progressDeadline: 12h"

// scenario is the example fleet and the demo campaign, planned.
type scenario struct {
	fleet, campaign string
	plan            *rollout.Plan
}

// newScenario plans the demo campaign over the example fleet; a selector,
// when given, replaces the campaign's `selector: {}` (every cluster) so a
// test can run a shorter rollout of the same campaign.
func newScenario(t *testing.T, selector string) scenario {
	t.Helper()
	return newScenarioOf(t, "eks-1-30.yaml", selector)
}

// newScenarioOf is newScenario with campaign file examples/demo/file.
func newScenarioOf(t *testing.T, file, selector string) scenario {
	t.Helper()
	root := testenv.ModuleRoot(t)
	s := scenario{fleet: filepath.Join(root, "examples", "fleet"), campaign: filepath.Join(root, "examples", "demo", file)}
	src, err := os.ReadFile(s.campaign)
	require.NoError(t, err)
	edited := strings.Replace(string(src), "progressDeadline: 2h", testDeadline, 1)
	require.NotEqual(t, string(src), edited, "the demo campaign's progress deadline is 2h")
	if selector != "" {
		narrowed := strings.Replace(edited, "selector: {}", "selector: "+selector, 1)
		require.NotEqual(t, edited, narrowed, "the demo campaign selects with `selector: {}`")
		edited = narrowed
	}
	src = []byte(edited)
	s.campaign = filepath.Join(t.TempDir(), "eks-1-30.yaml")
	require.NoError(t, os.WriteFile(s.campaign, src, 0o644))
	s.replan(t)
	return s
}

// replan plans the scenario's campaign file over its fleet directory.
func (s *scenario) replan(t *testing.T) {
	t.Helper()
	src, err := os.ReadFile(s.campaign)
	require.NoError(t, err)
	inv, err := gitops.Load(t.Context(), []string{s.fleet})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	f, err := inv.Fleet()
	require.NoError(t, err)
	c, err := rollout.ParseCampaign(s.campaign, src)
	require.NoError(t, err)
	s.plan, err = rollout.PlanCampaign(c, f)
	require.NoError(t, err)
}

func (s scenario) run(t *testing.T, fail ...string) (demo.Result, string, string) {
	t.Helper()
	return s.runWith(t, demo.Options{Fail: fail})
}

// TestDemoRollsOut runs the demo campaign to the end: every cluster the
// plan changes is at 1.30 in EKS and on the main branch, each wave had one
// merged pull request per tenant, and each wave opened only after the one
// before it baked.
func TestDemoRollsOut(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "")
	require.Greater(t, len(s.plan.Waves), 3, "the demo needs four waves or more")
	res, out, dir := s.run(t)

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	assert.Equal(t, s.plan.Campaign, res.Campaign)
	assert.Empty(t, res.Halts)
	require.Len(t, res.Waves, len(s.plan.Waves))
	for i, pw := range s.plan.Waves {
		w := res.Waves[i]
		assert.Equal(t, pw.Index, w.Index)
		assert.Equal(t, rollout.WaveSucceeded, w.State, "wave %d", w.Index)
		var wantTenants, gotTenants []string
		for _, pr := range pw.PullRequests {
			wantTenants = append(wantTenants, pr.Tenant)
		}
		for _, pr := range w.PullRequests {
			gotTenants = append(gotTenants, pr.Tenant)
			assert.True(t, pr.Merged, "wave %d pull request #%d merged", w.Index, pr.Number)
		}
		assert.ElementsMatch(t, wantTenants, gotTenants, "one pull request per tenant in wave %d", w.Index)
		require.Len(t, w.Clusters, len(pw.Clusters), "wave %d", w.Index)
		for j, c := range w.Clusters {
			assert.Equal(t, pw.Clusters[j].Name, c.Name)
			assert.Equal(t, rollout.ClusterSucceeded, c.State, c.Name)
			assert.Equal(t, "1.30", c.Version, "EKS version of %s", c.Name)
		}
	}
	checkPulls(t, s.plan, res.Pulls)
	checkSequential(t, res)
	checkMain(t, s, dir)

	for _, want := range []string{
		"wave 1/" + fmt.Sprint(len(s.plan.Waves)) + " (dev, canary) opens: #2 ", // #1 is the campaign's dashboard issue
		"approved and merged by ",
		// Pre-flight before each wave: kube-proxy has a build per minor.
		"a-dev-cpu-1  preflight passed: cluster a-dev-cpu-1 passed pre-flight for 1.30 with 1 warning: add-on kube-proxy v1.29.0-eksbuild.1 must move to v1.30.0-eksbuild.1 for 1.30",
		"terraform passed: terraform-apply (a-dev-cpu-1) succeeded",
		"argocd    passed: 2 applications Synced and Healthy",
		"eks       passed: cluster a-dev-cpu-1 is ACTIVE at 1.30",
		"wave 1: every cluster settled; baking 10m0s",
		"wave 1: bake over, no failure; wave succeeded",
		fmt.Sprintf("[##############################] %d/%d clusters upgraded", countClusters(s.plan), countClusters(s.plan)),
		"campaign eks-1-30 succeeded",
		"WAVE  ENV      WAVE STATE",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "\x1b", "no terminal control codes")
}

// TestDemoHaltsAndResumes makes one cluster of a middle wave fail: the
// campaign halts with no pull request of a later wave, then, once the
// cluster is skipped and the campaign resumed, runs to the end without
// upgrading it. It runs the demo campaign on dev and staging only, which
// is as telling and twice as quick.
func TestDemoHaltsAndResumes(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "{envs: [dev, staging]}")
	require.Len(t, s.plan.Waves, 5)
	failWave := s.plan.Waves[1]
	fail := failWave.Clusters[0].Name
	res, out, dir := s.run(t, fail)

	require.Len(t, res.Halts, 1, "one halt")
	h := res.Halts[0]
	assert.Equal(t, failWave.Index, h.Wave)
	assert.Equal(t, rollout.CampaignHalted, h.State.Phase)
	fs := h.State.Failures()
	require.Len(t, fs, 1)
	assert.Equal(t, fail, fs[0].Cluster)
	assert.Equal(t, rollout.ClusterFailed, fs[0].Phase)
	// Terraform reports the failed apply, Argo CD the Degraded
	// applications after it: whichever the bot asks first fails the cluster.
	assert.Contains(t, []string{rollout.GateTerraform, rollout.GateArgoCD}, fs[0].Gate)
	assert.Contains(t, fs[0].Detail, fail)
	require.NotEmpty(t, h.Pulls)
	for _, p := range h.Pulls {
		assert.LessOrEqual(t, p.Wave, failWave.Index, "pull request #%d (%s) exists while halted at wave %d", p.Number, p.Branch, failWave.Index)
	}
	// The bot's halt report, on each pull request of the halted wave,
	// names the cluster, the gate and what the gate saw.
	for _, p := range h.Pulls {
		if p.Wave != failWave.Index {
			continue
		}
		report := h.Reports[p.Number]
		require.NotEmpty(t, report, "halt report on #%d", p.Number)
		assert.Contains(t, report, "| `"+fail+"` |", "#%d", p.Number)
		assert.Contains(t, report, "| "+fs[0].Gate+" |", "#%d", p.Number)
	}
	for _, w := range h.State.Waves[failWave.Index:] {
		assert.Equal(t, rollout.WavePending, w.Phase, "wave %d while halted", w.Number)
		assert.Empty(t, w.PRs, "wave %d while halted", w.Number)
	}

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	for _, w := range res.Waves {
		assert.Equal(t, rollout.WaveSucceeded, w.State, "wave %d", w.Index)
		for _, c := range w.Clusters {
			if c.Name == fail {
				assert.Equal(t, rollout.ClusterSkipped, c.State)
				assert.Equal(t, "1.29", c.Version, "EKS keeps %s at its version", fail)
				continue
			}
			assert.Equal(t, rollout.ClusterSucceeded, c.State, c.Name)
			assert.Equal(t, "1.30", c.Version, c.Name)
		}
	}
	skipped := clusterState(t, res.Final, fail)
	assert.True(t, strings.HasPrefix(skipped.SkipReason, "demo: "), skipped.SkipReason)
	checkPulls(t, s.plan, res.Pulls)
	checkSequential(t, res)
	// The failed cluster's pull request merged: main says 1.30, EKS does not.
	checkMain(t, s, dir)

	for _, want := range []string{
		"HALTED: 1 cluster failed or timed out, over the budget of 0",
		fmt.Sprintf("wave %d, %s of %s: Failed at the %s gate, which saw: ", failWave.Index, fail, failWave.Clusters[0].Tenant, fs[0].Gate),
		fmt.Sprintf("halt holds: %d pull requests exist, none of a wave after %d", len(h.Pulls), failWave.Index),
		"the halt report is on the wave's pull requests: #",
		fail + "  skipped by pat: demo: ",
		"campaign resumed by pat",
		", 1 skipped",
	} {
		assert.Contains(t, out, want)
	}
}

// TestDemoRefusesUnknownCluster refuses a --fail name the campaign does
// not change, before starting anything.
func TestDemoRefusesUnknownCluster(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "")
	tests := []struct{ name, cluster string }{
		{"not in the fleet", "z-dev-cpu-9"},
		{"already at the target", "b-dev-cpu-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := demo.Run(t.Context(), demo.Options{FleetDir: s.fleet, CampaignFile: s.campaign, Fail: []string{tt.cluster}, Dir: t.TempDir()})
			var unknown *demo.UnknownClusterError
			require.ErrorAs(t, err, &unknown)
			assert.Equal(t, tt.cluster, unknown.Cluster)
			assert.Len(t, unknown.Valid, countClusters(s.plan))
			assert.Contains(t, err.Error(), `cluster "`+tt.cluster+`" is not one the campaign changes; it changes 27, such as a-dev-cpu-1, b-dev-gpu-1`)
		})
	}
}

// checkPulls checks that the campaign made exactly one pull request per
// tenant per wave, all merged.
func checkPulls(t *testing.T, plan *rollout.Plan, pulls []demo.Pull) {
	t.Helper()
	var want, got []string
	for _, w := range plan.Waves {
		for _, pr := range w.PullRequests {
			want = append(want, fmt.Sprintf("%d/%s", w.Index, pr.Tenant))
		}
	}
	for _, p := range pulls {
		got = append(got, fmt.Sprintf("%d/%s", p.Wave, p.Tenant))
		assert.True(t, p.Merged, "pull request #%d (%s) merged", p.Number, p.Branch)
	}
	assert.ElementsMatch(t, want, got, "one pull request per tenant per wave, no more")
}

// checkSequential checks that each wave opened only after the one before
// it baked: in the bot's state (bake times against the policy, opening
// after the end of the bake) and in the sandbox (every pull request of a
// wave numbered after all of the wave before).
func checkSequential(t *testing.T, res demo.Result) {
	t.Helper()
	st := res.Final
	for i := 1; i < len(st.Waves); i++ {
		prev, w := st.Waves[i-1], st.Waves[i]
		require.False(t, prev.BakeUntil.IsZero(), "wave %d baked", prev.Number)
		assert.Equal(t, st.Policy.Bake, prev.BakeUntil.Sub(prev.BakeStart), "wave %d bake", prev.Number)
		assert.False(t, prev.FinishedAt.Before(prev.BakeUntil), "wave %d finished before its bake ended", prev.Number)
		assert.False(t, w.OpenedAt.Before(prev.FinishedAt), "wave %d opened at %s, before wave %d finished at %s", w.Number, w.OpenedAt, prev.Number, prev.FinishedAt)
		last := slices.MaxFunc(pullsOf(res.Pulls, prev.Number), func(a, b demo.Pull) int { return a.Number - b.Number })
		first := slices.MinFunc(pullsOf(res.Pulls, w.Number), func(a, b demo.Pull) int { return a.Number - b.Number })
		assert.Less(t, last.Number, first.Number, "wave %d's pull requests come after wave %d's", w.Number, prev.Number)
	}
}

func pullsOf(pulls []demo.Pull, wave int) []demo.Pull {
	var out []demo.Pull
	for _, p := range pulls {
		if p.Wave == wave {
			out = append(out, p)
		}
	}
	return out
}

// checkMain clones the sandbox's fleet repository and checks each
// cluster's version on main: 1.30 for those the plan changes, as in the
// example fleet for every other one and for those kept back.
func checkMain(t *testing.T, s scenario, dir string, kept ...string) {
	t.Helper()
	before, err := gitops.Load(t.Context(), []string{s.fleet})
	require.NoError(t, err)
	want := map[string]string{}
	for _, c := range before.Clusters {
		want[c.Name] = c.Version
	}
	for _, w := range s.plan.Waves {
		for _, c := range w.Clusters {
			if !slices.Contains(kept, c.Name) {
				want[c.Name] = "1.30"
			}
		}
	}
	clone := t.TempDir()
	out, err := exec.CommandContext(t.Context(), "git", "clone", "-q", filepath.Join(dir, "sandbox", "repos", "acme", "fleet.git"), clone).CombinedOutput()
	require.NoError(t, err, "%s", out)
	after, err := gitops.Load(t.Context(), []string{clone})
	require.NoError(t, err)
	require.NoError(t, after.Err())
	got := map[string]string{}
	for _, c := range after.Clusters {
		got[c.Name] = c.Version
	}
	assert.Equal(t, want, got, "versions on main")
}

func countClusters(plan *rollout.Plan) int {
	n := 0
	for _, w := range plan.Waves {
		n += len(w.Clusters)
	}
	return n
}

func clusterState(t *testing.T, st rollout.State, name string) rollout.ClusterState {
	t.Helper()
	for _, w := range st.Waves {
		for _, c := range w.Clusters {
			if c.Name == name {
				return c
			}
		}
	}
	require.FailNow(t, "no cluster "+name)
	return rollout.ClusterState{}
}
