package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
)

// mergeClient reads what a merge needs (the base branch's required checks,
// the checks on the head) and merges: merge.go.
type mergeClient interface {
	RequiredStatusChecks(ctx context.Context, owner, repo, branch string) ([]string, error)
	CheckRuns(ctx context.Context, owner, repo, ref string) ([]gh.CheckRun, error)
	Statuses(ctx context.Context, owner, repo, ref string) ([]gh.Status, error)
	MergePullRequest(ctx context.Context, owner, repo string, number int, m gh.MergeOptions) (string, error)
}

// autoMerge merges tenant's open pull request p of machine wave n under
// `merge: auto` when rollout.MergeReady says so: approved by an owner of
// its tenant, and every check the base branch requires passed on its head.
// It merges exactly the head it checked; a head that moved (409) or a
// merge GitHub refuses (405) is looked at again on the next pass, never
// retried blindly.
func (r *run) autoMerge(ctx context.Context, n int, tenant string, a rollout.Approval, p gh.PullRequest, method string) error {
	repo, err := r.prRepo(n, tenant)
	if err != nil {
		return err
	}
	api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
	if err != nil {
		return err
	}
	// GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks
	// https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection
	required, err := api.RequiredStatusChecks(ctx, repo.Owner, repo.Name, p.BaseRef)
	if err != nil {
		return err
	}
	checks, err := headChecks(ctx, api, repo, p.HeadSHA)
	if err != nil {
		return err
	}
	log := r.b.log.With("campaign", r.name, "wave", n, "tenant", tenant, "number", p.Number, "head", p.HeadSHA)
	ready, why := rollout.MergeReady(a, ApprovalContext, required, checks)
	if !ready {
		log.Debug("not merging yet", "why", why)
		return nil
	}
	// PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge
	// https://docs.github.com/rest/pulls/pulls#merge-a-pull-request
	sha, err := api.MergePullRequest(ctx, repo.Owner, repo.Name, p.Number, gh.MergeOptions{Method: method, SHA: p.HeadSHA})
	var ge *gh.Error
	switch {
	case errors.Is(err, gh.ErrConflict):
		log.Info("the head moved since it was checked; looking again on the next pass", "err", err)
		return nil
	case errors.As(err, &ge) && ge.Status == http.StatusMethodNotAllowed:
		log.Warn("GitHub refuses the merge; looking again on the next pass", "err", err)
		return nil
	case err != nil:
		return fmt.Errorf("merge #%d: %w", p.Number, err)
	}
	log.Info("merged", "why", why, "method", method, "sha", sha)
	return r.feed(ctx, rollout.PRMerged{Wave: n, Tenant: tenant, Number: p.Number, SHA: sha})
}

// headChecks reads the latest outcome of each commit status context and
// each check run on sha: "success", "pending" or "failure".
func headChecks(ctx context.Context, api mergeClient, repo repoName, sha string) (map[string]string, error) {
	out := map[string]string{}
	// GET /repos/{owner}/{repo}/commits/{ref}/statuses
	// https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference
	statuses, err := api.Statuses(ctx, repo.Owner, repo.Name, sha)
	if err != nil {
		return nil, fmt.Errorf("read the statuses of %s: %w", sha, err)
	}
	for _, s := range statuses { // newest first
		if _, seen := out[s.Context]; seen {
			continue
		}
		switch s.State {
		case "success":
			out[s.Context] = "success"
		case "pending":
			out[s.Context] = "pending"
		default:
			out[s.Context] = "failure"
		}
	}
	// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
	// https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference
	runs, err := api.CheckRuns(ctx, repo.Owner, repo.Name, sha)
	if err != nil {
		return nil, fmt.Errorf("read the check runs of %s: %w", sha, err)
	}
	latest := map[string]int64{}
	for _, c := range runs { // the newest run of a name counts
		if id, seen := latest[c.Name]; seen && id > c.ID {
			continue
		}
		latest[c.Name] = c.ID
		switch {
		case c.Status != "completed":
			out[c.Name] = "pending"
		case c.Conclusion == "success" || c.Conclusion == "neutral" || c.Conclusion == "skipped":
			out[c.Name] = "success"
		default:
			out[c.Name] = "failure"
		}
	}
	return out, nil
}
