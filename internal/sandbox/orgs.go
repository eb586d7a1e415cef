package sandbox

import (
	"net/http"
	"strings"
)

func (s *Server) orgRoutes() {
	s.handle("POST /orgs/{org}/teams", accessUser, s.createTeam)
	s.handle("GET /orgs/{org}/teams/{slug}/memberships/{username}", accessUser, s.getMembership)
	s.handle("PUT /orgs/{org}/teams/{slug}/memberships/{username}", accessUser, s.putMembership)
	s.handle("PUT /repos/{owner}/{repo}/collaborators/{username}", accessUser, s.putCollaborator)
	s.handle("GET /repos/{owner}/{repo}/collaborators/{username}/permission", accessUser, s.collaboratorPermission)
}

// org returns the organization the route's {org} names, or a 404.
func (s *Server) org(c *call) (*account, error) {
	a := s.st.Accounts[c.r.PathValue("org")]
	if a == nil || a.Type != "Organization" || !c.who.canSee(a.Login) {
		return nil, errNotFound
	}
	return a, nil
}

func (s *Server) teamJSON(org string, t *team) obj {
	u := s.api("/orgs/%s/teams/%s", org, t.Slug)
	return obj{"id": t.ID, "node_id": nodeID("Team", t.ID), "url": u, "html_url": s.api("/orgs/%s/teams/%s", org, t.Slug),
		"name": t.Name, "slug": t.Slug, "description": nullable(t.Description), "privacy": t.Privacy,
		"notification_setting": "notifications_enabled", "permission": "pull",
		"members_url": u + "/members{/member}", "repositories_url": u + "/repos", "parent": nil, "type": "organization"}
}

// createTeam: POST /orgs/{org}/teams (docs: teams/teams#create-a-team).
func (s *Server) createTeam(c *call) (int, any, error) {
	a, err := s.org(c)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Privacy     string   `json:"privacy"`
		Maintainers []string `json:"maintainers"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == "" {
		return 0, nil, invalid("Team", "name", "missing_field", "")
	}
	slug := teamSlug(in.Name)
	if s.st.team(a.Login, slug) != nil {
		return 0, nil, invalid("Team", "name", "already_exists", "Name must be unique for this org")
	}
	if in.Privacy == "" {
		in.Privacy = "secret"
	}
	t := &team{ID: s.st.newID(), Name: in.Name, Slug: slug, Description: in.Description, Privacy: in.Privacy,
		CreatedAt: s.now(), Members: map[string]string{}}
	for _, m := range in.Maintainers {
		t.Members[m] = "maintainer"
	}
	s.st.Teams[a.Login] = append(s.st.Teams[a.Login], t)
	o := s.teamJSON(a.Login, t)
	org := s.userJSON(a.Login)
	o["created_at"], o["updated_at"] = ts(t.CreatedAt), ts(t.CreatedAt)
	o["members_count"], o["repos_count"] = len(t.Members), 0
	o["organization"] = obj{"login": a.Login, "id": a.ID, "node_id": org["node_id"], "url": s.api("/orgs/%s", a.Login),
		"repos_url": s.api("/orgs/%s/repos", a.Login), "events_url": s.api("/orgs/%s/events", a.Login),
		"hooks_url": s.api("/orgs/%s/hooks", a.Login), "issues_url": s.api("/orgs/%s/issues", a.Login),
		"members_url": s.api("/orgs/%s/members{/member}", a.Login), "public_members_url": s.api("/orgs/%s/public_members{/member}", a.Login),
		"avatar_url": org["avatar_url"], "description": nil, "html_url": org["html_url"],
		"has_organization_projects": false, "has_repository_projects": false, "public_repos": len(s.ownedRepos(a.Login)),
		"public_gists": 0, "followers": 0, "following": 0, "type": "Organization",
		"created_at": ts(a.CreatedAt), "updated_at": ts(a.CreatedAt), "archived_at": nil}
	return http.StatusCreated, o, nil
}

// teamSlug is the slug GitHub derives from a team name.
func teamSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (s *Server) membershipTeam(c *call) (*account, *team, error) {
	a, err := s.org(c)
	if err != nil {
		return nil, nil, err
	}
	t := s.st.team(a.Login, c.r.PathValue("slug"))
	if t == nil {
		return nil, nil, errNotFound
	}
	return a, t, nil
}

func (s *Server) membershipJSON(org string, t *team, user string) obj {
	return obj{"url": s.api("/orgs/%s/teams/%s/memberships/%s", org, t.Slug, user), "role": t.Members[user], "state": "active"}
}

// getMembership: GET /orgs/{org}/teams/{team_slug}/memberships/{username} (docs:
// teams/members#get-team-membership-for-a-user).
func (s *Server) getMembership(c *call) (int, any, error) {
	a, t, err := s.membershipTeam(c)
	if err != nil {
		return 0, nil, err
	}
	user := c.r.PathValue("username")
	if t.Members[user] == "" {
		return 0, nil, errNotFound
	}
	return http.StatusOK, s.membershipJSON(a.Login, t, user), nil
}

// putMembership: PUT /orgs/{org}/teams/{team_slug}/memberships/{username} (docs:
// teams/members#add-or-update-team-membership-for-a-user). Memberships are
// active at once: the sandbox has no invitations.
func (s *Server) putMembership(c *call) (int, any, error) {
	a, t, err := s.membershipTeam(c)
	if err != nil {
		return 0, nil, err
	}
	user := c.r.PathValue("username")
	if !validLogin(user) {
		return 0, nil, errNotFound
	}
	var in struct {
		Role string `json:"role"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	switch in.Role {
	case "":
		in.Role = "member"
	case "member", "maintainer":
	default:
		return 0, nil, invalid("TeamMember", "role", "invalid", "role must be member or maintainer")
	}
	s.st.account(user, s.now())
	t.Members[user] = in.Role
	return http.StatusOK, s.membershipJSON(a.Login, t, user), nil
}

