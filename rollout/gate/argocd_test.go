package gate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/argocontract"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

const (
	argoToken     = "argocd-token"
	argoCluster   = "prod-cpu-1"
	argoServerURL = "https://prod-cpu-1.eks.example.com"
	fleetRepoURL  = "https://github.com/acme/fleet.git"

	// A history of acme/fleet: olderSHA <- mergeSHA <- newerSHA, and
	// branchSHA forked from olderSHA (it does not contain the merge).
	olderSHA  = "1111111111111111111111111111111111111111"
	newerSHA  = "5555555555555555555555555555555555555555"
	branchSHA = "9999999999999999999999999999999999999999"
)

// fleetHistory maps each commit of acme/fleet to its parent.
var fleetHistory = map[string]string{mergeSHA: olderSHA, newerSHA: mergeSHA, branchSHA: olderSHA}

// history is an Ancestry over fleetHistory that counts its calls.
type history struct {
	calls atomic.Int32
	err   error
}

func (h *history) Contains(_ context.Context, repo, revision, commit string) (bool, error) {
	h.calls.Add(1)
	if h.err != nil {
		return false, h.err
	}
	if repo != "acme/fleet" {
		return false, fmt.Errorf("unknown repository %s", repo)
	}
	for c := revision; c != ""; c = fleetHistory[c] {
		if c == commit {
			return true, nil
		}
	}
	return false, nil
}

var argoContract struct {
	once     sync.Once
	contract *argocontract.Contract
	err      error
}

// startArgoCD serves h behind Argo CD's contract: every request the gate
// sends and every response h gives must match swagger.json.
func startArgoCD(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	path := filepath.Join(testenv.ModuleRoot(t), argocontract.SwaggerPath)
	argoContract.once.Do(func() { argoContract.contract, argoContract.err = argocontract.LoadContract(path) })
	require.NoError(t, argoContract.err)
	srv := httptest.NewServer(argoContract.contract.Wrap(h, func(err error) { t.Errorf("argo cd contract: %v", err) }))
	t.Cleanup(srv.Close)
	return srv
}

// app is an application of acme/fleet bound for argoCluster, Synced to the
// merge commit and Healthy; change adjusts it.
func app(name string, change func(*fakeargocd.Application)) fakeargocd.Application {
	a := fakeargocd.Application{
		Name: name, Project: "fleet", Labels: map[string]string{"team": "platform"},
		DestName: argoCluster, RepoURL: fleetRepoURL, Path: "addons/" + name, TargetRevision: "main",
		SyncStatus: fakeargocd.Synced, Revision: mergeSHA, Health: fakeargocd.Healthy,
		Phase: fakeargocd.PhaseSucceeded, OperationMessage: "successfully synced (all tasks run)", OperationRevision: mergeSHA,
	}
	if change != nil {
		change(&a)
	}
	return a
}

func registered(labels map[string]string) fakeargocd.Cluster {
	return fakeargocd.Cluster{Name: argoCluster, Server: argoServerURL, Labels: labels}
}

func argoTarget(labels map[string]string) gate.Target {
	change := rollout.KindEKSVersion
	if labels != nil {
		change = rollout.KindLabel
	}
	return gate.Target{Campaign: "c", Cluster: argoCluster, Tenant: "tenant-a", Repo: "acme/fleet",
		MergeSHA: mergeSHA, Change: change, Labels: labels}
}

func checkArgo(t *testing.T, g gate.Gate, target gate.Target) gate.Result {
	t.Helper()
	got := gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(), []gate.Target{target})
	require.Len(t, got, 1)
	return got[0]
}

