package gitops

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

const exampleFleet = "../examples/fleet"

func TestLoadExampleFleet(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{exampleFleet})
	require.NoError(t, err)
	assert.Empty(t, inv.Diagnostics)
	require.NoError(t, inv.Err())
	require.Len(t, inv.Clusters, 30)

	tenants, envs, fleets := map[string]int{}, map[string]int{}, map[string]int{}
	canaries, at130 := 0, 0
	for i, c := range inv.Clusters {
		if i > 0 {
			assert.Less(t, inv.Clusters[i-1].Name, c.Name, "clusters are not sorted by name")
		}
		tenants[c.Tenant]++
		envs[c.Env]++
		fleets[c.Fleet]++
		if c.Canary {
			canaries++
		}
		if c.Version == "1.30" {
			at130++
		}
		assert.Equal(t, exampleFleet, c.Repo)
		assert.Len(t, c.LabelChain, 4, c.Name)
		assert.NotEmpty(t, c.Owners, c.Name)
	}
	assert.Equal(t, map[string]int{"tenant-a": 11, "tenant-b": 7, "tenant-c": 7, "tenant-d": 5}, tenants)
	assert.Equal(t, map[string]int{"dev": 7, "staging": 8, "prod": 15}, envs)
	assert.Equal(t, map[string]int{"cpu": 18, "gpu": 12}, fleets)
	assert.Equal(t, 9, canaries)
	assert.Equal(t, 3, at130)

	c, ok := inv.Cluster("a-dev-cpu-1")
	require.True(t, ok)
	assert.Equal(t, "tenant-a", c.Tenant)
	assert.Equal(t, "dev", c.Env)
	assert.Equal(t, "ap-south-1", c.Region)
	assert.Equal(t, "cpu", c.Fleet)
	assert.True(t, c.Canary)
	assert.Equal(t, "1.29", c.Version)
	assert.Equal(t, "tenants/tenant-a/dev.yaml", c.File)
	assert.Equal(t, []string{"services", "eks", "config", "a-dev-cpu-1", "version"}, c.VersionPath)
	assert.Equal(t, []string{"alice", "arjun", "acme/payments-platform"}, c.Owners)
	assert.Equal(t, map[string]string{
		"fleetRelease": "default", "addonsRelease": "release2", "monitoringRelease": "default",
		"enable_metrics_server": "true", "enable_external_secrets": "true",
		"enable_aws_load_balancer_controller": "true",
	}, c.Labels)
	assert.Equal(t, Source{Repo: exampleFleet, File: "addons/tenants/tenant-a/environments/dev/defaults/fleet/fleet-secret/values.yaml", Line: 4, Column: 20},
		c.Sources.Get("labels.addonsRelease"))
	assert.Equal(t, "addons/tenants/defaults/fleet/fleet-secret/values.yaml", c.Sources.Get("labels.fleetRelease").File)

	chain := c.LabelChain
	assert.True(t, chain[0].Shared && chain[0].Exists)
	assert.False(t, chain[1].Shared)
	assert.True(t, chain[1].Exists)
	assert.True(t, chain[2].Exists)
	assert.False(t, chain[3].Exists, "a-dev-cpu-1 has no cluster-level file")
	assert.Equal(t, "addons/tenants/tenant-a/environments/dev/clusters/a-dev-cpu-1/fleet/fleet-secret/values.yaml", chain[3].Path)
	assert.Equal(t, "addons/tenants/{tenant}/environments/{env}/clusters/{cluster}/fleet/fleet-secret/values.yaml", chain[3].Template)
	assert.Equal(t, []Label{{Key: "addonsRelease", Value: "release2", Line: 4, column: 20}}, chain[2].Labels)

	d, ok := inv.Cluster("d-prod-cpu-1")
	require.True(t, ok)
	assert.Equal(t, "false", d.Labels["enable_gpu_operator"], "the cluster-level file overrides the tenant default")
	assert.Equal(t, "gpu-dcgm", d.Labels["monitoringRelease"])
	assert.False(t, d.Canary)
	_, hasCanary := d.Sources.Lookup("canary")
	assert.False(t, hasCanary, "no is_canary key, no source")

	b, ok := inv.Cluster("b-dev-cpu-1")
	require.True(t, ok)
	assert.Equal(t, "1.30", b.Version)
	_, ok = inv.Cluster("no-such-cluster")
	assert.False(t, ok)
}

