package stack_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// checkRunView is a check run as GitHub's API shows it.
type checkRunView struct {
	ID         int64  `json:"id"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	Output     struct {
		Title            string `json:"title"`
		Summary          string `json:"summary"`
		Text             string `json:"text"`
		AnnotationsCount int    `json:"annotations_count"`
	} `json:"output"`
}

// checkRunsNamed lists every check run named name on commit sha, newest
// first.
func checkRunsNamed(t *testing.T, s *stack.Stack, sha, name string) []checkRunView {
	t.Helper()
	var list struct {
		CheckRuns []checkRunView `json:"check_runs"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/commits/%s/check-runs?filter=all&check_name=%s", sha, name), "", nil, &list)
	require.NoError(t, err)
	return list.CheckRuns
}

// waitCheck waits until the one check run named name on sha is as ok says,
// and returns it; a second check run of that name on sha fails the test.
func waitCheck(t *testing.T, s *stack.Stack, sha, name, what string, ok func(checkRunView) bool) checkRunView {
	t.Helper()
	return waitFor(t, fmt.Sprintf("the %s check run on %s: %s", name, sha[:7], what), func() (checkRunView, bool) {
		runs := checkRunsNamed(t, s, sha, name)
		require.LessOrEqual(t, len(runs), 1, "one %s check run on %s", name, sha)
		return firstOr(runs), len(runs) == 1 && ok(runs[0])
	})
}

// firstOr returns the first of xs, or the zero value when there is none.
func firstOr[T any](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[0]
}

