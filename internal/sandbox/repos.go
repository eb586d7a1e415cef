package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

// defaultBranch is the branch new repositories start on.
const defaultBranch = "main"

func noreplyEmail(id int64, login string) string {
	return fmt.Sprintf("%d+%s@users.noreply.github.com", id, login)
}

// routes registers every endpoint; see the GitHub REST API pages named in
// each handler's comment.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, meter{}, errNotFound)
	})
	// Repositories and git data.
	s.handle("POST /orgs/{org}/repos", accessUser, s.createOrgRepo)
	s.handle("POST /user/repos", accessUser, s.createUserRepo)
	s.handle("GET /repos/{owner}/{repo}", accessUser, s.getRepo)
	s.handle("PATCH /repos/{owner}/{repo}", accessUser, s.editRepo)
	s.handle("GET /repos/{owner}/{repo}/contents/{path...}", accessUser, s.getContents)
	s.handle("GET /repos/{owner}/{repo}/git/blobs/{sha}", accessUser, s.getBlob)
	s.handle("POST /repos/{owner}/{repo}/git/blobs", accessUser, s.createBlob)
	s.handle("GET /repos/{owner}/{repo}/git/trees/{sha}", accessUser, s.getTree)
	s.handle("POST /repos/{owner}/{repo}/git/trees", accessUser, s.createTree)
	s.handle("GET /repos/{owner}/{repo}/git/commits/{sha}", accessUser, s.getCommit)
	s.handle("POST /repos/{owner}/{repo}/git/commits", accessUser, s.createCommit)
	s.handle("GET /repos/{owner}/{repo}/git/ref/{ref...}", accessUser, s.getRef)
	s.handle("GET /repos/{owner}/{repo}/git/matching-refs/{ref...}", accessUser, s.matchingRefs)
	s.handle("POST /repos/{owner}/{repo}/git/refs", accessUser, s.createRef)
	s.handle("PATCH /repos/{owner}/{repo}/git/refs/{ref...}", accessUser, s.updateRef)
	s.handle("DELETE /repos/{owner}/{repo}/git/refs/{ref...}", accessUser, s.deleteRef)
	s.handle("GET /repos/{owner}/{repo}/branches/{branch...}", accessUser, s.getBranch)
	s.handle("GET /repos/{owner}/{repo}/compare/{basehead...}", accessUser, s.compare)
	s.protectionRoutes()
	s.pullRoutes()
	s.issueRoutes()
	s.checkRoutes()
	s.orgRoutes()
	s.appRoutes()
	s.graphqlRoutes()
}

type newRepo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Private     bool   `json:"private"`
	AutoInit    bool   `json:"auto_init"`
}

// createOrgRepo: POST /orgs/{org}/repos (docs: repos#create-an-organization-repository).
func (s *Server) createOrgRepo(c *call) (int, any, error) {
	org := c.r.PathValue("org")
	if c.who.inst != nil && c.who.inst.Account != org {
		return 0, nil, errNotAllowed
	}
	if !validLogin(org) {
		return 0, nil, errNotFound
	}
	a := s.st.account(org, s.now())
	if a.Type == "User" && len(s.ownedRepos(org)) == 0 && org != AdminLogin {
		a.Type = "Organization"
	}
	if a.Type != "Organization" {
		return 0, nil, errNotFound
	}
	return s.createRepo(c, org)
}

// createUserRepo: POST /user/repos (docs: repos#create-a-repository-for-the-authenticated-user).
func (s *Server) createUserRepo(c *call) (int, any, error) {
	if c.who.inst != nil {
		return 0, nil, errNotAllowed
	}
	return s.createRepo(c, c.who.login)
}

func (s *Server) ownedRepos(owner string) []*repoState {
	var out []*repoState
	for _, rs := range s.st.Repos {
		if rs.Owner == owner {
			out = append(out, rs)
		}
	}
	return out
}

