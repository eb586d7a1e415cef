package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
)

// PullRequests lists the pull requests matching f, every page.
// https://docs.github.com/rest/pulls/pulls#list-pull-requests
func (c *Client) PullRequests(ctx context.Context, owner, repo string, f PullRequestFilter) ([]PullRequest, error) {
	list, err := collect("list pull requests in "+repoPath(owner, repo), func(o github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
		return c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: f.State, Head: f.Head, Base: f.Base, ListOptions: o})
	})
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
		return PullRequest{}, mapError("get pull request "+issuePath(owner, repo, number), err, errorMapping{})
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
		BaseRef:        p.GetBase().GetRef(),
		BaseSHA:        p.GetBase().GetSHA(),
		Labels:         convert(p.Labels, func(l *github.Label) string { return l.GetName() }),
		User:           p.GetUser().GetLogin(),
		HTMLURL:        p.GetHTMLURL(),
		CreatedAt:      p.GetCreatedAt().Time,
		MergedAt:       p.GetMergedAt().Time,
		ClosedAt:       p.GetClosedAt().Time,
	}
}

// PullRequestFiles lists the paths a pull request changes, every page.
// https://docs.github.com/rest/pulls/pulls#list-pull-requests-files
func (c *Client) PullRequestFiles(ctx context.Context, owner, repo string, number int) ([]string, error) {
	files, err := collect("list files of "+issuePath(owner, repo, number), func(o github.ListOptions) ([]*github.CommitFile, *github.Response, error) {
		return c.gh.PullRequests.ListFiles(ctx, owner, repo, number, &o)
	})
	if err != nil {
		return nil, err
	}
	return convert(files, func(f *github.CommitFile) string { return f.GetFilename() }), nil
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
		return PullRequest{}, mapError(fmt.Sprintf("create pull request %s into %s in %s", p.Head, p.Base, repoPath(owner, repo)), err, errorMapping{})
	}
	return pullRequest(pr), nil
}

// EditPullRequest changes the fields of e that are set.
// https://docs.github.com/rest/pulls/pulls#update-a-pull-request
func (c *Client) EditPullRequest(ctx context.Context, owner, repo string, number int, e PullRequestEdit) (PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Edit(ctx, owner, repo, number, &github.PullRequest{Title: e.Title, Body: e.Body, State: e.State})
	if err != nil {
		return PullRequest{}, mapError("edit pull request "+issuePath(owner, repo, number), err, errorMapping{})
	}
	return pullRequest(pr), nil
}

// MergePullRequest merges a pull request. GitHub answers 405 when it cannot
// be merged and 409 when m.SHA is no longer the head; both match ErrConflict.
// https://docs.github.com/rest/pulls/pulls#merge-a-pull-request
func (c *Client) MergePullRequest(ctx context.Context, owner, repo string, number int, m MergeOptions) (string, error) {
	res, _, err := c.gh.PullRequests.Merge(ctx, owner, repo, number, m.Message, &github.PullRequestOptions{
		CommitTitle: m.Title,
		SHA:         m.SHA,
		MergeMethod: m.Method,
	})
	if err != nil {
		return "", mapError("merge pull request "+issuePath(owner, repo, number), err, errorMapping{merge: true})
	}
	return res.GetSHA(), nil
}

// RequestReviewers asks users and teams to review. Asking nobody sends
// nothing.
// https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request
func (c *Client) RequestReviewers(ctx context.Context, owner, repo string, number int, users, teams []string) error {
	if len(users) == 0 && len(teams) == 0 {
		return nil
	}
	_, _, err := c.gh.PullRequests.RequestReviewers(ctx, owner, repo, number, github.ReviewersRequest{Reviewers: users, TeamReviewers: teams})
	return mapError("request reviewers on "+issuePath(owner, repo, number), err, errorMapping{})
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
	return convert(list, review), nil
}

func review(r *github.PullRequestReview) Review {
	return Review{ID: r.GetID(), User: r.GetUser().GetLogin(), State: r.GetState(), CommitID: r.GetCommitID(), Body: r.GetBody()}
}

// CreateReview submits a review.
// https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request
func (c *Client) CreateReview(ctx context.Context, owner, repo string, number int, event, body string) (Review, error) {
	r, _, err := c.gh.PullRequests.CreateReview(ctx, owner, repo, number, &github.PullRequestReviewRequest{Event: &event, Body: optional(body)})
	if err != nil {
		return Review{}, mapError("create review on "+issuePath(owner, repo, number), err, errorMapping{})
	}
	return review(r), nil
}
