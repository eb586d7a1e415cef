package demo_test

import (
	"fmt"
	"net"
	"os"
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

// blueGreenScenario is the demo's blue-green campaign
// (examples/demo/eks-1-30-blue-green.yaml: prod replaced blue-green,
// traffic in two steps) on tenant-c's environments envs.
func blueGreenScenario(t *testing.T, envs string) scenario {
	t.Helper()
	return newScenarioOf(t, "eks-1-30-blue-green.yaml", "{tenants: [tenant-c], envs: "+envs+"}")
}

// mainFiles is the fleet as the sandbox's main branch holds it at the
// end, and a reader of its files ("(missing)" for one that is not there).
func mainFiles(t *testing.T, dir string) (*gitops.Inventory, func(string) string) {
	t.Helper()
	inv, clone := mainOf(t, dir)
	return inv, func(rel string) string {
		b, err := os.ReadFile(filepath.Join(clone, rel))
		if os.IsNotExist(err) {
			return "(missing)"
		}
		require.NoError(t, err)
		return string(b)
	}
}

// TestDemoBlueGreen upgrades tenant-c's staging in place and its prod
// blue-green, traffic in two steps: each prod wave takes four pull requests
// (green, 50%, 100%, retire), each merged, gated and baked before the
// next; at the end every green cluster runs 1.30 in EKS and Argo CD, with
// all of the traffic and its blue one's labels and add-on values, and
// every blue cluster is gone from EKS, Argo CD and the blueprint, its own
// files with it.
func TestDemoBlueGreen(t *testing.T) {
	t.Parallel()
	s := blueGreenScenario(t, "[staging, prod]")
	// The fleet keeps add-on values in a hierarchy of its own too, and the
	// canary has a values file of its own.
	values := "addons/tenants/tenant-c/environments/prod/clusters/c-prod-cpu-1/metrics-server/values.yaml"
	greenValues := strings.Replace(values, "c-prod-cpu-1", "c-prod-cpu-1-g1", 1)
	fleet := filepath.Join(t.TempDir(), "fleet")
	require.NoError(t, os.CopyFS(fleet, os.DirFS(s.fleet)))
	layout, err := os.ReadFile(filepath.Join(fleet, gitops.LayoutFile))
	require.NoError(t, err)
	layout = append(layout, "\nhierarchies:\n  metrics-server:\n    paths:\n      - addons/tenants/{tenant}/environments/{env}/clusters/{cluster}/metrics-server/values.yaml\n"...)
	require.NoError(t, os.WriteFile(filepath.Join(fleet, gitops.LayoutFile), layout, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(fleet, values)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fleet, values), []byte("# c-prod-cpu-1's own\nreplicas: 3\n"), 0o644))
	s.fleet = fleet
	s.replan(t)
	var steps []string
	var blues []rollout.WaveCluster
	for _, w := range s.plan.Waves {
		if w.Env == "prod" {
			steps = append(steps, w.StepName())
			if w.Step == rollout.StepGreen {
				blues = append(blues, w.Clusters...)
			}
		} else {
			require.Empty(t, w.Step, "wave %d (%s) is in place", w.Index, w.Env)
		}
	}
	require.NotEmpty(t, blues)
	require.Equal(t, 0, len(steps)%4)
	for i := 0; i < len(steps); i += 4 {
		assert.Equal(t, []string{"green", "traffic 50%", "traffic 100%", "retire"}, steps[i:i+4])
	}
	seed := map[string]string{}
	for _, rel := range []string{"tenants/tenant-c/prod.yaml", "addons/tenants/tenant-c/environments/prod/clusters/c-prod-cpu-1/fleet/fleet-secret/values.yaml", values} {
		b, err := os.ReadFile(filepath.Join(s.fleet, rel))
		require.NoError(t, err)
		seed[rel] = string(b)
	}

	res, out, dir := s.run(t)

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	assert.Empty(t, res.Halts)
	require.Len(t, res.Waves, len(s.plan.Waves))
	for i, pw := range s.plan.Waves {
		w := res.Waves[i]
		assert.Equal(t, rollout.WaveSucceeded, w.State, "wave %d", w.Index)
		require.Len(t, w.PullRequests, len(pw.PullRequests), "wave %d: one pull request per tenant", w.Index)
		for _, pr := range w.PullRequests {
			assert.True(t, pr.Merged, "wave %d pull request #%d merged", w.Index, pr.Number)
		}
		for _, c := range w.Clusters {
			assert.Equal(t, rollout.ClusterSucceeded, c.State, "wave %d %s", w.Index, c.Name)
			if pw.Step == "" {
				assert.Equal(t, "1.30", c.Version, "%s upgraded in place", c.Name)
				continue
			}
			assert.Empty(t, c.Version, "blue %s is gone from EKS at the end", c.Name)
			assert.Equal(t, "1.30", c.GreenVersion, "green %s of %s", c.Green, c.Name)
		}
	}
	checkPulls(t, s.plan, res.Pulls)
	checkSequential(t, res)

	// On main: the green entries in place of the blue ones, with all of the
	// traffic; the canary's label file copied, the blue one's removed.
	inv, read := mainFiles(t, dir)
	for _, b := range blues {
		_, blueThere := inv.Cluster(b.Name)
		assert.False(t, blueThere, "blue %s is out of the blueprint", b.Name)
		g, ok := inv.Cluster(b.Green)
		require.True(t, ok, "green %s is in the blueprint", b.Green)
		assert.Equal(t, "1.30", g.Version, b.Green)
		assert.Equal(t, "100", g.Traffic, b.Green)
	}
	bp := read("tenants/tenant-c/prod.yaml")
	assert.Equal(t, seed["tenants/tenant-c/prod.yaml"], strings.NewReplacer(
		`-g1:`, `:`, `version: "1.30"`, `version: "1.29"`).Replace(bp),
		"the blueprint is the seed with each entry renamed green, at 1.30: every other byte kept")
	assert.Equal(t, "(missing)", read("addons/tenants/tenant-c/environments/prod/clusters/c-prod-cpu-1/fleet/fleet-secret/values.yaml"))
	assert.Equal(t, seed["addons/tenants/tenant-c/environments/prod/clusters/c-prod-cpu-1/fleet/fleet-secret/values.yaml"],
		read("addons/tenants/tenant-c/environments/prod/clusters/c-prod-cpu-1-g1/fleet/fleet-secret/values.yaml"))
	assert.Equal(t, "(missing)", read(values), "the blue cluster's add-on values went with it")
	assert.Equal(t, seed[values], read(greenValues), "the green cluster has its blue one's add-on values")

	for _, want := range []string{
		"(prod, canary, blue-green green) opens:",
		"(prod, canary, blue-green traffic 50%) opens:",
		"(prod, canary, blue-green retire) opens:",
		"eks       passed: c-prod-cpu-1-g1: cluster c-prod-cpu-1-g1 is ACTIVE at 1.30",
		"argocd    passed: c-prod-cpu-1-g1: 2 applications Synced and Healthy",
		"argocd    passed: Argo CD has no cluster c-prod-cpu-1 and no application bound for it",
		"3     prod green",
		"6     prod retire",
		"c-prod-cpu-1  Succeeded      gone, c-prod-cpu-1-g1 1.30",
	} {
		assert.Contains(t, out, want)
	}
	// EKS reports the blue cluster DELETING, or already gone on a slow
	// machine whose gate asked late: either passes.
	assert.Regexp(t, `eks       passed: cluster c-prod-cpu-1 is (DELETING at 1\.29: on its way out|gone: EKS has no cluster of that name)`, out)
}

