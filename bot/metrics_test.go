package bot

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// sample is one series gathered: a gauge's or a counter's value, a
// histogram's count and sum.
type sample struct{ value, sum float64 }

// gathered gathers the family name from g, each series keyed by its labels,
// "k=v,k=v" in label order.
func gathered(t *testing.T, g prometheus.Gatherer, name string) map[string]sample {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	out := map[string]sample{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName()+"="+l.GetValue())
			}
			h := m.GetHistogram()
			out[strings.Join(kv, ",")] = sample{
				value: m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(h.GetSampleCount()),
				sum:   h.GetSampleSum(),
			}
		}
	}
	return out
}

// samples gathers the family name from g: each series' value (a
// histogram's count).
func samples(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, s := range gathered(t, g, name) {
		out[k] = s.value
	}
	return out
}

// nonZero keeps the samples whose value is not zero.
func nonZero(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// TestMetricsFollowTheCampaign drives the test campaign through its first
// wave and reads /metrics' gauges off a registry at each step: waves and
// clusters by phase, the campaign's phase, what it waits for, since when
// and until when; then the gate results, the time from merge to verdict, a
// restart (the gauges come back from the stored state on the first pass)
// and a campaign gone from the store (its series go).
func TestMetricsFollowTheCampaign(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	reg := prometheus.NewRegistry()
	b := w.bot(t, "r1", reg)
	gates := &scriptedGates{outcome: map[string]rollout.Outcome{
		"a-dev-1": rollout.GateWaiting, "a-dev-2": rollout.GateWaiting, "b-dev-1": rollout.GateWaiting,
	}}
	b.cfg.Gates = gates
	started(t, w, b)
	w.clock.add(90 * time.Second)

	const c = "campaign=" + campaign
	assert.Equal(t, map[string]float64{c + ",phase=Open": 1, c + ",phase=Pending": 1}, nonZero(samples(t, reg, "fleetbot_waves")))
	assert.Len(t, samples(t, reg, "fleetbot_waves"), len(wavePhases), "every wave phase, zeros too")
	assert.Equal(t, map[string]float64{c + ",phase=InPR": 3, c + ",phase=Pending": 2}, nonZero(samples(t, reg, "fleetbot_clusters")))
	assert.Equal(t, map[string]float64{c + ",phase=Running": 1}, nonZero(samples(t, reg, "fleetbot_campaign_phase")))
	assert.Len(t, samples(t, reg, "fleetbot_campaign_phase"), len(phases))
	assert.Equal(t, map[string]float64{c + ",for=merge,wave=1": 90}, samples(t, reg, "fleetbot_campaign_waiting_seconds"),
		"the pull requests opened 90s ago")
	assert.Empty(t, samples(t, reg, "fleetbot_campaign_waiting_deadline_seconds"), "a merge is the tenant owners' to make: no deadline")
	assert.Equal(t, map[string]float64{"gate=terraform,outcome=failed": 0, "gate=terraform,outcome=passed": 0, "gate=terraform,outcome=waiting": 0},
		samples(t, reg, "fleetbot_gate_results_total"), "the configured gate's results show zeros before the first")

	for n, sha := range map[int]string{1: "aaaa", 2: "bbbb"} {
		p := w.api.merge(t, n, sha)
		require.NoError(t, b.Handle(t.Context(), prWebhook("closed", n, p.HeadRef, sha)))
	}
	w.clock.add(10 * time.Minute)
	assert.Equal(t, map[string]float64{c + ",phase=Verifying": 3, c + ",phase=Pending": 2}, nonZero(samples(t, reg, "fleetbot_clusters")))
	assert.Equal(t, map[string]float64{c + ",for=gates,wave=1": 600}, samples(t, reg, "fleetbot_campaign_waiting_seconds"))
	assert.Equal(t, map[string]float64{c + ",for=gates,wave=1": 3600}, samples(t, reg, "fleetbot_campaign_waiting_deadline_seconds"),
		"the progress deadline (1h) runs from the merge")
	assert.Equal(t, map[string]float64{"gate=terraform,outcome=waiting": 3}, nonZero(samples(t, reg, "fleetbot_gate_results_total")))
	assert.Empty(t, nonZero(samples(t, reg, "fleetbot_merge_to_verdict_seconds")), "no verdict yet")

	// Two clusters pass and one fails, ten minutes after the merge: the
	// campaign halts (no failure is allowed).
	gates.set("a-dev-1", rollout.GatePassed)
	gates.set("a-dev-2", rollout.GatePassed)
	gates.set("b-dev-1", rollout.GateFailed)
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	require.Equal(t, rollout.CampaignHalted, st.Phase)
	verdicts := gathered(t, reg, "fleetbot_merge_to_verdict_seconds")
	assert.Equal(t, map[string]sample{"verdict=failed": {1, 600}, "verdict=passed": {2, 1200}}, verdicts, "each verdict came 600s after its merge")
	assert.Equal(t, map[string]float64{"gate=terraform,outcome=waiting": 3, "gate=terraform,outcome=passed": 2, "gate=terraform,outcome=failed": 1},
		nonZero(samples(t, reg, "fleetbot_gate_results_total")))
	assert.Equal(t, map[string]float64{c + ",phase=Halted": 1}, nonZero(samples(t, reg, "fleetbot_campaign_phase")))
	wait := samples(t, reg, "fleetbot_campaign_waiting_seconds")
	assert.Equal(t, map[string]float64{c + ",for=person,wave=": 0}, wait, "halted just now, waiting for a person")
	halted := map[string]map[string]float64{
		"fleetbot_waves":          nonZero(samples(t, reg, "fleetbot_waves")),
		"fleetbot_clusters":       nonZero(samples(t, reg, "fleetbot_clusters")),
		"fleetbot_campaign_phase": nonZero(samples(t, reg, "fleetbot_campaign_phase")),
	}
	assert.Equal(t, map[string]float64{c + ",phase=Succeeded": 1, c + ",phase=Pending": 1}, halted["fleetbot_waves"],
		"every cluster of wave 1 settled and the bake is 0s; the failure halts the campaign")
	assert.Equal(t, map[string]float64{c + ",phase=Succeeded": 2, c + ",phase=Failed": 1, c + ",phase=Pending": 2}, halted["fleetbot_clusters"])

	// A restarted process shows the same gauges after its first pass, read
	// off the stored state.
	w.clock.add(time.Minute)
	reg2 := prometheus.NewRegistry()
	b2 := w.bot(t, "r1", reg2)
	b2.cfg.Gates = gates
	assert.Empty(t, samples(t, reg2, "fleetbot_waves"), "nothing before the first pass")
	require.NoError(t, b2.Reconcile(t.Context()))
	for name, want := range halted {
		assert.Equal(t, want, nonZero(samples(t, reg2, name)), name)
	}
	assert.Equal(t, map[string]float64{c + ",for=person,wave=": 60}, samples(t, reg2, "fleetbot_campaign_waiting_seconds"))

	// Aborted: the wave it never opened, and its clusters, are not
	// reached, no longer pending.
	_, err := b2.Operate(t.Context(), campaign, rollout.Abort{By: "ops", Reason: "wrong version"})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{c + ",phase=Succeeded": 1, c + ",phase=NotReached": 1}, nonZero(samples(t, reg2, "fleetbot_waves")))
	assert.Equal(t, map[string]float64{c + ",phase=Succeeded": 2, c + ",phase=Failed": 1, c + ",phase=NotReached": 2}, nonZero(samples(t, reg2, "fleetbot_clusters")))
	assert.Equal(t, map[string]float64{c + ",phase=Aborted": 1}, nonZero(samples(t, reg2, "fleetbot_campaign_phase")))

	// A campaign the store no longer holds takes its series with it.
	for _, key := range []string{stateKey(campaign), recordKey(campaign)} {
		rec, err := w.store.Get(t.Context(), key)
		require.NoError(t, err)
		require.NoError(t, w.store.Delete(t.Context(), key, rec.Version, store.Fence{}))
	}
	require.NoError(t, b2.Reconcile(t.Context()))
	for _, name := range []string{"fleetbot_waves", "fleetbot_clusters", "fleetbot_campaign_phase", "fleetbot_campaign_waiting_seconds"} {
		assert.Empty(t, samples(t, reg2, name), name)
	}
}

