package bot

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/webhooks"
)

// dashboardOf returns the world's one dashboard issue.
func dashboardOf(t *testing.T, w *world) gh.Issue {
	t.Helper()
	return dashboardFor(t, w, campaign)
}

// dashboardFor returns the one dashboard issue of the campaign name.
func dashboardFor(t *testing.T, w *world, name string) gh.Issue {
	t.Helper()
	var found []gh.Issue
	for _, is := range w.api.dashboards() {
		if isDashboard(is, name) {
			found = append(found, is)
		}
	}
	require.Len(t, found, 1, "one dashboard issue")
	return found[0]
}

// mergeNumbers merges pull requests of the test campaign, each
// with a webhook, as the tenants' owners would.
func mergeNumbers(t *testing.T, w *world, b *Bot, numbers ...int) {
	t.Helper()
	for _, n := range numbers {
		p := w.api.merge(t, n, fmt.Sprintf("merge-%d", n))
		require.NoError(t, b.Handle(t.Context(), prWebhook("closed", n, p.HeadRef, p.MergeCommitSHA)))
	}
}

// TestDashboardFollowsTheCampaign: the campaign's dashboard issue opens when
// the campaign starts, is edited only when what it shows changes, and is
// closed as completed with a summary when the campaign succeeds.
func TestDashboardFollowsTheCampaign(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)

	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	is := dashboardOf(t, w)
	assert.Equal(t, "Campaign eks-1-30: EKS version -> 1.30, forward-only", is.Title)
	assert.Equal(t, []string{"fleetbot", "campaign:eks-1-30"}, is.Labels)
	assert.True(t, strings.HasPrefix(is.Body, "<!-- fleetbot:dashboard campaign=eks-1-30 -->\n## Campaign `eks-1-30` is Scheduled\n"), is.Body)
	assert.Contains(t, is.Body, "Wave 1 to open, since 2026-12-01 09:00 UTC.")
	assert.Equal(t, 1, w.api.issueCalls("Issues"), "looked for before it is opened")
	assert.Equal(t, 0, w.api.issueCalls("EditIssue"))

	require.NoError(t, b.Reconcile(t.Context()))
	is = dashboardOf(t, w)
	assert.Contains(t, is.Body, "## Campaign `eks-1-30` is Running")
	assert.Contains(t, is.Body, "| 1 | dev | Open | #1 tenant-a: open<br>#2 tenant-b: open | 2026-12-01 09:00 UTC | - |")
	assert.Contains(t, is.Body, "Wave 1: #1 (tenant-a), #2 (tenant-b) to be approved by the tenant's owners and merged")
	assert.Contains(t, is.Body, "**Commands that apply now:** `/fleet pause` · `/fleet abort`")
	// The next pass finds them approved: they wait for an owner's merge.
	require.NoError(t, b.Reconcile(t.Context()))
	assert.Contains(t, dashboardOf(t, w).Body, "Wave 1: #1 (tenant-a), #2 (tenant-b) approved, to be merged by the tenant's owners, since 2026-12-01 09:00 UTC.")

	// Passes that change nothing send nothing.
	edits := w.api.issueCalls("EditIssue")
	for range 3 {
		w.clock.add(time.Minute)
		require.NoError(t, b.Reconcile(t.Context()))
	}
	assert.Equal(t, edits, w.api.issueCalls("EditIssue"), "the body did not change")

	w.clock.add(10 * time.Minute)
	mergeNumbers(t, w, b, 1, 2)
	require.NoError(t, b.Reconcile(t.Context()))
	is = dashboardOf(t, w)
	assert.Contains(t, is.Body, "| 1 | dev | Succeeded | #1 tenant-a: merged<br>#2 tenant-b: merged | 2026-12-01 09:00 UTC | 2026-12-01 09:13 UTC |")
	assert.Contains(t, is.Body, "| 1 | `a-dev-1` | tenant-a | 1.29 → 1.30 | Succeeded | ✅ terraform | 2026-12-01 09:13 UTC |")
	assert.Contains(t, is.Body, "| 2 | prod | Open | #3 tenant-a: open<br>#4 tenant-b: open |")
	assert.Equal(t, "open", is.State)

	w.clock.add(time.Hour)
	mergeNumbers(t, w, b, 3, 4)
	st, _ := w.state(t, campaign)
	require.Equal(t, rollout.CampaignSucceeded, st.Phase)
	is = dashboardOf(t, w)
	assert.Equal(t, "closed", is.State)
	assert.Equal(t, "completed", is.StateReason)
	assert.Contains(t, is.Body, "## Campaign `eks-1-30` succeeded\n")
	assert.Contains(t, is.Body, "### Summary\n\nSucceeded on 2026-12-01 10:13 UTC, 1h13m after it started.\n\nClusters: 5 succeeded of 5. Pull requests: 4 merged.")
	assert.NotContains(t, is.Body, "Waiting for")
	d, _, ok, err := b.loadDashboard(t.Context(), campaign)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, dashboardIssue{Repo: "acme/fleet", Number: is.Number, Digest: d.Digest, Closed: true}, d)

	// An ended campaign's dashboard is left alone.
	calls := w.api.issueCalls("EditIssue") + w.api.issueCalls("Issues") + w.api.issueCalls("CreateIssue")
	require.NoError(t, b.Reconcile(t.Context()))
	require.NoError(t, w.bot(t, "r2", nil).Reconcile(t.Context()))
	assert.Equal(t, calls, w.api.issueCalls("EditIssue")+w.api.issueCalls("Issues")+w.api.issueCalls("CreateIssue"))
}