func validRepoName(n string) bool {
	if n == "" || len(n) > 100 || n == "." || n == ".." || strings.HasSuffix(n, ".git") {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (s *Server) createRepo(c *call, owner string) (int, any, error) {
	var in newRepo
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if !validRepoName(in.Name) {
		return 0, nil, invalid("Repository", "name", "custom", "name is invalid")
	}
	if s.st.Repos[owner+"/"+in.Name] != nil {
		return 0, nil, invalid("Repository", "name", "custom", "name already exists on this account")
	}
	repo, err := gitrepo.Init(gitrepo.RepoPath(s.reposRoot(), owner, in.Name), defaultBranch)
	if err != nil {
		return 0, nil, fmt.Errorf("create repository %s/%s: %w", owner, in.Name, err)
	}
	now := s.now()
	rs := &repoState{ID: s.st.newID(), Owner: owner, Name: in.Name, Description: in.Description,
		Private: in.Private, DefaultBranch: defaultBranch, CreatedAt: now, UpdatedAt: now, PushedAt: now,
		NextNumber: 1, Collaborators: map[string]string{}}
	if in.AutoInit {
		if err := s.initialCommit(c, rs, repo); err != nil {
			return 0, nil, err
		}
	}
	s.st.Repos[rs.fullName()] = rs
	inst := s.ensureInstallation(owner)
	s.emit("installation_repositories", "added", rs, c.who.login, obj{
		"installation": s.installationJSON(inst), "repository_selection": "all",
		"repositories_added": []obj{s.minimalRepoJSON(rs)}, "repositories_removed": []obj{}, "requester": nil,
	})
	return http.StatusCreated, s.repoJSON(rs), nil
}

// initialCommit writes the README commit of auto_init.
func (s *Server) initialCommit(c *call, rs *repoState, repo *gitrepo.Repo) error {
	blob, err := repo.WriteBlob(c.ctx, []byte("# "+rs.Name+"\n"))
	if err != nil {
		return err
	}
	tree, err := repo.WriteTree(c.ctx, "", []gitrepo.TreeChange{{Path: "README.md", Mode: "100644", SHA: blob}})
	if err != nil {
		return err
	}
	sig := s.signature(c.who)
	sha, err := repo.WriteCommit(c.ctx, gitrepo.CommitInfo{Tree: tree, Author: sig, Committer: sig, Message: "Initial commit"})
	if err != nil {
		return err
	}
	return repo.UpdateRef(c.ctx, "refs/heads/"+rs.DefaultBranch, sha, "")
}

// signature is who the caller writes commits as by default.
func (s *Server) signature(p *principal) gitrepo.Signature {
	a := s.st.account(p.login, s.now())
	return gitrepo.Signature{Name: p.login, Email: noreplyEmail(a.ID, p.login), When: s.now()}
}

// ensureInstallation returns the App's installation on account, installing
// it on first use.
func (s *Server) ensureInstallation(account string) *installation {
	if inst := s.st.Installations[account]; inst != nil {
		return inst
	}
	inst := &installation{ID: s.st.newID(), Account: account, CreatedAt: s.now()}
	s.st.Installations[account] = inst
	return inst
}

// getRepo: GET /repos/{owner}/{repo} (docs: repos#get-a-repository).
func (s *Server) getRepo(c *call) (int, any, error) {
	return http.StatusOK, s.repoJSON(c.rs), nil
}

// editRepo: PATCH /repos/{owner}/{repo} (docs: repos#update-a-repository).
// The sandbox changes the description and the merge methods a pull request
// may use; other fields are ignored. Rebase merges cannot be turned on.
func (s *Server) editRepo(c *call) (int, any, error) {
	var in struct {
		Description *string `json:"description"`
		AllowMerge  *bool   `json:"allow_merge_commit"`
		AllowSquash *bool   `json:"allow_squash_merge"`
		AllowRebase *bool   `json:"allow_rebase_merge"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.AllowRebase != nil && *in.AllowRebase {
		return 0, nil, invalid("Repository", "allow_rebase_merge", "invalid", "the sandbox does not rebase: allow_rebase_merge must be false")
	}
	noMerge, noSquash := c.rs.NoMergeCommit, c.rs.NoSquashMerge
	if in.AllowMerge != nil {
		noMerge = !*in.AllowMerge
	}
	if in.AllowSquash != nil {
		noSquash = !*in.AllowSquash
	}
	if noMerge && noSquash {
		return 0, nil, invalid("Repository", "merge_commit_allowed", "invalid", "Sorry, you need to allow at least one merge strategy.")
	}
	c.rs.NoMergeCommit, c.rs.NoSquashMerge = noMerge, noSquash
	if in.Description != nil {
		c.rs.Description = *in.Description
	}
	c.rs.UpdatedAt = s.now()
	return http.StatusOK, s.repoJSON(c.rs), nil
}

// refOrDefault is the ref query parameter, or the default branch.
func (c *call) refOrDefault() string {
	if ref := c.r.URL.Query().Get("ref"); ref != "" {
		return ref
	}
	return c.rs.DefaultBranch
}

// getContents: GET /repos/{owner}/{repo}/contents/{path} (docs:
// repos/contents#get-repository-content).
func (s *Server) getContents(c *call) (int, any, error) {
	p := strings.Trim(c.r.PathValue("path"), "/")
	ref := c.refOrDefault()
	data, sha, _, err := c.repo.FileAt(c.ctx, ref, p)
	switch {
	case errors.Is(err, gitrepo.ErrIsDir) || (p == "" && err == nil):
		return s.listDir(c, ref, p)
	case errors.Is(err, gitrepo.ErrNotFound), errors.Is(err, gitrepo.ErrInvalid):
		return 0, nil, errNotFound
	case err != nil:
		return 0, nil, err
	}
	o := s.contentEntry(c, ref, p, "file", sha, int64(len(data)))
	o["encoding"] = "base64"
	o["content"] = wrap76(base64.StdEncoding.EncodeToString(data))
	return http.StatusOK, o, nil
}

// wrap76 breaks base64 text into lines as GitHub's contents API does.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

func (s *Server) contentEntry(c *call, ref, p, typ, sha string, size int64) obj {
	self := s.api("/repos/%s/contents/%s?ref=%s", c.rs.fullName(), p, ref)
	kind := "blob"
	if typ == "dir" {
		kind = "tree"
	}
	git := s.api("/repos/%s/git/%ss/%s", c.rs.fullName(), kind, sha)
	html := s.api("/%s/%s/%s/%s", c.rs.fullName(), kind, ref, p)
	var download any
	if typ == "file" {
		download = s.api("/%s/raw/%s/%s", c.rs.fullName(), ref, p)
	}
	return obj{"type": typ, "name": path.Base(p), "path": p, "sha": sha, "size": size, "url": self,
		"git_url": git, "html_url": html, "download_url": download,
		"_links": obj{"self": self, "git": git, "html": html}}
}

func (s *Server) listDir(c *call, ref, p string) (int, any, error) {
	entries, err := c.repo.Tree(c.ctx, ref+":"+p, false)
	if err != nil {
		return 0, nil, err
	}
	out := make([]obj, 0, len(entries))
	for _, e := range entries {
		typ := "file"
		switch e.Type {
		case "tree":
			typ = "dir"
		case "commit":
			typ = "submodule"
		}
		out = append(out, s.contentEntry(c, ref, path.Join(p, e.Path), typ, e.SHA, e.Size))
	}
	return http.StatusOK, out, nil
}

// getBlob: GET /repos/{owner}/{repo}/git/blobs/{sha} (docs: git/blobs#get-a-blob).
func (s *Server) getBlob(c *call) (int, any, error) {
	sha := c.r.PathValue("sha")
	if typ, err := c.repo.ObjectType(c.ctx, sha); err != nil || typ != "blob" {
		return 0, nil, errNotFound
	}
	data, err := c.repo.ReadBlob(c.ctx, sha)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, obj{"sha": sha, "node_id": "B_" + sha, "size": len(data),
		"url": s.api("/repos/%s/git/blobs/%s", c.rs.fullName(), sha), "encoding": "base64",
		"content": wrap76(base64.StdEncoding.EncodeToString(data))}, nil
}

// createBlob: POST /repos/{owner}/{repo}/git/blobs (docs: git/blobs#create-a-blob).
func (s *Server) createBlob(c *call) (int, any, error) {
	var in struct {
		Content  *string `json:"content"`
		Encoding string  `json:"encoding"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Content == nil {
		return 0, nil, invalid("Blob", "content", "missing_field", "")
	}
	data := []byte(*in.Content)
	switch in.Encoding {
	case "", "utf-8":
	case "base64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(*in.Content, "\n", "")); err != nil {
			return 0, nil, invalid("Blob", "content", "invalid", "content is not valid Base64")
		}
	default:
		return 0, nil, invalid("Blob", "encoding", "invalid", "encoding must be utf-8 or base64")
	}
	sha, err := c.repo.WriteBlob(c.ctx, data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, obj{"sha": sha, "url": s.api("/repos/%s/git/blobs/%s", c.rs.fullName(), sha)}, nil
}

func (s *Server) treeJSON(c *call, sha string, entries []gitrepo.TreeEntry) obj {
	out := make([]obj, 0, len(entries))
	for _, e := range entries {
		o := obj{"path": e.Path, "mode": e.Mode, "type": e.Type, "sha": e.SHA}
		switch e.Type {
		case "blob":
			o["size"] = e.Size
			o["url"] = s.api("/repos/%s/git/blobs/%s", c.rs.fullName(), e.SHA)
		case "tree":
			o["url"] = s.api("/repos/%s/git/trees/%s", c.rs.fullName(), e.SHA)
		}
		out = append(out, o)
	}
	return obj{"sha": sha, "url": s.api("/repos/%s/git/trees/%s", c.rs.fullName(), sha), "tree": out, "truncated": false}
}

// getTree: GET /repos/{owner}/{repo}/git/trees/{tree_sha} (docs: git/trees#get-a-tree).
func (s *Server) getTree(c *call) (int, any, error) {
	sha := c.r.PathValue("sha")
	recursive := c.r.URL.Query().Get("recursive")
	entries, err := c.repo.Tree(c.ctx, sha, recursive != "" && recursive != "0" && recursive != "false")
	if err != nil {
		return 0, nil, errNotFound
	}
	if len(sha) != 40 {
		if ci, err := c.repo.Commit(c.ctx, sha); err == nil {
			sha = ci.Tree
		} else if resolved, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+sha); err == nil {
			if ci, err := c.repo.Commit(c.ctx, resolved); err == nil {
				sha = ci.Tree
			}
		}
	} else if ci, err := c.repo.Commit(c.ctx, sha); err == nil {
		sha = ci.Tree
	}
	return http.StatusOK, s.treeJSON(c, sha, entries), nil
}

type newTreeEntry struct {
	Path    string          `json:"path"`
	Mode    string          `json:"mode"`
	Type    string          `json:"type"`
	SHA     json.RawMessage `json:"sha"`
	Content *string         `json:"content"`
}

// createTree: POST /repos/{owner}/{repo}/git/trees (docs: git/trees#create-a-tree).
// An entry whose sha is null deletes the path from base_tree.
func (s *Server) createTree(c *call) (int, any, error) {
	var in struct {
		BaseTree string         `json:"base_tree"`
		Tree     []newTreeEntry `json:"tree"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Tree == nil {
		return 0, nil, invalid("Tree", "tree", "missing_field", "")
	}
	base := in.BaseTree
	if base != "" {
		typ, err := c.repo.ObjectType(c.ctx, base)
		if err != nil {
			return 0, nil, invalid("Tree", "base_tree", "invalid", "base_tree does not exist")
		}
		if typ == "commit" {
			ci, err := c.repo.Commit(c.ctx, base)
			if err != nil {
				return 0, nil, err
			}
			base = ci.Tree
		}
	}
	changes := make([]gitrepo.TreeChange, 0, len(in.Tree))
	for i, e := range in.Tree {
		field := fmt.Sprintf("tree[%d]", i)
		if e.Path == "" {
			return 0, nil, invalid("Tree", field+".path", "missing_field", "")
		}
		mode := e.Mode
		if mode == "" {
			mode = "100644"
		}
		ch := gitrepo.TreeChange{Path: e.Path, Mode: mode}
		switch {
		case e.Content != nil:
			sha, err := c.repo.WriteBlob(c.ctx, []byte(*e.Content))
			if err != nil {
				return 0, nil, err
			}
			ch.SHA = sha
		case len(e.SHA) == 0:
			return 0, nil, invalid("Tree", field+".sha", "missing_field", "either sha or content is required")
		case string(e.SHA) == "null":
			ch.SHA = ""
		default:
			if err := json.Unmarshal(e.SHA, &ch.SHA); err != nil {
				return 0, nil, invalid("Tree", field+".sha", "invalid", "sha must be a string or null")
			}
			if _, err := c.repo.ObjectType(c.ctx, ch.SHA); err != nil {
				return 0, nil, invalid("Tree", field+".sha", "invalid", fmt.Sprintf("%s is not a valid object", ch.SHA))
			}
		}
		changes = append(changes, ch)
	}
	sha, err := c.repo.WriteTree(c.ctx, base, changes)
	if errors.Is(err, gitrepo.ErrInvalid) {
		return 0, nil, invalid("Tree", "tree", "invalid", err.Error())
	}
	if err != nil {
		return 0, nil, err
	}
	entries, err := c.repo.Tree(c.ctx, sha, false)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.treeJSON(c, sha, entries), nil
}

// getCommit: GET /repos/{owner}/{repo}/git/commits/{commit_sha} (docs: git/commits#get-a-commit-object).
func (s *Server) getCommit(c *call) (int, any, error) {
	sha := c.r.PathValue("sha")
	if typ, err := c.repo.ObjectType(c.ctx, sha); err != nil || typ != "commit" {
		return 0, nil, errNotFound
	}
	ci, err := c.repo.Commit(c.ctx, sha)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.gitCommitJSON(c.rs, ci), nil
}

type sigIn struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

func (in *sigIn) signature(field string, def gitrepo.Signature) (gitrepo.Signature, error) {
	if in == nil {
		return def, nil
	}
	if in.Name == "" || in.Email == "" {
		return def, invalid("Commit", field, "missing_field", field+" needs name and email")
	}
	sg := gitrepo.Signature{Name: in.Name, Email: in.Email, When: def.When}
	if in.Date != "" {
		t, err := time.Parse(time.RFC3339, in.Date)
		if err != nil {
			return def, invalid("Commit", field+".date", "invalid", "date must be ISO 8601")
		}
		sg.When = t
	}
	return sg, nil
}

// createCommit: POST /repos/{owner}/{repo}/git/commits (docs: git/commits#create-a-commit).
// Commits the App makes without naming a committer are committed by GitHub
// and come back verified, as on GitHub.
func (s *Server) createCommit(c *call) (int, any, error) {
	var in struct {
		Message   *string  `json:"message"`
		Tree      string   `json:"tree"`
		Parents   []string `json:"parents"`
		Author    *sigIn   `json:"author"`
		Committer *sigIn   `json:"committer"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Message == nil {
		return 0, nil, invalid("Commit", "message", "missing_field", "")
	}
	if typ, err := c.repo.ObjectType(c.ctx, in.Tree); err != nil || typ != "tree" {
		return 0, nil, invalid("Commit", "tree", "invalid", "Tree SHA does not exist")
	}
	for _, p := range in.Parents {
		if typ, err := c.repo.ObjectType(c.ctx, p); err != nil || typ != "commit" {
			return 0, nil, invalid("Commit", "parents", "invalid", "Parent SHA does not exist or is not a commit object")
		}
	}
	def := s.signature(c.who)
	author, err := in.Author.signature("author", def)
	if err != nil {
		return 0, nil, err
	}
	committerDef := author
	if c.who.inst != nil {
		committerDef = gitrepo.Signature{Name: "GitHub", Email: webFlowEmail, When: def.When}
	}
	committer, err := in.Committer.signature("committer", committerDef)
	if err != nil {
		return 0, nil, err
	}
	sha, err := c.repo.WriteCommit(c.ctx, gitrepo.CommitInfo{Tree: in.Tree, Parents: in.Parents,
		Author: author, Committer: committer, Message: *in.Message})
	if err != nil {
		return 0, nil, err
	}
	ci, err := c.repo.Commit(c.ctx, sha)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.gitCommitJSON(c.rs, ci), nil
}

func (s *Server) refJSON(c *call, name, sha string) obj {
	typ, err := c.repo.ObjectType(c.ctx, sha)
	if err != nil {
		typ = "commit"
	}
	return obj{"ref": name, "node_id": "REF_" + base64.RawStdEncoding.EncodeToString([]byte(c.rs.fullName()+":"+name)),
		"url":    s.api("/repos/%s/git/%s", c.rs.fullName(), name),
		"object": obj{"type": typ, "sha": sha, "url": s.api("/repos/%s/git/%ss/%s", c.rs.fullName(), typ, sha)}}
}

// getRef: GET /repos/{owner}/{repo}/git/ref/{ref} (docs: git/refs#get-a-reference).
func (s *Server) getRef(c *call) (int, any, error) {
	name := "refs/" + c.r.PathValue("ref")
	sha, err := c.repo.ResolveRef(c.ctx, name)
	if err != nil {
		return 0, nil, errNotFound
	}
	return http.StatusOK, s.refJSON(c, name, sha), nil
}

// matchingRefs: GET /repos/{owner}/{repo}/git/matching-refs/{ref} (docs:
// git/refs#list-matching-references).
func (s *Server) matchingRefs(c *call) (int, any, error) {
	refs, err := c.repo.Refs(c.ctx, "refs/"+c.r.PathValue("ref"))
	if err != nil {
		return 0, nil, err
	}
	out := []obj{}
	for _, ref := range refs {
		out = append(out, s.refJSON(c, ref.Name, ref.SHA))
	}
	return http.StatusOK, out, nil
}

// validRef checks a ref name given to POST /git/refs: under refs/ with at
// least two slashes, as GitHub requires.
func validRef(name string) bool {
	return strings.HasPrefix(name, "refs/") && strings.Count(name, "/") >= 2
}

// createRef: POST /repos/{owner}/{repo}/git/refs (docs: git/refs#create-a-reference).
func (s *Server) createRef(c *call) (int, any, error) {
	var in struct{ Ref, SHA string }
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if !validRef(in.Ref) {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference name is invalid")
	}
	if _, err := c.repo.ObjectType(c.ctx, in.SHA); err != nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Object does not exist")
	}
	err := c.repo.UpdateRef(c.ctx, in.Ref, in.SHA, zeroSHA)
	switch {
	case errors.Is(err, gitrepo.ErrStale):
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference already exists")
	case errors.Is(err, gitrepo.ErrInvalid):
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference name is invalid")
	case err != nil:
		return 0, nil, err
	}
	s.refsChanged(c.ctx, c.rs, c.repo, c.who.login, []gitrepo.RefUpdate{{Name: in.Ref, Old: zeroSHA, New: in.SHA}})
	return http.StatusCreated, s.refJSON(c, in.Ref, in.SHA), nil
}

// updateRef: PATCH /repos/{owner}/{repo}/git/refs/{ref} (docs: git/refs#update-a-reference).
func (s *Server) updateRef(c *call) (int, any, error) {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	name := "refs/" + c.r.PathValue("ref")
	old, err := c.repo.ResolveRef(c.ctx, name)
	if err != nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference does not exist")
	}
	if typ, err := c.repo.ObjectType(c.ctx, in.SHA); err != nil || typ != "commit" {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Object does not exist")
	}
	if !in.Force {
		ff, err := c.repo.IsAncestor(c.ctx, old, in.SHA)
		if err != nil {
			return 0, nil, err
		}
		if !ff {
			return 0, nil, errorf(http.StatusUnprocessableEntity, "Update is not a fast forward")
		}
	}
	if err := c.repo.UpdateRef(c.ctx, name, in.SHA, old); err != nil {
		if errors.Is(err, gitrepo.ErrStale) {
			return 0, nil, errorf(http.StatusConflict, "Reference update failed")
		}
		return 0, nil, err
	}
	if old != in.SHA {
		s.refsChanged(c.ctx, c.rs, c.repo, c.who.login, []gitrepo.RefUpdate{{Name: name, Old: old, New: in.SHA}})
	}
	return http.StatusOK, s.refJSON(c, name, in.SHA), nil
}

// deleteRef: DELETE /repos/{owner}/{repo}/git/refs/{ref} (docs: git/refs#delete-a-reference).
func (s *Server) deleteRef(c *call) (int, any, error) {
	name := "refs/" + c.r.PathValue("ref")
	old, err := c.repo.ResolveRef(c.ctx, name)
	if err != nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, "Reference does not exist")
	}
	if err := c.repo.DeleteRef(c.ctx, name, old); err != nil {
		return 0, nil, err
	}
	s.refsChanged(c.ctx, c.rs, c.repo, c.who.login, []gitrepo.RefUpdate{{Name: name, Old: old, New: zeroSHA}})
	return http.StatusNoContent, nil, nil
}

