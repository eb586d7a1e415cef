package gitrepo

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestObjectMemo: a commit, a tree or a blob named by its full ID is asked
// of git once; names that can move (a branch) are asked every time, and an
// object git did not find is asked again, so it is found once it arrives.
// What the memo hands out is a copy. Not parallel: it counts the package's
// git processes.
func TestObjectMemo(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	first := commitFiles(t, r, "", 1, "first", map[string]string{"a.yaml": "a: 1\n"})
	setRef(t, r, "refs/heads/main", first)

	asked := func(f func()) int64 {
		before := gitProcesses.Load()
		f()
		return gitProcesses.Load() - before
	}
	c, err := r.Commit(ctx, first)
	require.NoError(t, err)
	_, err = r.resolveType(ctx, "tree", first, "tree")
	require.NoError(t, err)
	assert.Zero(t, asked(func() {
		again, err := r.Commit(ctx, first)
		require.NoError(t, err)
		assert.Equal(t, c, again)
		tree, err := r.resolveType(ctx, "tree", first, "tree")
		require.NoError(t, err)
		assert.Equal(t, c.Tree, tree)
	}), "a commit and its tree by full ID, asked before")

	// A branch moves: it is asked each time, and answers the new commit.
	second := commitFiles(t, r, first, 2, "second", map[string]string{"a.yaml": "a: 2\n"})
	setRef(t, r, "refs/heads/main", second)
	assert.Equal(t, int64(1), asked(func() {
		sha, err := r.resolveType(ctx, "revision", "refs/heads/main", "commit")
		require.NoError(t, err)
		assert.Equal(t, second, sha)
	}))

	// An object not there yet is not remembered as missing.
	content := []byte("late: true\n")
	late, err := r.git(ctx, content, "hash-object", "--stdin")
	require.NoError(t, err)
	lateID := string(late[:40])
	_, err = r.ReadBlob(ctx, lateID)
	wantErr(t, err, ErrNotFound)
	written, err := r.WriteBlob(ctx, content)
	require.NoError(t, err)
	require.Equal(t, lateID, written)
	blob, err := r.ReadBlob(ctx, lateID)
	require.NoError(t, err)
	assert.Equal(t, content, blob)

	// The memo hands out copies: changing one changes no later answer.
	blob[0] = 'X'
	assert.Zero(t, asked(func() {
		again, err := r.ReadBlob(ctx, lateID)
		require.NoError(t, err)
		assert.Equal(t, content, again)
	}))
}

// TestFixedNames: only full object IDs, alone or peeled to a commit or a
// tree, have answers that cannot change.
func TestFixedNames(t *testing.T) {
	t.Parallel()
	id := "0123456789abcdef0123456789abcdef01234567"
	for name, want := range map[string]bool{
		id:                         true,
		id + "^{commit}":           true,
		id + "^{tree}":             true,
		id + "^{}":                 false,
		id + "^":                   false,
		id + ":a.yaml":             false,
		"refs/heads/main":          false,
		"refs/heads/main^{commit}": false,
		id[:39]:                    false,
		"main":                     false,
		"refs/tags/" + id:          false,
		"refs/tags/" + id + "^{}":  false,
	} {
		assert.Equal(t, want, fixed(name), name)
	}
}

// TestHistoryMemo: what git says of history between commits named by their
// IDs is asked once, a "no" (exit status 1) included, and reads the same
// the second time. Not parallel: it counts the package's git processes.
func TestHistoryMemo(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	base := commitFiles(t, r, "", 1, "base", map[string]string{"a.yaml": "a: 1\n", "b.yaml": "b: 1\n"})
	left := commitFiles(t, r, base, 2, "left", map[string]string{"a.yaml": "a: 2\n"})
	right := commitFiles(t, r, base, 3, "right", map[string]string{"a.yaml": "a: 3\n"})
	other := commitFiles(t, r, "", 4, "unrelated", map[string]string{"c.yaml": "c: 1\n"})

	type answer struct {
		mergeBase        string
		noBase           error
		ancestor, notOne bool
		ahead, behind    int
		log              []CommitInfo
		tree             string
		conflicts        []string
	}
	ask := func() (answer, int64) {
		before := gitProcesses.Load()
		var a answer
		var err error
		a.mergeBase, err = r.MergeBase(ctx, left, right)
		require.NoError(t, err)
		_, a.noBase = r.MergeBase(ctx, left, other)
		a.ancestor, err = r.IsAncestor(ctx, base, left)
		require.NoError(t, err)
		a.notOne, err = r.IsAncestor(ctx, left, right)
		require.NoError(t, err)
		a.ahead, a.behind, err = r.AheadBehind(ctx, left, right)
		require.NoError(t, err)
		a.log, err = r.Log(ctx, base, right)
		require.NoError(t, err)
		a.tree, a.conflicts, err = r.MergeTree(ctx, left, right)
		require.NoError(t, err)
		return a, gitProcesses.Load() - before
	}
	first, asked := ask()
	assert.Positive(t, asked)
	assert.Equal(t, base, first.mergeBase)
	wantErr(t, first.noBase, ErrNotFound)
	assert.True(t, first.ancestor)
	assert.False(t, first.notOne)
	assert.Equal(t, 1, first.ahead)
	assert.Equal(t, 1, first.behind)
	require.Len(t, first.log, 1)
	assert.Equal(t, right, first.log[0].SHA)
	assert.Equal(t, []string{"a.yaml"}, first.conflicts)

	again, asked := ask()
	assert.Zero(t, asked, "every answer remembered")
	assert.Equal(t, first.mergeBase, again.mergeBase)
	wantErr(t, again.noBase, ErrNotFound)
	again.noBase = first.noBase
	assert.Equal(t, first, again)
}

// TestMemoBounds: the memo starts over when full, by count or by size,
// and keeps no value over an eighth of its size.
func TestMemoBounds(t *testing.T) {
	t.Parallel()
	m := newMemo(func(b []byte) int { return len(b) })
	for i := range memoEntries {
		m.put(fmt.Sprint(i), nil)
	}
	_, ok := m.get("0")
	assert.True(t, ok, "full, not over")
	m.put("one more", nil)
	_, ok = m.get("0")
	assert.False(t, ok, "started over")
	_, ok = m.get("one more")
	assert.True(t, ok)

	big := make([]byte, memoBytes/8+1)
	m.put("big", big)
	_, ok = m.get("big")
	assert.False(t, ok, "too large to keep")
	for i := range 9 {
		m.put(fmt.Sprint("eighth ", i), big[:memoBytes/8])
	}
	assert.LessOrEqual(t, m.bytes, memoBytes)
	_, ok = m.get("eighth 0")
	assert.False(t, ok, "over the size: started over")
	_, ok = m.get("eighth 8")
	assert.True(t, ok)
}
