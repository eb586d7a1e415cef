package wave

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
)

// ErrClosed reports that the wave's pull request for this attempt was closed
// without being merged: the caller reports it and blocks the wave until a
// person asks for a new attempt.
var ErrClosed = errors.New("pull request closed without merge")

// ErrNoChange reports that the base branch already holds every change of the
// pull request, so there is nothing to propose.
var ErrNoChange = errors.New("base already holds the change")

// ErrForeignCommit reports that the head of the bot's branch of an open pull
// request is a commit fleetbot did not make: moving the branch would drop
// someone's work, so the branch is left alone for a person to sort out.
var ErrForeignCommit = errors.New("branch has a commit fleetbot did not make")

// Owners are who is asked to review: GitHub logins, and teams as "org/slug".
type Owners struct{ Users, Teams []string }

// Request is one planned pull request to put on GitHub: one repository, one
// tenant (or the fleet admins), one wave.
type Request struct {
	Campaign *rollout.Campaign
	// Plan is the whole plan, for the diagram and the wave count.
	Plan *rollout.Plan
	// Wave is the 1-based index of the wave in Plan.
	Wave int
	// PR is the plan's pull request for this repository and tenant.
	PR rollout.PullRequest
	// Clusters are the clusters of this tenant in this wave, as the state
	// machine asks; empty means every cluster of the tenant in the wave.
	Clusters []string
	// Owner and Repo name the GitHub repository of PR.Repo.
	Owner, Repo string
	// BaseBranch and BaseSHA are the base branch and its head as read from
	// GitHub just before the call.
	BaseBranch, BaseSHA string
	// BaseTree, when set, is BaseSHA's tree (from the Mirror): the new
	// commit is written on it without reading BaseSHA from GitHub.
	BaseTree string
	// RepoID, when set, is the repository's GraphQL node id: a new branch
	// and its commit are then written in one call (CommitOnNewBranch).
	RepoID string
	// Read reads files at BaseSHA, usually from a Mirror checkout.
	Read gitops.ReadFunc
	// Owns tells whether a path belongs to PR.Tenant (see TenantFiles). It is
	// required for a tenant's pull request; for an admin pull request it is
	// checked when set.
	Owns func(path string) bool
	// Reviewers are asked to review a new pull request.
	Reviewers Owners
	// Gates are the names of the gates that run after the merge.
	Gates []string
	// Preflight holds, by cluster, what EKS's pre-flight check said before
	// the cluster went into the pull request (its warnings, such as an
	// add-on to move); the body shows it.
	Preflight map[string]string
	// Attempt counts the pull requests opened for this wave and tenant: more
	// than 1 opens a new one after an earlier one was closed without merge.
	// Zero means 1.
	Attempt int
	// Labels go on the pull request; nil means "fleetbot",
	// "campaign:<name>" and "wave:<n>".
	Labels []string
	// InTurn, when set, runs the call that opens the pull request: the
	// caller opening several at once makes their numbers follow its
	// order. It is called at most once per Ensure.
	InTurn func(open func() error) error
}

// Result is what Ensure found or did.
type Result struct {
	Number  int
	Branch  string
	HeadSHA string
	URL     string
	// Opened is true when this call opened the pull request.
	Opened bool
	// Regenerated is true when this call rebuilt the branch on the new base.
	Regenerated bool
	// Replanned is true when the branch was rebuilt because the pull
	// request now carries other clusters (one held back by pre-flight
	// joined it after a retry); its body was rewritten to name them.
	Replanned bool
	// Reused is true when an existing pull request was kept as it is.
	Reused bool
	// Merged is true when the pull request is already merged.
	Merged bool
	// Recheck is true when GitHub had not yet computed whether the reused
	// pull request conflicts with its base: call Ensure again later.
	Recheck bool
	// Skipped lists the reviewers not asked, each with the reason.
	Skipped []string
	// Kept lists the planned files left out because a person changed the
	// planned value on the base since the plan: the pull request never
	// overwrites them.
	Kept []KeptFile
	// Calls counts the GitHub API calls made.
	Calls int
}

