package wave

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetbot/fleetbot/gitops"
)

func TestRevertBodyGolden(t *testing.T) {
	t.Parallel()
	req := RevertRequest{
		Campaign: "addons-release2", Wave: 3, Tenant: "tenant-a", Reverts: 41,
		Clusters: []string{"a-dev-1", "a-dev-2"},
		Reach:    []string{"labels/tenant-a/dev.yaml reaches 2 clusters: a-dev-1, a-dev-2"},
		Files: []gitops.FileResult{
			{Path: "labels/tenant-a/dev.yaml", Old: []byte("a: release2\n"), New: []byte("a: release1\n")},
			{Path: "labels/tenant-a/clusters/a-dev-1.yaml", Old: []byte("a: release2\n")},
		},
		Kept: []KeptFile{{Path: "labels/tenant-a/clusters/a-dev-2.yaml", Reason: "the campaign created it, and it changed since;\ndelete it by hand"}},
	}
	golden(t, filepath.Join("testdata", "revert-addons-release2-wave-3-tenant-a.md"), RevertBody(req))
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
