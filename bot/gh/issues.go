package gh

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v88/github"
)

// AddLabels puts labels on an issue or pull request. It sends the object form
// {"labels": [...]} GitHub recommends (go-github sends a bare array); no
// labels sends nothing.
// https://docs.github.com/rest/issues/labels#add-labels-to-an-issue
func (c *Client) AddLabels(ctx context.Context, owner, repo string, number int, labels []string) error {
	if len(labels) == 0 {
		return nil
	}
	op := "add labels to " + issuePath(owner, repo, number)
	req, err := c.gh.NewRequest(ctx, "POST", fmt.Sprintf("repos/%s/%s/issues/%d/labels", esc(owner), esc(repo), number),
		struct {
			Labels []string `json:"labels"`
		}{labels})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err = c.gh.Do(req, nil)
	return mapError(op, err)
}

// Comments lists an issue's or pull request's comments, oldest first, every
// page.
// https://docs.github.com/rest/issues/comments#list-issue-comments
func (c *Client) Comments(ctx context.Context, owner, repo string, number int) ([]Comment, error) {
	list, err := collect("list comments of "+issuePath(owner, repo, number), func(o github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.ListComments(ctx, owner, repo, number, &github.IssueListCommentsOptions{ListOptions: o})
	})
	if err != nil {
		return nil, err
	}
	return convert(list, comment), nil
}

// RepoComments lists the comments on a repository's issues and pull
// requests created or edited at or after since, oldest first, every page.
// https://docs.github.com/rest/issues/comments#list-issue-comments-for-a-repository
func (c *Client) RepoComments(ctx context.Context, owner, repo string, since time.Time) ([]Comment, error) {
	sort, dir := "created", "asc"
	list, err := collect("list comments in "+repoPath(owner, repo), func(o github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.ListComments(ctx, owner, repo, 0, &github.IssueListCommentsOptions{Sort: &sort, Direction: &dir, Since: &since, ListOptions: o})
	})
	if err != nil {
		return nil, err
	}
	return convert(list, comment), nil
}

func comment(c *github.IssueComment) Comment {
	out := Comment{ID: c.GetID(), User: c.GetUser().GetLogin(), Body: c.GetBody(), Created: c.GetCreatedAt().Time, Updated: c.GetUpdatedAt().Time}
	// .../issues/{number}; a pull request's comment is at .../pull/{number}#...
	if u := c.GetIssueURL(); u != "" {
		out.Number, _ = strconv.Atoi(u[strings.LastIndexByte(u, '/')+1:])
	}
	out.PullRequest = strings.Contains(c.GetHTMLURL(), "/pull/")
	return out
}

// CreateComment comments on an issue or pull request.
// https://docs.github.com/rest/issues/comments#create-an-issue-comment
func (c *Client) CreateComment(ctx context.Context, owner, repo string, number int, body string) (Comment, error) {
	cm, _, err := c.gh.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, mapError("comment on "+issuePath(owner, repo, number), err)
	}
	return comment(cm), nil
}

// EditComment replaces a comment's body.
// https://docs.github.com/rest/issues/comments#update-an-issue-comment
func (c *Client) EditComment(ctx context.Context, owner, repo string, id int64, body string) (Comment, error) {
	cm, _, err := c.gh.Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, mapError(fmt.Sprintf("edit comment %d in %s", id, repoPath(owner, repo)), err)
	}
	return comment(cm), nil
}

// Issues lists a repository's issues matching f, every page, oldest first.
// GitHub lists pull requests among issues; their PullRequest is true.
// https://docs.github.com/rest/issues/issues#list-repository-issues
func (c *Client) Issues(ctx context.Context, owner, repo string, f IssueFilter) ([]Issue, error) {
	list, err := collect("list issues in "+repoPath(owner, repo), func(o github.ListOptions) ([]*github.Issue, *github.Response, error) {
		return c.gh.Issues.ListByRepo(ctx, owner, repo, &github.IssueListByRepoOptions{
			State: f.State, Sort: "created", Direction: "asc", ListOptions: o,
		})
	})
	if err != nil {
		return nil, err
	}
	return convert(list, issue), nil
}

// Issue returns one issue (or pull request, read as an issue).
// https://docs.github.com/rest/issues/issues#get-an-issue
func (c *Client) Issue(ctx context.Context, owner, repo string, number int) (Issue, error) {
	is, _, err := c.gh.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return Issue{}, mapError("get issue "+issuePath(owner, repo, number), err)
	}
	return issue(is), nil
}

// CreateIssue opens an issue.
// https://docs.github.com/rest/issues/issues#create-an-issue
func (c *Client) CreateIssue(ctx context.Context, owner, repo string, n NewIssue) (Issue, error) {
	in := &github.IssueRequest{Title: &n.Title, Body: optional(n.Body)}
	if len(n.Labels) > 0 {
		in.Labels = &n.Labels
	}
	is, _, err := c.gh.Issues.Create(ctx, owner, repo, in)
	if err != nil {
		return Issue{}, mapError(fmt.Sprintf("create issue %q in %s", n.Title, repoPath(owner, repo)), err)
	}
	return issue(is), nil
}

// EditIssue changes the fields of e that are set: the title, the body, the
// state, and with a state the reason for it.
// https://docs.github.com/rest/issues/issues#update-an-issue
func (c *Client) EditIssue(ctx context.Context, owner, repo string, number int, e IssueEdit) (Issue, error) {
	is, _, err := c.gh.Issues.Edit(ctx, owner, repo, number, &github.IssueRequest{Title: e.Title, Body: e.Body, State: e.State, StateReason: e.StateReason})
	if err != nil {
		return Issue{}, mapError("edit issue "+issuePath(owner, repo, number), err)
	}
	return issue(is), nil
}

func issue(is *github.Issue) Issue {
	return Issue{
		Number:      is.GetNumber(),
		State:       is.GetState(),
		StateReason: is.GetStateReason(),
		Title:       is.GetTitle(),
		Body:        is.GetBody(),
		User:        is.GetUser().GetLogin(),
		Labels:      convert(is.Labels, func(l *github.Label) string { return l.GetName() }),
		PullRequest: is.IsPullRequest(),
		HTMLURL:     is.GetHTMLURL(),
	}
}