// Ensure makes sure the pull request of req exists on GitHub with the right
// content, and makes no write when it already does. In order:
//
//   - a tenant's pull request touching a file the tenant does not own is
//     refused before any call;
//   - the edits are applied to the files at BaseSHA (gitops.Apply), which
//     refuses a base whose values moved since planning (stale);
//   - the pull requests of the branch are listed: a merged one is returned
//     (Reused, Merged); one closed without merge for this attempt or a later
//     one gives ErrClosed; an open one is reused when its head is our commit
//     of the same plan on BaseSHA, or when GitHub finds it mergeable, and is
//     regenerated (a new commit on BaseSHA, the branch force-moved) when it
//     conflicts or the plan changed;
//   - otherwise the branch is created with the commit on it in one call
//     (GraphQL's createRef and createCommitOnBranch, with RepoID), the
//     pull request opened, reviewers requested and labels added. Labels
//     come last, so a pull request without them is one whose setup a
//     crash cut short, and a rerun completes it. A branch that is there
//     already (left by a crash before the pull request was opened, or by
//     an attempt closed without merge) is read: reused when it holds the
//     right commit, else the commit is written through the Git Data API
//     and the branch moved.
//
// Files whose content would not change are left out; when none changes,
// Ensure returns ErrNoChange. A new pull request, whatever its number of
// files, takes 5 calls: list the branch's pull requests, write the branch
// and its commit, open the pull request, ask for reviews and label it (4
// when there is nobody to ask). A second call finds the open pull request
// and reads its head commit: 2 reads, or 3 when the base moved (whether it
// is mergeable), and no write.
func Ensure(ctx context.Context, api EnsureClient, req Request) (Result, error) {
	c := &counter{api: api}
	res, err := ensure(ctx, ensureCounter{c, api}, req)
	res.Calls = c.n
	return res, err
}

func ensure(ctx context.Context, c EnsureClient, req Request) (Result, error) {
	name, w, err := req.wave()
	if err != nil {
		return Result{}, err
	}
	if req.Owner == "" || req.Repo == "" || req.BaseBranch == "" || req.BaseSHA == "" || req.Read == nil {
		return Result{}, fmt.Errorf("wave %d for %s: owner, repo, base branch, base SHA and reader are required", req.Wave, owner(req.PR))
	}
	e := &ensurer{c: c, req: req, name: name, wave: w, branch: BranchOf(name, req.Wave, req.PR)}
	e.res.Branch = e.branch
	if err := req.checkOwnership(); err != nil {
		return e.res, err
	}
	if _, err := req.clusters(w); err != nil {
		return e.res, err
	}
	files, kept, applyErr := changes(req)
	e.files, e.res.Kept = files, kept
	e.content = contentHash(files)
	e.plan = planHash(req.PR)

	// GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=all
	// (https://docs.github.com/rest/pulls/pulls#list-pull-requests)
	prs, err := c.PullRequests(ctx, req.Owner, req.Repo, gh.PullRequestFilter{State: "all", Head: req.Owner + ":" + e.branch})
	if err != nil {
		return e.res, fmt.Errorf("list pull requests of %s: %w", e.branch, err)
	}
	var open *gh.PullRequest
	closedAttempt := 0
	for i := range prs {
		pr := &prs[i]
		switch {
		case pr.HeadRef != e.branch:
			continue
		case pr.Merged:
			e.found(pr)
			e.res.Reused, e.res.Merged = true, true
			return e.res, nil
		case pr.State == "open":
			open = pr
		default:
			if a := bodyAttempt(pr.Body); a >= closedAttempt {
				closedAttempt = a
				e.found(pr)
			}
		}
	}
	if applyErr != nil {
		if open != nil {
			e.found(open) // the caller names the kept files on it
		}
		return e.res, applyErr
	}
	if open != nil {
		e.found(open)
		return e.res, e.keepOpen(ctx, open)
	}
	if closedAttempt > 0 && req.attempt() <= closedAttempt {
		return e.res, fmt.Errorf("pull request #%d on %s was closed on attempt %d; ask for attempt %d to open a new one: %w",
			e.res.Number, e.branch, closedAttempt, closedAttempt+1, ErrClosed)
	}
	e.res, e.closed = Result{Branch: e.branch}, closedAttempt > 0
	if len(files) == 0 {
		return e.res, fmt.Errorf("wave %d for %s on %s: %w", req.Wave, owner(req.PR), req.BaseBranch, ErrNoChange)
	}
	return e.res, e.open(ctx)
}

