package fleetsim_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/internal/fleetsim"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

const (
	argoToken = "argocd-token"
	repo      = "acme/fleet"
	// factor runs the defaults' three minutes from merge to sync in 150ms.
	factor = 1200
)

// world is the example fleet in the sandbox, the fakes, the simulator
// running over them, and the real gates reading them.
type world struct {
	stack *stack.Stack
	work  string // the person's checkout the tests commit from
	inv   *gitops.Inventory
	argo  *fakeargocd.Server
	eks   *fakeeks.Server
	sim   *fleetsim.Sim
	gh    *gh.Client

	tfGate   *gate.Terraform
	argoGate *gate.ArgoCD
	eksGate  *gate.EKS
}

// start starts the world; mark names clusters to fail. The simulator is
// seeded and running when it returns.
func start(t *testing.T, mark ...string) *world {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	fleet := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	inv, err := gitops.Load(ctx, []string{fleet})
	require.NoError(t, err)
	require.NoError(t, inv.Err())

	st, err := stack.Start(ctx, stack.Options{Dir: dir, Fleet: fleet})
	require.NoError(t, err)
	t.Cleanup(st.Close)

	clock := fleetsim.NewClock(epoch, factor)
	w := &world{stack: st, work: filepath.Join(dir, "seed"), inv: inv,
		argo: fakeargocd.New(argoToken, fakeargocd.WithClock(clock.Now)), eks: fakeeks.New(fakeeks.WithClock(clock.Now))}
	w.sim, err = fleetsim.New(fleetsim.Config{
		GitHubURL: st.GitHubURL, Token: st.Token, Owner: "acme", Repo: "fleet", Dir: filepath.Join(dir, "sim"),
		ArgoCD: w.argo, EKS: w.eks, Clock: clock, Poll: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	for _, c := range mark {
		w.sim.Fail(c)
	}
	require.NoError(t, w.sim.Seed(ctx))

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.sim.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		assert.NoError(t, <-done)
	})

	w.gh, err = gh.NewTokenClient(gh.Config{BaseURL: st.GitHubURL}, st.Token)
	require.NoError(t, err)
	check, err := rollout.ParseTemplate(fleetsim.CheckName("terraform-apply", "{{ .Cluster }}"))
	require.NoError(t, err)
	w.tfGate = gate.NewTerraform(rollout.TerraformGate{Checks: []rollout.Template{check}}, bot.GateClient{API: w.gh})
	argoSrv := httptest.NewServer(w.argo)
	t.Cleanup(argoSrv.Close)
	w.argoGate, err = gate.NewArgoCD(rollout.ArgoCDGate{Server: argoSrv.URL}, argoToken, gate.CompareAncestry{API: bot.GateClient{API: w.gh}})
	require.NoError(t, err)
	eksSrv := httptest.NewServer(w.eks)
	t.Cleanup(eksSrv.Close)
	role, err := rollout.ParseTemplate("arn:aws:iam::{{ .Account }}:role/fleetbot-verify")
	require.NoError(t, err)
	w.eksGate, err = gate.NewEKS(rollout.EKSGate{RoleARN: role, Nodegroups: true},
		gate.WithEKSEndpoint(eksSrv.URL), gate.WithSTSEndpoint(eksSrv.URL),
		gate.WithAWSConfig(fakeeks.BaseConfig()))
	require.NoError(t, err)
	return w
}

// edit sets key paths of files in the person's checkout; each edit is
// "file", "key.path", "value".
func (w *world) edit(t *testing.T, edits ...[3]string) {
	t.Helper()
	for _, e := range edits {
		path := filepath.Join(w.work, e[0])
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		p, err := yamledit.ParsePath(e[1])
		require.NoError(t, err)
		res, err := yamledit.Set(e[0], src, yamledit.Edit{Path: p, Value: e[2], Quote: true, Document: -1})
		require.NoError(t, err)
		require.True(t, res.Changed(), "%s %s already holds %s", e[0], e[1], e[2])
		require.NoError(t, os.WriteFile(path, res.Bytes, 0o644))
	}
}

