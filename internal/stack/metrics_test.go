package stack_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// Where the Grafana dashboard and the Prometheus alerts are kept.
const (
	dashboardFile  = "deploy/grafana/fleetbot-dashboard.json"
	alertsDir      = "deploy/prometheus"
	alertsFile     = "fleetbot-alerts.yaml"
	alertsTestFile = "fleetbot-alerts.test.yaml"
)

// TestEndToEndMetrics runs the first wave of the EKS campaign through the
// sandbox and the real bot and reads /metrics as Prometheus would: the
// waves, clusters and phase of the campaign, what it waits for, since when
// and until when (the progress deadline while Terraform CI has not
// reported), the gate results and how long their checks took, the time
// from each merge to the gates' verdict, the webhook acknowledgements and
// the GitHub rate limit. Every series the dashboard and the alerts read is
// there. After a restart the gauges come back from the stored state.
func TestEndToEndMetrics(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	src, err := os.ReadFile(filepath.Join("testdata", "eks-1-30.yaml"))
	require.NoError(t, err)
	plan, layouts := expectedPlan(t, src, fleetDir)
	owners := layouts[fleetDir].Owners
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))
	camp := plan.Campaign
	first := len(plan.Waves[0].Clusters)

	prs := waitForWave(t, s, camp, plan.Waves[0], "acme/fleet")
	m := waitFor(t, "/metrics to show the wave waiting for its merges", func() (metrics, bool) {
		m := scrape(t, s)
		_, ok := m.value("fleetbot_campaign_waiting_seconds", "campaign", camp, "for", "merge", "wave", "1")
		return m, ok
	})
	m.assert(t, 1, "fleetbot_campaign_phase", "campaign", camp, "phase", "Running")
	m.assert(t, 1, "fleetbot_waves", "campaign", camp, "phase", "Open")
	m.assert(t, float64(len(plan.Waves)-1), "fleetbot_waves", "campaign", camp, "phase", "Pending")
	m.assert(t, float64(first), "fleetbot_clusters", "campaign", camp, "phase", "InPR")
	m.absent(t, "fleetbot_campaign_waiting_deadline_seconds", "campaign", camp)

	// The owners merge; Terraform CI has not reported yet.
	var merges []string
	mergeStart := time.Now()
	for _, p := range prs {
		_, _, tenant, ok := wave.ParseBranch(p.Head.Ref)
		require.True(t, ok, p.Head.Ref)
		approve(t, s, "acme/fleet", p.Number, owners[tenant].Users[0])
		var merged struct {
			SHA string `json:"sha"`
		}
		_, err := s.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", p.Number), owners[tenant].Users[0], map[string]any{}, &merged)
		require.NoError(t, err)
		merges = append(merges, merged.SHA)
	}
	gating := waitFor(t, "/metrics to show the wave waiting for its gates", func() (metrics, bool) {
		m := scrape(t, s)
		_, ok := m.value("fleetbot_campaign_waiting_seconds", "campaign", camp, "for", "gates", "wave", "1")
		return m, ok
	})
	// The progress deadline (1h) of the last cluster merged, from the first
	// merge: an hour and the time between the two merges.
	deadline, ok := gating.value("fleetbot_campaign_waiting_deadline_seconds", "campaign", camp, "for", "gates", "wave", "1")
	require.True(t, ok, "the wait for the gates has a deadline")
	assert.GreaterOrEqual(t, deadline, time.Hour.Seconds())
	assert.Less(t, deadline, (time.Hour + time.Since(mergeStart)).Seconds())
	gating.atLeast(t, 1, "fleetbot_gate_results_total", "gate", rollout.GateTerraform, "outcome", "waiting")
	for _, sha := range merges {
		_, err := s.Do(ctx, http.MethodPost, "/repos/acme/fleet/check-runs", "", map[string]any{
			"name": "terraform-apply", "head_sha": sha, "status": "completed", "conclusion": "success",
		}, nil)
		require.NoError(t, err)
	}
	m = waitFor(t, "/metrics to show wave 1 succeeded", func() (metrics, bool) {
		m := scrape(t, s)
		v, _ := m.value("fleetbot_waves", "campaign", camp, "phase", "Succeeded")
		return m, v == 1
	})
	m.assert(t, float64(first), "fleetbot_clusters", "campaign", camp, "phase", "Succeeded")
	m.assert(t, float64(first), "fleetbot_merge_to_verdict_seconds_count", "verdict", "passed")
	m.assert(t, 0, "fleetbot_merge_to_verdict_seconds_count", "verdict", "failed")
	m.atLeast(t, float64(first), "fleetbot_gate_results_total", "gate", rollout.GateTerraform, "outcome", "passed")
	m.atLeast(t, float64(first), "fleetbot_gate_check_duration_seconds_count", "gate", rollout.GateTerraform)
	m.assert(t, 0, "fleetbot_gate_provider_errors_total", "gate", rollout.GateTerraform)
	m.atLeast(t, float64(len(prs)), "fleetbot_webhook_ack_seconds_count", "result", "accepted")
	m.atLeast(t, 1, "fleetbot_github_rate_limit_limit")
	m.atLeast(t, 1, "fleetbot_github_rate_limit_remaining")
	_, waits := m.value("fleetbot_campaign_waiting_seconds", "campaign", camp, "wave", "2")
	assert.True(t, waits, "the campaign waits for something of wave 2")

	// Every series the dashboard and the alerts read is on /metrics.
	names := m.names()
	maps.Copy(names, gating.names())
	for _, q := range deployQueries(t) {
		require.NotEmpty(t, q.metrics, "%s: names no metric", q.where)
		for _, n := range q.metrics {
			assert.True(t, names[n], "%s reads %s, which /metrics does not export", q.where, n)
		}
	}

	// A restarted bot shows the same gauges, read off the stored state.
	require.NoError(t, s.StopBot(ctx))
	require.NoError(t, s.StartBot(ctx))
	m = waitFor(t, "the restarted bot's /metrics to show the campaign", func() (metrics, bool) {
		m := scrape(t, s)
		_, ok := m.value("fleetbot_waves", "campaign", camp, "phase", "Succeeded")
		return m, ok
	})
	m.assert(t, 1, "fleetbot_waves", "campaign", camp, "phase", "Succeeded")
	m.assert(t, float64(first), "fleetbot_clusters", "campaign", camp, "phase", "Succeeded")
	m.assert(t, 1, "fleetbot_campaign_phase", "campaign", camp, "phase", "Running")
}

