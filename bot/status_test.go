package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/statuspage"
	"github.com/fleetbot/fleetbot/rollout"
)

// countingHub is fakeHub counting the clients asked for: one per
// repository read.
type countingHub struct {
	fakeHub
	n *atomic.Int64
}

func (h countingHub) API(ctx context.Context, owner, repo string) (Client, error) {
	h.n.Add(1)
	return h.fakeHub.API(ctx, owner, repo)
}

// statusServer serves b's status page and read-only API over httptest.
func statusServer(t *testing.T, b *Bot, cfg StatusConfig) string {
	t.Helper()
	mux := http.NewServeMux()
	registerStatus(mux, b, cfg)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func getStatus(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// viewOf reads the view at url (GET /api/v1/campaigns).
func viewOf(t *testing.T, url string) statuspage.View {
	t.Helper()
	resp, body := getStatus(t, url+"/api/v1/campaigns")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var v statuspage.View
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	return v
}

// storeDump is every record of the store, to tell that nothing wrote.
func storeDump(t *testing.T, w *world) map[string]string {
	t.Helper()
	entries, err := w.store.List(t.Context(), "")
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		out[e.Key] = string(e.Value)
	}
	return out
}

// TestStatusView: the page and the JSON show the started campaign (its
// wave 1 pull requests with their links, what it waits for) and the fleet
// grid, each cluster with its version and its step; reading them writes
// nothing, and the fleet's heads are read from GitHub at most once per
// refresh.
func TestStatusView(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	var calls atomic.Int64
	b.cfg.GitHub = countingHub{fakeHub{w.api}, &calls}
	url := statusServer(t, b, StatusConfig{Refresh: 10 * time.Second})
	before := storeDump(t, w)

	v := viewOf(t, url)
	assert.Empty(t, v.Problems)
	assert.Equal(t, w.clock.now(), v.At)

	require.Len(t, v.Campaigns, 1)
	c := v.Campaigns[0]
	assert.Equal(t, "eks-1-30", c.Name)
	assert.Equal(t, rollout.CampaignRunning, c.Phase)
	assert.True(t, c.Running)
	assert.Equal(t, "EKS version -> 1.30, forward-only", c.Change)
	assert.Equal(t, statuspage.Link{Text: "acme/fleet/campaigns/eks-1-30.yaml", URL: "https://github.test/acme/fleet/blob/" + headSHA + "/campaigns/eks-1-30.yaml"}, c.File)
	assert.Equal(t, rollout.WaitMerge, c.Waiting.Kind)
	assert.Equal(t, []int{1, 2}, c.Waiting.PRs)
	assert.Equal(t, rollout.Progress{Waves: 2, Clusters: 5, ByPhase: map[rollout.ClusterPhase]int{rollout.ClusterInPR: 3, rollout.ClusterPending: 2}}, c.Progress)
	assert.Equal(t, "https://github.test/acme/fleet/issues/1001", c.DashboardIssue, "the dashboard issue the bot opened")
	require.Len(t, c.Waves, 2)
	assert.Equal(t, "dev", c.Waves[0].Env)
	assert.Equal(t, "prod", c.Waves[1].Env)
	assert.Equal(t, []statuspage.PullRequest{
		{Tenant: "tenant-a", Repo: "acme/fleet", Number: 1, Status: rollout.PRStatusOpen, URL: "https://github.test/acme/fleet/pull/1"},
		{Tenant: "tenant-b", Repo: "acme/fleet", Number: 2, Status: rollout.PRStatusOpen, URL: "https://github.test/acme/fleet/pull/2"},
	}, c.Waves[0].PullRequests)

	f := v.Fleet
	assert.Equal(t, []statuspage.Commit{{Repo: "acme/fleet", SHA: headSHA, URL: "https://github.test/acme/fleet/commit/" + headSHA}}, f.Repositories)
	assert.Equal(t, []string{"dev", "prod"}, f.Envs)
	require.Len(t, f.Tenants, 2)
	assert.Equal(t, "tenant-a", f.Tenants[0].Name)
	assert.Equal(t, []statuspage.Cluster{
		{Name: "a-dev-1", Version: "1.29", State: "InPR", Campaign: "eks-1-30", Wave: 1, Target: "1.30"},
		{Name: "a-dev-2", Version: "1.29", State: "InPR", Campaign: "eks-1-30", Wave: 1, Target: "1.30"},
	}, f.Tenants[0].Cells[0].Clusters)
	assert.Equal(t, []statuspage.Cluster{{Name: "b-prod-1", Version: "1.29", State: "Pending", Campaign: "eks-1-30", Wave: 2, Target: "1.30"}}, f.Tenants[1].Cells[1].Clusters)
	assert.Equal(t, []statuspage.Count{{State: "Pending", N: 2}, {State: "InPR", N: 3}}, f.States)
	assert.Equal(t, int64(1), calls.Load(), "one read of the head")

	resp, page := getStatus(t, url+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'", "no script runs on the page")
	assert.Contains(t, page, `<meta http-equiv="refresh" content="10">`)
	assert.Contains(t, page, `<a href="https://github.test/acme/fleet/pull/1" data-pr="1">#1</a> tenant-a (Open)`)
	assert.Contains(t, page, `data-cluster="a-dev-1" data-state="InPR" data-version="1.29"`)
	assert.NotContains(t, strings.ToLower(page), "<script")
	assert.NotContains(t, strings.ToLower(page), "<form")
	assert.Equal(t, int64(1), calls.Load(), "the head is not read again within the refresh")

	w.clock.add(11 * time.Second)
	resp, _ = getStatus(t, url+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(2), calls.Load(), "read again once the refresh passed")

	resp, body := getStatus(t, url+"/api/v1/campaigns/eks-1-30")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var one statuspage.Campaign
	require.NoError(t, json.Unmarshal([]byte(body), &one))
	assert.Equal(t, c, one, "one campaign's view is the page's")
	resp, body = getStatus(t, url+"/api/v1/campaigns/nope")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, body, "campaign nope: no such campaign")

	assert.Equal(t, before, storeDump(t, w), "reading the status wrote nothing")
}

// TestStatusViewProblems: what cannot be read is listed on the page, the
// rest still shown.
func TestStatusViewProblems(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	w.mirror.dir = t.TempDir() // the checkout holds no fleet: no layout
	v := viewOf(t, statusServer(t, b, StatusConfig{}))
	require.NotEmpty(t, v.Problems)
	assert.True(t, strings.HasPrefix(v.Problems[0], "acme/fleet: error: no layout file"), "a problem names the repository, not the mirror's directory: %s", v.Problems[0])
	assert.NotContains(t, v.Problems[0], w.mirror.dir)
	require.Len(t, v.Campaigns, 1, "the campaigns are still shown")
	assert.Equal(t, "eks-1-30", v.Campaigns[0].Name)
}

// flakyHub is fakeHub failing while down is set.
type flakyHub struct {
	fakeHub
	down *atomic.Bool
}

func (h flakyHub) API(ctx context.Context, owner, repo string) (Client, error) {
	if h.down.Load() {
		return nil, errors.New("github is down")
	}
	return h.fakeHub.API(ctx, owner, repo)
}

// TestStatusViewGitHubDown: while GitHub does not answer, the page says
// the fleet could not be read and still shows the campaigns; once it
// answers again, the problem is gone.
func TestStatusViewGitHubDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	var down atomic.Bool
	down.Store(true)
	b.cfg.GitHub = flakyHub{fakeHub{w.api}, &down}
	url := statusServer(t, b, StatusConfig{Refresh: 10 * time.Second})
	v := viewOf(t, url)
	assert.Equal(t, []string{"the fleet could not be read (acme/fleet: github is down); the grid shows it as read never"}, v.Problems)
	assert.Equal(t, []statuspage.Cluster{{Name: "b-prod-1", State: "Pending", Campaign: "eks-1-30", Wave: 2, Target: "1.30"}}, v.Fleet.Tenants[1].Cells[1].Clusters,
		"the campaign's clusters, none known to be missing before the fleet was read")
	require.Len(t, v.Campaigns, 1)
	assert.Empty(t, v.Campaigns[0].Waves[0].PullRequests[0].URL, "no link while the repository's page is unknown")

	down.Store(false)
	w.clock.add(10 * time.Second)
	v = viewOf(t, url)
	assert.Empty(t, v.Problems)
	assert.Len(t, v.Fleet.Tenants, 2)
	assert.Equal(t, "https://github.test/acme/fleet/pull/1", v.Campaigns[0].Waves[0].PullRequests[0].URL)

	down.Store(true)
	w.clock.add(10 * time.Second)
	v = viewOf(t, url)
	require.Len(t, v.Problems, 1)
	assert.Contains(t, v.Problems[0], "the grid shows it as read at 2026-12-01T09:00:10Z")
	assert.Len(t, v.Fleet.Tenants, 2, "the grid as last read")
}

