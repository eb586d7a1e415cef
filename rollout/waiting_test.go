package rollout

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaiting(t *testing.T) {
	t.Parallel()
	window := minute(600)
	tests := []struct {
		name   string
		from   []timedEvent
		window time.Time
		want   Wait
	}{
		{name: "pending", want: Wait{Kind: WaitStart, Text: "the campaign to be scheduled"}},
		{name: "scheduled, window ahead", from: stScheduled, window: window, want: Wait{Kind: WaitWindow, Wave: 1, Since: minute(0), Until: window,
			Text: "the maintenance window at 2025-01-06T20:00:00Z to open wave 1", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "asked for, not open", from: stOpen1, want: Wait{Kind: WaitOpen, Wave: 1, Since: minute(0),
			Text: "wave 1: the pull requests of t1 to open", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "open: review and merge", from: stInPR1, want: Wait{Kind: WaitMerge, Wave: 1, Since: minute(1), PRs: []int{101},
			Text: "wave 1: #101 (t1) to be approved by the tenant's owners and merged", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "one open, one still to open: both said", from: machineSeq(stOpen2, timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}}),
			want: Wait{Kind: WaitOpen, Wave: 2, Since: minute(64), PRs: []int{201},
				Text: "wave 2: the pull requests of t2 to open; #201 (t1) to be approved by the tenant's owners and merged", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "open, approved and held by a failed check", from: machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "required checks failed: plan"}}),
			want: Wait{Kind: WaitMerge, Wave: 1, Since: minute(1), PRs: []int{101},
				Text: "wave 1: #101 (t1) approved, not merged: required checks failed: plan", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "open, approved, an owner merges (merge: owners)", from: machineSeq(stOpen2,
			timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
			timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
			timedEvent{66, MergeHeld{Wave: 2, Tenant: "t2", Number: 202, Why: OwnersMerge}}),
			want: Wait{Kind: WaitMerge, Wave: 2, Since: minute(65), PRs: []int{201, 202},
				Text:     "wave 2: #201 (t1) to be approved by the tenant's owners and merged; #202 (t2) approved, to be merged by the tenant's owners",
				Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "approval withdrawn", from: machineSeq(stInPR1,
			timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: OwnersMerge}},
			timedEvent{3, MergeHeld{Wave: 1, Tenant: "t1", Number: 101}}),
			want: Wait{Kind: WaitMerge, Wave: 1, Since: minute(1), PRs: []int{101},
				Text: "wave 1: #101 (t1) to be approved by the tenant's owners and merged", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "open, one held, one to approve", from: machineSeq(stOpen2,
			timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
			timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
			timedEvent{66, MergeHeld{Wave: 2, Tenant: "t2", Number: 202, Why: "GitHub refuses the merge: Merge commits are not allowed on this repository"}}),
			want: Wait{Kind: WaitMerge, Wave: 2, Since: minute(65), PRs: []int{201, 202},
				Text:     "wave 2: #201 (t1) to be approved by the tenant's owners and merged; #202 (t2) approved, not merged: GitHub refuses the merge: Merge commits are not allowed on this repository",
				Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "closed without merge", from: stClosed1, want: Wait{Kind: WaitRetry, Wave: 1, Since: minute(2), PRs: []int{101}, Clusters: []string{"c1"},
			Text:     "wave 1: #101 (t1) closed without merge; a retry opens a new one, a skip leaves its clusters out",
			Commands: []string{"/fleet retry [cluster]", "/fleet skip <cluster> --reason \"...\"", "/fleet abort"}}},
		{name: "closed, its clusters skipped: the other tenant's merge", from: machineSeq(stOpen2,
			timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
			timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
			timedEvent{66, PRClosed{Wave: 2, Tenant: "t1", Number: 201}},
			timedEvent{67, SkipCluster{Cluster: "c2", Reason: "decommissioned", By: "ops"}}),
			want: Wait{Kind: WaitMerge, Wave: 2, Since: minute(65), PRs: []int{202},
				Text: "wave 2: #202 (t2) to be approved by the tenant's owners and merged", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "merged: gates", from: stVerify1, want: Wait{Kind: WaitGates, Wave: 1, Since: minute(2), Until: minute(32), Clusters: []string{"c1"},
			Text: "wave 1: the gates (argocd, eks) to pass on c1", Commands: []string{"/fleet pause", "/fleet rollback", "/fleet abort"}}},
		{name: "baking", from: stBaking1, want: Wait{Kind: WaitBake, Wave: 1, Since: minute(4), Until: minute(64),
			Text: "wave 1 to bake until 2025-01-06T11:04:00Z", Commands: []string{"/fleet pause", "/fleet rollback", "/fleet abort"}}},
		{name: "baked, next wave held by the window", from: machineSeq(stBaking1, timedEvent{65, Tick{}}), window: window,
			want: Wait{Kind: WaitWindow, Wave: 2, Since: minute(65), Until: window,
				Text: "the maintenance window at 2025-01-06T20:00:00Z to open wave 2", Commands: []string{"/fleet pause", "/fleet abort"}}},
		{name: "wave approval", from: stAwaitApproval, want: Wait{Kind: WaitApproval, Wave: 3, Since: minute(127),
			Text: "a fleet admin to approve wave 3", Commands: []string{"/fleet approve 3", "/fleet pause", "/fleet abort"}}},
		{name: "paused", from: stPausedInPR1, want: Wait{Kind: WaitResume, Since: minute(10), Text: "a person to resume it (paused)", Commands: []string{"/fleet resume", "/fleet abort"}}},
		{name: "succeeded", from: stDone, want: Wait{Kind: WaitNothing, Since: minute(191), Text: "nothing: the campaign succeeded"}},
		{name: "aborted", from: machineSeq(stInPR1, timedEvent{5, Abort{By: "ops"}}), want: Wait{Kind: WaitNothing, Since: minute(5), Text: "nothing: the campaign was aborted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			assert.Equal(t, tc.want, s.Waiting(tc.window))
		})
	}
}

// TestWaitingUnderAutoMerge: under merge: auto an open pull request waits
// for its owners' approval, and fleetbot merges it then.
func TestWaitingUnderAutoMerge(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	p.AutoMerge = true
	s := driveMachine(t, newMachineState(t, p), stInPR1)
	assert.Equal(t, "wave 1: #101 (t1) to be approved by the tenant's owners, then merged by fleetbot", s.Waiting(time.Time{}).Text)
	s = driveMachine(t, newMachineState(t, p), machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "required checks failed: plan"}}))
	assert.Equal(t, "wave 1: #101 (t1) approved, not merged: required checks failed: plan", s.Waiting(time.Time{}).Text)
}

