package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

func TestProgressBar(t *testing.T) {
	t.Parallel()
	p := &progress{total: 27}
	state := func(up, skipped int) rollout.State {
		var cs []rollout.ClusterState
		for i := range 27 {
			ph := rollout.ClusterPending
			switch {
			case i < up:
				ph = rollout.ClusterSucceeded
			case i < up+skipped:
				ph = rollout.ClusterSkipped
			}
			cs = append(cs, rollout.ClusterState{Phase: ph})
		}
		return rollout.State{Waves: []rollout.WaveState{{Clusters: cs}}}
	}
	tests := []struct {
		up, skipped int
		want        string
	}{
		{0, 0, "[..............................] 0/27 clusters upgraded"},
		{9, 0, "[##########....................] 9/27 clusters upgraded"},
		{8, 1, "[########x.....................] 8/27 clusters upgraded, 1 skipped"},
		{26, 1, "[############################x.] 26/27 clusters upgraded, 1 skipped"},
		{27, 0, "[##############################] 27/27 clusters upgraded"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, p.progressBar(state(tt.up, tt.skipped)))
	}
}

// TestRedirect checks that the Argo CD client reaches the campaign's
// server through the fake, and nothing else.
func TestRedirect(t *testing.T) {
	t.Parallel()
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path+"?"+r.URL.RawQuery)
	}))
	t.Cleanup(fake.Close)
	c := &http.Client{Transport: &redirect{host: "argocd.fleet.example", to: strings.TrimPrefix(fake.URL, "http://"), next: http.DefaultTransport}}

	resp, err := c.Get("https://argocd.fleet.example/api/v1/applications?selector=a%3Db")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, "/api/v1/applications?selector=a%3Db", string(body))

	_, err = c.Get("https://example.com/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "example.com is not served here; only argocd.fleet.example is")
}

// A wave's opening is printed when its last pull request opened: after
// EKS's pre-flight answers, which come between the wave's start and its
// pull requests, and which are printed first.
func TestProgressWaveOpensAfterPreflight(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var out strings.Builder
	p := newProgress(&out, start, &rollout.Plan{Waves: []rollout.Wave{{Index: 1, Env: "dev"}}})
	w := rollout.WaveState{Number: 1, Phase: rollout.WaveOpen, OpenedAt: start.Add(time.Minute),
		Clusters: []rollout.ClusterState{{Name: "a-dev-1", Tenant: "a", Phase: rollout.ClusterPending,
			Gates: map[string]rollout.GateRecord{rollout.GatePreflight: {Outcome: rollout.GatePassed, Detail: "ready", At: start.Add(2 * time.Minute)}}}},
		PRs: []rollout.PRState{{Tenant: "a", Status: rollout.PRStatusPending}}}
	p.observe(rollout.State{Waves: []rollout.WaveState{w}})
	w.PRs[0] = rollout.PRState{Tenant: "a", Status: rollout.PRStatusOpen, Number: 2, OpenedAt: start.Add(3 * time.Minute)}
	p.observe(rollout.State{Waves: []rollout.WaveState{w}})
	assert.Equal(t, "+0:02:00  a-dev-1  preflight passed: ready\n"+
		"          [..............................] 0/0 clusters upgraded\n"+
		"+0:03:00  wave 1/1 (dev) opens: #2 a (a-dev-1)\n", out.String())
}
