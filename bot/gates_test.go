package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/webhooks"
)

const (
	argoToken = "argocd-secret-token"
	// The merge of a-dev-1's pull request, and the later commit Argo CD
	// synced to (it contains the merge).
	gateMergeSHA  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	gateSyncedSHA = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	gateAccount   = "111111111111"
	gateRegion    = "eu-west-1"
	gateRoleARN   = "arn:aws:iam::{{ .Account }}:role/fleetbot-verify"
)

// testGates are spec.gates sections, written at the indentation of its
// fields; %s in argocd is the server's URL.
var testGates = struct{ terraform, argocd, prometheus, eks string }{
	terraform:  "terraform:\n  checks: [\"terraform-apply ({{ .Cluster }})\"]",
	argocd:     "argocd:\n  server: %s\n  tokenEnv: ARGOCD_TOKEN",
	prometheus: "prometheus:\n  address: http://127.0.0.1:9/\n  interval: 1m\n  count: 2\n  queries:\n    - name: errors\n      query: 'errors{cluster=\"{{ .Cluster }}\"}'\n      success: result < 0.5",
	eks:        "eks:\n  roleARN: \"" + gateRoleARN + "\"",
}

// campaignSrc returns the test campaign eks-1-30 with gates (at the
// indentation of spec.gates' fields) and extra lines under spec.strategy.
func campaignSrc(t *testing.T, gates string, strategy ...string) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/campaigns/eks-1-30.yaml")
	require.NoError(t, err)
	const oldGates = "  gates:\n    terraform:\n      checks: [terraform-apply]\n"
	require.Contains(t, string(src), oldGates)
	var b strings.Builder
	b.WriteString("  gates:\n")
	for line := range strings.SplitSeq(gates, "\n") {
		b.WriteString("    " + line + "\n")
	}
	s := strings.Replace(string(src), oldGates, b.String(), 1)
	for _, line := range strategy {
		s = strings.Replace(s, "    progressDeadline: 1h\n", "    progressDeadline: 1h\n    "+line+"\n", 1)
	}
	return []byte(s)
}

func parseCampaign(t *testing.T, src []byte) *rollout.Campaign {
	t.Helper()
	c, err := rollout.ParseCampaign("acme/fleet/campaigns/eks-1-30.yaml", src)
	require.NoError(t, err, "%s", src)
	return c
}

// writeCampaign puts a campaign file on the world's default branch.
func writeCampaign(t *testing.T, w *world, file string, src []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(w.mirror.dir, "campaigns", file), src, 0o644))
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	w.api.files["campaigns/"+file] = src
}

// gateAPI adds to the fake repository what the gates read: check runs,
// statuses and commit comparisons.
type gateAPI struct {
	*fakeAPI

	mu       sync.Mutex
	runs     []gh.CheckRun
	compared []string // "owner/repo base...head"
}

func (a *gateAPI) CheckRuns(_ context.Context, _, _, ref string) ([]gh.CheckRun, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []gh.CheckRun
	for _, r := range a.runs {
		if r.HeadSHA == ref {
			out = append(out, r)
		}
	}
	return out, nil
}

func (a *gateAPI) Statuses(context.Context, string, string, string) ([]gh.Status, error) {
	return nil, nil
}

// Compare says every commit it is asked about is ahead of the merge.
func (a *gateAPI) Compare(_ context.Context, owner, repo, base, head string) (gh.Comparison, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.compared = append(a.compared, fmt.Sprintf("%s/%s %s...%s", owner, repo, base, head))
	return gh.Comparison{Status: "ahead", AheadBy: 1}, nil
}

// gateHub is a GitHub whose one installation covers every repository; it
// records which repositories the bot asked it for.
type gateHub struct {
	api *gateAPI

	mu    sync.Mutex
	asked []string
}

func (h *gateHub) API(_ context.Context, owner, repo string) (Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, owner+"/"+repo)
	return h.api, nil
}

// querier answers every PromQL query with one sample of value.
type querier struct {
	mu      sync.Mutex
	value   float64
	queries []string
}

