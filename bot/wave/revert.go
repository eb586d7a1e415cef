package wave

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// revertPrefix starts the wave part of a revert branch. A wave branch's
// part is a bare number, so ParseBranch never reads a revert branch as one.
const revertPrefix = "revert-"

// RevertBranch is the branch of the pull request that reverts a tenant's
// pull request of a wave: "fleetbot/<campaign>/revert-<wave>/<tenant>".
func RevertBranch(campaign string, wave int, tenant string) string {
	return branchPrefix + campaign + "/" + revertPrefix + strconv.Itoa(wave) + "/" + tenant
}

// ParseRevertBranch reads a branch made by RevertBranch, with or without
// "refs/heads/"; ok is false for any other branch, wave branches included.
func ParseRevertBranch(ref string) (campaign string, wave int, tenant string, ok bool) {
	return parseBranch(ref, revertPrefix)
}

// ParseAnyBranch reads a wave branch or a revert branch, with or without
// "refs/heads/"; revert says which it is.
func ParseAnyBranch(ref string) (campaign string, wave int, tenant string, revert, ok bool) {
	if campaign, wave, tenant, ok = ParseBranch(ref); ok {
		return campaign, wave, tenant, false, true
	}
	campaign, wave, tenant, ok = ParseRevertBranch(ref)
	return campaign, wave, tenant, ok, ok
}

// KeptFile is a file a pull request leaves as it is, and why: someone
// changed it since the plan (or, for a revert, since the campaign wrote it),
// and fleetbot never overwrites a person's work.
type KeptFile struct {
	Path   string
	Reason string
}

// RevertRequest is one revert pull request to put on GitHub: the inverse of
// a tenant's merged pull request of a wave, computed on the base branch's
// head.
type RevertRequest struct {
	// Campaign names the campaign; Wave is the plan's wave index, as in the
	// reverted pull request's branch and title.
	Campaign string
	Wave     int
	// Tenant owns the reverted pull request; Reverts is its number.
	Tenant  string
	Reverts int
	// Attempt counts the revert pull requests opened for this wave and
	// tenant: more than one after a retry of a closed one (0 counts as 1).
	Attempt int
	// Clusters are the clusters the reverted pull request changed.
	Clusters []string
	// Cleanup says the reverted pull request was a label clean-up's: it
	// moved values between files and changed no cluster's value, and
	// neither does its revert.
	Cleanup bool
	// Reach are the files the revert writes that serve many clusters, with
	// the clusters each one takes back at once (rollout.FileChange.Reach).
	Reach []rollout.FileChange
	// Owner and Repo name the GitHub repository; BaseBranch and BaseSHA
	// its base branch and the head the files were read at.
	Owner, Repo, BaseBranch, BaseSHA string
	// BaseTree, when set, is BaseSHA's tree, as Request.BaseTree.
	BaseTree string
	// RepoID, when set, is the repository's GraphQL node id, as
	// Request.RepoID.
	RepoID string
	// Files are the files the revert writes (New nil deletes the file).
	Files []gitops.FileResult
	// Kept are the files left out, each with the reason; the body lists
	// them.
	Kept []KeptFile
	// Reviewers are asked to review a new pull request.
	Reviewers Owners
	// Labels go on the pull request; nil means "fleetbot",
	// "campaign:<name>" and "revert".
	Labels []string
}

// Revert makes sure the revert pull request of req exists on GitHub and
// opens it at most once per attempt: a revert pull request found on the
// branch, open or merged, is returned as it is (Reused, and Merged when
// merged), and one a person closed on this attempt or a later one returns
// ErrClosed, so asking again never makes a second one and never reopens
// one a person closed; a retry asks for the next attempt. Otherwise the
// files are committed on BaseSHA through the Git Data API, the branch
// created (or moved, when it holds a commit of ours: a closed attempt's, or
// one a crash left), the pull request opened, reviewers requested and
// labels added. With no file to write it returns ErrNoChange and calls
// nothing.
func Revert(ctx context.Context, api RevertClient, req RevertRequest) (Result, error) {
	c := &counter{api: api}
	res, err := revert(ctx, c, req)
	res.Calls = c.n
	return res, err
}

