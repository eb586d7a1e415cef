package gitops

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
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
		"two.yaml":    "c1:\n  version: \"1.29\"\nc2:\n  version: '1.29'\n",
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
			name: "sets of several clusters in one pass",
			pr: pr(rollout.FileChange{Path: "two.yaml", Edits: []rollout.Edit{
				{Path: []string{"c1", "version"}, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true},
				{Path: []string{"c2", "version"}, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true},
			}}),
			want: map[string]string{"two.yaml": "c1:\n  version: \"1.30\"\nc2:\n  version: '1.30'\n"},
		},
		{
			// Together the editor refuses to edit one value twice; one
			// after the other, the second finds the value already set.
			name: "the same value named twice is set once",
			pr: pr(rollout.FileChange{Path: "two.yaml", Edits: []rollout.Edit{
				{Path: []string{"c1", "version"}, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true, Document: -1},
				{Path: []string{"c1", "version"}, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true, Document: 0},
			}}),
			want: map[string]string{"two.yaml": "c1:\n  version: \"1.30\"\nc2:\n  version: '1.29'\n"},
		},
		{
			name: "a stale set among several is refused",
			pr: pr(rollout.FileChange{Path: "two.yaml", Edits: []rollout.Edit{
				{Path: []string{"c1", "version"}, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true},
				{Path: []string{"c2", "version"}, Op: rollout.OpSet, From: "1.28", To: "1.30", Quote: true},
			}}),
			wantErr: "pull request for tenant t: two.yaml:4:",
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

func TestSetRun(t *testing.T) {
	t.Parallel()
	set := func(doc int, path ...string) rollout.Edit {
		return rollout.Edit{Path: path, Op: rollout.OpSet, Document: doc}
	}
	tests := []struct {
		name  string
		edits []rollout.Edit
		want  int
	}{
		{name: "none", want: 0},
		{name: "an insert first", edits: []rollout.Edit{{Path: []string{"a"}, Op: rollout.OpInsert}, set(0, "b")}, want: 0},
		{name: "sets of different paths", edits: []rollout.Edit{set(0, "a"), set(0, "b"), set(0, "a", "b")}, want: 3},
		{name: "up to a delete", edits: []rollout.Edit{set(0, "a"), {Path: []string{"b"}, Op: rollout.OpDelete}, set(0, "c")}, want: 1},
		{name: "up to a path named again", edits: []rollout.Edit{set(0, "a"), set(0, "b"), set(0, "a")}, want: 2},
		{name: "one path in two documents", edits: []rollout.Edit{set(0, "a"), set(1, "a")}, want: 2},
		{name: "a dot inside a key is not a separator", edits: []rollout.Edit{set(0, "a.b"), set(0, "a", "b")}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, setRun(tt.edits))
		})
	}
}

func TestPlanStepBefore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b planStep
		want bool
	}{
		{planStep{0, 0, 0}, planStep{0, 0, 0}, false},
		{planStep{0, 5, 5}, planStep{1, 0, 0}, true},
		{planStep{1, 0, 0}, planStep{0, 5, 5}, false},
		{planStep{2, 1, 9}, planStep{2, 2, 0}, true},
		{planStep{2, 2, 1}, planStep{2, 2, 0}, false},
		{planStep{2, 2, 0}, planStep{2, 2, 1}, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.a.before(tt.b), "%v before %v", tt.a, tt.b)
	}
}

