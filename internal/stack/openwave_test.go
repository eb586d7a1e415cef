package stack_test

import (
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/benchfleet"
	"github.com/fleetbot/fleetbot/internal/stack"
)

// The size of TestOpenWaveAtScale: CI runs 10 tenants of 2 environments of
// 5 clusters; BENCHMARKS.md's figures are of
// -openwave.tenants=100 -openwave.clusters=50 (10,000 clusters, a first
// wave of 100 pull requests).
var (
	openTenants     = flag.Int("openwave.tenants", 10, "tenants of the generated fleet; the first wave has one pull request each")
	openClusters    = flag.Int("openwave.clusters", 5, "clusters per tenant and environment (two environments)")
	openConcurrency = flag.Int("openwave.concurrency", 0, "pull requests put on GitHub at once (0: the bot's default)")
)

const openWaveCampaign = `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: eks-1-30
spec:
  change:
    eksVersion:
      to: "1.30"
  selector:
    envs: [dev]
  strategy:
    order: [dev]
    canary: false
    maxConcurrency: 100%
    maxPerTenant: 1
    maxFailures: 0
    bake: 0s
    progressDeadline: 2h
  gates:
    terraform:
      checks: [terraform-apply]
  schedule: {}
  merge: owners
`

// TestOpenWaveAtScale opens the first wave of a campaign over a generated
// fleet, one pull request per tenant, through serve against the sandbox:
// every pull request opens once, numbered in the plan's order, with the
// tenant's one cluster edited, in 5 calls each. It logs how long the wave
// took to open and the calls it made.
func TestOpenWaveAtScale(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(t.TempDir(), "fleet")
	fo := benchfleet.Options{Tenants: *openTenants, PerEnv: *openClusters, Owners: true}
	require.NoError(t, benchfleet.Generate(fleetDir, fo))
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: time.Second,
		OpenConcurrency: *openConcurrency, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	before := callsByEndpoint(s)

	pushed := time.Now()
	require.NoError(t, s.PushCampaign(ctx, "eks-1-30", []byte(openWaveCampaign)))
	type labelled struct {
		pull
		Labels []struct {
			Name string `json:"name"`
		} `json:"labels"`
	}
	var first time.Duration
	var prs []pull
	deadline := time.Now().Add(5 * time.Minute)
	for {
		prs = prs[:0]
		ready := 0 // set up: labelled, which comes last
		for page := 1; ; page++ {
			var got []labelled
			_, err := s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls?state=open&per_page=100&page=%d", page), "", nil, &got)
			require.NoError(t, err)
			for _, p := range got {
				prs = append(prs, p.pull)
				if len(p.Labels) > 0 {
					ready++
				}
			}
			if len(got) < 100 {
				break
			}
		}
		if first == 0 && len(prs) > 0 {
			first = time.Since(pushed)
		}
		if ready >= *openTenants {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d of %d pull requests open after 5 minutes", len(prs), *openTenants)
		time.Sleep(250 * time.Millisecond)
	}
	all := time.Since(pushed)
	require.Len(t, prs, *openTenants, "one pull request per tenant, none twice")
	// Numbered in the plan's order: by number, the tenants come in order.
	slices.SortFunc(prs, func(a, b pull) int { return a.Number - b.Number })
	for i, p := range prs {
		assert.Equal(t, fmt.Sprintf("fleetbot/eks-1-30/1/tenant-%03d", i), p.Head.Ref, "#%d", p.Number)
	}

	after := callsByEndpoint(s)
	per := map[string]int{}
	for _, ep := range []string{"POST /graphql", "GET /repos/{owner}/{repo}/pulls", "POST /repos/{owner}/{repo}/pulls",
		"POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "POST /repos/{owner}/{repo}/issues/{issue_number}/labels"} {
		per[ep] = after[ep] - before[ep]
	}
	n := *openTenants
	assert.Equal(t, n, per["POST /graphql"], "one call writes each branch and its commit")
	assert.Equal(t, n, per["POST /repos/{owner}/{repo}/pulls"])
	assert.Equal(t, n, per["POST /repos/{owner}/{repo}/issues/{issue_number}/labels"])
	t.Logf("%d clusters, %d tenants: wave 1's %d pull requests open %.1f s after the campaign was pushed (the first at %.1f s): %.2f s a pull request after the first",
		fo.Clusters(), n, len(prs), all.Seconds(), first.Seconds(), (all-first).Seconds()/float64(max(n-1, 1)))
	var lines []string
	for ep, c := range per {
		lines = append(lines, fmt.Sprintf("  %-70s %5d (%.2f a pull request)", ep, c, float64(c)/float64(n)))
	}
	t.Logf("calls of the wave:\n%s", strings.Join(lines, "\n"))
}

// callsByEndpoint sums the bot's GitHub calls by method and route.
func callsByEndpoint(s *stack.Stack) map[string]int {
	out := map[string]int{}
	for _, c := range s.Calls() {
		out[c.Method+" "+c.Endpoint] += c.Count
	}
	return out
}

const sharedWaveCampaign = `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: metrics-off
spec:
  change:
    label:
      key: enable_metrics_server
      to: "false"
      level: global
  selector: {}
  strategy:
    order: [dev, prod]
    canary: false
    maxConcurrency: 100%
    maxPerTenant: 10
    maxFailures: 0
    bake: 0s
    progressDeadline: 2h
  gates:
    terraform:
      checks: [terraform-apply]
  merge: owners
`

// TestEndToEndSharedWaveOnALargeFleet: a label moved in the fleet's own
// file on 2,000 clusters is one shared wave, the fleet admins' pull request
// of that one file, which every cluster is gated on. Its body would list
// the 2,000 clusters twice, over what GitHub takes (the sandbox refuses a
// body of more than 65,536 characters, as GitHub does): it opened never.
// It opens, within the limit, naming the first clusters and counting the
// others.
func TestEndToEndSharedWaveOnALargeFleet(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(t.TempDir(), "fleet")
	fo := benchfleet.Options{Tenants: 100, PerEnv: 10, Owners: true}
	require.NoError(t, benchfleet.Generate(fleetDir, fo))
	require.Equal(t, 2000, fo.Clusters())
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: time.Second, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, "metrics-off", []byte(sharedWaveCampaign)))

	type withBody struct {
		pull
		Body string `json:"body"`
	}
	var prs []withBody
	deadline := time.Now().Add(2 * time.Minute)
	for len(prs) == 0 {
		require.True(t, time.Now().Before(deadline), "the shared wave's pull request did not open in 2 minutes")
		time.Sleep(250 * time.Millisecond)
		_, err := s.Do(ctx, http.MethodGet, "/repos/acme/fleet/pulls?state=open&per_page=100", "", nil, &prs)
		require.NoError(t, err)
	}
	require.Len(t, prs, 1, "one pull request: the fleet admins'")
	pr := prs[0]
	assert.Equal(t, "fleetbot/metrics-off/1/_admins", pr.Head.Ref)
	assert.LessOrEqual(t, len(pr.Body), 65536)
	for _, want := range []string{
		"Wave **1 of 1** · shared files · for **fleet admins**.",
		"| t000-dev-00 | dev | true -> false |",
		"- addons/tenants/defaults/fleet/fleet-secret/values.yaml reaches 2000 clusters: t000-dev-00, t000-dev-01,",
		"and 1980 more\n",
		"more clusters, left out to fit GitHub's limit on a pull request's length: `/fleet status` lists every cluster of the wave.",
	} {
		assert.True(t, strings.Contains(pr.Body, want), "the body (%d bytes) lacks %q", len(pr.Body), want)
	}
}
