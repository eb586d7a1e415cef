package gh

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/google/go-github/v88/github"
)

// Repository returns a repository's metadata.
// https://docs.github.com/rest/repos/repos#get-a-repository
func (c *Client) Repository(ctx context.Context, owner, repo string) (Repository, error) {
	r, _, err := c.gh.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return Repository{}, mapError("get repository "+repoPath(owner, repo), err)
	}
	return repository(r), nil
}

func repository(r *github.Repository) Repository {
	return Repository{
		ID:            r.GetID(),
		NodeID:        r.GetNodeID(),
		Owner:         r.GetOwner().GetLogin(),
		Name:          r.GetName(),
		DefaultBranch: r.GetDefaultBranch(),
		CloneURL:      r.GetCloneURL(),
		HTMLURL:       r.GetHTMLURL(),
		Private:       r.GetPrivate(),
	}
}

// Ref returns the commit SHA a branch points at.
// https://docs.github.com/rest/git/refs#get-a-reference
func (c *Client) Ref(ctx context.Context, owner, repo, branch string) (string, error) {
	ref, _, err := c.gh.Git.GetRef(ctx, owner, repo, "heads/"+branch)
	if err != nil {
		return "", mapError(fmt.Sprintf("get ref refs/heads/%s in %s", branch, repoPath(owner, repo)), err)
	}
	return ref.GetObject().GetSHA(), nil
}

// CreateRef creates refs/heads/branch at sha; an existing branch gives an
// error matching ErrInvalid.
// https://docs.github.com/rest/git/refs#create-a-reference
func (c *Client) CreateRef(ctx context.Context, owner, repo, branch, sha string) error {
	ref := "refs/heads/" + branch
	_, _, err := c.gh.Git.CreateRef(ctx, owner, repo, github.CreateRef{Ref: ref, SHA: sha})
	return mapError(fmt.Sprintf("create ref %s in %s", ref, repoPath(owner, repo)), err)
}

// UpdateRef moves refs/heads/branch to sha; a move that is not a fast
// forward without force gives an error matching ErrInvalid.
// https://docs.github.com/rest/git/refs#update-a-reference
func (c *Client) UpdateRef(ctx context.Context, owner, repo, branch, sha string, force bool) error {
	ref := "refs/heads/" + branch
	_, _, err := c.gh.Git.UpdateRef(ctx, owner, repo, ref, github.UpdateRef{SHA: sha, Force: &force})
	return mapError(fmt.Sprintf("update ref %s in %s", ref, repoPath(owner, repo)), err)
}

// Commit returns one commit of the Git database.
// https://docs.github.com/rest/git/commits#get-a-commit-object
func (c *Client) Commit(ctx context.Context, owner, repo, sha string) (Commit, error) {
	cm, _, err := c.gh.Git.GetCommit(ctx, owner, repo, sha)
	if err != nil {
		return Commit{}, mapError(fmt.Sprintf("get commit %s in %s", sha, repoPath(owner, repo)), err)
	}
	return commit(cm), nil
}

func commit(c *github.Commit) Commit {
	return Commit{
		SHA:      c.GetSHA(),
		Tree:     c.GetTree().GetSHA(),
		Parents:  convert(c.Parents, func(p *github.Commit) string { return p.GetSHA() }),
		Message:  c.GetMessage(),
		Verified: c.GetVerification().GetVerified(),
	}
}

// CreateBlob stores content, sent base64-encoded so any bytes survive.
// https://docs.github.com/rest/git/blobs#create-a-blob
func (c *Client) CreateBlob(ctx context.Context, owner, repo string, content []byte) (string, error) {
	encoded := base64.StdEncoding.EncodeToString(content)
	encoding := "base64"
	b, _, err := c.gh.Git.CreateBlob(ctx, owner, repo, github.Blob{Content: &encoded, Encoding: &encoding})
	if err != nil {
		return "", mapError("create blob in "+repoPath(owner, repo), err)
	}
	return b.GetSHA(), nil
}

// CreateTree writes a tree on top of baseTree. Entries with Delete set are
// sent with a null sha, which removes the path.
// https://docs.github.com/rest/git/trees#create-a-tree
func (c *Client) CreateTree(ctx context.Context, owner, repo, baseTree string, entries []TreeEntry) (string, error) {
	tree, _, err := c.gh.Git.CreateTree(ctx, owner, repo, baseTree, convert(entries, treeEntry))
	if err != nil {
		return "", mapError("create tree in "+repoPath(owner, repo), err)
	}
	return tree.GetSHA(), nil
}

func treeEntry(e TreeEntry) *github.TreeEntry {
	mode := e.Mode
	if mode == "" {
		mode = "100644"
	}
	kind := "blob"
	switch mode {
	case "040000":
		kind = "tree"
	case "160000":
		kind = "commit"
	}
	path := e.Path
	out := &github.TreeEntry{Path: &path, Mode: &mode, Type: &kind}
	switch {
	case e.Delete:
	case e.Content != "":
		content := e.Content
		out.Content = &content
	default:
		sha := e.SHA
		out.SHA = &sha
	}
	return out
}

// CreateCommit writes a commit object. Made by the App without author or
// committer, GitHub signs it and marks it Verified.
// https://docs.github.com/rest/git/commits#create-a-commit
func (c *Client) CreateCommit(ctx context.Context, owner, repo string, nc NewCommit) (Commit, error) {
	in := github.Commit{
		Message: &nc.Message,
		Tree:    &github.Tree{SHA: &nc.Tree},
		Parents: convert(nc.Parents, func(sha string) *github.Commit { return &github.Commit{SHA: &sha} }),
	}
	cm, _, err := c.gh.Git.CreateCommit(ctx, owner, repo, in, nil)
	if err != nil {
		return Commit{}, mapError("create commit in "+repoPath(owner, repo), err)
	}
	return commit(cm), nil
}

// Compare tells how head relates to base. Only the counts are read, so one
// commit per page is asked for.
// https://docs.github.com/rest/commits/commits#compare-two-commits
func (c *Client) Compare(ctx context.Context, owner, repo, base, head string) (Comparison, error) {
	cmp, _, err := c.gh.Repositories.CompareCommits(ctx, owner, repo, base, head, &github.ListOptions{PerPage: 1})
	if err != nil {
		return Comparison{}, mapError(fmt.Sprintf("compare %s...%s in %s", base, head, repoPath(owner, repo)), err)
	}
	return Comparison{Status: cmp.GetStatus(), AheadBy: cmp.GetAheadBy(), BehindBy: cmp.GetBehindBy()}, nil
}

// Contents returns a file's bytes at ref (GitHub serves files up to 1 MB this
// way). A directory is an error.
// https://docs.github.com/rest/repos/contents#get-repository-content
func (c *Client) Contents(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	op := fmt.Sprintf("get contents of %s at %s in %s", path, ref, repoPath(owner, repo))
	var opts *github.RepositoryContentGetOptions
	if ref != "" {
		opts = &github.RepositoryContentGetOptions{Ref: ref}
	}
	file, _, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, opts)
	if err != nil {
		return nil, mapError(op, err)
	}
	if file == nil {
		return nil, fmt.Errorf("%s: is a directory", op)
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return []byte(content), nil
}
