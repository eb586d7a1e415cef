package bot

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// gitFake adds the Git Data API to the fake repository, for the revert pull
// requests the bot writes itself: blobs, trees, commits and branches are
// kept in memory so a test can read what a pull request's head holds.
type gitFake struct {
	*fakeAPI

	mu        sync.Mutex
	blobs     map[string][]byte
	trees     map[string][]gh.TreeEntry
	commits   map[string]gh.Commit
	refs      map[string]string
	reviewers map[int][]string
	labels    map[int][]string
}

func newGitFake(api *fakeAPI) *gitFake {
	return &gitFake{
		fakeAPI: api, blobs: map[string][]byte{}, trees: map[string][]gh.TreeEntry{},
		commits: map[string]gh.Commit{headSHA: {SHA: headSHA, Tree: "tree-base"}},
		refs:    map[string]string{}, reviewers: map[int][]string{}, labels: map[int][]string{},
	}
}

func (g *gitFake) Ref(ctx context.Context, owner, repo, branch string) (string, error) {
	g.mu.Lock()
	sha, ok := g.refs[branch]
	g.mu.Unlock()
	if ok {
		return sha, nil
	}
	return g.fakeAPI.Ref(ctx, owner, repo, branch)
}

func (g *gitFake) CreateRef(_ context.Context, _, _, branch, sha string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.refs[branch]; ok {
		return fmt.Errorf("branch %s exists", branch)
	}
	g.refs[branch] = sha
	return nil
}

func (g *gitFake) UpdateRef(_ context.Context, _, _, branch, sha string, _ bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refs[branch] = sha
	return nil
}

func (g *gitFake) Commit(_ context.Context, _, _, sha string) (gh.Commit, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.commits[sha]
	if !ok {
		return gh.Commit{}, fmt.Errorf("commit %s: %w", sha, gh.ErrNotFound)
	}
	return c, nil
}

func (g *gitFake) CreateBlob(_ context.Context, _, _ string, content []byte) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sha := fmt.Sprintf("blob-%d", len(g.blobs)+1)
	g.blobs[sha] = content
	return sha, nil
}

func (g *gitFake) CreateTree(_ context.Context, _, _, _ string, entries []gh.TreeEntry) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sha := fmt.Sprintf("tree-%d", len(g.trees)+1)
	g.trees[sha] = entries
	return sha, nil
}

func (g *gitFake) CreateCommit(_ context.Context, _, _ string, nc gh.NewCommit) (gh.Commit, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := gh.Commit{SHA: fmt.Sprintf("commit-%d", len(g.commits)), Tree: nc.Tree, Parents: nc.Parents, Message: nc.Message, Verified: true}
	g.commits[c.SHA] = c
	return c, nil
}

func (g *gitFake) CreatePullRequest(_ context.Context, _, _ string, p gh.NewPullRequest) (gh.PullRequest, error) {
	g.mu.Lock()
	head := g.refs[p.Head]
	g.mu.Unlock()
	f := g.fakeAPI
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.prs) + 1
	pr := gh.PullRequest{Number: n, State: "open", Title: p.Title, Body: p.Body, HeadRef: p.Head, HeadRepo: "acme/fleet", HeadSHA: head, BaseRef: p.Base,
		HTMLURL: fmt.Sprintf("https://github.test/acme/fleet/pull/%d", n)}
	f.prs = append(f.prs, pr)
	return pr, nil
}

func (g *gitFake) RequestReviewers(_ context.Context, _, _ string, number int, users, teams []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reviewers[number] = append(append(g.reviewers[number], users...), teams...)
	return nil
}

func (g *gitFake) AddLabels(_ context.Context, _, _ string, number int, labels []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.labels[number] = append(g.labels[number], labels...)
	return nil
}

// written returns what the head commit of branch changes: each path with
// its new content, or nil when it deletes the file.
func (g *gitFake) written(t *testing.T, branch string) map[string][]byte {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	sha, ok := g.refs[branch]
	require.True(t, ok, "no branch %s", branch)
	out := map[string][]byte{}
	for _, e := range g.trees[g.commits[sha].Tree] {
		switch {
		case e.Delete:
			out[e.Path] = nil
		case e.Content != "":
			out[e.Path] = []byte(e.Content) // GitHub writes its blob
		default:
			out[e.Path] = g.blobs[e.SHA]
		}
	}
	return out
}

// gitHub is a GitHub with one installation covering every repository,
// serving the fake with the Git Data API.
type gitHub struct{ api *gitFake }