// TestEndToEndCheckRun follows the fleetbot check run on the heads of a
// wave's two pull requests through the sandbox and the real bot: neutral
// while the wave waits for its merges, with each cluster's change; the
// gate's verdict once tenant a merged and Terraform CI passed; a failure
// with the halt report once tenant b's Terraform CI failed; a success once
// a fleet admin retried and resumed and CI passed on a re-run. One check
// run per head all along.
func TestEndToEndCheckRun(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, plan := running(t, "eks-approvals.yaml", t.TempDir(), 300*time.Millisecond)
	byTenant := map[string]pull{}
	for _, p := range waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet") {
		_, _, tenant, _ := wave.ParseBranch(p.Head.Ref)
		byTenant[tenant] = p
	}
	a, b := byTenant["tenant-a"], byTenant["tenant-b"]
	require.NotZero(t, a.Number)
	require.NotZero(t, b.Number)
	heads := map[string]string{"tenant-a": prHead(t, s, a.Number).SHA, "tenant-b": prHead(t, s, b.Number).SHA}
	clusters := map[string][]rollout.WaveCluster{}
	for _, c := range plan.Waves[0].Clusters {
		clusters[c.Tenant] = append(clusters[c.Tenant], c)
	}

	// Neutral while the wave waits for its merges.
	for tenant, head := range heads {
		c := waitCheck(t, s, head, bot.CheckName, "waiting for the merges", func(c checkRunView) bool {
			return strings.HasSuffix(c.Output.Title, "to be approved by the tenant's owners and merged")
		})
		assert.Equal(t, "completed", c.Status)
		assert.Equal(t, "neutral", c.Conclusion)
		assert.Equal(t, fmt.Sprintf("Waiting for wave 1: #%d (tenant-a), #%d (tenant-b) to be approved by the tenant's owners and merged", a.Number, b.Number), c.Output.Title)
		require.NotEmpty(t, clusters[tenant])
		for _, wc := range clusters[tenant] {
			assert.Contains(t, c.Output.Summary, fmt.Sprintf("| `%s` | %s → %s | InPR |", wc.Name, wc.From, wc.To), tenant)
		}
	}

	// Tenant a merges, and Terraform CI passes on the merge commit.
	mergeAsOwner(t, s, a.Number, "alice")
	c := waitCheck(t, s, heads["tenant-a"], bot.CheckName, "tenant a's gates passed", func(c checkRunView) bool {
		for _, wc := range clusters["tenant-a"] {
			if !strings.Contains(c.Output.Summary, fmt.Sprintf("| `%s` | terraform | passed | terraform-apply succeeded on ", wc.Name)) {
				return false
			}
		}
		return true
	})
	assert.Equal(t, "neutral", c.Conclusion)
	assert.Equal(t, fmt.Sprintf("Waiting for wave 1: #%d (tenant-b) to be approved by the tenant's owners and merged", b.Number), c.Output.Title)
	assert.NotContains(t, c.Output.Summary, "[check=", "the gates table says what the gate saw in a sentence")
	assert.Contains(t, c.Output.Text, "[check=", "the clusters' evidence keeps which check, revision and value")

	// Tenant b's owner approves: the wave waits for an owner's merge, no
	// longer for an approval.
	approve(t, s, "acme/fleet", b.Number, "bruno")
	want := fmt.Sprintf("Waiting for wave 1: #%d (tenant-b) approved, to be merged by the tenant's owners", b.Number)
	waitCheck(t, s, heads["tenant-b"], bot.CheckName, "tenant b's approval", func(c checkRunView) bool { return c.Output.Title == want })

	// Tenant b merges, and Terraform CI fails: the campaign halts.
	var merged struct {
		SHA string `json:"sha"`
	}
	_, err := s.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", b.Number), "bruno", map[string]any{}, &merged)
	require.NoError(t, err)
	ci := func(conclusion string) {
		_, err := s.Do(ctx, http.MethodPost, "/repos/acme/fleet/check-runs", "", map[string]any{
			"name": "terraform-apply", "head_sha": merged.SHA, "status": "completed", "conclusion": conclusion,
		}, nil)
		require.NoError(t, err)
	}
	ci("failure")
	st := waitFor(t, "the campaign to halt", func() (rollout.State, bool) {
		st := phase(t, s, plan.Campaign)
		return st, st.Phase == rollout.CampaignHalted
	})
	for tenant, head := range heads {
		c := waitCheck(t, s, head, bot.CheckName, "the halt", func(c checkRunView) bool { return c.Conclusion == "failure" })
		assert.Equal(t, "Halted: "+st.HaltReason, c.Output.Title, tenant)
		assert.Contains(t, c.Output.Summary, "#### Halted", tenant)
		for _, wc := range clusters["tenant-b"] {
			assert.Contains(t, c.Output.Summary, fmt.Sprintf("| 1 | `%s` | tenant-b | Failed | terraform | check run terraform-apply (failure) failed on ", wc.Name), tenant)
		}
		assert.Contains(t, c.Output.Summary, "`/fleet retry [cluster]`", tenant)
	}

	// CI passes on a re-run; a fleet admin retries and resumes.
	ci("success")
	id := comment(t, s, b.Number, "pat", "/fleet retry\n/fleet resume")
	reaction, answer := answered(t, s, b.Number, id)
	require.Equal(t, "+1", reaction, answer)
	// The retry's answer says what became of each cluster it asked again.
	for _, wc := range clusters["tenant-b"] {
		assert.Regexp(t, regexp.QuoteMeta(wc.Name)+" is (Verifying|Succeeded)", answer)
	}
	assert.Contains(t, answer, "the campaign is Halted (/fleet resume goes on)", "the retry's answer, before the resume")
	for tenant, head := range heads {
		c := waitCheck(t, s, head, bot.CheckName, "the wave's success", func(c checkRunView) bool { return c.Conclusion == "success" })
		assert.Equal(t, "Wave 1 succeeded", c.Output.Title, tenant)
		assert.NotContains(t, c.Output.Summary, "#### Halted", tenant)
		assert.Len(t, checkRunsNamed(t, s, head, bot.CheckName), 1, "one check run on %s's head, updated", tenant)
	}
}

