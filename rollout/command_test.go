package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    []string
		want    Command
		wantErr string
	}{
		{line: []string{"help"}, want: Command{Name: "help"}},
		{line: []string{"approve"}, want: Command{Name: "approve"}},
		{line: []string{"approve", "3"}, want: Command{Name: "approve", Wave: 3}},
		{line: []string{"approve", "three"}, wantErr: `wave "three" is not a wave number; usage: /fleet approve [WAVE]`},
		{line: []string{"retry"}, want: Command{Name: "retry"}},
		{line: []string{"retry", "a-dev-1"}, want: Command{Name: "retry", Cluster: "a-dev-1"}},
		{line: []string{"skip", "a-dev-1", "--reason", "decommissioned next week"}, want: Command{Name: "skip", Cluster: "a-dev-1", Reason: "decommissioned next week"}},
		{line: []string{"skip", "--reason=broken", "a-dev-1"}, want: Command{Name: "skip", Cluster: "a-dev-1", Reason: "broken"}},
		{line: []string{"skip", "a-dev-1"}, wantErr: `skip needs --reason: say why the cluster is left out; usage: /fleet skip CLUSTER --reason "..."`},
		{line: []string{"skip", "a-dev-1", "--reason"}, wantErr: "--reason needs a text"},
		{line: []string{"skip", "--reason", "x"}, wantErr: "skip takes one cluster"},
		{line: []string{"abort", "--reason", "wrong version"}, want: Command{Name: "abort", Reason: "wrong version"}},
		{line: []string{"pause", "now"}, wantErr: `pause takes no argument "now"; usage: /fleet pause`},
		{line: []string{"pause", "--force"}, wantErr: "pause takes no flag --force"},
		{line: []string{"rollbak"}, wantErr: `"rollbak" is not a command (did you mean "rollback"?); usage: /fleet rollback`},
		{line: []string{"deploy"}, wantErr: `"deploy" is not a command; usage: /fleet help`},
		{line: []string{""}, wantErr: "no command after /fleet; usage: /fleet help"},
	}
	for _, tc := range tests {
		got, err := ParseCommand(tc.line[0], tc.line[1:])
		if tc.wantErr != "" {
			var ue *UsageError
			require.ErrorAs(t, err, &ue, "%v", tc.line)
			assert.Contains(t, err.Error(), tc.wantErr, "%v", tc.line)
			continue
		}
		require.NoError(t, err, "%v", tc.line)
		assert.Equal(t, tc.want, got, "%v", tc.line)
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	s := driveMachine(t, newMachineState(t, machinePolicy()), stBaking1)
	admin := Actor{Login: "pat", Admin: true}
	owner1 := Actor{Login: "alice", Tenants: []string{"t1"}}
	stranger := Actor{Login: "eve"}
	app := Actor{Login: "fleetbot[bot]", Bot: true, Admin: true}
	tests := []struct {
		name    string
		c       Command
		a       Actor
		wantErr string
	}{
		{"anyone may ask for help", Command{Name: "help"}, stranger, ""},
		{"anyone may see the status", Command{Name: "status"}, stranger, ""},
		{"an admin may pause", Command{Name: "pause"}, admin, ""},
		{"an owner may not pause", Command{Name: "pause"}, owner1, "@alice may not run pause: only fleet admins may"},
		{"a stranger may not roll back", Command{Name: "rollback"}, stranger, "@eve may not run rollback: only fleet admins may"},
		{"an owner may skip their cluster", Command{Name: "skip", Cluster: "c1", Reason: "r"}, owner1, ""},
		{"an owner may retry their cluster", Command{Name: "retry", Cluster: "c2"}, owner1, ""},
		{"an owner may not skip another tenant's", Command{Name: "skip", Cluster: "c3", Reason: "r"}, owner1, "@alice may not run skip on c3: fleet admins and the owners of t2 may"},
		{"an owner may not retry everything", Command{Name: "retry"}, owner1, "fleet admins may; a tenant's owners may name one of their tenant's clusters"},
		{"an unknown cluster", Command{Name: "skip", Cluster: "zz", Reason: "r"}, owner1, `no cluster "zz" in campaign addons-r2`},
		{"an admin may approve", Command{Name: "approve", Wave: 3}, admin, ""},
		{"an owner may not approve a wave", Command{Name: "approve", Wave: 3}, owner1, "only fleet admins may"},
		{"the bot itself is refused", Command{Name: "status"}, app, "fleetbot takes commands from people only"},
		{"an owner approves their tenant's pull request", Command{Name: "approve", Tenant: "t1"}, owner1, ""},
		{"an owner may not approve another tenant's", Command{Name: "approve", Tenant: "t2"}, owner1, "@alice may not approve this pull request: the owners of t2 may; fleet admins release waves"},
		{"a stranger may not approve a pull request", Command{Name: "approve", Tenant: "t1"}, stranger, "the owners of t1 may"},
		{"off a pull request, an owner is told where to approve", Command{Name: "approve"}, owner1,
			"@alice may not release a wave: only fleet admins may; a tenant's owners approve their tenant's pull request with /fleet approve on it"},
		{"off a pull request, a stranger may not release a wave", Command{Name: "approve"}, stranger, "@eve may not release a wave: only fleet admins may"},
		{"off a pull request, an admin may release a wave", Command{Name: "approve", Wave: 3}, admin, ""},
	}
	for _, tc := range tests {
		err := Authorize(tc.c, tc.a, s)
		if tc.wantErr == "" {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorContains(t, err, tc.wantErr, tc.name)
		}
	}
}

