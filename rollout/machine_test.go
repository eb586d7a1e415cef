package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// machineGolden compares got with testdata/machine/name, or rewrites it
// under -update.
func machineGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "machine", name)
	if *UpdateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "read golden file (run go test -update to create it)")
	assert.Equal(t, string(want), got, "golden file %s differs; run go test -update and review the diff", path)
}

var machineT0 = time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)

// minute is machineT0 plus m minutes.
func minute(m int) time.Time { return machineT0.Add(time.Duration(m) * time.Minute) }

// machinePolicy bakes for an hour, gives each cluster 30 minutes, tolerates no
// failure and asks for an approval before wave 3.
func machinePolicy() Policy {
	return Policy{
		Bake:             time.Hour,
		ProgressDeadline: 30 * time.Minute,
		Approvals:        map[int]bool{3: true},
		Gates:            []string{"argocd", "eks"},
		Change:           KindLabel,
		Revertible:       true,
	}
}

// machineWaves: wave 1 is c1 (tenant t1); wave 2 is c2 (t1) and c3 (t2); wave 3
// is c4 (t2).
var machineWaves = [][]ClusterRef{
	{{Name: "c1", Tenant: "t1"}},
	{{Name: "c2", Tenant: "t1"}, {Name: "c3", Tenant: "t2"}},
	{{Name: "c4", Tenant: "t2"}},
}

// changeWaves makes change waves of the given clusters, for NewState.
func changeWaves(waves ...[]ClusterRef) []WaveSpec {
	out := make([]WaveSpec, len(waves))
	for i, w := range waves {
		out[i] = WaveSpec{Clusters: w}
	}
	return out
}

func newMachineState(t *testing.T, p Policy) State {
	t.Helper()
	s, err := NewState("addons-r2", p, changeWaves(machineWaves...))
	require.NoError(t, err)
	return s
}

// timedEvent is one event at a minute after machineT0.
type timedEvent struct {
	at int
	e  Event
}

// driveMachine applies steps and fails the test on any refused event.
func driveMachine(t *testing.T, s State, steps []timedEvent) State {
	t.Helper()
	for i, st := range steps {
		var err error
		s, _, err = Transition(s, st.e, minute(st.at))
		require.NoError(t, err, "setup step %d (%s at +%dm)", i, st.e.Kind(), st.at)
	}
	return s
}

func machineSeq(base []timedEvent, more ...timedEvent) []timedEvent {
	return append(append([]timedEvent(nil), base...), more...)
}