// TestMetricsWaitForTheWindow checks the wait for a maintenance window: it
// lasts until the calendar's next window, whether the bot stepped the
// campaign or read it off the store.
func TestMetricsWaitForTheWindow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := strings.Replace(string(campaignSrc(t, testGates.terraform)), "    timezone: UTC\n",
		"    timezone: UTC\n    windows: [{days: [Mon, Tue, Wed, Thu, Fri], start: \"02:00\", end: \"05:00\"}]\n", 1)
	require.Contains(t, src, "windows:")
	writeCampaign(t, w, "eks-1-30.yaml", []byte(src))
	reg := prometheus.NewRegistry()
	b := w.bot(t, "r1", reg)
	started(t, w, b) // Tuesday 09:00: the next window opens on Wednesday at 02:00
	w.clock.add(time.Hour)

	const key = "campaign=" + campaign + ",for=window,wave=1"
	assert.Equal(t, map[string]float64{key: 3600}, samples(t, reg, "fleetbot_campaign_waiting_seconds"))
	assert.Equal(t, map[string]float64{key: (17 * time.Hour).Seconds()}, samples(t, reg, "fleetbot_campaign_waiting_deadline_seconds"))

	// Another replica that did not step the campaign reads the window off
	// its record.
	reg2 := prometheus.NewRegistry()
	b2 := w.bot(t, "r2", reg2)
	st, _ := w.state(t, campaign)
	require.NoError(t, b2.observeStored(t.Context(), campaign, st))
	assert.Equal(t, map[string]float64{key: (17 * time.Hour).Seconds()}, samples(t, reg2, "fleetbot_campaign_waiting_deadline_seconds"))
}

