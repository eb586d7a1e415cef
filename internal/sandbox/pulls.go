package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

func (s *Server) pullRoutes() {
	s.handle("GET /repos/{owner}/{repo}/pulls", accessUser, s.listPulls)
	s.handle("POST /repos/{owner}/{repo}/pulls", accessUser, s.createPull)
	s.handle("GET /repos/{owner}/{repo}/pulls/{number}", accessUser, s.getPull)
	s.handle("PATCH /repos/{owner}/{repo}/pulls/{number}", accessUser, s.editPull)
	s.handle("GET /repos/{owner}/{repo}/pulls/{number}/files", accessUser, s.pullFiles)
	s.handle("GET /repos/{owner}/{repo}/commits/{sha}/pulls", accessUser, s.commitPulls)
	s.handle("PUT /repos/{owner}/{repo}/pulls/{number}/merge", accessUser, s.mergePull)
	s.handle("GET /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", accessUser, s.getReviewers)
	s.handle("POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", accessUser, s.requestReviewers)
	s.handle("DELETE /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", accessUser, s.removeReviewers)
	s.handle("GET /repos/{owner}/{repo}/pulls/{number}/reviews", accessUser, s.listReviews)
	s.handle("POST /repos/{owner}/{repo}/pulls/{number}/reviews", accessUser, s.createReview)
	s.handle("GET /repos/{owner}/{repo}/pulls/{number}/reviews/{id}", accessUser, s.getReview)
	s.handle("PUT /repos/{owner}/{repo}/pulls/{number}/reviews/{id}/dismissals", accessUser, s.dismissReview)
}

// pull returns the pull request the route's {number} names.
func (c *call) pull() (*issue, error) {
	n, err := c.intParam("number")
	if err != nil {
		return nil, err
	}
	is := c.rs.issue(int(n))
	if is == nil || is.Pull == nil {
		return nil, errNotFound
	}
	return is, nil
}

// heads returns the current base and head SHAs of a pull request: the
// branches' tips while it is open, the recorded ones after.
func (s *Server) heads(ctx context.Context, repo *gitrepo.Repo, is *issue) (base, head string) {
	p := is.Pull
	base, head = p.BaseSHA, p.HeadSHA
	if is.State != "open" {
		return base, head
	}
	resolve := func(branch string) (string, bool) {
		if refs, ok := ctx.Value(refsKey{}).(map[string]string); ok {
			sha, found := refs["refs/heads/"+branch]
			return sha, found
		}
		sha, err := repo.ResolveRef(ctx, "refs/heads/"+branch)
		return sha, err == nil
	}
	if sha, ok := resolve(p.Base); ok {
		base = sha
	}
	if sha, ok := resolve(p.Head); ok {
		head = sha
	}
	return base, head
}

// refsKey carries a snapshot of a repository's refs in a context.
type refsKey struct{}

// withRefs returns ctx carrying repo's refs as they are now, for reads that
// go over every pull request and change no ref: one git call, not two per
// pull request. On error ctx comes back as it is.
func withRefs(ctx context.Context, repo *gitrepo.Repo) context.Context {
	refs, err := repo.Snapshot(ctx)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, refsKey{}, refs)
}

// pullJSON is a pull-request with mergeability and diff statistics.
func (s *Server) pullJSON(ctx context.Context, rs *repoState, repo *gitrepo.Repo, is *issue) obj {
	o := s.pullSimpleJSON(ctx, rs, repo, is)
	p := is.Pull
	base, head := s.heads(ctx, repo, is)
	var mergeable any
	state := "unknown"
	if is.State == "open" {
		if _, conflicts, err := repo.MergeTree(ctx, base, head); err == nil {
			mergeable, state = len(conflicts) == 0, "clean"
			switch {
			case len(conflicts) > 0:
				state = "dirty"
			case len(s.unmetChecks(rs, p.Base, head)) > 0:
				state = "blocked"
			}
		}
	}
	additions, deletions, changed, commits := 0, 0, 0, 0
	if mb, err := repo.MergeBase(ctx, base, head); err == nil {
		if files, err := repo.ChangedFiles(ctx, mb, head); err == nil {
			changed = len(files)
			for _, f := range files {
				additions += f.Additions
				deletions += f.Deletions
			}
		}
		if log, err := repo.Log(ctx, mb, head); err == nil {
			commits = len(log)
		}
	}
	comments := 0
	for _, c := range rs.Comments {
		if c.Number == is.Number {
			comments++
		}
	}
	o["merged"] = p.Merged
	o["mergeable"] = mergeable
	o["mergeable_state"] = state
	o["rebaseable"] = mergeable
	o["merged_by"] = s.userOrNull(p.MergedBy)
	o["comments"] = comments
	o["review_comments"] = 0
	o["maintainer_can_modify"] = false
	o["commits"] = commits
	o["additions"] = additions
	o["deletions"] = deletions
	o["changed_files"] = changed
	return o
}

