package sandbox

import (
	"net/http"
	"sort"
)

func (s *Server) appRoutes() {
	s.handle("GET /app", accessApp, s.getApp)
	s.handle("GET /app/installations", accessApp, s.listInstallations)
	s.handle("GET /app/installations/{id}", accessApp, s.getInstallation)
	s.handle("POST /app/installations/{id}/access_tokens", accessApp, s.createToken)
	s.handle("GET /repos/{owner}/{repo}/installation", accessApp, s.repoInstallation)
	s.handle("GET /installation/repositories", accessUser, s.installationRepos)
	s.handle("GET /user", accessUser, s.getUser)
	s.handle(rateLimitRoute, accessAny, s.rateLimit)
}

// getApp: GET /app (docs: apps/apps#get-the-authenticated-app).
func (s *Server) getApp(*call) (int, any, error) {
	o := s.appJSON()
	o["installations_count"] = len(s.st.Installations)
	return http.StatusOK, o, nil
}

func (s *Server) installationsByID() []*installation {
	out := make([]*installation, 0, len(s.st.Installations))
	for _, inst := range s.st.Installations {
		out = append(out, inst)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// listInstallations: GET /app/installations (docs: apps/apps#list-installations-for-the-authenticated-app).
func (s *Server) listInstallations(c *call) (int, any, error) {
	page := paginate(c, s.cfg.BaseURL, s.installationsByID())
	out := make([]obj, 0, len(page))
	for _, inst := range page {
		out = append(out, s.installationJSON(inst))
	}
	return http.StatusOK, out, nil
}

func (s *Server) installationParam(c *call) (*installation, error) {
	id, err := c.intParam("id")
	if err != nil {
		return nil, err
	}
	for _, inst := range s.st.Installations {
		if inst.ID == id {
			return inst, nil
		}
	}
	return nil, errNotFound
}

// getInstallation: GET /app/installations/{installation_id} (docs: apps/apps#get-an-installation-for-the-authenticated-app).
func (s *Server) getInstallation(c *call) (int, any, error) {
	inst, err := s.installationParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.installationJSON(inst), nil
}

// createToken: POST /app/installations/{installation_id}/access_tokens (docs:
// apps/apps#create-an-installation-access-token-for-an-app). Tokens cover
// every repository of the installation with all of the App's permissions.
func (s *Server) createToken(c *call) (int, any, error) {
	inst, err := s.installationParam(c)
	if err != nil {
		return 0, nil, err
	}
	token, err := newToken()
	if err != nil {
		return 0, nil, err
	}
	expires := s.now().Add(tokenLifetime)
	s.st.Tokens[token] = &instToken{Installation: inst.ID, ExpiresAt: expires}
	for t, it := range s.st.Tokens {
		if !s.cfg.Clock().Before(it.ExpiresAt) {
			delete(s.st.Tokens, t)
		}
	}
	return http.StatusCreated, obj{"token": token, "expires_at": ts(expires), "permissions": s.appPermissions(),
		"repository_selection": "all"}, nil
}

// repoInstallation: GET /repos/{owner}/{repo}/installation (docs: apps/apps#get-a-repository-installation-for-the-authenticated-app).
func (s *Server) repoInstallation(c *call) (int, any, error) {
	inst := s.st.Installations[c.rs.Owner]
	if inst == nil {
		return 0, nil, errNotFound
	}
	return http.StatusOK, s.installationJSON(inst), nil
}

// installationRepos: GET /installation/repositories (docs: apps/installations#list-repositories-accessible-to-the-app-installation).
func (s *Server) installationRepos(c *call) (int, any, error) {
	if c.who.inst == nil {
		return 0, nil, errorf(http.StatusForbidden, "This endpoint requires you to be authenticated as a GitHub App installation.")
	}
	repos := s.ownedRepos(c.who.inst.Account)
	sort.Slice(repos, func(i, j int) bool { return repos[i].ID < repos[j].ID })
	page := paginate(c, s.cfg.BaseURL, repos)
	out := make([]obj, 0, len(page))
	for _, rs := range page {
		out = append(out, s.repoJSON(rs))
	}
	return http.StatusOK, obj{"total_count": len(repos), "repositories": out, "repository_selection": "all"}, nil
}

// getUser: GET /user (docs: users/users#get-the-authenticated-user).
func (s *Server) getUser(c *call) (int, any, error) {
	if c.who.inst != nil {
		return 0, nil, errNotAllowed
	}
	a := s.st.account(c.who.login, s.now())
	if c.who.admin {
		a.SiteAdmin = true
	}
	o := s.userJSON(c.who.login)
	owned := len(s.ownedRepos(c.who.login))
	extra := obj{"name": c.who.login, "company": nil, "blog": "", "location": nil, "email": nil,
		"hireable": nil, "bio": nil, "twitter_username": nil, "public_repos": owned, "public_gists": 0,
		"followers": 0, "following": 0, "created_at": ts(a.CreatedAt), "updated_at": ts(a.CreatedAt),
		"private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0, "disk_usage": 0,
		"collaborators": 0, "two_factor_authentication": true}
	for k, v := range extra {
		o[k] = v
	}
	return http.StatusOK, o, nil
}

// rateLimit: GET /rate_limit (docs: rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user).
// Calling it does not count against the limit, as on GitHub.
func (s *Server) rateLimit(c *call) (int, any, error) {
	limit, used, reset := s.limits.status(c.who.budget())
	rate := obj{"limit": limit, "remaining": max(limit-used, 0), "reset": reset.Unix(), "used": used, "resource": "core"}
	return http.StatusOK, obj{"rate": rate, "resources": obj{"core": rate, "search": obj{"limit": 30, "remaining": 30,
		"reset": reset.Unix(), "used": 0, "resource": "search"}}}, nil
}
