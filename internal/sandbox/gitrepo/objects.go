package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signature is the author or committer of a commit.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// CommitInfo is a commit object.
type CommitInfo struct {
	SHA       string
	Tree      string
	Parents   []string
	Author    Signature
	Committer Signature
	Message   string
}

// TreeEntry is one entry of a tree listing. Type is "blob", "tree" or
// "commit" (a submodule); Size is the blob's size, 0 for the others.
type TreeEntry struct {
	Path string
	Mode string
	Type string
	SHA  string
	Size int64
}

// object is the answer of git's cat-file batch for one name.
type object struct {
	sha  string
	typ  string
	size int64
}

// lookup resolves revision expressions to objects in one git process, or
// none when the memo knows them all. A name git cannot resolve, or resolves
// ambiguously, yields a zero object.
func (r *Repo) lookup(ctx context.Context, names ...string) ([]object, error) {
	objs := make([]object, len(names))
	var in bytes.Buffer
	var asked []int      // the indexes of the names git is asked
	var askedAs []string // and what git is asked for each
	for i, n := range names {
		if err := checkRev("object name", n); err != nil {
			return nil, err
		}
		// A ref, maybe peeled, is read from its file: what git is asked,
		// if anything, is the object it holds.
		if ref, peel, ok := refAndPeel(n); ok {
			if sha, ok := r.refFromFiles(ref); ok {
				if sha == "" {
					continue // no such ref
				}
				n = sha + peel
			}
		}
		if o, _, ok := r.knownObject(n, false); ok {
			objs[i] = o
			continue
		}
		asked = append(asked, i)
		askedAs = append(askedAs, n)
		in.WriteString(n)
		in.WriteByte('\n')
	}
	if len(asked) == 0 {
		return objs, nil
	}
	out, err := r.git(ctx, in.Bytes(), "cat-file", "--batch-check")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(asked) {
		return nil, fmt.Errorf("git cat-file answered %d lines for %d names", len(lines), len(asked))
	}
	for j, line := range lines {
		i, n := asked[j], askedAs[j]
		if line == n+" missing" || line == n+" ambiguous" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("git cat-file: unexpected line %q", line)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("git cat-file: unexpected line %q", line)
		}
		objs[i] = object{sha: f[0], typ: f[1], size: size}
		r.foundObject(n, objs[i], nil)
	}
	return objs, nil
}

// lookupOne resolves one revision expression; ErrNotFound when git cannot.
func (r *Repo) lookupOne(ctx context.Context, what, name string) (object, error) {
	objs, err := r.lookup(ctx, name)
	if err != nil {
		return object{}, err
	}
	if objs[0].sha == "" {
		return object{}, fmt.Errorf("%s %s: %w", what, name, ErrNotFound)
	}
	return objs[0], nil
}

// resolveType resolves a revision expression peeled to typ ("commit" or
// "tree"): ErrNotFound when it names nothing or nothing of that type.
func (r *Repo) resolveType(ctx context.Context, what, rev, typ string) (string, error) {
	if err := checkRev(what, rev); err != nil {
		return "", err
	}
	name := rev + "^{" + typ + "}"
	if strings.Contains(rev, ":") {
		// In "rev:path" a suffix would be read as part of the path.
		name = rev
	}
	o, err := r.lookupOne(ctx, what, name)
	if err != nil || o.typ != typ {
		return "", fmt.Errorf("%s %s: %w", what, rev, ErrNotFound)
	}
	return o.sha, nil
}