func (q *querier) Query(_ context.Context, query string, ts time.Time, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queries = append(q.queries, query)
	return model.Vector{&model.Sample{Value: model.SampleValue(q.value), Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil, nil, nil
}

func (q *querier) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queries)
}

func tokenEnv(token string) func(string) string {
	return func(name string) string {
		if name == "ARGOCD_TOKEN" {
			return token
		}
		return ""
	}
}

func gateNamesOf(gs []gate.Gate) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name())
	}
	return out
}

func TestBuildGates(t *testing.T) {
	t.Parallel()
	argo := fmt.Sprintf(testGates.argocd, "https://argocd.example.com")
	all := strings.Join([]string{testGates.eks, testGates.prometheus, argo, testGates.terraform}, "\n")
	const tokenMissing = "spec.gates.argocd.tokenEnv: environment variable ARGOCD_TOKEN is not set or empty"
	tests := []struct {
		name  string
		gates string
		token string
		want  []string
		err   string
	}{
		{name: "none", gates: "{}"},
		{name: "terraform", gates: testGates.terraform, want: []string{"terraform"}},
		{name: "argocd", gates: argo, token: argoToken, want: []string{"argocd"}},
		{name: "argocd token from a mounted secret", gates: argo, token: argoToken + "\n", want: []string{"argocd"}},
		{name: "argocd token not set", gates: argo, err: tokenMissing},
		{name: "argocd token blank", gates: argo, token: " \n", err: tokenMissing},
		{name: "prometheus", gates: testGates.prometheus, want: []string{"prometheus"}},
		{name: "eks", gates: testGates.eks, want: []string{"eks"}},
		{name: "terraform and prometheus", gates: testGates.terraform + "\n" + testGates.prometheus, want: []string{"prometheus", "terraform"}},
		{name: "argocd and eks", gates: argo + "\n" + testGates.eks, token: argoToken, want: []string{"argocd", "eks"}},
		{name: "all four", gates: all, token: argoToken, want: []string{"argocd", "eks", "prometheus", "terraform"}},
		{name: "all four without the token", gates: all, err: tokenMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := parseCampaign(t, campaignSrc(t, tc.gates))
			gs, err := newGates(c.Spec.Gates, gateInstallations(fakeHub{newFakeAPI()}), time.Now, GateOptions{Getenv: tokenEnv(tc.token)})
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, gateNamesOf(gs))
			assert.Equal(t, c.Spec.Gates.Names(), gateNamesOf(gs), "one gate per configured name, in Names' order")
		})
	}
}