func TestArgoCDGate(t *testing.T) {
	t.Parallel()
	release2 := map[string]string{"addonsRelease": "release2"}
	tests := []struct {
		name     string
		cfg      rollout.ArgoCDGate
		apps     []fakeargocd.Application
		clusters []fakeargocd.Cluster
		labels   map[string]string
		gone     bool // the change removes the cluster
		token    string
		ancestry *history
		want     rollout.Outcome
		err      bool
		detail   string
	}{
		{name: "synced to the merge commit and healthy passes",
			apps: []fakeargocd.Application{app("metrics", nil), app("logging", nil)},
			want: rollout.GatePassed, detail: "2 applications Synced and Healthy at revisions containing 4f1c2d3"},
		{name: "synced to a newer revision that contains the merge passes",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Revision = newerSHA })},
			want: rollout.GatePassed},
		{name: "synced to an older revision is not done",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Revision, a.OperationRevision = olderSHA, olderSHA })},
			want: rollout.GateWaiting, detail: "is Synced to 1111111, which does not contain 4f1c2d3: Argo CD has not seen the merge yet"},
		{name: "synced to an older revision without an operation waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Revision, a.Phase = olderSHA, "" })},
			want: rollout.GateWaiting, detail: "is at 1111111, which does not contain 4f1c2d3 yet"},
		{name: "synced to a branch that forked before the merge waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Revision = branchSHA })},
			want: rollout.GateWaiting, detail: "does not contain"},
		{name: "out of sync waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.SyncStatus, a.Revision = fakeargocd.OutOfSync, olderSHA })},
			want: rollout.GateWaiting, detail: "is OutOfSync at 1111111"},
		{name: "degraded fails",
			apps: []fakeargocd.Application{app("metrics", nil), app("logging", func(a *fakeargocd.Application) {
				a.Health, a.HealthMessage = fakeargocd.Degraded, "Deployment logging exceeded its progress deadline"
			})},
			want: rollout.GateFailed, detail: "application logging is Degraded at 4f1c2d3: Deployment logging exceeded its progress deadline"},
		{name: "degraded at an older revision fails too",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) {
				a.Revision, a.SyncStatus, a.Health = olderSHA, fakeargocd.OutOfSync, fakeargocd.Degraded
			})},
			want: rollout.GateFailed, detail: "is Degraded at 1111111"},
		{name: "operation running waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) {
				a.Phase, a.OperationMessage, a.Health = fakeargocd.PhaseRunning, "waiting for healthy state of apps/Deployment/metrics", fakeargocd.Degraded
			})},
			want: rollout.GateWaiting, detail: "application metrics has a sync operation Running"},
		{name: "last sync failed waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) {
				a.Phase, a.OperationMessage = fakeargocd.PhaseFailed, "one or more synchronization tasks completed unsuccessfully"
			})},
			want: rollout.GateWaiting, detail: "last sync operation ended Failed: one or more synchronization tasks completed unsuccessfully"},
		{name: "progressing waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Health = fakeargocd.Progressing })},
			want: rollout.GateWaiting, detail: "application metrics is Progressing"},
		{name: "missing waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Health = fakeargocd.Missing })},
			want: rollout.GateWaiting, detail: "is Missing"},
		{name: "unknown health waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Health = fakeargocd.Unknown })},
			want: rollout.GateWaiting, detail: "is Unknown"},
		{name: "no application waits",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.DestName = "prod-cpu-2" })},
			want: rollout.GateWaiting, detail: "Argo CD has no application bound for cluster prod-cpu-1"},
		{name: "applications of other clusters do not count",
			apps: []fakeargocd.Application{app("metrics", nil), app("other", func(a *fakeargocd.Application) {
				a.DestName, a.Health = "prod-cpu-2", fakeargocd.Degraded
			})},
			want: rollout.GatePassed, detail: "1 application Synced"},
		{name: "destination by server URL",
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.DestName, a.DestServer = "", argoServerURL })},
			want: rollout.GatePassed},
		{name: "selector narrows the applications",
			cfg: rollout.ArgoCDGate{Selector: "team in (platform),tier!=experimental"},
			apps: []fakeargocd.Application{app("metrics", nil), app("experiment", func(a *fakeargocd.Application) {
				a.Labels["tier"], a.Health = "experimental", fakeargocd.Degraded
			})},
			want: rollout.GatePassed, detail: "1 application Synced"},
		{name: "selector matching nothing waits",
			cfg:  rollout.ArgoCDGate{Selector: "team=payments", Project: "fleet"},
			apps: []fakeargocd.Application{app("metrics", nil)},
			want: rollout.GateWaiting, detail: `(selector "team=payments", project "fleet")`},
		{name: "project narrows the applications",
			cfg: rollout.ArgoCDGate{Project: "fleet"},
			apps: []fakeargocd.Application{app("metrics", nil), app("sandbox", func(a *fakeargocd.Application) {
				a.Project, a.Health = "sandbox", fakeargocd.Degraded
			})},
			want: rollout.GatePassed},
		{name: "a source from another repository is not compared",
			apps: []fakeargocd.Application{app("metrics", nil), app("cert-manager", func(a *fakeargocd.Application) {
				a.RepoURL, a.Path, a.TargetRevision, a.Revision = "https://charts.jetstack.io", "", "v1.14.4", "v1.14.4"
			})},
			want: rollout.GatePassed, detail: "2 applications Synced and Healthy, the 1 from acme/fleet at a revision containing 4f1c2d3"},
		{name: "applications from other repositories pass on sync and health alone",
			apps: []fakeargocd.Application{app("cert-manager", func(a *fakeargocd.Application) {
				a.RepoURL, a.Path, a.TargetRevision, a.Revision = "https://charts.jetstack.io", "", "v1.14.4", "v1.14.4"
			})},
			want: rollout.GatePassed, detail: "(none takes a source from acme/fleet, so none was compared with 4f1c2d3)"},
		{name: "a multi-source application compares its source from the repository",
			apps: []fakeargocd.Application{app("addons", func(a *fakeargocd.Application) {
				a.Sources = []fakeargocd.Source{
					{RepoURL: "https://charts.example.com", Chart: "addons", TargetRevision: "2.0.0"},
					{RepoURL: "git@github.com:ACME/fleet.git", Path: "values", TargetRevision: "main"},
				}
				a.Revisions = []string{"2.0.0", olderSHA}
			})},
			want: rollout.GateWaiting, detail: "is Synced to 1111111, which does not contain 4f1c2d3"},
		{name: "a multi-source application synced past the merge passes",
			apps: []fakeargocd.Application{app("addons", func(a *fakeargocd.Application) {
				a.Sources = []fakeargocd.Source{
					{RepoURL: "https://charts.example.com", Chart: "addons", TargetRevision: "2.0.0"},
					{RepoURL: "https://github.com/acme/fleet", Path: "values", TargetRevision: "main"},
				}
				a.Revisions = []string{"2.0.0", newerSHA}
			})},
			want: rollout.GatePassed},
		{name: "wanted label present passes",
			apps: []fakeargocd.Application{app("metrics", nil)}, labels: release2,
			clusters: []fakeargocd.Cluster{registered(map[string]string{"addonsRelease": "release2", "fleet": "cpu"})},
			want:     rollout.GatePassed, detail: "cluster prod-cpu-1 carries addonsRelease=release2"},
		{name: "wanted label still at its old value waits",
			apps: []fakeargocd.Application{app("metrics", nil)}, labels: release2,
			clusters: []fakeargocd.Cluster{registered(map[string]string{"addonsRelease": "release1"})},
			want:     rollout.GateWaiting, detail: "cluster prod-cpu-1 has label addonsRelease=release1, not release2 yet"},
		{name: "wanted label absent waits",
			apps: []fakeargocd.Application{app("metrics", nil)}, labels: release2,
			clusters: []fakeargocd.Cluster{registered(nil)},
			want:     rollout.GateWaiting, detail: "cluster prod-cpu-1 has no label addonsRelease yet (want release2)"},
		{name: "label change on a cluster Argo CD does not know waits",
			apps: []fakeargocd.Application{app("metrics", nil)}, labels: release2, clusters: []fakeargocd.Cluster{},
			want: rollout.GateWaiting, detail: "Argo CD has no cluster named prod-cpu-1"},
		{name: "bad token is a provider error",
			apps: []fakeargocd.Application{app("metrics", nil)}, token: "stale-token",
			want: rollout.GateWaiting, err: true, detail: "401 Unauthorized: invalid session: token signature is invalid"},
		{name: "ancestry error is a provider error",
			apps:     []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Revision = newerSHA })},
			ancestry: &history{err: errors.New("GET /repos/acme/fleet/compare: 502 Bad Gateway")},
			want:     rollout.GateWaiting, err: true, detail: "502 Bad Gateway"},
		{name: "gone: no cluster secret and no application passes", gone: true, clusters: []fakeargocd.Cluster{},
			apps: []fakeargocd.Application{app("other", func(a *fakeargocd.Application) { a.DestName = "prod-cpu-2" })},
			want: rollout.GatePassed, detail: "Argo CD has no cluster prod-cpu-1 and no application bound for it"},
		{name: "gone: the cluster secret left waits", gone: true,
			want: rollout.GateWaiting, detail: "Argo CD still has cluster prod-cpu-1 (https://prod-cpu-1.eks.example.com)"},
		{name: "gone: an application left waits", gone: true, clusters: []fakeargocd.Cluster{},
			apps: []fakeargocd.Application{app("metrics", func(a *fakeargocd.Application) { a.Health = fakeargocd.Missing })},
			want: rollout.GateWaiting, detail: "application metrics still targets prod-cpu-1"},
		{name: "gone: the secret and applications by name and by server left wait", gone: true,
			apps: []fakeargocd.Application{app("metrics", nil), app("logging", func(a *fakeargocd.Application) { a.DestName, a.DestServer = "", argoServerURL })},
			want: rollout.GateWaiting, detail: "Argo CD still has cluster prod-cpu-1 (https://prod-cpu-1.eks.example.com); " +
				"application logging still targets prod-cpu-1; application metrics still targets prod-cpu-1"},
		{name: "gone: the selector's narrowing is named", gone: true, clusters: []fakeargocd.Cluster{},
			cfg:  rollout.ArgoCDGate{Selector: "team=platform"},
			apps: []fakeargocd.Application{app("payments", func(a *fakeargocd.Application) { a.Labels["team"] = "payments" })},
			want: rollout.GatePassed, detail: `no application bound for it (selector "team=platform")`},
		{name: "gone: bad token is a provider error", gone: true, token: "stale-token",
			want: rollout.GateWaiting, err: true, detail: "401 Unauthorized"},
	}
	var golden strings.Builder
	for _, tc := range tests {
		fake := fakeargocd.New(argoToken)
		for _, a := range tc.apps {
			fake.SetApplication(a)
		}
		clusters := tc.clusters
		if clusters == nil {
			clusters = []fakeargocd.Cluster{registered(nil)}
		}
		for _, c := range clusters {
			fake.SetCluster(c)
		}
		srv := startArgoCD(t, fake)
		cfg := tc.cfg
		cfg.Server, cfg.TokenEnv = srv.URL, "ARGOCD_TOKEN"
		token := argoToken
		if tc.token != "" {
			token = tc.token
		}
		anc := tc.ancestry
		if anc == nil {
			anc = &history{}
		}
		g, err := gate.NewArgoCD(cfg, token, anc)
		require.NoError(t, err)
		target := argoTarget(tc.labels)
		target.Gone = tc.gone
		r := checkArgo(t, g, target)
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, r.Outcome, "detail: %s", r.Detail)
			assert.Equal(t, tc.err, r.Err != nil, "provider error: %v", r.Err)
			assert.Contains(t, r.Detail, tc.detail)
			assert.Equal(t, rollout.GateArgoCD, r.Gate)
		})
		golden.WriteString("== " + tc.name + "\n" + strings.ReplaceAll(describe(r), srv.URL, "https://argocd.example.com") + "\n")
	}
	checkGolden(t, "argocd/gate.golden", golden.String())
}

