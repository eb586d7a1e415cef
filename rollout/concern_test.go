package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConcerns(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	p.MaxFailures = 1
	// Wave 2: t1's pull request merged as bbb, t2's (202) open.
	wave2 := machineSeq(stOpen2,
		timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
		timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
		timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", Number: 201, SHA: "bbb"}})
	tests := []struct {
		name string
		from []timedEvent
		news CommitNews
		want Concern
	}{
		{name: "a check on a merge commit: its wave's gates", from: stMerged1, news: CommitNews{SHA: "aaa"}, want: Concern{Waves: []int{1}}},
		{name: "a check on another commit: nothing", from: stMerged1, news: CommitNews{SHA: "fff"}},
		{name: "a check run on an open pull request: its approval", from: stInPR1, news: CommitNews{SHA: "head", PRs: []int{101}},
			want: Concern{PRs: []WavePR{{Wave: 1, Tenant: "t1", Number: 101}}}},
		{name: "a review of a merged pull request: nothing", from: stMerged1, news: CommitNews{PRs: []int{101}}},
		{name: "a check suite on a campaign branch: that pull request", from: wave2, news: CommitNews{SHA: "head", Wave: 2, Tenant: "t2"},
			want: Concern{PRs: []WavePR{{Wave: 2, Tenant: "t2", Number: 202}}}},
		{name: "a merge commit of wave 2 and an open pull request of it", from: wave2, news: CommitNews{SHA: "bbb", PRs: []int{202}},
			want: Concern{Waves: []int{2}, PRs: []WavePR{{Wave: 2, Tenant: "t2", Number: 202}}}},
		{name: "a campaign that ended: nothing to approve", from: stDone, news: CommitNews{PRs: []int{101}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, p), tc.from)
			got := Concerns(s, tc.news)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Waves == nil && tc.want.PRs == nil, got.Empty())
		})
	}
}

func TestGatesDue(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	p.MaxFailures = 1
	s := driveMachine(t, newMachineState(t, p), stVerify1)
	assert.Equal(t, []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}}, GatesDue(s, []int{1}))
	assert.Empty(t, GatesDue(s, []int{2}), "another wave's gates are not asked")
	assert.Empty(t, GatesDue(driveMachine(t, newMachineState(t, p), stInPR1), []int{1}), "nothing merged, no gate")
}