// TestGatesReachTheirProviders builds all four gates through the bot and
// checks one cluster against fakes of every provider: the token comes from
// Getenv, Argo CD's revision is compared through the GitHub installation of
// the repository, and the runner and the prometheus gate keep the bot's
// clock.
func TestGatesReachTheirProviders(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	api := &gateAPI{fakeAPI: w.api, runs: []gh.CheckRun{
		{ID: 1, Name: "terraform-apply (a-dev-1)", HeadSHA: gateMergeSHA, Status: "completed", Conclusion: "success"},
		{ID: 2, Name: "terraform-apply (a-dev-2)", HeadSHA: gateMergeSHA, Status: "completed", Conclusion: "failure"},
	}}
	hub := &gateHub{api: api}

	argo := fakeargocd.New(argoToken)
	argo.SetApplication(fakeargocd.Application{
		Name: "addons", Project: "default", DestName: "a-dev-1",
		RepoURL: "https://github.com/acme/fleet.git", Path: "addons", TargetRevision: "main",
		SyncStatus: fakeargocd.Synced, Revision: gateSyncedSHA, Health: fakeargocd.Healthy,
	})
	argoSrv := httptest.NewServer(argo)
	t.Cleanup(argoSrv.Close)
	eks := fakeeks.New()
	eks.SetCluster(gateAccount, gateRegion, fakeeks.Cluster{Name: "a-dev-1", Version: "1.30"})
	eksSrv := httptest.NewServer(eks)
	t.Cleanup(eksSrv.Close)
	prom := &querier{value: 0.1}

	b.cfg.Gates, b.cfg.GitHub = nil, hub
	b.cfg.GateOptions = GateOptions{
		Getenv:     tokenEnv(argoToken),
		EKS:        []gate.EKSOption{gate.WithEKSEndpoint(eksSrv.URL), gate.WithSTSEndpoint(eksSrv.URL), gate.WithAWSConfig(fakeeks.BaseConfig())},
		Prometheus: []gate.PrometheusOption{gate.WithQuerier(prom)},
	}
	gates := strings.Join([]string{testGates.terraform, fmt.Sprintf(testGates.argocd, argoSrv.URL), testGates.prometheus, testGates.eks}, "\n")
	c := parseCampaign(t, campaignSrc(t, gates))
	g, err := b.gatesFor(campaign, c)
	require.NoError(t, err)

	target := gate.Target{Campaign: campaign, Cluster: "a-dev-1", Tenant: "tenant-a", Env: "dev", Region: gateRegion,
		Account: gateAccount, Fleet: "cpu", Repo: "acme/fleet", MergeSHA: gateMergeSHA, Change: rollout.KindEKSVersion, Version: "1.30"}
	outcomes := func() map[string]rollout.Outcome {
		out := map[string]rollout.Outcome{}
		for _, r := range g.Run(t.Context(), []gate.Target{target}) {
			require.NoError(t, r.Err, "%s: %s", r.Gate, r.Detail)
			if r.Gate != rollout.GatePrometheus { // stamped with its last measurement
				assert.Equal(t, w.clock.now(), r.At.UTC(), "%s: stamped with the bot's clock", r.Gate)
			}
			out[r.Gate] = r.Outcome
		}
		return out
	}

	assert.Equal(t, map[string]rollout.Outcome{"argocd": rollout.GatePassed, "eks": rollout.GatePassed,
		"prometheus": rollout.GateWaiting, "terraform": rollout.GatePassed}, outcomes(), "prometheus has 1 of 2 measurements")
	assert.Equal(t, []string{"acme/fleet " + gateMergeSHA + "..." + gateSyncedSHA}, api.compared)
	hub.mu.Lock()
	assert.Contains(t, hub.asked, "acme/fleet")
	hub.mu.Unlock()

	w.clock.add(30 * time.Second)
	assert.Equal(t, rollout.GateWaiting, outcomes()[rollout.GatePrometheus], "the interval has not passed on the bot's clock")
	assert.Equal(t, 1, prom.count())
	w.clock.add(30 * time.Second)
	assert.Equal(t, rollout.GatePassed, outcomes()[rollout.GatePrometheus], "a minute passed on the bot's clock")
	assert.Equal(t, 2, prom.count())

	again, err := b.gatesFor(campaign, c)
	require.NoError(t, err)
	assert.Same(t, g.(*gate.Runner), again.(*gate.Runner), "gates are built once per campaign")
	assert.Equal(t, 4, testutil.CollectAndCount(b.metrics.gateDuration, "fleetbot_gate_check_duration_seconds"), "each gate's checks are timed")

	// The terraform gate names each cluster's own checks.
	target.Cluster = "a-dev-2"
	for _, r := range g.Run(t.Context(), []gate.Target{target}) {
		if r.Gate == rollout.GateTerraform {
			assert.Equal(t, rollout.GateFailed, r.Outcome, r.Detail)
		}
	}
}

func TestPrometheusClockCanBeOverridden(t *testing.T) {
	t.Parallel()
	c := parseCampaign(t, campaignSrc(t, testGates.prometheus))
	prom := &querier{value: 0.1}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	own := func() time.Time { return now }
	frozen := func() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }
	gs, err := newGates(c.Spec.Gates, gateInstallations(fakeHub{newFakeAPI()}), frozen,
		GateOptions{Prometheus: []gate.PrometheusOption{gate.WithQuerier(prom), gate.WithClock(own)}})
	require.NoError(t, err)
	require.Len(t, gs, 1)
	target := gate.Target{Campaign: campaign, Cluster: "a-dev-1", MergeSHA: gateMergeSHA}
	gs[0].Check(t.Context(), target)
	now = now.Add(time.Minute)
	r := gs[0].Check(t.Context(), target)
	assert.Equal(t, rollout.GatePassed, r.Outcome, "the option's clock moved a minute: %s", r.Detail)
	assert.Equal(t, 2, prom.count())
}