// TestSourcesPointAtValues checks every source line and column against the
// file itself: an editor must find the value exactly there.
func TestSourcesPointAtValues(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{exampleFleet})
	require.NoError(t, err)
	files := map[string][]string{}
	lineOf := func(src Source) string {
		lines, ok := files[src.File]
		if !ok {
			data, err := os.ReadFile(filepath.Join(src.Repo, src.File))
			require.NoError(t, err)
			lines = strings.Split(string(data), "\n")
			files[src.File] = lines
		}
		require.LessOrEqual(t, src.Line, len(lines), src)
		return lines[src.Line-1]
	}
	for _, c := range inv.Clusters {
		v := c.Sources.Get("version")
		assert.Equal(t, c.File, v.File)
		line := lineOf(v)
		assert.Equal(t, `"`+c.Version+`"`, line[v.Column-1:v.Column-1+len(c.Version)+2], "version of %s at %s", c.Name, v)
		assert.Equal(t, "version:", strings.TrimSpace(line[:v.Column-1]), "version of %s at %s", c.Name, v)
		n := c.Sources.Get("name")
		assert.Equal(t, c.Name+":", strings.TrimSpace(lineOf(n)), "name of %s at %s", c.Name, n)
		for k, val := range c.Labels {
			src := c.Sources.Get("labels." + k)
			l := lineOf(src)
			assert.Equal(t, val, strings.Trim(l[src.Column-1:], `"`), "label %s of %s at %s", k, c.Name, src)
			assert.True(t, strings.HasPrefix(strings.TrimSpace(l), k+":"), "label %s of %s at %s", k, c.Name, src)
		}
	}
}

func TestLoadEKSFleetManagement(t *testing.T) {
	t.Parallel()
	repo := "testdata/eks-fleet-management"
	inv, err := Load(t.Context(), []string{repo}, WithLayout("../examples/layouts/eks-fleet-management.yaml"))
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	require.Len(t, inv.Clusters, 1)
	c := inv.Clusters[0]
	assert.Equal(t, "spoke-dev-workload1", c.Name)
	assert.Equal(t, "tenant1", c.Tenant)
	assert.Equal(t, "np", c.Env)
	assert.Empty(t, c.Version, "member files have no version")
	assert.Nil(t, c.VersionPath)
	assert.Equal(t, "dev", c.Labels["addonsRelease"])
	assert.Equal(t, Source{
		Repo: repo, Line: 3, Column: 20,
		File: "addons/tenants/tenant1/environments/np/clusters/spoke-dev-workload1/fleet/fleet-secret/values.yaml",
	}, c.Sources.Get("labels.addonsRelease"))
	assert.Equal(t, "default", c.Labels["fleetRelease"])
	assert.Equal(t, "addons/tenants/tenant1/defaults/fleet/fleet-secret/values.yaml", c.Sources.Get("labels.fleetRelease").File)
	assert.Equal(t, Source{Repo: repo, File: "fleet/fleet-bootstrap/fleet-members/hub-cluster-np/spoke-dev-workload1.yaml", Line: 9, Column: 14}, c.Sources.Get("name"))
	assert.Equal(t, []string{"example-org/tenant1-admins"}, c.Owners)
	exists := []bool{}
	for _, l := range c.LabelChain {
		exists = append(exists, l.Exists)
	}
	assert.Equal(t, []bool{true, true, false, true}, exists)

	// The repository keeps its environment's labels outside the
	// environment level of the hierarchy: both ends of the mismatch show.
	require.Len(t, inv.Diagnostics, 2)
	assert.Equal(t,
		`../examples/layouts/eks-fleet-management.yaml:28: warning: labels.hierarchy[2]: "addons/tenants/{tenant}/environments/{env}/defaults/fleet/fleet-secret/values.yaml" names no existing file for any cluster of testdata/eks-fleet-management`,
		inv.Diagnostics[0].String())
	assert.Equal(t,
		"testdata/eks-fleet-management/addons/tenants/tenant1/environments/np/fleet/fleet-secret/values.yaml:2: warning: no label hierarchy path loads this file for any cluster: its labels have no effect",
		inv.Diagnostics[1].String())
}

