package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
)

// revertPR makes the revert pull request of one tenant's merged pull
// request exist for revert wave n: the inverse of its planned edits, applied
// to the base branch's head as GitHub reports it now, and feeds back what
// became of it. A file changed since the campaign wrote it is left out and
// named in the body.
func (r *run) revertPR(ctx context.Context, n int, rq rollout.PRRequest) error {
	pr, planWave, repo, h, err := r.tenantBase(ctx, n, rq.Tenant)
	if err != nil {
		return &tenantError{n, rq.Tenant, err}
	}
	reverted := r.st.Waves[r.st.Waves[n-1].Reverts-1]
	req := wave.RevertRequest{
		Campaign: r.name, Wave: planWave, Tenant: rq.Tenant, Clusters: rq.Clusters, Attempt: rq.Attempt,
		Owner: repo.Owner, Repo: repo.Name, BaseBranch: h.branch, BaseSHA: h.sha, BaseTree: r.b.baseTree(ctx, h), RepoID: h.nodeID,
		Labels: r.b.cfg.Labels, Cleanup: reverted.Kind == rollout.WaveCleanup,
	}
	var merge string // the commit that merged the reverted pull request
	for _, p := range reverted.PRs {
		if p.Tenant == rq.Tenant {
			req.Reverts, merge = p.Number, p.SHA
		}
	}
	var res wave.Result
	err = r.b.withCheckout(ctx, []headRef{h}, func(dirs []string) error {
		inv, err := r.b.inventory(ctx, dirs)
		if err != nil {
			return fmt.Errorf("load inventory of %s: %w", repo, err)
		}
		var owns func(string) bool
		owns, req.Reviewers = prOwners(inv, dirs[0], pr)
		req.Files, req.Kept = inverse(gitops.DirReader(dirs[0]), r.b.readBefore(ctx, h, merge), pr, owns)
		req.Reach = revertReach(pr, req.Files)
		res, err = wave.Revert(ctx, h.api, req)
		return err
	})
	log := r.b.log.With("campaign", r.name, "wave", n, "tenant", rq.Tenant, "reverts", req.Reverts)
	for _, k := range req.Kept {
		log.Warn("revert leaves a file as it is", "file", k.Path, "reason", k.Reason)
	}
	switch {
	case errors.Is(err, wave.ErrClosed):
		log.Info("revert pull request was closed without merge", "number", res.Number)
		return r.feed(ctx, rollout.PRClosed{Wave: n, Tenant: rq.Tenant, Number: res.Number})
	case errors.Is(err, wave.ErrNoChange) && len(req.Kept) > 0:
		// What is left to revert a person changed since the campaign
		// wrote it: the clusters are not back where they were, and
		// recording a revert would say they are. It stays a trouble of
		// the wave until a person reverts the files or skips the
		// clusters.
		return &tenantError{n, rq.Tenant, unrevertable(req.Reverts, rq.Clusters, req.Kept)}
	case errors.Is(err, wave.ErrNoChange):
		// Every file already holds what it held before the campaign (a
		// person reverted by hand): the base is where the revert stands.
		log.Info("nothing to revert: every file of the pull request holds its old value", "sha", h.sha)
		return r.feed(ctx, rollout.PRMerged{Wave: n, Tenant: rq.Tenant, SHA: h.sha})
	case err != nil:
		return &tenantError{n, rq.Tenant, err}
	case res.Merged:
		return r.feedMerged(ctx, h, n, rq.Tenant, res.Number)
	}
	r.sawHead(n, rq.Tenant, res.Number, res.HeadSHA, res.Opened && rq.Attempt <= 1)
	log.Info("revert pull request up", "number", res.Number, "url", res.URL, "branch", res.Branch, "opened", res.Opened, "calls", res.Calls)
	for _, s := range res.Skipped {
		log.Warn("a reviewer was not asked", "number", res.Number, "reviewer", s)
	}
	var errs []error
	if len(res.Skipped) > 0 {
		t := prTarget{api: h.api, repo: repo, number: res.Number}
		errs = append(errs, r.upsertComment(ctx, t, setupComment(r.name, h.branch, h.sha, rq.Clusters, wave.Result{Skipped: res.Skipped})))
	}
	return errors.Join(append(errs, r.feed(ctx, rollout.PROpened{Wave: n, Tenant: rq.Tenant, Number: res.Number}))...)
}

