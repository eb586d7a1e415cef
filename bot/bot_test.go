package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/webhooks"
)

const campaign = "eks-1-30"

func pushOf(files ...string) *webhooks.Push {
	return &webhooks.Push{
		Meta:          webhooks.Meta{Delivery: "d-push", Name: "push", Owner: "acme", Repo: "fleet"},
		Ref:           "refs/heads/main",
		DefaultBranch: "main",
		After:         headSHA,
		Added:         files,
	}
}

// prWebhook is a pull_request webhook about one of the bot's branches.
func prWebhook(action string, number int, branch, mergeSHA string) *webhooks.PullRequest {
	return &webhooks.PullRequest{
		Meta:           webhooks.Meta{Delivery: "d-pr", Name: "pull_request", Action: action, Owner: "acme", Repo: "fleet"},
		Number:         number,
		Merged:         mergeSHA != "",
		MergeCommitSHA: mergeSHA,
		HeadRef:        branch,
		BaseRef:        "main",
	}
}

// started pushes the test campaign and runs one reconcile pass, which opens
// wave 1.
func started(t *testing.T, w *world, b *Bot) {
	t.Helper()
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	// The pass after the one that opened wave 1 finds its pull requests
	// approved (the fake's owners approve every one unless told otherwise):
	// they wait for an owner's merge.
	require.NoError(t, b.Reconcile(t.Context()))
}

func TestPushPlansAndSchedules(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml", "broken.yaml")
	reg := prometheus.NewRegistry()
	b := w.bot(t, "r1", reg)

	assert.Positive(t, b.untilNextPass(), "no pass due before the push")
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml", "campaigns/broken.yaml", "README.md")))
	assert.Zero(t, b.untilNextPass(), "the start brings the loop's next pass forward to now")
	assert.Positive(t, b.untilNextPass(), "once")

	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignScheduled, st.Phase)
	require.Len(t, st.Waves, 2)
	assert.Equal(t, []string{"terraform"}, st.Policy.Gates)
	assert.Equal(t, rollout.KindEKSVersion, st.Policy.Change)
	assert.False(t, st.Policy.Revertible, "an EKS version change is forward-only")
	assert.Equal(t, 0, st.Policy.MaxFailures)
	assert.Equal(t, time.Hour, st.Policy.ProgressDeadline)

	rec, ok, err := b.loadRecord(t.Context(), campaign)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, map[string]string{"acme/fleet": headSHA}, rec.Bases)
	assert.Equal(t, "campaigns/eks-1-30.yaml", rec.File)
	assert.Equal(t, headSHA, rec.SHA)
	assert.Len(t, rec.Plan.Waves, 2)
	for _, wv := range rec.Plan.Waves {
		for _, pr := range wv.PullRequests {
			assert.Equal(t, "acme/fleet", pr.Repo, "plan pull requests name the GitHub repository, not the checkout")
		}
	}
	assert.Empty(t, w.ensure.calls(), "a push schedules; the schedule's tick opens")
	assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.campaignFiles.WithLabelValues("invalid")))
	assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.campaignFiles.WithLabelValues("started")))

	// The same push again changes nothing.
	_, v1 := w.state(t, campaign)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	_, v2 := w.state(t, campaign)
	assert.Equal(t, v1, v2)
}

func TestTickOpensWaveOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
	assert.Equal(t, rollout.WaveOpen, st.Waves[0].Phase)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]))
	reqs := w.ensure.calls()
	assert.Equal(t, []string{"1/tenant-a", "1/tenant-b"}, tenants(reqs))
	for _, r := range reqs {
		assert.Equal(t, headSHA, r.BaseSHA)
		assert.Equal(t, "main", r.BaseBranch)
		assert.Equal(t, "acme", r.Owner)
		assert.Equal(t, "fleet", r.Repo)
		assert.Equal(t, []string{"terraform"}, r.Gates)
		assert.Equal(t, 1, r.Attempt)
		switch r.PR.Tenant {
		case "tenant-a":
			assert.Equal(t, []string{"a-dev-1", "a-dev-2"}, r.Clusters)
			assert.Equal(t, wave.Owners{Users: []string{"alice"}, Teams: []string{"acme/payments"}}, r.Reviewers)
			assert.True(t, r.Owns("tenants/tenant-a/dev.yaml"))
			assert.False(t, r.Owns("tenants/tenant-b/dev.yaml"), "a tenant's pull request owns no other tenant's file")
		case "tenant-b":
			assert.Equal(t, []string{"b-dev-1"}, r.Clusters)
			assert.Equal(t, []string{"bruno"}, r.Reviewers.Users)
			assert.Empty(t, r.Reviewers.Teams)
		}
		src, err := r.Read("tenants/tenant-a/dev.yaml")
		require.NoError(t, err)
		assert.Contains(t, string(src), "a-dev-2")
	}

	// Another pass finds everything up: no new call, no new write.
	_, v1 := w.state(t, campaign)
	require.NoError(t, b.Reconcile(t.Context()))
	_, v2 := w.state(t, campaign)
	assert.Equal(t, v1, v2)
	assert.Len(t, w.ensure.calls(), 2)
}

func TestMergedWebhookMovesTheWaveOn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	for n, sha := range map[int]string{1: "aaaa", 2: "bbbb"} {
		p := w.api.merge(t, n, sha)
		require.NoError(t, b.Handle(t.Context(), prWebhook("closed", n, p.HeadRef, sha)))
	}
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.WaveSucceeded, st.Waves[0].Phase, "the gates passed and the bake is 0s")
	for _, c := range st.Waves[0].Clusters {
		assert.Equal(t, rollout.ClusterSucceeded, c.Phase, c.Name)
	}
	assert.Equal(t, "tenant-a:Merged#1 tenant-b:Merged#2", prStatuses(st.Waves[0]))

	require.NoError(t, b.Reconcile(t.Context()))
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.WaveOpen, st.Waves[1].Phase)
	assert.Equal(t, []string{"1/tenant-a", "1/tenant-b", "2/tenant-a", "2/tenant-b"}, tenants(w.ensure.calls()))
}

func TestDuplicateWebhookChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	p := w.api.merge(t, 1, "aaaa")
	ev := prWebhook("closed", 1, p.HeadRef, "aaaa")
	require.NoError(t, b.Handle(t.Context(), ev))
	st1, v1 := w.state(t, campaign)
	calls := len(w.ensure.calls())

	require.NoError(t, b.Handle(t.Context(), ev))
	st2, v2 := w.state(t, campaign)
	assert.Equal(t, v1, v2, "a duplicate delivery writes nothing")
	assert.Equal(t, st1, st2)
	assert.Len(t, w.ensure.calls(), calls)
	assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.events.WithLabelValues("pr-merged", "ignored")))
}

func TestReconcileRecoversLostMerge(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	// No webhook arrives.
	require.NoError(t, b.Reconcile(t.Context()))

	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Merged#1 tenant-b:Merged#2", prStatuses(st.Waves[0]))
	assert.Equal(t, rollout.WaveSucceeded, st.Waves[0].Phase)
	assert.Equal(t, 2.0, testutil.ToFloat64(b.metrics.recovered.WithLabelValues("pr-merged")))
	assert.Equal(t, 3.0, testutil.ToFloat64(b.metrics.reconciles), "started's two and this one")
	assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.campaigns.WithLabelValues("Running")))
	assert.Equal(t, 0.0, testutil.ToFloat64(b.metrics.campaigns.WithLabelValues("Scheduled")))
}

func TestRestartContinues(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b1 := w.bot(t, "r1", nil)
	started(t, w, b1)
	require.NoError(t, w.store.Close())

	w.open(t)
	b2 := w.bot(t, "r1", nil)
	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	require.NoError(t, b2.Reconcile(t.Context()))
	require.NoError(t, b2.Reconcile(t.Context()))

	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.WaveSucceeded, st.Waves[0].Phase)
	assert.Equal(t, rollout.WaveOpen, st.Waves[1].Phase)
	assert.Equal(t, "tenant-a:Open#3 tenant-b:Open#4", prStatuses(st.Waves[1]))
	assert.Equal(t, []string{"1/tenant-a", "1/tenant-b", "2/tenant-a", "2/tenant-b"}, tenants(w.ensure.calls()),
		"the restarted bot opens wave 2 and does not open wave 1 again")
}

func TestLeaseKeepsASecondBotOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	a := w.bot(t, "replica-a", nil)
	b := w.bot(t, "replica-b", nil)
	require.NoError(t, a.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))

	w.ensure.enter = make(chan struct{}, 8)
	w.ensure.block = make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- a.Reconcile(t.Context()) }()
	<-w.ensure.enter // replica a is opening wave 1, holding the lease

	// A webhook reaches b meanwhile: the step is left to a.
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, wave.Branch(campaign, 1, "tenant-a"), "aaaa")))
	assert.Empty(t, w.ensure.calls(), "replica b acted on a campaign replica a holds")
	assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.leaseHeld))

	close(w.ensure.block)
	require.NoError(t, <-done)
	assert.Equal(t, []string{"1/tenant-a", "1/tenant-b"}, tenants(w.ensure.calls()))

	// Replica a owns the campaign: b's reconcile passes leave it to a.
	assert.True(t, a.owns(campaign))
	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	require.NoError(t, b.Reconcile(t.Context()))
	assert.False(t, b.owns(campaign))
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]), "b reconciled a campaign a owns")

	// Once a let go, b may act on the campaign: a webhook's step, then
	// its own passes once it owns it.
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, wave.Branch(campaign, 1, "tenant-a"), "aaaa")))
	st, _ = w.state(t, campaign)
	assert.Equal(t, "tenant-a:Merged#1 tenant-b:Open#2", prStatuses(st.Waves[0]))
	a.disown(t.Context())
	require.NoError(t, b.Reconcile(t.Context()))
	assert.True(t, b.owns(campaign), "b takes the campaign a let go of")
	st, _ = w.state(t, campaign)
	assert.Equal(t, "tenant-a:Merged#1 tenant-b:Merged#2", prStatuses(st.Waves[0]))
	assert.Len(t, w.ensure.calls(), 2, "b opened nothing that was up already")
}

// TestOutstandingPullRequestIsAskedAgain: a tenant's pull request that
// failed to open, by an error or by a panic (on the goroutine it opens on:
// that pull request's failure, not the end of the process), is asked for
// again on the next pass.
func TestOutstandingPullRequestIsAskedAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail func(*fakeEnsure)
		want string
	}{
		{"an error", func(e *fakeEnsure) { e.fail["tenant-b"] = errors.New("github is down") }, "github is down"},
		{"a panic", func(e *fakeEnsure) { e.panic["tenant-b"] = "index out of range" }, "opening the pull request panicked: index out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "eks-1-30.yaml")
			b := w.bot(t, "r1", nil)
			require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
			tc.fail(w.ensure)

			err := b.Reconcile(t.Context())
			require.ErrorContains(t, err, tc.want)
			st, _ := w.state(t, campaign)
			assert.Equal(t, "tenant-a:Open#1 tenant-b:Requested#0", prStatuses(st.Waves[0]))

			require.NoError(t, b.Reconcile(t.Context()))
			st, _ = w.state(t, campaign)
			assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]))
			assert.Equal(t, 1.0, testutil.ToFloat64(b.metrics.recovered.WithLabelValues("open-wave")))
			panics := 0.0
			if tc.name == "a panic" {
				panics = 1
			}
			assert.InDelta(t, panics, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicOpen)), 0)
		})
	}
}

// TestPanicInAPassIsAnError: a panic in a pass is its error, not the end
// of the process, and leaves nothing held: in the reading of the campaign
// files, the pass's; while a campaign is reconciled (the checkout before
// its wave opens, on the pass's own goroutine), that campaign's. The next
// pass opens the wave.
func TestPanicInAPassIsAnError(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	w.mirror.mu.Lock()
	n := w.mirror.checkouts
	w.mirror.panicOn = map[int]bool{n + 1: true, n + 3: true}
	w.mirror.mu.Unlock()

	err := b.Reconcile(t.Context())
	require.ErrorContains(t, err, "reconcile panicked: checkout went wrong")
	require.NotContains(t, err.Error(), "campaign "+campaign)
	err = b.Reconcile(t.Context())
	require.ErrorContains(t, err, "campaign "+campaign+": reconcile panicked: checkout went wrong")
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]))
	assert.InDelta(t, 2.0, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicReconcile)), 0)
	assert.InDelta(t, 0.0, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicWebhook)), 0)
}

