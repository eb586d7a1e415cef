package gate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

const mergeSHA = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"

// fakeChecks holds the check runs and statuses of one commit of
// acme/fleet.
type fakeChecks struct {
	runs     []gate.CheckRun
	statuses []gate.CommitStatus
	runsErr  error
	statErr  error
}

func (f *fakeChecks) CheckRuns(_ context.Context, owner, repo, ref string) ([]gate.CheckRun, error) {
	if owner != "acme" || repo != "fleet" || ref != mergeSHA {
		return nil, nil
	}
	return f.runs, f.runsErr
}

func (f *fakeChecks) Statuses(_ context.Context, owner, repo, ref string) ([]gate.CommitStatus, error) {
	if owner != "acme" || repo != "fleet" || ref != mergeSHA {
		return nil, nil
	}
	return f.statuses, f.statErr
}

func run(id int64, name, status, conclusion string) gate.CheckRun {
	return gate.CheckRun{ID: id, Name: name, Status: status, Conclusion: conclusion,
		DetailsURL: "https://ci.example.com/runs/" + name}
}

func status(context, state string, at int) gate.CommitStatus {
	return gate.CommitStatus{Context: context, State: state, TargetURL: "https://ci.example.com/status/" + context,
		CreatedAt: epoch.Add(time.Duration(at) * time.Minute)}
}

func TestTerraformGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		checks []string
		src    fakeChecks
		repo   string
		want   rollout.Outcome
		err    bool
	}{
		{name: "check run succeeded", checks: []string{"terraform-apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "terraform-apply", "completed", "success"), run(2, "lint", "completed", "failure")}},
			want: rollout.GatePassed},
		{name: "neutral and skipped pass", checks: []string{"tf/*"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "tf/plan", "completed", "neutral"), run(2, "tf/apply", "completed", "skipped")}},
			want: rollout.GatePassed},
		{name: "glob matches a status and a check run", checks: []string{"tf/*"},
			src: fakeChecks{runs: []gate.CheckRun{run(1, "tf/apply", "completed", "success")},
				statuses: []gate.CommitStatus{status("tf/drift", "success", 0)}},
			want: rollout.GatePassed},
		{name: "check run failed", checks: []string{"terraform-apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "terraform-apply", "completed", "failure")}},
			want: rollout.GateFailed},
		{name: "every failing conclusion", checks: []string{"*"},
			src: fakeChecks{runs: []gate.CheckRun{run(1, "a", "completed", "cancelled"), run(2, "b", "completed", "timed_out"),
				run(3, "c", "completed", "action_required"), run(4, "d", "completed", "stale"), run(5, "e", "completed", "success")}},
			want: rollout.GateFailed},
		{name: "status error", checks: []string{"ci/terraform"},
			src:  fakeChecks{statuses: []gate.CommitStatus{status("ci/terraform", "error", 0)}},
			want: rollout.GateFailed},
		{name: "failure wins over pending", checks: []string{"plan", "apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "plan", "completed", "failure"), run(2, "apply", "in_progress", "")}},
			want: rollout.GateFailed},
		{name: "in progress waits", checks: []string{"terraform-apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "terraform-apply", "in_progress", "")}},
			want: rollout.GateWaiting},
		{name: "queued waits", checks: []string{"terraform-apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "terraform-apply", "queued", "")}},
			want: rollout.GateWaiting},
		{name: "pending status waits", checks: []string{"ci/*"},
			src:  fakeChecks{statuses: []gate.CommitStatus{status("ci/terraform", "pending", 0)}},
			want: rollout.GateWaiting},
		{name: "a name not seen yet waits", checks: []string{"terraform-apply", "tf/*"},
			src:  fakeChecks{runs: []gate.CheckRun{run(1, "terraform-apply", "completed", "success")}},
			want: rollout.GateWaiting},
		{name: "nothing reported yet waits", checks: []string{"terraform-apply"},
			want: rollout.GateWaiting},
		{name: "a re-run that succeeded replaces the failure", checks: []string{"terraform-apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(9, "terraform-apply", "completed", "success"), run(3, "terraform-apply", "completed", "failure")}},
			want: rollout.GatePassed},
		{name: "a re-run in progress waits", checks: []string{"terraform-apply"},
			src:  fakeChecks{runs: []gate.CheckRun{run(3, "terraform-apply", "completed", "failure"), run(9, "terraform-apply", "queued", "")}},
			want: rollout.GateWaiting},
		{name: "the newest status counts", checks: []string{"ci/terraform"},
			src:  fakeChecks{statuses: []gate.CommitStatus{status("ci/terraform", "pending", 1), status("ci/terraform", "success", 5), status("ci/terraform", "failure", 3)}},
			want: rollout.GatePassed},
		{name: "check runs unavailable", checks: []string{"terraform-apply"},
			src:  fakeChecks{runsErr: errors.New("502 bad gateway")},
			want: rollout.GateWaiting, err: true},
		{name: "statuses unavailable", checks: []string{"terraform-apply"},
			src:  fakeChecks{statErr: errors.New("secondary rate limit")},
			want: rollout.GateWaiting, err: true},
		{name: "repository not owner/name", checks: []string{"terraform-apply"}, repo: "fleet",
			want: rollout.GateWaiting, err: true},
	}
	var golden strings.Builder
	for _, tc := range tests {
		g := gate.NewTerraform(terraformGate(t, tc.checks...), &tc.src)
		target := gate.Target{Campaign: "c", Cluster: "prod-cpu-1", Repo: "acme/fleet", MergeSHA: mergeSHA}
		if tc.repo != "" {
			target.Repo = tc.repo
		}
		got := gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(), []gate.Target{target})
		require.Len(t, got, 1)
		r := got[0]
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, r.Outcome)
			assert.Equal(t, tc.err, r.Err != nil, "provider error: %v", r.Err)
			assert.Equal(t, rollout.GateTerraform, r.Gate)
			for _, e := range r.Evidence {
				assert.Equal(t, mergeSHA, e.Revision, "evidence names the merge commit")
			}
		})
		golden.WriteString("== " + tc.name + "\n" + describe(r) + "\n")
	}
	checkGolden(t, "terraform.golden", golden.String())
}