func TestSettledBy(t *testing.T) {
	t.Parallel()
	merged := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	state := func(phase rollout.ClusterPhase, mergedAt time.Time) rollout.State {
		return rollout.State{Waves: []rollout.WaveState{
			{Number: 1, Clusters: []rollout.ClusterState{{Name: "other", Tenant: "t2", Phase: rollout.ClusterVerifying}}},
			{Number: 2, Clusters: []rollout.ClusterState{{Name: "c1", Tenant: "t1", Phase: phase}},
				PRs: []rollout.PRState{{Tenant: "t2", MergedAt: merged.Add(time.Hour)}, {Tenant: "t1", MergedAt: mergedAt}}},
		}}
	}
	tests := []struct {
		name          string
		before, after rollout.State
		verdict       rollout.Outcome
		ok            bool
	}{
		{"every gate passed", state(rollout.ClusterVerifying, merged), state(rollout.ClusterSucceeded, merged), rollout.GatePassed, true},
		{"first result, failed", state(rollout.ClusterApplied, merged), state(rollout.ClusterFailed, merged), rollout.GateFailed, true},
		{"still verifying", state(rollout.ClusterApplied, merged), state(rollout.ClusterVerifying, merged), "", false},
		{"settled before", state(rollout.ClusterSucceeded, merged), state(rollout.ClusterFailed, merged), "", false},
		{"timed out: no verdict of the gates", state(rollout.ClusterVerifying, merged), state(rollout.ClusterTimedOut, merged), "", false},
		{"merge time unknown", state(rollout.ClusterVerifying, time.Time{}), state(rollout.ClusterSucceeded, time.Time{}), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, at, ok := settledBy(tc.before, tc.after, "c1")
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.verdict, v)
			if ok {
				assert.Equal(t, merged, at, "the merge of the cluster's own tenant")
			}
		})
	}
}