// pullSimpleJSON is a pull-request-simple, the shape of list results.
func (s *Server) pullSimpleJSON(ctx context.Context, rs *repoState, repo *gitrepo.Repo, is *issue) obj {
	p := is.Pull
	base, head := s.heads(ctx, repo, is)
	u := s.api("/repos/%s/pulls/%d", rs.fullName(), is.Number)
	html := s.api("/%s/pull/%d", rs.fullName(), is.Number)
	issueURL := s.api("/repos/%s/issues/%d", rs.fullName(), is.Number)
	link := func(h string) obj { return obj{"href": h} }
	branch := func(ref, sha string) obj {
		return obj{"label": rs.Owner + ":" + ref, "ref": ref, "sha": sha, "user": s.userJSON(rs.Owner), "repo": s.repoJSON(rs)}
	}
	users := make([]obj, 0, len(p.Reviewers))
	for _, r := range p.Reviewers {
		users = append(users, s.userJSON(r))
	}
	teams := make([]obj, 0, len(p.TeamReviewers))
	for _, slug := range p.TeamReviewers {
		if t := s.st.team(rs.Owner, slug); t != nil {
			teams = append(teams, s.teamJSON(rs.Owner, t))
		}
	}
	return obj{
		"url": u, "id": p.ID, "node_id": nodeID("PullRequest", p.ID), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issueURL,
		"commits_url": u + "/commits", "review_comments_url": u + "/comments",
		"review_comment_url": s.api("/repos/%s/pulls/comments{/number}", rs.fullName()),
		"comments_url":       issueURL + "/comments", "statuses_url": s.api("/repos/%s/statuses/%s", rs.fullName(), head),
		"number": is.Number, "state": is.State, "locked": false, "title": is.Title, "body": nullable(is.Body),
		"user": s.userJSON(is.User), "labels": s.labelsJSON(rs, is.Labels), "milestone": nil,
		"active_lock_reason": nil, "created_at": ts(is.CreatedAt), "updated_at": ts(is.UpdatedAt),
		"closed_at": tsPtr(is.ClosedAt), "merged_at": tsPtr(p.MergedAt), "merge_commit_sha": nullable(p.MergeCommitSHA),
		"assignee": nil, "assignees": []obj{}, "requested_reviewers": users, "requested_teams": teams,
		"head": branch(p.Head, head), "base": branch(p.Base, base),
		"_links": obj{"self": link(u), "html": link(html), "issue": link(issueURL), "comments": link(issueURL + "/comments"),
			"review_comments": link(u + "/comments"), "review_comment": link(s.api("/repos/%s/pulls/comments{/number}", rs.fullName())),
			"commits": link(u + "/commits"), "statuses": link(s.api("/repos/%s/statuses/%s", rs.fullName(), head))},
		"author_association": s.association(rs, is.User), "auto_merge": nil, "draft": p.Draft,
	}
}

// listPulls: GET /repos/{owner}/{repo}/pulls (docs: pulls/pulls#list-pull-requests).
func (s *Server) listPulls(c *call) (int, any, error) {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head, base := q.Get("head"), q.Get("base")
	var matched []*issue
	for _, is := range c.rs.Issues {
		p := is.Pull
		if p == nil || (state != "all" && is.State != state) || (base != "" && p.Base != base) {
			continue
		}
		if head != "" {
			owner, branch, ok := strings.Cut(head, ":")
			if !ok {
				owner, branch = c.rs.Owner, head
			}
			if owner != c.rs.Owner || p.Head != branch {
				continue
			}
		}
		matched = append(matched, is)
	}
	sortIssues(matched, q.Get("sort"), q.Get("direction"))
	page := paginate(c, s.cfg.BaseURL, matched)
	out := make([]obj, 0, len(page))
	ctx := c.ctx
	if len(page) > 1 {
		ctx = withRefs(ctx, c.repo)
	}
	for _, is := range page {
		out = append(out, s.pullSimpleJSON(ctx, c.rs, c.repo, is))
	}
	return http.StatusOK, out, nil
}

