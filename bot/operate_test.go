package bot

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// failGates fails the terraform gate of the named clusters and passes the
// others.
type failGates map[string]bool

func (f failGates) Run(_ context.Context, targets []gate.Target) []gate.Result {
	var out []gate.Result
	for _, t := range targets {
		r := gate.Result{Gate: "terraform", Cluster: t.Cluster, Outcome: rollout.GatePassed, Detail: "checks succeeded"}
		if f[t.Cluster] {
			r.Outcome, r.Detail = rollout.GateFailed, "terraform-apply failed on "+t.MergeSHA
		}
		out = append(out, r)
	}
	return out
}

// resettingGates passes every cluster and records the clusters it was told
// to forget.
type resettingGates struct {
	passGates
	reset []string
}

func (g *resettingGates) Reset(cluster string) { g.reset = append(g.reset, cluster) }

// halted starts the EKS campaign and merges wave 1 with a-dev-1's gate
// failing: over a budget of none, the campaign halts.
func halted(t *testing.T, w *world, b *Bot) {
	t.Helper()
	b.cfg.Gates = failGates{"a-dev-1": true}
	started(t, w, b)
	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	require.Equal(t, rollout.CampaignHalted, st.Phase)
	require.Equal(t, rollout.ClusterFailed, st.Waves[0].Clusters[0].Phase)
}