// commit pushes the checkout to main, with a new commit when anything
// changed, and returns the new head.
func (w *world) commit(t *testing.T, message string) string {
	t.Helper()
	if w.git(t, "status", "--porcelain") == "" {
		w.git(t, "push", "-q", w.pushURL(), "HEAD:refs/heads/main")
	} else {
		require.NoError(t, w.stack.Commit(t.Context(), w.work, message))
	}
	return w.head(t)
}

func (w *world) pushURL() string {
	return strings.Replace(w.stack.GitHubURL, "http://", "http://person:"+w.stack.Token+"@", 1) + "/acme/fleet.git"
}

// git runs git in the person's checkout and returns its trimmed output.
func (w *world) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = w.work
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Fleet Admin", "GIT_AUTHOR_EMAIL=admin@example.com",
		"GIT_COMMITTER_NAME=Fleet Admin", "GIT_COMMITTER_EMAIL=admin@example.com")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// head returns main's head.
func (w *world) head(t *testing.T) string {
	t.Helper()
	var ref struct {
		Object struct {
			SHA string `json:"sha"`
		} `json:"object"`
	}
	_, err := w.stack.Do(t.Context(), "GET", "/repos/acme/fleet/git/ref/heads/main", "", nil, &ref)
	require.NoError(t, err)
	require.Len(t, ref.Object.SHA, 40)
	return ref.Object.SHA
}

// waitFor waits until the simulator recorded, for commit, each "cluster:
// what" wanted, and fails on any error it recorded.
func (w *world) waitFor(t *testing.T, commit string, wanted ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		have := map[string]bool{}
		for _, e := range w.sim.Events() {
			if e.Commit == commit {
				have[e.Cluster+": "+e.What] = true
			}
		}
		for _, want := range wanted {
			if !have[want] {
				return false
			}
		}
		return true
	}, 20*time.Second, 5*time.Millisecond, "waiting for %v on %s", wanted, commit)
	for _, e := range w.sim.Events() {
		assert.False(t, strings.HasPrefix(e.What, "error:"), "the simulator recorded %s", e)
	}
}

// target is cluster at merge, for the gates.
func (w *world) target(t *testing.T, cluster, merge string) gate.Target {
	t.Helper()
	c, ok := w.inv.Cluster(cluster)
	require.True(t, ok, cluster)
	return gate.Target{Campaign: "sim", Cluster: c.Name, Tenant: c.Tenant, Env: c.Env, Region: c.Region,
		Account: c.Account, Fleet: c.Fleet, Repo: repo, MergeSHA: merge, Change: rollout.KindEKSVersion, Version: c.Version}
}

// outcome checks a target with a gate and returns its outcome, failing on
// a provider error.
func outcome(t *testing.T, g gate.Gate, tg gate.Target) (rollout.Outcome, string) {
	t.Helper()
	res := g.Check(t.Context(), tg)
	require.NoError(t, res.Err, "%s gate on %s", g.Name(), tg.Cluster)
	return res.Outcome, res.Detail
}

// gateCase is what a gate should say about a cluster.
type gateCase struct {
	cluster string
	gate    gate.Gate
	want    rollout.Outcome
	detail  string
}

func checkRuns(t *testing.T, w *world, commit string) map[string]string {
	t.Helper()
	runs, err := w.gh.CheckRuns(t.Context(), "acme", "fleet", commit)
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range runs {
		if strings.HasPrefix(r.Name, "terraform-apply") {
			got[r.Name] = r.Status + "/" + r.Conclusion
		}
	}
	return got
}

