package bot

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCommentsGolden keeps the texts the bot posts on pull requests in
// testdata/comments.md.
func TestCommentsGolden(t *testing.T) {
	t.Parallel()
	parts := []string{
		reportComment("eks-1-30", rollout.PostReport{
			About:   rollout.ReportHalted,
			Wave:    2,
			Summary: "Campaign eks-1-30 halted: 1 cluster failed or timed out, over the budget of 0.",
			Failures: []rollout.Failure{{
				Wave: 2, Cluster: "a-prod-1", Tenant: "tenant-a", Phase: rollout.ClusterFailed,
				Gate: "terraform", Detail: "check terraform-apply | concluded failure",
			}},
		}),
		reportComment("eks-1-30", rollout.PostReport{
			About:    rollout.ReportPRClosed,
			Wave:     1,
			Summary:  "Tenant tenant-b closed pull request #2 of wave 1 without merging it.",
			Clusters: []string{"b-dev-1"},
		}),
		reportComment("eks-1-30", rollout.PostReport{
			About:   rollout.ReportResumed,
			Wave:    1,
			Summary: "Campaign eks-1-30 was resumed by pat and is Running again; it had halted: 1 cluster failed or timed out, over the budget of 0.",
		}),
		approvalComment("eks-1-30", rollout.RequestApproval{Wave: 2, Clusters: []string{"a-prod-1", "b-prod-1"}}),
		closeComment("eks-1-30", rollout.ClosePRs{Wave: 1, Reason: "the campaign was aborted by pat"}),
		reportComment("eks-1-30", rollout.PostReport{
			About:   rollout.ReportRollingBack,
			Summary: "Campaign eks-1-30 is rolling back, one revert wave at a time (wave 4 reverts wave 2; wave 5 reverts wave 1).",
		}),
		commandsComment("eks-1-30", CommandRecord{By: "pat", Commands: []CommandResult{
			{Line: 2, Raw: "/fleet pause", Outcome: rollout.CommandTaken, Detail: "the campaign went from Running to Paused"},
			{Line: 3, Raw: "/fleet rollbak", Outcome: rollout.CommandRefused, Detail: `"rollbak" is not a command (did you mean "rollback"?); usage: /fleet rollback`},
			{Line: 4, Raw: "/fleet help", Outcome: rollout.CommandShown, Detail: "below", Show: rollout.Help()},
		}}, []CommandRecord{
			{By: "bruno", At: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), Commands: []CommandResult{{Line: 1, Raw: "/fleet approve", Outcome: rollout.CommandTaken, Detail: "approved #2 at 1111111 for tenant-b"}}},
			{By: "pat", At: time.Date(2026, 12, 1, 9, 10, 0, 0, time.UTC), Commands: []CommandResult{{Line: 1, Raw: "/fleet status", Outcome: rollout.CommandShown, Detail: "below", Show: "a table"}}},
		}),
		setupComment("eks-1-30", "main", "0123456789abcdef", []string{"a-prod-1"}, wave.Result{Replanned: true, Regenerated: true}),
		setupComment("eks-1-30", "main", "0123456789abcdef", nil, wave.Result{Regenerated: true, Kept: []wave.KeptFile{
			{Path: "tenants/tenant-a/prod.yaml", Reason: `line 12: value is "1.31", expected "1.29"; the file changed since it was read`},
		}}),
		setupComment("eks-1-30", "main", "0123456789abcdef", nil, wave.Result{Opened: true, Number: 3, Skipped: []string{
			"user gone: GitHub refused to ask for a review: request reviewers on acme/fleet#3: 422 Reviews may only be requested from collaborators.",
			"team other/platform: not in acme, the repository's organisation",
		}}),
	}
	got := strings.Join(parts, "\n---\n\n")
	path := filepath.Join("testdata", "comments.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), got)
	for _, p := range parts {
		assert.True(t, hasMarker(p, statusMarker("eks-1-30")), "every comment carries the status marker:\n%s", p)
		assert.False(t, hasMarker(p, statusMarker("eks-1-31")))
	}
}

