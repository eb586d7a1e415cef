package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

const (
	eksCampaign   = "../../examples/campaigns/eks-1-30.yaml"
	labelCampaign = "../../examples/campaigns/addons-release2.yaml"
)

func TestPlanCommandGoldens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, golden string
		args         []string
	}{
		{"eks table", "plan/eks-1-30.txt", []string{"--campaign", eksCampaign}},
		{"eks mermaid", "plan/eks-1-30.mmd", []string{"--campaign", eksCampaign, "--format", "mermaid"}},
		{"eks wave starts", "plan/eks-1-30-at.txt", []string{"--campaign", eksCampaign, "--at", "2026-12-01T00:00:00Z"}},
		{"label diff", "plan/addons-release2-diff.txt", []string{"--campaign", labelCampaign, "--diff"}},
		{"field diff", "plan/ami-release-diff.txt", []string{"--campaign", "../../examples/campaigns/ami-release.yaml", "--diff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, code := runCLI(t, append([]string{"plan", "--repo", exampleFleet}, tt.args...)...)
			require.Equal(t, 0, code, "stderr: %s", stderr)
			testenv.CheckGolden(t, tt.golden, out)
		})
	}
}

// planJSON is the part of the JSON plan a consumer relies on.
type planJSON struct {
	Campaign string         `json:"campaign"`
	Change   map[string]any `json:"change"`
	Waves    []struct {
		Index    int    `json:"index"`
		Env      string `json:"env"`
		Clusters []struct {
			Name, Tenant, Env, Fleet, From, To string
			Canary                             bool
		} `json:"clusters"`
		PullRequests []struct {
			Tenant string `json:"tenant"`
			Files  []struct {
				Path  string `json:"path"`
				Edits []struct {
					Path []string `json:"path"`
					From string   `json:"from"`
					To   string   `json:"to"`
				} `json:"edits"`
			} `json:"files"`
		} `json:"pullRequests"`
	} `json:"waves"`
	Skipped []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

func TestPlanCommandJSON(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, "plan", "--repo", exampleFleet, "--campaign", eksCampaign, "--format", "json")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var p planJSON
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, "eks-1-30", p.Campaign)
	assert.Equal(t, "eksVersion", p.Change["kind"])

	// Every cluster of the example fleet on 1.29 is planned exactly once,
	// each of the three already on 1.30 is skipped as at-target, and every
	// edit lands in its own tenant's blueprint.
	seen := map[string]int{}
	for _, w := range p.Waves {
		for _, c := range w.Clusters {
			seen[c.Name]++
			assert.Equal(t, "1.29", c.From, c.Name)
			assert.Equal(t, "1.30", c.To, c.Name)
			assert.Equal(t, w.Env, c.Env, c.Name)
		}
		for _, pr := range w.PullRequests {
			for _, f := range pr.Files {
				assert.True(t, strings.HasPrefix(f.Path, "tenants/"+pr.Tenant+"/"), "wave %d: %s edits %s", w.Index, pr.Tenant, f.Path)
				for _, e := range f.Edits {
					assert.Equal(t, "version", e.Path[len(e.Path)-1])
					assert.Equal(t, "1.29", e.From)
				}
			}
		}
	}
	assert.Len(t, seen, 27)
	for name, n := range seen {
		assert.Equal(t, 1, n, "%s planned %d times", name, n)
	}
	var skipped []string
	for _, s := range p.Skipped {
		assert.Equal(t, "at-target", s.Reason, s.Name)
		skipped = append(skipped, s.Name)
	}
	assert.Equal(t, []string{"b-dev-cpu-1", "c-dev-cpu-1", "d-dev-gpu-1"}, skipped)
}

