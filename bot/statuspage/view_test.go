package statuspage

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)

// at is t0 plus m minutes.
func at(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

type step struct {
	at int
	ev rollout.Event
}

// drive builds a campaign's state over waves and feeds it the steps.
func drive(t *testing.T, name string, p rollout.Policy, waves [][]rollout.ClusterRef, steps ...step) rollout.State {
	t.Helper()
	specs := make([]rollout.WaveSpec, len(waves))
	for i, w := range waves {
		specs[i] = rollout.WaveSpec{Clusters: w}
	}
	s, err := rollout.NewState(name, p, specs)
	require.NoError(t, err)
	for _, st := range steps {
		s, _, err = rollout.Transition(s, st.ev, at(st.at))
		require.NoError(t, err, "%T at %d", st.ev, st.at)
	}
	return s
}

func ref(name, tenant string) rollout.ClusterRef {
	return rollout.ClusterRef{Name: name, Tenant: tenant}
}

func cluster(name, tenant, env, version string) gitops.Cluster {
	return gitops.Cluster{Name: name, Tenant: tenant, Env: env, Version: version}
}

func repoURL(repo string) string {
	if repo == "" {
		return ""
	}
	return "https://github.example/" + repo
}

// fixture is a fleet of three tenants over dev, staging and prod, with a
// running EKS campaign in its second wave (one pull request merged, its
// clusters verified, one failed within the budget, one pull request open, an
// action that keeps failing), a cluster it holds that the
// repositories no longer describe, a disabled cluster, and an ended label
// campaign.
func fixture(t *testing.T) Input {
	t.Helper()
	eks := rollout.Policy{Bake: time.Hour, ProgressDeadline: time.Hour, MaxFailures: 1, Gates: []string{"terraform"}, Change: rollout.KindEKSVersion}
	running := drive(t, "eks-1-30", eks, [][]rollout.ClusterRef{
		{ref("payments-dev-eu-west-1-blue", "payments"), ref("search-dev-1", "search")},
		{ref("payments-staging-1", "payments"), ref("search-staging-1", "search"), ref("search-staging-old", "search")},
		{ref("payments-prod-eu-west-1-blue", "payments"), ref("payments-prod-eu-west-1-green", "payments"), ref("search-prod-1", "search")},
	},
		step{0, rollout.ScheduleCampaign{By: "fleetbot"}},
		step{0, rollout.Tick{CanOpen: true}},
		step{1, rollout.PROpened{Wave: 1, Tenant: "payments", Number: 11}},
		step{1, rollout.PROpened{Wave: 1, Tenant: "search", Number: 12}},
		step{5, rollout.PRMerged{Wave: 1, Tenant: "payments", Number: 11, SHA: "a1"}},
		step{6, rollout.PRMerged{Wave: 1, Tenant: "search", Number: 12, SHA: "a2"}},
		step{8, rollout.GateResult{Cluster: "payments-dev-eu-west-1-blue", Gate: "terraform", Outcome: rollout.GatePassed}},
		step{9, rollout.GateResult{Cluster: "search-dev-1", Gate: "terraform", Outcome: rollout.GatePassed}},
		step{70, rollout.Tick{CanOpen: true}},
		step{71, rollout.PROpened{Wave: 2, Tenant: "payments", Number: 21}},
		step{71, rollout.PROpened{Wave: 2, Tenant: "search", Number: 22}},
		step{80, rollout.PRMerged{Wave: 2, Tenant: "search", Number: 22, SHA: "b2"}},
		step{85, rollout.GateResult{Cluster: "search-staging-1", Gate: "terraform", Outcome: rollout.GatePassed}},
		step{86, rollout.GateResult{Cluster: "search-staging-old", Gate: "terraform", Outcome: rollout.GateFailed, Detail: "apply failed: node group quota"}},
	)
	label := rollout.Policy{Gates: []string{"argocd"}, Change: rollout.KindLabel, Revertible: true}
	ended := drive(t, "addons-r1", label, [][]rollout.ClusterRef{{ref("ml-dev-1", "ml")}},
		step{-3000, rollout.ScheduleCampaign{}},
		step{-3000, rollout.Tick{CanOpen: true}},
		step{-2990, rollout.PROpened{Wave: 1, Tenant: "ml", Number: 3}},
		step{-2980, rollout.PRMerged{Wave: 1, Tenant: "ml", Number: 3, SHA: "c1"}},
		step{-2970, rollout.GateResult{Cluster: "ml-dev-1", Gate: "argocd", Outcome: rollout.GatePassed}},
		step{-2960, rollout.Tick{}},
	)
	repos := map[string]string{"payments": "acme/fleet", "search": "acme/fleet"}
	failing := rollout.Trouble{Action: "post-report", Wave: 2, What: "post the halt report on the pull requests of wave 2",
		Err:   "POST https://api.github.example/repos/acme/fleet/issues/21/comments: 403 Resource not accessible by integration: the installation lacks the issues:write permission on acme/fleet (request id ABCD:1234:5678:9ABC:DEF0)",
		Since: at(72), Last: at(89), Attempts: 18}
	prod := cluster("payments-prod-eu-west-1-blue", "payments", "prod", "1.29")
	prod.Canary = true
	off := cluster("ml-prod-legacy", "ml", "prod", "1.28")
	off.Disabled = true
	return Input{
		At: at(90),
		Fleet: FleetInput{
			Repositories: []Commit{{Repo: "acme/fleet", SHA: "0123456789abcdef0123456789abcdef01234567", URL: "https://github.example/acme/fleet/commit/0123456789abcdef0123456789abcdef01234567"}},
			ReadAt:       at(89),
			Clusters: []gitops.Cluster{
				cluster("ml-dev-1", "ml", "dev", "1.29"), off,
				cluster("payments-dev-eu-west-1-blue", "payments", "dev", "1.30"),
				prod, cluster("payments-prod-eu-west-1-green", "payments", "prod", "1.29"),
				cluster("payments-staging-1", "payments", "staging", "1.29"),
				cluster("search-dev-1", "search", "dev", "1.30"),
				cluster("search-prod-1", "search", "prod", "1.29"),
				cluster("search-staging-1", "search", "staging", "1.30"),
				cluster("zeta-sandbox-1", "zeta", "sandbox", "1.31"),
			},
		},
		Campaigns: []CampaignInput{
			{State: ended, Change: rollout.PlanChange{Kind: rollout.KindLabel, Path: "team", To: "ml-platform", Revertible: true}, StartedAt: at(-3000),
				File:     Source{Repo: "acme/fleet", Path: "campaigns/addons-r1.yaml", SHA: "c0ffee"},
				Waves:    []PlannedWave{{Env: "dev", Repos: map[string]string{"ml": "acme/fleet"}}},
				Troubles: []rollout.Trouble{failing}},
			{State: running, Change: rollout.PlanChange{Kind: rollout.KindEKSVersion, To: "1.30", Hops: []string{"1.30"}}, StartedAt: at(0),
				File:     Source{Repo: "acme/fleet", Path: "campaigns/eks-1-30.yaml", SHA: "beef"},
				Waves:    []PlannedWave{{Env: "dev", Canary: true, Repos: repos}, {Env: "staging", Repos: repos}, {Env: "prod", Step: "green", Repos: repos}},
				Troubles: []rollout.Trouble{failing}},
		},
		RepoURL: repoURL,
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	v := Build(fixture(t))

	require.Len(t, v.Campaigns, 2)
	assert.Equal(t, "eks-1-30", v.Campaigns[0].Name, "running campaigns first")
	assert.Equal(t, "addons-r1", v.Campaigns[1].Name)
	c := v.Campaigns[0]
	assert.Equal(t, rollout.CampaignRunning, c.Phase, "the failed gate is within the budget of one")
	assert.True(t, c.Running)
	assert.Equal(t, Link{Text: "acme/fleet/campaigns/eks-1-30.yaml", URL: "https://github.example/acme/fleet/blob/beef/campaigns/eks-1-30.yaml"}, c.File)
	assert.Equal(t, rollout.WaitMerge, c.Waiting.Kind)
	assert.Equal(t, []int{21}, c.Waiting.PRs)
	assert.Equal(t, []PullRequest{
		{Tenant: "payments", Repo: "acme/fleet", Number: 21, Status: rollout.PRStatusOpen, URL: "https://github.example/acme/fleet/pull/21"},
		{Tenant: "search", Repo: "acme/fleet", Number: 22, Status: rollout.PRStatusMerged, URL: "https://github.example/acme/fleet/pull/22"},
	}, c.Waves[1].PullRequests)
	assert.Equal(t, []Count{{State: "InPR", N: 1}, {State: "Succeeded", N: 1}, {State: "Failed", N: 1}}, c.Waves[1].Clusters)
	assert.Equal(t, "green", c.Waves[2].Step, "a blue-green step says which")
	require.Len(t, c.Failing, 1, "the action that keeps failing")
	assert.Equal(t, "post the halt report on the pull requests of wave 2", c.Failing[0].What)
	assert.Empty(t, v.Campaigns[1].Failing, "an ended campaign acts no more")

	f := v.Fleet
	assert.Equal(t, []string{"dev", "staging", "prod", "sandbox"}, f.Envs, "the campaigns' order, then the others by name")
	var names []string
	for _, tn := range f.Tenants {
		names = append(names, tn.Name)
		require.Len(t, tn.Cells, len(f.Envs), tn.Name)
	}
	assert.Equal(t, []string{"ml", "payments", "search", "zeta"}, names)
	byName := map[string]Cluster{}
	for _, tn := range f.Tenants {
		for i, cell := range tn.Cells {
			assert.Equal(t, f.Envs[i], cell.Env)
			for _, cl := range cell.Clusters {
				byName[cl.Name] = cl
			}
		}
	}
	assert.Equal(t, Cluster{Name: "payments-dev-eu-west-1-blue", Version: "1.30", State: "Succeeded", Campaign: "eks-1-30", Wave: 1, Target: "1.30"}, byName["payments-dev-eu-west-1-blue"])
	assert.Equal(t, Cluster{Name: "payments-staging-1", Version: "1.29", State: "InPR", Campaign: "eks-1-30", Wave: 2, Target: "1.30"}, byName["payments-staging-1"])
	assert.Equal(t, Cluster{Name: "search-staging-old", State: "Failed", Campaign: "eks-1-30", Wave: 2, Target: "1.30",
		Detail: "terraform: apply failed: node group quota", Missing: true}, byName["search-staging-old"], "held by the campaign, gone from the files")
	assert.Equal(t, Cluster{Name: "payments-prod-eu-west-1-blue", Version: "1.29", Canary: true, State: "Pending", Campaign: "eks-1-30", Wave: 3, Target: "1.30"}, byName["payments-prod-eu-west-1-blue"])
	assert.Equal(t, Cluster{Name: "ml-dev-1", Version: "1.29", State: StateIdle}, byName["ml-dev-1"], "an ended campaign holds nothing")
	assert.Equal(t, Cluster{Name: "ml-prod-legacy", Version: "1.28", State: StateDisabled}, byName["ml-prod-legacy"])
	assert.Equal(t, []Count{{"Pending", 3}, {"InPR", 1}, {"Succeeded", 3}, {"Failed", 1}, {StateIdle, 2}, {StateDisabled, 1}}, f.States)

	golden(t, "view.json", jsonOf(t, v))
}

func TestBuildKeepsTheMostRecentEnded(t *testing.T) {
	t.Parallel()
	p := rollout.Policy{Gates: []string{"argocd"}, Change: rollout.KindLabel, Revertible: true}
	var in Input
	in.RepoURL = repoURL
	for i := range MaxEnded + 3 {
		st := drive(t, fmt.Sprintf("old-%02d", i), p, [][]rollout.ClusterRef{{ref("c", "t")}},
			step{0, rollout.ScheduleCampaign{}}, step{1, rollout.Abort{By: "pat"}})
		in.Campaigns = append(in.Campaigns, CampaignInput{State: st, StartedAt: at(i)})
	}
	v := Build(in)
	require.Len(t, v.Campaigns, MaxEnded)
	assert.Equal(t, "old-12", v.Campaigns[0].Name, "the most recently started first")
	assert.Equal(t, "old-03", v.Campaigns[MaxEnded-1].Name)
	assert.Equal(t, 3, v.OlderCampaigns)
	assert.Equal(t, []string{}, v.Fleet.Envs)
}

func TestRender(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, Render(&b, Build(fixture(t)), 45*time.Second))
	golden(t, "page.html", b.String())

	var empty bytes.Buffer
	require.NoError(t, Render(&empty, Build(Input{At: t0, RepoURL: repoURL}), 0))
	assert.Contains(t, empty.String(), `<meta http-equiv="refresh" content="30">`, "DefaultRefresh")
	assert.Contains(t, empty.String(), "No campaign has started yet.")
	assert.Contains(t, empty.String(), "No cluster found.")
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return string(b) + "\n"
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "read golden file (run go test -update to create it)")
	assert.Equal(t, string(want), got, "golden file %s differs; run go test -update and review the diff", path)
}