// TestDashboardBeforeThePullRequests: when the start could not open the
// dashboard issue, the step that opens the first wave opens it before the
// wave's pull requests.
func TestDashboardBeforeThePullRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	w.api.mu.Lock()
	w.api.issues.fail = map[string]error{"CreateIssue": &gh.Error{Status: http.StatusBadGateway, Message: "Server Error"}}
	w.api.mu.Unlock()
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	require.Empty(t, w.api.dashboards(), "the start's attempt failed")

	// The first pull request waits until the test has counted the
	// dashboard issues.
	w.ensure.enter, w.ensure.block = make(chan struct{}, 8), make(chan struct{})
	dashboards := make(chan int, 1)
	go func() {
		<-w.ensure.enter
		dashboards <- len(w.api.dashboards())
		close(w.ensure.block)
	}()
	require.NoError(t, b.Reconcile(t.Context()))
	assert.Equal(t, 1, <-dashboards, "the dashboard issue opened before the first pull request")
	assert.Len(t, w.ensure.calls(), 2)
	assert.Contains(t, dashboardOf(t, w).Body, "#1 tenant-a: open<br>#2 tenant-b: open", "and shows them once they are open")
}

// TestDashboardFoundAgainByItsMarker: when the store lost the dashboard's
// number, the issue the bot opened is found by its marker, never a second
// one opened, and a person's issue carrying the same marker is not taken
// for it.
func TestDashboardFoundAgainByItsMarker(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	w.api.addIssue("mallory", dashboardMarker(campaign)+"\nmine now")
	started(t, w, b)
	is := dashboardOf(t, w)
	require.NotEqual(t, fakeIssueBase+1, is.Number, "the person's issue is not the dashboard")

	d, version, ok, err := b.loadDashboard(t.Context(), campaign)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, w.store.Delete(t.Context(), dashboardKey(campaign), version, store.Fence{}))
	mergeNumbers(t, w, b, 1)
	assert.Equal(t, 1, w.api.issueCalls("CreateIssue"), "no second dashboard issue")
	assert.Equal(t, 2, w.api.issueCalls("Issues"))
	again, _, ok, err := b.loadDashboard(t.Context(), campaign)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, d.Number, again.Number)
	assert.Contains(t, dashboardOf(t, w).Body, "#1 tenant-a: merged")
	assert.Equal(t, "mine now", strings.SplitN(w.api.dashboards()[0].Body, "\n", 2)[1], "the person's issue is left as it is")
}

// TestDashboardGoneOrTurnedOff: a deleted dashboard issue is replaced by a
// new one; a campaign repository with issues turned off gets none, is not
// asked again, and the campaign goes on.
func TestDashboardGoneOrTurnedOff(t *testing.T) {
	t.Parallel()
	t.Run("deleted", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, "eks-1-30.yaml")
		b := w.bot(t, "r1", nil)
		started(t, w, b)
		first := dashboardOf(t, w).Number
		w.api.failNext("EditIssue", &gh.Error{Op: "edit issue", Status: http.StatusGone, Message: "This issue was deleted"})
		w.api.mu.Lock()
		w.api.issues.list = nil
		w.api.mu.Unlock()
		mergeNumbers(t, w, b, 1)
		_, _, ok, err := b.loadDashboard(t.Context(), campaign)
		require.NoError(t, err)
		assert.False(t, ok, "forgotten")
		mergeNumbers(t, w, b, 2)
		is := dashboardOf(t, w)
		assert.NotEqual(t, first, is.Number)
		assert.Contains(t, is.Body, "#2 tenant-b: merged")
	})
	t.Run("issues off", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, "eks-1-30.yaml")
		b := w.bot(t, "r1", nil)
		w.api.failNext("CreateIssue", &gh.Error{Op: "create issue", Status: http.StatusGone, Message: "Issues are disabled for this repo"})
		started(t, w, b)
		mergeNumbers(t, w, b, 1, 2)
		require.NoError(t, b.Reconcile(t.Context()))
		assert.Equal(t, 1, w.api.issueCalls("CreateIssue"), "asked once")
		assert.Empty(t, w.api.dashboards())
		st, _ := w.state(t, campaign)
		assert.Equal(t, rollout.WaveOpen, st.Waves[1].Phase, "the campaign goes on")
	})
}

// TestDashboardClosedOnALaterPass: when closing the dashboard fails as the
// campaign succeeds, the reconcile loop closes it on a later pass.
func TestDashboardClosedOnALaterPass(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	mergeNumbers(t, w, b, 1, 2)
	require.NoError(t, b.Reconcile(t.Context()))
	mergeNumbers(t, w, b, 3)
	w.api.failNext("EditIssue", &gh.Error{Op: "edit issue", Status: http.StatusBadGateway})
	mergeNumbers(t, w, b, 4)
	st, _ := w.state(t, campaign)
	require.Equal(t, rollout.CampaignSucceeded, st.Phase)
	assert.Equal(t, "open", dashboardOf(t, w).State)

	require.NoError(t, b.Reconcile(t.Context()))
	is := dashboardOf(t, w)
	assert.Equal(t, "closed", is.State)
	assert.Equal(t, "completed", is.StateReason)
}

