package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// ciAPI answers what the gates read for one repository.
type ciAPI struct {
	repo     string
	runs     []gh.CheckRun
	statuses []gh.Status
	compare  gh.Comparison
	err      error
}

func (a *ciAPI) check(owner, repo string) error {
	if owner+"/"+repo != a.repo {
		return fmt.Errorf("the client of %s asked for %s/%s", a.repo, owner, repo)
	}
	return a.err
}

func (a *ciAPI) CheckRuns(_ context.Context, owner, repo, _ string) ([]gh.CheckRun, error) {
	return a.runs, a.check(owner, repo)
}

func (a *ciAPI) Statuses(_ context.Context, owner, repo, _ string) ([]gh.Status, error) {
	return a.statuses, a.check(owner, repo)
}

func (a *ciAPI) Compare(_ context.Context, owner, repo, _, _ string) (gh.Comparison, error) {
	return a.compare, a.check(owner, repo)
}

// installations is a GitHub of one client per repository, as an App
// installed in several organisations.
type installations map[string]GateAPI

func (h installations) client(_ context.Context, owner, repo string) (GateAPI, error) {
	if api, ok := h[owner+"/"+repo]; ok {
		return api, nil
	}
	return nil, fmt.Errorf("no installation covers %s/%s", owner, repo)
}

// TestInstallationAPI checks that the gates read each repository through its
// own installation, and every field they read arrives.
func TestInstallationAPI(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	acme := &ciAPI{repo: "acme/fleet",
		runs: []gh.CheckRun{{ID: 7, Name: "terraform-apply", HeadSHA: "abc", Status: "completed", Conclusion: "success",
			DetailsURL: "https://ci.example.com/7", Title: "t", Summary: "s"}},
		statuses: []gh.Status{{Context: "ci/drift", State: "pending", Description: "d", TargetURL: "https://ci.example.com/d", CreatedAt: at}},
		compare:  gh.Comparison{Status: "diverged", AheadBy: 1, BehindBy: 2},
	}
	failing := &ciAPI{repo: "globex/fleet", err: errors.New("502 bad gateway")}
	api := installationAPI{installations{"acme/fleet": acme, "globex/fleet": failing}.client}
	ctx := t.Context()

	runs, err := api.CheckRuns(ctx, "acme", "fleet", "abc")
	require.NoError(t, err)
	assert.Equal(t, []gate.CheckRun{{ID: 7, Name: "terraform-apply", Status: "completed", Conclusion: "success", DetailsURL: "https://ci.example.com/7"}}, runs)
	statuses, err := api.Statuses(ctx, "acme", "fleet", "abc")
	require.NoError(t, err)
	assert.Equal(t, []gate.CommitStatus{{Context: "ci/drift", State: "pending", TargetURL: "https://ci.example.com/d", CreatedAt: at}}, statuses)
	cmp, err := api.Compare(ctx, "acme", "fleet", "abc", "def")
	require.NoError(t, err)
	assert.Equal(t, gate.Comparison{Status: "diverged"}, cmp)

	// An error of GitHub, and a repository no installation covers.
	for _, r := range []repoName{{"globex", "fleet"}, {"initech", "fleet"}} {
		_, err := api.CheckRuns(ctx, r.Owner, r.Name, "abc")
		assert.Error(t, err, "check runs of %s", r)
		_, err = api.Statuses(ctx, r.Owner, r.Name, "abc")
		assert.Error(t, err, "statuses of %s", r)
		_, err = api.Compare(ctx, r.Owner, r.Name, "abc", "def")
		assert.Error(t, err, "compare in %s", r)
	}
}