func TestSeedRegistersTheFleetAsTheGatesLookItUp(t *testing.T) {
	t.Parallel()
	w := start(t)
	head := w.head(t)
	require.NotEmpty(t, w.inv.Clusters)
	for _, c := range w.inv.Clusters {
		got, ok := w.eks.Cluster(c.Account, c.Region, c.Name)
		require.True(t, ok, "EKS has no %s in %s %s", c.Name, c.Account, c.Region)
		assert.Equal(t, c.Version, got.Version, c.Name)
		require.Len(t, got.Nodegroups, 1, c.Name)
		assert.Equal(t, c.Version, got.Nodegroups[0].Version, c.Name)

		tg := w.target(t, c.Name, head)
		tg.Change, tg.Version, tg.Labels = rollout.KindLabel, "", c.Labels
		o, detail := outcome(t, w.argoGate, tg)
		assert.Equal(t, rollout.GatePassed, o, "%s: %s", c.Name, detail)
		assert.Contains(t, detail, "2 applications Synced and Healthy at revisions containing", c.Name)
		o, detail = outcome(t, w.eksGate, w.target(t, c.Name, head))
		assert.Equal(t, rollout.GatePassed, o, "%s: %s", c.Name, detail)
	}
	w.waitFor(t, head, ": seeded "+strconv.Itoa(len(w.inv.Clusters))+" clusters")
}

func TestRunCarriesOutAMergeAndFailsTheMarkedCluster(t *testing.T) {
	t.Parallel()
	w := start(t, "a-dev-cpu-2")
	const blueprint = "tenants/tenant-a/dev.yaml"
	w.edit(t, [3]string{blueprint, "services.eks.config.a-dev-cpu-1.version", "1.30"},
		[3]string{blueprint, "services.eks.config.a-dev-cpu-2.version", "1.30"})
	merge := w.commit(t, "tenant-a dev: EKS 1.30 for a-dev-cpu-1 and a-dev-cpu-2")
	w.waitFor(t, merge, "a-dev-cpu-1: argocd Synced Healthy", "a-dev-cpu-2: argocd Synced Degraded",
		"a-dev-cpu-1: eks 1.30", "a-dev-cpu-2: eks stays at 1.29",
		"a-dev-cpu-1: terraform-apply success", "a-dev-cpu-2: terraform-apply failure")

	assert.Equal(t, map[string]string{
		"terraform-apply (a-dev-cpu-1)": "completed/success",
		"terraform-apply (a-dev-cpu-2)": "completed/failure",
	}, checkRuns(t, w, merge), "one check run per changed cluster, and none for the others")

	for name, want := range map[string]string{"a-dev-cpu-1": "1.30", "a-dev-cpu-2": "1.29", "a-dev-gpu-1": "1.29"} {
		c, _ := w.inv.Cluster(name)
		got, ok := w.eks.Cluster(c.Account, c.Region, name)
		require.True(t, ok, name)
		assert.Equal(t, want, got.Version, name)
		require.Len(t, got.Nodegroups, 1, name)
		assert.Equal(t, want, got.Nodegroups[0].Version, name)
		// Terraform moves kube-proxy with the control plane.
		i := slices.IndexFunc(got.Addons, func(a fakeeks.Addon) bool { return a.Name == "kube-proxy" })
		require.GreaterOrEqual(t, i, 0, name)
		assert.Equal(t, "v"+want+".0-eksbuild.1", got.Addons[i].Version, name)
	}

	for name, health := range map[string]string{
		"a-dev-cpu-1": fakeargocd.Healthy, "a-dev-cpu-2": fakeargocd.Degraded,
		"a-dev-gpu-1": fakeargocd.Healthy, "d-prod-cpu-1": fakeargocd.Healthy,
	} {
		addons, ok := w.argo.Application("", name+"-addons")
		require.True(t, ok, name)
		assert.Equal(t, []string{fakeargocd.Synced, health, merge}, []string{addons.SyncStatus, addons.Health, addons.Revision}, name)
		workloads, ok := w.argo.Application("", name+"-workloads")
		require.True(t, ok, name)
		assert.Equal(t, []string{fakeargocd.Synced, health, merge}, []string{workloads.SyncStatus, workloads.Health, workloads.Revisions[1]}, name)
	}

	tests := []gateCase{
		{"a-dev-cpu-1", w.tfGate, rollout.GatePassed, "terraform-apply (a-dev-cpu-1) succeeded on " + merge[:7]},
		{"a-dev-cpu-1", w.argoGate, rollout.GatePassed, "2 applications Synced and Healthy at revisions containing " + merge[:7]},
		{"a-dev-cpu-1", w.eksGate, rollout.GatePassed, "cluster a-dev-cpu-1 is ACTIVE at 1.30, and its 1 managed node group too"},
		{"a-dev-cpu-2", w.tfGate, rollout.GateFailed, "check run terraform-apply (a-dev-cpu-2) (failure) failed on " + merge[:7]},
		{"a-dev-cpu-2", w.argoGate, rollout.GateFailed, "application a-dev-cpu-2-addons is Degraded at " + merge[:7]},
		{"a-dev-cpu-2", w.eksGate, rollout.GateWaiting, "cluster a-dev-cpu-2 is ACTIVE at 1.29, behind the target 1.30"},
		{"a-dev-gpu-1", w.tfGate, rollout.GateWaiting, `no check run or status matches "terraform-apply (a-dev-gpu-1)" yet`},
	}
	for _, tc := range tests {
		tg := w.target(t, tc.cluster, merge)
		tg.Version = "1.30"
		got, detail := outcome(t, tc.gate, tg)
		assert.Equal(t, tc.want, got, "%s gate on %s: %s", tc.gate.Name(), tc.cluster, detail)
		assert.Contains(t, detail, tc.detail, "%s gate on %s", tc.gate.Name(), tc.cluster)
	}
}