// TestApplyPlanFirstRefusal applies a plan whose files are refused in two
// waves: ApplyPlan, which edits each file on its own, names the refusal
// that comes first in plan order, as applying the waves in turn does, and
// keeps no files with WithoutFiles' applyPlan.
func TestApplyPlanFirstRefusal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"a.yaml": "c1:\n  version: \"1.29\"\nc2:\n  version: \"1.29\"\n",
		"b.yaml": "c3:\n  version: \"1.29\"\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	set := func(file, cluster, from string) rollout.FileChange {
		return rollout.FileChange{Path: file, Edits: []rollout.Edit{{Path: []string{cluster, "version"}, Op: rollout.OpSet, From: from, To: "1.30", Quote: true}}}
	}
	wave := func(i int, fcs ...rollout.FileChange) rollout.Wave {
		return rollout.Wave{Index: i, PullRequests: []rollout.PullRequest{{Tenant: "t", Repo: dir, Files: fcs}}}
	}
	good := &rollout.Plan{Waves: []rollout.Wave{
		wave(1, set("a.yaml", "c1", "1.29")),
		wave(2, set("a.yaml", "c2", "1.29"), set("b.yaml", "c3", "1.29")),
	}}
	files, err := ApplyPlan(good)
	require.NoError(t, err)
	require.Len(t, files, 2)
	assert.Equal(t, "c1:\n  version: \"1.30\"\nc2:\n  version: \"1.29\"\n", string(files[0][0][0].New))
	assert.Equal(t, string(files[0][0][0].New), string(files[1][0][0].Old), "wave 2 starts from what wave 1 left")
	assert.Equal(t, "c1:\n  version: \"1.30\"\nc2:\n  version: \"1.30\"\n", string(files[1][0][0].New))
	assert.Equal(t, "c3:\n  version: \"1.30\"\n", string(files[1][0][1].New))
	none, err := applyPlan(good, false, nil, nil)
	require.NoError(t, err)
	assert.Nil(t, none)

	// a.yaml is refused in wave 3 (c1 is 1.30 since wave 1), b.yaml in
	// wave 2; a.yaml comes first in the plan.
	bad := &rollout.Plan{Waves: []rollout.Wave{
		wave(1, set("a.yaml", "c1", "1.29")),
		wave(2, set("b.yaml", "c3", "1.28")),
		wave(3, set("a.yaml", "c1", "1.28")),
	}}
	_, err = ApplyPlan(bad)
	var ae *ApplyError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 2, ae.Wave)
	assert.ErrorContains(t, err, "wave 2 cannot be applied in "+dir+": pull request for tenant t: b.yaml:2:")
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
	d, err = UnifiedDiff([]FileResult{{Path: "c.yaml", Old: []byte("z: 1\n")}})
	require.NoError(t, err)
	assert.Equal(t, "--- a/c.yaml\n+++ b/c.yaml\n@@ -1 +0,0 @@\n-z: 1\n", d, "a removed file shows whole")
}

func TestSetChanges(t *testing.T) {
	t.Parallel()
	set := rollout.Edit{Path: []string{"a"}, Op: rollout.OpSet}
	sets := func(es ...rollout.Edit) rollout.FileChange { return rollout.FileChange{Path: "f.yaml", Edits: es} }
	tests := []struct {
		name string
		fcs  []rollout.FileChange
		want int
	}{
		{name: "none", want: 0},
		{name: "sets", fcs: []rollout.FileChange{sets(set), sets(set, rollout.Edit{Path: []string{"b"}, Op: rollout.OpSet}), sets(set)}, want: 3},
		{name: "up to a creation", fcs: []rollout.FileChange{sets(set), {Path: "f.yaml", Create: true}, sets(set)}, want: 1},
		{name: "up to a removal", fcs: []rollout.FileChange{sets(set), sets(set), {Path: "f.yaml", Delete: true}}, want: 2},
		{name: "up to an insert", fcs: []rollout.FileChange{sets(set), sets(rollout.Edit{Path: []string{"b"}, Op: rollout.OpInsert})}, want: 1},
		{name: "up to a change without edits", fcs: []rollout.FileChange{sets(set), sets()}, want: 1},
		{name: "up to one value set twice", fcs: []rollout.FileChange{sets(set), sets(set, set)}, want: 1},
		{name: "up to a copy of a file", fcs: []rollout.FileChange{sets(set), {Path: "f.yaml", Create: true, CopyOf: "g.yaml"}}, want: 1},
		{name: "up to an entry copied", fcs: []rollout.FileChange{sets(set), sets(rollout.Edit{Path: []string{"b"}, Op: rollout.OpCopy, From: "a"}, set)}, want: 1},
		{name: "up to an entry removed", fcs: []rollout.FileChange{sets(rollout.Edit{Path: []string{"b"}, Op: rollout.OpRemove})}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, setChanges(tt.fcs))
		})
	}
}

