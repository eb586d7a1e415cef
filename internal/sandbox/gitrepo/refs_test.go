package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestResolveRef(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	one := commitFiles(t, r, "", 0, "one", map[string]string{"f": "1"})
	two := commitFiles(t, r, one, 1, "two", map[string]string{"f": "2"})
	other := commitFiles(t, r, "", 2, "other", map[string]string{"g": "1"})
	setRef(t, r, "refs/heads/main", two)
	setRef(t, r, "refs/heads/feature/x", one)
	tag := strings.TrimSpace(gitOutIn(t, r, fmt.Sprintf("object %s\ntype commit\ntag v1\ntagger Ada <ada@example.com> 1700000000 +0200\n\nv1\n", one), "mktag"))
	setRef(t, r, "refs/tags/v1", tag)
	setRef(t, r, "refs/tags/main", other) // a tag named like a branch: the branch wins
	setRef(t, r, "refs/tags/only-tag", other)
	tree := gitOut(t, r, "rev-parse", two+"^{tree}")
	setRef(t, r, "refs/tags/tree", tree)

	tests := []struct {
		name, want string
		err        error
	}{
		{"refs/heads/main", two, nil},
		{"heads/main", two, nil},
		{"main", two, nil},
		{"feature/x", one, nil},
		{"refs/tags/main", other, nil},
		{"tags/v1", one, nil},
		{"v1", one, nil},
		{"only-tag", other, nil},
		{two, two, nil},
		{strings.ToUpper(two), two, nil},
		{"main~1", one, nil},
		{two[:12], two, nil},
		{"nope", "", ErrNotFound},
		{"refs/heads/nope", "", ErrNotFound},
		{"heads/v1", "", ErrNotFound},
		{strings.Repeat("0", 40), "", ErrNotFound},
		{tree, "", ErrNotFound},
		{"tags/tree", "", ErrNotFound},
		{"-all", "", ErrInvalid},
		{"main\nHEAD", "", ErrInvalid},
		{"", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.ResolveRef(ctx, tt.name)
			wantErr(t, err, tt.err)
			if got != tt.want {
				t.Errorf("ResolveRef(%q) = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestRefsAndSnapshot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	if refs, err := r.Refs(ctx, ""); err != nil || len(refs) != 0 {
		t.Fatalf("Refs of an empty repository = %v, %v", refs, err)
	}
	a := commitFiles(t, r, "", 0, "a", map[string]string{"f": "a"})
	b := commitFiles(t, r, a, 1, "b", map[string]string{"f": "b"})
	for _, ref := range []string{"refs/heads/main", "refs/heads/feature", "refs/heads/fe/x", "refs/tags/v1", "refs/pull/1/head"} {
		setRef(t, r, ref, a)
	}
	setRef(t, r, "refs/heads/main", b)
	tests := []struct {
		prefix string
		want   []Ref
	}{
		{"refs/heads/", []Ref{{"refs/heads/fe/x", a}, {"refs/heads/feature", a}, {"refs/heads/main", b}}},
		{"refs/heads/fe", []Ref{{"refs/heads/fe/x", a}, {"refs/heads/feature", a}}},
		{"refs/heads/fe/", []Ref{{"refs/heads/fe/x", a}}},
		{"refs/tags", []Ref{{"refs/tags/v1", a}}},
		{"refs/nothing", nil},
		{"", []Ref{{"refs/heads/fe/x", a}, {"refs/heads/feature", a}, {"refs/heads/main", b}, {"refs/pull/1/head", a}, {"refs/tags/v1", a}}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			got, err := r.Refs(ctx, tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Refs(%q) = %v, want %v", tt.prefix, got, tt.want)
			}
		})
	}
	snap, err := r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refs/heads/main": b, "refs/heads/feature": a, "refs/heads/fe/x": a, "refs/tags/v1": a, "refs/pull/1/head": a}
	if !maps.Equal(snap, want) {
		t.Errorf("Snapshot = %v, want %v", snap, want)
	}
}

func TestUpdateRef(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	a := commitFiles(t, r, "", 0, "a", map[string]string{"f": "a"})
	b := commitFiles(t, r, a, 1, "b", map[string]string{"f": "b"})
	c := commitFiles(t, r, b, 2, "c", map[string]string{"f": "c"})
	blob, err := r.WriteBlob(ctx, []byte("blob"))
	if err != nil {
		t.Fatal(err)
	}
	const ref = "refs/heads/main"
	steps := []struct {
		name, ref, new, old string
		err                 error
		after               string // the ref's value afterwards
	}{
		{"create", ref, a, "", nil, a},
		{"create again", ref, b, "", ErrStale, a},
		{"update with the right old value", ref, b, a, nil, b},
		{"update with a stale old value", ref, c, a, ErrStale, b},
		{"update in upper case", ref, strings.ToUpper(c), strings.ToUpper(b), nil, c},
		{"to a missing object", ref, strings.Repeat("1", 40), c, ErrNotFound, c},
		{"branch to a blob", ref, blob, c, ErrInvalid, c},
		{"short new value", ref, c[:8], c, ErrInvalid, c},
		{"short old value", ref, a, c[:8], ErrInvalid, c},
		{"old value of a missing ref", "refs/heads/new", a, c, ErrStale, ""},
		{"not under refs/", "heads/x", a, "", ErrInvalid, ""},
		{"bad name", "refs/heads/a..b", a, "", ErrInvalid, ""},
		{"name ending in .lock", "refs/heads/x.lock", a, "", ErrInvalid, ""},
		{"tag to a blob", "refs/tags/blob", blob, "", nil, blob},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			wantErr(t, r.UpdateRef(ctx, s.ref, s.new, s.old), s.err)
			if !strings.HasPrefix(s.ref, "refs/") || strings.Contains(s.ref, "..") || strings.HasSuffix(s.ref, ".lock") {
				return
			}
			if got, _ := r.readRef(ctx, s.ref); got != s.after {
				t.Errorf("%s = %q, want %q", s.ref, got, s.after)
			}
		})
	}
	t.Run("moved behind the repository's back", func(t *testing.T) {
		setRef(t, r, ref, a)
		wantErr(t, r.UpdateRef(ctx, ref, b, c), ErrStale)
	})
}

