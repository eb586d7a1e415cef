package fleetgen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fleetgen"
)

// TestGenerateReadsBack: the inventory of a generated fleet holds every
// cluster at the version asked, each tenant owned by its login, and the
// label files of the overrides.
func TestGenerateReadsBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := fleetgen.Generate(dir, fleetgen.Options{Tenants: 3, ClustersPerEnv: 4, OverrideEvery: 5, Version: "1.30"})
	require.NoError(t, err)
	assert.Equal(t, 24, f.Clusters)
	assert.Equal(t, []string{"tenant-000", "tenant-001", "tenant-002"}, f.Tenants)
	inv, err := gitops.Load(t.Context(), []string{dir})
	require.NoError(t, err)
	require.Len(t, inv.Clusters, 24)
	overrides := 0
	for _, c := range inv.Clusters {
		assert.Equal(t, "1.30", c.Version, c.Name)
		if c.Labels["addonsRelease"] == "release2" {
			overrides++
		}
	}
	assert.Equal(t, 5, overrides, "clusters 0, 5, 10, 15 and 20")
	owners := inv.Layouts[dir].Owners
	assert.Equal(t, []string{fleetgen.Owner("tenant-001")}, owners["tenant-001"].Users)
	assert.Equal(t, []string{fleetgen.Admin}, inv.Layouts[dir].Admins.Users)

	_, err = fleetgen.Generate(t.TempDir(), fleetgen.Options{})
	assert.ErrorContains(t, err, "must be at least 1")
}