func TestWaitingHalted(t *testing.T) {
	t.Parallel()
	s := driveMachine(t, newMachineState(t, machinePolicy()), stHalted1)
	w := s.Waiting(time.Time{})
	require.Equal(t, WaitPerson, w.Kind)
	assert.Contains(t, w.Text, s.HaltReason)
	assert.Equal(t, minute(5), w.Since)
	assert.Equal(t, []string{"/fleet retry [cluster]", "/fleet skip <cluster> --reason \"...\"", "/fleet rollback", "/fleet abort"}, w.Commands,
		"over budget: no resume until a retry or a skip")
	_, _, err := Transition(s, Resume{By: "ops"}, minute(6))
	require.Error(t, err, "the machine refuses the resume, as the wait says")

	s, _, err = Transition(s, Retry{Cluster: "c1", By: "ops"}, minute(6))
	require.NoError(t, err)
	w = s.Waiting(time.Time{})
	assert.Equal(t, []string{"/fleet skip <cluster> --reason \"...\"", "/fleet resume", "/fleet rollback", "/fleet abort"}, w.Commands,
		"within budget again: resume applies; nothing is left to retry")
	assert.Equal(t, "a person to resume it (halted: 1 cluster failed or timed out, over the budget of 0; retried or skipped since)", w.Text,
		"the halt's reason is resolved, and the wait says so")
	_, _, err = Transition(s, Resume{By: "ops"}, minute(7))
	require.NoError(t, err)
}

// TestWaitingOffersRollbackWhenTaken: the waits offer /fleet rollback
// exactly when the machine would take it: not for a forward-only change,
// nor while rolling back already.
func TestWaitingOffersRollbackWhenTaken(t *testing.T) {
	t.Parallel()
	eks := machinePolicy()
	eks.Revertible, eks.Change = false, KindEKSVersion
	rolling := machineSeq(stMerged2, timedEvent{71, Rollback{By: "ops"}},
		timedEvent{72, PROpened{Wave: 4, Tenant: "t1", Number: 401}}, timedEvent{73, PRMerged{Wave: 4, Tenant: "t1", Number: 401, SHA: "r41"}})
	tests := []struct {
		name   string
		policy Policy
		from   []timedEvent
		offers bool
	}{
		{"gates, revertible", machinePolicy(), stVerify1, true},
		{"gates, forward-only", eks, stVerify1, false},
		{"bake, revertible", machinePolicy(), stBaking1, true},
		{"bake, forward-only", eks, stBaking1, false},
		{"halted, revertible", machinePolicy(), stHalted1, true},
		{"halted, forward-only", eks, stHalted1, false},
		{"a revert wave's gates", machinePolicy(), rolling, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, tc.policy), tc.from)
			w := s.Waiting(time.Time{})
			require.NotEmpty(t, w.Commands, w.Text)
			_, _, err := Transition(s, Rollback{By: "ops"}, minute(200))
			assert.Equal(t, err == nil, tc.offers, "the machine takes the rollback: %v", err)
			assert.Equal(t, tc.offers, slices.Contains(w.Commands, "/fleet rollback"), "%s: %v", w.Text, w.Commands)
		})
	}
}