// TestDashboardAbortedAndScheduled: an aborted campaign's dashboard closes
// as not planned, naming who aborted it and why; a campaign the schedule
// holds back says until when, and why.
func TestDashboardAbortedAndScheduled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := strings.Replace(string(campaignSrc(t, testGates.terraform)), "    timezone: UTC\n",
		"    timezone: UTC\n    windows: [{days: [Tue], start: \"22:00\", end: \"23:00\"}]\n", 1)
	writeCampaign(t, w, "eks-1-30.yaml", []byte(src))
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	body := dashboardOf(t, w).Body
	assert.Contains(t, body, "## Campaign `eks-1-30` is Scheduled")
	assert.Contains(t, body, "The maintenance window at 2026-12-01T22:00:00Z to open wave 1, since 2026-12-01 09:00 UTC.\n"+
		"The schedule holds it back: outside the maintenance windows.\n")
	assert.Contains(t, body, "**Commands that apply now:** `/fleet pause` · `/fleet abort`")
	dash := dashboardOf(t, w).Number
	_, err := b.onComment(t.Context(), dashboardComment(1, dash, "eve", "/fleet status"))
	require.NoError(t, err)
	assert.Contains(t, statusOn(t, w, dash), "Campaign **eks-1-30** is **Scheduled**. Waiting for the maintenance window at 2026-12-01T22:00:00Z to open wave 1.",
		"/fleet status says when too")

	w.clock.add(time.Hour)
	_, err = b.Operate(t.Context(), campaign, rollout.Abort{By: "pat", Reason: "wrong version"})
	require.NoError(t, err)
	is := dashboardOf(t, w)
	assert.Equal(t, "closed", is.State)
	assert.Equal(t, "not_planned", is.StateReason)
	assert.Contains(t, is.Body, "## Campaign `eks-1-30` was aborted\n")
	assert.Contains(t, is.Body, "Aborted on 2026-12-01 10:00 UTC, 1h after it started, by @pat: wrong version.")
	assert.Contains(t, is.Body, "Clusters: 5 not reached of 5. Pull requests: none opened.")
}

// TestDashboardLinksOtherRepositories: a pull request in another repository
// than the dashboard's is named owner/name#N, in the table and in what the
// campaign waits for.
func TestDashboardLinksOtherRepositories(t *testing.T) {
	t.Parallel()
	rec, st := startedRecord(t)
	body, err := renderDashboard(dashboardView{Repo: "acme/campaigns", Rec: rec, St: st, Wait: st.Waiting(time.Time{})})
	require.NoError(t, err)
	assert.Contains(t, body, "| 1 | dev | Open | acme/fleet#1 tenant-a: open<br>acme/fleet#2 tenant-b: open |")
	assert.Contains(t, body, "Wave 1: acme/fleet#1 (tenant-a), acme/fleet#2 (tenant-b) approved, to be merged")
}

// startedRecord starts the eks-1-30 campaign in a new world and returns
// its record and state.
func startedRecord(t *testing.T) (*record, rollout.State) {
	t.Helper()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	rec, ok, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	require.True(t, ok)
	st, _ := w.state(t, campaign)
	return rec, st
}

// TestDashboardFitsGitHub: a fleet too large for one issue shows the
// clusters of the waves under way, then as many rows as fit,
// each time saying so; the body stays within GitHub's limit.
func TestDashboardFitsGitHub(t *testing.T) {
	t.Parallel()
	view := func(settled, open int) dashboardView {
		rec := &record{Campaign: "big", Repo: "acme/fleet", File: "campaigns/big.yaml", SHA: headSHA,
			Plan: &rollout.Plan{Campaign: "big", Change: rollout.PlanChange{Kind: rollout.KindEKSVersion, To: "1.30"}}}
		var specs []rollout.WaveSpec
		for i, n := range []int{settled, open} {
			pw := rollout.Wave{Index: i + 1, Env: fmt.Sprintf("env-%d", i+1)}
			var refs []rollout.ClusterRef
			for j := range n {
				name := fmt.Sprintf("cluster-%d-%04d", i+1, j)
				refs = append(refs, rollout.ClusterRef{Name: name, Tenant: "tenant-a"})
				pw.Clusters = append(pw.Clusters, rollout.WaveCluster{Name: name, Tenant: "tenant-a", From: "1.29", To: "1.30"})
			}
			rec.Plan.Waves = append(rec.Plan.Waves, pw)
			specs = append(specs, rollout.WaveSpec{Clusters: refs})
		}
		st, err := rollout.NewState("big", rollout.Policy{Gates: []string{"terraform"}}, specs)
		require.NoError(t, err)
		st.Phase, st.Waves[0].Phase, st.Waves[1].Phase = rollout.CampaignRunning, rollout.WaveSucceeded, rollout.WaveOpen
		for i := range st.Waves[0].Clusters {
			st.Waves[0].Clusters[i].Phase = rollout.ClusterSucceeded
		}
		return dashboardView{Repo: "acme/fleet", Rec: rec, St: st, Wait: st.Waiting(time.Time{})}
	}
	for _, tc := range []struct {
		name           string
		settled, open  int
		note           string
		first, missing string
	}{
		{"everything fits", 10, 10, "", "`cluster-1-0000`", ""},
		{"waves done left out", 1000, 20, "The clusters of waves not under way are left out to fit GitHub's limit on an issue's length (20 of 1020 rows shown)", "`cluster-2-0000`", "`cluster-1-0000`"},
		{"rows cut", 10, 1000, "Only the first ", "`cluster-2-0000`", "`cluster-2-0999`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body, err := renderDashboard(view(tc.settled, tc.open))
			require.NoError(t, err)
			assert.LessOrEqual(t, len(body), maxIssueBody)
			assert.Contains(t, body, tc.first)
			if tc.note == "" {
				assert.NotContains(t, body, "GitHub's limit")
			} else {
				assert.Contains(t, body, tc.note)
			}
			if tc.missing != "" {
				assert.NotContains(t, body, tc.missing)
			}
			if strings.HasPrefix(tc.note, "Only the first") {
				assert.Greater(t, len(body), maxIssueBody-200, "as many rows as fit")
			}
			assert.True(t, strings.HasSuffix(body, "</sub>\n"), "the footer is kept")
		})
	}
}