func TestRunGivesEachOfQuickMergesItsOwnChecks(t *testing.T) {
	t.Parallel()
	w := start(t)
	// One push brings two commits on main's first-parent chain: a direct
	// commit, then the merge of a branch whose own commit is not on it.
	w.edit(t, [3]string{"tenants/tenant-a/dev.yaml", "services.eks.config.a-dev-gpu-1.version", "1.30"})
	w.git(t, "commit", "-q", "-am", "tenant-a dev: EKS 1.30 for a-dev-gpu-1")
	first := w.git(t, "rev-parse", "HEAD")
	w.git(t, "checkout", "-q", "-b", "labels")
	w.edit(t, [3]string{"addons/tenants/tenant-b/environments/dev/clusters/b-dev-gpu-1/fleet/fleet-secret/values.yaml",
		"externalSecret.labels.addonsRelease", "release3"})
	w.git(t, "commit", "-q", "-am", "tenant-b dev: addonsRelease release3 for b-dev-gpu-1")
	branch := w.git(t, "rev-parse", "HEAD")
	w.git(t, "checkout", "-q", "main")
	w.git(t, "merge", "-q", "--no-ff", "-m", "Merge the labels branch", "labels")
	second := w.commit(t, "nothing more") // pushes both
	require.Equal(t, second, w.git(t, "rev-parse", "HEAD"))

	w.waitFor(t, first, "a-dev-gpu-1: terraform-apply success", "a-dev-gpu-1: eks 1.30", "a-dev-gpu-1: argocd Synced Healthy")
	w.waitFor(t, second, "b-dev-gpu-1: terraform-apply success",
		"b-dev-gpu-1: argocd labels addonsRelease=release2 -> release3", "b-dev-gpu-1: argocd Synced Healthy")
	assert.Equal(t, map[string]string{"terraform-apply (a-dev-gpu-1)": "completed/success"}, checkRuns(t, w, first))
	assert.Equal(t, map[string]string{"terraform-apply (b-dev-gpu-1)": "completed/success"}, checkRuns(t, w, second))
	assert.Empty(t, checkRuns(t, w, branch), "the branch's own commit is not on main's first-parent chain")

	gpu, _ := w.inv.Cluster("b-dev-gpu-1")
	got, ok := w.eks.Cluster(gpu.Account, gpu.Region, gpu.Name)
	require.True(t, ok)
	assert.Equal(t, "1.29", got.Version, "a label change leaves EKS alone")
	addons, _ := w.argo.Application("", "a-dev-gpu-1-addons")
	assert.Equal(t, second, addons.Revision, "Argo CD syncs to the latest head")

	// The first merge's cluster passes on revisions that contain it.
	tg := w.target(t, "a-dev-gpu-1", first)
	tg.Version = "1.30"
	for _, g := range []gate.Gate{w.tfGate, w.argoGate, w.eksGate} {
		o, detail := outcome(t, g, tg)
		assert.Equal(t, rollout.GatePassed, o, "%s gate: %s", g.Name(), detail)
	}
	// The second merge's cluster carries the new label.
	tg = w.target(t, "b-dev-gpu-1", second)
	tg.Change, tg.Version, tg.Labels = rollout.KindLabel, "", map[string]string{"addonsRelease": "release3"}
	for _, g := range []gate.Gate{w.tfGate, w.argoGate, w.eksGate} {
		o, detail := outcome(t, g, tg)
		assert.Equal(t, rollout.GatePassed, o, "%s gate: %s", g.Name(), detail)
	}
	o, detail := outcome(t, w.argoGate, tg)
	require.Equal(t, rollout.GatePassed, o)
	assert.Contains(t, detail, "cluster b-dev-gpu-1 carries addonsRelease=release3")
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	t.Parallel()
	good := fleetsim.Config{GitHubURL: "http://127.0.0.1:1", Token: "t", Owner: "acme", Repo: "fleet", Dir: t.TempDir(),
		ArgoCD: fakeargocd.New("x"), EKS: fakeeks.New()}
	tests := []struct {
		name   string
		change func(*fleetsim.Config)
		want   string
	}{
		{"no GitHub", func(c *fleetsim.Config) { c.GitHubURL = "" }, "no GitHub URL"},
		{"no token", func(c *fleetsim.Config) { c.Token = "" }, "no token"},
		{"no repository", func(c *fleetsim.Config) { c.Repo = "" }, `repository "acme"/"" needs an owner and a name`},
		{"no directory", func(c *fleetsim.Config) { c.Dir = "" }, "no scratch directory"},
		{"no Argo CD", func(c *fleetsim.Config) { c.ArgoCD = nil }, "no Argo CD"},
		{"no EKS", func(c *fleetsim.Config) { c.EKS = nil }, "no EKS"},
		{"negative delay", func(c *fleetsim.Config) { c.SyncDelay = -time.Second }, "negative delay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.change(&cfg)
			_, err := fleetsim.New(cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := fleetsim.New(good)
	require.NoError(t, err)
}

func TestEventString(t *testing.T) {
	t.Parallel()
	e := fleetsim.Event{At: epoch.Add(90 * time.Second), Commit: strings.Repeat("ab", 20), Cluster: "a-dev-cpu-1", What: "eks 1.30"}
	assert.Equal(t, "02:01:30 abababa a-dev-cpu-1: eks 1.30", e.String())
	assert.Equal(t, "02:00:00 ------- fleet: seeded 3 clusters", fleetsim.Event{At: epoch, What: "seeded 3 clusters"}.String())
}

// removeEntry removes the mapping entry key, with everything under it and
// the blank lines after it, from file in the person's checkout.
func (w *world) removeEntry(t *testing.T, file, key string) {
	t.Helper()
	path := filepath.Join(w.work, file)
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(src), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == key+":" })
	require.GreaterOrEqual(t, start, 0, "%s has no entry %s", file, key)
	indent := len(lines[start]) - len(strings.TrimLeft(lines[start], " "))
	end := start + 1
	for end < len(lines) {
		l := lines[end]
		if strings.TrimSpace(l) != "" && len(l)-len(strings.TrimLeft(l, " ")) <= indent {
			break
		}
		end++
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(slices.Delete(lines, start, end), "")), 0o644))
}

