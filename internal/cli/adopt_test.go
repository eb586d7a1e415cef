package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

const adopting = "testdata/adopting/"

// copyRepo copies a fixture repository to a new directory.
func copyRepo(t *testing.T, fixture string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, os.CopyFS(repo, os.DirFS(adopting+fixture)))
	return repo
}

// transcript runs fleetbot as a person would from the repository's root,
// and returns what they see: the command, standard error, then standard
// output, then the error as main prints it, with the repository shown as
// "." and the fixtures beside it (the campaigns, terraform-output.json) as
// "../", where they are from a fixture repository's folder: the commands
// docs/adopting.md shows run as written there.
func transcript(t *testing.T, repo string, args ...string) (string, int) {
	t.Helper()
	out, errOut, err := execCLI(t, args...)
	shown := "$ fleetbot " + strings.Join(args, " ") + "\n" + errOut + out
	code := 0
	if err != nil {
		code = ExitCode(err)
		shown += fmt.Sprintf("fleetbot: %v\n(exit status %d)\n", err, code)
	}
	shown = strings.ReplaceAll(shown, repo+"/", "")
	shown = strings.ReplaceAll(shown, repo, ".")
	return strings.ReplaceAll(shown, adopting, "../"), code
}

// TestInitAdoptingExamples runs the worked examples of docs/adopting.md for
// the repositories that already describe their clusters: init writes the
// layout, inventory and plan read the repository with it.
func TestInitAdoptingExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture, campaign string
	}{
		{"seed", "eks-1-30.yaml"},
		{"fleet-members", "addons-release2.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			repo := copyRepo(t, tt.fixture)
			var shown []string
			step := func(wantCode int, args ...string) {
				s, code := transcript(t, repo, args...)
				require.Equal(t, wantCode, code, s)
				shown = append(shown, s)
			}
			step(0, "init", "--repo", repo)
			step(0, "init", "--repo", repo, "--write")
			_, err := gitops.ReadLayout(filepath.Join(repo, gitops.LayoutFile))
			require.NoError(t, err)
			step(0, "inventory", "--repo", repo)
			step(0, "plan", "--repo", repo, "--campaign", adopting+"campaigns/"+tt.campaign)
			testenv.CheckGolden(t, "adopting/golden/"+tt.fixture+".txt", strings.Join(shown, "\n"))
		})
	}
}

// TestAdoptTerraformOnly runs the worked example of docs/adopting.md for a
// fleet that lives only in Terraform: init finds nothing, adopt writes the
// cluster files from terraform output, and every value reads back.
func TestAdoptTerraformOnly(t *testing.T) {
	t.Parallel()
	repo := copyRepo(t, "terraform-only")
	input := adopting + "terraform-output.json"
	var shown []string
	step := func(wantCode int, args ...string) {
		s, code := transcript(t, repo, args...)
		require.Equal(t, wantCode, code, s)
		shown = append(shown, s)
	}
	step(1, "init", "--repo", repo)
	layout, err := os.ReadFile("../../examples/layouts/cluster-values.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(repo, gitops.LayoutFile), layout, 0o644))
	step(0, "adopt", "--repo", repo, "--from", input)
	step(0, "adopt", "--repo", repo, "--from", input, "--write")
	step(0, "inventory", "--repo", repo)
	step(0, "plan", "--repo", repo, "--campaign", adopting+"campaigns/eks-1-30.yaml")
	testenv.CheckGolden(t, "adopting/golden/terraform-only.txt", strings.Join(shown, "\n"))

	// The files are those of the cluster-values fixture, byte for byte.
	for _, name := range []string{"pay-dev-1", "pay-prod-1", "pay-prod-2", "search-dev-1", "search-prod-1"} {
		rel := filepath.Join("clusters", name, "cluster.yaml")
		got, err := os.ReadFile(filepath.Join(repo, rel))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(adopting, "cluster-values", rel))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), rel)
	}

	// Every value of the input reads back through the inventory.
	data, err := os.ReadFile(input)
	require.NoError(t, err)
	recs, err := gitops.ReadRecords(input, data)
	require.NoError(t, err)
	inv, err := gitops.Load(t.Context(), []string{repo})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	require.Len(t, inv.Clusters, len(recs.Clusters))
	for i, r := range recs.Clusters {
		c := inv.Clusters[i]
		assert.Equal(t, []any{r.Name, r.Tenant, r.Env, r.Region, r.Account, r.Version, r.Canary, r.Fleet},
			[]any{c.Name, c.Tenant, c.Env, c.Region, c.Account, c.Version, c.Canary, c.Fleet})
	}

	// Adopting again changes nothing: every cluster is declared.
	s, code := transcript(t, repo, "adopt", "--repo", repo, "--from", input, "--write")
	require.Equal(t, 0, code, s)
	assert.Equal(t, 5, strings.Count(s, "already declared at clusters/"), s)
	assert.NotContains(t, s, "wrote")
}

