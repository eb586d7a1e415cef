package gate

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
)

// Target is one cluster to check, at the merge that changed it.
type Target struct {
	// Campaign names the campaign; stateful gates keep their measurements
	// per campaign, cluster and merge commit.
	Campaign string
	Cluster  string
	Tenant   string
	Env      string
	Region   string
	Account  string
	Fleet    string
	// Repo is the repository the change merged in, "owner/name".
	Repo string
	// MergeSHA is the merge commit of the tenant's pull request.
	MergeSHA string
	MergedAt time.Time
	// Change is the change's kind: rollout.KindEKSVersion, KindLabel or
	// KindField.
	Change string
	// Version is the target EKS version of an eksVersion change.
	Version string
	// Labels are the label values a label change wants on the cluster.
	Labels map[string]string
	// Traffic is the share of traffic, in percent, the cluster should
	// carry once the change merged (rollout.Subject.Traffic).
	Traffic int
	// Gone says the change removes the cluster (a blue cluster retired, a
	// green one rolled back): the gate passes once the cluster is gone
	// from what it watches, or on its way out.
	Gone bool
	// Gates names the gates to ask about the target (a clean-up wave's,
	// a blue-green step's); empty asks every gate of the runner.
	Gates []string
	// New says the change creates the cluster (a green cluster added):
	// while the gate finds none of its name yet, it waits rather than
	// fails, and the progress deadline times it out.
	New bool
}

// Vars returns the values gate templates may use.
func (t Target) Vars() rollout.TemplateVars {
	return rollout.TemplateVars{
		Cluster: t.Cluster, Tenant: t.Tenant, Env: t.Env,
		Region: t.Region, Account: t.Account, Fleet: t.Fleet, Traffic: t.Traffic,
	}
}

// Evidence is one fact a gate saw: which check, at which revision, with
// which value, from where (a URL or a query), and when.
type Evidence struct {
	Check    string    `json:"check"`
	Revision string    `json:"revision,omitempty"`
	Value    string    `json:"value"`
	Source   string    `json:"source,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// Result is a gate's verdict on one cluster.
type Result struct {
	Gate    string
	Cluster string
	// Outcome is rollout.GatePassed, GateFailed or GateWaiting.
	Outcome rollout.Outcome
	// Detail says why, in a sentence a person reads in reports.
	Detail   string
	Evidence []Evidence
	// At is when the verdict was formed.
	At time.Time
	// Err is a provider's error (unreachable, refused, malformed answer).
	// It is counted apart from failures: a Result with Err is always
	// waiting.
	Err error
}

// Gate checks one aspect of a cluster's health.
type Gate interface {
	// Name is the gate's name in the campaign (rollout.GateTerraform, ...).
	Name() string
	// Check returns the gate's verdict on t. It reports a provider's
	// trouble in Result.Err with a waiting outcome.
	Check(ctx context.Context, t Target) Result
}

// Resetter is a gate that keeps state per cluster (measurements over time).
// Reset forgets a cluster's state, so a retry starts afresh.
type Resetter interface {
	Reset(cluster string)
}

// DefaultConcurrency bounds the checks a Runner runs at once.
const DefaultConcurrency = 8

// Runner runs gates on targets.
type Runner struct {
	gates []Gate
	clock func() time.Time
	limit int
}

// RunnerOption configures a Runner.
type RunnerOption func(*Runner)

// WithConcurrency bounds the checks running at once (default
// DefaultConcurrency; less than 1 means 1).
func WithConcurrency(n int) RunnerOption {
	return func(r *Runner) { r.limit = max(n, 1) }
}

// NewRunner returns a Runner of gates that stamps results with clock
// (time.Now when nil).
func NewRunner(gates []Gate, clock func() time.Time, opts ...RunnerOption) *Runner {
	if clock == nil {
		clock = time.Now
	}
	r := &Runner{gates: gates, clock: clock, limit: DefaultConcurrency}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Run checks every target with every gate it names (every gate when it
// names none) and returns one Result per (target, gate), in target order,
// then gate order. A gate's panic or error
// becomes a waiting Result with Err set; a cancelled ctx makes the checks not
// yet started waiting with ctx's error.
func (r *Runner) Run(ctx context.Context, targets []Target) []Result {
	ctx = withSharedReads(ctx)
	type pair struct {
		t Target
		g Gate
	}
	var pairs []pair
	for _, t := range targets {
		for _, g := range r.gates {
			if len(t.Gates) == 0 || slices.Contains(t.Gates, g.Name()) {
				pairs = append(pairs, pair{t, g})
			}
		}
	}
	results := make([]Result, len(pairs))
	sem := make(chan struct{}, r.limit)
	var wg sync.WaitGroup
	for i, p := range pairs {
		t, g, slot := p.t, p.g, &results[i]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			*slot = r.settle(g, t, Result{Err: ctx.Err()})
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			*slot = r.settle(g, t, r.check(ctx, g, t))
		})
	}
	wg.Wait()
	return results
}

// Reset forgets the state every stateful gate keeps for cluster.
func (r *Runner) Reset(cluster string) {
	for _, g := range r.gates {
		if s, ok := g.(Resetter); ok {
			s.Reset(cluster)
		}
	}
}

// check runs one gate, turning a panic into an error.
func (r *Runner) check(ctx context.Context, g Gate, t Target) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Err: &PanicError{Gate: g.Name(), Value: p, Stack: debug.Stack()}}
		}
	}()
	if err := ctx.Err(); err != nil {
		return Result{Err: err}
	}
	return g.Check(ctx, t)
}

// settle fills in what a gate left out and keeps a provider's error from
// passing or failing a cluster.
func (r *Runner) settle(g Gate, t Target, res Result) Result {
	res.Gate, res.Cluster = g.Name(), t.Cluster
	if res.At.IsZero() {
		res.At = r.clock()
	}
	switch {
	case res.Err != nil:
		res.Outcome = rollout.GateWaiting
		if res.Detail == "" {
			res.Detail = "provider error: " + res.Err.Error()
		}
	case res.Outcome != rollout.GatePassed && res.Outcome != rollout.GateFailed && res.Outcome != rollout.GateWaiting:
		res.Err = fmt.Errorf("gate %s returned the outcome %q", g.Name(), res.Outcome)
		res.Outcome = rollout.GateWaiting
		res.Detail = "provider error: " + res.Err.Error()
	}
	return res
}

// PanicError is a gate's panic, caught by the Runner.
type PanicError struct {
	Gate  string
	Value any
	Stack []byte
}

// Error names the gate and the panic's value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("gate %s panicked: %v", e.Gate, e.Value)
}
