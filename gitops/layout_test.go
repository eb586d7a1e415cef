package gitops

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const layoutHead = "apiVersion: fleetbot.io/v1alpha1\nkind: Layout\n"

func TestParseLayoutErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "unknown top-level key",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nblueprint:\n  paths: [b]\n",
			want: []string{`l.yaml:5: error: blueprint: unknown field (did you mean "blueprints"?)`},
		},
		{
			name: "unknown nested key",
			in:   layoutHead + "members:\n  paths: [m/*.yaml]\n  clustername: name\n",
			want: []string{`l.yaml:5: error: members.clustername: unknown field (did you mean "cluster"?)`},
		},
		{
			name: "unknown owner key",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nowners:\n  tenant-a:\n    user: [alice]\n",
			want: []string{`l.yaml:7: error: owners.tenant-a.user: unknown field (did you mean "users"?)`},
		},
		{
			name: "repeated key",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\n  paths: [b/*.yaml]\n",
			want: []string{`l.yaml:5: error: blueprints.paths: is given twice (first on line 4)`},
		},
		{
			name: "wrong apiVersion and kind",
			in:   "apiVersion: v1\nkind: ConfigMap\nblueprints:\n  paths: [a/*.yaml]\n",
			want: []string{
				`l.yaml:1: error: apiVersion: must be fleetbot.io/v1alpha1, not "v1"`,
				`l.yaml:2: error: kind: must be Layout, not "ConfigMap"`,
			},
		},
		{
			name: "no source of clusters",
			in:   layoutHead + "labels:\n  hierarchy: [a/values.yaml]\n",
			want: []string{`l.yaml:1: error: layout names neither blueprints nor members: no cluster can be found`},
		},
		{
			name: "paths required",
			in:   layoutHead + "blueprints:\n  tenant: name\n",
			want: []string{`l.yaml:3: error: blueprints.paths: is required`},
		},
		{
			name: "paths not a list",
			in:   layoutHead + "blueprints:\n  paths: tenants/*.yaml\n",
			want: []string{
				`l.yaml:4: error: blueprints.paths: must be a list, not "tenants/*.yaml"`,
			},
		},
		{
			name: "bad glob",
			in:   layoutHead + "blueprints:\n  paths:\n    - ok/*.yaml\n    - 'bad/[.yaml'\n",
			want: []string{`l.yaml:6: error: blueprints.paths[1]: pattern "bad/[.yaml": syntax error in pattern`},
		},
		{
			name: "absolute glob",
			in:   layoutHead + "blueprints:\n  paths: [/etc/*.yaml]\n",
			want: []string{`l.yaml:4: error: blueprints.paths[0]: pattern "/etc/*.yaml" is absolute: write it relative to the repository root`},
		},
		{
			name: "bad key path",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\n  clusters: services..config\n",
			want: []string{`l.yaml:5: error: blueprints.clusters: key path "services..config": empty key at byte 10`},
		},
		{
			name: "unknown placeholder",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nlabels:\n  hierarchy:\n    - x/{tenant}/values.yaml\n    - x/{fleet}/values.yaml\n",
			want: []string{`l.yaml:8: error: labels.hierarchy[1]: template "x/{fleet}/values.yaml" uses unknown placeholder {fleet} (known: {tenant}, {env}, {cluster})`},
		},
		{
			name: "template leaves the repository",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nlabels:\n  hierarchy: [../x/values.yaml]\n",
			want: []string{`l.yaml:6: error: labels.hierarchy[0]: template "../x/values.yaml" has a ".." path segment`},
		},
		{
			name: "hierarchy required",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nlabels:\n  files: [x/**/values.yaml]\n",
			want: []string{`l.yaml:5: error: labels.hierarchy: is required: list the label files from the most general to the most specific`},
		},
		{
			name: "hierarchy unknown placeholder",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  addons:\n    paths:\n      - x/{env}/values.yaml\n      - x/{k8s}/values.yaml\n",
			want: []string{`l.yaml:9: error: hierarchies.addons.paths[1]: template "x/{k8s}/values.yaml" uses unknown placeholder {k8s} (known: {tenant}, {env}, {cluster}, {fleet}, {region}, {hub}, {record.KEY})`},
		},
		{
			name: "hierarchy record without a key",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  addons:\n    paths:\n      - x/{record.}/values.yaml\n",
			want: []string{`l.yaml:8: error: hierarchies.addons.paths[0]: template "x/{record.}/values.yaml": placeholder {record.} needs a key path after "record."`},
		},
		{
			name: "record placeholder in the label hierarchy",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nlabels:\n  hierarchy:\n    - x/{record.version}/values.yaml\n",
			want: []string{`l.yaml:7: error: labels.hierarchy[0]: template "x/{record.version}/values.yaml" uses unknown placeholder {record.version} (known: {tenant}, {env}, {cluster})`},
		},
		{
			name: "hierarchy unknown key",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  addons:\n    path: [x/values.yaml]\n",
			want: []string{
				`l.yaml:6: error: hierarchies.addons.paths: is required: list the values files from the most general to the most specific`,
				`l.yaml:7: error: hierarchies.addons.path: unknown field (did you mean "paths"?)`,
			},
		},
		{
			name: "hierarchy empty paths",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  addons:\n    paths: []\n",
			want: []string{`l.yaml:7: error: hierarchies.addons.paths: is empty: list the values files from the most general to the most specific`},
		},
		{
			name: "hierarchy bad key path",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  addons:\n    paths: [x/values.yaml]\n    key: a..b\n",
			want: []string{`l.yaml:8: error: hierarchies.addons.key: key path "a..b": empty key at byte 3`},
		},
		{
			name: "hierarchy named labels",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  labels:\n    paths: [x/values.yaml]\n",
			want: []string{`l.yaml:6: error: hierarchies.labels: is the label hierarchy: describe it under labels`},
		},
		{
			name: "hierarchy not a mapping",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nhierarchies:\n  addons: [x/values.yaml]\n",
			want: []string{`l.yaml:6: error: hierarchies.addons: must be a mapping, not a list`},
		},
		{
			name: "hub key path",
			in:   layoutHead + "members:\n  paths: [m/*.yaml]\n  hub: a..b\n",
			want: []string{`l.yaml:5: error: members.hub: key path "a..b": empty key at byte 3`},
		},
		{
			name: "bad owners",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\nowners:\n  tenant-a:\n    users: [acme/team-a]\n    teams: [team-b]\n",
			want: []string{
				`l.yaml:7: error: owners.tenant-a.users[0]: "acme/team-a" is not a GitHub login (write teams under teams, as org/team)`,
				`l.yaml:8: error: owners.tenant-a.teams[0]: "team-b" is not a GitHub team: write org/team-slug`,
			},
		},
		{
			name: "not a mapping",
			in:   "- a\n- b\n",
			want: []string{`l.yaml:1: error: a layout file is a mapping with apiVersion, kind and blueprints or members, not a list`},
		},
		{
			name: "invalid YAML",
			in:   layoutHead + "blueprints:\n  paths: [a\n",
			want: []string{`l.yaml:3: error: invalid YAML: did not find expected ',' or ']'`},
		},
		{
			name: "empty",
			in:   "",
			want: []string{`l.yaml: error: layout file is empty`},
		},
		{
			name: "two documents",
			in:   layoutHead + "blueprints:\n  paths: [a/*.yaml]\n---\nkind: Layout\n",
			want: []string{`l.yaml:6: error: a second YAML document starts here: a layout file holds one document`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, layoutProblems(t, tt.in))
		})
	}
}