// ensurer carries one Ensure call.
type ensurer struct {
	c      EnsureClient
	req    Request
	name   string
	wave   *rollout.Wave
	branch string
	files  []gitops.FileResult
	// content and plan are the fingerprints written into our commits.
	content, plan string
	// closed is true when a pull request of the branch was closed without
	// merge: it keeps the commits it had.
	closed bool
	res    Result
}

func (e *ensurer) found(pr *gh.PullRequest) {
	e.res.Number, e.res.HeadSHA, e.res.URL = pr.Number, pr.HeadSHA, pr.HTMLURL
}

// keepOpen reuses or regenerates an open pull request.
func (e *ensurer) keepOpen(ctx context.Context, pr *gh.PullRequest) error {
	head, err := e.c.Commit(ctx, e.req.Owner, e.req.Repo, pr.HeadSHA)
	if err != nil {
		return fmt.Errorf("read head of pull request #%d: %w", pr.Number, err)
	}
	ours, samePlan, same := e.matches(head)
	if !ours {
		return fmt.Errorf("pull request #%d: %s is at %s: %w", pr.Number, e.branch, head.SHA, ErrForeignCommit)
	}
	if len(e.files) == 0 {
		return fmt.Errorf("pull request #%d: %w", pr.Number, ErrNoChange)
	}
	regenerate := !samePlan
	if samePlan && !same {
		// The base moved: GitHub says whether the branch still merges.
		// GET /repos/{owner}/{repo}/pulls/{pull_number}
		// (https://docs.github.com/rest/pulls/pulls#get-a-pull-request)
		full, err := e.c.PullRequest(ctx, e.req.Owner, e.req.Repo, pr.Number)
		if err != nil {
			return fmt.Errorf("read pull request #%d: %w", pr.Number, err)
		}
		switch {
		case full.Mergeable == nil:
			e.res.Recheck = true
		case !*full.Mergeable:
			regenerate = true
		}
	}
	if regenerate {
		sha, err := e.commit(ctx)
		if err != nil {
			return err
		}
		if !samePlan {
			if err := e.rewriteBody(ctx, pr.Number); err != nil {
				return err
			}
			e.res.Replanned = true
		}
		// PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}, force
		// (https://docs.github.com/rest/git/refs#update-a-reference)
		if err := e.c.UpdateRef(ctx, e.req.Owner, e.req.Repo, e.branch, sha, true); err != nil {
			return fmt.Errorf("move %s to %s: %w", e.branch, sha, err)
		}
		e.res.HeadSHA, e.res.Regenerated = sha, true
	} else {
		e.res.Reused = true
	}
	if !hasAll(pr.Labels, e.req.labels(e.name)) {
		return e.finish(ctx, pr.Number)
	}
	return nil
}

// rewriteBody makes the body of open pull request number say what it
// carries now.
func (e *ensurer) rewriteBody(ctx context.Context, number int) error {
	body, err := Body(e.req)
	if err != nil {
		return err
	}
	// PATCH /repos/{owner}/{repo}/pulls/{pull_number}
	// (https://docs.github.com/rest/pulls/pulls#update-a-pull-request)
	if _, err := e.c.EditPullRequest(ctx, e.req.Owner, e.req.Repo, number, gh.PullRequestEdit{Body: &body}); err != nil {
		return fmt.Errorf("rewrite the body of pull request #%d: %w", number, err)
	}
	return nil
}

// open writes the commit (or reuses a branch a crash left), then opens the
// pull request and finishes it.
func (e *ensurer) open(ctx context.Context) error {
	r := e.req
	msg, err := e.message()
	if err != nil {
		return err
	}
	sha, err := newBranch(ctx, e.c, r.Owner, r.Repo, r.RepoID, e.branch, r.BaseSHA, msg, e.files)
	if err != nil {
		return err
	}
	if sha == "" {
		if sha, err = e.existingBranch(ctx, msg); err != nil {
			return err
		}
	}
	body, err := Body(r)
	if err != nil {
		return err
	}
	var pr gh.PullRequest
	create := func() error {
		// POST /repos/{owner}/{repo}/pulls
		// (https://docs.github.com/rest/pulls/pulls#create-a-pull-request)
		pr, err = e.c.CreatePullRequest(ctx, r.Owner, r.Repo, gh.NewPullRequest{
			Title: fmt.Sprintf("fleetbot: %s wave %d — %s", e.name, r.Wave, owner(r.PR)),
			Head:  e.branch,
			Base:  r.BaseBranch,
			Body:  body,
		})
		return err
	}
	if r.InTurn != nil {
		err = r.InTurn(create)
	} else {
		err = create()
	}
	if err != nil {
		return fmt.Errorf("open pull request from %s: %w", e.branch, err)
	}
	e.found(&pr)
	e.res.HeadSHA, e.res.Opened = sha, true
	return e.finish(ctx, pr.Number)
}