// TestApplyChanges makes a file's changes with applyChanges and one at a
// time with Apply, each on what the last left: the same files, and the
// same refusal at the same change.
func TestApplyChanges(t *testing.T) {
	t.Parallel()
	const bp = "clusters:\n  c1:\n    version: \"1.28\"\n  c2:\n    version: \"1.28\"\n  c3: {version: '1.28'}\n"
	ver := func(c, from, to string) rollout.Edit {
		return rollout.Edit{Path: []string{"clusters", c, "version"}, Op: rollout.OpSet, From: from, To: to, Quote: true}
	}
	change := func(es ...rollout.Edit) rollout.FileChange { return rollout.FileChange{Path: "bp.yaml", Edits: es} }
	tests := []struct {
		name    string
		fcs     []rollout.FileChange
		wantAt  int
		wantErr string
	}{
		{name: "sets in turn, a cluster twice", wantAt: -1, fcs: []rollout.FileChange{
			change(ver("c1", "1.28", "1.29")), change(ver("c2", "1.28", "1.29"), ver("c3", "1.28", "1.29")), change(ver("c1", "1.29", "1.30")),
		}},
		{name: "sets around an insert and a removal", wantAt: -1, fcs: []rollout.FileChange{
			change(ver("c1", "1.28", "1.29")), change(ver("c2", "1.28", "1.29")),
			change(rollout.Edit{Path: []string{"clusters", "c1", "pinned"}, Op: rollout.OpInsert, To: "yes"}),
			change(ver("c3", "1.28", "1.29")), change(ver("c1", "1.29", "1.30")),
			change(rollout.Edit{Path: []string{"clusters", "c1", "pinned"}, Op: rollout.OpDelete, From: "yes"}),
		}},
		{name: "sets around an entry copied and one removed", wantAt: -1, fcs: []rollout.FileChange{
			change(ver("c1", "1.28", "1.29")),
			change(rollout.Edit{Path: []string{"clusters", "c4"}, Op: rollout.OpCopy, From: "c1"}, ver("c4", "1.29", "1.30")),
			change(ver("c2", "1.28", "1.29")),
			change(rollout.Edit{Path: []string{"clusters", "c1"}, Op: rollout.OpRemove}),
			change(ver("c4", "1.30", "1.31"), ver("c2", "1.29", "1.30")),
		}},
		{name: "a copy of an entry that is there already", wantAt: 1, wantErr: "planned as a copy of c1, but key already present", fcs: []rollout.FileChange{
			change(ver("c1", "1.28", "1.29")),
			change(rollout.Edit{Path: []string{"clusters", "c2"}, Op: rollout.OpCopy, From: "c1"}),
		}},
		{name: "a stale set in the middle of a run", wantAt: 2, wantErr: `value is "1.29", expected "1.28"`, fcs: []rollout.FileChange{
			change(ver("c1", "1.28", "1.29")), change(ver("c2", "1.28", "1.29")), change(ver("c1", "1.28", "1.30")), change(ver("c3", "1.28", "1.29")),
		}},
		{name: "a missing key", wantAt: 1, wantErr: "c9", fcs: []rollout.FileChange{
			change(ver("c1", "1.28", "1.29")), change(ver("c9", "1.28", "1.29")),
		}},
	}
	// The spots a parse of bp finds: c3's version, in a flow mapping, has none.
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(bp), &root))
	known := &fileSpots{sum: sha256.Sum256([]byte(bp))}
	for _, c := range []string{"c1", "c2", "c3"} {
		path := []string{"clusters", c, "version"}
		if sp, ok := yamledit.Locate(root.Content[0], path); ok {
			known.at = append(known.at, pathSpot{path: path, spot: sp})
		}
	}
	require.Len(t, known.at, 2)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, at, err := applyChanges(memReader(map[string]string{"bp.yaml": bp}), tt.fcs, nil)
			spotGot, spotAt, spotErr := applyChanges(memReader(map[string]string{"bp.yaml": bp}), tt.fcs, known)
			assert.Equal(t, got, spotGot, "from the spots")
			assert.Equal(t, at, spotAt, "from the spots")
			assert.Equal(t, err, spotErr, "from the spots")
			assert.Equal(t, tt.wantAt, at)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			cur := bp
			for i, fc := range tt.fcs {
				want, err := Apply(memReader(map[string]string{"bp.yaml": cur}), rollout.PullRequest{Tenant: "t", Files: []rollout.FileChange{fc}})
				if i == tt.wantAt {
					require.Error(t, err, "change %d one at a time", i)
					break
				}
				require.NoError(t, err, "change %d one at a time", i)
				require.Greater(t, len(got), i)
				assert.Equal(t, string(want[0].Old), string(got[i].Old), "change %d: before", i)
				assert.Equal(t, string(want[0].New), string(got[i].New), "change %d: after", i)
				cur = string(want[0].New)
			}
		})
	}
}

