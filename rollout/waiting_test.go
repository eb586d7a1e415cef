package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaiting(t *testing.T) {
	t.Parallel()
	window := minute(600)
	tests := []struct {
		name   string
		from   []timedEvent
		window time.Time
		want   Wait
	}{
		{name: "pending", want: Wait{Kind: WaitStart, Text: "the campaign to be scheduled"}},
		{name: "scheduled, window ahead", from: stScheduled, window: window, want: Wait{Kind: WaitWindow, Wave: 1, Since: minute(0), Until: window,
			Text: "the maintenance window at 2025-01-06T20:00:00Z to open wave 1", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "asked for, not open", from: stOpen1, want: Wait{Kind: WaitOpen, Wave: 1, Since: minute(0),
			Text: "wave 1: the pull requests of t1 to open", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "open: review and merge", from: stInPR1, want: Wait{Kind: WaitMerge, Wave: 1, Since: minute(1), PRs: []int{101},
			Text: "wave 1: #101 (t1) to be approved by the tenant's owners and merged", Commands: []string{"/fleet approve", "/fleet pause", "/fleet abort"}}},
		{name: "closed without merge", from: stClosed1, want: Wait{Kind: WaitRetry, Wave: 1, Since: minute(2), PRs: []int{101}, Clusters: []string{"c1"},
			Text:     "wave 1: #101 (t1) closed without merge; a retry opens it again, a skip leaves its clusters out",
			Commands: []string{"/fleet retry [cluster]", "/fleet skip <cluster> --reason \"...\"", "/fleet abort"}}},
		{name: "merged: gates", from: stVerify1, want: Wait{Kind: WaitGates, Wave: 1, Since: minute(2), Clusters: []string{"c1"},
			Text: "wave 1: the gates (argocd, eks) to pass on c1", Commands: []string{"/fleet pause", "/fleet rollback", "/fleet abort"}}},
		{name: "baking", from: stBaking1, want: Wait{Kind: WaitBake, Wave: 1, Since: minute(4), Until: minute(64),
			Text: "wave 1 to bake until 2025-01-06T11:04:00Z", Commands: []string{"/fleet pause", "/fleet rollback", "/fleet abort"}}},
		{name: "baked, next wave held by the window", from: machineSeq(stBaking1, timedEvent{65, Tick{}}), window: window,
			want: Wait{Kind: WaitWindow, Wave: 2, Since: minute(65), Until: window,
				Text: "the maintenance window at 2025-01-06T20:00:00Z to open wave 2", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "wave approval", from: stAwaitApproval, want: Wait{Kind: WaitApproval, Wave: 3, Since: minute(127),
			Text: "a fleet admin to approve wave 3", Commands: []string{"/fleet approve 3", "/fleet pause", "/fleet abort"}}},
		{name: "paused", from: stPausedInPR1, want: Wait{Kind: WaitResume, Since: minute(10), Text: "a person to resume it (paused)", Commands: []string{"/fleet resume", "/fleet abort"}}},
		{name: "succeeded", from: stDone, want: Wait{Kind: WaitNothing, Since: minute(191), Text: "nothing: the campaign succeeded"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			assert.Equal(t, tc.want, s.Waiting(tc.window))
		})
	}
}

func TestWaitingHalted(t *testing.T) {
	t.Parallel()
	s := driveMachine(t, newMachineState(t, machinePolicy()), stHalted1)
	w := s.Waiting(time.Time{})
	require.Equal(t, WaitPerson, w.Kind)
	assert.Contains(t, w.Text, s.HaltReason)
	assert.Equal(t, minute(5), w.Since)
	assert.Equal(t, haltCommands, w.Commands)
}
