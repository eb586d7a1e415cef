package stack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/statuspage"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/internal/fleetsim"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/rollout"
)

// TestEndToEndFailingAction: a branch of the name the first wave's last
// tenant's pull request needs is there already, made by a person, so every
// attempt to open that pull request fails. The dashboard issue and the
// status page say so, naming the tenant, the wave and GitHub's answer, once
// the attempts have failed for five minutes; once the person's branch is
// deleted, the pull request opens and both stop saying it. No webhook
// delivery fails meanwhile: the failing action is the campaign's. The bot's
// clock runs 600 times faster than the wall's.
func TestEndToEndFailingAction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := fleetsim.NewClock(time.Now().UTC().Truncate(time.Second), 600)
	s, plan, src := startedFor(t, "eks-1-30.yaml", stack.Options{Dir: t.TempDir(), ReconcileInterval: 300 * time.Millisecond,
		Now: clock.Now, Real: clock.Real})

	first := plan.Waves[0]
	require.GreaterOrEqual(t, len(first.PullRequests), 2)
	tenant := first.PullRequests[len(first.PullRequests)-1].Tenant
	branch := wave.Branch(plan.Campaign, first.Index, tenant)
	_, err := s.Do(ctx, http.MethodPost, "/repos/acme/fleet/git/refs", "", map[string]any{"ref": "refs/heads/" + branch, "sha": mainHead(t, s)}, nil)
	require.NoError(t, err, "a person's branch")
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))

	what := "open the pull request of " + tenant + " in wave 1"
	failing := waitFor(t, "the status page to show the failing action", func() ([]rollout.Trouble, bool) {
		c := statusCampaign(t, s, plan.Campaign)
		return c.Failing, len(c.Failing) > 0
	})
	require.Len(t, failing, 1)
	assert.Equal(t, what, failing[0].What)
	assert.Contains(t, failing[0].Err, branch+" is at ")
	assert.Contains(t, failing[0].Err, "no pull request holds it")
	assert.GreaterOrEqual(t, failing[0].Attempts, rollout.TroubleAttempts)
	assert.GreaterOrEqual(t, failing[0].Last.Sub(failing[0].Since), rollout.TroubleAfter)
	_, page := httpGet(t, s.BotURL+"/")
	assert.Contains(t, page, "<strong>fleetbot cannot "+what+":</strong>")

	is := waitFor(t, "the dashboard issue to say it", func() (issue, bool) {
		ds := dashboards(t, s, plan.Campaign)
		return firstOr(ds), len(ds) == 1 && strings.Contains(ds[0].Body, "**fleetbot cannot "+what+":**")
	})
	assert.Contains(t, is.Body, "no pull request holds it")

	// The person's branch goes: the pull request opens, and neither says
	// it any more.
	_, err = s.Do(ctx, http.MethodDelete, "/repos/acme/fleet/git/refs/heads/"+branch, "", nil, nil)
	require.NoError(t, err)
	prs := waitForWave(t, s, plan.Campaign, first, "acme/fleet")
	assert.Len(t, prs, len(first.PullRequests))
	waitFor(t, "the status page to stop showing it", func() (struct{}, bool) {
		return struct{}{}, len(statusCampaign(t, s, plan.Campaign).Failing) == 0
	})
	dashboardWhen(t, s, is.Number, "no failing action", func(is issue) bool { return !strings.Contains(is.Body, "fleetbot cannot") })

	// The deliveries of the other pull requests' events, whose steps
	// tried the failing one again, were taken in: not one failed.
	m := scrape(t, s)
	m.atLeast(t, 1, "fleetbot_bot_webhook_events_total", "event", "pull_request", "result", "acted")
	m.atLeast(t, rollout.TroubleAttempts, "fleetbot_campaign_actions_total", "action", "open-wave", "outcome", "error")
	assert.Empty(t, m.values("fleetbot_bot_webhook_events_total", "result", "error"), "events the bot failed")
	assert.Empty(t, m.values("fleetbot_webhook_deliveries_total", "result", "failed"), "deliveries left pending")
}