// TestMarkedCampaign reads the dashboard marker back.
func TestMarkedCampaign(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		dashboardMarker("eks-1-30") + "\n## Campaign":  "eks-1-30",
		"  " + dashboardMarker("eks-1-30") + "  \r\nx": "eks-1-30",
		dashboardMarker(""):                            "",
		dashboardMarker("a b"):                         "",
		"text\n" + dashboardMarker("eks-1-30"):         "",
		"<!-- fleetbot:dashboard campaign=eks-1-30":    "",
		statusMarker("eks-1-30"):                       "",
	} {
		got, ok := markedCampaign(body)
		assert.Equal(t, want, got, "%q", body)
		assert.Equal(t, want != "", ok, "%q", body)
	}
}

// FuzzMarkedCampaign: whatever an issue's body holds, a campaign read from
// its marker is one whose marker is that first line, and every campaign
// name the marker can carry reads back.
func FuzzMarkedCampaign(f *testing.F) {
	for _, s := range []string{dashboardMarker("eks-1-30") + "\nbody", "<!-- fleetbot:dashboard campaign= -->", "<!-- fleetbot:dashboard campaign=a -->\r\n", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		name, ok := markedCampaign(body)
		if !ok {
			if name != "" {
				t.Fatalf("%q: no marker, but campaign %q", body, name)
			}
			return
		}
		first, _, _ := strings.Cut(body, "\n")
		if strings.TrimSpace(first) != dashboardMarker(name) {
			t.Fatalf("%q: campaign %q from a first line that is not its marker", body, name)
		}
		if again, ok := markedCampaign(dashboardMarker(name)); !ok || again != name {
			t.Fatalf("campaign %q does not read back from its marker: %q", name, again)
		}
	})
}

// TestDashboardSummaryOfARollback: a rolled-back campaign's summary names
// the waves its revert waves took back.
func TestDashboardSummaryOfARollback(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ok, failed := rollout.ClusterSucceeded, rollout.ClusterFailed
	st := rollout.State{Campaign: "addons-r2", Phase: rollout.CampaignRolledBack,
		Waves: []rollout.WaveState{
			{Number: 1, Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{{Name: "a-dev-1", Phase: ok}, {Name: "b-dev-1", Phase: ok}},
				PRs: []rollout.PRState{{Tenant: "tenant-a", Number: 1, Status: rollout.PRStatusMerged}, {Tenant: "tenant-b", Number: 2, Status: rollout.PRStatusMerged}}},
			{Number: 2, Phase: rollout.WaveFailed, Clusters: []rollout.ClusterState{{Name: "a-prod-1", Phase: failed}},
				PRs: []rollout.PRState{{Tenant: "tenant-a", Number: 3, Status: rollout.PRStatusMerged}}},
			{Number: 3, Kind: rollout.WaveRevert, Reverts: 2, Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{{Name: "a-prod-1", Phase: ok}},
				PRs: []rollout.PRState{{Tenant: "tenant-a", Number: 4, Status: rollout.PRStatusMerged}}},
			{Number: 4, Kind: rollout.WaveRevert, Reverts: 1, Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{{Name: "a-dev-1", Phase: ok}, {Name: "b-dev-1", Phase: rollout.ClusterSkipped}},
				PRs: []rollout.PRState{{Tenant: "tenant-a", Number: 5, Status: rollout.PRStatusMerged}, {Tenant: "tenant-b", Number: 6, Status: rollout.PRStatusClosed}}},
		},
		History: []rollout.Evidence{
			{At: start.Add(3 * time.Hour), Event: "rollback", From: "Halted", To: "RollingBack", By: "pat"},
			{At: start.Add(4*time.Hour + 30*time.Minute), Event: "rolled-back", By: "fleetbot"},
		},
	}
	v := dashboardView{Rec: &record{StartedAt: start}, St: st}
	assert.Equal(t, "Rolled back on 2026-12-01 13:30 UTC, 4h30m after it started; @pat asked for the rollback on 2026-12-01 12:00 UTC.\n\n"+
		"Clusters: 1 succeeded, 2 reverted of 3; waves 2, 1 reverted. Pull requests: 5 merged, 1 closed.", v.summary(),
		"a cluster whose revert was skipped keeps what its change wave made of it")

	// Asked for from fleetbot campaign: the name is not a login to mention.
	v.St.History[0].By = "cli:pat"
	assert.Contains(t, v.summary(), "; `cli:pat` asked for the rollback on 2026-12-01 12:00 UTC.")
}

// dashboardComment is a person's comment with commands on issue number.
func dashboardComment(id int64, number int, user, body string) *webhooks.Comment {
	return &webhooks.Comment{
		Meta:   webhooks.Meta{Delivery: fmt.Sprintf("d-c%d", id), Name: "issue_comment", Action: "created", Owner: "acme", Repo: "fleet"},
		Number: number, CommentID: id, User: user, Body: body, Commands: webhooks.ParseCommands(body),
	}
}

// statusOn returns the bot's status comment on issue number.
func statusOn(t *testing.T, w *world, number int) string {
	t.Helper()
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	for _, c := range w.api.comments[number] {
		if hasMarker(c.Body, statusMarker(campaign)) {
			return c.Body
		}
	}
	return ""
}

