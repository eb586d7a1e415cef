package gitrepo

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// history builds:
//
//	root - base - main1            (main)
//	         \
//	          feat1 - feat2        (feature)
//	other                          (unrelated)
type history struct {
	r                                      *Repo
	root, base, main1, feat1, feat2, other string
}

func newHistory(t *testing.T) history {
	t.Helper()
	r := newRepo(t)
	h := history{r: r}
	h.root = commitFiles(t, r, "", 0, "root", map[string]string{"a.txt": "1\n2\n3\n", "b.txt": "x\n"})
	h.base = commitFiles(t, r, h.root, 1, "base", map[string]string{"c.txt": "c\n"})
	h.main1 = commitFiles(t, r, h.base, 2, "main1", map[string]string{"b.txt": "x\ny\n"})
	h.feat1 = commitFiles(t, r, h.base, 3, "feat1", map[string]string{"a.txt": "1\n2 changed\n3\n"})
	h.feat2 = commitFiles(t, r, h.feat1, 4, "feat2", map[string]string{"d/e.txt": "e\n"})
	h.other = commitFiles(t, r, "", 5, "other", map[string]string{"z": "z\n"})
	setRef(t, r, "refs/heads/main", h.main1)
	setRef(t, r, "refs/heads/feature", h.feat2)
	return h
}

func TestMergeTree(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHistory(t)
	r := h.r

	t.Run("clean", func(t *testing.T) {
		tree, conflicts, err := r.MergeTree(ctx, "main", "feature")
		if err != nil {
			t.Fatal(err)
		}
		if len(conflicts) != 0 {
			t.Errorf("conflicts = %v, want none", conflicts)
		}
		merged := commitTree(t, r, tree)
		for path, want := range map[string]string{"a.txt": "1\n2 changed\n3\n", "b.txt": "x\ny\n", "c.txt": "c\n", "d/e.txt": "e\n"} {
			got, _, _, err := r.FileAt(ctx, merged, path)
			if err != nil || string(got) != want {
				t.Errorf("%s = %q, %v; want %q", path, got, err, want)
			}
		}
		if refs, _ := r.Snapshot(ctx); refs["refs/heads/main"] != h.main1 {
			t.Error("MergeTree moved main")
		}
	})
	t.Run("conflicting", func(t *testing.T) {
		left := commitFiles(t, r, h.main1, 10, "left", map[string]string{"a.txt": "1\nleft\n3\n", "c.txt": "left\n", "same.txt": "s\n"})
		right := commitFiles(t, r, h.feat2, 11, "right", map[string]string{"c.txt": "right\n", "same.txt": "s\n"})
		tree, conflicts, err := r.MergeTree(ctx, left, right)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"a.txt", "c.txt"}; !slices.Equal(conflicts, want) {
			t.Errorf("conflicts = %v, want %v", conflicts, want)
		}
		got, _, _, err := r.FileAt(ctx, commitTree(t, r, tree), "c.txt")
		if err != nil || !strings.Contains(string(got), "<<<<<<<") {
			t.Errorf("c.txt in the conflicted tree = %q, %v; want conflict markers", got, err)
		}
	})
	t.Run("missing commit", func(t *testing.T) {
		_, _, err := r.MergeTree(ctx, "main", "nope")
		wantErr(t, err, ErrNotFound)
	})
	t.Run("unrelated histories", func(t *testing.T) {
		_, _, err := r.MergeTree(ctx, "main", h.other)
		if err == nil || !strings.Contains(err.Error(), "unrelated") {
			t.Errorf("merging unrelated histories: %v, want git's refusal", err)
		}
	})
}

func TestAncestry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHistory(t)
	r := h.r
	mb, err := r.MergeBase(ctx, "main", "feature")
	if err != nil || mb != h.base {
		t.Errorf("MergeBase = %s, %v; want %s", mb, err, h.base)
	}
	_, err = r.MergeBase(ctx, "main", h.other)
	wantErr(t, err, ErrNotFound)
	_, err = r.MergeBase(ctx, "main", "nope")
	wantErr(t, err, ErrNotFound)

	ancestry := []struct {
		a, d string
		want bool
	}{
		{h.root, "feature", true},
		{h.base, h.main1, true},
		{"main", "main", true},
		{"main", "feature", false},
		{"feature", h.base, false},
		{h.other, "main", false},
	}
	for _, tt := range ancestry {
		got, err := r.IsAncestor(ctx, tt.a, tt.d)
		if err != nil || got != tt.want {
			t.Errorf("IsAncestor(%s, %s) = %v, %v; want %v", tt.a, tt.d, got, err, tt.want)
		}
	}
	_, err = r.IsAncestor(ctx, "nope", "main")
	wantErr(t, err, ErrNotFound)

	counts := []struct {
		base, head    string
		ahead, behind int
	}{
		{"main", "feature", 2, 1},
		{"feature", "main", 1, 2},
		{"main", "main", 0, 0},
		{h.root, "feature", 3, 0},
		{"main", h.other, 1, 3},
	}
	for _, tt := range counts {
		ahead, behind, err := r.AheadBehind(ctx, tt.base, tt.head)
		if err != nil || ahead != tt.ahead || behind != tt.behind {
			t.Errorf("AheadBehind(%s, %s) = %d, %d, %v; want %d, %d", tt.base, tt.head, ahead, behind, err, tt.ahead, tt.behind)
		}
	}
	_, _, err = r.AheadBehind(ctx, "main", "--all")
	wantErr(t, err, ErrInvalid)
}

