package gitops

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/internal/benchfleet"
	"github.com/fleetbot/fleetbot/rollout"
)

func readCampaign(t *testing.T, path string) *rollout.Campaign {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	c, err := rollout.ParseCampaign(path, src)
	require.NoError(t, err)
	return c
}

// TestSamplesPrepare checks that every shipped sample campaign passes every
// check serve runs before it starts one, against the example fleet; and
// that its edits, checked from the spots Load found, make the same files
// as the editor makes them from the files alone, every version of the
// fleet having a spot for an EKS change, and every value of the label in
// the label files for a label change (no other change has Load record
// them).
func TestSamplesPrepare(t *testing.T) {
	t.Parallel()
	for _, path := range sampleCampaigns(t) {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			c := readCampaign(t, path)
			prep, err := Prepare(t.Context(), []string{exampleFleet}, c, nil)
			require.NoError(t, err)
			assert.Empty(t, prep.Diagnostics, "campaign warnings")
			state, err := rollout.StartState(c, prep.Plan)
			require.NoError(t, err, "Prepare passed a plan the machine cannot start")
			assert.NotEmpty(t, state.Waves, "a sample that changes nothing shows nothing")
			assert.NotEmpty(t, state.Policy.Gates)

			spots := 0
			for _, f := range prep.Inventory.spots {
				spots += len(f.at)
			}
			switch lc := c.Spec.Change.Label; {
			case c.Spec.Change.EKSVersion != nil:
				assert.Equal(t, len(prep.Inventory.Clusters), spots, "clusters with a version and its spot")
			case lc != nil:
				files := 0
				for _, f := range prep.Inventory.spots {
					for _, at := range f.at {
						assert.Equal(t, lc.Key, at.path[len(at.path)-1])
					}
					files++
				}
				assert.Equal(t, files, spots, "one spot a label file")
				assert.Positive(t, spots, "label files with a spot of the label's value")
			default:
				assert.Zero(t, spots, "spots of a change that edits no version")
			}
			plain, err := applyPlan(prep.Plan, true, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, plain, prep.Files)
		})
	}
}

// sampleCampaigns lists the shipped sample campaigns.
func sampleCampaigns(t *testing.T) []string {
	t.Helper()
	var samples []string
	for _, dir := range []string{"../examples/campaigns", "../examples/demo"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		require.NoError(t, err)
		samples = append(samples, m...)
	}
	require.GreaterOrEqual(t, len(samples), 4, "the shipped samples moved")
	return samples
}

// TestPrepareLean checks that Prepare with the options fleetbot plan
// passes (no label sources, no files, no clusters kept) makes the same
// plan from each sample campaign, and keeps the inventory's
// diagnostics but not its clusters.
func TestPrepareLean(t *testing.T) {
	t.Parallel()
	for _, path := range sampleCampaigns(t) {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			c := readCampaign(t, path)
			full, err := Prepare(t.Context(), []string{exampleFleet}, c, nil)
			require.NoError(t, err)
			lean, err := Prepare(t.Context(), []string{exampleFleet}, c, nil, WithoutLabelSources(), WithoutFiles(), WithoutClusters())
			require.NoError(t, err)
			assert.Equal(t, full.Plan, lean.Plan)
			assert.Equal(t, full.Inventory.Diagnostics, lean.Inventory.Diagnostics)
			assert.NotEmpty(t, full.Inventory.Clusters)
			assert.Nil(t, lean.Inventory.Clusters, "clusters kept")
			assert.NotNil(t, full.Files)
			assert.Nil(t, lean.Files, "files kept")
		})
	}
}

// TestPrepareLeanGenerated checks the same on a generated fleet of 20
// tenants, where one cluster in five has a label file of its own and the
// rest share their tenant's and environment's: the lean Prepare keeps only
// the label files along each chain and makes a label change's chains from
// them, and its plan is the full one's.
func TestPrepareLeanGenerated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, benchfleet.Generate(dir, benchfleet.Options{Tenants: 20}))
	for _, change := range []rollout.Change{
		{Label: &rollout.LabelChange{Key: "addonsRelease", To: "release3"}},
		{EKSVersion: &rollout.EKSVersionChange{To: "1.30"}},
	} {
		c := &rollout.Campaign{
			Metadata: rollout.Metadata{Name: "lean"},
			Spec: rollout.Spec{
				Change: change,
				Strategy: rollout.Strategy{
					Order: []string{"dev", "prod"}, Canary: true, MaxPerTenant: 2,
					MaxConcurrency: rollout.Quantity{Percent: 10, IsSet: true},
				},
			},
		}
		full, err := Prepare(t.Context(), []string{dir}, c, nil)
		var start *StartError
		if err != nil {
			require.ErrorAs(t, err, &start)
		}
		lean, err := Prepare(t.Context(), []string{dir}, c, nil, WithoutLabelSources(), WithoutFiles(), WithoutClusters())
		if err != nil {
			require.ErrorAs(t, err, &start)
		}
		require.NotNil(t, full.Plan)
		assert.NotEmpty(t, full.Plan.Waves)
		assert.Equal(t, full.Plan, lean.Plan)
	}
}

