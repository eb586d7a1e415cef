package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
)

// TreeChange sets or deletes one path in WriteTree. SHA "" deletes Path (a
// file or a whole directory). Mode is "100644" (the default), "100755",
// "120000" (a symlink), "040000" (SHA is a tree) or "160000" (SHA is a
// submodule commit, which need not be in this repository).
type TreeChange struct {
	Path string
	Mode string
	SHA  string
}

// treeNode is one entry of a tree being edited. The children of a directory
// are loaded on first use; kids is nil until then.
type treeNode struct {
	mode, typ, sha string
	kids           map[string]*treeNode
	dirty          bool
}

// WriteTree applies changes, in order, to baseTree ("" is the empty tree) and
// returns the SHA of the new tree. Nested paths create the directories they
// need; a directory left empty by deletions disappears. A path must be
// relative, with no empty, ".", ".." or ".git" segment; a blob or tree SHA
// must exist with the type its mode implies (ErrNotFound otherwise).
// Replacing a file by a directory or the reverse, or deleting a path that
// does not exist, is refused rather than guessed at.
func (r *Repo) WriteTree(ctx context.Context, baseTree string, changes []TreeChange) (string, error) {
	op := "write tree"
	if baseTree != "" {
		op += " on " + baseTree
	}
	changes, err := r.checkChanges(ctx, changes)
	if err != nil {
		return "", r.errorf(op, err)
	}
	// A new root is always written, so the empty tree is stored even when
	// there are no changes.
	root := &treeNode{mode: "040000", typ: "tree", sha: emptyTree, dirty: baseTree == ""}
	if baseTree != "" {
		if root.sha, err = r.resolveType(ctx, "base tree", baseTree, "tree"); err != nil {
			return "", r.errorf(op, err)
		}
	}
	for _, c := range changes {
		if err := r.applyChange(ctx, root, c); err != nil {
			return "", r.errorf(op, err)
		}
	}
	var sha string
	err = r.write(ctx, func() error {
		s, err := r.writeNode(ctx, root, true)
		sha = s
		return err
	})
	if err != nil {
		return "", r.errorf(op, err)
	}
	return sha, nil
}

// modeTypes maps the modes a tree entry may have to the object type it names.
var modeTypes = map[string]string{
	"100644": "blob",
	"100755": "blob",
	"120000": "blob",
	"040000": "tree",
	"160000": "commit",
}

// checkChanges validates paths, modes and SHAs, and returns the changes with
// default modes filled in and SHAs in lower case.
func (r *Repo) checkChanges(ctx context.Context, changes []TreeChange) ([]TreeChange, error) {
	out := make([]TreeChange, len(changes))
	var names []string
	var idx []int
	for i, c := range changes {
		if err := checkPath(c.Path); err != nil {
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
		switch c.Mode {
		case "":
			c.Mode = "100644"
		case "40000":
			c.Mode = "040000"
		}
		typ, ok := modeTypes[c.Mode]
		if !ok {
			return nil, fmt.Errorf("change %d (%s): mode %q is not one of 100644, 100755, 120000, 040000, 160000: %w", i, c.Path, c.Mode, ErrInvalid)
		}
		if c.SHA != "" {
			sha, err := checkSHA("sha", c.SHA)
			if err != nil {
				return nil, fmt.Errorf("change %d (%s): %w", i, c.Path, err)
			}
			c.SHA = sha
			if typ != "commit" {
				names = append(names, sha)
				idx = append(idx, i)
			}
		}
		out[i] = c
	}
	if len(names) == 0 {
		return out, nil
	}
	objs, err := r.lookup(ctx, names...)
	if err != nil {
		return nil, err
	}
	for k, o := range objs {
		c := out[idx[k]]
		if want := modeTypes[c.Mode]; o.typ != want {
			return nil, fmt.Errorf("change %d (%s): no %s %s: %w", idx[k], c.Path, want, c.SHA, ErrNotFound)
		}
	}
	return out, nil
}

// checkPath accepts a relative slash-separated path with no empty, ".", ".."
// or ".git" segment.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q must be relative and non-empty: %w", p, ErrInvalid)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.EqualFold(seg, ".git") {
			return fmt.Errorf("path %q has an empty, ., .. or .git segment: %w", p, ErrInvalid)
		}
	}
	return nil
}

