package wave

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestBodyGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden   string
		campaign string
		wave     int
		tenant   string
		clusters []string
		gates    []string
		attempt  int
	}{
		{"eks-1-30-wave-9-tenant-a.md", "eks-1-30", 9, "tenant-a", nil, []string{"terraform", "argocd", "eks"}, 0},
		{"eks-1-30-wave-11-tenant-c-retry.md", "eks-1-30", 11, "tenant-c", []string{"c-prod-cpu-3"}, nil, 2},
		{"addons-release2-wave-6-tenant-a.md", "addons-release2", 6, "tenant-a", nil, nil, 0},
		{"addons-release2-wave-10-admins.md", "addons-release2", 10, AdminTenant, nil, []string{"argocd"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			p := examplePlan(t, tt.campaign)
			req := Request{Campaign: p.campaign, Plan: p.plan, Wave: tt.wave, Clusters: tt.clusters, Gates: tt.gates, Attempt: tt.attempt}
			for _, pr := range p.plan.Waves[tt.wave-1].PullRequests {
				if pr.Tenant == tt.tenant || pr.Admin && tt.tenant == AdminTenant {
					req.PR = pr
				}
			}
			got, err := Body(req)
			require.NoError(t, err)
			assert.Equal(t, tt.attempt == 0, strings.Contains(got, "attempt=1 -->"))
			golden(t, filepath.Join("testdata", tt.golden), got)
		})
	}
}

func TestBodyErrors(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	_, err := Body(Request{Plan: p.plan, Wave: 1, PR: p.plan.Waves[0].PullRequests[0], Clusters: []string{"zz"}})
	assert.ErrorContains(t, err, "cluster zz is not in wave 1")
	_, err = Body(Request{Wave: 1})
	assert.ErrorContains(t, err, "plan is required")
	other := *p.campaign
	other.Metadata.Name = "other"
	_, err = Body(Request{Campaign: &other, Plan: p.plan, Wave: 1})
	assert.ErrorContains(t, err, `campaign "other" does not match the plan of "eks-1-30"`)
}

func TestBodyAttempt(t *testing.T) {
	t.Parallel()
	tests := map[string]int{
		"": 1,
		"text\n<!-- fleetbot campaign=c wave=2 tenant=t attempt=3 -->\n": 3,
		"<!-- fleetbot campaign=c wave=2 tenant=t attempt=0 -->":         1,
		"<!-- fleetbot campaign=c wave=2 tenant=t attempt=x -->":         1,
	}
	for body, want := range tests {
		assert.Equal(t, want, bodyAttempt(body), "%q", body)
	}
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "run go test -update to write %s", file)
	assert.Equal(t, string(want), got, "%s differs; run go test -update and review the diff", file)
}

// TestBodySharedGolden is the body of a shared wave: the fleet admins'
// pull request changing one environment's file, which says the clusters it
// reaches.
func TestBodySharedGolden(t *testing.T) {
	t.Parallel()
	reach := []string{"a-prod-1", "b-prod-1", "b-prod-2", "c-prod-1"}
	file := rollout.FileChange{
		Path:  "environments/prod/addons/addons-config.yaml",
		Edits: []rollout.Edit{{Path: []string{"amiRelease"}, Op: rollout.OpSet, From: "v1", To: "v2", Line: 3}},
		Reach: reach,
	}
	pr := rollout.PullRequest{Repo: "org/fleet", Admin: true, Files: []rollout.FileChange{file}}
	shared := rollout.Wave{Index: 2, Env: "prod", Approval: true, Shared: true, PullRequests: []rollout.PullRequest{pr}}
	for _, name := range reach {
		shared.Clusters = append(shared.Clusters, rollout.WaveCluster{Name: name, Tenant: "tenant-" + name[:1], Env: "prod", Fleet: "cpu", From: "v1", To: "v2"})
	}
	shared.Clusters[0].From = "v2" // the canary, moved by its own value in wave 1
	canary := rollout.Wave{Index: 1, Env: "prod", Canary: true,
		Clusters:     []rollout.WaveCluster{{Name: "a-prod-1", Tenant: "tenant-a", Env: "prod", Fleet: "cpu", Canary: true, From: "v1", To: "v2"}},
		PullRequests: []rollout.PullRequest{{Repo: "org/fleet", Tenant: "tenant-a"}}}
	p := &rollout.Plan{
		Campaign: "ami-v2",
		Change:   rollout.PlanChange{Kind: rollout.KindField, Files: "environments/**/*.yaml", Path: "amiRelease", To: "v2", Revertible: true},
		Waves:    []rollout.Wave{canary, shared},
	}
	got, err := Body(Request{Plan: p, Wave: 2, PR: pr, Gates: []string{"terraform", "argocd"}})
	require.NoError(t, err)
	assert.Contains(t, got, "- environments/prod/addons/addons-config.yaml reaches 4 clusters: a-prod-1, b-prod-1, b-prod-2, c-prod-1\n")
	golden(t, filepath.Join("testdata", "ami-v2-wave-2-admins.md"), got)
}

