package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/fleetbot/fleetbot/rollout"
)

// Querier runs PromQL instant queries. v1.API satisfies it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// Prometheus is the prometheus gate. Each Check takes one measurement, at
// most one per interval: every query, templated for the cluster, run as an
// instant query. A measurement succeeds when every query's result meets its
// success condition, fails when any meets its failure condition (or, without
// one, misses its success condition), and is inconclusive otherwise: no
// data, several series, NaN or a range vector never pass. The cluster
// passes after cfg.Count successful measurements and fails once the failed
// ones exceed cfg.FailureLimit or the inconclusive ones cfg.InconclusiveLimit.
// A provider error (Prometheus unreachable, a PromQL error) is not a
// measurement: the result carries Err, waits, and its Detail counts the
// consecutive errors; the progress deadline bounds how long that may last.
//
// A cluster the change removes (Target.Gone) has no metrics to judge: the
// rollout never asks this gate about one, and the gate fails it so that a
// misuse is loud rather than a pass on no data.
//
// The measurements are kept in memory, per campaign, cluster and merge
// commit, so a restarted fleetbot counts again from zero. That is safe:
// a restart can only delay a pass (more measurements are taken), never
// grant one, and a failure already reported is recorded by the state
// machine, which does not ask again.
type Prometheus struct {
	cfg   rollout.PrometheusGate
	query Querier
	clock func() time.Time

	mu   sync.Mutex
	runs map[runKey]*measurements
}

type runKey struct{ campaign, cluster string }

// measurements is the running tally of one cluster at one merge commit.
type measurements struct {
	sha          string
	last         time.Time // the last attempt, measured or not
	busy         bool      // a measurement is under way
	successes    int
	failures     int
	inconclusive int
	errors       int // consecutive provider errors
	lastDetail   string
	lastErr      error
	evidence     []Evidence
}

// PrometheusOption configures a Prometheus gate.
type PrometheusOption func(*prometheusOptions)

type prometheusOptions struct {
	client  *http.Client
	querier Querier
	clock   func() time.Time
}

// WithHTTPClient sends the queries through c (for TLS settings, proxies or
// authentication).
func WithHTTPClient(c *http.Client) PrometheusOption {
	return func(o *prometheusOptions) { o.client = c }
}

// WithQuerier runs the queries through q instead of the HTTP API at
// cfg.Address.
func WithQuerier(q Querier) PrometheusOption {
	return func(o *prometheusOptions) { o.querier = q }
}

// WithClock times measurements with clock instead of time.Now.
func WithClock(clock func() time.Time) PrometheusOption {
	return func(o *prometheusOptions) { o.clock = clock }
}