func revert(ctx context.Context, c RevertClient, req RevertRequest) (Result, error) {
	if err := req.check(); err != nil {
		return Result{}, err
	}
	branch := RevertBranch(req.Campaign, req.Wave, req.Tenant)
	res := Result{Branch: branch}
	// GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=all
	// (https://docs.github.com/rest/pulls/pulls#list-pull-requests)
	prs, err := c.PullRequests(ctx, req.Owner, req.Repo, gh.PullRequestFilter{State: "all", Head: req.Owner + ":" + branch})
	if err != nil {
		return res, fmt.Errorf("list pull requests of %s: %w", branch, err)
	}
	var closed *gh.PullRequest
	closedAttempt := 0
	for i := range prs {
		pr := &prs[i]
		if pr.HeadRef != branch {
			continue
		}
		if pr.Merged || pr.State == "open" {
			res.Number, res.HeadSHA, res.URL = pr.Number, pr.HeadSHA, pr.HTMLURL
			res.Reused, res.Merged = true, pr.Merged
			if !pr.Merged && !hasAll(pr.Labels, req.labels()) {
				// Opened by an attempt whose review request or labels
				// failed: its setup is finished now.
				res.Skipped, err = finishPR(ctx, c, req.Owner, req.Repo, pr.Number, req.Reviewers, req.labels())
				return res, err
			}
			return res, nil
		}
		if a := bodyAttempt(pr.Body); a >= closedAttempt {
			closed, closedAttempt = pr, a
		}
	}
	if closed != nil && max(req.Attempt, 1) <= closedAttempt {
		res.Number, res.HeadSHA, res.URL, res.Reused = closed.Number, closed.HeadSHA, closed.HTMLURL, true
		return res, ErrClosed
	}
	if len(req.Files) == 0 {
		return res, fmt.Errorf("revert of #%d: %w", req.Reverts, ErrNoChange)
	}
	msg := req.message()
	sha, err := newBranch(ctx, c, req.Owner, req.Repo, req.RepoID, branch, req.BaseSHA, msg, req.Files)
	if err != nil {
		return res, err
	}
	if sha == "" {
		if sha, err = revertBranch(ctx, c, req, branch, msg); err != nil {
			return res, err
		}
	}
	// POST /repos/{owner}/{repo}/pulls
	// (https://docs.github.com/rest/pulls/pulls#create-a-pull-request)
	pr, err := c.CreatePullRequest(ctx, req.Owner, req.Repo, gh.NewPullRequest{
		Title: fmt.Sprintf("fleetbot: revert %s wave %d — %s", req.Campaign, req.Wave, req.Tenant),
		Head:  branch,
		Base:  req.BaseBranch,
		Body:  RevertBody(req),
	})
	if err != nil {
		return res, fmt.Errorf("open pull request from %s: %w", branch, err)
	}
	res.Number, res.HeadSHA, res.URL, res.Opened = pr.Number, sha, pr.HTMLURL, true
	res.Skipped, err = finishPR(ctx, c, req.Owner, req.Repo, pr.Number, req.Reviewers, req.labels())
	return res, err
}

// check refuses a request that would name a branch badly or lacks a part.
func (r RevertRequest) check() error {
	if err := validComponent(r.Campaign); err != nil {
		return fmt.Errorf("revert: campaign name cannot be a branch name part: %w", err)
	}
	if err := validComponent(r.Tenant); err != nil {
		return fmt.Errorf("revert of wave %d: tenant name cannot be a branch name part: %w", r.Wave, err)
	}
	if r.Wave < 1 || r.Reverts < 1 {
		return fmt.Errorf("revert of %s wave %d for %s: the wave and the reverted pull request's number are required", r.Campaign, r.Wave, r.Tenant)
	}
	if r.Owner == "" || r.Repo == "" || r.BaseBranch == "" || r.BaseSHA == "" {
		return fmt.Errorf("revert of #%d: owner, repo, base branch and base SHA are required", r.Reverts)
	}
	return nil
}

// message is the revert commit's message; its content trailer marks the
// commit as fleetbot's.
func (r RevertRequest) message() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: revert wave %d, %s\n\n", r.Campaign, r.Wave, r.Tenant)
	fmt.Fprintf(&b, "Reverts #%d.\n", r.Reverts)
	for _, k := range r.Kept {
		fmt.Fprintf(&b, "Kept %s: %s\n", k.Path, k.Reason)
	}
	fmt.Fprintf(&b, "\n%s%s\n", trailerContent, contentHash(r.Files))
	return b.String()
}

func (r RevertRequest) labels() []string {
	if r.Labels != nil {
		return r.Labels
	}
	return []string{"fleetbot", "campaign:" + r.Campaign, "revert"}
}

// RevertBody is the description of a revert pull request: what it reverts,
// the clusters it takes back, the files it changes and the files it leaves
// as they are, with the reason.
// A body longer than GitHub takes names the first clusters of the list and
// of each shared file, and counts the others.
func RevertBody(r RevertRequest) string {
	if b := r.body(-1); len(b) <= maxBody {
		return b
	}
	return r.body(reachNames)
}

