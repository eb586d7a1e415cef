package stack_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/fleetbot/fleetbot/bot/statuspage"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

var screenshots = flag.String("screenshots", "", "write the status page's screenshots (status-page.png on a desktop, status-page-phone.png and status-page-phone-grid.png on a phone) into this directory")

// gridCluster is one cluster of the page's grid as the browser holds it.
type gridCluster struct {
	Tenant, Env, State, Version string
	Wave                        int
}

// TestEndToEndStatusPage runs the example fleet's EKS campaign through the
// sandbox and the bot as `fleetbot serve` runs it until two waves are
// merged and verified and the third is open, then reads the status page in
// Debian's headless Chromium, as a person would: the grid places every
// cluster of the fleet under its tenant and environment, the clusters of
// the two waves on 1.30 and Succeeded, those of the third in their pull
// requests, the others Pending on 1.29; the campaign says it waits for the
// third wave's merges, with links to those pull requests. On a phone the
// page is one column and nothing passes the screen's edge. The JSON at
// /api/v1/campaigns says the same.
func TestEndToEndStatusPage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	browser := testenv.FindChromium(t)
	fleetDir := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	inv, err := gitops.Load(ctx, []string{fleetDir})
	require.NoError(t, err)
	owners := inv.Layouts[fleetDir].Owners
	s, plan := running(t, "eks-1-30.yaml", t.TempDir(), 300*time.Millisecond)
	require.Greater(t, len(plan.Waves), 2)

	for _, w := range plan.Waves[:2] {
		for _, p := range waitForWave(t, s, plan.Campaign, w, "acme/fleet") {
			_, _, tenant, _ := wave.ParseBranch(p.Head.Ref)
			owner := owners[tenant].Users[0]
			approve(t, s, "acme/fleet", p.Number, owner)
			mergeUnreviewed(t, s, p.Number, owner) // reviewed now: merged, Terraform CI green
		}
	}
	third := waitForWave(t, s, plan.Campaign, plan.Waves[2], "acme/fleet")
	waitFor(t, "the third wave's pull requests in the state", func() (rollout.State, bool) {
		st := phase(t, s, plan.Campaign)
		return st, st.Waves[2].Phase == rollout.WaveOpen && st.Waves[2].PRs[0].Status == rollout.PRStatusOpen && len(st.Waves[2].PRs) == len(third)
	})

	want := map[string]gridCluster{}
	for _, c := range inv.Clusters {
		// Those the campaign leaves out (on 1.30 already) are in none.
		want[c.Name] = gridCluster{Tenant: c.Tenant, Env: c.Env, State: statuspage.StateIdle, Version: c.Version}
	}
	for i, w := range plan.Waves {
		for _, c := range w.Clusters {
			g := want[c.Name]
			switch {
			case i < 2:
				g.State, g.Version, g.Wave = string(rollout.ClusterSucceeded), "1.30", w.Index
			case i == 2:
				g.State, g.Wave = string(rollout.ClusterInPR), w.Index
			default:
				g.State, g.Wave = string(rollout.ClusterPending), w.Index
			}
			want[c.Name] = g
		}
	}

	// The grid reads the fleet's head again once the reconcile interval
	// passed: the two waves' merges show.
	var dom string
	var got map[string]gridCluster
	for deadline := time.Now().Add(time.Minute); ; {
		dom = browser.DOM(t, s.BotURL+"/", 1280, 900)
		if got = grid(t, dom); assert.ObjectsAreEqual(want, got) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, want, got, "the page's grid after two waves")
	assert.Len(t, want, 30, "every cluster of the example fleet")

	doc := parseHTML(t, dom)
	campaign := find(doc, func(n *html.Node) bool { return attr(n, "data-campaign") == plan.Campaign && hasClass(n, "campaign") })
	require.NotNil(t, campaign, "the campaign's section")
	assert.Equal(t, string(rollout.CampaignRunning), attr(campaign, "data-phase"))
	waiting := find(campaign, func(n *html.Node) bool { return hasClass(n, "waiting") })
	require.NotNil(t, waiting)
	assert.Equal(t, string(rollout.WaitMerge), attr(waiting, "data-wait"))
	assert.Contains(t, text(waiting), "wave 3: ")
	for _, p := range third {
		var pr struct {
			HTMLURL string `json:"html_url"`
		}
		_, err := s.Do(ctx, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d", p.Number), "", nil, &pr)
		require.NoError(t, err)
		link := find(campaign, func(n *html.Node) bool { return n.Data == "a" && attr(n, "data-pr") == strconv.Itoa(p.Number) })
		require.NotNil(t, link, "a link to #%d", p.Number)
		assert.Equal(t, pr.HTMLURL, attr(link, "href"), "#%d links to its page on GitHub", p.Number)
	}
	issues := dashboards(t, s, plan.Campaign)
	require.Len(t, issues, 1, "the campaign's dashboard issue")
	dash := find(campaign, func(n *html.Node) bool { return n.Data == "a" && text(n) == "Dashboard issue" })
	require.NotNil(t, dash, "a link to the dashboard issue")
	assert.Equal(t, issues[0].HTMLURL, attr(dash, "href"), "the link is the dashboard issue's page on GitHub")
	assert.Nil(t, find(doc, func(n *html.Node) bool { return n.Data == "form" || n.Data == "button" || n.Data == "input" }), "nothing on the page acts")

	phone := browser.Layout(t, s.BotURL+"/", 390, 844, ".grid")
	assert.Equal(t, 390, phone.ScrollWidth, "no sideways scrolling on a phone")
	assert.Empty(t, phone.Overflowing)
	assert.Equal(t, 1, phone.Columns[".grid"])

	var v statuspage.View
	_, body := httpGet(t, s.BotURL+"/api/v1/campaigns")
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	fromJSON := map[string]gridCluster{}
	for _, tn := range v.Fleet.Tenants {
		for _, cell := range tn.Cells {
			for _, c := range cell.Clusters {
				fromJSON[c.Name] = gridCluster{Tenant: tn.Name, Env: cell.Env, State: c.State, Version: c.Version, Wave: c.Wave}
			}
		}
	}
	assert.Equal(t, want, fromJSON, "the JSON's grid is the page's")

	if *screenshots != "" {
		require.NoError(t, os.MkdirAll(*screenshots, 0o755))
		browser.Screenshot(t, s.BotURL+"/", filepath.Join(*screenshots, "status-page.png"), 1280, 1400)
		browser.Screenshot(t, s.BotURL+"/", filepath.Join(*screenshots, "status-page-phone.png"), 390, 844)
		browser.Screenshot(t, s.BotURL+"/#fleet", filepath.Join(*screenshots, "status-page-phone-grid.png"), 390, 844)
	}
}

// grid reads the page's grid: each cluster under the tenant and the
// environment of its cell.
func grid(t *testing.T, dom string) map[string]gridCluster {
	t.Helper()
	out := map[string]gridCluster{}
	for _, cell := range findAll(parseHTML(t, dom), func(n *html.Node) bool { return hasClass(n, "cell") }) {
		for _, c := range findAll(cell, func(n *html.Node) bool { return hasClass(n, "cluster") }) {
			wave, _ := strconv.Atoi(attr(c, "data-wave"))
			out[attr(c, "data-cluster")] = gridCluster{Tenant: attr(cell, "data-tenant"), Env: attr(cell, "data-env"),
				State: attr(c, "data-state"), Version: attr(c, "data-version"), Wave: wave}
		}
	}
	return out
}

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	require.NoError(t, err)
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && slices.Contains(strings.Fields(attr(n, "class")), class)
}

// findAll returns the elements under n that match, in document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

// find returns the first element under n that matches, or nil.
func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if all := findAll(n, match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// httpGet answers a GET of url with its status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
