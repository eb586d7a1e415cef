package gitops

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadDir compares readDir with os.ReadDir on directories of a few
// kinds of entry, one longer than a read's buffer.
func TestReadDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(p, 0o755))
		return p
	}
	mixed := mk("mixed")
	require.NoError(t, os.WriteFile(filepath.Join(mixed, "a.yaml"), []byte("a: 1\n"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(mixed, "sub"), 0o755))
	require.NoError(t, os.Symlink("sub", filepath.Join(mixed, "link-to-dir")))
	require.NoError(t, os.Symlink("a.yaml", filepath.Join(mixed, "link-to-file")))
	require.NoError(t, os.WriteFile(filepath.Join(mixed, "ünïcode name.yaml"), nil, 0o600))
	long := mk("long")
	for i := range 600 { // 600 entries of 40-byte names: several reads
		require.NoError(t, os.WriteFile(filepath.Join(long, fmt.Sprintf("%s-%03d.yaml", strings.Repeat("x", 30), i)), nil, 0o600))
	}
	tests := []struct {
		name, dir string
	}{
		{"files, a directory, links", mixed},
		{"empty", mk("empty")},
		{"longer than a buffer", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readDir(tt.dir)
			require.NoError(t, err)
			want, err := os.ReadDir(tt.dir)
			require.NoError(t, err)
			var wantEntries []dirEntry
			for _, e := range want {
				wantEntries = append(wantEntries, dirEntry{name: e.Name(), dir: e.IsDir(), regular: e.Type().IsRegular()})
			}
			byName := func(a, b dirEntry) int { return strings.Compare(a.name, b.name) }
			slices.SortFunc(got, byName)
			assert.Equal(t, wantEntries, got)
		})
	}
	_, err := readDir(filepath.Join(root, "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "open "+filepath.Join(root, "missing"))
	_, err = readDir(filepath.Join(mixed, "a.yaml"))
	assert.Error(t, err, "a file is not a directory")
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("a: 1\n")},
		{"larger than a page", []byte(strings.Repeat("key: value\n", 2000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(root, tt.name+".yaml")
			require.NoError(t, os.WriteFile(p, tt.content, 0o600))
			got, err := readFile(p)
			require.NoError(t, err)
			assert.Equal(t, len(tt.content), len(got))
			assert.Equal(t, string(tt.content), string(got))
		})
	}
	_, err := readFile(filepath.Join(root, "missing.yaml"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, osErr := os.ReadFile(filepath.Join(root, "missing.yaml"))
	assert.Equal(t, osErr.Error(), err.Error(), "the same message as os.ReadFile")
	_, err = readFile(root)
	_, osErr = os.ReadFile(root)
	require.Error(t, err, "a directory is not a file")
	assert.Equal(t, osErr.Error(), err.Error())
}
