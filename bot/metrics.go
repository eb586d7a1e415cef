package bot

import (
	"errors"
	"fmt"

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
}

// phases lists every campaign phase, so the gauge shows zeros too.
var phases = []rollout.CampaignPhase{
	rollout.CampaignPending, rollout.CampaignScheduled, rollout.CampaignRunning, rollout.CampaignPaused,
	rollout.CampaignHalted, rollout.CampaignSucceeded, rollout.CampaignAborted, rollout.CampaignRolledBack,
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
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
			Name: "fleetbot_campaign_files_total", Help: "Campaign files read, by result: started, invalid, refused (the plan or the machine refused it), changed (after the campaign started; not applied).",
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
	}
	for _, c := range []prometheus.Collector{m.reconciles, m.recovered, m.campaigns, m.campaignFiles, m.events, m.actions, m.webhooks, m.commands, m.leaseHeld, m.gateErrors} {
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
	return m, nil
}

// setPhases publishes the count of campaigns in each phase.
func (m *metrics) setPhases(count map[rollout.CampaignPhase]int) {
	for _, p := range phases {
		m.campaigns.WithLabelValues(string(p)).Set(float64(count[p]))
	}
}