// layoutProblems parses the layout in, which must be refused, and returns
// its diagnostics as "file:line: severity: message".
func layoutProblems(t *testing.T, in string) []string {
	t.Helper()
	l, err := ParseLayout("l.yaml", []byte(in))
	require.Error(t, err)
	assert.Nil(t, l)
	var ds Diagnostics
	require.True(t, errors.As(err, &ds), "error %T is not Diagnostics", err)
	got := make([]string, len(ds))
	for i, d := range ds {
		got[i] = d.String()
	}
	return got
}

func TestReadShippedLayouts(t *testing.T) {
	t.Parallel()
	seed, err := ReadLayout("../examples/layouts/seed.yaml")
	require.NoError(t, err)
	require.NotNil(t, seed.Blueprints)
	assert.Nil(t, seed.Members)
	assert.Equal(t, []string{"tenants/*/*.yaml"}, seed.Blueprints.Paths)
	assert.Equal(t, "services.eks.config", seed.Blueprints.Clusters)
	assert.Equal(t, "is_canary", seed.Blueprints.Canary)
	assert.Equal(t, seedHierarchy, seed.Labels.Hierarchy, "seed layout and the default hierarchy differ")
	assert.Equal(t, DefaultLabelsKey, seed.Labels.Key)

	fleet, err := ReadLayout("../examples/fleet/" + LayoutFile)
	require.NoError(t, err)
	assert.Equal(t, seed.Blueprints.Paths, fleet.Blueprints.Paths)
	assert.Equal(t, seed.Labels.Hierarchy, fleet.Labels.Hierarchy)
	assert.Equal(t, Owners{Users: []string{"alice", "arjun"}, Teams: []string{"acme/payments-platform"}}, fleet.Owners["tenant-a"])
	assert.Equal(t, Owners{Users: []string{"pat"}, Teams: []string{"acme/platform"}}, fleet.Admins)
	assert.Len(t, fleet.Owners, 4)

	eks, err := ReadLayout("../examples/layouts/eks-fleet-management.yaml")
	require.NoError(t, err)
	assert.Nil(t, eks.Blueprints)
	require.NotNil(t, eks.Members)
	assert.Equal(t, "clusterName", eks.Members.Cluster)
	assert.Equal(t, "environment", eks.Members.Env)
	assert.Empty(t, eks.Members.Version, "member files have no version key")
	assert.Len(t, eks.Labels.Hierarchy, 4)
}

