package gitops

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

// blueGreenLayout is a layout with blueprints at line 3 and the lines
// given after blueprints' own keys (lines 4 and 5), from line 6 on.
func blueGreenLayout(lines string) string {
	return layoutHead + "blueprints:\n  paths: [t/*.yaml]\n  version: settings.version\n" + lines
}

func TestParseBlueGreen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want BlueGreen
	}{
		{
			name: "every key copied",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: traffic_weight\n"),
			want: BlueGreen{Name: "{cluster}-g{n}", Traffic: "traffic_weight"},
		},
		{
			name: "copy gets the version and traffic keys",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: routing.weight\n    copy: [fleet, nodegroups]\n"),
			want: BlueGreen{Name: "{cluster}-g{n}", Traffic: "routing.weight", Copy: []string{"fleet", "nodegroups", "settings", "routing"}},
		},
		{
			name: "copy already has them",
			in:   blueGreenLayout("  blueGreen:\n    name: \"g{n}-{cluster}\"\n    traffic: weight\n    copy: [weight, settings, fleet]\n"),
			want: BlueGreen{Name: "g{n}-{cluster}", Traffic: "weight", Copy: []string{"weight", "settings", "fleet"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLayout("l.yaml", []byte(tt.in))
			require.NoError(t, err)
			bg := l.Blueprints.BlueGreen
			require.NotNil(t, bg)
			assert.Equal(t, tt.want.Name, bg.Name)
			assert.Equal(t, tt.want.Traffic, bg.Traffic)
			assert.Equal(t, tt.want.Copy, bg.Copy)
			kp, err := parseKeyPath(tt.want.Traffic)
			require.NoError(t, err)
			assert.Equal(t, kp, bg.traffic)
		})
	}

	l, err := ParseLayout("l.yaml", []byte(blueGreenLayout("")))
	require.NoError(t, err)
	assert.Nil(t, l.Blueprints.BlueGreen, "a layout without blueGreen has none")
}

func TestParseBlueGreenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "name and traffic required",
			in:   blueGreenLayout("  blueGreen:\n    copy: [fleet]\n"),
			want: []string{
				`l.yaml:6: error: blueprints.blueGreen.name: is required`,
				`l.yaml:6: error: blueprints.blueGreen.traffic: is required`,
			},
		},
		{
			name: "no generation",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-green\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{cluster}-green" must use {n} exactly once, not 0 times`},
		},
		{
			name: "cluster twice",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-{cluster}-{n}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{cluster}-{cluster}-{n}" must use {cluster} exactly once, not 2 times`},
		},
		{
			name: "unknown placeholder",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{tenant}-{cluster}-g{n}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{tenant}-{cluster}-g{n}" uses unknown placeholder {tenant} (known: {cluster}, {n})`},
		},
		{
			name: "unmatched brace",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{cluster}-g{n}}" has an unmatched brace`},
		},
		{
			name: "placeholders touch",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}{n}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{cluster}{n}" must put text between {cluster} and {n}: a name ending in digits would read as a generation`},
		},
		{
			name: "digit next to the generation",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-v2{n}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{cluster}-v2{n}" has a digit next to {n}: the generation would not read back`},
		},
		{
			name: "upper case and underscore",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}_G{n}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "{cluster}_G{n}" adds "_G" to the cluster's name: write lower-case letters, digits and '-'`},
		},
		{
			name: "starts with a dash",
			in:   blueGreenLayout("  blueGreen:\n    name: \"-{cluster}-g{n}\"\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: "-{cluster}-g{n}" makes names such as "-a-g1": a cluster name starts with a letter or digit`},
		},
		{
			name: "name not a string",
			in:   blueGreenLayout("  blueGreen:\n    name: [a]\n    traffic: w\n"),
			want: []string{`l.yaml:7: error: blueprints.blueGreen.name: must be a string, not a list`},
		},
		{
			name: "empty traffic",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: \"\"\n"),
			want: []string{`l.yaml:8: error: blueprints.blueGreen.traffic: must not be empty`},
		},
		{
			name: "bad traffic key path",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: a..b\n"),
			want: []string{`l.yaml:8: error: blueprints.blueGreen.traffic: key path "a..b": empty key at byte 3`},
		},
		{
			name: "traffic is the version",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: settings\n"),
			want: []string{`l.yaml:8: error: blueprints.blueGreen.traffic: "settings" overlaps the version's key "settings.version": the traffic needs a scalar of its own`},
		},
		{
			name: "no version key",
			in:   layoutHead + "blueprints:\n  paths: [t/*.yaml]\n  version: \"\"\n  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: w\n",
			want: []string{`l.yaml:6: error: blueprints.blueGreen: needs blueprints.version: the green entry's version is written there`},
		},
		{
			name: "copy repeated, empty and a key path",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: w\n    copy:\n      - fleet\n      - fleet\n      - \"\"\n      - nodegroups.default\n"),
			want: []string{
				`l.yaml:11: error: blueprints.blueGreen.copy[1]: "fleet" is listed twice`,
				`l.yaml:12: error: blueprints.blueGreen.copy[2]: is empty`,
				`l.yaml:13: error: blueprints.blueGreen.copy[3]: "nodegroups.default" is a key path: copy names keys of the cluster's entry itself, such as "nodegroups"`,
			},
		},
		{
			name: "copy empty",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: w\n    copy: []\n"),
			want: []string{`l.yaml:9: error: blueprints.blueGreen.copy: is empty: list the keys the green entry copies, or leave copy out to copy every key`},
		},
		{
			name: "copy not a list",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: w\n    copy: fleet\n"),
			want: []string{`l.yaml:9: error: blueprints.blueGreen.copy: must be a list, not "fleet"`},
		},
		{
			name: "unknown key",
			in:   blueGreenLayout("  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: w\n    copies: [fleet]\n"),
			want: []string{`l.yaml:9: error: blueprints.blueGreen.copies: unknown field (known: copy, name, traffic)`},
		},
		{
			name: "members have none",
			in:   layoutHead + "members:\n  paths: [m/*.yaml]\n  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: w\n",
			want: []string{`l.yaml:5: error: members.blueGreen: unknown field (known: account, canary, cluster, enabled, env, fleet, hub, paths, region, tenant, version)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, layoutProblems(t, tt.in))
		})
	}
}

func TestGreenName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		template, blue, green string
	}{
		{"{cluster}-g{n}", "a-prod-cpu-1", "a-prod-cpu-1-g1"},
		{"{cluster}-g{n}", "a-prod-cpu-1-g1", "a-prod-cpu-1-g2"},
		{"{cluster}-g{n}", "a-prod-cpu-1-g9", "a-prod-cpu-1-g10"},
		{"{cluster}-g{n}", "a-prod-cpu-1-g1-g2", "a-prod-cpu-1-g1-g3"},
		{"{cluster}-g{n}", "a-prod-cpu-1-g", "a-prod-cpu-1-g-g1"},
		{"{cluster}-g{n}", "-g1", "-g1-g1"}, // no base: not the template's
		{"{cluster}-g{n}", "a-g99999999999999999999", "a-g99999999999999999999-g1"},
		{"g{n}-{cluster}", "a-prod-cpu-1", "g1-a-prod-cpu-1"},
		{"g{n}-{cluster}", "g4-a-prod-cpu-1", "g5-a-prod-cpu-1"},
		{"{cluster}-v{n}-green", "b-dev", "b-dev-v1-green"},
		{"{cluster}-v{n}-green", "b-dev-v3-green", "b-dev-v4-green"},
		{"{cluster}-v{n}-green", "b-dev-v3", "b-dev-v3-v1-green"},
	}
	for _, tt := range tests {
		t.Run(tt.template+" "+tt.blue, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, checkGreenName(tt.template))
			bg := &BlueGreen{Name: tt.template, name: compileGreenName(tt.template)}
			assert.Equal(t, tt.green, bg.GreenName(tt.blue))
		})
	}
}

func TestLoadTraffic(t *testing.T) {
	t.Parallel()
	const repo = "testdata/bluegreen"
	inv, err := Load(t.Context(), []string{repo})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	entry := func(name string) []string { return []string{"services", "eks", "config", name} }
	tests := []struct {
		cluster, traffic string
		path             []string
		line             int
		entry            []string
	}{
		{cluster: "a-prod-cpu-1", traffic: "100", path: append(entry("a-prod-cpu-1"), "routing", "weight"), line: 12, entry: entry("a-prod-cpu-1")},
		{cluster: "a-prod-cpu-2-g1", traffic: "60", path: append(entry("a-prod-cpu-2-g1"), "routing", "weight"), line: 17, entry: entry("a-prod-cpu-2-g1")},
		{cluster: "a-prod-gpu-1", entry: entry("a-prod-gpu-1")},
		{cluster: "a-prod-spoke-1"},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			t.Parallel()
			c, ok := inv.Cluster(tt.cluster)
			require.True(t, ok)
			assert.Equal(t, tt.traffic, c.Traffic)
			assert.Equal(t, tt.path, c.TrafficPath)
			assert.Equal(t, tt.entry, c.EntryPath())
			src, ok := c.Sources.Lookup("traffic")
			assert.Equal(t, tt.line != 0, ok, "a traffic source only for a traffic scalar")
			if tt.line != 0 {
				assert.Equal(t, Source{Repo: repo, File: "tenants/tenant-a/prod.yaml", Line: tt.line, Column: 19}, src)
			}
		})
	}

	// Without blueGreen in the layout, no cluster has a traffic scalar.
	plain, err := Load(t.Context(), []string{"testdata/scopes"})
	require.NoError(t, err)
	for _, c := range plain.Clusters {
		assert.Empty(t, c.Traffic, c.Name)
		assert.Nil(t, c.TrafficPath, c.Name)
	}
}

func TestFleetBlueGreen(t *testing.T) {
	t.Parallel()
	const (
		repo = "testdata/bluegreen"
		file = "tenants/tenant-a/prod.yaml"
	)
	inv, err := Load(t.Context(), []string{repo})
	require.NoError(t, err)
	f, err := inv.Fleet()
	require.NoError(t, err)
	got := map[string]*rollout.Replacement{}
	for _, c := range f.Clusters {
		got[c.Name] = c.BlueGreen
	}
	entry := func(name string, line int) rollout.Location {
		return rollout.Location{Repo: repo, File: file, Path: []string{"services", "eks", "config", name}, Line: line}
	}
	labels := func(name string) string {
		return "addons/tenants/tenant-a/environments/prod/clusters/" + name + "/fleet/fleet-secret/values.yaml"
	}
	copied := []string{"fleet", "vpc_name", "nodegroups", "version", "routing"}
	want := map[string]*rollout.Replacement{
		"a-prod-cpu-1": {
			Green: "a-prod-cpu-1-g1", Entry: entry("a-prod-cpu-1", 7), Copy: copied, Traffic: "100",
			TrafficAt:   rollout.Location{Repo: repo, File: file, Path: []string{"services", "eks", "config", "a-prod-cpu-1", "routing", "weight"}, Line: 12},
			GreenLabels: labels("a-prod-cpu-1-g1"), BlueLabels: labels("a-prod-cpu-1"), // it has a label file of its own
		},
		"a-prod-cpu-2-g1": {
			Green: "a-prod-cpu-2-g2", Entry: entry("a-prod-cpu-2-g1", 13), Copy: copied, Traffic: "60",
			TrafficAt:   rollout.Location{Repo: repo, File: file, Path: []string{"services", "eks", "config", "a-prod-cpu-2-g1", "routing", "weight"}, Line: 17},
			GreenLabels: labels("a-prod-cpu-2-g2"),
		},
		"a-prod-gpu-1": {
			Green: "a-prod-gpu-1-g1", Entry: entry("a-prod-gpu-1", 18), Copy: copied,
			GreenLabels: labels("a-prod-gpu-1-g1"),
		},
		"a-prod-spoke-1": nil, // a fleet-member cluster has no blueprint entry
	}
	assert.Equal(t, want, got)

	// Letting go of the inventory's clusters gives the same replacements.
	consumed, err := inv.fleet(true, false, "")
	require.NoError(t, err)
	for _, c := range consumed.Clusters {
		assert.Equal(t, want[c.Name], c.BlueGreen, c.Name)
	}

	t.Run("no blueGreen", func(t *testing.T) {
		t.Parallel()
		inv, err := Load(t.Context(), []string{"testdata/scopes"})
		require.NoError(t, err)
		f, err := inv.Fleet()
		require.NoError(t, err)
		for _, c := range f.Clusters {
			assert.Nil(t, c.BlueGreen, c.Name)
		}
	})

	for _, tc := range []struct {
		name, labels, green string
	}{
		{name: "no label hierarchy"},
		{
			name:   "cluster level not the last",
			labels: "labels:\n  hierarchy: [defaults.yaml, \"clusters/{env}/{cluster}.yaml\", \"tenants/{tenant}.yaml\"]\n",
			green:  "clusters/dev/c1-g1.yaml",
		},
		{
			name:   "no cluster level",
			labels: "labels:\n  hierarchy: [defaults.yaml, \"tenants/{tenant}.yaml\"]\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, LayoutFile, layoutHead+"blueprints:\n  paths: [t/*.yaml]\n  tenant: tenant\n  env: env\n  clusters: clusters\n"+
				"  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: weight\n"+tc.labels)
			writeFile(t, dir, "t/a.yaml", "tenant: a\nenv: dev\nclusters:\n  c1: {version: \"1.29\", weight: 0}\n")
			inv, err := Load(t.Context(), []string{dir})
			require.NoError(t, err)
			f, err := inv.Fleet()
			require.NoError(t, err)
			require.Len(t, f.Clusters, 1)
			r := f.Clusters[0].BlueGreen
			require.NotNil(t, r)
			assert.Equal(t, "c1-g1", r.Green)
			assert.Equal(t, "0", r.Traffic)
			assert.Empty(t, r.Copy)
			assert.Equal(t, tc.green, r.GreenLabels)
		})
	}

	t.Run("values of other hierarchies", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, LayoutFile, layoutHead+"blueprints:\n  paths: [t/*.yaml]\n  tenant: tenant\n  env: env\n  clusters: clusters\n"+
			"  blueGreen:\n    name: \"{cluster}-g{n}\"\n    traffic: weight\n"+
			"hierarchies:\n"+
			"  addons:\n    paths: [addons/defaults.yaml, \"addons/{tenant}/{cluster}/values.yaml\", \"addons/{tenant}/{env}.yaml\"]\n"+
			"  cni:\n    paths: [\"cni/{cluster}.yaml\"]\n"+
			"  dns:\n    paths: [dns/defaults.yaml, \"dns/{tenant}.yaml\"]\n")
		writeFile(t, dir, "t/a.yaml", "tenant: a\nenv: dev\nclusters:\n  c1: {version: \"1.29\", weight: 0}\n  c2: {version: \"1.29\", weight: 0}\n")
		writeFile(t, dir, "addons/defaults.yaml", "x: 1\n")
		writeFile(t, dir, "addons/a/c1/values.yaml", "x: 2\n")
		writeFile(t, dir, "cni/c2.yaml", "x: 3\n")
		writeFile(t, dir, "dns/a.yaml", "x: 4\n")
		inv, err := Load(t.Context(), []string{dir})
		require.NoError(t, err)
		f, err := inv.Fleet()
		require.NoError(t, err)
		require.Len(t, f.Clusters, 2)
		// The most specific level that names the cluster, when the
		// cluster has a file there; a hierarchy with no such level has
		// none.
		assert.Equal(t, []rollout.OwnFile{{Hierarchy: "addons", Blue: "addons/a/c1/values.yaml", Green: "addons/a/c1-g1/values.yaml"}}, f.Clusters[0].BlueGreen.Values)
		assert.Equal(t, []rollout.OwnFile{{Hierarchy: "cni", Blue: "cni/c2.yaml", Green: "cni/c2-g1.yaml"}}, f.Clusters[1].BlueGreen.Values)
	})
}
