// Package fleetgen writes a fleet repository of any size in the layout of
// examples/fleet: one blueprint per tenant and environment, the four-level
// label hierarchy, owners per tenant and fleet admins. Load tests,
// benchmarks and the scale tests of the stack generate their fleets with
// it.
package fleetgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Options says how big a fleet to write.
type Options struct {
	// Tenants is the number of tenants, named tenant-000, tenant-001, ...
	Tenants int
	// Envs are the environments of every tenant (default dev and prod).
	Envs []string
	// ClustersPerEnv is the number of clusters in each tenant's
	// environment, named t000-dev-00, ...
	ClustersPerEnv int
	// Version is every cluster's EKS version (default "1.29").
	Version string
	// OverrideEvery gives every Nth cluster a label file of its own; 0
	// gives none.
	OverrideEvery int
}

// Fleet is what Generate wrote.
type Fleet struct {
	// Tenants lists the tenants in order.
	Tenants []string
	// Clusters counts the clusters.
	Clusters int
	// Files counts the files.
	Files int
}

// Owner is the GitHub login that owns a tenant.
func Owner(tenant string) string { return "owner-" + tenant }

// Admin is the login of the fleet admin.
const Admin = "platform-admin"

// Generate writes the fleet into dir.
func Generate(dir string, o Options) (Fleet, error) {
	if o.Tenants < 1 || o.ClustersPerEnv < 1 {
		return Fleet{}, fmt.Errorf("fleetgen: %d tenants of %d clusters per environment: both must be at least 1", o.Tenants, o.ClustersPerEnv)
	}
	if len(o.Envs) == 0 {
		o.Envs = []string{"dev", "prod"}
	}
	if o.Version == "" {
		o.Version = "1.29"
	}
	var f Fleet
	files := map[string]string{
		"addons/tenants/defaults/fleet/fleet-secret/values.yaml": "externalSecret:\n  labels:\n    fleetRelease: default\n    addonsRelease: release1\n",
	}
	var layout strings.Builder
	layout.WriteString(`apiVersion: fleetbot.io/v1alpha1
kind: Layout
blueprints:
  paths: [tenants/*/*.yaml]
labels:
  files: [addons/tenants/**/fleet/fleet-secret/values.yaml]
  hierarchy:
    - addons/tenants/defaults/fleet/fleet-secret/values.yaml
    - addons/tenants/{tenant}/defaults/fleet/fleet-secret/values.yaml
    - addons/tenants/{tenant}/environments/{env}/defaults/fleet/fleet-secret/values.yaml
    - addons/tenants/{tenant}/environments/{env}/clusters/{cluster}/fleet/fleet-secret/values.yaml
admins:
  users: [` + Admin + `]
owners:
`)
	for t := range o.Tenants {
		tenant := fmt.Sprintf("tenant-%03d", t)
		f.Tenants = append(f.Tenants, tenant)
		fmt.Fprintf(&layout, "  %s:\n    users: [%s]\n", tenant, Owner(tenant))
		files["addons/tenants/"+tenant+"/defaults/fleet/fleet-secret/values.yaml"] = "externalSecret:\n  labels:\n    monitoringRelease: " + tenant + "\n"
		for _, env := range o.Envs {
			var bp strings.Builder
			fmt.Fprintf(&bp, "# %s, %s environment.\ntenant: %s\nenv: %s\nregion: eu-west-1\naccount_id: \"%012d\"\nservices:\n  eks:\n    enabled: true\n    config:\n",
				tenant, env, tenant, env, 100000000000+t)
			for c := range o.ClustersPerEnv {
				name := fmt.Sprintf("t%03d-%s-%02d", t, env, c)
				fmt.Fprintf(&bp, "      %s:\n        fleet: cpu\n        version: %q\n        nodegroups:\n          system:\n            instance_types: [m6i.large]\n            min_size: 2\n            max_size: 4\n",
					name, o.Version)
				if o.OverrideEvery > 0 && f.Clusters%o.OverrideEvery == 0 {
					files["addons/tenants/"+tenant+"/environments/"+env+"/clusters/"+name+"/fleet/fleet-secret/values.yaml"] = "externalSecret:\n  labels:\n    addonsRelease: release2\n"
				}
				f.Clusters++
			}
			files["tenants/"+tenant+"/"+env+".yaml"] = bp.String()
			files["addons/tenants/"+tenant+"/environments/"+env+"/defaults/fleet/fleet-secret/values.yaml"] = "externalSecret:\n  labels:\n    fleetRelease: " + env + "\n"
		}
	}
	files[".fleetbot.yaml"] = layout.String()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return f, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return f, err
		}
	}
	f.Files = len(files)
	return f, nil
}
