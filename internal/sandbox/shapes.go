package sandbox

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

// obj is a JSON object in GitHub's shape.
type obj = map[string]any

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// tsPtr formats t, or gives JSON null for nil.
func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// nullable gives JSON null for an empty string.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nodeID makes an opaque node id from a kind and an id.
func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d", kind, id))
}

func (s *Server) api(format string, args ...any) string {
	return s.cfg.BaseURL + fmt.Sprintf(format, args...)
}

// userJSON is a simple-user.
func (s *Server) userJSON(login string) obj {
	a := s.st.account(login, s.now())
	if strings.HasSuffix(login, "[bot]") {
		a.Type = "Bot"
	}
	u := s.api("/users/%s", login)
	return obj{
		"login": a.Login, "id": a.ID, "node_id": nodeID(a.Type, a.ID),
		"avatar_url": s.api("/avatars/%s", login), "gravatar_id": "",
		"url": u, "html_url": s.api("/%s", login),
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": a.Type,
		"site_admin": a.SiteAdmin, "user_view_type": "public",
	}
}

// userOrNull is userJSON, or null for an empty login.
func (s *Server) userOrNull(login string) any {
	if login == "" {
		return nil
	}
	return s.userJSON(login)
}

// repoURLTemplates are the *_url fields of a repository below its API URL.
var repoURLTemplates = [][2]string{
	{"archive_url", "/{archive_format}{/ref}"}, {"assignees_url", "/assignees{/user}"},
	{"blobs_url", "/git/blobs{/sha}"}, {"branches_url", "/branches{/branch}"},
	{"collaborators_url", "/collaborators{/collaborator}"}, {"comments_url", "/comments{/number}"},
	{"commits_url", "/commits{/sha}"}, {"compare_url", "/compare/{base}...{head}"},
	{"contents_url", "/contents/{+path}"}, {"contributors_url", "/contributors"},
	{"deployments_url", "/deployments"}, {"downloads_url", "/downloads"},
	{"events_url", "/events"}, {"forks_url", "/forks"},
	{"git_commits_url", "/git/commits{/sha}"}, {"git_refs_url", "/git/refs{/sha}"},
	{"git_tags_url", "/git/tags{/sha}"}, {"hooks_url", "/hooks"},
	{"issue_comment_url", "/issues/comments{/number}"}, {"issue_events_url", "/issues/events{/number}"},
	{"issues_url", "/issues{/number}"}, {"keys_url", "/keys{/key_id}"},
	{"labels_url", "/labels{/name}"}, {"languages_url", "/languages"},
	{"merges_url", "/merges"}, {"milestones_url", "/milestones{/number}"},
	{"notifications_url", "/notifications{?since,all,participating}"}, {"pulls_url", "/pulls{/number}"},
	{"releases_url", "/releases{/id}"}, {"stargazers_url", "/stargazers"},
	{"statuses_url", "/statuses/{sha}"}, {"subscribers_url", "/subscribers"},
	{"subscription_url", "/subscription"}, {"tags_url", "/tags"},
	{"teams_url", "/teams"}, {"trees_url", "/git/trees{/sha}"},
}

