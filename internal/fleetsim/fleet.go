package fleetsim

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
)

// change is what one commit changed for one cluster.
type change struct {
	// Cluster is the cluster at the commit; for a removed one, as it was
	// before.
	Cluster gitops.Cluster
	// From is the cluster before it; nil for a cluster the commit adds or
	// removes.
	From *gitops.Cluster
	// Removed says the commit removes the cluster from the fleet: Terraform
	// destroys it.
	Removed bool
}

// version reports whether the EKS version changed (or the cluster is new).
func (c change) version() bool {
	return !c.Removed && (c.From == nil || c.From.Version != c.Cluster.Version)
}

// labels reports whether the effective labels changed (or the cluster is
// new).
func (c change) labels() bool {
	return !c.Removed && (c.From == nil || !maps.Equal(c.From.Labels, c.Cluster.Labels))
}

// traffic reports whether the cluster's share of traffic changed.
func (c change) traffic() bool {
	return c.From != nil && c.From.Traffic != c.Cluster.Traffic
}

// String says what changed: "version 1.29 -> 1.30", "labels
// addonsRelease=release1 -> release2", "traffic 100 -> 50", "new at 1.30",
// "removed at 1.29".
func (c change) String() string {
	switch {
	case c.Removed:
		return "removed at " + orNone(c.Cluster.Version)
	case c.From == nil:
		return "new at " + orNone(c.Cluster.Version)
	}
	var parts []string
	if c.version() {
		parts = append(parts, fmt.Sprintf("version %s -> %s", orNone(c.From.Version), orNone(c.Cluster.Version)))
	}
	if c.labels() {
		parts = append(parts, "labels "+labelDiff(c.From.Labels, c.Cluster.Labels))
	}
	if c.traffic() {
		parts = append(parts, fmt.Sprintf("traffic %s -> %s", orNone(c.From.Traffic), orNone(c.Cluster.Traffic)))
	}
	return strings.Join(parts, "; ")
}

