package demo_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/demo"
	"github.com/fleetbot/fleetbot/rollout"
)

// withBudget rewrites the scenario's campaign file to tolerate n failures.
func (s scenario) withBudget(t *testing.T, n string) {
	t.Helper()
	src, err := os.ReadFile(s.campaign)
	require.NoError(t, err)
	require.Contains(t, string(src), "maxFailures: 0")
	edited := strings.Replace(string(src), "maxFailures: 0", "maxFailures: "+n, 1)
	require.Contains(t, edited, "preflight: true", "the demo campaign asks pre-flight")
	require.NoError(t, os.WriteFile(s.campaign, []byte(edited), 0o644))
}

func (s scenario) runHolding(t *testing.T, hold string) (demo.Result, string, string) {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := demo.Run(t.Context(), demo.Options{FleetDir: s.fleet, CampaignFile: s.campaign, Hold: []string{hold}, Out: &out, Speed: testSpeed, Dir: dir})
	require.NoError(t, err, "output so far:\n%s", out.String())
	t.Logf("demo output:\n%s", out.String())
	return res, out.String(), dir
}

// sharedWaveCluster returns a wave and a cluster of it whose tenant has
// another cluster in the same wave: held back, its tenant's pull request
// still opens, without it.
func sharedWaveCluster(t *testing.T, p *rollout.Plan) (rollout.Wave, rollout.WaveCluster) {
	t.Helper()
	for _, w := range p.Waves {
		seen := map[string]bool{}
		for _, c := range w.Clusters {
			if seen[c.Tenant] {
				return w, c
			}
			seen[c.Tenant] = true
		}
	}
	require.FailNow(t, "no wave has two clusters of one tenant")
	return rollout.Wave{}, rollout.WaveCluster{}
}

// TestDemoPreflightHolds gives one cluster an upgrade insight in ERROR: the
// pre-flight check keeps it out of its tenant's pull request, the failure
// budget of 1 absorbs it, its wave and the campaign go on, and the cluster
// stays at 1.29 in EKS and on main.
func TestDemoPreflightHolds(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "{envs: [dev]}")
	s.withBudget(t, "1")
	w, held := sharedWaveCluster(t, s.plan)
	res, out, dir := s.runHolding(t, held.Name)

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	assert.Empty(t, res.Halts)
	c := clusterState(t, res.Final, held.Name)
	assert.Equal(t, rollout.ClusterFailed, c.Phase)
	assert.Equal(t, rollout.GatePreflight, c.FailedGate)
	assert.Contains(t, c.FailedDetail, `insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR`)
	for _, ev := range c.Evidence {
		assert.NotEqual(t, "pr-requested", ev.Event, "%s was put in a pull request", held.Name)
	}
	for _, rw := range res.Waves {
		for _, rc := range rw.Clusters {
			if rc.Name == held.Name {
				assert.Equal(t, "1.29", rc.Version, "EKS keeps %s at its version", held.Name)
				continue
			}
			assert.Equal(t, rollout.ClusterSucceeded, rc.State, rc.Name)
			assert.Equal(t, "1.30", rc.Version, rc.Name)
		}
	}
	// Its tenant's pull request of the wave opened and merged all the same.
	checkPulls(t, s.plan, res.Pulls)
	assert.NotEmpty(t, pullsOf(res.Pulls, w.Index))
	checkMain(t, s, dir, held.Name)
	assert.Contains(t, out, "1 failed within the budget of 1 ("+held.Name+" at preflight)")
	assert.NotContains(t, out, held.Name+")", "no pull request lists %s", held.Name)
}

// TestDemoPreflightRetry holds one cluster back with no failure budget: the
// campaign halts before any pull request of the wave opens; the owners fix
// the cause, the cluster is retried (pre-flight asks EKS again and passes)
// and the campaign resumed, and the cluster is upgraded with its wave.
func TestDemoPreflightRetry(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "{envs: [dev]}")
	s.withBudget(t, "0")
	w := s.plan.Waves[1]
	held := w.Clusters[0]
	res, out, dir := s.runHolding(t, held.Name)

	require.Len(t, res.Halts, 1, "one halt")
	h := res.Halts[0]
	assert.Equal(t, w.Index, h.Wave)
	fs := h.State.Failures()
	require.Len(t, fs, 1)
	assert.Equal(t, held.Name, fs[0].Cluster)
	assert.Equal(t, rollout.GatePreflight, fs[0].Gate)
	assert.Empty(t, pullsOf(h.Pulls, w.Index), "no pull request of wave %d opened before its pre-flight answers", w.Index)
	// The dashboard issue says why, and what the check saw.
	assert.Contains(t, h.Dashboard, "**Halted:** 1 cluster failed or timed out, over the budget of 0")
	assert.Contains(t, h.Dashboard, "Failed (preflight)")
	assert.Contains(t, h.Dashboard, `insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR`)

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	c := clusterState(t, res.Final, held.Name)
	assert.Equal(t, rollout.ClusterSucceeded, c.Phase)
	var events []string
	for _, ev := range c.Evidence {
		events = append(events, ev.Event)
	}
	assert.Subset(t, events, []string{"preflight-requested", "preflight", "retry", "pr-requested"})
	checkPulls(t, s.plan, res.Pulls)
	checkSequential(t, res)
	checkMain(t, s, dir)
	assert.Contains(t, out, held.Name+": its callers moved off the removed API; retried by")
}

// TestDemoPreflightJoins holds one cluster back within the budget; its
// owners fix the cause and comment `/fleet retry` on their open pull
// request of the wave: pre-flight passes, the cluster joins that pull
// request (the branch rebuilt, the description rewritten), and it is
// upgraded with its wave.
func TestDemoPreflightJoins(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "{envs: [dev]}")
	s.withBudget(t, "1")
	w, held := sharedWaveCluster(t, s.plan)
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := demo.Run(t.Context(), demo.Options{FleetDir: s.fleet, CampaignFile: s.campaign, Hold: []string{held.Name}, RetryHeld: true, Out: &out, Speed: testSpeed, Dir: dir})
	require.NoError(t, err, "output so far:\n%s", out.String())
	t.Logf("demo output:\n%s", out.String())

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	assert.Empty(t, res.Halts)
	c := clusterState(t, res.Final, held.Name)
	assert.Equal(t, rollout.ClusterSucceeded, c.Phase)
	var joined bool
	for _, ev := range c.Evidence {
		joined = joined || ev.Event == "pr-requested" && strings.HasPrefix(ev.Detail, "joins #")
	}
	assert.True(t, joined, "%s joined its tenant's pull request: %+v", held.Name, c.Evidence)
	checkPulls(t, s.plan, res.Pulls)
	assert.Len(t, pullsOf(res.Pulls, w.Index), len(w.PullRequests), "no second pull request for the tenant")
	// Its description, rewritten, lists the cluster and what pre-flight said.
	for _, p := range pullsOf(res.Pulls, w.Index) {
		if p.Tenant == held.Tenant {
			assert.Contains(t, p.Body, "| "+held.Name+" | "+held.Env+" |")
			assert.Contains(t, p.Body, "**Pre-flight**: EKS said, before this pull request opened:\n")
			assert.Contains(t, p.Body, "- `"+held.Name+"`: cluster "+held.Name+" passed pre-flight for 1.30 with 1 warning: add-on kube-proxy")
		}
	}
	checkMain(t, s, dir)
	assert.Contains(t, out.String(), "asked `/fleet retry "+held.Name+"` on #")
}