// logBuffer collects a bot's logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// gateBot is a bot of w that builds the gates its campaigns configure,
// reading the Argo CD token from getenv, and logs to the returned buffer.
func gateBot(t *testing.T, w *world, getenv func(string) string) (*Bot, *logBuffer) {
	t.Helper()
	b := w.bot(t, "r1", nil)
	logs := &logBuffer{}
	b.cfg.Gates = nil
	b.cfg.GateOptions = GateOptions{Getenv: getenv}
	b.log = slog.New(slog.NewTextHandler(logs, nil))
	return b, logs
}

func TestStartRefusesGatesThatCannotBeBuilt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, fmt.Sprintf(testGates.argocd, "https://argocd.example.com")))
	b, logs := gateBot(t, w, tokenEnv(""))

	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	_, ok, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	assert.False(t, ok, "the campaign started without its Argo CD token")
	assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.campaignFiles.WithLabelValues("refused")))
	assert.Contains(t, logs.String(), "campaign cannot start")
	assert.Contains(t, logs.String(), "spec.gates.argocd.tokenEnv: environment variable ARGOCD_TOKEN is not set or empty")
	locks, err := w.store.Locks(t.Context())
	require.NoError(t, err)
	assert.Empty(t, locks, "a refused campaign holds no cluster")

	// With the token set, a restarted bot starts it, and keeps the gates it
	// built at the start.
	b2, _ := gateBot(t, w, tokenEnv(argoToken))
	require.NoError(t, b2.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignScheduled, st.Phase)
	assert.Equal(t, []string{"argocd"}, st.Policy.Gates)
	b2.mu.Lock()
	built := b2.gates[gatesKey{campaign: campaign}]
	b2.mu.Unlock()
	require.NotNil(t, built, "the start built the gates")
	c := parseCampaign(t, campaignSrc(t, fmt.Sprintf(testGates.argocd, "https://argocd.example.com")))
	g, err := b2.gatesFor(campaign, c)
	require.NoError(t, err)
	assert.Same(t, built.(*gate.Runner), g.(*gate.Runner))
}

// TestStartForgetsGatesOfARefusedCampaign: gates built for a campaign that
// the planner then refused are not kept for a later file of the same name.
func TestStartForgetsGatesOfARefusedCampaign(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, testGates.terraform))
	require.NoError(t, os.WriteFile(filepath.Join(w.mirror.dir, "tenants", "tenant-b", "dev.yaml"), []byte("tenant: [tenant-b\n"), 0o644))
	b, logs := gateBot(t, w, tokenEnv(""))

	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	assert.Contains(t, logs.String(), "campaign cannot start")
	assert.Contains(t, logs.String(), "the inventory has errors")
	b.mu.Lock()
	_, kept := b.gates[gatesKey{campaign: campaign}]
	b.mu.Unlock()
	assert.False(t, kept)
}

func TestStartCheckSkippedWithConfiguredGates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, fmt.Sprintf(testGates.argocd, "https://argocd.example.com")))
	b := w.bot(t, "r1", nil) // Config.Gates is set; no token anywhere
	b.cfg.GateOptions.Getenv = tokenEnv("")
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignScheduled, st.Phase)
}

// scriptedGates answers for the terraform gate with the outcome set for
// each cluster (passed by default), and records what it was asked.
type scriptedGates struct {
	mu      sync.Mutex
	outcome map[string]rollout.Outcome
	asked   []string
}