// readObject returns the SHA, type and content of the object a revision
// expression names, in one git process; ErrNotFound when it names nothing.
func (r *Repo) readObject(ctx context.Context, name string) (sha, typ string, content []byte, err error) {
	if err := checkRev("object name", name); err != nil {
		return "", "", nil, err
	}
	if o, content, ok := r.knownObject(name, true); ok {
		return o.sha, o.typ, content, nil
	}
	out, err := r.git(ctx, []byte(name+"\n"), "cat-file", "--batch")
	if err != nil {
		return "", "", nil, err
	}
	header, body, ok := bytes.Cut(out, []byte("\n"))
	if !ok {
		return "", "", nil, fmt.Errorf("git cat-file: no header in %q", out)
	}
	if string(header) == name+" missing" || string(header) == name+" ambiguous" {
		return "", "", nil, fmt.Errorf("object %s: %w", name, ErrNotFound)
	}
	f := strings.Fields(string(header))
	if len(f) != 3 {
		return "", "", nil, fmt.Errorf("git cat-file: unexpected header %q", header)
	}
	size, err := strconv.Atoi(f[2])
	if err != nil || size > len(body) {
		return "", "", nil, fmt.Errorf("git cat-file: unexpected header %q", header)
	}
	r.foundObject(name, object{sha: f[0], typ: f[1], size: int64(size)}, body[:size])
	return f[0], f[1], body[:size], nil
}

// WriteBlob stores content as a blob and returns its SHA.
func (r *Repo) WriteBlob(ctx context.Context, content []byte) (string, error) {
	var sha string
	err := r.write(ctx, func() error {
		out, err := r.git(ctx, content, "hash-object", "-t", "blob", "-w", "--no-filters", "--stdin")
		if err != nil {
			return r.errorf("write blob", err)
		}
		sha = strings.TrimSpace(string(out))
		return nil
	})
	return sha, err
}

// ReadBlob returns the content of the blob sha. A missing object, or one that
// is not a blob, is ErrNotFound.
func (r *Repo) ReadBlob(ctx context.Context, sha string) ([]byte, error) {
	op := "read blob " + sha
	sha, err := checkSHA("blob", sha)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	_, typ, content, err := r.readObject(ctx, sha)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	if typ != "blob" {
		return nil, r.errorf(op, fmt.Errorf("object is a %s, not a blob: %w", typ, ErrNotFound))
	}
	return content, nil
}

// ObjectType returns "blob", "tree", "commit" or "tag" for the object sha.
func (r *Repo) ObjectType(ctx context.Context, sha string) (string, error) {
	op := "read object type of " + sha
	sha, err := checkSHA("object", sha)
	if err != nil {
		return "", r.errorf(op, err)
	}
	o, err := r.lookupOne(ctx, "object", sha)
	if err != nil {
		return "", r.errorf(op, err)
	}
	return o.typ, nil
}

// Tree lists the tree that treeish names: a tree or commit SHA, a ref, or
// "rev:dir". Entries come in git's order. Recursive lists the whole tree with
// full paths, each directory's own entry just before its contents, as
// GitHub's recursive tree does.
func (r *Repo) Tree(ctx context.Context, treeish string, recursive bool) ([]TreeEntry, error) {
	op := "list tree " + treeish
	tree, err := r.resolveType(ctx, "tree", treeish, "tree")
	if err != nil {
		return nil, r.errorf(op, err)
	}
	entries, err := r.lsTree(ctx, tree, recursive)
	if err != nil {
		return nil, r.errorf(op, err)
	}
	return entries, nil
}

// lsTree lists a tree by its SHA.
func (r *Repo) lsTree(ctx context.Context, tree string, recursive bool) ([]TreeEntry, error) {
	args := []string{"ls-tree", "-z", "--long", "--full-tree"}
	if recursive {
		args = append(args, "-r", "-t")
	}
	out, err := r.git(ctx, nil, append(args, tree)...)
	if err != nil {
		return nil, err
	}
	return parseLsTree(out)
}