// insertAfter writes text into file in the person's checkout after the
// line that reads after (spaces around it aside).
func (w *world) insertAfter(t *testing.T, file, after, text string) {
	t.Helper()
	path := filepath.Join(w.work, file)
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(src), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == after })
	require.GreaterOrEqual(t, i, 0, "%s has no line %q", file, after)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(slices.Insert(lines, i+1, text), "")), 0o644))
}

// greenEntry is a new cluster's blueprint entry, a-dev-cpu-3 at 1.30.
const greenEntry = `      a-dev-cpu-3:
        fleet: cpu
        version: "1.30"
        vpc_name: shared
        nodegroups:
          workers:
            instance_types: [m6i.xlarge]
            min_size: 2
            max_size: 10
            ami_release_version: "1.30.0-20240703"

`

func TestRunRegistersANewClusterAsTheGatesLookItUp(t *testing.T) {
	t.Parallel()
	w := start(t)
	const blueprint = "tenants/tenant-a/dev.yaml"
	w.insertAfter(t, blueprint, "config:", greenEntry)
	inv, err := gitops.Load(t.Context(), []string{w.work})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	green, ok := inv.Cluster("a-dev-cpu-3")
	require.True(t, ok, "the checkout's fleet has the new cluster")
	require.NotEmpty(t, green.Labels)
	merge := w.commit(t, "tenant-a dev: a-dev-cpu-3, the green cluster of a-dev-cpu-2, at 1.30")
	w.waitFor(t, merge, "a-dev-cpu-3: changed new at 1.30", "a-dev-cpu-3: created at 1.30",
		"a-dev-cpu-3: terraform-apply success", "a-dev-cpu-3: argocd Synced Healthy")
	assert.Equal(t, map[string]string{"terraform-apply (a-dev-cpu-3)": "completed/success"}, checkRuns(t, w, merge))

	got, ok := w.eks.Cluster(green.Account, green.Region, green.Name)
	require.True(t, ok, "EKS has the new cluster")
	assert.Equal(t, []string{"1.30", fakeeks.Active}, []string{got.Version, got.Status})
	require.Len(t, got.Nodegroups, 1)
	assert.Equal(t, "1.30", got.Nodegroups[0].Version)
	blue, _ := w.eks.Cluster(green.Account, green.Region, "a-dev-cpu-2")
	assert.Equal(t, sortedAddons(blue.Addons, "1.29"), sortedAddons(got.Addons, "1.30"), "the add-ons of its peers, kube-proxy at its minor")
	secret, ok := w.argo.Cluster(green.Name)
	require.True(t, ok, "Argo CD has the new cluster")
	assert.Equal(t, green.Labels, secret.Labels)

	tg := gate.Target{Campaign: "sim", Cluster: green.Name, Tenant: green.Tenant, Env: green.Env, Region: green.Region,
		Account: green.Account, Fleet: green.Fleet, Repo: repo, MergeSHA: merge, Change: rollout.KindLabel, Labels: green.Labels}
	for _, g := range []gate.Gate{w.tfGate, w.argoGate, w.eksGate} {
		o, detail := outcome(t, g, tg)
		assert.Equal(t, rollout.GatePassed, o, "%s gate: %s", g.Name(), detail)
	}
	o, detail := outcome(t, w.argoGate, tg)
	require.Equal(t, rollout.GatePassed, o)
	assert.Contains(t, detail, "2 applications Synced and Healthy at revisions containing "+merge[:7])
	tg.Change, tg.Labels, tg.Version = rollout.KindEKSVersion, nil, "1.30"
	o, detail = outcome(t, w.eksGate, tg)
	assert.Equal(t, rollout.GatePassed, o)
	assert.Equal(t, "cluster a-dev-cpu-3 is ACTIVE at 1.30, and its 1 managed node group too", detail)
}