func (s *scriptedGates) Run(_ context.Context, targets []gate.Target) []gate.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gate.Result
	for _, t := range targets {
		s.asked = append(s.asked, t.Cluster)
		o, ok := s.outcome[t.Cluster]
		if !ok {
			o = rollout.GatePassed
		}
		out = append(out, gate.Result{Gate: rollout.GateTerraform, Cluster: t.Cluster, Outcome: o, Detail: fmt.Sprintf("terraform-apply (%s) %s", t.Cluster, o)})
	}
	return out
}

func (s *scriptedGates) set(cluster string, o rollout.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcome[cluster] = o
}

// takeAsked returns the clusters asked about since the last call.
func (s *scriptedGates) takeAsked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.asked
	s.asked = nil
	return out
}

// baking starts the test campaign with a bake of 1h and scripted gates, and
// merges wave 1's pull requests: every cluster passes and the wave bakes.
func baking(t *testing.T) (*world, *Bot, *scriptedGates) {
	t.Helper()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, testGates.terraform, "bake: 1h"))
	b := w.bot(t, "r1", nil)
	gates := &scriptedGates{outcome: map[string]rollout.Outcome{}}
	b.cfg.Gates = gates
	started(t, w, b)
	for n, sha := range map[int]string{1: "aaaa", 2: "bbbb"} {
		p := w.api.merge(t, n, sha)
		require.NoError(t, b.Handle(t.Context(), prWebhook("closed", n, p.HeadRef, sha)))
	}
	st, _ := w.state(t, campaign)
	require.Equal(t, rollout.WaveBaking, st.Waves[0].Phase, "every cluster passed")
	gates.takeAsked()
	return w, b, gates
}

func TestGateFailureDuringTheBakeFailsTheWave(t *testing.T) {
	t.Parallel()
	w, b, gates := baking(t)

	// During the bake, every pass asks the gates about the succeeded
	// clusters again; passing changes nothing.
	w.clock.add(10 * time.Minute)
	require.NoError(t, b.Reconcile(t.Context()))
	assert.ElementsMatch(t, []string{"a-dev-1", "a-dev-2", "b-dev-1"}, gates.takeAsked())
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.WaveBaking, st.Waves[0].Phase)

	// Then a gate fails on a cluster that had passed.
	gates.set("a-dev-2", rollout.GateFailed)
	w.clock.add(10 * time.Minute)
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.WaveFailed, st.Waves[0].Phase, "a failure during the bake fails the wave")
	assert.Equal(t, rollout.CampaignHalted, st.Phase, "one failure is over the budget of 0")
	phases := map[string]rollout.ClusterPhase{}
	for _, c := range st.Waves[0].Clusters {
		phases[c.Name] = c.Phase
	}
	assert.Equal(t, map[string]rollout.ClusterPhase{"a-dev-1": rollout.ClusterSucceeded, "a-dev-2": rollout.ClusterFailed, "b-dev-1": rollout.ClusterSucceeded}, phases)
	assert.Equal(t, rollout.WavePending, st.Waves[1].Phase)

	// The failed wave is asked no more, and wave 2 never opens.
	gates.takeAsked()
	w.clock.add(2 * time.Hour)
	require.NoError(t, b.Reconcile(t.Context()))
	assert.Empty(t, gates.takeAsked())
	assert.Equal(t, []string{"1/tenant-a", "1/tenant-b"}, tenants(w.ensure.calls()))
}

// TestBakeEndsAndGatesStop: once the bake is over the wave's clusters are
// not asked about again.
func TestBakeEndsAndGatesStop(t *testing.T) {
	t.Parallel()
	w, b, gates := baking(t)
	w.clock.add(time.Hour)
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.WaveSucceeded, st.Waves[0].Phase)
	assert.Equal(t, rollout.WaveOpen, st.Waves[1].Phase)
	assert.Empty(t, gates.takeAsked(), "a wave that finished baking is not gated again")
}

