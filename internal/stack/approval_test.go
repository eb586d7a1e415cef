package stack_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/internal/audit"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/rollout"
)

// approvalStatus returns the latest fleetbot/approval status on a commit.
func approvalStatus(t *testing.T, s *stack.Stack, sha string) (state, description string) {
	t.Helper()
	var list []struct {
		Context     string `json:"context"`
		State       string `json:"state"`
		Description string `json:"description"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, "/repos/acme/fleet/commits/"+sha+"/statuses", "", nil, &list)
	require.NoError(t, err)
	for _, st := range list {
		if st.Context == bot.ApprovalContext {
			return st.State, st.Description
		}
	}
	return "", ""
}

// waitApproval waits for the approval status of a pull request's head to
// be state, and returns its description.
func waitApproval(t *testing.T, s *stack.Stack, number int, state string) string {
	t.Helper()
	return waitFor(t, fmt.Sprintf("#%d's approval status to be %s", number, state), func() (string, bool) {
		got, desc := approvalStatus(t, s, prHead(t, s, number).SHA)
		return desc, got == state
	})
}

// TestEndToEndApproval: each wave pull request carries fleetbot/approval on
// its head. A stranger's approval leaves it pending; an owner's turns it
// green; a change of the tenant's files after the approval (a regeneration
// on a moved base) makes it pending again, and a regeneration that brings
// back the approved files makes it green again; and a pull request merged
// with no owner's approval halts the campaign.
func TestEndToEndApproval(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, plan := running(t, "eks-approvals.yaml", dir, 300*time.Millisecond)
	byTenant := map[string]int{}
	for _, p := range waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet") {
		_, _, tenant, _ := wave.ParseBranch(p.Head.Ref)
		byTenant[tenant] = p.Number
	}
	a, b := byTenant["tenant-a"], byTenant["tenant-b"]
	require.NotZero(t, a)
	require.NotZero(t, b)

	desc := waitApproval(t, s, a, "pending")
	assert.Equal(t, "no approval by an owner of the tenant: waiting for an approval by tenant tenant-a", desc)

	approve(t, s, "acme/fleet", a, "eve")
	waitFor(t, "the stranger's approval to be read", func() (string, bool) {
		_, d := approvalStatus(t, s, prHead(t, s, a).SHA)
		return d, strings.Contains(d, "@eve approved, not an owner")
	})
	approve(t, s, "acme/fleet", a, "arjun")
	desc = waitApproval(t, s, a, "success")
	assert.Equal(t, "approved by @arjun, an owner of tenant-a", desc)

	// A person edits the line next to the planned one on main: the pull
	// request conflicts and is regenerated, and its tenant file changed
	// since the approval, which no longer counts.
	before := prHead(t, s, a).SHA
	work := filepath.Join(dir, "seed")
	path := filepath.Join(work, "tenants", "tenant-a", "dev.yaml")
	src2, err := os.ReadFile(path)
	require.NoError(t, err)
	edited := strings.Replace(string(src2), "        version: \"1.29\"\n        vpc_name: shared\n", "        version: \"1.29\"\n        vpc_name: shared-dev\n", 1)
	require.NotEqual(t, string(src2), edited)
	require.NoError(t, os.WriteFile(path, []byte(edited), 0o644))
	require.NoError(t, s.Commit(ctx, work, "tenant-a: another VPC"))
	waitFor(t, "the regeneration", func() (string, bool) { h := prHead(t, s, a).SHA; return h, h != before })
	desc = waitApproval(t, s, a, "pending")
	assert.Equal(t, "the approval by @arjun was of files that changed since: waiting for an approval by tenant tenant-a", desc)

	// The person takes the edit back: the pull request conflicts again and
	// is regenerated, now with the very files @arjun approved, so the
	// approval counts again with no new review.
	regenerated := prHead(t, s, a).SHA
	require.NoError(t, os.WriteFile(path, src2, 0o644))
	require.NoError(t, s.Commit(ctx, work, "tenant-a: back to the shared VPC"))
	waitFor(t, "the second regeneration", func() (string, bool) { h := prHead(t, s, a).SHA; return h, h != regenerated && h != before })
	desc = waitApproval(t, s, a, "success")
	assert.Equal(t, "approved by @arjun, an owner of tenant-a", desc)

	// Tenant b's pull request is merged with no owner's approval.
	mergeUnreviewed(t, s, b, "bruno")
	st := waitFor(t, "the campaign to halt", func() (rollout.State, bool) {
		st := phase(t, s, plan.Campaign)
		return st, st.Phase == rollout.CampaignHalted
	})
	assert.Contains(t, st.HaltReason, fmt.Sprintf("tenant tenant-b's pull request #%d of wave 1 merged without an approval by an owner of tenant-b", b))
	waitFor(t, "the halt report on the pull request", func() (string, bool) {
		c := statusComment(t, s, b)
		return c, strings.Contains(c, "halted")
	})
}

// mergeUnreviewed merges a pull request with no review, as an admin bypass
// would, and reports Terraform CI's success on the merge commit.
func mergeUnreviewed(t *testing.T, s *stack.Stack, number int, login string) {
	t.Helper()
	var merged struct {
		SHA string `json:"sha"`
	}
	_, err := s.Do(t.Context(), http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", number), login, map[string]any{}, &merged)
	require.NoError(t, err)
	_, err = s.Do(t.Context(), http.MethodPost, "/repos/acme/fleet/check-runs", "", map[string]any{
		"name": "terraform-apply", "head_sha": merged.SHA, "status": "completed", "conclusion": "success",
	}, nil)
	require.NoError(t, err)
}

// TestEndToEndRevertApproval rolls a field campaign back after its first
// two waves merged: each revert pull request carries fleetbot/approval like
// any wave pull request, pending until an owner of its tenant approves it;
// and a revert merged with no owner's approval halts the rollback.
func TestEndToEndRevertApproval(t *testing.T) {
	t.Parallel()
	s, plan := running(t, "gpu-ami.yaml", t.TempDir(), 300*time.Millisecond)
	owners := map[string]string{"tenant-a": "arjun", "tenant-b": "bruno"}
	require.Greater(t, len(plan.Waves), 2)
	var merged []pull
	for i := range 2 {
		prs := waitForWave(t, s, plan.Campaign, plan.Waves[i], "acme/fleet")
		require.Len(t, prs, 1, "one cluster per wave")
		_, _, tenant, _ := wave.ParseBranch(prs[0].Head.Ref)
		mergeAsOwner(t, s, prs[0].Number, owners[tenant])
		merged = append(merged, prs[0])
		waitFor(t, fmt.Sprintf("wave %d to be verified", i+1), func() (rollout.WavePhase, bool) {
			w := phase(t, s, plan.Campaign).Waves[i]
			return w.Phase, w.Phase == rollout.WaveSucceeded
		})
	}
	id := comment(t, s, merged[1].Number, "pat", "/fleet rollback")
	reaction, _ := answered(t, s, merged[1].Number, id)
	require.Equal(t, "+1", reaction)

	// revertOf waits for the revert pull request of plan wave n.
	revertOf := func(n int) (int, string) {
		_, _, tenant, _ := wave.ParseBranch(merged[n-1].Head.Ref)
		number := waitFor(t, fmt.Sprintf("the revert pull request of wave %d", n), func() (int, bool) {
			var open []pull
			_, err := s.Do(t.Context(), http.MethodGet, "/repos/acme/fleet/pulls?state=open&per_page=100", "", nil, &open)
			require.NoError(t, err)
			for _, p := range open {
				if p.Head.Ref == wave.RevertBranch(plan.Campaign, n, tenant) {
					return p.Number, true
				}
			}
			return 0, false
		})
		return number, tenant
	}

	// Wave 2 is reverted first: a stranger's approval leaves its status
	// pending, its owner's turns it green, and its owner merges it.
	second, tenant := revertOf(2)
	assert.Equal(t, "no approval by an owner of the tenant: waiting for an approval by tenant "+tenant, waitApproval(t, s, second, "pending"))
	approve(t, s, "acme/fleet", second, "eve")
	approve(t, s, "acme/fleet", second, owners[tenant])
	assert.Equal(t, fmt.Sprintf("approved by @%s, an owner of %s", owners[tenant], tenant), waitApproval(t, s, second, "success"))
	mergeAsOwner(t, s, second, owners[tenant])

	// Wave 1's revert opens next and is merged with no review: the
	// rollback halts.
	first, tenant := revertOf(1)
	waitApproval(t, s, first, "pending")
	mergeUnreviewed(t, s, first, owners[tenant])
	st := waitFor(t, "the rollback to halt", func() (rollout.State, bool) {
		st := phase(t, s, plan.Campaign)
		return st, st.Phase == rollout.CampaignHalted
	})
	assert.Contains(t, st.HaltReason, fmt.Sprintf("tenant %s's pull request #%d of wave %d merged without an approval by an owner of %s", tenant, first, len(st.Waves), tenant))
	assert.True(t, st.RollingBack(), "the halt is of the rollback; resume continues it")

	// The audit report names who merged each pull request, whose approval
	// counted, every review and why it did not count, and the rollback's
	// command.
	cmds, err := s.Bot().Commands(t.Context(), plan.Campaign)
	require.NoError(t, err)
	report := audit.New(st, cmds)
	byNumber := map[int]audit.PR{}
	for _, w := range report.Waves {
		for _, p := range w.PRs {
			byNumber[p.Number] = p
		}
	}
	for _, p := range merged {
		_, _, tenant, _ := wave.ParseBranch(p.Head.Ref)
		got := byNumber[p.Number]
		assert.Equal(t, owners[tenant], got.MergedBy, "#%d", p.Number)
		assert.Equal(t, owners[tenant], got.ApprovedBy, "#%d", p.Number)
		assert.Equal(t, []audit.Review{{User: owners[tenant], State: "APPROVED", Commit: p.Head.SHA, Counted: true}}, got.Reviews, "#%d", p.Number)
	}
	r2 := byNumber[second]
	require.Len(t, r2.Reviews, 2)
	assert.Equal(t, audit.Review{User: "eve", State: "APPROVED", Commit: r2.Reviews[0].Commit, Note: "not an owner of the tenant"}, r2.Reviews[0])
	assert.True(t, r2.Reviews[1].Counted)
	assert.Equal(t, r2.Reviews[1].User, r2.ApprovedBy)
	r1 := byNumber[first]
	assert.Equal(t, owners[tenant], r1.MergedBy)
	assert.Empty(t, r1.ApprovedBy)
	assert.Empty(t, r1.Reviews)
	require.NotEmpty(t, report.Commands)
	assert.Equal(t, audit.Command{At: report.Commands[0].At, By: "pat", PR: fmt.Sprintf("acme/fleet#%d", merged[1].Number), Line: "/fleet rollback", Outcome: "taken", Detail: report.Commands[0].Detail}, report.Commands[0])
	var md strings.Builder
	require.NoError(t, audit.Markdown(&md, report))
	assert.Contains(t, md.String(), "@eve approved (not an owner of the tenant)")
}