// TestCommandsOnTheDashboard: `/fleet` commands on the dashboard issue are
// the campaign's: a fleet admin's are taken, a stranger's refused, an
// owner may skip a cluster of their tenant, approve there names its wave;
// each answered in the issue's status comment, with a reaction. Commands
// on other issues are not the bot's.
func TestCommandsOnTheDashboard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	dash := dashboardOf(t, w).Number

	acted, err := b.onComment(t.Context(), dashboardComment(1, dash, "eve", "/fleet pause"))
	require.NoError(t, err)
	assert.True(t, acted)
	assert.Equal(t, []string{reactionRefused}, w.api.reactionsTo(1))
	assert.Contains(t, statusOn(t, w, dash), "| `/fleet pause` | refused: @eve may not run pause: only fleet admins may |")

	_, err = b.onComment(t.Context(), dashboardComment(2, dash, "pat", "/fleet approve\n/fleet status\n/fleet pause"))
	require.NoError(t, err)
	assert.Equal(t, []string{reactionRefused}, w.api.reactionsTo(2), "the approve was refused")
	answer := statusOn(t, w, dash)
	assert.Contains(t, answer, "| `/fleet approve` | refused: off a pull request, approve names the wave it releases; usage: /fleet approve WAVE |")
	assert.Contains(t, answer, "| `/fleet pause` | taken: the campaign went from Running to Paused |")
	assert.Contains(t, answer, "Campaign **eks-1-30** is **Running**. Waiting for wave 1: ", "what it waits for")
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignPaused, st.Phase)
	assert.Contains(t, dashboardOf(t, w).Body, "## Campaign `eks-1-30` is Paused", "the dashboard follows")

	_, err = b.onComment(t.Context(), dashboardComment(3, dash, "alice", "/fleet skip a-dev-1 --reason \"decommissioned\""))
	require.NoError(t, err)
	assert.Equal(t, []string{reactionTaken}, w.api.reactionsTo(3))
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.ClusterSkipped, st.Waves[0].Clusters[0].Phase)
	records, err := b.Commands(t.Context(), campaign)
	require.NoError(t, err)
	require.Len(t, records, 3)
	assert.Equal(t, fmt.Sprintf("acme/fleet#%d", dash), records[2].PR)

	// Elsewhere: a plain issue, and a person's issue carrying the marker.
	other := w.api.addIssue("dave", "a question")
	copied := w.api.addIssue("mallory", dashboardMarker(campaign)+"\ncopied")
	for i, n := range []int{other, copied} {
		id := int64(10 + i)
		acted, err := b.onComment(t.Context(), dashboardComment(id, n, "pat", "/fleet resume"))
		require.NoError(t, err)
		assert.False(t, acted, "issue #%d", n)
		assert.Empty(t, w.api.reactionsTo(id))
	}
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.CampaignPaused, st.Phase)

	// The store lost the dashboard: its marker still names the campaign.
	_, version, _, err := b.loadDashboard(t.Context(), campaign)
	require.NoError(t, err)
	require.NoError(t, w.store.Delete(t.Context(), dashboardKey(campaign), version, store.Fence{}))
	_, err = b.onComment(t.Context(), dashboardComment(20, dash, "pat", "/fleet resume"))
	require.NoError(t, err)
	assert.Equal(t, []string{reactionTaken}, w.api.reactionsTo(20))
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
}

// dashboardGolden renders the dashboards of the test campaign along its
// way, with the clock, gates and commands of a test, for the golden files.
func dashboardGolden(t *testing.T) (examples []string, docs string) {
	t.Helper()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, testGates.terraform, "bake: 30m", "approvals: [prod]", "maxFailures: 1"))
	b := w.bot(t, "r1", nil)
	gates := &scriptedGates{outcome: map[string]rollout.Outcome{}}
	b.cfg.Gates = gates
	body := func() string { return dashboardOf(t, w).Body }

	started(t, w, b)
	examples = append(examples, body())
	w.clock.add(25 * time.Minute)
	gates.set("a-dev-2", rollout.GateWaiting)
	mergeNumbers(t, w, b, 1, 2)
	examples = append(examples, body())
	w.clock.add(5 * time.Minute)
	gates.set("a-dev-2", rollout.GatePassed)
	require.NoError(t, b.Reconcile(t.Context()))
	w.clock.add(30 * time.Minute)
	require.NoError(t, b.Reconcile(t.Context()))
	examples = append(examples, body())
	_, err := b.Operate(t.Context(), campaign, rollout.Approve{Wave: 2, By: "pat"})
	require.NoError(t, err)
	w.clock.add(40 * time.Minute)
	mergeNumbers(t, w, b, 3)
	examples = append(examples, body())
	w.clock.add(15 * time.Minute)
	gates.set("b-prod-1", rollout.GateWaiting)
	mergeNumbers(t, w, b, 4)
	docs = body()
	w.clock.add(10 * time.Minute)
	gates.set("b-prod-1", rollout.GateFailed)
	require.NoError(t, b.Reconcile(t.Context()))
	examples = append(examples, docs, body())
	_, err = b.Operate(t.Context(), campaign, rollout.SkipCluster{Cluster: "b-prod-1", Reason: "replaced next week", By: "pat"})
	require.NoError(t, err)
	w.clock.add(30 * time.Minute)
	require.NoError(t, b.Reconcile(t.Context()))
	examples = append(examples, body())
	return examples, docs
}

// TestDashboardGolden keeps the dashboard issue's body along a campaign in
// testdata/dashboard.md, and the example the documentation shows in
// docs/img/dashboard-issue.md.
func TestDashboardGolden(t *testing.T) {
	t.Parallel()
	examples, docs := dashboardGolden(t)
	for path, got := range map[string]string{
		filepath.Join("testdata", "dashboard.md"):                strings.Join(examples, "\n=====\n\n"),
		filepath.Join("..", "docs", "img", "dashboard-issue.md"): docs,
	} {
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run go test -update to create %s", path)
		assert.Equal(t, string(want), got, path)
	}
}

