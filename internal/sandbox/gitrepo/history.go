package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// FileChange is one file that differs between two trees. Status is "added",
// "modified", "removed", "renamed" or "changed" (its type changed, such as a
// file becoming a symlink). PreviousPath is set for a rename. Patch holds the
// unified diff hunks, from the first "@@" line, as GitHub's files API gives
// them; it is "" for binary files and for pure renames.
type FileChange struct {
	Path         string
	PreviousPath string
	Status       string
	Additions    int
	Deletions    int
	Patch        string
}

// resolveCommits resolves several commit-ish names, each to a commit SHA.
func (r *Repo) resolveCommits(ctx context.Context, revs ...string) ([]string, error) {
	names := make([]string, len(revs))
	for i, rev := range revs {
		if err := checkRev("revision", rev); err != nil {
			return nil, err
		}
		names[i] = rev + "^{commit}"
	}
	objs, err := r.lookup(ctx, names...)
	if err != nil {
		return nil, err
	}
	shas := make([]string, len(revs))
	for i, o := range objs {
		if o.sha == "" {
			return nil, fmt.Errorf("no commit named %s: %w", revs[i], ErrNotFound)
		}
		shas[i] = o.sha
	}
	return shas, nil
}

// MergeTree merges head into base as `git merge-tree --write-tree` does,
// without touching any ref, and returns the resulting tree. A conflict is not
// an error: the tree then holds conflict markers and conflicts lists the
// conflicting paths, sorted. Unrelated histories are an error.
func (r *Repo) MergeTree(ctx context.Context, base, head string) (tree string, conflicts []string, err error) {
	op := fmt.Sprintf("merge %s into %s", head, base)
	shas, err := r.resolveCommits(ctx, base, head)
	if err != nil {
		return "", nil, r.errorf(op, err)
	}
	var out []byte
	err = r.write(ctx, func() error {
		var err error
		out, err = r.gitFixed(ctx, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", shas[0], shas[1])
		return err
	})
	if err != nil && exitCode(err) != 1 {
		return "", nil, r.errorf(op, err)
	}
	clean := err == nil
	fields := strings.Split(string(out), "\x00")
	tree = fields[0]
	if !isSHA(tree) {
		return "", nil, r.errorf(op, fmt.Errorf("git merge-tree: unexpected output %q", out))
	}
	seen := map[string]bool{}
	for _, p := range fields[1:] {
		if p != "" && !seen[p] {
			seen[p] = true
			conflicts = append(conflicts, p)
		}
	}
	if !clean && len(conflicts) == 0 {
		return "", nil, r.errorf(op, fmt.Errorf("git merge-tree reported a conflict without paths: %w", err))
	}
	slices.Sort(conflicts)
	return tree, conflicts, nil
}

// MergeBase returns the best common ancestor of a and b; ErrNotFound when
// they share no history.
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	op := fmt.Sprintf("find merge base of %s and %s", a, b)
	shas, err := r.resolveCommits(ctx, a, b)
	if err != nil {
		return "", r.errorf(op, err)
	}
	out, err := r.gitFixed(ctx, "merge-base", shas[0], shas[1])
	if exitCode(err) == 1 {
		return "", r.errorf(op, fmt.Errorf("no common history: %w", ErrNotFound))
	}
	if err != nil {
		return "", r.errorf(op, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// IsAncestor reports whether ancestor is reachable from descendant (a commit
// is its own ancestor).
func (r *Repo) IsAncestor(ctx context.Context, ancestor, descendant string) (bool, error) {
	op := fmt.Sprintf("check %s is an ancestor of %s", ancestor, descendant)
	shas, err := r.resolveCommits(ctx, ancestor, descendant)
	if err != nil {
		return false, r.errorf(op, err)
	}
	_, err = r.gitFixed(ctx, "merge-base", "--is-ancestor", shas[0], shas[1])
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	default:
		return false, r.errorf(op, err)
	}
}

// AheadBehind counts the commits head has that base lacks (ahead) and those
// base has that head lacks (behind).
func (r *Repo) AheadBehind(ctx context.Context, base, head string) (ahead, behind int, err error) {
	op := fmt.Sprintf("compare %s with %s", head, base)
	shas, err := r.resolveCommits(ctx, base, head)
	if err != nil {
		return 0, 0, r.errorf(op, err)
	}
	out, err := r.gitFixed(ctx, "rev-list", "--left-right", "--count", shas[0]+"..."+shas[1])
	if err != nil {
		return 0, 0, r.errorf(op, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return 0, 0, r.errorf(op, fmt.Errorf("git rev-list: unexpected output %q", out))
	}
	behind, err1 := strconv.Atoi(f[0])
	ahead, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, r.errorf(op, fmt.Errorf("git rev-list: unexpected output %q", out))
	}
	return ahead, behind, nil
}

// Log returns the commits reachable from head and not from base, oldest
// first, parents always before their children. Base "" means all of head's
// history.
func (r *Repo) Log(ctx context.Context, base, head string) ([]CommitInfo, error) {
	op := fmt.Sprintf("log %s..%s", base, head)
	revs := []string{head}
	if base != "" {
		revs = append(revs, base)
	}
	shas, err := r.resolveCommits(ctx, revs...)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	args := []string{"rev-list", "--topo-order", "--reverse", shas[0]}
	if base != "" {
		args = append(args, "^"+shas[1])
	}
	out, err := r.gitFixed(ctx, args...)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	list := strings.Fields(string(out))
	if len(list) == 0 {
		return nil, nil
	}
	commits, err := r.readCommits(ctx, list)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	return commits, nil
}

// readCommits reads many commits by full SHA in one git process, or none
// when the memo holds them all.
func (r *Repo) readCommits(ctx context.Context, shas []string) ([]CommitInfo, error) {
	raw := make([][]byte, len(shas))
	var in strings.Builder
	for i, sha := range shas {
		if o, content, ok := r.knownObject(sha, true); ok && o.typ == "commit" {
			raw[i] = content
			continue
		}
		in.WriteString(sha)
		in.WriteByte('\n')
	}
	if in.Len() > 0 {
		out, err := r.git(ctx, []byte(in.String()), "cat-file", "--batch")
		if err != nil {
			return nil, err
		}
		for i, sha := range shas {
			if raw[i] != nil {
				continue
			}
			header, rest, ok := bytes.Cut(out, []byte("\n"))
			f := strings.Fields(string(header))
			if !ok || len(f) != 3 || f[0] != sha || f[1] != "commit" {
				return nil, fmt.Errorf("git cat-file: unexpected header %q for %s", header, sha)
			}
			size, err := strconv.Atoi(f[2])
			if err != nil || size+1 > len(rest) {
				return nil, fmt.Errorf("git cat-file: unexpected header %q", header)
			}
			raw[i] = rest[:size]
			r.foundObject(sha, object{sha: sha, typ: "commit", size: int64(size)}, raw[i])
			out = rest[size+1:]
		}
	}
	commits := make([]CommitInfo, 0, len(shas))
	for i, sha := range shas {
		c, err := parseCommit(sha, raw[i])
		if err != nil {
			return nil, err
		}
		commits = append(commits, c)
	}
	return commits, nil
}

// ChangedFiles lists the files that differ from from ("" is the empty tree)
// to to, each a commit-ish or tree-ish, with renames detected, in git's
// order (by path).
func (r *Repo) ChangedFiles(ctx context.Context, from, to string) ([]FileChange, error) {
	op := fmt.Sprintf("diff %s..%s", from, to)
	names := []string{to + "^{tree}"}
	if err := checkRev("revision", to); err != nil {
		return nil, r.errorf(op, err)
	}
	if from != "" {
		if err := checkRev("revision", from); err != nil {
			return nil, r.errorf(op, err)
		}
		names = append(names, from+"^{tree}")
	}
	objs, err := r.lookup(ctx, names...)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	for i, o := range objs {
		if o.sha == "" {
			return nil, r.errorf(op, fmt.Errorf("no tree named %s: %w", strings.TrimSuffix(names[i], "^{tree}"), ErrNotFound))
		}
	}
	toTree, fromTree := objs[0].sha, emptyTree
	if from != "" {
		fromTree = objs[1].sha
	}
	key := memoKey("", fromTree, toTree)
	if files, ok := diffs.get(key); ok {
		return slices.Clone(files), nil
	}
	files, err := r.diffTrees(ctx, fromTree, toTree)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	diffs.put(key, files)
	return slices.Clone(files), nil
}

// diffs remembers ChangedFiles' answers by their two trees, in any
// repository: a tree is named by its content, so the answer never changes.
var diffs = newMemo(func(files []FileChange) int {
	n := 0
	for _, f := range files {
		n += len(f.Patch)
	}
	return n
})

// diffTrees lists the files that differ from the tree from to the tree to,
// with their patches, as git diff-tree finds them.
func (r *Repo) diffTrees(ctx context.Context, fromTree, toTree string) ([]FileChange, error) {
	common := []string{"diff-tree", "-r", "--find-renames", "--no-ext-diff", "--no-textconv", fromTree, toTree}
	raw, err := r.git(ctx, nil, append([]string{common[0], "-z", "--raw"}, common[1:]...)...)
	if err != nil {
		return nil, err
	}
	files, err := parseRawDiff(raw)
	if err != nil {
		return nil, err
	}
	patch, err := r.git(ctx, nil, append([]string{common[0], "--patch", "--no-color"}, common[1:]...)...)
	if err != nil {
		return nil, err
	}
	parts := splitPatch(patch)
	for i := range files {
		// git shows a type change as a deletion and a creation.
		n := 1
		if files[i].Status == "changed" {
			n = 2
		}
		if len(parts) < n {
			return nil, fmt.Errorf("git diff-tree gave too few patches for %d files", len(files))
		}
		var patches []string
		for _, part := range parts[:n] {
			p, add, del := hunks(part)
			if p != "" {
				patches = append(patches, p)
			}
			files[i].Additions += add
			files[i].Deletions += del
		}
		files[i].Patch = strings.Join(patches, "\n")
		parts = parts[n:]
	}
	if len(parts) != 0 {
		return nil, fmt.Errorf("git diff-tree gave %d patches more than files", len(parts))
	}
	return files, nil
}

// parseRawDiff reads `git diff-tree -z --raw` records:
// ":<mode> <mode> <sha> <sha> <status>[score] NUL <path> [NUL <new path>] NUL".
func parseRawDiff(out []byte) ([]FileChange, error) {
	fields := strings.Split(string(out), "\x00")
	var files []FileChange
	for i := 0; i < len(fields); i++ {
		meta := fields[i]
		if meta == "" {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(meta, ":"))
		if len(f) != 5 || i+1 >= len(fields) {
			return nil, fmt.Errorf("git diff-tree: unexpected record %q", meta)
		}
		fc := FileChange{Path: fields[i+1]}
		i++
		switch f[4][0] {
		case 'A':
			fc.Status = "added"
		case 'M':
			fc.Status = "modified"
		case 'D':
			fc.Status = "removed"
		case 'T':
			fc.Status = "changed"
		case 'R':
			if i+1 >= len(fields) {
				return nil, fmt.Errorf("git diff-tree: rename without a new path in %q", meta)
			}
			fc.Status, fc.PreviousPath, fc.Path = "renamed", fc.Path, fields[i+1]
			i++
		default:
			return nil, fmt.Errorf("git diff-tree: unexpected status %q", f[4])
		}
		files = append(files, fc)
	}
	return files, nil
}

// splitPatch cuts `git diff-tree --patch` output at each "diff --git" line.
// File content lines never start with it: git prefixes them with ' ', '+' or
// '-'.
func splitPatch(out []byte) [][]byte {
	var parts [][]byte
	for len(out) > 0 {
		next := bytes.Index(out[1:], []byte("\ndiff --git "))
		if next < 0 {
			parts = append(parts, out)
			break
		}
		parts = append(parts, out[:next+2])
		out = out[next+2:]
	}
	return parts
}

// hunks returns a file's patch from its first hunk on, and counts its added
// and deleted lines as --numstat does.
func hunks(part []byte) (patch string, add, del int) {
	start := bytes.Index(part, []byte("\n@@ "))
	if start < 0 {
		return "", 0, 0
	}
	body := part[start+1:]
	for _, line := range bytes.Split(body, []byte("\n")) {
		switch {
		case bytes.HasPrefix(line, []byte("+")):
			add++
		case bytes.HasPrefix(line, []byte("-")):
			del++
		}
	}
	return strings.TrimSuffix(string(body), "\n"), add, del
}
