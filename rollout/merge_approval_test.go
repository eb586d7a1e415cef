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
