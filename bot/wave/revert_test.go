package wave

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

func TestRevertBodyGolden(t *testing.T) {
	t.Parallel()
	req := RevertRequest{
		Campaign: "addons-release2", Wave: 3, Tenant: "tenant-a", Reverts: 41,
		Clusters: []string{"a-dev-1", "a-dev-2"},
		Reach:    []rollout.FileChange{{Path: "labels/tenant-a/dev.yaml", Reach: []string{"a-dev-1", "a-dev-2"}}},
		Files: []gitops.FileResult{
			{Path: "labels/tenant-a/dev.yaml", Old: []byte("a: release2\n"), New: []byte("a: release1\n")},
			{Path: "labels/tenant-a/clusters/a-dev-1.yaml", Old: []byte("a: release2\n")},
		},
		Kept: []KeptFile{{Path: "labels/tenant-a/clusters/a-dev-2.yaml", Reason: "the campaign created it, and it changed since;\ndelete it by hand"}},
	}
	golden(t, filepath.Join("testdata", "revert-addons-release2-wave-3-tenant-a.md"), RevertBody(req))

	// The revert of a clean-up changes no value, as the clean-up did not.
	req.Cleanup = true
	body := RevertBody(req)
	has(t, body, "The clean-up moved values between files and changed no cluster's value; its revert puts the files back as they were before it, and changes no value either. Clusters whose files it touches: `a-dev-1`, `a-dev-2`.\n")
	has(t, body, "**Shared files**, with the clusters each one serves:\n")
	assert.NotContains(t, body, "taken back")
}

// TestRevertBodyFitsGitHub: the revert of a shared wave on a large fleet
// names its first clusters and counts the rest, within GitHub's limit.
func TestRevertBodyFitsGitHub(t *testing.T) {
	t.Parallel()
	var names []string
	for i := range 20000 {
		names = append(names, fmt.Sprintf("t%05d-prod-cluster", i))
	}
	req := RevertRequest{
		Campaign: "ami-v2", Wave: 2, Tenant: AdminTenant, Reverts: 7, Clusters: names,
		Reach: []rollout.FileChange{{Path: "environments/prod/values.yaml", Reach: names}},
		Files: []gitops.FileResult{{Path: "environments/prod/values.yaml", Old: []byte("a: v2\n"), New: []byte("a: v1\n")}},
	}
	got := RevertBody(req)
	assert.LessOrEqual(t, len(got), maxBody)
	has(t, got, "`t00019-prod-cluster` and 19980 more (`/fleet status` lists them).")
	has(t, got, "- environments/prod/values.yaml reaches 20000 clusters: t00000-prod-cluster, ")
	has(t, got, ", t00019-prod-cluster, and 19980 more\n")
	has(t, got, "<!-- fleetbot revert campaign=ami-v2 wave=2")
	req.Clusters, req.Reach[0].Reach = names[:3], names[:3]
	has(t, RevertBody(req), "Clusters taken back to their value before the campaign: `t00000-prod-cluster`, `t00001-prod-cluster`, `t00002-prod-cluster`.\n")
}

func TestRevertRefusesBadRequests(t *testing.T) {
	t.Parallel()
	ok := RevertRequest{Campaign: "c", Wave: 1, Tenant: "t", Reverts: 2, Owner: "o", Repo: "r", BaseBranch: "main", BaseSHA: "s"}
	assert.NoError(t, ok.check())
	for name, mutate := range map[string]func(*RevertRequest){
		"campaign": func(r *RevertRequest) { r.Campaign = "a/b" },
		"tenant":   func(r *RevertRequest) { r.Tenant = "" },
		"wave":     func(r *RevertRequest) { r.Wave = 0 },
		"reverts":  func(r *RevertRequest) { r.Reverts = 0 },
		"base":     func(r *RevertRequest) { r.BaseSHA = "" },
	} {
		r := ok
		mutate(&r)
		assert.Error(t, r.check(), name)
	}
}

// TestRevertSetupFinishedLater: a revert pull request that opened while
// GitHub refused its review request or its labels is set up by the next
// attempt, which finds it open on its branch without the labels; the error
// of the first says the pull request is open (rollout.SetupError).
func TestRevertSetupFinishedLater(t *testing.T) {
	t.Parallel()
	for _, failAt := range []string{"RequestReviewers", "AddLabels"} {
		t.Run(failAt, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub("acme", "fleet", map[string][]byte{"labels/tenant-a/dev.yaml": []byte("a: release2\n")})
			req := RevertRequest{
				Campaign: "addons-r2", Wave: 3, Tenant: "tenant-a", Reverts: 41, Clusters: []string{"a-dev-1"},
				Owner: "acme", Repo: "fleet", BaseBranch: "main", BaseSHA: f.refs["main"],
				Files:     []gitops.FileResult{{Path: "labels/tenant-a/dev.yaml", Old: []byte("a: release2\n"), New: []byte("a: release1\n")}},
				Reviewers: Owners{Users: []string{"alice"}},
			}
			f.fail[failAt] = errors.New("403 Resource not accessible by integration")
			res, err := Revert(t.Context(), f, req)
			var se *rollout.SetupError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, res.Number, se.Number)
			require.Len(t, f.prs, 1)
			assert.Empty(t, f.prs[0].Labels)
			f.take()

			delete(f.fail, failAt)
			again, err := Revert(t.Context(), f, req)
			require.NoError(t, err)
			assert.True(t, again.Reused)
			assert.Equal(t, res.Number, again.Number)
			assert.Equal(t, []string{"PullRequests", "RequestReviewers", "AddLabels"}, f.take())
			assert.Equal(t, []string{"fleetbot", "campaign:addons-r2", "revert"}, f.prs[0].Labels)
			assert.Equal(t, [][2][]string{{{"alice"}, nil}}, f.reviewRequests[res.Number][len(f.reviewRequests[res.Number])-1:])

			// Set up: the attempt after reuses it and calls nothing more.
			_, err = Revert(t.Context(), f, req)
			require.NoError(t, err)
			assert.Equal(t, []string{"PullRequests"}, f.take())
		})
	}
}
