package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// headRef is a repository's default branch and the commit it points at, as
// GitHub reported them.
type headRef struct {
	repo     repoName
	api      Client
	branch   string
	sha      string
	cloneURL string
	// htmlURL is the repository's page.
	htmlURL string
	// nodeID is the repository's GraphQL id.
	nodeID string
}

// head reads a repository's default branch and its head from GitHub.
func (b *Bot) head(ctx context.Context, r repoName) (headRef, error) {
	api, err := b.cfg.GitHub.API(ctx, r.Owner, r.Name)
	if err != nil {
		return headRef{}, fmt.Errorf("%s: %w", r, err)
	}
	// GET /repos/{owner}/{repo}
	// https://docs.github.com/rest/repos/repos#get-a-repository
	meta, err := api.Repository(ctx, r.Owner, r.Name)
	if err != nil {
		return headRef{}, fmt.Errorf("read repository %s: %w", r, err)
	}
	// GET /repos/{owner}/{repo}/git/ref/heads/{branch}
	// https://docs.github.com/rest/git/refs#get-a-reference
	sha, err := api.Ref(ctx, r.Owner, r.Name, meta.DefaultBranch)
	if err != nil {
		return headRef{}, fmt.Errorf("read %s of %s: %w", meta.DefaultBranch, r, err)
	}
	return headRef{repo: r, api: api, branch: meta.DefaultBranch, sha: sha, cloneURL: meta.CloneURL, htmlURL: meta.HTMLURL, nodeID: meta.NodeID}, nil
}

// withCheckout checks each head out in the mirror and calls f with the
// directories, in the order of heads. A checkout is a directory of its own
// per commit, which the mirror never changes, so callers may share it.
func (b *Bot) withCheckout(ctx context.Context, heads []headRef, f func(dirs []string) error) error {
	dirs := make([]string, len(heads))
	for i, h := range heads {
		dir, err := b.cfg.Mirror.Checkout(ctx, h.cloneURL, h.branch, h.sha)
		if err != nil {
			return fmt.Errorf("check out %s at %s: %w", h.repo, h.sha, err)
		}
		dirs[i] = dir
	}
	return f(dirs)
}

// treeReader is a Mirror that can tell a commit's tree (wave.Mirror).
type treeReader interface {
	Tree(ctx context.Context, cloneURL, sha string) (string, error)
}

// baseTree returns the tree of h's commit as the mirror holds it, or "" when
// the mirror cannot say: the pull request's writer then reads it from
// GitHub, one call more.
func (b *Bot) baseTree(ctx context.Context, h headRef) string {
	m, ok := b.cfg.Mirror.(treeReader)
	if !ok {
		return ""
	}
	t, err := m.Tree(ctx, h.cloneURL, h.sha)
	if err != nil {
		b.log.Debug("the mirror cannot tell the base tree; GitHub will", "repo", h.repo.String(), "sha", h.sha, "err", err)
		return ""
	}
	return t
}

// withLease runs f while this replica holds the campaign's lease. A lease
// another replica holds returns an error matching store.ErrHeld; callers
// leave the campaign to it.
func (b *Bot) withLease(ctx context.Context, name string, f func(l store.Lease) error) error {
	l, err := b.cfg.Store.Acquire(ctx, leaseName(name), b.cfg.ReplicaID, b.cfg.LeaseTTL)
	if err != nil {
		if errors.Is(err, store.ErrHeld) {
			b.metrics.leaseHeld.Inc()
			b.log.Debug("campaign leased by another replica", "campaign", name, "err", err)
		}
		return fmt.Errorf("lease campaign %s: %w", name, err)
	}
	defer func() {
		// Release on a context of its own: the caller's may have ended,
		// and a lease left behind holds the campaign back until it expires.
		if err := b.cfg.Store.Release(context.WithoutCancel(ctx), l); err != nil {
			b.log.Warn("release campaign lease", "campaign", name, "err", err)
		}
	}()
	return f(l)
}
