package stack_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// envWideFleet is the example fleet with an add-on's values kept in one
// file per environment, serving every tenant's clusters of it, as the
// layout's hierarchy "addons" says.
func envWideFleet(t *testing.T) string {
	t.Helper()
	files := map[string]string{}
	for _, env := range []string{"dev", "staging", "prod"} {
		files[filepath.Join("environments", env, "addons", "addons-config.yaml")] = fmt.Sprintf("# Add-ons of every %s cluster.\nmetricsServer:\n  enabled: true\n  version: \"3.11.0\"   # chart version\n", env)
	}
	return fleetWith(t, `
# Add-on values: one file per environment, for every tenant.
hierarchies:
  addons:
    paths:
      - environments/{env}/addons/addons-config.yaml
`, files)
}

// fleetWith is a copy of the example fleet whose layout ends with layout,
// holding files (relative path -> content) too.
func fleetWith(t *testing.T, layout string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fleet")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(testenv.ModuleRoot(t), "examples", "fleet"))))
	b, err := os.ReadFile(filepath.Join(dir, ".fleetbot.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".fleetbot.yaml"), append(b, layout...), 0o644))
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// envWideCampaign moves metrics-server's version; field says where: the
// files by a glob, or a hierarchy of the layout and its level.
const envWideCampaign = `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: metrics-server
spec:
  change:
    field:
%s      path: metricsServer.version
      from: "3.11.0"
      to: "3.12.2"
      revertible: true
  selector: {}
  strategy:
    order: [dev, staging, prod]
    canary: false
    maxFailures: 0
    bake: 0s
    progressDeadline: 1h
  gates:
    terraform:
      checks: [terraform-apply]
  schedule: {}
  merge: owners
`

// TestEndToEndEnvironmentWideFile changes a file that serves one
// environment of every tenant: each environment's file moves in a wave of
// its own, in the environment order, as one pull request the fleet admins
// review, which says which clusters it reaches; the campaign succeeds with
// every environment's file at the new version and nothing else changed.
func TestEndToEndEnvironmentWideFile(t *testing.T) {
	t.Parallel()
	for name, field := range map[string]string{
		"files":               "      files: \"environments/*/addons/addons-config.yaml\"\n",
		"hierarchy env level": "      hierarchy: addons\n      level: env\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runEnvWide(t, []byte(fmt.Sprintf(envWideCampaign, field)))
		})
	}
}

// runEnvWide runs the campaign src over envWideFleet through serve, as a
// fleet admin reviews and merges each environment's pull request.
func runEnvWide(t *testing.T, src []byte) {
	ctx := t.Context()
	fleetDir := envWideFleet(t)
	plan, layouts := expectedPlan(t, src, fleetDir)
	require.Len(t, plan.Waves, 3, "one wave per environment")
	admins := layouts[fleetDir].Admins

	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))

	for i, w := range plan.Waves {
		require.Len(t, w.PullRequests, 1, "wave %d: one pull request", w.Index)
		require.Len(t, w.PullRequests[0].Files, 1)
		file := w.PullRequests[0].Files[0]
		env := []string{"dev", "staging", "prod"}[i]
		assert.Equal(t, "environments/"+env+"/addons/addons-config.yaml", file.Path, "the environment order")
		prs := waitForWave(t, s, plan.Campaign, w, "acme/fleet")
		require.Len(t, prs, 1)
		p := prs[0]
		checkPull(t, s, p, w, fleetDir, w.PullRequests[0].Tenant, admins)
		var body struct {
			Body string `json:"body"`
		}
		_, err := s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d", p.Number), "", nil, &body)
		require.NoError(t, err)
		assert.Contains(t, body.Body, fmt.Sprintf("reaches %d clusters", len(file.Reach)), "the body says which clusters the file reaches")
		for _, c := range file.Reach {
			assert.Contains(t, body.Body, c)
		}
		mergeAsOwner(t, s, p.Number, admins.Users[0])
	}
	st := waitFor(t, "the campaign to succeed", func() (rollout.State, bool) {
		st, ok, err := s.State(ctx, plan.Campaign)
		require.NoError(t, err)
		return st, ok && st.Phase == rollout.CampaignSucceeded
	})
	clusters := 0
	for _, w := range st.Waves {
		clusters += len(w.Clusters)
	}
	assert.Equal(t, 30, clusters, "every cluster of the fleet, gated")

	clone := cloneMain(t, s)
	for _, env := range []string{"dev", "staging", "prod"} {
		rel := filepath.Join("environments", env, "addons", "addons-config.yaml")
		got, err := os.ReadFile(filepath.Join(clone, rel))
		require.NoError(t, err)
		before, err := os.ReadFile(filepath.Join(fleetDir, rel))
		require.NoError(t, err)
		assert.Equal(t, strings.Replace(string(before), `"3.11.0"`, `"3.12.2"`, 1), string(got), "%s: only the version moved", rel)
	}
}