// TestPanicInAHandlerIsTheDeliverysError: a panic while the bot handles a
// webhook event is the event's error (the delivery is tried again), counted
// as one; the next delivery of it starts the campaign.
func TestPanicInAHandlerIsTheDeliverysError(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	w.mirror.mu.Lock()
	w.mirror.panicOn = map[int]bool{w.mirror.checkouts + 1: true}
	w.mirror.mu.Unlock()

	err := b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml"))
	require.ErrorContains(t, err, "the push handler panicked: checkout went wrong")
	assert.InDelta(t, 1.0, testutil.ToFloat64(b.metrics.panics.WithLabelValues(panicWebhook)), 0)
	assert.InDelta(t, 1.0, testutil.ToFloat64(b.metrics.webhooks.WithLabelValues("push", "error")), 0)

	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Open#2", prStatuses(st.Waves[0]))
}

func TestClosedPullRequestIsReported(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	p := w.api.close(t, 2)
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 2, p.HeadRef, "")))
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Open#1 tenant-b:Closed#2", prStatuses(st.Waves[0]))

	for _, n := range []int{1, 2} {
		cs, err := w.api.Comments(t.Context(), "acme", "fleet", n)
		require.NoError(t, err)
		require.Len(t, cs, 1, "one status comment on #%d", n)
		assert.True(t, strings.HasPrefix(cs[0].Body, statusMarker(campaign)))
		assert.Contains(t, cs[0].Body, "closed pull request #2 of wave 1")
	}

	// Reconcile sees the same close and says nothing more.
	require.NoError(t, b.Reconcile(t.Context()))
	cs, err := w.api.Comments(t.Context(), "acme", "fleet", 2)
	require.NoError(t, err)
	assert.Len(t, cs, 1)
}

func TestIgnoresWhatIsNotTheBots(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	_, v1 := w.state(t, campaign)

	events := []webhooks.Event{
		prWebhook("closed", 9, "feature/x", "cccc"),
		prWebhook("closed", 9, wave.Branch("other-campaign", 1, "tenant-a"), "cccc"),
		&webhooks.PullRequest{Meta: webhooks.Meta{Name: "pull_request", Action: "closed", Owner: "elsewhere", Repo: "fleet"}, Number: 1, Merged: true, MergeCommitSHA: "dddd", HeadRef: wave.Branch(campaign, 1, "tenant-a")},
		prWebhook("synchronize", 1, wave.Branch(campaign, 1, "tenant-a"), ""),
		&webhooks.Push{Meta: webhooks.Meta{Name: "push", Owner: "acme", Repo: "fleet"}, Ref: "refs/heads/feature", DefaultBranch: "main", After: headSHA},
		&webhooks.Comment{Meta: webhooks.Meta{Name: "issue_comment", Action: "created", Owner: "acme", Repo: "fleet"}, Number: 1, Body: "/fleet status", Commands: []webhooks.Command{{Line: 1, Name: "status", Raw: "/fleet status"}}},
		&webhooks.Status{Meta: webhooks.Meta{Name: "status", Owner: "acme", Repo: "fleet"}, SHA: "ffff", State: "success"},
	}
	for _, ev := range events {
		require.NoError(t, b.Handle(t.Context(), ev), "%T %+v", ev, ev)
	}
	_, v2 := w.state(t, campaign)
	assert.Equal(t, v1, v2)
	assert.Equal(t, 0.0, testutil.ToFloat64(b.metrics.commands.WithLabelValues("status", "shown")), "a comment on an issue that is no pull request runs no command")
}

