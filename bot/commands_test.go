package bot

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/webhooks"
)

// commentOf is an issue_comment webhook with `/fleet` lines on pull request
// number.
func commentOf(number int, id int64, user string, lines ...string) *webhooks.Comment {
	body := strings.Join(lines, "\n")
	return &webhooks.Comment{
		Meta:   webhooks.Meta{Delivery: "d-comment", Name: "issue_comment", Action: "created", Owner: "acme", Repo: "fleet"},
		Number: number, PullRequest: true, CommentID: id, User: user, Body: body, Commands: webhooks.ParseCommands(body),
	}
}

// commented has b take comment id on pull request number by user, with
// lines, and returns what the store recorded of its commands.
func commented(t *testing.T, w *world, b *Bot, number int, id int64, user string, lines ...string) CommandRecord {
	t.Helper()
	_, err := b.onComment(t.Context(), commentOf(number, id, user, lines...))
	require.NoError(t, err)
	var rec CommandRecord
	_, err = getJSON(t.Context(), w.store, commandsKey("eks-1-30", id), &rec)
	require.NoError(t, err)
	return rec
}

// TestCommandsCutShort: a comment's commands run at most once each. A run
// cut short after its first command and while carrying out its second is
// finished by the next delivery: the first is not run again, the second
// is answered as unknown (it may have taken effect) and not run again, the
// third runs; the answer and the reaction are posted once. An attempt that
// finds another one running the comment leaves the delivery for later.
func TestCommandsCutShort(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	st, _ := w.state(t, "eks-1-30")
	number := st.Waves[0].PRs[0].Number
	require.NotZero(t, number)
	ev := commentOf(number, 77, "pat", "/fleet status", "/fleet pause", "/fleet abort")

	cut := CommandRecord{Comment: 77, PR: "acme/fleet#" + strconv.Itoa(number), By: "pat", At: w.clock.now(), WrittenAt: w.clock.now(), Running: 2,
		Commands: []CommandResult{{Line: 1, Raw: "/fleet status", Outcome: rollout.CommandShown, Detail: "below"}}}
	_, err := putJSON(t.Context(), w.store, commandsKey("eks-1-30", 77), cut, 0, store.Fence{})
	require.NoError(t, err)

	// Written a moment ago: another attempt may be running it.
	_, err = b.onComment(t.Context(), ev)
	require.ErrorIs(t, err, errCommandsRunning)
	assert.Empty(t, w.api.reactions[77])

	// Long after: the run was cut short.
	w.clock.add(commandStall + time.Second)
	_, err = b.onComment(t.Context(), ev)
	require.NoError(t, err)
	var rec CommandRecord
	_, err = getJSON(t.Context(), w.store, commandsKey("eks-1-30", 77), &rec)
	require.NoError(t, err)
	require.Len(t, rec.Commands, 3)
	assert.Equal(t, rollout.CommandShown, rec.Commands[0].Outcome)
	assert.Equal(t, rollout.CommandUnknown, rec.Commands[1].Outcome)
	assert.Equal(t, rollout.CommandTaken, rec.Commands[2].Outcome)
	assert.True(t, rec.Answered)
	assert.Zero(t, rec.Running)
	st, _ = w.state(t, "eks-1-30")
	assert.Equal(t, rollout.CampaignAborted, st.Phase, "the third command ran; the pause, cut short, was not run again")
	assert.Equal(t, []string{reactionRefused}, w.api.reactions[77])
	answer := w.api.comments[number][len(w.api.comments[number])-1].Body
	assert.Contains(t, answer, "| `/fleet pause` | unknown: fleetbot stopped while carrying it out")

	// Delivered again: nothing runs, nothing is posted.
	_, err = b.onComment(t.Context(), ev)
	require.NoError(t, err)
	assert.Len(t, w.api.reactions[77], 1)
}

// TestMadeUpCommandsAddNoSeries: a comment of 2,000 made-up `/fleet`
// commands counts them all under one label value.
func TestMadeUpCommandsAddNoSeries(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	reg := prometheus.NewRegistry()
	b := w.bot(t, "r1", reg)
	started(t, w, b)
	st, _ := w.state(t, "eks-1-30")
	lines := make([]string, 2000)
	for i := range lines {
		lines[i] = fmt.Sprintf("/fleet x%08x", i*7919)
	}
	_, err := b.onComment(t.Context(), commentOf(st.Waves[0].PRs[0].Number, 90, "eve", lines...))
	require.NoError(t, err)
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "fleetbot_commands_total" {
			continue
		}
		require.Len(t, f.GetMetric(), 1, "one series for every made-up command")
		m := f.GetMetric()[0]
		assert.Equal(t, 2000.0, m.GetCounter().GetValue())
		for _, l := range m.GetLabel() {
			if l.GetName() == "command" {
				assert.Equal(t, "unknown", l.GetValue())
			}
		}
		return
	}
	t.Fatal("no fleetbot_commands_total series")
}