// TestInitClusterValues: init recognises the files adopt wrote and gives
// back the layout they were written with.
func TestInitClusterValues(t *testing.T) {
	t.Parallel()
	s, code := transcript(t, adopting+"cluster-values", "init", "--repo", adopting+"cluster-values")
	require.Equal(t, 0, code, s)
	testenv.CheckGolden(t, "adopting/golden/cluster-values.txt", s)
	out, _, _ := runCLI(t, "init", "--repo", adopting+"cluster-values")
	got, err := gitops.ParseLayout("init", []byte(out))
	require.NoError(t, err)
	want, err := gitops.ReadLayout("../../examples/layouts/cluster-values.yaml")
	require.NoError(t, err)
	assert.Equal(t, want.Members, got.Members)
}

func TestInitRefusals(t *testing.T) {
	t.Parallel()
	repo := copyRepo(t, "seed")
	require.NoError(t, os.WriteFile(filepath.Join(repo, gitops.LayoutFile), []byte("# mine\n"), 0o644))
	_, errOut, code := runCLI(t, "init", "--repo", repo, "--write")
	assert.Equal(t, 1, code)
	assert.Equal(t, "", errOut)
	_, err := execCLIOut(t, "init", "--repo", repo, "--write")
	require.EqualError(t, err, filepath.Join(repo, gitops.LayoutFile)+" exists: fleetbot init does not overwrite it (move it away, or edit it)")
	data, rerr := os.ReadFile(filepath.Join(repo, gitops.LayoutFile))
	require.NoError(t, rerr)
	assert.Equal(t, "# mine\n", string(data))

	_, err = execCLIOut(t, "init", "--repo", adopting+"terraform-only")
	require.EqualError(t, err, adopting+"terraform-only: no fleet files recognised in 2 files (0 YAML): no tenant blueprint (tenant, env and a mapping of clusters with a version each) and no fleet-member file (tenant, env and cluster name in one file); see docs/adopting.md for a fleet that lives only in Terraform")
}

// execCLIOut runs fleetbot and returns standard output and the error.
func execCLIOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := execCLI(t, args...)
	return out, err
}

func TestAdoptCommand(t *testing.T) {
	t.Parallel()
	layout := "../../examples/layouts/cluster-values.yaml"
	badInput := filepath.Join(t.TempDir(), "clusters.json")
	require.NoError(t, os.WriteFile(badInput, []byte(`[{"name": "pay-dev-9", "env": "dev", "version": "1.29"}]`), 0o644))
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut []string
	}{
		{
			name:    "describe-cluster output",
			args:    []string{"--layout", layout, "--from", adopting + "eks-describe.json"},
			wantOut: []string{"clusters/pay-dev-1/cluster.yaml", "  canary: \"true\"", "aws_account_id: \"011111111111\"", "clusters/search-prod-1/cluster.yaml", "  tenant: search"},
		},
		{
			name:    "a cluster without a tenant",
			args:    []string{"--layout", layout, "--from", badInput},
			wantErr: badInput + ": [0] (cluster pay-dev-9): no tenant: add a field tenant (one of tenant, tenant_name, tenantName)",
		},
		{
			name:    "no layout",
			args:    []string{"--from", adopting + "terraform-output.json"},
			wantErr: "does not exist: fleetbot adopt writes files in the format of the layout's members section",
		},
		{
			name:    "a layout without members",
			args:    []string{"--layout", "../../examples/layouts/seed.yaml", "--from", adopting + "terraform-output.json"},
			wantErr: "../../examples/layouts/seed.yaml has no members section",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := copyRepo(t, "terraform-only")
			out, err := execCLIOut(t, append([]string{"adopt", "--repo", repo}, tt.args...)...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			for _, w := range tt.wantOut {
				assert.Contains(t, out, w)
			}
			// Without --write nothing is written.
			_, statErr := os.Stat(filepath.Join(repo, "clusters"))
			assert.True(t, os.IsNotExist(statErr))
		})
	}
}

// TestAdoptingDocShowsGoldens: docs/adopting.md shows each transcript the
// tests above produce, as it is, and every one of them.
func TestAdoptingDocShowsGoldens(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/adopting.md")
	require.NoError(t, err)
	marker := regexp.MustCompile("<!-- golden: (\\S+) -->\n\n```console\n((?s:.*?))\n```\n")
	shown := map[string]bool{}
	for _, m := range marker.FindAllStringSubmatch(string(doc), -1) {
		want, err := os.ReadFile(filepath.Join(adopting, "golden", m[1]))
		require.NoError(t, err)
		assert.Equal(t, strings.TrimRight(string(want), "\n"), m[2], "docs/adopting.md shows %s as it was: update it from the golden file", m[1])
		shown[m[1]] = true
	}
	entries, err := os.ReadDir(filepath.Join(adopting, "golden"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.True(t, shown[e.Name()], "docs/adopting.md does not show %s", e.Name())
	}
}
