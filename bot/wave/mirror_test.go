package wave

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// origin is a bare repository made with the git CLI, and a work tree that
// pushes commits to it.
type origin struct {
	t    testing.TB
	bare string
	work string
}

func newOrigin(t testing.TB) *origin {
	t.Helper()
	root := t.TempDir()
	o := &origin{t: t, bare: filepath.Join(root, "origin.git"), work: filepath.Join(root, "work")}
	o.git(root, "init", "--bare", "--initial-branch=main", o.bare)
	o.git(root, "init", "--initial-branch=main", o.work)
	return o
}

func (o *origin) git(dir string, args ...string) string {
	o.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	require.NoError(o.t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// commit makes the work tree hold exactly files (path -> content), commits
// on branch and pushes; it returns the commit SHA.
func (o *origin) commit(branch string, files map[string]string) string {
	o.t.Helper()
	o.git(o.work, "checkout", "-B", branch)
	entries, err := os.ReadDir(o.work)
	require.NoError(o.t, err)
	for _, e := range entries {
		if e.Name() != ".git" {
			require.NoError(o.t, os.RemoveAll(filepath.Join(o.work, e.Name())))
		}
	}
	for name, content := range files {
		p := filepath.Join(o.work, filepath.FromSlash(name))
		require.NoError(o.t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(o.t, os.WriteFile(p, []byte(content), 0o644))
	}
	o.git(o.work, "add", "-A")
	o.git(o.work, "commit", "--allow-empty", "-m", "change")
	o.git(o.work, "push", "--force", o.bare, branch)
	return o.git(o.work, "rev-parse", "HEAD")
}

func (o *origin) url() string { return "file://" + o.bare }

// readTree returns every file under dir, path -> content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	require.NoError(t, err)
	return files
}

func TestMirrorCheckout(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	v1 := map[string]string{
		"tenants/tenant-a/dev.yaml": "version: \"1.29\"\n",
		"tenants/tenant-b/dev.yaml": "version: \"1.29\"\n",
		"README.md":                 "fleet\n",
	}
	v2 := map[string]string{
		"tenants/tenant-a/dev.yaml": "version: \"1.30\"\n",
		"tenants/tenant-c/dev.yaml": "version: \"1.28\"\n",
		"README.md":                 "fleet\n",
	}
	sha1 := o.commit("main", v1)
	dir := t.TempDir()
	m := NewMirror(dir, nil)
	ctx := t.Context()

	got, err := m.Checkout(ctx, o.url(), "main", sha1)
	require.NoError(t, err)
	assert.Equal(t, v1, readTree(t, got), "first checkout clones and writes the commit's tree")

	sha2 := o.commit("main", v2)
	got, err = m.Checkout(ctx, o.url(), "main", sha2)
	require.NoError(t, err)
	assert.Equal(t, v2, readTree(t, got), "a new commit is fetched; a deleted file is absent")

	got, err = m.Checkout(ctx, o.url(), "main", sha1)
	require.NoError(t, err)
	assert.Equal(t, v1, readTree(t, got), "an older commit still gives its own tree")

	head, err := m.Head(ctx, o.url(), "main")
	require.NoError(t, err)
	assert.Equal(t, sha2, head)

	unknown := strings.Repeat("ab", 20)
	_, err = m.Checkout(ctx, o.url(), "main", unknown)
	require.ErrorIs(t, err, ErrStaleMirror)
	assert.ErrorContains(t, err, unknown)
	assert.ErrorContains(t, err, o.bare)
	assert.ErrorContains(t, err, "origin/main is at "+sha2)

	_, err = m.Checkout(ctx, o.url(), "main", "HEAD")
	assert.ErrorContains(t, err, "not a full SHA-1")

	_, err = m.Head(ctx, o.url(), "nope")
	assert.ErrorContains(t, err, "branch nope")
}

func TestMirrorFetch(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.commit("main", map[string]string{"a.yaml": "a: 1\n"})
	m := NewMirror(t.TempDir(), nil)
	ctx := t.Context()
	require.NoError(t, m.Fetch(ctx, o.url()), "first fetch clones")
	sha2 := o.commit("main", map[string]string{"a.yaml": "a: 2\n"})
	head, err := m.Head(ctx, o.url(), "main")
	require.NoError(t, err)
	assert.NotEqual(t, sha2, head, "Head does not fetch")
	require.NoError(t, m.Fetch(ctx, o.url()))
	head, err = m.Head(ctx, o.url(), "main")
	require.NoError(t, err)
	assert.Equal(t, sha2, head, "Fetch brings the pushed commit")

	o.commit("other", map[string]string{"b.yaml": "b: 1\n"})
	o.git(o.bare, "symbolic-ref", "HEAD", "refs/heads/other")
	o.git(o.work, "push", o.bare, "--delete", "main")
	require.NoError(t, m.Fetch(ctx, o.url()))
	_, err = m.Head(ctx, o.url(), "main")
	assert.Error(t, err, "a deleted branch is pruned")
}

// TestMirrorFileBefore reads a file as it was before a commit, at its first
// parent: what the commit changed it from.
func TestMirrorFileBefore(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.commit("main", map[string]string{"labels/a.yaml": "a: 1\nb: 2\n"})
	sha := o.commit("main", map[string]string{"labels/a.yaml": "a: 1\n", "new.yaml": "n: 1\n"})
	m := NewMirror(t.TempDir(), nil)
	ctx := t.Context()
	require.NoError(t, m.Fetch(ctx, o.url()))
	was, err := m.FileBefore(ctx, o.url(), sha, "labels/a.yaml")
	require.NoError(t, err)
	assert.Equal(t, "a: 1\nb: 2\n", string(was))
	_, err = m.FileBefore(ctx, o.url(), sha, "new.yaml")
	require.ErrorIs(t, err, fs.ErrNotExist, "the commit created it")
	_, err = m.FileBefore(ctx, o.url(), strings.Repeat("0", 40), "labels/a.yaml")
	require.Error(t, err, "a commit the mirror does not hold")
	_, err = m.FileBefore(ctx, o.url(), "main", "labels/a.yaml")
	require.ErrorContains(t, err, "is not a full SHA-1")
}

// TestMirrorReopen checks that a second process reuses what the first left:
// trees and objects, without the remote when nothing new is asked for.
func TestMirrorReopen(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	v1 := map[string]string{"a.yaml": "a: 1\n"}
	v2 := map[string]string{"a.yaml": "a: 2\n", "b/c.yaml": "c: 3\n"}
	sha1 := o.commit("main", v1)
	sha2 := o.commit("main", v2)
	dir := t.TempDir()
	ctx := t.Context()
	first := NewMirror(dir, nil)
	_, err := first.Checkout(ctx, o.url(), "main", sha2)
	require.NoError(t, err)

	// A checkout the first process left half-written goes away.
	half := filepath.Join(dir, SafeName(o.url()), ".checkout-123")
	require.NoError(t, os.Mkdir(half, 0o755))

	// The remote goes away: the second process must serve both commits
	// from the objects and trees on disk.
	moved := o.bare + ".moved"
	require.NoError(t, os.Rename(o.bare, moved))
	second := NewMirror(dir, nil)
	got, err := second.Checkout(ctx, o.url(), "main", sha2)
	require.NoError(t, err)
	assert.Equal(t, v2, readTree(t, got))
	got, err = second.Checkout(ctx, o.url(), "main", sha1)
	require.NoError(t, err)
	assert.Equal(t, v1, readTree(t, got), "a commit fetched earlier needs no fetch")
	assert.NoDirExists(t, half)

	require.NoError(t, os.Rename(moved, o.bare))
	v3 := map[string]string{"a.yaml": "a: 3\n"}
	sha3 := o.commit("main", v3)
	got, err = NewMirror(dir, nil).Checkout(ctx, o.url(), "main", sha3)
	require.NoError(t, err)
	assert.Equal(t, v3, readTree(t, got), "a reopened mirror fetches what it lacks")
}

// TestMirrorInterruptedClone checks that a clone cut short (repository
// initialised, nothing fetched) is completed by the next process.
func TestMirrorInterruptedClone(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	v1 := map[string]string{"a.yaml": "a: 1\n"}
	sha1 := o.commit("main", v1)
	dir := t.TempDir()
	o.git(dir, "init", "--bare", filepath.Join(dir, SafeName(o.url()), "git"))

	m := NewMirror(dir, nil)
	head, err := m.Head(t.Context(), o.url(), "main")
	require.NoError(t, err)
	assert.Equal(t, sha1, head)
	got, err := m.Checkout(t.Context(), o.url(), "main", sha1)
	require.NoError(t, err)
	assert.Equal(t, v1, readTree(t, got))
}

func TestMirrorConcurrentCheckouts(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	var shas []string
	var trees []map[string]string
	for i := range 4 {
		files := map[string]string{"v.yaml": fmt.Sprintf("v: %d\n", i), fmt.Sprintf("only-%d.yaml", i): "x: 1\n"}
		shas = append(shas, o.commit("main", files))
		trees = append(trees, files)
	}
	m := NewMirror(t.TempDir(), nil)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	dirs := make([]string, 16)
	for i := range 16 {
		wg.Go(func() {
			dirs[i], errs[i] = m.Checkout(t.Context(), o.url(), "main", shas[i%4])
		})
	}
	wg.Wait()
	for i := range 16 {
		require.NoError(t, errs[i])
		assert.Equal(t, trees[i%4], readTree(t, dirs[i]), "checkout %d of commit %d", i, i%4)
	}
}

func TestMirrorPrune(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	var shas []string
	for i := range 3 {
		shas = append(shas, o.commit("main", map[string]string{"v.yaml": fmt.Sprintf("v: %d\n", i)}))
	}
	m := NewMirror(t.TempDir(), nil)
	m.Keep = 1
	first, err := m.Checkout(t.Context(), o.url(), "main", shas[0])
	require.NoError(t, err)
	old := filepath.Join(filepath.Dir(first), strings.Repeat("0", 40))
	require.NoError(t, os.Mkdir(old, 0o755))
	require.NoError(t, os.Chtimes(old, timeAgo(2*keepFor), timeAgo(2*keepFor)))
	_, err = m.Checkout(t.Context(), o.url(), "main", shas[1])
	require.NoError(t, err)
	assert.NoDirExists(t, old, "a tree unused for long beyond Keep is removed")
	assert.DirExists(t, first, "a recently used tree stays")
}

// gitHTTPServer serves the repositories under root with git http-backend
// behind basic auth: the user must be x-access-token and the password one
// the test issued.
func gitHTTPServer(t *testing.T, root string, valid func(password string) bool) *httptest.Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	require.NoError(t, err)
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok || user != "x-access-token" || !valid(password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMirrorHTTPAuth(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	v1 := map[string]string{"a.yaml": "a: 1\n"}
	sha1 := o.commit("main", v1)

	var issued atomic.Int32
	var revoked atomic.Bool
	srv := gitHTTPServer(t, filepath.Dir(o.bare), func(password string) bool {
		// Only the latest token is valid: an expired one must not be reused.
		return !revoked.Load() && password == fmt.Sprintf("token-%d", issued.Load())
	})
	cloneURL := srv.URL + "/git/origin.git"
	auth := func(_ context.Context, u string) (string, string, error) {
		if u != cloneURL {
			return "", "", fmt.Errorf("credentials asked for %s", u)
		}
		return "x-access-token", fmt.Sprintf("token-%d", issued.Add(1)), nil
	}
	m := NewMirror(t.TempDir(), auth)
	got, err := m.Checkout(t.Context(), cloneURL, "main", sha1)
	require.NoError(t, err)
	assert.Equal(t, v1, readTree(t, got))

	v2 := map[string]string{"a.yaml": "a: 2\n"}
	sha2 := o.commit("main", v2)
	got, err = m.Checkout(t.Context(), cloneURL, "main", sha2)
	require.NoError(t, err)
	assert.Equal(t, v2, readTree(t, got), "the second fetch asks for a fresh token")
	assert.Equal(t, int32(2), issued.Load(), "one token per fetch")

	revoked.Store(true)
	err = m.Fetch(t.Context(), cloneURL)
	require.Error(t, err)
	assert.ErrorContains(t, err, "fetch "+cloneURL)

	failing := NewMirror(t.TempDir(), func(context.Context, string) (string, string, error) {
		return "", "", errors.New("installation token: no key")
	})
	_, err = failing.Checkout(t.Context(), cloneURL, "main", sha1)
	assert.ErrorContains(t, err, "credentials: installation token: no key")
}

// TestMirrorAuthPerRepository fetches two repositories that accept only
// their own credentials, as two installations' repositories do.
func TestMirrorAuthPerRepository(t *testing.T) {
	t.Parallel()
	origins := []*origin{newOrigin(t), newOrigin(t)}
	tokens := map[string]string{} // clone URL -> the only token it accepts
	var urls []string
	for i, o := range origins {
		token := fmt.Sprintf("token-of-installation-%d", i+1)
		srv := gitHTTPServer(t, filepath.Dir(o.bare), func(password string) bool { return password == token })
		u := srv.URL + "/git/origin.git"
		tokens[u] = token
		urls = append(urls, u)
	}
	m := NewMirror(t.TempDir(), func(_ context.Context, cloneURL string) (string, string, error) {
		return "x-access-token", tokens[cloneURL], nil
	})
	for i, o := range origins {
		files := map[string]string{"a.yaml": fmt.Sprintf("a: %d\n", i)}
		sha := o.commit("main", files)
		got, err := m.Checkout(t.Context(), urls[i], "main", sha)
		require.NoError(t, err, "origin %d", i)
		assert.Equal(t, files, readTree(t, got), "origin %d", i)
	}
}

func TestSafeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"https://github.com/acme/fleet.git", "github.com-acme-fleet-"},
		{"https://x-access-token:secret@github.com/acme/fleet.git", "github.com-acme-fleet-"},
		{"file:///tmp/a b/origin.git", "tmp-a-b-origin-"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got := SafeName(tt.url)
			assert.True(t, strings.HasPrefix(got, tt.want), "%s: got %s", tt.url, got)
			assert.NotContains(t, got, "secret")
			assert.Len(t, got, len(tt.want)+12)
		})
	}
	assert.NotEqual(t, SafeName("https://github.com/acme/fleet"), SafeName("https://github.com/acme/fleet.git"),
		"distinct URLs get distinct directories")
}