// writeCampaign writes a variant of the example EKS campaign.
func writeCampaign(t *testing.T, from, to string) string {
	t.Helper()
	src, err := os.ReadFile(eksCampaign)
	require.NoError(t, err)
	require.Contains(t, string(src), from)
	path := filepath.Join(t.TempDir(), "campaign.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(src), from, to, 1)), 0o644))
	return path
}

func TestPlanCommandRefusesSkippingAMinor(t *testing.T) {
	t.Parallel()
	campaign := writeCampaign(t, "to: \"1.30\"          # quoted: 1.30 unquoted is the number 1.3\n      hops: sequential",
		"to: \"1.31\"\n      hops: refuse")
	root := newRootCmd()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"plan", "--repo", exampleFleet, "--campaign", campaign})
	err := root.ExecuteContext(t.Context())
	require.Error(t, err)
	assert.Equal(t, 2, ExitCode(err))
	assert.Contains(t, err.Error(), "plan refused")
	assert.Contains(t, err.Error(), "one-minor-per-hop")
	assert.Empty(t, out.String())
}

func TestPlanCommandTwoHops(t *testing.T) {
	t.Parallel()
	campaign := writeCampaign(t, "to: \"1.30\"", "to: \"1.31\"")
	root := newRootCmd()
	var stdout strings.Builder
	root.SetOut(&stdout)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"plan", "--repo", exampleFleet, "--campaign", campaign, "--diff"})
	// serve runs a cluster once per hop: the plan is what it starts.
	require.NoError(t, root.ExecuteContext(t.Context()))
	out := stdout.String()
	// The diff of the second hop starts from what the first hop wrote.
	assert.Contains(t, out, "-        version: \"1.29\"\n+        version: \"1.30\"")
	assert.Contains(t, out, "-        version: \"1.30\"\n+        version: \"1.31\"")
	assert.NotContains(t, out, "-        version: \"1.29\"\n+        version: \"1.31\"")
}

func TestPlanCommandEKSFleetManagement(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "campaign.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: addons-release2}
spec:
  change:
    label: {key: addonsRelease, to: release2}
  strategy:
    order: [np]
    maxConcurrency: 1
    bake: 10m
    progressDeadline: 1h
  gates:
    argocd: {server: "https://argocd.example.com", tokenEnv: ARGOCD_TOKEN}
`), 0o644))
	out, stderr, code := runCLI(t, "plan", "--repo", eksRepo, "--layout", eksLayout, "--campaign", path, "--diff")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	testenv.CheckGolden(t, "plan/eks-fleet-management-label.txt", strings.ReplaceAll(out, eksRepo, "REPO"))
	// spoke-dev-workload1 carries addonsRelease=dev in its own file: the
	// rollout sets it there, from dev.
	assert.Contains(t, out, "-    addonsRelease: dev\n+    addonsRelease: release2")
}

// TestPlanCommandRefusedByServe: a campaign serve would refuse is refused
// by plan with status 2, as its help says; one serve would plan but not
// start is shown first.
func TestPlanCommandRefusedByServe(t *testing.T) {
	t.Parallel()
	table, err := os.ReadFile("testdata/plan/eks-1-30.txt")
	require.NoError(t, err)
	tests := []struct {
		name, from, to string
		wantPlan       bool
		wantErr        string
	}{
		{
			// rollout.CheckSchedule, which serve and validate run.
			name:     "schedule allows no wave",
			from:     "{from: 2026-12-20, to: 2027-01-05, reason: year-end freeze}",
			to:       "{from: 2020-01-01, to: 2099-12-31, reason: frozen}",
			wantPlan: true,
			wantErr:  ":37: fleetbot serve would not start this campaign: spec.schedule: from ",
		},
		{
			// rollout.CheckSelector, through gitops.Prepare.
			name:    "unknown tenant",
			from:    "selector: {}",
			to:      "selector: {tenants: [tenant-zz]}",
			wantErr: `:17: spec.selector.tenants[0]: no tenant "tenant-zz" in the fleet (did you mean "tenant-a"?)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			campaign := writeCampaign(t, tt.from, tt.to)
			out, _, err := execCLI(t, "plan", "--repo", exampleFleet, "--campaign", campaign)
			require.Error(t, err)
			assert.Equal(t, 2, ExitCode(err), "%v", err)
			assert.Truef(t, strings.HasPrefix(err.Error(), campaign+tt.wantErr), "error %q does not start with %q", err, campaign+tt.wantErr)
			if tt.wantPlan {
				assert.Equal(t, string(table), out)
			} else {
				assert.Empty(t, out)
			}
		})
	}
}