// TestCommandsOnAForkAreNotRead: a pull request from a fork whose branch
// takes the form of the bot's is not the bot's: a fleet admin's command on
// it is not read (no step, no answer, no reaction); on the bot's own pull
// request the same command is.
func TestCommandsOnAForkAreNotRead(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	st, _ := w.state(t, campaign)
	own := st.Waves[0].PRs[0]
	w.api.mu.Lock()
	w.api.prs = append(w.api.prs, gh.PullRequest{Number: 999, State: "open", HeadRef: wave.Branch(campaign, 1, own.Tenant),
		HeadRepo: "mallory/fleet", BaseRef: "main", HeadSHA: "fork-head", User: "mallory"})
	w.api.mu.Unlock()

	_, err := b.onComment(t.Context(), commentOf(999, 91, "pat", "/fleet pause"))
	require.NoError(t, err)
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase, "a command on a fork's pull request is not read")
	w.api.mu.Lock()
	assert.Empty(t, w.api.reactions[91], "no reaction")
	assert.Empty(t, w.api.comments[999], "no answer")
	w.api.mu.Unlock()

	_, err = b.onComment(t.Context(), commentOf(own.Number, 92, "pat", "/fleet pause"))
	require.NoError(t, err)
	st, _ = w.state(t, campaign)
	assert.Equal(t, rollout.CampaignPaused, st.Phase, "on the bot's own pull request it is")
}

// TestCommandsPerComment: the first rollout.MaxCommands lines of a comment
// run; the rest are refused, and the answer names them in one row.
func TestCommandsPerComment(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	st, _ := w.state(t, "eks-1-30")
	number := st.Waves[0].PRs[0].Number
	lines := make([]string, rollout.MaxCommands+5)
	for i := range lines {
		lines[i] = "/fleet status"
	}
	rec := commented(t, w, b, number, 91, "pat", lines...)
	require.Len(t, rec.Commands, len(lines))
	for i, c := range rec.Commands {
		if i < rollout.MaxCommands {
			assert.Equal(t, rollout.CommandShown, c.Outcome, "line %d", i+1)
		} else {
			assert.Equal(t, rollout.CommandRefused, c.Outcome, "line %d", i+1)
			assert.Equal(t, rollout.TooManyCommands, c.Detail)
		}
	}
	answer := w.api.comments[number][len(w.api.comments[number])-1].Body
	assert.Contains(t, answer, "| 5 more lines | refused: a comment runs at most 10 commands; write the others in another comment |")
}

// TestAnswerKeepsEarlierCommands: the one answer comment on a pull request
// or dashboard issue, edited for each new comment's commands, lists the
// commands of the comments before it there too, newest first.
func TestAnswerKeepsEarlierCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	dash := dashboardOf(t, w).Number
	for i, line := range []string{"/fleet pause", "/fleet resume", "/fleet status"} {
		w.clock.add(time.Minute)
		_, err := b.onComment(t.Context(), dashboardComment(int64(950+i), dash, "pat", line))
		require.NoError(t, err)
	}
	body := statusOn(t, w, dash)
	assert.Contains(t, body, "### Campaign `eks-1-30`: commands of @pat\n\n| command | result |\n|---|---|\n| `/fleet status` | shown: below |")
	assert.Contains(t, body, "<details><summary>Earlier commands here (2)</summary>\n\n| at | by | command | result |\n|---|---|---|---|\n"+
		"| 2026-12-01 09:02 UTC | @pat | `/fleet resume` | taken: the campaign went from Paused to Running |\n"+
		"| 2026-12-01 09:01 UTC | @pat | `/fleet pause` | taken: the campaign went from Running to Paused |\n")
}

// TestUnclosedQuoteRunsNothing: an abort whose reason's quote is never
// closed is refused with the quote and the usage; the campaign runs on.
// The next line, written right, runs.
func TestUnclosedQuoteRunsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	st, _ := w.state(t, "eks-1-30")
	number := st.Waves[0].PRs[0].Number
	rec := commented(t, w, b, number, 92, "pat", `/fleet abort --reason "wrong version`, `/fleet pause`)
	require.Len(t, rec.Commands, 2)
	assert.Equal(t, rollout.CommandRefused, rec.Commands[0].Outcome)
	assert.Equal(t, `the " quote this line opens is never closed; nothing of it ran; usage: /fleet abort [--reason "..."]`, rec.Commands[0].Detail)
	assert.Equal(t, rollout.CommandTaken, rec.Commands[1].Outcome)
	st, _ = w.state(t, "eks-1-30")
	assert.Equal(t, rollout.CampaignPaused, st.Phase, "paused, not aborted")
}

// TestApproveMergedPullRequestRefused: an owner's /fleet approve on their
// tenant's pull request is refused once it merged, and not recorded.
func TestApproveMergedPullRequestRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	st, _ := w.state(t, "eks-1-30")
	pr := st.Waves[0].PRs[0]
	owner := map[string]string{"tenant-a": "alice", "tenant-b": "bruno"}[pr.Tenant]
	p := w.api.merge(t, pr.Number, "aaaa")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", pr.Number, p.HeadRef, "aaaa")))

	rec := commented(t, w, b, pr.Number, 93, owner, "/fleet approve")
	require.Len(t, rec.Commands, 1)
	assert.Equal(t, rollout.CommandRefused, rec.Commands[0].Outcome)
	assert.Equal(t, fmt.Sprintf("pull request #%d merged already: there is nothing left to approve", pr.Number), rec.Commands[0].Detail)
	list, err := b.commandApprovals(t.Context(), "eks-1-30", repoName{"acme", "fleet"}, pr.Number)
	require.NoError(t, err)
	assert.Empty(t, list)
}
