package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hopWaves: an EKS campaign of two hops over c1 (t1) and c2 (t2): hop 1 is
// waves 1 and 2, hop 2 is waves 3 and 4.
var hopWaves = []WaveSpec{
	{Clusters: []ClusterRef{{Name: "c1", Tenant: "t1"}}},
	{Clusters: []ClusterRef{{Name: "c2", Tenant: "t2"}}},
	{Clusters: []ClusterRef{{Name: "c1", Tenant: "t1"}}},
	{Clusters: []ClusterRef{{Name: "c2", Tenant: "t2"}}},
}

// cleanupWaves: a label campaign over c1 (t1) and c2 (t2) whose clean-up is
// one pull request of shared files verifying both clusters.
var cleanupWaves = []WaveSpec{
	{Clusters: []ClusterRef{{Name: "c1", Tenant: "t1"}}},
	{Clusters: []ClusterRef{{Name: "c2", Tenant: "t2"}}},
	{Clusters: []ClusterRef{{Name: "c1", Tenant: SharedTenant}, {Name: "c2", Tenant: SharedTenant}}, Cleanup: true},
}

// passWave merges tenant's pull request of wave n and passes every named
// cluster's gates, from minute at.
func passWave(n, at int, tenant string, gates []string, clusters ...string) []timedEvent {
	ev := []timedEvent{
		{at, PROpened{Wave: n, Tenant: tenant, Number: 100*n + 1}},
		{at, PRMerged{Wave: n, Tenant: tenant, Number: 100*n + 1, SHA: "sha" + tenant}},
	}
	for _, c := range clusters {
		for _, g := range gates {
			ev = append(ev, timedEvent{at + 1, GateResult{Wave: n, Cluster: c, Gate: g, Outcome: GatePassed}})
		}
	}
	return ev
}

