package bot

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
)

// TestCommandsNoWebhookBrought: commands written while no replica took
// webhooks are found by the reconcile loop's read of the repository's
// comments: one written shortly before is carried out, one written too
// long before is answered and not carried out, and neither runs twice,
// on later passes or when its webhook comes after all.
func TestCommandsNoWebhookBrought(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	dash := dashboardOf(t, w).Number
	scanned := w.clock.now() // the first pass read the comments up to here

	// Every replica is down for an hour; two comments are written.
	w.clock.add(time.Hour)
	write := func(id int64, at time.Time, body string) {
		w.api.mu.Lock()
		defer w.api.mu.Unlock()
		w.api.comments[dash] = append(w.api.comments[dash], gh.Comment{ID: id, User: "pat", Body: body, Created: at})
	}
	write(901, scanned.Add(5*time.Minute), "/fleet abort --reason \"wrong target\"")
	write(902, w.clock.now().Add(-2*time.Minute), "/fleet pause")
	require.NoError(t, b.Reconcile(t.Context()))

	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignPaused, st.Phase, "the recent pause ran, the old abort did not")
	assert.Equal(t, []string{reactionRefused}, w.api.reactionsTo(901))
	assert.Equal(t, []string{reactionTaken}, w.api.reactionsTo(902))
	assert.Contains(t, statusOn(t, w, dash), "| `/fleet pause` | taken: the campaign went from Running to Paused |")
	records, err := b.Commands(t.Context(), campaign)
	require.NoError(t, err)
	require.Len(t, records, 2)
	assert.Equal(t, int64(901), records[0].Comment)
	require.Len(t, records[0].Commands, 1)
	assert.Equal(t, rollout.CommandRefused, records[0].Commands[0].Outcome)
	assert.Contains(t, records[0].Commands[0].Detail, "not run: written at 2026-12-01T09:05:00Z while fleetbot received no webhooks, and found 55m0s later")

	// Later passes, and the pause's webhook after all: nothing runs twice.
	for range 3 {
		w.clock.add(10 * time.Minute)
		require.NoError(t, b.Reconcile(t.Context()))
	}
	acted, err := b.onComment(t.Context(), dashboardComment(902, dash, "pat", "/fleet pause"))
	require.NoError(t, err)
	assert.False(t, acted)
	records, err = b.Commands(t.Context(), campaign)
	require.NoError(t, err)
	assert.Len(t, records, 2)
	assert.Equal(t, []string{reactionRefused}, w.api.reactionsTo(901))
	assert.Equal(t, []string{reactionTaken}, w.api.reactionsTo(902))
}

// TestEditedCommentRunsNothing: a comment written without a command and
// edited into one before the next scan runs nothing, as its edit's webhook
// runs nothing: the scan sees the edit, not what was written.
func TestEditedCommentRunsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	dash := dashboardOf(t, w).Number
	w.clock.add(time.Minute)
	written := w.clock.now()
	w.api.mu.Lock()
	w.api.comments[dash] = append(w.api.comments[dash], gh.Comment{ID: 903, User: "pat", Body: "/fleet pause", Created: written, Updated: written.Add(20 * time.Second)})
	w.api.mu.Unlock()
	w.clock.add(10 * time.Minute)
	require.NoError(t, b.Reconcile(t.Context()))

	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase, "the edited pause did not run")
	assert.Empty(t, w.api.reactionsTo(903))
	records, err := b.Commands(t.Context(), campaign)
	require.NoError(t, err)
	assert.Empty(t, records)
}

// TestCommentThatKeepsFailing: a comment whose answer cannot be posted is
// tried again by the next scans, which read from it, not from further
// back; an hour after it was written it is given up, and the scans read
// on from after it.
func TestCommentThatKeepsFailing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	dash := dashboardOf(t, w).Number
	mark := func() time.Time {
		t.Helper()
		var scan commentScan
		_, err := getJSON(t.Context(), b.cfg.Store, commentScanKey(repoName{"acme", "fleet"}), &scan)
		require.NoError(t, err)
		return scan.Read
	}

	w.clock.add(10 * time.Minute)
	written := w.clock.now().Add(-5 * time.Minute)
	w.api.mu.Lock()
	w.api.comments[dash] = append(w.api.comments[dash], gh.Comment{ID: 903, User: "pat", Body: "/fleet pause", Created: written})
	w.api.commentFails["`/fleet pause`"] = 1000 // its answer cannot be posted
	w.api.mu.Unlock()
	require.ErrorContains(t, b.Reconcile(t.Context()), fmt.Sprintf("comment 903 on acme/fleet#%d", dash))
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignPaused, st.Phase, "carried out; its answer failed")
	assert.Equal(t, written.Add(commentScanOverlap), mark(), "the next scan reads from the comment on")

	w.clock.add(30 * time.Minute)
	require.ErrorContains(t, b.Reconcile(t.Context()), "comment 903", "tried again")
	assert.Equal(t, written.Add(commentScanOverlap), mark())

	w.clock.add(time.Hour)
	require.NoError(t, b.Reconcile(t.Context()), "given up an hour after it was written")
	assert.Equal(t, w.clock.now(), mark(), "the scans read on")
	records, err := b.Commands(t.Context(), campaign)
	require.NoError(t, err)
	require.Len(t, records, 1)
	assert.False(t, records[0].Answered)
	require.Len(t, records[0].Commands, 1, "run once")
}
