package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v88/github"
)

// PullRequests lists the pull requests matching f, every page.
// https://docs.github.com/rest/pulls/pulls#list-pull-requests
func (c *Client) PullRequests(ctx context.Context, owner, repo string, f PullRequestFilter) ([]PullRequest, error) {
	opts := github.PullRequestListOptions{State: f.State, Head: f.Head, Base: f.Base}
	older := func(*github.PullRequest) bool { return false }
	if !f.UpdatedSince.IsZero() {
		opts.Sort, opts.Direction = "updated", "desc"
		older = func(p *github.PullRequest) bool { return p.GetUpdatedAt().Before(f.UpdatedSince) }
	}
	list, err := collectUntil("list pull requests in "+repoPath(owner, repo), func(o github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
		opts.ListOptions = o
		return c.gh.PullRequests.List(ctx, owner, repo, &opts)
	}, older)
	if err != nil {
		return nil, err
	}
	return convert(list, pullRequest), nil
}

// PullRequest returns one pull request.
// https://docs.github.com/rest/pulls/pulls#get-a-pull-request
func (c *Client) PullRequest(ctx context.Context, owner, repo string, number int) (PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return PullRequest{}, mapError("get pull request "+issuePath(owner, repo, number), err)
	}
	return pullRequest(pr), nil
}

func pullRequest(p *github.PullRequest) PullRequest {
	return PullRequest{
		Number: p.GetNumber(),
		State:  p.GetState(),
		Title:  p.GetTitle(),
		Body:   p.GetBody(),
		// GitHub's pull request lists leave out "merged"; merged_at is
		// set in both forms.
		Merged:         p.GetMerged() || p.MergedAt != nil,
		MergeCommitSHA: p.GetMergeCommitSHA(),
		Mergeable:      p.Mergeable,
		MergeableState: p.GetMergeableState(),
		HeadRef:        p.GetHead().GetRef(),
		HeadSHA:        p.GetHead().GetSHA(),
		HeadRepo:       p.GetHead().GetRepo().GetFullName(),
		BaseRef:        p.GetBase().GetRef(),
		BaseSHA:        p.GetBase().GetSHA(),
		Labels:         convert(p.Labels, func(l *github.Label) string { return l.GetName() }),
		User:           p.GetUser().GetLogin(),
		MergedBy:       p.GetMergedBy().GetLogin(),
		HTMLURL:        p.GetHTMLURL(),
		CreatedAt:      p.GetCreatedAt().Time,
		UpdatedAt:      p.GetUpdatedAt().Time,
		MergedAt:       p.GetMergedAt().Time,
		ClosedAt:       p.GetClosedAt().Time,
	}
}

// CreatePullRequest opens a pull request; one already open for the same head
// gives an error matching ErrInvalid.
// https://docs.github.com/rest/pulls/pulls#create-a-pull-request
func (c *Client) CreatePullRequest(ctx context.Context, owner, repo string, p NewPullRequest) (PullRequest, error) {
	in := &github.NewPullRequest{Title: &p.Title, Head: &p.Head, Base: &p.Base, Body: optional(p.Body)}
	if p.Draft {
		in.Draft = &p.Draft
	}
	pr, _, err := c.gh.PullRequests.Create(ctx, owner, repo, in)
	if err != nil {
		return PullRequest{}, mapError(fmt.Sprintf("create pull request %s into %s in %s", p.Head, p.Base, repoPath(owner, repo)), err)
	}
	return pullRequest(pr), nil
}

// EditPullRequest changes the fields of e that are set.
// https://docs.github.com/rest/pulls/pulls#update-a-pull-request
func (c *Client) EditPullRequest(ctx context.Context, owner, repo string, number int, e PullRequestEdit) (PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Edit(ctx, owner, repo, number, &github.PullRequest{Title: e.Title, Body: e.Body, State: e.State})
	if err != nil {
		return PullRequest{}, mapError("edit pull request "+issuePath(owner, repo, number), err)
	}
	return pullRequest(pr), nil
}

// RequestReviewers asks users and teams to review. Asking nobody sends
// nothing.
// https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request
func (c *Client) RequestReviewers(ctx context.Context, owner, repo string, number int, users, teams []string) error {
	if len(users) == 0 && len(teams) == 0 {
		return nil
	}
	_, _, err := c.gh.PullRequests.RequestReviewers(ctx, owner, repo, number, github.ReviewersRequest{Reviewers: users, TeamReviewers: teams})
	return mapError("request reviewers on "+issuePath(owner, repo, number), err)
}

// CommitPullRequests lists the pull requests a commit belongs to: the one
// merged as it, or those whose head holds it. Every page.
// https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit
func (c *Client) CommitPullRequests(ctx context.Context, owner, repo, sha string) ([]PullRequest, error) {
	list, err := collect(fmt.Sprintf("list pull requests of %s in %s", sha, repoPath(owner, repo)), func(o github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
		return c.gh.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, &o)
	})
	if err != nil {
		return nil, err
	}
	return convert(list, pullRequest), nil
}

// PullRequestFiles lists the files a pull request changes, every page.
// https://docs.github.com/rest/pulls/pulls#list-pull-requests-files
func (c *Client) PullRequestFiles(ctx context.Context, owner, repo string, number int) ([]ChangedFile, error) {
	list, err := collect("list files of "+issuePath(owner, repo, number), func(o github.ListOptions) ([]*github.CommitFile, *github.Response, error) {
		return c.gh.PullRequests.ListFiles(ctx, owner, repo, number, &o)
	})
	if err != nil {
		return nil, err
	}
	return convert(list, func(f *github.CommitFile) ChangedFile {
		return ChangedFile{Filename: f.GetFilename(), Status: f.GetStatus()}
	}), nil
}