// existingBranch points the branch, which is there already (or cannot be
// written in one call), at the commit of this call and returns it: a
// branch holding our commit of the same content is kept (a call cut short
// before the pull request opened); a commit of ours otherwise, or the
// branch of a pull request closed without merge, is replaced; anything
// else is someone's work and left alone.
func (e *ensurer) existingBranch(ctx context.Context, msg string) (string, error) {
	r := e.req
	// GET /repos/{owner}/{repo}/git/ref/heads/{branch}
	// (https://docs.github.com/rest/git/refs#get-a-reference)
	sha, err := e.c.Ref(ctx, r.Owner, r.Repo, e.branch)
	exists := err == nil
	if err != nil && !errors.Is(err, gh.ErrNotFound) {
		return "", fmt.Errorf("read branch %s: %w", e.branch, err)
	}
	if exists {
		head, err := e.c.Commit(ctx, r.Owner, r.Repo, sha)
		if err != nil {
			return "", fmt.Errorf("read head of %s: %w", e.branch, err)
		}
		ours, _, same := e.matches(head)
		if !ours && !e.closed {
			return "", fmt.Errorf("%s is at %s and no pull request holds it: %w", e.branch, sha, ErrForeignCommit)
		}
		if same {
			return sha, nil
		}
	}
	sha, err = writeCommit(ctx, e.c, r.Owner, r.Repo, r.BaseSHA, r.BaseTree, e.files, msg)
	if err != nil {
		return "", err
	}
	if exists {
		// Our own commit of an earlier call, or the branch of a pull
		// request closed without merge, which keeps its commits:
		// moving the branch loses nothing.
		err = e.c.UpdateRef(ctx, r.Owner, r.Repo, e.branch, sha, true)
	} else {
		// POST /repos/{owner}/{repo}/git/refs
		// (https://docs.github.com/rest/git/refs#create-a-reference)
		err = e.c.CreateRef(ctx, r.Owner, r.Repo, e.branch, sha)
	}
	if err != nil {
		return "", fmt.Errorf("point %s at %s: %w", e.branch, sha, err)
	}
	e.res.Regenerated = exists
	return sha, nil
}

// newBranch creates branch at base holding files as one commit, in one
// call, and returns the commit; "" when repoID is unknown or the branch is
// there already pointing elsewhere, which the caller then reads.
func newBranch(ctx context.Context, c BranchCommitter, owner, repo, repoID, branch, base, msg string, files []gitops.FileResult) (string, error) {
	if repoID == "" {
		return "", nil
	}
	changes := make([]gh.FileChange, 0, len(files))
	for _, f := range files {
		changes = append(changes, gh.FileChange{Path: f.Path, Content: f.New, Delete: f.New == nil})
	}
	// POST /graphql: createRef, then createCommitOnBranch
	// (https://docs.github.com/graphql/reference/mutations#createcommitonbranch)
	res, err := c.CommitOnNewBranch(ctx, owner, repo, repoID, branch, base, msg, changes)
	switch {
	case errors.Is(err, gh.ErrConflict):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("write %s on %s: %w", branch, base, err)
	}
	return res.SHA, nil
}

// finish asks for reviews, then labels the pull request: the labels mark a
// pull request whose setup is complete.
func (e *ensurer) finish(ctx context.Context, number int) error {
	r := e.req
	skipped, err := finishPR(ctx, e.c, r.Owner, r.Repo, number, r.Reviewers, r.labels(e.name))
	e.res.Skipped = skipped
	return err
}