// getBranch: GET /repos/{owner}/{repo}/branches/{branch} (docs: branches/branches#get-a-branch).
func (s *Server) getBranch(c *call) (int, any, error) {
	branch := c.r.PathValue("branch")
	sha, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+branch)
	if err != nil {
		return 0, nil, errorf(http.StatusNotFound, "Branch not found")
	}
	ci, err := c.repo.Commit(c.ctx, sha)
	if err != nil {
		return 0, nil, err
	}
	self := s.api("/repos/%s/branches/%s", c.rs.fullName(), branch)
	return http.StatusOK, obj{
		"name": branch, "commit": s.commitJSON(c.rs, ci), "protected": c.rs.Protections[branch] != nil,
		"protection":     branchProtectionJSON(c.rs.Protections[branch]),
		"protection_url": self + "/protection",
		"_links":         obj{"self": self, "html": s.api("/%s/tree/%s", c.rs.fullName(), branch)},
	}, nil
}

// resolve turns a branch name, "owner:branch" or a commit SHA into a commit
// SHA.
func (s *Server) resolve(c *call, rev string) (string, error) {
	if _, branch, ok := strings.Cut(rev, ":"); ok {
		rev = branch
	}
	if sha, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+rev); err == nil {
		return sha, nil
	}
	if sha, err := c.repo.ResolveRef(c.ctx, "refs/tags/"+rev); err == nil {
		return sha, nil
	}
	ci, err := c.repo.Commit(c.ctx, rev)
	if err != nil {
		return "", errNotFound
	}
	return ci.SHA, nil
}

