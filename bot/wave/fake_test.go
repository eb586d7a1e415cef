package wave

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
)

// fakeGitHub is one repository's Git database and pull requests, in memory:
// blobs and trees are content-addressed as git does; commits get a serial
// in their hash because GitHub stamps them with the time.
type fakeGitHub struct {
	owner, repo string

	mu      sync.Mutex
	blobs   map[string][]byte
	trees   map[string]map[string]string // path -> blob
	commits map[string]gh.Commit
	refs    map[string]string
	prs     []*gh.PullRequest
	serial  int
	// calls logs every method called, in order.
	calls []string
	// fail makes the next call of a method fail with the error.
	fail map[string]error
	// reviewRequests and unknownMergeable shape answers.
	reviewRequests   map[int][][2][]string
	unknownMergeable bool
	// cannotReview are the users and teams GitHub refuses to ask for a
	// review (not collaborators): a request naming one is refused whole.
	cannotReview map[string]bool
}

// writes are the methods that change something on GitHub.
var writes = []string{"CreateBlob", "CreateTree", "CreateCommit", "CreateRef", "UpdateRef", "CommitOnNewBranch", "CreatePullRequest", "AddLabels", "RequestReviewers"}

func newFakeGitHub(owner, repo string, files map[string][]byte) *fakeGitHub {
	f := &fakeGitHub{
		owner: owner, repo: repo,
		blobs: map[string][]byte{}, trees: map[string]map[string]string{}, commits: map[string]gh.Commit{},
		refs: map[string]string{}, fail: map[string]error{}, reviewRequests: map[int][][2][]string{},
	}
	tree := map[string]string{}
	for p, b := range files {
		tree[p] = f.putBlob(b)
	}
	f.refs["main"] = f.putCommit(gh.NewCommit{Message: "initial", Tree: f.putTree(tree)})
	return f
}

func gitHash(kind string, b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (f *fakeGitHub) putBlob(b []byte) string {
	sha := gitHash("blob", b)
	f.blobs[sha] = slices.Clone(b)
	return sha
}

func (f *fakeGitHub) putTree(t map[string]string) string {
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(t)) {
		fmt.Fprintf(&b, "100644 %s\x00%s\n", p, t[p])
	}
	sha := gitHash("tree", []byte(b.String()))
	f.trees[sha] = t
	return sha
}

func (f *fakeGitHub) putCommit(c gh.NewCommit) string {
	f.serial++
	sha := gitHash("commit", fmt.Appendf(nil, "%s %v %d %s", c.Tree, c.Parents, f.serial, c.Message))
	f.commits[sha] = gh.Commit{SHA: sha, Tree: c.Tree, Parents: slices.Clone(c.Parents), Message: c.Message, Verified: true}
	return sha
}

// call logs a call and returns the failure planned for it, if any.
func (f *fakeGitHub) call(method, owner, repo string) error {
	f.calls = append(f.calls, method)
	if owner != f.owner || repo != f.repo {
		return fmt.Errorf("%s/%s: %w", owner, repo, gh.ErrNotFound)
	}
	if err, ok := f.fail[method]; ok {
		delete(f.fail, method)
		return err
	}
	return nil
}

func (f *fakeGitHub) Ref(_ context.Context, owner, repo, branch string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Ref", owner, repo); err != nil {
		return "", err
	}
	sha, ok := f.refs[branch]
	if !ok {
		return "", fmt.Errorf("ref %s: %w", branch, gh.ErrNotFound)
	}
	return sha, nil
}

func (f *fakeGitHub) CreateRef(_ context.Context, owner, repo, branch, sha string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateRef", owner, repo); err != nil {
		return err
	}
	if _, ok := f.refs[branch]; ok {
		return fmt.Errorf("reference already exists: %w", gh.ErrInvalid)
	}
	if _, ok := f.commits[sha]; !ok {
		return fmt.Errorf("object %s does not exist: %w", sha, gh.ErrInvalid)
	}
	f.refs[branch] = sha
	return nil
}

