package gitops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const adoptFixtures = "../internal/cli/testdata/adopting/"

func TestReadRecords(t *testing.T) {
	t.Parallel()
	payDev := Record{Name: "pay-dev-1", Tenant: "payments", Env: "dev", Region: "eu-west-1", Account: "011111111111", Version: "1.29", Fleet: "cpu", Canary: true}
	tests := []struct {
		name    string
		input   string
		want    []Record
		notes   []string
		wantErr []string
	}{
		{
			name:  "one describe-cluster output",
			input: `{"cluster": {"name": "pay-dev-1", "version": "1.29", "arn": "arn:aws:eks:eu-west-1:011111111111:cluster/pay-dev-1", "tags": {"tenant": "payments", "env": "dev", "fleet": "cpu", "canary": "true"}}}`,
			want:  []Record{payDev},
		},
		{
			name:  "tags in other cases and with a prefix",
			input: `[{"cluster": {"name": "a", "version": "1.30", "arn": "arn:aws:eks:us-east-1:222222222222:cluster/a", "tags": {"Tenant": "search", "acme.io/environment": "prod"}}}]`,
			want:  []Record{{Name: "a", Tenant: "search", Env: "prod", Region: "us-east-1", Account: "222222222222", Version: "1.30"}},
		},
		{
			name:  "terraform output of one value, a map",
			input: `{"pay-dev-1": {"tenant": "payments", "environment": "dev", "aws_region": "eu-west-1", "account_id": "011111111111", "kubernetes_version": "1.29", "fleet": "cpu", "is_canary": true, "vpc": "shared"}}`,
			want:  []Record{payDev},
			notes: []string{"in.json: field vpc of 1 cluster not read: fleetbot does not use it"},
		},
		{
			name: "every terraform output",
			input: `{"clusters": {"sensitive": false, "type": "list", "value": [{"name": "pay-dev-1", "tenant": "payments", "env": "dev", "region": "eu-west-1", "account": "011111111111", "version": "1.29", "fleet": "cpu", "canary": "true"}]},
			         "hub": {"sensitive": false, "type": "string", "value": "https://hub"}}`,
			want: []Record{payDev},
		},
		{
			name:    "no tenant",
			input:   `[{"name": "a", "env": "dev"}, {"cluster": {"name": "b", "tags": {"env": "dev"}}}]`,
			wantErr: []string{"in.json: [0] (cluster a): no tenant: add a field tenant (one of tenant, tenant_name, tenantName)", "in.json: [1].cluster (cluster b): no tenant: add a tag tenant"},
		},
		{
			name:    "a version and an account that are numbers",
			input:   `[{"name": "a", "tenant": "t", "env": "dev", "version": 1.30, "account": 11111111111}]`,
			wantErr: []string{`field version is a number, want a string: write "1.30"`, `field account is a number, want a string: write "11111111111"`},
		},
		{
			name:    "several outputs hold clusters",
			input:   `{"a": {"type": "list", "value": [{"name": "x"}]}, "b": {"type": "list", "value": [{"name": "y"}]}}`,
			wantErr: []string{"several Terraform outputs hold clusters (a, b): give one with terraform output -json NAME"},
		},
		{
			name:    "a name that differs from its key",
			input:   `{"a": {"name": "b", "tenant": "t", "env": "dev"}}`,
			wantErr: []string{`in.json: a: the object's name "b" differs from its key "a"`},
		},
		{
			name:    "a cluster listed twice",
			input:   `[{"name": "a", "tenant": "t", "env": "dev"}, {"name": "a", "tenant": "t", "env": "prod"}]`,
			wantErr: []string{"cluster a is listed twice (also at [0] (cluster a))"},
		},
		{
			name:    "a bad ARN, version and canary",
			input:   `{"cluster": {"name": "a", "version": "1.3.0", "arn": "arn:aws:ec2:x", "tags": {"tenant": "t", "env": "dev", "canary": "yes"}}}`,
			wantErr: []string{`arn "arn:aws:ec2:x" is not an EKS cluster ARN`, `tag canary is "yes": want true or false`, `version "1.3.0" is not an EKS version`},
		},
		{name: "not JSON", input: `{`, wantErr: []string{"in.json: not JSON"}},
		{name: "no cluster", input: `[]`, wantErr: []string{"in.json: no cluster listed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadRecords("in.json", []byte(tt.input))
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			for i := range got.Clusters {
				got.Clusters[i].From = ""
			}
			assert.Equal(t, tt.want, got.Clusters)
			assert.Equal(t, tt.notes, got.Notes)
		})
	}
}