// TestWaitingGatesUntil checks when a wait for the gates ends by itself:
// the progress deadline of the last cluster the gates have not settled.
func TestWaitingGatesUntil(t *testing.T) {
	t.Parallel()
	noDeadline := machinePolicy()
	noDeadline.ProgressDeadline = 0
	merged2 := machineSeq(stOpen2,
		timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
		timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
		timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", Number: 201, SHA: "bbb"}},
		timedEvent{70, PRMerged{Wave: 2, Tenant: "t2", Number: 202, SHA: "ccc"}})
	tests := []struct {
		name     string
		policy   Policy
		from     []timedEvent
		since    time.Time
		until    time.Time
		clusters []string
	}{
		{name: "one cluster", policy: machinePolicy(), from: stVerify1, since: minute(2), until: minute(32), clusters: []string{"c1"}},
		{name: "the later of two deadlines", policy: machinePolicy(), from: merged2, since: minute(66), until: minute(100), clusters: []string{"c2", "c3"}},
		{name: "the one left", policy: machinePolicy(), from: machineSeq(merged2,
			timedEvent{71, GateResult{Cluster: "c3", Gate: "argocd", Outcome: GatePassed}},
			timedEvent{71, GateResult{Cluster: "c3", Gate: "eks", Outcome: GatePassed}}), since: minute(66), until: minute(96), clusters: []string{"c2"}},
		{name: "no progress deadline", policy: noDeadline, from: stVerify1, since: minute(2), clusters: []string{"c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := driveMachine(t, newMachineState(t, tc.policy), tc.from).Waiting(time.Time{})
			require.Equal(t, WaitGates, w.Kind, w.Text)
			assert.Equal(t, tc.since, w.Since, "since")
			assert.Equal(t, tc.until, w.Until, "until")
			assert.Equal(t, tc.clusters, w.Clusters)
		})
	}
}

// A wait's text names the first waitNamed pull requests or clusters and
// counts the others; its lists hold every one.
func TestWaitingNamesSome(t *testing.T) {
	t.Parallel()
	w := WaveState{Number: 1, Phase: WaveOpen}
	for i := range 12 {
		tenant := fmt.Sprintf("t%02d", i)
		w.Clusters = append(w.Clusters, ClusterState{Name: fmt.Sprintf("c%02d", i), Tenant: tenant, Phase: ClusterInPR})
		w.PRs = append(w.PRs, PRState{Tenant: tenant, Number: 100 + i, Status: PRStatusOpen})
	}
	st := State{Campaign: "c", Phase: CampaignRunning, Policy: Policy{Gates: []string{"terraform"}}, Waves: []WaveState{w}}
	got := st.Waiting(time.Time{})
	assert.Equal(t, WaitMerge, got.Kind)
	assert.Len(t, got.PRs, 12)
	assert.Equal(t, "wave 1: #100 (t00), #101 (t01), #102 (t02), #103 (t03), #104 (t04), #105 (t05), #106 (t06), #107 (t07), #108 (t08), #109 (t09) and 2 more to be approved by the tenant's owners and merged", got.Text)

	for i := range w.PRs {
		w.PRs[i].Status = PRStatusMerged
		w.Clusters[i].Phase = ClusterVerifying
	}
	w.Phase = WaveVerifying
	st.Waves[0] = w
	got = st.Waiting(time.Time{})
	assert.Equal(t, WaitGates, got.Kind)
	assert.Len(t, got.Clusters, 12)
	assert.Equal(t, "wave 1: the gates (terraform) to pass on c00, c01, c02, c03, c04, c05, c06, c07, c08, c09 and 2 more", got.Text)

	assert.Equal(t, "a, b", someOf([]string{"a", "b"}))
}

// TestWaitBesideTroubles: a pull request that keeps failing to open is
// given up by skipping its clusters, so the skip is among the commands
// that apply beside that trouble; other troubles add nothing.
func TestWaitBesideTroubles(t *testing.T) {
	t.Parallel()
	open := Trouble{Action: "open-wave", Wave: 4, What: "open the pull request of t1 in wave 4"}
	gates := Trouble{Action: "run-gates", Wave: 4, What: "run the gates of wave 4"}
	skip := `/fleet skip <cluster> --reason "..."`
	cases := []struct {
		name     string
		wait     Wait
		troubles []Trouble
		want     []string
	}{
		{"no trouble", Wait{Commands: []string{"/fleet pause", "/fleet abort"}}, nil, []string{"/fleet pause", "/fleet abort"}},
		{"a pull request that cannot open: skip, before abort", Wait{Commands: []string{"/fleet pause", "/fleet abort"}}, []Trouble{gates, open},
			[]string{"/fleet pause", skip, "/fleet abort"}},
		{"skip listed already", Wait{Commands: []string{"/fleet retry [cluster]", skip, "/fleet abort"}}, []Trouble{open},
			[]string{"/fleet retry [cluster]", skip, "/fleet abort"}},
		{"another trouble", Wait{Commands: []string{"/fleet pause", "/fleet abort"}}, []Trouble{gates}, []string{"/fleet pause", "/fleet abort"}},
		{"no commands apply (ended)", Wait{}, []Trouble{open}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(tc.wait.Commands)
			assert.Equal(t, tc.want, tc.wait.Beside(tc.troubles).Commands)
			assert.Equal(t, before, tc.wait.Commands, "the wait is not changed")
		})
	}
}
