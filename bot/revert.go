package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// revertWave opens a revert pull request for each merged pull request of a
// wave, in the order the action lists them.
func (r *run) revertWave(ctx context.Context, a rollout.RevertWave) error {
	var errs []error
	for _, ref := range a.PRs {
		if err := r.revertPR(ctx, a.Wave, ref); err != nil {
			errs = append(errs, fmt.Errorf("wave %d, tenant %s: %w", a.Wave, ref.Tenant, err))
		}
	}
	return errors.Join(errs...)
}

// revertPR opens the revert pull request of one tenant's merged pull
// request of machine wave n: the inverse of its planned edits, applied to
// the base branch's head as GitHub reports it now. A file changed since the
// campaign wrote it is left out and named in the body.
func (r *run) revertPR(ctx context.Context, n int, ref rollout.PRRef) error {
	pr, planWave, repo, h, err := r.tenantBase(ctx, n, ref.Tenant)
	if err != nil {
		return err
	}
	req := wave.RevertRequest{
		Campaign: r.name, Wave: planWave, Tenant: ref.Tenant, Reverts: ref.Number, Clusters: ref.Clusters,
		Owner: repo.Owner, Repo: repo.Name, BaseBranch: h.branch, BaseSHA: h.sha,
		Labels: r.b.cfg.Labels,
	}
	var res wave.Result
	err = r.b.withCheckout(ctx, []headRef{h}, func(dirs []string) error {
		inv, err := gitops.Load(ctx, dirs)
		if err != nil {
			return fmt.Errorf("load inventory of %s: %w", repo, err)
		}
		if l := inv.Layouts[dirs[0]]; l != nil {
			o := l.Owners[ref.Tenant]
			req.Reviewers = wave.Owners{Users: o.Users, Teams: o.Teams}
		}
		req.Files, req.Kept = inverse(gitops.DirReader(dirs[0]), pr, wave.TenantFiles(inv, dirs[0], ref.Tenant))
		res, err = wave.Revert(ctx, h.api, req)
		return err
	})
	log := r.b.log.With("campaign", r.name, "wave", n, "tenant", ref.Tenant, "reverts", ref.Number)
	for _, k := range req.Kept {
		log.Warn("revert leaves a file as it is", "file", k.Path, "reason", k.Reason)
	}
	switch {
	case errors.Is(err, wave.ErrNoChange):
		log.Warn("nothing to revert: every file of the pull request changed since the campaign wrote it, or was reverted already", "kept", len(req.Kept))
		return nil
	case err != nil:
		return err
	}
	log.Info("revert pull request up", "number", res.Number, "url", res.URL, "branch", res.Branch, "opened", res.Opened, "merged", res.Merged, "calls", res.Calls)
	return nil
}

// inverse computes the revert of a planned pull request on the files read
// by read: a value set goes back from To to From, a key inserted is deleted,
// a key deleted is inserted again with its old value, and a file created is
// deleted. It edits through the same minimal-diff editor as the wave did
// and checks that each file still holds what the campaign wrote: a file
// that does not (someone changed it since), or that owns no longer gives to
// the tenant, is left out and returned in kept with the reason.
func inverse(read gitops.ReadFunc, pr rollout.PullRequest, owns func(string) bool) (files []gitops.FileResult, kept []wave.KeptFile) {
	for _, fc := range pr.Files {
		if owns != nil && !owns(fc.Path) {
			kept = append(kept, wave.KeptFile{Path: fc.Path, Reason: fmt.Sprintf("the layout no longer gives this file to %s", pr.Tenant)})
			continue
		}
		f, reason := inverseFile(read, pr, fc)
		switch {
		case reason != "":
			kept = append(kept, wave.KeptFile{Path: fc.Path, Reason: reason})
		case f.New == nil || !bytes.Equal(f.Old, f.New):
			files = append(files, f)
		}
	}
	return files, kept
}

// inverseFile reverts one file change, or says why it cannot.
func inverseFile(read gitops.ReadFunc, pr rollout.PullRequest, fc rollout.FileChange) (gitops.FileResult, string) {
	cur, err := read(fc.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return gitops.FileResult{}, "it no longer exists"
	case err != nil:
		return gitops.FileResult{}, err.Error()
	}
	if fc.Create {
		if string(cur) != fc.Content {
			return gitops.FileResult{}, "the campaign created it, and it changed since; delete it by hand if it is no longer wanted"
		}
		return gitops.FileResult{Path: fc.Path, Old: cur}, ""
	}
	back := rollout.FileChange{Path: fc.Path}
	for _, e := range slices.Backward(fc.Edits) {
		switch e.Op {
		case rollout.OpSet:
			back.Edits = append(back.Edits, rollout.Edit{Path: e.Path, Op: rollout.OpSet, From: e.To, To: e.From, Quote: e.Quote})
		case rollout.OpInsert:
			back.Edits = append(back.Edits, rollout.Edit{Path: e.Path, Op: rollout.OpDelete, From: e.To})
		case rollout.OpDelete:
			back.Edits = append(back.Edits, rollout.Edit{Path: e.Path, Op: rollout.OpInsert, To: e.From})
		case rollout.OpCreate:
			// Written with a created file, which is deleted as a whole.
		default:
			return gitops.FileResult{}, fmt.Sprintf("unknown edit operation %q", e.Op)
		}
	}
	out, err := gitops.Apply(read, rollout.PullRequest{Repo: pr.Repo, Tenant: pr.Tenant, Admin: pr.Admin, Files: []rollout.FileChange{back}})
	if err != nil {
		return gitops.FileResult{}, err.Error()
	}
	return out[0], ""
}

// revertsDue lists the revert actions a rolled-back campaign's state
// records: one per reverted wave, last wave first, as Rollback emitted them.
func revertsDue(st rollout.State) []rollout.Action {
	if st.Phase != rollout.CampaignRolledBack {
		return nil
	}
	var out []rollout.Action
	for _, w := range slices.Backward(st.Waves) {
		if w.RevertedAt.IsZero() {
			continue
		}
		rw := rollout.RevertWave{Wave: w.Number}
		for _, pr := range w.PRs {
			if pr.Status != rollout.PRStatusMerged {
				continue
			}
			ref := rollout.PRRef{Tenant: pr.Tenant, Number: pr.Number, SHA: pr.SHA}
			for _, c := range w.Clusters {
				if c.Tenant == pr.Tenant {
					ref.Clusters = append(ref.Clusters, c.Name)
				}
			}
			rw.PRs = append(rw.PRs, ref)
		}
		if len(rw.PRs) > 0 {
			out = append(out, rw)
		}
	}
	return out
}
