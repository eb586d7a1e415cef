package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMergeApproval: a merge records who merged, whose approval counted and
// every standing review; a merge without an owner's approval is recorded as
// such, and halts the campaign (a rollback included) when the policy says
// so.
func TestMergeApproval(t *testing.T) {
	t.Parallel()
	halt := machinePolicy()
	halt.HaltUnapproved = true
	record := machinePolicy()
	reviews := []ReviewVerdict{{User: "eve", State: "APPROVED", Commit: "h1", Note: "not an owner of the tenant"}, {User: "alice", State: "APPROVED", Commit: "h1", Counted: true}}
	approved := PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa", By: "alice", ApprovedBy: "alice", Reviews: reviews}
	bypass := PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa", By: "root", Unapproved: "no approval by an owner of the tenant (@eve approved, not an owner)", Reviews: reviews[:1]}
	revertBypass := PRMerged{Wave: 4, Tenant: "t1", Number: 401, SHA: "fff", By: "root", Unapproved: "no approval by an owner of the tenant"}
	rolling := machineSeq(stBaking1, timedEvent{5, Rollback{By: "ops"}}, timedEvent{6, PROpened{Wave: 4, Tenant: "t1", Number: 401}})
	tests := []struct {
		name      string
		policy    Policy
		from      []timedEvent
		event     PRMerged
		wave      int
		phase     CampaignPhase
		evidence  string
		detail    string
		haltsWith string
	}{
		{name: "approved", policy: halt, from: stInPR1, event: approved, wave: 1, phase: CampaignRunning, evidence: "pr-merged", detail: "approved by alice"},
		{name: "unapproved, halt", policy: halt, from: stInPR1, event: bypass, wave: 1, phase: CampaignHalted, evidence: "pr-merged-unapproved", detail: bypass.Unapproved,
			haltsWith: "tenant t1's pull request #101 of wave 1 merged without an approval by an owner of t1 (no approval by an owner of the tenant (@eve approved, not an owner))"},
		{name: "unapproved, record", policy: record, from: stInPR1, event: bypass, wave: 1, phase: CampaignRunning, evidence: "pr-merged-unapproved", detail: bypass.Unapproved},
		{name: "an unapproved revert halts the rollback", policy: halt, from: rolling, event: revertBypass, wave: 4, phase: CampaignHalted, evidence: "pr-merged-unapproved", detail: revertBypass.Unapproved,
			haltsWith: "tenant t1's pull request #401 of wave 4 merged without an approval by an owner of t1 (no approval by an owner of the tenant)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, tc.policy), tc.from)
			next, actions, err := Transition(s, tc.event, minute(7))
			require.NoError(t, err)
			assert.Equal(t, tc.phase, next.Phase)
			w := next.Waves[tc.wave-1]
			pr := w.PRs[0]
			assert.Equal(t, PRStatusMerged, pr.Status)
			assert.Equal(t, tc.event.By, pr.MergedBy)
			assert.Equal(t, tc.event.ApprovedBy, pr.ApprovedBy)
			assert.Equal(t, tc.event.Reviews, pr.Reviews)
			var ev Evidence
			for _, e := range w.Clusters[0].Evidence {
				if e.PR == pr.Number && e.SHA == tc.event.SHA {
					ev = e
				}
			}
			assert.Equal(t, tc.evidence, ev.Event)
			assert.Equal(t, tc.detail, ev.Detail)
			assert.Equal(t, tc.event.By, ev.By)
			assert.Equal(t, tc.haltsWith, next.HaltReason)
			var halted bool
			for _, a := range actions {
				if r, ok := a.(PostReport); ok && r.About == ReportHalted {
					halted = true
				}
			}
			assert.Equal(t, tc.haltsWith != "", halted, "a halt report is posted exactly when the campaign halts")
			assert.True(t, s.Waves[tc.wave-1].PRs[0].Status != PRStatusMerged, "the state given is not changed")
		})
	}
}

// TestUnapprovedMergeWhileNotActing: a pull request merged without an
// owner's approval while the campaign is paused or halted halts it when a
// Resume would make it act again, with the report the halt would have
// had; a rollback reverts the merge and drops the halt.
func TestUnapprovedMergeWhileNotActing(t *testing.T) {
	t.Parallel()
	halt := machinePolicy()
	halt.HaltUnapproved = true
	bypass1 := PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa", By: "root", Unapproved: "no approval by an owner of the tenant"}
	bypass2 := PRMerged{Wave: 2, Tenant: "t2", Number: 202, SHA: "ccc", By: "root", Unapproved: "no approval by an owner of the tenant"}
	halted2 := machineSeq(stOpen2,
		timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
		timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
		timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", Number: 201, SHA: "bbb", ApprovedBy: "alice"}},
		timedEvent{67, GateResult{Cluster: "c2", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"}})
	tests := []struct {
		name   string
		from   []timedEvent
		merge  PRMerged
		then   []Event // after the merge; the last is the Resume
		halts  string
		report int // the wave of the halt report
	}{
		{name: "paused", from: stPausedInPR1, merge: bypass1, then: []Event{Resume{By: "ops"}}, report: 1,
			halts: "tenant t1's pull request #101 of wave 1 merged without an approval by an owner of t1 (no approval by an owner of the tenant)"},
		{name: "halted", from: halted2, merge: bypass2, then: []Event{Retry{Cluster: "c2", By: "ops"}, Resume{By: "ops"}}, report: 2,
			halts: "tenant t2's pull request #202 of wave 2 merged without an approval by an owner of t2 (no approval by an owner of the tenant)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, halt), tc.from)
			before := s.Phase
			require.Contains(t, []CampaignPhase{CampaignPaused, CampaignHalted}, before)
			s, acts, err := Transition(s, tc.merge, minute(70))
			require.NoError(t, err)
			assert.Equal(t, before, s.Phase, "the merge changes no phase while the campaign does not act")
			assert.Equal(t, &HaltDue{Wave: tc.merge.Wave, Reason: tc.halts}, s.HaltDue)
			assert.False(t, haltReported(acts), "no halt report yet")

			rolled, _, err := Transition(s, Rollback{By: "ops"}, minute(71))
			require.NoError(t, err)
			assert.Nil(t, rolled.HaltDue, "a rollback reverts the merge: no halt is due")

			for i, ev := range tc.then {
				s, acts, err = Transition(s, ev, minute(72+i))
				require.NoError(t, err, "%T", ev)
			}
			assert.Equal(t, CampaignHalted, s.Phase, "the resume halts")
			assert.Equal(t, tc.halts, s.HaltReason)
			assert.Nil(t, s.HaltDue)
			require.True(t, haltReported(acts), "the resume reports the halt")
			for _, a := range acts {
				if r, ok := a.(PostReport); ok && r.About == ReportHalted {
					assert.Equal(t, tc.report, r.Wave)
				}
			}

			s, _, err = Transition(s, Resume{By: "ops"}, minute(80))
			require.NoError(t, err)
			assert.Equal(t, CampaignRunning, s.Phase, "a second resume goes on")
		})
	}
}

// haltReported says whether acts post a halt report.
func haltReported(acts []Action) bool {
	for _, a := range acts {
		if r, ok := a.(PostReport); ok && r.About == ReportHalted {
			return true
		}
	}
	return false
}