// body is RevertBody naming at most names clusters in each list, or every
// one when names is negative.
func (r RevertRequest) body(names int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reverts #%d: wave **%d** of campaign **%s** for **%s**, rolled back.\n\n", r.Reverts, r.Wave, r.Campaign, r.Tenant)
	if len(r.Clusters) > 0 {
		list := CodeList(r.Clusters)
		if names >= 0 {
			list = CodeListUpTo(r.Clusters, names)
		}
		if r.Cleanup {
			fmt.Fprintf(&b, "The clean-up moved values between files and changed no cluster's value; its revert puts the files back as they were before it, and changes no value either. Clusters whose files it touches: %s.\n\n", list)
		} else {
			fmt.Fprintf(&b, "Clusters taken back to their value before the campaign: %s.\n\n", list)
		}
	}
	if len(r.Reach) > 0 {
		if r.Cleanup {
			b.WriteString("**Shared files**, with the clusters each one serves:\n")
		} else {
			b.WriteString("**Shared files**: each one takes every cluster it serves back at once.\n")
		}
		for _, f := range r.Reach {
			line := f.DescribeReach()
			if names >= 0 {
				line = f.DescribeReachUpTo(names)
			}
			fmt.Fprintf(&b, "- %s\n", line)
		}
		b.WriteString("\n")
	}
	b.WriteString("| File | Change |\n| --- | --- |\n")
	for _, f := range r.Files {
		what := "edits undone"
		if f.New == nil {
			what = "deleted (the campaign created it)"
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", f.Path, what)
	}
	if len(r.Kept) > 0 {
		b.WriteString("\n**Left as they are**, so that nothing written since the campaign is overwritten; revert these by hand if needed:\n\n")
		for _, k := range r.Kept {
			fmt.Fprintf(&b, "- `%s`: %s\n", k.Path, strings.ReplaceAll(k.Reason, "\n", " "))
		}
	}
	who := "An owner of **" + r.Tenant + "**"
	if r.Tenant == AdminTenant {
		who = "A fleet admin"
	}
	fmt.Fprintf(&b, "\n%s approves (the `fleetbot/approval` status turns green) and merges, or fleetbot merges once approved when the campaign says `merge: auto`. "+
		"Once merged, the clusters are verified at their old values and the wave bakes; then the revert of the wave before it opens. A merge without an approval is recorded and, unless the campaign says `unapprovedMerge: record`, halts the rollback.\n\n---\n", who)
	fmt.Fprintf(&b, "<sub>Branch `%s`, attempt %d.</sub>\n", RevertBranch(r.Campaign, r.Wave, r.Tenant), max(r.Attempt, 1))
	fmt.Fprintf(&b, "<!-- fleetbot revert campaign=%s wave=%d tenant=%s reverts=%d attempt=%d -->\n", r.Campaign, r.Wave, r.Tenant, r.Reverts, max(r.Attempt, 1))
	return b.String()
}

// CodeListUpTo is CodeList of the first n names, counting the others:
// "`a`, `b` and 3 more (`/fleet status` lists them)".
func CodeListUpTo(names []string, n int) string {
	if len(names) <= n {
		return CodeList(names)
	}
	return fmt.Sprintf("%s and %d more (`/fleet status` lists them)", CodeList(names[:n]), len(names)-n)
}

// CodeList writes names as a comma-separated list of Markdown code spans.
func CodeList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}

// revertBranch points the revert branch, which is there already (or cannot
// be written in one call), at a new commit of the files and returns it; a
// branch holding a commit fleetbot did not make is left alone.
func revertBranch(ctx context.Context, c RevertClient, req RevertRequest, branch, msg string) (string, error) {
	// GET /repos/{owner}/{repo}/git/ref/heads/{branch}
	// (https://docs.github.com/rest/git/refs#get-a-reference)
	old, err := c.Ref(ctx, req.Owner, req.Repo, branch)
	exists := err == nil
	if err != nil && !errors.Is(err, gh.ErrNotFound) {
		return "", fmt.Errorf("read branch %s: %w", branch, err)
	}
	if exists {
		head, err := c.Commit(ctx, req.Owner, req.Repo, old)
		if err != nil {
			return "", fmt.Errorf("read head of %s: %w", branch, err)
		}
		if !strings.Contains(head.Message, "\n"+trailerContent) {
			return "", fmt.Errorf("%s is at %s and no pull request holds it: %w", branch, old, ErrForeignCommit)
		}
	}
	sha, err := writeCommit(ctx, c, req.Owner, req.Repo, req.BaseSHA, req.BaseTree, req.Files, msg)
	if err != nil {
		return "", err
	}
	if exists {
		// Our own commit, left by a call a crash cut short.
		// PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}, force
		// (https://docs.github.com/rest/git/refs#update-a-reference)
		err = c.UpdateRef(ctx, req.Owner, req.Repo, branch, sha, true)
	} else {
		// POST /repos/{owner}/{repo}/git/refs
		// (https://docs.github.com/rest/git/refs#create-a-reference)
		err = c.CreateRef(ctx, req.Owner, req.Repo, branch, sha)
	}
	if err != nil {
		return "", fmt.Errorf("point %s at %s: %w", branch, sha, err)
	}
	return sha, nil
}