func TestParseLayoutDefaults(t *testing.T) {
	t.Parallel()
	l, err := ParseLayout("l.yaml", []byte(layoutHead+"blueprints:\n  paths: [bp/*.yaml]\nmembers:\n  paths: [m/*.yaml]\nlabels:\n  hierarchy: [a/values.yaml]\n"))
	require.NoError(t, err)
	assert.Equal(t, &Blueprints{
		Paths: []string{"bp/*.yaml"}, Tenant: "tenant", Env: "env", Region: "region", Clusters: "services.eks.config",
		Fleet: "fleet", Canary: "is_canary", Version: "version", Enabled: "enabled", ServiceEnabled: "services.eks.enabled",
	}, withoutCompiled(l.Blueprints))
	assert.Equal(t, "clusterName", l.Members.Cluster)
	assert.Equal(t, "enabled", l.Members.Enabled)
	assert.Equal(t, "tenant", l.Members.Tenant)
	assert.Equal(t, "environment", l.Members.Env)
	assert.Equal(t, DefaultLabelsKey, l.Labels.Key)
	assert.Equal(t, keyPath{"externalSecret", "labels"}, l.Labels.key)
}

func TestParseLayoutHierarchies(t *testing.T) {
	t.Parallel()
	l, err := ParseLayout("l.yaml", []byte(layoutHead+`blueprints:
  paths: [bp/*.yaml]
  hub: spec.hub
labels:
  hierarchy:
    - l/{tenant}.yaml
hierarchies:
  addons:
    key: 'addons\.fleetbot\.io.values'
    paths:
      - a/defaults.yaml
      - a/{record.spec.k8s}/{fleet}-{region}.yaml
      - a/{hub}/{tenant}/{env}/{cluster}.yaml
  config:
    paths:
      - c/{env}.yaml
`))
	require.NoError(t, err)
	assert.Equal(t, "spec.hub", l.Blueprints.Hub)
	assert.Equal(t, keyPath{"spec", "hub"}, l.Blueprints.keys.hub)
	assert.Equal(t, []string{"addons", "config", "labels"}, l.HierarchyNames())
	h, ok := l.Hierarchy("addons")
	require.True(t, ok)
	assert.Equal(t, keyPath{"addons.fleetbot.io", "values"}, h.key)
	assert.Equal(t, []string{"a/defaults.yaml", "a/{record.spec.k8s}/{fleet}-{region}.yaml", "a/{hub}/{tenant}/{env}/{cluster}.yaml"}, h.Paths)
	assert.Equal(t, []keyPath{{"spec", "k8s"}}, l.records)
	labels, ok := l.Hierarchy(LabelsHierarchy)
	require.True(t, ok)
	assert.Equal(t, []string{"l/{tenant}.yaml"}, labels.Paths)
	assert.Equal(t, DefaultLabelsKey, labels.Key)
	cfg, _ := l.Hierarchy("config")
	assert.Empty(t, cfg.key, "no key: the file's root")

	c := &Cluster{Name: "c1", Tenant: "t", Env: "dev", Fleet: "gpu", Region: "eu-west-1", Hub: "hub-1", Record: map[string]string{"spec.k8s": "1.30"}}
	var got []string
	for _, tpl := range h.templates {
		p, ok := tpl.render(c)
		require.True(t, ok, tpl.text)
		got = append(got, p)
	}
	assert.Equal(t, []string{"a/defaults.yaml", "a/1.30/gpu-eu-west-1.yaml", "a/hub-1/t/dev/c1.yaml"}, got)
	c.Fleet = ""
	_, ok = h.templates[1].render(c)
	assert.False(t, ok, "a cluster without a fleet has no file at a {fleet} level")
}

