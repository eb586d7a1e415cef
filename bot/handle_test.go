package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// stateRefusingStore refuses the writes of campaign states while broken
// is set: an event can then not be taken in, while leases, records and
// everything else are written.
type stateRefusingStore struct {
	store.Store
	broken atomic.Bool
}

func (s *stateRefusingStore) Put(ctx context.Context, key string, value []byte, expect int64, fence store.Fence) (int64, error) {
	if s.broken.Load() && strings.HasSuffix(key, "/state") {
		return 0, errReadOnly
	}
	return s.Store.Put(ctx, key, value, expect, fence)
}

// TestEventTakenInWhileAnActionFails: wave 1's tenant-b pull request
// cannot be opened; the merge of tenant-a's pull request, delivered
// meanwhile, fails its delivery only while the merge itself cannot be
// stored, so a retry of the delivery is what takes it in. Once stored, the
// failing pull request of the other tenant is the campaign's failing
// action, not the delivery's: the delivery succeeds and counts as acted,
// and the action's failure is counted as one.
func TestEventTakenInWhileAnActionFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	refusing := &stateRefusingStore{Store: w.store}
	w.store = refusing
	b := w.bot(t, "r1", nil)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	down := errors.New("github is down")
	w.ensure.fail["tenant-b"] = down
	require.ErrorIs(t, b.Reconcile(t.Context()), down, "the pass reports it")
	st, _ := w.state(t, campaign)
	require.Equal(t, "tenant-a:Open#1 tenant-b:Requested#0", prStatuses(st.Waves[0]))
	opens := func(outcome string) float64 {
		return testutil.ToFloat64(b.metrics.actions.WithLabelValues("open-wave", outcome))
	}
	events := func(result string) float64 {
		return testutil.ToFloat64(b.metrics.webhooks.WithLabelValues("pull_request", result))
	}
	failedBefore := opens("error")

	p := w.api.merge(t, 1, "merge-1")
	merged := prWebhook("closed", 1, p.HeadRef, p.MergeCommitSHA)
	refusing.broken.Store(true)
	w.ensure.fail["tenant-b"] = down
	err := b.Handle(t.Context(), merged)
	require.ErrorIs(t, err, errReadOnly, "the merge is not stored: the delivery fails")
	st, _ = w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Requested#0", prStatuses(st.Waves[0]))
	assert.InDelta(t, 1.0, events("error"), 0)

	refusing.broken.Store(false)
	w.ensure.fail["tenant-b"] = down
	require.NoError(t, b.Handle(t.Context(), merged), "stored; the failing pull request is the campaign's")
	st, _ = w.state(t, campaign)
	assert.Equal(t, "tenant-a:Merged#1 tenant-b:Requested#0", prStatuses(st.Waves[0]))
	assert.InDelta(t, 1.0, events("acted"), 0)
	assert.InDelta(t, 1.0, events("error"), 0, "no new error")
	assert.Greater(t, opens("error"), failedBefore, "the attempt at tenant-b's pull request failed, and is counted")
	b.mu.Lock()
	tr := slices.Collect(maps.Values(b.troubles[campaign]))
	b.mu.Unlock()
	require.Len(t, tr, 1)
	assert.Equal(t, "open the pull request of tenant-b in wave 1", tr[0].What)
	assert.Equal(t, 3, tr[0].Attempts, "the pass's, the refused delivery's and the stored one's")
}

// TestSplitActionsFailed: the failures of carrying out actions are taken
// out of what a step returns, at any depth of joins, and what failed the
// event stays, its order kept.
func TestSplitActionsFailed(t *testing.T) {
	t.Parallel()
	read := errors.New("read reviews: 502")
	open := &actionsFailed{errors.New("campaign c: open-wave: github is down")}
	wrapped := fmt.Errorf("step c: %w", open)
	store := errors.New("write state: refused")
	for _, tc := range []struct {
		name           string
		err            error
		event, actions []error
	}{
		{name: "none"},
		{name: "the event's alone", err: read, event: []error{read}},
		{name: "an action's alone", err: open, actions: []error{open}},
		{name: "an action's, wrapped", err: wrapped, actions: []error{wrapped}},
		{name: "both, joined", err: errors.Join(read, open), event: []error{read}, actions: []error{open}},
		{name: "joins of joins", err: errors.Join(errors.Join(nil, open), errors.Join(read, errors.Join(store, wrapped))),
			event: []error{read, store}, actions: []error{open, wrapped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			event, actions := splitActionsFailed(tc.err)
			assert.Equal(t, tc.event, flat(event), "event")
			assert.Equal(t, tc.actions, flat(actions), "actions")
		})
	}
}

// flat lists the errors the joins err is made of, in order.
func flat(err error) []error {
	if _, ok := err.(interface{ Unwrap() []error }); !ok {
		return joined(err)
	}
	var out []error
	for _, e := range joined(err) {
		out = append(out, flat(e)...)
	}
	return out
}
