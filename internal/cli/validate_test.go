package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

func TestValidateCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		golden   string
		wantCode int
	}{
		{
			name:   "example fleet is clean",
			args:   []string{"validate", "--repo", exampleFleet},
			golden: "validate/example-fleet.txt",
		},
		{
			name:   "example fleet with the seed layout",
			args:   []string{"validate", "--repo", exampleFleet, "--layout", "../../examples/layouts/seed.yaml"},
			golden: "validate/example-fleet-seed.txt",
		},
		{
			name:   "warnings do not fail",
			args:   []string{"validate", "--repo", eksRepo, "--layout", eksLayout},
			golden: "validate/eks-fleet-management.txt",
		},
		{
			name:     "errors fail",
			args:     []string{"validate", "--repo", "../../gitops/testdata/validate/numeric-version", "--repo", "../../gitops/testdata/validate/non-string-label"},
			golden:   "validate/errors.txt",
			wantCode: 1,
		},
		{
			name:     "layout errors",
			args:     []string{"validate", "--repo", "../../gitops/testdata/validate/layout-unknown-key"},
			golden:   "validate/layout-unknown-key.txt",
			wantCode: 1,
		},
		{
			name:     "duplicate cluster names",
			args:     []string{"validate", "--repo", "../../gitops/testdata/validate/duplicate-cluster"},
			golden:   "validate/duplicates.txt",
			wantCode: 1,
		},
		{
			// The campaign checks need a fleet without errors; each
			// campaign file is named as not checked, not left out.
			name:     "campaigns not checked against a fleet with errors",
			args:     []string{"validate", "--repo", "../../gitops/testdata/validate/duplicate-cluster", "--campaign", eksCampaign, "--campaign", labelCampaign},
			golden:   "validate/duplicates-campaigns.txt",
			wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runCLI(t, tt.args...)
			assert.Equal(t, tt.wantCode, code)
			assert.Empty(t, errOut)
			testenv.CheckGolden(t, tt.golden, out)
		})
	}
}

func TestValidateCampaign(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: eks-1-30}
spec:
  change:
    eksVersion: {to: 1.30}
  strategy:
    order: [dev]
`), 0o644))
	noGates := filepath.Join(t.TempDir(), "no-gates.yaml")
	require.NoError(t, os.WriteFile(noGates, []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: eks-1-30}
spec:
  change:
    eksVersion: {to: "1.30"}
  strategy:
    order: [dev]
`), 0o644))
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	require.NoError(t, os.WriteFile(typo, []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: eks-1-30}
spec:
  change:
    eksVersion: {to: "1.30"}
  selector:
    tenants: [tenant-a, tenant-z]
  strategy:
    order: [dev, staging, prod]
  gates:
    terraform: {checks: [terraform-apply]}
`), 0o644))
	// A blackout over every window of the example campaign's schedule.
	closed := writeCampaign(t, "{from: 2026-12-20, to: 2027-01-05, reason: year-end freeze}", "{from: 2020-01-01, to: 2099-12-31, reason: never}")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"a schedule that never opens", []string{"--campaign", closed}, 1, []string{closed + ":37: spec.schedule: from ", ": the schedule allows no wave: change its windows or blackouts"}},
		{"valid campaign alone", []string{"--campaign", eksCampaign}, 0, []string{eksCampaign + ": campaign is valid (give --repo to check it against the fleet)"}},
		{"unquoted version", []string{"--campaign", bad}, 1, []string{bad + ":6: spec.change.eksVersion.to:"}},
		{"no gates", []string{"--campaign", noGates}, 1, []string{noGates + ": the campaign cannot start: policy: no gates"}},
		{"campaign with repository", []string{"--campaign", eksCampaign, "--repo", exampleFleet}, 0, []string{eksCampaign + ": campaign is ready to start: 14 waves", "30 clusters", eksCampaign + ": warning: 27 cluster(s) run EKS 1.29 (a-dev-cpu-1, "}},
		{"unknown tenant", []string{"--campaign", typo, "--repo", exampleFleet}, 1, []string{typo + `:8: spec.selector.tenants[1]: no tenant "tenant-z" in the fleet (did you mean "tenant-a"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, _, code := runCLI(t, append([]string{"validate"}, tt.args...)...)
			assert.Equal(t, tt.code, code, out)
			for _, w := range tt.want {
				assert.Contains(t, out, w)
			}
		})
	}
	_, _, code := runCLI(t, "validate")
	assert.NotEqual(t, 0, code, "validate with neither --repo nor --campaign must fail")
}
