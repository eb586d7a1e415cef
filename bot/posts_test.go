package bot

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
)

// TestReportPostedOnceGitHubTakesIt: the report of an abort that GitHub
// refuses, on the abort's step and on the pass after it, is posted by the
// pass after that, although the campaign has ended and its dashboard
// issue is closed; once posted it waits no more, and is not posted again.
func TestReportPostedOnceGitHubTakesIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	w.api.merge(t, 1, "aaaa")
	const heading = "### Campaign `eks-1-30`: aborted"
	reported := func() bool {
		t.Helper()
		cs, err := w.api.Comments(t.Context(), "acme", "fleet", 1)
		require.NoError(t, err)
		return slices.ContainsFunc(cs, func(c gh.Comment) bool { return strings.Contains(c.Body, heading) })
	}
	w.api.mu.Lock()
	w.api.commentFails[heading] = 4 // on both pull requests of wave 1, twice
	w.api.mu.Unlock()

	st, err := b.Operate(t.Context(), campaign, rollout.Abort{By: "pat", Reason: "wrong target version"})
	require.ErrorContains(t, err, "github is down", "taken, not posted")
	assert.Equal(t, rollout.CampaignAborted, st.Phase)
	require.Len(t, st.Posts, 1)
	assert.Equal(t, rollout.ReportAborted, st.Posts[0].Report.About)
	assert.False(t, reported())

	require.ErrorContains(t, b.Reconcile(t.Context()), "github is down", "the first pass after the end")
	assert.False(t, reported())
	open, err := b.dashboardOpen(t.Context(), campaign)
	require.NoError(t, err)
	require.False(t, open, "the dashboard issue closed at the end")

	require.NoError(t, b.Reconcile(t.Context()))
	assert.True(t, reported(), "posted by the next pass")
	st, _ = w.state(t, campaign)
	assert.Empty(t, st.Posts)

	w.api.mu.Lock()
	w.api.commentFails[heading] = 2 // a post asked for again would fail
	w.api.mu.Unlock()
	require.NoError(t, b.Reconcile(t.Context()), "nothing posted again")
}
