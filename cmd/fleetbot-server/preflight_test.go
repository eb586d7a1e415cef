package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
)

// TestPlanPreflight asks a fake EKS, reached through the AWS SDK's own
// environment variables as an operator's shell would, about every cluster
// of the example fleet's EKS campaign: one with a removed API still called
// and one with a node group behind its control plane are held back, every
// other is ready.
func TestPlanPreflight(t *testing.T) {
	inv, err := gitops.Load(t.Context(), []string{exampleFleet})
	require.NoError(t, err)
	eks := fakeeks.New()
	srv := httptest.NewServer(eks)
	t.Cleanup(srv.Close)
	for _, c := range inv.Clusters {
		eks.SetCluster(c.Account, c.Region, fakeeks.Cluster{Name: c.Name, Version: c.Version,
			Nodegroups: []fakeeks.Nodegroup{{Name: "workers", Version: c.Version}}})
	}
	byName := map[string]gitops.Cluster{}
	for _, c := range inv.Clusters {
		byName[c.Name] = c
	}
	api, lagging := byName["a-dev-gpu-1"], byName["b-stg-cpu-1"]
	require.True(t, eks.SetInsight(api.Account, api.Region, api.Name, fakeeks.Insight{
		ID: "i-apis", Name: "Deprecated APIs removed in Kubernetes v1.30", KubernetesVersion: "1.30",
		Status: fakeeks.InsightError, Reason: "Deprecated API usage detected within last 30 days.",
	}))
	require.True(t, eks.SetNodegroup(lagging.Account, lagging.Region, lagging.Name, fakeeks.Nodegroup{Name: "workers", Version: "1.28"}))

	t.Setenv("AWS_ENDPOINT_URL_EKS", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", fakeeks.BaseAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", fakeeks.BaseSecretAccessKey)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

	out, stderr, code := runCLI(t, "plan", "--repo", exampleFleet, "--campaign", eksCampaign, "--preflight")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	plan, report, ok := strings.Cut(out, "\nPre-flight: ")
	require.True(t, ok, "a pre-flight section after the plan:\n%s", out)
	alone, _, code := runCLI(t, "plan", "--repo", exampleFleet, "--campaign", eksCampaign)
	require.Equal(t, 0, code)
	assert.Equal(t, alone, plan, "the plan as without --preflight")
	assert.Contains(t, report, `held back  a-dev-gpu-1 (wave `)
	assert.Contains(t, report, `insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR`)
	assert.Contains(t, report, "held back  b-stg-cpu-1 (wave ")
	assert.Contains(t, report, "node group workers is at 1.28, behind the control plane's 1.29")
	assert.Contains(t, report, "25 ready, 2 held back, 0 not answered.")
	assert.Equal(t, 27, strings.Count(report, " (wave "), "one line per cluster:\n%s", report)

	_, _, err = execCLI(t, "plan", "--repo", exampleFleet, "--campaign", labelCampaign, "--preflight")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--preflight: ")
	assert.Contains(t, err.Error(), "this campaign has no eksVersion change")
}
