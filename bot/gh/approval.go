package gh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-github/v88/github"
)

// Review is a pull request review. State is APPROVED, CHANGES_REQUESTED,
// COMMENTED, DISMISSED or PENDING; CommitID is the head it reviewed.
type Review struct {
	ID          int64
	User        string
	State       string
	CommitID    string
	Body        string
	SubmittedAt time.Time
}

// MergeOptions says how to merge a pull request: the method (merge, squash
// or rebase), and the head SHA the merge must be of (GitHub answers 409 when
// the head moved).
type MergeOptions struct {
	Method string
	SHA    string
}

// Reviews lists a pull request's reviews, oldest first, every page.
// https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request
func (c *Client) Reviews(ctx context.Context, owner, repo string, number int) ([]Review, error) {
	list, err := collect("list reviews of "+issuePath(owner, repo, number), func(o github.ListOptions) ([]*github.PullRequestReview, *github.Response, error) {
		return c.gh.PullRequests.ListReviews(ctx, owner, repo, number, &o)
	})
	if err != nil {
		return nil, err
	}
	return convert(list, func(r *github.PullRequestReview) Review {
		return Review{ID: r.GetID(), User: r.GetUser().GetLogin(), State: r.GetState(), CommitID: r.GetCommitID(), Body: r.GetBody(), SubmittedAt: r.GetSubmittedAt().Time}
	}), nil
}

// CreateStatus posts a commit status.
// https://docs.github.com/rest/commits/statuses#create-a-commit-status
func (c *Client) CreateStatus(ctx context.Context, owner, repo, sha string, s Status) (Status, error) {
	in := github.RepoStatus{
		State:       &s.State,
		Context:     optional(s.Context),
		Description: optional(s.Description),
		TargetURL:   optional(s.TargetURL),
	}
	out, _, err := c.gh.Repositories.CreateStatus(ctx, owner, repo, sha, in)
	if err != nil {
		return Status{}, mapError(fmt.Sprintf("create status %q on %s in %s", s.Context, sha, repoPath(owner, repo)), err)
	}
	return status(out), nil
}

// MergePullRequest merges a pull request and returns the merge commit's
// SHA. A head that moved since m.SHA is an error matching ErrConflict (409);
// a pull request GitHub will not merge (unmet required checks, a method the
// repository does not allow) is an *Error with Status 405.
// https://docs.github.com/rest/pulls/pulls#merge-a-pull-request
func (c *Client) MergePullRequest(ctx context.Context, owner, repo string, number int, m MergeOptions) (string, error) {
	res, _, err := c.gh.PullRequests.Merge(ctx, owner, repo, number, "", &github.PullRequestOptions{SHA: m.SHA, MergeMethod: m.Method})
	if err != nil {
		return "", mapError("merge pull request "+issuePath(owner, repo, number), err)
	}
	return res.GetSHA(), nil
}

// RequiredStatusChecks lists the checks branch protection requires on
// branch before a merge (its contexts, and its checks by name); none when
// the branch is not protected or requires none.
// https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection
func (c *Client) RequiredStatusChecks(ctx context.Context, owner, repo, branch string) ([]string, error) {
	rc, _, err := c.gh.Repositories.GetRequiredStatusChecks(ctx, owner, repo, branch)
	if errors.Is(err, github.ErrBranchNotProtected) {
		return nil, nil // go-github's reading of GitHub's 404 "Branch not protected"
	}
	if err != nil {
		return nil, mapError(fmt.Sprintf("get required status checks of %s in %s", branch, repoPath(owner, repo)), err)
	}
	var out []string
	for _, ctx := range rc.GetContexts() {
		if !slices.Contains(out, ctx) {
			out = append(out, ctx)
		}
	}
	if rc.Checks != nil {
		for _, ch := range *rc.Checks {
			if !slices.Contains(out, ch.Context) {
				out = append(out, ch.Context)
			}
		}
	}
	return out, nil
}
