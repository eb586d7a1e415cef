package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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

// withLease runs f while this replica holds the campaign's lease,
// renewing it every third of its duration. A lease another replica holds
// returns an error matching store.ErrHeld; callers leave the campaign to
// it. A renewal that finds the lease lost (this replica froze past its
// expiry and another took it) cancels f's context at once, and f's error
// then matches store.ErrLost; the fenced writes f makes meanwhile are
// refused.
func (b *Bot) withLease(ctx context.Context, name string, f func(ctx context.Context, l store.Lease) error) error {
	// The lease keeps other replicas off; within this one, the webhook
	// workers and the reconcile loop take turns, since they share the
	// replica's lease (a second Acquire by the same replica would fence
	// the first holder's writes).
	mu, _ := b.leasing.LoadOrStore(name, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	l, err := b.cfg.Store.Acquire(ctx, leaseName(name), b.cfg.ReplicaID, b.cfg.LeaseTTL)
	if err != nil {
		if errors.Is(err, store.ErrHeld) {
			b.metrics.leaseHeld.Inc()
			b.log.Debug("campaign leased by another replica", "campaign", name, "err", err)
		}
		return fmt.Errorf("lease campaign %s: %w", name, err)
	}
	leased, lose := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		b.keepLease(leased, l, lose, stop)
	}()
	defer func() {
		close(stop)
		<-kept
		lost := context.Cause(leased)
		lose(nil)
		if errors.Is(lost, store.ErrLost) {
			return // another replica holds it now
		}
		// Release on a context of its own: the caller's may have ended,
		// and a lease left behind holds the campaign back until it expires.
		if err := b.cfg.Store.Release(context.WithoutCancel(ctx), l); err != nil {
			b.log.Warn("release campaign lease", "campaign", name, "err", err)
		}
	}()
	err = f(leased, l)
	if lost := context.Cause(leased); errors.Is(lost, store.ErrLost) {
		err = errors.Join(err, lost)
	}
	return err
}

// keepLease renews l every third of the lease's duration until stop is
// closed; a renewal that finds it lost cancels ctx with the cause. Other
// renewal errors, a panic among them, are logged and tried again: until the
// lease expires, it is still this replica's.
func (b *Bot) keepLease(ctx context.Context, l store.Lease, lose context.CancelCauseFunc, stop <-chan struct{}) {
	every := b.cfg.LeaseTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var renewed store.Lease
		err := b.recovered(panicLease, "renew campaign lease", func() (err error) {
			renewed, err = b.cfg.Store.Renew(ctx, l, b.cfg.LeaseTTL)
			return err
		}, "lease", l.Name)
		switch {
		case errors.Is(err, store.ErrLost):
			b.log.Warn("campaign lease lost: another replica took it; this replica stops acting on the campaign", "lease", l.Name, "token", l.Token, "err", err)
			lose(fmt.Errorf("campaign lease %s: %w", l.Name, err))
			return
		case err != nil:
			if ctx.Err() == nil {
				b.log.Warn("renew campaign lease", "lease", l.Name, "err", err)
			}
		default:
			l = renewed
		}
	}
}