// TestStatusOff: turned off, every route of the status says so with 404.
func TestStatusOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	url := statusServer(t, b, StatusConfig{Off: true})
	for _, path := range []string{"/", "/api/v1/campaigns", "/api/v1/campaigns/eks-1-30"} {
		resp, body := getStatus(t, url+path)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		assert.Contains(t, body, "the status page is off: set status.enabled to true", path)
	}
}

func TestNextWindow(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/campaigns/eks-1-30.yaml")
	require.NoError(t, err)
	src := string(b)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) // a Tuesday
	open := rollout.State{Phase: rollout.CampaignRunning, Waves: []rollout.WaveState{
		{Number: 1, Phase: rollout.WaveOpen, OpenedAt: now, PRs: []rollout.PRState{{Tenant: "t", Status: rollout.PRStatusOpen}}},
		{Number: 2, Phase: rollout.WavePending, Clusters: []rollout.ClusterState{{Name: "c", Tenant: "t", Phase: rollout.ClusterPending}}},
	}}
	tests := []struct {
		name     string
		schedule string
		want     time.Time
		wantErr  string
	}{
		{name: "no window: now", schedule: "schedule:\n    timezone: UTC\n"},
		{name: "the next window", schedule: "schedule:\n    windows: [{days: [Mon], start: \"02:00\", end: \"04:00\"}]\n",
			want: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)},
		{name: "inside a window: now", schedule: "schedule:\n    windows: [{days: [Tue], start: \"08:00\", end: \"10:00\"}]\n"},
		{name: "held by the cap on open pull requests: no time", schedule: "schedule:\n    maxOpenPRs: 1\n"},
		{name: "no window within the horizon", schedule: "schedule:\n    blackouts: [{from: \"2026-01-01\", to: \"2030-01-01\"}]\n", wantErr: "the schedule allows no wave"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &record{Repo: "acme/fleet", File: "campaigns/eks-1-30.yaml", Source: strings.Replace(src, "schedule:\n    timezone: UTC\n", tt.schedule, 1)}
			got, err := nextWindow(rec, open, now)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s, want %s", got, tt.want)
		})
	}
}

