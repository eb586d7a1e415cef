package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
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
	req, err := c.gh.NewRequest("POST", fmt.Sprintf("repos/%s/%s/issues/%d/labels", esc(owner), esc(repo), number),
		struct {
			Labels []string `json:"labels"`
		}{labels})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err = c.gh.Do(ctx, req, nil)
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

func comment(c *github.IssueComment) Comment {
	return Comment{ID: c.GetID(), User: c.GetUser().GetLogin(), Body: c.GetBody()}
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