func withoutCompiled(b *Blueprints) *Blueprints {
	c := *b
	c.globs, c.keys, c.detect = nil, blueprintKeys{}, false
	return &c
}

func TestOwnersList(t *testing.T) {
	t.Parallel()
	o := Owners{Users: []string{"alice"}, Teams: []string{"acme/team-a"}}
	assert.Equal(t, []string{"alice", "acme/team-a"}, o.List())
	assert.Empty(t, Owners{}.List())
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"tenants/*/*.yaml", "tenants/a/dev.yaml", true},
		{"tenants/*/*.yaml", "tenants/a/b/dev.yaml", false},
		{"tenants/*/*.yaml", "tenants/dev.yaml", false},
		{"a/**/values.yaml", "a/values.yaml", true},
		{"a/**/values.yaml", "a/x/y/z/values.yaml", true},
		{"a/**/values.yaml", "b/x/values.yaml", false},
		{"**/*.yaml", "x.yaml", true},
		{"**/*.yaml", "deep/er/x.yaml", true},
		{"**/*.yaml", "deep/er/x.yml", false},
		{"a/**", "a/b/c", true},
		{"a/**/b/**/c.yaml", "a/1/b/2/3/c.yaml", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			g, err := compileGlob(tt.pattern)
			require.NoError(t, err)
			assert.Equal(t, tt.want, g.match(tt.path))
		})
	}
}

func TestDiagnosticString(t *testing.T) {
	t.Parallel()
	d := Diagnostic{Severity: SeverityError, File: "a.yaml", Line: 3, Message: "bad"}
	assert.Equal(t, "a.yaml:3: error: bad", d.String())
	d.Line = 0
	assert.Equal(t, "a.yaml: error: bad", d.String())
	ds := Diagnostics{d, {Severity: SeverityWarning, File: "b", Line: 1, Message: "meh"}}
	assert.Equal(t, "a.yaml: error: bad\nb:1: warning: meh", ds.Error())
	assert.Len(t, ds.Errors(), 1)
	assert.Len(t, ds.Warnings(), 1)
	assert.True(t, strings.HasPrefix(ds.Warnings()[0].String(), "b:1: warning"))
}

// TestKeyPathEscapes: a layout's key paths write a dot inside a key as \.
// and a backslash as \\, as `fleetbot set` and campaign files do.
func TestKeyPathEscapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want keyPath
	}{
		{"services.eks.config", keyPath{"services", "eks", "config"}},
		{`metadata.labels.addons\.fleetbot\.io/argo`, keyPath{"metadata", "labels", "addons.fleetbot.io/argo"}},
		{`a\\.b`, keyPath{`a\`, "b"}},
	} {
		got, err := parseKeyPath(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.in, got.String(), "written back as read")
	}
	_, err := parseKeyPath(`a\b`)
	require.Error(t, err)
}
