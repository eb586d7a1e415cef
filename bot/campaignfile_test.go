package bot

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/webhooks"
)

// mergedPR adds a merged pull request of a person whose merge commit is sha,
// and returns its number.
func (f *fakeAPI) mergedPR(branch, sha string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.prs) + 1
	f.prs = append(f.prs, gh.PullRequest{Number: n, State: "closed", Merged: true, MergeCommitSHA: sha, HeadRef: branch, HeadRepo: "acme/fleet", BaseRef: "main", HeadSHA: branch + "-head", User: "pat"})
	return n
}

// campaignsCommentOf returns the bot's comment about campaign files on
// pull request number, and how many there are.
func campaignsCommentOf(w *world, number int) (string, int) {
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	body, n := "", 0
	for _, c := range w.api.comments[number] {
		if hasMarker(c.Body, campaignsMarker) {
			body, n = c.Body, n+1
		}
	}
	return body, n
}

// TestInvalidCampaignFileCheckRun: a pushed campaign file that does not
// parse gets a failing check run on the pushed commit, each problem listed
// with file, line and field and annotated on its line, and a comment on
// the pull request that merged it. The same push again, and the reconcile
// loop's scan of the same commit, add nothing.
func TestInvalidCampaignFileCheckRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "broken.yaml")
	b := w.bot(t, "r1", nil)
	pr := w.api.mergedPR("add-broken", headSHA)

	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/broken.yaml")))
	c := onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion)
	assert.Equal(t, "completed", c.Run.Status)
	assert.Regexp(t, `^campaigns/broken.yaml cannot start: \d+ problems$`, c.Run.Title)
	assert.Contains(t, c.Run.Summary, "- `campaigns/broken.yaml:4` `metadata.name`: ")
	require.NotEmpty(t, c.Annotations)
	for _, a := range c.Annotations {
		assert.Equal(t, "campaigns/broken.yaml", a.Path)
		assert.Equal(t, "failure", a.Level)
		assert.Positive(t, a.StartLine)
		assert.Contains(t, c.Run.Summary, a.Message, "every annotation is in the list too")
	}
	assert.Contains(t, annotationLines(c), 4, "metadata.name is on line 4")
	checkGolden(t, "invalid-campaign.md", render(c))

	body, n := campaignsCommentOf(w, pr)
	require.Equal(t, 1, n, "one comment on the pull request that merged the file")
	assert.Contains(t, body, "### fleetbot: 1 campaign file of 1111111 cannot start")
	assert.Contains(t, body, "- `campaigns/broken.yaml:4` `metadata.name`: ")

	writes := w.api.writes()
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/broken.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	assert.Equal(t, writes, w.api.writes(), "reported once")
	_, n = campaignsCommentOf(w, pr)
	assert.Equal(t, 1, n)
}

// TestRefusedCampaignFileIsReportedByTheScan: a campaign whose gates
// cannot be built, found by the reconcile loop's scan (no push arrived),
// gets a failing check run on the head naming the field and its line;
// once the token is there, the next scan starts it and says so on the
// same check run.
func TestRefusedCampaignFileIsReportedByTheScan(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := campaignSrc(t, fmt.Sprintf(testGates.argocd, "https://argocd.example.com"))
	writeCampaign(t, w, "eks-1-30.yaml", src)
	b, _ := gateBot(t, w, tokenEnv(""))

	require.NoError(t, b.Reconcile(t.Context()))
	c := onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion)
	assert.Equal(t, "campaigns/eks-1-30.yaml cannot start: 1 problem", c.Run.Title)
	line := 1 + strings.Count(string(src[:strings.Index(string(src), "tokenEnv")]), "\n")
	assert.Contains(t, c.Run.Summary, fmt.Sprintf("- `campaigns/eks-1-30.yaml:%d` `spec.gates.argocd.tokenEnv`: environment variable ARGOCD_TOKEN is not set or empty", line))
	require.Len(t, c.Annotations, 1)
	assert.Equal(t, gh.Annotation{Path: "campaigns/eks-1-30.yaml", StartLine: line, Level: "failure", Title: "spec.gates.argocd.tokenEnv",
		Message: "environment variable ARGOCD_TOKEN is not set or empty"}, c.Annotations[0])

	b2, _ := gateBot(t, w, tokenEnv(argoToken))
	require.NoError(t, b2.Reconcile(t.Context()))
	_, ok, err := b2.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	require.True(t, ok, "the campaign started")
	c = onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Equal(t, rollout.CheckSuccess, c.Run.Conclusion)
	assert.Equal(t, "campaigns/eks-1-30.yaml: campaign eks-1-30 started", c.Run.Title)
	assert.Len(t, c.Annotations, 1, "an update adds no annotation")
}