// permissionRoles maps the permission given to PUT collaborators to the
// role it grants.
var permissionRoles = map[string]string{"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}

// putCollaborator: PUT /repos/{owner}/{repo}/collaborators/{username} (docs:
// collaborators/collaborators#add-a-repository-collaborator). The sandbox
// has no invitations: the user is a collaborator at once (204).
func (s *Server) putCollaborator(c *call) (int, any, error) {
	user := c.r.PathValue("username")
	if !validLogin(user) {
		return 0, nil, errNotFound
	}
	var in struct {
		Permission string `json:"permission"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Permission == "" {
		in.Permission = "push"
	}
	role, ok := permissionRoles[in.Permission]
	if !ok {
		return 0, nil, invalid("Repository", "permission", "invalid", "permission must be pull, triage, push, maintain or admin")
	}
	s.st.account(user, s.now())
	c.rs.Collaborators[user] = role
	return http.StatusNoContent, nil, nil
}

// role is login's role on rs: the owner and the site admin are admins.
func (s *Server) role(rs *repoState, login string) string {
	if login == rs.Owner || login == AdminLogin {
		return "admin"
	}
	return rs.Collaborators[login]
}

// collaboratorPermission: GET /repos/{owner}/{repo}/collaborators/{username}/permission
// (docs: collaborators/collaborators#get-repository-permissions-for-a-user).
func (s *Server) collaboratorPermission(c *call) (int, any, error) {
	user := c.r.PathValue("username")
	if !validLogin(user) && user != s.botLogin() {
		return 0, nil, errNotFound
	}
	role := s.role(c.rs, user)
	permission := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	if role == "" {
		role, permission = "none", "none"
	}
	u := s.userJSON(user)
	u["role_name"] = role
	u["permissions"] = obj{"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
		"push": permission == "admin" || permission == "write", "triage": role != "none" && role != "read",
		"pull": role != "none"}
	return http.StatusOK, obj{"permission": permission, "role_name": role, "user": u}, nil
}