// createPull: POST /repos/{owner}/{repo}/pulls (docs: pulls/pulls#create-a-pull-request).
func (s *Server) createPull(c *call) (int, any, error) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Title == "" {
		return 0, nil, invalid("PullRequest", "title", "missing_field", "")
	}
	if err := tooLong("PullRequest", &in.Body); err != nil {
		return 0, nil, err
	}
	head := in.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != c.rs.Owner {
			return 0, nil, invalid("PullRequest", "head", "invalid", "")
		}
		head = branch
	}
	headSHA, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+head)
	if err != nil {
		return 0, nil, invalid("PullRequest", "head", "invalid", "")
	}
	baseSHA, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+in.Base)
	if err != nil {
		return 0, nil, invalid("PullRequest", "base", "invalid", "")
	}
	for _, is := range c.rs.Issues {
		if p := is.Pull; p != nil && is.State == "open" && p.Head == head && p.Base == in.Base {
			return 0, nil, invalid("PullRequest", "", "custom", fmt.Sprintf("A pull request already exists for %s:%s.", c.rs.Owner, head))
		}
	}
	ahead, _, err := c.repo.AheadBehind(c.ctx, baseSHA, headSHA)
	if err != nil {
		return 0, nil, err
	}
	if ahead == 0 {
		return 0, nil, invalid("PullRequest", "", "custom", fmt.Sprintf("No commits between %s and %s", in.Base, head))
	}
	now := s.now()
	is := &issue{ID: s.st.newID(), Number: c.rs.NextNumber, Title: in.Title, Body: in.Body, User: c.who.login,
		State: "open", Labels: []string{}, CreatedAt: now, UpdatedAt: now,
		Pull: &pull{ID: s.st.newID(), Head: head, Base: in.Base, HeadSHA: headSHA, BaseSHA: baseSHA, Draft: in.Draft,
			Reviewers: []string{}, TeamReviewers: []string{}}}
	c.rs.NextNumber++
	c.rs.Issues = append(c.rs.Issues, is)
	o := s.pullJSON(c.ctx, c.rs, c.repo, is)
	s.emit("pull_request", "opened", c.rs, c.who.login, obj{"number": is.Number, "pull_request": o})
	return http.StatusCreated, o, nil
}

// getPull: GET /repos/{owner}/{repo}/pulls/{pull_number} (docs: pulls/pulls#get-a-pull-request).
func (s *Server) getPull(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.pullJSON(c.ctx, c.rs, c.repo, is), nil
}

// editPull: PATCH /repos/{owner}/{repo}/pulls/{pull_number} (docs: pulls/pulls#update-a-pull-request).
func (s *Server) editPull(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if err := tooLong("PullRequest", in.Body); err != nil {
		return 0, nil, err
	}
	changes := editText(is, in.Title, in.Body)
	if in.Base != nil && *in.Base != is.Pull.Base {
		sha, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+*in.Base)
		if err != nil {
			return 0, nil, invalid("PullRequest", "base", "invalid", "Proposed base branch was not found")
		}
		changes["base"] = obj{"ref": obj{"from": is.Pull.Base}, "sha": obj{"from": is.Pull.BaseSHA}}
		is.Pull.Base, is.Pull.BaseSHA = *in.Base, sha
	}
	action := ""
	if in.State != nil && *in.State != is.State {
		switch *in.State {
		case "closed":
			base, head := s.heads(c.ctx, c.repo, is)
			is.Pull.BaseSHA, is.Pull.HeadSHA = base, head
			now := s.now()
			is.State, is.ClosedAt, action = "closed", &now, "closed"
		case "open":
			if is.Pull.Merged {
				return 0, nil, invalid("PullRequest", "state", "invalid", "state cannot be changed. The pull request has been merged.")
			}
			is.State, is.ClosedAt, action = "open", nil, "reopened"
		default:
			return 0, nil, invalid("PullRequest", "state", "invalid", "state must be open or closed")
		}
	}
	if len(changes) == 0 && action == "" {
		return http.StatusOK, s.pullJSON(c.ctx, c.rs, c.repo, is), nil
	}
	is.UpdatedAt = s.now()
	o := s.pullJSON(c.ctx, c.rs, c.repo, is)
	if len(changes) > 0 {
		s.emit("pull_request", "edited", c.rs, c.who.login, obj{"number": is.Number, "pull_request": o, "changes": changes})
	}
	if action != "" {
		s.emit("pull_request", action, c.rs, c.who.login, obj{"number": is.Number, "pull_request": o})
	}
	return http.StatusOK, o, nil
}