func TestCommandEvent(t *testing.T) {
	t.Parallel()
	waiting := driveMachine(t, newMachineState(t, machinePolicy()), stAwaitApproval)
	running := driveMachine(t, newMachineState(t, machinePolicy()), stBaking1)
	tests := []struct {
		c       Command
		s       State
		want    Event
		wantErr string
	}{
		{Command{Name: "approve", Tenant: "t1"}, waiting, Approve{Wave: 3, By: "pat"}, ""},
		{Command{Name: "approve", Tenant: "t1"}, running, nil, "no wave of campaign addons-r2 waits for an approval"},
		{Command{Name: "approve"}, waiting, nil, "off a pull request, approve names the wave it releases; usage: /fleet approve WAVE"},
		{Command{Name: "approve", Wave: 2}, running, Approve{Wave: 2, By: "pat"}, ""},
		{Command{Name: "approve", Wave: 3}, waiting, Approve{Wave: 3, By: "pat"}, ""},
		{Command{Name: "skip", Cluster: "c1", Reason: "r"}, running, SkipCluster{Cluster: "c1", Reason: "r", By: "pat"}, ""},
		{Command{Name: "retry"}, running, Retry{By: "pat"}, ""},
		{Command{Name: "abort", Reason: "x"}, running, Abort{By: "pat", Reason: "x"}, ""},
		{Command{Name: "pause"}, running, Pause{By: "pat"}, ""},
		{Command{Name: "resume"}, running, Resume{By: "pat"}, ""},
		{Command{Name: "rollback"}, running, Rollback{By: "pat"}, ""},
		{Command{Name: "status"}, running, nil, ""},
	}
	for _, tc := range tests {
		got, err := tc.c.Event("pat", tc.s)
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr, tc.c.Name)
			continue
		}
		require.NoError(t, err, tc.c.Name)
		assert.Equal(t, tc.want, got, tc.c.Name)
	}
	assert.Contains(t, Help(), "| `/fleet skip CLUSTER --reason \"...\"` |")
	owner := Actor{Login: "alice", Tenants: []string{"t1"}}
	assert.True(t, Command{Name: "approve", Tenant: "t1"}.ApprovesPR(owner))
	assert.False(t, Command{Name: "approve", Tenant: "t1", Wave: 2}.ApprovesPR(owner), "a number names a wave")
	assert.False(t, Command{Name: "approve", Tenant: SharedTenant}.ApprovesPR(owner))
	assert.True(t, Command{Name: "approve", Tenant: SharedTenant}.ApprovesPR(Actor{Login: "pat", Admin: true}))
	assert.False(t, Command{Name: "approve"}.ApprovesPR(owner), "off a pull request")
}

func TestLateComment(t *testing.T) {
	t.Parallel()
	written := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		written time.Time
		now     time.Time
		late    bool
		answer  string
	}{
		{name: "found at once", written: written, now: written},
		{name: "found within the catch-up", written: written, now: written.Add(CommandCatchUp)},
		{name: "found later", written: written, now: written.Add(3*time.Hour + 20*time.Second), late: true,
			answer: "not run: written at 2026-03-02T10:00:00Z while fleetbot received no webhooks, and found 3h0m0s later, past the 15m0s within which a missed command is still carried out; write it again if it is still wanted"},
		{name: "no time known", now: written},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			late, answer := LateComment(tc.written, tc.now)
			assert.Equal(t, tc.late, late)
			assert.Equal(t, tc.answer, answer)
		})
	}
}