// metrics is one scrape of /metrics: every sample, histograms as their
// _bucket, _sum and _count series.
type metrics model.Vector

// scrape reads the bot's /metrics.
func scrape(t *testing.T, s *stack.Stack) metrics {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.BotURL+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	v, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, slices.Collect(maps.Values(families))...)
	require.NoError(t, err)
	return metrics(v)
}

// values returns the values of the series name whose labels include the
// label/value pairs given.
func (m metrics) values(name string, labels ...string) []float64 {
	var out []float64
	for _, s := range m {
		match := string(s.Metric[model.MetricNameLabel]) == name
		for i := 0; match && i+1 < len(labels); i += 2 {
			match = string(s.Metric[model.LabelName(labels[i])]) == labels[i+1]
		}
		if match {
			out = append(out, float64(s.Value))
		}
	}
	return out
}

// value returns the value of the one series values finds, and false when
// there is none or more than one.
func (m metrics) value(name string, labels ...string) (float64, bool) {
	found := m.values(name, labels...)
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}

func (m metrics) assert(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := m.value(name, labels...)
	if assert.True(t, ok, "/metrics has one %s%v", name, labels) {
		assert.Equal(t, want, got, "%s%v", name, labels)
	}
}

// atLeast checks the sum of the series values finds.
func (m metrics) atLeast(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	var total float64
	for _, v := range m.values(name, labels...) {
		total += v
	}
	assert.GreaterOrEqual(t, total, want, "%s%v summed over its series", name, labels)
}

func (m metrics) absent(t *testing.T, name string, labels ...string) {
	t.Helper()
	_, ok := m.value(name, labels...)
	assert.False(t, ok, "/metrics has no %s%v", name, labels)
}

// names returns the names of every series scraped.
func (m metrics) names() map[string]bool {
	out := map[string]bool{}
	for _, s := range m {
		out[string(s.Metric[model.MetricNameLabel])] = true
	}
	return out
}

