package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNews(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from []timedEvent
		fact PRFact
		want Event
	}{
		{name: "asked for, now open", from: stOpen1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 101, Open: true}, want: PROpened{Wave: 1, Tenant: "t1", Number: 101}},
		{name: "open, known", from: stInPR1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 101, Open: true}},
		{name: "open, now merged", from: stInPR1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 101, Merged: true, MergeSHA: "m"}, want: PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "m"}},
		{name: "merged, known", from: stMerged1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 101, Merged: true, MergeSHA: "aaa"}},
		{name: "open, now closed", from: stInPR1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 101}, want: PRClosed{Wave: 1, Tenant: "t1", Number: 101}},
		{name: "another number closed", from: stInPR1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 99}},
		{name: "closed, reopened", from: stClosed1, fact: PRFact{Wave: 1, Tenant: "t1", Number: 101, Open: true}, want: PROpened{Wave: 1, Tenant: "t1", Number: 101}},
		{name: "given up by a retry", from: machineSeq(stClosed1, timedEvent{3, Retry{}}), fact: PRFact{Wave: 1, Tenant: "t1", Number: 101}},
		{name: "wave not opened", from: stInPR1, fact: PRFact{Wave: 2, Tenant: "t1", Number: 5, Open: true}},
		{name: "no such wave", from: stInPR1, fact: PRFact{Wave: 9, Tenant: "t1", Number: 5, Open: true}},
		{name: "no such tenant", from: stInPR1, fact: PRFact{Wave: 1, Tenant: "t9", Number: 5, Open: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			assert.Equal(t, tc.want, s.News(tc.fact))
		})
	}
}

func TestMergeHeldNews(t *testing.T) {
	t.Parallel()
	held := machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "required checks failed: plan"}})
	tests := []struct {
		name string
		from []timedEvent
		ev   MergeHeld
		news bool
	}{
		{name: "open, held", from: stInPR1, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "waiting for required checks: plan"}, news: true},
		{name: "open, nothing holds it", from: stInPR1, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 101}},
		{name: "held, for the same reason", from: held, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "required checks failed: plan"}},
		{name: "held, for another reason", from: held, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "GitHub refuses the merge: no"}, news: true},
		{name: "held, no longer", from: held, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 101}, news: true},
		{name: "another number", from: stInPR1, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 99, Why: "x"}},
		{name: "merged", from: stMerged1, ev: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"}},
		{name: "no such wave", from: stInPR1, ev: MergeHeld{Wave: 9, Tenant: "t1", Number: 101, Why: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			got := s.MergeHeldNews(tc.ev)
			if tc.news {
				assert.Equal(t, tc.ev, got)
			} else {
				assert.Nil(t, got)
			}
		})
	}
}
