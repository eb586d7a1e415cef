package demo_test

import (
	"bytes"
	"cmp"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/demo"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// kindScenario is the example fleet and a campaign of testdata, planned.
func kindScenario(t *testing.T, file string) scenario {
	t.Helper()
	s := scenario{fleet: filepath.Join(testenv.ModuleRoot(t), "examples", "fleet"), campaign: filepath.Join("testdata", file)}
	src, err := os.ReadFile(s.campaign)
	require.NoError(t, err)
	inv, err := gitops.Load(t.Context(), []string{s.fleet})
	require.NoError(t, err)
	f, err := inv.Fleet()
	require.NoError(t, err)
	c, err := rollout.ParseCampaign(s.campaign, src)
	require.NoError(t, err)
	key, err := inv.LabelsKey()
	require.NoError(t, err)
	s.plan, err = rollout.PlanCampaign(c, f, rollout.WithLabelsKey(key...))
	require.NoError(t, err)
	return s
}

// runWith runs the scenario with opts, their fleet, campaign, output, speed
// and directory set; it returns the result, the output and the directory.
func (s scenario) runWith(t *testing.T, opts demo.Options) (demo.Result, string, string) {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	opts.FleetDir, opts.CampaignFile, opts.Out, opts.Dir = s.fleet, s.campaign, &out, dir
	opts.Speed = cmp.Or(opts.Speed, testSpeed)
	res, err := demo.Run(t.Context(), opts)
	require.NoError(t, err, "output so far:\n%s", out.String())
	t.Logf("demo output:\n%s", out.String())
	return res, out.String(), dir
}

// mainOf loads the fleet as the sandbox's main branch holds it at the end.
func mainOf(t *testing.T, dir string) (*gitops.Inventory, string) {
	t.Helper()
	clone := t.TempDir()
	out, err := exec.CommandContext(t.Context(), "git", "clone", "-q", filepath.Join(dir, "sandbox", "repos", "acme", "fleet.git"), clone).CombinedOutput()
	require.NoError(t, err, "%s", out)
	inv, err := gitops.Load(t.Context(), []string{clone})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	return inv, clone
}

// TestDemoTwoHops runs an EKS campaign from 1.29 to 1.31 on dev through the
// sandbox, the simulated fleet and the real bot: every cluster appears once
// per hop, every wave of hop 2 opens after every wave of hop 1 baked, and
// every cluster ends at 1.31 in EKS and on main.
func TestDemoTwoHops(t *testing.T) {
	t.Parallel()
	s := kindScenario(t, "eks-1-31.yaml")
	require.Equal(t, []string{"1.30", "1.31"}, s.plan.Change.Hops)
	fleet, err := gitops.Load(t.Context(), []string{s.fleet})
	require.NoError(t, err)
	hops := map[string]int{"1.29": 2, "1.30": 1}
	res, _, dir := s.runWith(t, demo.Options{})

	require.Equal(t, rollout.CampaignSucceeded, res.State)
	require.Len(t, res.Final.Waves, len(s.plan.Waves))
	lastHop1 := 0
	for _, pw := range s.plan.Waves {
		if pw.Hop == 1 {
			lastHop1 = pw.Index
		}
	}
	require.Positive(t, lastHop1)
	require.Less(t, lastHop1, len(s.plan.Waves), "the plan has a second hop")
	hop1End := res.Final.Waves[lastHop1-1].FinishedAt
	steps := map[string]int{}
	for i, pw := range s.plan.Waves {
		w := res.Final.Waves[i]
		assert.Equal(t, rollout.WaveSucceeded, w.Phase, "wave %d", w.Number)
		if pw.Hop == 2 {
			assert.False(t, w.OpenedAt.Before(hop1End), "hop 2 wave %d opened at %s, before hop 1 ended at %s", w.Number, w.OpenedAt, hop1End)
		}
		for j, c := range w.Clusters {
			assert.Equal(t, pw.Clusters[j].Name, c.Name)
			assert.Equal(t, rollout.ClusterSucceeded, c.Phase, "%s in wave %d", c.Name, w.Number)
			steps[c.Name]++
		}
	}
	require.NotEmpty(t, steps)
	twice := 0
	for _, c := range fleet.Clusters {
		n, ok := steps[c.Name]
		if !ok {
			continue
		}
		assert.Equal(t, hops[c.Version], n, "%s, at %s before, is in one wave per hop", c.Name, c.Version)
		assert.Equal(t, "1.31", clusterVersion(res, c.Name), "EKS version of %s", c.Name)
		if n == 2 {
			twice++
		}
	}
	assert.Positive(t, twice, "some cluster takes both hops")
	checkPulls(t, s.plan, res.Pulls)
	checkSequential(t, res)

	inv, _ := mainOf(t, dir)
	for _, c := range inv.Clusters {
		if _, ok := steps[c.Name]; ok {
			assert.Equal(t, "1.31", c.Version, "%s on main", c.Name)
		}
	}
}

func clusterVersion(res demo.Result, name string) string {
	v := ""
	for _, w := range res.Waves {
		for _, c := range w.Clusters {
			if c.Name == name {
				v = c.Version
			}
		}
	}
	return v
}

// TestDemoLabelWithCleanup runs a label campaign to the end: every selected
// cluster carries the new value on its Argo CD cluster secret and on main,
// the clean-up waves opened only after that, merged and were verified, and
// no label file the campaign created is left behind.
func TestDemoLabelWithCleanup(t *testing.T) {
	t.Parallel()
	s := kindScenario(t, "addons-release2.yaml")
	cleanups := 0
	for _, w := range s.plan.Waves {
		if w.Cleanup {
			cleanups++
		}
	}
	require.Positive(t, cleanups, "the plan folds the value up")
	res, _, dir := s.runWith(t, demo.Options{})

	require.Equal(t, rollout.CampaignSucceeded, res.State)
	require.Len(t, res.Final.Waves, len(s.plan.Waves))
	var lastChange rollout.WaveState
	for i, pw := range s.plan.Waves {
		w := res.Final.Waves[i]
		assert.Equal(t, rollout.WaveSucceeded, w.Phase, "wave %d", w.Number)
		if !pw.Cleanup {
			lastChange = w
			continue
		}
		assert.Equal(t, rollout.WaveCleanup, w.Kind)
		assert.False(t, w.OpenedAt.Before(lastChange.FinishedAt), "clean-up wave %d opened before the last change wave baked", w.Number)
		for _, c := range w.Clusters {
			assert.Equal(t, rollout.ClusterSucceeded, c.Phase, "%s verified after clean-up wave %d", c.Name, w.Number)
			assert.Contains(t, c.Gates, rollout.GateArgoCD, "%s: the Argo CD gate verifies a clean-up", c.Name)
			assert.NotContains(t, c.Gates, rollout.GateTerraform, "%s: Terraform CI has nothing to apply after a clean-up", c.Name)
		}
	}
	checkPulls(t, s.plan, res.Pulls)
	checkSequential(t, res)

	selected := map[string]bool{}
	for _, w := range res.Waves {
		for _, c := range w.Clusters {
			selected[c.Name] = true
			assert.Equal(t, "release2", c.Label, "Argo CD cluster secret of %s", c.Name)
		}
	}
	inv, clone := mainOf(t, dir)
	for _, c := range inv.Clusters {
		if selected[c.Name] {
			assert.Equal(t, "release2", c.Labels["addonsRelease"], "%s on main", c.Name)
		}
	}
	// The overrides the clean-up found redundant are gone: the files the
	// campaign created for them removed, the keys deleted from the others.
	removed := 0
	for _, w := range s.plan.Waves {
		if !w.Cleanup {
			continue
		}
		for _, pr := range w.PullRequests {
			for _, f := range pr.Files {
				src, err := os.ReadFile(filepath.Join(clone, filepath.FromSlash(f.Path)))
				if f.Delete {
					removed++
					assert.ErrorIs(t, err, os.ErrNotExist, "%s, emptied by clean-up wave %d, is left on main", f.Path, w.Index)
					continue
				}
				require.NoError(t, err)
				for _, e := range f.Edits {
					if e.Op == rollout.OpDelete {
						assert.NotContains(t, string(src), e.Path[len(e.Path)-1]+":", "%s still holds the override clean-up wave %d removed", f.Path, w.Index)
					}
				}
			}
		}
	}
	assert.Positive(t, removed, "the clean-up removes a file the campaign created")
}

// TestDemoLabelRollback rolls a label campaign back once its third wave
// baked: the unmerged pull requests close, one revert wave per merged wave
// opens, last wave first, each after the one before it merged, was gated
// and baked, and every cluster ends back at release1 on its Argo CD cluster
// secret and on main.
func TestDemoLabelRollback(t *testing.T) {
	t.Parallel()
	s := kindScenario(t, "addons-release2.yaml")
	before, err := gitops.Load(t.Context(), []string{s.fleet})
	require.NoError(t, err)
	res, _, dir := s.runWith(t, demo.Options{RollbackAfter: 3})

	require.Equal(t, rollout.CampaignRolledBack, res.State)
	st := res.Final
	var reverts []rollout.WaveState
	for _, w := range st.Waves {
		if w.Kind == rollout.WaveRevert {
			reverts = append(reverts, w)
		}
	}
	require.GreaterOrEqual(t, len(reverts), 3, "waves 1 to 3 merged")
	assert.Equal(t, 1, reverts[len(reverts)-1].Reverts, "wave 1 is reverted last")
	for i, w := range reverts {
		assert.Equal(t, rollout.WaveSucceeded, w.Phase, "revert wave %d", w.Number)
		if i > 0 {
			assert.Greater(t, reverts[i-1].Reverts, w.Reverts, "last wave first")
			assert.False(t, w.OpenedAt.Before(reverts[i-1].FinishedAt), "revert wave %d opened before revert wave %d baked", w.Number, reverts[i-1].Number)
		}
		for _, c := range w.Clusters {
			assert.Equal(t, rollout.ClusterSucceeded, c.Phase, "%s verified back at release1", c.Name)
		}
	}
	var revertPulls []demo.Pull
	for _, p := range res.Pulls {
		if p.Revert {
			revertPulls = append(revertPulls, p)
			assert.True(t, p.Merged, "revert #%d merged", p.Number)
		} else if p.Wave > 3 {
			assert.False(t, p.Merged, "#%d of wave %d, opened before the rollback, is not merged", p.Number, p.Wave)
		}
	}
	assert.True(t, slices.IsSortedFunc(revertPulls, func(a, b demo.Pull) int { return b.Wave - a.Wave }), "revert pull requests open last wave first")

	want := map[string]string{}
	for _, c := range before.Clusters {
		want[c.Name] = c.Labels["addonsRelease"]
	}
	for _, w := range res.Waves {
		for _, c := range w.Clusters {
			if st.Waves[w.Index-1].Kind == rollout.WaveRevert {
				assert.Equal(t, "release1", c.Label, "Argo CD cluster secret of %s", c.Name)
			}
		}
	}
	inv, _ := mainOf(t, dir)
	got := map[string]string{}
	for _, c := range inv.Clusters {
		got[c.Name] = c.Labels["addonsRelease"]
	}
	assert.Equal(t, want, got, "every cluster's effective addonsRelease on main is what it was before the campaign")
}
