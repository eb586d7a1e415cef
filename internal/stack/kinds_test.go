package stack_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// mergeAsOwner approves and merges a pull request as one of the tenant's
// owners and reports Terraform CI's success on the merge commit.
func mergeAsOwner(t *testing.T, s *stack.Stack, number int, owner string) {
	t.Helper()
	var merged struct {
		SHA string `json:"sha"`
	}
	approve(t, s, "acme/fleet", number, owner)
	_, err := s.Do(t.Context(), http.MethodPut, fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", number), owner, map[string]any{}, &merged)
	require.NoError(t, err)
	_, err = s.Do(t.Context(), http.MethodPost, "/repos/acme/fleet/check-runs", "", map[string]any{
		"name": "terraform-apply", "head_sha": merged.SHA, "status": "completed", "conclusion": "success",
	}, nil)
	require.NoError(t, err)
}

// running starts the stack over examples/fleet in dir, with a reconcile
// loop of every, and pushes the campaign of testdata/file; it returns the
// stack and the plan the bot should follow.
func running(t *testing.T, file, dir string, every time.Duration) (*stack.Stack, *rollout.Plan) {
	t.Helper()
	s, plan, src := startedFor(t, file, stack.Options{Dir: dir, ReconcileInterval: every})
	require.NoError(t, s.PushCampaign(t.Context(), plan.Campaign, src))
	return s, plan
}

// startedFor starts a stack with opts on the example fleet, and returns
// it with the plan of testdata/file and the file, not pushed yet.
func startedFor(t *testing.T, file string, opts stack.Options) (*stack.Stack, *rollout.Plan, []byte) {
	t.Helper()
	opts.Fleet = filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	src, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	plan, _ := expectedPlan(t, src, opts.Fleet)
	s, err := stack.Start(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, plan, src
}

// cloneMain clones the fleet repository's main branch as it is now.
func cloneMain(t *testing.T, s *stack.Stack) string {
	t.Helper()
	clone := t.TempDir()
	out, err := exec.CommandContext(t.Context(), "git", "clone", "-q", "http://x:"+s.Token+"@"+strings.TrimPrefix(s.GitHubURL, "http://")+"/acme/fleet.git", clone).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return clone
}

// TestEndToEndFieldChange runs a field campaign (a node-group AMI release)
// through the sandbox and the real bot: one pull request per tenant per
// wave with the plan's files, each merged by an owner and verified by
// Terraform CI, to Succeeded; main then holds the new release wherever the
// plan changed it and nowhere else.
func TestEndToEndFieldChange(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fleetDir := filepath.Join(testenv.ModuleRoot(t), "examples", "fleet")
	src, err := os.ReadFile(filepath.Join("testdata", "gpu-ami.yaml"))
	require.NoError(t, err)
	plan, layouts := expectedPlan(t, src, fleetDir)
	require.Equal(t, rollout.KindField, plan.Change.Kind)
	require.Greater(t, len(plan.Waves), 2)
	owners := layouts[fleetDir].Owners

	s, err := stack.Start(ctx, stack.Options{Dir: t.TempDir(), Fleet: fleetDir, ReconcileInterval: 300 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, plan.Campaign, src))

	opened := 0
	for _, w := range plan.Waves {
		prs := waitForWave(t, s, plan.Campaign, w, "acme/fleet")
		for _, p := range prs {
			_, _, tenant, ok := wave.ParseBranch(p.Head.Ref)
			require.True(t, ok, p.Head.Ref)
			checkPull(t, s, p, w, fleetDir, tenant, owners[tenant])
			mergeAsOwner(t, s, p.Number, owners[tenant].Users[0])
			opened++
		}
	}
	st := waitFor(t, "the campaign to succeed", func() (rollout.State, bool) {
		st, ok, err := s.State(ctx, plan.Campaign)
		require.NoError(t, err)
		return st, ok && st.Phase == rollout.CampaignSucceeded
	})
	assert.Len(t, st.Waves, len(plan.Waves))
	var all []pull
	_, err = s.Do(ctx, http.MethodGet, "/repos/acme/fleet/pulls?state=all&per_page=100", "", nil, &all)
	require.NoError(t, err)
	assert.Len(t, all, opened, "one pull request per tenant per wave, no more")

	clone := cloneMain(t, s)
	edits := map[string]int{}
	for _, w := range plan.Waves {
		for _, pr := range w.PullRequests {
			for _, f := range pr.Files {
				edits[f.Path] += len(f.Edits)
			}
		}
	}
	require.NotEmpty(t, edits)
	for path, n := range edits {
		got, err := os.ReadFile(filepath.Join(clone, filepath.FromSlash(path)))
		require.NoError(t, err)
		before, err := os.ReadFile(filepath.Join(fleetDir, filepath.FromSlash(path)))
		require.NoError(t, err)
		assert.Equal(t, n, bytes.Count(got, []byte(`"1.29.3-20240815"`))-bytes.Count(before, []byte(`"1.29.3-20240815"`)),
			"%s holds the new release at each planned place, quoted as before", path)
		assert.Equal(t, len(before), len(got), "%s: only the planned values changed, byte for byte the same length", path)
	}
}

// TestEndToEndConflictingBase moves the base branch under the first wave's
// open pull requests. Tenant a's pull request conflicts with an edit next
// to its line: the bot regenerates it from the new head (the same pull
// request, a new commit whose parent is the new head, keeping the person's
// edit) and says so in its status comment. Tenant b's planned value was
// changed by hand: the bot leaves that file as it is, never overwrites it,
// and names it in its status comment.
func TestEndToEndConflictingBase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, plan := running(t, "eks-1-30.yaml", dir, 300*time.Millisecond)

	prs := waitForWave(t, s, plan.Campaign, plan.Waves[0], "acme/fleet")
	byTenant := map[string]pull{}
	for _, p := range prs {
		_, _, tenant, _ := wave.ParseBranch(p.Head.Ref)
		byTenant[tenant] = p
	}
	require.Contains(t, byTenant, "tenant-a")
	require.Contains(t, byTenant, "tenant-b")
	headBefore := prHead(t, s, byTenant["tenant-a"].Number)

	// A person edits tenant a's file next to the planned line, and sets
	// tenant b's planned version by hand, on main.
	work := filepath.Join(dir, "seed")
	edit := func(path, old, new string) {
		t.Helper()
		p := filepath.Join(work, filepath.FromSlash(path))
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, string(b), old)
		require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
	}
	edit("tenants/tenant-a/dev.yaml", "        version: \"1.29\"\n        vpc_name: shared\n", "        version: \"1.29\"\n        vpc_name: shared-dev\n")
	bFile := byTenant["tenant-b"]
	require.NotEmpty(t, bFile.Head.Ref)
	gpu := "      b-dev-gpu-1:\n        fleet: gpu\n        is_canary: true   # upgraded alone, before the rest of its fleet\n        version: "
	edit("tenants/tenant-b/dev.yaml", gpu+"\"1.29\"", gpu+"\"1.28\" # held back by hand")
	require.NoError(t, s.Commit(ctx, work, "tenants: a person's edits"))
	newMain := mainHead(t, s)

	// Tenant a: regenerated on the new head, the same pull request.
	head := waitFor(t, "tenant a's pull request to be regenerated", func() (prHeadInfo, bool) {
		h := prHead(t, s, byTenant["tenant-a"].Number)
		return h, h.SHA != headBefore.SHA
	})
	assert.Equal(t, "open", head.State)
	var commit struct {
		Parents []struct {
			SHA string `json:"sha"`
		} `json:"parents"`
	}
	_, err := s.Do(ctx, http.MethodGet, "/repos/acme/fleet/git/commits/"+head.SHA, "", nil, &commit)
	require.NoError(t, err)
	require.Len(t, commit.Parents, 1)
	assert.Equal(t, newMain, commit.Parents[0].SHA, "built on the new head, not rebased")
	assert.Equal(t, true, head.Mergeable, "the regenerated pull request merges")
	waitFor(t, "the bot to say it regenerated tenant a's pull request", func() (string, bool) {
		c := statusComment(t, s, byTenant["tenant-a"].Number)
		return c, strings.Contains(c, "regenerated on `main`")
	})

	// Tenant b: the hand edit stands and is named.
	comment := waitFor(t, "the bot to name tenant b's changed file", func() (string, bool) {
		c := statusComment(t, s, byTenant["tenant-b"].Number)
		return c, strings.Contains(c, "tenants/tenant-b/dev.yaml")
	})
	assert.Contains(t, comment, "cannot be regenerated")
	assert.Contains(t, comment, `"1.28"`)

	// Still one pull request per tenant.
	var all []pull
	_, err = s.Do(ctx, http.MethodGet, "/repos/acme/fleet/pulls?state=all&per_page=100", "", nil, &all)
	require.NoError(t, err)
	assert.Len(t, all, len(plan.Waves[0].PullRequests))

	// Tenant a's regenerated pull request merges and carries its change.
	owners := map[string]string{"tenant-a": "arjun"}
	mergeAsOwner(t, s, byTenant["tenant-a"].Number, owners["tenant-a"])
	clone := cloneMain(t, s)
	got, err := os.ReadFile(filepath.Join(clone, "tenants", "tenant-a", "dev.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(got), "        version: \"1.30\"\n        vpc_name: shared-dev\n", "both the campaign's change and the person's")
}

// prHeadInfo is what the tests read of one pull request.
type prHeadInfo struct {
	SHA       string
	State     string
	Mergeable bool
}

func prHead(t *testing.T, s *stack.Stack, number int) prHeadInfo {
	t.Helper()
	var p struct {
		State     string `json:"state"`
		Mergeable *bool  `json:"mergeable"`
		Head      struct {
			SHA string `json:"sha"`
		} `json:"head"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d", number), "", nil, &p)
	require.NoError(t, err)
	return prHeadInfo{SHA: p.Head.SHA, State: p.State, Mergeable: p.Mergeable != nil && *p.Mergeable}
}

func mainHead(t *testing.T, s *stack.Stack) string {
	t.Helper()
	var ref struct {
		Object struct {
			SHA string `json:"sha"`
		} `json:"object"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, "/repos/acme/fleet/git/ref/heads/main", "", nil, &ref)
	require.NoError(t, err)
	return ref.Object.SHA
}

// statusComment returns the bot's status comment on a pull request, empty
// when there is none.
func statusComment(t *testing.T, s *stack.Stack, number int) string {
	t.Helper()
	var comments []struct {
		Body string `json:"body"`
	}
	_, err := s.Do(t.Context(), http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues/%d/comments?per_page=100", number), "", nil, &comments)
	require.NoError(t, err)
	for _, c := range comments {
		if strings.HasPrefix(c.Body, "<!-- fleetbot:status") {
			return c.Body
		}
	}
	return ""
}
