package stack_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// TestEndToEndAutoMerge: with `merge: auto` and a base branch that requires
// fleetbot/approval and ci/lint, the bot merges a wave pull request only
// once an owner approved it and ci/lint passed on its head, with the
// campaign's merge method, and the campaign goes on from that merge. The
// loop passes once an hour: the push opens wave 1 at once, and the review
// and statuses move it, not the loop.
func TestEndToEndAutoMerge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	src, err := os.ReadFile(filepath.Join("testdata", "eks-automerge.yaml"))
	require.NoError(t, err)
	plan, _ := expectedPlan(t, src, fleetDir)
	require.Len(t, plan.Waves, 1)
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: time.Hour, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.Do(ctx, http.MethodPut, "/repos/acme/fleet/branches/main/protection", "", map[string]any{
		"required_status_checks":        map[string]any{"strict": false, "contexts": []string{"fleetbot/approval", "ci/lint"}},
		"enforce_admins":                true,
		"required_pull_request_reviews": nil,
		"restrictions":                  nil,
	}, nil)
	require.NoError(t, err)
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))
	// The loop's interval is an hour: the start brings its next pass
	// forward, and that pass opens wave 1.
	pr := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")[0]
	merged := func() bool {
		var p struct {
			Merged bool `json:"merged"`
		}
		_, err := s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d", pr.Number), "", nil, &p)
		require.NoError(t, err)
		return p.Merged
	}
	lint := func(state string) {
		_, err := s.Do(ctx, http.MethodPost, "/repos/acme/fleet/statuses/"+prHead(t, s, pr.Number).SHA, "", map[string]any{"state": state, "context": "ci/lint"}, nil)
		require.NoError(t, err)
	}
	settle := func() { time.Sleep(1500 * time.Millisecond) } // several passes of the loop

	// Green checks alone do not merge it.
	lint("success")
	settle()
	assert.False(t, merged(), "not merged before an owner approved")

	// An approval with a failing required check does not either, and the
	// check run and the dashboard say why.
	lint("failure")
	approve(t, s, "acme/fleet", pr.Number, "alice")
	waitApproval(t, s, pr.Number, "success")
	held := func(why string) {
		t.Helper()
		want := fmt.Sprintf("#%d (tenant-a) approved, not merged: %s", pr.Number, why)
		waitCheck(t, s, prHead(t, s, pr.Number).SHA, bot.CheckName, "held: "+why, func(c checkRunView) bool {
			return c.Output.Title == "Waiting for wave 1: "+want
		})
		ds := dashboards(t, s, plan.Campaign)
		require.Len(t, ds, 1)
		dashboardWhen(t, s, ds[0].Number, "held: "+why, func(is issue) bool { return strings.Contains(is.Body, want) })
		assert.False(t, merged(), "not merged while held: %s", why)
	}
	held("required checks failed: ci/lint")

	// Green, but the repository no longer takes squash merges: GitHub's
	// refusal is what holds it.
	_, err = s.Do(ctx, http.MethodPatch, "/repos/acme/fleet", "", map[string]any{"allow_squash_merge": false}, nil)
	require.NoError(t, err)
	lint("success")
	held("GitHub refuses the merge: Squash merges are not allowed on this repository")

	// Approved and green, squash merges allowed again: merged by the bot,
	// squashed, on CI's next word (a repository's settings send no event;
	// the reconcile loop, an hour apart here, would find it too).
	_, err = s.Do(ctx, http.MethodPatch, "/repos/acme/fleet", "", map[string]any{"allow_squash_merge": true}, nil)
	require.NoError(t, err)
	lint("success")
	waitFor(t, "the bot to merge", func() (bool, bool) { m := merged(); return m, m })
	st := waitFor(t, "the campaign to record the merge", func() (rollout.State, bool) {
		st := phase(t, s, plan.Campaign)
		return st, st.Waves[0].PRs[0].Status == rollout.PRStatusMerged
	})
	var commit struct {
		Parents []struct {
			SHA string `json:"sha"`
		} `json:"parents"`
	}
	_, err = s.Do(ctx, http.MethodGet, "/repos/acme/fleet/git/commits/"+st.Waves[0].PRs[0].SHA, "", nil, &commit)
	require.NoError(t, err)
	assert.Len(t, commit.Parents, 1, "squashed")
	for _, c := range st.Waves[0].Clusters {
		i := slices.IndexFunc(c.Evidence, func(e rollout.Evidence) bool { return e.Event == "pr-merged" })
		require.GreaterOrEqual(t, i, 0, "%s: the merge is in the evidence", c.Name)
		assert.Equal(t, "approved by alice", c.Evidence[i].Detail, "%s: who approved is evidence", c.Name)
		assert.True(t, strings.HasSuffix(c.Evidence[i].By, "[bot]"), "%s: the bot merged: %q", c.Name, c.Evidence[i].By)
	}
}