// finishPR sets up open pull request number: asks owners for reviews, then
// puts labels on it. The labels mark a pull request whose setup is
// complete, so one found without them is finished again. skipped are the
// owners GitHub cannot be asked for; an error is a rollout.SetupError,
// since the pull request is open.
func finishPR(ctx context.Context, c Opener, owner, repo string, number int, owners Owners, labels []string) (skipped []string, err error) {
	users, teams, skipped := reviewers(owner, owners)
	if len(users)+len(teams) > 0 {
		// POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers
		// (https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request)
		err = c.RequestReviewers(ctx, owner, repo, number, users, teams)
	}
	if errors.Is(err, gh.ErrInvalid) {
		// GitHub refuses the whole request when one of them cannot be
		// asked (not a collaborator of the repository, the pull
		// request's author): each is asked alone, and those refused are
		// skipped with GitHub's answer, so the others are asked and the
		// pull request is set up.
		err = nil
		for _, one := range slices.Concat(reviewRequests(users, false), reviewRequests(teams, true)) {
			e := c.RequestReviewers(ctx, owner, repo, number, one.users, one.teams)
			if errors.Is(e, gh.ErrInvalid) {
				skipped = append(skipped, fmt.Sprintf("%s: GitHub refused to ask for a review: %v", one.name, e))
			} else if err = e; err != nil {
				break
			}
		}
	}
	if err != nil {
		return skipped, &rollout.SetupError{Number: number, Step: "ask for reviews on", Err: fmt.Errorf("request reviews on pull request #%d: %w", number, err)}
	}
	// POST /repos/{owner}/{repo}/issues/{issue_number}/labels
	// (https://docs.github.com/rest/issues/labels#add-labels-to-an-issue)
	if err := c.AddLabels(ctx, owner, repo, number, labels); err != nil {
		return skipped, &rollout.SetupError{Number: number, Step: "label", Err: fmt.Errorf("label pull request #%d: %w", number, err)}
	}
	return skipped, nil
}

// commit writes the changed files as one commit on BaseSHA and returns it.
func (e *ensurer) commit(ctx context.Context) (string, error) {
	msg, err := e.message()
	if err != nil {
		return "", err
	}
	return writeCommit(ctx, e.c, e.req.Owner, e.req.Repo, e.req.BaseSHA, e.req.BaseTree, e.files, msg)
}

// writeCommit writes files as one commit on base through the Git Data API
// and returns it; a file whose New is nil is deleted. baseTree is base's
// tree, read from GitHub when empty.
func writeCommit(ctx context.Context, c committer, owner, repo, base, baseTree string, files []gitops.FileResult, msg string) (string, error) {
	if baseTree == "" {
		// GET /repos/{owner}/{repo}/git/commits/{commit_sha}
		// (https://docs.github.com/rest/git/commits#get-a-commit-object)
		baseCommit, err := c.Commit(ctx, owner, repo, base)
		if err != nil {
			return "", fmt.Errorf("read base commit %s: %w", base, err)
		}
		baseTree = baseCommit.Tree
	}
	entries := make([]gh.TreeEntry, 0, len(files))
	for _, f := range files {
		if f.New == nil {
			entries = append(entries, gh.TreeEntry{Path: f.Path, Delete: true})
			continue
		}
		if len(f.New) > 0 && utf8.Valid(f.New) {
			// Text, as fleet files are: the tree carries it, and
			// GitHub writes its blob (one call fewer per file).
			entries = append(entries, gh.TreeEntry{Path: f.Path, Mode: "100644", Content: string(f.New)})
			continue
		}
		// POST /repos/{owner}/{repo}/git/blobs
		// (https://docs.github.com/rest/git/blobs#create-a-blob)
		blob, err := c.CreateBlob(ctx, owner, repo, f.New)
		if err != nil {
			return "", fmt.Errorf("store %s: %w", f.Path, err)
		}
		entries = append(entries, gh.TreeEntry{Path: f.Path, Mode: "100644", SHA: blob})
	}
	// POST /repos/{owner}/{repo}/git/trees
	// (https://docs.github.com/rest/git/trees#create-a-tree)
	tree, err := c.CreateTree(ctx, owner, repo, baseTree, entries)
	if err != nil {
		return "", fmt.Errorf("write tree on %s: %w", base, err)
	}
	// POST /repos/{owner}/{repo}/git/commits
	// (https://docs.github.com/rest/git/commits#create-a-commit)
	cm, err := c.CreateCommit(ctx, owner, repo, gh.NewCommit{Message: msg, Tree: tree, Parents: []string{base}})
	if err != nil {
		return "", fmt.Errorf("write commit on %s: %w", base, err)
	}
	return cm.SHA, nil
}