func (h gitHub) API(context.Context, string, string) (Client, error) { return h.api, nil }

// labelWorld is a world whose fleet also has a label hierarchy, running the
// label campaign addons-r2; its bot writes revert pull requests on git.
func labelWorld(t *testing.T) (*world, *gitFake, *Bot) {
	t.Helper()
	w := newWorld(t, "addons-r2.yaml")
	require.NoError(t, os.Remove(filepath.Join(w.mirror.dir, ".fleetbot.yaml")))
	require.NoError(t, os.CopyFS(w.mirror.dir, os.DirFS("testdata/labelfleet")))
	g := newGitFake(w.api)
	b := w.bot(t, "r1", nil)
	b.cfg.GitHub = gitHub{g}
	return w, g, b
}

// land writes the files of the wave pull requests asked for so far into the
// checkout, as their merge would, once per request.
func land(t *testing.T, w *world, reqs []wave.Request) {
	t.Helper()
	for _, req := range reqs {
		files, err := gitops.Apply(gitops.DirReader(w.mirror.dir), req.PR)
		require.NoError(t, err, "wave %d %s", req.Wave, req.PR.Tenant)
		for _, f := range files {
			p := filepath.Join(w.mirror.dir, filepath.FromSlash(f.Path))
			if f.New == nil {
				require.NoError(t, os.Remove(p))
				continue
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, f.New, 0o644))
		}
	}
}

// mergeWave merges every open wave pull request of the label world, writing
// their content into the checkout, and reconciles.
func mergeWave(t *testing.T, w *world, b *Bot, reqs []wave.Request, shas ...string) {
	t.Helper()
	land(t, w, reqs)
	for i, req := range reqs {
		p, ok := w.api.byBranch(wave.BranchOf(campaignOf(req), req.Wave, req.PR))
		require.True(t, ok)
		w.api.merge(t, p.Number, shas[i])
	}
	// The first pass records the merges and the gates, the second lets the
	// bake end and opens the next wave.
	require.NoError(t, b.Reconcile(t.Context()))
	require.NoError(t, b.Reconcile(t.Context()))
}

func campaignOf(req wave.Request) string { return req.Campaign.Metadata.Name }

func readFile(t *testing.T, w *world, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.mirror.dir, filepath.FromSlash(path)))
	require.NoError(t, err)
	return string(b)
}

