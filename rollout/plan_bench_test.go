package rollout

import (
	"fmt"
	"testing"
)

// bigFleet is 10,000 clusters across 500 tenants: 20 each over three
// environments and two fleets, versions 1.28 to 1.29, a label hierarchy where
// every tenant has defaults, one in five pins the label, and one cluster in
// ten has its own file.
func bigFleet() Fleet {
	b := &fleetBuilder{files: map[string]map[string]string{}, locks: map[string]string{}}
	b.setLabel(globalFile, "addonsRelease", "release1")
	envs := []string{"dev", "staging", "prod"}
	for ti := range 500 {
		tenant := fmt.Sprintf("tenant-%03d", ti)
		b.setLabel(tenantFile(tenant), "monitoringRelease", "default")
		if ti%5 == 0 {
			b.setLabel(tenantFile(tenant), "addonsRelease", "release1")
		}
		for ci := range 20 {
			env, fleet := envs[ci%3], []string{"cpu", "gpu"}[ci%2]
			name := fmt.Sprintf("%s-%s-%s-%d", tenant, env, fleet, ci)
			b.addCluster(tenant, env, fleet, name, fmt.Sprintf("1.%d", 28+(ci+ti)%2), ci == 0)
			if ci%10 == 3 {
				b.setLabel(clusterFile(tenant, env, name), "enable_metrics_server", "true")
			}
		}
	}
	return b.build()
}

func BenchmarkPlan10k(b *testing.B) {
	f := bigFleet()
	for i := range f.Clusters {
		f.Clusters[i].Chain = f.Clusters[i].LabelChain
	}
	for _, bc := range []struct {
		name   string
		change Change
	}{
		{"eks", eksTo("1.30")},
		{"label", labelTo("addonsRelease", "release2")},
		// The same files as a hierarchy, at the cluster level.
		{"field-hierarchy", fieldOf(LevelCluster, "", "release2")},
	} {
		c := testCampaign(bc.change)
		c.Spec.Strategy.MaxConcurrency = Quantity{Percent: 10, IsSet: true}
		c.Spec.Strategy.MaxPerTenant = 2
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := PlanCampaign(c, f, WithFieldKey(hierarchyKey...)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
