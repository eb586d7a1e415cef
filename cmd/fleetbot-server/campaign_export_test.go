package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// auditState is a campaign that went through most of what a report shows:
// an approval, a merged wave, a gate failure, a retry, a skip with a
// reason, a halt and a resume.
func auditState() rollout.State {
	at := func(m int) time.Time { return time.Date(2026, 12, 1, 9, m, 0, 0, time.UTC) }
	return rollout.State{
		Campaign: "eks-1-30", Phase: rollout.CampaignRunning,
		Policy: rollout.Policy{Change: rollout.KindEKSVersion, MaxFailures: 0, Gates: []string{"argocd", "terraform"}},
		Waves: []rollout.WaveState{
			{
				Number: 1, Phase: rollout.WaveSucceeded, ApprovedBy: "pat", ApprovedAt: at(1), OpenedAt: at(2),
				BakeStart: at(20), BakeUntil: at(50), FinishedAt: at(50),
				PRs: []rollout.PRState{{Tenant: "tenant-a", Status: rollout.PRStatusMerged, Number: 1, SHA: "aaaa111", Attempt: 1, OpenedAt: at(2), MergedAt: at(5),
					MergedBy: "alex", ApprovedBy: "alex", Reviews: []rollout.ReviewVerdict{
						{User: "eve", State: "APPROVED", Commit: "bbbb222", Note: "not an owner of the tenant"},
						{User: "alex", State: "APPROVED", Commit: "bbbb222", Counted: true},
					}}},
				Clusters: []rollout.ClusterState{
					{Name: "a-dev-1", Tenant: "tenant-a", Phase: rollout.ClusterSucceeded, Evidence: []rollout.Evidence{
						{At: at(2), Event: "pr-opened", From: "Pending", To: "InPR", PR: 1},
						{At: at(5), Event: "pr-merged", From: "InPR", To: "Applied", PR: 1, SHA: "aaaa111", By: "alex"},
						{At: at(8), Event: "gate", Gate: "terraform", Outcome: rollout.GateFailed, Detail: "terraform-apply | failed\non aaaa111", From: "Verifying", To: "Failed"},
						{At: at(12), Event: "retry", From: "Failed", To: "Verifying", By: "pat"},
						{At: at(20), Event: "gate", Gate: "terraform", Outcome: rollout.GatePassed, Detail: "checks succeeded", From: "Verifying", To: "Succeeded"},
					}},
					{Name: "a-dev-2", Tenant: "tenant-a", Phase: rollout.ClusterSkipped, SkipReason: "decommissioned", Evidence: []rollout.Evidence{
						{At: at(10), Event: "skip", From: "Failed", To: "Skipped", Detail: "decommissioned", By: "sam"},
					}},
				},
			},
			{
				Number: 2, Phase: rollout.WavePending,
				Clusters: []rollout.ClusterState{{Name: "a-prod-1", Tenant: "tenant-a", Phase: rollout.ClusterPending}},
			},
		},
		History: []rollout.Evidence{
			{At: at(0), Event: "schedule", From: "Pending", To: "Running"},
			{At: at(9), Event: "halt", From: "Running", To: "Halted", Detail: "1 cluster failed, over a budget of 0"},
			{At: at(21), Event: "resume", From: "Halted", To: "Running", By: "pat"},
		},
	}
}

// auditCommands are the commands run on the audited campaign: one taken,
// one refused, one shown (its table was in the answer, not in the export).
func auditCommands() []bot.CommandRecord {
	at := func(m int) time.Time { return time.Date(2026, 12, 1, 9, m, 0, 0, time.UTC) }
	return []bot.CommandRecord{
		{Comment: 11, PR: "acme/fleet#1", By: "eve", At: at(8), Commands: []bot.CommandResult{
			{Line: 1, Raw: "/fleet skip a-dev-1 --reason x", Outcome: rollout.CommandRefused, Detail: "@eve may not run skip on a-dev-1: fleet admins and the owners of tenant-a may"}}},
		{Comment: 12, PR: "acme/fleet#1", By: "pat", At: at(21), Commands: []bot.CommandResult{
			{Line: 1, Raw: "/fleet resume", Outcome: rollout.CommandTaken, Detail: "the campaign went from Halted to Running"},
			{Line: 2, Raw: "/fleet status", Outcome: rollout.CommandShown, Detail: "below", Show: "a table"}}},
	}
}

func TestCampaignExportGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ format, golden string }{
		{exportMarkdown, "campaign/export.md"},
		{exportJSON, "campaign/export.json"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			require.NoError(t, writeExport(&out, auditState(), auditCommands(), tt.format))
			testenv.CheckGolden(t, tt.golden, out.String())
		})
	}
}

// TestExportNotReached: the export of an aborted campaign says its wave
// never opened was not reached, and so were its clusters.
func TestExportNotReached(t *testing.T) {
	t.Parallel()
	st := rollout.State{Campaign: "eks-1-30", Phase: rollout.CampaignAborted, Policy: rollout.Policy{Change: rollout.KindEKSVersion}, Waves: []rollout.WaveState{
		{Number: 1, Phase: rollout.WavePending, Clusters: []rollout.ClusterState{{Name: "a-prod-1", Tenant: "tenant-a", Phase: rollout.ClusterPending}}},
	}}
	var md, js strings.Builder
	require.NoError(t, writeExport(&md, st, nil, exportMarkdown))
	assert.Contains(t, md.String(), "## Wave 1: Pending (not reached)\n")
	assert.Contains(t, md.String(), "| a-prod-1 | tenant-a | NotReached |")
	require.NoError(t, writeExport(&js, st, nil, exportJSON))
	assert.Contains(t, js.String(), `"notReached": true`)
}
