package bot

import (
	"context"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// GateAPI is what the gates read of GitHub: the check runs and commit
// statuses on a commit (gate.Checks) and how two commits relate
// (gate.Comparer). *gh.Client implements it.
type GateAPI interface {
	CheckRuns(ctx context.Context, owner, repo, ref string) ([]gh.CheckRun, error)
	Statuses(ctx context.Context, owner, repo, ref string) ([]gh.Status, error)
	Compare(ctx context.Context, owner, repo, base, head string) (gh.Comparison, error)
}

// GateClient adapts one GitHub client to what the gates read of GitHub
// (check runs, commit statuses, commit comparisons), in the gates' own
// types: rollout/gate does not import bot/. The bot reaches each repository
// through its installation (installationAPI); a test or a tool holding one
// client that covers every repository uses a GateClient as it is.
type GateClient struct{ API GateAPI }

var (
	_ gate.Checks   = GateClient{}
	_ gate.Comparer = GateClient{}
	_ gate.Checks   = installationAPI{}
	_ gate.Comparer = installationAPI{}
)

// CheckRuns lists the check runs on ref.
func (c GateClient) CheckRuns(ctx context.Context, owner, repo, ref string) ([]gate.CheckRun, error) {
	// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
	// https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference
	runs, err := c.API.CheckRuns(ctx, owner, repo, ref)
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
func (c GateClient) Statuses(ctx context.Context, owner, repo, ref string) ([]gate.CommitStatus, error) {
	// GET /repos/{owner}/{repo}/commits/{ref}/statuses
	// https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference
	statuses, err := c.API.Statuses(ctx, owner, repo, ref)
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
func (c GateClient) Compare(ctx context.Context, owner, repo, base, head string) (gate.Comparison, error) {
	// GET /repos/{owner}/{repo}/compare/{basehead}
	// https://docs.github.com/rest/commits/commits#compare-two-commits
	cmp, err := c.API.Compare(ctx, owner, repo, base, head)
	if err != nil {
		return gate.Comparison{}, err
	}
	return gate.Comparison{Status: cmp.Status}, nil
}

// installationAPI is GateClient through the installation that covers each
// repository, which client looks up.
type installationAPI struct {
	client func(ctx context.Context, owner, repo string) (GateAPI, error)
}

// gateInstallations is installationAPI over the installations of g.
func gateInstallations(g GitHub) installationAPI {
	return installationAPI{func(ctx context.Context, owner, repo string) (GateAPI, error) {
		c, err := g.API(ctx, owner, repo)
		if err != nil {
			return nil, err
		}
		return c, nil
	}}
}

// CheckRuns lists the check runs on ref, as GateClient.CheckRuns.
func (c installationAPI) CheckRuns(ctx context.Context, owner, repo, ref string) ([]gate.CheckRun, error) {
	api, err := c.client(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	return GateClient{api}.CheckRuns(ctx, owner, repo, ref)
}

// Statuses lists the commit statuses on ref, as GateClient.Statuses.
func (c installationAPI) Statuses(ctx context.Context, owner, repo, ref string) ([]gate.CommitStatus, error) {
	api, err := c.client(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	return GateClient{api}.Statuses(ctx, owner, repo, ref)
}

// Compare tells how head relates to base, as GateClient.Compare.
func (c installationAPI) Compare(ctx context.Context, owner, repo, base, head string) (gate.Comparison, error) {
	api, err := c.client(ctx, owner, repo)
	if err != nil {
		return gate.Comparison{}, err
	}
	return GateClient{api}.Compare(ctx, owner, repo, base, head)
}
