package gitrepo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		owner, name string
		ok          bool
	}{
		{"acme", "fleet", true},
		{"Acme-Corp_1", "fleet.blueprints-v2_x", true},
		{"acme", ".github", true},
		{"", "fleet", false},
		{"acme", "", false},
		{"acme", "fleet.git", false},
		{"acme", "fleet.GIT", false},
		{"acme", ".", false},
		{"acme", "..", false},
		{"..", "fleet", false},
		{"acme", "a..b", false},
		{"acme", "a/b", false},
		{"ac/me", "fleet", false},
		{"acme", "fleet repo", false},
		{"acme", "flëet", false},
		{"acme", strings.Repeat("a", 101), false},
		{"acme", strings.Repeat("a", 100), true},
	}
	for _, tt := range tests {
		t.Run(tt.owner+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateName(tt.owner, tt.name)
			if tt.ok {
				wantErr(t, err, nil)
				if got, want := RepoPath("/srv", tt.owner, tt.name), filepath.Join("/srv", tt.owner, tt.name+".git"); got != want {
					t.Errorf("RepoPath = %q, want %q", got, want)
				}
				return
			}
			wantErr(t, err, ErrInvalid)
			if got := RepoPath("/srv", tt.owner, tt.name); got != "" {
				t.Errorf("RepoPath = %q for invalid names, want \"\"", got)
			}
		})
	}
}

func TestInitOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	root := t.TempDir()
	path := RepoPath(root, "acme", "fleet")
	r, err := Init(path, "trunk")
	if err != nil {
		t.Fatal(err)
	}
	if r.Path() != path {
		t.Errorf("Path() = %q, want %q", r.Path(), path)
	}
	if got := gitOut(t, r, "rev-parse", "--is-bare-repository"); got != "true" {
		t.Errorf("is bare = %q", got)
	}
	if got := gitOut(t, r, "config", "http.receivepack"); got != "true" {
		t.Errorf("http.receivepack = %q", got)
	}
	if b, err := r.DefaultBranch(ctx); err != nil || b != "trunk" {
		t.Errorf("DefaultBranch = %q, %v; want trunk", b, err)
	}
	if err := r.SetDefaultBranch(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	o, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := o.DefaultBranch(ctx); err != nil || b != "main" {
		t.Errorf("DefaultBranch after SetDefaultBranch = %q, %v; want main", b, err)
	}
	if o.lock != r.lock {
		t.Error("two Repo values on one path do not share a lock")
	}

	t.Run("init on an existing path", func(t *testing.T) {
		_, err := Init(path, "main")
		wantErr(t, err, fs.ErrExist)
	})
	t.Run("init with a bad branch", func(t *testing.T) {
		for _, b := range []string{"", "-x", "a..b", "a b", "a~1", "x.lock", "HEAD@{1}"} {
			_, err := Init(filepath.Join(root, "bad", "b.git"), b)
			wantErr(t, err, ErrInvalid)
		}
		if _, err := os.Stat(filepath.Join(root, "bad", "b.git")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("rejected Init left a directory behind: %v", err)
		}
	})
	t.Run("set a bad default branch", func(t *testing.T) {
		wantErr(t, r.SetDefaultBranch(ctx, "a..b"), ErrInvalid)
	})
	t.Run("open a missing path", func(t *testing.T) {
		_, err := Open(filepath.Join(root, "nope.git"))
		wantErr(t, err, ErrNotFound)
	})
	t.Run("open an empty path", func(t *testing.T) {
		_, err := Open(RepoPath(root, "acme", "bad..name"))
		wantErr(t, err, ErrInvalid)
	})
	t.Run("open a plain directory", func(t *testing.T) {
		dir := filepath.Join(root, "plain")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil {
			t.Fatal("Open of a plain directory succeeded")
		}
	})
	t.Run("open a work tree", func(t *testing.T) {
		dir := filepath.Join(root, "work")
		if _, err := runGit(ctx, "", nil, nil, "init", "--quiet", dir); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil {
			t.Error("Open of a work tree's top directory succeeded")
		}
		_, err := Open(filepath.Join(dir, ".git"))
		if err == nil || !strings.Contains(err.Error(), "not a bare repository") {
			t.Fatalf("Open of a work tree: %v, want 'not a bare repository'", err)
		}
	})
	t.Run("a repository opened before, no longer bare", func(t *testing.T) {
		path := RepoPath(root, "acme", "was-bare")
		if _, err := Init(path, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path); err != nil {
			t.Fatal(err)
		}
		if _, err := runGit(ctx, "", nil, nil, "--git-dir="+path, "config", "core.bare", "false"); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), "not a bare repository") {
			t.Fatalf("Open after core.bare false: %v, want 'not a bare repository'", err)
		}
	})
}

