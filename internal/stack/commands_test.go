package stack_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/rollout"
)

// comment posts body on pull request number as login and returns the
// comment's id.
func comment(t *testing.T, s *stack.Stack, number int, login, body string) int64 {
	t.Helper()
	var c struct {
		ID int64 `json:"id"`
	}
	_, err := s.Do(t.Context(), http.MethodPost, fmt.Sprintf("/repos/acme/fleet/issues/%d/comments", number), login, map[string]any{"body": body}, &c)
	require.NoError(t, err)
	return c.ID
}

// reactions returns the reactions on a comment, by content.
func reactions(t *testing.T, s *stack.Stack, id int64) map[string]int {
	t.Helper()
	var c struct {
		Reactions map[string]any `json:"reactions"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues/comments/%d", id), "", nil, &c)
	require.NoError(t, err)
	out := map[string]int{}
	for _, k := range []string{"+1", "confused"} {
		if n, ok := c.Reactions[k].(float64); ok && n > 0 {
			out[k] = int(n)
		}
	}
	return out
}

// answered waits for the bot's reaction to a comment and returns it with
// the bot's status comment on the pull request.
func answered(t *testing.T, s *stack.Stack, number int, id int64) (string, string) {
	t.Helper()
	r := waitFor(t, fmt.Sprintf("the bot's reaction to comment %d", id), func() (map[string]int, bool) {
		r := reactions(t, s, id)
		return r, len(r) > 0
	})
	require.Len(t, r, 1, "one reaction per comment: %v", r)
	for k := range r {
		return k, statusComment(t, s, number)
	}
	return "", ""
}

func phase(t *testing.T, s *stack.Stack, name string) rollout.State {
	t.Helper()
	st, ok, err := s.State(t.Context(), name)
	require.NoError(t, err)
	require.True(t, ok)
	return st
}

// TestEndToEndCommands steers a campaign with `/fleet` comments on its pull
// requests through the sandbox and the real bot: a stranger, a tenant owner,
// a fleet admin and a member of the admins' team each get their command
// taken or a polite refusal naming who may, with a reaction and an answer
// in the bot's one status comment; an unknown command gets its closest
// match; a redelivered comment runs once; code blocks and quotes are not
// commands; and a held wave opens on `/fleet approve`.
func TestEndToEndCommands(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, plan := running(t, "eks-approvals.yaml", t.TempDir(), 300*time.Millisecond)
	require.Len(t, plan.Waves, 2)
	require.True(t, plan.Waves[1].Approval)
	prs := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
	pr := prs[0].Number

	// A stranger may not pause.
	id := comment(t, s, pr, "eve", "/fleet pause")
	reaction, answer := answered(t, s, pr, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, "| `/fleet pause` | refused: @eve may not run pause: only fleet admins may |")
	assert.Equal(t, rollout.CampaignRunning, phase(t, s, plan.Campaign).Phase)

	// A fleet admin may, and sees the status, in one comment.
	pauseID := comment(t, s, pr, "pat", "Pausing for the freeze:\n/fleet status\n/fleet pause\n")
	reaction, answer = answered(t, s, pr, pauseID)
	assert.Equal(t, "+1", reaction)
	assert.Contains(t, answer, "### Campaign `eks-chatops`: commands of @pat")
	assert.Contains(t, answer, "| `/fleet status` | shown")
	assert.Contains(t, answer, "| `/fleet pause` | taken: the campaign went from Running to Paused |")
	assert.Contains(t, answer, "Campaign **eks-chatops** is **Running**")
	assert.Equal(t, rollout.CampaignPaused, phase(t, s, plan.Campaign).Phase)
	assert.Equal(t, 1, strings.Count(answer, "<!-- fleetbot:status"), "one status comment, edited")

	// A tenant owner may not resume.
	id = comment(t, s, pr, "alice", "/fleet resume")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, "@alice may not run resume: only fleet admins may")

	// A member of the admins' team (read from GitHub; the stack made it
	// from the layout) may.
	_, err := s.Do(ctx, http.MethodPut, "/orgs/acme/teams/platform/memberships/tara", "", map[string]any{"role": "member"}, nil)
	require.NoError(t, err)
	id = comment(t, s, pr, "tara", "/fleet resume")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "+1", reaction)
	assert.Contains(t, answer, "taken: the campaign went from Paused to Running")
	assert.Equal(t, rollout.CampaignRunning, phase(t, s, plan.Campaign).Phase)

	// The pause's delivery arrives again: it runs once.
	redelivered := 0
	for _, d := range s.Sandbox.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Payload), fmt.Sprintf(`"id":%d,`, pauseID)) && !d.Redelivery {
			require.NoError(t, s.Sandbox.Redeliver(d.ID))
			redelivered++
		}
	}
	require.Equal(t, 1, redelivered, "the pause's delivery is found")
	// Unknown commands get the closest; code blocks and quotes are text.
	id = comment(t, s, pr, "pat", "```\n/fleet abort\n```\n> /fleet abort\n/fleet rollbak")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, `refused: "rollbak" is not a command (did you mean "rollback"?); usage: /fleet rollback`)
	assert.NotContains(t, answer, "abort")
	assert.Equal(t, rollout.CampaignRunning, phase(t, s, plan.Campaign).Phase, "the redelivered pause ran once, and the abort in code was not run")
	assert.Equal(t, map[string]int{"+1": 1}, reactions(t, s, pauseID))

	// An owner approves their tenant's pull request with a command; another
	// tenant's owner may not.
	require.True(t, strings.HasSuffix(prs[0].Head.Ref, "/tenant-a"), prs[0].Head.Ref)
	id = comment(t, s, pr, "bruno", "/fleet approve")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, "@bruno may not approve this pull request: the owners of tenant-a may")
	id = comment(t, s, pr, "alice", "/fleet approve")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "+1", reaction)
	assert.Contains(t, answer, fmt.Sprintf("| `/fleet approve` | taken: approved #%d at ", pr))
	assert.Equal(t, "approved by @alice, an owner of tenant-a", waitApproval(t, s, pr, "success"))

	// An owner may skip their own tenant's cluster, not another's.
	id = comment(t, s, pr, "alice", "/fleet skip b-dev-gpu-1 --reason \"not ours\"")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, "@alice may not run skip on b-dev-gpu-1: fleet admins and the owners of tenant-b may")

	// The owners merge wave 1; wave 2 waits for an approval, which an owner
	// may not give and a fleet admin gives.
	for _, p := range prs {
		owner := map[bool]string{true: "alice", false: "bruno"}[strings.HasSuffix(p.Head.Ref, "/tenant-a")]
		mergeAsOwner(t, s, p.Number, owner)
	}
	waitFor(t, "wave 2 to ask for an approval", func() (rollout.State, bool) {
		st := phase(t, s, plan.Campaign)
		return st, st.AwaitingApproval() == 2
	})
	id = comment(t, s, pr, "alice", "/fleet approve 2")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "confused", reaction)
	assert.Contains(t, answer, "@alice may not release a wave: only fleet admins may")
	id = comment(t, s, pr, "pat", "/fleet approve")
	reaction, answer = answered(t, s, pr, id)
	assert.Equal(t, "+1", reaction)
	assert.Contains(t, answer, "| `/fleet approve` | taken:")
	waitForWave(t, s, plan.Campaign, plan.Waves[1], "acme/fleet")
	st := phase(t, s, plan.Campaign)
	assert.Equal(t, "pat", st.Waves[1].ApprovedBy)
}

// TestEndToEndCommandWithoutWebhook: a command written while the bot was
// stopped, whose webhook therefore reached no one, is carried out once the
// bot runs again, answered and reacted to once.
func TestEndToEndCommandWithoutWebhook(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, plan := running(t, "eks-approvals.yaml", t.TempDir(), 300*time.Millisecond)
	pr := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")[0].Number
	require.NoError(t, s.StopBot(ctx))
	id := comment(t, s, pr, "pat", "/fleet pause")
	require.NoError(t, s.StartBot(ctx))
	reaction, answer := answered(t, s, pr, id)
	assert.Equal(t, "+1", reaction)
	assert.Contains(t, answer, "| `/fleet pause` | taken: the campaign went from Running to Paused |")
	assert.Equal(t, rollout.CampaignPaused, phase(t, s, plan.Campaign).Phase)
	time.Sleep(2 * time.Second) // several passes, and comment reads, of the loop
	assert.Equal(t, map[string]int{"+1": 1}, reactions(t, s, id), "carried out once")
}