// sortedAddons lists add-ons as "name version", kube-proxy's build with its
// minor written as M, sorted.
func sortedAddons(list []fakeeks.Addon, minor string) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Name + " " + strings.ReplaceAll(a.Version, minor, "M")
	}
	slices.Sort(out)
	return out
}

func TestRunDestroysARemovedClusterAndKeepsOneWhoseDestroyFails(t *testing.T) {
	t.Parallel()
	w := start(t, "a-dev-gpu-1")
	const blueprint = "tenants/tenant-a/dev.yaml"
	w.removeEntry(t, blueprint, "a-dev-cpu-2")
	w.removeEntry(t, blueprint, "a-dev-gpu-1")
	merge := w.commit(t, "tenant-a dev: retire a-dev-cpu-2 and a-dev-gpu-1")
	w.waitFor(t, merge,
		"a-dev-cpu-2: changed removed at 1.29", "a-dev-cpu-2: destroyed", "a-dev-cpu-2: eks deleting",
		"a-dev-cpu-2: terraform-apply success", "a-dev-cpu-2: eks gone",
		"a-dev-cpu-2: argocd removed cluster secret and 2 applications",
		"a-dev-gpu-1: changed removed at 1.29", "a-dev-gpu-1: eks stays at 1.29", "a-dev-gpu-1: terraform-apply failure",
		fmt.Sprintf(": argocd synced %d applications of %d clusters to %s", 2*(len(w.inv.Clusters)-2), len(w.inv.Clusters)-2, merge[:7]))
	for _, e := range w.sim.Events() {
		if e.Commit == merge && e.Cluster == "a-dev-gpu-1" {
			assert.NotContains(t, e.What, "argocd", "a cluster whose destroy failed is left in Argo CD")
		}
	}

	runs, err := w.gh.CheckRuns(t.Context(), "acme", "fleet", merge)
	require.NoError(t, err)
	got := map[string][]string{}
	for _, r := range runs {
		got[r.Name] = []string{r.Status + "/" + r.Conclusion, r.Title, r.Summary}
	}
	assert.Equal(t, map[string][]string{
		"terraform-apply (a-dev-cpu-2)": {"completed/success", "Terraform destroyed a-dev-cpu-2",
			"Destroyed cluster a-dev-cpu-2, removed from the fleet (it was at 1.29)."},
		"terraform-apply (a-dev-gpu-1)": {"completed/failure", "Terraform failed to destroy a-dev-gpu-1",
			"Error: waiting for EKS Cluster (a-dev-gpu-1) delete: unexpected state 'FAILED', wanted target ''. a-dev-gpu-1 was not destroyed."},
	}, got)

	removed, _ := w.inv.Cluster("a-dev-cpu-2")
	_, ok := w.eks.Cluster(removed.Account, removed.Region, removed.Name)
	assert.False(t, ok, "EKS has no a-dev-cpu-2")
	_, ok = w.argo.Cluster(removed.Name)
	assert.False(t, ok, "Argo CD has no a-dev-cpu-2")
	for _, app := range []string{"a-dev-cpu-2-addons", "a-dev-cpu-2-workloads"} {
		_, ok := w.argo.Application("", app)
		assert.False(t, ok, app)
	}
	kept, _ := w.inv.Cluster("a-dev-gpu-1")
	c, ok := w.eks.Cluster(kept.Account, kept.Region, kept.Name)
	require.True(t, ok, "a-dev-gpu-1 stays in EKS")
	assert.Equal(t, []string{"1.29", fakeeks.Active}, []string{c.Version, c.Status})
	_, ok = w.argo.Cluster(kept.Name)
	assert.True(t, ok, "a-dev-gpu-1 stays in Argo CD")
	_, ok = w.argo.Application("", "a-dev-gpu-1-addons")
	assert.True(t, ok, "a-dev-gpu-1's applications stay")

	tests := []gateCase{
		{"a-dev-cpu-2", w.tfGate, rollout.GatePassed, "terraform-apply (a-dev-cpu-2) succeeded on " + merge[:7]},
		{"a-dev-cpu-2", w.argoGate, rollout.GatePassed, "Argo CD has no cluster a-dev-cpu-2 and no application bound for it"},
		{"a-dev-cpu-2", w.eksGate, rollout.GatePassed, "cluster a-dev-cpu-2 is gone: EKS has no cluster of that name"},
		{"a-dev-gpu-1", w.tfGate, rollout.GateFailed, "check run terraform-apply (a-dev-gpu-1) (failure) failed on " + merge[:7]},
		{"a-dev-gpu-1", w.argoGate, rollout.GateWaiting, "Argo CD still has cluster a-dev-gpu-1"},
		{"a-dev-gpu-1", w.eksGate, rollout.GateWaiting, "cluster a-dev-gpu-1 is still ACTIVE at 1.29"},
	}
	for _, tc := range tests {
		tg := w.target(t, tc.cluster, merge)
		tg.Change, tg.Version, tg.Gone = rollout.KindField, "", true
		got, detail := outcome(t, tc.gate, tg)
		assert.Equal(t, tc.want, got, "%s gate on %s: %s", tc.gate.Name(), tc.cluster, detail)
		assert.Contains(t, detail, tc.detail, "%s gate on %s", tc.gate.Name(), tc.cluster)
	}
}