func TestStatusOnMergeCommitReconciles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	b.cfg.Gates = waitingGates{}
	started(t, w, b)
	p := w.api.merge(t, 1, "aaaa")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, p.HeadRef, "aaaa")))
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.ClusterVerifying, st.Waves[0].Clusters[0].Phase)

	b.cfg.Gates = passGates{}
	ev := &webhooks.Status{Meta: webhooks.Meta{Name: "status", Owner: "acme", Repo: "fleet"}, SHA: "aaaa", Context: "terraform-apply", State: "success"}
	require.NoError(t, b.Handle(t.Context(), ev))
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.ClusterSucceeded, st.Waves[0].Clusters[0].Phase, "the status on the merge commit made the bot ask the gates again")
}

// waitingGates answers waiting: the checks have not finished.
type waitingGates struct{}

func (waitingGates) Run(_ context.Context, targets []gate.Target) []gate.Result {
	var out []gate.Result
	for _, t := range targets {
		out = append(out, gate.Result{Gate: "terraform", Cluster: t.Cluster, Outcome: rollout.GateWaiting, Detail: "terraform-apply is pending"})
	}
	return out
}

// TestApprovalStatusAndUnapprovedMerge: each open wave pull request carries
// fleetbot/approval, green once an owner of its tenant approved its head and
// pending before; a pull request merged without such an approval halts the
// campaign with the reason in its history.
func TestApprovalStatusAndUnapprovedMerge(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	w.api.mu.Lock()
	w.api.reviews[1] = []gh.Review{{User: "alice", State: "APPROVED", CommitID: "head-1"}}
	w.api.reviews[2] = []gh.Review{{User: "eve", State: "APPROVED", CommitID: "head-2"}}
	w.api.mu.Unlock()
	started(t, w, b)
	require.NoError(t, b.Reconcile(t.Context()))

	w.api.mu.Lock()
	s1, s2 := w.api.statuses["head-1"], w.api.statuses["head-2"]
	w.api.mu.Unlock()
	require.Len(t, s1, 1, "one status, posted once however often the loop passes")
	assert.Equal(t, gh.Status{Context: ApprovalContext, State: "success", Description: "approved by @alice, an owner of tenant-a"}, s1[0])
	require.Len(t, s2, 1)
	assert.Equal(t, "pending", s2[0].State)
	assert.Equal(t, "no approval by an owner of the tenant (@eve approved, not an owner): waiting for an approval by tenant tenant-b", s2[0].Description)

	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	require.NoError(t, b.Reconcile(t.Context()))
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignHalted, st.Phase)
	assert.Contains(t, st.HaltReason, "tenant tenant-b's pull request #2 of wave 1 merged without an approval by an owner of tenant-b (no approval by an owner of the tenant (@eve approved, not an owner))")
	ev := st.Waves[0].Clusters
	var unapproved int
	for _, c := range ev {
		for _, e := range c.Evidence {
			if e.Event == "pr-merged-unapproved" {
				unapproved++
			}
		}
	}
	assert.Equal(t, 1, unapproved, "b-dev-1's merge is recorded unapproved, a-dev's are not")
}

// TestReconcileListsWhatChanged: the first pass lists every pull request;
// later ones only those updated since a minute before the latest update
// the pass before saw, and still find a merge no webhook reported.
func TestReconcileListsWhatChanged(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)                             // the pass opened wave 1's pull requests
	require.NoError(t, b.Reconcile(t.Context())) // lists them all: the one before saw none
	require.NoError(t, b.Reconcile(t.Context()))
	w.api.mu.Lock()
	first, last := w.api.listed[0], w.api.listed[len(w.api.listed)-1]
	opened := w.api.prs[1].UpdatedAt
	w.api.mu.Unlock()
	assert.True(t, first.UpdatedSince.IsZero(), "the first pass lists them all")
	assert.Equal(t, opened.Add(-time.Minute), last.UpdatedSince, "a minute before the latest update seen")

	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	require.NoError(t, b.Reconcile(t.Context())) // no webhook
	st, _ := w.state(t, campaign)
	assert.Equal(t, "tenant-a:Merged#1 tenant-b:Merged#2", prStatuses(st.Waves[0]))

	// A restarted bot lists them all again once.
	b2 := w.bot(t, "r1", nil)
	require.NoError(t, b2.Reconcile(t.Context()))
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	assert.True(t, w.api.listed[len(w.api.listed)-1].UpdatedSince.IsZero())
}

