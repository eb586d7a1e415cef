package stack_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// TestEndToEndTwoOrganisations runs the EKS campaign over a fleet split
// between two organisations, each with its own installation of the App:
// acme/fleet holds the campaigns and tenants a and b, globex/fleet tenants c
// and d. Every repository must be read, fetched and written with the
// installation that covers it; the campaign succeeds with one pull request
// per tenant per wave, each in its tenant's repository.
func TestEndToEndTwoOrganisations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, err := os.ReadFile(filepath.Join("testdata", "eks-1-30.yaml"))
	require.NoError(t, err)
	acmeDir, globexDir := t.TempDir(), t.TempDir()
	splitFleet(t, filepath.Join(testenv.ModuleRoot(t), "examples", "fleet"), acmeDir, globexDir, "tenant-c", "tenant-d")
	dirOf := map[string]string{"acme/fleet": acmeDir, "globex/fleet": globexDir}
	plan, layouts := expectedPlan(t, src, acmeDir, globexDir)

	s, err := stack.Start(ctx, stack.Options{
		Dir: t.TempDir(), Fleet: acmeDir, ReconcileInterval: 300 * time.Millisecond,
		Repositories: []stack.Repository{{Owner: "globex", Repo: "fleet", Fleet: globexDir}},
		Logger:       errorLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.PushCampaign(ctx, "eks-1-30", src))

	opened := map[string][]string{} // repository -> branches
	for _, w := range plan.Waves {
		prs := waitForWave(t, s, plan.Campaign, w, "acme/fleet", "globex/fleet")
		for _, p := range prs {
			opened[p.Repo] = append(opened[p.Repo], p.Head.Ref)
			_, _, tenant, ok := wave.ParseBranch(p.Head.Ref)
			require.True(t, ok, p.Head.Ref)
			owners := layouts[dirOf[p.Repo]].Owners[tenant]
			checkPull(t, s, p, w, dirOf[p.Repo], tenant, owners)

			var merged struct {
				SHA string `json:"sha"`
			}
			approve(t, s, p.Repo, p.Number, owners.Users[0])
			_, err := s.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/%s/pulls/%d/merge", p.Repo, p.Number), owners.Users[0], map[string]any{}, &merged)
			require.NoError(t, err)
			_, err = s.Do(ctx, http.MethodPost, "/repos/"+p.Repo+"/check-runs", "", map[string]any{
				"name": "terraform-apply", "head_sha": merged.SHA, "status": "completed", "conclusion": "success",
			}, nil)
			require.NoError(t, err)
		}
	}
	require.NotEmpty(t, opened["globex/fleet"], "pull requests in the second organisation")
	require.NotEmpty(t, opened["acme/fleet"], "pull requests in the campaign's organisation")

	st := waitFor(t, "the campaign to succeed", func() (rollout.State, bool) {
		st, ok, err := s.State(ctx, "eks-1-30")
		require.NoError(t, err)
		return st, ok && st.Phase == rollout.CampaignSucceeded
	})
	for _, w := range st.Waves {
		assert.Equal(t, rollout.WaveSucceeded, w.Phase, "wave %d", w.Number)
	}

	// Exactly the pull requests of the plan, all merged, and every cluster
	// of both main branches on 1.30.
	total, clusters := 0, 0
	for repo, dir := range dirOf {
		var all []pull
		_, err := s.Do(ctx, http.MethodGet, "/repos/"+repo+"/pulls?state=all&per_page=100", "", nil, &all)
		require.NoError(t, err)
		var branches []string
		for _, p := range all {
			branches = append(branches, p.Head.Ref)
			assert.NotEmpty(t, p.MergedAt, "pull request #%d (%s) of %s merged", p.Number, p.Head.Ref, repo)
		}
		assert.ElementsMatch(t, opened[repo], branches, "no pull request in %s beyond one per tenant per wave", repo)
		total += len(all)

		clone := t.TempDir()
		out, err := exec.CommandContext(ctx, "git", "clone", "-q", "http://x:"+s.Token+"@"+strings.TrimPrefix(s.GitHubURL, "http://")+"/"+repo+".git", clone).CombinedOutput()
		require.NoError(t, err, "%s", out)
		inv, err := gitops.Load(ctx, []string{clone})
		require.NoError(t, err)
		require.NoError(t, inv.Err())
		want, err := gitops.Load(ctx, []string{dir})
		require.NoError(t, err)
		require.Len(t, inv.Clusters, len(want.Clusters), repo)
		for _, c := range inv.Clusters {
			assert.Equal(t, "1.30", c.Version, "%s in %s", c.Name, repo)
		}
		clusters += len(inv.Clusters)
	}
	wantPRs := 0
	for _, w := range plan.Waves {
		wantPRs += len(w.PullRequests)
	}
	assert.Equal(t, wantPRs, total, "pull requests in both repositories")
	assert.Equal(t, 30, clusters, "clusters in both repositories")
	reportCalls(t, s, wantPRs)
}

// splitFleet copies the fleet in src into two repositories: the files of
// tenants go to b, those of the other tenants to a, and the files every
// tenant shares (layout, defaults) to both. b's layout names b's own teams
// ("globex/..." for "acme/..."), as its organisation holds them.
func splitFleet(t *testing.T, src, a, b string, tenants ...string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var dsts []string
		switch parts := strings.Split(filepath.ToSlash(rel), "/"); {
		case slices.ContainsFunc(parts, func(s string) bool { return slices.Contains(tenants, s) }):
			dsts = []string{b}
		case slices.ContainsFunc(parts, func(s string) bool { return strings.HasPrefix(s, "tenant-") }):
			dsts = []string{a}
		default:
			dsts = []string{a, b}
		}
		for _, dst := range dsts {
			out := data
			if dst == b && rel == ".fleetbot.yaml" {
				out = []byte(strings.ReplaceAll(string(data), "acme/", "globex/"))
			}
			if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, rel), out, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// errorLogger returns the test's logger (see testLogger), and keeps the
// bot's errors to show them if the test fails: a campaign that never starts
// otherwise fails only with a timeout.
func errorLogger(t *testing.T) *slog.Logger {
	h := &errorHandler{next: slog.DiscardHandler, log: &errorLog{seen: map[string]bool{}}}
	if l := testLogger(t); l != nil {
		h.next = l.Handler()
	}
	t.Cleanup(func() {
		if t.Failed() {
			h.log.mu.Lock()
			defer h.log.mu.Unlock()
			t.Logf("errors the bot logged (the first %d distinct):\n%s", len(h.log.msgs), strings.Join(h.log.msgs, "\n"))
		}
	})
	return slog.New(h)
}

// errorHandler records in log the distinct errors logged through it, and
// passes every record on.
type errorHandler struct {
	next slog.Handler
	log  *errorLog
}

type errorLog struct {
	mu   sync.Mutex
	msgs []string
	seen map[string]bool
}

func (h *errorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h *errorHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool {
			msg += " " + a.String()
			return true
		})
		h.log.mu.Lock()
		if !h.log.seen[msg] && len(h.log.msgs) < 20 {
			h.log.seen[msg] = true
			h.log.msgs = append(h.log.msgs, msg)
		}
		h.log.mu.Unlock()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *errorHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &errorHandler{next: h.next.WithAttrs(as), log: h.log}
}

func (h *errorHandler) WithGroup(name string) slog.Handler {
	return &errorHandler{next: h.next.WithGroup(name), log: h.log}
}