// TestApprovalsAtOnce: many `/fleet approve` of one pull request carried
// out at once, by the workers of two replicas on one store, are each
// recorded; five tries without a pause used to lose some to the others
// and refuse them.
func TestApprovalsAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	replicas := []*Bot{w.bot(t, "a", nil), w.bot(t, "b", nil)}
	on := commandPR{repo: repoName{"acme", "fleet"}, number: 2, head: strings.Repeat("a", 40)}
	const each = 16
	var wg sync.WaitGroup
	errs := make(chan error, len(replicas)*each)
	for r, b := range replicas {
		for i := range each {
			wg.Go(func() {
				errs <- b.recordApproval(t.Context(), "eks-1-30", on, fmt.Sprintf("owner-%d-%d", r, i))
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	list, err := replicas[0].commandApprovals(t.Context(), "eks-1-30", on.repo, on.number)
	require.NoError(t, err)
	assert.Len(t, list, len(replicas)*each)
}

// TestDashboardShowsAFailingAction: a pull request GitHub keeps refusing
// shows on the dashboard issue, with the error, once it has failed three
// times over five minutes; passes that change nothing else then send
// nothing; its first success takes it off.
func TestDashboardShowsAFailingAction(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	// The status page, which any replica serves, shows them too.
	page := statusServer(t, w.bot(t, "r2", nil), StatusConfig{})
	refused := errors.New("validation failed: A ref named \"refs/heads/fleetbot/eks-1-30/1/tenant-b\" already exists")
	const shown = "> **fleetbot cannot open the pull request of tenant-b in wave 1:** every attempt since 2026-12-01 09:00 UTC failed, the last with `"
	for i, wantShown := range []bool{false, false, false, true, true} {
		w.ensure.fail["tenant-b"] = refused
		require.ErrorContains(t, b.Reconcile(t.Context()), "already exists")
		body := dashboardOf(t, w).Body
		failing := viewOf(t, page).Campaigns[0].Failing
		if !wantShown {
			assert.NotContains(t, body, "fleetbot cannot", "attempt %d", i+1)
			assert.Empty(t, failing, "attempt %d", i+1)
		} else {
			assert.Contains(t, body, shown+`validation failed: A ref named "refs/heads/fleetbot/eks-1-30/1/tenant-b" already exists`+"`.", "attempt %d", i+1)
			require.Len(t, failing, 1, "attempt %d", i+1)
			assert.Equal(t, rollout.Trouble{Action: "open-wave", Wave: 1, What: "open the pull request of tenant-b in wave 1", Err: refused.Error(),
				Since: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Last: w.clock.now(), Attempts: i + 1}, failing[0], "attempt %d", i+1)
		}
		if i == 3 {
			edits := w.api.issueCalls("EditIssue")
			defer func() {
				assert.Equal(t, edits, w.api.issueCalls("EditIssue")-1, "one edit when it ends, none while it lasts")
			}()
		}
		w.clock.add(2 * time.Minute)
	}
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]))
	assert.NotContains(t, dashboardOf(t, w).Body, "fleetbot cannot")
	assert.Empty(t, viewOf(t, page).Campaigns[0].Failing)
	_, err := w.store.Get(t.Context(), troublesKey(campaign))
	assert.ErrorIs(t, err, store.ErrNotFound, "none left in the store")
}

// TestDashboardFailingActionAcrossReplicas: a replica that does not own the
// campaign, stepping it on webhooks, shows the failures the owner showed
// rather than taking them off; once it carried the action out itself and
// the pull request merged, the owner's next pass, which no longer attempts
// it, takes them off.
func TestDashboardFailingActionAcrossReplicas(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	owner := w.bot(t, "r1", nil)
	require.NoError(t, owner.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	for range 4 {
		w.ensure.fail["tenant-b"] = errors.New("github is down")
		require.Error(t, owner.Reconcile(t.Context()))
		w.clock.add(2 * time.Minute)
	}
	require.True(t, owner.owns(campaign))
	const line = "> **fleetbot cannot open the pull request of tenant-b in wave 1:** every attempt since 2026-12-01 09:00 UTC failed, the last with `github is down`."
	require.Contains(t, dashboardOf(t, w).Body, line)

	other := w.bot(t, "r2", nil)
	require.False(t, other.owns(campaign))
	require.NoError(t, other.Handle(t.Context(), prWebhook("synchronize", 1, wave.Branch(campaign, 1, "tenant-a"), "")))
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]), "the other replica opened it")
	body := dashboardOf(t, w).Body
	assert.Contains(t, body, "#2 tenant-b: open")
	assert.Contains(t, body, line, "shown as the owner showed it")

	// Merged: the owner has nothing left to do for it, and lets it go.
	mergeNumbers(t, w, other, 2)
	assert.Contains(t, dashboardOf(t, w).Body, line)
	require.NoError(t, owner.Reconcile(t.Context()))
	assert.NotContains(t, dashboardOf(t, w).Body, "fleetbot cannot")
}

// TestFailingActionsInTheStore: the owner writes the failing actions it
// shows to the store, and removes them once an attempt succeeds; a replica
// that takes the campaign over starts its count anew and takes the
// owner's away until its own attempts make them news again.
func TestFailingActionsInTheStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	r1 := w.bot(t, "r1", nil)
	require.NoError(t, r1.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	stored := func() ([]rollout.Trouble, int64) {
		t.Helper()
		shown, version, err := r1.storedTroubles(t.Context(), campaign)
		require.NoError(t, err)
		return shown, version
	}
	fail := func(b *Bot, n int) {
		t.Helper()
		for range n {
			w.ensure.fail["tenant-b"] = errors.New("github is down")
			require.Error(t, b.Reconcile(t.Context()))
			w.clock.add(2 * time.Minute)
		}
	}
	fail(r1, 3)
	shown, _ := stored()
	assert.Empty(t, shown, "not news before 3 attempts over 5 minutes")
	fail(r1, 2)
	shown, _ = stored()
	require.Len(t, shown, 1)
	assert.Equal(t, 5, shown[0].Attempts)
	assert.Equal(t, "github is down", shown[0].Err)

	r1.disown(t.Context())
	r2 := w.bot(t, "r2", nil)
	fail(r2, 1)
	require.True(t, r2.owns(campaign))
	shown, _ = stored()
	assert.Empty(t, shown, "the new owner's count starts anew")
	assert.NotContains(t, dashboardOf(t, w).Body, "fleetbot cannot")
	fail(r2, 3)
	shown, _ = stored()
	require.Len(t, shown, 1)
	assert.Equal(t, 4, shown[0].Attempts, "the new owner's attempts")

	require.NoError(t, r2.Reconcile(t.Context()), "tenant-b's pull request opens")
	shown, version := stored()
	assert.Empty(t, shown)
	assert.Zero(t, version, "removed from the store")
}