// compare: GET /repos/{owner}/{repo}/compare/{basehead} (docs: commits/commits#compare-two-commits).
func (s *Server) compare(c *call) (int, any, error) {
	basehead := c.r.PathValue("basehead")
	baseRev, headRev, ok := strings.Cut(basehead, "...")
	if !ok {
		return 0, nil, errNotFound
	}
	base, err := s.resolve(c, baseRev)
	if err != nil {
		return 0, nil, err
	}
	head, err := s.resolve(c, headRev)
	if err != nil {
		return 0, nil, err
	}
	mb, err := c.repo.MergeBase(c.ctx, base, head)
	if err != nil {
		return 0, nil, errorf(http.StatusNotFound, "No common ancestor between %s and %s.", baseRev, headRev)
	}
	ahead, behind, err := c.repo.AheadBehind(c.ctx, base, head)
	if err != nil {
		return 0, nil, err
	}
	status := "diverged"
	switch {
	case ahead == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case ahead == 0:
		status = "behind"
	}
	log, err := c.repo.Log(c.ctx, mb, head)
	if err != nil {
		return 0, nil, err
	}
	commits := make([]obj, 0, len(log))
	for _, ci := range log {
		commits = append(commits, s.commitJSON(c.rs, ci))
	}
	files, err := c.repo.ChangedFiles(c.ctx, mb, head)
	if err != nil {
		return 0, nil, err
	}
	baseCI, err := c.repo.Commit(c.ctx, base)
	if err != nil {
		return 0, nil, err
	}
	mbCI, err := c.repo.Commit(c.ctx, mb)
	if err != nil {
		return 0, nil, err
	}
	html := s.api("/%s/compare/%s", c.rs.fullName(), basehead)
	return http.StatusOK, obj{
		"url": s.api("/repos/%s/compare/%s", c.rs.fullName(), basehead), "html_url": html,
		"permalink_url": s.api("/%s/compare/%s...%s", c.rs.fullName(), base, head),
		"diff_url":      html + ".diff", "patch_url": html + ".patch",
		"base_commit": s.commitJSON(c.rs, baseCI), "merge_base_commit": s.commitJSON(c.rs, mbCI),
		"status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": len(log),
		"commits": commits, "files": s.filesJSON(c, head, files),
	}, nil
}

// filesJSON is a list of diff-entry.
func (s *Server) filesJSON(c *call, head string, files []gitrepo.FileChange) []obj {
	out := make([]obj, 0, len(files))
	for _, f := range files {
		var sha any
		if f.Status != "removed" {
			if _, blob, _, err := c.repo.FileAt(c.ctx, head, f.Path); err == nil {
				sha = blob
			}
		}
		out = append(out, obj{
			"sha": sha, "filename": f.Path, "status": f.Status, "additions": f.Additions,
			"deletions": f.Deletions, "changes": f.Additions + f.Deletions, "patch": f.Patch,
			"blob_url":     s.api("/%s/blob/%s/%s", c.rs.fullName(), head, f.Path),
			"raw_url":      s.api("/%s/raw/%s/%s", c.rs.fullName(), head, f.Path),
			"contents_url": s.api("/repos/%s/contents/%s?ref=%s", c.rs.fullName(), f.Path, head),
		})
	}
	return out
}