// priorReader is a Mirror that can read a file as it was before a commit
// (wave.Mirror).
type priorReader interface {
	FileBefore(ctx context.Context, cloneURL, sha, file string) ([]byte, error)
}

// readBefore reads the files of h's repository as they were before commit
// merge, the merge of a pull request a revert undoes; nil when the mirror
// cannot, or no merge is known.
func (b *Bot) readBefore(ctx context.Context, h headRef, merge string) gitops.ReadFunc {
	m, ok := b.cfg.Mirror.(priorReader)
	if !ok || merge == "" {
		return nil
	}
	return func(file string) ([]byte, error) { return m.FileBefore(ctx, h.cloneURL, merge, file) }
}

// unrevertable says why nothing of pull request number (0: not known) can
// be reverted for clusters, what a person does about it, and then each file
// left to revert that is kept, and why: a dashboard quotes the start of a
// long error.
func unrevertable(number int, clusters []string, kept []wave.KeptFile) error {
	var b strings.Builder
	b.WriteString("nothing of the pull request")
	if number > 0 {
		fmt.Fprintf(&b, " #%d", number)
	}
	fmt.Fprintf(&b, " can be reverted: revert its files by hand, and the next pass records the revert, or skip %s (/fleet skip CLUSTER --reason \"...\"). Kept: ", strings.Join(clusters, ", "))
	for i, k := range kept {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s)", k.Path, k.Reason)
	}
	return errors.New(b.String())
}

// inverse computes the revert of a planned pull request on the files read
// by read: a value set goes back from To to From, a key inserted is deleted,
// a key deleted is inserted again with its old value, and a file created is
// deleted. It edits through the same minimal-diff editor as the wave did
// and checks that each file still holds what the campaign wrote: a file
// that does not (someone changed it since), or that owns no longer gives to
// the tenant, is left out and returned in kept with the reason.
func inverse(read, was gitops.ReadFunc, pr rollout.PullRequest, owns func(string) bool) (files []gitops.FileResult, kept []wave.KeptFile) {
	for _, fc := range pr.Files {
		if owns != nil && !owns(fc.Path) {
			kept = append(kept, wave.KeptFile{Path: fc.Path, Reason: fmt.Sprintf("the layout no longer gives this file to %s", pr.Tenant)})
			continue
		}
		f, reason := inverseFile(read, was, pr, fc)
		if reason != "" {
			kept = append(kept, wave.KeptFile{Path: fc.Path, Reason: reason})
		}
		if f.Path != "" && (f.New == nil || !bytes.Equal(f.Old, f.New)) {
			files = append(files, f) // reverted, or partly: what kept says is left
		}
	}
	return files, kept
}

// inverseFile reverts one file change, or says why it cannot. was, when
// not nil, reads the files as they were before the change merged: a key
// the change deleted goes back where it stood (inPlace).
func inverseFile(read, was gitops.ReadFunc, pr rollout.PullRequest, fc rollout.FileChange) (gitops.FileResult, string) {
	back, err := rollout.Inverse(fc)
	if err != nil {
		return gitops.FileResult{}, err.Error()
	}
	cur, err := read(fc.Path)
	switch {
	case back.Create && err == nil:
		return gitops.FileResult{}, "the campaign removed it, and it exists again; leave it as it is"
	case back.Create && errors.Is(err, fs.ErrNotExist):
	case back.Delete && errors.Is(err, fs.ErrNotExist):
		return gitops.FileResult{}, "" // the file the campaign created is gone: reverted already
	case errors.Is(err, fs.ErrNotExist):
		return gitops.FileResult{}, "it no longer exists"
	case err != nil:
		return gitops.FileResult{}, err.Error()
	case back.Delete && fc.CopyOf != "":
		if src, err := read(fc.CopyOf); err != nil || !bytes.Equal(src, cur) {
			return gitops.FileResult{}, fmt.Sprintf("the campaign copied it from %s, and the two differ now; delete it by hand if it is no longer wanted", fc.CopyOf)
		}
	case back.Delete && string(cur) != fc.Content:
		return gitops.FileResult{}, "the campaign created it, and it changed since; delete it by hand if it is no longer wanted"
	}
	if err == nil {
		back = inPlace(back, was, cur)
	}
	out, err := gitops.Apply(read, rollout.PullRequest{Repo: pr.Repo, Tenant: pr.Tenant, Admin: pr.Admin, Files: []rollout.FileChange{back}})
	if err == nil {
		return out[0], ""
	}
	if back.Create || back.Delete || len(back.Edits) < 2 {
		return gitops.FileResult{}, err.Error()
	}
	return inverseEdits(read, pr, back, cur, err)
}