// TestEndToEndTenantValuesFile changes an add-on's values kept in one file
// per tenant and environment, a hierarchy of the layout: the file is its
// tenant's, so it moves in that tenant's pull request of the first wave
// holding one of its clusters there, which serve opens and asks the
// tenant's owners to review (it used to refuse it: the layout gave a
// tenant only its blueprints and label files).
func TestEndToEndTenantValuesFile(t *testing.T) {
	t.Parallel()
	dir := tenantValuesFleet(t)
	src := []byte(fmt.Sprintf(envWideCampaign, "      hierarchy: addons\n      level: env\n"))
	plan, layouts := expectedPlan(t, src, dir)
	first := plan.Waves[0]
	require.NotEmpty(t, first.PullRequests)
	for _, pr := range first.PullRequests {
		require.False(t, pr.Admin, "a tenant's pull request")
		for _, f := range pr.Files {
			require.True(t, strings.HasPrefix(f.Path, "addons/tenants/"+pr.Tenant+"/"), f.Path)
		}
	}

	s, prs := firstWaveOpened(t, dir, plan, src)
	for _, p := range prs {
		tenant := p.Head.Ref[strings.LastIndex(p.Head.Ref, "/")+1:]
		checkPull(t, s, p, first, dir, tenant, layouts[dir].Owners[tenant])
	}
}

// firstWaveOpened starts serve on the fleet at dir, pushes the campaign src
// and waits for the pull requests of the plan's first wave.
func firstWaveOpened(t *testing.T, dir string, plan *rollout.Plan, src []byte) (*stack.Stack, []pull) {
	t.Helper()
	s, err := stack.Start(t.Context(), stack.Options{Dir: t.TempDir(), Fleet: dir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(t.Context(), plan.Campaign, src))
	return s, waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
}

// TestEndToEndEnvironmentWideRollback rolls the campaign back once the dev
// environment's file merged: the fleet admins' revert pull request takes
// the file back and says which clusters that reaches, as the change's did.
func TestEndToEndEnvironmentWideRollback(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src := []byte(fmt.Sprintf(envWideCampaign, "      hierarchy: addons\n      level: env\n"))
	fleetDir := envWideFleet(t)
	plan, layouts := expectedPlan(t, src, fleetDir)
	file := plan.Waves[0].PullRequests[0].Files[0]
	require.NotEmpty(t, file.Reach)
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))
	prs := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
	mergeAsOwner(t, s, prs[0].Number, layouts[fleetDir].Admins.Users[0])
	waitFor(t, "the merge to be recorded", func() (struct{}, bool) {
		return struct{}{}, phase(t, s, plan.Campaign).Waves[0].PRs[0].Status == rollout.PRStatusMerged
	})

	comment(t, s, prs[0].Number, "pat", "/fleet rollback")
	revert := waitFor(t, "the revert pull request", func() (pull, bool) {
		var open []pull
		_, err := s.Do(ctx, http.MethodGet, "/repos/acme/fleet/pulls?state=open&per_page=100", "", nil, &open)
		require.NoError(t, err)
		for _, p := range open {
			if p.Head.Ref == fmt.Sprintf("fleetbot/%s/revert-1/_admins", plan.Campaign) {
				return p, true
			}
		}
		return pull{}, false
	})
	var body struct {
		Body string `json:"body"`
	}
	_, err = s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d", revert.Number), "", nil, &body)
	require.NoError(t, err)
	assert.Contains(t, body.Body, "**Shared files**: each one takes every cluster it serves back at once.\n- "+file.DescribeReach()+"\n")
}

// tenantValuesFleet is the example fleet with a hierarchy of add-on values
// of one file per tenant and environment.
func tenantValuesFleet(t *testing.T) string {
	t.Helper()
	files := map[string]string{}
	for _, tenant := range []string{"tenant-a", "tenant-b", "tenant-c", "tenant-d"} {
		for _, env := range []string{"dev", "staging", "prod"} {
			files[filepath.Join("addons", "tenants", tenant, "environments", env, "addons.yaml")] = "metricsServer:\n  version: \"3.11.0\"\n"
		}
	}
	return fleetWith(t, `
# Add-on values: one file per tenant and environment.
hierarchies:
  addons:
    paths:
      - addons/tenants/{tenant}/environments/{env}/addons.yaml
`, files)
}

// TestEndToEndManyOwners: tenant-a has 16 users and a team as owners; GitHub
// asks at most 15 reviewers at once (the sandbox refuses more, as GitHub
// does). The pull request asked them all in one request, refused on every
// pass: no owner was asked and the labels never came. It opens with the
// team and the first 14 users asked.
func TestEndToEndManyOwners(t *testing.T) {
	t.Parallel()
	dir := tenantValuesFleet(t)
	var many []string
	for i := range 16 {
		many = append(many, fmt.Sprintf("owner-%02d", i))
	}
	layoutFile := filepath.Join(dir, ".fleetbot.yaml")
	layout, err := os.ReadFile(layoutFile)
	require.NoError(t, err)
	wider := strings.Replace(string(layout), "users: [alice, arjun]", "users: ["+strings.Join(many, ", ")+"]", 1)
	require.NotEqual(t, string(layout), wider, "the example layout's owners of tenant-a changed")
	require.NoError(t, os.WriteFile(layoutFile, []byte(wider), 0o644))

	src := []byte(fmt.Sprintf(envWideCampaign, "      hierarchy: addons\n      level: env\n"))
	plan, layouts := expectedPlan(t, src, dir)
	first := plan.Waves[0]
	require.True(t, slices.ContainsFunc(first.PullRequests, func(pr rollout.PullRequest) bool { return pr.Tenant == "tenant-a" }), "tenant-a is in the first wave")
	s, prs := firstWaveOpened(t, dir, plan, src)
	for _, p := range prs {
		tenant := p.Head.Ref[strings.LastIndex(p.Head.Ref, "/")+1:]
		owners := layouts[dir].Owners[tenant]
		if tenant == "tenant-a" {
			require.Len(t, owners.Teams, 1)
			owners.Users = many[:14] // the team first, then users while there is room
		}
		checkPull(t, s, p, first, dir, tenant, owners)
	}
}
