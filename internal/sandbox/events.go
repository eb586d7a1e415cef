package sandbox

import (
	"context"
	"log/slog"
	"strings"

	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

// zeroSHA is the "no commit" value of push payloads.
const zeroSHA = "0000000000000000000000000000000000000000"

// emit queues event about rs with the common fields GitHub adds: action,
// repository, sender, installation and, for an organization's repository,
// organization.
func (s *Server) emit(event, action string, rs *repoState, sender string, fields obj) {
	payload := obj{}
	for k, v := range fields {
		payload[k] = v
	}
	if action != "" {
		payload["action"] = action
	}
	payload["repository"] = s.repoJSON(rs)
	payload["sender"] = s.userJSON(sender)
	inst := s.st.Installations[rs.Owner]
	var instID int64
	if inst != nil {
		instID = inst.ID
		if _, ok := payload["installation"]; !ok {
			payload["installation"] = obj{"id": inst.ID, "node_id": nodeID("Installation", inst.ID)}
		}
	}
	if a := s.st.Accounts[rs.Owner]; a != nil && a.Type == "Organization" {
		u := s.api("/orgs/%s", a.Login)
		payload["organization"] = obj{"login": a.Login, "id": a.ID, "node_id": nodeID("Organization", a.ID),
			"url": u, "repos_url": u + "/repos", "events_url": u + "/events", "hooks_url": u + "/hooks",
			"issues_url": u + "/issues", "members_url": u + "/members{/member}",
			"public_members_url": u + "/public_members{/member}", "avatar_url": s.api("/avatars/%s", a.Login),
			"description": nil}
	}
	if event == "push" {
		// Push payloads describe the repository with a few fields more.
		repo := payload["repository"].(obj)
		repo["master_branch"], repo["stargazers"] = rs.DefaultBranch, 0
	}
	s.hooks.enqueue(event, instID, payload)
}

// onPush is called by the git server after a push moved refs.
func (s *Server) onPush(ctx context.Context, owner, name, user string, updates []gitrepo.RefUpdate) {
	repo, err := gitrepo.Open(gitrepo.RepoPath(s.reposRoot(), owner, name))
	if err != nil {
		slog.Error("sandbox: push", "repo", owner+"/"+name, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.Repos[owner+"/"+name]
	if rs == nil {
		return
	}
	s.refsChanged(ctx, rs, repo, user, updates)
	if err := s.save(); err != nil {
		slog.Error("sandbox: save state after push", "repo", rs.fullName(), "err", err)
	}
}

// refsChanged sends push events for ref updates, whether made by a push or
// through the REST API, and keeps open pull requests in step with their
// branches (synchronize). It runs under s.mu.
func (s *Server) refsChanged(ctx context.Context, rs *repoState, repo *gitrepo.Repo, user string, updates []gitrepo.RefUpdate) {
	now := s.now()
	rs.PushedAt, rs.UpdatedAt = now, now
	for _, u := range updates {
		s.emit("push", "", rs, user, s.pushPayload(ctx, rs, repo, user, u))
		branch, ok := strings.CutPrefix(u.Name, "refs/heads/")
		if !ok {
			continue
		}
		deleted := u.New == "" || u.New == zeroSHA
		for _, is := range rs.Issues {
			p := is.Pull
			if p == nil || is.State != "open" {
				continue
			}
			switch {
			case p.Head == branch && deleted:
				// GitHub closes a pull request whose head branch is deleted.
				is.State, is.ClosedAt, is.UpdatedAt = "closed", &now, now
				s.emit("pull_request", "closed", rs, user, obj{"number": is.Number, "pull_request": s.pullJSON(ctx, rs, repo, is)})
			case p.Head == branch:
				before := p.HeadSHA
				p.HeadSHA = u.New
				is.UpdatedAt = now
				s.emit("pull_request", "synchronize", rs, user, obj{"number": is.Number,
					"pull_request": s.pullJSON(ctx, rs, repo, is), "before": before, "after": u.New})
			case p.Base == branch && !deleted:
				s.mergedByPush(ctx, rs, repo, is, user, u.New)
			}
		}
	}
}

// mergedByPush marks a pull request merged when a push made its head part
// of its base branch, as GitHub does for merges made outside it.
func (s *Server) mergedByPush(ctx context.Context, rs *repoState, repo *gitrepo.Repo, is *issue, user, base string) {
	_, head := s.heads(ctx, repo, is)
	if ok, err := repo.IsAncestor(ctx, head, base); err != nil || !ok {
		return
	}
	now := s.now()
	p := is.Pull
	p.Merged, p.MergedAt, p.MergedBy, p.MergeCommitSHA = true, &now, user, base
	p.BaseSHA, p.HeadSHA = base, head
	is.State, is.ClosedAt, is.UpdatedAt = "closed", &now, now
	s.emit("pull_request", "closed", rs, user, obj{"number": is.Number, "pull_request": s.pullJSON(ctx, rs, repo, is)})
}

// pushPayload is the body of a push event for one ref update.
func (s *Server) pushPayload(ctx context.Context, rs *repoState, repo *gitrepo.Repo, user string, u gitrepo.RefUpdate) obj {
	before, after := orZero(u.Old), orZero(u.New)
	created, deleted := before == zeroSHA, after == zeroSHA
	commits := []obj{}
	var head any
	if !deleted {
		from := before
		if created {
			from = ""
			if def, err := repo.ResolveRef(ctx, "refs/heads/"+rs.DefaultBranch); err == nil && def != after {
				from = def
			}
		}
		log, err := repo.Log(ctx, from, after)
		if err != nil {
			log = nil
		}
		if len(log) > 20 {
			log = log[len(log)-20:]
		}
		for _, ci := range log {
			commits = append(commits, s.pushCommit(ctx, rs, repo, ci))
		}
		if ci, err := repo.Commit(ctx, after); err == nil {
			head = s.pushCommit(ctx, rs, repo, ci)
		}
	}
	u2 := s.userJSON(user)
	return obj{
		"ref": u.Name, "before": before, "after": after, "created": created, "deleted": deleted,
		"forced": false, "base_ref": nil, "compare": s.api("/%s/compare/%s...%s", rs.fullName(), before[:12], after[:12]),
		"commits": commits, "head_commit": head,
		"pusher": obj{"name": user, "email": noreplyEmail(u2["id"].(int64), user)},
	}
}

// pushCommit is one commit of a push payload with its added, removed and
// modified paths.
func (s *Server) pushCommit(ctx context.Context, rs *repoState, repo *gitrepo.Repo, ci gitrepo.CommitInfo) obj {
	added, removed, modified := []string{}, []string{}, []string{}
	parent := ""
	if len(ci.Parents) > 0 {
		parent = ci.Parents[0]
	}
	if files, err := repo.ChangedFiles(ctx, parent, ci.SHA); err == nil {
		for _, f := range files {
			switch f.Status {
			case "added":
				added = append(added, f.Path)
			case "removed":
				removed = append(removed, f.Path)
			default:
				modified = append(modified, f.Path)
			}
		}
	}
	return obj{
		"id": ci.SHA, "tree_id": ci.Tree, "distinct": true, "message": ci.Message, "timestamp": ts(ci.Committer.When),
		"url":       s.api("/%s/commit/%s", rs.fullName(), ci.SHA),
		"author":    obj{"name": ci.Author.Name, "email": ci.Author.Email},
		"committer": obj{"name": ci.Committer.Name, "email": ci.Committer.Email},
		"added":     added, "removed": removed, "modified": modified,
	}
}

func orZero(sha string) string {
	if sha == "" {
		return zeroSHA
	}
	return sha
}