// repoJSON is a full-repository (which also satisfies repository).
func (s *Server) repoJSON(rs *repoState) obj {
	u := s.api("/repos/%s", rs.fullName())
	html := s.api("/%s", rs.fullName())
	open := 0
	for _, is := range rs.Issues {
		if is.State == "open" {
			open++
		}
	}
	visibility := "public"
	if rs.Private {
		visibility = "private"
	}
	o := obj{
		"id": rs.ID, "node_id": nodeID("Repository", rs.ID), "name": rs.Name, "full_name": rs.fullName(),
		"owner": s.userJSON(rs.Owner), "private": rs.Private, "visibility": visibility,
		"description": nullable(rs.Description), "fork": false, "url": u, "html_url": html,
		"clone_url": html + ".git", "git_url": strings.Replace(html, "http", "git", 1) + ".git",
		"ssh_url": "git@" + strings.TrimPrefix(strings.TrimPrefix(s.cfg.BaseURL, "http://"), "https://") + ":" + rs.fullName() + ".git",
		"svn_url": html, "mirror_url": nil, "homepage": nil, "language": nil,
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0,
		"size": 0, "default_branch": rs.DefaultBranch, "open_issues": open, "open_issues_count": open,
		"has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
		"has_downloads": true, "has_discussions": false, "archived": false, "disabled": false,
		"license": nil, "topics": []string{}, "is_template": false,
		"pushed_at": ts(rs.PushedAt), "created_at": ts(rs.CreatedAt), "updated_at": ts(rs.UpdatedAt),
		"network_count": 0, "subscribers_count": 0,
		"allow_merge_commit": !rs.NoMergeCommit, "allow_squash_merge": !rs.NoSquashMerge, "allow_rebase_merge": false,
		"delete_branch_on_merge": false, "custom_properties": obj{}, "web_commit_signoff_required": false,
		"permissions": obj{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
	}
	for _, t := range repoURLTemplates {
		o[t[0]] = u + t[1]
	}
	return o
}

// minimalRepoJSON is the short repository form of webhook installation
// payloads.
func (s *Server) minimalRepoJSON(rs *repoState) obj {
	return obj{"id": rs.ID, "node_id": nodeID("Repository", rs.ID), "name": rs.Name,
		"full_name": rs.fullName(), "private": rs.Private}
}

// gitCommitJSON is a git-commit.
func (s *Server) gitCommitJSON(rs *repoState, ci gitrepo.CommitInfo) obj {
	parents := make([]obj, 0, len(ci.Parents))
	for _, p := range ci.Parents {
		parents = append(parents, obj{"sha": p, "url": s.api("/repos/%s/git/commits/%s", rs.fullName(), p),
			"html_url": s.api("/%s/commit/%s", rs.fullName(), p)})
	}
	return obj{
		"sha": ci.SHA, "node_id": "C_" + ci.SHA, "url": s.api("/repos/%s/git/commits/%s", rs.fullName(), ci.SHA),
		"html_url":  s.api("/%s/commit/%s", rs.fullName(), ci.SHA),
		"author":    sigJSON(ci.Author),
		"committer": sigJSON(ci.Committer),
		"tree":      obj{"sha": ci.Tree, "url": s.api("/repos/%s/git/trees/%s", rs.fullName(), ci.Tree)},
		"message":   ci.Message, "parents": parents,
		"verification": s.verification(ci),
	}
}

// verification says a commit is verified when the App wrote it (its
// committer is the App's bot), as GitHub does for commits made through the
// API by an App.
func (s *Server) verification(ci gitrepo.CommitInfo) obj {
	if ci.Committer.Name == "GitHub" && ci.Committer.Email == webFlowEmail {
		return obj{"verified": true, "reason": "valid", "signature": nil, "payload": nil, "verified_at": ts(ci.Committer.When)}
	}
	return obj{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil}
}

// webFlowEmail is the committer email of commits GitHub makes itself.
const webFlowEmail = "noreply@github.com"

func sigJSON(sg gitrepo.Signature) obj {
	return obj{"name": sg.Name, "email": sg.Email, "date": ts(sg.When)}
}

// commitJSON is a commit (the REST commits shape, used by compare and
// branches).
func (s *Server) commitJSON(rs *repoState, ci gitrepo.CommitInfo) obj {
	parents := make([]obj, 0, len(ci.Parents))
	for _, p := range ci.Parents {
		parents = append(parents, obj{"sha": p, "url": s.api("/repos/%s/commits/%s", rs.fullName(), p),
			"html_url": s.api("/%s/commit/%s", rs.fullName(), p)})
	}
	return obj{
		"sha": ci.SHA, "node_id": "C_" + ci.SHA, "url": s.api("/repos/%s/commits/%s", rs.fullName(), ci.SHA),
		"html_url":     s.api("/%s/commit/%s", rs.fullName(), ci.SHA),
		"comments_url": s.api("/repos/%s/commits/%s/comments", rs.fullName(), ci.SHA),
		"commit": obj{
			"author": sigJSON(ci.Author), "committer": sigJSON(ci.Committer), "message": ci.Message,
			"comment_count": 0, "url": s.api("/repos/%s/git/commits/%s", rs.fullName(), ci.SHA),
			"tree":         obj{"sha": ci.Tree, "url": s.api("/repos/%s/git/trees/%s", rs.fullName(), ci.Tree)},
			"verification": s.verification(ci),
		},
		"author": obj{}, "committer": obj{}, "parents": parents,
	}
}

// labelJSON is a label.
func (s *Server) labelJSON(rs *repoState, l *label) obj {
	return obj{"id": l.ID, "node_id": nodeID("Label", l.ID), "url": s.api("/repos/%s/labels/%s", rs.fullName(), l.Name),
		"name": l.Name, "color": l.Color, "description": l.Description, "default": false}
}

func (s *Server) labelsJSON(rs *repoState, names []string) []obj {
	out := make([]obj, 0, len(names))
	for _, n := range names {
		if l := rs.label(n); l != nil {
			out = append(out, s.labelJSON(rs, l))
		}
	}
	return out
}

// issueJSON is an issue; pull requests carry a pull_request link as on
// GitHub.
func (s *Server) issueJSON(rs *repoState, is *issue) obj {
	u := s.api("/repos/%s/issues/%d", rs.fullName(), is.Number)
	comments := 0
	for _, c := range rs.Comments {
		if c.Number == is.Number {
			comments++
		}
	}
	o := obj{
		"id": is.ID, "node_id": nodeID("Issue", is.ID), "url": u, "repository_url": s.api("/repos/%s", rs.fullName()),
		"labels_url": u + "/labels{/name}", "comments_url": u + "/comments", "events_url": u + "/events",
		"html_url": s.api("/%s/issues/%d", rs.fullName(), is.Number), "number": is.Number,
		"state": is.State, "title": is.Title, "body": nullable(is.Body), "user": s.userJSON(is.User),
		"labels": s.labelsJSON(rs, is.Labels), "assignee": nil, "assignees": []obj{}, "milestone": nil,
		"locked": false, "active_lock_reason": nil, "comments": comments,
		"closed_at": tsPtr(is.ClosedAt), "created_at": ts(is.CreatedAt), "updated_at": ts(is.UpdatedAt),
		"author_association": s.association(rs, is.User), "state_reason": nullable(is.StateReason),
		"reactions": reactionRollup(u+"/reactions", nil), "draft": false, "performed_via_github_app": nil,
		"timeline_url": u + "/timeline",
	}
	if is.Pull != nil {
		pu := s.api("/repos/%s/pulls/%d", rs.fullName(), is.Number)
		o["pull_request"] = obj{"url": pu, "html_url": s.api("/%s/pull/%d", rs.fullName(), is.Number),
			"diff_url":  s.api("/%s/pull/%d.diff", rs.fullName(), is.Number),
			"patch_url": s.api("/%s/pull/%d.patch", rs.fullName(), is.Number), "merged_at": tsPtr(is.Pull.MergedAt)}
		o["draft"] = is.Pull.Draft
	}
	return o
}

// association is the author_association of login on rs.
func (s *Server) association(rs *repoState, login string) string {
	switch {
	case login == rs.Owner:
		return "OWNER"
	case rs.Collaborators[login] != "":
		return "COLLABORATOR"
	}
	for _, t := range s.st.Teams[rs.Owner] {
		if t.Members[login] != "" {
			return "MEMBER"
		}
	}
	return "NONE"
}

// reactionRollup is the reactions summary of an issue or comment.
func reactionRollup(url string, rs []*reaction) obj {
	o := obj{"url": url, "total_count": len(rs), "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
		"heart": 0, "hooray": 0, "rocket": 0, "eyes": 0}
	for _, r := range rs {
		o[r.Content] = o[r.Content].(int) + 1
	}
	return o
}

// commentJSON is an issue-comment.
func (s *Server) commentJSON(rs *repoState, c *comment) obj {
	u := s.api("/repos/%s/issues/comments/%d", rs.fullName(), c.ID)
	kind := "issues"
	if is := rs.issue(c.Number); is != nil && is.Pull != nil {
		kind = "pull" // as GitHub links a pull request's comment
	}
	return obj{
		"id": c.ID, "node_id": nodeID("IssueComment", c.ID), "url": u,
		"html_url":  s.api("/%s/%s/%d#issuecomment-%d", rs.fullName(), kind, c.Number, c.ID),
		"issue_url": s.api("/repos/%s/issues/%d", rs.fullName(), c.Number),
		"body":      c.Body, "user": s.userJSON(c.User), "created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt),
		"author_association": s.association(rs, c.User), "reactions": reactionRollup(u+"/reactions", c.Reactions),
		"performed_via_github_app": nil,
	}
}

// appJSON is an integration: the App itself.
func (s *Server) appJSON() obj {
	owner := AdminLogin
	return obj{
		"id": s.cfg.AppID, "slug": s.cfg.AppSlug, "node_id": nodeID("Integration", s.cfg.AppID),
		"owner": s.userJSON(owner), "name": s.cfg.AppSlug, "description": "fleetbot sandbox App",
		"external_url": s.cfg.BaseURL, "html_url": s.api("/apps/%s", s.cfg.AppSlug),
		"created_at": ts(time.Unix(0, 0)), "updated_at": ts(time.Unix(0, 0)),
		"permissions": s.appPermissions(), "events": s.appEvents(),
	}
}

// appPermissions are the permissions the App's manifest grants
// (deploy/github-app.json): the sandbox's App is the one fleetbot registers.
func (s *Server) appPermissions() obj {
	out := obj{}
	for perm, level := range s.app.DefaultPermissions {
		out[perm] = level
	}
	return out
}

// appEvents are the events the App's manifest subscribes to.
func (s *Server) appEvents() []string { return slices.Clone(s.app.DefaultEvents) }

// installationJSON is an installation.
func (s *Server) installationJSON(inst *installation) obj {
	acct := s.st.account(inst.Account, s.now())
	// GET /app/installations describes account as simple-user and
	// enterprise at once (allOf), so it carries both sets of fields.
	account := s.userJSON(inst.Account)
	account["name"], account["slug"] = inst.Account, inst.Account
	account["created_at"], account["updated_at"] = ts(acct.CreatedAt), ts(acct.CreatedAt)
	return obj{
		"id": inst.ID, "app_id": s.cfg.AppID, "app_slug": s.cfg.AppSlug, "client_id": fmt.Sprintf("Iv1.%d", s.cfg.AppID),
		"target_id": acct.ID, "target_type": acct.Type, "account": account,
		"repository_selection": "all", "access_tokens_url": s.api("/app/installations/%d/access_tokens", inst.ID),
		"repositories_url": s.api("/installation/repositories"), "html_url": s.api("/settings/installations/%d", inst.ID),
		"permissions": s.appPermissions(), "events": s.appEvents(), "single_file_name": nil,
		"has_multiple_single_files": false, "single_file_paths": []string{},
		"created_at": ts(inst.CreatedAt), "updated_at": ts(inst.CreatedAt),
		"suspended_by": nil, "suspended_at": nil,
	}
}
