package bot

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWavePullRequestsOpenAtOnce: a wave's pull requests are put on GitHub
// together, up to OpenConcurrency, and numbered in the plan's order all
// the same; with OpenConcurrency 1 they go one at a time.
func TestWavePullRequestsOpenAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		concurrency, inFlight int
	}{{4, 2}, {1, 1}} {
		w := newWorld(t, "eks-1-30.yaml")
		w.ensure.enter = make(chan struct{}, 8)
		w.ensure.block = make(chan struct{})
		b := w.bot(t, "r1", nil)
		b.cfg.OpenConcurrency = tc.concurrency
		require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
		done := make(chan error, 1)
		go func() { done <- b.Reconcile(t.Context()) }()
		for range tc.inFlight {
			select {
			case <-w.ensure.enter:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "fewer pull requests in flight than allowed", "concurrency %d", tc.concurrency)
			}
		}
		if tc.inFlight < 2 {
			select {
			case <-w.ensure.enter:
				require.FailNow(t, "a second pull request went to GitHub while the first was in flight")
			case <-time.After(200 * time.Millisecond):
			}
		}
		close(w.ensure.block)
		require.NoError(t, <-done)
		st, _ := w.state(t, campaign)
		assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]), "concurrency %d", tc.concurrency)
	}
}

// TestTurnsOrderOpens: the i-th open waits for the one before, even when
// it is ready first; a turn given up without opening lets the next go.
func TestTurnsOrderOpens(t *testing.T) {
	t.Parallel()
	tr := newTurns(3)
	var mu sync.Mutex
	var order []int
	record := func(i int) func() error {
		return func() error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, i)
			return nil
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = tr.in(2)(record(2)) }()
	go func() { defer wg.Done(); _ = tr.in(1)(record(1)) }()
	time.Sleep(50 * time.Millisecond) // both wait for turn 0
	mu.Lock()
	assert.Empty(t, order, "nothing opens before the first turn")
	mu.Unlock()
	tr.pass(0) // the first gave up without opening
	tr.pass(0) // and passing again does nothing
	wg.Wait()
	assert.Equal(t, []int{1, 2}, order)
}
