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
		{name: "rolling back: the revert wave's pull requests, and the report not yet posted", from: machineSeq(stBaking1, timedEvent{5, Rollback{}}), gates: true,
			want: []Action{OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}, PostReport{About: ReportRollingBack, Wave: 1}}},
		{name: "rolling back, the report posted", from: machineSeq(stBaking1, timedEvent{5, Rollback{}}, timedEvent{5, Posted{Seq: 1}}), gates: true,
			want: []Action{OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}},
		{name: "succeeded: the report not yet posted", from: stDone, gates: true,
			want: []Action{PostReport{About: ReportSucceeded, Wave: 3}}},
		{name: "succeeded, the report posted: nothing", from: machineSeq(stDone, timedEvent{200, Posted{Seq: 2}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, p), tc.from)
			assert.Equal(t, tc.want, withoutSummaries(Due(s, tc.gates)))
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

func TestRefresh(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	open1 := []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}
	tests := []struct {
		name string
		from []timedEvent
		want []Action
	}{
		{name: "asked for, not up: nothing to refresh", from: stOpen1},
		{name: "up: refreshed", from: stInPR1, want: open1},
		{name: "up while paused: refreshed, a conflict is fixed all the same", from: stPausedInPR1, want: open1},
		{name: "merged: nothing", from: stMerged1},
		{name: "closed: nothing", from: stClosed1},
		{name: "one of two merged", from: machineSeq(stOpen2, timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}}, timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}}, timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", SHA: "b"}}),
			want: []Action{OpenWave{Wave: 2, PRs: []PRRequest{{Tenant: "t2", Clusters: []string{"c3"}, Attempt: 1}}}}},
		{name: "aborted: nothing", from: machineSeq(stInPR1, timedEvent{5, Abort{}})},
		{name: "revert pull requests are left alone", from: machineSeq(stBaking1, timedEvent{5, Rollback{}}, timedEvent{6, PROpened{Wave: 4, Tenant: "t1", Number: 401}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, p), tc.from)
			assert.Equal(t, tc.want, Refresh(s))
		})
	}
}

func TestAwaitingMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from []timedEvent
		want []WavePR
	}{
		{name: "asked for, not up", from: stOpen1},
		{name: "up", from: stInPR1, want: []WavePR{{Wave: 1, Tenant: "t1", Number: 101}}},
		{name: "up while paused", from: stPausedInPR1, want: []WavePR{{Wave: 1, Tenant: "t1", Number: 101}}},
		{name: "merged", from: stMerged1},
		{name: "closed", from: stClosed1},
		{name: "one of two merged", from: machineSeq(stOpen2, timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}}, timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}}, timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", SHA: "b"}}),
			want: []WavePR{{Wave: 2, Tenant: "t2", Number: 202}}},
		{name: "aborted", from: machineSeq(stInPR1, timedEvent{5, Abort{}})},
		{name: "a revert pull request needs its approval too", from: machineSeq(stBaking1, timedEvent{5, Rollback{}}, timedEvent{6, PROpened{Wave: 4, Tenant: "t1", Number: 401}}),
			want: []WavePR{{Wave: 4, Tenant: "t1", Number: 401}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			assert.Equal(t, tc.want, AwaitingMerge(s))
		})
	}
}
