package rollout

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blueGreenState is an EKS version campaign asking pre-flight: wave 1
// upgrades c1 (tenant t1) in place; waves 2 to 4 replace c2 (t2)
// blue-green: green, traffic, retire.
func blueGreenState(t *testing.T) State {
	t.Helper()
	p := Policy{Gates: []string{GateEKS, GatePrometheus, GateTerraform}, Change: KindEKSVersion, Preflight: true}
	c2 := []ClusterRef{{Name: "c2", Tenant: "t2"}}
	s, err := NewState("eks-130", p, []WaveSpec{
		{Clusters: []ClusterRef{{Name: "c1", Tenant: "t1"}}},
		{Clusters: c2, Step: StepGreen},
		{Clusters: c2, Step: StepTraffic},
		{Clusters: c2, Step: StepRetire},
	})
	require.NoError(t, err)
	return s
}

// blueGreenThrough drives the campaign to the end of wave last: wave 1 by
// pre-flight and its gates, then each step.
func blueGreenThrough(t *testing.T, last int) State {
	t.Helper()
	s := blueGreenState(t)
	steps := []timedEvent{{0, ScheduleCampaign{By: "ops"}}, {0, Tick{CanOpen: true}},
		{0, GateResult{Wave: 1, Cluster: "c1", Gate: GatePreflight, Outcome: GatePassed, Detail: "ready"}}}
	steps = append(steps, passWave(1, 1, "t1", s.WaveGates(1), "c1")...)
	steps = append(steps, timedEvent{5, Tick{CanOpen: true}})
	for n := 2; n <= last; n++ {
		steps = append(steps, timedEvent{10 * n, Tick{CanOpen: true}})
		steps = append(steps, passWave(n, 10*n, "t2", s.WaveGates(n), "c2")...)
		steps = append(steps, timedEvent{10*n + 5, Tick{CanOpen: true}})
	}
	s = driveMachine(t, s, steps)
	for n := 1; n <= last; n++ {
		require.Equal(t, WaveSucceeded, s.Waves[n-1].Phase, "wave %d", n)
	}
	return s
}

func TestBlueGreenWaveGates(t *testing.T) {
	t.Parallel()
	s := blueGreenState(t)
	all := []string{GateEKS, GatePrometheus, GateTerraform}
	lifecycle := []string{GateEKS, GateTerraform}
	for n, want := range map[int][]string{1: all, 2: lifecycle, 3: all, 4: lifecycle} {
		assert.Equal(t, want, s.WaveGates(n), "wave %d", n)
	}
}

func TestBlueGreenStepAsksNoPreflight(t *testing.T) {
	t.Parallel()
	s := blueGreenState(t)
	s = driveMachine(t, s, []timedEvent{{0, ScheduleCampaign{By: "ops"}}, {0, Tick{CanOpen: true}},
		{0, GateResult{Wave: 1, Cluster: "c1", Gate: GatePreflight, Outcome: GatePassed, Detail: "ready"}}})
	s = driveMachine(t, s, passWave(1, 1, "t1", s.WaveGates(1), "c1"))
	_, actions, err := Transition(s, Tick{CanOpen: true}, minute(5))
	require.NoError(t, err)
	assert.Equal(t, []Action{OpenWave{Wave: 2, PRs: []PRRequest{{Tenant: "t2", Clusters: []string{"c2"}, Attempt: 1}}}}, actions,
		"the green step opens its pull request at once: its cluster is new at the target")
}