// terraformGate is the gate configuration of checks, each parsed as a
// campaign file's entry is.
func terraformGate(t *testing.T, checks ...string) rollout.TerraformGate {
	t.Helper()
	var cfg rollout.TerraformGate
	for _, c := range checks {
		tmpl, err := rollout.ParseTemplate(c)
		require.NoError(t, err)
		cfg.Checks = append(cfg.Checks, tmpl)
	}
	return cfg
}

// TestTerraformGatePerCluster runs the gate on three clusters merged by one
// commit whose CI runs a workspace per cluster: each cluster is judged on
// its own checks (and on the tenant's shared one) only.
func TestTerraformGatePerCluster(t *testing.T) {
	t.Parallel()
	src := &fakeChecks{
		runs: []gate.CheckRun{
			run(1, "terraform-plan (prod-cpu-1)", "completed", "success"),
			run(2, "terraform-apply (prod-cpu-1)", "completed", "success"),
			run(3, "terraform-plan (prod-cpu-2)", "completed", "success"),
			run(4, "terraform-apply (prod-cpu-2)", "completed", "failure"),
		},
		statuses: []gate.CommitStatus{status("drift/tenant-a", "success", 0)},
	}
	g := gate.NewTerraform(terraformGate(t, "terraform-* ({{ .Cluster }})", "drift/{{ .Tenant }}"), src)
	target := func(cluster string) gate.Target {
		return gate.Target{Campaign: "c", Cluster: cluster, Tenant: "tenant-a", Repo: "acme/fleet", MergeSHA: mergeSHA}
	}
	got := gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(),
		[]gate.Target{target("prod-cpu-1"), target("prod-cpu-2"), target("prod-cpu-3")})
	require.Len(t, got, 3)
	for _, r := range got {
		require.NoError(t, r.Err, r.Cluster)
	}

	assert.Equal(t, rollout.GatePassed, got[0].Outcome, got[0].Detail)
	assert.Equal(t, "terraform-plan (prod-cpu-1), terraform-apply (prod-cpu-1), drift/tenant-a succeeded on 4f1c2d3", got[0].Detail)

	assert.Equal(t, rollout.GateFailed, got[1].Outcome, got[1].Detail)
	assert.Equal(t, "check run terraform-apply (prod-cpu-2) (failure, https://ci.example.com/runs/terraform-apply (prod-cpu-2)) failed on 4f1c2d3", got[1].Detail)

	assert.Equal(t, rollout.GateWaiting, got[2].Outcome)
	assert.Equal(t, `no check run or status matches "terraform-* (prod-cpu-3)" yet on 4f1c2d3`, got[2].Detail)
}