// Trailers of our commits: the plan's pull request and the written content,
// so a later call can tell its own commit, and whether it still holds what
// it would write, from one read of the commit.
const (
	trailerPlan    = "Fleetbot-Plan: "
	trailerContent = "Fleetbot-Content: "
)

// message is the commit message: the campaign, wave and tenant, one line
// per cluster, and the trailers.
func (e *ensurer) message() (string, error) {
	clusters, err := e.req.clusters(e.wave)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: wave %d, %s\n\n", e.name, e.req.Wave, owner(e.req.PR))
	for _, c := range clusters {
		fmt.Fprintf(&b, "%s: %s\n", c.Name, e.wave.ClusterChange(c))
	}
	if len(clusters) == 0 {
		b.WriteString("Clean-up: no cluster's effective value changes.\n")
	}
	fmt.Fprintf(&b, "\n%s%s\n%s%s\n", trailerPlan, e.plan, trailerContent, e.content)
	return b.String(), nil
}

// matches reads a branch head: ours when it carries our trailers, samePlan
// when it was written for the same planned pull request, and same when its
// tree is exactly what this call would write (same content on BaseSHA).
func (e *ensurer) matches(head gh.Commit) (ours, samePlan, same bool) {
	var plan, content string
	for line := range strings.Lines(head.Message) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, trailerPlan); ok {
			plan = v
		}
		if v, ok := strings.CutPrefix(line, trailerContent); ok {
			content = v
		}
	}
	ours = plan != "" && content != ""
	samePlan = ours && plan == e.plan
	same = samePlan && content == e.content && slices.Equal(head.Parents, []string{e.req.BaseSHA})
	return ours, samePlan, same
}

// changes applies the planned edits at the base and keeps the files whose
// bytes change. A file whose planned old value a person changed since the
// plan is left out and returned in kept with the reason; when that leaves
// nothing to propose, the first such refusal is the error.
func changes(req Request) ([]gitops.FileResult, []KeptFile, error) {
	var files []gitops.FileResult
	var kept []KeptFile
	var stale error
	for _, fc := range req.PR.Files {
		one := req.PR
		one.Files = []rollout.FileChange{fc}
		out, err := gitops.Apply(req.Read, one)
		var ye *yamledit.Error
		switch {
		case errors.As(err, &ye) && ye.Kind == yamledit.KindStale:
			// A person changed what the plan expected to find: their
			// change stands, and the pull request names the file.
			where := ""
			if ye.Line > 0 {
				where = fmt.Sprintf("line %d: ", ye.Line)
			}
			kept = append(kept, KeptFile{Path: fc.Path, Reason: where + ye.Reason})
			if stale == nil {
				stale = fmt.Errorf("wave %d at %s: %w", req.Wave, req.BaseSHA, err)
			}
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("wave %d at %s: %w", req.Wave, req.BaseSHA, err)
		}
		if f := out[0]; f.Old == nil || f.New == nil || !bytes.Equal(f.Old, f.New) {
			files = append(files, f)
		}
	}
	if len(files) == 0 && stale != nil {
		// Nothing of the plan is left to propose: a person must decide.
		return nil, kept, stale
	}
	return files, kept, nil
}

// contentHash fingerprints the files a commit writes.
func contentHash(files []gitops.FileResult) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%t\x00%d\x00", f.Path, f.New == nil, len(f.New))
		h.Write(f.New)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// planHash fingerprints a planned pull request, leaving out the local
