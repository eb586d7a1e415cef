package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"
)

// CollaboratorPermission returns a user's role on a repository. GitHub's
// "permission" field folds maintain into write and triage into read, so the
// "role_name" field is preferred when it is one of the five base roles (a
// custom role name falls back to "permission"). go-github v60 does not
// decode role_name, hence the hand-built request.
// https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user
func (c *Client) CollaboratorPermission(ctx context.Context, owner, repo, user string) (string, error) {
	op := fmt.Sprintf("get permission of %s on %s", user, repoPath(owner, repo))
	req, err := c.gh.NewRequest("GET", fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", esc(owner), esc(repo), esc(user)), nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	var level struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	if _, err := c.gh.Do(ctx, req, &level); err != nil {
		return "", mapError(op, err, errorMapping{})
	}
	switch level.RoleName {
	case "admin", "maintain", "write", "triage", "read":
		return level.RoleName, nil
	}
	if level.Permission == "" {
		return "", fmt.Errorf("%s: answer names no permission", op)
	}
	return level.Permission, nil
}

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
		return false, mapError(fmt.Sprintf("get membership of %s in %s/%s", user, org, team), err, errorMapping{})
	}
	return m.GetState() == "active", nil
}

// InstallationRepositories lists the repositories this installation may use,
// every page.
// https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation
func (c *Client) InstallationRepositories(ctx context.Context) ([]Repository, error) {
	list, err := collect("list installation repositories", func(o github.ListOptions) ([]*github.Repository, *github.Response, error) {
		res, resp, err := c.gh.Apps.ListRepos(ctx, &o)
		if err != nil {
			return nil, resp, err
		}
		return res.Repositories, resp, nil
	})
	if err != nil {
		return nil, err
	}
	return convert(list, repository), nil
}
