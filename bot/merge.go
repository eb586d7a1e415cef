package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// mergeClient reads the checks branch protection requires and merges:
// merge.go. The checks on a head are read through GateAPI.
type mergeClient interface {
	RequiredStatusChecks(ctx context.Context, owner, repo, branch string) ([]string, error)
	MergePullRequest(ctx context.Context, owner, repo string, number int, m gh.MergeOptions) (string, error)
}

// autoMerge merges tenant's open pull request v of machine wave n under
// `merge: auto` when rollout.MergeReady says so: approved by an owner of
// its tenant, and every check the base branch requires passed on its head.
// It merges exactly the head it checked; a head that moved (409) or a
// merge GitHub refuses (405) is looked at again on the next pass, never
// retried blindly. Why an approved pull request is not merged (a required
// check failed or has not finished, GitHub refused the merge) goes into
// the campaign's state (rollout.MergeHeld), and from there into what the
// campaign waits for: its check run, dashboard and status.
func (r *run) autoMerge(ctx context.Context, n int, tenant string, a rollout.Approval, v prView, method string) error {
	api, repo := v.api, v.repo
	// GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks
	// https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection
	required, err := api.RequiredStatusChecks(ctx, repo.Owner, repo.Name, v.BaseRef)
	if err != nil {
		return err
	}
	gc := GateClient{API: api}
	runs, err := gc.CheckRuns(ctx, repo.Owner, repo.Name, v.HeadSHA)
	if err != nil {
		return fmt.Errorf("read the check runs of %s: %w", v.HeadSHA, err)
	}
	statuses, err := gc.Statuses(ctx, repo.Owner, repo.Name, v.HeadSHA)
	if err != nil {
		return fmt.Errorf("read the statuses of %s: %w", v.HeadSHA, err)
	}
	log := r.b.log.With("campaign", r.name, "wave", n, "tenant", tenant, "number", v.Number, "head", v.HeadSHA)
	ready, why := rollout.MergeReady(a, ApprovalContext, required, gate.States(runs, statuses))
	if !ready {
		log.Debug("not merging yet", "why", why)
		if !a.Approved {
			why = "" // the wait for an approval says it already
		}
		_, err := r.holdMerge(ctx, n, tenant, v.Number, why)
		return err
	}
	// PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge
	// https://docs.github.com/rest/pulls/pulls#merge-a-pull-request
	sha, err := api.MergePullRequest(ctx, repo.Owner, repo.Name, v.Number, gh.MergeOptions{Method: method, SHA: v.HeadSHA})
	var ge *gh.Error
	switch {
	case errors.Is(err, gh.ErrConflict):
		log.Info("the head moved since it was checked; looking again on the next pass", "err", err)
		return nil
	case errors.As(err, &ge) && ge.Status == http.StatusMethodNotAllowed:
		// GitHub's message ends its sentence; the texts that quote it go on.
		news, err := r.holdMerge(ctx, n, tenant, v.Number, "GitHub refuses the merge: "+strings.TrimSuffix(strings.TrimSpace(ge.Message), "."))
		if news {
			log.Warn("GitHub refuses the merge; looking again on every pass", "err", ge)
		}
		return err
	case err != nil:
		return fmt.Errorf("merge #%d: %w", v.Number, err)
	}
	log.Info("merged", "why", why, "method", method, "sha", sha)
	return r.feed(ctx, rollout.PRMerged{Wave: n, Tenant: tenant, Number: v.Number, SHA: sha})
}

// holdMerge records why the bot has not merged tenant's approved pull
// request number of machine wave n, or that nothing holds it back (why
// empty), when the state does not know it yet; news says it did not.
func (r *run) holdMerge(ctx context.Context, n int, tenant string, number int, why string) (news bool, err error) {
	ev := r.st.MergeHeldNews(rollout.MergeHeld{Wave: n, Tenant: tenant, Number: number, Why: why})
	if ev == nil {
		return false, nil
	}
	return true, r.feed(ctx, ev)
}
