package gitops

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

func memReader(files map[string]string) ReadFunc {
	return func(path string) ([]byte, error) {
		s, ok := files[path]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"bp.yaml":     "services:\n  eks:\n    config:\n      c1:\n        version: \"1.29\" # pinned\n",
		"labels.yaml": "externalSecret:\n  labels:\n    a: x\n    addonsRelease: release1\n",
	}
	pr := func(fc ...rollout.FileChange) rollout.PullRequest {
		return rollout.PullRequest{Tenant: "t", Files: fc}
	}
	version := []string{"services", "eks", "config", "c1", "version"}
	release := []string{"externalSecret", "labels", "addonsRelease"}
	tests := []struct {
		name    string
		pr      rollout.PullRequest
		want    map[string]string
		wantErr string
	}{
		{
			name: "set keeps quoting and comment",
			pr:   pr(rollout.FileChange{Path: "bp.yaml", Edits: []rollout.Edit{{Path: version, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true}}}),
			want: map[string]string{"bp.yaml": "services:\n  eks:\n    config:\n      c1:\n        version: \"1.30\" # pinned\n"},
		},
		{
			name:    "stale value is refused",
			pr:      pr(rollout.FileChange{Path: "bp.yaml", Edits: []rollout.Edit{{Path: version, Op: rollout.OpSet, From: "1.28", To: "1.31", Quote: true}}}),
			wantErr: "pull request for tenant t: bp.yaml:5:18:",
		},
		{
			name: "insert then delete",
			pr: pr(rollout.FileChange{Path: "labels.yaml", Edits: []rollout.Edit{
				{Path: []string{"externalSecret", "labels", "b"}, Op: rollout.OpInsert, To: "true"},
				{Path: release, Op: rollout.OpDelete, From: "release1"},
			}}),
			want: map[string]string{"labels.yaml": "externalSecret:\n  labels:\n    a: x\n    b: \"true\"\n"},
		},
		{
			name:    "delete of a changed value is refused",
			pr:      pr(rollout.FileChange{Path: "labels.yaml", Edits: []rollout.Edit{{Path: release, Op: rollout.OpDelete, From: "release2"}}}),
			wantErr: `expected "release2" to delete, found "release1"`,
		},
		{
			name: "create a missing file",
			pr:   pr(rollout.FileChange{Path: "new.yaml", Create: true, Content: "externalSecret:\n  labels:\n    addonsRelease: \"release2\"\n"}),
			want: map[string]string{"new.yaml": "externalSecret:\n  labels:\n    addonsRelease: \"release2\"\n"},
		},
		{
			name:    "create over an existing file is refused",
			pr:      pr(rollout.FileChange{Path: "bp.yaml", Create: true, Content: "x: 1\n"}),
			wantErr: "bp.yaml: planned as a new file, but it exists now",
		},
		{
			name:    "missing file",
			pr:      pr(rollout.FileChange{Path: "gone.yaml", Edits: []rollout.Edit{{Path: release, Op: rollout.OpSet, From: "a", To: "b"}}}),
			wantErr: "read gone.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Apply(memReader(files), tt.pr)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			out := map[string]string{}
			for _, f := range got {
				out[f.Path] = string(f.New)
			}
			assert.Equal(t, tt.want, out)
		})
	}
}

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	d, err := UnifiedDiff([]FileResult{
		{Path: "a.yaml", Old: []byte("x: 1\ny: 2"), New: []byte("x: 1\ny: 3")},
		{Path: "b.yaml", New: []byte("z: 1\n")},
	})
	require.NoError(t, err)
	assert.Equal(t, "--- a/a.yaml\n+++ b/a.yaml\n@@ -1,2 +1,2 @@\n x: 1\n-y: 2\n+y: 3\n"+
		"--- /dev/null\n+++ b/b.yaml\n@@ -0,0 +1 @@\n+z: 1\n", d)
}