// TestRolloutOrder: a campaign's environments come in its strategy.order,
// those its waves leave alone too, then any its waves name that the order
// does not (a state stored before the order was given).
func TestRolloutOrder(t *testing.T) {
	t.Parallel()
	waves := func(envs ...string) []PlannedWave {
		out := make([]PlannedWave, len(envs))
		for i, e := range envs {
			out[i] = PlannedWave{Env: e}
		}
		return out
	}
	tests := []struct {
		name string
		in   CampaignInput
		want []string
	}{
		{"dev alone, ordered dev, staging, prod", CampaignInput{Order: []string{"dev", "staging", "prod"}, Waves: waves("dev")}, []string{"dev", "staging", "prod"}},
		{"no order: the waves'", CampaignInput{Waves: waves("dev", "dev", "", "prod")}, []string{"dev", "prod"}},
		{"a wave's environment the order lacks comes last", CampaignInput{Order: []string{"dev"}, Waves: waves("dev", "qa")}, []string{"dev", "qa"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, rolloutOrder(tc.in))
		})
	}
	fleet := []string{"dev", "prod", "staging"}
	assert.Equal(t, []string{"dev", "staging", "prod"}, envColumns([][]string{rolloutOrder(tests[0].in)}, fleet),
		"the columns of a fleet whose one campaign changes dev alone")
}