// The stages a campaign goes through in the tests below.
var (
	stScheduled = []timedEvent{{0, ScheduleCampaign{By: "ops"}}}
	stOpen1     = machineSeq(stScheduled, timedEvent{0, Tick{CanOpen: true}})
	stInPR1     = machineSeq(stOpen1, timedEvent{1, PROpened{Wave: 1, Tenant: "t1", Number: 101}})
	stClosed1   = machineSeq(stInPR1, timedEvent{2, PRClosed{Wave: 1, Tenant: "t1", Number: 101}})
	stMerged1   = machineSeq(stInPR1, timedEvent{2, PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa"}}) // c1 deadline +32
	stVerify1   = machineSeq(stMerged1, timedEvent{3, GateResult{Cluster: "c1", Gate: "argocd", Outcome: GatePassed}})
	stBaking1   = machineSeq(stVerify1, timedEvent{4, GateResult{Cluster: "c1", Gate: "eks", Outcome: GatePassed}}) // bake until +64
	stHalted1   = machineSeq(stVerify1, timedEvent{5, GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"}})
	stOpen2     = machineSeq(stBaking1, timedEvent{64, Tick{CanOpen: true}})
	stMerged2   = machineSeq(stOpen2,
		timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}},
		timedEvent{65, PROpened{Wave: 2, Tenant: "t2", Number: 202}},
		timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", Number: 201, SHA: "bbb"}},
		timedEvent{66, PRMerged{Wave: 2, Tenant: "t2", Number: 202, SHA: "ccc"}})
	stBaking2 = machineSeq(stMerged2,
		timedEvent{67, GateResult{Cluster: "c2", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{67, GateResult{Cluster: "c2", Gate: "eks", Outcome: GatePassed}},
		timedEvent{67, GateResult{Cluster: "c3", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{67, GateResult{Cluster: "c3", Gate: "eks", Outcome: GatePassed}}) // bake until +127
	stAwaitApproval = machineSeq(stBaking2, timedEvent{127, Tick{CanOpen: true}})
	stOpen3         = machineSeq(stAwaitApproval, timedEvent{128, Approve{Wave: 3, By: "alice"}}, timedEvent{128, Tick{CanOpen: true}})
	stDone          = machineSeq(stOpen3,
		timedEvent{129, PROpened{Wave: 3, Tenant: "t2", Number: 301}},
		timedEvent{130, PRMerged{Wave: 3, Tenant: "t2", Number: 301, SHA: "ddd"}},
		timedEvent{131, GateResult{Cluster: "c4", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{131, GateResult{Cluster: "c4", Gate: "eks", Outcome: GatePassed}},
		timedEvent{191, Tick{}})
	stPausedInPR1 = machineSeq(stInPR1, timedEvent{10, Pause{By: "ops"}})
)

// machineSummary is a compact view of a state: campaign phase, wave phases, cluster
// phases.
func machineSummary(s State) string {
	var b strings.Builder
	b.WriteString(string(s.Phase))
	b.WriteString(" |")
	for _, w := range s.Waves {
		fmt.Fprintf(&b, " %s", w.Phase)
	}
	b.WriteString(" |")
	for _, w := range s.Waves {
		for _, c := range w.Clusters {
			fmt.Fprintf(&b, " %s=%s", c.Name, c.Phase)
		}
	}
	return b.String()
}

func machineJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// withoutSummaries blanks the text of reports, which the golden scenario
// checks, and the numbers of posts, which TestPosts checks.
func withoutSummaries(acts []Action) []Action {
	if len(acts) == 0 {
		return nil
	}
	out := make([]Action, len(acts))
	for i, a := range acts {
		switch r := a.(type) {
		case PostReport:
			r.Summary, r.Seq = "", 0
			a = r
		case RequestApproval:
			r.Seq = 0
			a = r
		}
		out[i] = a
	}
	return out
}

func TestTransition(t *testing.T) {
	t.Parallel()
	rev := machinePolicy()
	eks := machinePolicy()
	eks.Revertible, eks.Change = false, KindEKSVersion
	field := machinePolicy()
	field.Revertible, field.Change = false, KindField
	budget1 := machinePolicy()
	budget1.MaxFailures = 1

	const (
		pending   = "Pending | Pending Pending Pending | c1=Pending c2=Pending c3=Pending c4=Pending"
		scheduled = "Scheduled | Pending Pending Pending | c1=Pending c2=Pending c3=Pending c4=Pending"
		open1     = "Running | Open Pending Pending | c1=Pending c2=Pending c3=Pending c4=Pending"
		inPR1     = "Running | Open Pending Pending | c1=InPR c2=Pending c3=Pending c4=Pending"
		merged1   = "Running | Merged Pending Pending | c1=Applied c2=Pending c3=Pending c4=Pending"
		verify1   = "Running | Verifying Pending Pending | c1=Verifying c2=Pending c3=Pending c4=Pending"
		baking1   = "Running | Baking Pending Pending | c1=Succeeded c2=Pending c3=Pending c4=Pending"
		halted1   = "Halted | Failed Pending Pending | c1=Failed c2=Pending c3=Pending c4=Pending"
		open2     = "Running | Succeeded Open Pending | c1=Succeeded c2=Pending c3=Pending c4=Pending"
		baking2   = "Running | Succeeded Baking Pending | c1=Succeeded c2=Succeeded c3=Succeeded c4=Pending"
		await3    = "Running | Succeeded Succeeded Pending | c1=Succeeded c2=Succeeded c3=Succeeded c4=Pending"
		done      = "Succeeded | Succeeded Succeeded Succeeded | c1=Succeeded c2=Succeeded c3=Succeeded c4=Succeeded"
		paused1   = "Paused | Open Pending Pending | c1=InPR c2=Pending c3=Pending c4=Pending"
		// An abort stops the wave in flight.
		abortedOpen1 = "Aborted | Stopped Pending Pending | c1=Stopped c2=Pending c3=Pending c4=Pending"
		abortedInPR1 = "Aborted | Stopped Pending Pending | c1=Stopped c2=Pending c3=Pending c4=Pending"
	)
	c1Failed := []Failure{{Wave: 1, Cluster: "c1", Tenant: "t1", Phase: ClusterFailed, Gate: "eks", Detail: "version 1.29"}}

	tests := []struct {
		name    string
		policy  Policy
		from    []timedEvent
		at      int
		event   Event
		wantErr string // a part of the error; empty when the event is taken
		ignored bool   // the error wraps ErrIgnored
		want    string // summary of the new state (of the old one on error)
		actions []Action
		check   func(t *testing.T, s State)
	}{
		// Pending
		{name: "pending/schedule", event: ScheduleCampaign{By: "ops"}, want: scheduled},
		{name: "pending/tick does nothing", event: Tick{CanOpen: true}, want: pending},
		{name: "pending/pause refused", event: Pause{}, wantErr: "schedule it first", want: pending},
		{name: "pending/resume refused", event: Resume{}, wantErr: "schedule it first", want: pending},
		{name: "pending/pr opened refused", event: PROpened{Wave: 1, Tenant: "t1", Number: 1}, wantErr: "no wave has opened yet", want: pending},
		{name: "pending/gate result refused", event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GatePassed}, wantErr: "has not merged", want: pending},
		{name: "pending/retry refused", event: Retry{}, wantErr: "nothing to retry", want: pending},
		{name: "pending/rollback refused", event: Rollback{}, wantErr: "nothing has merged yet", want: pending},
		{
			name: "pending/skip", event: SkipCluster{Cluster: "c4", Reason: "decommissioned", By: "ops"},
			want: "Pending | Pending Pending Pending | c1=Pending c2=Pending c3=Pending c4=Skipped",
			check: func(t *testing.T, s State) {
				c := s.Waves[2].Clusters[0]
				assert.Equal(t, "decommissioned", c.SkipReason)
				assert.Equal(t, Evidence{At: minute(0), Event: "skip", From: "Pending", To: "Skipped", Detail: "decommissioned", By: "ops"}, c.Evidence[0])
			},
		},
		{name: "pending/abort", event: Abort{By: "ops", Reason: "wrong target"}, want: strings.Replace(pending, "Pending", "Aborted", 1),
			actions: []Action{PostReport{About: ReportAborted}}},

		// Scheduled
		{name: "scheduled/schedule again ignored", from: stScheduled, event: ScheduleCampaign{}, wantErr: "already scheduled", ignored: true, want: scheduled},
		{name: "scheduled/tick outside the window", from: stScheduled, event: Tick{}, want: scheduled},
		{name: "scheduled/tick opens wave 1", from: stScheduled, event: Tick{CanOpen: true}, want: open1,
			actions: []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 1}}}},
			check: func(t *testing.T, s State) {
				assert.Equal(t, []PRState{{Tenant: "t1", Status: PRStatusRequested, Attempt: 1}}, s.Waves[0].PRs)
				assert.Equal(t, minute(0), s.Waves[0].OpenedAt)
			}},
		{name: "scheduled/pause", from: stScheduled, at: 5, event: Pause{By: "ops"},
			want:  strings.Replace(scheduled, "Scheduled", "Paused", 1),
			check: func(t *testing.T, s State) { assert.Equal(t, CampaignScheduled, s.PausedFrom) }},
		{name: "scheduled/resume after pause returns to scheduled", from: machineSeq(stScheduled, timedEvent{5, Pause{}}), at: 6, event: Resume{}, want: scheduled},
		{name: "scheduled/tick while paused opens nothing", from: machineSeq(stScheduled, timedEvent{5, Pause{}}), at: 6, event: Tick{CanOpen: true},
			want: strings.Replace(scheduled, "Scheduled", "Paused", 1)},
		{name: "scheduled/approve a wave that needs none", from: stScheduled, event: Approve{Wave: 1, By: "alice"}, wantErr: "wave 1 needs no approval", want: scheduled},
		{name: "scheduled/approve unknown wave", from: stScheduled, event: Approve{Wave: 9, By: "alice"}, wantErr: "no wave 9", want: scheduled},
		{name: "scheduled/approve without approver", from: stScheduled, event: Approve{Wave: 3}, wantErr: "approver", want: scheduled},
		{name: "scheduled/approve early", from: stScheduled, at: 1, event: Approve{Wave: 3, By: "alice"}, want: scheduled,
			check: func(t *testing.T, s State) {
				assert.Equal(t, "alice", s.Waves[2].ApprovedBy)
				assert.Equal(t, Evidence{At: minute(1), Event: "approve", By: "alice"}, s.Waves[2].Clusters[0].Evidence[0])
			}},

		// Running, wave 1 asked for
		{name: "open/pr opened", from: stOpen1, at: 1, event: PROpened{Wave: 1, Tenant: "t1", Number: 101}, want: inPR1,
			check: func(t *testing.T, s State) {
				assert.Equal(t, PRState{Tenant: "t1", Status: PRStatusOpen, Number: 101, Attempt: 1, OpenedAt: minute(1)}, s.Waves[0].PRs[0])
			}},
		{name: "open/pr opened twice ignored", from: stInPR1, event: PROpened{Wave: 1, Tenant: "t1", Number: 101}, wantErr: "already recorded open", ignored: true, want: inPR1},
		{name: "open/another pr for the tenant refused", from: stInPR1, event: PROpened{Wave: 1, Tenant: "t1", Number: 102}, wantErr: "already has pull request #101", want: inPR1},
		{name: "open/pr number zero refused", from: stOpen1, event: PROpened{Wave: 1, Tenant: "t1"}, wantErr: "not positive", want: open1},
		{name: "open/unknown tenant refused", from: stOpen1, event: PROpened{Wave: 1, Tenant: "t9", Number: 5}, wantErr: `no pull request for tenant "t9"`, want: open1},
		{name: "open/pr of an unopened wave refused", from: stOpen1, event: PROpened{Wave: 2, Tenant: "t1", Number: 5}, wantErr: "wave 2 has not opened", want: open1},
		{name: "open/merge held", from: stInPR1, event: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "required checks failed: plan"}, want: inPR1,
			check: func(t *testing.T, s State) {
				assert.Equal(t, "required checks failed: plan", s.Waves[0].PRs[0].MergeHeld)
			}},
		{name: "open/merge held again ignored", from: machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"}}),
			event: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"}, wantErr: "already known", ignored: true, want: inPR1},
		{name: "open/merge no longer held", from: machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"}}),
			event: MergeHeld{Wave: 1, Tenant: "t1", Number: 101}, want: inPR1,
			check: func(t *testing.T, s State) { assert.Empty(t, s.Waves[0].PRs[0].MergeHeld) }},
		{name: "open/merge held after an abort ignored", from: machineSeq(stInPR1, timedEvent{2, Abort{By: "ops"}}), event: MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"},
			wantErr: "merges nothing more", ignored: true, want: abortedInPR1},
		{name: "open/merge held of another number ignored", from: stInPR1, event: MergeHeld{Wave: 1, Tenant: "t1", Number: 99, Why: "x"},
			wantErr: "not tenant t1's open pull request", ignored: true, want: inPR1},
		{name: "open/merge held, then merged: cleared", from: machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"}}),
			event: PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa"}, want: merged1, actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}},
			check: func(t *testing.T, s State) { assert.Empty(t, s.Waves[0].PRs[0].MergeHeld) }},
		{name: "open/merge held, then closed: cleared", from: machineSeq(stInPR1, timedEvent{2, MergeHeld{Wave: 1, Tenant: "t1", Number: 101, Why: "x"}}),
			event: PRClosed{Wave: 1, Tenant: "t1", Number: 101}, want: inPR1, actions: []Action{PostReport{About: ReportPRClosed, Wave: 1, Clusters: []string{"c1"}}},
			check: func(t *testing.T, s State) { assert.Empty(t, s.Waves[0].PRs[0].MergeHeld) }},
		{name: "open/merge without sha refused", from: stInPR1, event: PRMerged{Wave: 1, Tenant: "t1"}, wantErr: "no merge commit", want: inPR1},
		{name: "open/gate result before merge refused", from: stInPR1, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GatePassed}, wantErr: "has not merged", want: inPR1},
		{name: "open/gate result for unknown cluster refused", from: stMerged1, event: GateResult{Cluster: "c9", Gate: "eks", Outcome: GatePassed}, wantErr: `no cluster "c9"`, want: merged1},
		{name: "open/tick opens no second wave", from: stInPR1, at: 200, event: Tick{CanOpen: true}, want: inPR1},
		{name: "open/pr closed without merge", from: stInPR1, at: 2, event: PRClosed{Wave: 1, Tenant: "t1", Number: 101}, want: inPR1,
			actions: []Action{PostReport{About: ReportPRClosed, Wave: 1, Clusters: []string{"c1"}}}},
		{name: "open/pr closed twice ignored", from: stClosed1, event: PRClosed{Wave: 1, Tenant: "t1"}, wantErr: "already recorded closed", ignored: true, want: inPR1},
		{name: "open/new pr after close refused", from: stClosed1, event: PROpened{Wave: 1, Tenant: "t1", Number: 111}, wantErr: "a retry opens a new one", want: inPR1},
		{name: "open/closed pr reopened on GitHub", from: stClosed1, at: 3, event: PROpened{Wave: 1, Tenant: "t1", Number: 101}, want: inPR1,
			check: func(t *testing.T, s State) { assert.Equal(t, "pr-reopened", s.Waves[0].Clusters[0].Evidence[3].Event) }},
		{name: "open/retry reopens a closed pr", from: stClosed1, at: 3, event: Retry{Cluster: "c1", By: "ops"}, want: open1,
			actions: []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 2}}}}},
		{name: "open/retry all reopens a closed pr", from: stClosed1, at: 3, event: Retry{}, want: open1,
			actions: []Action{OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c1"}, Attempt: 2}}}}},
		{name: "open/retry of a waiting cluster refused", from: stInPR1, event: Retry{Cluster: "c1"}, wantErr: "cluster c1 is InPR", want: inPR1},
		{name: "open/skip the only cluster finishes the wave", from: stClosed1, at: 3, event: SkipCluster{Cluster: "c1", Reason: "owner refuses"},
			want: "Running | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending"},
		{name: "open/skip every cluster of an open pr closes it", from: stInPR1, at: 3, event: SkipCluster{Cluster: "c1", Reason: "owner refuses"},
			want:    "Running | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending",
			actions: []Action{ClosePRs{Wave: 1, PRs: []PRRef{{Tenant: "t1", Number: 101, Clusters: []string{"c1"}}}, Reason: "every cluster it changes was skipped"}},
			check: func(t *testing.T, s State) {
				assert.Equal(t, PRStatusClosed, s.Waves[0].PRs[0].Status)
				assert.Empty(t, Refresh(s), "a pull request of skipped clusters is not ensured again with every edit")
			}},
		{name: "open/a pr opening when its clusters were skipped is closed", from: machineSeq(stOpen1, timedEvent{1, SkipCluster{Cluster: "c1", Reason: "r"}}), at: 2,
			event:   PROpened{Wave: 1, Tenant: "t1", Number: 101},
			want:    "Running | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending",
			actions: []Action{ClosePRs{Wave: 1, PRs: []PRRef{{Tenant: "t1", Number: 101, Clusters: []string{"c1"}}}, Reason: "every cluster it changes was skipped"}}},
		{name: "open/the closing of a skipped pr ignored", from: machineSeq(stInPR1, timedEvent{3, SkipCluster{Cluster: "c1", Reason: "r"}}), at: 4,
			event: PRClosed{Wave: 1, Tenant: "t1", Number: 101}, wantErr: "already recorded closed", ignored: true,
			want: "Running | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending"},
		{name: "open/a merge after the skip says the campaign does not verify it", from: machineSeq(stInPR1, timedEvent{3, SkipCluster{Cluster: "c1", Reason: "r"}}), at: 4,
			event: PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa", ApprovedBy: "alice"},
			want:  "Running | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending",
			check: func(t *testing.T, s State) {
				ev := s.Waves[0].Clusters[0].Evidence
				assert.Equal(t, Evidence{At: minute(4), Event: "pr-merged", PR: 101, SHA: "aaa", Detail: "approved by alice; the cluster was skipped before: the campaign does not verify it"}, ev[len(ev)-1])
			}},

		// Running, wave 1 merged
		{name: "merged/merge", from: stInPR1, at: 2, event: PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa"}, want: merged1,
			actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}},
			check: func(t *testing.T, s State) {
				c := s.Waves[0].Clusters[0]
				assert.Equal(t, minute(32), c.Deadline)
				assert.Equal(t, Evidence{At: minute(2), Event: "pr-merged", From: "InPR", To: "Applied", PR: 101, SHA: "aaa"}, c.Evidence[2])
			}},
		{name: "merged/merge without pr opened", from: stOpen1, at: 2, event: PRMerged{Wave: 1, Tenant: "t1", Number: 101, SHA: "aaa"}, want: merged1,
			actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}}},
		{name: "merged/merge twice ignored", from: stMerged1, event: PRMerged{Wave: 1, Tenant: "t1", SHA: "aaa"}, wantErr: "already recorded merged", ignored: true, want: merged1},
		{name: "merged/merge with another sha refused", from: stMerged1, event: PRMerged{Wave: 1, Tenant: "t1", SHA: "bbb"}, wantErr: "already merged as aaa", want: merged1},
		{name: "merged/close after merge ignored", from: stMerged1, event: PRClosed{Wave: 1, Tenant: "t1"}, wantErr: "merged pull request is closed too", ignored: true, want: merged1},
		{name: "merged/gate waiting", from: stMerged1, at: 3, event: GateResult{Cluster: "c1", Gate: "argocd", Outcome: GateWaiting, Detail: "OutOfSync"},
			want: "Running | Verifying Pending Pending | c1=Verifying c2=Pending c3=Pending c4=Pending"},
		{name: "merged/gate repeats ignored", from: stVerify1, at: 4, event: GateResult{Cluster: "c1", Gate: "argocd", Outcome: GatePassed}, wantErr: "repeats", ignored: true, want: verify1},
		{name: "merged/unknown gate refused", from: stMerged1, event: GateResult{Cluster: "c1", Gate: "prometheus", Outcome: GatePassed}, wantErr: `no gate "prometheus"`, want: merged1},
		{name: "merged/bad outcome refused", from: stMerged1, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: "ok"}, wantErr: `outcome "ok"`, want: merged1},
		{name: "merged/all gates pass starts the bake", from: stVerify1, at: 4, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GatePassed}, want: baking1,
			check: func(t *testing.T, s State) {
				assert.Equal(t, minute(4), s.Waves[0].BakeStart)
				assert.Equal(t, minute(64), s.Waves[0].BakeUntil)
				assert.True(t, s.Waves[0].Clusters[0].Deadline.IsZero())
			}},
		{name: "merged/gate failure over budget halts", from: stVerify1, at: 5, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"},
			want: halted1, actions: []Action{PostReport{About: ReportHalted, Wave: 1, Failures: c1Failed}},
			check: func(t *testing.T, s State) {
				assert.Contains(t, s.HaltReason, "1 cluster failed or timed out, over the budget of 0")
			}},
		{name: "merged/gate failure within budget bakes nothing", policy: budget1, from: stVerify1, at: 5,
			event:   GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"},
			want:    "Halted | Failed Pending Pending | c1=Failed c2=Pending c3=Pending c4=Pending",
			actions: []Action{PostReport{About: ReportHalted, Wave: 1, Failures: c1Failed}}},
		{name: "merged/tick before the deadline", from: stMerged1, at: 31, event: Tick{}, want: merged1},
		{name: "merged/tick at the deadline times out", from: stVerify1, at: 32, event: Tick{},
			want: "Halted | Failed Pending Pending | c1=TimedOut c2=Pending c3=Pending c4=Pending",
			actions: []Action{PostReport{About: ReportHalted, Wave: 1, Failures: []Failure{{Wave: 1, Cluster: "c1", Tenant: "t1", Phase: ClusterTimedOut, Gate: "eks",
				Detail: "not Succeeded by its deadline 2025-01-06T10:32:00Z (progress deadline 30m0s); gates not passed: eks"}}}}},
		{name: "merged/pass after the deadline ignored", from: stVerify1, at: 40, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GatePassed},
			wantErr: "c1 is TimedOut", ignored: true, want: verify1},

		// Baking
		{name: "baking/tick during the bake", from: stBaking1, at: 63, event: Tick{CanOpen: true}, want: baking1},
		{name: "baking/bake ends outside the window", from: stBaking1, at: 64, event: Tick{},
			want: "Running | Succeeded Pending Pending | c1=Succeeded c2=Pending c3=Pending c4=Pending"},
		{name: "baking/bake ends and wave 2 opens", from: stBaking1, at: 64, event: Tick{CanOpen: true}, want: open2,
			actions: []Action{OpenWave{Wave: 2, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c2"}, Attempt: 1}, {Tenant: "t2", Clusters: []string{"c3"}, Attempt: 1}}}}},
		{name: "baking/failure during the bake fails the wave", policy: budget1, from: stBaking1, at: 30,
			event:   GateResult{Cluster: "c1", Gate: "argocd", Outcome: GateFailed, Detail: "Degraded"},
			want:    "Halted | Failed Pending Pending | c1=Failed c2=Pending c3=Pending c4=Pending",
			actions: []Action{PostReport{About: ReportHalted, Wave: 1, Failures: []Failure{{Wave: 1, Cluster: "c1", Tenant: "t1", Phase: ClusterFailed, Gate: "argocd", Detail: "Degraded"}}}}},
		{name: "baking/pass on a succeeded cluster ignored", from: stBaking1, at: 30, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GateWaiting},
			wantErr: "already succeeded", ignored: true, want: baking1},
		{name: "baking/failure after the wave succeeded ignored", from: stOpen2, at: 70, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed},
			wantErr: "already succeeded", ignored: true, want: open2},

		// Approvals
		{name: "approval/wave 3 asks for approval", from: stBaking2, at: 127, event: Tick{CanOpen: true}, want: await3,
			actions: []Action{RequestApproval{Wave: 3, Clusters: []string{"c4"}, On: 2}}},
		{name: "approval/asked once", from: stAwaitApproval, at: 130, event: Tick{CanOpen: true}, want: await3},
		{name: "approval/approved wave opens on the next tick", from: machineSeq(stAwaitApproval, timedEvent{128, Approve{Wave: 3, By: "alice"}}), at: 129, event: Tick{CanOpen: true},
			want:    "Running | Succeeded Succeeded Open | c1=Succeeded c2=Succeeded c3=Succeeded c4=Pending",
			actions: []Action{OpenWave{Wave: 3, PRs: []PRRequest{{Tenant: "t2", Clusters: []string{"c4"}, Attempt: 1}}}}},
		{name: "approval/approve twice ignored", from: machineSeq(stAwaitApproval, timedEvent{128, Approve{Wave: 3, By: "alice"}}), event: Approve{Wave: 3, By: "bob"},
			wantErr: "already approved by alice", ignored: true, want: await3},
		{name: "approval/approve an opened wave ignored", policy: func() Policy { p := machinePolicy(); p.Approvals = map[int]bool{1: true}; return p }(),
			from: machineSeq(stScheduled, timedEvent{0, Approve{Wave: 1, By: "a"}}, timedEvent{0, Tick{CanOpen: true}}), event: Approve{Wave: 1, By: "b"},
			wantErr: "already approved by a", ignored: true, want: open1},

		// Paused
		{name: "paused/pause", from: stInPR1, at: 10, event: Pause{By: "ops"}, want: paused1},
		{name: "paused/pause twice ignored", from: stPausedInPR1, event: Pause{}, wantErr: "already paused", ignored: true, want: paused1},
		{name: "paused/merge recorded without gates", from: stPausedInPR1, at: 11, event: PRMerged{Wave: 1, Tenant: "t1", SHA: "aaa"},
			want:  "Paused | Open Pending Pending | c1=Applied c2=Pending c3=Pending c4=Pending",
			check: func(t *testing.T, s State) { assert.True(t, s.Waves[0].Clusters[0].GatesDue) }},
		{name: "paused/resume asks for the gates held back", from: machineSeq(stPausedInPR1, timedEvent{11, PRMerged{Wave: 1, Tenant: "t1", SHA: "aaa"}}), at: 50, event: Resume{By: "ops"},
			want: merged1, actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}},
			check: func(t *testing.T, s State) { assert.Equal(t, minute(80), s.Waves[0].Clusters[0].Deadline) }},
		{name: "paused/no timeout while paused", from: machineSeq(stMerged1, timedEvent{10, Pause{}}), at: 100, event: Tick{},
			want: strings.Replace(merged1, "Running", "Paused", 1)},
		{name: "paused/resume moves the deadline by the pause", from: machineSeq(stMerged1, timedEvent{10, Pause{}}), at: 70, event: Resume{},
			want: merged1, check: func(t *testing.T, s State) { assert.Equal(t, minute(92), s.Waves[0].Clusters[0].Deadline) }},
		{name: "paused/resume moves the bake by the pause", from: machineSeq(stBaking1, timedEvent{10, Pause{}}), at: 70, event: Resume{},
			want: baking1, check: func(t *testing.T, s State) { assert.Equal(t, minute(124), s.Waves[0].BakeUntil) }},
		{name: "paused/failure recorded, halt on resume", from: machineSeq(stVerify1, timedEvent{4, Pause{}}), at: 5, event: GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"},
			want: "Paused | Verifying Pending Pending | c1=Failed c2=Pending c3=Pending c4=Pending"},
		{name: "paused/resume over budget halts", from: machineSeq(stVerify1, timedEvent{4, Pause{}}, timedEvent{5, GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29"}}),
			at: 6, event: Resume{}, want: halted1, actions: []Action{PostReport{About: ReportHalted, Wave: 1, Failures: c1Failed}}},
		{name: "paused/retry held back until resume", from: machineSeq(stVerify1, timedEvent{4, Pause{}}, timedEvent{5, GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed}}),
			at: 6, event: Retry{Cluster: "c1"}, want: "Paused | Verifying Pending Pending | c1=Verifying c2=Pending c3=Pending c4=Pending"},

		// Halted
		{name: "halted/pause refused", from: stHalted1, event: Pause{}, wantErr: "halted campaign opens nothing", want: halted1},
		{name: "halted/resume over budget refused", from: stHalted1, event: Resume{}, wantErr: "1 cluster failed or timed out (c1), over the budget of 0", want: halted1},
		{name: "halted/retry verifies again", from: stHalted1, at: 10, event: Retry{Cluster: "c1", By: "ops"},
			want:    "Halted | Verifying Pending Pending | c1=Verifying c2=Pending c3=Pending c4=Pending",
			actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}},
			check: func(t *testing.T, s State) {
				c := s.Waves[0].Clusters[0]
				assert.Empty(t, c.Gates)
				assert.Empty(t, c.FailedGate)
				assert.Equal(t, minute(40), c.Deadline)
			}},
		{name: "halted/resume after retry", from: machineSeq(stHalted1, timedEvent{10, Retry{}}), at: 11, event: Resume{}, want: verify1},
		{name: "halted/skip, resume finishes the wave", from: machineSeq(stHalted1, timedEvent{10, SkipCluster{Cluster: "c1", Reason: "broken node group"}}), at: 11, event: Resume{},
			want: "Running | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending"},
		{name: "halted/skip needs a reason", from: stHalted1, event: SkipCluster{Cluster: "c1", Reason: " "}, wantErr: "needs a reason", want: halted1},
		{name: "halted/skip twice ignored", from: machineSeq(stHalted1, timedEvent{10, SkipCluster{Cluster: "c1", Reason: "r"}}), event: SkipCluster{Cluster: "c1", Reason: "r"},
			wantErr: "already skipped", ignored: true, want: "Halted | Succeeded Pending Pending | c1=Skipped c2=Pending c3=Pending c4=Pending"},
		{name: "halted/retry a pending cluster refused", from: stHalted1, event: Retry{Cluster: "c2"}, wantErr: "cluster c2 is Pending", want: halted1},
		{name: "halted/retry unknown cluster refused", from: stHalted1, event: Retry{Cluster: "zz"}, wantErr: `no cluster "zz"`, want: halted1},
		{name: "running/retry all with nothing to retry ignored", from: stBaking1, event: Retry{}, wantErr: "no cluster", ignored: true, want: baking1},
		{name: "running/skip a succeeded cluster refused", from: stBaking1, event: SkipCluster{Cluster: "c1", Reason: "r"}, wantErr: "already succeeded", want: baking1},
		{name: "running/resume ignored", from: stBaking1, event: Resume{}, wantErr: "neither paused nor halted", ignored: true, want: baking1},
		{name: "halted/failed wave back to verifying on retry", policy: budget1, from: machineSeq(stBaking1, timedEvent{30, GateResult{Cluster: "c1", Gate: "argocd", Outcome: GateFailed}}),
			at: 31, event: Retry{}, want: "Halted | Verifying Pending Pending | c1=Verifying c2=Pending c3=Pending c4=Pending",
			actions: []Action{RunGates{Wave: 1, Clusters: []string{"c1"}}}},

		// Abort
		{name: "abort/closes the open pull requests", from: stInPR1, at: 5, event: Abort{By: "ops", Reason: "bad release"},
			want:    abortedInPR1,
			actions: []Action{ClosePRs{Wave: 1, PRs: []PRRef{{Tenant: "t1", Number: 101, Clusters: []string{"c1"}}}, Reason: "the campaign was aborted by ops: bad release"}, PostReport{About: ReportAborted, Wave: 1}},
			check: func(t *testing.T, s State) {
				c := s.Waves[0].Clusters[0]
				last := c.Evidence[len(c.Evidence)-1]
				assert.Equal(t, Evidence{At: minute(5), Event: "abort", From: "InPR", To: "Stopped", By: "ops", Detail: "bad release"}, last)
				assert.False(t, c.Merged(), "its pull request was closed unmerged")
			}},
		{name: "abort/stops merged clusters not verified yet, and says they merged", from: stMerged2, at: 70, event: Abort{By: "ops"},
			want:    "Aborted | Succeeded Stopped Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending",
			actions: []Action{PostReport{About: ReportAborted, Wave: 2}},
			check: func(t *testing.T, s State) {
				for _, c := range s.Waves[1].Clusters {
					assert.True(t, c.Merged(), c.Name)
					assert.False(t, c.GatesDue || !c.Deadline.IsZero(), "%s is no longer verified", c.Name)
				}
				assert.False(t, s.Waves[0].Clusters[0].Phase == ClusterStopped, "a succeeded cluster keeps its phase")
			}},
		{name: "abort/stops a baking wave: its bake no longer ends", from: machineSeq(stBaking1, timedEvent{10, Abort{By: "ops"}}), at: 500, event: Tick{CanOpen: true},
			want: "Aborted | Stopped Pending Pending | c1=Succeeded c2=Pending c3=Pending c4=Pending"},
		{name: "abort/twice ignored", from: machineSeq(stInPR1, timedEvent{5, Abort{}}), event: Abort{}, wantErr: "already aborted", ignored: true, want: abortedInPR1},
		{name: "abort/late pr is closed", from: machineSeq(stOpen1, timedEvent{5, Abort{}}), at: 6, event: PROpened{Wave: 1, Tenant: "t1", Number: 101},
			want:    abortedOpen1,
			actions: []Action{ClosePRs{Wave: 1, PRs: []PRRef{{Tenant: "t1", Number: 101, Clusters: []string{"c1"}}}, Reason: "the campaign is Aborted"}}},
		{name: "abort/late merge refused", from: machineSeq(stInPR1, timedEvent{5, Abort{}}), event: PRMerged{Wave: 1, Tenant: "t1", SHA: "aaa"},
			wantErr: "revert the merge or start a new campaign", want: abortedInPR1},
		{name: "abort/late close ignored", from: machineSeq(stInPR1, timedEvent{5, Abort{}}), event: PRClosed{Wave: 1, Tenant: "t1"},
			wantErr: "closed its pull requests", ignored: true, want: abortedInPR1},
		{name: "abort/tick does nothing", from: machineSeq(stInPR1, timedEvent{5, Abort{}}), at: 500, event: Tick{CanOpen: true}, want: abortedInPR1},
		{name: "abort/skip refused", from: machineSeq(stInPR1, timedEvent{5, Abort{}}), event: SkipCluster{Cluster: "c2", Reason: "r"}, wantErr: "takes no more steps", want: abortedInPR1},

		// Rollback
		{name: "halted/retry after the bake ran out bakes the wave again", from: machineSeq(stMerged2,
			timedEvent{67, GateResult{Cluster: "c2", Gate: "eks", Outcome: GatePassed}},
			timedEvent{67, GateResult{Cluster: "c2", Gate: "argocd", Outcome: GatePassed}},
			timedEvent{68, GateResult{Cluster: "c3", Gate: "eks", Outcome: GateFailed, Detail: "x"}},
			timedEvent{200, Tick{CanOpen: true}}), at: 201, event: Retry{Cluster: "c3"},
			want:    "Halted | Succeeded Verifying Pending | c1=Succeeded c2=Succeeded c3=Verifying c4=Pending",
			actions: []Action{RunGates{Wave: 2, Clusters: []string{"c3"}}},
			check: func(t *testing.T, s State) {
				assert.True(t, s.Waves[1].BakeUntil.IsZero(), "the bake starts again once c3 settles")
			}},
		{name: "rollback/eks refused", policy: eks, from: stBaking1, event: Rollback{}, wantErr: "EKS cannot downgrade a control plane. Fix forward", want: baking1},
		{name: "rollback/forward-only field refused", policy: field, from: stBaking1, event: Rollback{}, wantErr: "declares its field change forward-only", want: baking1},
		{name: "rollback/nothing merged refused", from: stInPR1, event: Rollback{}, wantErr: "nothing to revert; abort instead", want: inPR1},
		{name: "rollback/a skip closes a revert asked for that has no cluster left", from: machineSeq(stMerged2, timedEvent{71, Rollback{By: "ops"}}), at: 72,
			event:   SkipCluster{Cluster: "c3", Reason: "its file was changed by hand", By: "ops"},
			want:    "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Pending c3=Skipped c1=Pending",
			actions: []Action{ClosePRs{Wave: 4, PRs: []PRRef{{Tenant: "t2", Clusters: []string{"c3"}}}, Reason: "every cluster it changes was skipped"}},
			check: func(t *testing.T, s State) {
				assert.Equal(t, []PRStatus{PRStatusRequested, PRStatusClosed}, []PRStatus{s.Waves[3].PRs[0].Status, s.Waves[3].PRs[1].Status})
				assert.Equal(t, "wave 4: the pull requests of t1 to open", s.Waiting(time.Time{}).Text, "the skipped tenant's revert holds nothing back")
			}},
		{name: "rollback/opens the first revert wave at once", from: stMerged2, at: 71, event: Rollback{By: "ops"},
			want: "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Pending c3=Pending c1=Pending",
			actions: []Action{
				PostReport{About: ReportRollingBack, Wave: 2},
				OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c2"}, Attempt: 1}, {Tenant: "t2", Clusters: []string{"c3"}, Attempt: 1}}},
			},
			check: func(t *testing.T, s State) {
				assert.Equal(t, []WaveKind{WaveChange, WaveChange, WaveChange, WaveRevert, WaveRevert}, []WaveKind{s.Waves[0].Kind, s.Waves[1].Kind, s.Waves[2].Kind, s.Waves[3].Kind, s.Waves[4].Kind})
				assert.Equal(t, 2, s.Waves[3].Reverts)
				assert.Equal(t, 1, s.Waves[4].Reverts)
				assert.Equal(t, minute(71), s.Waves[1].RevertedAt)
				assert.True(t, s.Waves[2].RevertedAt.IsZero(), "wave 3 never merged")
			}},
		{name: "rollback/closes unmerged and reverts merged", from: machineSeq(stOpen2, timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}}, timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", SHA: "bbb"}}), at: 70, event: Rollback{},
			want: "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Pending c1=Pending",
			actions: []Action{
				ClosePRs{Wave: 2, PRs: []PRRef{{Tenant: "t2", Clusters: []string{"c3"}}}, Reason: "the campaign is rolled back"},
				PostReport{About: ReportRollingBack, Wave: 2},
				OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c2"}, Attempt: 1}}},
			}},
		{name: "rollback/after success", from: stDone, at: 300, event: Rollback{},
			want: "RollingBack | Succeeded Succeeded Succeeded Open Pending Pending | c1=Succeeded c2=Succeeded c3=Succeeded c4=Succeeded c4=Pending c2=Pending c3=Pending c1=Pending",
			actions: []Action{
				PostReport{About: ReportRollingBack, Wave: 3},
				OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t2", Clusters: []string{"c4"}, Attempt: 1}}},
			}},
		{name: "rollback/retry reopens a closed revert pr", from: machineSeq(stMerged2, timedEvent{71, Rollback{By: "ops"}},
			timedEvent{72, PROpened{Wave: 4, Tenant: "t1", Number: 401}}, timedEvent{73, PRClosed{Wave: 4, Tenant: "t1", Number: 401}}),
			at: 74, event: Retry{Cluster: "c2", By: "ops"},
			want:    "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Pending c3=Pending c1=Pending",
			actions: []Action{OpenWave{Wave: 4, PRs: []PRRequest{{Tenant: "t1", Clusters: []string{"c2"}, Attempt: 2}}}}},
		{name: "rollback/retry verifies a failed revert cluster again", policy: budget1, from: machineSeq(stMerged2, timedEvent{71, Rollback{By: "ops"}},
			timedEvent{72, PROpened{Wave: 4, Tenant: "t1", Number: 401}}, timedEvent{73, PRMerged{Wave: 4, Tenant: "t1", SHA: "r41"}},
			timedEvent{74, GateResult{Wave: 4, Cluster: "c2", Gate: "argocd", Outcome: GateFailed, Detail: "app degraded"}}),
			at: 75, event: Retry{Cluster: "c2", By: "ops"},
			want:    "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Verifying c3=Pending c1=Pending",
			actions: []Action{RunGates{Wave: 4, Clusters: []string{"c2"}}}},
		{name: "rollback/retry of a change wave's cluster refused", policy: budget1, from: machineSeq(stMerged2, timedEvent{71, Rollback{By: "ops"}}),
			at: 72, event: Retry{Cluster: "c4", By: "ops"}, wantErr: `no cluster "c4" in this campaign`,
			want: "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Pending c3=Pending c1=Pending"},
		{name: "rollback/twice ignored", from: machineSeq(stDone, timedEvent{300, Rollback{}}), event: Rollback{}, wantErr: "already rolling back", ignored: true,
			want: "RollingBack | Succeeded Succeeded Succeeded Open Pending Pending | c1=Succeeded c2=Succeeded c3=Succeeded c4=Succeeded c4=Pending c2=Pending c3=Pending c1=Pending"},
		{name: "rollback/a gate result of a change wave is no longer news", from: machineSeq(stOpen2, timedEvent{65, PROpened{Wave: 2, Tenant: "t1", Number: 201}}, timedEvent{66, PRMerged{Wave: 2, Tenant: "t1", SHA: "bbb"}}, timedEvent{70, Rollback{}}),
			at: 71, event: GateResult{Wave: 2, Cluster: "c2", Gate: "eks", Outcome: GatePassed}, wantErr: "wave 2 is no longer verified", ignored: true,
			want: "RollingBack | Succeeded Stopped Pending Open Pending | c1=Succeeded c2=Stopped c3=Stopped c4=Pending c2=Pending c1=Pending"},

		// Succeeded
		{name: "succeeded/last bake ends the campaign", from: stDone[:len(stDone)-1], at: 191, event: Tick{}, want: done,
			actions: []Action{PostReport{About: ReportSucceeded, Wave: 3}}},
		{name: "succeeded/gate result refused", from: stDone, event: GateResult{Cluster: "c4", Gate: "eks", Outcome: GateFailed}, wantErr: "takes no more steps", want: done},
		{name: "succeeded/abort refused", from: stDone, event: Abort{}, wantErr: "takes no more steps", want: done},
		{name: "succeeded/tick does nothing", from: stDone, at: 999, event: Tick{CanOpen: true}, want: done},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.policy
			if p.Gates == nil {
				p = rev
			}
			s := driveMachine(t, newMachineState(t, p), tc.from)
			before := machineJSON(t, s)
			got, acts, err := Transition(s, tc.event, minute(tc.at))
			assert.Equal(t, before, machineJSON(t, s), "Transition changed its input")
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.actions, withoutSummaries(acts))
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, tc.ignored, errors.Is(err, ErrIgnored), "errors.Is(err, ErrIgnored)")
				var ee *EventError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, tc.event.Kind(), ee.Event)
				assert.Nil(t, acts)
				assert.Equal(t, before, machineJSON(t, got), "a refused event changed the state")
			}
			assert.Equal(t, tc.want, machineSummary(got))
			if tc.check != nil && err == nil {
				tc.check(t, got)
			}
		})
	}
}

