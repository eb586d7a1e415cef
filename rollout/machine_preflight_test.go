package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// preflightState is an EKS version campaign asking pre-flight: wave 1 is c1
// and c2 (tenant t1) and c3 (t2), wave 2 is c4 (t2); budget failures.
func preflightState(t *testing.T, budget int) State {
	t.Helper()
	p := Policy{Gates: []string{GateEKS}, Change: KindEKSVersion, MaxFailures: budget, Preflight: true}
	s, err := NewState("eks-130", p, changeWaves(
		[]ClusterRef{{Name: "c1", Tenant: "t1"}, {Name: "c2", Tenant: "t1"}, {Name: "c3", Tenant: "t2"}},
		[]ClusterRef{{Name: "c4", Tenant: "t2"}},
	))
	require.NoError(t, err)
	return s
}

func preflight(cluster string, o Outcome, detail string) GateResult {
	return GateResult{Wave: 1, Cluster: cluster, Gate: GatePreflight, Outcome: o, Detail: detail}
}

var (
	preflightOpen = []timedEvent{{0, ScheduleCampaign{By: "ops"}}, {0, Tick{CanOpen: true}}}
	// c2's answer holds it back.
	preflightHeldAnswer = preflight("c2", GateFailed, `insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR`)
	// preflightHeld is wave 1 answered: c1 and c3 ready, c2 held back.
	preflightHeld = machineSeq(preflightOpen,
		timedEvent{1, preflight("c1", GatePassed, "ready")},
		timedEvent{1, preflight("c3", GatePassed, "ready")},
		timedEvent{1, preflightHeldAnswer})
)