// grafanaDashboard is what the tests read of a Grafana dashboard.
type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string             `json:"name"`
			Type       string             `json:"type"`
			Datasource *grafanaDatasource `json:"datasource"`
			Definition string             `json:"definition"`
			Query      json.RawMessage    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *grafanaDatasource       `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// readDashboard reads the dashboard and lists its panels, those of rows
// included.
func readDashboard(t *testing.T) (grafanaDashboard, []grafanaPanel) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), dashboardFile))
	require.NoError(t, err)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(b, &d), dashboardFile)
	var all []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return d, all
}

// deployQuery is one PromQL expression of the dashboard or the alerts, and
// the metrics it reads.
type deployQuery struct {
	where   string // file and panel or alert
	expr    string
	metrics []string
}

// labelValues is Grafana's query of a variable's values.
var labelValues = regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// deployQueries lists the expressions of the dashboard's panels and
// variables and of the alert rules.
func deployQueries(t *testing.T) []deployQuery {
	t.Helper()
	var out []deployQuery
	d, panels := readDashboard(t)
	for _, p := range panels {
		for _, tg := range p.Targets {
			out = append(out, deployQuery{where: fmt.Sprintf("%s panel %q query %s", dashboardFile, p.Title, tg.RefID), expr: tg.Expr, metrics: metricNames(tg.Expr)})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		sub := labelValues.FindStringSubmatch(v.Definition)
		require.NotNil(t, sub, "%s variable %s: %q is not label_values(metric, label)", dashboardFile, v.Name, v.Definition)
		out = append(out, deployQuery{where: fmt.Sprintf("%s variable %s", dashboardFile, v.Name), expr: v.Definition, metrics: []string{sub[1]}})
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), alertsDir, alertsFile))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &rules), alertsFile)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, deployQuery{where: alertsFile + " alert " + r.Alert, expr: r.Expr, metrics: metricNames(r.Expr)})
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestAlertRules loads the alert rules with the real Prometheus's promtool
// and runs their unit tests: each alert fires on the series that should
// fire it, with its labels and text, and not on the others.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testenv.ModuleRoot(t), alertsDir)
	out := testenv.Promtool(t, dir, "check", "rules", alertsFile)
	assert.Contains(t, out, "SUCCESS: 7 rules found")
	out = testenv.Promtool(t, dir, "test", "rules", alertsTestFile)
	assert.Contains(t, out, "SUCCESS")
}

// TestDashboard checks the Grafana dashboard: every panel asks the
// dashboard's Prometheus data source, fits the grid without overlapping
// another, and has queries whose PromQL promtool parses (with Grafana's
// interval variables given a value).
func TestDashboard(t *testing.T) {
	t.Parallel()
	d, panels := readDashboard(t)
	assert.Equal(t, "fleetbot", d.UID)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	assert.Equal(t, map[string]string{"datasource": "datasource", "campaign": "query"}, vars)

	ids := map[int]bool{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	var rules []map[string]string
	for _, p := range panels {
		assert.False(t, ids[p.ID], "panel id %d is used twice", p.ID)
		ids[p.ID] = true
		g := p.GridPos
		assert.True(t, g.X >= 0 && g.W > 0 && g.X+g.W <= 24 && g.H > 0, "panel %q: gridPos %+v outside the 24 columns", p.Title, g)
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panel %q overlaps panel %q at %d,%d", p.Title, other, x, y)
				}
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if assert.NotNil(t, p.Datasource, "panel %q", p.Title) {
			assert.Equal(t, grafanaDatasource{Type: "prometheus", UID: "${datasource}"}, *p.Datasource, "panel %q", p.Title)
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			assert.False(t, refs[tg.RefID], "panel %q: refId %s twice", p.Title, tg.RefID)
			refs[tg.RefID] = true
			rules = append(rules, map[string]string{
				"record": fmt.Sprintf("dashboard:panel_%d_%s", p.ID, tg.RefID),
				"expr":   grafanaIntervals.Replace(tg.Expr),
			})
		}
	}
	// promtool parses each expression as a recording rule's.
	dir := t.TempDir()
	b, err := json.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboard.rules.yaml"), b, 0o644))
	out := testenv.Promtool(t, dir, "check", "rules", "dashboard.rules.yaml")
	assert.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(rules)))
}

// grafanaIntervals gives Grafana's interval variables a value, as Grafana
// does before it sends a query.
var grafanaIntervals = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1d")