// TestScheduleThatNeverOpensIsRefused: a campaign whose schedule allows no
// wave within two years (a blackout over every window) does not start and
// lock its clusters to wait for nothing: the check run names
// spec.schedule at its line.
func TestScheduleThatNeverOpensIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := []byte(strings.Replace(string(campaignSrc(t, testGates.terraform)), "    timezone: UTC\n",
		"    timezone: UTC\n    windows: [{days: [Sun], start: \"01:00\", end: \"02:00\"}]\n    blackouts: [{from: \"2026-01-01\", to: \"2030-12-31\"}]\n", 1))
	require.Contains(t, string(src), "blackouts")
	writeCampaign(t, w, "eks-1-30.yaml", src)
	b := w.bot(t, "r1", nil)

	require.NoError(t, b.Reconcile(t.Context()))
	_, started, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	assert.False(t, started, "a campaign whose schedule never opens does not start")
	c := onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion)
	line := 1 + strings.Count(string(src[:strings.Index(string(src), "schedule:")]), "\n")
	assert.Contains(t, c.Run.Summary, fmt.Sprintf("- `campaigns/eks-1-30.yaml:%d` `spec.schedule`: from 2026-12-01 09:00 UTC to 2028-12-01 09:00 UTC: the schedule allows no wave: change its windows or blackouts", line))
}

// TestCampaignPullRequestIsVetted: a pull request that adds a campaign
// file gets the check run on its head before it merges, with a comment
// listing the problems; once a new head fixes them, the check run on that
// head passes and the comment says so. Nothing starts before the merge.
func TestCampaignPullRequestIsVetted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	good := campaignSrc(t, testGates.terraform)
	bad := []byte(strings.Replace(string(good), "order: [dev, prod]", "order: [dev]", 1))
	require.NotEqual(t, string(good), string(bad))
	w.api.mu.Lock()
	w.api.prs = append(w.api.prs, gh.PullRequest{Number: 1, State: "open", HeadRef: "eks-campaign", BaseRef: "main", HeadSHA: "pr-head-1", User: "pat"})
	w.api.prFiles = map[int][]gh.ChangedFile{1: {{Filename: "campaigns/eks-1-30.yaml", Status: "added"}, {Filename: "README.md", Status: "modified"}}}
	w.api.atRef = map[string]map[string][]byte{
		"pr-head-1": {"campaigns/eks-1-30.yaml": bad},
		"pr-head-2": {"campaigns/eks-1-30.yaml": good},
	}
	w.api.mu.Unlock()
	event := func(action, head string) *webhooks.PullRequest {
		return &webhooks.PullRequest{Meta: webhooks.Meta{Name: "pull_request", Action: action, Owner: "acme", Repo: "fleet"},
			Number: 1, State: "open", HeadRef: "eks-campaign", HeadSHA: head, BaseRef: "main"}
	}

	require.NoError(t, b.Handle(t.Context(), event("opened", "pr-head-1")))
	c := onlyCheckNamed(t, w, "pr-head-1", CampaignCheckName)
	assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion)
	assert.Contains(t, c.Run.Summary, "`campaigns/eks-1-30.yaml:12` `spec.strategy.order`: plan refused (env-order): environment(s) prod are not in strategy.order")
	assert.Equal(t, []int{12}, annotationLines(c))
	body, n := campaignsCommentOf(w, 1)
	require.Equal(t, 1, n)
	assert.Contains(t, body, "spec.strategy.order")
	checkGolden(t, "refused-campaign.md", render(c)+"\n---- comment ----\n\n"+body)

	require.NoError(t, b.Handle(t.Context(), event("synchronize", "pr-head-2")))
	c = onlyCheckNamed(t, w, "pr-head-2", CampaignCheckName)
	assert.Equal(t, rollout.CheckSuccess, c.Run.Conclusion)
	assert.Equal(t, "campaigns/eks-1-30.yaml: campaign eks-1-30 can start once this is merged", c.Run.Title)
	body, n = campaignsCommentOf(w, 1)
	require.Equal(t, 1, n, "the comment is edited, not doubled")
	assert.Contains(t, body, "### fleetbot: the campaign files of pr-head can start")
	assert.Contains(t, body, "The `fleetbot/campaigns` check run on pr-head says the same.")
	assert.NotContains(t, body, "points at each line")

	_, started, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	assert.False(t, started, "a pull request's campaign starts once merged, not before")
	assert.Empty(t, w.ensure.calls())
}

