package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

var _ = flag.Bool("update", false, "rewrite golden files")

const (
	exampleFleet = "../../examples/fleet"
	eksRepo      = "../../gitops/testdata/eks-fleet-management"
	scopesRepo   = "../../gitops/testdata/scopes"
	eksLayout    = "../../examples/layouts/eks-fleet-management.yaml"
)

// runCLI runs fleetbot in-process with args and returns stdout, stderr and
// the exit code main would use.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, err := execCLI(t, args...)
	if err != nil {
		code = ExitCode(err)
	}
	return stdout, stderr, code
}

// newRootCmd is fleetbot's command tree, its command line set apart.
func newRootCmd() *cobra.Command { return (&Program{}).Root(nil) }

// execCLI runs fleetbot in-process with args and returns stdout, stderr and
// the error the command returned.
func execCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return testenv.Execute(t, newRootCmd(), args...)
}

func TestInventoryCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		golden     string
		wantStderr string
		wantCode   int
	}{
		{
			name:   "example fleet table",
			args:   []string{"inventory", "--repo", exampleFleet},
			golden: "inventory/example-fleet.txt",
		},
		{
			name:   "example fleet json",
			args:   []string{"inventory", "--repo", exampleFleet, "--format", "json"},
			golden: "inventory/example-fleet.json",
		},
		{
			name:   "eks-fleet-management",
			args:   []string{"inventory", "--repo", eksRepo, "--layout", eksLayout},
			golden: "inventory/eks-fleet-management.txt",
			wantStderr: eksLayout + `:28: warning: labels.hierarchy[2]: "addons/tenants/{tenant}/environments/{env}/defaults/fleet/fleet-secret/values.yaml" names no existing file for any cluster of ` + eksRepo + "\n" +
				eksRepo + "/addons/tenants/tenant1/environments/np/fleet/fleet-secret/values.yaml:2: warning: no label hierarchy path loads this file for any cluster: its labels have no effect\n",
		},
		{
			name:   "disabled clusters",
			args:   []string{"inventory", "--repo", "testdata/inventory/disabled-fleet"},
			golden: "inventory/disabled-fleet.txt",
		},
		{
			name:   "effective values of a hierarchy",
			args:   []string{"inventory", "--repo", scopesRepo, "--hierarchy", "addons", "--key", "karpenter.version"},
			golden: "inventory/effective-values.txt",
		},
		{
			name:   "effective values of a hierarchy as json",
			args:   []string{"inventory", "--repo", scopesRepo, "--hierarchy", "addons", "--key", "metricsServer.version", "--format", "json"},
			golden: "inventory/effective-values.json",
		},
		{
			name:       "a directory that is not a fleet",
			args:       []string{"inventory", "--repo", "testdata/app"},
			golden:     "inventory/not-a-fleet.txt",
			wantStderr: "testdata/app: error: no layout file (.fleetbot.yaml) and no tenant blueprint declaring a cluster (a YAML file with tenant, env and services.eks.config): is this the fleet repository? Add a layout file (docs/layout.md) or pass --layout\n",
			wantCode:   1,
		},
		{
			name:   "errors fail the command",
			args:   []string{"inventory", "--repo", "../../gitops/testdata/validate/missing-version"},
			golden: "inventory/missing-version.txt",
			wantStderr: `../../gitops/testdata/validate/missing-version/.fleetbot.yaml:6: warning: labels.files[0]: "addons/tenants/**/fleet/fleet-secret/values.yaml" matches no file in ../../gitops/testdata/validate/missing-version` + "\n" +
				"../../gitops/testdata/validate/missing-version/tenants/tenant-a/prod.yaml:9: error: cluster prod-cpu-2 has no version (key version)\n",
			wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runCLI(t, tt.args...)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantStderr, errOut)
			testenv.CheckGolden(t, tt.golden, out)
		})
	}
}

func TestInventoryJSONShape(t *testing.T) {
	t.Parallel()
	out, _, code := runCLI(t, "inventory", "--repo", exampleFleet, "--format", "json")
	require.Zero(t, code)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 30)
	first := got[0]
	for _, key := range []string{"name", "tenant", "env", "region", "fleet", "canary", "version", "labels", "owners", "sources"} {
		assert.Contains(t, first, key)
	}
	assert.Equal(t, "a-dev-cpu-1", first["name"])
	assert.Equal(t, true, first["canary"])
	assert.Equal(t, "1.29", first["version"])
	assert.IsType(t, map[string]any{}, first["labels"])
	assert.IsType(t, []any{}, first["owners"])
	version := first["sources"].(map[string]any)["version"].(map[string]any)
	assert.Equal(t, "tenants/tenant-a/dev.yaml", version["file"])
	assert.EqualValues(t, 20, version["line"])
}

func TestInventoryCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		code    int
	}{
		{"unknown format", []string{"inventory", "--repo", exampleFleet, "--format", "yaml"}, `unknown --format "yaml": use table or json`, 2},
		{"no repo", []string{"inventory"}, `required flag(s) "repo" not set`, 1},
		{"unknown hierarchy", []string{"inventory", "--repo", scopesRepo, "--hierarchy", "addon", "--key", "a"}, `unknown hierarchy "addon" in the layout of ` + scopesRepo + ` (known: addons, addons-config, labels)`, 1},
		{"hierarchy without key", []string{"inventory", "--repo", scopesRepo, "--hierarchy", "addons"}, "--hierarchy and --key go together: name the hierarchy and the key path of the value", 2},
		{"repo twice", []string{"inventory", "--repo", exampleFleet, "--repo", exampleFleet + "/"}, "load inventory: repository ../../examples/fleet given twice (as ../../examples/fleet and ../../examples/fleet/)", 1},
		{"missing repo", []string{"inventory", "--repo", "no/such/dir"}, "load inventory: repository: stat no/such/dir: no such file or directory", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := newRootCmd()
			root.SetOut(&bytes.Buffer{})
			root.SetErr(&bytes.Buffer{})
			root.SetArgs(tt.args)
			err := root.ExecuteContext(t.Context())
			require.EqualError(t, err, tt.wantErr)
			assert.Equal(t, tt.code, ExitCode(err))
			var ee *exitError
			assert.Equal(t, tt.code != 1, errors.As(err, &ee) && ee.code == tt.code)
		})
	}
}
