package rollout

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func planUpdating() bool {
	return *UpdateGolden
}

// planGolden compares got with testdata/plan/name, or rewrites it under -update.
func planGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "plan", name)
	if planUpdating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; run go test -run %s -update and review the diff.\ngot:\n%s", path, t.Name(), got)
	}
}

const (
	testRepo   = "org/fleet"
	globalFile = "addons/tenants/defaults/fleet/fleet-secret/values.yaml"
)

func tenantFile(tenant string) string {
	return "addons/tenants/" + tenant + "/defaults/fleet/fleet-secret/values.yaml"
}

func envFile(tenant, env string) string {
	return "addons/tenants/" + tenant + "/environments/" + env + "/defaults/fleet/fleet-secret/values.yaml"
}

func clusterFile(tenant, env, cluster string) string {
	return "addons/tenants/" + tenant + "/environments/" + env + "/clusters/" + cluster + "/fleet/fleet-secret/values.yaml"
}

func blueprintFile(tenant, env string) string {
	return "blueprints/" + tenant + "/" + env + ".yaml"
}

// fleetBuilder builds test fleets shaped like DESIGN.md section 1: tenant
// blueprints per environment, and a four-level label hierarchy (global,
// tenant, environment, cluster) whose files exist or not.
type fleetBuilder struct {
	clusters []Cluster
	// files maps a label file to its labels; a file not in the map does not
	// exist.
	files map[string]map[string]string
	locks map[string]string
	// fleetLevel adds a level shared by all tenants between the global and
	// the tenant defaults: one file per fleet class.
	fleetLevel bool
}

// addCluster adds a cluster at version with its blueprint entry; the line is
// derived from its position so that messages can be checked.
func (b *fleetBuilder) addCluster(tenant, env, fleet, name, version string, canary bool) {
	b.clusters = append(b.clusters, Cluster{
		Name: name, Tenant: tenant, Env: env, Fleet: fleet, Region: "eu-west-1", Repo: testRepo,
		Canary: canary, Version: version,
		VersionAt: Location{
			Repo: testRepo, File: blueprintFile(tenant, env),
			Path: []string{"services", "eks", "config", name, "version"}, Line: 10 + len(b.clusters),
		},
	})
}

func (b *fleetBuilder) cluster(name string) *Cluster {
	for i := range b.clusters {
		if b.clusters[i].Name == name {
			return &b.clusters[i]
		}
	}
	panic("no cluster " + name)
}

// setLabel writes a label into a file, creating the file.
func (b *fleetBuilder) setLabel(file, key, value string) {
	if b.files[file] == nil {
		b.files[file] = map[string]string{}
	}
	b.files[file][key] = value
}

func fleetClassFile(fleet string) string {
	return "addons/fleets/" + fleet + "/fleet-secret/values.yaml"
}

// levels returns the label hierarchy of a cluster, general to specific, with
// each file's scope and whether all tenants share it.
func (b *fleetBuilder) levels(c *Cluster) []LabelLevel {
	out := []LabelLevel{{File: globalFile, Scope: "global", Shared: true}}
	if b.fleetLevel {
		out = append(out, LabelLevel{File: fleetClassFile(c.Fleet), Scope: "fleet", Shared: true})
	}
	return append(out,
		LabelLevel{File: tenantFile(c.Tenant), Scope: "tenant"},
		LabelLevel{File: envFile(c.Tenant, c.Env), Scope: "env"},
		LabelLevel{File: clusterFile(c.Tenant, c.Env, c.Name), Scope: "cluster"})
}

// build returns the fleet with every cluster's label chain and effective
// labels filled in from the files.
func (b *fleetBuilder) build() Fleet {
	f := Fleet{Locks: maps.Clone(b.locks)}
	for _, c := range b.clusters {
		c.Labels = map[string]string{}
		c.LabelChain = nil
		for _, l := range b.levels(&c) {
			labels, ok := b.files[l.File]
			l.Lines = map[string]int{}
			for j, k := range slices.Sorted(maps.Keys(labels)) {
				l.Lines[k] = 3 + j
			}
			l.Repo, l.Exists, l.Labels = testRepo, ok, maps.Clone(labels)
			c.LabelChain = append(c.LabelChain, l)
			maps.Copy(c.Labels, labels)
		}
		f.Clusters = append(f.Clusters, c)
	}
	return f
}