// TestEndToEndPullRequestSetupRefused: GitHub refuses to label the first
// wave's pull requests, which open. The dashboard issue and the status page
// say that fleetbot cannot label each of them, naming its number, tenant
// and wave, not that it cannot open them; once GitHub takes the labels,
// neither says it any more. The bot's clock runs 600 times faster than the
// wall's.
func TestEndToEndPullRequestSetupRefused(t *testing.T) {
	t.Parallel()
	var refusing atomic.Bool
	refusing.Store(true)
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refusing.Load() && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/repos/acme/fleet/issues/") && strings.HasSuffix(r.URL.Path, "/labels") {
				http.Error(w, `{"message":"Resource not accessible by integration"}`, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	clock := fleetsim.NewClock(time.Now().UTC().Truncate(time.Second), 600)
	s, plan, src := startedFor(t, "eks-1-30.yaml", stack.Options{Dir: t.TempDir(), ReconcileInterval: 300 * time.Millisecond,
		Now: clock.Now, Real: clock.Real, WrapSandbox: refuse})
	require.NoError(t, s.PushCampaign(t.Context(), plan.Campaign, src))
	first := plan.Waves[0]
	prs := waitForWave(t, s, plan.Campaign, first, "acme/fleet")

	var want []string
	for _, pr := range prs {
		tenant := strings.TrimPrefix(pr.Head.Ref, fmt.Sprintf("fleetbot/%s/%d/", plan.Campaign, first.Index))
		want = append(want, fmt.Sprintf("label pull request #%d of %s in wave 1", pr.Number, tenant))
	}
	failing := waitFor(t, "the status page to show the refused labels", func() ([]rollout.Trouble, bool) {
		c := statusCampaign(t, s, plan.Campaign)
		return c.Failing, len(c.Failing) == len(prs)
	})
	var what []string
	for _, f := range failing {
		what = append(what, f.What)
		assert.Contains(t, f.Err, "Resource not accessible by integration")
	}
	assert.ElementsMatch(t, want, what)
	is := waitFor(t, "the dashboard issue to say it", func() (issue, bool) {
		ds := dashboards(t, s, plan.Campaign)
		return firstOr(ds), len(ds) == 1 && strings.Contains(ds[0].Body, "**fleetbot cannot "+want[0]+":**")
	})
	assert.NotContains(t, is.Body, "fleetbot cannot open")

	refusing.Store(false)
	waitFor(t, "the status page to stop showing it", func() (struct{}, bool) {
		return struct{}{}, len(statusCampaign(t, s, plan.Campaign).Failing) == 0
	})
	dashboardWhen(t, s, is.Number, "no failing action", func(is issue) bool { return !strings.Contains(is.Body, "fleetbot cannot") })
}

// TestEndToEndTeamsGitHubWillNotAsk: GitHub refuses every review request
// that names a team, as it does for a team that is not a collaborator of
// the repository. The first wave's pull requests still open, labelled, with
// their owners' users asked to review; each one's status comment lists the
// team not asked, with GitHub's answer; nothing shows as failing.
func TestEndToEndTeamsGitHubWillNotAsk(t *testing.T) {
	t.Parallel()
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/requested_reviewers") {
				var body struct {
					Teams []string `json:"team_reviewers"`
				}
				raw, err := io.ReadAll(r.Body)
				if err != nil || json.Unmarshal(raw, &body) != nil {
					http.Error(w, "bad body", http.StatusBadRequest)
					return
				}
				if len(body.Teams) > 0 {
					http.Error(w, `{"message":"Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the acme/fleet repository."}`, http.StatusUnprocessableEntity)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(raw))
			}
			next.ServeHTTP(w, r)
		})
	}
	s, plan, src := startedFor(t, "eks-1-30.yaml", stack.Options{Dir: t.TempDir(), ReconcileInterval: 300 * time.Millisecond, WrapSandbox: refuse})
	require.NoError(t, s.PushCampaign(t.Context(), plan.Campaign, src))
	prs := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
	for _, pr := range prs {
		c := waitFor(t, fmt.Sprintf("the status comment of #%d", pr.Number), func() (string, bool) {
			c := statusComment(t, s, pr.Number)
			return c, strings.Contains(c, "owners not asked to review")
		})
		assert.Regexp(t, "- team [a-z-]+: GitHub refused to ask for a review: .*Reviews may only be requested from collaborators", c)
		var labels []struct {
			Name string `json:"name"`
		}
		_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues/%d/labels", pr.Number), "", nil, &labels)
		require.NoError(t, err)
		assert.Contains(t, labels, struct {
			Name string `json:"name"`
		}{"fleetbot"}, "#%d is labelled", pr.Number)
		var asked struct {
			Users []struct {
				Login string `json:"login"`
			} `json:"users"`
		}
		_, err = s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d/requested_reviewers", pr.Number), "", nil, &asked)
		require.NoError(t, err)
		assert.NotEmpty(t, asked.Users, "#%d: the owners' users are asked", pr.Number)
	}
	assert.Empty(t, statusCampaign(t, s, plan.Campaign).Failing)
}

