package gitops

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeRepo writes files (repository-relative path -> content) under a new
// directory and returns it.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		writeFile(t, dir, rel, content)
	}
	return dir
}

const disabledBlueprint = `tenant: tenant-a
env: dev
services:
  eks:
    enabled: %s
    config:
      dev-cpu-1:
        version: "1.29"
      dev-cpu-2:
        enabled: %s
        version: "1.29"
`

func TestLoadDisabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		service, second string
		disabled        map[string]string // cluster -> "file:line path"
		errs            string
	}{
		{name: "all enabled", service: "true", second: "true", disabled: map[string]string{}},
		{name: "one cluster off", service: "true", second: "false",
			disabled: map[string]string{"dev-cpu-2": "bp.yaml:10 services.eks.config.dev-cpu-2.enabled"}},
		{name: "the service off", service: "false", second: "true",
			disabled: map[string]string{
				"dev-cpu-1": "bp.yaml:5 services.eks.enabled",
				"dev-cpu-2": "bp.yaml:5 services.eks.enabled",
			}},
		{name: "both off: the cluster's own flag is named", service: "false", second: "false",
			disabled: map[string]string{
				"dev-cpu-1": "bp.yaml:5 services.eks.enabled",
				"dev-cpu-2": "bp.yaml:10 services.eks.config.dev-cpu-2.enabled",
			}},
		{name: "the strings Argo CD labels hold", service: `"true"`, second: `"false"`,
			disabled: map[string]string{"dev-cpu-2": "bp.yaml:10 services.eks.config.dev-cpu-2.enabled"}},
		{name: "not a boolean", service: `"no"`, second: "true", disabled: map[string]string{},
			errs: `bp.yaml:5: error: services.eks.enabled must be true or false (or the string "true" or "false"), not "no"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := writeRepo(t, map[string]string{"bp.yaml": strings.NewReplacer("%s", tt.service).Replace(
				strings.Replace(disabledBlueprint, "enabled: %s\n        version", "enabled: "+tt.second+"\n        version", 1))})
			inv, err := Load(t.Context(), []string{repo})
			require.NoError(t, err)
			if tt.errs != "" {
				require.Len(t, inv.Diagnostics.Errors(), 1)
				assert.Equal(t, filepath.Join(repo, tt.errs), inv.Diagnostics.Errors()[0].String())
				return
			}
			require.NoError(t, inv.Err())
			f, err := inv.Fleet()
			require.NoError(t, err)
			got := map[string]string{}
			for _, c := range f.Clusters {
				if c.Disabled {
					got[c.Name] = c.DisabledAt.File + ":" + strconv.Itoa(c.DisabledAt.Line) + " " + strings.Join(c.DisabledAt.Path, ".")
				}
			}
			assert.Equal(t, tt.disabled, got)
		})
	}
}

func TestLoadFindsNothing(t *testing.T) {
	t.Parallel()
	const layout = `apiVersion: fleetbot.io/v1alpha1
kind: Layout
blueprints:
  paths:
    - tenants/*/*.yaml
    - blueprints/*.yaml
labels:
  files: [labels/**/*.yaml]
  hierarchy:
    - labels/defaults.yaml
    - labels/{tenant}.yaml
    - labels/{tenant}/{cluster}.yaml
`
	bp := "tenant: tenant-a\nenv: dev\nservices:\n  eks:\n    config:\n      dev-cpu-1:\n        version: \"1.29\"\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // diagnostics, the repository directory written as REPO
	}{
		{
			name:  "no layout file and no blueprint",
			files: map[string]string{"README.md": "hello\n", "charts/values.yaml": "replicas: 2\n"},
			want:  []string{"REPO: error: no layout file (.fleetbot.yaml) and no tenant blueprint declaring a cluster (a YAML file with tenant, env and services.eks.config): is this the fleet repository? Add a layout file (docs/layout.md) or pass --layout"},
		},
		{
			name:  "no layout file, blueprints found",
			files: map[string]string{"tenants/tenant-a/dev.yaml": bp},
		},
		{
			name:  "a layout whose paths find no cluster",
			files: map[string]string{".fleetbot.yaml": layout, "docs/x.yaml": "a: 1\n"},
			want: []string{
				`REPO/.fleetbot.yaml: error: the layout finds no cluster in REPO: no file its blueprints or members paths match declares one`,
				`REPO/.fleetbot.yaml:5: warning: blueprints.paths[0]: "tenants/*/*.yaml" matches no file in REPO`,
				`REPO/.fleetbot.yaml:6: warning: blueprints.paths[1]: "blueprints/*.yaml" matches no file in REPO`,
				`REPO/.fleetbot.yaml:8: warning: labels.files[0]: "labels/**/*.yaml" matches no file in REPO`,
			},
		},
		{
			name: "a pattern and a hierarchy level that find nothing",
			files: map[string]string{
				".fleetbot.yaml": layout, "tenants/tenant-a/dev.yaml": bp,
				"labels/defaults.yaml": "externalSecret:\n  labels:\n    a: b\n",
			},
			want: []string{
				`REPO/.fleetbot.yaml:6: warning: blueprints.paths[1]: "blueprints/*.yaml" matches no file in REPO`,
				`REPO/.fleetbot.yaml:11: warning: labels.hierarchy[1]: "labels/{tenant}.yaml" names no existing file for any cluster of REPO`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := writeRepo(t, tt.files)
			inv, err := Load(t.Context(), []string{repo})
			require.NoError(t, err)
			var got []string
			for _, d := range inv.Diagnostics {
				got = append(got, strings.ReplaceAll(d.String(), repo, "REPO"))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