// TestEndToEndRefusedCampaignFile: a person proposes a campaign file the
// planner refuses (an environment of the fleet left out of
// strategy.order). The pull request's head gets a failing fleetbot/campaigns
// check run naming the file, the line and the field, with an annotation on
// that line, and a comment lists the problem. Merged anyway, the merge
// commit gets the same failing check run, the comment stays one, and no
// campaign starts.
func TestEndToEndRefusedCampaignFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	good, err := os.ReadFile(filepath.Join("testdata", "eks-1-30.yaml"))
	require.NoError(t, err)
	src := strings.Replace(string(good), "order: [dev, staging, prod]", "order: [dev, staging]", 1)
	require.NotEqual(t, string(good), src)
	line := 1 + strings.Count(src[:strings.Index(src, "order:")], "\n")
	const file = "campaigns/eks-next.yaml"

	head := commitOnBranch(t, s, "eks-next", file, src)
	var opened struct {
		Number int `json:"number"`
	}
	_, err = s.Do(ctx, http.MethodPost, "/repos/acme/fleet/pulls", "pat", map[string]any{"title": "Next EKS campaign", "head": "eks-next", "base": "main"}, &opened)
	require.NoError(t, err)

	want := fmt.Sprintf("- `%s:%d` `spec.strategy.order`: plan refused (env-order): environment(s) prod are not in strategy.order", file, line)
	c := waitCheck(t, s, head, bot.CampaignCheckName, "the pull request's verdict", func(checkRunView) bool { return true })
	assert.Equal(t, "completed", c.Status)
	assert.Equal(t, "failure", c.Conclusion)
	assert.Equal(t, file+" cannot start: 1 problem", c.Output.Title)
	assert.Contains(t, c.Output.Summary, want)
	assert.Equal(t, 1, c.Output.AnnotationsCount)
	var anns []struct {
		Path      string `json:"path"`
		StartLine int    `json:"start_line"`
		Level     string `json:"annotation_level"`
		Title     string `json:"title"`
		Message   string `json:"message"`
	}
	_, err = s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/check-runs/%d/annotations", c.ID), "", nil, &anns)
	require.NoError(t, err)
	require.Len(t, anns, 1)
	assert.Equal(t, file, anns[0].Path)
	assert.Equal(t, line, anns[0].StartLine)
	assert.Equal(t, "failure", anns[0].Level)
	assert.Equal(t, "spec.strategy.order", anns[0].Title)
	assert.Contains(t, anns[0].Message, "environment(s) prod are not in strategy.order")
	body := waitFor(t, "the comment on the pull request", func() (string, bool) {
		b, n := campaignsComments(t, s, opened.Number)
		return b, n == 1
	})
	assert.Contains(t, body, want)

	// Merged anyway.
	var merged struct {
		SHA string `json:"sha"`
	}
	_, err = s.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", opened.Number), "pat", map[string]any{}, &merged)
	require.NoError(t, err)
	c = waitCheck(t, s, merged.SHA, bot.CampaignCheckName, "the merge commit's verdict", func(checkRunView) bool { return true })
	assert.Equal(t, "failure", c.Conclusion)
	assert.Contains(t, c.Output.Summary, want)
	assert.Equal(t, 1, c.Output.AnnotationsCount)
	time.Sleep(time.Second) // a few reconcile passes
	_, n := campaignsComments(t, s, opened.Number)
	assert.Equal(t, 1, n, "one comment about campaign files on the pull request")
	assert.Len(t, checkRunsNamed(t, s, merged.SHA, bot.CampaignCheckName), 1, "the reconcile loop's scan reports nothing twice")
	_, started, err := s.State(ctx, "eks-1-30")
	require.NoError(t, err)
	assert.False(t, started, "a refused campaign does not start")
}

// commitOnBranch commits path=content on top of main through the Git data
// API, as a person's push would, on a new branch, and returns the commit.
func commitOnBranch(t *testing.T, s *stack.Stack, branch, path, content string) string {
	t.Helper()
	var blob struct {
		SHA string `json:"sha"`
	}
	_, err := s.Do(t.Context(), http.MethodPost, "/repos/acme/fleet/git/blobs", "pat", map[string]any{"content": content, "encoding": "utf-8"}, &blob)
	require.NoError(t, err)
	return treeOnBranch(t, s, branch, "Add "+path, map[string]any{"path": path, "mode": "100644", "type": "blob", "sha": blob.SHA})
}

// removeOnBranch commits the removal of path on top of main, as
// commitOnBranch commits a file.
func removeOnBranch(t *testing.T, s *stack.Stack, branch, path string) string {
	t.Helper()
	return treeOnBranch(t, s, branch, "Remove "+path, map[string]any{"path": path, "mode": "100644", "type": "blob", "sha": nil})
}