func TestWaveKinds(t *testing.T) {
	t.Parallel()
	eks := Policy{Bake: 10 * time.Minute, Gates: []string{"eks"}, Change: KindEKSVersion}
	label := Policy{Bake: 10 * time.Minute, Gates: []string{"argocd", "terraform"}, CleanupGates: []string{"argocd"}, Change: KindLabel, Revertible: true}
	labelNoCleanupGate := label
	labelNoCleanupGate.CleanupGates = nil
	gates := []string{"eks"}
	start := []timedEvent{{0, ScheduleCampaign{}}, {0, Tick{CanOpen: true}}}
	hop1 := machineSeq(start, passWave(1, 1, "t1", gates, "c1")...)
	hop1 = machineSeq(hop1, timedEvent{12, Tick{CanOpen: true}})
	hop1 = machineSeq(hop1, passWave(2, 13, "t2", gates, "c2")...)
	both := []string{"argocd", "terraform"}
	changed := machineSeq(start, passWave(1, 1, "t1", both, "c1")...)
	changed = machineSeq(changed, timedEvent{12, Tick{CanOpen: true}})
	changed = machineSeq(changed, passWave(2, 13, "t2", both, "c2")...)

	tests := []struct {
		name    string
		policy  Policy
		waves   []WaveSpec
		from    []timedEvent
		at      int
		event   Event
		want    string
		wantErr string
		actions []Action
	}{
		{name: "hops/hop 2 waits for every cluster of hop 1 to bake", policy: eks, waves: hopWaves, from: hop1, at: 20, event: Tick{CanOpen: true},
			want: "Running | Succeeded Baking Pending Pending | c1=Succeeded c2=Succeeded c1=Pending c2=Pending"},
		{name: "hops/hop 2 opens after the bake of hop 1", policy: eks, waves: hopWaves, from: hop1, at: 24, event: Tick{CanOpen: true},
			want:    "Running | Succeeded Succeeded Open Pending | c1=Succeeded c2=Succeeded c1=Pending c2=Pending",
			actions: []Action{OpenWave{Wave: 3, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}},
		{name: "hops/a gate result names its wave", policy: eks, waves: hopWaves, from: machineSeq(hop1, timedEvent{24, Tick{CanOpen: true}}), at: 25,
			event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GatePassed}, wantErr: `cluster "c1" is in waves 1, 3: name the wave`,
			want: "Running | Succeeded Succeeded Open Pending | c1=Succeeded c2=Succeeded c1=Pending c2=Pending"},
		{name: "hops/skip leaves every hop still to come", policy: eks, waves: hopWaves, from: machineSeq(hop1, timedEvent{24, Tick{CanOpen: true}}), at: 25,
			event: SkipCluster{Cluster: "c1", Reason: "decommissioned"},
			want:  "Running | Succeeded Succeeded Succeeded Pending | c1=Succeeded c2=Succeeded c1=Skipped c2=Pending",
			// Its pull request, asked for, is closed by its branch should it be open.
			actions: []Action{ClosePRs{Wave: 3, PRs: []PRRef{{Tenant: "t1", Clusters: []string{"c1"}}}, Reason: "every cluster it changes was skipped"}}},
		{name: "hops/a cluster that did not make hop 1 is skipped in hop 2", policy: Policy{Bake: 10 * time.Minute, MaxFailures: 1, Gates: gates, Change: KindEKSVersion},
			waves: changeWaves([]ClusterRef{{Name: "c1", Tenant: "t1"}, {Name: "c2", Tenant: "t2"}}, []ClusterRef{{Name: "c1", Tenant: "t1"}, {Name: "c2", Tenant: "t2"}}),
			from: machineSeq(start, timedEvent{1, PRMerged{Wave: 1, Tenant: "t1", SHA: "a"}}, timedEvent{1, PRMerged{Wave: 1, Tenant: "t2", SHA: "b"}},
				timedEvent{2, GateResult{Wave: 1, Cluster: "c1", Gate: "eks", Outcome: GatePassed}},
				timedEvent{2, GateResult{Wave: 1, Cluster: "c2", Gate: "eks", Outcome: GateFailed, Detail: "update failed"}}),
			at: 12, event: Tick{CanOpen: true},
			want:    "Running | Succeeded Open | c1=Succeeded c2=Failed c1=Pending c2=Skipped",
			actions: []Action{OpenWave{Wave: 2, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}},
		{name: "hops/retry of a hop-1 failure", policy: eks, waves: hopWaves,
			from: machineSeq(start, timedEvent{1, PROpened{Wave: 1, Tenant: "t1", Number: 101}}, timedEvent{1, PRMerged{Wave: 1, Tenant: "t1", SHA: "a"}},
				timedEvent{2, GateResult{Wave: 1, Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "1.29"}}),
			at: 3, event: Retry{Cluster: "c1"},
			want:    "Halted | Verifying Pending Pending Pending | c1=Verifying c2=Pending c1=Pending c2=Pending",
			actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}}},

		{name: "rollback/a cluster skipped before the merge is not reverted", policy: label,
			waves: changeWaves([]ClusterRef{{Name: "c1", Tenant: "t1"}, {Name: "c2", Tenant: "t1"}}),
			from: machineSeq(start, timedEvent{1, PROpened{Wave: 1, Tenant: "t1", Number: 101}},
				timedEvent{2, SkipCluster{Cluster: "c2", Reason: "frozen"}},
				timedEvent{3, PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "a"}}),
			at: 4, event: Rollback{},
			want:    "RollingBack | Stopped Open | c1=Stopped c2=Skipped c1=Pending",
			actions: []Action{PostReport{About: ReportRollingBack, Wave: 1}, OpenWave{Wave: 2, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}}},
		{name: "rollback/a cluster skipped after the merge is reverted", policy: label,
			waves: changeWaves([]ClusterRef{{Name: "c1", Tenant: "t1"}, {Name: "c2", Tenant: "t1"}}),
			from: machineSeq(start, timedEvent{1, PROpened{Wave: 1, Tenant: "t1", Number: 101}},
				timedEvent{3, PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "a"}},
				timedEvent{4, SkipCluster{Cluster: "c2", Reason: "frozen"}}),
			at: 5, event: Rollback{},
			want:    "RollingBack | Stopped Open | c1=Stopped c2=Skipped c1=Pending c2=Pending",
			actions: []Action{PostReport{About: ReportRollingBack, Wave: 1}, OpenWave{Wave: 2, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1", "c2"}, Attempt: 1}}}}},

		{name: "cleanup/opens once every cluster carries the value", policy: label, waves: cleanupWaves, from: changed, at: 24, event: Tick{CanOpen: true},
			want:    "Running | Succeeded Succeeded Open | c1=Succeeded c2=Succeeded c1=Pending c2=Pending",
			actions: []Action{OpenWave{Wave: 3, PRs: []PRRequest{{Tenant: SharedTenant, Clusters: []string{"c1", "c2"}, Attempt: 1}}}}},
		{name: "cleanup/gated by the clean-up gates only", policy: label, waves: cleanupWaves,
			from: machineSeq(changed, timedEvent{24, Tick{CanOpen: true}}, timedEvent{25, PROpened{Wave: 3, Tenant: SharedTenant, Number: 301}}),
			at:   26, event: PRMerged{Wave: 3, Tenant: SharedTenant, SHA: "fold"},
			want:    "Running | Succeeded Succeeded Merged | c1=Succeeded c2=Succeeded c1=Applied c2=Applied",
			actions: []Action{RunGates{Wave: 3, Clusters: []string{"c1", "c2"}}}},
		{name: "cleanup/a gate of the change only is not asked", policy: label, waves: cleanupWaves,
			from: machineSeq(changed, timedEvent{24, Tick{CanOpen: true}}, timedEvent{25, PRMerged{Wave: 3, Tenant: SharedTenant, SHA: "fold"}}),
			at:   26, event: GateResult{Wave: 3, Cluster: "c1", Gate: "terraform", Outcome: GatePassed}, wantErr: `no gate "terraform" in wave 3 (gates: argocd)`,
			want: "Running | Succeeded Succeeded Merged | c1=Succeeded c2=Succeeded c1=Applied c2=Applied"},
		{name: "cleanup/no clean-up gate: the merge settles it", policy: labelNoCleanupGate, waves: cleanupWaves,
			from: machineSeq(changed, timedEvent{24, Tick{CanOpen: true}}, timedEvent{25, PROpened{Wave: 3, Tenant: SharedTenant, Number: 301}}),
			at:   26, event: PRMerged{Wave: 3, Tenant: SharedTenant, SHA: "fold"},
			want: "Running | Succeeded Succeeded Baking | c1=Succeeded c2=Succeeded c1=Succeeded c2=Succeeded"},
		{name: "cleanup/the campaign succeeds only after the clean-up baked", policy: labelNoCleanupGate, waves: cleanupWaves,
			from: machineSeq(changed, timedEvent{24, Tick{CanOpen: true}}, timedEvent{25, PRMerged{Wave: 3, Tenant: SharedTenant, SHA: "fold"}}),
			at:   35, event: Tick{},
			want:    "Succeeded | Succeeded Succeeded Succeeded | c1=Succeeded c2=Succeeded c1=Succeeded c2=Succeeded",
			actions: []Action{PostReport{About: ReportSucceeded, Wave: 3}}},
		{name: "cleanup/skipped when a cluster does not carry the value", policy: label, waves: cleanupWaves,
			from: machineSeq(start, passWave(1, 1, "t1", both, "c1")...), at: 5, event: SkipCluster{Cluster: "c2", Reason: "tenant frozen"},
			want: "Running | Baking Pending Pending | c1=Succeeded c2=Skipped c1=Pending c2=Skipped"},
		{name: "cleanup/skipped wave ends the campaign with the reason", policy: label, waves: cleanupWaves,
			from: machineSeq(start, machineSeq(passWave(1, 1, "t1", both, "c1"), timedEvent{5, SkipCluster{Cluster: "c2", Reason: "tenant frozen"}})...), at: 12, event: Tick{CanOpen: true},
			want:    "Succeeded | Succeeded Succeeded Skipped | c1=Succeeded c2=Skipped c1=Pending c2=Skipped",
			actions: []Action{PostReport{About: ReportSucceeded, Wave: 3}}},
		{name: "cleanup/rollback reverts the clean-up first", policy: label, waves: cleanupWaves,
			from: machineSeq(changed, timedEvent{24, Tick{CanOpen: true}}, timedEvent{25, PRMerged{Wave: 3, Tenant: SharedTenant, SHA: "fold"}}),
			at:   26, event: Rollback{},
			want: "RollingBack | Succeeded Succeeded Stopped Open Pending Pending | c1=Succeeded c2=Succeeded c1=Stopped c2=Stopped c1=Pending c2=Pending c2=Pending c1=Pending",
			actions: []Action{PostReport{About: ReportRollingBack, Wave: 3},
				OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: SharedTenant, Clusters: []string{"c1", "c2"}, Attempt: 1}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewState("k", tc.policy, tc.waves)
			require.NoError(t, err)
			s = driveMachine(t, s, tc.from)
			got, acts, err := Transition(s, tc.event, minute(tc.at))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.actions, withoutSummaries(acts))
			}
			assert.Equal(t, tc.want, machineSummary(got))
		})
	}
}

func TestWaveGates(t *testing.T) {
	t.Parallel()
	p := Policy{Gates: []string{"argocd", "terraform"}, CleanupGates: []string{"argocd"}, Change: KindLabel, Revertible: true}
	s, err := NewState("k", p, cleanupWaves)
	require.NoError(t, err)
	s.Waves = append(s.Waves, WaveState{Number: 4, Kind: WaveRevert, Reverts: 3}, WaveState{Number: 5, Kind: WaveRevert, Reverts: 1})
	for _, tc := range []struct {
		wave int
		want []string
	}{{1, []string{"argocd", "terraform"}}, {3, []string{"argocd"}}, {4, []string{"argocd"}}, {5, []string{"argocd", "terraform"}}, {9, nil}} {
		assert.Equal(t, tc.want, s.WaveGates(tc.wave), "wave %d", tc.wave)
	}
}
