package gate_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var epoch = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return epoch }

// funcGate is a gate made of a function.
type funcGate struct {
	name  string
	check func(ctx context.Context, t gate.Target) gate.Result
	reset []string
	mu    sync.Mutex
}

func (g *funcGate) Name() string { return g.name }
func (g *funcGate) Check(ctx context.Context, t gate.Target) gate.Result {
	return g.check(ctx, t)
}
func (g *funcGate) Reset(cluster string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reset = append(g.reset, cluster)
}

func targets(names ...string) []gate.Target {
	out := make([]gate.Target, len(names))
	for i, n := range names {
		out[i] = gate.Target{Campaign: "c", Cluster: n, MergeSHA: "abc"}
	}
	return out
}

func TestRunnerResultsInOrder(t *testing.T) {
	t.Parallel()
	pass := &funcGate{name: "a", check: func(_ context.Context, t gate.Target) gate.Result {
		return gate.Result{Outcome: rollout.GatePassed, Detail: "ok " + t.Cluster}
	}}
	fail := &funcGate{name: "b", check: func(_ context.Context, t gate.Target) gate.Result {
		return gate.Result{Outcome: rollout.GateFailed, Detail: "bad " + t.Cluster, At: epoch.Add(-time.Minute)}
	}}
	got := gate.NewRunner([]gate.Gate{pass, fail}, fixedClock).Run(t.Context(), targets("x", "y"))
	want := []gate.Result{
		{Gate: "a", Cluster: "x", Outcome: rollout.GatePassed, Detail: "ok x", At: epoch},
		{Gate: "b", Cluster: "x", Outcome: rollout.GateFailed, Detail: "bad x", At: epoch.Add(-time.Minute)},
		{Gate: "a", Cluster: "y", Outcome: rollout.GatePassed, Detail: "ok y", At: epoch},
		{Gate: "b", Cluster: "y", Outcome: rollout.GateFailed, Detail: "bad y", At: epoch.Add(-time.Minute)},
	}
	assert.Equal(t, want, got)
}

// TestRunnerAsksTheGatesATargetNames: a target naming gates is checked by
// those alone (a blue-green step's); one naming none by every gate.
func TestRunnerAsksTheGatesATargetNames(t *testing.T) {
	t.Parallel()
	var asked sync.Map
	mk := func(name string) gate.Gate {
		return &funcGate{name: name, check: func(_ context.Context, t gate.Target) gate.Result {
			asked.Store(name+"/"+t.Cluster, true)
			return gate.Result{Outcome: rollout.GatePassed}
		}}
	}
	ts := targets("green", "any")
	ts[0].Gates = []string{"eks", "terraform"}
	got := gate.NewRunner([]gate.Gate{mk("eks"), mk("prometheus"), mk("terraform")}, fixedClock).Run(t.Context(), ts)
	var pairs []string
	for _, r := range got {
		pairs = append(pairs, r.Gate+"/"+r.Cluster)
	}
	assert.Equal(t, []string{"eks/green", "terraform/green", "eks/any", "prometheus/any", "terraform/any"}, pairs)
	_, asked1 := asked.Load("prometheus/green")
	assert.False(t, asked1, "prometheus was not asked about green")
}

// TestRunnerIsolatesProviderTrouble: a panic, an error and a made-up
// outcome each give a waiting result with Err, and touch no other result.
func TestRunnerIsolatesProviderTrouble(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection refused")
	g := &funcGate{name: "flaky", check: func(_ context.Context, t gate.Target) gate.Result {
		switch t.Cluster {
		case "panics":
			panic("nil map")
		case "errs":
			return gate.Result{Outcome: rollout.GateFailed, Err: boom}
		case "odd":
			return gate.Result{Outcome: "maybe"}
		}
		return gate.Result{Outcome: rollout.GatePassed, Detail: "fine"}
	}}
	got := gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(), targets("panics", "errs", "odd", "fine"))
	require.Len(t, got, 4)

	var pe *gate.PanicError
	require.ErrorAs(t, got[0].Err, &pe)
	assert.Equal(t, "nil map", pe.Value)
	assert.Contains(t, string(pe.Stack), "gate_test.go", "the stack shows where the gate panicked")
	assert.Equal(t, "provider error: gate flaky panicked: nil map", got[0].Detail)

	require.ErrorIs(t, got[1].Err, boom)
	assert.Equal(t, "provider error: connection refused", got[1].Detail)

	require.Error(t, got[2].Err)
	assert.Equal(t, `provider error: gate flaky returned the outcome "maybe"`, got[2].Detail)

	for i, r := range got[:3] {
		assert.Equal(t, rollout.GateWaiting, r.Outcome, "result %d: provider trouble waits, it never fails", i)
		assert.Equal(t, epoch, r.At)
	}
	assert.Equal(t, gate.Result{Gate: "flaky", Cluster: "fine", Outcome: rollout.GatePassed, Detail: "fine", At: epoch}, got[3])
}

func TestRunnerConcurrencyBound(t *testing.T) {
	t.Parallel()
	const limit, clusters = 3, 12
	var cur, peak atomic.Int32
	entered := make(chan struct{}, 2*clusters)
	release := make(chan struct{})
	block := func(_ context.Context, _ gate.Target) gate.Result {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		cur.Add(-1)
		return gate.Result{Outcome: rollout.GatePassed}
	}
	r := gate.NewRunner([]gate.Gate{&funcGate{name: "a", check: block}, &funcGate{name: "b", check: block}},
		fixedClock, gate.WithConcurrency(limit))
	names := make([]string, clusters)
	for i := range names {
		names[i] = fmt.Sprintf("c%d", i)
	}
	done := make(chan []gate.Result)
	go func() { done <- r.Run(t.Context(), targets(names...)) }()
	for range limit {
		<-entered
	}
	close(release)
	got := <-done
	assert.Len(t, got, 2*clusters)
	assert.Equal(t, int32(limit), peak.Load(), "checks running at once")
}

func TestRunnerCancelled(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	g := &funcGate{name: "a", check: func(context.Context, gate.Target) gate.Result {
		calls.Add(1)
		return gate.Result{Outcome: rollout.GatePassed}
	}}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := gate.NewRunner([]gate.Gate{g}, fixedClock, gate.WithConcurrency(1)).Run(ctx, targets("x", "y", "z"))
	require.Len(t, got, 3)
	for _, r := range got {
		assert.Equal(t, rollout.GateWaiting, r.Outcome)
		assert.ErrorIs(t, r.Err, context.Canceled)
	}
	assert.Zero(t, calls.Load(), "no gate runs once the context is cancelled")
}

func TestRunnerReset(t *testing.T) {
	t.Parallel()
	stateful := &funcGate{name: "a"}
	r := gate.NewRunner([]gate.Gate{stateful}, fixedClock)
	r.Reset("dev-cpu-1")
	assert.Equal(t, []string{"dev-cpu-1"}, stateful.reset)
}

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to write %s", path)
	assert.Equal(t, string(want), got, "golden %s differs; run go test -update if the change is intended", path)
}

// describe writes a result as a person reads it in a report.
func describe(r gate.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome: %s\ndetail: %s\n", r.Outcome, r.Detail)
	if r.Err != nil {
		fmt.Fprintf(&b, "error: %v\n", r.Err)
	}
	ev := slices.Clone(r.Evidence)
	for _, e := range ev {
		fmt.Fprintf(&b, "evidence: %s @ %s = %s", e.Check, e.Revision, e.Value)
		if e.Source != "" {
			fmt.Fprintf(&b, " from %s", e.Source)
		}
		b.WriteString("\n")
	}
	return b.String()
}
