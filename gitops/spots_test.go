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

	got, err := applyPlan(prep.Plan, true, prep.Inventory.spots, prep.Inventory.listed)
	require.NoError(t, err)
	plain, err := applyPlan(prep.Plan, true, nil, nil)
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

// TestApplyPlanFromLoadedLabelFiles: for a label change the check of the
// plan's edits starts from what Load found, without asking the disk again:
// the label files it parsed (a few lines each), and the files its walk
// listed, so that a file the plan creates is known not to be there. A label
// file written after Load is checked as Load read it, as the plan was made
// from it, and a file the walk did not list reads as absent unless a
// symbolic link it did not follow lies on its path.
func TestApplyPlanFromLoadedLabelFiles(t *testing.T) {
	t.Parallel()
	dir := copyFleet(t)
	c := readCampaign(t, "../examples/campaigns/addons-release2.yaml")
	prep, err := Prepare(t.Context(), []string{dir}, c, nil)
	require.NoError(t, err)
	listed := prep.Inventory.listed[dir]
	require.NotEmpty(t, listed, "Load keeps its walk for a label change")

	var created, edited string
	for _, w := range prep.Plan.Waves {
		for _, pr := range w.PullRequests {
			for _, f := range pr.Files {
				switch {
				case f.Create && created == "":
					created = f.Path
				case !f.Create && !f.Delete && edited == "" && prep.Inventory.spots[repoFile{dir, f.Path}] != nil:
					edited = f.Path
				}
			}
		}
	}
	require.NotEmpty(t, created, "the plan creates no file")
	require.NotEmpty(t, edited, "the plan edits no label file Load spotted")
	known := prep.Inventory.spots[repoFile{dir, edited}]
	loaded, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(edited)))
	require.NoError(t, err)
	require.Equal(t, string(loaded), string(known.data), "a label file's bytes are kept")

	// Written after Load: the created file appears, the edited one gains a
	// line.
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, created)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(created)), []byte("x: 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(edited)), append([]byte("# later\n"), loaded...), 0o644))

	read := listedReader(dir, listed)
	_, err = read(created)
	require.ErrorIs(t, err, os.ErrNotExist, "a file the walk did not list is not there")
	got, err := applyPlan(prep.Plan, true, prep.Inventory.spots, prep.Inventory.listed)
	require.NoError(t, err)
	var saw bool
	for _, w := range got {
		for _, pr := range w {
			for _, f := range pr {
				if f.Path == edited && f.Old != nil && !bytes.HasPrefix(f.Old, []byte("# later")) {
					saw = true
				}
			}
		}
	}
	assert.True(t, saw, "%s is checked as Load read it", edited)
	_, err = applyPlan(prep.Plan, true, nil, nil)
	require.Error(t, err, "on the disk as it is now, the created file is there already")

	// A symbolic link the walk listed as a file: what lies behind it is
	// read from the disk.
	target := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(target, "v.yaml"), []byte("a: 1\n"), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "linked")))
	read = listedReader(dir, map[string]bool{"linked": true})
	b, err := read("linked/v.yaml")
	require.NoError(t, err)
	assert.Equal(t, "a: 1\n", string(b))
	_, err = listedReader(dir, map[string]bool{})("linked/v.yaml")
	require.ErrorIs(t, err, os.ErrNotExist)
}