func TestInverse(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"set.yaml":       "labels:\n  release: 'release2' # pinned\n  team: a\n",
		"inserted.yaml":  "# mine\nlabels:\n  team: a\n  release: release2\n",
		"deleted.yaml":   "labels:\n  team: a\n",
		"created.yaml":   "labels:\n  release: \"release2\"\n",
		"moved.yaml":     "labels:\n  release: release3\n",
		"grown.yaml":     "labels:\n  release: \"release2\"\n  extra: x\n",
		"theirs.yaml":    "labels:\n  release: release2\n",
		"placed.yaml":    "labels:\n  team: a # ours\n  zone: b\n",
		"two.yaml":       "labels:\n  a: x\n  d: y\n",
		"next-gone.yaml": "labels:\n  team: a\n",
	}
	// before is what the files held before the campaign's merge, for
	// those whose deleted keys go back where they stood.
	before := map[string]string{
		"placed.yaml":    "labels:\n  team: a # ours\n  release: release1\n  zone: b\n",
		"two.yaml":       "labels:\n  a: x\n  b: one\n  c: two\n  d: y\n",
		"next-gone.yaml": "labels:\n  release: release1\n  zone: b\n  team: a\n",
	}
	reader := func(files map[string]string) gitops.ReadFunc {
		return func(p string) ([]byte, error) {
			s, ok := files[p]
			if !ok {
				return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
			}
			return []byte(s), nil
		}
	}
	read, was := reader(files), reader(before)
	path := []string{"labels", "release"}
	tests := []struct {
		name   string
		change rollout.FileChange
		want   *string // nil: deleted; absent from files: kept
		kept   string
	}{
		{name: "set goes back, quoting and comment kept",
			change: rollout.FileChange{Path: "set.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpSet, From: "release1", To: "release2"}}},
			want:   ptr("labels:\n  release: 'release1' # pinned\n  team: a\n")},
		{name: "insert is deleted",
			change: rollout.FileChange{Path: "inserted.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpInsert, To: "release2"}}},
			want:   ptr("# mine\nlabels:\n  team: a\n")},
		{name: "delete is inserted again, at the end when the file before cannot be read",
			change: rollout.FileChange{Path: "deleted.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpDelete, From: "release1"}}},
			want:   ptr("labels:\n  team: a\n  release: release1\n")},
		{name: "delete goes back where it stood",
			change: rollout.FileChange{Path: "placed.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpDelete, From: "release1"}}},
			want:   ptr("labels:\n  team: a # ours\n  release: release1\n  zone: b\n")},
		{name: "deletes side by side go back in their order",
			change: rollout.FileChange{Path: "two.yaml", Edits: []rollout.Edit{
				{Path: []string{"labels", "b"}, Op: rollout.OpDelete, From: "one"},
				{Path: []string{"labels", "c"}, Op: rollout.OpDelete, From: "two"},
			}},
			want: ptr("labels:\n  a: x\n  b: one\n  c: two\n  d: y\n")},
		{name: "delete whose next keys are gone since goes before the first that is left",
			change: rollout.FileChange{Path: "next-gone.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpDelete, From: "release1"}}},
			want:   ptr("labels:\n  release: release1\n  team: a\n")},
		{name: "created file is deleted",
			change: rollout.FileChange{Path: "created.yaml", Create: true, Content: files["created.yaml"], Edits: []rollout.Edit{{Path: path, Op: rollout.OpCreate, To: "release2"}}}},
		{name: "value changed since is kept",
			change: rollout.FileChange{Path: "moved.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpSet, From: "release1", To: "release2"}}},
			kept:   `expected "release2"`},
		{name: "created file changed since is kept",
			change: rollout.FileChange{Path: "grown.yaml", Create: true, Content: files["created.yaml"]},
			kept:   "changed since"},
		{name: "file gone is kept",
			change: rollout.FileChange{Path: "gone.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpSet, From: "release1", To: "release2"}}},
			kept:   "no longer exists"},
		{name: "file no longer the tenant's is kept",
			change: rollout.FileChange{Path: "theirs.yaml", Edits: []rollout.Edit{{Path: path, Op: rollout.OpSet, From: "release1", To: "release2"}}},
			kept:   "no longer gives this file to tenant-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pr := rollout.PullRequest{Repo: "acme/fleet", Tenant: "tenant-a", Files: []rollout.FileChange{tt.change}}
			got, kept := inverse(read, was, pr, func(p string) bool { return p != "theirs.yaml" })
			if tt.kept != "" {
				assert.Empty(t, got)
				require.Len(t, kept, 1)
				assert.Equal(t, tt.change.Path, kept[0].Path)
				assert.Contains(t, kept[0].Reason, tt.kept)
				return
			}
			assert.Empty(t, kept)
			require.Len(t, got, 1)
			assert.Equal(t, files[tt.change.Path], string(got[0].Old))
			if tt.want == nil {
				assert.Nil(t, got[0].New, "the file is deleted")
				return
			}
			assert.Equal(t, *tt.want, string(got[0].New))
		})
	}
}

// TestInversePartly: a person changed one of the values a file's revert
// sets back; the others still go back, and the one left is named.
func TestInversePartly(t *testing.T) {
	t.Parallel()
	const file = "ami.yaml"
	read := func(p string) ([]byte, error) {
		if p != file {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		return []byte("ami:\n  gpu: v2 # new\n  cpu: mine\n"), nil
	}
	pr := rollout.PullRequest{Repo: "acme/fleet", Tenant: "tenant-a", Files: []rollout.FileChange{{Path: file, Edits: []rollout.Edit{
		{Path: []string{"ami", "gpu"}, Op: rollout.OpSet, From: "v1", To: "v2"},
		{Path: []string{"ami", "cpu"}, Op: rollout.OpSet, From: "v1", To: "v2"},
	}}}}
	got, kept := inverse(read, nil, pr, nil)
	require.Len(t, got, 1)
	assert.Equal(t, "ami:\n  gpu: v1 # new\n  cpu: mine\n", string(got[0].New))
	require.Len(t, kept, 1)
	assert.Equal(t, file, kept[0].Path)
	assert.Contains(t, kept[0].Reason, "partly reverted: `ami.cpu` left as it is: ")
	assert.Contains(t, kept[0].Reason, `expected "v2"`)

	// Neither applies: the file is kept whole, as before.
	pr.Files[0].Edits[0].To = "v3"
	got, kept = inverse(read, nil, pr, nil)
	assert.Empty(t, got)
	require.Len(t, kept, 1)
	assert.NotContains(t, kept[0].Reason, "partly")
}

func ptr(s string) *string { return &s }

var testTime = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// TestRollbackOpensRevertPullRequests rolls the label campaign back after
// its waves and its clean-up merged: one revert wave per merged wave, the
// last wave first, each opened only once the one before it merged, was
// gated and baked; each revert pull request holds the inverse of its edits
// on the current base; a file someone changed since is left out and named
// in the body.
func TestRollbackOpensRevertPullRequests(t *testing.T) {
	t.Parallel()
	w, g, b := labelWorld(t)
	const name = "addons-r2"
	before := map[string]string{}
	for _, p := range []string{"labels/tenant-b/clusters/b-dev-1.yaml", "labels/tenant-b/clusters/b-prod-1.yaml"} {
		before[p] = readFile(t, w, p)
	}
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/addons-r2.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	mergeWave(t, w, b, w.ensure.calls(), "aaaa", "bbbb")
	require.Len(t, w.ensure.calls(), 4, "wave 2 opened")
	wave2 := w.ensure.calls()[2:]
	require.Equal(t, []string{"2/tenant-a", "2/tenant-b"}, tenants(wave2))
	mergeWave(t, w, b, wave2, "cccc", "dddd")
	// The clean-up waves: the value folded into the shared defaults, then
	// the overrides that became redundant removed.
	st, _ := w.state(t, name)
	require.Equal(t, rollout.CampaignRunning, st.Phase, "the campaign is not done before its clean-up")
	require.Len(t, st.Waves, 4)
	require.Equal(t, rollout.WaveCleanup, st.Waves[2].Kind)
	mergeWave(t, w, b, w.ensure.calls()[4:], "eeee")
	mergeWave(t, w, b, w.ensure.calls()[5:], "ffff", "gggg")
	st, _ = w.state(t, name)
	require.Equal(t, rollout.CampaignSucceeded, st.Phase)
	dashboard := func() (string, string) {
		t.Helper()
		for _, is := range w.api.dashboards() {
			if isDashboard(is, name) {
				return is.State, is.StateReason
			}
		}
		t.Fatal("no dashboard issue")
		return "", ""
	}
	state, reason := dashboard()
	assert.Equal(t, []string{"closed", "completed"}, []string{state, reason})
	body := func() string {
		t.Helper()
		for _, is := range w.api.dashboards() {
			if isDashboard(is, name) {
				return is.Body
			}
		}
		return ""
	}
	assert.Contains(t, body(), "fleetbot closed this issue when the campaign ended. `/fleet rollback` in a comment here still rolls back what it merged; no other command changes it any more. `/fleet status`, `/fleet plan` and `/fleet help` still answer.")
	// Each pull request names the gates its wave runs: a clean-up wave runs
	// the clean-up gates, none for this terraform-only campaign.
	calls := w.ensure.calls()
	assert.Equal(t, []string{"terraform"}, calls[0].Gates)
	assert.Equal(t, st.WaveGates(3), calls[4].Gates)
	assert.Empty(t, calls[4].Gates, "the clean-up's pull request promises no terraform gate")

	// Someone edits a file the campaign created, after the merge.
	edited := "labels/tenant-a/clusters/a-dev-2.yaml"
	require.NoError(t, os.WriteFile(filepath.Join(w.mirror.dir, edited), []byte("externalSecret:\n  labels:\n    addonsRelease: release9\n"), 0o644))

	st, err := b.Operate(t.Context(), name, rollout.Rollback{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRollingBack, st.Phase)
	require.Len(t, st.Waves, 8)
	assert.Equal(t, []int{4, 3, 2, 1}, []int{st.Waves[4].Reverts, st.Waves[5].Reverts, st.Waves[6].Reverts, st.Waves[7].Reverts}, "last wave first")
	require.NoError(t, b.Reconcile(t.Context()))
	state, reason = dashboard()
	assert.Equal(t, []string{"open", "reopened"}, []string{state, reason}, "the dashboard opens again while the campaign rolls back")
	assert.Regexp(t, `\n> \*\*Rolling back\*\*, asked for by @pat on \d{4}-\d\d-\d\d \d\d:\d\d UTC\.\n`, body(), "who asked, while it rolls back")

	reverts := func() []gh.PullRequest {
		var out []gh.PullRequest
		for _, p := range w.api.prs {
			if _, _, _, ok := wave.ParseRevertBranch(p.HeadRef); ok {
				out = append(out, p)
			}
		}
		return out
	}
	// Each revert wave opens only once the one before it merged, was gated
	// and baked.
	seen := 0
	for i, n := range []int{2, 1, 2, 2} {
		open := reverts()[seen:]
		require.Len(t, open, n, "revert wave %d", i+5)
		shas := make([]string, n)
		for j := range shas {
			shas[j] = fmt.Sprintf("r%d%d", i, j)
		}
		mergeReverts(t, w, g, b, open, shas...)
		seen += n
	}
	st, _ = w.state(t, name)
	assert.Equal(t, rollout.CampaignRolledBack, st.Phase)
	state, reason = dashboard()
	assert.Equal(t, []string{"closed", "not_planned"}, []string{state, reason})
	assert.Contains(t, body(), "fleetbot closed this issue when the campaign ended. No command changes it any more. `/fleet status`, `/fleet plan` and `/fleet help` still answer.")
	all := reverts()[3:]
	require.Len(t, all, 4)

	branches := make([]string, len(all))
	for i, p := range all {
		branches[i] = p.HeadRef
	}
	assert.Equal(t, []string{
		wave.RevertBranch(name, 2, "tenant-a"), wave.RevertBranch(name, 2, "tenant-b"),
		wave.RevertBranch(name, 1, "tenant-a"), wave.RevertBranch(name, 1, "tenant-b"),
	}, branches, "last wave first")

	// Wave 2: a created file is deleted; an inserted key is removed, giving
	// back the file as it was byte for byte.
	assert.Equal(t, map[string][]byte{"labels/tenant-a/clusters/a-prod-1.yaml": nil}, g.written(t, branches[0]))
	assert.Equal(t, map[string][]byte{"labels/tenant-b/clusters/b-prod-1.yaml": []byte(before["labels/tenant-b/clusters/b-prod-1.yaml"])}, g.written(t, branches[1]))
	// Wave 1: the edited file is left out and named; the value set goes
	// back. The clean-up had removed that key, comment and all, and its
	// revert wrote the key again without the comment: the value is back,
	// the comment is not.
	assert.Equal(t, map[string][]byte{"labels/tenant-a/clusters/a-dev-1.yaml": nil}, g.written(t, branches[2]))
	assert.Equal(t, "externalSecret:\n  labels:\n    region: eu\n    addonsRelease: 'release1' # pinned by hand\n", before["labels/tenant-b/clusters/b-dev-1.yaml"])
	assert.Equal(t, map[string][]byte{"labels/tenant-b/clusters/b-dev-1.yaml": []byte("externalSecret:\n  labels:\n    region: eu\n    addonsRelease: release1\n")}, g.written(t, branches[3]))

	wave1a := all[2]
	assert.Equal(t, "fleetbot: revert addons-r2 wave 1 — tenant-a", wave1a.Title)
	merged1, _ := w.api.byBranch(wave.Branch(name, 1, "tenant-a"))
	assert.Contains(t, wave1a.Body, fmt.Sprintf("Reverts #%d: wave **1** of campaign **addons-r2**", merged1.Number))
	assert.Contains(t, wave1a.Body, "**Left as they are**")
	assert.Contains(t, wave1a.Body, "`"+edited+"`: the campaign created it, and it changed since")
	assert.Equal(t, []string{"alice", "payments"}, g.reviewers[wave1a.Number], "the tenant's owners review")
	assert.Equal(t, []string{"bruno"}, g.reviewers[all[3].Number])
	assert.Equal(t, []string{"fleetbot", "campaign:addons-r2", "revert"}, g.labels[wave1a.Number])

	// Asking again changes nothing and opens no second pull request.
	prs := len(w.api.prs)
	st, err = b.Operate(t.Context(), name, rollout.Rollback{By: "pat"})
	require.ErrorIs(t, err, rollout.ErrIgnored)
	assert.Equal(t, rollout.CampaignRolledBack, st.Phase)
	assert.Len(t, w.api.prs, prs)
	assert.Len(t, g.refs, 7, "one branch per reverted pull request")
}

// mergeReverts merges revert pull requests, writing what each wrote into
// the checkout, and reconciles twice: the merges and gates, then the bake.
func mergeReverts(t *testing.T, w *world, g *gitFake, b *Bot, prs []gh.PullRequest, shas ...string) {
	t.Helper()
	for i, p := range prs {
		for path, content := range g.written(t, p.HeadRef) {
			full := filepath.Join(w.mirror.dir, filepath.FromSlash(path))
			if content == nil {
				require.NoError(t, os.Remove(full))
				continue
			}
			require.NoError(t, os.WriteFile(full, content, 0o644))
		}
		w.api.merge(t, p.Number, shas[i])
	}
	require.NoError(t, b.Reconcile(t.Context()))
	require.NoError(t, b.Reconcile(t.Context()))
}

// TestRollbackCompletesAfterAFailure: a revert that GitHub refused is
// opened on the next pass of the reconcile loop.
func TestRollbackCompletesAfterAFailure(t *testing.T) {
	t.Parallel()
	w, g, b := labelWorld(t)
	const name = "addons-r2"
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/addons-r2.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	mergeWave(t, w, b, w.ensure.calls(), "aaaa", "bbbb")

	down := &downGit{gitFake: g, fail: true}
	b.cfg.GitHub = downHub{down}
	st, err := b.Operate(t.Context(), name, rollout.Rollback{})
	require.ErrorContains(t, err, "github is down")
	var ee *rollout.EventError
	assert.NotErrorAs(t, err, &ee, "the machine took the rollback; carrying it out failed")
	assert.Equal(t, rollout.CampaignRollingBack, st.Phase)
	assert.Empty(t, g.refs)

	down.fail = false
	require.NoError(t, b.Reconcile(t.Context()))
	assert.Len(t, g.refs, 2, "both reverts of wave 1 are up")
	_, err = b.Operate(t.Context(), name, rollout.Rollback{})
	require.ErrorIs(t, err, rollout.ErrIgnored)
}

// TestRetryOpensAClosedRevertAgain: a revert pull request a person closed
// without merge holds its wave; /fleet retry opens a new one on the same
// branch (attempt 2), asking again does not open a third, and the rollback
// completes once it merges.
func TestRetryOpensAClosedRevertAgain(t *testing.T) {
	t.Parallel()
	w, g, b := labelWorld(t)
	const name = "addons-r2"
	ctx := t.Context()
	require.NoError(t, b.Handle(ctx, pushOf("campaigns/addons-r2.yaml")))
	require.NoError(t, b.Reconcile(ctx))
	mergeWave(t, w, b, w.ensure.calls(), "aaaa", "bbbb")
	_, err := b.Operate(ctx, name, rollout.Rollback{By: "pat"})
	require.NoError(t, err)
	reverts := func() []gh.PullRequest {
		w.api.mu.Lock()
		defer w.api.mu.Unlock()
		var out []gh.PullRequest
		for _, p := range w.api.prs {
			if _, _, _, ok := wave.ParseRevertBranch(p.HeadRef); ok {
				out = append(out, p)
			}
		}
		return out
	}
	first := reverts()
	require.Len(t, first, 2, "the revert of wave 1, one pull request per tenant")
	closed := w.api.close(t, first[0].Number)
	require.NoError(t, b.Reconcile(ctx))
	st, _ := w.state(t, name)
	require.Equal(t, rollout.CampaignRollingBack, st.Phase)
	assert.Equal(t, rollout.WaitRetry, st.Waiting(time.Time{}).Kind, "the closed revert holds its wave")
	require.NoError(t, b.Reconcile(ctx))
	assert.Len(t, reverts(), 2, "a closed revert is not opened again by itself")

	_, err = b.Operate(ctx, name, rollout.Retry{By: "pat"})
	require.NoError(t, err)
	again := reverts()
	require.Len(t, again, 3, "the retry opens a new revert pull request")
	reopened := again[2]
	assert.Equal(t, closed.HeadRef, reopened.HeadRef, "on the same branch")
	assert.Contains(t, reopened.Body, "attempt=2 -->")
	require.NoError(t, b.Reconcile(ctx))
	assert.Len(t, reverts(), 3, "asking again opens no third one")

	mergeReverts(t, w, g, b, []gh.PullRequest{reopened, first[1]}, "r1", "r2")
	st, _ = w.state(t, name)
	assert.Equal(t, rollout.CampaignRolledBack, st.Phase)
}

// labelWave1Merged starts the label world's campaign and merges its wave
// 1, whose first pull request is tenant-a's; it returns the world and wave
// 1's requests.
func labelWave1Merged(t *testing.T) (*world, *gitFake, *Bot, []wave.Request) {
	t.Helper()
	w, g, b := labelWorld(t)
	require.NoError(t, b.Handle(t.Context(), pushOf("campaigns/addons-r2.yaml")))
	require.NoError(t, b.Reconcile(t.Context()))
	wave1 := w.ensure.calls()
	mergeWave(t, w, b, wave1, "aaaa", "bbbb")
	require.Equal(t, "tenant-a", wave1[0].PR.Tenant)
	return w, g, b, wave1
}

// TestRevertOfHandEditedFilesIsNotRecorded: when every file a tenant's
// pull request wrote was changed by hand since, nothing can be reverted,
// and the clusters are not back where they were. The revert is not
// recorded: it stays a trouble that names the files and what to do, the
// campaign does not end rolled back, and skipping the cluster lets it.
func TestRevertOfHandEditedFilesIsNotRecorded(t *testing.T) {
	t.Parallel()
	w, g, b, wave1 := labelWave1Merged(t)
	const name = "addons-r2"
	ctx := t.Context()
	// A person edits every file tenant-a's pull request created.
	const byHand = "externalSecret:\n  labels:\n    addonsRelease: release9\n"
	var edited []string
	for _, fc := range wave1[0].PR.Files {
		edited = append(edited, fc.Path)
		require.NoError(t, os.WriteFile(filepath.Join(w.mirror.dir, fc.Path), []byte(byHand), 0o644))
	}
	require.Equal(t, []string{"labels/tenant-a/clusters/a-dev-1.yaml", "labels/tenant-a/clusters/a-dev-2.yaml"}, edited)
	require.Equal(t, []string{"a-dev-1", "a-dev-2"}, wave1[0].Clusters)

	_, err := b.Operate(ctx, name, rollout.Rollback{By: "pat"})
	require.ErrorContains(t, err, "tenant tenant-a: nothing of the pull request #")
	var reverts []gh.PullRequest
	for _, p := range w.api.prs {
		if _, _, _, ok := wave.ParseRevertBranch(p.HeadRef); ok {
			reverts = append(reverts, p)
		}
	}
	require.Len(t, reverts, 1, "tenant-b's revert opens; tenant-a's has nothing to change")
	assert.Equal(t, wave.RevertBranch(name, 1, "tenant-b"), reverts[0].HeadRef)
	for path, content := range g.written(t, reverts[0].HeadRef) {
		require.NoError(t, os.WriteFile(filepath.Join(w.mirror.dir, filepath.FromSlash(path)), content, 0o644))
	}
	w.api.merge(t, reverts[0].Number, "r1")
	for range 2 { // the merge and gates, then the bake
		require.ErrorContains(t, b.Reconcile(ctx), "tenant tenant-a: nothing of the pull request #", "tried again on every pass")
	}

	st, _ := w.state(t, name)
	assert.Equal(t, rollout.CampaignRollingBack, st.Phase, "a-dev-1 is not reverted")
	b.mu.Lock()
	troubles := slices.Collect(maps.Values(b.troubles[name]))
	b.mu.Unlock()
	require.Len(t, troubles, 1)
	assert.Equal(t, "open the pull request of tenant-a in wave 5", troubles[0].What)
	const why = " (the campaign created it, and it changed since; delete it by hand if it is no longer wanted)"
	assert.Regexp(t, `^nothing of the pull request #\d+ can be reverted: revert its files by hand, and the next pass records the revert, or skip a-dev-1, a-dev-2 \(/fleet skip CLUSTER --reason "\.\.\."\)\. Kept: `+
		regexp.QuoteMeta(edited[0]+why+"; "+edited[1]+why)+`$`, troubles[0].Err)
	w.clock.add(rollout.TroubleAfter)
	require.ErrorContains(t, b.Reconcile(ctx), "tenant tenant-a: nothing of the pull request #")
	body := dashboardFor(t, w, name).Body
	assert.Contains(t, body, "> **fleetbot cannot open the pull request of tenant-a in wave 5:**")
	assert.Contains(t, body, "**Commands that apply now:** `/fleet pause` · `/fleet skip <cluster> --reason \"...\"` · `/fleet abort`",
		"the skip the trouble names applies now")

	_, err = b.Operate(ctx, name, rollout.SkipCluster{Cluster: "a-dev-1", Reason: "kept at release9 by hand", By: "pat"})
	require.ErrorContains(t, err, "or skip a-dev-2 (", "the skip is taken; the other cluster is still not reverted")
	_, err = b.Operate(ctx, name, rollout.SkipCluster{Cluster: "a-dev-2", Reason: "kept at release9 by hand", By: "pat"})
	require.NoError(t, err)
	require.NoError(t, b.Reconcile(ctx))
	st, _ = w.state(t, name)
	assert.Equal(t, rollout.CampaignRolledBack, st.Phase)
	for _, p := range edited {
		assert.Equal(t, byHand, readFile(t, w, p), "the hand edit stands")
	}
}

// TestRevertOfFilesRevertedByHand: a file the campaign created that a
// person deleted since is reverted already; with every file of a tenant's
// pull request so, the revert is recorded at the base's head, and no pull
// request opens for it.
func TestRevertOfFilesRevertedByHand(t *testing.T) {
	t.Parallel()
	w, _, b, wave1 := labelWave1Merged(t)
	const name = "addons-r2"
	ctx := t.Context()
	for _, fc := range wave1[0].PR.Files {
		require.True(t, fc.Create, fc.Path)
		require.NoError(t, os.Remove(filepath.Join(w.mirror.dir, fc.Path)))
	}

	st, err := b.Operate(ctx, name, rollout.Rollback{By: "pat"})
	require.NoError(t, err)
	revert := st.Waves[len(st.Waves)-1]
	require.Equal(t, rollout.WaveRevert, revert.Kind)
	byTenant := map[string]rollout.PRStatus{}
	for _, pr := range revert.PRs {
		byTenant[pr.Tenant] = pr.Status
	}
	assert.Equal(t, map[string]rollout.PRStatus{"tenant-a": rollout.PRStatusMerged, "tenant-b": rollout.PRStatusOpen}, byTenant, "tenant-a's revert is recorded without a pull request")
	b.mu.Lock()
	assert.Empty(t, b.troubles[name])
	b.mu.Unlock()
}

// downGit fails writing trees while fail is set.
type downGit struct {
	*gitFake
	fail bool
}

func (d *downGit) CreateTree(ctx context.Context, owner, repo, base string, entries []gh.TreeEntry) (string, error) {
	if d.fail {
		return "", fmt.Errorf("create tree: github is down")
	}
	return d.gitFake.CreateTree(ctx, owner, repo, base, entries)
}

type downHub struct{ api *downGit }

func (h downHub) API(context.Context, string, string) (Client, error) { return h.api, nil }

func TestParseRevertBranch(t *testing.T) {
	t.Parallel()
	b := wave.RevertBranch("addons-r2", 3, "tenant-a")
	assert.Equal(t, "fleetbot/addons-r2/revert-3/tenant-a", b)
	_, _, _, ok := wave.ParseBranch(b)
	assert.False(t, ok, "a revert branch is not a wave branch")
	c, n, tenant, ok := wave.ParseRevertBranch("refs/heads/" + b)
	assert.True(t, ok)
	assert.Equal(t, []any{"addons-r2", 3, "tenant-a"}, []any{c, n, tenant})
	for _, other := range []string{wave.Branch("addons-r2", 3, "tenant-a"), "fleetbot/addons-r2/revert-03/tenant-a", "fleetbot/addons-r2/revert-/tenant-a", "fleetbot/x/revert-1/a/b"} {
		_, _, _, ok = wave.ParseRevertBranch(other)
		assert.False(t, ok, other)
	}
}

// priorMirror is a fakeMirror that reads files as they were before a
// commit, from before (sha -> path -> content).
type priorMirror struct {
	*fakeMirror
	before map[string]map[string]string
}

func (m priorMirror) FileBefore(_ context.Context, cloneURL, sha, file string) ([]byte, error) {
	s, ok := m.before[cloneURL+"@"+sha][file]
	if !ok {
		return nil, fmt.Errorf("%s before %s: %w", file, sha, fs.ErrNotExist)
	}
	return []byte(s), nil
}

// TestReadBefore: a revert reads the files as they were before the merge
// it undoes from a mirror that can; from one that cannot, or without the
// merge's commit, it reads nothing (a deleted key then goes back at the end
// of its mapping).
func TestReadBefore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	h := headRef{cloneURL: "https://github.test/acme/fleet.git", sha: headSHA}
	assert.Nil(t, b.readBefore(t.Context(), h, "m1"), "the fake mirror cannot")

	b.cfg.Mirror = priorMirror{fakeMirror: w.mirror, before: map[string]map[string]string{h.cloneURL + "@m1": {"a.yaml": "a: 1\n"}}}
	assert.Nil(t, b.readBefore(t.Context(), h, ""), "no merge commit recorded")
	read := b.readBefore(t.Context(), h, "m1")
	require.NotNil(t, read)
	got, err := read("a.yaml")
	require.NoError(t, err)
	assert.Equal(t, "a: 1\n", string(got))
	_, err = read("b.yaml")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