// TestApplyPlanOneFileTwiceInAPullRequest: two changes of one file in one
// pull request both start from the file as the earlier pull requests left
// it, and the next pull request reads what the second made.
func TestApplyPlanOneFileTwiceInAPullRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("c1: \"1.28\"\nc2: \"1.28\"\n"), 0o600))
	set := func(key, from, to string) rollout.FileChange {
		return rollout.FileChange{Path: "a.yaml", Edits: []rollout.Edit{{Path: []string{key}, Op: rollout.OpSet, From: from, To: to, Quote: true}}}
	}
	plan := &rollout.Plan{Waves: []rollout.Wave{
		{Index: 1, PullRequests: []rollout.PullRequest{{Tenant: "t", Repo: dir, Files: []rollout.FileChange{set("c1", "1.28", "1.29"), set("c2", "1.28", "1.29")}}}},
		{Index: 2, PullRequests: []rollout.PullRequest{{Tenant: "t", Repo: dir, Files: []rollout.FileChange{set("c2", "1.29", "1.30")}}}},
	}}
	files, err := ApplyPlan(plan)
	require.NoError(t, err)
	assert.Equal(t, "c1: \"1.29\"\nc2: \"1.28\"\n", string(files[0][0][0].New))
	assert.Equal(t, "c1: \"1.28\"\nc2: \"1.29\"\n", string(files[0][0][1].New), "from the file before the pull request")
	assert.Equal(t, "c1: \"1.28\"\nc2: \"1.30\"\n", string(files[1][0][0].New), "from what the second change made")
	none, err := applyPlan(plan, false, nil, nil)
	require.NoError(t, err)
	assert.Nil(t, none)
}

// blueGreen is a tenant's blueprint with a blue cluster whose green one a
// blue-green upgrade adds, and the label file of each.
const blueGreen = `# tenant-a, prod.
services:
  eks:
    config:
      a-prod-cpu-1:
        fleet: cpu
        version: "1.29"   # pinned by the platform team
        traffic: 100
        nodegroups:
          # Sized for the payments peak.
          workers:
            instance_types: [m6i.2xlarge]
            min_size: 6

      a-prod-cpu-2:
        fleet: cpu
        version: "1.29"
        traffic: 100
`