func TestTakenDetail(t *testing.T) {
	t.Parallel()
	running := driveMachine(t, newMachineState(t, machinePolicy()), stInPR1)
	paused := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stInPR1, timedEvent{2, Pause{By: "ops"}}))
	early := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stInPR1, timedEvent{2, Approve{Wave: 3, By: "ops"}}))
	asked := running
	asked.Waves = append([]WaveState(nil), running.Waves...)
	asked.Waves[2].ApprovalRequested = true
	halted := driveMachine(t, newMachineState(t, machinePolicy()), stHalted1)
	retried := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stHalted1, timedEvent{6, Retry{Cluster: "c1", By: "ops"}}))
	skippedC1 := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stInPR1, timedEvent{2, SkipCluster{Cluster: "c1", Reason: "r", By: "ops"}}))
	skippedC4 := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stInPR1, timedEvent{2, SkipCluster{Cluster: "c4", Reason: "r", By: "ops"}}))
	closed := driveMachine(t, newMachineState(t, machinePolicy()), stClosed1)
	reopened := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stClosed1, timedEvent{3, Retry{Cluster: "c1", By: "ops"}},
		timedEvent{3, PROpened{Wave: 1, Tenant: "t1", Number: 111}}))
	again := driveMachine(t, newMachineState(t, machinePolicy()), machineSeq(stHalted1, timedEvent{6, Retry{Cluster: "c1", By: "ops"}},
		timedEvent{6, GateResult{Cluster: "c1", Gate: "eks", Outcome: GateFailed, Detail: "version 1.29" + EvidenceMark + "eks revision=x value=1.29]"}}))
	tests := []struct {
		name          string
		before, after State
		ev            Event
		want          string
	}{
		{name: "a retry", before: halted, after: retried, ev: Retry{Cluster: "c1", By: "ops"},
			want: "c1 is Verifying; the campaign is Halted (/fleet resume goes on)"},
		{name: "a retry of every cluster", before: halted, after: retried, ev: Retry{By: "ops"},
			want: "c1 is Verifying; the campaign is Halted (/fleet resume goes on)"},
		{name: "a retry failed again at once", before: halted, after: again, ev: Retry{Cluster: "c1", By: "ops"},
			want: "c1 failed again (eks: version 1.29); the campaign is Halted (1 cluster failed or timed out (c1), over the budget of 0: retry or skip them first)"},
		{name: "a skip that closes a pull request", before: running, after: skippedC1, ev: SkipCluster{Cluster: "c1", Reason: "r", By: "ops"},
			want: "c1 is Skipped in wave 1; pull request #101 closes: every cluster it changes is skipped; the campaign is Running"},
		{name: "a skip of a cluster not started", before: running, after: skippedC4, ev: SkipCluster{Cluster: "c4", Reason: "r", By: "ops"},
			want: "c4 is Skipped in wave 3; the campaign is Running"},
		{name: "a retry of a closed pull request", before: closed, after: reopened, ev: Retry{Cluster: "c1", By: "ops"},
			want: "c1 is InPR in #111; the campaign is Running"},
		{name: "a retry of another cluster", before: halted, after: retried, ev: Retry{Cluster: "c2", By: "ops"},
			want: "the campaign is Halted (/fleet resume goes on)"},
		{name: "a pause", before: running, after: paused, ev: Pause{By: "ops"}, want: "the campaign went from Running to Paused"},
		{name: "no move", before: running, after: running, ev: Retry{}, want: "the campaign is Running"},
		{name: "an approval ahead of its turn", before: running, after: early, ev: Approve{Wave: 3, By: "ops"},
			want: "wave 3 approved ahead of its turn: it opens without another approval once the waves before it are done; the campaign is Running"},
		{name: "an approval asked for", before: asked, after: asked, ev: Approve{Wave: 3, By: "ops"}, want: "wave 3 approved; the campaign is Running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, TakenDetail(tc.before, tc.after, tc.ev))
		})
	}
}

// TestUnclosedQuote: a line with a quote left open is refused with the
// quote and the usage of its command, or of help for a name that is none.
func TestUnclosedQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		quote byte
		want  string
	}{
		{"abort", '"', `the " quote this line opens is never closed; nothing of it ran; usage: /fleet abort [--reason "..."]`},
		{"skip", '\'', `the ' quote this line opens is never closed; nothing of it ran; usage: /fleet skip CLUSTER --reason "..."`},
		{"re try", '"', `the " quote this line opens is never closed; nothing of it ran; usage: /fleet help`},
	} {
		err := UnclosedQuote(tc.name, tc.quote)
		var ue *UsageError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, tc.want, err.Error(), tc.name)
	}
}

// TestApprovalRefused: an owner's approval of a merged or closed pull
// request is refused; an open one, or one the state does not know, is not.
func TestApprovalRefused(t *testing.T) {
	t.Parallel()
	s := State{Campaign: "eks-1-30", Phase: CampaignRunning, Waves: []WaveState{
		{Number: 1, PRs: []PRState{{Tenant: "t1", Number: 4, Status: PRStatusMerged}, {Tenant: "t2", Number: 5, Status: PRStatusClosed}},
			Clusters: []ClusterState{{Name: "c2", Tenant: "t2", Phase: ClusterInPR}}},
		{Number: 2, PRs: []PRState{{Tenant: "t1", Number: 9, Status: PRStatusOpen}, {Tenant: "t2", Number: 10, Status: PRStatusClosed}},
			Clusters: []ClusterState{{Name: "c3", Tenant: "t2", Phase: ClusterSkipped}}},
	}}
	for _, tc := range []struct {
		tenant string
		number int
		want   string
	}{
		{"t1", 4, "pull request #4 merged already: there is nothing left to approve"},
		{"t2", 5, "pull request #5 was closed without merge: /fleet retry opens a new one, to approve then"},
		{"t1", 9, ""},
		{"t2", 4, ""},
		{"t1", 77, ""},
		{"t2", 10, "pull request #10 was closed: every cluster it changes was skipped"},
	} {
		assert.Equal(t, tc.want, s.ApprovalRefused(tc.tenant, tc.number), "%s #%d", tc.tenant, tc.number)
	}
	s.Phase = CampaignAborted
	assert.Equal(t, "pull request #5 was closed when campaign eks-1-30 ended (Aborted): there is nothing left to approve", s.ApprovalRefused("t2", 5))
}
