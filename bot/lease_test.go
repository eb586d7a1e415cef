package bot

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// frozenRenewals is a store whose renewals wait while frozen is open, as
// a replica stopped with SIGSTOP would: its lease then expires.
type frozenRenewals struct {
	store.Store
	frozen chan struct{}
}

func (s *frozenRenewals) Renew(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	select {
	case <-s.frozen:
	case <-ctx.Done():
		return store.Lease{}, ctx.Err()
	}
	return s.Store.Renew(ctx, l, ttl)
}

// TestLeaseRenewedDuringAStep: a step three times longer than the lease
// keeps it, so no other replica takes the campaign meanwhile. The lease is
// renewed every third of its length: 1.5 s leaves a renewal a second of
// slack on a machine busy with the race-enabled suite (300 ms did not).
func TestLeaseRenewedDuringAStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	b.cfg.LeaseTTL = 1500 * time.Millisecond
	require.NoError(t, stepHoldingTheLease(t, w, b, 3*b.cfg.LeaseTTL))
	l, err := w.store.Acquire(t.Context(), leaseName("c"), "r2", time.Second)
	require.NoError(t, err, "released at the end of the step")
	assert.Equal(t, "r2", l.Holder)
}

// stepHoldingTheLease runs a step of d under campaign c's lease on b,
// checking every 50 ms that another replica cannot take the lease meanwhile.
func stepHoldingTheLease(t *testing.T, w *world, b *Bot, d time.Duration) error {
	t.Helper()
	return b.withLease(t.Context(), "c", func(ctx context.Context, _ store.Lease) error {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			_, err := w.store.Acquire(ctx, leaseName("c"), "r2", time.Second)
			require.ErrorIs(t, err, store.ErrHeld, "the lease changed hands during the step")
			time.Sleep(50 * time.Millisecond)
		}
		return ctx.Err()
	})
}

// TestLeaseLostStopsTheStep: a replica whose renewals stop (it froze)
// loses the lease once it expires; another replica takes it; when the
// first goes on, its step's context is cancelled at the first renewal,
// the step ends with store.ErrLost, and its fenced writes are refused.
func TestLeaseLostStopsTheStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	frozen := &frozenRenewals{Store: w.store, frozen: make(chan struct{})}
	w.store = frozen
	b := w.bot(t, "r1", nil)
	b.cfg.LeaseTTL = 300 * time.Millisecond
	taken := make(chan store.Lease, 1)
	var writeAfter error
	err := b.withLease(t.Context(), "c", func(ctx context.Context, l store.Lease) error {
		time.Sleep(400 * time.Millisecond) // past the lease: frozen, it was not renewed
		other, err := frozen.Acquire(t.Context(), leaseName("c"), "r2", time.Minute)
		require.NoError(t, err, "another replica takes the expired lease")
		taken <- other
		close(frozen.frozen) // the first replica goes on
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Error("the step's context was not cancelled once the lease was lost")
		}
		_, writeAfter = w.store.Put(t.Context(), stateKey("c"), []byte("late"), 0, l.Fence())
		return ctx.Err()
	})
	require.ErrorIs(t, err, store.ErrLost)
	require.ErrorIs(t, writeAfter, store.ErrFenced, "a write after the lease was lost")
	other := <-taken
	require.NoError(t, frozen.Release(t.Context(), other), "the new holder still holds it: the loser did not release it")
}

// panicking is a store whose Renew and List panic at their first call, as a
// bug in a store's client would.
type panicking struct {
	store.Store
	renews, lists atomic.Int32
}

func (s *panicking) Renew(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if s.renews.Add(1) == 1 {
		panic("renew: assignment to entry in nil map")
	}
	return s.Store.Renew(ctx, l, ttl)
}

func (s *panicking) List(ctx context.Context, prefix string) ([]store.Entry, error) {
	if s.lists.Add(1) == 1 {
		panic("list: index out of range")
	}
	return s.Store.List(ctx, prefix)
}

// panickingBot is a bot on a store whose first Renew and first List panic,
// logging in JSON to logs.
func panickingBot(t *testing.T) (*world, *panicking, *Bot, *bytes.Buffer) {
	t.Helper()
	w := newWorld(t)
	p := &panicking{Store: w.store}
	w.store = p
	b := w.bot(t, "r1", nil)
	logs := &bytes.Buffer{}
	b.log = slog.New(slog.NewJSONHandler(logs, nil))
	return w, p, b, logs
}

// TestLeaseRenewalPanics: a renewal that panics is a failed renewal: the
// process goes on, the next renewal keeps the lease, so no other replica
// takes the campaign during the step, and the panic is logged with its
// stack and counted as the bot's other recovered panics are.
func TestLeaseRenewalPanics(t *testing.T) {
	t.Parallel()
	w, p, b, logs := panickingBot(t)
	b.cfg.LeaseTTL = 1500 * time.Millisecond // renewed every 500 ms: the second renewal has a second of slack
	require.NoError(t, stepHoldingTheLease(t, w, b, 2*b.cfg.LeaseTTL))
	assert.GreaterOrEqual(t, p.renews.Load(), int32(3), "renewed after the panic")
	assert.InDelta(t, 1.0, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicLease)), 0)
	assert.Contains(t, logs.String(), `"msg":"renew campaign lease panicked"`)
	assert.Contains(t, logs.String(), "(*panicking).Renew", "the log has the stack")
}

// TestOwnershipClaimPanics: a claim of the campaigns' ownership that
// panics (here in listing the campaigns) is logged, counted and tried
// again at the next tick: the process goes on claiming.
func TestOwnershipClaimPanics(t *testing.T) {
	t.Parallel()
	_, p, b, logs := panickingBot(t)
	b.cfg.LeaseTTL = 150 * time.Millisecond // a claim every 50 ms
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.keepOwning(ctx)
	}()
	require.Eventually(t, func() bool { return p.lists.Load() >= 3 }, 30*time.Second, 10*time.Millisecond,
		"claims go on after the one that panicked")
	cancel()
	<-done
	assert.InDelta(t, 1.0, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicLease)), 0)
	assert.Contains(t, logs.String(), `"msg":"campaign ownership panicked"`)
	assert.Contains(t, logs.String(), "(*panicking).List", "the log has the stack")
}

// TestConcurrentStarts: the same campaign file, read at once by webhook
// workers and the reconcile loop of one replica, starts the campaign once,
// and none of them fails for it.
func TestConcurrentStarts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				errs <- b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml"))
			} else {
				errs <- b.Reconcile(t.Context())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Len(t, w.api.dashboards(), 1, "one dashboard issue")
}