func TestPreflight(t *testing.T) {
	held := preflightHeldAnswer
	tests := []struct {
		name   string
		budget int
		steps  []timedEvent
		last   Event
		// want is the actions of the last event; phases the clusters of
		// wave 1 after it; phase the campaign's.
		want    []Action
		phases  map[string]ClusterPhase
		phase   CampaignPhase
		refused string
	}{
		{
			name: "a wave opens by asking pre-flight, no pull request yet", budget: 1,
			steps: []timedEvent{{0, ScheduleCampaign{By: "ops"}}},
			last:  Tick{CanOpen: true},
			want:  []Action{RunPreflight{Wave: 1, Clusters: []string{"c1", "c2", "c3"}}},
			phases: map[string]ClusterPhase{
				"c1": ClusterPreflight, "c2": ClusterPreflight, "c3": ClusterPreflight,
			},
			phase: CampaignRunning,
		},
		{
			name: "pull requests wait for every answer of the wave", budget: 1,
			steps:  machineSeq(preflightOpen, timedEvent{1, preflight("c1", GatePassed, "ready")}),
			last:   preflight("c3", GatePassed, "ready, 1 warning"),
			phases: map[string]ClusterPhase{"c1": ClusterPending, "c2": ClusterPreflight, "c3": ClusterPending},
			phase:  CampaignRunning,
		},
		{
			name: "a held cluster stays out of its tenant's pull request, within the budget", budget: 1,
			steps: machineSeq(preflightOpen,
				timedEvent{1, preflight("c1", GatePassed, "ready")},
				timedEvent{1, preflight("c3", GatePassed, "ready")}),
			last: held,
			want: []Action{OpenWave{Wave: 1, PRs: []PRRequest{
				{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1},
				{Tenant: "t2", Clusters: []string{"c3"}, Attempt: 1},
			}}},
			phases: map[string]ClusterPhase{"c1": ClusterPending, "c2": ClusterFailed, "c3": ClusterPending},
			phase:  CampaignRunning,
		},
		{
			name: "a waiting answer (a provider error) keeps asking", budget: 1,
			steps:  preflightOpen,
			last:   preflight("c1", GateWaiting, "provider error: AccessDeniedException"),
			phases: map[string]ClusterPhase{"c1": ClusterPreflight},
			phase:  CampaignRunning,
		},
		{
			name: "held clusters over the budget halt the campaign before any pull request", budget: 0,
			steps: machineSeq(preflightOpen,
				timedEvent{1, preflight("c1", GatePassed, "ready")},
				timedEvent{1, preflight("c3", GatePassed, "ready")}),
			last: held,
			want: []Action{PostReport{About: ReportHalted, Wave: 1, Seq: 1, Summary: "Campaign eks-130 halted: 1 cluster failed or timed out, over the budget of 0. No new pull requests open until failures are retried or skipped and the campaign is resumed.",
				Failures: []Failure{{Wave: 1, Cluster: "c2", Tenant: "t1", Phase: ClusterFailed, Gate: GatePreflight, Detail: held.Detail}}}},
			phases: map[string]ClusterPhase{"c2": ClusterFailed},
			phase:  CampaignHalted,
		},
		{
			name: "retry while halted asks again", budget: 0,
			steps:  preflightHeld,
			last:   Retry{Cluster: "c2", By: "alice"},
			want:   []Action{RunPreflight{Wave: 1, Clusters: []string{"c2"}}},
			phases: map[string]ClusterPhase{"c2": ClusterPreflight},
			phase:  CampaignHalted,
		},
		{
			name: "after a passing retry, resume opens every pull request with the cluster", budget: 0,
			steps: machineSeq(preflightHeld,
				timedEvent{2, Retry{Cluster: "c2", By: "alice"}},
				timedEvent{3, preflight("c2", GatePassed, "ready")}),
			last: Resume{By: "alice"},
			want: []Action{OpenWave{Wave: 1, PRs: []PRRequest{
				{Tenant: "t1", Clusters: []string{"c1", "c2"}, Attempt: 1},
				{Tenant: "t2", Clusters: []string{"c3"}, Attempt: 1},
			}}},
			phases: map[string]ClusterPhase{"c1": ClusterPending, "c2": ClusterPending, "c3": ClusterPending},
			phase:  CampaignRunning,
		},
		{
			name: "every cluster of a tenant held: a passing retry opens its pull request", budget: 2,
			steps: machineSeq(preflightOpen,
				timedEvent{1, preflight("c1", GateFailed, "node group ng-1 is at 1.28")},
				timedEvent{1, preflight("c3", GatePassed, "ready")},
				timedEvent{1, held},
				timedEvent{2, Retry{Cluster: "c1", By: "alice"}}),
			last:   preflight("c1", GatePassed, "ready"),
			want:   []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}},
			phases: map[string]ClusterPhase{"c1": ClusterPending, "c2": ClusterFailed},
			phase:  CampaignRunning,
		},
		{
			name: "a held cluster retried joins its tenant's open pull request", budget: 1,
			steps: machineSeq(preflightHeld,
				timedEvent{2, PROpened{Wave: 1, Tenant: "t1", Number: 11}},
				timedEvent{3, Retry{Cluster: "c2", By: "alice"}}),
			last:   preflight("c2", GatePassed, "ready"),
			want:   []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1", "c2"}, Attempt: 1}}}},
			phases: map[string]ClusterPhase{"c1": ClusterInPR, "c2": ClusterPending},
			phase:  CampaignRunning,
		},
		{
			name: "the joined pull request reported open carries the cluster", budget: 1,
			steps: machineSeq(preflightHeld,
				timedEvent{2, PROpened{Wave: 1, Tenant: "t1", Number: 11}},
				timedEvent{3, Retry{Cluster: "c2", By: "alice"}},
				timedEvent{4, preflight("c2", GatePassed, "ready")}),
			last:   PROpened{Wave: 1, Tenant: "t1", Number: 11},
			phases: map[string]ClusterPhase{"c1": ClusterInPR, "c2": ClusterInPR},
			phase:  CampaignRunning,
		},
		{
			name: "a held cluster whose tenant's pull request merged cannot join it", budget: 1,
			steps: machineSeq(preflightHeld,
				timedEvent{2, PROpened{Wave: 1, Tenant: "t1", Number: 11}},
				timedEvent{3, PRMerged{Wave: 1, Tenant: "t1", Number: 11, SHA: "aaa"}}),
			last:    Retry{Cluster: "c2", By: "alice"},
			refused: "cluster c2 was held back by its pre-flight check and its tenant's pull request #11 of wave 1 is merged, so it cannot join it: skip it with a reason and upgrade it in a later campaign",
		},
		{
			name: "a held cluster passing while its tenant's pull request is being opened joins it once up", budget: 1,
			steps: machineSeq(preflightHeld,
				timedEvent{2, Retry{Cluster: "c2", By: "alice"}},
				timedEvent{3, preflight("c2", GatePassed, "ready")}),
			last:   PROpened{Wave: 1, Tenant: "t1", Number: 11},
			want:   []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1", "c2"}, Attempt: 1}}}},
			phases: map[string]ClusterPhase{"c1": ClusterInPR, "c2": ClusterPending},
			phase:  CampaignRunning,
		},
		{
			name: "the pull request merging before the cluster joined fails it", budget: 1,
			steps: machineSeq(preflightHeld,
				timedEvent{2, PROpened{Wave: 1, Tenant: "t1", Number: 11}},
				timedEvent{3, Retry{Cluster: "c2", By: "alice"}},
				timedEvent{4, preflight("c2", GatePassed, "ready")}),
			last:   PRMerged{Wave: 1, Tenant: "t1", Number: 11, SHA: "aaa"},
			want:   []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}},
			phases: map[string]ClusterPhase{"c1": ClusterApplied, "c2": ClusterFailed},
			phase:  CampaignRunning,
		},
		{
			name: "a pass after the pull request merged fails it again", budget: 1,
			steps: machineSeq(preflightHeld,
				timedEvent{2, PROpened{Wave: 1, Tenant: "t1", Number: 11}},
				timedEvent{3, Retry{Cluster: "c2", By: "alice"}},
				timedEvent{4, PRMerged{Wave: 1, Tenant: "t1", Number: 11, SHA: "aaa"}}),
			last:   preflight("c2", GatePassed, "ready"),
			phases: map[string]ClusterPhase{"c1": ClusterApplied, "c2": ClusterFailed},
			phase:  CampaignRunning,
		},
		{
			name: "an answer for a cluster not asked is ignored", budget: 1,
			steps: machineSeq(preflightOpen,
				timedEvent{1, preflight("c1", GatePassed, "ready")}),
			last:    preflight("c1", GateFailed, "late"),
			refused: "cluster c1 is Pending, not waiting on its pre-flight check",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := driveMachine(t, preflightState(t, tt.budget), tt.steps)
			got, actions, err := Transition(s, tt.last, minute(10))
			if tt.refused != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.refused)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, actions)
			assert.Equal(t, tt.phase, got.Phase)
			for name, want := range tt.phases {
				for _, c := range got.Waves[0].Clusters {
					if c.Name == name {
						assert.Equal(t, want, c.Phase, "cluster %s", name)
					}
				}
			}
		})
	}
}