func TestBlueGreenRollback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		last int // the last wave that succeeded
		// reverts lists the waves the revert waves revert, in order; or
		// refused is the start of the refusal.
		reverts []int
		summary string
		refused string
	}{
		{name: "after the traffic step: traffic back, then green removed", last: 3, reverts: []int{3, 2},
			summary: "(wave 5 reverts wave 3; wave 6 reverts wave 2); each is merged, gated and baked before the next opens. Waves 1 stay as they are: a cluster upgraded in place keeps its version, as EKS cannot downgrade a control plane."},
		{name: "after the green step: green removed", last: 2, reverts: []int{2}},
		{name: "after the blue one is removed: refused, fix forward", last: 4,
			refused: "the blue clusters of c2 (wave 4) were removed, and a removed cluster cannot come back: their green clusters carry all of the traffic. Fix forward: merge a fix PR for the green clusters, or start a new campaign that replaces them"},
		{name: "with only the in-place wave merged: forward-only", last: 1,
			refused: "an EKS version change cannot be rolled back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := blueGreenThrough(t, tt.last)
			got, actions, err := Transition(s, Rollback{By: "ops"}, minute(100))
			if tt.refused != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.refused)
				assert.True(t, errors.Is(err, ErrForwardOnly), "%v", err)
				return
			}
			require.NoError(t, err)
			var reverts []int
			for _, w := range got.Waves[4:] {
				require.Equal(t, WaveRevert, w.Kind)
				require.Equal(t, []string{"c2"}, names(w.Clusters))
				reverts = append(reverts, w.Reverts)
			}
			assert.Equal(t, tt.reverts, reverts)
			assert.Equal(t, lifecycleOrAll(got, tt.reverts), got.WaveGates(len(got.Waves)), "the last revert removes green: lifecycle gates")
			i := slices.IndexFunc(actions, func(a Action) bool { _, ok := a.(PostReport); return ok })
			require.GreaterOrEqual(t, i, 0, "%v", actions)
			if tt.summary != "" {
				assert.True(t, strings.HasSuffix(actions[i].(PostReport).Summary, tt.summary), actions[i].(PostReport).Summary)
			}
		})
	}
}

func lifecycleOrAll(s State, reverts []int) []string {
	return s.WaveGates(reverts[len(reverts)-1])
}

func names(cs []ClusterState) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestBlueGreenStepFollowsTheOneBefore(t *testing.T) {
	t.Parallel()
	p := Policy{Gates: []string{GateEKS}, Change: KindEKSVersion, MaxFailures: 1}
	blues := []ClusterRef{{Name: "c2", Tenant: "t2"}, {Name: "c3", Tenant: "t2"}}
	s, err := NewState("eks-130", p, []WaveSpec{{Clusters: blues, Step: StepGreen}, {Clusters: blues, Step: StepTraffic}, {Clusters: blues, Step: StepRetire}})
	require.NoError(t, err)
	s = driveMachine(t, s, []timedEvent{
		{0, ScheduleCampaign{By: "ops"}},
		{0, Tick{CanOpen: true}},
		{0, PROpened{Wave: 1, Tenant: "t2", Number: 102}},
		{1, PRMerged{Wave: 1, Tenant: "t2", Number: 102, SHA: "sha"}},
		{2, GateResult{Wave: 1, Cluster: "c2", Gate: GateEKS, Outcome: GateFailed, Detail: "green cluster FAILED"}},
		{2, GateResult{Wave: 1, Cluster: "c3", Gate: GateEKS, Outcome: GatePassed}},
		{3, Tick{CanOpen: true}},
	})
	require.Equal(t, WaveOpen, s.Waves[1].Phase)
	assert.Equal(t, ClusterPending, s.Waves[1].Clusters[1].Phase, "c3 goes on")
	// Wave 3 decides the same way when it opens.
	c := s.Waves[1].Clusters[0]
	assert.Equal(t, ClusterSkipped, c.Phase)
	assert.Contains(t, c.SkipReason, "its blue-green step in wave 1 is Failed, and each step follows the one before")
}

func TestNewStateRefusesBadSteps(t *testing.T) {
	t.Parallel()
	p := Policy{Gates: []string{GateEKS}, Change: KindEKSVersion}
	c := []ClusterRef{{Name: "c", Tenant: "t"}}
	_, err := NewState("x", p, []WaveSpec{{Clusters: c, Step: "sideways"}})
	assert.EqualError(t, err, `new state of campaign "x": wave 1: unknown step "sideways"`)
	_, err = NewState("x", p, []WaveSpec{{Clusters: c, Step: StepGreen, Cleanup: true}})
	assert.EqualError(t, err, `new state of campaign "x": wave 1: a clean-up wave takes no blue-green step`)
}
