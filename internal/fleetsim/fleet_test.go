package fleetsim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
)

func cluster(name, version string, labels map[string]string) gitops.Cluster {
	return gitops.Cluster{Name: name, Tenant: "tenant-a", Env: "dev", Region: "ap-south-1", Account: "111111111111", Version: version, Labels: labels}
}

// withTraffic returns c carrying the traffic share v.
func withTraffic(c gitops.Cluster, v string) gitops.Cluster {
	c.Traffic, c.TrafficPath = v, []string{"services", "eks", "config", c.Name, "traffic"}
	return c
}

// inventory lists clusters already sorted by name, as gitops.Load does.
func inventory(clusters ...gitops.Cluster) *gitops.Inventory {
	return &gitops.Inventory{Clusters: clusters}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	rel := func(v string) map[string]string {
		return map[string]string{"addonsRelease": v, "fleetRelease": "default"}
	}
	tests := []struct {
		name          string
		before, after *gitops.Inventory
		want          map[string]string // cluster: change.String()
	}{
		{name: "nothing changed",
			before: inventory(cluster("a", "1.29", rel("release1"))),
			after:  inventory(cluster("a", "1.29", rel("release1"))),
			want:   map[string]string{}},
		{name: "a version",
			before: inventory(cluster("a", "1.29", rel("release1")), cluster("b", "1.29", rel("release1"))),
			after:  inventory(cluster("a", "1.30", rel("release1")), cluster("b", "1.29", rel("release1"))),
			want:   map[string]string{"a": "version 1.29 -> 1.30"}},
		{name: "a label value",
			before: inventory(cluster("a", "1.29", rel("release1"))),
			after:  inventory(cluster("a", "1.29", rel("release2"))),
			want:   map[string]string{"a": "labels addonsRelease=release1 -> release2"}},
		{name: "labels added and removed",
			before: inventory(cluster("a", "1.29", map[string]string{"x": "1"})),
			after:  inventory(cluster("a", "1.29", map[string]string{"y": "2"})),
			want:   map[string]string{"a": "labels x=1 (removed), y=2 (new)"}},
		{name: "version and labels",
			before: inventory(cluster("a", "1.29", rel("release1"))),
			after:  inventory(cluster("a", "1.30", rel("release2"))),
			want:   map[string]string{"a": "version 1.29 -> 1.30; labels addonsRelease=release1 -> release2"}},
		{name: "a new cluster",
			before: inventory(cluster("a", "1.29", nil)),
			after:  inventory(cluster("a", "1.29", nil), cluster("b", "1.30", nil)),
			want:   map[string]string{"b": "new at 1.30"}},
		{name: "a removed cluster",
			before: inventory(cluster("a", "1.29", nil), cluster("b", "1.29", rel("release1"))),
			after:  inventory(cluster("a", "1.29", nil)),
			want:   map[string]string{"b": "removed at 1.29"}},
		{name: "blue removed and green added",
			before: inventory(withTraffic(cluster("a-blue", "1.29", nil), "0")),
			after:  inventory(withTraffic(cluster("a-green", "1.30", nil), "100")),
			want:   map[string]string{"a-blue": "removed at 1.29", "a-green": "new at 1.30"}},
		{name: "traffic",
			before: inventory(withTraffic(cluster("a", "1.29", nil), "100"), withTraffic(cluster("b", "1.30", nil), "0")),
			after:  inventory(withTraffic(cluster("a", "1.29", nil), "50"), withTraffic(cluster("b", "1.30", nil), "50")),
			want:   map[string]string{"a": "traffic 100 -> 50", "b": "traffic 0 -> 50"}},
		{name: "traffic given for the first time",
			before: inventory(cluster("a", "1.29", nil)),
			after:  inventory(withTraffic(cluster("a", "1.29", nil), "100")),
			want:   map[string]string{"a": "traffic (none) -> 100"}},
		{name: "the same traffic is no change",
			before: inventory(withTraffic(cluster("a", "1.29", nil), "100")),
			after:  inventory(withTraffic(cluster("a", "1.29", nil), "100")),
			want:   map[string]string{}},
		{name: "version and traffic",
			before: inventory(withTraffic(cluster("a", "1.29", rel("release1")), "100")),
			after:  inventory(withTraffic(cluster("a", "1.30", rel("release1")), "0")),
			want:   map[string]string{"a": "version 1.29 -> 1.30; traffic 100 -> 0"}},
		{name: "no fleet before",
			before: nil,
			after:  inventory(cluster("a", "", nil)),
			want:   map[string]string{"a": "new at (none)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]string{}
			var names []string
			for _, ch := range changes(tc.before, tc.after) {
				got[ch.Cluster.Name] = ch.String()
				names = append(names, ch.Cluster.Name)
				_, stays := tc.after.Cluster(ch.Cluster.Name)
				assert.Equal(t, !stays, ch.Removed, ch.Cluster.Name)
				if ch.Removed {
					assert.False(t, ch.version() || ch.labels() || ch.traffic(), "a removal is nothing else: %s", ch.Cluster.Name)
				}
			}
			assert.Equal(t, tc.want, got)
			assert.True(t, slices.IsSorted(names), "by name: %v", names)
		})
	}
}