// TestBodyFitsGitHub: the fleet admins' pull request of a shared wave on
// a large fleet lists thousands of clusters, twice (the wave's table and
// the file's reach), far over what GitHub takes for a body. The body keeps
// within 65,536 characters, names the first clusters of the file and says
// how many it counts, keeps as many of the table's rows as fit and says
// how many it leaves out and where they all are.
func TestBodyFitsGitHub(t *testing.T) {
	t.Parallel()
	for _, n := range []int{100, 5000, 100000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			var reach []string
			var clusters []rollout.WaveCluster
			for i := range n {
				name := fmt.Sprintf("t%05d-prod-cluster", i)
				reach = append(reach, name)
				clusters = append(clusters, rollout.WaveCluster{Name: name, Tenant: fmt.Sprintf("tenant-%05d", i), Env: "prod", From: "v1", To: "v2"})
			}
			file := rollout.FileChange{
				Path:  "environments/prod/addons/addons-config.yaml",
				Edits: []rollout.Edit{{Path: []string{"amiRelease"}, Op: rollout.OpSet, From: "v1", To: "v2", Line: 3}},
				Reach: reach,
			}
			pr := rollout.PullRequest{Repo: "org/fleet", Admin: true, Files: []rollout.FileChange{file}}
			p := &rollout.Plan{
				Campaign: "ami-v2",
				Change:   rollout.PlanChange{Kind: rollout.KindField, Files: "environments/**/*.yaml", Path: "amiRelease", To: "v2", Revertible: true},
				Waves:    []rollout.Wave{{Index: 1, Env: "prod", Shared: true, Clusters: clusters, PullRequests: []rollout.PullRequest{pr}}},
			}
			got, err := Body(Request{Plan: p, Wave: 1, PR: pr})
			require.NoError(t, err)
			assert.LessOrEqual(t, utf8.RuneCountInString(got), 65536)
			rows := strings.Count(got, "| prod | v1 -> v2 |")
			has(t, got, "<!-- fleetbot campaign=ami-v2 wave=1")
			if n == 100 {
				assert.Equal(t, n, rows, "a body that fits is whole")
				has(t, got, file.DescribeReach())
				assert.False(t, strings.Contains(got, "more clusters"), "a body that fits says nothing is left out")
				return
			}
			has(t, got, fmt.Sprintf("reaches %d clusters: t00000-prod-cluster, t00001-prod-cluster,", n))
			has(t, got, fmt.Sprintf(", t00019-prod-cluster, and %d more\n", n-20))
			assert.Greater(t, rows, 500, "as many rows as fit")
			assert.Less(t, rows, n)
			has(t, got, fmt.Sprintf("…and %d more clusters, left out to fit GitHub's limit on a pull request's length: `/fleet status` lists every cluster of the wave.", n-rows))
			assert.Greater(t, len(got), 60000, "no more is left out than needed")
		})
	}
}

// has is assert.Contains without printing a body of 64 KB.
func has(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("the body (%d bytes, ending %q) does not hold %q", len(got), got[max(0, len(got)-300):], want)
	}
}

// TestBodyBlueGreen is the body of each step of a blue-green replacement
// of tenant-a's prod canaries: the example fleet, whose layout says how a
// green cluster is written, replaced blue-green with traffic in two steps.
func TestBodyBlueGreen(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	fleet, err := p.inv.Fleet()
	require.NoError(t, err)
	c := *p.campaign
	c.Spec.Strategy.Method = map[string]string{"prod": rollout.MethodBlueGreen}
	c.Spec.Strategy.Traffic = []int{50, 100}
	plan, err := rollout.PlanCampaign(&c, fleet)
	require.NoError(t, err)
	first := slices.IndexFunc(plan.Waves, func(w rollout.Wave) bool { return w.Step == rollout.StepGreen })
	require.GreaterOrEqual(t, first, 0)
	for i, step := range []string{"green", "traffic-50", "traffic-100", "retire"} {
		w := plan.Waves[first+i]
		req := Request{Campaign: &c, Plan: plan, Wave: w.Index, PR: w.PullRequests[0], Gates: []string{"terraform", "argocd", "eks"}}
		got, err := Body(req)
		require.NoError(t, err)
		golden(t, filepath.Join("testdata", "eks-1-30-blue-green-"+step+".md"), got)
	}
}