// TestArgoCDGateFollowsASync: the gate waits while Argo CD is behind and
// passes once the fake syncs the cluster to a revision past the merge.
func TestArgoCDGateFollowsASync(t *testing.T) {
	t.Parallel()
	fake := fakeargocd.New(argoToken)
	fake.SetCluster(registered(nil))
	fake.SetApplication(app("metrics", func(a *fakeargocd.Application) { a.Revision = olderSHA }))
	fake.SetApplication(app("logging", func(a *fakeargocd.Application) { a.DestName, a.DestServer, a.Revision = "", argoServerURL, olderSHA }))
	srv := startArgoCD(t, fake)
	anc := &history{}
	g, err := gate.NewArgoCD(rollout.ArgoCDGate{Server: srv.URL}, argoToken, anc)
	require.NoError(t, err)

	r := checkArgo(t, g, argoTarget(nil))
	require.Equal(t, rollout.GateWaiting, r.Outcome, r.Detail)
	require.Equal(t, 2, fake.Sync(argoCluster, newerSHA, fakeargocd.Progressing))
	r = checkArgo(t, g, argoTarget(nil))
	require.Equal(t, rollout.GateWaiting, r.Outcome, r.Detail)
	assert.Contains(t, r.Detail, "is Progressing")
	fake.Sync(argoCluster, newerSHA, fakeargocd.Healthy)
	r = checkArgo(t, g, argoTarget(nil))
	assert.Equal(t, rollout.GatePassed, r.Outcome, r.Detail)
	for _, e := range r.Evidence {
		assert.Equal(t, newerSHA, e.Revision, e.Check)
	}

	// Answers about full SHAs are kept: checking again asks no more.
	calls := anc.calls.Load()
	checkArgo(t, g, argoTarget(nil))
	assert.Equal(t, calls, anc.calls.Load())
}

