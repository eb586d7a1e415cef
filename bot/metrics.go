package bot

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetbot/fleetbot/rollout"
)

// metrics are the bot's Prometheus series.
type metrics struct {
	reconciles    prometheus.Counter
	recovered     *prometheus.CounterVec
	campaigns     *prometheus.GaugeVec
	campaignFiles *prometheus.CounterVec
	events        *prometheus.CounterVec
	actions       *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
	commands      *prometheus.CounterVec
	leaseHeld     prometheus.Counter
	gateErrors    *prometheus.CounterVec
	gateResults   *prometheus.CounterVec
	gateDuration  *prometheus.HistogramVec
	verdicts      *prometheus.HistogramVec
	panics        *prometheus.CounterVec
	fleet         *fleetGauges
}

// phases lists every campaign phase, so the gauges show zeros too.
var phases = []rollout.CampaignPhase{
	rollout.CampaignPending, rollout.CampaignScheduled, rollout.CampaignRunning, rollout.CampaignPaused,
	rollout.CampaignHalted, rollout.CampaignSucceeded, rollout.CampaignAborted, rollout.CampaignRollingBack,
	rollout.CampaignRolledBack,
}

// wavePhases and clusterPhases list every wave and cluster phase, so the
// gauges show zeros too.
var (
	wavePhases = []rollout.WavePhase{
		rollout.WavePending, rollout.WaveOpen, rollout.WaveMerged, rollout.WaveVerifying,
		rollout.WaveBaking, rollout.WaveSucceeded, rollout.WaveFailed, rollout.WaveSkipped, rollout.WaveStopped, rollout.WaveNotReached,
	}
	clusterPhases = []rollout.ClusterPhase{
		rollout.ClusterPending, rollout.ClusterPreflight, rollout.ClusterInPR, rollout.ClusterApplied, rollout.ClusterVerifying,
		rollout.ClusterSucceeded, rollout.ClusterFailed, rollout.ClusterTimedOut, rollout.ClusterSkipped, rollout.ClusterStopped, rollout.ClusterNotReached,
	}
	// outcomes are the gates' verdicts.
	outcomes = []rollout.Outcome{rollout.GatePassed, rollout.GateFailed, rollout.GateWaiting}
)

func newMetrics(reg prometheus.Registerer, now func() time.Time) (*metrics, error) {
	m := &metrics{
		reconciles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fleetbot_reconcile_total", Help: "Reconcile passes started.",
		}),
		recovered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_reconcile_recovered_total", Help: "Events and work a reconcile pass found that no webhook had delivered, by event.",
		}, []string{"event"}),
		campaigns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleetbot_campaigns", Help: "Campaigns by phase, as of the last reconcile pass.",
		}, []string{"phase"}),
		campaignFiles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_campaign_files_total", Help: "Campaign files read, by result: started, invalid, refused (the plan or the machine refused it), changed (after the campaign started; not applied), removed (while its campaign runs, which goes on).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_campaign_events_total", Help: "Events fed to campaigns, by event and outcome (applied, ignored, refused).",
		}, []string{"event", "outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_campaign_actions_total", Help: "Actions of the state machine carried out, by action and outcome (ok, error).",
		}, []string{"action", "outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_bot_webhook_events_total", Help: "Webhook events the bot handled, by event and result (acted, ignored, error).",
		}, []string{"event", "result"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_commands_total", Help: "`/fleet` commands received, by command and result.",
		}, []string{"command", "result"}),
		leaseHeld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fleetbot_campaign_lease_held_total", Help: "Steps left to another replica that held the campaign's lease.",
		}),
		gateErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_gate_provider_errors_total", Help: "Gate checks that could not ask their provider (counted apart from failures), by gate.",
		}, []string{"gate"}),
		gateResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_gate_results_total", Help: "Gate results on a wave's clusters, by gate and outcome (passed, failed, waiting; a provider error is a waiting result, counted in fleetbot_gate_provider_errors_total too).",
		}, []string{"gate", "outcome"}),
		gateDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fleetbot_gate_check_duration_seconds", Help: "Time one check of one gate on one cluster took (asking Argo CD, EKS, Prometheus or GitHub), by gate.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"gate"}),
		verdicts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fleetbot_merge_to_verdict_seconds", Help: "Time from the merge of a cluster's pull request to the gates' verdict on it (passed: every gate passed; failed: a gate failed), by verdict.",
			Buckets: []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400},
		}, []string{"verdict"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_panics_total", Help: "Panics (bugs) recovered, by where: webhook (a delivery's handler), reconcile (a pass, or a campaign's part of one), open-pull-request (a wave pull request's opening), gate (a gate's check: a waiting result). Each is an error of its own and logged with its stack.",
		}, []string{"where"}),
		fleet: newFleetGauges(now),
	}
	for _, c := range []prometheus.Collector{m.reconciles, m.recovered, m.campaigns, m.campaignFiles, m.events, m.actions, m.webhooks, m.commands, m.leaseHeld, m.gateErrors, m.gateResults, m.gateDuration, m.verdicts, m.panics, m.fleet} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("register bot metrics: a bot is registered already: %w", err)
			}
			return nil, fmt.Errorf("register bot metrics: %w", err)
		}
	}
	for _, p := range phases {
		m.campaigns.WithLabelValues(string(p))
	}
	for _, v := range []rollout.Outcome{rollout.GatePassed, rollout.GateFailed} {
		m.verdicts.WithLabelValues(string(v))
	}
	for _, w := range []string{panicWebhook, panicReconcile, panicOpen, panicGate, panicLease} {
		m.panics.WithLabelValues(w)
	}
	return m, nil
}