// NewPrometheus returns the prometheus gate for cfg. It errs when
// cfg.Address is not a usable URL.
func NewPrometheus(cfg rollout.PrometheusGate, opts ...PrometheusOption) (*Prometheus, error) {
	o := prometheusOptions{clock: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.querier == nil {
		c, err := api.NewClient(api.Config{Address: cfg.Address, Client: o.client})
		if err != nil {
			return nil, fmt.Errorf("prometheus gate: address %q: %w", cfg.Address, err)
		}
		o.querier = v1.NewAPI(c)
	}
	return &Prometheus{cfg: cfg, query: o.querier, clock: o.clock, runs: map[runKey]*measurements{}}, nil
}

// Name returns rollout.GatePrometheus.
func (*Prometheus) Name() string { return rollout.GatePrometheus }

// Reset forgets the measurements of cluster in every campaign.
func (g *Prometheus) Reset(cluster string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.runs {
		if k.cluster == cluster {
			delete(g.runs, k)
		}
	}
}

// Check takes a measurement when the last is at least an interval old, and
// returns the running verdict.
func (g *Prometheus) Check(ctx context.Context, t Target) Result {
	now := g.clock()
	if t.Gone {
		return Result{Outcome: rollout.GateFailed, At: now, Detail: fmt.Sprintf(
			"the prometheus gate cannot verify cluster %s: the change removes it, and a removed cluster has no metrics to judge", t.Cluster)}
	}
	key := runKey{t.Campaign, t.Cluster}
	g.mu.Lock()
	m := g.runs[key]
	if m == nil || m.sha != t.MergeSHA {
		m = &measurements{sha: t.MergeSHA}
		g.runs[key] = m
	}
	if g.failed(m) || m.busy || (!m.last.IsZero() && now.Sub(m.last) < g.cfg.Interval.Duration) {
		res := g.verdict(m)
		g.mu.Unlock()
		return res
	}
	m.busy, m.last = true, now
	g.mu.Unlock()

	outcome, detail, evidence, err := g.measure(ctx, t, now)

	g.mu.Lock()
	defer g.mu.Unlock()
	m.busy = false
	if g.runs[key] != m {
		// Reset, or a new merge, while measuring: this measurement is stale.
		return Result{Outcome: rollout.GateWaiting, Detail: "measurements were reset", At: now}
	}
	m.evidence, m.lastDetail, m.lastErr = evidence, detail, err
	switch outcome {
	case measureSuccess:
		m.successes++
		m.errors = 0
	case measureFailure:
		m.failures++
		m.errors = 0
	case measureInconclusive:
		m.inconclusive++
		m.errors = 0
	case measureError:
		m.errors++
	}
	return g.verdict(m)
}

func (g *Prometheus) failed(m *measurements) bool {
	return m.failures > g.cfg.FailureLimit || m.inconclusive > g.cfg.InconclusiveLimit
}

// verdict turns the tally into a Result; g.mu is held.
func (g *Prometheus) verdict(m *measurements) Result {
	res := Result{Outcome: rollout.GateWaiting, Evidence: m.evidence}
	if len(m.evidence) > 0 {
		res.At = m.evidence[0].At
	}
	tally := fmt.Sprintf("%d of %d successful measurements, %d failed (limit %d), %d inconclusive (limit %d)",
		m.successes, g.cfg.Count, m.failures, g.cfg.FailureLimit, m.inconclusive, g.cfg.InconclusiveLimit)
	if m.errors > 0 {
		tally += fmt.Sprintf(", %d consecutive provider error%s", m.errors, plural(m.errors))
	}
	switch {
	case g.failed(m):
		res.Outcome = rollout.GateFailed
	case m.successes >= g.cfg.Count:
		// Passed stays passed: a later provider error cannot undo the
		// measurements already taken.
		res.Outcome = rollout.GatePassed
	case m.errors > 0:
		res.Err = m.lastErr
	}
	if m.lastDetail == "" {
		res.Detail = tally
	} else {
		res.Detail = m.lastDetail + "; " + tally
	}
	return res
}

type measureOutcome int

const (
	measureSuccess measureOutcome = iota
	measureInconclusive
	measureError
	measureFailure
)

// measure runs every query once. The measurement's outcome is the worst of
// the queries', failure before error before inconclusive: a failed query is
// a real answer even when another query could not be run.
func (g *Prometheus) measure(ctx context.Context, t Target, at time.Time) (measureOutcome, string, []Evidence, error) {
	worst := measureSuccess
	var details []string
	var evidence []Evidence
	var errs []error
	for _, q := range g.cfg.Queries {
		outcome, value, detail, rendered, err := g.run(ctx, q, t)
		worst = max(worst, outcome)
		details = append(details, q.Name+": "+detail)
		evidence = append(evidence, Evidence{Check: q.Name, Revision: t.MergeSHA, Value: value, Source: rendered, At: at})
		if err != nil {
			errs = append(errs, fmt.Errorf("query %s: %w", q.Name, err))
		}
	}
	return worst, strings.Join(details, "; "), evidence, errors.Join(errs...)
}

// run runs one query and judges its result.
func (g *Prometheus) run(ctx context.Context, q rollout.PrometheusQuery, t Target) (outcome measureOutcome, value, detail, rendered string, err error) {
	rendered, err = q.Query.Execute(t.Vars())
	if err != nil {
		return measureError, "error", "template: " + err.Error(), "", err
	}
	// A zero time lets Prometheus evaluate at its own "now", so a skew
	// between the two clocks cannot hide fresh samples.
	v, _, _, err := g.query.Query(ctx, rendered, time.Time{})
	if err != nil {
		return measureError, "error", "provider error: " + err.Error(), rendered, err
	}
	var f float64
	switch v := v.(type) {
	case model.Vector:
		switch len(v) {
		case 0:
			return measureInconclusive, "no data", "no data (an empty result never passes)", rendered, nil
		case 1:
			f = float64(v[0].Value)
		default:
			return measureInconclusive, strconv.Itoa(len(v)) + " series",
				fmt.Sprintf("%d series where one was expected: aggregate the query to one value per cluster", len(v)), rendered, nil
		}
	case *model.Scalar:
		f = float64(v.Value)
	default:
		return measureInconclusive, v.Type().String(),
			fmt.Sprintf("a %s result where an instant vector or scalar was expected", v.Type()), rendered, nil
	}
	value = strconv.FormatFloat(f, 'g', -1, 64)
	switch {
	case math.IsNaN(f):
		return measureInconclusive, value, "NaN is no data", rendered, nil
	case q.Failure != nil && q.Failure.Eval(f):
		return measureFailure, value, fmt.Sprintf("%s meets the failure condition %q", value, q.Failure.String()), rendered, nil
	case q.Success.Eval(f):
		return measureSuccess, value, fmt.Sprintf("%s meets %q", value, q.Success.String()), rendered, nil
	case q.Failure == nil:
		return measureFailure, value, fmt.Sprintf("%s misses the success condition %q", value, q.Success.String()), rendered, nil
	}
	return measureInconclusive, value, fmt.Sprintf("%s meets neither %q nor the failure condition %q", value, q.Success.String(), q.Failure.String()), rendered, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