// TestStatusCommentFitsGitHub: a status comment longer than GitHub takes
// (a report naming thousands of clusters) is cut at the limit, saying so,
// with its marker kept, rather than refused again on every pass; once
// posted it is edited in place.
func TestStatusCommentFitsGitHub(t *testing.T) {
	t.Parallel()
	api := newFakeAPI()
	target := prTarget{api: api, repo: repoName{Owner: "acme", Name: "fleet"}, number: 7}
	marker := statusMarker("big")
	body := marker + "\n" + strings.Repeat("| `a-cluster-with-a-long-name` | failed |\n", 3000)
	require.Greater(t, len(body), maxIssueBody)
	require.NoError(t, upsertMarked(t.Context(), target, marker, body, true))
	got, err := api.Comments(t.Context(), "acme", "fleet", 7)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.LessOrEqual(t, len(got[0].Body), maxIssueBody)
	assert.True(t, strings.HasPrefix(got[0].Body, marker+"\n"), "the marker stays")
	assert.True(t, strings.HasSuffix(got[0].Body, "…(cut at GitHub's limit)\n"))
	require.NoError(t, upsertMarked(t.Context(), target, marker, body+"more\n", true))
	got, err = api.Comments(t.Context(), "acme", "fleet", 7)
	require.NoError(t, err)
	assert.Len(t, got, 1, "the one status comment is edited")
}

// bigState is a campaign of waves waves of clusters clusters each, one
// pull request per 10 clusters, wave 1's first cluster failed and its
// first pull request open.
func bigState(waves, clusters int) rollout.State {
	st := rollout.State{Campaign: "big", Phase: rollout.CampaignRunning}
	for n := 1; n <= waves; n++ {
		w := rollout.WaveState{Number: n, Phase: rollout.WaveOpen}
		for i := range clusters {
			c := rollout.ClusterState{Name: fmt.Sprintf("w%d-a-cluster-with-a-long-name-%04d", n, i), Tenant: fmt.Sprintf("t%03d", i/10), Phase: rollout.ClusterSucceeded}
			if n == 1 && i == 0 {
				c.Phase = rollout.ClusterFailed
			}
			w.Clusters = append(w.Clusters, c)
			if i%10 == 0 {
				pr := rollout.PRState{Tenant: c.Tenant, Number: n*1000 + i/10, Status: rollout.PRStatusMerged}
				if n == 1 && i == 0 {
					pr.Status = rollout.PRStatusOpen
				}
				w.PRs = append(w.PRs, pr)
			}
		}
		st.Waves = append(st.Waves, w)
	}
	return st
}

// TestStatusTableFitsAComment: /fleet status names every cluster while
// that fits; on a large campaign it counts them per wave, naming the failed
// clusters and the pull requests not merged, and still shows every wave;
// with more waves than fit, it says how many it shows. A comment with ten
// of them keeps each answer whole or says it was left out.
func TestStatusTableFitsAComment(t *testing.T) {
	t.Parallel()
	small := statusTable(bigState(2, 3), time.Time{}, "")
	assert.Contains(t, small, "| 1 | change | Open | #1000 t000 (Open) | `w1-a-cluster-with-a-long-name-0000` Failed, `w1-a-cluster-with-a-long-name-0001` Succeeded, `w1-a-cluster-with-a-long-name-0002` Succeeded |")
	assert.NotContains(t, small, "Too many")

	big := statusTable(bigState(8, 400), time.Time{}, "")
	assert.LessOrEqual(t, len(big), maxShown)
	assert.Contains(t, big, "| 1 | change | Open | 40: 39 Merged, 1 Open (#1000 t000 (Open)) | 400: 1 Failed, 399 Succeeded (`w1-a-cluster-with-a-long-name-0000` Failed) |")
	assert.Contains(t, big, "| 8 | change | Open | 40: 40 Merged | 400: 400 Succeeded |")
	assert.Contains(t, big, "Too many to name here")
	assert.NotContains(t, big, "Only the first")

	huge := statusTable(bigState(600, 2), time.Time{}, "")
	assert.LessOrEqual(t, len(huge), maxShown)
	assert.Contains(t, huge, "| 1 | change |")
	assert.Regexp(t, `Only the first \d+ of 600 waves fit in a comment\.`, huge)

	plan := &rollout.Plan{}
	for n := 1; n <= 8; n++ {
		w := rollout.Wave{Index: n, Env: "prod"}
		for i := range 400 {
			w.Clusters = append(w.Clusters, rollout.WaveCluster{Name: fmt.Sprintf("w%d-a-cluster-with-a-long-name-%04d", n, i), From: "1.29", To: "1.30"})
		}
		plan.Waves = append(plan.Waves, w)
	}
	shownPlan := planTable(plan)
	assert.LessOrEqual(t, len(shownPlan), maxShown)
	assert.Contains(t, shownPlan, "| 8 | prod | 400: `w8-a-cluster-with-a-long-name-0000` 1.29 → 1.30, `w8-a-cluster-with-a-long-name-0001` 1.29 → 1.30, `w8-a-cluster-with-a-long-name-0002` 1.29 → 1.30, `w8-a-cluster-with-a-long-name-0003` 1.29 → 1.30, `w8-a-cluster-with-a-long-name-0004` 1.29 → 1.30, … | 0 |")

	rec := CommandRecord{By: "pat"}
	for i := range rollout.MaxCommands {
		rec.Commands = append(rec.Commands, CommandResult{Line: i + 1, Raw: "/fleet status", Outcome: rollout.CommandShown, Detail: "below", Show: huge})
	}
	var earlier []CommandRecord
	for range maxEarlier {
		r := CommandRecord{By: "pat"}
		for i := range rollout.MaxCommands {
			r.Commands = append(r.Commands, CommandResult{Line: i + 1, Raw: "/fleet skip " + strings.Repeat("x", 200), Outcome: rollout.CommandRefused, Detail: strings.Repeat("why ", 100)})
		}
		earlier = append(earlier, r)
	}
	body := commandsComment("big", rec, earlier)
	assert.LessOrEqual(t, len(body), maxIssueBody)
	assert.Equal(t, 2, strings.Count(body, "| 1 | change | Open |"), "two whole answers fit beside the earlier commands")
	assert.Contains(t, body, "Earlier commands here (10)")
	assert.Equal(t, rollout.MaxCommands-2, strings.Count(body, "`/fleet status`: "+leftOut))
}

