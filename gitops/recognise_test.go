package gitops

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecognise(t *testing.T) {
	t.Parallel()
	secret := func(name, tenant, env, version, canary string) string {
		return `apiVersion: v1
kind: Secret
metadata:
  name: cluster-` + name + `
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: cluster
    fleet.example.com/tenant: ` + tenant + `
    environment: ` + env + `
    kubernetes_version: "` + version + `"
    canary: "` + canary + `"
  annotations:
    aws_region: eu-west-1
    aws_account_id: "011111111111"
type: Opaque
stringData:
  name: ` + name + `
  server: https://` + name + `.example.com
`
	}
	member := func(name, tenant, env string) string {
		return "tenant: " + tenant + "\nclusterName: " + name + "\nenvironment: " + env + "\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		repo  string // instead of files
		check func(t *testing.T, l *Layout, r *Recognition)
		// clusters the layout finds when the repository is loaded with it
		clusters []Cluster
	}{
		{
			name: "tenant blueprints and a label hierarchy",
			repo: "../examples/fleet",
			check: func(t *testing.T, l *Layout, r *Recognition) {
				b := l.Blueprints
				require.NotNil(t, b)
				assert.Nil(t, l.Members)
				assert.Equal(t, []string{"tenants/*/*.yaml"}, b.Paths)
				assert.Equal(t, []string{"tenant", "env", "region", "account_id", "services.eks.config", "fleet", "is_canary", "version"},
					[]string{b.Tenant, b.Env, b.Region, b.Account, b.Clusters, b.Fleet, b.Canary, b.Version})
				assert.Equal(t, seedHierarchy, l.Labels.Hierarchy)
				assert.Equal(t, []string{"addons/tenants/**/fleet/fleet-secret/values.yaml"}, l.Labels.Files)
				assert.Equal(t, DefaultLabelsKey, l.Labels.Key)
				assert.Empty(t, r.Unplaced)
			},
		},
		{
			name: "eks-fleet-management",
			repo: "testdata/eks-fleet-management",
			check: func(t *testing.T, l *Layout, r *Recognition) {
				m := l.Members
				require.NotNil(t, m)
				assert.Equal(t, []string{"clusterName", "tenant", "environment", ""}, []string{m.Cluster, m.Tenant, m.Env, m.Version})
				assert.Equal(t, []string{"fleet/fleet-bootstrap/fleet-members/hub-cluster-np/spoke-dev-workload1.yaml"}, m.Paths)
				// The control-plane's files are the hub's, which is no member.
				assert.Equal(t, []string{
					"addons/control-plane/defaults/fleet/fleet-secret/values.yaml",
					"addons/control-plane/environments/np/clusters/hub-cluster-np/fleet/fleet-secret/values.yaml",
				}, unplacedFiles(r))
				assert.Contains(t, l.Labels.Hierarchy, "addons/tenants/{tenant}/environments/{env}/clusters/{cluster}/fleet/fleet-secret/values.yaml")
			},
			clusters: []Cluster{{Name: "spoke-dev-workload1", Tenant: "tenant1", Env: "np"}},
		},
		{
			name: "Argo CD cluster Secret manifests with a prefixed label",
			files: map[string]string{
				"clusters/pay-dev-1/secret.yaml":  secret("pay-dev-1", "payments", "dev", "1.29", "true"),
				"clusters/pay-prod-1/secret.yaml": secret("pay-prod-1", "payments", "prod", "1.30", "false"),
				"clusters/README.yaml":            "title: not a cluster\n",
				"apps/guestbook.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\n  labels:\n    app: guestbook\n",
			},
			check: func(t *testing.T, l *Layout, r *Recognition) {
				m := l.Members
				require.NotNil(t, m)
				assert.Equal(t, []string{"clusters/*/secret.yaml"}, m.Paths)
				assert.Equal(t, []string{`stringData.name`, `metadata.labels.fleet\.example\.com/tenant`, "metadata.labels.environment",
					"metadata.annotations.aws_region", "metadata.annotations.aws_account_id", "metadata.labels.canary", "metadata.labels.kubernetes_version"},
					[]string{m.Cluster, m.Tenant, m.Env, m.Region, m.Account, m.Canary, m.Version})
				assert.Nil(t, l.Labels)
				assert.Empty(t, r.Unplaced)
			},
			clusters: []Cluster{
				{Name: "pay-dev-1", Tenant: "payments", Env: "dev", Region: "eu-west-1", Account: "011111111111", Version: "1.29", Canary: true},
				{Name: "pay-prod-1", Tenant: "payments", Env: "prod", Region: "eu-west-1", Account: "011111111111", Version: "1.30"},
			},
		},
		{
			name: "a version in some member files only is not mapped",
			files: map[string]string{
				"members/a.yaml": member("a", "t1", "dev") + "version: \"1.29\"\n",
				"members/b.yaml": member("b", "t1", "dev"),
			},
			check: func(t *testing.T, l *Layout, r *Recognition) {
				assert.Empty(t, l.Members.Version)
				require.Len(t, r.Unplaced, 1)
				assert.Equal(t, "version", r.Unplaced[0].Key)
				assert.Contains(t, r.Unplaced[0].Reason, "only 1 of 2 files have it")
			},
			clusters: []Cluster{{Name: "a", Tenant: "t1", Env: "dev"}, {Name: "b", Tenant: "t1", Env: "dev"}},
		},
		{
			name: "member files with other keys are reported, the largest group kept",
			files: map[string]string{
				"members/a.yaml":     member("a", "t1", "dev"),
				"members/b.yaml":     member("b", "t1", "prod"),
				"other/c/value.yaml": "cluster_name: c\ntenant: t2\nenv: dev\n",
				"members/bad.yaml":   member("d", "t1", "dev") + "account_id: 11111111111\n",
			},
			check: func(t *testing.T, l *Layout, r *Recognition) {
				assert.Equal(t, []string{"members/*.yaml"}, l.Members.Paths)
				assert.Equal(t, []string{"members/bad.yaml", "other/c/value.yaml"}, unplacedFiles(r))
				assert.Contains(t, r.Unplaced[0].Reason, "looks like the account but is not one")
				assert.Contains(t, r.Unplaced[1].Reason, "tenant, env, cluster_name")
			},
			clusters: []Cluster{{Name: "a", Tenant: "t1", Env: "dev"}, {Name: "b", Tenant: "t1", Env: "prod"}, {Name: "d", Tenant: "t1", Env: "dev"}},
		},
		{
			name: "a glob that would match other files gives way to the files",
			files: map[string]string{
				"fleet/a.yaml":     member("a", "t1", "dev"),
				"fleet/b.yaml":     member("b", "t1", "dev"),
				"fleet/notes.yaml": "owner: platform\n",
			},
			check: func(t *testing.T, l *Layout, _ *Recognition) {
				assert.Equal(t, []string{"fleet/a.yaml", "fleet/b.yaml"}, l.Members.Paths)
			},
			clusters: []Cluster{{Name: "a", Tenant: "t1", Env: "dev"}, {Name: "b", Tenant: "t1", Env: "dev"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := tt.repo
			if repo == "" {
				repo = writeRepo(t, tt.files)
			}
			r, err := Recognise(t.Context(), repo)
			require.NoError(t, err)
			l, err := ParseLayout(LayoutFile, r.Layout)
			require.NoError(t, err, "%s", r.Layout)
			tt.check(t, l, r)
			if tt.clusters == nil {
				return
			}
			path := filepath.Join(t.TempDir(), LayoutFile)
			require.NoError(t, os.WriteFile(path, r.Layout, 0o644))
			inv, err := Load(t.Context(), []string{repo}, WithLayout(path))
			require.NoError(t, err)
			require.NoError(t, inv.Err())
			assert.Equal(t, tt.clusters, summary(inv.Clusters))
		})
	}
}

// summary keeps what a fleet-member file says of each cluster.
func summary(cs []Cluster) []Cluster {
	out := make([]Cluster, len(cs))
	for i, c := range cs {
		out[i] = Cluster{Name: c.Name, Tenant: c.Tenant, Env: c.Env, Region: c.Region, Account: c.Account, Version: c.Version, Canary: c.Canary, Fleet: c.Fleet}
	}
	return out
}

func unplacedFiles(r *Recognition) []string {
	var out []string
	for _, u := range r.Unplaced {
		out = append(out, u.File)
	}
	return out
}

func TestRecogniseNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		files    map[string]string
		unplaced []string
	}{
		{"no YAML", map[string]string{"main.tf": "module \"eks\" {}\n"}, nil},
		{
			"values files without a cluster name",
			map[string]string{
				"clusters/pay-dev-1/values.yaml": "labels:\n  tenant: payments\n  environment: dev\n",
				"chart/templates/secret.yaml":    "{{- range .Values.clusters }}\nname: {{ . }}\n{{- end }}\n",
			},
			[]string{"clusters/pay-dev-1/values.yaml: holds a tenant (labels.tenant) and an env (labels.environment) but no key with the cluster's name: a layout reads the name from a key, not from the file's path; add one (such as name: pay-dev-1) to each such file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := writeRepo(t, tt.files)
			_, err := Recognise(t.Context(), repo)
			var nr *NotRecognisedError
			require.True(t, errors.As(err, &nr), "%v", err)
			assert.Equal(t, len(tt.files), nr.Files)
			var got []string
			for _, u := range nr.Unplaced {
				got = append(got, u.String())
			}
			assert.Equal(t, tt.unplaced, got)
			assert.Contains(t, err.Error(), "no fleet files recognised")
		})
	}
}
