package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestBlobs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	for _, content := range [][]byte{nil, []byte("hello\n"), {0, 1, 2, 0xff, '\r', '\n'}, bytes.Repeat([]byte("x"), 1<<20)} {
		sha, err := r.WriteBlob(ctx, content)
		if err != nil {
			t.Fatal(err)
		}
		if want := gitHashBlob(t, r, content); sha != want {
			t.Errorf("WriteBlob sha = %s, git hash-object says %s", sha, want)
		}
		got, err := r.ReadBlob(ctx, strings.ToUpper(sha))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Errorf("ReadBlob returned %d bytes, want %d", len(got), len(content))
		}
		if typ, err := r.ObjectType(ctx, sha); err != nil || typ != "blob" {
			t.Errorf("ObjectType = %q, %v; want blob", typ, err)
		}
	}

	commit := commitFiles(t, r, "", 0, "one", map[string]string{"f": "x"})
	c, err := r.Commit(ctx, commit)
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.TrimSpace(gitOutIn(t, r, fmt.Sprintf("object %s\ntype commit\ntag v1\ntagger Ada <ada@example.com> 1700000000 +0200\n\nv1\n", commit), "mktag"))
	types := map[string]string{commit: "commit", c.Tree: "tree", tag: "tag"}
	for sha, want := range types {
		if typ, err := r.ObjectType(ctx, sha); err != nil || typ != want {
			t.Errorf("ObjectType(%s) = %q, %v; want %s", sha, typ, err, want)
		}
	}

	missing := strings.Repeat("ab", 20)
	tests := []struct {
		name string
		err  error
		call func() error
	}{
		{"read missing blob", ErrNotFound, func() error { _, err := r.ReadBlob(ctx, missing); return err }},
		{"read a tree as a blob", ErrNotFound, func() error { _, err := r.ReadBlob(ctx, c.Tree); return err }},
		{"read a short sha", ErrInvalid, func() error { _, err := r.ReadBlob(ctx, commit[:12]); return err }},
		{"read a ref name", ErrInvalid, func() error { _, err := r.ReadBlob(ctx, "HEAD"); return err }},
		{"type of missing object", ErrNotFound, func() error { _, err := r.ObjectType(ctx, missing); return err }},
		{"type of an option", ErrInvalid, func() error { _, err := r.ObjectType(ctx, "--batch"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.call(), tt.err) })
	}
}

// gitHashBlob asks git for a blob's SHA without writing it.
func gitHashBlob(t *testing.T, r *Repo, content []byte) string {
	t.Helper()
	return strings.TrimSpace(gitOutIn(t, r, string(content), "hash-object", "--stdin"))
}