// directory its repository was read from.
func planHash(pr rollout.PullRequest) string {
	pr.Repo = ""
	b, err := json.Marshal(pr)
	if err != nil {
		panic(err) // plain strings, bools and slices always encode
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// reviewers splits owners into the logins and team slugs GitHub accepts on a
// pull request of org, and the ones skipped with the reason.
func reviewers(org string, o Owners) (users, teams, skipped []string) {
	for _, t := range o.Teams {
		teamOrg, slug, ok := strings.Cut(t, "/")
		switch {
		case !ok || teamOrg == "" || slug == "":
			skipped = append(skipped, fmt.Sprintf("team %q: want org/slug", t))
		case !strings.EqualFold(teamOrg, org):
			skipped = append(skipped, fmt.Sprintf("team %s: not in %s, the repository's organisation", t, org))
		case !slices.Contains(teams, slug):
			teams = append(teams, slug)
		}
	}
	for _, u := range o.Users {
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	// GitHub asks at most maxReviewers at once: teams first, each asks
	// many people, then users while there is room.
	over := func(kind string, names []string) {
		for _, n := range names {
			skipped = append(skipped, fmt.Sprintf("%s %s: GitHub asks at most %d reviewers at once; an owner not asked may still approve", kind, n, maxReviewers))
		}
	}
	if len(teams) > maxReviewers {
		over("team", teams[maxReviewers:])
		teams = teams[:maxReviewers]
	}
	if room := maxReviewers - len(teams); len(users) > room {
		over("user", users[room:])
		users = users[:room]
	}
	return users, teams, skipped
}

// reviewRequest asks one user or team for a review.
type reviewRequest struct {
	name         string // "user alice", "team sre"
	users, teams []string
}

// reviewRequests makes a request of each of names, users or teams.
func reviewRequests(names []string, teams bool) []reviewRequest {
	out := make([]reviewRequest, 0, len(names))
	for _, n := range names {
		if teams {
			out = append(out, reviewRequest{name: "team " + n, teams: []string{n}})
		} else {
			out = append(out, reviewRequest{name: "user " + n, users: []string{n}})
		}
	}
	return out
}

// maxReviewers is the most users and teams GitHub asks to review in one
// request.
const maxReviewers = 15

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// wave checks the request's campaign and wave and returns them.
func (r Request) wave() (string, *rollout.Wave, error) {
	if r.Plan == nil {
		return "", nil, errors.New("pull request request: plan is required")
	}
	name := r.Plan.Campaign
	if r.Campaign != nil && r.Campaign.Metadata.Name != name {
		return "", nil, fmt.Errorf("campaign %q does not match the plan of %q", r.Campaign.Metadata.Name, name)
	}
	if err := validComponent(name); err != nil {
		return "", nil, fmt.Errorf("campaign name cannot be a branch name part: %w", err)
	}
	if r.Wave < 1 || r.Wave > len(r.Plan.Waves) {
		return "", nil, fmt.Errorf("campaign %s has waves 1 to %d, not %d", name, len(r.Plan.Waves), r.Wave)
	}
	if !r.PR.Admin {
		if err := validComponent(r.PR.Tenant); err != nil {
			return "", nil, fmt.Errorf("wave %d: tenant name cannot be a branch name part: %w", r.Wave, err)
		}
	}
	w := &r.Plan.Waves[r.Wave-1]
	return name, w, nil
}

// clusters returns the wave's steps of the requested clusters, in plan
// order; with none requested, every cluster of the tenant in the wave (all
// of them for an admin pull request).
func (r Request) clusters(w *rollout.Wave) ([]rollout.WaveCluster, error) {
	var out []rollout.WaveCluster
	for _, c := range w.Clusters {
		if len(r.Clusters) == 0 && (r.PR.Admin || c.Tenant == r.PR.Tenant) || slices.Contains(r.Clusters, c.Name) {
			out = append(out, c)
		}
	}
	for _, name := range r.Clusters {
		i := slices.IndexFunc(out, func(c rollout.WaveCluster) bool { return c.Name == name })
		switch {
		case i < 0:
			return nil, fmt.Errorf("cluster %s is not in wave %d", name, r.Wave)
		case !r.PR.Admin && out[i].Tenant != r.PR.Tenant:
			return nil, fmt.Errorf("cluster %s of wave %d belongs to %s, not %s", name, r.Wave, out[i].Tenant, r.PR.Tenant)
		}
	}
	return out, nil
}

// checkOwnership refuses a tenant's pull request touching a file the layout
// does not give that tenant.
func (r Request) checkOwnership() error {
	if r.Owns == nil {
		if r.PR.Admin {
			return nil
		}
		return fmt.Errorf("wave %d: no rule says which files tenant %s owns: refusing to open its pull request", r.Wave, r.PR.Tenant)
	}
	for _, f := range r.PR.Files {
		if !r.Owns(f.Path) {
			return fmt.Errorf("wave %d: the pull request for %s changes %s, which the layout does not give to %s: refusing it",
				r.Wave, owner(r.PR), f.Path, owner(r.PR))
		}
	}
	return nil
}

func (r Request) attempt() int { return max(r.Attempt, 1) }

func (r Request) labels(name string) []string {
	if r.Labels != nil {
		return r.Labels
	}
	return []string{"fleetbot", "campaign:" + name, fmt.Sprintf("wave:%d", r.Wave)}
}

// owner names who a pull request is for, in titles and messages.
func owner(pr rollout.PullRequest) string {
	if pr.Admin {
		return "fleet admins"
	}
	return pr.Tenant
}

// tenantSegment is the tenant's part of the branch name.
func tenantSegment(pr rollout.PullRequest) string {
	if pr.Admin {
		return AdminTenant
	}
	return pr.Tenant
}

// counter counts the calls Revert makes to GitHub; ensureCounter adds the
// one call only Ensure makes. It implements every method itself, so a call
// added to RevertClient cannot go uncounted.
type counter struct {
	api RevertClient
	n   int
}

var (
	_ RevertClient = (*counter)(nil)
	_ EnsureClient = ensureCounter{}
)

func (c *counter) PullRequests(ctx context.Context, owner, repo string, f gh.PullRequestFilter) ([]gh.PullRequest, error) {
	c.n++
	return c.api.PullRequests(ctx, owner, repo, f)
}

func (c *counter) Ref(ctx context.Context, owner, repo, branch string) (string, error) {
	c.n++
	return c.api.Ref(ctx, owner, repo, branch)
}

func (c *counter) CreateRef(ctx context.Context, owner, repo, branch, sha string) error {
	c.n++
	return c.api.CreateRef(ctx, owner, repo, branch, sha)
}

func (c *counter) UpdateRef(ctx context.Context, owner, repo, branch, sha string, force bool) error {
	c.n++
	return c.api.UpdateRef(ctx, owner, repo, branch, sha, force)
}

func (c *counter) Commit(ctx context.Context, owner, repo, sha string) (gh.Commit, error) {
	c.n++
	return c.api.Commit(ctx, owner, repo, sha)
}

func (c *counter) CreateBlob(ctx context.Context, owner, repo string, content []byte) (string, error) {
	c.n++
	return c.api.CreateBlob(ctx, owner, repo, content)
}

func (c *counter) CreateTree(ctx context.Context, owner, repo, baseTree string, entries []gh.TreeEntry) (string, error) {
	c.n++
	return c.api.CreateTree(ctx, owner, repo, baseTree, entries)
}

func (c *counter) CreateCommit(ctx context.Context, owner, repo string, nc gh.NewCommit) (gh.Commit, error) {
	c.n++
	return c.api.CreateCommit(ctx, owner, repo, nc)
}

func (c *counter) CommitOnNewBranch(ctx context.Context, owner, repo, repoID, branch, base, message string, files []gh.FileChange) (gh.BranchCommit, error) {
	c.n++
	return c.api.CommitOnNewBranch(ctx, owner, repo, repoID, branch, base, message, files)
}

func (c *counter) CreatePullRequest(ctx context.Context, owner, repo string, p gh.NewPullRequest) (gh.PullRequest, error) {
	c.n++
	return c.api.CreatePullRequest(ctx, owner, repo, p)
}

func (c *counter) RequestReviewers(ctx context.Context, owner, repo string, number int, users, teams []string) error {
	c.n++
	return c.api.RequestReviewers(ctx, owner, repo, number, users, teams)
}

func (c *counter) AddLabels(ctx context.Context, owner, repo string, number int, labels []string) error {
	c.n++
	return c.api.AddLabels(ctx, owner, repo, number, labels)
}

// ensureCounter is counter with the pull request read and edit of Ensure.
type ensureCounter struct {
	*counter
	get interface {
		PullRequestReader
		PullRequestEditor
	}
}

func (c ensureCounter) EditPullRequest(ctx context.Context, owner, repo string, number int, e gh.PullRequestEdit) (gh.PullRequest, error) {
	c.n++
	return c.get.EditPullRequest(ctx, owner, repo, number, e)
}

func (c ensureCounter) PullRequest(ctx context.Context, owner, repo string, number int) (gh.PullRequest, error) {
	c.n++
	return c.get.PullRequest(ctx, owner, repo, number)
}
