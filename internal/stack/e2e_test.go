package stack_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

type pull struct {
	// Repo is the repository the pull request was listed in (owner/name).
	Repo           string `json:"-"`
	Number         int    `json:"number"`
	State          string `json:"state"`
	MergedAt       string `json:"merged_at"`
	MergeCommitSHA string `json:"merge_commit_sha"`
	Head           struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
}

// TestEndToEnd runs the example fleet's EKS campaign through the sandbox and
// the real bot: each wave's pull requests appear (one per tenant, the plan's
// files, the tenant's owners as reviewers), owners merge them through the
// sandbox's REST API, Terraform CI reports on the merge commit, and the next
// wave opens. Along the way every delivery is sent twice, one merge webhook
// is dropped (the reconcile loop must find the merge), and the bot is
// restarted between two merges of a wave. None of it may change the result.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	root := testenv.ModuleRoot(t)
	fleetDir := filepath.Join(root, "examples", "fleet")
	src, err := os.ReadFile(filepath.Join("testdata", "eks-1-30.yaml"))
	require.NoError(t, err)
	plan, layouts := expectedPlan(t, src, fleetDir)
	require.Greater(t, len(plan.Waves), 3, "the scenario needs four waves or more")
	owners := layouts[fleetDir].Owners

	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	var dropMerges atomic.Bool
	s.Sandbox.SetWebhookFilter(func(event, action string, _ []byte) bool {
		return !(dropMerges.Load() && event == "pull_request" && action == "closed")
	})
	require.NoError(t, s.PushCampaign(ctx, "eks-1-30", src))

	var opened []string
	for i, w := range plan.Waves {
		prs := waitForWave(t, s, plan.Campaign, w, "acme/fleet")
		for _, p := range prs {
			opened = append(opened, p.Head.Ref)
			_, _, tenant, ok := wave.ParseBranch(p.Head.Ref)
			require.True(t, ok, p.Head.Ref)
			checkPull(t, s, p, w, fleetDir, tenant, owners[tenant])
		}
		switch i {
		case 0:
			// Every delivery so far arrives a second time.
			for _, d := range s.Sandbox.Deliveries() {
				if !d.Redelivery {
					require.NoError(t, s.Sandbox.Redeliver(d.ID))
				}
			}
		case 1:
			dropMerges.Store(true)
		}
		for j, p := range prs {
			_, _, tenant, _ := wave.ParseBranch(p.Head.Ref)
			if i == 2 && j == len(prs)/2 {
				require.NoError(t, s.StopBot(ctx))
			}
			var merged struct {
				SHA string `json:"sha"`
			}
			approve(t, s, "acme/fleet", p.Number, owners[tenant].Users[0])
			_, err := s.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", p.Number), owners[tenant].Users[0], map[string]any{}, &merged)
			require.NoError(t, err)
			_, err = s.Do(ctx, http.MethodPost, "/repos/acme/fleet/check-runs", "", map[string]any{
				"name": "terraform-apply", "head_sha": merged.SHA, "status": "completed", "conclusion": "success",
			}, nil)
			require.NoError(t, err)
		}
		if i == 2 {
			require.NoError(t, s.StartBot(ctx))
		}
		dropMerges.Store(false)
	}

	st := waitFor(t, "the campaign to succeed", func() (rollout.State, bool) {
		st, ok, err := s.State(ctx, "eks-1-30")
		require.NoError(t, err)
		return st, ok && st.Phase == rollout.CampaignSucceeded
	})
	for _, w := range st.Waves {
		assert.Equal(t, rollout.WaveSucceeded, w.Phase, "wave %d", w.Number)
	}

	// Exactly one pull request per tenant per wave, all merged.
	var all []pull
	for page := 1; ; page++ {
		var got []pull
		_, err := s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls?state=all&per_page=100&page=%d", page), "", nil, &got)
		require.NoError(t, err)
		all = append(all, got...)
		if len(got) < 100 {
			break
		}
	}
	var branches []string
	for _, p := range all {
		branches = append(branches, p.Head.Ref)
		assert.NotEmpty(t, p.MergedAt, "pull request #%d (%s) merged", p.Number, p.Head.Ref)
	}
	sort.Strings(branches)
	sort.Strings(opened)
	assert.Equal(t, opened, branches, "no pull request beyond one per tenant per wave")
	wantPRs := 0
	for _, w := range plan.Waves {
		wantPRs += len(w.PullRequests)
	}
	assert.Len(t, all, wantPRs)

	// Every cluster of the main branch is on 1.30.
	clone := t.TempDir()
	out, err := exec.CommandContext(ctx, "git", "clone", "-q", "http://x:"+s.Token+"@"+strings.TrimPrefix(s.GitHubURL, "http://")+"/acme/fleet.git", clone).CombinedOutput()
	require.NoError(t, err, "%s", out)
	inv, err := gitops.Load(ctx, []string{clone})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	require.Len(t, inv.Clusters, 30)
	for _, c := range inv.Clusters {
		assert.Equal(t, "1.30", c.Version, c.Name)
	}

	reportCalls(t, s, wantPRs)
}

// expectedPlan plans the campaign over the fleet's repositories as the bot
// should, and returns the layout of each (whose owners review its pull
// requests).
func expectedPlan(t *testing.T, src []byte, dirs ...string) (*rollout.Plan, map[string]*gitops.Layout) {
	t.Helper()
	c, err := rollout.ParseCampaign("eks-1-30.yaml", src)
	require.NoError(t, err)
	prep, err := gitops.Prepare(t.Context(), dirs, c, nil)
	require.NoError(t, err)
	return prep.Plan, prep.Inventory.Layouts
}