// TestArgoCDGateFollowsARemoval: a cluster the change removes waits while
// its secret and applications are there, including an application bound by
// server URL that outlives the secret, and passes once nothing is left.
func TestArgoCDGateFollowsARemoval(t *testing.T) {
	t.Parallel()
	fake := fakeargocd.New(argoToken)
	fake.SetCluster(registered(nil))
	fake.SetApplication(app("metrics", nil))
	byServer := app("logging", func(a *fakeargocd.Application) { a.DestName, a.DestServer = "", argoServerURL })
	fake.SetApplication(byServer)
	fake.SetApplication(app("other", func(a *fakeargocd.Application) { a.DestName = "prod-cpu-2" }))
	srv := startArgoCD(t, fake)
	g, err := gate.NewArgoCD(rollout.ArgoCDGate{Server: srv.URL}, argoToken, &history{})
	require.NoError(t, err)
	target := argoTarget(nil)
	target.Gone = true

	r := checkArgo(t, g, target)
	require.Equal(t, rollout.GateWaiting, r.Outcome, r.Detail)
	assert.Contains(t, r.Detail, "Argo CD still has cluster prod-cpu-1")

	n, ok := fake.RemoveCluster(argoCluster)
	require.True(t, ok)
	require.Equal(t, 2, n)
	fake.SetApplication(byServer) // an application not pruned yet
	r = checkArgo(t, g, target)
	require.Equal(t, rollout.GateWaiting, r.Outcome, r.Detail)
	assert.Equal(t, "application logging still targets prod-cpu-1", r.Detail, "the server URL seen before still binds it")

	// The fake prunes by the secret's server URL: register it to remove it
	// with the application.
	fake.SetCluster(registered(nil))
	fake.RemoveCluster(argoCluster)
	r = checkArgo(t, g, target)
	assert.Equal(t, rollout.GatePassed, r.Outcome, r.Detail)
	_, ok = fake.Application("", "other")
	assert.True(t, ok, "another cluster's application stays")
}