func (f *fakeGitHub) UpdateRef(_ context.Context, owner, repo, branch, sha string, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("UpdateRef", owner, repo); err != nil {
		return err
	}
	old, ok := f.refs[branch]
	if !ok {
		return fmt.Errorf("reference does not exist: %w", gh.ErrInvalid)
	}
	if _, ok := f.commits[sha]; !ok {
		return fmt.Errorf("object %s does not exist: %w", sha, gh.ErrInvalid)
	}
	if !force && !f.ancestors(sha)[old] {
		return fmt.Errorf("update is not a fast forward: %w", gh.ErrInvalid)
	}
	f.refs[branch] = sha
	return nil
}

func (f *fakeGitHub) Commit(_ context.Context, owner, repo, sha string) (gh.Commit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Commit", owner, repo); err != nil {
		return gh.Commit{}, err
	}
	c, ok := f.commits[sha]
	if !ok {
		return gh.Commit{}, fmt.Errorf("commit %s: %w", sha, gh.ErrNotFound)
	}
	c.Parents = slices.Clone(c.Parents)
	return c, nil
}

func (f *fakeGitHub) CreateBlob(_ context.Context, owner, repo string, content []byte) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateBlob", owner, repo); err != nil {
		return "", err
	}
	return f.putBlob(content), nil
}

func (f *fakeGitHub) CreateTree(_ context.Context, owner, repo, baseTree string, entries []gh.TreeEntry) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateTree", owner, repo); err != nil {
		return "", err
	}
	base, ok := f.trees[baseTree]
	if !ok {
		return "", fmt.Errorf("base tree %s: %w", baseTree, gh.ErrInvalid)
	}
	t := maps.Clone(base)
	for _, e := range entries {
		switch {
		case e.Delete:
			delete(t, e.Path)
		case e.Mode != "" && e.Mode != "100644":
			return "", fmt.Errorf("mode %s: %w", e.Mode, gh.ErrInvalid)
		case e.Content != "":
			// GitHub writes the blob of inline content itself.
			t[e.Path] = f.putBlob([]byte(e.Content))
		default:
			if _, ok := f.blobs[e.SHA]; !ok {
				return "", fmt.Errorf("blob %s: %w", e.SHA, gh.ErrInvalid)
			}
			t[e.Path] = e.SHA
		}
	}
	return f.putTree(t), nil
}

func (f *fakeGitHub) CreateCommit(_ context.Context, owner, repo string, c gh.NewCommit) (gh.Commit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateCommit", owner, repo); err != nil {
		return gh.Commit{}, err
	}
	if _, ok := f.trees[c.Tree]; !ok {
		return gh.Commit{}, fmt.Errorf("tree %s: %w", c.Tree, gh.ErrInvalid)
	}
	for _, p := range c.Parents {
		if _, ok := f.commits[p]; !ok {
			return gh.Commit{}, fmt.Errorf("parent %s: %w", p, gh.ErrInvalid)
		}
	}
	return f.commits[f.putCommit(c)], nil
}

// CommitOnNewBranch does what GitHub does with createRef then
// createCommitOnBranch in one document: the branch is created at base
// unless it exists, and the commit goes on it only if it is at base.
func (f *fakeGitHub) CommitOnNewBranch(_ context.Context, owner, repo, repoID, branch, base, message string, files []gh.FileChange) (gh.BranchCommit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CommitOnNewBranch", owner, repo); err != nil {
		return gh.BranchCommit{}, err
	}
	if repoID != f.repoID() {
		return gh.BranchCommit{}, fmt.Errorf("repository %s: %w", repoID, gh.ErrNotFound)
	}
	head, exists := f.refs[branch]
	if !exists {
		if _, ok := f.commits[base]; !ok {
			return gh.BranchCommit{}, fmt.Errorf("commit %s: %w", base, gh.ErrInvalid)
		}
		head = base
		f.refs[branch] = base
	}
	if head != base {
		return gh.BranchCommit{}, fmt.Errorf("expected branch to point to %s: %w", base, gh.ErrConflict)
	}
	t := maps.Clone(f.trees[f.commits[base].Tree])
	for _, fc := range files {
		if fc.Delete {
			delete(t, fc.Path)
			continue
		}
		t[fc.Path] = f.putBlob(fc.Content)
	}
	sha := f.putCommit(gh.NewCommit{Message: message, Tree: f.putTree(t), Parents: []string{base}})
	f.refs[branch] = sha
	return gh.BranchCommit{SHA: sha, Created: !exists}, nil
}