// newTestFleet returns three tenants × dev/staging/prod × cpu/gpu, one
// cluster each (tenant-a has two cpu clusters per environment), all at 1.29;
// tenant-a's dev cpu-1 is the flagged canary. Labels: global addonsRelease
// release1; tenant-b pins release1 in its own defaults; tenant-c's prod gpu
// cluster pins release0; tenant-a's staging defaults exist without the key.
func newTestFleet() *fleetBuilder {
	b := &fleetBuilder{files: map[string]map[string]string{}, locks: map[string]string{}}
	for _, tenant := range []string{"tenant-a", "tenant-b", "tenant-c"} {
		short := strings.TrimPrefix(tenant, "tenant-")
		for _, env := range []string{"dev", "staging", "prod"} {
			for _, fleet := range []string{"cpu", "gpu"} {
				b.addCluster(tenant, env, fleet, fmt.Sprintf("%s-%s-%s-1", short, env, fleet), "1.29",
					tenant == "tenant-a" && env == "dev" && fleet == "cpu")
				if tenant == "tenant-a" && fleet == "cpu" {
					b.addCluster(tenant, env, fleet, fmt.Sprintf("%s-%s-%s-2", short, env, fleet), "1.29", false)
				}
			}
		}
	}
	b.setLabel(globalFile, "addonsRelease", "release1")
	b.setLabel(globalFile, "fleetRelease", "default")
	b.setLabel(tenantFile("tenant-a"), "monitoringRelease", "default")
	b.setLabel(tenantFile("tenant-b"), "addonsRelease", "release1")
	b.files[envFile("tenant-a", "staging")] = map[string]string{}
	b.setLabel(clusterFile("tenant-c", "prod", "c-prod-gpu-1"), "addonsRelease", "release0")
	b.setLabel(clusterFile("tenant-a", "dev", "a-dev-gpu-1"), "enable_metrics_server", "true")
	return b
}

// testCampaign returns a campaign over every cluster, dev -> staging -> prod,
// canaries first, approval before prod.
func testCampaign(change Change) *Campaign {
	return &Campaign{
		APIVersion: "fleetbot.io/v1alpha1", Kind: "Campaign",
		Metadata: Metadata{Name: "test-campaign"},
		Spec: Spec{
			Change: change,
			Strategy: Strategy{
				Order:          []string{"dev", "staging", "prod"},
				Canary:         true,
				MaxConcurrency: Quantity{Count: 3, IsSet: true},
				Approvals:      []string{"prod"},
			},
		},
	}
}

func eksTo(v string) Change { return Change{EKSVersion: &EKSVersionChange{To: v}} }

func labelTo(key, v string) Change { return Change{Label: &LabelChange{Key: key, To: v}} }

// fileOwners maps every file the fleet describes to its owning tenant ("" for
// shared files).
func fileOwners(f Fleet) map[string]string {
	own := map[string]string{}
	for _, c := range f.Clusters {
		own[fileKey(c.VersionAt.Repo, c.VersionAt.File)] = c.Tenant
		for _, l := range c.LabelChain {
			if l.Shared {
				own[fileKey(l.Repo, l.File)] = ""
			} else {
				own[fileKey(l.Repo, l.File)] = c.Tenant
			}
		}
	}
	for _, h := range f.Fields {
		own[fileKey(h.At.Repo, h.At.File)] = h.Tenant
	}
	for _, c := range f.Clusters {
		if r := c.BlueGreen; r != nil && r.GreenLabels != "" {
			own[fileKey(c.Repo, r.GreenLabels)] = c.Tenant
		}
		if r := c.BlueGreen; r != nil {
			for _, v := range r.Values {
				own[fileKey(c.Repo, v.Blue)], own[fileKey(c.Repo, v.Green)] = c.Tenant, c.Tenant
			}
		}
	}
	return own
}

// checkOwnership fails when a pull request carries a file of another tenant,
// or an admin pull request a tenant's file, or a tenant one a shared file.
func checkOwnership(t *testing.T, p *Plan, f Fleet) {
	t.Helper()
	own := fileOwners(f)
	for _, w := range p.Waves {
		for _, pr := range w.PullRequests {
			for _, file := range pr.Files {
				owner, ok := own[fileKey(pr.Repo, file.Path)]
				if !ok {
					t.Errorf("wave %d: pull request for %q edits %s, a file the fleet does not describe", w.Index, pr.Tenant, file.Path)
					continue
				}
				if owner != pr.Tenant || pr.Admin != (owner == "") {
					t.Errorf("wave %d: pull request for tenant %q (admin %v) edits %s, owned by %q", w.Index, pr.Tenant, pr.Admin, file.Path, owner)
				}
				if pr.Admin && len(file.Reach) == 0 {
					t.Errorf("wave %d: the fleet admins' pull request edits %s, shared by every tenant, without naming the clusters it reaches", w.Index, file.Path)
				}
			}
		}
	}
}

func mustPlan(t *testing.T, c *Campaign, f Fleet, opts ...Option) *Plan {
	t.Helper()
	p, err := PlanCampaign(c, f, opts...)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	checkOwnership(t, p, f)
	return p
}

// waveNames lists each wave's cluster names, for compact expectations.
func waveNames(p *Plan) []string {
	var out []string
	for _, w := range p.Waves {
		var names []string
		for _, c := range w.Clusters {
			names = append(names, c.Name)
		}
		tag := w.Env
		if w.Hop > 0 {
			tag = fmt.Sprintf("%d:%s", w.Hop, tag)
		}
		if w.Canary {
			tag += "(canary)"
		}
		if w.Shared {
			tag += "(shared)"
		}
		if w.Step != "" {
			tag += " " + w.StepName()
		}
		if w.Cleanup {
			tag = "cleanup"
		}
		out = append(out, tag+" "+strings.Join(names, ","))
	}
	return out
}

func skippedReasons(p *Plan) map[string]string {
	out := map[string]string{}
	for _, s := range p.Skipped {
		out[s.Name] = s.Reason
	}
	return out
}

// wantBadInput fails unless err is a plain error (not a refusal) saying want.
func wantBadInput(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		t.Errorf("bad input is an error, not a refusal: %v", err)
	}
}