// pullFiles: GET /repos/{owner}/{repo}/pulls/{pull_number}/files (docs: pulls/pulls#list-pull-requests-files).
func (s *Server) pullFiles(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	base, head := s.heads(c.ctx, c.repo, is)
	mb, err := c.repo.MergeBase(c.ctx, base, head)
	if err != nil {
		mb = base
	}
	files, err := c.repo.ChangedFiles(c.ctx, mb, head)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, paginate(c, s.cfg.BaseURL, s.filesJSON(c, head, files)), nil
}

// commitPulls: GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls (docs:
// commits/commits#list-pull-requests-associated-with-a-commit). A commit
// on the default branch belongs to the merged pull requests that brought
// it there (merged as it, or holding it); any other commit to the open pull
// requests that hold it.
func (s *Server) commitPulls(c *call) (int, any, error) {
	ci, err := c.repo.Commit(c.ctx, c.r.PathValue("sha"))
	if err != nil {
		return 0, nil, invalid("Commit", "sha", "invalid", "No commit found for SHA: "+c.r.PathValue("sha"))
	}
	sha := ci.SHA
	onDefault := false
	if tip, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+c.rs.DefaultBranch); err == nil {
		onDefault, _ = c.repo.IsAncestor(c.ctx, sha, tip)
	}
	var matched []*issue
	for _, is := range c.rs.Issues {
		p := is.Pull
		if p == nil || (onDefault && !p.Merged) || (!onDefault && is.State != "open") {
			continue
		}
		if (p.Merged && p.MergeCommitSHA == sha) || s.pullHolds(c, is, sha) {
			matched = append(matched, is)
		}
	}
	page := paginate(c, s.cfg.BaseURL, matched)
	out := make([]obj, 0, len(page))
	for _, is := range page {
		out = append(out, s.pullSimpleJSON(c.ctx, c.rs, c.repo, is))
	}
	return http.StatusOK, out, nil
}

// pullHolds reports whether sha is one of the commits of pull request is:
// reachable from its head, not from where it left its base.
func (s *Server) pullHolds(c *call, is *issue, sha string) bool {
	base, head := s.heads(c.ctx, c.repo, is)
	if in, err := c.repo.IsAncestor(c.ctx, sha, head); err != nil || !in {
		return false
	}
	mb, err := c.repo.MergeBase(c.ctx, base, head)
	if err != nil {
		return true
	}
	before, err := c.repo.IsAncestor(c.ctx, sha, mb)
	return err == nil && !before
}

var errNotMergeable = errorf(http.StatusMethodNotAllowed, "Pull Request is not mergeable")

