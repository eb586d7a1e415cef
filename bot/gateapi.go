package bot

import (
	"context"

	"github.com/fleetbot/fleetbot/rollout/gate"
)

// installationAPI is what the gates read of GitHub (check runs, statuses and
// commit comparisons), through the installation that covers each
// repository, in the gates' own types: rollout/gate does not import bot/.
type installationAPI struct{ github GitHub }

var (
	_ gate.Checks   = installationAPI{}
	_ gate.Comparer = installationAPI{}
)

// CheckRuns lists the check runs on ref.
func (c installationAPI) CheckRuns(ctx context.Context, owner, repo, ref string) ([]gate.CheckRun, error) {
	api, err := c.github.API(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
	// https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference
	runs, err := api.CheckRuns(ctx, owner, repo, ref)
	if err != nil {
		return nil, err
	}
	out := make([]gate.CheckRun, len(runs))
	for i, r := range runs {
		out[i] = gate.CheckRun{ID: r.ID, Name: r.Name, Status: r.Status, Conclusion: r.Conclusion, DetailsURL: r.DetailsURL}
	}
	return out, nil
}

// Statuses lists the commit statuses on ref.
func (c installationAPI) Statuses(ctx context.Context, owner, repo, ref string) ([]gate.CommitStatus, error) {
	api, err := c.github.API(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	// GET /repos/{owner}/{repo}/commits/{ref}/statuses
	// https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference
	statuses, err := api.Statuses(ctx, owner, repo, ref)
	if err != nil {
		return nil, err
	}
	out := make([]gate.CommitStatus, len(statuses))
	for i, s := range statuses {
		out[i] = gate.CommitStatus{Context: s.Context, State: s.State, TargetURL: s.TargetURL, CreatedAt: s.CreatedAt}
	}
	return out, nil
}

// Compare tells how head relates to base.
func (c installationAPI) Compare(ctx context.Context, owner, repo, base, head string) (gate.Comparison, error) {
	api, err := c.github.API(ctx, owner, repo)
	if err != nil {
		return gate.Comparison{}, err
	}
	// GET /repos/{owner}/{repo}/compare/{basehead}
	// https://docs.github.com/rest/commits/commits#compare-two-commits
	cmp, err := api.Compare(ctx, owner, repo, base, head)
	if err != nil {
		return gate.Comparison{}, err
	}
	return gate.Comparison{Status: cmp.Status}, nil
}