// TestValidate loads each repository under testdata/validate and compares
// the diagnostics with its golden file.
func TestValidate(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"bad-yaml", "blueprint-shape", "duplicate-cluster", "layout-unknown-key",
		"missing-version", "non-string-label", "numeric-version", "unloaded-label", "bad-traffic",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inv, err := Load(t.Context(), []string{filepath.Join("testdata/validate", name)})
			require.NoError(t, err)
			require.NotEmpty(t, inv.Diagnostics)
			checkGolden(t, filepath.Join("testdata/validate", name+".golden"), inv.Diagnostics.Error()+"\n")
		})
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	load := func(t *testing.T, name string) Diagnostics {
		inv, err := Load(t.Context(), []string{filepath.Join("testdata/validate", name)})
		require.NoError(t, err)
		return inv.Diagnostics
	}
	t.Run("numeric version", func(t *testing.T) {
		t.Parallel()
		assert.Contains(t, load(t, "numeric-version").Error(),
			`testdata/validate/numeric-version/tenants/tenant-a/dev.yaml:7: error: version 1.3 is a number: write "1.30"`)
	})
	t.Run("duplicate names both places", func(t *testing.T) {
		t.Parallel()
		ds := load(t, "duplicate-cluster").Errors()
		require.Len(t, ds, 2)
		assert.Equal(t, "testdata/validate/duplicate-cluster/tenants/tenant-a/dev.yaml", ds[0].File)
		assert.Equal(t, 6, ds[0].Line)
		assert.Equal(t, "testdata/validate/duplicate-cluster/tenants/tenant-b/dev.yaml", ds[1].File)
		assert.Equal(t, 9, ds[1].Line)
	})
	t.Run("warnings only", func(t *testing.T) {
		t.Parallel()
		ds := load(t, "unloaded-label")
		assert.Empty(t, ds.Errors())
		assert.Len(t, ds.Warnings(), 2)
	})
}

func TestLoadDuplicateAcrossRepos(t *testing.T) {
	t.Parallel()
	a := t.TempDir()
	b := t.TempDir()
	bp := "tenant: t\nenv: dev\nservices:\n  eks:\n    config:\n      same-1:\n        version: \"1.29\"\n"
	writeFile(t, a, "t.yaml", bp)
	writeFile(t, b, "x/t.yaml", bp)
	inv, err := Load(t.Context(), []string{a, b})
	require.NoError(t, err)
	require.Len(t, inv.Clusters, 2)
	require.Len(t, inv.Diagnostics, 2)
	assert.Equal(t, filepath.Join(a, "t.yaml")+":6: error: cluster same-1 is declared more than once: also at "+filepath.Join(b, "x/t.yaml")+":6",
		findDiag(inv.Diagnostics, filepath.Join(a, "t.yaml")).String())
	assert.Equal(t, filepath.Join(b, "x/t.yaml")+":6: error: cluster same-1 is declared more than once: also at "+filepath.Join(a, "t.yaml")+":6",
		findDiag(inv.Diagnostics, filepath.Join(b, "x/t.yaml")).String())
	assert.Error(t, inv.Err())
}

func findDiag(ds Diagnostics, file string) Diagnostic {
	for _, d := range ds {
		if d.File == file {
			return d
		}
	}
	return Diagnostic{}
}