// TestNextPassWhenTheBakeEnds: the loop's next pass comes when the bake
// runs out, not at the next reconcile interval: with an interval of a day
// and the bot's clock running 3,600 times faster than the wall clock, the
// next wave opens a second of wall-clock time after the bake began.
func TestNextPassWhenTheBakeEnds(t *testing.T) {
	t.Parallel()
	w, b, _ := baking(t)
	b.cfg.ReconcileInterval = 24 * time.Hour
	select {
	case <-b.sooner:
	default:
		t.Fatal("the bake, started by a webhook, did not bring the next pass forward")
	}
	assert.Zero(t, b.untilNextPass(), "the pass the campaign's start asked for, which the test's passes made")
	assert.Equal(t, time.Hour+time.Millisecond, b.untilNextPass(), "the bake's end, then a millisecond")

	base, start := w.clock.now(), time.Now()
	b.now = func() time.Time { return base.Add(time.Since(start) * 3600) }
	b.cfg.Real = func(d time.Duration) time.Duration { return d / 3600 }
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	require.Eventually(t, func() bool {
		st, _ := w.state(t, campaign)
		return st.Waves[1].Phase == rollout.WaveOpen
	}, 10*time.Second, 10*time.Millisecond, "the next wave opens at the bake's end, not a day later")
	cancel()
	require.NoError(t, <-done)
}

// TestCheckEventAsksOnlyItsWave: a check run on a wave's merge commit runs
// the gates of that wave's merged clusters, and nothing else of the
// campaign: no listing of pull requests, no other wave's gates.
func TestCheckEventAsksOnlyItsWave(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, testGates.terraform, "bake: 1h"))
	b := w.bot(t, "r1", nil)
	gates := &scriptedGates{outcome: map[string]rollout.Outcome{"a-dev-1": rollout.GateWaiting, "a-dev-2": rollout.GateWaiting}}
	b.cfg.Gates = gates
	started(t, w, b)
	p := w.api.merge(t, 1, "aaaa")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, p.HeadRef, "aaaa")))
	assert.ElementsMatch(t, []string{"a-dev-1", "a-dev-2"}, gates.takeAsked(), "the merge asks its clusters")
	w.api.mu.Lock()
	listings := len(w.api.listed)
	w.api.mu.Unlock()

	gates.set("a-dev-1", rollout.GatePassed)
	require.NoError(t, b.Handle(t.Context(), &webhooks.CheckRun{Name: "terraform-apply", Status: "completed", Conclusion: "success", HeadSHA: "aaaa"}))
	assert.ElementsMatch(t, []string{"a-dev-1", "a-dev-2"}, gates.takeAsked(), "the check asks wave 1's merged clusters again")
	w.api.mu.Lock()
	assert.Equal(t, listings, len(w.api.listed), "no pull request listing")
	w.api.mu.Unlock()
	st, _ := w.state(t, campaign)
	for _, c := range st.Waves[0].Clusters {
		if c.Name == "a-dev-1" {
			assert.Equal(t, rollout.ClusterSucceeded, c.Phase, "its gate passed")
		}
	}

	// A check on a commit no campaign waits on asks nothing.
	require.NoError(t, b.Handle(t.Context(), &webhooks.CheckRun{Name: "lint", Status: "completed", Conclusion: "success", HeadSHA: "ffff"}))
	assert.Empty(t, gates.takeAsked())
}

// TestGateSentenceOfEvidenceDetail: what evidenceDetail appends to a
// gate's sentence, rollout.GateSentence cuts off, whatever the evidence
// holds.
func TestGateSentenceOfEvidenceDetail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ detail, want string }{
		{evidenceDetail("cluster c-1 is ready for 1.30 (0 insights)", []gate.Evidence{{Check: "eks cluster c-1", Value: "version 1.29"}}), "cluster c-1 is ready for 1.30 (0 insights)"},
		{evidenceDetail("error rate 0.2 over 0.05", []gate.Evidence{{Check: "errors", Revision: "1a2b3c4", Value: "0.2", Source: `sum(rate(http{code=~"5.."}[5m]))`},
			{Check: "latency", Value: "120ms"}}), "error rate 0.2 over 0.05"},
		{evidenceDetail("provider error: throttled", nil), "provider error: throttled"},
		{"", ""},
	} {
		assert.Equal(t, tc.want, rollout.GateSentence(tc.detail), tc.detail)
	}
}
