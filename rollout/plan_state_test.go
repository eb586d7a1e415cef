package rollout

import (
	"cmp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateWaves(t *testing.T) {
	t.Parallel()
	wc := func(name, tenant string) WaveCluster { return WaveCluster{Name: name, Tenant: tenant} }
	ref := func(name, tenant string) ClusterRef { return ClusterRef{Name: name, Tenant: tenant} }
	tests := []struct {
		name    string
		plan    Plan
		want    []WaveSpec
		wantErr string
	}{
		{name: "hops name a cluster once per hop",
			plan: Plan{Waves: []Wave{{Index: 1, Hop: 1, Clusters: []WaveCluster{wc("a", "t1")}}, {Index: 2, Hop: 2, Clusters: []WaveCluster{wc("a", "t1")}}}},
			want: []WaveSpec{{Clusters: []ClusterRef{ref("a", "t1")}}, {Clusters: []ClusterRef{ref("a", "t1")}}}},
		{name: "clean-up of shared files verifies every changed cluster",
			plan: Plan{Waves: []Wave{
				{Index: 1, Clusters: []WaveCluster{wc("a", "t1"), wc("b", "t2")}},
				{Index: 2, Cleanup: true, PullRequests: []PullRequest{{Admin: true}}},
			}},
			want: []WaveSpec{{Clusters: []ClusterRef{ref("a", "t1"), ref("b", "t2")}}, {Cleanup: true, Clusters: []ClusterRef{ref("a", SharedTenant), ref("b", SharedTenant)}}}},
		{name: "clean-up of tenant files verifies that tenant's clusters",
			plan: Plan{Waves: []Wave{
				{Index: 1, Clusters: []WaveCluster{wc("a", "t1"), wc("b", "t2")}},
				{Index: 2, Cleanup: true, PullRequests: []PullRequest{{Tenant: "t2"}}},
			}},
			want: []WaveSpec{{Clusters: []ClusterRef{ref("a", "t1"), ref("b", "t2")}}, {Cleanup: true, Clusters: []ClusterRef{ref("b", "t2")}}}},
		{name: "a tenant's own pull request wins over the shared one",
			plan: Plan{Waves: []Wave{
				{Index: 1, Clusters: []WaveCluster{wc("a", "t1"), wc("b", "t2")}},
				{Index: 2, Cleanup: true, PullRequests: []PullRequest{{Admin: true}, {Tenant: "t2"}}},
			}},
			want: []WaveSpec{{Clusters: []ClusterRef{ref("a", "t1"), ref("b", "t2")}}, {Cleanup: true, Clusters: []ClusterRef{ref("a", SharedTenant), ref("b", "t2")}}}},
		{name: "a shared wave holds its clusters under the fleet admins' pull request",
			plan: Plan{Waves: []Wave{
				{Index: 1, Clusters: []WaveCluster{wc("a", "t1")}},
				{Index: 2, Shared: true, Clusters: []WaveCluster{wc("a", "t1"), wc("b", "t2")}, PullRequests: []PullRequest{{Admin: true}}},
				{Index: 3, Cleanup: true, PullRequests: []PullRequest{{Tenant: "t2"}}},
			}},
			want: []WaveSpec{
				{Clusters: []ClusterRef{ref("a", "t1")}},
				{Clusters: []ClusterRef{ref("a", SharedTenant), ref("b", SharedTenant)}},
				{Cleanup: true, Clusters: []ClusterRef{ref("b", "t2")}},
			}},
		{name: "waves out of order", plan: Plan{Waves: []Wave{{Index: 2}}}, wantErr: "plan wave 1 is numbered 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := StateWaves(&tc.plan)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCleanupGates(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"argocd"}, CleanupGates([]string{"argocd", "eks", "terraform"}))
	assert.Nil(t, CleanupGates([]string{"eks", "terraform"}))
}

func TestPlanExpected(t *testing.T) {
	t.Parallel()
	wc := func(name, from, to string) WaveCluster {
		return WaveCluster{Name: name, Tenant: "t", From: from, To: to}
	}
	p := Plan{Waves: []Wave{
		{Index: 1, Hop: 1, Clusters: []WaveCluster{wc("a", "1.29", "1.30")}},
		{Index: 2, Hop: 2, Clusters: []WaveCluster{wc("a", "1.30", "1.31"), wc("b", "1.30", "1.31")}},
		{Index: 3, Cleanup: true},
	}}
	tests := []struct {
		name    string
		idx     int
		cluster string
		revert  bool
		want    string
		ok      bool
	}{
		{"a change wave's target", 1, "a", false, "1.30", true},
		{"the next hop's target", 2, "a", false, "1.31", true},
		{"a reverted wave: the value before it", 2, "b", true, "1.30", true},
		{"a clean-up: the last change's target", 3, "a", false, "1.31", true},
		{"a clean-up's revert moves no value", 3, "b", true, "1.31", true},
		{"not in the wave", 1, "b", false, "", false},
		{"no such wave", 4, "a", false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got, ok := p.Expected(tc.idx, tc.cluster, tc.revert)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPullRequestFor(t *testing.T) {
	pr := PullRequest{Repo: "fleet", Tenant: "t1", Files: []FileChange{
		{Path: "t1/dev.yaml", Edits: []Edit{
			{Path: []string{"clusters", "c1", "version"}, Op: OpSet, From: "1.29", To: "1.30", Cluster: "c1"},
			{Path: []string{"clusters", "c2", "version"}, Op: OpSet, From: "1.29", To: "1.30", Cluster: "c2"},
		}},
		{Path: "t1/c2.yaml", Edits: []Edit{{Path: []string{"release"}, Op: OpSet, From: "r1", To: "r2", Cluster: "c2"}}},
		{Path: "t1/env.yaml", Edits: []Edit{{Path: []string{"release"}, Op: OpSet, From: "r1", To: "r2"}}},
		{Path: "t1/new.yaml", Create: true, Content: "a: 1\n"},
	}}
	tests := []struct {
		name     string
		clusters []string
		want     []string // "path: edit clusters"
	}{
		{name: "none asked keeps every edit", want: []string{"t1/dev.yaml: c1 c2", "t1/c2.yaml: c2", "t1/env.yaml: -", "t1/new.yaml:"}},
		{name: "every cluster", clusters: []string{"c1", "c2"}, want: []string{"t1/dev.yaml: c1 c2", "t1/c2.yaml: c2", "t1/env.yaml: -", "t1/new.yaml:"}},
		{name: "c2 held back", clusters: []string{"c1"}, want: []string{"t1/dev.yaml: c1", "t1/env.yaml: -", "t1/new.yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pr.For(tt.clusters)
			var files []string
			for _, f := range got.Files {
				line := f.Path + ":"
				for _, e := range f.Edits {
					line += " " + cmp.Or(e.Cluster, "-")
				}
				files = append(files, line)
			}
			assert.Equal(t, tt.want, files)
			assert.Len(t, pr.Files[0].Edits, 2, "the plan's pull request is left as it was")
		})
	}
}