// TestDashboardCountsPullRequests: a campaign with more pull requests than
// the waves table can list beside its clusters counts each wave's by
// status, naming the first not merged, and keeps every wave's row.
func TestDashboardCountsPullRequests(t *testing.T) {
	t.Parallel()
	rec := &record{Campaign: "big", Repo: "acme/fleet", File: "campaigns/big.yaml", SHA: headSHA,
		Plan: &rollout.Plan{Campaign: "big", Change: rollout.PlanChange{Kind: rollout.KindEKSVersion, To: "1.30"}}}
	const waves, tenants = 6, 600
	var specs []rollout.WaveSpec
	for i := range waves {
		pw := rollout.Wave{Index: i + 1, Env: "prod"}
		var refs []rollout.ClusterRef
		for j := range tenants {
			name, tenant := fmt.Sprintf("cluster-%d-%04d", i+1, j), fmt.Sprintf("tenant-%04d", j)
			refs = append(refs, rollout.ClusterRef{Name: name, Tenant: tenant})
			pw.Clusters = append(pw.Clusters, rollout.WaveCluster{Name: name, Tenant: tenant, From: "1.29", To: "1.30"})
			pw.PullRequests = append(pw.PullRequests, rollout.PullRequest{Repo: "acme/fleet", Tenant: tenant})
		}
		rec.Plan.Waves = append(rec.Plan.Waves, pw)
		specs = append(specs, rollout.WaveSpec{Clusters: refs})
	}
	st, err := rollout.NewState("big", rollout.Policy{Gates: []string{"terraform"}}, specs)
	require.NoError(t, err)
	st.Phase = rollout.CampaignRunning
	for i := range st.Waves {
		w := &st.Waves[i]
		w.Phase = rollout.WaveOpen
		w.PRs = nil
		for j := range tenants {
			pr := rollout.PRState{Tenant: fmt.Sprintf("tenant-%04d", j), Number: (i+1)*1000 + j, Status: rollout.PRStatusMerged}
			if j >= tenants-2 {
				pr.Status = rollout.PRStatusOpen
			}
			w.PRs = append(w.PRs, pr)
		}
	}
	body, err := renderDashboard(dashboardView{Repo: "acme/fleet", Rec: rec, St: st, Wait: st.Waiting(time.Time{})})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(body), maxIssueBody)
	for i := range waves {
		assert.Contains(t, body, fmt.Sprintf("| %d | prod | Open | 600: 598 merged, 2 open (#%d tenant-0598: open, #%d tenant-0599: open) |", i+1, (i+1)*1000+598, (i+1)*1000+599))
	}
	assert.Contains(t, body, "Too many pull requests to list each here")
	assert.Contains(t, body, "`cluster-1-0000`", "clusters still fill the room left")
	assert.True(t, strings.HasSuffix(body, "</sub>\n"), "the footer is kept")
}

// TestFirstWaveApprovalOnTheDashboard: a first wave that waits for an
// approval has no pull request to ask on; the request goes to the
// dashboard issue, where a fleet admin steers the campaign, once.
func TestFirstWaveApprovalOnTheDashboard(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeCampaign(t, w, "eks-1-30.yaml", campaignSrc(t, testGates.terraform, "approvals: [dev]"))
	b := w.bot(t, "r1", nil)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	dash := dashboardOf(t, w)
	comments, err := w.api.Comments(t.Context(), "acme", "fleet", dash.Number)
	require.NoError(t, err)
	require.Len(t, comments, 1)
	assert.Contains(t, comments[0].Body, "### Campaign `eks-1-30`: wave 1 waits for an approval")
	assert.Contains(t, comments[0].Body, "A fleet admin approves it with `/fleet approve 1`.")
	st, _ := w.state(t, campaign)
	assert.Empty(t, st.Posts, "the request is posted, not asked for again")
}

// tallyClusters tells a change merged and not verified (a campaign aborted
// mid-wave) from one never reached.
func TestTallyClusters(t *testing.T) {
	t.Parallel()
	wave := func(phases ...rollout.ClusterPhase) rollout.WaveState {
		w := rollout.WaveState{Kind: rollout.WaveChange}
		for i, p := range phases {
			w.Clusters = append(w.Clusters, rollout.ClusterState{Name: fmt.Sprintf("c%d-%s", i, p), Phase: p})
		}
		return w
	}
	for _, tc := range []struct {
		waves []rollout.WaveState
		want  string
	}{
		{[]rollout.WaveState{wave(rollout.ClusterSucceeded, rollout.ClusterSucceeded)}, "2 succeeded of 2"},
		{[]rollout.WaveState{wave(rollout.ClusterSkipped, rollout.ClusterSkipped, rollout.ClusterVerifying, rollout.ClusterInPR)}, "2 skipped, 1 merged, not verified, 1 not reached of 4"},
		{[]rollout.WaveState{wave(rollout.ClusterSucceeded, rollout.ClusterApplied), wave(rollout.ClusterPending)}, "1 succeeded, 1 merged, not verified, 1 not reached of 3"},
		{[]rollout.WaveState{wave(rollout.ClusterFailed, rollout.ClusterTimedOut, rollout.ClusterPending)}, "1 failed, 1 timed out, 1 not reached of 3"},
	} {
		assert.Equal(t, tc.want, tallyClusters(rollout.State{Waves: tc.waves}))
	}
}

