package stack_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/rollout"
)

// issue is an issue as the sandbox lists it.
type issue struct {
	Number      int    `json:"number"`
	State       string `json:"state"`
	StateReason string `json:"state_reason"`
	Title       string `json:"title"`
	Body        string `json:"body"`
	HTMLURL     string `json:"html_url"`
	User        struct {
		Login string `json:"login"`
	} `json:"user"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
	PullRequest *struct{} `json:"pull_request"`
}

// dashboards lists the plain issues of acme/fleet whose first line is a
// campaign's dashboard marker.
func dashboards(t *testing.T, s *stack.Stack, campaign string) []issue {
	t.Helper()
	var out []issue
	for page := 1; ; page++ {
		var list []issue
		_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues?state=all&per_page=100&page=%d", page), "", nil, &list)
		require.NoError(t, err)
		for _, is := range list {
			if is.PullRequest == nil && strings.HasPrefix(is.Body, "<!-- fleetbot:dashboard campaign="+campaign+" -->\n") {
				out = append(out, is)
			}
		}
		if len(list) < 100 {
			return out
		}
	}
}

// dashboardWhen waits until the dashboard issue number reads as done says.
func dashboardWhen(t *testing.T, s *stack.Stack, number int, what string, done func(issue) bool) issue {
	t.Helper()
	return waitFor(t, "the dashboard issue to show "+what, func() (issue, bool) {
		var is issue
		_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues/%d", number), "", nil, &is)
		require.NoError(t, err)
		return is, done(is)
	})
}

// waveRow matches the row of wave n in the dashboard's table of waves.
func waveRow(n int, env, state string, prs []pull, prState string) string {
	var cells []string
	for _, p := range prs {
		tenant := p.Head.Ref[strings.LastIndex(p.Head.Ref, "/")+1:]
		cells = append(cells, fmt.Sprintf("#%d %s: %s", p.Number, tenant, prState))
	}
	return fmt.Sprintf("| %d | %s | %s | %s | ", n, env, state, strings.Join(cells, "<br>"))
}

// TestEndToEndDashboard runs the ChatOps campaign through the sandbox and
// the real bot and reads its dashboard issue as a person would: one issue,
// opened when the campaign starts, whose table shows each wave's pull
// requests, states and gate verdicts as the campaign moves; `/fleet`
// commands written on it are refused for a stranger and taken for a fleet
// admin (who releases the held wave there), each with a reaction and an
// answer in the issue's status comment; when the campaign succeeds the issue
// is closed as completed with a summary. Every edit the bot sends changes
// the issue.
func TestEndToEndDashboard(t *testing.T) {
	t.Parallel()
	s, plan := running(t, "eks-approvals.yaml", t.TempDir(), 300*time.Millisecond)
	require.Len(t, plan.Waves, 2)
	name := plan.Campaign

	opened := waitFor(t, "the dashboard issue", func() ([]issue, bool) {
		d := dashboards(t, s, name)
		return d, len(d) > 0
	})
	require.Len(t, opened, 1)
	dash := opened[0]
	assert.Equal(t, "Campaign eks-chatops: EKS version -> 1.30, forward-only", dash.Title)
	assert.Equal(t, "fleetbot[bot]", dash.User.Login)
	assert.Equal(t, "open", dash.State)

	// Wave 1 opens: its pull requests are on the dashboard, with what the
	// campaign waits for and the commands that apply.
	wave1 := waitForWave(t, s, name, plan.Waves[0], "acme/fleet")
	is := dashboardWhen(t, s, dash.Number, "wave 1 open", func(is issue) bool {
		return strings.Contains(is.Body, waveRow(1, "dev", "Open", wave1, "open"))
	})
	assert.Contains(t, is.Body, "## Campaign `eks-chatops` is Running")
	assert.Contains(t, is.Body, "| 2 | staging (approval) | Pending | - | - | - |")
	assert.Contains(t, is.Body, "to be approved by the tenant's owners and merged, since ")
	assert.Contains(t, is.Body, "**Commands that apply now:** `/fleet pause` · `/fleet abort`")
	for _, c := range plan.Waves[0].Clusters {
		assert.Regexp(t, regexp.QuoteMeta(fmt.Sprintf("| 1 | `%s` | %s | %s → 1.30 | InPR | - | ", c.Name, c.Tenant, c.From)), is.Body)
	}

	// A stranger may not pause from the dashboard.
	id := comment(t, s, dash.Number, "eve", "/fleet pause")
	reaction, answer := answered(t, s, dash.Number, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, "| `/fleet pause` | refused: @eve may not run pause: only fleet admins may |")
	assert.Equal(t, rollout.CampaignRunning, phase(t, s, name).Phase)

	// The owners merge wave 1; its clusters pass and wave 2 waits for a
	// fleet admin.
	for _, p := range wave1 {
		owner := map[bool]string{true: "alice", false: "bruno"}[strings.HasSuffix(p.Head.Ref, "/tenant-a")]
		mergeAsOwner(t, s, p.Number, owner)
	}
	is = dashboardWhen(t, s, dash.Number, "wave 2 waiting for an approval", func(is issue) bool {
		return strings.Contains(is.Body, "A fleet admin to approve wave 2")
	})
	assert.Contains(t, is.Body, waveRow(1, "dev", "Succeeded", wave1, "merged"))
	assert.Contains(t, is.Body, "| 2 | staging (approval) | Pending, waiting for an approval | - | - | - |")
	assert.Contains(t, is.Body, "**Commands that apply now:** `/fleet approve 2` · `/fleet pause` · `/fleet abort`")
	for _, c := range plan.Waves[0].Clusters {
		assert.Regexp(t, regexp.QuoteMeta(fmt.Sprintf("| 1 | `%s` | %s | %s → 1.30 | Succeeded | ✅ terraform | ", c.Name, c.Tenant, c.From)), is.Body)
	}

	// A fleet admin sees the status and releases wave 2 from the dashboard.
	id = comment(t, s, dash.Number, "pat", "/fleet status\n/fleet approve 2")
	reaction, answer = answered(t, s, dash.Number, id)
	assert.Equal(t, "+1", reaction)
	assert.Contains(t, answer, "### Campaign `eks-chatops`: commands of @pat")
	assert.Contains(t, answer, "| `/fleet status` | shown")
	assert.Contains(t, answer, "| `/fleet approve 2` | taken: wave 2 approved; the campaign is Running |")
	assert.Equal(t, 1, strings.Count(answer, "<!-- fleetbot:status"))
	wave2 := waitForWave(t, s, name, plan.Waves[1], "acme/fleet")
	is = dashboardWhen(t, s, dash.Number, "wave 2 open", func(is issue) bool {
		return strings.Contains(is.Body, waveRow(2, "staging (approval)", "Open, approved by @pat", wave2, "open"))
	})
	assert.Contains(t, is.Body, waveRow(1, "dev", "Succeeded", wave1, "merged"))

	// Wave 2 merges and the campaign succeeds: the dashboard closes with
	// its summary.
	for _, p := range wave2 {
		owner := map[bool]string{true: "alice", false: "bruno"}[strings.HasSuffix(p.Head.Ref, "/tenant-a")]
		mergeAsOwner(t, s, p.Number, owner)
	}
	is = dashboardWhen(t, s, dash.Number, "the campaign's end", func(is issue) bool { return is.State == "closed" })
	assert.Equal(t, rollout.CampaignSucceeded, phase(t, s, name).Phase)
	assert.Equal(t, "completed", is.StateReason)
	assert.Contains(t, is.Body, "## Campaign `eks-chatops` succeeded\n")
	clusters := len(plan.Waves[0].Clusters) + len(plan.Waves[1].Clusters)
	assert.Contains(t, is.Body, fmt.Sprintf("Clusters: %d succeeded of %d. Pull requests: %d merged.", clusters, clusters, len(wave1)+len(wave2)))
	assert.Contains(t, is.Body, waveRow(1, "dev", "Succeeded", wave1, "merged"))
	assert.Contains(t, is.Body, waveRow(2, "staging (approval)", "Succeeded, approved by @pat", wave2, "merged"))
	assert.NotContains(t, is.Body, "Waiting for")
	for _, c := range plan.Waves[1].Clusters {
		assert.Regexp(t, regexp.QuoteMeta(fmt.Sprintf("| 2 | `%s` | %s | %s → 1.30 | Succeeded | ✅ terraform | ", c.Name, c.Tenant, c.From)), is.Body)
	}
	t.Logf("the closed dashboard issue:\n%s", is.Body)

	// One dashboard issue, and every edit the bot sent changed it: as many
	// edits as issues.edited webhooks.
	assert.Len(t, dashboards(t, s, name), 1)
	count := func() (edits, edited int) {
		for _, c := range s.Calls() {
			if c.Endpoint == "/repos/{owner}/{repo}/issues/{issue_number}" && c.Method == http.MethodPatch {
				edits += c.Count
			}
		}
		require.NoError(t, s.Sandbox.WaitIdle(t.Context()))
		for _, d := range s.Sandbox.Deliveries() {
			if d.Event == "issues" && d.Action == "edited" && strings.Contains(string(d.Payload), fmt.Sprintf(`"number":%d,`, dash.Number)) {
				edited++
			}
		}
		return edits, edited
	}
	// The client counts a call once its answer is read, the sandbox sends
	// its webhooks after answering: both settle once the issue is closed.
	edits := waitFor(t, "as many edits as issues.edited webhooks", func() (int, bool) {
		edits, edited := count()
		return edits, edits == edited
	})
	assert.Positive(t, edits)
	t.Logf("the dashboard issue was edited %d times for %d pull requests", edits, len(wave1)+len(wave2))
}