// parseLsTree reads `git ls-tree -z --long` output:
// "<mode> SP <type> SP <sha> SP+ <size|-> TAB <path> NUL".
func parseLsTree(out []byte) ([]TreeEntry, error) {
	var entries []TreeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, path, ok := bytes.Cut(rec, []byte("\t"))
		f := strings.Fields(string(meta))
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("git ls-tree: unexpected entry %q", rec)
		}
		e := TreeEntry{Path: string(path), Mode: f[0], Type: f[1], SHA: f[2]}
		if f[3] != "-" {
			size, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("git ls-tree: unexpected size in %q", rec)
			}
			e.Size = size
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Commit reads the commit sha (a full SHA, or any revision naming a commit).
func (r *Repo) Commit(ctx context.Context, sha string) (CommitInfo, error) {
	op := "read commit " + sha
	if err := checkRev("commit", sha); err != nil {
		return CommitInfo{}, r.errorf(op, err)
	}
	full, typ, raw, err := r.readObject(ctx, sha+"^{commit}")
	if err != nil {
		return CommitInfo{}, r.errorf(op, err)
	}
	if typ != "commit" {
		return CommitInfo{}, r.errorf(op, fmt.Errorf("object %s is a %s: %w", full, typ, ErrNotFound))
	}
	c, err := parseCommit(full, raw)
	if err != nil {
		return CommitInfo{}, r.errorf(op, err)
	}
	return c, nil
}

// parseCommit reads a raw commit object. Headers it does not use (gpgsig,
// encoding, mergetag) are skipped with their continuation lines.
func parseCommit(sha string, raw []byte) (CommitInfo, error) {
	c := CommitInfo{SHA: sha}
	head, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	c.Message = string(msg)
	for _, line := range strings.Split(string(head), "\n") {
		key, val, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "tree":
			c.Tree = val
		case "parent":
			c.Parents = append(c.Parents, val)
		case "author":
			c.Author, err = parseSignature(val)
		case "committer":
			c.Committer, err = parseSignature(val)
		}
		if err != nil {
			return CommitInfo{}, fmt.Errorf("commit %s: %s: %w", sha, key, err)
		}
	}
	if c.Tree == "" {
		return CommitInfo{}, fmt.Errorf("commit %s has no tree", sha)
	}
	return c, nil
}

// parseSignature reads "Name <email> 1700000000 +0200".
func parseSignature(s string) (Signature, error) {
	lt := strings.Index(s, "<")
	gt := strings.LastIndex(s, ">")
	if lt < 0 || gt < lt {
		return Signature{}, fmt.Errorf("malformed identity %q", s)
	}
	sig := Signature{Name: strings.TrimSuffix(s[:lt], " "), Email: s[lt+1 : gt]}
	f := strings.Fields(s[gt+1:])
	if len(f) != 2 {
		return Signature{}, fmt.Errorf("malformed date in %q", s)
	}
	secs, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return Signature{}, fmt.Errorf("malformed date in %q", s)
	}
	zone, err := parseZone(f[1])
	if err != nil {
		return Signature{}, fmt.Errorf("malformed time zone in %q", s)
	}
	sig.When = time.Unix(secs, 0).In(zone)
	return sig, nil
}

// parseZone reads git's "+hhmm" offset.
func parseZone(s string) (*time.Location, error) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, fmt.Errorf("bad zone %q", s)
	}
	hh, err1 := strconv.Atoi(s[1:3])
	mm, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad zone %q", s)
	}
	off := hh*3600 + mm*60
	if s[0] == '-' {
		off = -off
	}
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone(s, off), nil
}

// formatSignature writes a signature as git stores it, refusing what git
// would reject or silently change.
func formatSignature(role string, s Signature) (string, error) {
	for _, f := range []struct{ name, val string }{{"name", s.Name}, {"email", s.Email}} {
		if f.val == "" || strings.ContainsAny(f.val, "<>\n\x00") {
			return "", fmt.Errorf("%s %s %q must be non-empty without <, > or newlines: %w", role, f.name, f.val, ErrInvalid)
		}
	}
	if s.When.IsZero() {
		return "", fmt.Errorf("%s date is missing: %w", role, ErrInvalid)
	}
	return fmt.Sprintf("%s <%s> %d %s", s.Name, s.Email, s.When.Unix(), s.When.Format("-0700")), nil
}

