package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckVerdict(t *testing.T) {
	t.Parallel()
	budget1 := machinePolicy()
	budget1.MaxFailures = 1
	rolledBack := machineSeq(stMerged2, timedEvent{70, Rollback{By: "ops"}})
	skippedBaked := machineSeq(stMerged2,
		timedEvent{67, GateResult{Cluster: "c2", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"}},
		timedEvent{68, SkipCluster{Cluster: "c2", Reason: "decommissioned", By: "ops"}},
		timedEvent{69, Resume{By: "ops"}},
		timedEvent{70, GateResult{Cluster: "c3", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{70, GateResult{Cluster: "c3", Gate: "eks", Outcome: GatePassed}},
		timedEvent{200, Tick{}})
	tests := []struct {
		name   string
		policy *Policy
		from   []timedEvent
		wave   int
		tenant string
		want   WaveCheck
	}{
		{name: "open: review and merge", from: stInPR1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckNeutral, "Waiting for wave 1: #101 (t1) to be approved by the tenant's owners and merged"}},
		{name: "closed without merge", from: stClosed1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckNeutral, "Waiting for wave 1: #101 (t1) closed without merge; a retry opens a new one, a skip leaves its clusters out"}},
		{name: "merged: the gates", from: stVerify1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckNeutral, "Waiting for wave 1: the gates (argocd, eks) to pass on c1"}},
		{name: "baking", from: stBaking1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckNeutral, "Waiting for wave 1 to bake until 2025-01-06T11:04:00Z"}},
		{name: "paused", from: stPausedInPR1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckNeutral, "Waiting for a person to resume it (paused)"}},
		{name: "baked", from: stOpen2, wave: 1, tenant: "t1", want: WaveCheck{CheckSuccess, "Wave 1 succeeded"}},
		{name: "the next wave waits for its merges", from: stMerged2, wave: 2, tenant: "t2",
			want: WaveCheck{CheckNeutral, "Waiting for wave 2: the gates (argocd, eks) to pass on c2, c3"}},
		{name: "succeeded campaign", from: stDone, wave: 3, tenant: "t2", want: WaveCheck{CheckSuccess, "Wave 3 succeeded"}},
		{name: "halted on the wave", from: stHalted1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckFailure, "Halted: 1 cluster failed or timed out, over the budget of 0"}},
		{name: "failed wave within the budget", policy: &budget1, from: stHalted1, wave: 1, tenant: "t1",
			want: WaveCheck{CheckFailure, "Halted: wave 1 failed: none of its clusters passed (c1 failed)"}},
		{name: "skipped after a failure, resumed", from: skippedBaked, wave: 2, tenant: "t1",
			want: WaveCheck{CheckSkipped, "Skipped: decommissioned"}},
		{name: "the other pull request of that wave", from: skippedBaked, wave: 2, tenant: "t2",
			want: WaveCheck{CheckSuccess, "Wave 2 succeeded"}},
		{name: "aborted with the pull request open", from: machineSeq(stInPR1, timedEvent{3, Abort{By: "ops", Reason: "freeze"}}), wave: 1, tenant: "t1",
			want: WaveCheck{CheckCancelled, "Aborted before wave 1 finished"}},
		{name: "failed, then aborted", from: machineSeq(stHalted1, timedEvent{6, Abort{By: "ops"}}), wave: 1, tenant: "t1",
			want: WaveCheck{CheckFailure, "Wave 1 failed"}},
		{name: "aborted after the wave succeeded", from: machineSeq(stOpen2, timedEvent{65, Abort{By: "ops"}}), wave: 1, tenant: "t1",
			want: WaveCheck{CheckSuccess, "Wave 1 succeeded"}},
		{name: "stopped before it succeeded, its revert open", from: rolledBack, wave: 2, tenant: "t2",
			want: WaveCheck{CheckFailure, "Wave 2 stopped before it succeeded; wave 4 rolls it back"}},
		{name: "stopped with nothing merged: nothing to revert", from: machineSeq(stOpen2, timedEvent{65, Rollback{By: "ops"}}), wave: 2, tenant: "t1",
			want: WaveCheck{CheckCancelled, "Wave 2 stopped before it finished: the campaign rolls back"}},
		{name: "succeeded, rolling back", from: rolledBack, wave: 1, tenant: "t1",
			want: WaveCheck{CheckSuccess, "Wave 1 succeeded; wave 5 rolls it back"}},
		{name: "a revert wave opens", from: machineSeq(rolledBack, timedEvent{71, Tick{}}), wave: 4, tenant: "t1",
			want: WaveCheck{CheckNeutral, "Waiting for wave 4: the pull requests of t1, t2 to open"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := machinePolicy()
			if tc.policy != nil {
				p = *tc.policy
			}
			s := driveMachine(t, newMachineState(t, p), tc.from)
			got, err := CheckVerdict(s, tc.wave, tc.tenant)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got, "campaign %s", machineSummary(s))
		})
	}
	// Once its revert wave succeeded, it was rolled back.
	s := driveMachine(t, newMachineState(t, machinePolicy()), rolledBack)
	s.Waves[4].Phase = WaveSucceeded
	got, err := CheckVerdict(s, 1, "t1")
	require.NoError(t, err)
	assert.Equal(t, WaveCheck{CheckSuccess, "Wave 1 succeeded; rolled back by wave 5"}, got)
}

func TestCheckVerdictHaltedWaveBakes(t *testing.T) {
	t.Parallel()
	// Wave 2 halts on c2's failure over the budget; c3 passes and the wave
	// bakes while the campaign stays halted: its pull requests still show
	// the halt, and wave 1's its success.
	s := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stMerged2,
		timedEvent{67, GateResult{Cluster: "c2", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"}},
		timedEvent{67, GateResult{Cluster: "c3", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{67, GateResult{Cluster: "c3", Gate: "eks", Outcome: GatePassed}},
		timedEvent{200, Tick{}}))
	require.Equal(t, CampaignHalted, s.Phase)
	require.Equal(t, WaveSucceeded, s.Waves[1].Phase, "the wave baked while halted")
	for _, tenant := range []string{"t1", "t2"} {
		got, err := CheckVerdict(s, 2, tenant)
		require.NoError(t, err)
		assert.Equal(t, WaveCheck{CheckFailure, "Halted: " + s.HaltReason}, got, tenant)
	}
	got, err := CheckVerdict(s, 1, "t1")
	require.NoError(t, err)
	assert.Equal(t, WaveCheck{CheckSuccess, "Wave 1 succeeded"}, got)
}

func TestCheckVerdictRefuses(t *testing.T) {
	t.Parallel()
	s := driveMachine(t, newMachineState(t, machinePolicy()), stInPR1)
	for _, tc := range []struct {
		wave   int
		tenant string
		want   string
	}{
		{0, "t1", "campaign addons-r2 has no wave 0"},
		{4, "t1", "campaign addons-r2 has no wave 4"},
		{1, "t2", "campaign addons-r2: wave 1 has no pull request of tenant t2"},
		{2, "t1", "campaign addons-r2: wave 2 has no pull request of tenant t1"},
	} {
		_, err := CheckVerdict(s, tc.wave, tc.tenant)
		assert.EqualError(t, err, tc.want)
	}
}