// TestDemoBlueGreenRollback rolls tenant-c's prod back after its canaries'
// first traffic step: the traffic goes back to the blue clusters, then the
// green ones are removed, and the blueprint is byte for byte what it was.
func TestDemoBlueGreenRollback(t *testing.T) {
	t.Parallel()
	s := blueGreenScenario(t, "[prod]")
	require.Equal(t, rollout.StepGreen, s.plan.Waves[0].Step)
	require.Equal(t, rollout.StepTraffic, s.plan.Waves[1].Step)
	seed, err := os.ReadFile(filepath.Join(s.fleet, "tenants/tenant-c/prod.yaml"))
	require.NoError(t, err)

	res, _, dir := s.runWith(t, demo.Options{RollbackAfter: 2})

	assert.Equal(t, rollout.CampaignRolledBack, res.State)
	var reverts []int
	for _, w := range res.Final.Waves {
		if w.Kind == rollout.WaveRevert {
			reverts = append(reverts, w.Reverts)
			assert.Equal(t, rollout.WaveSucceeded, w.Phase, "revert wave %d", w.Number)
		}
	}
	assert.Equal(t, []int{2, 1}, reverts, "traffic back first, then green removed")
	greens := slices.Collect(func(yield func(string) bool) {
		for _, c := range s.plan.Waves[0].Clusters {
			if !yield(c.Green) {
				return
			}
		}
	})
	for _, w := range res.Waves {
		for _, c := range w.Clusters {
			assert.Equal(t, "1.29", c.Version, "blue %s stays at 1.29 in EKS", c.Name)
			assert.Empty(t, c.GreenVersion, "green %s is gone from EKS", c.Green)
		}
	}
	inv, read := mainFiles(t, dir)
	for _, g := range greens {
		_, there := inv.Cluster(g)
		assert.False(t, there, "green %s is out of the blueprint", g)
	}
	assert.Equal(t, string(seed), read("tenants/tenant-c/prod.yaml"), "the blueprint is back, byte for byte")
	assert.Equal(t, "(missing)", read("addons/tenants/tenant-c/environments/prod/clusters/c-prod-cpu-1-g1/fleet/fleet-secret/values.yaml"))
}