// copyFleet copies the example fleet into a temporary directory.
func copyFleet(t *testing.T) string {
	t.Helper()
	return copyTree(t, exampleFleet)
}

// copyTree copies the files under src into a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	require.NoError(t, err)
	return dst
}

func TestPrepareRefuses(t *testing.T) {
	t.Parallel()
	const gpuFile = "addons/tenants/tenant-a/environments/prod/clusters/a-prod-gpu-1/fleet/fleet-secret/values.yaml"
	tests := []struct {
		name     string
		campaign string
		edit     func(t *testing.T, c *rollout.Campaign, repo string)
		check    func(t *testing.T, err error)
	}{
		{
			name:     "an insertion into a flow mapping",
			campaign: "../examples/campaigns/addons-release2.yaml",
			edit: func(t *testing.T, _ *rollout.Campaign, repo string) {
				writeFile(t, repo, gpuFile, "externalSecret:\n  labels: {}\n  annotations:\n    owner_contact: payments-ml-oncall\n")
			},
			check: func(t *testing.T, err error) {
				var ae *ApplyError
				require.ErrorAs(t, err, &ae)
				assert.False(t, ae.Cleanup)
				var ye *yamledit.Error
				require.ErrorAs(t, err, &ye)
				assert.Equal(t, gpuFile, ye.File)
				assert.Equal(t, 2, ye.Line)
				assert.Contains(t, err.Error(), "cannot be applied in ")
			},
		},
		{
			name:     "an unknown tenant",
			campaign: "../examples/campaigns/ami-release.yaml",
			edit: func(_ *testing.T, c *rollout.Campaign, _ string) {
				c.Spec.Selector.Tenants = []string{"tenant-a", "tenant-q"}
			},
			check: func(t *testing.T, err error) {
				var el rollout.ErrorList
				require.ErrorAs(t, err, &el)
				// Set in code, the entry has no line; the file and field remain.
				assert.EqualError(t, err, `../examples/campaigns/ami-release.yaml: spec.selector.tenants[1]: no tenant "tenant-q" in the fleet (did you mean "tenant-a"?)`)
			},
		},
		{
			name:     "no gates",
			campaign: "../examples/campaigns/eks-1-30.yaml",
			edit:     func(_ *testing.T, c *rollout.Campaign, _ string) { c.Spec.Gates = rollout.Gates{} },
			check: func(t *testing.T, err error) {
				var se *StartError
				require.ErrorAs(t, err, &se)
				assert.Contains(t, err.Error(), "policy: no gates")
			},
		},
		{
			name:     "a repository that is not a fleet",
			campaign: "../examples/campaigns/eks-1-30.yaml",
			edit: func(t *testing.T, _ *rollout.Campaign, repo string) {
				require.NoError(t, os.RemoveAll(filepath.Join(repo, "tenants")))
				require.NoError(t, os.Remove(filepath.Join(repo, LayoutFile)))
			},
			check: func(t *testing.T, err error) {
				assert.ErrorContains(t, err, "the inventory has errors:")
				assert.ErrorContains(t, err, "no layout file (.fleetbot.yaml) and no tenant blueprint")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := copyFleet(t)
			c := readCampaign(t, tt.campaign)
			tt.edit(t, c, repo)
			prep, err := Prepare(t.Context(), []string{repo}, c, nil)
			require.NotNil(t, prep)
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

// TestPrepareSkips checks that locks and disabled clusters reach the plan,
// and that a selection whose clusters are all skipped is a plan of no wave,
// not an error.
func TestPrepareSkips(t *testing.T) {
	t.Parallel()
	repo := copyFleet(t)
	bp := filepath.Join(repo, "tenants", "tenant-b", "dev.yaml")
	src, err := os.ReadFile(bp)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bp, []byte(strings.Replace(string(src), "    enabled: true", "    enabled: false", 1)), 0o644))
	c := readCampaign(t, "../examples/campaigns/eks-1-30.yaml")

	c.Spec.Selector.Tenants = []string{"tenant-b"}
	c.Spec.Selector.Envs = []string{"dev"}
	prep, err := Prepare(t.Context(), []string{repo}, c, nil)
	require.NoError(t, err)
	assert.Empty(t, prep.Plan.Waves)
	require.NotEmpty(t, prep.Plan.Skipped)
	for _, s := range prep.Plan.Skipped {
		assert.Equal(t, rollout.ReasonDisabled, s.Reason, s.Name)
		assert.Contains(t, s.Detail, "services.eks.enabled: false at tenants/tenant-b/dev.yaml:")
	}
	assert.Contains(t, rollout.RenderTable(prep.Plan), "Nothing to do: all ")

	c.Spec.Selector.Tenants = []string{"tenant-a"}
	prep, err = Prepare(t.Context(), []string{repo}, c, map[string]string{"a-dev-cpu-1": "other"})
	require.NoError(t, err)
	locked := false
	for _, s := range prep.Plan.Skipped {
		locked = locked || (s.Name == "a-dev-cpu-1" && s.Reason == rollout.ReasonLocked)
	}
	assert.True(t, locked, "skipped: %+v", prep.Plan.Skipped)
}

// TestPlanWithoutLabelChains checks what lets Prepare leave the clusters'
// label chains out of the fleet of any change but a label change: the
// plan of each such sample campaign is the same without them.
func TestPlanWithoutLabelChains(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{exampleFleet})
	require.NoError(t, err)
	planned := 0
	for _, path := range sampleCampaigns(t) {
		c := readCampaign(t, path)
		if c.Spec.Change.Label != nil || (c.Spec.Change.Field != nil && c.Spec.Change.Field.Hierarchy != "") {
			continue
		}
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			full, err := inv.fleet(false, true, "")
			require.NoError(t, err)
			lean, err := inv.fleet(false, false, "")
			require.NoError(t, err)
			if fc := c.Spec.Change.Field; fc != nil {
				hits, err := inv.FieldHits(t.Context(), fc.Files, fc.Path)
				require.NoError(t, err)
				full.Fields, lean.Fields = hits, hits
			}
			for _, cl := range lean.Clusters {
				require.Nil(t, cl.LabelChain, cl.Name)
			}
			want, err := rollout.PlanCampaign(c, full)
			require.NoError(t, err)
			got, err := rollout.PlanCampaign(c, lean)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
		planned++
	}
	assert.GreaterOrEqual(t, planned, 2, "no sample campaign to plan")
}

// TestFleetOnlyTheLabel checks that the fleet of a label change, whose
// levels carry only the change's label, plans each sample label campaign
// as the fleet with every label does.
func TestFleetOnlyTheLabel(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{exampleFleet})
	require.NoError(t, err)
	planned := 0
	for _, path := range sampleCampaigns(t) {
		c := readCampaign(t, path)
		lc := c.Spec.Change.Label
		if lc == nil {
			continue
		}
		full, err := inv.fleet(false, true, "")
		require.NoError(t, err)
		only, err := inv.fleet(false, true, lc.Key)
		require.NoError(t, err)
		for _, cl := range only.Clusters {
			for _, lv := range cl.LabelChain {
				assert.LessOrEqual(t, len(lv.Labels), 1, "%s: %s", cl.Name, lv.File)
			}
		}
		key, err := inv.LabelsKey()
		require.NoError(t, err)
		want, err := rollout.PlanCampaign(c, full, rollout.WithLabelsKey(key...))
		require.NoError(t, err)
		got, err := rollout.PlanCampaign(c, only, rollout.WithLabelsKey(key...))
		require.NoError(t, err)
		assert.Equal(t, want, got, path)
		planned++
	}
	assert.GreaterOrEqual(t, planned, 1, "no sample label campaign")
}

// TestPrepareRefusesNullLabel checks that a null label refuses the plan of
// any change, a label change or not, with or without the inventory's
// clusters kept.
func TestPrepareRefusesNullLabel(t *testing.T) {
	t.Parallel()
	dir := copyFleet(t)
	const file = "addons/tenants/tenant-a/defaults/fleet/fleet-secret/values.yaml"
	writeFile(t, dir, file, "externalSecret:\n  labels:\n    enable_aws_load_balancer_controller: null\n")
	for _, sample := range []string{"../examples/campaigns/eks-1-30.yaml", "../examples/campaigns/addons-release2.yaml"} {
		c := readCampaign(t, sample)
		for _, opts := range [][]Option{nil, {WithoutClusters()}, {WithoutLabelSources(), WithoutClusters(), WithoutFiles()}} {
			_, err := Prepare(t.Context(), []string{dir}, c, nil, opts...)
			assert.ErrorContains(t, err, file+":3: label enable_aws_load_balancer_controller is null", "%s, %d options", sample, len(opts))
		}
	}
}