// TestPreflightDue: a crash between persisting the state and asking loses
// nothing, and a held cluster keeps its verdict and evidence.
func TestPreflightDue(t *testing.T) {
	s := driveMachine(t, preflightState(t, 1), machineSeq(preflightOpen,
		timedEvent{1, preflight("c1", GatePassed, "ready, warning: add-on coredns v1.10.1 moves to v1.11.1")},
		timedEvent{1, preflight("c2", GateFailed, "not ready")}))
	assert.Equal(t, []Action{RunPreflight{Wave: 1, Clusters: []string{"c3"}}}, Due(s, true))
	c1, c2 := s.Waves[0].Clusters[0], s.Waves[0].Clusters[1]
	assert.Equal(t, GatePassed, c1.Gates[GatePreflight].Outcome)
	assert.Equal(t, "ready, warning: add-on coredns v1.10.1 moves to v1.11.1", c1.Evidence[len(c1.Evidence)-1].Detail)
	assert.Equal(t, GatePreflight, c2.FailedGate)
	assert.Equal(t, []Failure{{Wave: 1, Cluster: "c2", Tenant: "t1", Phase: ClusterFailed, Gate: GatePreflight, Detail: "not ready"}}, s.Failures())

	// Without pre-flight, the wave asks for its pull requests at once.
	p := s.Policy
	p.Preflight = false
	plain, err := NewState("eks-130", p, changeWaves([]ClusterRef{{Name: "c1", Tenant: "t1"}}))
	require.NoError(t, err)
	plain = driveMachine(t, plain, []timedEvent{{0, ScheduleCampaign{By: "ops"}}})
	_, actions, err := Transition(plain, Tick{CanOpen: true}, minute(0))
	require.NoError(t, err)
	assert.Equal(t, []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}, actions)
}