// labelDiff lists the label keys whose values differ, in key order.
func labelDiff(before, after map[string]string) string {
	keys := slices.Sorted(maps.Keys(before))
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		old, had := before[k]
		now, has := after[k]
		switch {
		case !had:
			parts = append(parts, fmt.Sprintf("%s=%s (new)", k, now))
		case !has:
			parts = append(parts, fmt.Sprintf("%s=%s (removed)", k, old))
		case old != now:
			parts = append(parts, fmt.Sprintf("%s=%s -> %s", k, old, now))
		}
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// changes compares two inventories of the fleet and returns, by name, the
// clusters whose version, labels or traffic changed, those added, and
// those removed (Terraform CI destroys them).
func changes(before, after *gitops.Inventory) []change {
	var out []change
	for _, c := range after.Clusters {
		ch := change{Cluster: c}
		if before != nil {
			if b, ok := before.Cluster(c.Name); ok {
				ch.From = b
			}
		}
		if ch.version() || ch.labels() || ch.traffic() {
			out = append(out, ch)
		}
	}
	if before != nil {
		for _, b := range before.Clusters {
			if _, ok := after.Cluster(b.Name); !ok {
				out = append(out, change{Cluster: b, Removed: true})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b change) int { return strings.Compare(a.Cluster.Name, b.Cluster.Name) })
	return out
}

// serverURL is the API server URL of a cluster, in EKS's form; Argo CD
// registers the cluster under it.
func serverURL(c gitops.Cluster) string {
	return fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(c.Name), c.Region)
}

// argoCluster is the Argo CD cluster secret of c.
func argoCluster(c gitops.Cluster) fakeargocd.Cluster {
	return fakeargocd.Cluster{Name: c.Name, Server: serverURL(c), Labels: maps.Clone(c.Labels)}
}

// The Helm chart the workloads application of every cluster takes, with
// its values from the fleet repository.
const (
	chartRepo    = "https://charts.fleet.example"
	chartName    = "workloads"
	chartVersion = "2.4.1"
)

// applications are the Argo CD applications an ApplicationSet generates
// for c from the fleet repository at branch: the addons, bound by server
// URL and taking one source from the repository, and the workloads, bound
// by name and taking a chart with its values from the repository. Both are
// Synced at revision and Healthy.
func applications(c gitops.Cluster, repoURL, branch, revision string) []fakeargocd.Application {
	labels := func(component string) map[string]string {
		return map[string]string{"tenant": c.Tenant, "environment": c.Env, "component": component}
	}
	return []fakeargocd.Application{
		{
			Name: c.Name + "-addons", Labels: labels("addons"),
			DestServer: serverURL(c),
			RepoURL:    repoURL, Path: "addons/tenants/" + c.Tenant, TargetRevision: branch,
			SyncStatus: fakeargocd.Synced, Revision: revision, Health: fakeargocd.Healthy,
			Phase: fakeargocd.PhaseSucceeded, OperationRevision: revision,
		},
		{
			Name: c.Name + "-workloads", Labels: labels("workloads"),
			DestName: c.Name,
			Sources: []fakeargocd.Source{
				{RepoURL: chartRepo, Chart: chartName, TargetRevision: chartVersion},
				{RepoURL: repoURL, Path: "tenants/" + c.Tenant, TargetRevision: branch},
			},
			SyncStatus: fakeargocd.Synced, Revisions: []string{chartVersion, revision}, Health: fakeargocd.Healthy,
			Phase: fakeargocd.PhaseSucceeded, OperationRevision: revision,
		},
	}
}

// NodegroupName is the managed node group every simulated cluster has.
const NodegroupName = "workers"

// eksCluster is c as EKS describes it: ACTIVE at its version, with one
// managed node group on the same version.
func eksCluster(c gitops.Cluster) fakeeks.Cluster {
	return fakeeks.Cluster{
		Name: c.Name, Version: c.Version, Status: fakeeks.Active, PlatformVersion: "eks.1",
		Nodegroups: []fakeeks.Nodegroup{{Name: NodegroupName, Version: c.Version, Status: fakeeks.Active}},
		Addons: []fakeeks.Addon{
			{Name: "coredns", Version: corednsBuild},
			{Name: "kube-proxy", Version: kubeProxyBuild(c.Version)},
			{Name: "vpc-cni", Version: vpcCNIBuild},
		},
	}
}

// The managed add-ons of every simulated cluster: vpc-cni and coredns have
// one build for every minor the catalogue spans, kube-proxy one build per
// minor, which Terraform moves with the control plane.
const (
	vpcCNIBuild  = "v1.18.3-eksbuild.2"
	corednsBuild = "v1.11.1-eksbuild.9"
)

// catalogueMinors are the Kubernetes minors the simulated add-on catalogue
// has builds for.
var catalogueMinors = []string{"1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35"}

// kubeProxyBuild is the kube-proxy build of Kubernetes version v.
func kubeProxyBuild(v string) string { return "v" + v + ".0-eksbuild.1" }

// addonCatalogue is what DescribeAddonVersions answers for the simulated
// add-ons, newest first, as EKS lists them.
func addonCatalogue() map[string][]fakeeks.AddonVersion {
	proxy := make([]fakeeks.AddonVersion, 0, len(catalogueMinors))
	for _, m := range slices.Backward(catalogueMinors) {
		proxy = append(proxy, fakeeks.AddonVersion{Version: kubeProxyBuild(m), Compatible: []string{m}, DefaultFor: []string{m}})
	}
	return map[string][]fakeeks.AddonVersion{
		"coredns":    {{Version: corednsBuild, Compatible: catalogueMinors, DefaultFor: catalogueMinors}},
		"kube-proxy": proxy,
		"vpc-cni":    {{Version: vpcCNIBuild, Compatible: catalogueMinors, DefaultFor: catalogueMinors}},
	}
}

// inEKS reports whether c says where EKS holds it.
func inEKS(c gitops.Cluster) bool {
	return c.Account != "" && c.Region != "" && c.Version != ""
}