// gatesConfigured makes the series of the gates a campaign uses show zeros
// before their first result, so rates and alerts see them from the start.
func (m *metrics) gatesConfigured(gates []string) {
	for _, g := range gates {
		m.gateErrors.WithLabelValues(g)
		m.gateDuration.WithLabelValues(g)
		for _, o := range outcomes {
			m.gateResults.WithLabelValues(g, string(o))
		}
	}
}

// verdict is a cluster the gates settled: their verdict, and how long after
// its merge it came.
type verdict struct {
	outcome rollout.Outcome
	took    time.Duration
}

// verdictOf returns the verdict on the cluster a gate result at time at
// settled between before and after, if it settled one.
func verdictOf(before, after rollout.State, ev rollout.GateResult, at time.Time) (verdict, bool) {
	v, merged, ok := settledBy(before, after, ev.Cluster)
	return verdict{v, at.Sub(merged)}, ok
}

// observeVerdicts observes the time from merge to verdict of clusters
// settled in a state now stored.
func (m *metrics) observeVerdicts(vs []verdict) {
	for _, v := range vs {
		m.verdicts.WithLabelValues(string(v.outcome)).Observe(v.took.Seconds())
	}
}

// settledBy reports whether a gate result turned cluster from waiting on its
// gates to a verdict between before and after: passed (every gate passed) or
// failed (a gate failed), with the merge of the pull request that carries
// it. A cluster whose merge time is not known is not reported.
func settledBy(before, after rollout.State, cluster string) (verdict rollout.Outcome, mergedAt time.Time, ok bool) {
	for i, w := range after.Waves {
		for j, c := range w.Clusters {
			if c.Name != cluster || i >= len(before.Waves) || j >= len(before.Waves[i].Clusters) {
				continue
			}
			if was := before.Waves[i].Clusters[j].Phase; was != rollout.ClusterApplied && was != rollout.ClusterVerifying {
				continue
			}
			switch c.Phase {
			case rollout.ClusterSucceeded:
				verdict = rollout.GatePassed
			case rollout.ClusterFailed:
				verdict = rollout.GateFailed
			default:
				continue
			}
			for _, pr := range w.PRs {
				if pr.Tenant == c.Tenant && !pr.MergedAt.IsZero() {
					return verdict, pr.MergedAt, true
				}
			}
		}
	}
	return "", time.Time{}, false
}

// fleetGauges are the gauges read off each campaign's state: its phase, its
// waves and clusters by phase, what it waits for, how long it has waited and
// how long that wait may last. They are kept per campaign from the last
// state the bot saw (each step, and each reconcile pass for the campaigns
// it did not step) and computed on each scrape, so the time waited is the
// scrape's, and a campaign the store no longer holds takes its series with
// it on the next pass.
type fleetGauges struct {
	now                                        func() time.Time
	phase, waves, clusters, waiting, deadlines *prometheus.Desc

	mu   sync.Mutex
	seq  uint64
	seen map[string]campaignView
}

// campaignView is what the gauges show of one campaign.
type campaignView struct {
	phase    rollout.CampaignPhase
	waves    map[rollout.WavePhase]int
	clusters map[rollout.ClusterPhase]int
	wait     rollout.Wait
	// seq orders the views set, so a pass drops only what it saw gone.
	seq uint64
}

