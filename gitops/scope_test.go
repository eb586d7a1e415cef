package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

const scopesRepo = "testdata/scopes"

// owner is what a test expects of a hit's attribution.
type owner struct {
	Tenant, Env, Cluster string
	Reach                []string
}

func ownerOf(h rollout.FieldHit) owner {
	return owner{h.Tenant, h.Env, h.Cluster, h.Reach}
}

var (
	allScopes = []string{"a-dev-1", "a-dev-2", "a-prod-1", "b-dev-1", "b-dev-2", "c-prod-1"}
	devScopes = []string{"a-dev-1", "a-dev-2", "b-dev-1", "b-dev-2"}
)

func TestFieldHitsScopes(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{scopesRepo})
	require.NoError(t, err)
	require.Empty(t, inv.Diagnostics)

	tests := []struct {
		name, files, path string
		// want maps "file#document:line" to the hit's owner.
		want map[string]owner
	}{
		{
			name: "four-level values hierarchy", files: "addons/**/values.yaml", path: "addons.metricsServer.version",
			want: map[string]owner{
				// defaults: every cluster, no tenant, no environment
				"addons/defaults/values.yaml#0:4": {Reach: allScopes},
				// {record.version}: the clusters on 1.30, whoever they are
				"addons/versions/1.30/values.yaml#0:4": {Reach: []string{"a-dev-2", "b-dev-2", "c-prod-1"}},
				// {env} without {tenant}: every dev cluster
				"addons/environments/dev/values.yaml#0:3": {Env: "dev", Reach: devScopes},
				// {cluster}
				"addons/tenants/tenant-a/clusters/a-dev-2/values.yaml#0:3": {Tenant: "tenant-a", Env: "dev", Cluster: "a-dev-2", Reach: []string{"a-dev-2"}},
			},
		},
		{
			name: "tenant level", files: "addons/tenants/*/values.yaml", path: "addons.karpenter.version",
			want: map[string]owner{
				"addons/tenants/tenant-a/values.yaml#0:3": {Tenant: "tenant-a", Reach: []string{"a-dev-1", "a-dev-2", "a-prod-1"}},
			},
		},
		{
			name: "environment-wide file, per-cluster record and shared file", files: "**/*.yaml", path: "externalDns.version",
			want: map[string]owner{
				"environments/dev/addons/addons-config.yaml#0:3": {Env: "dev", Reach: devScopes},
				// {record.slug} names one cluster's file: only a-dev-1 has a slug
				"clusters/ad1/addons-config.yaml#0:2": {Tenant: "tenant-a", Env: "dev", Cluster: "a-dev-1", Reach: []string{"a-dev-1"}},
				// no template names it: shared by all tenants
				"shared/global.yaml#0:2": {},
			},
		},
		{
			name: "member documents", files: "fleet/members/**/*.yaml", path: "addons.argocd",
			want: map[string]owner{
				"fleet/members/hub-1/b-dev.yaml#0:8":  {Tenant: "tenant-b", Env: "dev", Cluster: "b-dev-1", Reach: []string{"b-dev-1"}},
				"fleet/members/hub-1/b-dev.yaml#1:16": {Tenant: "tenant-b", Env: "dev", Cluster: "b-dev-2", Reach: []string{"b-dev-2"}},
			},
		},
		{
			name: "member file's other document", files: "fleet/members/**/*.yaml", path: "data.note",
			want: map[string]owner{
				"fleet/members/hub-1/b-dev.yaml#2:24": {Tenant: "tenant-b", Env: "dev", Reach: []string{"b-dev-1", "b-dev-2"}},
			},
		},
		{
			name: "single-cluster member file", files: "fleet/members/**/*.yaml", path: "hub",
			want: map[string]owner{
				"fleet/members/hub-1/b-dev.yaml#0:6":    {Tenant: "tenant-b", Env: "dev", Cluster: "b-dev-1", Reach: []string{"b-dev-1"}},
				"fleet/members/hub-1/b-dev.yaml#1:14":   {Tenant: "tenant-b", Env: "dev", Cluster: "b-dev-2", Reach: []string{"b-dev-2"}},
				"fleet/members/hub-1/c-prod-1.yaml#0:5": {Tenant: "tenant-c", Env: "prod", Cluster: "c-prod-1", Reach: []string{"c-prod-1"}},
			},
		},
		{
			name: "blueprint keys", files: "tenants/tenant-a/dev.yaml", path: "*",
			want: map[string]owner{
				"tenants/tenant-a/dev.yaml#0:1": {Tenant: "tenant-a", Env: "dev", Reach: []string{"a-dev-1", "a-dev-2"}},
				"tenants/tenant-a/dev.yaml#0:2": {Tenant: "tenant-a", Env: "dev", Reach: []string{"a-dev-1", "a-dev-2"}},
				"tenants/tenant-a/dev.yaml#0:3": {Tenant: "tenant-a", Env: "dev", Reach: []string{"a-dev-1", "a-dev-2"}},
			},
		},
		{
			name: "blueprint cluster entry", files: "tenants/tenant-a/dev.yaml", path: "services.eks.config.*.hub",
			want: map[string]owner{
				"tenants/tenant-a/dev.yaml#0:10": {Tenant: "tenant-a", Env: "dev", Cluster: "a-dev-1", Reach: []string{"a-dev-1"}},
				"tenants/tenant-a/dev.yaml#0:15": {Tenant: "tenant-a", Env: "dev", Cluster: "a-dev-2", Reach: []string{"a-dev-2"}},
			},
		},
		{
			name: "label hierarchy", files: "labels/**/*.yaml", path: "externalSecret.labels.addonsRelease",
			want: map[string]owner{
				"labels/defaults.yaml#0:3":             {Reach: allScopes},
				"labels/tenant-a/dev/a-dev-1.yaml#0:3": {Tenant: "tenant-a", Env: "dev", Cluster: "a-dev-1", Reach: []string{"a-dev-1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hits, err := inv.FieldHits(t.Context(), tt.files, tt.path)
			require.NoError(t, err)
			got := map[string]owner{}
			for _, h := range hits {
				got[fmt.Sprintf("%s#%d:%d", h.At.File, h.At.Document, h.At.Line)] = ownerOf(h)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestFleetMemberDocuments: each document of a member stream that holds a
// cluster's keys is that cluster, and its version is edited in that
// document.
func TestFleetMemberDocuments(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{scopesRepo})
	require.NoError(t, err)
	for name, doc := range map[string]int{"b-dev-1": 0, "b-dev-2": 1, "c-prod-1": 0} {
		c, ok := inv.Cluster(name)
		require.True(t, ok, name)
		assert.Equal(t, doc, c.Document, name)
	}
	c, _ := inv.Cluster("b-dev-2")
	assert.Equal(t, "1.30", c.Version)
	assert.Equal(t, "hub-1", c.Hub)
	assert.Equal(t, map[string]string{"version": "1.30"}, c.Record)
	assert.Equal(t, 13, c.Sources.Get("version").Line)
	a, _ := inv.Cluster("a-dev-1")
	assert.Equal(t, map[string]string{"version": "1.29", "slug": "ad1"}, a.Record)
	assert.Equal(t, "hub-1", a.Hub)

	f, err := inv.Fleet()
	require.NoError(t, err)
	for _, fc := range f.Clusters {
		if fc.Name == "b-dev-2" {
			assert.Equal(t, rollout.Location{Repo: scopesRepo, File: "fleet/members/hub-1/b-dev.yaml", Path: []string{"version"}, Line: 13, Document: 1}, fc.VersionAt)
		}
	}
}

// TestMemberDocumentEdit: an EKS upgrade of a cluster declared in the second
// document of a member stream edits that document's version and nothing
// else, byte for byte; so does its rollback.
func TestMemberDocumentEdit(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{scopesRepo})
	require.NoError(t, err)
	fleet, err := inv.Fleet()
	require.NoError(t, err)
	c, err := rollout.ParseCampaign("c.yaml", []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: b-1-31}
spec:
  change: {eksVersion: {to: "1.31"}}
  selector: {clusters: [b-dev-2]}
  strategy: {order: [dev, prod]}
`))
	require.NoError(t, err)
	plan, err := rollout.PlanCampaign(c, fleet)
	require.NoError(t, err)
	require.Len(t, plan.Waves, 1)
	require.Len(t, plan.Waves[0].PullRequests, 1)
	pr := plan.Waves[0].PullRequests[0]
	require.Len(t, pr.Files, 1)
	assert.Equal(t, []rollout.Edit{{Path: []string{"version"}, Op: rollout.OpSet, From: "1.30", To: "1.31", Quote: true, Line: 13, Document: 1, Cluster: "b-dev-2"}}, pr.Files[0].Edits)

	read := DirReader(scopesRepo)
	res, err := Apply(read, pr)
	require.NoError(t, err)
	require.Len(t, res, 1)
	old, err := read("fleet/members/hub-1/b-dev.yaml")
	require.NoError(t, err)
	want := strings.Replace(string(old), "version: \"1.30\"   # upgraded first", "version: \"1.31\"   # upgraded first", 1)
	require.NotEqual(t, string(old), want, "the fixture moved")
	assert.Equal(t, want, string(res[0].New))

	back, err := rollout.Inverse(pr.Files[0])
	require.NoError(t, err)
	undone, err := Apply(memReader(map[string]string{pr.Files[0].Path: string(res[0].New)}), rollout.PullRequest{Tenant: "tenant-b", Files: []rollout.FileChange{back}})
	require.NoError(t, err)
	assert.Equal(t, string(old), string(undone[0].New))

	// Document 0 holds the same key path with another value: an edit aimed
	// at it is refused as stale instead of landing in the wrong cluster.
	pr.Files[0].Edits[0].Document = 0
	_, err = Apply(read, pr)
	assert.ErrorContains(t, err, `expected "1.30"`)
}

// TestMemberDocumentFieldChange: a field change of one spoke of a
// multi-document member file edits that spoke's document, although the
// document before it holds the same key with the same value.
func TestMemberDocumentFieldChange(t *testing.T) {
	t.Parallel()
	c, err := rollout.ParseCampaign("c.yaml", []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: argocd-off}
spec:
  change: {field: {files: "fleet/members/**/*.yaml", path: addons.argocd, to: disabled, revertible: true}}
  selector: {clusters: [b-dev-2]}
  strategy: {order: [dev, prod]}
  gates: {terraform: {checks: [plan]}}
`))
	require.NoError(t, err)
	p, err := Prepare(t.Context(), []string{scopesRepo}, c, nil)
	require.NoError(t, err)
	require.Len(t, p.Plan.Waves, 1)
	pr := p.Plan.Waves[0].PullRequests[0]
	require.Len(t, pr.Files, 1)
	require.Len(t, pr.Files[0].Edits, 1)
	assert.Equal(t, 1, pr.Files[0].Edits[0].Document, "b-dev-2 is the second document")

	read := DirReader(scopesRepo)
	res, err := Apply(read, pr)
	require.NoError(t, err)
	old, err := read("fleet/members/hub-1/b-dev.yaml")
	require.NoError(t, err)
	first, rest, ok := strings.Cut(string(old), "---\n")
	require.True(t, ok)
	want := first + "---\n" + strings.Replace(rest, "argocd: enabled", "argocd: disabled", 1)
	assert.Equal(t, want, string(res[0].New), "b-dev-1's document is left as it is")
}

// TestSharedFiles: the files fleet admins own are those no single tenant
// does: a fleet-wide default, an environment's file of every tenant, a
// Kubernetes version's; not a tenant's or a cluster's file, nor a member
// file.
func TestSharedFiles(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{scopesRepo})
	require.NoError(t, err)
	shared := inv.SharedFiles(scopesRepo)
	for _, f := range []string{"addons/defaults/values.yaml", "addons/environments/dev/values.yaml", "environments/prod/addons/addons-config.yaml", "addons/versions/1.30/values.yaml"} {
		assert.True(t, shared[f], "%s is the admins'", f)
	}
	for _, f := range []string{"addons/tenants/tenant-b/values.yaml", "fleet/members/hub-1/b-dev.yaml"} {
		assert.False(t, shared[f], "%s is a tenant's", f)
	}
	assert.False(t, shared["addons/defaults/values.yaml-not-a-file"])
}

// TestTenantFiles: a tenant's files are the blueprints and fleet-member
// files of its clusters, and the files of every hierarchy (labels,
// add-on values) that serve its clusters alone, whether they exist or
// not; not another tenant's, nor what tenants share.
func TestTenantFiles(t *testing.T) {
	t.Parallel()
	inv, err := Load(t.Context(), []string{scopesRepo})
	require.NoError(t, err)
	a := inv.TenantFiles(scopesRepo, "tenant-a")
	for _, f := range []string{
		"tenants/tenant-a/dev.yaml", "tenants/tenant-a/prod.yaml",
		"addons/tenants/tenant-a/values.yaml", "addons/tenants/tenant-a/clusters/a-dev-2/values.yaml",
		"addons/tenants/tenant-a/clusters/a-dev-1/values.yaml", // not there yet
		"labels/tenant-a/dev/a-dev-1.yaml",
		"clusters/ad1/addons-config.yaml", // a record narrows it to one cluster
	} {
		assert.True(t, a[f], "%s is tenant-a's", f)
	}
	for _, f := range []string{
		"addons/defaults/values.yaml", "addons/environments/dev/values.yaml", "environments/dev/addons/addons-config.yaml",
		"labels/defaults.yaml", "fleet/members/hub-1/b-dev.yaml", "addons/tenants/tenant-b/values.yaml",
	} {
		assert.False(t, a[f], "%s is not tenant-a's", f)
	}
	b := inv.TenantFiles(scopesRepo, "tenant-b")
	assert.True(t, b["fleet/members/hub-1/b-dev.yaml"], "a fleet-member file is its cluster's tenant's")
	assert.True(t, b["addons/tenants/tenant-b/values.yaml"])
	assert.Empty(t, inv.TenantFiles(scopesRepo, ""), "no file is the empty tenant's")
	assert.Empty(t, inv.TenantFiles("elsewhere", "tenant-a"))

	// A fleet-member file declaring clusters of two tenants, one per
	// document, is each one's: each one's pull request edits its own
	// documents there (the planner refuses a plan that has both edit it).
	dir := copyTree(t, scopesRepo)
	shared := filepath.Join(dir, "fleet", "members", "hub-1", "b-dev.yaml")
	src, err := os.ReadFile(shared)
	require.NoError(t, err)
	mixed := strings.Replace(string(src), "tenant: tenant-b\nclusterName: b-dev-2", "tenant: tenant-c\nclusterName: c-dev-9", 1)
	require.NotEqual(t, string(src), mixed)
	require.NoError(t, os.WriteFile(shared, []byte(mixed), 0o644))
	inv, err = Load(t.Context(), []string{dir})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	for _, tenant := range []string{"tenant-b", "tenant-c"} {
		assert.True(t, inv.TenantFiles(dir, tenant)["fleet/members/hub-1/b-dev.yaml"], "the two-tenant member file is %s's", tenant)
	}
	assert.False(t, inv.TenantFiles(dir, "tenant-a")["fleet/members/hub-1/b-dev.yaml"])
	assert.False(t, inv.SharedFiles(dir)["fleet/members/hub-1/b-dev.yaml"], "nor is it the fleet admins'")
}
