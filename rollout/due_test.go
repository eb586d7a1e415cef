package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDue(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	p.MaxFailures = 1
	tests := []struct {
		name  string
		from  []timedEvent
		gates bool
		want  []Action
	}{
		{name: "scheduled: nothing", from: stScheduled, gates: true},
		{name: "asked for, never reported open", from: stOpen1, want: []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}},
		{name: "open: nothing", from: stInPR1, gates: true},
		{name: "merged: gates asked again", from: stVerify1, gates: true, want: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}}},
		{name: "merged, gates not wanted", from: stVerify1},
		{name: "baking: the succeeded clusters are polled", from: stBaking1, gates: true, want: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}}},
		{name: "paused: nothing", from: machineSeq(stVerify1, timedEvent{4, Pause{}}), gates: true},
		{name: "rolling back: the revert wave's pull requests", from: machineSeq(stBaking1, timedEvent{5, Rollback{}}), gates: true,
			want: []Action{OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}},
		{name: "succeeded: nothing", from: stDone, gates: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, p), tc.from)
			assert.Equal(t, tc.want, Due(s, tc.gates))
		})
	}
}

func TestScheduleState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from []timedEvent
		want ScheduleState
	}{
		{name: "scheduled: wave 1 would open one pull request", from: stScheduled, want: ScheduleState{WavePRs: 1}},
		{name: "wave 1 open", from: stInPR1, want: ScheduleState{OpenPRs: 1, WavePRs: 2, WavesStarted: []time.Time{minute(0)}}},
		{name: "wave 2 open", from: stMerged2, want: ScheduleState{WavePRs: 1, WavesStarted: []time.Time{minute(0), minute(64)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			assert.Equal(t, tc.want, s.ScheduleState())
		})
	}
}