// WriteCommit stores a commit of c.Tree with c.Parents, c.Author,
// c.Committer and c.Message, and returns its SHA; c.SHA is ignored. A zero
// Committer means the author, as on GitHub. The message is kept byte for
// byte. The tree and every parent must exist (ErrNotFound otherwise).
func (r *Repo) WriteCommit(ctx context.Context, c CommitInfo) (string, error) {
	op := "write commit"
	raw, err := r.rawCommit(ctx, c)
	if err != nil {
		return "", r.errorf(op, err)
	}
	var sha string
	err = r.write(ctx, func() error {
		out, err := r.git(ctx, raw, "hash-object", "-t", "commit", "-w", "--stdin")
		if err != nil {
			return r.errorf(op, err)
		}
		sha = strings.TrimSpace(string(out))
		return nil
	})
	return sha, err
}

// rawCommit checks c and renders it as a commit object.
func (r *Repo) rawCommit(ctx context.Context, c CommitInfo) ([]byte, error) {
	if c.Committer == (Signature{}) {
		c.Committer = c.Author
	}
	author, err := formatSignature("author", c.Author)
	if err != nil {
		return nil, err
	}
	committer, err := formatSignature("committer", c.Committer)
	if err != nil {
		return nil, err
	}
	if strings.Contains(c.Message, "\x00") {
		return nil, fmt.Errorf("message holds a NUL byte: %w", ErrInvalid)
	}
	tree, err := checkSHA("tree", c.Tree)
	if err != nil {
		return nil, err
	}
	names := []string{tree}
	parents := make([]string, len(c.Parents))
	for i, p := range c.Parents {
		if parents[i], err = checkSHA("parent", p); err != nil {
			return nil, err
		}
		names = append(names, parents[i])
	}
	objs, err := r.lookup(ctx, names...)
	if err != nil {
		return nil, err
	}
	for i, o := range objs {
		want, what := "commit", "parent"
		if i == 0 {
			want, what = "tree", "tree"
		}
		if o.typ != want {
			return nil, fmt.Errorf("%s %s: no such %s: %w", what, names[i], want, ErrNotFound)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree %s\n", tree)
	for _, p := range parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	fmt.Fprintf(&b, "author %s\ncommitter %s\n\n%s", author, committer, c.Message)
	return b.Bytes(), nil
}

// FileAt returns the content, blob SHA and mode ("100644", "100755" or
// "120000" for a symlink, whose content is its target) of path at rev. A
// directory, and the root path "", is ErrIsDir; a missing rev or path is
// ErrNotFound.
func (r *Repo) FileAt(ctx context.Context, rev, path string) (content []byte, blobSHA, mode string, err error) {
	op := fmt.Sprintf("read %s at %s", path, rev)
	if path != "" {
		if err := checkPath(path); err != nil {
			return nil, "", "", r.errorf(op, err)
		}
	}
	commit, err := r.resolveType(ctx, "revision", rev, "commit")
	if err != nil {
		return nil, "", "", r.errorf(op, err)
	}
	if path == "" {
		return nil, "", "", r.errorf(op, fmt.Errorf("the root: %w", ErrIsDir))
	}
	out, err := r.git(ctx, nil, "ls-tree", "-z", "--long", "--full-tree", commit, "--", path)
	if err != nil {
		return nil, "", "", r.errorf(op, err)
	}
	entries, err := parseLsTree(out)
	if err != nil {
		return nil, "", "", r.errorf(op, err)
	}
	if len(entries) != 1 || entries[0].Path != path {
		return nil, "", "", r.errorf(op, fmt.Errorf("path %s: %w", path, ErrNotFound))
	}
	e := entries[0]
	switch e.Type {
	case "tree":
		return nil, "", "", r.errorf(op, fmt.Errorf("path %s: %w", path, ErrIsDir))
	case "blob":
	default:
		return nil, "", "", r.errorf(op, fmt.Errorf("path %s is a %s, not a file: %w", path, e.Type, ErrInvalid))
	}
	_, typ, content, err := r.readObject(ctx, e.SHA)
	if err != nil {
		return nil, "", "", r.errorf(op, err)
	}
	if typ != "blob" {
		return nil, "", "", r.errorf(op, fmt.Errorf("object %s is a %s, not a blob", e.SHA, typ))
	}
	return content, e.SHA, e.Mode, nil
}