// TestAdoptReadsBack writes the member files of the clusters of the
// fixture inputs in three member formats and loads them: the inventory
// says what the input said of every cluster.
func TestAdoptReadsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, layout, dir string
	}{
		{
			name:   "terraform output into cluster values files",
			input:  "terraform-output.json",
			layout: "../examples/layouts/cluster-values.yaml",
		},
		{
			name:  "describe-cluster into Secret manifests with a prefixed label",
			input: "eks-describe.json",
			layout: `apiVersion: fleetbot.io/v1alpha1
kind: Layout
members:
  paths: ["argocd/clusters/*.yaml"]
  cluster: stringData.name
  tenant: metadata.labels.fleet\.example\.com/tenant
  env: metadata.labels.environment
  region: metadata.annotations.aws_region
  account: metadata.annotations.aws_account_id
  fleet: metadata.labels.fleet
  canary: metadata.labels.canary
  version: metadata.labels.kubernetes_version
`,
		},
		{
			name:  "terraform output into fleet-member files, with a directory template",
			input: "terraform-output.json",
			dir:   "fleet/members/{tenant}-{env}",
			layout: `apiVersion: fleetbot.io/v1alpha1
kind: Layout
members:
  paths: ["fleet/members/*/*.yaml"]
  tenant: tenant
  cluster: clusterName
  env: environment
  region: region
  account: accountId
  fleet: fleet
  canary: canary
  version: version
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(adoptFixtures + tt.input)
			require.NoError(t, err)
			recs, err := ReadRecords(tt.input, data)
			require.NoError(t, err)
			repo := t.TempDir()
			layoutPath := tt.layout
			if strings.HasPrefix(tt.layout, "apiVersion") {
				layoutPath = filepath.Join(repo, LayoutFile)
				require.NoError(t, os.WriteFile(layoutPath, []byte(tt.layout), 0o644))
			}
			l, err := ReadLayout(layoutPath)
			require.NoError(t, err)
			files, notes, err := MemberFiles(l, recs.Clusters, tt.dir, tt.input)
			require.NoError(t, err)
			assert.Empty(t, notes)
			require.Len(t, files, len(recs.Clusters))
			for _, f := range files {
				p := filepath.Join(repo, filepath.FromSlash(f.Path))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, f.Data, 0o644))
			}
			inv, err := Load(t.Context(), []string{repo}, WithLayout(layoutPath))
			require.NoError(t, err)
			require.NoError(t, inv.Err())
			want := make([]Cluster, len(recs.Clusters))
			for i, r := range recs.Clusters {
				want[i] = Cluster{Name: r.Name, Tenant: r.Tenant, Env: r.Env, Region: r.Region, Account: r.Account, Version: r.Version, Canary: r.Canary, Fleet: r.Fleet}
			}
			assert.Equal(t, want, summary(inv.Clusters))
		})
	}
}

func TestMemberFilesErrors(t *testing.T) {
	t.Parallel()
	layout := func(t *testing.T, text string) *Layout {
		l, err := ParseLayout("l.yaml", []byte("apiVersion: fleetbot.io/v1alpha1\nkind: Layout\n"+text))
		require.NoError(t, err)
		return l
	}
	members := "members:\n  paths: [\"fleet/*/*.yaml\"]\n  version: version\n"
	rec := Record{Name: "a", Tenant: "t", Env: "dev", Version: "1.30", From: "[0] (cluster a)"}
	withRegion := rec
	withRegion.Region = "eu-west-1"
	tests := []struct {
		name    string
		layout  string
		dir     string
		recs    []Record
		wantErr string
		notes   []string
	}{
		{
			name:    "no members section",
			layout:  "blueprints:\n  paths: [\"tenants/*.yaml\"]\n",
			recs:    []Record{rec},
			wantErr: "l.yaml has no members section",
		},
		{
			name:    "a glob with two wildcards needs --dir",
			layout:  members,
			recs:    []Record{rec},
			wantErr: "no members.paths glob (fleet/*/*.yaml) has exactly one wildcard",
		},
		{
			name:    "a --dir outside the globs",
			layout:  members,
			dir:     "clusters/{cluster}.yaml",
			recs:    []Record{rec},
			wantErr: "cluster a: clusters/a.yaml is not matched by members.paths (fleet/*/*.yaml) of l.yaml: fleetbot inventory would not read it",
		},
		{
			name:    "a --dir without the cluster in a file name",
			layout:  members,
			dir:     "fleet/{tenant}/x.yaml",
			recs:    []Record{rec},
			wantErr: "--dir fleet/{tenant}/x.yaml has no {cluster}",
		},
		{
			name:    "a version the layout requires",
			layout:  members,
			dir:     "fleet/{tenant}",
			recs:    []Record{{Name: "b", Tenant: "t", Env: "dev", From: "[1] (cluster b)"}},
			wantErr: "in.json: [1] (cluster b): no version, which l.yaml requires in every member file (key version)",
		},
		{
			name:   "values the format has no key for are named",
			layout: "members:\n  paths: [\"fleet/*.yaml\"]\n",
			recs:   []Record{withRegion},
			notes: []string{
				"l.yaml names no key for the region (members.region): the region of 1 cluster is not written",
				"l.yaml names no key for the version (members.version): the version of 1 cluster is not written",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files, notes, err := MemberFiles(layout(t, tt.layout), tt.recs, tt.dir, "in.json")
			assert.Equal(t, tt.notes, notes)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Len(t, files, 1)
				assert.Equal(t, "fleet/a.yaml", files[0].Path)
				assert.Equal(t, "# Cluster a, written by fleetbot adopt from in.json.\n\nclusterName: a\ntenant: t\nenvironment: dev\n", string(files[0].Data))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// FuzzReadRecords: any input is read or refused with an error; what is read
// has the names a member file needs.
func FuzzReadRecords(f *testing.F) {
	for _, name := range []string{"terraform-output.json", "eks-describe.json"} {
		data, err := os.ReadFile(adoptFixtures + name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(`{"a": {"tenant": "t", "env": "dev"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadRecords("in.json", data)
		if err != nil {
			return
		}
		for _, r := range recs.Clusters {
			if !isName(r.Name) || !isName(r.Tenant) || !isName(r.Env) {
				t.Fatalf("read a cluster without valid names: %+v", r)
			}
		}
	})
}
