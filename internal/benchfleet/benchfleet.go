package benchfleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Shape of every generated fleet.
const (
	Envs              = 2  // dev and prod
	ClustersPerEnv    = 10 // so 20 clusters a tenant
	ClustersPerTenant = Envs * ClustersPerEnv
	OverrideEveryNth  = 5 // one cluster in five has a cluster-level label file
)

// generation names the files Generate writes: change it whenever their
// content changes, so that fleets cached by an earlier version are not
// reused.
const generation = "1"

// Options say what to generate.
type Options struct {
	// Tenants is the number of tenants: 500 make 10,000 clusters.
	Tenants int
	// Hierarchies adds two hierarchies of add-on values to the layout: a
	// five-level one (defaults, Kubernetes version, environment, tenant,
	// one cluster in five) and an environment-wide one (environment,
	// environment and fleet).
	Hierarchies bool
	// PerEnv is the number of clusters of each tenant's environment; 0
	// means ClustersPerEnv.
	PerEnv int
	// Owners gives each tenant an owner in the layout, Owner(tenant),
	// and the fleet an admin, Admin: what serve asks to review.
	Owners bool
	// Accounts gives each tenant an AWS account, Account(t), in its
	// blueprints and the layout: what the EKS gate's role ARN names.
	Accounts bool
	// CanaryTenants is how many tenants, from the first, start each
	// environment with a canary; 0 means every tenant. A campaign over
	// the fleet puts every canary of a fleet in its first wave, so 1
	// makes that wave one cluster of one tenant.
	CanaryTenants int
	// OneFleet puts every cluster in the cpu fleet; by default one in four
	// is in the gpu fleet, which a campaign canaries on its own.
	OneFleet bool
	// NoLabels leaves out the label files and the layout's labels: a
	// fleet of blueprints only, whose every commit costs the bot less to
	// read.
	NoLabels bool
}

// Account is the AWS account of tenant t in a fleet generated with
// Accounts.
func Account(t int) string { return fmt.Sprintf("%012d", 100000000000+t) }

// Owner is the login that owns a tenant in a fleet generated with Owners.
func Owner(tenant string) string { return "owner-" + tenant }

// Admin is the fleet admin of a fleet generated with Owners.
const Admin = "platform-admin"

func (o Options) perEnv() int {
	if o.PerEnv > 0 {
		return o.PerEnv
	}
	return ClustersPerEnv
}

// Clusters is the number of clusters the fleet has.
func (o Options) Clusters() int { return o.Tenants * Envs * o.perEnv() }

func (o Options) name() string {
	n := fmt.Sprintf("fleetbot-benchfleet-g%s-%dt", generation, o.Tenants)
	if o.PerEnv > 0 && o.PerEnv != ClustersPerEnv {
		n += fmt.Sprintf("-%dc", o.PerEnv)
	}
	if o.Owners {
		n += "-owners"
	}
	if o.Hierarchies {
		n += "-hierarchies"
	}
	if o.Accounts {
		n += "-accounts"
	}
	if o.CanaryTenants > 0 {
		n += fmt.Sprintf("-%dcanary", o.CanaryTenants)
	}
	if o.OneFleet {
		n += "-onefleet"
	}
	if o.NoLabels {
		n += "-nolabels"
	}
	return n
}

// Cached returns the directory of the fleet o describes under dir (the
// temporary directory when empty), generating it first if it is not there.
// The fleet is written beside its final place and renamed into it, so a
// directory that exists is whole.
func Cached(dir string, o Options) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	final := filepath.Join(dir, o.name())
	if info, err := os.Stat(final); err == nil && info.IsDir() {
		return final, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, o.name()+".tmp-")
	if err != nil {
		return "", err
	}
	if err := Generate(tmp, o); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		if info, serr := os.Stat(final); serr == nil && info.IsDir() {
			return final, nil // another process generated it meanwhile
		}
		return "", err
	}
	return final, nil
}

// LayoutFile is the layout's file name at the root of a generated fleet.
const LayoutFile = ".fleetbot.yaml"

// Hierarchy is the fleet-secret label hierarchy of the layout.
var Hierarchy = []string{
	"addons/tenants/defaults/fleet/fleet-secret/values.yaml",
	"addons/tenants/{tenant}/defaults/fleet/fleet-secret/values.yaml",
	"addons/tenants/{tenant}/environments/{env}/defaults/fleet/fleet-secret/values.yaml",
	"addons/tenants/{tenant}/environments/{env}/clusters/{cluster}/fleet/fleet-secret/values.yaml",
}

const hierarchiesLayout = `hierarchies:
  addons:
    key: addons
    paths:
      - addons/defaults/values.yaml
      - addons/versions/{record.version}/values.yaml
      - addons/environments/{env}/values.yaml
      - addons/tenants/{tenant}/values.yaml
      - addons/tenants/{tenant}/clusters/{cluster}/values.yaml
  addons-config:
    paths:
      - environments/{env}/addons/addons-config.yaml
      - environments/{env}/addons/{fleet}/addons-config.yaml
`

