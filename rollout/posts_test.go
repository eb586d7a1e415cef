package rollout

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// post is a post that waits: its number and wave.
type post struct{ Seq, On int }

// seqsOf lists the posts that wait in s.
func seqsOf(s State) []post {
	var out []post
	for _, p := range s.Posts {
		out = append(out, post{p.seq(), p.on()})
	}
	return out
}

// TestPosts: each report and approval request with pull requests to go to
// is numbered and waits in the state until Posted says it is there; a newer
// one to the same wave's pull requests replaces it, one to another wave
// does not; one with no wave opened yet has nowhere to go and does not
// wait; one that no longer says what is so (the approval given, the
// campaign resumed, the closed pull request asked for again) waits no
// more.
func TestPosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		from    []timedEvent
		at      int
		event   Event
		wantErr error
		actions []Action // the posts among the actions, texts blanked
		want    []post
		wantSeq int
	}{
		{name: "a halt report waits", from: stVerify1, at: 5, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"},
			actions: []Action{PostReport{About: ReportHalted, Wave: 1, Seq: 1}}, want: []post{{1, 1}}, wantSeq: 1},
		{name: "posted, it waits no more", from: stHalted1, at: 6, event: Posted{Seq: 1}, wantSeq: 1},
		{name: "posted twice: ignored", from: machineSeq(stHalted1, timedEvent{6, Posted{Seq: 1}}), at: 7, event: Posted{Seq: 1}, wantErr: ErrIgnored, wantSeq: 1},
		{name: "a post never asked for: ignored", from: stHalted1, at: 6, event: Posted{Seq: 7}, wantErr: ErrIgnored, want: []post{{1, 1}}, wantSeq: 1},
		{name: "a newer post to the same wave replaces it", from: stHalted1, at: 6, event: Abort{By: "ops", Reason: "bad release"},
			actions: []Action{PostReport{About: ReportAborted, Wave: 1, Seq: 2}}, want: []post{{2, 1}}, wantSeq: 2},
		{name: "an approval request goes on the last wave opened", from: stBaking2, at: 127, event: Tick{CanOpen: true},
			actions: []Action{RequestApproval{Wave: 3, Clusters: []string{"c4"}, On: 2, Seq: 1}}, want: []post{{1, 2}}, wantSeq: 1},
		{name: "a post to another wave does not replace it",
			from: machineSeq(stDone, timedEvent{192, Posted{Seq: 2}}, timedEvent{193, Rollback{By: "ops"}}, timedEvent{194, PROpened{Wave: 4, Tenant: "t2", Number: 401}}), at: 195,
			event: PRClosed{Wave: 4, Tenant: "t2", Number: 401}, actions: []Action{PostReport{About: ReportPRClosed, Wave: 4, Seq: 4, Clusters: []string{"c4"}}},
			want: []post{{3, 3}, {4, 4}}, wantSeq: 4},
		{name: "an ended campaign's report is posted after its end", from: stDone, at: 192, event: Posted{Seq: 2}, wantSeq: 2},
		{name: "the approval given, its request is not posted", from: stAwaitApproval, at: 128, event: Approve{Wave: 3, By: "alice"}, wantSeq: 1},
		{name: "resumed, the halt report is not posted", from: machineSeq(stHalted1, timedEvent{6, Retry{Cluster: "c1", By: "ops"}}), at: 7,
			event: Resume{By: "ops"}, wantSeq: 1},
		{name: "resumed after the halt report was posted, the resume is reported where it went",
			from: machineSeq(stHalted1, timedEvent{6, Posted{Seq: 1}}, timedEvent{6, Retry{Cluster: "c1", By: "ops"}}), at: 7,
			event: Resume{By: "ops"}, actions: []Action{PostReport{About: ReportResumed, Wave: 1, Seq: 2}}, want: []post{{2, 1}}, wantSeq: 2},
		{name: "the closed pull request asked for again, its report is not posted", from: stClosed1, at: 3, event: Retry{Cluster: "c1", By: "ops"}, wantSeq: 1},
		{name: "no wave opened: nowhere to post, nothing waits", event: Abort{By: "ops", Reason: "wrong target"},
			actions: []Action{PostReport{About: ReportAborted}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			next, acts, err := Transition(s, tc.event, minute(tc.at))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				next = s
			} else {
				require.NoError(t, err)
			}
			var posts, blanked []Action
			for _, a := range acts {
				switch b := a.(type) {
				case PostReport:
					posts = append(posts, a)
					b.Summary, b.Failures = "", nil
					blanked = append(blanked, b)
				case RequestApproval:
					posts, blanked = append(posts, a), append(blanked, a)
				}
			}
			assert.Equal(t, tc.actions, blanked, "actions")
			assert.Equal(t, tc.want, seqsOf(next), "posts that wait")
			assert.Equal(t, tc.wantSeq, next.PostSeq)
			if len(posts) > 0 && len(tc.want) > 0 {
				assert.Equal(t, posts[len(posts)-1], next.Posts[len(next.Posts)-1].action(), "the post that waits is the action asked for")
			}

			// What waits is stored and read back whole.
			b, err := json.Marshal(next)
			require.NoError(t, err)
			var back State
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, next.Posts, back.Posts)
			assert.Equal(t, next.posts(), back.posts())
		})
	}
}

// TestPostReadBack: a stored post holds exactly one of a report and an
// approval request; one with neither or both is refused, naming it.
func TestPostReadBack(t *testing.T) {
	t.Parallel()
	var s State
	require.NoError(t, json.Unmarshal([]byte(`{"posts":[{"report":{"about":"halted","wave":1,"seq":1,"summary":"x"}},{"approval":{"wave":3,"clusters":["c4"],"on":2,"seq":2}}]}`), &s))
	assert.Equal(t, []post{{1, 1}, {2, 2}}, seqsOf(s))
	for _, bad := range []string{`{}`, `{"report":{"about":"halted","seq":1},"approval":{"wave":3,"seq":1}}`} {
		err := json.Unmarshal([]byte(`{"posts":[`+bad+`]}`), &s)
		require.ErrorContains(t, err, "want exactly one of report and approval", bad)
		assert.ErrorContains(t, err, bad)
	}
}