// TestPlanCommandBadFlags: a flag plan cannot honour fails before any
// output, with status 1, naming the flag.
func TestPlanCommandBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--format", "yaml"}, `--format "yaml": want table, json or mermaid`},
		{[]string{"--at", "tomorrow"}, `--at "tomorrow": want an RFC 3339 time`},
		// --diff and --at print text after the plan: the JSON or the
		// mermaid chart would no longer parse.
		{[]string{"--format", "json", "--diff"}, "--format json with --diff: "},
		{[]string{"--format", "json", "--at", "2026-12-01T00:00:00Z"}, "--format json with --at: "},
		{[]string{"--format", "mermaid", "--diff", "--at", "2026-12-01T00:00:00Z"}, "--format mermaid with --diff and --at: "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			out, _, err := execCLI(t, append([]string{"plan", "--repo", exampleFleet, "--campaign", eksCampaign}, tt.args...)...)
			require.Error(t, err)
			assert.Equal(t, 1, ExitCode(err))
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Empty(t, out)
		})
	}
}

// TestWritePlanDiffReach checks that the diff of a shared wave's pull
// request names the clusters its file reaches, and that other pull
// requests name none.
func TestWritePlanDiffReach(t *testing.T) {
	t.Parallel()
	path := "environments/prod/addons/addons-config.yaml"
	shared := rollout.PullRequest{Repo: "org/fleet", Admin: true, Files: []rollout.FileChange{{
		Path: path, Reach: []string{"a-prod-1", "b-prod-1"},
		Edits: []rollout.Edit{{Path: []string{"amiRelease"}, Op: rollout.OpSet, From: "v1", To: "v2"}},
	}}}
	own := rollout.PullRequest{Repo: "org/fleet", Tenant: "tenant-a", Files: []rollout.FileChange{{Path: "clusters/a-prod-1.yaml"}}}
	p := &rollout.Plan{Waves: []rollout.Wave{
		{Index: 1, PullRequests: []rollout.PullRequest{own}},
		{Index: 2, Shared: true, PullRequests: []rollout.PullRequest{shared}},
	}}
	files := [][][]gitops.FileResult{
		{{{Path: "clusters/a-prod-1.yaml", Old: []byte("amiRelease: v1\n"), New: []byte("amiRelease: v2\n")}}},
		{{{Path: path, Old: []byte("amiRelease: v1\n"), New: []byte("amiRelease: v2\n")}}},
	}
	var b strings.Builder
	require.NoError(t, writePlanDiff(&b, p, files))
	want := "\n# wave 2, fleet admins (org/fleet)\n# " + path + " reaches 2 clusters: a-prod-1, b-prod-1\n--- a/" + path
	assert.Contains(t, b.String(), want)
	assert.Equal(t, 1, strings.Count(b.String(), " reaches "), b.String())
}

// A field of a hierarchy (the scopes fixture's add-on values) is planned at
// the cluster level and folded up into the defaults; --diff shows each pull
// request.
func TestPlanCommandHierarchyField(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, "plan", "--repo", scopesRepo, "--campaign", "../../gitops/testdata/scopes-metrics-server.yaml", "--diff")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	testenv.CheckGolden(t, "plan/scopes-metrics-server.txt", out)
	assert.Contains(t, out, "field metricsServer.version of hierarchy addons -> 3.13.0 at level cluster, revertible")
}

// TestPlanWarnsPastStandardSupport: the example fleet runs EKS 1.29,
// whose standard support ended on 2025-03-23 by the release calendar
// fleetbot ships; plan says so on standard error, and the plan itself is
// unchanged.
func TestPlanWarnsPastStandardSupport(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, "plan", "--repo", exampleFleet, "--campaign", eksCampaign)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, stderr, "warning: 27 cluster(s) run EKS 1.29 (a-dev-cpu-1, ")
	assert.Contains(t, stderr, "whose standard support ended on 2025-03-23")
	testenv.CheckGolden(t, "plan/eks-1-30.txt", out)

	_, stderr, code = runCLI(t, "plan", "--repo", exampleFleet, "--campaign", labelCampaign)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.NotContains(t, stderr, "standard support", "a label campaign")
}