func TestEnvColumns(t *testing.T) {
	t.Parallel()
	fleet := []string{"dev", "prod", "sandbox", "staging"}
	tests := []struct {
		name     string
		rollouts [][]string
		envs     []string
		want     []string
	}{
		{name: "no campaign: by name", envs: fleet, want: fleet},
		{name: "one campaign's order, then the others by name", rollouts: [][]string{{"dev", "staging", "prod"}}, envs: fleet,
			want: []string{"dev", "staging", "prod", "sandbox"}},
		{name: "the newest rolls out prod alone: it stays after dev and staging", rollouts: [][]string{{"prod"}, {"dev", "staging", "prod"}}, envs: fleet,
			want: []string{"dev", "staging", "prod", "sandbox"}},
		{name: "campaigns of one environment each: the newest first", rollouts: [][]string{{"staging"}, {"dev"}}, envs: fleet,
			want: []string{"staging", "dev", "prod", "sandbox"}},
		{name: "orders that join up", rollouts: [][]string{{"staging", "prod"}, {"dev", "staging"}}, envs: fleet,
			want: []string{"dev", "staging", "prod", "sandbox"}},
		{name: "orders that disagree: the newest's", rollouts: [][]string{{"staging", "dev"}, {"dev", "staging"}}, envs: []string{"dev", "staging"},
			want: []string{"staging", "dev"}},
		{name: "an environment no longer in the fleet", rollouts: [][]string{{"qa", "prod"}}, envs: []string{"dev", "prod"},
			want: []string{"prod", "dev"}},
		{name: "no environment", rollouts: [][]string{{"dev"}}, envs: nil, want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, envColumns(tc.rollouts, tc.envs))
		})
	}
}