// TestArgoCDGateLabelArrives: a label change waits until the Argo CD
// cluster secret carries every wanted value.
func TestArgoCDGateLabelArrives(t *testing.T) {
	t.Parallel()
	fake := fakeargocd.New(argoToken)
	fake.SetCluster(registered(map[string]string{"addonsRelease": "release1", "monitoringRelease": "default"}))
	fake.SetApplication(app("metrics", nil))
	srv := startArgoCD(t, fake)
	g, err := gate.NewArgoCD(rollout.ArgoCDGate{Server: srv.URL}, argoToken, &history{})
	require.NoError(t, err)
	want := map[string]string{"addonsRelease": "release2", "monitoringRelease": "v2"}

	r := checkArgo(t, g, argoTarget(want))
	assert.Equal(t, rollout.GateWaiting, r.Outcome)
	assert.Contains(t, r.Detail, "addonsRelease=release1, not release2")
	assert.Contains(t, r.Detail, "monitoringRelease=default, not v2")

	fake.SetCluster(registered(map[string]string{"addonsRelease": "release2", "monitoringRelease": "default"}))
	r = checkArgo(t, g, argoTarget(want))
	assert.Equal(t, rollout.GateWaiting, r.Outcome)
	assert.NotContains(t, r.Detail, "addonsRelease")

	fake.SetCluster(registered(map[string]string{"addonsRelease": "release2", "monitoringRelease": "v2"}))
	r = checkArgo(t, g, argoTarget(want))
	assert.Equal(t, rollout.GatePassed, r.Outcome, r.Detail)
}

