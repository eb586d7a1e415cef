package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// isCampaignFile reports whether a repository path is a campaign file: a
// .yaml file directly in the campaign directory.
func (b *Bot) isCampaignFile(p string) bool {
	return path.Dir(p) == b.cfg.CampaignPath && path.Ext(p) == ".yaml"
}

// scanCampaigns reads every campaign file at the head of the campaign
// repository's default branch and starts the new ones. It does nothing when
// the head did not move since the last full scan, so the reconcile loop can
// call it every pass; a push lost on the way is found on the next pass.
func (b *Bot) scanCampaigns(ctx context.Context) error {
	head, err := b.head(ctx, b.camps)
	if err != nil {
		return fmt.Errorf("scan campaigns: %w", err)
	}
	b.mu.Lock()
	done := b.scanned == head.sha
	b.mu.Unlock()
	if done {
		return nil
	}
	files := map[string][]byte{}
	err = b.withCheckout(ctx, []headRef{head}, func(dirs []string) error {
		matches, err := filepath.Glob(filepath.Join(dirs[0], filepath.FromSlash(b.cfg.CampaignPath), "*.yaml"))
		if err != nil {
			return err
		}
		for _, m := range matches {
			src, err := os.ReadFile(m)
			if err != nil {
				return fmt.Errorf("read campaign file: %w", err)
			}
			files[b.cfg.CampaignPath+"/"+filepath.Base(m)] = src
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan campaigns: %w", err)
	}
	var errs []error
	for _, f := range slices.Sorted(maps.Keys(files)) {
		if err := b.considerCampaign(ctx, f, head.sha, files[f]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		b.mu.Lock()
		b.scanned = head.sha
		b.mu.Unlock()
	}
	return errors.Join(errs...)
}

// considerCampaign starts the campaign in src, read from file at commit sha,
// unless it started before. An invalid file or a plan the planner refuses is
// logged and counted, not returned: retrying would not fix it, a new commit
// does. The error is for what a retry may fix (GitHub, git, the store).
func (b *Bot) considerCampaign(ctx context.Context, file, sha string, src []byte) error {
	c, err := rollout.ParseCampaign(b.camps.String()+"/"+file, src)
	if err != nil {
		b.metrics.campaignFiles.WithLabelValues("invalid").Inc()
		b.log.Error("invalid campaign file", "repo", b.camps.String(), "file", file, "sha", sha, "err", err)
		return nil
	}
	sum := sha256.Sum256(src)
	digest := hex.EncodeToString(sum[:])
	name := c.Metadata.Name
	rec, ok, err := b.loadRecord(ctx, name)
	if err != nil {
		return err
	}
	if ok {
		if rec.Digest != digest || rec.File != file {
			b.metrics.campaignFiles.WithLabelValues("changed").Inc()
			b.warnOnce("changed/"+name+"/"+file+"/"+digest, "campaign file changed after the campaign started; the change is not applied: start a new campaign under a new name",
				"campaign", name, "file", file, "sha", sha, "started_from", rec.File+"@"+rec.SHA)
		}
		return nil
	}
	return b.start(ctx, c, &record{Campaign: name, Repo: b.camps.String(), File: file, SHA: sha, Digest: digest, Source: string(src)})
}

// refusal is a campaign that cannot start until its file or the fleet
// changes.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// start plans a new campaign from the blueprint repositories' current heads,
// records it and schedules it, under the campaign's lease. Its gates are
// built first (unless Config.Gates replaces them): a campaign whose gates
// cannot reach their providers (an Argo CD token not set) does not start.
func (b *Bot) start(ctx context.Context, c *rollout.Campaign, rec *record) error {
	name := c.Metadata.Name
	err := b.withLease(ctx, name, func(l store.Lease) error {
		if _, ok, err := b.loadRecord(ctx, name); err != nil || ok {
			return err // started meanwhile by another replica
		}
		if _, err := b.gatesFor(name, c); err != nil {
			return &refusal{err}
		}
		if err := b.planRecord(ctx, c, rec); err != nil {
			return err
		}
		st, err := newState(c, rec)
		if err != nil {
			return &refusal{err}
		}
		if err := b.lockClusters(ctx, name, st); err != nil {
			return err
		}
		rec.StartedAt = b.now()
		if _, err := putJSON(ctx, b.cfg.Store, recordKey(name), rec, 0, l.Fence()); err != nil {
			return err
		}
		if _, err := b.createState(ctx, name, st, l.Fence()); err != nil {
			return err
		}
		b.metrics.campaignFiles.WithLabelValues("started").Inc()
		b.log.Info("campaign started", "campaign", name, "file", rec.File, "sha", rec.SHA, "waves", len(st.Waves))
		return nil
	})
	if err != nil {
		// Not started: gates kept now would outlive a corrected file.
		b.forgetGates(name)
	} else {
		// Its dashboard issue opens now; a step carries nothing else out
		// for a campaign just scheduled.
		_, err = b.step(ctx, name, nil)
	}
	var r *refusal
	if errors.As(err, &r) {
		b.metrics.campaignFiles.WithLabelValues("refused").Inc()
		b.log.Error("campaign cannot start", "campaign", name, "file", rec.File, "sha", rec.SHA, "err", r.err)
		return nil
	}
	if errors.Is(err, store.ErrHeld) {
		return nil // another replica is starting it
	}
	return err
}

// createState schedules the campaign's first state and stores it.
func (b *Bot) createState(ctx context.Context, name string, st rollout.State, fence store.Fence) (int64, error) {
	st, _, err := rollout.Transition(st, rollout.ScheduleCampaign{By: "fleetbot"}, b.now())
	if err != nil {
		return 0, fmt.Errorf("schedule campaign %s: %w", name, err)
	}
	return putJSON(ctx, b.cfg.Store, stateKey(name), st, 0, fence)
}

// lockClusters takes the store's lock on every cluster of the campaign, so
// a later campaign's plan leaves them out.
func (b *Bot) lockClusters(ctx context.Context, name string, st rollout.State) error {
	for _, w := range st.Waves {
		for _, c := range w.Clusters {
			err := b.cfg.Store.Lock(ctx, c.Name, name)
			var le *store.LockedError
			if errors.As(err, &le) {
				return &refusal{fmt.Errorf("cluster %s is held by campaign %s", le.Cluster, le.Owner)}
			}
			if err != nil {
				return fmt.Errorf("lock cluster %s: %w", c.Name, err)
			}
		}
	}
	return nil
}

// unlockClusters frees the clusters of a campaign that ended.
func (b *Bot) unlockClusters(ctx context.Context, st rollout.State) error {
	var errs []error
	for _, w := range st.Waves {
		for _, c := range w.Clusters {
			if err := b.cfg.Store.Unlock(ctx, c.Name, st.Campaign); err != nil && !errors.Is(err, store.ErrLocked) {
				errs = append(errs, fmt.Errorf("unlock cluster %s: %w", c.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// planRecord plans c on the blueprint repositories at the heads GitHub
// reports now (never from what the mirror happened to hold) and fills in the
// plan, the bases and the wave mapping of rec.
func (b *Bot) planRecord(ctx context.Context, c *rollout.Campaign, rec *record) error {
	heads := make([]headRef, len(b.repos))
	for i, r := range b.repos {
		h, err := b.head(ctx, r)
		if err != nil {
			return err
		}
		heads[i] = h
	}
	return b.withCheckout(ctx, heads, func(dirs []string) error {
		locks, err := b.cfg.Store.Locks(ctx)
		if err != nil {
			return fmt.Errorf("read cluster locks: %w", err)
		}
		// The same checks as fleetbot plan and validate: what passes there
		// starts here.
		prep, err := gitops.Prepare(ctx, dirs, c, locks)
		if prep == nil {
			return err // the checkout could not be read: a retry may fix it
		}
		if err != nil {
			return &refusal{err}
		}
		p := prep.Plan
		byDir := map[string]string{}
		rec.Bases = map[string]string{}
		for i, h := range heads {
			byDir[dirs[i]] = h.repo.String()
			rec.Bases[h.repo.String()] = h.sha
		}
		for i := range p.Waves {
			w := &p.Waves[i]
			for j := range w.PullRequests {
				w.PullRequests[j].Repo = byDir[w.PullRequests[j].Repo]
			}
		}
		rec.Plan = p
		rec.Clusters = map[string]clusterInfo{}
		for _, cl := range prep.Inventory.Clusters {
			rec.Clusters[cl.Name] = clusterInfo{Region: cl.Region, Account: cl.Account}
		}
		return nil
	})
}

// newState builds the machine's Pending state from a campaign and its
// record, with the checks gitops.Prepare ran when the campaign started.
func newState(c *rollout.Campaign, rec *record) (rollout.State, error) {
	return rollout.StartState(c, rec.Plan)
}