// TestUpdateRefRace has two writers, through two Repo values, race to move a
// branch from the same old value: exactly one may win each round.
func TestUpdateRefRace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	other, err := Open(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	const ref = "refs/heads/main"
	cur := commitFiles(t, r, "", 0, "root", map[string]string{"f": "0"})
	if err := r.UpdateRef(ctx, ref, cur, ""); err != nil {
		t.Fatal(err)
	}
	for round := range 8 {
		cands := [2]string{
			commitFiles(t, r, cur, int64(round*2+1), "left", map[string]string{"f": "l"}),
			commitFiles(t, r, cur, int64(round*2+2), "right", map[string]string{"f": "r"}),
		}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, repo := range []*Repo{r, other} {
			wg.Go(func() {
				<-start
				errs[i] = repo.UpdateRef(ctx, ref, cands[i], cur)
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for i, err := range errs {
			switch {
			case err == nil:
				winners++
				cur = cands[i]
			case !errors.Is(err, ErrStale):
				t.Fatalf("round %d: loser's error %v does not wrap ErrStale", round, err)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d writers won (errors %v)", round, winners, errs)
		}
		if got, err := r.ResolveRef(ctx, ref); err != nil || got != cur {
			t.Fatalf("round %d: ref = %s, %v; want the winner %s", round, got, err, cur)
		}
	}
}

func TestDeleteRef(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	a := commitFiles(t, r, "", 0, "a", map[string]string{"f": "a"})
	b := commitFiles(t, r, a, 1, "b", map[string]string{"f": "b"})
	setRef(t, r, "refs/heads/x", a)
	setRef(t, r, "refs/heads/y", a)
	setRef(t, r, "refs/heads/x-sibling", b)
	steps := []struct {
		name, ref, old string
		err            error
	}{
		{"missing ref", "refs/heads/nope", "", ErrNotFound},
		{"missing ref with an old value", "refs/heads/nope", a, ErrNotFound},
		{"stale old value", "refs/heads/x", b, ErrStale},
		{"right old value", "refs/heads/x", a, nil},
		{"already deleted", "refs/heads/x", a, ErrNotFound},
		{"no check", "refs/heads/y", "", nil},
		{"bad name", "refs/heads/..", "", ErrInvalid},
		{"short old value", "refs/heads/x-sibling", b[:6], ErrInvalid},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			wantErr(t, r.DeleteRef(ctx, s.ref, s.old), s.err)
		})
	}
	refs, err := r.Refs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(refs) != fmt.Sprint([]Ref{{"refs/heads/x-sibling", b}}) {
		t.Errorf("refs left = %v, want only refs/heads/x-sibling", refs)
	}
}

func TestWritesWaitForEachOther(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := commitFiles(t, r, "", 0, "root", map[string]string{"n": "0"})
	setRef(t, r, "refs/heads/main", base)
	// Read-modify-write cycles under WithLock from many goroutines: none may
	// be lost.
	const writers = 6
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			err := r.WithLock(context.Background(), func(ctx context.Context) error {
				head, err := r.ResolveRef(ctx, "main")
				if err != nil {
					return err
				}
				next, err := writeCommit(ctx, r, head, int64(i+1), fmt.Sprint("write ", i), map[string]string{fmt.Sprint("w", i): "x"})
				if err != nil {
					return err
				}
				return r.UpdateRef(ctx, "refs/heads/main", next, head)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	log, err := r.Log(t.Context(), base, "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != writers {
		t.Errorf("main gained %d commits, want %d", len(log), writers)
	}
}

// TestRefWriteOutlivesCancel cancels a ref write while git holds the ref's
// lock file (a reference-transaction hook keeps it there until told): the
// write finishes and leaves no lock, so later writes of that ref succeed.
// A git process killed inside that window would leave the lock behind and
// refuse every later write of the ref.
func TestRefWriteOutlivesCancel(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	a := commitFiles(t, r, "", 0, "a", map[string]string{"f": "a"})
	b := commitFiles(t, r, a, 1, "b", map[string]string{"f": "b"})
	dir := t.TempDir()
	held, release := filepath.Join(dir, "held"), filepath.Join(dir, "release")
	hook := "#!/bin/sh\n[ \"$1\" = prepared ] || exit 0\n: > '" + held + "'\n" +
		"while [ ! -e '" + release + "' ]; do sleep 0.01; done\n"
	if err := os.WriteFile(filepath.Join(r.Path(), "hooks", "reference-transaction"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	const ref = "refs/heads/fleetbot/x"
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.UpdateRef(ctx, ref, a, "") }()
	for {
		if _, err := os.Stat(held); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	lock := filepath.Join(r.Path(), filepath.FromSlash(ref)+".lock")
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("git should hold %s while the hook waits: %v", lock, err)
	}
	cancel()
	time.Sleep(50 * time.Millisecond) // a killed git would be gone by now
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the write begun before the cancel: %v", err)
	}
	if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s left behind (%v)", lock, err)
	}
	if err := r.UpdateRef(t.Context(), ref, b, a); err != nil {
		t.Fatalf("the next write of %s: %v", ref, err)
	}
	// A write asked for with a context already ended does not start.
	if err := r.UpdateRef(ctx, ref, a, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("write with an ended context: %v, want context.Canceled", err)
	}
}

// TestCreateRefLocked: a ref that cannot be created for another reason
// than being there (a lock file git will not take) is not reported as
// existing, whether "must not exist" is asked as "" or as git's zero ID.
func TestCreateRefLocked(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	a := commitFiles(t, r, "", 0, "a", map[string]string{"f": "a"})
	const ref = "refs/heads/locked"
	if err := os.WriteFile(filepath.Join(r.Path(), "refs", "heads", "locked.lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"", zeroSHA} {
		err := r.UpdateRef(t.Context(), ref, a, old)
		if err == nil || errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "lock") {
			t.Errorf("create %s with old %q under a lock: %v, want git's own error about the lock", ref, old, err)
		}
	}
}

// TestClearStaleLocks: the lock files a killed git left refuse the writes
// of their refs until ClearStaleLocks removes them; it removes nothing else.
func TestClearStaleLocks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	a := commitFiles(t, r, "", 0, "a", map[string]string{"f": "a"})
	wantErr(t, r.UpdateRef(ctx, "refs/heads/main", a, ""), nil)
	locks := []string{
		filepath.Join(r.Path(), "refs", "heads", "fleetbot", "x.lock"),
		filepath.Join(r.Path(), "packed-refs.lock"),
	}
	wantErr(t, os.MkdirAll(filepath.Dir(locks[0]), 0o755), nil)
	for _, l := range locks {
		wantErr(t, os.WriteFile(l, nil, 0o644), nil)
	}
	if err := r.UpdateRef(ctx, "refs/heads/fleetbot/x", a, ""); err == nil {
		t.Fatal("git wrote a ref whose lock file is there")
	}
	removed, err := r.ClearStaleLocks()
	wantErr(t, err, nil)
	slices.Sort(removed)
	want := slices.Sorted(slices.Values(locks))
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q", removed, want)
	}
	wantErr(t, r.UpdateRef(ctx, "refs/heads/fleetbot/x", a, ""), nil)
	if got, _ := r.ResolveRef(ctx, "refs/heads/main"); got != a {
		t.Fatalf("main = %s, want %s", got, a)
	}
	if again, err := r.ClearStaleLocks(); err != nil || len(again) != 0 {
		t.Fatalf("a second clearing removed %q (%v)", again, err)
	}
}