// statusCampaign reads campaign name from the status page's JSON.
func statusCampaign(t *testing.T, s *stack.Stack, name string) statuspage.Campaign {
	t.Helper()
	code, body := httpGet(t, s.BotURL+"/api/v1/campaigns/"+name)
	if code == http.StatusNotFound {
		return statuspage.Campaign{} // not started yet
	}
	require.Equal(t, http.StatusOK, code, body)
	var c statuspage.Campaign
	require.NoError(t, json.Unmarshal([]byte(body), &c))
	return c
}

// TestEndToEndReportPostedAfterRefusals: GitHub answers 502 to the first
// three writes of the abort's report on the first wave's pull requests; the
// campaign, aborted from its dashboard issue, still ends with the report in
// the status comment of each of them, since the state keeps it until it is
// posted and the passes after the end post it.
func TestEndToEndReportPostedAfterRefusals(t *testing.T) {
	t.Parallel()
	var refused atomic.Int32
	var heading atomic.Value // the report's, once the plan names the campaign
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost || r.Method == http.MethodPatch {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				if h, _ := heading.Load().(string); h != "" && strings.Contains(r.URL.Path, "/comments") && bytes.Contains(body, []byte(h)) {
					if refused.Add(1) <= 3 {
						http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
						return
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	s, plan, src := startedFor(t, "eks-1-30.yaml", stack.Options{Dir: t.TempDir(), ReconcileInterval: 300 * time.Millisecond, WrapSandbox: refuse})
	aborted := "### Campaign `" + plan.Campaign + "`: aborted"
	heading.Store(aborted)
	require.NoError(t, s.PushCampaign(t.Context(), plan.Campaign, src))
	prs := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
	ds := waitFor(t, "the dashboard issue", func() ([]issue, bool) {
		ds := dashboards(t, s, plan.Campaign)
		return ds, len(ds) == 1
	})

	comment(t, s, ds[0].Number, "pat", `/fleet abort --reason "wrong version"`)
	waitFor(t, "the campaign to be aborted", func() (struct{}, bool) {
		return struct{}{}, phase(t, s, plan.Campaign).Phase == rollout.CampaignAborted
	})
	for _, pr := range prs {
		waitFor(t, fmt.Sprintf("the report on #%d", pr.Number), func() (string, bool) {
			c := statusComment(t, s, pr.Number)
			return c, strings.Contains(c, aborted)
		})
	}
	assert.Greater(t, refused.Load(), int32(3), "refused three times, then taken")
	waitFor(t, "the report to wait no more", func() (struct{}, bool) {
		return struct{}{}, len(phase(t, s, plan.Campaign).Posts) == 0
	})
}