func timeAgo(d time.Duration) time.Time { return time.Now().Add(-d) }

// TestMirrorTree: the mirror tells a commit's tree, as GitHub would.
func TestMirrorTree(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	sha := o.commit("main", map[string]string{"a.yaml": "a: 1\n"})
	m := NewMirror(t.TempDir(), nil)
	_, err := m.Checkout(t.Context(), o.url(), "main", sha)
	require.NoError(t, err)
	tree, err := m.Tree(t.Context(), o.url(), sha)
	require.NoError(t, err)
	assert.Equal(t, o.git(o.work, "rev-parse", sha+"^{tree}"), tree)
	_, err = m.Tree(t.Context(), o.url(), "not-a-sha")
	assert.Error(t, err)
}

// TestMirrorTreeDurableBeforeItIsThere: a tree is made durable whole
// before it is renamed into place, since a tree present is trusted from
// then on, after a power loss too; one that cannot be made durable is not
// put in place, and leaves nothing behind.
func TestMirrorTreeDurableBeforeItIsThere(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	files := map[string]string{"tenants/tenant-a/dev.yaml": "version: \"1.29\"\n", "README.md": "fleet\n"}
	sha := o.commit("main", files)
	dir := t.TempDir()
	m := NewMirror(dir, nil)
	tree := filepath.Join(dir, SafeName(o.url()), "trees", sha)

	lost := errors.New("input/output error")
	m.durable = func(tmp string) error {
		assert.Equal(t, files, readTree(t, tmp), "every file is written before it is made durable")
		assert.NoDirExists(t, tree, "not in place before it is durable")
		return lost
	}
	_, err := m.Checkout(t.Context(), o.url(), "main", sha)
	require.ErrorIs(t, err, lost)
	assert.NoDirExists(t, tree)
	left, err := filepath.Glob(filepath.Join(dir, "*", ".checkout-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary directory left")

	calls := 0
	m.durable = func(tmp string) error {
		calls++
		assert.Equal(t, files, readTree(t, tmp))
		assert.NoDirExists(t, tree)
		return durableTree(tmp)
	}
	got, err := m.Checkout(t.Context(), o.url(), "main", sha)
	require.NoError(t, err)
	assert.Equal(t, tree, got)
	assert.Equal(t, files, readTree(t, got))
	_, err = m.Checkout(t.Context(), o.url(), "main", sha)
	require.NoError(t, err)
	assert.Equal(t, 1, calls, "a tree in place is not written again")
}
