package bot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// onlyCheck returns the one check run named CheckName on head.
func onlyCheck(t *testing.T, w *world, head string) fakeCheck {
	t.Helper()
	runs := w.api.checkRunsOn(head, CheckName)
	require.Len(t, runs, 1, "one %s check run on %s", CheckName, head)
	return runs[0]
}

// checkGolden compares got with testdata/checkruns/name, or rewrites it
// under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "checkruns", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), got, "golden file %s differs; run go test -update and review the diff", path)
}

// render is a check run as a person reads it, for golden files.
func render(c fakeCheck) string {
	return "conclusion: " + c.Run.Conclusion + "\ntitle: " + c.Run.Title + "\n\n" + c.Run.Summary + "\n---- text ----\n\n" + c.Run.Text
}

// TestWaveCheckRuns follows the check run on each pull request of wave 1:
// neutral while the wave waits for its merges and gates, saying what it
// waits for and each gate's verdict, success once the wave succeeded; a
// pass that changes nothing writes nothing.
func TestWaveCheckRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)

	for _, head := range []string{"head-1", "head-2"} {
		c := onlyCheck(t, w, head)
		assert.Equal(t, "completed", c.Run.Status)
		assert.Equal(t, rollout.CheckNeutral, c.Run.Conclusion)
		assert.Equal(t, "Waiting for wave 1: #1 (tenant-a), #2 (tenant-b) approved, to be merged by the tenant's owners", c.Run.Title)
	}
	w.api.mu.Lock()
	assert.Equal(t, []string{headSHA}, w.api.lookedAt, "a pull request just opened has no check run to look for (the campaign file's commit has)")
	w.api.mu.Unlock()
	a := onlyCheck(t, w, "head-1")
	assert.Contains(t, a.Run.Summary, "| `a-dev-1` | 1.29 → 1.30 | InPR |")
	assert.Contains(t, a.Run.Summary, "| `a-dev-1` | terraform | after the merge | - | - |")
	assert.NotContains(t, a.Run.Summary, "b-dev-1", "a pull request's check run shows its own tenant's clusters")
	checkGolden(t, "open.md", render(a))

	writes := w.api.writes()
	require.NoError(t, b.Reconcile(t.Context()))
	assert.Equal(t, writes, w.api.writes(), "a pass that changes nothing shown writes nothing")

	p := w.api.merge(t, 1, "aaaa")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, p.HeadRef, "aaaa")))
	a = onlyCheck(t, w, "head-1")
	assert.Equal(t, rollout.CheckNeutral, a.Run.Conclusion)
	assert.Equal(t, "Waiting for wave 1: #2 (tenant-b) approved, to be merged by the tenant's owners", a.Run.Title)
	assert.Contains(t, a.Run.Summary, "| `a-dev-1` | terraform | passed | checks succeeded on aaaa |")
	assert.Contains(t, a.Run.Summary, "| `a-dev-1` | 1.29 → 1.30 | Succeeded |")
	assert.Equal(t, a.Run.Title, onlyCheck(t, w, "head-2").Run.Title, "every pull request of the wave waits for the same")

	p = w.api.merge(t, 2, "bbbb")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 2, p.HeadRef, "bbbb")))
	for _, head := range []string{"head-1", "head-2"} {
		c := onlyCheck(t, w, head)
		assert.Equal(t, rollout.CheckSuccess, c.Run.Conclusion, head)
		assert.Equal(t, "Wave 1 succeeded", c.Run.Title, head)
	}
	checkGolden(t, "succeeded.md", render(onlyCheck(t, w, "head-1")))
}