func TestTransitionForwardOnlyIsTyped(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	p.Revertible, p.Change = false, KindEKSVersion
	s := driveMachine(t, newMachineState(t, p), stBaking1)
	_, _, err := Transition(s, Rollback{}, minute(10))
	assert.ErrorIs(t, err, ErrForwardOnly)
	assert.NotErrorIs(t, err, ErrIgnored)
}

func TestTransitionNilEvent(t *testing.T) {
	t.Parallel()
	s := newMachineState(t, machinePolicy())
	_, _, err := Transition(s, nil, machineT0)
	assert.ErrorContains(t, err, "no event")
}

func TestNewStateRejects(t *testing.T) {
	t.Parallel()
	ok := machinePolicy()
	ok.Approvals = nil
	with := func(f func(p *Policy)) Policy { p := machinePolicy(); f(&p); return p }
	tests := []struct {
		name    string
		policy  Policy
		waves   [][]ClusterRef
		wantErr string
	}{
		{"negative bake", with(func(p *Policy) { p.Bake = -time.Second }), machineWaves, "bake -1s is negative"},
		{"negative deadline", with(func(p *Policy) { p.ProgressDeadline = -time.Second }), machineWaves, "progress deadline -1s is negative"},
		{"negative budget", with(func(p *Policy) { p.MaxFailures = -1 }), machineWaves, "max failures -1 is negative"},
		{"no gates", with(func(p *Policy) { p.Gates = nil }), machineWaves, "no gates"},
		{"empty gate", with(func(p *Policy) { p.Gates = []string{""} }), machineWaves, "empty gate name"},
		{"gate twice", with(func(p *Policy) { p.Gates = []string{"eks", "eks"} }), machineWaves, `gate "eks" named twice`},
		{"approval out of range", with(func(p *Policy) { p.Approvals = map[int]bool{4: true} }), machineWaves, "approval for wave 4, but waves are numbered 1 to 3"},
		{"approval of wave 0", with(func(p *Policy) { p.Approvals = map[int]bool{0: true} }), machineWaves, "approval for wave 0"},
		{"empty wave", ok, [][]ClusterRef{{{Name: "a", Tenant: "t"}}, {}}, "wave 2: no clusters"},
		{"cluster without name", ok, [][]ClusterRef{{{Tenant: "t"}}}, "wave 1 cluster 1: empty name"},
		{"cluster without tenant", ok, [][]ClusterRef{{{Name: "a"}}}, `wave 1 cluster "a": empty tenant`},
		{"cluster twice in a wave", ok, [][]ClusterRef{{{Name: "a", Tenant: "t"}, {Name: "a", Tenant: "t"}}}, `cluster "a" is twice in wave 1`},
		{"clean-up gate not a gate", Policy{Gates: []string{"eks"}, CleanupGates: []string{"argocd"}}, [][]ClusterRef{{{Name: "a", Tenant: "t"}}}, `clean-up gate "argocd" is not one of the gates (eks)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewState("c", tc.policy, changeWaves(tc.waves...))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Equal(t, err, checkNewState("c", tc.policy, changeWaves(tc.waves...)), "the check alone")
		})
	}
	t.Run("empty name", func(t *testing.T) {
		t.Parallel()
		_, err := NewState("", ok, changeWaves(machineWaves...))
		assert.ErrorContains(t, err, "empty campaign name")
	})
}

func TestNewStateOwnsItsInput(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	s, err := NewState("c", p, changeWaves(machineWaves...))
	require.NoError(t, err)
	p.Gates[0] = "changed"
	p.Approvals[1] = true
	assert.Equal(t, []string{"argocd", "eks"}, s.Policy.Gates)
	assert.Equal(t, map[int]bool{3: true}, s.Policy.Approvals)
}

// TestScenarioGolden runs a campaign through its main paths and compares the
// transcript (events, errors, actions with the reports' text, final state)
// with a golden file.
func TestScenarioGolden(t *testing.T) {
	t.Parallel()
	p := machinePolicy()
	p.MaxFailures = 0
	s := newMachineState(t, p)
	steps := machineSeq(stBaking2,
		timedEvent{90, GateResult{Cluster: "c3", Gate: "argocd", Outcome: GateFailed, Detail: "app addons/metrics-server Degraded: CrashLoopBackOff"}},
		timedEvent{91, Resume{By: "ops"}},
		timedEvent{92, Retry{Cluster: "c3", By: "ops"}},
		timedEvent{93, Resume{By: "ops"}},
		timedEvent{95, GateResult{Cluster: "c3", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{95, GateResult{Cluster: "c3", Gate: "eks", Outcome: GateWaiting, Detail: "nodegroup ng-1 on 1.29"}},
		timedEvent{96, GateResult{Cluster: "c3", Gate: "eks", Outcome: GatePassed}},
		timedEvent{130, Tick{CanOpen: true}},
		timedEvent{156, Tick{CanOpen: true}},
		timedEvent{157, Approve{Wave: 3, By: "alice"}},
		timedEvent{157, Tick{CanOpen: true}},
		timedEvent{158, PROpened{Wave: 3, Tenant: "t2", Number: 301}},
		timedEvent{159, PRClosed{Wave: 3, Tenant: "t2", Number: 301}},
		timedEvent{160, Retry{By: "ops"}},
		timedEvent{161, PROpened{Wave: 3, Tenant: "t2", Number: 302}},
		timedEvent{162, Rollback{By: "ops"}},
		timedEvent{163, PRMerged{Wave: 3, Tenant: "t2", SHA: "eee"}},
		// The revert waves run like any other: merged, gated, baked, one
		// at a time; a failure during one halts the rollback.
		timedEvent{164, PROpened{Wave: 4, Tenant: "t1", Number: 401}},
		timedEvent{164, PROpened{Wave: 4, Tenant: "t2", Number: 402}},
		timedEvent{165, PRMerged{Wave: 4, Tenant: "t1", SHA: "r41"}},
		timedEvent{165, PRMerged{Wave: 4, Tenant: "t2", SHA: "r42"}},
		timedEvent{166, GateResult{Wave: 4, Cluster: "c2", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{166, GateResult{Wave: 4, Cluster: "c2", Gate: "eks", Outcome: GatePassed}},
		timedEvent{166, GateResult{Wave: 4, Cluster: "c3", Gate: "argocd", Outcome: GateFailed, Detail: "cluster secret label addonsRelease=release2, want release1"}},
		timedEvent{167, Resume{By: "ops"}},
		timedEvent{168, Retry{Cluster: "c3", By: "ops"}},
		timedEvent{169, Resume{By: "ops"}},
		timedEvent{170, GateResult{Wave: 4, Cluster: "c3", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{170, GateResult{Wave: 4, Cluster: "c3", Gate: "eks", Outcome: GatePassed}},
		timedEvent{200, Tick{}},
		timedEvent{230, Tick{}},
		timedEvent{231, PROpened{Wave: 5, Tenant: "t1", Number: 501}},
		timedEvent{232, PRMerged{Wave: 5, Tenant: "t1", SHA: "r51"}},
		timedEvent{233, GateResult{Wave: 5, Cluster: "c1", Gate: "argocd", Outcome: GatePassed}},
		timedEvent{233, GateResult{Wave: 5, Cluster: "c1", Gate: "eks", Outcome: GatePassed}},
		timedEvent{293, Tick{}},
		timedEvent{294, Rollback{By: "ops"}},
	)
	var b strings.Builder
	for _, st := range steps {
		ev, err := json.Marshal(st.e)
		require.NoError(t, err)
		fmt.Fprintf(&b, "+%dm %s %s\n", st.at, st.e.Kind(), ev)
		var acts []Action
		s, acts, err = Transition(s, st.e, minute(st.at))
		if err != nil {
			fmt.Fprintf(&b, "  error: %v\n", err)
		}
		for _, a := range acts {
			aj, err := json.Marshal(a)
			require.NoError(t, err)
			fmt.Fprintf(&b, "  %s %s\n", a.Kind(), aj)
		}
		fmt.Fprintf(&b, "  = %s\n", machineSummary(s))
	}
	state, err := json.MarshalIndent(s, "", "  ")
	require.NoError(t, err)
	machineGolden(t, "scenario.txt", b.String())
	machineGolden(t, "scenario-state.json", string(state)+"\n")
}

// TestNotReached: only a pending wave of a campaign that ended is not
// reached; a running campaign's pending waves are still to come.
func TestNotReached(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		campaign CampaignPhase
		wave     WavePhase
		want     bool
	}{
		{CampaignAborted, WavePending, true},
		{CampaignRolledBack, WavePending, true},
		{CampaignSucceeded, WavePending, true},
		{CampaignAborted, WaveSucceeded, false},
		{CampaignAborted, WaveStopped, false},
		{CampaignRunning, WavePending, false},
		{CampaignHalted, WavePending, false},
		{CampaignScheduled, WavePending, false},
	} {
		s := State{Phase: tc.campaign}
		assert.Equal(t, tc.want, s.NotReached(WaveState{Phase: tc.wave}), "%s campaign, %s wave", tc.campaign, tc.wave)
	}
}

// TestReverted: a wave is reverted once a revert wave of it succeeded, not
// when the rollback asked for it.
func TestReverted(t *testing.T) {
	t.Parallel()
	asked := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		revert WavePhase
		want   bool
	}{
		{WavePending, false}, {WaveOpen, false}, {WaveBaking, false}, {WaveFailed, false}, {WaveSucceeded, true},
	} {
		s := State{Waves: []WaveState{
			{Number: 1, Phase: WaveSucceeded, RevertedAt: asked},
			{Number: 2, Phase: WaveSucceeded},
			{Number: 3, Kind: WaveRevert, Reverts: 1, Phase: tc.revert},
		}}
		assert.Equal(t, tc.want, s.Reverted(s.Waves[0]), "revert wave %s", tc.revert)
		assert.False(t, s.Reverted(s.Waves[1]), "a wave no revert names")
	}
}

// TestWaveFailed: a failed wave's halt reason says which of the two ways
// it failed, and names its failed clusters.
func TestWaveFailed(t *testing.T) {
	t.Parallel()
	c := func(name string, p ClusterPhase) ClusterState { return ClusterState{Name: name, Phase: p} }
	many := WaveState{Number: 3}
	for i := range 7 {
		many.Clusters = append(many.Clusters, c(fmt.Sprintf("c%d", i), ClusterFailed))
	}
	for _, tc := range []struct {
		w    WaveState
		want string
	}{
		{WaveState{Number: 1, Clusters: []ClusterState{c("a", ClusterSucceeded), c("b", ClusterFailed)}}, "wave 1 failed: b failed during its bake"},
		{WaveState{Number: 2, Clusters: []ClusterState{c("a", ClusterTimedOut), c("b", ClusterFailed), c("s", ClusterSkipped)}},
			"wave 2 failed: none of its clusters passed (a timed out, b failed)"},
		{many, "wave 3 failed: none of its clusters passed (c0 failed, c1 failed, c2 failed, c3 failed, c4 failed and 2 more)"},
	} {
		assert.Equal(t, tc.want, waveFailed(&tc.w))
	}
}

// TestApprovalAfterItsRequest: an approval given before its request was
// posted drops the request; one given after it is posted on the same pull
// requests, which no longer ask for it.
func TestApprovalAfterItsRequest(t *testing.T) {
	t.Parallel()
	asked := driveMachine(t, newMachineState(t, machinePolicy()), stAwaitApproval)
	require.Len(t, asked.Posts, 1)
	request := asked.Posts[0]
	require.NotNil(t, request.Approval)

	s, acts, err := Transition(asked, Approve{Wave: 3, By: "alice"}, minute(128))
	require.NoError(t, err)
	assert.Empty(t, acts, "the request was not posted: nothing to answer")
	assert.Empty(t, s.Posts)

	posted := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stAwaitApproval, timedEvent{128, Posted{Seq: request.seq()}}))
	require.Empty(t, posted.Posts)
	s, acts, err = Transition(posted, Approve{Wave: 3, By: "alice"}, minute(129))
	require.NoError(t, err)
	require.Len(t, acts, 1)
	r, ok := acts[0].(PostReport)
	require.True(t, ok, "%#v", acts[0])
	assert.Equal(t, ReportApproved, r.About)
	assert.Equal(t, request.on(), r.Wave, "on the pull requests the request went to")
	assert.Equal(t, "Wave 3 was approved by alice; it opens once the waves before it are done and the schedule allows.", r.Summary)
	assert.Len(t, s.Posts, 1, "kept until posted")
}