// onlyCheckNamed returns the one check run named name on head.
func onlyCheckNamed(t *testing.T, w *world, head, name string) fakeCheck {
	t.Helper()
	runs := w.api.checkRunsOn(head, name)
	require.Len(t, runs, 1, "one %s check run on %s", name, head)
	return runs[0]
}

// annotationLines lists the lines a check run's annotations point at.
func annotationLines(c fakeCheck) []int {
	var out []int
	for _, a := range c.Annotations {
		out = append(out, a.StartLine)
	}
	return out
}

// TestRefusedInventoryNamesRepositoryFiles: a campaign refused because a
// blueprint does not parse lists that file by its path in the repository,
// never the checkout it was read from, and annotates only the campaign
// file's own lines.
func TestRefusedInventoryNamesRepositoryFiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	require.NoError(t, os.WriteFile(filepath.Join(w.mirror.dir, "tenants", "tenant-b", "dev.yaml"), []byte("tenant: [tenant-b\n"), 0o644))
	b := w.bot(t, "r1", nil)

	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	c := onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion)
	assert.Contains(t, c.Run.Summary, "- `tenants/tenant-b/dev.yaml:1`: invalid YAML")
	assert.NotContains(t, c.Run.Summary, w.mirror.dir)
	assert.Empty(t, c.Annotations, "a blueprint's line is not on the campaign's commit")
}

// TestCampaignCheckAnnotatesFifty: GitHub takes 50 annotations a request;
// the rest are in the summary, which says so.
func TestCampaignCheckAnnotatesFifty(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	v := fileVerdict{File: "campaigns/big.yaml", Result: fileInvalid}
	for i := range 60 {
		v.Problems = append(v.Problems, &rollout.FieldError{File: "acme/fleet/campaigns/big.yaml", Line: i + 1, Field: fmt.Sprintf("spec.k%d", i), Reason: "is not a field"})
	}
	out := b.campaignCheck([]fileVerdict{v})
	assert.Len(t, out.Annotations, gh.MaxAnnotations)
	assert.Contains(t, out.Summary, "- `campaigns/big.yaml:60` `spec.k59`: is not a field")
	assert.Contains(t, out.Summary, "The first 50 of 60 problems are annotated on their lines")
	assert.Equal(t, "campaigns/big.yaml cannot start: 60 problems", out.Title)
}

func TestInReposNamesRepositories(t *testing.T) {
	t.Parallel()
	dirs := map[string]string{filepath.Join("/m", "a1"): "acme/fleet", filepath.Join("/m", "b2"): "other/blueprints"}
	err := inRepos(fmt.Errorf("the inventory has errors:\n%w", gitops.Diagnostics{
		{Severity: gitops.SeverityError, File: filepath.Join("/m", "b2", "tenants", "x.yaml"), Line: 3, Message: "no tenant"},
		{Severity: gitops.SeverityWarning, File: filepath.Join("/m", "a1", "y.yaml"), Message: "unused"},
	}), dirs)
	assert.Equal(t, rollout.CampaignProblems("acme/fleet/campaigns/c.yaml", nil, err),
		rollout.ErrorList{{File: "other/blueprints/tenants/x.yaml", Line: 3, Reason: "no tenant"}}, "errors only, in their repository")
	assert.Contains(t, err.Error(), "the inventory has errors")

	applyErr := inRepos(&gitops.ApplyError{Wave: 2, Repo: filepath.Join("/m", "b2"), Err: fmt.Errorf("line 4: stale")}, dirs)
	assert.EqualError(t, applyErr, "wave 2 cannot be applied in other/blueprints: line 4: stale")
	other := fmt.Errorf("plan: no cluster")
	assert.Equal(t, other, inRepos(other, dirs))
}