// TestWaveCheckRunHalt: a gate failure halts the campaign, and each pull
// request of the wave shows a failure with the halt report: the reason,
// the failed clusters with what their gate saw, and the commands.
func TestWaveCheckRunHalt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	b.cfg.Gates = failGates{"a-dev-1": true}
	started(t, w, b)

	p := w.api.merge(t, 1, "aaaa")
	require.NoError(t, b.Handle(t.Context(), prWebhook("closed", 1, p.HeadRef, "aaaa")))
	st, _ := w.state(t, campaign)
	require.Equal(t, rollout.CampaignHalted, st.Phase)
	for _, head := range []string{"head-1", "head-2"} {
		c := onlyCheck(t, w, head)
		assert.Equal(t, rollout.CheckFailure, c.Run.Conclusion, head)
		assert.Equal(t, "Halted: "+st.HaltReason, c.Run.Title, head)
		assert.Contains(t, c.Run.Summary, "#### Halted", head)
		assert.Contains(t, c.Run.Summary, "| 1 | `a-dev-1` | tenant-a | Failed | terraform | terraform-apply failed on aaaa |", head)
		assert.Contains(t, c.Run.Summary, "`/fleet retry [cluster]`", head)
	}
	checkGolden(t, "halted.md", render(onlyCheck(t, w, "head-1")))
}

// TestWaveCheckRunIsFoundAgain: a restarted bot writes nothing new; one
// that lost its record of a check run (a crash between the write and the
// record) finds the run on the head by name instead of adding a second;
// and a head that moves gets a check run of its own.
func TestWaveCheckRunIsFoundAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b1 := w.bot(t, "r1", nil)
	started(t, w, b1)
	writes := w.api.writes()
	require.NoError(t, w.store.Close())

	w.open(t)
	b2 := w.bot(t, "r1", nil)
	require.NoError(t, b2.Reconcile(t.Context()))
	assert.Equal(t, writes, w.api.writes(), "a restart writes nothing")

	rec, err := w.store.Get(t.Context(), checksKey(campaign))
	require.NoError(t, err)
	require.NoError(t, w.store.Delete(t.Context(), checksKey(campaign), rec.Version, store.Fence{}))
	require.NoError(t, b2.Reconcile(t.Context()))
	onlyCheck(t, w, "head-1")
	onlyCheck(t, w, "head-2")
	w.api.mu.Lock()
	assert.Subset(t, w.api.lookedAt, []string{"head-1", "head-2"}, "each head's check runs were looked at")
	w.api.mu.Unlock()

	// Tenant a's branch is regenerated: GitHub reports the new head.
	w.api.mu.Lock()
	w.api.prs[0].HeadSHA = "head-1b"
	w.api.mu.Unlock()
	ev := prWebhook("synchronize", 1, w.api.prs[0].HeadRef, "")
	ev.HeadSHA = "head-1b"
	require.NoError(t, b2.Handle(t.Context(), ev))
	moved := onlyCheck(t, w, "head-1b")
	assert.Equal(t, rollout.CheckNeutral, moved.Run.Conclusion)
	assert.True(t, strings.HasPrefix(moved.Run.Title, "Waiting for wave 1"), moved.Run.Title)
	onlyCheck(t, w, "head-1")
	writes = w.api.writes()
	require.NoError(t, b2.Handle(t.Context(), ev))
	assert.Equal(t, writes, w.api.writes(), "the same head again writes nothing")
}

func TestWaveSentence(t *testing.T) {
	t.Parallel()
	change := rollout.PlanChange{Kind: rollout.KindField, Files: "environments/**/*.yaml", Path: "amiRelease", To: "v2", Revertible: true}
	tests := []struct {
		wave rollout.Wave
		want string
	}{
		{rollout.Wave{Env: "prod", Canary: true}, "This wave (prod, canary) makes the change"},
		{rollout.Wave{Env: "prod", Shared: true}, "This wave (prod, shared files) makes the change"},
		{rollout.Wave{Shared: true}, "This wave (shared files) makes the change: field amiRelease in environments/**/*.yaml -> v2, revertible."},
	}
	for _, tt := range tests {
		assert.Contains(t, waveSentence(rollout.WaveState{}, &tt.wave, change), tt.want)
	}
}
