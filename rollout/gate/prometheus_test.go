package gate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// exporterValues are the API error rates the test exporter reports per
// cluster; "ghost" is a cluster it does not export.
var exporterValues = map[string]float64{"healthy": 0.1, "failing": 5, "between": 1}

// startExporter serves fleet_api_errors{cluster=...} on loopback and
// returns its host:port.
func startExporter(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fleet_api_errors", Help: "API errors per second."}, []string{"cluster"})
	reg.MustRegister(g)
	for c, v := range exporterValues {
		g.WithLabelValues(c).Set(v)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// waitForSeries polls Prometheus until it scraped every exported series.
func waitForSeries(t *testing.T, url string) {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	require.NoError(t, err)
	q := v1.NewAPI(c)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		v, _, _, err := q.Query(ctx, "count(fleet_api_errors)", time.Time{})
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 && int(vec[0].Value) == len(exporterValues) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("prometheus at %s has not scraped the exporter: last answer %v, %v", url, v, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stepClock is a clock the test moves.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingTransport counts the HTTP requests a gate sends.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func promQuery(t testing.TB, name, query, success, failure string) rollout.PrometheusQuery {
	t.Helper()
	q := rollout.PrometheusQuery{Name: name}
	var err error
	q.Query, err = rollout.ParseTemplate(query)
	require.NoError(t, err)
	q.Success, err = rollout.ParseCondition(success)
	require.NoError(t, err)
	if failure != "" {
		f, err := rollout.ParseCondition(failure)
		require.NoError(t, err)
		q.Failure = &f
	}
	return q
}

const (
	interval    = time.Minute
	errorsQuery = `fleet_api_errors{cluster="{{ .Cluster }}"}`
)

// step is one Check: advance the clock by an interval first or not, and the
// outcome expected.
type step struct {
	advance bool
	want    rollout.Outcome
	err     bool
	queries int32 // HTTP requests this step sends
}

func TestPrometheusGateAgainstPrometheus(t *testing.T) {
	t.Parallel()
	prom := testenv.StartPrometheus(t, startExporter(t))
	waitForSeries(t, prom.URL)
	stopped := testenv.StartPrometheus(t)
	stopped.Stop()

	tests := []struct {
		name          string
		address       string
		cluster       string
		count         int
		failureLimit  int
		inconclusive  int
		query         string
		success, fail string
		steps         []step
	}{
		{name: "healthy passes after count measurements", cluster: "healthy", count: 3,
			query: errorsQuery, success: "result < 0.5", fail: "result > 2",
			steps: []step{
				{want: rollout.GateWaiting, queries: 1},
				{want: rollout.GateWaiting, queries: 0}, // younger than interval: no query
				{advance: true, want: rollout.GateWaiting, queries: 1},
				{advance: true, want: rollout.GatePassed, queries: 1},
			}},
		{name: "failing fails at once", cluster: "failing", count: 3,
			query: errorsQuery, success: "result < 0.5", fail: "result > 2",
			steps: []step{
				{want: rollout.GateFailed, queries: 1},
				{advance: true, want: rollout.GateFailed, queries: 0}, // failed is final
			}},
		{name: "missing the success condition fails without a failure condition", cluster: "between", count: 1,
			query: errorsQuery, success: "result < 0.5",
			steps: []step{{want: rollout.GateFailed, queries: 1}}},
		{name: "failures within the limit wait", cluster: "failing", count: 1, failureLimit: 1,
			query: errorsQuery, success: "result < 0.5",
			steps: []step{
				{want: rollout.GateWaiting, queries: 1},
				{advance: true, want: rollout.GateFailed, queries: 1},
			}},
		{name: "between the conditions is inconclusive", cluster: "between", count: 1, inconclusive: 1,
			query: errorsQuery, success: "result < 0.5", fail: "result > 2",
			steps: []step{
				{want: rollout.GateWaiting, queries: 1},
				{advance: true, want: rollout.GateFailed, queries: 1},
			}},
		{name: "no data never passes", cluster: "ghost", count: 1, inconclusive: 1,
			query: errorsQuery, success: "result < 0.5",
			steps: []step{
				{want: rollout.GateWaiting, queries: 1},
				{advance: true, want: rollout.GateFailed, queries: 1},
			}},
		{name: "several series are inconclusive", cluster: "healthy", count: 1,
			query: `fleet_api_errors`, success: "result < 0.5",
			steps: []step{{want: rollout.GateFailed, queries: 1}}},
		{name: "a scalar is a value", cluster: "healthy", count: 1,
			query: `scalar(fleet_api_errors{cluster="{{ .Cluster }}"})`, success: "result < 0.5",
			steps: []step{{want: rollout.GatePassed, queries: 1}}},
		{name: "NaN is no data", cluster: "healthy", count: 1,
			query: `0/0`, success: "result != 1",
			steps: []step{{want: rollout.GateFailed, queries: 1}}},
		{name: "a range vector is inconclusive", cluster: "healthy", count: 1,
			query: `fleet_api_errors{cluster="{{ .Cluster }}"}[30s]`, success: "result < 0.5",
			steps: []step{{want: rollout.GateFailed, queries: 1}}},
		{name: "a PromQL error is a provider error", cluster: "healthy", count: 1,
			query: `sum(fleet_api_errors{cluster="{{ .Cluster }}"}`, success: "result < 0.5",
			steps: []step{
				{want: rollout.GateWaiting, err: true, queries: 1},
				{want: rollout.GateWaiting, err: true, queries: 0},
				{advance: true, want: rollout.GateWaiting, err: true, queries: 1},
			}},
		{name: "a stopped Prometheus is a provider error", address: stopped.URL, cluster: "healthy", count: 1,
			query: errorsQuery, success: "result < 0.5",
			steps: []step{
				{want: rollout.GateWaiting, err: true, queries: 1},
				{advance: true, want: rollout.GateWaiting, err: true, queries: 1},
			}},
	}
	var golden strings.Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &stepClock{now: epoch}
			transport := &countingTransport{}
			address := prom.URL
			if tc.address != "" {
				address = tc.address
			}
			cfg := rollout.PrometheusGate{
				Address: address, Interval: rollout.Duration{Duration: interval}, Count: tc.count,
				FailureLimit: tc.failureLimit, InconclusiveLimit: tc.inconclusive,
				Queries: []rollout.PrometheusQuery{promQuery(t, "api-errors", tc.query, tc.success, tc.fail)},
			}
			g, err := gate.NewPrometheus(cfg, gate.WithClock(clock.Now), gate.WithHTTPClient(&http.Client{Transport: transport}))
			require.NoError(t, err)
			runner := gate.NewRunner([]gate.Gate{g}, clock.Now)
			target := gate.Target{Campaign: "c", Cluster: tc.cluster, MergeSHA: mergeSHA}
			var last gate.Result
			for i, s := range tc.steps {
				if s.advance {
					clock.Advance(interval)
				}
				before := transport.n.Load()
				res := runner.Run(t.Context(), []gate.Target{target})
				require.Len(t, res, 1)
				last = res[0]
				assert.Equal(t, s.want, last.Outcome, "step %d: %s", i, last.Detail)
				assert.Equal(t, s.err, last.Err != nil, "step %d: provider error %v", i, last.Err)
				assert.Equal(t, s.queries, transport.n.Load()-before, "step %d: HTTP requests", i)
			}
			for _, e := range last.Evidence {
				assert.Equal(t, mergeSHA, e.Revision)
				assert.False(t, e.At.IsZero(), "evidence has a time")
			}
			fmt.Fprintf(&golden, "== %s\n%s", tc.name, describe(last))
			if last.Err != nil && tc.address == "" {
				var perr *v1.Error
				assert.ErrorAs(t, last.Err, &perr, "a PromQL error keeps Prometheus' error type")
			}
			golden.WriteString("\n")
		})
	}
	checkGolden(t, "prometheus.golden", strings.ReplaceAll(golden.String(), strings.TrimPrefix(stopped.URL, "http://"), "127.0.0.1:STOPPED"))
}

// TestPrometheusGateRestartsCounting: a new merge commit and a Reset each
// start the count again, and campaigns count apart.
func TestPrometheusGateRestartsCounting(t *testing.T) {
	t.Parallel()
	g, _, clock := errorRateGate(t, 2)
	target := gate.Target{Campaign: "c", Cluster: "healthy", MergeSHA: mergeSHA}
	measure := func(tg gate.Target) gate.Result {
		clock.Advance(interval)
		return g.Check(t.Context(), tg)
	}

	assert.Equal(t, rollout.GateWaiting, measure(target).Outcome)
	assert.Equal(t, rollout.GatePassed, measure(target).Outcome)

	other := target
	other.Campaign = "d"
	assert.Equal(t, rollout.GateWaiting, measure(other).Outcome, "another campaign counts apart")

	moved := target
	moved.MergeSHA = "0000000000000000000000000000000000000001"
	assert.Equal(t, rollout.GateWaiting, measure(moved).Outcome, "a new merge commit counts again")
	assert.Equal(t, rollout.GatePassed, measure(moved).Outcome)

	g.Reset("healthy")
	r := measure(moved)
	assert.Equal(t, rollout.GateWaiting, r.Outcome, "a reset counts again")
	assert.Contains(t, r.Detail, "1 of 2 successful measurements")
}

// TestPrometheusGatePassedSurvivesProviderErrors: once passed, an outage
// of Prometheus does not turn the verdict to waiting.
func TestPrometheusGatePassedSurvivesProviderErrors(t *testing.T) {
	t.Parallel()
	g, q, clock := errorRateGate(t, 1)
	target := gate.Target{Campaign: "c", Cluster: "healthy", MergeSHA: mergeSHA}
	require.Equal(t, rollout.GatePassed, g.Check(t.Context(), target).Outcome)

	q.set(nil, errors.New("connection refused"))
	clock.Advance(interval)
	r := g.Check(t.Context(), target)
	assert.Equal(t, rollout.GatePassed, r.Outcome)
	require.NoError(t, r.Err)
	assert.Contains(t, r.Detail, "1 consecutive provider error")

	q.set(model.Vector{{Value: 9}}, nil)
	clock.Advance(interval)
	assert.Equal(t, rollout.GateFailed, g.Check(t.Context(), target).Outcome, "a failure after passing still fails")
}

// TestPrometheusGateFailsAClusterThatIsGone: a removed cluster has no
// metrics; the gate says so with a failure and measures nothing.
func TestPrometheusGateFailsAClusterThatIsGone(t *testing.T) {
	t.Parallel()
	g, _, _ := errorRateGate(t, 1)
	target := gate.Target{Campaign: "c", Cluster: "healthy", MergeSHA: mergeSHA, Gone: true}
	r := runOne(t, g, target)
	assert.Equal(t, rollout.GateFailed, r.Outcome)
	require.NoError(t, r.Err)
	assert.Equal(t, "the prometheus gate cannot verify cluster healthy: the change removes it, and a removed cluster has no metrics to judge", r.Detail)
	assert.Empty(t, r.Evidence)

	target.Gone = false
	r = g.Check(t.Context(), target)
	assert.Equal(t, rollout.GatePassed, r.Outcome, "the cluster's own measurements start afresh: %s", r.Detail)
	assert.Contains(t, r.Detail, "1 of 1 successful measurements")
}

// errorRateGate is a prometheus gate passing a cluster on count API error
// rates below 0.5, measured once a minute of clock through q, which
// answers 0.1 until told otherwise.
func errorRateGate(t *testing.T, count int) (*gate.Prometheus, *fakeQuerier, *stepClock) {
	t.Helper()
	q := &fakeQuerier{value: model.Vector{{Value: 0.1}}}
	clock := &stepClock{now: epoch}
	cfg := rollout.PrometheusGate{Address: "http://unused", Interval: rollout.Duration{Duration: interval}, Count: count,
		Queries: []rollout.PrometheusQuery{promQuery(t, "api-errors", errorsQuery, "result < 0.5", "")}}
	g, err := gate.NewPrometheus(cfg, gate.WithQuerier(q), gate.WithClock(clock.Now))
	require.NoError(t, err)
	return g, q, clock
}

func TestNewPrometheusBadAddress(t *testing.T) {
	t.Parallel()
	_, err := gate.NewPrometheus(rollout.PrometheusGate{Address: "http://[::1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `prometheus gate: address "http://[::1"`)
}

// fakeQuerier answers every query with one value or error.
type fakeQuerier struct {
	mu    sync.Mutex
	value model.Value
	err   error
}

func (f *fakeQuerier) set(v model.Value, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.err = v, err
}

func (f *fakeQuerier) Query(context.Context, string, time.Time, ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.value, nil, nil, f.err
}

var _ gate.Querier = v1.NewAPI(nil)
