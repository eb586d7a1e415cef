package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v88/github"
)

// TeamMember reports whether user is an active member of org/team; a pending
// invitation is not membership, and GitHub's 404 means no.
// https://docs.github.com/rest/teams/members#get-team-membership-for-a-user
func (c *Client) TeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, _, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
	if err != nil {
		// Only GitHub's answer to this request means "not a member"; a 404
		// minting the installation token does not.
		var resp *github.ErrorResponse
		if errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, mapError(fmt.Sprintf("get membership of %s in %s/%s", user, org, team), err)
	}
	return m.GetState() == "active", nil
}

// AddReaction reacts to an issue comment. GitHub answers 200 when the same
// reaction is already there, so reacting twice is harmless.
// https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment
func (c *Client) AddReaction(ctx context.Context, owner, repo string, commentID int64, content string) error {
	_, _, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, commentID, content)
	return mapError(fmt.Sprintf("react %q to comment %d in %s", content, commentID, repoPath(owner, repo)), err)
}