// TestLoadWithoutLayout checks the seed format is detected by shape: other
// YAML files, including ones that do not parse, are skipped.
func TestLoadWithoutLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "infra/tenant-x/prod.yaml", "# blueprint\ntenant: tenant-x\nenv: prod\nregion: eu-central-1\nservices:\n  eks:\n    config:\n      x-prod-1:\n        fleet: cpu\n        version: \"1.30\"\n")
	writeFile(t, dir, "charts/app/templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nspec: {{ .Values.spec }}\n  bad: [\n")
	writeFile(t, dir, "charts/app/values.yaml", "tenant: not-a-blueprint\nreplicas: 2\n")
	writeFile(t, dir, "addons/tenants/defaults/fleet/fleet-secret/values.yaml", "externalSecret:\n  labels:\n    addonsRelease: release1\n")
	writeFile(t, dir, ".git/config.yaml", "tenant: t\nenv: e\nservices: {eks: {config: {hidden: {version: \"1.29\"}}}}\n")
	inv, err := Load(t.Context(), []string{dir})
	require.NoError(t, err)
	assert.Empty(t, inv.Diagnostics)
	require.Len(t, inv.Clusters, 1)
	c := inv.Clusters[0]
	assert.Equal(t, "x-prod-1", c.Name)
	assert.Equal(t, "eu-central-1", c.Region)
	assert.Equal(t, "1.30", c.Version)
	assert.Equal(t, map[string]string{"addonsRelease": "release1"}, c.Labels)
	assert.Empty(t, c.Owners)
	assert.Equal(t, "", inv.Layouts[dir].File, "the default layout applies")
}

func TestLoadLabelSemantics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, LayoutFile, layoutHead+`blueprints:
  paths: [bp/*.yaml]
labels:
  key: fleet.labels
  hierarchy:
    - l/all.yaml
    - l/{tenant}.yaml
    - l/{tenant}/{env}/{cluster}.yaml
`)
	writeFile(t, dir, "bp/t.yaml", "tenant: t\nenv: dev\nservices:\n  eks:\n    config:\n      c1: {version: \"1.29\"}\n      c2: {version: \"1.29\"}\n")
	writeFile(t, dir, "l/all.yaml", "fleet:\n  labels:\n    a: one\n    b: two\n")
	writeFile(t, dir, "l/t.yaml", "fleet:\n  labels:\n    b: null\n    c: three\n")
	writeFile(t, dir, "l/t/dev/c2.yaml", "fleet:\n  labels:\n    b: back\n")
	inv, err := Load(t.Context(), []string{dir})
	require.NoError(t, err)
	assert.Empty(t, inv.Diagnostics)
	require.Len(t, inv.Clusters, 2)
	assert.Equal(t, map[string]string{"a": "one", "c": "three"}, inv.Clusters[0].Labels, "null removes an inherited label")
	_, hasB := inv.Clusters[0].Sources.Lookup("labels.b")
	assert.False(t, hasB)
	assert.Equal(t, map[string]string{"a": "one", "b": "back", "c": "three"}, inv.Clusters[1].Labels)
	assert.Equal(t, "l/t/dev/c2.yaml", inv.Clusters[1].Sources.Get("labels.b").File)
}

// TestLoadLabelFilesNotReadAhead loads label files the walk leaves to be
// read by their path: one larger than it reads ahead, and a symbolic link.
func TestLoadLabelFilesNotReadAhead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, LayoutFile, layoutHead+`blueprints:
  paths: [bp/*.yaml]
labels:
  key: fleet.labels
  hierarchy:
    - l/all.yaml
    - l/{tenant}.yaml
`)
	writeFile(t, dir, "bp/t.yaml", "tenant: t\nenv: dev\nservices:\n  eks:\n    config:\n      c1: {version: \"1.29\"}\n")
	writeFile(t, dir, "l/all.yaml", strings.Repeat("# padding\n", aheadFileMax/10+1)+"fleet:\n  labels:\n    a: one\n")
	writeFile(t, dir, "shared/t.yaml", "fleet:\n  labels:\n    b: two\n")
	require.NoError(t, os.Symlink("../shared/t.yaml", filepath.Join(dir, "l", "t.yaml")))
	inv, err := Load(t.Context(), []string{dir})
	require.NoError(t, err)
	assert.Empty(t, inv.Diagnostics)
	require.Len(t, inv.Clusters, 1)
	assert.Equal(t, map[string]string{"a": "one", "b": "two"}, inv.Clusters[0].Labels)
	assert.Equal(t, aheadFileMax/10+4, inv.Clusters[0].Sources.Get("labels.a").Line, "the padding, then fleet, labels, a")
}

func TestLoadMembersWithVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layout := filepath.Join(t.TempDir(), "layout.yaml")
	writeFile(t, filepath.Dir(layout), "layout.yaml", layoutHead+`members:
  paths: [members/*.yaml]
  region: spec.region
  fleet: spec.fleet
  canary: spec.canary
  version: spec.version
`)
	writeFile(t, dir, "members/one.yaml", "tenant: t\nclusterName: one\nenvironment: prod\nspec:\n  region: us-east-1\n  fleet: gpu\n  canary: true\n  version: \"1.31\"\n")
	writeFile(t, dir, "members/two.yaml", "tenant: t\nclusterName: two\nenvironment: prod\n")
	writeFile(t, dir, "members/three.yaml", "tenant: t\nenvironment: prod\n")
	inv, err := Load(t.Context(), []string{dir}, WithLayout(layout), WithWorkers(1))
	require.NoError(t, err)
	require.Len(t, inv.Clusters, 2)
	one := inv.Clusters[0]
	assert.Equal(t, Cluster{
		Name: "one", Tenant: "t", Env: "prod", Region: "us-east-1", Fleet: "gpu", Canary: true, Version: "1.31",
		Owners: []string{}, Labels: map[string]string{}, Repo: dir, File: "members/one.yaml",
		VersionPath: []string{"spec", "version"},
		Sources: SourcesOf(map[string]Source{
			"name":    {Repo: dir, File: "members/one.yaml", Line: 2, Column: 14},
			"tenant":  {Repo: dir, File: "members/one.yaml", Line: 1, Column: 9},
			"env":     {Repo: dir, File: "members/one.yaml", Line: 3, Column: 14},
			"region":  {Repo: dir, File: "members/one.yaml", Line: 5, Column: 11},
			"fleet":   {Repo: dir, File: "members/one.yaml", Line: 6, Column: 10},
			"canary":  {Repo: dir, File: "members/one.yaml", Line: 7, Column: 11},
			"version": {Repo: dir, File: "members/one.yaml", Line: 8, Column: 12},
		}),
	}, one)
	got := []string{}
	for _, d := range inv.Diagnostics {
		got = append(got, strings.TrimPrefix(d.String(), dir+"/"))
	}
	assert.Equal(t, []string{
		"members/three.yaml:1: error: fleet-member file has no cluster name (key clusterName)",
		"members/two.yaml:2: error: cluster two has no version (key spec.version)",
	}, got)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing repository", func(t *testing.T) {
		t.Parallel()
		_, err := Load(t.Context(), []string{filepath.Join(t.TempDir(), "nope")})
		require.ErrorContains(t, err, "repository: stat")
	})
	t.Run("no repository", func(t *testing.T) {
		t.Parallel()
		_, err := Load(t.Context(), nil)
		require.EqualError(t, err, "no repository given")
	})
	t.Run("repository twice", func(t *testing.T) {
		t.Parallel()
		_, err := Load(t.Context(), []string{exampleFleet, exampleFleet + "/."})
		require.EqualError(t, err, "repository ../examples/fleet given twice (as ../examples/fleet and ../examples/fleet/.)")
	})
	t.Run("missing layout", func(t *testing.T) {
		t.Parallel()
		_, err := Load(t.Context(), []string{t.TempDir()}, WithLayout(filepath.Join(t.TempDir(), "l.yaml")))
		require.ErrorContains(t, err, "read layout:")
	})
	t.Run("invalid layout is a diagnostic", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "l.yaml", "kind: Layout\n")
		inv, err := Load(t.Context(), []string{t.TempDir()}, WithLayout(filepath.Join(dir, "l.yaml")))
		require.NoError(t, err)
		assert.Empty(t, inv.Clusters)
		require.Error(t, inv.Err())
		assert.Contains(t, inv.Err().Error(), `l.yaml:1: error: apiVersion: is required`)
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Load(ctx, []string{exampleFleet})
		require.ErrorIs(t, err, context.Canceled)
	})
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