// tallyPRs counts a pull request closed without merge and opened again
// (a retry), which the state keeps only as its latest attempt.
func TestTallyPRs(t *testing.T) {
	t.Parallel()
	st := rollout.State{Waves: []rollout.WaveState{{PRs: []rollout.PRState{
		{Tenant: "a", Number: 2, Status: rollout.PRStatusMerged, Attempt: 1},
		{Tenant: "b", Number: 5, Status: rollout.PRStatusMerged, Attempt: 2},
		{Tenant: "c", Number: 6, Status: rollout.PRStatusClosed, Attempt: 1},
	}}}}
	assert.Equal(t, "2 merged, 1 closed, 1 more closed without merge and opened again", tallyPRs(st))
	assert.Equal(t, "none opened", tallyPRs(rollout.State{}))
}

// TestBakeAsWritten: the dashboard writes the bake as the campaign file's
// durations are written, not rounded as elapsed times are.
func TestBakeAsWritten(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30s", 90 * time.Second: "1m30s", 45 * time.Minute: "45m", time.Hour: "1h",
		90 * time.Minute: "1h30m", 0: "0s", 25*time.Hour + time.Second: "25h0m1s",
	} {
		assert.Equal(t, want, rollout.Duration{Duration: d}.String(), "%v", d)
	}
}

// TestDashboardSkippedClusterWaitsForNoGate: a cluster skipped after its
// merge says so, and shows the verdicts its gates gave, not the one they
// were still waiting on.
func TestDashboardSkippedClusterWaitsForNoGate(t *testing.T) {
	t.Parallel()
	c := rollout.ClusterState{Name: "d-prod-gpu-2", Phase: rollout.ClusterSkipped, SkipReason: "node pool being replaced",
		Evidence: []rollout.Evidence{{Event: "pr-merged"}, {Event: "skip"}},
		Gates: map[string]rollout.GateRecord{
			"terraform": {Outcome: rollout.GateWaiting, Detail: "no check run or status matches yet"},
			"argocd":    {Outcome: rollout.GatePassed},
		}}
	st := rollout.State{Policy: rollout.Policy{Gates: []string{"argocd", "terraform"}}, Waves: []rollout.WaveState{{Number: 1, Clusters: []rollout.ClusterState{c}}}}
	v := dashboardView{St: st}
	assert.Equal(t, "✅ argocd", v.gates(1, c))
	assert.Equal(t, "Skipped after the merge: node pool being replaced", clusterState(c))
	c.Evidence = c.Evidence[1:]
	assert.Equal(t, "Skipped: node pool being replaced", clusterState(c), "skipped before its merge")
}

// TestMention: a GitHub login is mentioned; anything else (an operation of
// fleetbot campaign, the operations API's by) is code, so that "cli:pat"
// does not mention a user named cli.
func TestMention(t *testing.T) {
	t.Parallel()
	for by, want := range map[string]string{
		"pat":           "@pat",
		"a-b9":          "@a-b9",
		"fleetbot[bot]": "@fleetbot[bot]",
		"cli:pat":       "`cli:pat`",
		"cli":           "@cli",
		"ops team":      "`ops team`",
		"-x":            "`-x`",
		"a`b":           "`a'b`",
		"[bot]":         "`[bot]`",
		"x@example.com": "`x@example.com`",
		"way-too-long-login-name-past-39-characters": "`way-too-long-login-name-past-39-characters`",
	} {
		assert.Equal(t, want, mention(by), by)
	}
}

// TestWaveState: a wave's phase in the dashboard's table, with what a
// person wants to know of it.
func TestWaveState(t *testing.T) {
	t.Parallel()
	skipped := rollout.ClusterState{Name: "a", Phase: rollout.ClusterSkipped}
	ok := rollout.ClusterState{Name: "b", Phase: rollout.ClusterSucceeded}
	until := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		w    rollout.WaveState
		want string
	}{
		{rollout.WaveState{Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{skipped, skipped}}, "Succeeded: every cluster skipped"},
		{rollout.WaveState{Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{skipped, ok}}, "Succeeded"},
		{rollout.WaveState{Phase: rollout.WaveSkipped, SkipReason: "nothing to fold"}, "Skipped: nothing to fold"},
		{rollout.WaveState{Phase: rollout.WaveBaking, BakeUntil: until}, "Baking until 2026-12-01 10:00 UTC"},
		{rollout.WaveState{Phase: rollout.WavePending, ApprovalRequested: true}, "Pending, waiting for an approval"},
		{rollout.WaveState{Phase: rollout.WaveOpen, ApprovedBy: "cli:pat"}, "Open, approved by `cli:pat`"},
	} {
		assert.Equal(t, tc.want, waveState(tc.w))
	}
}

// TestDashboardNamesClustersLeftOut: the clusters the plan left alone are
// counted by reason under the campaign's start, those another campaign
// holds named with it, on the dashboard and in /fleet plan's answer: a
// person expects the campaign to upgrade them.
func TestDashboardNamesClustersLeftOut(t *testing.T) {
	t.Parallel()
	rec, st := startedRecord(t)
	rec.Plan.Skipped = append(rec.Plan.Skipped,
		rollout.SkippedCluster{Name: "d-prod-1", Reason: rollout.ReasonLocked, Detail: "held by campaign blk-d"},
		rollout.SkippedCluster{Name: "a-dev-9", Reason: rollout.ReasonAtTarget})
	const left = "1 held by other campaigns (`d-prod-1`: held by campaign blk-d), 1 at-target"
	body, err := renderDashboard(dashboardView{Repo: "acme/fleet", Rec: rec, St: st, Wait: st.Waiting(time.Time{})})
	require.NoError(t, err)
	assert.Contains(t, body, "\n**Left out by the plan:** "+left+".\n")
	assert.Contains(t, planTable(rec.Plan), "\nLeft out by the plan: "+left+".\n")
}