// TestStatusSaysWhyTheScheduleHolds: /fleet status of a campaign the
// schedule holds back says why, with the blackout's reason, as the
// dashboard does.
func TestStatusSaysWhyTheScheduleHolds(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/campaigns/eks-1-30.yaml")
	require.NoError(t, err)
	src := strings.Replace(string(b), "schedule:\n    timezone: UTC\n",
		"schedule:\n    timezone: UTC\n    blackouts: [{from: 2026-11-30, to: 2026-12-02, reason: change freeze for the payments launch}]\n", 1)
	require.NotEqual(t, string(b), src)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := rollout.State{Campaign: "eks-1-30", Phase: rollout.CampaignRunning, Waves: []rollout.WaveState{
		{Number: 1, Phase: rollout.WaveSucceeded, OpenedAt: now.Add(-2 * time.Hour), FinishedAt: now.Add(-time.Hour),
			Clusters: []rollout.ClusterState{{Name: "a", Tenant: "t", Phase: rollout.ClusterSucceeded}}},
		{Number: 2, Phase: rollout.WavePending, Clusters: []rollout.ClusterState{{Name: "c", Tenant: "t", Phase: rollout.ClusterPending}}},
	}}
	rec := &record{Repo: "acme/fleet", File: "campaigns/eks-1-30.yaml", Source: src}
	next, held := heldBack(rec, st, now)
	require.Contains(t, held, "change freeze for the payments launch")
	table := statusTable(st, next, held)
	assert.Contains(t, table, "Waiting for the maintenance window at 2026-12-03T00:00:00Z to open wave 2. The schedule holds it back: ")
	assert.Contains(t, table, "change freeze for the payments launch")

	_, held = heldBack(rec, st, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	assert.Empty(t, held, "after the blackout")
}