func gitOutIn(t *testing.T, r *Repo, stdin string, args ...string) string {
	t.Helper()
	out, err := r.git(context.Background(), []byte(stdin), args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// baseFixture commits a small tree on main and returns the repository, the
// commit, its tree and a blob SHA per file.
func baseFixture(t *testing.T) (r *Repo, commit, tree string, blobs map[string]string) {
	t.Helper()
	ctx := t.Context()
	r = newRepo(t)
	files := map[string]string{
		"README.md":  "# fleet\n",
		"a/b/c.txt":  "c\n",
		"a/b/d.txt":  "d\n",
		"a/e.txt":    "e\n",
		"a-b.txt":    "sorts between a and a/ in git's order\n",
		"bin/run.sh": "#!/bin/sh\n",
	}
	blobs = map[string]string{}
	var changes []TreeChange
	for p, content := range files {
		sha, err := r.WriteBlob(ctx, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		blobs[p] = sha
		mode := ""
		if strings.HasSuffix(p, ".sh") {
			mode = "100755"
		}
		changes = append(changes, TreeChange{Path: p, Mode: mode, SHA: sha})
	}
	link, err := r.WriteBlob(ctx, []byte("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blobs["link"] = link
	changes = append(changes, TreeChange{Path: "link", Mode: "120000", SHA: link})
	if tree, err = r.WriteTree(ctx, "", changes); err != nil {
		t.Fatal(err)
	}
	if commit, err = r.WriteCommit(ctx, CommitInfo{Tree: tree, Author: sig(0), Message: "base\n"}); err != nil {
		t.Fatal(err)
	}
	setRef(t, r, "refs/heads/main", commit)
	return r, commit, tree, blobs
}

func TestTree(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, commit, _, blobs := baseFixture(t)
	want := []string{
		"100644 blob README.md",
		"100644 blob a-b.txt",
		"040000 tree a",
		"040000 tree a/b",
		"100644 blob a/b/c.txt",
		"100644 blob a/b/d.txt",
		"100644 blob a/e.txt",
		"040000 tree bin",
		"100755 blob bin/run.sh",
		"120000 blob link",
	}
	for _, treeish := range []string{commit, "main", "refs/heads/main", "main:"} {
		if got := listing(t, r, treeish); !slices.Equal(got, want) {
			t.Errorf("Tree(%s, recursive) =\n%s\nwant\n%s", treeish, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	top, err := r.Tree(ctx, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range top {
		names = append(names, e.Path)
		if e.Path == "README.md" && (e.SHA != blobs["README.md"] || e.Size != int64(len("# fleet\n"))) {
			t.Errorf("README.md entry = %+v, want sha %s size 8", e, blobs["README.md"])
		}
		if e.Type == "tree" && e.Size != 0 {
			t.Errorf("tree entry %s has size %d", e.Path, e.Size)
		}
	}
	if want := []string{"README.md", "a-b.txt", "a", "bin", "link"}; !slices.Equal(names, want) {
		t.Errorf("Tree(main) = %v, want %v", names, want)
	}
	sub, err := r.Tree(ctx, "main:a/b", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) != 2 || sub[0].Path != "c.txt" || sub[1].Path != "d.txt" {
		t.Errorf("Tree(main:a/b) = %+v, want c.txt and d.txt", sub)
	}
	for _, bad := range []string{"nope", strings.Repeat("0", 40), "main:nope", blobs["README.md"]} {
		_, err := r.Tree(ctx, bad, false)
		wantErr(t, err, ErrNotFound)
	}
	_, err = r.Tree(ctx, "-r", false)
	wantErr(t, err, ErrInvalid)
}

func TestWriteTree(t *testing.T) {
	t.Parallel()
	r, commit, baseTree, blobs := baseFixture(t)
	ctx := t.Context()
	newBlob, err := r.WriteBlob(ctx, []byte("new\n"))
	if err != nil {
		t.Fatal(err)
	}
	subtree := strings.TrimSpace(gitOut(t, r, "rev-parse", commit+":a"))
	baseList := listing(t, r, baseTree)
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(baseList), func(l string) bool {
			return slices.Contains(drop, l[strings.LastIndex(l, " ")+1:])
		})
	}
	tests := []struct {
		name    string
		changes []TreeChange
		want    []string
		check   map[string]string // path -> blob SHA expected
	}{
		{
			name:    "add nested file in new directories",
			changes: []TreeChange{{Path: "new/deep/f.txt", SHA: newBlob}},
			want:    append(slices.Clone(baseList), "040000 tree new", "040000 tree new/deep", "100644 blob new/deep/f.txt"),
			check:   map[string]string{"new/deep/f.txt": newBlob},
		},
		{
			name:    "modify nested file",
			changes: []TreeChange{{Path: "a/b/c.txt", SHA: newBlob}},
			want:    baseList,
			check:   map[string]string{"a/b/c.txt": newBlob, "a/b/d.txt": blobs["a/b/d.txt"]},
		},
		{
			name:    "make a file executable",
			changes: []TreeChange{{Path: "README.md", Mode: "100755", SHA: blobs["README.md"]}},
			want:    append([]string{"100755 blob README.md"}, baseList[1:]...),
		},
		{
			name:    "delete a file",
			changes: []TreeChange{{Path: "a/e.txt"}},
			want:    without("a/e.txt"),
		},
		{
			name:    "deleting a directory's last files removes it",
			changes: []TreeChange{{Path: "a/b/c.txt"}, {Path: "a/b/d.txt"}},
			want:    without("a/b", "a/b/c.txt", "a/b/d.txt"),
		},
		{
			name:    "deleting every file under a removes a",
			changes: []TreeChange{{Path: "a/b/c.txt"}, {Path: "a/b/d.txt"}, {Path: "a/e.txt"}},
			want:    without("a", "a/b", "a/b/c.txt", "a/b/d.txt", "a/e.txt"),
		},
		{
			name:    "delete a directory",
			changes: []TreeChange{{Path: "a/b"}},
			want:    without("a/b", "a/b/c.txt", "a/b/d.txt"),
		},
		{
			name:    "delete then re-add under the same path",
			changes: []TreeChange{{Path: "a"}, {Path: "a", SHA: newBlob}},
			want:    append(without("a", "a/b", "a/b/c.txt", "a/b/d.txt", "a/e.txt"), "100644 blob a"),
		},
		{
			name:    "graft a tree and edit inside it",
			changes: []TreeChange{{Path: "z", Mode: "040000", SHA: subtree}, {Path: "z/b/c.txt"}, {Path: "z/new.txt", SHA: newBlob}},
			want: append(slices.Clone(baseList),
				"040000 tree z", "040000 tree z/b", "100644 blob z/b/d.txt", "100644 blob z/e.txt", "100644 blob z/new.txt"),
			check: map[string]string{"a/b/c.txt": blobs["a/b/c.txt"], "z/new.txt": newBlob},
		},
		{
			name:    "no changes",
			changes: nil,
			want:    baseList,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := r.WriteTree(ctx, baseTree, tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			got := listing(t, r, tree)
			want := gitSorted(t, r, tt.want)
			if !slices.Equal(got, want) {
				t.Errorf("tree =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for p, sha := range tt.check {
				_, got, _, err := r.FileAt(ctx, commitTree(t, r, tree), p)
				if err != nil || got != sha {
					t.Errorf("%s = %s, %v; want %s", p, got, err, sha)
				}
			}
		})
	}
	// Every tree written above must satisfy git's strictest checks.
	if out, err := r.git(ctx, nil, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}

	t.Run("empty base and no changes stores the empty tree", func(t *testing.T) {
		fresh := newRepo(t)
		tree, err := fresh.WriteTree(ctx, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tree != emptyTree {
			t.Errorf("tree = %s, want %s", tree, emptyTree)
		}
		if out := gitOut(t, fresh, "count-objects", "-v"); !strings.Contains(out, "count: 1") {
			t.Errorf("empty tree not stored: %s", out)
		}
	})
}

// gitSorted orders "mode type path" lines as a recursive ls-tree does:
// git compares directory names as if they ended in '/'.
func gitSorted(t *testing.T, r *Repo, lines []string) []string {
	t.Helper()
	key := func(l string) string {
		f := strings.SplitN(l, " ", 3)
		k := f[2]
		if f[1] == "tree" {
			k += "/"
		}
		return k
	}
	out := slices.Clone(lines)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(key(a), key(b)) })
	return out
}

// commitTree wraps a tree in a commit so FileAt can read it.
func commitTree(t *testing.T, r *Repo, tree string) string {
	t.Helper()
	sha, err := r.WriteCommit(t.Context(), CommitInfo{Tree: tree, Author: sig(0), Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func TestWriteTreeErrors(t *testing.T) {
	t.Parallel()
	r, _, baseTree, blobs := baseFixture(t)
	ctx := t.Context()
	blob := blobs["README.md"]
	missing := strings.Repeat("cd", 20)
	tests := []struct {
		name    string
		base    string
		changes []TreeChange
		err     error
	}{
		{"dot-dot segment", baseTree, []TreeChange{{Path: "a/../x", SHA: blob}}, ErrInvalid},
		{"leading slash", baseTree, []TreeChange{{Path: "/x", SHA: blob}}, ErrInvalid},
		{"empty segment", baseTree, []TreeChange{{Path: "a//x", SHA: blob}}, ErrInvalid},
		{"trailing slash", baseTree, []TreeChange{{Path: "a/", SHA: blob}}, ErrInvalid},
		{"dot segment", baseTree, []TreeChange{{Path: "./x", SHA: blob}}, ErrInvalid},
		{"empty path", baseTree, []TreeChange{{Path: "", SHA: blob}}, ErrInvalid},
		{".git segment", baseTree, []TreeChange{{Path: "x/.GIT/config", SHA: blob}}, ErrInvalid},
		{"unknown mode", baseTree, []TreeChange{{Path: "x", Mode: "100600", SHA: blob}}, ErrInvalid},
		{"short sha", baseTree, []TreeChange{{Path: "x", SHA: blob[:10]}}, ErrInvalid},
		{"missing blob", baseTree, []TreeChange{{Path: "x", SHA: missing}}, ErrNotFound},
		{"tree given as blob", baseTree, []TreeChange{{Path: "x", SHA: baseTree}}, ErrNotFound},
		{"blob given as tree", baseTree, []TreeChange{{Path: "x", Mode: "040000", SHA: blob}}, ErrNotFound},
		{"delete missing file", baseTree, []TreeChange{{Path: "nope.txt"}}, ErrNotFound},
		{"delete under missing dir", baseTree, []TreeChange{{Path: "nope/x.txt"}}, ErrNotFound},
		{"file through a file", baseTree, []TreeChange{{Path: "a/e.txt/x", SHA: blob}}, ErrInvalid},
		{"file over a directory", baseTree, []TreeChange{{Path: "a", SHA: blob}}, ErrInvalid},
		{"directory over a file", baseTree, []TreeChange{{Path: "README.md", Mode: "040000", SHA: baseTree}}, ErrInvalid},
		{"missing base", missing, nil, ErrNotFound},
		{"base is a blob", blob, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.WriteTree(ctx, tt.base, tt.changes)
			wantErr(t, err, tt.err)
		})
	}
}

func TestCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, commit, baseTree, blobs := baseFixture(t)
	in := CommitInfo{
		Tree:      baseTree,
		Parents:   []string{commit},
		Author:    Signature{Name: "J. Random Jr.", Email: "jr@example.com", When: sig(60).When},
		Committer: Signature{Name: "fleetbot[bot]", Email: "bot@example.com", When: sig(120).When.UTC()},
		Message:   "Bump EKS to 1.31 — wave 1\n\nbody line\n\n  indented, no trailing newline",
	}
	sha, err := r.WriteCommit(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Commit(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	in.SHA = sha
	if !sameCommit(got, in) {
		t.Errorf("Commit =\n%+v\nwant\n%+v", got, in)
	}
	if _, off := got.Author.When.Zone(); off != 7200 {
		t.Errorf("author zone offset = %d, want 7200", off)
	}
	if out := gitOut(t, r, "log", "-1", "--format=%an|%ae|%ai|%cn|%ci|%P", sha); out != "J. Random Jr.|jr@example.com|2023-11-15 00:14:20 +0200|fleetbot[bot]|2023-11-14 22:15:20 +0000|"+commit {
		t.Errorf("git log sees %q", out)
	}
	if out := gitOut(t, r, "fsck", "--strict", "--no-dangling"); strings.Contains(out, "error") {
		t.Errorf("git fsck: %s", out)
	}

	t.Run("committer defaults to author", func(t *testing.T) {
		sha, err := r.WriteCommit(ctx, CommitInfo{Tree: baseTree, Author: sig(5), Message: "m"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Commit(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		if c.Committer.Name != c.Author.Name || !c.Committer.When.Equal(sig(5).When) || len(c.Parents) != 0 {
			t.Errorf("commit = %+v", c)
		}
	})
	t.Run("merge commit keeps parent order", func(t *testing.T) {
		side := commitFiles(t, r, "", 1, "side", map[string]string{"s": "s"})
		sha, err := r.WriteCommit(ctx, CommitInfo{Tree: baseTree, Parents: []string{commit, side}, Author: sig(6), Message: "merge"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Commit(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Parents, []string{commit, side}) {
			t.Errorf("parents = %v", c.Parents)
		}
	})

	missing := strings.Repeat("ef", 20)
	errs := []struct {
		name string
		c    CommitInfo
		err  error
	}{
		{"missing tree", CommitInfo{Tree: missing, Author: sig(0)}, ErrNotFound},
		{"tree is a blob", CommitInfo{Tree: blobs["README.md"], Author: sig(0)}, ErrNotFound},
		{"missing parent", CommitInfo{Tree: baseTree, Parents: []string{missing}, Author: sig(0)}, ErrNotFound},
		{"parent is a tree", CommitInfo{Tree: baseTree, Parents: []string{baseTree}, Author: sig(0)}, ErrNotFound},
		{"short tree", CommitInfo{Tree: baseTree[:7], Author: sig(0)}, ErrInvalid},
		{"name with <", CommitInfo{Tree: baseTree, Author: Signature{Name: "a<b", Email: "e@x", When: sig(0).When}}, ErrInvalid},
		{"email with newline", CommitInfo{Tree: baseTree, Author: Signature{Name: "a", Email: "e@x\n", When: sig(0).When}}, ErrInvalid},
		{"empty name", CommitInfo{Tree: baseTree, Author: Signature{Email: "e@x", When: sig(0).When}}, ErrInvalid},
		{"no date", CommitInfo{Tree: baseTree, Author: Signature{Name: "a", Email: "e@x"}}, ErrInvalid},
		{"no author", CommitInfo{Tree: baseTree, Committer: sig(0)}, ErrInvalid},
		{"NUL in message", CommitInfo{Tree: baseTree, Author: sig(0), Message: "a\x00b"}, ErrInvalid},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.WriteCommit(ctx, tt.c)
			wantErr(t, err, tt.err)
		})
	}
	t.Run("read missing commit", func(t *testing.T) {
		_, err := r.Commit(ctx, missing)
		wantErr(t, err, ErrNotFound)
	})
	t.Run("read a tree as a commit", func(t *testing.T) {
		_, err := r.Commit(ctx, baseTree)
		wantErr(t, err, ErrNotFound)
	})
}

func sameCommit(a, b CommitInfo) bool {
	sameSig := func(x, y Signature) bool {
		_, ox := x.When.Zone()
		_, oy := y.When.Zone()
		return x.Name == y.Name && x.Email == y.Email && x.When.Equal(y.When) && ox == oy
	}
	return a.SHA == b.SHA && a.Tree == b.Tree && slices.Equal(a.Parents, b.Parents) &&
		sameSig(a.Author, b.Author) && sameSig(a.Committer, b.Committer) && a.Message == b.Message
}

func TestFileAt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, commit, _, blobs := baseFixture(t)
	tests := []struct {
		rev, path, content, mode string
		err                      error
	}{
		{rev: "main", path: "README.md", content: "# fleet\n", mode: "100644"},
		{rev: commit, path: "a/b/c.txt", content: "c\n", mode: "100644"},
		{rev: "refs/heads/main", path: "bin/run.sh", content: "#!/bin/sh\n", mode: "100755"},
		{rev: "main", path: "link", content: "README.md", mode: "120000"},
		{rev: "main", path: "a", err: ErrIsDir},
		{rev: "main", path: "", err: ErrIsDir},
		{rev: "nope", path: "", err: ErrNotFound},
		{rev: "main", path: "a/b", err: ErrIsDir},
		{rev: "main", path: "nope.txt", err: ErrNotFound},
		{rev: "main", path: "a/nope/x", err: ErrNotFound},
		{rev: "main", path: "README.md/x", err: ErrNotFound},
		{rev: "main", path: "a/*", err: ErrNotFound},
		{rev: "nope", path: "README.md", err: ErrNotFound},
		{rev: "main", path: "../README.md", err: ErrInvalid},
		{rev: "main", path: "/README.md", err: ErrInvalid},
		{rev: "--all", path: "README.md", err: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.rev+":"+tt.path, func(t *testing.T) {
			t.Parallel()
			content, sha, mode, err := r.FileAt(ctx, tt.rev, tt.path)
			wantErr(t, err, tt.err)
			if tt.err != nil {
				return
			}
			if string(content) != tt.content || mode != tt.mode || sha != blobs[tt.path] {
				t.Errorf("FileAt = %q, %s, %s; want %q, %s, %s", content, sha, mode, tt.content, blobs[tt.path], tt.mode)
			}
		})
	}
}