// mergePull: PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge (docs:
// pulls/pulls#merge-a-pull-request). The base branch moves with a
// compare-and-swap, so a concurrent push makes the merge fail rather than
// lose commits.
func (s *Server) mergePull(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if is.State != "open" {
		return 0, nil, errNotMergeable
	}
	base, head := s.heads(c.ctx, c.repo, is)
	if in.SHA != "" && in.SHA != head {
		return 0, nil, errorf(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	}
	tree, conflicts, err := c.repo.MergeTree(c.ctx, base, head)
	if err != nil {
		return 0, nil, err
	}
	if len(conflicts) > 0 {
		return 0, nil, errNotMergeable
	}
	p := is.Pull
	if unmet := s.unmetChecks(c.rs, p.Base, head); len(unmet) > 0 {
		return 0, nil, requiredChecksError(unmet, len(c.rs.Protections[p.Base].Checks.Checks))
	}
	sig := s.signature(c.who)
	web := gitrepo.Signature{Name: "GitHub", Email: webFlowEmail, When: sig.When}
	ci := gitrepo.CommitInfo{Tree: tree, Author: sig, Committer: web}
	switch {
	case (in.MergeMethod == "" || in.MergeMethod == "merge") && c.rs.NoMergeCommit:
		return 0, nil, errorf(http.StatusMethodNotAllowed, "Merge commits are not allowed on this repository.")
	case in.MergeMethod == "squash" && c.rs.NoSquashMerge:
		return 0, nil, errorf(http.StatusMethodNotAllowed, "Squash merges are not allowed on this repository.")
	}
	switch in.MergeMethod {
	case "", "merge":
		title := in.CommitTitle
		if title == "" {
			title = fmt.Sprintf("Merge pull request #%d from %s/%s", is.Number, c.rs.Owner, p.Head)
		}
		body := in.CommitMessage
		if body == "" {
			body = is.Title
		}
		ci.Parents, ci.Message = []string{base, head}, title+"\n\n"+body
	case "squash":
		title := in.CommitTitle
		if title == "" {
			title = fmt.Sprintf("%s (#%d)", is.Title, is.Number)
		}
		body := in.CommitMessage
		if body == "" {
			body = s.squashMessage(c, base, head)
		}
		ci.Parents, ci.Message = []string{base}, strings.TrimRight(title+"\n\n"+body, "\n")
	case "rebase":
		// The repository reports allow_rebase_merge false: the sandbox
		// does not replay commits.
		return 0, nil, errorf(http.StatusMethodNotAllowed, "Rebase merges are not allowed on this repository.")
	default:
		return 0, nil, invalid("PullRequest", "merge_method", "invalid", "merge_method must be merge, squash or rebase")
	}
	sha, err := c.repo.WriteCommit(c.ctx, ci)
	if err != nil {
		return 0, nil, err
	}
	baseRef := "refs/heads/" + p.Base
	if err := c.repo.UpdateRef(c.ctx, baseRef, sha, base); err != nil {
		if errors.Is(err, gitrepo.ErrStale) {
			return 0, nil, errorf(http.StatusConflict, "Base branch was modified. Review and try the merge again.")
		}
		return 0, nil, err
	}
	now := s.now()
	p.Merged, p.MergedAt, p.MergedBy, p.MergeCommitSHA = true, &now, c.who.login, sha
	p.BaseSHA, p.HeadSHA = base, head
	is.State, is.ClosedAt, is.UpdatedAt = "closed", &now, now
	s.refsChanged(c.ctx, c.rs, c.repo, c.who.login, []gitrepo.RefUpdate{{Name: baseRef, Old: base, New: sha}})
	s.emit("pull_request", "closed", c.rs, c.who.login, obj{"number": is.Number, "pull_request": s.pullJSON(c.ctx, c.rs, c.repo, is)})
	return http.StatusOK, obj{"sha": sha, "merged": true, "message": "Pull Request successfully merged"}, nil
}

// squashMessage lists the squashed commits' messages, as GitHub's default
// squash commit message does.
func (s *Server) squashMessage(c *call, base, head string) string {
	mb, err := c.repo.MergeBase(c.ctx, base, head)
	if err != nil {
		return ""
	}
	log, err := c.repo.Log(c.ctx, mb, head)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, ci := range log {
		fmt.Fprintf(&b, "* %s\n\n", strings.TrimSpace(ci.Message))
	}
	return b.String()
}

// reviewersIn is the body of the requested_reviewers endpoints.
type reviewersIn struct {
	Reviewers     []string `json:"reviewers"`
	TeamReviewers []string `json:"team_reviewers"`
}

// getReviewers: GET .../pulls/{pull_number}/requested_reviewers (docs:
// pulls/review-requests#get-all-requested-reviewers-for-a-pull-request).
func (s *Server) getReviewers(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	o := s.pullSimpleJSON(c.ctx, c.rs, c.repo, is)
	return http.StatusOK, obj{"users": o["requested_reviewers"], "teams": o["requested_teams"]}, nil
}

// requestReviewers: POST .../pulls/{pull_number}/requested_reviewers (docs:
// pulls/review-requests#request-reviewers-for-a-pull-request).
// maxReviewers is the most users and teams one review request asks.
const maxReviewers = 15

func (s *Server) requestReviewers(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	var in reviewersIn
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	p := is.Pull
	if n := len(in.Reviewers) + len(in.TeamReviewers); n > maxReviewers {
		return 0, nil, invalid("PullRequest", "reviewers", "custom", fmt.Sprintf("%d reviewers requested: at most %d may be requested at once", n, maxReviewers))
	}
	for _, u := range in.Reviewers {
		if u == is.User {
			return 0, nil, invalid("PullRequest", "reviewers", "custom", "Review cannot be requested from pull request author.")
		}
		if !validLogin(u) {
			return 0, nil, notCollaborator(c.rs, "reviewers")
		}
	}
	for _, slug := range in.TeamReviewers {
		if s.st.team(c.rs.Owner, slug) == nil {
			return 0, nil, notCollaborator(c.rs, "team_reviewers")
		}
	}
	var added []obj
	for _, u := range in.Reviewers {
		if !slices.Contains(p.Reviewers, u) {
			p.Reviewers = append(p.Reviewers, u)
			added = append(added, obj{"requested_reviewer": s.userJSON(u)})
		}
	}
	for _, slug := range in.TeamReviewers {
		if !slices.Contains(p.TeamReviewers, slug) {
			p.TeamReviewers = append(p.TeamReviewers, slug)
			added = append(added, obj{"requested_team": s.teamJSON(c.rs.Owner, s.st.team(c.rs.Owner, slug))})
		}
	}
	is.UpdatedAt = s.now()
	o := s.pullJSON(c.ctx, c.rs, c.repo, is)
	for _, a := range added {
		a["number"], a["pull_request"] = is.Number, o
		s.emit("pull_request", "review_requested", c.rs, c.who.login, a)
	}
	return http.StatusCreated, o, nil
}

// notCollaborator is GitHub's answer to a review requested from someone who
// cannot review.
func notCollaborator(rs *repoState, field string) error {
	return invalid("PullRequest", field, "custom", fmt.Sprintf("Reviews may only be requested from collaborators. "+
		"One or more of the users or teams you specified is not a collaborator of the %s repository.", rs.fullName()))
}

// removeReviewers: DELETE .../pulls/{pull_number}/requested_reviewers (docs:
// pulls/review-requests#remove-requested-reviewers-from-a-pull-request).
func (s *Server) removeReviewers(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	var in reviewersIn
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	p := is.Pull
	var removed []obj
	for _, u := range in.Reviewers {
		if i := slices.Index(p.Reviewers, u); i >= 0 {
			p.Reviewers = slices.Delete(p.Reviewers, i, i+1)
			removed = append(removed, obj{"requested_reviewer": s.userJSON(u)})
		}
	}
	for _, slug := range in.TeamReviewers {
		if i := slices.Index(p.TeamReviewers, slug); i >= 0 {
			p.TeamReviewers = slices.Delete(p.TeamReviewers, i, i+1)
			if t := s.st.team(c.rs.Owner, slug); t != nil {
				removed = append(removed, obj{"requested_team": s.teamJSON(c.rs.Owner, t)})
			}
		}
	}
	o := s.pullJSON(c.ctx, c.rs, c.repo, is)
	for _, r := range removed {
		r["number"], r["pull_request"] = is.Number, o
		s.emit("pull_request", "review_request_removed", c.rs, c.who.login, r)
	}
	return http.StatusOK, o, nil
}

func (s *Server) reviewJSON(rs *repoState, is *issue, r *review) obj {
	html := s.api("/%s/pull/%d#pullrequestreview-%d", rs.fullName(), is.Number, r.ID)
	pu := s.api("/repos/%s/pulls/%d", rs.fullName(), is.Number)
	return obj{"id": r.ID, "node_id": nodeID("PullRequestReview", r.ID), "user": s.userJSON(r.User),
		"body": r.Body, "state": r.State, "html_url": html, "pull_request_url": pu, "commit_id": r.CommitID,
		"submitted_at": ts(r.SubmittedAt), "author_association": s.association(rs, r.User),
		"_links": obj{"html": obj{"href": html}, "pull_request": obj{"href": pu}}}
}

// listReviews: GET .../pulls/{pull_number}/reviews (docs: pulls/reviews#list-reviews-for-a-pull-request).
func (s *Server) listReviews(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	page := paginate(c, s.cfg.BaseURL, is.Pull.Reviews)
	out := make([]obj, 0, len(page))
	for _, r := range page {
		out = append(out, s.reviewJSON(c.rs, is, r))
	}
	return http.StatusOK, out, nil
}

// reviewStates maps a review event to the state GitHub records.
var reviewStates = map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}

