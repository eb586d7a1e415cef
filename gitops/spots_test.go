package gitops

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
)

// TestApplyPlanSpotsOfOtherBytes changes a blueprint after Load has found
// its spots: two clusters trade names, so that each version's spot leads
// to the other's. The edits are checked by the editor, not from the
// spots, and change the cluster they name.
func TestApplyPlanSpotsOfOtherBytes(t *testing.T) {
	t.Parallel()
	dir := copyFleet(t)
	c := readCampaign(t, "../examples/campaigns/eks-1-30.yaml")
	prep, err := Prepare(t.Context(), []string{dir}, c, nil)
	require.NoError(t, err)
	const rel = "tenants/tenant-a/dev.yaml"
	file := filepath.Join(dir, filepath.FromSlash(rel))
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	swapped := bytes.ReplaceAll(src, []byte("  a-dev-cpu-1:\n"), []byte("  a-dev-cpu-X:\n"))
	swapped = bytes.ReplaceAll(swapped, []byte("  a-dev-cpu-2:\n"), []byte("  a-dev-cpu-1:\n"))
	swapped = bytes.ReplaceAll(swapped, []byte("  a-dev-cpu-X:\n"), []byte("  a-dev-cpu-2:\n"))
	require.NotEqual(t, string(src), string(swapped), "the example blueprint changed: %s", rel)
	require.NoError(t, os.WriteFile(file, swapped, 0o644))

	known := prep.Inventory.spots[repoFile{dir, rel}]
	require.NotNil(t, known, "no spots for %s", rel)
	cpu := []string{"services", "eks", "config", "a-dev-cpu-1", "version"}
	sp, ok := known.find(cpu)
	require.True(t, ok)
	// The spot alone, on the new bytes, would lead to the wrong cluster.
	wrong, ok := yamledit.SetAt(swapped, func(yamledit.Path) (yamledit.Spot, bool) { return sp, true },
		[][]yamledit.Edit{{{Path: cpu, Value: "1.30", Document: -1}}})
	require.True(t, ok)
	want, err := yamledit.Set(rel, swapped, yamledit.Edit{Path: cpu, Value: "1.30", Document: -1})
	require.NoError(t, err)
	require.NotEqual(t, string(want.Bytes), string(wrong[0]))

	got, err := applyPlan(prep.Plan, true, prep.Inventory.spots)
	require.NoError(t, err)
	plain, err := applyPlan(prep.Plan, true, nil)
	require.NoError(t, err)
	assert.Equal(t, plain, got)
	var edited bool
	for _, w := range got {
		for _, pr := range w {
			for _, f := range pr {
				if f.Path == rel && bytes.Equal(f.Old, swapped) {
					edited = true
				}
			}
		}
	}
	assert.True(t, edited, "the plan does not edit %s", rel)
}