func TestGitEnvIsClean(t *testing.T) {
	t.Setenv("GIT_DIR", "/nonexistent")
	t.Setenv("GIT_AUTHOR_NAME", "Leaked Name")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'user.name=leaked'")
	r := newRepo(t)
	t.Setenv("GIT_AUTHOR_EMAIL", "leaked@example.com")
	// With the caller's identity hidden, git knows no author at all.
	if out, err := r.git(t.Context(), nil, "var", "GIT_AUTHOR_IDENT"); err == nil || strings.Contains(string(out), "Leaked") {
		t.Errorf("caller environment reached git: %s (err %v)", out, err)
	}
	if got := gitOut(t, r, "config", "--list", "--show-origin"); strings.Contains(got, "leaked") || strings.Contains(got, "global") || strings.Contains(got, "system") {
		t.Errorf("config outside the repository reached git:\n%s", got)
	}
	entries, err := os.ReadDir(privateHome())
	if err != nil || len(entries) != 0 {
		t.Errorf("private HOME %s is not an empty directory: %v, %d entries", privateHome(), err, len(entries))
	}
}

func TestGitErrorNamesRepoAndOperation(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	sha := commitFiles(t, r, "", 0, "one", map[string]string{"f": "x"})
	// refs/heads/x exists, so git cannot create refs/heads/x/y: the error
	// must carry git's own words, the repository and the operation.
	setRef(t, r, "refs/heads/x", sha)
	err := r.UpdateRef(t.Context(), "refs/heads/x/y", sha, "")
	if err == nil {
		t.Fatal("creating refs/heads/x/y next to refs/heads/x succeeded")
	}
	for _, want := range []string{"update ref refs/heads/x/y", r.Path(), "git update-ref", "refs/heads/x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
		t.Errorf("a directory/file ref clash is reported as %v", err)
	}
}

func TestWithLock(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	sha := commitFiles(t, r, "", 0, "one", map[string]string{"f": "x"})
	other, err := Open(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	var kept context.Context
	done := make(chan error, 1)
	err = r.WithLock(t.Context(), func(ctx context.Context) error {
		kept = ctx
		if other.lock.mu.TryLock() {
			t.Error("the lock is free inside WithLock")
		}
		// Writes with the lock's context do not wait for it again.
		if err := r.UpdateRef(ctx, "refs/heads/main", sha, ""); err != nil {
			return err
		}
		if err := other.WithLock(ctx, func(context.Context) error { return nil }); err != nil {
			return err
		}
		// Writes with another context wait, and give up with it.
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		if err := other.UpdateRef(cancelled, "refs/heads/b", sha, ""); !errors.Is(err, context.Canceled) {
			t.Errorf("write from outside while locked: %v, want context.Canceled", err)
		}
		go func() { done <- other.UpdateRef(context.Background(), "refs/heads/c", sha, "") }()
		select {
		case err := <-done:
			t.Errorf("a write from outside ran while the lock was held (err %v)", err)
			done <- err
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write waiting for the lock: %v", err)
	}
	if r.holds(kept) {
		t.Error("the context still carries the lock after WithLock returned")
	}
	waitCtx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.WithLock(waitCtx, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("lock not released after WithLock: %v", err)
	}
	refs, err := r.Refs(t.Context(), "refs/heads/")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 || refs[0].Name != "refs/heads/c" || refs[1].Name != "refs/heads/main" {
		t.Errorf("refs = %v, want c (written after the lock) and main", refs)
	}
}