// TestArgoCDGateProviderErrors: an unreachable or failing Argo CD never
// passes or fails a cluster.
func TestArgoCDGateProviderErrors(t *testing.T) {
	t.Parallel()
	unavailable := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"upstream connect error","code":14,"message":"upstream connect error"}`))
	})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name   string
		server func(t *testing.T) string
		target gate.Target
		detail string
	}{
		{name: "503", server: func(t *testing.T) string { return startArgoCD(t, unavailable).URL },
			target: argoTarget(nil), detail: "503 Service Unavailable: upstream connect error"},
		{name: "unreachable", server: func(*testing.T) string { return closed.URL },
			target: argoTarget(nil), detail: "connection refused"},
		{name: "missing token", server: func(t *testing.T) string {
			fake := fakeargocd.New(argoToken)
			srv := startArgoCD(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Del("Authorization")
				fake.ServeHTTP(w, r)
			}))
			return srv.URL
		}, target: argoTarget(nil), detail: "401 Unauthorized: no session information"},
		{name: "repository not owner/name", server: func(t *testing.T) string { return startArgoCD(t, fakeargocd.New(argoToken)).URL },
			target: func() gate.Target { t := argoTarget(nil); t.Repo = "fleet"; return t }(), detail: `repository "fleet" is not owner/name`},
		{name: "no merge commit", server: func(t *testing.T) string { return startArgoCD(t, fakeargocd.New(argoToken)).URL },
			target: func() gate.Target { t := argoTarget(nil); t.MergeSHA = ""; return t }(), detail: "has no merge commit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := gate.NewArgoCD(rollout.ArgoCDGate{Server: tc.server(t)}, argoToken, &history{})
			require.NoError(t, err)
			r := checkArgo(t, g, tc.target)
			assert.Equal(t, rollout.GateWaiting, r.Outcome)
			require.Error(t, r.Err)
			assert.Contains(t, r.Err.Error(), tc.detail)
		})
	}
}

func TestNewArgoCDRefusesBadSettings(t *testing.T) {
	t.Parallel()
	_, err := gate.NewArgoCD(rollout.ArgoCDGate{Server: "argocd.example.com"}, argoToken, &history{})
	assert.ErrorContains(t, err, `server "argocd.example.com" is not an http or https URL`)
	_, err = gate.NewArgoCD(rollout.ArgoCDGate{Server: "https://argocd.example.com", TokenEnv: "ARGOCD_TOKEN"}, "", &history{})
	assert.ErrorContains(t, err, "the token is empty (is ARGOCD_TOKEN set?)")
	_, err = gate.NewArgoCD(rollout.ArgoCDGate{Server: "https://argocd.example.com"}, argoToken, nil)
	assert.ErrorContains(t, err, "no ancestry")
}

// comparer answers GitHub's compare API from fleetHistory.
type comparer struct {
	status string
	err    error
	asked  []string
}

func (c *comparer) Compare(_ context.Context, owner, repo, base, head string) (gate.Comparison, error) {
	c.asked = append(c.asked, fmt.Sprintf("%s/%s %s...%s", owner, repo, base, head))
	return gate.Comparison{Status: c.status}, c.err
}

func TestCompareAncestry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status string
		err    error
		want   bool
		bad    string
	}{
		{status: "ahead", want: true},
		{status: "identical", want: true},
		{status: "behind", want: false},
		{status: "diverged", want: false},
		{status: "unrelated", bad: `unknown status "unrelated"`},
		{err: errors.New("404 Not Found"), bad: "compare 4f1c2d3...5555555 in acme/fleet: 404 Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.status+fmt.Sprint(tc.err), func(t *testing.T) {
			t.Parallel()
			c := &comparer{status: tc.status, err: tc.err}
			got, err := gate.CompareAncestry{API: c}.Contains(t.Context(), "acme/fleet", newerSHA, mergeSHA)
			// The merge commit is the base: revision must be it or ahead of it.
			assert.Equal(t, []string{"acme/fleet " + mergeSHA + "..." + newerSHA}, c.asked)
			if tc.bad != "" {
				assert.ErrorContains(t, err, tc.bad)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := gate.CompareAncestry{API: &comparer{}}.Contains(t.Context(), "fleet", newerSHA, mergeSHA)
	assert.ErrorContains(t, err, `repository "fleet" is not owner/name`)
}

// BenchmarkArgoCDCheck checks one cluster of a fleet of 100 clusters with
// 5 applications each, against the fake over loopback HTTP.
func BenchmarkArgoCDCheck(b *testing.B) {
	fake := fakeargocd.New(argoToken)
	for c := range 100 {
		cluster := fmt.Sprintf("prod-cpu-%d", c)
		fake.SetCluster(fakeargocd.Cluster{Name: cluster, Server: "https://" + cluster + ".example.com"})
		for a := range 5 {
			fake.SetApplication(app(fmt.Sprintf("addon-%d-%s", a, cluster), func(x *fakeargocd.Application) { x.DestName = cluster }))
		}
	}
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	g, err := gate.NewArgoCD(rollout.ArgoCDGate{Server: srv.URL}, argoToken, &history{})
	require.NoError(b, err)
	target := argoTarget(nil)
	target.Cluster = "prod-cpu-42"
	b.ReportAllocs()
	for b.Loop() {
		if r := g.Check(b.Context(), target); r.Outcome != rollout.GatePassed {
			b.Fatalf("%s: %s %v", r.Outcome, r.Detail, r.Err)
		}
	}
}
