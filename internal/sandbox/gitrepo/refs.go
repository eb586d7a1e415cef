package gitrepo

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Ref is a ref and the object it points at, not peeled.
type Ref struct {
	Name string
	SHA  string
}

// RefUpdate is one ref a push changed. Old is "" for a new ref, New is "" for
// a deleted one.
type RefUpdate struct {
	Name string
	Old  string
	New  string
}

// ResolveRef returns the commit that name points at, peeling annotated tags.
// Name is a full ref ("refs/heads/x"), a short one ("heads/x", "tags/v1"), a
// branch or tag name (branches win), a full SHA, or any commit-ish git
// understands ("main~1"). ErrNotFound when it names no commit.
func (r *Repo) ResolveRef(ctx context.Context, name string) (string, error) {
	op := "resolve " + name
	if err := checkRev("ref", name); err != nil {
		return "", r.errorf(op, err)
	}
	var candidates []string
	switch {
	case strings.HasPrefix(name, "refs/"), isSHA(name):
		candidates = []string{name}
	case strings.HasPrefix(name, "heads/"), strings.HasPrefix(name, "tags/"):
		candidates = []string{"refs/" + name}
	default:
		candidates = []string{"refs/heads/" + name, "refs/tags/" + name, name}
	}
	peeled := make([]string, len(candidates))
	for i, c := range candidates {
		peeled[i] = c + "^{commit}"
	}
	objs, err := r.lookup(ctx, peeled...)
	if err != nil {
		return "", r.errorf(op, err)
	}
	for _, o := range objs {
		if o.sha != "" {
			return o.sha, nil
		}
	}
	return "", r.errorf(op, fmt.Errorf("no commit named %s: %w", name, ErrNotFound))
}

// Refs lists the refs whose full names start with prefix ("" for all; the
// match is on characters, so "refs/heads/fe" finds "refs/heads/feature"),
// sorted by name.
func (r *Repo) Refs(ctx context.Context, prefix string) ([]Ref, error) {
	all, err := r.refs(ctx)
	if err != nil {
		return nil, r.errorf("list refs "+prefix, err)
	}
	var refs []Ref
	for _, ref := range all {
		if strings.HasPrefix(ref.Name, prefix) {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// Snapshot returns every ref's name and value, for comparing before and after
// a push.
func (r *Repo) Snapshot(ctx context.Context) (map[string]string, error) {
	all, err := r.refs(ctx)
	if err != nil {
		return nil, r.errorf("snapshot refs", err)
	}
	m := make(map[string]string, len(all))
	for _, ref := range all {
		m[ref.Name] = ref.SHA
	}
	return m, nil
}

func (r *Repo) refs(ctx context.Context) ([]Ref, error) {
	if refs, ok := r.refsFromFiles(); ok {
		return refs, nil
	}
	out, err := r.git(ctx, nil, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		sha, name, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("git for-each-ref: unexpected line %q", line)
		}
		refs = append(refs, Ref{Name: name, SHA: sha})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs, nil
}

// readRef returns the value of the full ref name, "" when it does not exist.
func (r *Repo) readRef(ctx context.Context, name string) (string, error) {
	if sha, ok := r.refFromFiles(name); ok {
		return sha, nil
	}
	out, err := r.git(ctx, nil, "for-each-ref", "--format=%(objectname) %(refname)", name)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if sha, ref, _ := strings.Cut(line, " "); ref == name {
			return sha, nil
		}
	}
	return "", nil
}

// UpdateRef points the full ref name at newSHA if it still holds oldSHA
// ("" means it must not exist yet), as one atomic compare-and-swap by git.
// ErrStale when the ref holds something else; ErrNotFound when newSHA does
// not exist; ErrInvalid for a bad name or a branch set to a non-commit.
func (r *Repo) UpdateRef(ctx context.Context, name, newSHA, oldSHA string) error {
	op := "update ref " + name
	if err := checkRefName(name); err != nil {
		return r.errorf(op, err)
	}
	newSHA, err := checkSHA("new value", newSHA)
	if err != nil {
		return r.errorf(op, err)
	}
	expect := zeroSHA
	if oldSHA == zeroSHA {
		oldSHA = "" // the ref must not exist: casError reads "" as absent
	}
	if oldSHA != "" {
		if oldSHA, err = checkSHA("old value", oldSHA); err != nil {
			return r.errorf(op, err)
		}
		expect = oldSHA
	}
	o, err := r.lookupOne(ctx, "object", newSHA)
	if err != nil {
		return r.errorf(op, err)
	}
	if strings.HasPrefix(name, "refs/heads/") && o.typ != "commit" {
		return r.errorf(op, fmt.Errorf("a branch must point at a commit, not a %s: %w", o.typ, ErrInvalid))
	}
	return r.write(ctx, func() error {
		_, err := r.gitRefWrite(ctx, "update-ref", "--no-deref", name, newSHA, expect)
		if err != nil {
			return r.errorf(op, r.casError(ctx, name, oldSHA, err))
		}
		return nil
	})
}

// DeleteRef deletes the full ref name, provided it holds oldSHA ("" skips
// that check). ErrNotFound when the ref does not exist; ErrStale when it
// holds something else.
func (r *Repo) DeleteRef(ctx context.Context, name, oldSHA string) error {
	op := "delete ref " + name
	if err := checkRefName(name); err != nil {
		return r.errorf(op, err)
	}
	if oldSHA != "" {
		var err error
		if oldSHA, err = checkSHA("old value", oldSHA); err != nil {
			return r.errorf(op, err)
		}
	}
	return r.write(ctx, func() error {
		cur, err := r.readRef(ctx, name)
		if err != nil {
			return r.errorf(op, err)
		}
		if cur == "" {
			return r.errorf(op, ErrNotFound)
		}
		if oldSHA != "" && cur != oldSHA {
			return r.errorf(op, fmt.Errorf("ref is at %s, not %s: %w", cur, oldSHA, ErrStale))
		}
		// Deleting only if the ref still holds what was just read keeps the
		// check honest against writers outside this process.
		if _, err := r.gitRefWrite(ctx, "update-ref", "--no-deref", "-d", name, cur); err != nil {
			return r.errorf(op, r.casError(ctx, name, cur, err))
		}
		return nil
	})
}

// casError explains a failed update-ref: ErrStale when the ref no longer
// holds want ("" for absent), git's own error otherwise.
func (r *Repo) casError(ctx context.Context, name, want string, gitErr error) error {
	cur, err := r.readRef(ctx, name)
	if err != nil || cur == want {
		return gitErr
	}
	if cur == "" {
		return fmt.Errorf("ref does not exist, expected %s: %w", want, ErrStale)
	}
	if want == "" {
		return fmt.Errorf("ref already exists at %s: %w", cur, ErrStale)
	}
	return fmt.Errorf("ref is at %s, not %s: %w", cur, want, ErrStale)
}
