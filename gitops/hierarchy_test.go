package gitops

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

// TestHierarchyFieldChange plans a field of the scopes fixture's addons
// hierarchy (defaults, Kubernetes version, environment, tenant, cluster) at
// the cluster level: each cluster's own values file gets metrics-server
// 3.13.0 in its wave, then the clean-up waves raise it into the defaults
// and remove what became redundant. Every pull request is applied in plan
// order to a copy of the fixture: the files are byte for byte the golden
// ones, the files the plan does not name are untouched, and every cluster's
// effective value is the target at the end.
func TestHierarchyFieldChange(t *testing.T) {
	t.Parallel()
	const fixture = "testdata/scopes"
	repo := copyTree(t, fixture)
	c := readCampaign(t, "testdata/scopes-metrics-server.yaml")
	prep, err := Prepare(t.Context(), []string{repo}, c, nil)
	require.NoError(t, err)
	p := prep.Plan

	assert.Equal(t, rollout.PlanChange{Kind: rollout.KindField, Hierarchy: "addons", Level: rollout.LevelCluster,
		Path: "metricsServer.version", To: "3.13.0", Revertible: true}, p.Change)
	own := func(tenant, cluster string) string {
		return "addons/tenants/" + tenant + "/clusters/" + cluster + "/values.yaml"
	}
	assert.Equal(t, []string{
		"1 dev canary [a-dev-1 b-dev-1] | tenant-a: create " + own("tenant-a", "a-dev-1") + " | tenant-b: create " + own("tenant-b", "b-dev-1"),
		"2 dev [b-dev-2] | tenant-b: create " + own("tenant-b", "b-dev-2"),
		"3 prod canary [a-prod-1 c-prod-1] | tenant-a: create " + own("tenant-a", "a-prod-1") + " | tenant-c: create " + own("tenant-c", "c-prod-1"),
		"4 - cleanup [] | admins: set addons/defaults/values.yaml:4 3.12.0",
		"5 - cleanup [] | admins: delete addons/environments/dev/values.yaml:3 3.12.1, delete addons/versions/1.30/values.yaml:4 3.12.2",
		"6 - cleanup [] | tenant-a: remove " + own("tenant-a", "a-dev-1") + ", remove " + own("tenant-a", "a-prod-1") +
			" | tenant-b: remove " + own("tenant-b", "b-dev-1") + ", remove " + own("tenant-b", "b-dev-2") +
			" | tenant-c: remove " + own("tenant-c", "c-prod-1"),
	}, hierarchyWaves(p))
	require.Len(t, p.Skipped, 1)
	assert.Equal(t, rollout.SkippedCluster{Name: "a-dev-2", Tenant: "tenant-a", Env: "dev", Reason: rollout.ReasonAtTarget,
		Detail: "metricsServer.version=3.13.0"}, p.Skipped[0])
	for _, w := range p.Waves {
		for _, pr := range w.PullRequests {
			for _, f := range pr.Files {
				for _, e := range f.Edits {
					assert.Equal(t, []string{"addons", "metricsServer", "version"}, e.Path, "wave %d %s", w.Index, f.Path)
					// A field keeps the file's quoting, where a label is always quoted.
					assert.False(t, e.Quote, "wave %d %s", w.Index, f.Path)
				}
			}
		}
	}

	named := map[string]bool{}
	var diffs strings.Builder
	for i, w := range p.Waves {
		for j, pr := range w.PullRequests {
			files, err := Apply(DirReader(repo), pr)
			require.NoError(t, err, "wave %d", w.Index)
			require.Equal(t, prep.Files[i][j], files, "wave %d: Apply on the files as the earlier waves left them gives what Prepare showed", w.Index)
			d, err := UnifiedDiff(files)
			require.NoError(t, err)
			fmt.Fprintf(&diffs, "# wave %d, pull request of %s\n%s", w.Index, prOwner(pr), d)
			for k, f := range files {
				named[f.Path] = true
				path := filepath.Join(repo, filepath.FromSlash(f.Path))
				if pr.Files[k].Delete {
					require.NoError(t, os.Remove(path))
					continue
				}
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, f.New, 0o644))
			}
		}
	}
	checkGolden(t, "testdata/scopes-metrics-server.golden", diffs.String())

	err = filepath.WalkDir(fixture, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fixture, path)
		if named[filepath.ToSlash(rel)] {
			return nil
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(repo, rel))
		require.NoError(t, err, "%s is gone", rel)
		assert.Equal(t, string(want), string(got), "%s changed though no pull request names it", rel)
		return nil
	})
	require.NoError(t, err)

	inv, err := Load(t.Context(), []string{repo})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	values, err := inv.Effective("addons", "metricsServer.version")
	require.NoError(t, err)
	require.Len(t, values, 6)
	for _, v := range values {
		want := "addons/defaults/values.yaml"
		if v.Cluster == "a-dev-2" { // at the target before the campaign, in its own file
			want = own("tenant-a", "a-dev-2")
		}
		assert.True(t, v.Set, v.Cluster)
		assert.Equal(t, "3.13.0", v.Value, v.Cluster)
		if assert.NotNil(t, v.Source, v.Cluster) {
			assert.Equal(t, want, v.Source.File, v.Cluster)
		}
	}
}