// TestNotReachedWave: a wave an aborted campaign never opened is not
// reached, its clusters counted so, and the page says so; its phase stays
// the state's. The wave the abort stopped is not.
func TestNotReachedWave(t *testing.T) {
	t.Parallel()
	p := rollout.Policy{Gates: []string{"argocd"}, Change: rollout.KindLabel, Revertible: true}
	st := drive(t, "addons-r2", p, [][]rollout.ClusterRef{{ref("a-dev-1", "a")}, {ref("a-prod-1", "a"), ref("a-prod-2", "a")}},
		step{0, rollout.ScheduleCampaign{}}, step{0, rollout.Tick{CanOpen: true}},
		step{1, rollout.PROpened{Wave: 1, Tenant: "a", Number: 7}}, step{2, rollout.Abort{By: "pat"}})
	v := Build(Input{At: at(3), RepoURL: repoURL, Campaigns: []CampaignInput{{State: st, StartedAt: at(0)}}})
	require.Len(t, v.Campaigns, 1)
	waves := v.Campaigns[0].Waves
	require.Len(t, waves, 2)
	assert.False(t, waves[0].NotReached)
	assert.Equal(t, []Count{{State: "Stopped", N: 1}}, waves[0].Clusters)
	assert.True(t, waves[1].NotReached)
	assert.Equal(t, rollout.WavePending, waves[1].Phase)
	assert.Equal(t, []Count{{State: "NotReached", N: 2}}, waves[1].Clusters)

	var b bytes.Buffer
	require.NoError(t, Render(&b, v, 0))
	assert.Contains(t, b.String(), `<span class="badge ph-notreached">not reached</span>`)
	assert.Contains(t, b.String(), `<span class="chip st-notreached">2 NotReached</span>`)
}

// TestRollingBackProgress: a campaign rolling back counts the clusters
// its revert waves took back, not clusters through.
func TestRollingBackProgress(t *testing.T) {
	t.Parallel()
	p := rollout.Policy{Gates: []string{"argocd"}, Change: rollout.KindLabel, Revertible: true}
	st := drive(t, "addons-r3", p, [][]rollout.ClusterRef{{ref("a-dev-1", "a")}},
		step{0, rollout.ScheduleCampaign{}}, step{0, rollout.Tick{CanOpen: true}},
		step{1, rollout.PROpened{Wave: 1, Tenant: "a", Number: 7}}, step{2, rollout.PRMerged{Wave: 1, Tenant: "a", Number: 7, SHA: "m"}},
		step{3, rollout.Rollback{By: "pat"}})
	require.Equal(t, rollout.CampaignRollingBack, st.Phase)
	var b bytes.Buffer
	require.NoError(t, Render(&b, Build(Input{At: at(4), RepoURL: repoURL, Campaigns: []CampaignInput{{State: st, StartedAt: at(0)}}}), 0))
	assert.Contains(t, b.String(), "<span>0 of 1 clusters taken back, 0 of 1 revert waves done</span>")
	assert.NotContains(t, b.String(), "clusters through")
}