// waitForWave waits until the wave's pull requests are all open in repos
// ("owner/name") and returns them by repository and tenant. A pull request of
// another wave open meanwhile fails the test.
func waitForWave(t *testing.T, s *stack.Stack, campaign string, w rollout.Wave, repos ...string) []pull {
	t.Helper()
	prefix := fmt.Sprintf("fleetbot/%s/%d/", campaign, w.Index)
	return waitFor(t, fmt.Sprintf("the %d pull requests of wave %d", len(w.PullRequests), w.Index), func() ([]pull, bool) {
		var mine []pull
		for _, repo := range repos {
			var open []pull
			_, err := s.Do(t.Context(), http.MethodGet, "/repos/"+repo+"/pulls?state=open&per_page=100", "", nil, &open)
			require.NoError(t, err)
			for _, p := range open {
				p.Repo = repo
				if strings.HasPrefix(p.Head.Ref, prefix) {
					mine = append(mine, p)
				} else {
					require.Failf(t, "a pull request of another wave is open", "%s in %s while wave %d opens", p.Head.Ref, repo, w.Index)
				}
			}
		}
		slices.SortFunc(mine, func(a, b pull) int {
			return cmp.Or(strings.Compare(a.Repo, b.Repo), strings.Compare(a.Head.Ref, b.Head.Ref))
		})
		return mine, len(mine) == len(w.PullRequests)
	})
}

// checkPull checks one wave pull request: its files are the plan's for the
// tenant in the repository seeded from dir, and review was asked of the
// tenant's owners.
func checkPull(t *testing.T, s *stack.Stack, p pull, w rollout.Wave, dir, tenant string, owners gitops.Owners) {
	t.Helper()
	var want []string
	for _, pr := range w.PullRequests {
		if pr.Tenant == tenant && pr.Repo == dir {
			for _, f := range pr.Files {
				want = append(want, f.Path)
			}
		}
	}
	require.NotEmpty(t, want, "the plan has a pull request for %s in %s", tenant, p.Repo)
	var files []struct {
		Filename string `json:"filename"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/%s/pulls/%d/files", p.Repo, p.Number), "", nil, &files)
	require.NoError(t, err)
	var got []string
	for _, f := range files {
		got = append(got, f.Filename)
	}
	assert.ElementsMatch(t, want, got, "files of %s in %s", p.Head.Ref, p.Repo)

	// The bot asks for the reviews once the pull request is open, and the
	// wave counts as open from the pull requests alone: wait for them (the
	// assertions below show what was asked if they never come).
	org, _, _ := strings.Cut(p.Repo, "/")
	sorted := func(v []string) []string { return slices.Sorted(slices.Values(v)) }
	var users, teams []string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var rr struct {
			Users []struct {
				Login string `json:"login"`
			} `json:"users"`
			Teams []struct {
				Slug string `json:"slug"`
			} `json:"teams"`
		}
		_, err = s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/%s/pulls/%d/requested_reviewers", p.Repo, p.Number), "", nil, &rr)
		require.NoError(t, err)
		users, teams = nil, nil
		for _, u := range rr.Users {
			users = append(users, u.Login)
		}
		for _, tm := range rr.Teams {
			teams = append(teams, org+"/"+tm.Slug)
		}
		if slices.Equal(sorted(users), sorted(owners.Users)) && slices.Equal(sorted(teams), sorted(owners.Teams)) || time.Now().After(deadline) {
			break
		}
	}
	assert.ElementsMatch(t, owners.Users, users, "users asked to review %s in %s", p.Head.Ref, p.Repo)
	assert.ElementsMatch(t, owners.Teams, teams, "teams asked to review %s in %s", p.Head.Ref, p.Repo)
}

// approve submits an approving review of pull request number of repo as
// login, as a tenant's owner does before merging.
func approve(t *testing.T, s *stack.Stack, repo string, number int, login string) {
	t.Helper()
	_, err := s.Do(t.Context(), http.MethodPost, fmt.Sprintf("/repos/%s/pulls/%d/reviews", repo, number), login,
		map[string]any{"event": "APPROVE", "body": "Reviewed: our clusters only."}, nil)
	require.NoError(t, err)
}

// reportCalls logs the bot's GitHub calls per wave pull request.
func reportCalls(t *testing.T, s *stack.Stack, prs int) {
	t.Helper()
	total := 0
	lines := []string{}
	for _, c := range s.Calls() {
		total += c.Count
		lines = append(lines, fmt.Sprintf("  %-6s %-58s %s %5d", c.Method, c.Endpoint, c.Status, c.Count))
	}
	sort.Strings(lines)
	t.Logf("GitHub calls: %d for %d pull requests (%.1f per pull request)\n%s", total, prs, float64(total)/float64(prs), strings.Join(lines, "\n"))
}

// waitFor polls until check says done, failing the test after a minute.
func waitFor[T any](t *testing.T, what string, check func() (T, bool)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		v, done := check()
		if done {
			return v
		}
		select {
		case <-ctx.Done():
			require.FailNow(t, "timed out waiting for "+what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// testLogger logs to the test's output when FLEETBOT_E2E_LOG is set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("FLEETBOT_E2E_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
