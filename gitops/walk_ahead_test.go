//go:build unix

package gitops

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWalkReadsAhead holds the files walkFiles reads as it lists them to
// their bytes on disk, and shows what it leaves to be read by path: a file
// its predicate does not want, a symbolic link, a FIFO (which an open
// would wait on), a file larger than the limit. None of them is missing
// from the list.
func TestWalkReadsAhead(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	write("a/x/values.yaml", "labels:\n  addonsRelease: r1\n")
	write("a/y/values.yaml", "")
	write("a/z/values.yaml", strings.Repeat("k: v\n", aheadFileMax/4)) // over the limit
	write("a/x/other.yaml", "not: wanted\n")
	write("b/values.yaml", "labels: {}\n")
	require.NoError(t, os.Symlink("../b/values.yaml", filepath.Join(root, "a", "values.yaml")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "a", "y", "fifo.yaml"), 0o600))
	want := func(rel string) bool {
		return strings.HasSuffix(rel, "values.yaml") || strings.HasSuffix(rel, "fifo.yaml")
	}

	files, read, err := walkFiles(t.Context(), root, 2, want)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"a/values.yaml", "a/x/other.yaml", "a/x/values.yaml", "a/y/fifo.yaml", "a/y/values.yaml", "a/z/values.yaml", "b/values.yaml",
	}, slices.Sorted(maps.Keys(files)))
	assert.Equal(t, []string{"a/x/values.yaml", "a/y/values.yaml", "b/values.yaml"}, slices.Sorted(maps.Keys(read)))
	for rel, data := range read {
		disk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		require.NoError(t, err)
		assert.Equal(t, string(disk), string(data), rel)
		assert.Less(t, cap(data), 64, "%s: a copy of its own, not the read's buffer", rel)
	}

	files2, none, err := walkFiles(t.Context(), root, 2, nil)
	require.NoError(t, err)
	assert.Equal(t, files, files2, "the same list without reading ahead")
	assert.Nil(t, none)
}