// TestApplyBlueGreen carries out the changes of a blue-green upgrade: the
// green cluster's entry copied from the blue one's with its version and
// traffic set, the blue entry removed, the green label file copied from the
// blue one's, the blue label file removed whatever it holds; and refuses
// them as stale when the files moved since the plan.
func TestApplyBlueGreen(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"prod.yaml":                      blueGreen,
		"labels/a-prod-cpu-1.yaml":       "externalSecret:\n  labels:\n    addonsRelease: release1\n",
		"labels/a-prod-cpu-1-green.yaml": "stale: true\n",
	}
	config := []string{"services", "eks", "config"}
	at := func(p ...string) []string { return append(slices.Clone(config), p...) }
	green := rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{
		{Path: at("a-prod-cpu-1-green"), Op: rollout.OpCopy, From: "a-prod-cpu-1"},
		{Path: at("a-prod-cpu-1-green", "traffic"), Op: rollout.OpSet, From: "100", To: "0"},
		{Path: at("a-prod-cpu-1-green", "version"), Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true},
	}}
	tests := []struct {
		name      string
		fc        rollout.FileChange
		want      string
		wantGone  bool
		wantErr   string
		wantStale bool
	}{
		{
			name: "copy the blue entry, then set the green one's traffic and version",
			fc:   green,
			want: strings.Replace(blueGreen, "\n      a-prod-cpu-2:", `
      a-prod-cpu-1-green:
        fleet: cpu
        version: "1.30"   # pinned by the platform team
        traffic: 0
        nodegroups:
          # Sized for the payments peak.
          workers:
            instance_types: [m6i.2xlarge]
            min_size: 6

      a-prod-cpu-2:`, 1),
		},
		{
			name: "copy some keys",
			fc: rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{
				{Path: at("a-prod-cpu-2-green"), Op: rollout.OpCopy, From: "a-prod-cpu-2", Keys: []string{"fleet", "version"}},
			}},
			want: blueGreen + "\n      a-prod-cpu-2-green:\n        fleet: cpu\n        version: \"1.29\"\n",
		},
		{
			name: "remove the blue entry",
			fc:   rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{{Path: at("a-prod-cpu-1"), Op: rollout.OpRemove}}},
			want: "# tenant-a, prod.\nservices:\n  eks:\n    config:\n      a-prod-cpu-2:\n        fleet: cpu\n        version: \"1.29\"\n        traffic: 100\n",
		},
		{
			name: "copy a label file",
			fc:   rollout.FileChange{Path: "labels/a-prod-cpu-2-green.yaml", Create: true, CopyOf: "labels/a-prod-cpu-1.yaml"},
			want: files["labels/a-prod-cpu-1.yaml"],
		},
		{
			name:     "remove a label file whatever it holds",
			fc:       rollout.FileChange{Path: "labels/a-prod-cpu-1.yaml", Delete: true},
			wantGone: true,
		},
		{
			name:    "a copy with content of its own is a plan error",
			fc:      rollout.FileChange{Path: "labels/x.yaml", Create: true, CopyOf: "labels/a-prod-cpu-1.yaml", Content: "x: 1\n"},
			wantErr: "labels/x.yaml: planned as a copy of labels/a-prod-cpu-1.yaml, which only a new file without content of its own can be",
		},
		{
			name:      "the file a copy is made of is gone",
			fc:        rollout.FileChange{Path: "labels/a-prod-cpu-2-green.yaml", Create: true, CopyOf: "labels/a-prod-cpu-2.yaml"},
			wantErr:   "labels/a-prod-cpu-2-green.yaml: planned as a copy of labels/a-prod-cpu-2.yaml, which no longer exists: plan again",
			wantStale: true,
		},
		{
			name:      "the copy exists already",
			fc:        rollout.FileChange{Path: "labels/a-prod-cpu-1-green.yaml", Create: true, CopyOf: "labels/a-prod-cpu-1.yaml"},
			wantErr:   "labels/a-prod-cpu-1-green.yaml: planned as a new file, but it exists now: plan again",
			wantStale: true,
		},
		{
			name:      "the file to remove is gone",
			fc:        rollout.FileChange{Path: "labels/a-prod-cpu-2.yaml", Delete: true},
			wantErr:   "labels/a-prod-cpu-2.yaml: planned for removal, but it no longer exists: plan again",
			wantStale: true,
		},
		{
			name: "the green entry exists already",
			fc: rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{
				{Path: at("a-prod-cpu-2"), Op: rollout.OpCopy, From: "a-prod-cpu-1"},
			}},
			wantErr:   "prod.yaml:15:7: services.eks.config.a-prod-cpu-2: planned as a copy of a-prod-cpu-1, but key already present; it cannot be added as a copy of a-prod-cpu-1: plan again",
			wantStale: true,
		},
		{
			name: "the blue entry to copy is gone",
			fc: rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{
				{Path: at("a-prod-cpu-3-green"), Op: rollout.OpCopy, From: "a-prod-cpu-3"},
			}},
			wantErr:   `prod.yaml:5:7: services.eks.config.a-prod-cpu-3: planned as a copy of a-prod-cpu-3, but key "a-prod-cpu-3" not found: plan again`,
			wantStale: true,
		},
		{
			name:      "the blue entry to remove is gone",
			fc:        rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{{Path: at("a-prod-cpu-3"), Op: rollout.OpRemove}}},
			wantErr:   `prod.yaml:5:7: services.eks.config.a-prod-cpu-3: planned for removal, but key "a-prod-cpu-3" not found: plan again`,
			wantStale: true,
		},
		{
			name:    "a refusal that is not about the file moving stays what it is",
			fc:      rollout.FileChange{Path: "prod.yaml", Edits: []rollout.Edit{{Path: []string{"services", "eks"}, Op: rollout.OpRemove}}},
			wantErr: "prod.yaml:3:3: services.eks: entry is the only one in its mapping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Apply(memReader(files), rollout.PullRequest{Tenant: "t", Files: []rollout.FileChange{tt.fc}})
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				var e *yamledit.Error
				assert.Equal(t, tt.wantStale, errors.As(err, &e) && e.Kind == yamledit.KindStale, "stale")
				return
			}
			require.NoError(t, err)
			require.Len(t, got, 1)
			if tt.wantGone {
				assert.Equal(t, files[tt.fc.Path], string(got[0].Old))
				assert.Nil(t, got[0].New)
				return
			}
			require.NotNil(t, got[0].New, "a file written, not removed")
			assert.Equal(t, tt.want, string(got[0].New))
		})
	}
}