// TestFleetGaugesKeep checks that a pass drops the campaigns it found gone
// and keeps one set after it listed the store, and that a phase the closed
// sets do not list still shows.
func TestFleetGaugesKeep(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	f := newFleetGauges(func() time.Time { return now })
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(f))
	bake := rollout.Wait{Kind: rollout.WaitBake, Wave: 2, Since: now.Add(-time.Minute), Until: now.Add(time.Hour)}
	f.set("gone", rollout.State{Phase: rollout.CampaignRunning}, bake)
	f.set("kept", rollout.State{Phase: rollout.CampaignRunning, Waves: []rollout.WaveState{{Phase: "Odd"}}}, bake)
	mark := f.mark()
	f.set("new", rollout.State{Phase: rollout.CampaignPending}, rollout.Wait{Kind: rollout.WaitStart})
	f.keep(map[string]bool{"kept": true}, mark)

	assert.Equal(t, map[string]float64{"campaign=kept,for=bake,wave=2": 60}, samples(t, reg, "fleetbot_campaign_waiting_seconds"),
		"a wait with no start is not timed")
	assert.Equal(t, map[string]float64{"campaign=kept,for=bake,wave=2": 3660}, samples(t, reg, "fleetbot_campaign_waiting_deadline_seconds"))
	assert.Equal(t, map[string]float64{"campaign=kept,phase=Running": 1, "campaign=new,phase=Pending": 1}, nonZero(samples(t, reg, "fleetbot_campaign_phase")))
	assert.Equal(t, map[string]float64{"campaign=kept,phase=Odd": 1}, nonZero(samples(t, reg, "fleetbot_waves")))
	assert.Len(t, samples(t, reg, "fleetbot_waves"), 2*len(wavePhases)+1, "the listed phases of both campaigns, and the odd one")
}

// recordingGate is a gate that keeps state per cluster, recording resets.
type recordingGate struct{ reset []string }

func (*recordingGate) Name() string { return rollout.GateTerraform }

func (*recordingGate) Check(_ context.Context, t gate.Target) gate.Result {
	return gate.Result{Cluster: t.Cluster, Outcome: rollout.GatePassed}
}

func (g *recordingGate) Reset(cluster string) { g.reset = append(g.reset, cluster) }

// TestTimedGate checks that each check of a gate the campaign configures is
// timed, and that a reset reaches the gate behind the timing.
func TestTimedGate(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "took_seconds"}, []string{"gate"})
	require.NoError(t, reg.Register(took))
	inner := &recordingGate{}
	var g gate.Gate = timedGate{Gate: inner, took: took.WithLabelValues(inner.Name())}
	runner := gate.NewRunner([]gate.Gate{g}, nil)
	runner.Run(t.Context(), []gate.Target{{Cluster: "a"}, {Cluster: "b"}})
	assert.Equal(t, map[string]float64{"gate=terraform": 2}, samples(t, reg, "took_seconds"))
	runner.Reset("a")
	assert.Equal(t, []string{"a"}, inner.reset)
}

// panickingGate panics on every check.
type panickingGate struct{}

func (panickingGate) Name() string { return rollout.GateTerraform }

func (panickingGate) Check(context.Context, gate.Target) gate.Result { panic("no check runs in reply") }

// TestGatePanicIsCounted: a gate's panic, which the runner turns into a
// waiting result, reaches the campaign as a provider error and is counted
// and logged with its stack as the bot's other recovered panics are.
func TestGatePanicIsCounted(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	b := newWorld(t, "eks-1-30.yaml").bot(t, "r1", nil)
	b.log = slog.New(slog.NewJSONHandler(&logs, nil))
	r := &run{b: b, name: "eks-1-30"}
	results := gate.NewRunner([]gate.Gate{panickingGate{}}, nil).Run(t.Context(), []gate.Target{{Cluster: "a-dev-1"}})
	evs := r.gateEvents(1, nil, results, []string{rollout.GateTerraform})

	require.Len(t, evs, 1)
	res, ok := evs[0].(rollout.GateResult)
	require.True(t, ok, "%T", evs[0])
	assert.Equal(t, rollout.GateWaiting, res.Outcome)
	assert.Contains(t, res.Detail, "provider error: gate terraform panicked: no check runs in reply")
	assert.InDelta(t, 1.0, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicGate)), 0)
	assert.InDelta(t, 1.0, testutil.ToFloat64(b.metrics.gateErrors.WithLabelValues(rollout.GateTerraform)), 0)
	assert.Contains(t, logs.String(), `"msg":"gate terraform panicked"`)
	assert.Contains(t, logs.String(), "panickingGate.Check", "the log has the gate's stack")
}
