package bot

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		}}),
		regeneratedComment("eks-1-30", "main", "0123456789abcdef", wave.Result{Regenerated: true, Kept: []wave.KeptFile{
			{Path: "tenants/tenant-a/prod.yaml", Reason: `line 12: value is "1.31", expected "1.29"; the file changed since it was read`},
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