// createReview: POST .../pulls/{pull_number}/reviews (docs: pulls/reviews#create-a-review-for-a-pull-request).
// Reviews are submitted at once; a review without event is not kept
// pending but refused.
func (s *Server) createReview(c *call) (int, any, error) {
	is, err := c.pull()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Body     string `json:"body"`
		Event    string `json:"event"`
		CommitID string `json:"commit_id"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	state, ok := reviewStates[in.Event]
	if !ok {
		return 0, nil, invalid("PullRequestReview", "event", "invalid", "event must be APPROVE, REQUEST_CHANGES or COMMENT")
	}
	if in.Event != "APPROVE" && in.Body == "" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Unprocessable Entity: body is required for %s", in.Event)
	}
	if is.User == c.who.login && in.Event != "COMMENT" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Unprocessable Entity: Can not %s your own pull request",
			strings.ToLower(strings.ReplaceAll(in.Event, "_", " ")))
	}
	_, head := s.heads(c.ctx, c.repo, is)
	commit := head
	if in.CommitID != "" {
		commit = in.CommitID
	}
	r := &review{ID: s.st.newID(), User: c.who.login, Body: in.Body, State: state, CommitID: commit, SubmittedAt: s.now()}
	p := is.Pull
	p.Reviews = append(p.Reviews, r)
	if i := slices.Index(p.Reviewers, c.who.login); i >= 0 {
		p.Reviewers = slices.Delete(p.Reviewers, i, i+1)
	}
	s.emitReview(c, "submitted", is, r)
	return http.StatusOK, s.reviewJSON(c.rs, is, r), nil
}

// emitReview sends the pull_request_review webhook of action. Webhooks spell
// the review's state in lower case, the REST API in upper case.
func (s *Server) emitReview(c *call, action string, is *issue, r *review) {
	o := s.reviewJSON(c.rs, is, r)
	o["state"] = strings.ToLower(r.State)
	s.emit("pull_request_review", action, c.rs, c.who.login, obj{"review": o,
		"pull_request": s.pullSimpleJSON(c.ctx, c.rs, c.repo, is)})
}

// review returns the pull request and the review the route's {number} and
// {id} name.
func (c *call) review() (*issue, *review, error) {
	is, err := c.pull()
	if err != nil {
		return nil, nil, err
	}
	id, err := c.intParam("id")
	if err != nil {
		return nil, nil, err
	}
	for _, r := range is.Pull.Reviews {
		if r.ID == id {
			return is, r, nil
		}
	}
	return nil, nil, errNotFound
}

// getReview: GET .../pulls/{pull_number}/reviews/{review_id} (docs: pulls/reviews#get-a-review-for-a-pull-request).
func (s *Server) getReview(c *call) (int, any, error) {
	is, r, err := c.review()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.reviewJSON(c.rs, is, r), nil
}

// dismissReview: PUT .../pulls/{pull_number}/reviews/{review_id}/dismissals
// (docs: pulls/reviews#dismiss-a-review-for-a-pull-request). Only an
// approval or a request for changes can be dismissed; the review keeps its
// body and commit and its state becomes DISMISSED.
func (s *Server) dismissReview(c *call) (int, any, error) {
	is, r, err := c.review()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Message string `json:"message"`
		Event   string `json:"event"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Message == "" {
		return 0, nil, invalid("PullRequestReview", "message", "missing_field", "")
	}
	if r.State != "APPROVED" && r.State != "CHANGES_REQUESTED" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Unprocessable Entity: Can not dismiss a %s pull request review",
			strings.ToLower(r.State))
	}
	r.State = "DISMISSED"
	is.UpdatedAt = s.now()
	s.emitReview(c, "dismissed", is, r)
	return http.StatusOK, s.reviewJSON(c.rs, is, r), nil
}