func TestApplicationsTrackTheBranch(t *testing.T) {
	t.Parallel()
	c := cluster("a-dev-cpu-1", "1.29", nil)
	apps := applications(c, "http://127.0.0.1:1/acme/fleet.git", "main", "abc")
	if assert.Len(t, apps, 2) {
		assert.Equal(t, serverURL(c), apps[0].DestServer)
		assert.Equal(t, "main", apps[0].TargetRevision)
		assert.Equal(t, "abc", apps[0].Revision)
		assert.Equal(t, c.Name, apps[1].DestName)
		assert.Equal(t, []string{chartVersion, "abc"}, apps[1].Revisions)
		assert.Equal(t, "main", apps[1].Sources[1].TargetRevision)
	}
	assert.Equal(t, "https://A-DEV-CPU-1.gr7.ap-south-1.eks.amazonaws.com", serverURL(c))
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "terraform-apply (a-dev-cpu-1)", CheckName("terraform-apply", "a-dev-cpu-1"))
}

// TestATrafficChangeLeavesEKSAndArgoCDAlone: Terraform has nothing to do
// in EKS or Argo CD for a new traffic share; with a version change, only
// the version moves.
func TestATrafficChangeLeavesEKSAndArgoCDAlone(t *testing.T) {
	t.Parallel()
	s, err := New(Config{GitHubURL: "http://127.0.0.1:1", Token: "t", Owner: "acme", Repo: "fleet", Dir: t.TempDir(),
		ArgoCD: fakeargocd.New("x"), EKS: fakeeks.New()})
	require.NoError(t, err)
	before := withTraffic(cluster("a-dev-cpu-1", "1.29", map[string]string{"addonsRelease": "release1"}), "100")
	s.register(before, "abc")
	assert.Equal(t, []string{`fleetsim_error_ratio{cluster="a-dev-cpu-1"} 0`, `fleetsim_traffic_share{cluster="a-dev-cpu-1"} 100`}, scrape(t, s))
	eksBefore, _ := s.cfg.EKS.Cluster(before.Account, before.Region, before.Name)
	argoBefore, _ := s.cfg.ArgoCD.Cluster(before.Name)

	s.carryOut("c1", change{Cluster: withTraffic(before, "50"), From: &before})
	assert.Empty(t, s.Events(), "nothing to carry out")
	eksAfter, _ := s.cfg.EKS.Cluster(before.Account, before.Region, before.Name)
	argoAfter, _ := s.cfg.ArgoCD.Cluster(before.Name)
	assert.Equal(t, eksBefore, eksAfter)
	assert.Equal(t, argoBefore, argoAfter)
	assert.Equal(t, []string{`fleetsim_error_ratio{cluster="a-dev-cpu-1"} 0`, `fleetsim_traffic_share{cluster="a-dev-cpu-1"} 50`}, scrape(t, s),
		"the services report the new share")

	next := withTraffic(cluster("a-dev-cpu-1", "1.30", map[string]string{"addonsRelease": "release1"}), "0")
	s.carryOut("c2", change{Cluster: next, From: &before})
	var whats []string
	for _, e := range s.Events() {
		whats = append(whats, e.What)
	}
	assert.Equal(t, []string{"eks 1.30"}, whats)
	argoAfter, _ = s.cfg.ArgoCD.Cluster(before.Name)
	assert.Equal(t, argoBefore, argoAfter)

	// A failing cluster answers a fifth of its requests with errors; a
	// destroyed one reports nothing.
	s.metrics.running(next, true)
	assert.Equal(t, []string{`fleetsim_error_ratio{cluster="a-dev-cpu-1"} 0.2`, `fleetsim_traffic_share{cluster="a-dev-cpu-1"} 0`}, scrape(t, s))
	s.metrics.gone(next.Name)
	assert.Empty(t, scrape(t, s))
}

// scrape returns the samples the simulated services report, one line each
// without the help and type comments.
func scrape(t *testing.T, s *Sim) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var out []string
	for line := range strings.Lines(rec.Body.String()) {
		if !strings.HasPrefix(line, "#") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