// TestDemoBlueGreenPrometheus upgrades tenant-c's prod blue-green with the
// prometheus gate between traffic steps, asking a real Prometheus that
// scrapes what the simulated fleet's services report: each green cluster
// passes a traffic step only once it carries the step's share of traffic
// ({{ .Traffic }}) and answers without errors, and the steps that add or
// remove a cluster do not ask it.
func TestDemoBlueGreenPrometheus(t *testing.T) {
	t.Parallel()
	metrics, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	prom := testenv.StartPrometheus(t, metrics.Addr().String())
	s := blueGreenScenario(t, "[prod]")
	src, err := os.ReadFile(s.campaign)
	require.NoError(t, err)
	gate := fmt.Sprintf(`  gates:
    prometheus:
      address: %s
      interval: 1m
      count: 3
      inconclusiveLimit: 500
      queries:
        - name: carries-its-share
          query: 'fleetsim_traffic_share{cluster="{{ .Cluster }}"} >= bool {{ .Traffic }}'
          success: result == 1
          failure: result < 0
        - name: error-ratio
          query: 'fleetsim_error_ratio{cluster="{{ .Cluster }}"}'
          success: result < 0.01
          failure: result >= 0.05
`, prom.URL)
	edited := strings.Replace(string(src), "  gates:\n", gate, 1)
	require.NotEqual(t, string(src), edited)
	require.NoError(t, os.WriteFile(s.campaign, []byte(edited), 0o644))
	s.replan(t)

	res, out, _ := s.runWith(t, demo.Options{SimMetrics: metrics, Speed: 600})

	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	for _, w := range res.Final.Waves {
		step := s.plan.Waves[w.Number-1].Step
		for _, c := range w.Clusters {
			rec, asked := c.Gates[rollout.GatePrometheus]
			if step != rollout.StepTraffic {
				assert.False(t, asked, "wave %d (%s) asked prometheus about %s", w.Number, step, c.Name)
				continue
			}
			require.True(t, asked, "wave %d (traffic) did not ask prometheus about %s", w.Number, c.Name)
			assert.Equal(t, rollout.GatePassed, rec.Outcome, "wave %d %s: %s", w.Number, c.Name, rec.Detail)
			share := s.plan.Waves[w.Number-1].Traffic
			assert.Contains(t, rec.Detail, fmt.Sprintf("} >= bool %d]", share), "wave %d (%d%%) asked for its share", w.Number, share)
		}
	}
	assert.Contains(t, out, "prometheus passed: c-prod-cpu-1-g1: ")
}