// TestRunningCampaignFilePullRequests: a pull request that changes or
// removes the file of a running campaign gets a neutral check run on its
// head and a comment saying that merging it changes or stops nothing; a
// pull request removing a file no running campaign started from is left
// alone.
func TestRunningCampaignFilePullRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	const file = "campaigns/eks-1-30.yaml"
	w.api.mu.Lock()
	changed := append(slices.Clone(w.api.files[file]), []byte("# a note\n")...)
	w.api.prs = append(w.api.prs,
		gh.PullRequest{Number: 11, State: "open", HeadRef: "edit", BaseRef: "main", HeadSHA: "edit-head", User: "pat"},
		gh.PullRequest{Number: 12, State: "open", HeadRef: "drop", BaseRef: "main", HeadSHA: "drop-head", User: "pat"},
		gh.PullRequest{Number: 13, State: "open", HeadRef: "tidy", BaseRef: "main", HeadSHA: "tidy-head", User: "pat"})
	w.api.prFiles = map[int][]gh.ChangedFile{
		11: {{Filename: file, Status: "modified"}},
		12: {{Filename: file, Status: "removed"}},
		13: {{Filename: "campaigns/old.yaml", Status: "removed"}},
	}
	w.api.atRef = map[string]map[string][]byte{"edit-head": {file: changed}}
	w.api.mu.Unlock()
	open := func(number int, head string) {
		require.NoError(t, b.Handle(t.Context(), &webhooks.PullRequest{Meta: webhooks.Meta{Name: "pull_request", Action: "opened", Owner: "acme", Repo: "fleet"},
			Number: number, State: "open", HeadRef: head, HeadSHA: head + "-head", BaseRef: "main"}))
	}

	open(11, "edit")
	c := onlyCheckNamed(t, w, "edit-head", CampaignCheckName)
	assert.Equal(t, rollout.CheckNeutral, c.Run.Conclusion)
	assert.Equal(t, file+" changed after its campaign started: not applied", c.Run.Title)
	body, n := campaignsCommentOf(w, 11)
	require.Equal(t, 1, n, "a change to a running campaign's file is told on the pull request")
	assert.Contains(t, body, "### fleetbot: 1 campaign file of edit-he changes no campaign")
	assert.Contains(t, body, "this change is not applied")
	dashboard := dashboardOf(t, w).Number
	require.Positive(t, dashboard)
	assert.Contains(t, body, fmt.Sprintf("abort it with `/fleet abort` in a comment on its dashboard issue #%d (or on one of its pull requests)", dashboard))

	open(12, "drop")
	c = onlyCheckNamed(t, w, "drop-head", CampaignCheckName)
	assert.Equal(t, rollout.CheckNeutral, c.Run.Conclusion)
	assert.Equal(t, file+" removed while campaign eks-1-30 runs: the campaign goes on", c.Run.Title)
	body, n = campaignsCommentOf(w, 12)
	require.Equal(t, 1, n)
	assert.Contains(t, body, "removing the file does not stop it")
	assert.Contains(t, c.Run.Summary, fmt.Sprintf("To stop it, abort it with `/fleet abort` in a comment on its dashboard issue #%d", dashboard))

	open(13, "tidy")
	assert.Empty(t, w.api.checkRunsOn("tidy-head", CampaignCheckName), "no running campaign started from it")
	_, n = campaignsCommentOf(w, 13)
	assert.Zero(t, n)
}

// TestCampaignThatChangesNothingDoesNotStart: a campaign whose every
// selected cluster is skipped (here: already at the target) is refused at
// its selector, saying why, instead of starting and ending at once.
func TestCampaignThatChangesNothingDoesNotStart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := strings.Replace(string(campaignSrc(t, testGates.terraform)), `to: "1.30"`, `to: "1.29"`, 1)
	require.Contains(t, src, `to: "1.29"`)
	w.api.mu.Lock()
	w.api.files["campaigns/eks-1-30.yaml"] = []byte(src)
	w.api.mu.Unlock()
	b := w.bot(t, "r1", nil)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	c := onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion)
	assert.Regexp(t, "`spec.selector`: nothing to do: all 5 clusters selected are skipped \\(5 at-target\\); a campaign that changes no cluster does not start", c.Run.Summary)
	_, started, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	assert.False(t, started)
}

// TestEndedCampaignFile: the file of a campaign that ended, changed or
// added again, starts nothing, and its check run and a pull request say
// so (not that the campaign runs, nor to abort it).
func TestEndedCampaignFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	_, err := b.Operate(t.Context(), campaign, rollout.Abort{By: "pat", Reason: "wrong target"})
	require.NoError(t, err)
	const file = "campaigns/eks-1-30.yaml"
	w.api.mu.Lock()
	changed := append(slices.Clone(w.api.files[file]), []byte("# again\n")...)
	w.api.prs = append(w.api.prs, gh.PullRequest{Number: 21, State: "open", HeadRef: "again", BaseRef: "main", HeadSHA: "again-head", User: "pat"})
	w.api.prFiles = map[int][]gh.ChangedFile{21: {{Filename: file, Status: "modified"}}}
	w.api.atRef = map[string]map[string][]byte{"again-head": {file: changed}}
	w.api.mu.Unlock()
	require.NoError(t, b.Handle(t.Context(), &webhooks.PullRequest{Meta: webhooks.Meta{Name: "pull_request", Action: "opened", Owner: "acme", Repo: "fleet"},
		Number: 21, State: "open", HeadRef: "again", HeadSHA: "again-head", BaseRef: "main"}))
	c := onlyCheckNamed(t, w, "again-head", CampaignCheckName)
	assert.Equal(t, rollout.CheckNeutral, c.Run.Conclusion)
	assert.Equal(t, file+": campaign eks-1-30, started from "+file+"@1111111, ended (Aborted); this file starts nothing", c.Run.Title)
	body, n := campaignsCommentOf(w, 21)
	require.Equal(t, 1, n)
	assert.Contains(t, body, "give the campaign a new `metadata.name`")
	assert.NotContains(t, body, "/fleet abort")
}