func TestOperatePauseResume(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	st, err := b.Operate(t.Context(), campaign, rollout.Pause{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignPaused, st.Phase)
	persisted, _ := w.state(t, campaign)
	assert.Equal(t, st, persisted, "Operate returns the state it persisted")

	_, v1 := w.state(t, campaign)
	_, err = b.Operate(t.Context(), campaign, rollout.Pause{By: "pat"})
	require.ErrorIs(t, err, rollout.ErrIgnored, "pausing a paused campaign changes nothing")
	var ee *rollout.EventError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "pause", ee.Event)
	_, v2 := w.state(t, campaign)
	assert.Equal(t, v1, v2)

	st, err = b.Operate(t.Context(), campaign, rollout.Resume{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
	assert.Equal(t, 2.0, testutil.ToFloat64(b.metrics.events.WithLabelValues("pause", "applied"))+testutil.ToFloat64(b.metrics.events.WithLabelValues("resume", "applied")))
}

func TestOperateSkipAndResumeAHaltedCampaign(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	halted(t, w, b)

	_, err := b.Operate(t.Context(), campaign, rollout.Resume{By: "pat"})
	var ee *rollout.EventError
	require.ErrorAs(t, err, &ee, "over budget, resume is refused")
	assert.NotErrorIs(t, err, rollout.ErrIgnored)
	assert.Equal(t, rollout.CampaignHalted, ee.Phase)

	_, err = b.Operate(t.Context(), campaign, rollout.SkipCluster{Cluster: "a-dev-1", By: "pat"})
	require.ErrorAs(t, err, &ee, "a skip needs a reason")
	assert.Contains(t, ee.Reason, "reason")

	st, err := b.Operate(t.Context(), campaign, rollout.SkipCluster{Cluster: "a-dev-1", Reason: "decommissioned next week", By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.ClusterSkipped, st.Waves[0].Clusters[0].Phase)
	assert.Equal(t, "decommissioned next week", st.Waves[0].Clusters[0].SkipReason)

	st, err = b.Operate(t.Context(), campaign, rollout.Resume{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
}

func TestOperateRetry(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	halted(t, w, b)

	_, err := b.Operate(t.Context(), campaign, rollout.Retry{Cluster: "a-prod-1", By: "pat"})
	var ee *rollout.EventError
	require.ErrorAs(t, err, &ee, "a cluster that has not failed cannot be retried")

	fixed := &resettingGates{} // the fix landed
	b.cfg.Gates = fixed
	st, err := b.Operate(t.Context(), campaign, rollout.Retry{Cluster: "a-dev-1", By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a-dev-1"}, fixed.reset, "the gates forget what failed the cluster before verifying it again")
	assert.Equal(t, rollout.ClusterSucceeded, st.Waves[0].Clusters[0].Phase, "the retry asked the gates again, and they passed")
	assert.Equal(t, rollout.CampaignHalted, st.Phase, "a halt ends with resume")

	st, err = b.Operate(t.Context(), campaign, rollout.Resume{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
}

func TestOperateAbortClosesOpenPullRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	w.api.merge(t, 1, "aaaa")

	st, err := b.Operate(t.Context(), campaign, rollout.Abort{By: "pat", Reason: "wrong target version"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignAborted, st.Phase)
	p1, err := w.api.PullRequest(t.Context(), "acme", "fleet", 1)
	require.NoError(t, err)
	assert.True(t, p1.Merged, "a merged change stays")
	p2, err := w.api.PullRequest(t.Context(), "acme", "fleet", 2)
	require.NoError(t, err)
	assert.Equal(t, "closed", p2.State)
	assert.False(t, p2.Merged)
	cs, err := w.api.Comments(t.Context(), "acme", "fleet", 2)
	require.NoError(t, err)
	require.NotEmpty(t, cs)
	assert.Contains(t, cs[0].Body, "Campaign `eks-1-30`")

	_, err = b.Operate(t.Context(), campaign, rollout.Resume{By: "pat"})
	var ee *rollout.EventError
	require.ErrorAs(t, err, &ee, "nothing moves an aborted campaign")
}

func TestOperateRollbackOfAnEKSVersionIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	w.api.merge(t, 1, "aaaa")
	require.NoError(t, b.Reconcile(t.Context()))
	_, v1 := w.state(t, campaign)

	st, err := b.Operate(t.Context(), campaign, rollout.Rollback{By: "pat"})
	require.ErrorIs(t, err, rollout.ErrForwardOnly)
	assert.ErrorContains(t, err, "EKS cannot downgrade a control plane. Fix forward")
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
	_, v2 := w.state(t, campaign)
	assert.Equal(t, v1, v2, "a refused rollback writes nothing")
}

func TestOperateUnknownCampaign(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	_, err := b.Operate(t.Context(), "nope", rollout.Pause{})
	require.ErrorIs(t, err, ErrNoCampaign)
	assert.ErrorContains(t, err, "campaign nope")

	_, err = b.Operate(t.Context(), campaign, rollout.Tick{})
	require.ErrorContains(t, err, "not an operation")
}

// TestOperateWaitsForTheLease: while another replica holds the campaign's
// lease Operate waits, and acts once it is let go; a caller that stops
// waiting gets an error matching store.ErrHeld.
func TestOperateWaitsForTheLease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	ctx := t.Context()

	l, err := w.store.Acquire(ctx, leaseName(campaign), "replica-b", time.Minute)
	require.NoError(t, err)
	type result struct {
		st  rollout.State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := b.Operate(ctx, campaign, rollout.Pause{By: "pat"})
		done <- result{st, err}
	}()
	require.Eventually(t, func() bool { return testutil.ToFloat64(b.metrics.leaseHeld) >= 2 }, 10*time.Second, 5*time.Millisecond,
		"Operate tries again while the lease is held")
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase, "nothing happened under another replica's lease")

	require.NoError(t, w.store.Release(ctx, l))
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, rollout.CampaignPaused, res.st.Phase)

	// Held again, by a replica that never lets go: a caller that gives up
	// learns why.
	_, err = w.store.Acquire(ctx, leaseName(campaign), "replica-b", time.Minute)
	require.NoError(t, err)
	short, cancel := context.WithCancel(ctx)
	go func() {
		for testutil.ToFloat64(b.metrics.leaseHeld) < 4 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = b.Operate(short, campaign, rollout.Resume{By: "pat"})
	require.ErrorIs(t, err, store.ErrHeld)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, ErrNotTaken, "the campaign never took the resume")
}

// TestAbortStopsClustersWhereTheyStood: an abort leaves no cluster InPR or
// Verifying. Those of the stopped wave are Stopped, and the dashboard and
// the metrics say so, with whether each had merged.
func TestAbortStopsClustersWhereTheyStood(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	reg := prometheus.NewRegistry()
	b := w.bot(t, "r1", reg)
	b.cfg.Gates = &scriptedGates{outcome: map[string]rollout.Outcome{"a-dev-1": rollout.GateWaiting, "a-dev-2": rollout.GateWaiting}}
	started(t, w, b)
	p := w.api.merge(t, 1, "aaaa")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, p.HeadRef, "aaaa")))
	const c = "campaign=" + campaign
	require.Equal(t, map[string]float64{c + ",phase=Verifying": 2, c + ",phase=InPR": 1, c + ",phase=Pending": 2}, nonZero(samples(t, reg, "fleetbot_clusters")))

	_, err := b.Operate(t.Context(), campaign, rollout.Abort{By: "pat", Reason: "wrong target version"})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{c + ",phase=Stopped": 3, c + ",phase=NotReached": 2}, nonZero(samples(t, reg, "fleetbot_clusters")),
		"the clusters of the stopped wave; wave 2's were never reached")
	body := dashboardOf(t, w).Body
	assert.Contains(t, body, "| 1 | `a-dev-1` | tenant-a | 1.29 → 1.30 | Stopped: merged, not verified |")
	assert.Contains(t, body, "| 1 | `b-dev-1` | tenant-b | 1.29 → 1.30 | Stopped: not merged |")
	assert.Contains(t, body, "Clusters: 2 merged, not verified, 1 stopped before the merge, 2 not reached of 5.")
	assert.Regexp(t, `\| 2 \| [^|]+ \| Not reached \|`, body, "the wave the campaign never opened")
	assert.Regexp(t, "\\| 2 \\| `[a-z0-9-]+` \\| [^|]+ \\| [^|]+ \\| Not reached \\|", body, "its clusters")
}
