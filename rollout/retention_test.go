package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPrunable(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	done := stDone // succeeded at +191m
	tests := []struct {
		name     string
		from     []timedEvent
		declared bool
		now      time.Time
		keep     time.Duration
		want     bool
		why      string
	}{
		{name: "running", from: stInPR1, now: minute(0).Add(400 * day), keep: day, why: "campaign addons-r2 is Running, not ended"},
		{name: "halted is not ended", from: stHalted1, now: minute(0).Add(400 * day), keep: day, why: "campaign addons-r2 is Halted, not ended"},
		{name: "ended, within retention", from: done, now: minute(191).Add(12 * time.Hour), keep: day, why: "campaign addons-r2 ended 12h0m0s ago, kept for 24h0m0s"},
		{name: "ended long ago, file still there", from: done, declared: true, now: minute(191).Add(2 * day), keep: day,
			why: "campaign addons-r2 ended 48h0m0s ago, but a campaign file still declares it: remove the file to let it go"},
		{name: "ended long ago, file gone", from: done, now: minute(191).Add(2 * day), keep: day, want: true,
			why: "campaign addons-r2 ended 48h0m0s ago (Succeeded) and no file declares it"},
		{name: "aborted long ago, file gone", from: machineSeq(stInPR1, timedEvent{5, Abort{By: "ops"}}), now: minute(5).Add(2 * day), keep: day, want: true,
			why: "campaign addons-r2 ended 48h0m0s ago (Aborted) and no file declares it"},
		{name: "no retention", from: done, now: minute(191).Add(400 * day), why: "campaign addons-r2 is kept for ever (no retention)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := driveMachine(t, newMachineState(t, machinePolicy()), tc.from)
			got, why := Prunable(s, tc.declared, tc.now, tc.keep)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.why, why)
		})
	}
}

// TestEntered: the step that took a campaign to a phase, not a resume that
// took it back there after a halt met in it.
func TestEntered(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	h := func(min int, event, from, to, by string) Evidence {
		return Evidence{At: t0.Add(time.Duration(min) * time.Minute), Event: event, From: from, To: to, By: by}
	}
	rolledBack := []Evidence{
		h(0, "schedule", "Pending", "Running", "fleetbot"),
		h(10, "halt", "Running", "Halted", "fleetbot"),
		h(20, "rollback", "Halted", "RollingBack", "pat"),
		h(30, "halt", "RollingBack", "Halted", "fleetbot"),
		h(40, "resume", "Halted", "RollingBack", "zoe"),
		h(50, "rolled-back", "RollingBack", "RolledBack", "fleetbot"),
	}
	for _, tc := range []struct {
		name    string
		history []Evidence
		phase   CampaignPhase
		want    Evidence
		ok      bool
	}{
		{"the rollback, not the resume after its halt", rolledBack, CampaignRollingBack, rolledBack[2], true},
		{"the end", rolledBack, CampaignRolledBack, rolledBack[5], true},
		{"the last halt", rolledBack, CampaignHalted, rolledBack[3], true},
		{"never entered", rolledBack, CampaignAborted, Evidence{}, false},
		{"entered by a resume only", []Evidence{h(0, "resume", "Paused", "Running", "pat")}, CampaignRunning, Evidence{}, false},
	} {
		got, ok := State{History: tc.history}.Entered(tc.phase)
		assert.Equal(t, tc.ok, ok, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
}
