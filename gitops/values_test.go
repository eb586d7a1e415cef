package gitops

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEffective(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{scopesRepo})
	require.NoError(t, err)

	// cluster -> "value file:line", "-" when unset, "null file:line" when a
	// more specific file removes it.
	show := func(vs []EffectiveValue) map[string]string {
		out := map[string]string{}
		for _, v := range vs {
			switch {
			case v.Null:
				out[v.Cluster] = fmt.Sprintf("null %s:%d", v.Source.File, v.Source.Line)
			case !v.Set:
				out[v.Cluster] = "-"
			default:
				out[v.Cluster] = fmt.Sprintf("%s %s:%d", v.Value, v.Source.File, v.Source.Line)
			}
		}
		return out
	}
	tests := []struct {
		hierarchy, key string
		want           map[string]string
	}{
		{"addons", "metricsServer.version", map[string]string{
			"a-dev-1":  "3.12.1 addons/environments/dev/values.yaml:3",
			"a-dev-2":  "3.13.0 addons/tenants/tenant-a/clusters/a-dev-2/values.yaml:3",
			"a-prod-1": "3.12.0 addons/defaults/values.yaml:4",
			"b-dev-1":  "3.12.1 addons/environments/dev/values.yaml:3",
			"b-dev-2":  "3.12.1 addons/environments/dev/values.yaml:3",
			"c-prod-1": "3.12.2 addons/versions/1.30/values.yaml:4",
		}},
		{"addons", "karpenter.version", map[string]string{
			"a-dev-1":  "1.0.0 addons/tenants/tenant-a/values.yaml:3",
			"a-dev-2":  "1.0.0 addons/tenants/tenant-a/values.yaml:3",
			"a-prod-1": "1.0.0 addons/tenants/tenant-a/values.yaml:3",
			"b-dev-1":  "0.37.0 addons/defaults/values.yaml:6",
			"b-dev-2":  "null addons/versions/1.30/values.yaml:6",
			"c-prod-1": "null addons/versions/1.30/values.yaml:6",
		}},
		{"addons", "karpenter", map[string]string{
			"a-dev-1":  "{version: \"1.0.0\"} addons/tenants/tenant-a/values.yaml:3",
			"a-dev-2":  "{version: \"1.0.0\"} addons/tenants/tenant-a/values.yaml:3",
			"a-prod-1": "{version: \"1.0.0\"} addons/tenants/tenant-a/values.yaml:3",
			"b-dev-1":  "{version: \"0.37.0\"} addons/defaults/values.yaml:6",
			"b-dev-2":  "{version: null} addons/versions/1.30/values.yaml:6",
			"c-prod-1": "{version: null} addons/versions/1.30/values.yaml:6",
		}},
		{"addons-config", "externalDns.version", map[string]string{
			"a-dev-1":  "1.15.0 clusters/ad1/addons-config.yaml:2",
			"a-dev-2":  "1.14.0 environments/dev/addons/addons-config.yaml:3",
			"a-prod-1": "-",
			"b-dev-1":  "1.14.0 environments/dev/addons/addons-config.yaml:3",
			"b-dev-2":  "1.14.0 environments/dev/addons/addons-config.yaml:3",
			"c-prod-1": "-",
		}},
		{"labels", "addonsRelease", map[string]string{
			"a-dev-1":  "release2 labels/tenant-a/dev/a-dev-1.yaml:3",
			"a-dev-2":  "release1 labels/defaults.yaml:3",
			"a-prod-1": "release1 labels/defaults.yaml:3",
			"b-dev-1":  "release1 labels/defaults.yaml:3",
			"b-dev-2":  "release1 labels/defaults.yaml:3",
			"c-prod-1": "release1 labels/defaults.yaml:3",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.hierarchy+" "+tt.key, func(t *testing.T) {
			t.Parallel()
			vs, err := inv.Effective(tt.hierarchy, tt.key)
			require.NoError(t, err)
			assert.Equal(t, tt.want, show(vs))
		})
	}

	_, err = inv.Effective("adons", "a")
	assert.EqualError(t, err, `unknown hierarchy "adons" in the layout of testdata/scopes (known: addons, addons-config, labels)`)
	_, err = inv.Effective("addons", "a..b")
	assert.ErrorContains(t, err, `key "a..b"`)
	_, err = inv.Effective("addons", "")
	assert.EqualError(t, err, "key path is empty")
}

