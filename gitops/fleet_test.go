package gitops

import (
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
		assert.Equal(t, ic.Sources["version"].Line, c.VersionAt.Line, c.Name)
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
		assert.Equal(t, c.Sources["version"].Line, h.At.Line)
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