// The tenant's AWS account ID is read when the layout names its key; a number
// or a malformed ID is an error at its line, since an unquoted ID loses its
// leading zeros.
func TestLoadAccount(t *testing.T) {
	t.Parallel()
	layout := "apiVersion: fleetbot.io/v1alpha1\nkind: Layout\nblueprints:\n  paths: [t/*.yaml]\n  tenant: tenant\n  env: env\n  account: account_id\n  clusters: clusters\n"
	for _, tc := range []struct {
		name, value, account, err string
	}{
		{name: "quoted", value: `"012345678901"`, account: "012345678901"},
		{name: "absent", value: ""},
		{name: "number", value: "12345678901", err: `t/a.yaml:3: error: account_id must be a quoted 12-digit AWS account ID: write "12345678901"`},
		{name: "short", value: `"1234"`, err: `t/a.yaml:3: error: account_id "1234" is not a 12-digit AWS account ID`},
		{name: "mapping", value: "{id: x}", err: `t/a.yaml:3: error: account_id must be a string, not a mapping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, ".fleetbot.yaml", layout)
			acct := ""
			if tc.value != "" {
				acct = "account_id: " + tc.value
			}
			writeFile(t, dir, "t/a.yaml", "tenant: a\nenv: dev\n"+acct+"\nclusters:\n  c1: {version: \"1.29\"}\n")
			inv, err := Load(t.Context(), []string{dir})
			require.NoError(t, err)
			if tc.err != "" {
				require.Error(t, inv.Err())
				assert.Contains(t, inv.Err().Error(), tc.err)
				return
			}
			require.NoError(t, inv.Err())
			require.Len(t, inv.Clusters, 1)
			assert.Equal(t, tc.account, inv.Clusters[0].Account)
		})
	}
}

// TestDuplicateClustersGroupsNeighbours: in clusters sorted by name, each
// name declared three times gets one error per place naming the two others,
// in order; a name declared once gets none.
func TestDuplicateClustersGroupsNeighbours(t *testing.T) {
	t.Parallel()
	at := func(name, file string, line int) Cluster {
		c := Cluster{Name: name, Repo: "r", File: file}
		c.Sources.Set("name", Source{Repo: "r", File: file, Line: line})
		return c
	}
	ds := duplicateClusters([]Cluster{at("a", "1.yaml", 1), at("a", "2.yaml", 2), at("a", "3.yaml", 3), at("b", "1.yaml", 4), at("c", "4.yaml", 5), at("c", "5.yaml", 6)})
	var got []string
	for _, d := range ds {
		got = append(got, d.String())
	}
	r := func(f string) string { return filepath.Join("r", f) }
	assert.Equal(t, []string{
		r("1.yaml") + ":1: error: cluster a is declared more than once: also at " + r("2.yaml") + ":2, " + r("3.yaml") + ":3",
		r("2.yaml") + ":2: error: cluster a is declared more than once: also at " + r("1.yaml") + ":1, " + r("3.yaml") + ":3",
		r("3.yaml") + ":3: error: cluster a is declared more than once: also at " + r("1.yaml") + ":1, " + r("2.yaml") + ":2",
		r("4.yaml") + ":5: error: cluster c is declared more than once: also at " + r("5.yaml") + ":6",
		r("5.yaml") + ":6: error: cluster c is declared more than once: also at " + r("4.yaml") + ":5",
	}, got)
}