// inPlace sets, for each key back inserts again (one the campaign
// deleted), the key it goes before (Edit.Before): the first key after it
// in its mapping, in the file as it was before the campaign's merge (was),
// that cur, the file as it is, has, or that an earlier insert of back puts
// back. A key with none goes at the end of its mapping, and so does every
// key when the file before cannot be read. back is not changed.
func inPlace(back rollout.FileChange, was gitops.ReadFunc, cur []byte) rollout.FileChange {
	if was == nil || !slices.ContainsFunc(back.Edits, func(e rollout.Edit) bool { return e.Op == rollout.OpInsert }) {
		return back
	}
	old, err := was(back.Path)
	if err != nil {
		return back
	}
	oldDoc, err := yamledit.Parse(back.Path, old)
	if err != nil {
		return back
	}
	curDoc, err := yamledit.Parse(back.Path, cur)
	if err != nil {
		return back
	}
	back.Edits = slices.Clone(back.Edits)
	for i, e := range back.Edits {
		if e.Op != rollout.OpInsert || len(e.Path) == 0 {
			continue
		}
		mapping := yamledit.Path(e.Path[:len(e.Path)-1])
		then, _ := oldDoc.Keys(mapping, e.Document)
		now, _ := curDoc.Keys(mapping, e.Document)
		at := slices.Index(then, e.Path[len(e.Path)-1])
		if at < 0 {
			continue
		}
		putBack := func(key string) bool {
			return slices.ContainsFunc(back.Edits[:i], func(p rollout.Edit) bool {
				return p.Op == rollout.OpInsert && p.Document == e.Document && slices.Equal(p.Path, append(slices.Clone(e.Path[:len(e.Path)-1]), key))
			})
		}
		for _, next := range then[at+1:] {
			if slices.Contains(now, next) || putBack(next) {
				back.Edits[i].Before = next
				break
			}
		}
	}
	return back
}

// inverseEdits reverts the edits of back one by one on cur, the file as it
// is, when they do not all apply (err): a person changed one value of the
// file since, not the others, and those still go back. It returns the file
// with the edits that applied, and names the others, or, when none
// applied, only err.
func inverseEdits(read gitops.ReadFunc, pr rollout.PullRequest, back rollout.FileChange, cur []byte, err error) (gitops.FileResult, string) {
	now := cur
	var left []string
	for _, e := range back.Edits {
		one := back
		one.Edits = []rollout.Edit{e}
		readNow := func(p string) ([]byte, error) {
			if p == back.Path {
				return now, nil
			}
			return read(p)
		}
		out, err := gitops.Apply(readNow, rollout.PullRequest{Repo: pr.Repo, Tenant: pr.Tenant, Admin: pr.Admin, Files: []rollout.FileChange{one}})
		if err != nil {
			left = append(left, fmt.Sprintf("`%s` left as it is: %v", strings.Join(e.Path, "."), err))
			continue
		}
		now = out[0].New
	}
	if len(left) == len(back.Edits) {
		return gitops.FileResult{}, err.Error()
	}
	return gitops.FileResult{Path: back.Path, Old: cur, New: now}, "partly reverted: " + strings.Join(left, "; ")
}

// revertReach describes, for each file of pr that serves many clusters and
// that the revert writes, which clusters it reaches.
func revertReach(pr rollout.PullRequest, written []gitops.FileResult) []rollout.FileChange {
	var out []rollout.FileChange
	for _, f := range pr.Files {
		if len(f.Reach) > 0 && slices.ContainsFunc(written, func(w gitops.FileResult) bool { return w.Path == f.Path }) {
			out = append(out, f)
		}
	}
	return out
}
