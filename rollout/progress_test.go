package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSteps(t *testing.T) {
	t.Parallel()
	eks := Policy{Bake: 10 * time.Minute, Gates: []string{"eks"}, Change: KindEKSVersion}
	hop1 := machineSeq([]timedEvent{{0, ScheduleCampaign{}}, {0, Tick{CanOpen: true}}}, passWave(1, 1, "t1", eks.Gates, "c1")...)
	hop1 = machineSeq(hop1, timedEvent{12, Tick{CanOpen: true}})
	hop1 = machineSeq(hop1, passWave(2, 13, "t2", eks.Gates, "c2")...)
	step := func(c, tenant string, wave int, p ClusterPhase) Step {
		return Step{Cluster: c, Tenant: tenant, Wave: wave, Phase: p}
	}
	tests := []struct {
		name     string
		policy   *Policy
		waves    []WaveSpec
		from     []timedEvent
		want     []Step
		progress Progress
	}{
		{name: "pending: each cluster in its wave",
			want:     []Step{step("c1", "t1", 1, ClusterPending), step("c2", "t1", 2, ClusterPending), step("c3", "t2", 2, ClusterPending), step("c4", "t2", 3, ClusterPending)},
			progress: Progress{Waves: 3, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterPending: 4}}},
		{name: "a pull request up", from: stInPR1,
			want:     []Step{step("c1", "t1", 1, ClusterInPR), step("c2", "t1", 2, ClusterPending), step("c3", "t2", 2, ClusterPending), step("c4", "t2", 3, ClusterPending)},
			progress: Progress{Waves: 3, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterInPR: 1, ClusterPending: 3}}},
		{name: "failed: the gate and what it saw", from: stHalted1,
			want: []Step{{Cluster: "c1", Tenant: "t1", Wave: 1, Phase: ClusterFailed, Detail: "eks: version 1.29"},
				step("c2", "t1", 2, ClusterPending), step("c3", "t2", 2, ClusterPending), step("c4", "t2", 3, ClusterPending)},
			progress: Progress{Waves: 3, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterFailed: 1, ClusterPending: 3}}},
		{name: "skipped: the reason", from: machineSeq(stHalted1, timedEvent{10, SkipCluster{Cluster: "c1", Reason: "broken node group"}}),
			want: []Step{{Cluster: "c1", Tenant: "t1", Wave: 1, Phase: ClusterSkipped, Detail: "broken node group"},
				step("c2", "t1", 2, ClusterPending), step("c3", "t2", 2, ClusterPending), step("c4", "t2", 3, ClusterPending)},
			progress: Progress{Waves: 3, WavesDone: 1, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterSkipped: 1, ClusterPending: 3}}},
		{name: "wave 2 baking", from: stBaking2,
			want:     []Step{step("c1", "t1", 1, ClusterSucceeded), step("c2", "t1", 2, ClusterSucceeded), step("c3", "t2", 2, ClusterSucceeded), step("c4", "t2", 3, ClusterPending)},
			progress: Progress{Waves: 3, WavesDone: 1, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterSucceeded: 3, ClusterPending: 1}}},
		{name: "succeeded", from: stDone,
			want:     []Step{step("c1", "t1", 1, ClusterSucceeded), step("c2", "t1", 2, ClusterSucceeded), step("c3", "t2", 2, ClusterSucceeded), step("c4", "t2", 3, ClusterSucceeded)},
			progress: Progress{Waves: 3, WavesDone: 3, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterSucceeded: 4}}},
		{name: "hops: a cluster through hop 1 stands in hop 2", policy: &eks, waves: hopWaves, from: hop1,
			want:     []Step{step("c1", "t1", 3, ClusterPending), step("c2", "t2", 4, ClusterPending)},
			progress: Progress{Waves: 4, WavesDone: 1, Clusters: 2, ByPhase: map[ClusterPhase]int{ClusterPending: 2}}},
		{name: "aborted: the waves it never opened are not reached", from: machineSeq(stHalted1, timedEvent{10, Abort{By: "ops"}}),
			want: []Step{{Cluster: "c1", Tenant: "t1", Wave: 1, Phase: ClusterFailed, Detail: "eks: version 1.29"},
				step("c2", "t1", 2, ClusterNotReached), step("c3", "t2", 2, ClusterNotReached), step("c4", "t2", 3, ClusterNotReached)},
			progress: Progress{Waves: 3, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterFailed: 1, ClusterNotReached: 3}}},
		{name: "rolling back: the revert waves", from: machineSeq(stDone, timedEvent{300, Rollback{}}),
			want:     []Step{step("c4", "t2", 4, ClusterPending), step("c2", "t1", 5, ClusterPending), step("c3", "t2", 5, ClusterPending), step("c1", "t1", 6, ClusterPending)},
			progress: Progress{Waves: 3, Clusters: 4, ByPhase: map[ClusterPhase]int{ClusterPending: 4}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, waves := machinePolicy(), changeWaves(machineWaves...)
			if tc.policy != nil {
				p, waves = *tc.policy, tc.waves
			}
			s0, err := NewState("c", p, waves)
			require.NoError(t, err)
			s := driveMachine(t, s0, tc.from)
			assert.Equal(t, tc.want, s.Steps())
			assert.Equal(t, tc.progress, s.Progress())
		})
	}
}

func TestStepsCleanupKeepsTheTenant(t *testing.T) {
	t.Parallel()
	s, err := NewState("c", Policy{Bake: time.Minute, Gates: []string{"argocd"}, Change: KindLabel, Revertible: true}, cleanupWaves)
	require.NoError(t, err)
	gates := []string{"argocd"}
	s = driveMachine(t, s, machineSeq([]timedEvent{{0, ScheduleCampaign{}}, {0, Tick{CanOpen: true}}}, passWave(1, 1, "t1", gates, "c1")...))
	assert.Equal(t, []Step{
		{Cluster: "c1", Tenant: "t1", Wave: 3, Phase: ClusterPending},
		{Cluster: "c2", Tenant: "t2", Wave: 2, Phase: ClusterPending},
	}, s.Steps(), "c1 through wave 1 stands in the clean-up wave, under its own tenant")
	s = driveMachine(t, s, machineSeq([]timedEvent{{5, Tick{CanOpen: true}}}, passWave(2, 6, "t2", gates, "c2")...))
	s = driveMachine(t, s, []timedEvent{{10, Tick{CanOpen: true}}})
	assert.Equal(t, []Step{
		{Cluster: "c1", Tenant: "t1", Wave: 3, Phase: ClusterPending},
		{Cluster: "c2", Tenant: "t2", Wave: 3, Phase: ClusterPending},
	}, s.Steps())
	assert.Equal(t, 2, s.Progress().WavesDone)
}

func TestWaveStateAllUp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		prs  []PRState
		want bool
	}{
		{"no pull request yet", nil, false},
		{"one asked for, not on GitHub", []PRState{{Tenant: "a", Number: 1}, {Tenant: "b"}}, false},
		{"all on GitHub", []PRState{{Tenant: "a", Number: 1}, {Tenant: "b", Number: 2}}, true},
	} {
		assert.Equal(t, tt.want, WaveState{PRs: tt.prs}.AllUp(), tt.name)
	}
}