// hierarchyWaves writes each wave on one line: index, environment, kind,
// clusters, then each pull request's file operations with the line and the
// old value of the key.
func hierarchyWaves(p *rollout.Plan) []string {
	var out []string
	for _, w := range p.Waves {
		kind := ""
		switch {
		case w.Cleanup:
			kind = " cleanup"
		case w.Shared:
			kind = " shared"
		case w.Canary:
			kind = " canary"
		}
		var names []string
		for _, c := range w.Clusters {
			names = append(names, c.Name)
		}
		env := w.Env
		if env == "" {
			env = "-"
		}
		line := fmt.Sprintf("%d %s%s [%s]", w.Index, env, kind, strings.Join(names, " "))
		for _, pr := range w.PullRequests {
			owner := pr.Tenant
			if pr.Admin {
				owner = "admins"
			}
			var ops []string
			for _, f := range pr.Files {
				for _, e := range f.Edits {
					switch {
					case f.Create:
						ops = append(ops, "create "+f.Path)
					case f.Delete:
						ops = append(ops, "remove "+f.Path)
					default:
						ops = append(ops, fmt.Sprintf("%s %s:%d %s", e.Op, f.Path, e.Line, e.From))
					}
				}
			}
			line += " | " + owner + ": " + strings.Join(ops, ", ")
		}
		out = append(out, line)
	}
	return out
}

// A field change at the tenant level inserts the key into the tenant's
// values file, creating the mapping it sits in; an unknown hierarchy and a
// null at the key path are refused with their names and places.
func TestHierarchyFieldLevels(t *testing.T) {
	t.Parallel()
	campaign := func(t *testing.T, edit func(*rollout.FieldChange)) *rollout.Campaign {
		c := readCampaign(t, "testdata/scopes-metrics-server.yaml")
		c.Spec.Selector.Tenants = []string{"tenant-a"}
		edit(c.Spec.Change.Field)
		return c
	}
	t.Run("tenant level", func(t *testing.T) {
		t.Parallel()
		c := campaign(t, func(f *rollout.FieldChange) { f.Level = rollout.LevelTenant })
		prep, err := Prepare(t.Context(), []string{"testdata/scopes"}, c, nil)
		require.NoError(t, err)
		assert.Equal(t, []string{
			"1 dev canary [a-dev-1] | tenant-a: insert addons/tenants/tenant-a/values.yaml:0 ",
			"2 prod canary [a-prod-1]",
			// Every other cluster keeps a more specific value: the
			// fold-up raises the value into the defaults, and the
			// tenant's file stays, since the environment's 3.12.1 lies
			// between them for a-dev-1.
			"3 - cleanup [] | admins: set addons/defaults/values.yaml:4 3.12.0",
		}, hierarchyWaves(prep.Plan))
		require.Len(t, prep.Files[0][0], 1)
		assert.Equal(t, "addons:\n  karpenter:\n    version: \"1.0.0\"\n  metricsServer:\n    version: 3.13.0\n", string(prep.Files[0][0][0].New))
	})
	t.Run("unknown hierarchy", func(t *testing.T) {
		t.Parallel()
		c := campaign(t, func(f *rollout.FieldChange) { f.Hierarchy = "addon" })
		_, err := Prepare(t.Context(), []string{"testdata/scopes"}, c, nil)
		assert.EqualError(t, err, `unknown hierarchy "addon" in the layout of testdata/scopes (known: addons, addons-config, labels)`)
	})
	t.Run("mapping", func(t *testing.T) {
		t.Parallel()
		c := campaign(t, func(f *rollout.FieldChange) { f.Path = "metricsServer" })
		_, err := Prepare(t.Context(), []string{"testdata/scopes"}, c, nil)
		assert.EqualError(t, err, "addons/defaults/values.yaml:3: addons.metricsServer holds a mapping, not a single value")
	})
	t.Run("a scalar where the key's mapping goes", func(t *testing.T) {
		t.Parallel()
		repo := copyTree(t, "testdata/scopes")
		require.NoError(t, os.WriteFile(filepath.Join(repo, "addons/tenants/tenant-a/values.yaml"),
			[]byte("addons:\n  karpenter:\n    version: \"1.0.0\"\n  metricsServer: disabled\n"), 0o644))
		c := campaign(t, func(f *rollout.FieldChange) { f.Level = rollout.LevelTenant })
		_, err := Prepare(t.Context(), []string{repo}, c, nil)
		var ae *ApplyError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 1, ae.Wave)
		assert.ErrorContains(t, err, "addons/tenants/tenant-a/values.yaml:4:18: addons.metricsServer.version: addons.metricsServer is not a block mapping; cannot add a key under it")
	})
	t.Run("null", func(t *testing.T) {
		t.Parallel()
		c := campaign(t, func(f *rollout.FieldChange) { f.Path = "karpenter.version" })
		_, err := Prepare(t.Context(), []string{"testdata/scopes"}, c, nil)
		assert.EqualError(t, err, "addons/versions/1.30/values.yaml:6: addons.karpenter.version is null: fleetbot cannot plan around a value removed by null; give it a value or delete the key")
	})
}