func TestEffectiveBadFile(t *testing.T) {
	t.Parallel()
	dir := writeRepo(t, map[string]string{
		LayoutFile:          layoutHead + "blueprints:\n  paths: [bp.yaml]\nhierarchies:\n  addons:\n    paths: [values.yaml]\n",
		"bp.yaml":           "tenant: t\nenv: dev\nservices:\n  eks:\n    config:\n      c1:\n        version: \"1.29\"\n",
		"values.yaml":       "a: 1\n---\na: 2\n",
		"other/values.yaml": "a: [\n",
	})
	inv, err := Load(t.Context(), []string{dir})
	require.NoError(t, err)
	_, err = inv.Effective("addons", "a")
	assert.EqualError(t, err, filepath.Join(dir, "values.yaml")+":3: a second YAML document starts here: a values file holds one document")
}

// TestHierarchyDiagnostics: what Load reports about hierarchies and the
// documents of member files.
func TestHierarchyDiagnostics(t *testing.T) {
	t.Parallel()
	layout := layoutHead + `members:
  paths: [m/*.yaml]
hierarchies:
  addons:
    paths:
      - addons/defaults.yaml
      - addons/{record.spec.k8s}.yaml
      - addons/{cluster}.yaml
`
	tests := []struct {
		name   string
		member string
		want   []string
	}{
		{
			name:   "a level names no file",
			member: "tenant: t\nclusterName: c1\nenvironment: dev\nspec:\n  k8s: \"1.30\"\n",
			want: []string{
				"L:8: warning: hierarchies.addons.paths[0]: \"addons/defaults.yaml\" names no existing file for any cluster of D",
				"L:9: warning: hierarchies.addons.paths[1]: \"addons/{record.spec.k8s}.yaml\" names no existing file for any cluster of D",
			},
		},
		{
			name:   "a record value that is not a name",
			member: "tenant: t\nclusterName: c1\nenvironment: dev\nspec:\n  k8s: [1.30]\n",
			want: []string{
				"L:8: warning: hierarchies.addons.paths[0]: \"addons/defaults.yaml\" names no existing file for any cluster of D",
				"L:9: warning: hierarchies.addons.paths[1]: \"addons/{record.spec.k8s}.yaml\" names no existing file for any cluster of D",
				"D/m/c.yaml:5: error: spec.k8s of cluster c1 stands for a path segment ({record.spec.k8s} in the layout): it must be a scalar of letters, digits, '.', '_' and '-', not a list",
			},
		},
		{
			name:   "a member document without a key",
			member: "tenant: t\nclusterName: c1\nenvironment: dev\n---\ntenant: t\nclusterName: c2\n---\nkind: ConfigMap\n",
			want: []string{
				"L:8: warning: hierarchies.addons.paths[0]: \"addons/defaults.yaml\" names no existing file for any cluster of D",
				"L:9: warning: hierarchies.addons.paths[1]: \"addons/{record.spec.k8s}.yaml\" names no existing file for any cluster of D",
				"D/m/c.yaml:5: error: fleet-member file has no env (key environment)",
			},
		},
		{
			name:   "a member stream without a cluster",
			member: "kind: ConfigMap\n---\nkind: Secret\n",
			want: []string{
				"D/m/c.yaml:1: error: fleet-member file has no cluster name (key clusterName)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeRepo(t, map[string]string{LayoutFile: layout, "m/c.yaml": tt.member})
			inv, err := Load(t.Context(), []string{dir})
			require.NoError(t, err)
			var got []string
			for _, d := range inv.Diagnostics {
				s := d.String()
				s = strings.ReplaceAll(s, filepath.Join(dir, LayoutFile), "L")
				got = append(got, strings.ReplaceAll(s, dir, "D"))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