func newFleetGauges(now func() time.Time) *fleetGauges {
	return &fleetGauges{
		now: now,
		phase: prometheus.NewDesc("fleetbot_campaign_phase",
			"The phase each campaign is in: 1 for its phase, 0 for the others.", []string{"campaign", "phase"}, nil),
		waves: prometheus.NewDesc("fleetbot_waves",
			"Waves of each campaign by phase, from its stored state.", []string{"campaign", "phase"}, nil),
		clusters: prometheus.NewDesc("fleetbot_clusters",
			"Clusters of each campaign by phase, from its stored state; a cluster in several waves (one per EKS version step, a clean-up, a revert) counts once in each.", []string{"campaign", "phase"}, nil),
		waiting: prometheus.NewDesc("fleetbot_campaign_waiting_seconds",
			"How long each campaign has waited for what it waits for next (for: start, window, approval, open, merge, retry, gates, bake, resume, person), in the wave it names.", []string{"campaign", "for", "wave"}, nil),
		deadlines: prometheus.NewDesc("fleetbot_campaign_waiting_deadline_seconds",
			"How long the current wait of each campaign may last before the campaign moves on by itself (window: until the window opens; bake: the bake; gates: the last progress deadline); absent when a person ends it.", []string{"campaign", "for", "wave"}, nil),
		seen: map[string]campaignView{},
	}
}

// set shows campaign name as st, waiting for w.
func (f *fleetGauges) set(name string, st rollout.State, w rollout.Wait) {
	v := campaignView{phase: st.Phase, waves: map[rollout.WavePhase]int{}, clusters: map[rollout.ClusterPhase]int{}, wait: w}
	for _, wave := range st.Waves {
		v.waves[st.WavePhaseShown(wave)]++
		for _, c := range wave.Clusters {
			v.clusters[st.ClusterPhaseShown(wave, c)]++
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	v.seq = f.seq
	f.seen[name] = v
}

// mark returns the point from which keep may drop campaigns.
func (f *fleetGauges) mark() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq
}

// keep drops the campaigns not in names that were last set before mark, so
// one started while a pass listed the store stays.
func (f *fleetGauges) keep(names map[string]bool, mark uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	maps.DeleteFunc(f.seen, func(name string, v campaignView) bool { return !names[name] && v.seq <= mark })
}

// Describe sends the gauges' descriptions.
func (f *fleetGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{f.phase, f.waves, f.clusters, f.waiting, f.deadlines} {
		ch <- d
	}
}

// Collect sends every campaign's gauges, the time waited as of now.
func (f *fleetGauges) Collect(ch chan<- prometheus.Metric) {
	now := f.now()
	f.mu.Lock()
	views := maps.Clone(f.seen)
	f.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(views)) {
		v := views[name]
		for _, p := range listed(phases, map[rollout.CampaignPhase]int{v.phase: 1}) {
			ch <- prometheus.MustNewConstMetric(f.phase, prometheus.GaugeValue, float64(boolInt(p == v.phase)), name, string(p))
		}
		for _, p := range listed(wavePhases, v.waves) {
			ch <- prometheus.MustNewConstMetric(f.waves, prometheus.GaugeValue, float64(v.waves[p]), name, string(p))
		}
		for _, p := range listed(clusterPhases, v.clusters) {
			ch <- prometheus.MustNewConstMetric(f.clusters, prometheus.GaugeValue, float64(v.clusters[p]), name, string(p))
		}
		w := v.wait
		if w.Kind == rollout.WaitNothing || w.Since.IsZero() {
			continue // ended, or not started: nothing to time
		}
		wave := ""
		if w.Wave > 0 {
			wave = strconv.Itoa(w.Wave)
		}
		ch <- prometheus.MustNewConstMetric(f.waiting, prometheus.GaugeValue, now.Sub(w.Since).Seconds(), name, string(w.Kind), wave)
		if !w.Until.IsZero() {
			ch <- prometheus.MustNewConstMetric(f.deadlines, prometheus.GaugeValue, w.Until.Sub(w.Since).Seconds(), name, string(w.Kind), wave)
		}
	}
}

// listed returns the phases of the closed set all, then any other phase
// count holds (a phase added to rollout and not yet listed here), sorted.
func listed[P ~string](all []P, count map[P]int) []P {
	out := slices.Clone(all)
	for _, p := range slices.Sorted(maps.Keys(count)) {
		if !slices.Contains(all, p) {
			out = append(out, p)
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// setPhases publishes the count of campaigns in each phase.
func (m *metrics) setPhases(count map[rollout.CampaignPhase]int) {
	for _, p := range phases {
		m.campaigns.WithLabelValues(string(p)).Set(float64(count[p]))
	}
}
