package gitops

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFleetCarriesVersionsAndLabelChains(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{"../examples/fleet"})
	require.NoError(t, err)
	f, err := inv.Fleet()
	require.NoError(t, err)
	require.Len(t, f.Clusters, len(inv.Clusters))
	for i, c := range f.Clusters {
		ic := inv.Clusters[i]
		assert.Equal(t, ic.Name, c.Name)
		assert.Equal(t, ic.File, c.VersionAt.File, c.Name)
		assert.Equal(t, ic.Sources.Get("version").Line, c.VersionAt.Line, c.Name)
		assert.Equal(t, []string{"services", "eks", "config", c.Name, "version"}, c.VersionAt.Path)
		require.Len(t, c.LabelChain, 4, c.Name)
		assert.Equal(t, []string{"global", "tenant", "env", "cluster"},
			[]string{c.LabelChain[0].Scope, c.LabelChain[1].Scope, c.LabelChain[2].Scope, c.LabelChain[3].Scope})
		assert.True(t, c.LabelChain[0].Shared)
		assert.False(t, c.LabelChain[3].Shared)
	}
}

func TestFieldHitsAttribution(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{"../examples/fleet"})
	require.NoError(t, err)

	hits, err := inv.FieldHits(t.Context(), "tenants/**/*.yaml", "services.eks.config.*.version")
	require.NoError(t, err)
	require.Len(t, hits, len(inv.Clusters))
	for _, h := range hits {
		c, ok := inv.Cluster(h.Cluster)
		require.True(t, ok, "hit %v not attributed to a cluster", h.At)
		assert.Equal(t, c.Tenant, h.Tenant)
		assert.Equal(t, c.Env, h.Env)
		assert.Equal(t, c.Version, h.Value)
		assert.Equal(t, c.Sources.Get("version").Line, h.At.Line)
	}

	// Label files belong to the level of the hierarchy they sit at: the
	// global defaults to nobody, a cluster's own file to that cluster.
	hits, err = inv.FieldHits(t.Context(), "addons/**/values.yaml", "externalSecret.labels.addonsRelease")
	require.NoError(t, err)
	byFile := map[string][3]string{}
	for _, h := range hits {
		byFile[h.At.File] = [3]string{h.Tenant, h.Env, h.Cluster}
	}
	assert.Equal(t, [3]string{"", "", ""}, byFile["addons/tenants/defaults/fleet/fleet-secret/values.yaml"])
	assert.Equal(t, [3]string{"tenant-a", "dev", ""}, byFile["addons/tenants/tenant-a/environments/dev/defaults/fleet/fleet-secret/values.yaml"])
	assert.Equal(t, [3]string{"tenant-b", "dev", "b-dev-gpu-1"}, byFile["addons/tenants/tenant-b/environments/dev/clusters/b-dev-gpu-1/fleet/fleet-secret/values.yaml"])
}

func TestFieldHitsErrors(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{"../examples/fleet"})
	require.NoError(t, err)
	_, err = inv.FieldHits(t.Context(), "/abs/*.yaml", "a")
	assert.ErrorContains(t, err, "field files")
	_, err = inv.FieldHits(t.Context(), "tenants/**/*.yaml", "a..b")
	assert.ErrorContains(t, err, "field path")
}

// TestLoadWithoutLabelSources loads the example fleet with and without
// the labels' sources: only Sources' "labels.KEY" entries differ, and the
// planner's fleet is the same.
func TestLoadWithoutLabelSources(t *testing.T) {
	t.Parallel()
	full, err := Load(t.Context(), []string{"../examples/fleet"})
	require.NoError(t, err)
	lean, err := Load(t.Context(), []string{"../examples/fleet"}, WithoutLabelSources())
	require.NoError(t, err)
	require.Len(t, lean.Clusters, len(full.Clusters))
	withLabels := 0
	for i := range full.Clusters {
		want := full.Clusters[i]
		sources := map[string]Source{}
		for k, v := range full.Clusters[i].Sources.All() {
			if strings.HasPrefix(k, "labels.") {
				withLabels++
				continue
			}
			sources[k] = v
		}
		want.Sources = SourcesOf(sources)
		assert.Equal(t, want, lean.Clusters[i])
	}
	assert.Positive(t, withLabels, "the full inventory has the labels' sources")
	ff, err := full.Fleet()
	require.NoError(t, err)
	lf, err := lean.Fleet()
	require.NoError(t, err)
	assert.Equal(t, ff, lf)
}

func TestLevelMapsOf(t *testing.T) {
	t.Parallel()
	tenantFile := LabelLevel{Path: "t/values.yaml", Exists: true, Labels: []Label{{Key: "a", Value: "1", Line: 3}, {Key: "b", Value: "2", Line: 4}}}
	tests := []struct {
		name      string
		repo      string
		level     LabelLevel
		labels    map[string]string
		lines     map[string]int
		only      string
		wantErr   string
		sameAsTen bool // the maps are the tenant file's, made earlier
	}{
		{name: "a file with labels", repo: "r", level: tenantFile, labels: map[string]string{"a": "1", "b": "2"}, lines: map[string]int{"a": 3, "b": 4}, sameAsTen: true},
		{name: "a missing file", repo: "r", level: LabelLevel{Path: "c/values.yaml"}, labels: map[string]string{}, lines: map[string]int{}},
		{name: "the same path in another repository", repo: "other", level: tenantFile, labels: map[string]string{"a": "1", "b": "2"}, lines: map[string]int{"a": 3, "b": 4}},
		{name: "a null label", repo: "r", level: LabelLevel{Path: "n/values.yaml", Exists: true, Labels: []Label{{Key: "a", Null: true, Line: 7}}},
			wantErr: "n/values.yaml:7: label a is null"},
		{name: "only one label", repo: "other", level: tenantFile, only: "b", labels: map[string]string{"b": "2"}, lines: map[string]int{"b": 4}},
		{name: "only a label the file does not set", repo: "other", level: tenantFile, only: "z", labels: map[string]string{}, lines: map[string]int{}, sameAsTen: true},
		{name: "only one label, another null", repo: "r", level: LabelLevel{Path: "n/values.yaml", Exists: true, Labels: []Label{{Key: "a", Null: true, Line: 7}, {Key: "b", Value: "2", Line: 8}}},
			only: "b", wantErr: "n/values.yaml:7: label a is null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := levelMaps{files: map[fileKey]levelLabels{}, only: tt.only}
			first, _, err := m.of("r", tenantFile)
			require.NoError(t, err)
			labels, lines, err := m.of(tt.repo, tt.level)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.labels, labels)
			assert.Equal(t, tt.lines, lines)
			assert.Equal(t, tt.sameAsTen, reflect.ValueOf(labels).Pointer() == reflect.ValueOf(first).Pointer(), "shared with the first")
		})
	}
	m := levelMaps{files: map[fileKey]levelLabels{}}
	a, _, err := m.of("r", LabelLevel{Path: "a/values.yaml"})
	require.NoError(t, err)
	b, _, err := m.of("r", LabelLevel{Path: "b/values.yaml", Exists: true})
	require.NoError(t, err)
	assert.Equal(t, reflect.ValueOf(a).Pointer(), reflect.ValueOf(b).Pointer(), "files without labels share the empty maps")
}