// TestApplyPlanBlueGreen applies a blue-green plan wave after wave: the
// green label file is a copy of the blue one as the wave before left it,
// the blue one is removed, and a later wave can create it again.
func TestApplyPlanBlueGreen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "labels"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels", "blue.yaml"), []byte("release: r1\n"), 0o600))
	wave := func(i int, fcs ...rollout.FileChange) rollout.Wave {
		return rollout.Wave{Index: i, PullRequests: []rollout.PullRequest{{Tenant: "t", Repo: dir, Files: fcs}}}
	}
	plan := &rollout.Plan{Waves: []rollout.Wave{
		wave(1, rollout.FileChange{Path: "labels/blue.yaml", Edits: []rollout.Edit{{Path: []string{"release"}, Op: rollout.OpSet, From: "r1", To: "r2"}}}),
		wave(2, rollout.FileChange{Path: "labels/green.yaml", Create: true, CopyOf: "labels/blue.yaml"}),
		wave(3, rollout.FileChange{Path: "labels/blue.yaml", Delete: true}),
		wave(4, rollout.FileChange{Path: "labels/blue.yaml", Create: true, Content: "release: r3\n"}),
	}}
	files, err := ApplyPlan(plan)
	require.NoError(t, err)
	assert.Equal(t, "release: r2\n", string(files[1][0][0].New), "a copy of what wave 1 left")
	assert.Nil(t, files[1][0][0].Old)
	assert.Equal(t, "release: r2\n", string(files[2][0][0].Old))
	assert.Nil(t, files[2][0][0].New, "removed")
	assert.Equal(t, "release: r3\n", string(files[3][0][0].New), "created again")

	// Without the copy, each file goes on its own; a removed file is gone
	// for the waves after.
	plan.Waves = slices.Delete(plan.Waves, 1, 2)
	files, err = ApplyPlan(plan)
	require.NoError(t, err)
	assert.Nil(t, files[1][0][0].New, "removed")
	assert.Equal(t, "release: r3\n", string(files[2][0][0].New), "created again")

	plan.Waves = append(plan.Waves, wave(5, rollout.FileChange{Path: "labels/green.yaml", Create: true, CopyOf: "labels/gone.yaml"}))
	_, err = ApplyPlan(plan)
	var e *yamledit.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, yamledit.KindStale, e.Kind)
	assert.ErrorContains(t, err, "wave 5 cannot be applied in "+dir+": pull request for tenant t: labels/green.yaml: planned as a copy of labels/gone.yaml, which no longer exists: plan again")
}