// treeOnBranch commits main's tree with entry changed, on a new branch.
func treeOnBranch(t *testing.T, s *stack.Stack, branch, message string, entry map[string]any) string {
	t.Helper()
	ctx := t.Context()
	main := mainHead(t, s)
	var commit struct {
		SHA  string `json:"sha"`
		Tree struct {
			SHA string `json:"sha"`
		} `json:"tree"`
	}
	_, err := s.Do(ctx, http.MethodGet, "/repos/acme/fleet/git/commits/"+main, "", nil, &commit)
	require.NoError(t, err)
	var tree, next struct {
		SHA string `json:"sha"`
	}
	_, err = s.Do(ctx, http.MethodPost, "/repos/acme/fleet/git/trees", "pat", map[string]any{"base_tree": commit.Tree.SHA, "tree": []map[string]any{entry}}, &tree)
	require.NoError(t, err)
	_, err = s.Do(ctx, http.MethodPost, "/repos/acme/fleet/git/commits", "pat", map[string]any{"message": message, "tree": tree.SHA, "parents": []string{main}}, &next)
	require.NoError(t, err)
	_, err = s.Do(ctx, http.MethodPost, "/repos/acme/fleet/git/refs", "pat", map[string]any{"ref": "refs/heads/" + branch, "sha": next.SHA}, nil)
	require.NoError(t, err)
	return next.SHA
}

// TestEndToEndRemovedCampaignFile: a pull request that removes the file of
// a running campaign is told, on its head's fleetbot/campaigns check run
// and in a comment, that merging it does not stop the campaign; merged,
// its commit says so too, and the campaign goes on.
func TestEndToEndRemovedCampaignFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	src, err := os.ReadFile(filepath.Join("testdata", "eks-automerge.yaml"))
	require.NoError(t, err)
	plan, _ := expectedPlan(t, src, fleetDir)
	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))
	waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
	file := "campaigns/" + plan.Campaign + ".yaml"
	title := fmt.Sprintf("%s removed while campaign %s runs: the campaign goes on", file, plan.Campaign)

	head := removeOnBranch(t, s, "drop-campaign", file)
	var opened struct {
		Number int `json:"number"`
	}
	_, err = s.Do(ctx, http.MethodPost, "/repos/acme/fleet/pulls", "pat", map[string]any{"title": "Drop the campaign", "head": "drop-campaign", "base": "main"}, &opened)
	require.NoError(t, err)
	c := waitCheck(t, s, head, bot.CampaignCheckName, "the pull request's verdict", func(checkRunView) bool { return true })
	assert.Equal(t, "neutral", c.Conclusion)
	assert.Equal(t, title, c.Output.Title)
	body := waitFor(t, "the comment on the pull request", func() (string, bool) {
		b, n := campaignsComments(t, s, opened.Number)
		return b, n == 1
	})
	assert.Contains(t, body, "### fleetbot: 1 campaign file of "+head[:7]+" changes no campaign")
	assert.Contains(t, body, "removing the file does not stop it")
	assert.Contains(t, body, "`/fleet abort`")

	var merged struct {
		SHA string `json:"sha"`
	}
	_, err = s.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", opened.Number), "pat", map[string]any{}, &merged)
	require.NoError(t, err)
	c = waitCheck(t, s, merged.SHA, bot.CampaignCheckName, "the merge commit's verdict", func(checkRunView) bool { return true })
	assert.Equal(t, "neutral", c.Conclusion)
	assert.Equal(t, title, c.Output.Title)
	st, ok, err := s.State(ctx, plan.Campaign)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, rollout.CampaignRunning, st.Phase, "the campaign goes on")
}

// campaignsComments returns the bot's comment about campaign files on a
// pull request, and how many there are.
func campaignsComments(t *testing.T, s *stack.Stack, number int) (string, int) {
	t.Helper()
	var comments []struct {
		Body string `json:"body"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues/%d/comments?per_page=100", number), "", nil, &comments)
	require.NoError(t, err)
	body, n := "", 0
	for _, c := range comments {
		if strings.HasPrefix(c.Body, "<!-- fleetbot:campaign-files -->") {
			body, n = c.Body, n+1
		}
	}
	return body, n
}