// TestTerraformGateJudgesADestroyAsAnApply: for a cluster the merge
// removes, the check run named for it reports Terraform's destroy, and the
// gate judges it as any other: nothing it reads needs the cluster to exist.
func TestTerraformGateJudgesADestroyAsAnApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		run    gate.CheckRun
		want   rollout.Outcome
		detail string
	}{
		{run(1, "terraform-apply (prod-cpu-1-blue)", "in_progress", ""), rollout.GateWaiting,
			"check run terraform-apply (prod-cpu-1-blue) (in_progress) not finished on 4f1c2d3"},
		{run(2, "terraform-apply (prod-cpu-1-blue)", "completed", "success"), rollout.GatePassed,
			"terraform-apply (prod-cpu-1-blue) succeeded on 4f1c2d3"},
		{run(3, "terraform-apply (prod-cpu-1-blue)", "completed", "failure"), rollout.GateFailed,
			"check run terraform-apply (prod-cpu-1-blue) (failure, https://ci.example.com/runs/terraform-apply (prod-cpu-1-blue)) failed on 4f1c2d3"},
	}
	for _, tc := range tests {
		t.Run(tc.run.Status+" "+tc.run.Conclusion, func(t *testing.T) {
			t.Parallel()
			g := gate.NewTerraform(terraformGate(t, "terraform-apply ({{ .Cluster }})"), &fakeChecks{runs: []gate.CheckRun{tc.run}})
			r := runOne(t, g, gate.Target{Campaign: "c", Cluster: "prod-cpu-1-blue", Tenant: "tenant-a", Repo: "acme/fleet",
				MergeSHA: mergeSHA, Change: rollout.KindField, Gone: true})
			require.NoError(t, r.Err)
			assert.Equal(t, tc.want, r.Outcome)
			assert.Equal(t, tc.detail, r.Detail)
		})
	}
}

func TestStates(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return time.Date(2026, 12, 1, 9, m, 0, 0, time.UTC) }
	runs := []gate.CheckRun{
		{ID: 1, Name: "lint", Status: "completed", Conclusion: "failure"},
		{ID: 2, Name: "lint", Status: "completed", Conclusion: "success"}, // the re-run counts
		{ID: 3, Name: "test", Status: "in_progress"},
		{ID: 4, Name: "docs", Status: "completed", Conclusion: "skipped"},
		{ID: 5, Name: "ci/both", Status: "completed", Conclusion: "failure"},
	}
	statuses := []gate.CommitStatus{
		{Context: "fleetbot/approval", State: "pending", CreatedAt: at(1)},
		{Context: "fleetbot/approval", State: "success", CreatedAt: at(2)},
		{Context: "ci/both", State: "success", CreatedAt: at(1)},
		{Context: "ci/old", State: "error", CreatedAt: at(1)},
	}
	assert.Equal(t, map[string]string{
		"lint": "success", "test": "pending", "docs": "success",
		"fleetbot/approval": "success", "ci/both": "success", "ci/old": "failure",
	}, gate.States(runs, statuses))
}

// countingChecks counts the reads of each commit's checks.
type countingChecks struct {
	fakeChecks
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingChecks) CheckRuns(ctx context.Context, owner, repo, ref string) ([]gate.CheckRun, error) {
	c.mu.Lock()
	c.reads["runs "+ref]++
	c.mu.Unlock()
	return c.fakeChecks.CheckRuns(ctx, owner, repo, ref)
}

func (c *countingChecks) Statuses(ctx context.Context, owner, repo, ref string) ([]gate.CommitStatus, error) {
	c.mu.Lock()
	c.reads["statuses "+ref]++
	c.mu.Unlock()
	return c.fakeChecks.Statuses(ctx, owner, repo, ref)
}

// TestTerraformReadsEachMergeCommitOnce: the clusters of one pull request
// share its merge commit, whose checks one Run reads once; a cluster of
// another commit has its own read, and each cluster its own verdict.
func TestTerraformReadsEachMergeCommitOnce(t *testing.T) {
	t.Parallel()
	src := &countingChecks{fakeChecks: fakeChecks{runs: []gate.CheckRun{
		{ID: 1, Name: "plan-a-dev-1", Status: "completed", Conclusion: "success"},
		{ID: 2, Name: "plan-a-dev-2", Status: "completed", Conclusion: "failure"},
		{ID: 3, Name: "plan-a-dev-3", Status: "completed", Conclusion: "success"},
	}}, reads: map[string]int{}}
	g := gate.NewTerraform(terraformGate(t, "plan-{{.Cluster}}"), src)
	r := gate.NewRunner([]gate.Gate{g}, nil)
	targets := []gate.Target{
		{Cluster: "a-dev-1", Repo: "acme/fleet", MergeSHA: mergeSHA},
		{Cluster: "a-dev-2", Repo: "acme/fleet", MergeSHA: mergeSHA},
		{Cluster: "a-dev-3", Repo: "acme/fleet", MergeSHA: mergeSHA},
		{Cluster: "b-dev-1", Repo: "acme/fleet", MergeSHA: "other"},
	}
	results := r.Run(t.Context(), targets)
	outcomes := make([]rollout.Outcome, len(results))
	for i, res := range results {
		outcomes[i] = res.Outcome
	}
	assert.Equal(t, []rollout.Outcome{rollout.GatePassed, rollout.GateFailed, rollout.GatePassed, rollout.GateWaiting}, outcomes)
	assert.Equal(t, map[string]int{"runs " + mergeSHA: 1, "statuses " + mergeSHA: 1, "runs other": 1, "statuses other": 1}, src.reads)

	// A second Run reads again: checks move between passes.
	r.Run(t.Context(), targets[:1])
	assert.Equal(t, 2, src.reads["runs "+mergeSHA])
}