// A report or an approval request of a wave of thousands names its first
// clusters and counts the others, rather than being cut at GitHub's limit.
func TestCommentsNameSomeClusters(t *testing.T) {
	t.Parallel()
	var names []string
	for i := range 5000 {
		names = append(names, fmt.Sprintf("a-cluster-with-a-long-name-%04d", i))
	}
	for _, body := range []string{
		reportComment("big", rollout.PostReport{About: rollout.ReportPRClosed, Wave: 1, Summary: "closed", Clusters: names}),
		approvalComment("big", rollout.RequestApproval{Wave: 2, Clusters: names}),
	} {
		assert.Less(t, len(body), 4000)
		assert.Contains(t, body, "`a-cluster-with-a-long-name-0049` and 4950 more (`/fleet status` lists them)")
		assert.NotContains(t, body, "a-cluster-with-a-long-name-0050")
	}
	assert.Equal(t, "`a`, `b`", wave.CodeListUpTo([]string{"a", "b"}, 2))
}

// TestStatusTableHalted: /fleet status of a halted campaign says what it
// waits for as the dashboard does: the halt's reason, and once its
// failures were retried or skipped, that a resume is what is left.
func TestStatusTableHalted(t *testing.T) {
	t.Parallel()
	st := rollout.State{Campaign: "eks-1-30", Phase: rollout.CampaignHalted, HaltReason: "1 cluster failed or timed out, over the budget of 0",
		HaltedForFailures: true, Waves: []rollout.WaveState{{Number: 1, Phase: rollout.WaveSucceeded,
			Clusters: []rollout.ClusterState{{Name: "a-dev-1", Tenant: "tenant-a", Phase: rollout.ClusterSucceeded}}}}}
	assert.True(t, strings.HasPrefix(statusTable(st, time.Time{}, ""),
		"Campaign **eks-1-30** is **Halted**. Waiting for a person to resume it (halted: 1 cluster failed or timed out, over the budget of 0; retried or skipped since).\n"))

	st.Waves[0].Clusters[0].Phase, st.Waves[0].Phase = rollout.ClusterFailed, rollout.WaveFailed
	assert.True(t, strings.HasPrefix(statusTable(st, time.Time{}, ""),
		"Campaign **eks-1-30** is **Halted**. Waiting for a person: 1 cluster failed or timed out, over the budget of 0.\n"), statusTable(st, time.Time{}, ""))
}

// TestStatusTableNotReached: /fleet status of an aborted campaign says its
// waves never opened were not reached, and so were their clusters.
func TestStatusTableNotReached(t *testing.T) {
	t.Parallel()
	st := rollout.State{Campaign: "eks-1-30", Phase: rollout.CampaignAborted, Waves: []rollout.WaveState{
		{Number: 1, Phase: rollout.WaveStopped, Clusters: []rollout.ClusterState{{Name: "a-dev-1", Tenant: "tenant-a", Phase: rollout.ClusterStopped}}},
		{Number: 2, Phase: rollout.WavePending, Clusters: []rollout.ClusterState{{Name: "a-prod-1", Tenant: "tenant-a", Phase: rollout.ClusterPending}}},
	}}
	table := statusTable(st, time.Time{}, "")
	assert.Contains(t, table, "| 1 | change | Stopped | - | `a-dev-1` Stopped |")
	assert.Contains(t, table, "| 2 | change | Not reached | - | `a-prod-1` NotReached |")
}
