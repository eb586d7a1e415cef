package fleetsim

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetbot/fleetbot/gitops"
)

func cluster(name, version string, labels map[string]string) gitops.Cluster {
	return gitops.Cluster{Name: name, Tenant: "tenant-a", Env: "dev", Region: "ap-south-1", Account: "111111111111", Version: version, Labels: labels}
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
		{name: "a removed cluster is no change",
			before: inventory(cluster("a", "1.29", nil), cluster("b", "1.29", nil)),
			after:  inventory(cluster("a", "1.29", nil)),
			want:   map[string]string{}},
		{name: "no fleet before",
			before: nil,
			after:  inventory(cluster("a", "", nil)),
			want:   map[string]string{"a": "new at (none)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]string{}
			for _, ch := range changes(tc.before, tc.after) {
				got[ch.Cluster.Name] = ch.String()
			}
			assert.Equal(t, tc.want, got)
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