func TestLog(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHistory(t)
	r := h.r
	tests := []struct {
		base, head string
		want       []string
	}{
		{"main", "feature", []string{h.feat1, h.feat2}},
		{"feature", "main", []string{h.main1}},
		{"", "feature", []string{h.root, h.base, h.feat1, h.feat2}},
		{"feature", "feature", nil},
		{h.feat2, h.base, nil},
	}
	for _, tt := range tests {
		t.Run(tt.base+".."+tt.head, func(t *testing.T) {
			commits, err := r.Log(ctx, tt.base, tt.head)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range commits {
				got = append(got, c.SHA)
				want, err := r.Commit(ctx, c.SHA)
				if err != nil {
					t.Fatal(err)
				}
				if !sameCommit(c, want) {
					t.Errorf("Log entry %+v differs from Commit %+v", c, want)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Log(%s, %s) = %v, want %v", tt.base, tt.head, got, tt.want)
			}
		})
	}
	if commits, _ := r.Log(ctx, "main", "feature"); len(commits) == 2 && commits[1].Message != "feat2" {
		t.Errorf("second commit message = %q, want feat2", commits[1].Message)
	}
	_, err := r.Log(ctx, "nope", "main")
	wantErr(t, err, ErrNotFound)
}

func TestChangedFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRepo(t)
	long := strings.Repeat("line of the fleet blueprint\n", 20)
	from := commitFiles(t, r, "", 0, "from", map[string]string{
		"tenants/alpha.yaml": "cluster: alpha\nversion: \"1.30\"\nregion: eu-west-1\n",
		"tenants/beta.yaml":  "cluster: beta\nversion: \"1.30\"\n",
		"docs/old-name.md":   long,
		"gone.txt":           "bye\n",
		"script.sh":          "echo hi\n",
		"kind.txt":           "a file, then a link\n",
	})
	to := commitFiles(t, r, from, 1, "to", map[string]string{
		"tenants/alpha.yaml": "cluster: alpha\nversion: \"1.31\"\nregion: eu-west-1\n",
		"docs/old-name.md":   "",
		"docs/new-name.md":   long + "one more line\n",
		"gone.txt":           "",
		"added.txt":          "no newline at end",
		"image.bin":          "\x00\x01\x02binary",
	})
	// Change a file into a symlink, by tree.
	c, err := r.Commit(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	target, err := r.WriteBlob(ctx, []byte("script.sh"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.WriteTree(ctx, c.Tree, []TreeChange{{Path: "kind.txt"}, {Path: "kind.txt", Mode: "120000", SHA: target}})
	if err != nil {
		t.Fatal(err)
	}
	to = commitTree(t, r, tree)

	var b strings.Builder
	for _, diff := range []struct{ from, to string }{{from, to}, {"", from}} {
		files, err := r.ChangedFiles(ctx, diff.from, diff.to)
		if err != nil {
			t.Fatal(err)
		}
		name := "from..to"
		if diff.from == "" {
			name = "empty..from"
		}
		fmt.Fprintf(&b, "=== %s\n", name)
		for _, f := range files {
			fmt.Fprintf(&b, "--- %s %s", f.Status, f.Path)
			if f.PreviousPath != "" {
				fmt.Fprintf(&b, " (was %s)", f.PreviousPath)
			}
			fmt.Fprintf(&b, " +%d -%d\n%s\n", f.Additions, f.Deletions, f.Patch)
			checkNumstat(t, r, diff.from, diff.to, f)
		}
	}
	golden(t, "changed_files.golden", b.String())

	// Asked again, the answer is the remembered one, and the caller's copy
	// is its own.
	first, err := r.ChangedFiles(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(first)
	first[0].Path, first[0].Patch = "changed by the caller", ""
	again, err := r.ChangedFiles(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, want) {
		t.Errorf("ChangedFiles asked again = %v, want %v", again, want)
	}

	_, err = r.ChangedFiles(ctx, "nope", to)
	wantErr(t, err, ErrNotFound)
	_, err = r.ChangedFiles(ctx, from, "--cached")
	wantErr(t, err, ErrInvalid)
	if files, err := r.ChangedFiles(ctx, to, to); err != nil || len(files) != 0 {
		t.Errorf("ChangedFiles(to, to) = %v, %v; want nothing", files, err)
	}
}

// checkNumstat compares a FileChange's counts with git's own --numstat.
func checkNumstat(t *testing.T, r *Repo, from, to string, f FileChange) {
	t.Helper()
	if from == "" {
		from = emptyTree
	}
	args := []string{"diff-tree", "-r", "--find-renames", "--numstat", from, to, "--", f.Path}
	if f.PreviousPath != "" {
		args = append(args, f.PreviousPath)
	}
	out := gitOut(t, r, args...)
	want := fmt.Sprintf("%d\t%d\t", f.Additions, f.Deletions)
	if strings.HasPrefix(out, "-\t-\t") && f.Additions == 0 && f.Deletions == 0 {
		return // binary: git counts nothing, and so do we
	}
	if !strings.HasPrefix(out, want) {
		t.Errorf("%s: counts +%d -%d, git --numstat says %q", f.Path, f.Additions, f.Deletions, out)
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output; run go test -update and review the diff\n--- got\n%s", path, got)
	}
}