// TestWaveLoadsTheInventoryOnce: the pull requests of a wave are opened on
// one head, whose inventory is loaded once for all of them.
func TestWaveLoadsTheInventoryOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	require.Equal(t, []string{"1/tenant-a", "1/tenant-b"}, tenants(w.ensure.calls()), "two pull requests")
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.Len(t, b.inventories, 1, "one checkout, one load")
}

// TestWaveReadsItsBaseOnce: a wave's pull requests are opened on one head
// of the base branch, read once for the wave, not once per pull request.
func TestWaveReadsItsBaseOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/eks-1-30.yaml")))
	w.api.mu.Lock()
	before := w.api.refReads
	w.api.mu.Unlock()
	require.NoError(t, b.Reconcile(t.Context())) // opens wave 1: two pull requests
	require.Equal(t, []string{"1/tenant-a", "1/tenant-b"}, tenants(w.ensure.calls()))
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	assert.Equal(t, 2, w.api.refReads-before, "the campaign repository's head for the pass, the base for the wave")
}

// A replica not given a name holds its leases under its host name and
// process id, and says so.
func TestReplicaIDDefault(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	host, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%s-%d", host, os.Getpid()), w.bot(t, "", nil).ReplicaID())
	assert.Equal(t, "r1", w.bot(t, "r1", nil).ReplicaID())
}

// A skip of every cluster of an open wave pull request closes it, saying
// why: merged, it would change clusters the campaign no longer verifies.
func TestSkipClosesAPullRequestOfSkippedClusters(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	st, _ := w.state(t, campaign)
	pr := st.Waves[0].PRs[0]
	require.Equal(t, rollout.PRStatusOpen, pr.Status)
	for _, c := range st.Waves[0].Clusters {
		if c.Tenant == pr.Tenant {
			_, err := b.Operate(t.Context(), campaign, rollout.SkipCluster{Cluster: c.Name, Reason: "decommissioned", By: "pat"})
			require.NoError(t, err)
		}
	}
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.PRStatusClosed, st.Waves[0].PRs[0].Status)
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	i := slices.IndexFunc(w.api.prs, func(p gh.PullRequest) bool { return p.Number == pr.Number })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, "closed", w.api.prs[i].State)
	require.NotEmpty(t, w.api.comments[pr.Number])
	assert.Contains(t, w.api.comments[pr.Number][len(w.api.comments[pr.Number])-1].Body,
		"fleetbot closes this pull request of wave 1: every cluster it changes was skipped.")
}

// TestPassErrorLoggedOnce: a pass that fails as the one before it is
// logged at debug level, for an hour; a new error, an hour gone by or a
// pass without an error in between log at error level again.
func TestPassErrorLoggedOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	logs := &logBuffer{}
	b.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stuck, other := errors.New("campaign x: open-wave: stuck"), errors.New("campaign y: down")
	levels := func() []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			_, rest, _ := strings.Cut(l, "level=")
			level, _, _ := strings.Cut(rest, " ")
			out = append(out, level)
		}
		logs.mu.Lock()
		logs.buf.Reset()
		logs.mu.Unlock()
		return out
	}
	b.logPassError(stuck)
	b.logPassError(stuck)
	w.clock.add(30 * time.Minute)
	b.logPassError(stuck)
	assert.Equal(t, []string{"ERROR", "DEBUG", "DEBUG"}, levels())
	b.logPassError(other)
	b.logPassError(stuck)
	assert.Equal(t, []string{"ERROR", "ERROR"}, levels(), "a different error is news, and so is the first again")
	w.clock.add(time.Hour)
	b.logPassError(stuck)
	assert.Equal(t, []string{"ERROR"}, levels(), "said again after an hour")
	b.logPassError(nil)
	b.logPassError(stuck)
	assert.Equal(t, []string{"ERROR"}, levels(), "after a pass without an error")

	// The webhooks' failed actions are kept apart from the passes'.
	assert.False(t, b.repeated("webhook actions", stuck))
	assert.True(t, b.repeated("webhook actions", stuck))
	assert.True(t, b.repeated("reconcile", stuck))
}