// repoID is the repository's GraphQL id.
func (f *fakeGitHub) repoID() string { return "R_" + f.owner + "/" + f.repo }

// pr returns a copy of a pull request as GitHub shows it: an open one's
// head follows its branch.
func (f *fakeGitHub) view(pr *gh.PullRequest) gh.PullRequest {
	v := *pr
	v.Labels = slices.Clone(pr.Labels)
	if v.State == "open" {
		v.HeadSHA = f.refs[v.HeadRef]
		v.BaseSHA = f.refs[v.BaseRef]
	}
	return v
}

func (f *fakeGitHub) PullRequests(_ context.Context, owner, repo string, filter gh.PullRequestFilter) ([]gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("PullRequests", owner, repo); err != nil {
		return nil, err
	}
	var out []gh.PullRequest
	for _, pr := range f.prs {
		state := filter.State
		if state == "" {
			state = "open"
		}
		if state != "all" && pr.State != state || filter.Head != "" && filter.Head != f.owner+":"+pr.HeadRef {
			continue
		}
		v := f.view(pr)
		v.Mergeable = nil // the list never says
		out = append(out, v)
	}
	return out, nil
}

func (f *fakeGitHub) PullRequest(_ context.Context, owner, repo string, number int) (gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("PullRequest", owner, repo); err != nil {
		return gh.PullRequest{}, err
	}
	for _, pr := range f.prs {
		if pr.Number == number {
			v := f.view(pr)
			if v.State == "open" && !f.unknownMergeable {
				_, conflict := f.merge(v.BaseSHA, v.HeadSHA)
				ok := !conflict
				v.Mergeable = &ok
			}
			return v, nil
		}
	}
	return gh.PullRequest{}, fmt.Errorf("pull request %d: %w", number, gh.ErrNotFound)
}

func (f *fakeGitHub) EditPullRequest(_ context.Context, owner, repo string, number int, e gh.PullRequestEdit) (gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("EditPullRequest", owner, repo); err != nil {
		return gh.PullRequest{}, err
	}
	for _, pr := range f.prs {
		if pr.Number == number {
			if e.Body != nil {
				pr.Body = *e.Body
			}
			if e.Title != nil {
				pr.Title = *e.Title
			}
			return f.view(pr), nil
		}
	}
	return gh.PullRequest{}, fmt.Errorf("pull request %d: %w", number, gh.ErrNotFound)
}

func (f *fakeGitHub) CreatePullRequest(_ context.Context, owner, repo string, p gh.NewPullRequest) (gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreatePullRequest", owner, repo); err != nil {
		return gh.PullRequest{}, err
	}
	head, ok := f.refs[p.Head]
	base, okBase := f.refs[p.Base]
	if !ok || !okBase {
		return gh.PullRequest{}, fmt.Errorf("head or base missing: %w", gh.ErrInvalid)
	}
	for _, pr := range f.prs {
		if pr.State == "open" && pr.HeadRef == p.Head {
			return gh.PullRequest{}, fmt.Errorf("a pull request already exists for %s: %w", p.Head, gh.ErrInvalid)
		}
	}
	if f.commits[head].Tree == f.commits[base].Tree {
		return gh.PullRequest{}, fmt.Errorf("no commits between %s and %s: %w", p.Base, p.Head, gh.ErrInvalid)
	}
	n := len(f.prs) + 1
	pr := &gh.PullRequest{
		Number: n, State: "open", Title: p.Title, Body: p.Body,
		HeadRef: p.Head, HeadSHA: head, BaseRef: p.Base, BaseSHA: base, User: "fleetbot[bot]",
		HTMLURL: fmt.Sprintf("https://github.com/%s/%s/pull/%d", owner, repo, n),
	}
	f.prs = append(f.prs, pr)
	return f.view(pr), nil
}