// applyChange edits the tree under root for one change.
func (r *Repo) applyChange(ctx context.Context, root *treeNode, c TreeChange) error {
	segs := strings.Split(c.Path, "/")
	dir := root
	for i, seg := range segs[:len(segs)-1] {
		if err := r.loadNode(ctx, dir); err != nil {
			return err
		}
		dir.dirty = true
		next, ok := dir.kids[seg]
		switch {
		case !ok && c.SHA == "":
			return fmt.Errorf("delete %s: %w", c.Path, ErrNotFound)
		case !ok:
			next = &treeNode{mode: "040000", typ: "tree", kids: map[string]*treeNode{}}
			dir.kids[seg] = next
		case next.typ != "tree":
			return fmt.Errorf("set %s: %s is a file: %w", c.Path, strings.Join(segs[:i+1], "/"), ErrInvalid)
		}
		dir = next
	}
	if err := r.loadNode(ctx, dir); err != nil {
		return err
	}
	dir.dirty = true
	name := segs[len(segs)-1]
	old, exists := dir.kids[name]
	if c.SHA == "" {
		if !exists {
			return fmt.Errorf("delete %s: %w", c.Path, ErrNotFound)
		}
		delete(dir.kids, name)
		return nil
	}
	typ := modeTypes[c.Mode]
	if exists && (old.typ == "tree") != (typ == "tree") {
		what := "a file"
		if old.typ == "tree" {
			what = "a directory"
		}
		return fmt.Errorf("set %s: it is %s; delete it first: %w", c.Path, what, ErrInvalid)
	}
	dir.kids[name] = &treeNode{mode: c.Mode, typ: typ, sha: c.SHA}
	return nil
}

// loadNode reads the whole tree under a directory node the first time it is
// needed, in one git process.
func (r *Repo) loadNode(ctx context.Context, n *treeNode) error {
	if n.kids != nil {
		return nil
	}
	n.kids = map[string]*treeNode{}
	if n.sha == "" || n.sha == emptyTree {
		return nil
	}
	entries, err := r.lsTree(ctx, n.sha, true)
	if err != nil {
		return err
	}
	dirs := map[string]*treeNode{"": n}
	for _, e := range entries {
		parent, name := "", e.Path
		if i := strings.LastIndexByte(e.Path, '/'); i >= 0 {
			parent, name = e.Path[:i], e.Path[i+1:]
		}
		p, ok := dirs[parent]
		if !ok {
			return fmt.Errorf("git ls-tree listed %s before its directory", e.Path)
		}
		kid := &treeNode{mode: e.Mode, typ: e.Type, sha: e.SHA}
		if e.Type == "tree" {
			kid.kids = map[string]*treeNode{}
			dirs[e.Path] = kid
		}
		p.kids[name] = kid
	}
	return nil
}

// writeNode stores the changed directories under n, deepest first, and
// returns n's SHA; "" when a changed directory other than the root ends up
// empty.
func (r *Repo) writeNode(ctx context.Context, n *treeNode, isRoot bool) (string, error) {
	if !n.dirty {
		return n.sha, nil
	}
	names := make([]string, 0, len(n.kids))
	for name, kid := range n.kids {
		if kid.typ == "tree" && kid.dirty {
			sha, err := r.writeNode(ctx, kid, false)
			if err != nil {
				return "", err
			}
			if sha == "" {
				delete(n.kids, name)
				continue
			}
			kid.sha = sha
		}
		names = append(names, name)
	}
	if len(names) == 0 && !isRoot {
		return "", nil
	}
	sort.Strings(names)
	var in bytes.Buffer
	for _, name := range names {
		kid := n.kids[name]
		fmt.Fprintf(&in, "%s %s %s\t%s\x00", kid.mode, kid.typ, kid.sha, name)
	}
	out, err := r.git(ctx, in.Bytes(), "mktree", "-z")
	if err != nil {
		return "", err
	}
	n.sha = strings.TrimSpace(string(out))
	n.dirty = false
	return n.sha, nil
}
