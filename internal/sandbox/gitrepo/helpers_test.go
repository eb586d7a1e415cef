package gitrepo

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// zone is a fixed non-UTC offset, so tests see time zones survive.
var zone = time.FixedZone("+0200", 2*3600)

// sig returns a signature n seconds after a fixed instant.
func sig(n int64) Signature {
	return Signature{Name: "Ada Lovelace", Email: "ada@example.com", When: time.Unix(1700000000+n, 0).In(zone)}
}

// newRepo makes an empty bare repository whose default branch is main.
func newRepo(t testing.TB) *Repo {
	t.Helper()
	r, err := Init(filepath.Join(t.TempDir(), "acme", "fleet.git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// commitFiles commits files (path -> content; "" content deletes the path)
// on top of parent ("" for a root commit) and returns the commit's SHA.
func commitFiles(t testing.TB, r *Repo, parent string, n int64, msg string, files map[string]string) string {
	t.Helper()
	sha, err := writeCommit(context.Background(), r, parent, n, msg, files)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// writeCommit is commitFiles with a context, for use inside WithLock and off
// the test's goroutine.
func writeCommit(ctx context.Context, r *Repo, parent string, n int64, msg string, files map[string]string) (string, error) {
	base := ""
	var parents []string
	if parent != "" {
		c, err := r.Commit(ctx, parent)
		if err != nil {
			return "", err
		}
		base, parents = c.Tree, []string{parent}
	}
	paths := slices.Sorted(maps.Keys(files))
	var changes []TreeChange
	for _, p := range paths {
		if files[p] == "" {
			changes = append(changes, TreeChange{Path: p})
			continue
		}
		sha, err := r.WriteBlob(ctx, []byte(files[p]))
		if err != nil {
			return "", err
		}
		changes = append(changes, TreeChange{Path: p, SHA: sha})
	}
	tree, err := r.WriteTree(ctx, base, changes)
	if err != nil {
		return "", err
	}
	return r.WriteCommit(ctx, CommitInfo{Tree: tree, Parents: parents, Author: sig(n), Committer: sig(n), Message: msg})
}

// setRef points ref at sha whatever it held.
func setRef(t testing.TB, r *Repo, ref, sha string) {
	t.Helper()
	if _, err := r.git(context.Background(), nil, "update-ref", ref, sha); err != nil {
		t.Fatal(err)
	}
}

// gitOut runs git on the repository and returns its trimmed output.
func gitOut(t testing.TB, r *Repo, args ...string) string {
	t.Helper()
	out, err := r.git(context.Background(), nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// wantErr checks err against a sentinel; nil target means success.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("error %v, want one wrapping %q", err, target)
	}
}

// listing renders a recursive tree as "mode type path" lines.
func listing(t *testing.T, r *Repo, treeish string) []string {
	t.Helper()
	entries, err := r.Tree(t.Context(), treeish, true)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = e.Mode + " " + e.Type + " " + e.Path
	}
	return lines
}