func (f *fakeGitHub) RequestReviewers(_ context.Context, owner, repo string, number int, users, teams []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RequestReviewers", owner, repo); err != nil {
		return err
	}
	for _, who := range slices.Concat(users, teams) {
		if f.cannotReview[who] {
			return fmt.Errorf("request reviewers: Reviews may only be requested from collaborators (%s): %w", who, gh.ErrInvalid)
		}
	}
	f.reviewRequests[number] = append(f.reviewRequests[number], [2][]string{users, teams})
	return nil
}

func (f *fakeGitHub) AddLabels(_ context.Context, owner, repo string, number int, labels []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("AddLabels", owner, repo); err != nil {
		return err
	}
	pr := f.prs[number-1]
	for _, l := range labels {
		if !slices.Contains(pr.Labels, l) {
			pr.Labels = append(pr.Labels, l)
		}
	}
	return nil
}

// ancestors returns sha and every commit it descends from.
func (f *fakeGitHub) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	todo := []string{sha}
	for len(todo) > 0 {
		s := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[s] {
			continue
		}
		seen[s] = true
		todo = append(todo, f.commits[s].Parents...)
	}
	return seen
}

// merge merges head into base file by file from their merge base: a path
// both sides changed differently is a conflict (GitHub merges lines; whole
// files are enough here).
func (f *fakeGitHub) merge(base, head string) (map[string]string, bool) {
	inBase := f.ancestors(base)
	mb := head
	for !inBase[mb] {
		mb = f.commits[mb].Parents[0]
	}
	o, b, h := f.trees[f.commits[mb].Tree], f.trees[f.commits[base].Tree], f.trees[f.commits[head].Tree]
	out := maps.Clone(b)
	conflict := false
	for _, p := range slices.Sorted(maps.Keys(unionKeys(o, b, h))) {
		switch {
		case h[p] == o[p] || h[p] == b[p]:
		case b[p] == o[p]:
			if h[p] == "" {
				delete(out, p)
			} else {
				out[p] = h[p]
			}
		default:
			conflict = true
		}
	}
	return out, conflict
}

func unionKeys(ms ...map[string]string) map[string]bool {
	u := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			u[k] = true
		}
	}
	return u
}

// push commits files (nil content deletes) on top of branch, as a person
// would, and returns the commit.
func (f *fakeGitHub) push(branch, message string, files map[string][]byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	parent := f.refs[branch]
	t := maps.Clone(f.trees[f.commits[parent].Tree])
	for p, b := range files {
		if b == nil {
			delete(t, p)
		} else {
			t[p] = f.putBlob(b)
		}
	}
	sha := f.putCommit(gh.NewCommit{Message: message, Tree: f.putTree(t), Parents: []string{parent}})
	f.refs[branch] = sha
	return sha
}

// close closes a pull request without merging it.
func (f *fakeGitHub) close(number int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr := f.prs[number-1]
	*pr = f.view(pr)
	pr.State = "closed"
}

// mergePR merges a pull request with a merge commit on its base.
func (f *fakeGitHub) mergePR(number int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr := f.prs[number-1]
	*pr = f.view(pr)
	tree, conflict := f.merge(pr.BaseSHA, pr.HeadSHA)
	if conflict {
		panic("merging a conflicting pull request")
	}
	sha := f.putCommit(gh.NewCommit{Message: "Merge", Tree: f.putTree(tree), Parents: []string{pr.BaseSHA, pr.HeadSHA}})
	f.refs[pr.BaseRef] = sha
	pr.State, pr.Merged, pr.MergeCommitSHA = "closed", true, sha
}

// files returns the files of a commit.
func (f *fakeGitHub) files(sha string) map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for p, b := range f.trees[f.commits[sha].Tree] {
		out[p] = f.blobs[b]
	}
	return out
}

// reader reads the files of a commit, as a mirror checkout would.
func (f *fakeGitHub) reader(sha string) gitops.ReadFunc {
	files := f.files(sha)
	return func(path string) ([]byte, error) {
		b, ok := files[path]
		if !ok {
			return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
		}
		return b, nil
	}
}

// take returns the calls logged since the last take.
func (f *fakeGitHub) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func writesIn(calls []string) []string {
	var out []string
	for _, c := range calls {
		if slices.Contains(writes, c) {
			out = append(out, c)
		}
	}
	return out
}