// TestCampaignFileWarnings: what the checks warn of in a file that can
// start (here an approval for an environment the selector leaves out, so
// never asked for, and clusters on an EKS version out of support) is listed in the fleetbot/campaigns check run and
// annotated on its line as a warning, on the pull request that proposes the
// file (with a comment) and on the push that starts it. The campaign
// starts all the same.
func TestCampaignFileWarnings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := strings.Replace(string(campaignSrc(t, testGates.terraform)), "  selector: {}\n", "  selector:\n    envs: [dev]\n", 1)
	src = strings.Replace(src, "    canary: false\n", "    canary: false\n    approvals: [prod]\n", 1)
	require.Contains(t, src, "approvals: [prod]")
	require.Contains(t, src, "envs: [dev]")
	const warning = "`campaigns/eks-1-30.yaml:15` `spec.strategy.approvals[0]`: no wave of the plan changes a cluster of prod, so no approval is asked for it"
	w.api.mu.Lock()
	w.api.files["campaigns/eks-1-30.yaml"] = []byte(src)
	w.api.prs = append(w.api.prs, gh.PullRequest{Number: 1, State: "open", HeadRef: "eks-campaign", BaseRef: "main", HeadSHA: "pr-head-1", User: "pat"})
	w.api.prFiles = map[int][]gh.ChangedFile{1: {{Filename: "campaigns/eks-1-30.yaml", Status: "added"}}}
	w.api.atRef = map[string]map[string][]byte{"pr-head-1": {"campaigns/eks-1-30.yaml": []byte(src)}}
	w.api.mu.Unlock()
	b := w.bot(t, "r1", nil)

	require.NoError(t, b.Handle(t.Context(), &webhooks.PullRequest{Meta: webhooks.Meta{Name: "pull_request", Action: "opened", Owner: "acme", Repo: "fleet"},
		Number: 1, State: "open", HeadRef: "eks-campaign", HeadSHA: "pr-head-1", BaseRef: "main"}))
	for _, head := range []string{"pr-head-1", headSHA} {
		if head == headSHA {
			require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
		}
		c := onlyCheckNamed(t, w, head, CampaignCheckName)
		assert.Equal(t, rollout.CheckSuccess, c.Run.Conclusion, head)
		assert.Contains(t, c.Run.Summary, "\n\n2 warnings:\n\n- "+warning+"\n"+
			"- `campaigns/eks-1-30.yaml`: 3 cluster(s) run EKS 1.29 (a-dev-1, a-dev-2, b-dev-1), whose standard support ended on 2025-03-23 and extended support on 2026-03-23: EKS upgrades such clusters itself\n", head)
		assert.NotContains(t, c.Run.Summary, "\n\n\n", head)
		require.Len(t, c.Annotations, 1, "the warning about the fleet has no line: %s", head)
		assert.Equal(t, gh.Annotation{Path: "campaigns/eks-1-30.yaml", StartLine: 15, Level: "warning", Title: "spec.strategy.approvals[0]",
			Message: "no wave of the plan changes a cluster of prod, so no approval is asked for it"}, c.Annotations[0])
	}
	body, n := campaignsCommentOf(w, 1)
	require.Equal(t, 1, n, "the pull request is told")
	assert.Contains(t, body, "no approval is asked for it")
	_, started, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	assert.True(t, started, "a warning does not hold the campaign back")
	c := onlyCheckNamed(t, w, headSHA, CampaignCheckName)
	assert.Contains(t, c.Run.Summary, fmt.Sprintf("Its first wave opens at once, or when its schedule allows. Its dashboard issue #%d follows it,", dashboardOf(t, w).Number))
}
