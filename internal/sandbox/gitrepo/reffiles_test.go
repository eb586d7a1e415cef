package gitrepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefFromFiles: refs read from git's files agree with git, loose and
// packed, a loose ref over a stale packed line, deleted, and a name that is
// a directory of other refs; a symbolic ref and a reftable repository are
// left to git.
func TestRefFromFiles(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	a := commitFiles(t, r, "", 1, "a", map[string]string{"a": "1\n"})
	b := commitFiles(t, r, a, 2, "b", map[string]string{"a": "2\n"})
	c := commitFiles(t, r, b, 3, "c", map[string]string{"a": "3\n"})

	gitSays := func(name string) string {
		out, err := r.git(t.Context(), nil, "rev-parse", "--verify", "--quiet", name)
		if err != nil {
			return "" // no such ref
		}
		return string(out[:40])
	}
	check := func(step string, names ...string) {
		t.Helper()
		out, err := r.git(t.Context(), nil, "for-each-ref", "--format=%(objectname) %(refname)")
		require.NoError(t, err)
		var listed []string
		refs, ok := r.refsFromFiles()
		require.True(t, ok, "%s: refs listed from files", step)
		for _, ref := range refs {
			listed = append(listed, ref.SHA+" "+ref.Name)
		}
		assert.Equal(t, strings.Fields(strings.ReplaceAll(string(out), " ", "_")), strings.Fields(strings.ReplaceAll(strings.Join(listed, "\n"), " ", "_")), "%s: the listing", step)
		for _, name := range names {
			sha, ok := r.refFromFiles(name)
			require.True(t, ok, "%s: %s read from files", step, name)
			assert.Equal(t, gitSays(name), sha, "%s: %s", step, name)
		}
	}
	names := []string{"refs/heads/main", "refs/heads/feature/x", "refs/heads/feature", "refs/tags/v1", "refs/heads/gone"}

	setRef(t, r, "refs/heads/main", a)
	setRef(t, r, "refs/heads/feature/x", b)
	gitOut(t, r, "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "tag", "-a", "-m", "v1", "v1", a)
	setRef(t, r, "refs/heads/gone", c)
	check("loose", names...)
	assert.NotEqual(t, a, gitSays("refs/tags/v1"), "an annotated tag holds the tag object")

	gitOut(t, r, "pack-refs", "--all")
	_, err := os.Stat(filepath.Join(r.path, "refs", "heads", "main"))
	require.ErrorIs(t, err, os.ErrNotExist, "main is packed")
	check("packed", names...)

	setRef(t, r, "refs/heads/main", c) // loose again, over a stale packed line
	gitOut(t, r, "update-ref", "-d", "refs/heads/gone")
	check("loose over packed, one deleted", names...)
	sha, _ := r.refFromFiles("refs/heads/main")
	assert.Equal(t, c, sha)
	sha, ok := r.refFromFiles("refs/heads/gone")
	assert.True(t, ok)
	assert.Empty(t, sha)

	require.NoError(t, os.WriteFile(filepath.Join(r.path, "refs", "heads", "main.lock"), []byte(b+"\n"), 0o644))
	check("a write in progress", names...)

	gitOut(t, r, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
	_, ok = r.refFromFiles("refs/heads/alias")
	assert.False(t, ok, "a symbolic ref is git's to follow")
	_, ok = r.refsFromFiles()
	assert.False(t, ok, "a listing with a symbolic ref is git's")
	_, ok = r.refFromFiles("refs/heads/a..b")
	assert.False(t, ok, "a name git would not store")

	require.NoError(t, os.Mkdir(filepath.Join(r.path, "reftable"), 0o755))
	_, ok = r.refFromFiles("refs/heads/main")
	assert.False(t, ok, "a reftable repository is git's to read")
}