// Generate writes the fleet o describes into dir. Tenant t is
// "tenant-%03d"; its clusters are "t%03d-ENV-%02d", the first of each
// environment a canary (of the first CanaryTenants tenants), one in four
// of the gpu fleet (unless OneFleet), every one on 1.29.
func Generate(dir string, o Options) error {
	write := func(rel, content string) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	layout := "apiVersion: fleetbot.io/v1alpha1\nkind: Layout\nblueprints:\n  paths: [tenants/*/*.yaml]\n"
	if o.Accounts {
		layout += "  account: account_id\n"
	}
	if !o.NoLabels {
		layout += "labels:\n  files: [addons/tenants/**/fleet/fleet-secret/values.yaml]\n  hierarchy:\n" +
			"    - " + strings.Join(Hierarchy, "\n    - ") + "\n"
	}
	if o.Hierarchies {
		layout += hierarchiesLayout
	}
	if o.Owners {
		layout += "admins:\n  users: [" + Admin + "]\nowners:\n"
		for t := range o.Tenants {
			tenant := fmt.Sprintf("tenant-%03d", t)
			layout += "  " + tenant + ":\n    users: [" + Owner(tenant) + "]\n"
		}
	}
	files := map[string]string{LayoutFile: layout}
	// labels adds a label file to files unless o leaves them out.
	labels := func(files map[string]string, rel, content string) {
		if !o.NoLabels {
			files[rel] = content
		}
	}
	labels(files, "addons/tenants/defaults/fleet/fleet-secret/values.yaml", "externalSecret:\n  labels:\n    fleetRelease: default\n    addonsRelease: release1\n    monitoringRelease: default\n    enable_metrics_server: \"true\"\n")
	envs := []string{"dev", "prod"}
	if o.Hierarchies {
		files["addons/defaults/values.yaml"] = "addons:\n  metricsServer:\n    version: \"3.12.0\"\n"
		files["addons/versions/1.29/values.yaml"] = "addons:\n  metricsServer:\n    version: \"3.12.1\"\n"
		for _, env := range envs {
			files["addons/environments/"+env+"/values.yaml"] = "addons:\n  karpenter:\n    version: \"1.0.0\"\n"
			files["environments/"+env+"/addons/addons-config.yaml"] = "externalDns:\n  version: \"1.14.0\"\n"
			files["environments/"+env+"/addons/gpu/addons-config.yaml"] = "nvidia:\n  version: \"0.15.0\"\n"
		}
	}
	for rel, content := range files {
		if err := write(rel, content); err != nil {
			return err
		}
	}
	n := 0
	for t := range o.Tenants {
		tenant := fmt.Sprintf("tenant-%03d", t)
		files := map[string]string{}
		labels(files, "addons/tenants/"+tenant+"/defaults/fleet/fleet-secret/values.yaml", "externalSecret:\n  labels:\n    monitoringRelease: "+tenant+"\n")
		if o.Hierarchies {
			files["addons/tenants/"+tenant+"/values.yaml"] = "addons:\n  karpenter:\n    version: \"1.0.1\"\n"
		}
		for _, env := range envs {
			var bp strings.Builder
			fmt.Fprintf(&bp, "# %s %s\ntenant: %s\nenv: %s\nregion: eu-west-1\n", tenant, env, tenant, env)
			if o.Accounts {
				fmt.Fprintf(&bp, "account_id: \"%s\"\n", Account(t))
			}
			bp.WriteString("services:\n  eks:\n    enabled: true\n    config:\n")
			for c := range o.perEnv() {
				name := fmt.Sprintf("t%03d-%s-%02d", t, env, c)
				fleet := "cpu"
				if c%4 == 3 && !o.OneFleet {
					fleet = "gpu"
				}
				fmt.Fprintf(&bp, "      %s:\n        fleet: %s\n        is_canary: %t\n        version: \"1.29\"\n        vpc_name: shared\n"+
					"        nodegroups:\n          system:\n            instance_types: [m6i.large]\n            min_size: 2\n            max_size: 4\n            ami_release_version: \"1.29.3-20240531\"\n",
					name, fleet, c == 0 && (o.CanaryTenants == 0 || t < o.CanaryTenants))
				if n%OverrideEveryNth == 0 {
					labels(files, "addons/tenants/"+tenant+"/environments/"+env+"/clusters/"+name+"/fleet/fleet-secret/values.yaml",
						"externalSecret:\n  labels:\n    addonsRelease: release2\n")
					if o.Hierarchies {
						files["addons/tenants/"+tenant+"/clusters/"+name+"/values.yaml"] = "addons:\n  metricsServer:\n    version: \"3.13.0\"\n"
					}
				}
				n++
			}
			files["tenants/"+tenant+"/"+env+".yaml"] = bp.String()
			labels(files, "addons/tenants/"+tenant+"/environments/"+env+"/defaults/fleet/fleet-secret/values.yaml", "externalSecret:\n  labels:\n    fleetRelease: "+env+"\n")
		}
		for rel, content := range files {
			if err := write(rel, content); err != nil {
				return err
			}
		}
	}
	return nil
}
