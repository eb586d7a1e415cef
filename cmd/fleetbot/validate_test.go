package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runCLI(t, tt.args...)
			assert.Equal(t, tt.wantCode, code)
			assert.Empty(t, errOut)
			checkGoldenFile(t, tt.golden, out)
		})
	}
}
