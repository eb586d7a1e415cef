package wave

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
)

// exampleFleet is the repository's example fleet, as the tests plan on it.
const exampleFleet = "../../examples/fleet"

// planned is a campaign planned on the example fleet.
type planned struct {
	campaign *rollout.Campaign
	plan     *rollout.Plan
	inv      *gitops.Inventory
}

var (
	plansMu sync.Mutex
	plans   = map[string]*planned{}
)

// examplePlan plans an example campaign on the example fleet, as `fleetbot
// plan` does, once per test binary.
func examplePlan(t *testing.T, campaign string) *planned {
	t.Helper()
	plansMu.Lock()
	defer plansMu.Unlock()
	if p, ok := plans[campaign]; ok {
		return p
	}
	file := filepath.Join("../../examples/campaigns", campaign+".yaml")
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	c, err := rollout.ParseCampaign(file, src)
	require.NoError(t, err)
	inv, err := gitops.Load(t.Context(), []string{exampleFleet})
	require.NoError(t, err)
	require.NoError(t, inv.Err())
	fleet, err := inv.Fleet()
	require.NoError(t, err)
	plan, err := rollout.PlanCampaign(c, fleet)
	require.NoError(t, err)
	p := &planned{campaign: c, plan: plan, inv: inv}
	plans[campaign] = p
	return p
}

// exampleFiles reads every file of the example fleet.
func exampleFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(exampleFleet, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(exampleFleet, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	require.NoError(t, err)
	return files
}

// request builds the request of tenant's pull request in a plan wave, on
// the fake's main branch as it is now.
func (p *planned) request(t *testing.T, f *fakeGitHub, wave int, tenant string) Request {
	t.Helper()
	var pr rollout.PullRequest
	found := false
	for _, c := range p.plan.Waves[wave-1].PullRequests {
		if c.Tenant == tenant || tenant == AdminTenant && c.Admin {
			pr, found = c, true
		}
	}
	require.True(t, found, "wave %d has a pull request for %s", wave, tenant)
	base := f.refs["main"]
	req := Request{
		Campaign: p.campaign, Plan: p.plan, Wave: wave, PR: pr,
		Owner: f.owner, Repo: f.repo, BaseBranch: "main", BaseSHA: base,
		Read:  f.reader(base),
		Gates: []string{"terraform", "argocd"},
	}
	if !pr.Admin {
		req.Owns = TenantFiles(p.inv, exampleFleet, tenant)
		o := p.inv.Layouts[exampleFleet].Owners[tenant]
		req.Reviewers = Owners{Users: o.Users, Teams: o.Teams}
	}
	return req
}

// rebase points req at the fake's main branch as it is now.
func rebase(f *fakeGitHub, req Request) Request {
	req.BaseSHA = f.refs["main"]
	req.Read = f.reader(req.BaseSHA)
	return req
}

// changedPaths lists the paths whose content differs between two commits.
func changedPaths(f *fakeGitHub, from, to string) []string {
	a, b := f.files(from), f.files(to)
	var out []string
	for p := range unionKeys(stringKeys(a), stringKeys(b)) {
		if !bytes.Equal(a[p], b[p]) || (a[p] == nil) != (b[p] == nil) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func stringKeys(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = k
	}
	return out
}

func lookup(t *testing.T, file string, src []byte, path ...string) string {
	t.Helper()
	v, err := yamledit.Lookup(file, src, path, -1)
	require.NoError(t, err)
	return v.Text
}

// opened opens tenant-a's pull request of wave 1 of eks-1-30 on a fresh
// fake, then forgets the calls it took.
func opened(t *testing.T) (*fakeGitHub, Request, Result) {
	t.Helper()
	p := examplePlan(t, "eks-1-30")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	req := p.request(t, f, 1, "tenant-a")
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	f.take()
	return f, req, res
}

// assertNoWrite checks that Ensure, called again, writes nothing.
func assertNoWrite(t *testing.T, f *fakeGitHub, req Request) {
	t.Helper()
	_, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Empty(t, writesIn(f.take()), "a call after success writes nothing")
}

const tenantA = "tenants/tenant-a/dev.yaml"

func TestEnsureOpensThenIsIdempotent(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	base := f.refs["main"]
	req := p.request(t, f, 1, "tenant-a")

	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	calls := f.take()
	assert.Equal(t, []string{
		"PullRequests", "Ref", "Commit",
		"CreateTree", "CreateCommit", "CreateRef",
		"CreatePullRequest", "RequestReviewers", "AddLabels",
	}, calls, "the fewest calls for one file: 3 reads and 6 writes, its content in the tree")
	assert.Equal(t, len(calls), res.Calls)
	assert.Equal(t, Result{
		Number: 1, Branch: "fleetbot/eks-1-30/1/tenant-a", HeadSHA: f.refs["fleetbot/eks-1-30/1/tenant-a"],
		URL: "https://github.com/acme/fleet/pull/1", Opened: true, Skipped: nil, Calls: 9,
	}, res)

	head := f.commits[res.HeadSHA]
	assert.Equal(t, []string{base}, head.Parents, "one commit on the base")
	assert.Equal(t, []string{tenantA}, changedPaths(f, base, res.HeadSHA), "only the tenant's blueprint changes")
	before, after := f.files(base)[tenantA], f.files(res.HeadSHA)[tenantA]
	assert.Equal(t, "1.30", lookup(t, tenantA, after, "services", "eks", "config", "a-dev-cpu-1", "version"))
	assert.Equal(t, "1.29", lookup(t, tenantA, after, "services", "eks", "config", "a-dev-cpu-2", "version"), "a cluster of a later wave keeps its version")
	assert.Equal(t, string(bytes.Replace(before, []byte(`version: "1.29"`), []byte(`version: "1.30"`), 1)), string(after),
		"every other byte stays")
	assert.True(t, strings.HasPrefix(head.Message, "eks-1-30: wave 1, tenant-a\n\na-dev-cpu-1: 1.29 -> 1.30\n\nFleetbot-Plan: "), head.Message)

	pr := f.prs[0]
	assert.Equal(t, "fleetbot: eks-1-30 wave 1 — tenant-a", pr.Title)
	assert.Equal(t, "main", pr.BaseRef)
	body, err := Body(req)
	require.NoError(t, err)
	assert.Equal(t, body, pr.Body)
	assert.Equal(t, []string{"fleetbot", "campaign:eks-1-30", "wave:1"}, pr.Labels)
	assert.Equal(t, [][2][]string{{{"alice", "arjun"}, {"payments-platform"}}}, f.reviewRequests[1])

	again, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	calls = f.take()
	assert.Equal(t, []string{"PullRequests", "Commit"}, calls, "a second call reads the pull request and its head, and writes nothing")
	assert.Equal(t, Result{Number: 1, Branch: res.Branch, HeadSHA: res.HeadSHA, URL: res.URL, Reused: true, Calls: 2}, again)
}

func TestEnsureBaseMoved(t *testing.T) {
	t.Parallel()
	tenantB := "tenants/tenant-b/dev.yaml"
	tests := []struct {
		name string
		// move changes the base after the pull request opened.
		move      func(f *fakeGitHub)
		wantCalls []string
		want      func(t *testing.T, f *fakeGitHub, first, res Result)
	}{{
		name: "no conflict: reused",
		move: func(f *fakeGitHub) {
			b := f.files(f.refs["main"])[tenantB]
			f.push("main", "tenant-b edit", map[string][]byte{tenantB: append(b, "# reviewed\n"...)})
		},
		wantCalls: []string{"PullRequests", "Commit", "PullRequest"},
		want: func(t *testing.T, f *fakeGitHub, first, res Result) {
			assert.True(t, res.Reused)
			assert.Equal(t, first.HeadSHA, res.HeadSHA)
		},
	}, {
		name: "conflict: regenerated on the new base",
		move: func(f *fakeGitHub) {
			b := f.files(f.refs["main"])[tenantA]
			f.push("main", "tenant-a edit", map[string][]byte{tenantA: bytes.Replace(b, []byte("min_size: 2"), []byte("min_size: 3"), 1)})
		},
		wantCalls: []string{"PullRequests", "Commit", "PullRequest", "Commit", "CreateTree", "CreateCommit", "UpdateRef"},
		want: func(t *testing.T, f *fakeGitHub, first, res Result) {
			assert.True(t, res.Regenerated)
			assert.Equal(t, first.Number, res.Number, "the same pull request")
			assert.NotEqual(t, first.HeadSHA, res.HeadSHA)
			newBase := f.refs["main"]
			assert.Equal(t, []string{newBase}, f.commits[res.HeadSHA].Parents, "built on the new base, not rebased")
			assert.Equal(t, res.HeadSHA, f.refs[res.Branch])
			after := f.files(res.HeadSHA)[tenantA]
			assert.Equal(t, "1.30", lookup(t, tenantA, after, "services", "eks", "config", "a-dev-cpu-1", "version"))
			assert.Equal(t, "3", lookup(t, tenantA, after, "services", "eks", "config", "a-dev-cpu-1", "nodegroups", "system", "min_size"),
				"the base's own change is kept")
			assert.Equal(t, []string{tenantA}, changedPaths(f, newBase, res.HeadSHA))
		},
	}, {
		name: "mergeability not computed yet: reused, asked to recheck",
		move: func(f *fakeGitHub) {
			f.unknownMergeable = true
			b := f.files(f.refs["main"])[tenantB]
			f.push("main", "tenant-b edit", map[string][]byte{tenantB: append(b, "# reviewed\n"...)})
		},
		wantCalls: []string{"PullRequests", "Commit", "PullRequest"},
		want: func(t *testing.T, _ *fakeGitHub, first, res Result) {
			assert.True(t, res.Reused)
			assert.True(t, res.Recheck)
			assert.Equal(t, first.HeadSHA, res.HeadSHA)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, req, first := opened(t)
			tt.move(f)
			res, err := Ensure(t.Context(), f, rebase(f, req))
			require.NoError(t, err)
			assert.Equal(t, tt.wantCalls, f.take())
			assert.Equal(t, len(tt.wantCalls), res.Calls)
			tt.want(t, f, first, res)

			f.unknownMergeable = false
			assertNoWrite(t, f, rebase(f, req))
		})
	}
}

func TestEnsureClosedAndMerged(t *testing.T) {
	t.Parallel()
	f, req, first := opened(t)
	f.close(first.Number)

	res, err := Ensure(t.Context(), f, req)
	require.ErrorIs(t, err, ErrClosed)
	assert.ErrorContains(t, err, "pull request #1 on fleetbot/eks-1-30/1/tenant-a was closed on attempt 1")
	assert.Equal(t, 1, res.Number, "the result names the closed pull request")
	assert.Equal(t, []string{"PullRequests"}, f.take())

	req.Attempt = 2
	res, err = Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"PullRequests", "Ref", "Commit", "CreatePullRequest", "RequestReviewers", "AddLabels"}, f.take(),
		"the branch still holds the right commit: a new pull request on it, no new commit")
	assert.True(t, res.Opened)
	assert.Equal(t, 2, res.Number)
	assert.Contains(t, f.prs[1].Body, "attempt=2 -->")

	assertNoWrite(t, f, req) // attempt 2 asked again while open

	f.mergePR(2)
	res, err = Ensure(t.Context(), f, rebase(f, req))
	require.NoError(t, err)
	assert.Equal(t, []string{"PullRequests"}, f.take())
	assert.Equal(t, Result{Number: 2, Branch: res.Branch, HeadSHA: first.HeadSHA, URL: "https://github.com/acme/fleet/pull/2",
		Reused: true, Merged: true, Calls: 1}, res)

	f.close(1) // still closed; the merged one wins whatever the attempt
	req.Attempt = 1
	_, err = Ensure(t.Context(), f, rebase(f, req))
	require.NoError(t, err)
}

func TestEnsureNewAttemptOnMovedBase(t *testing.T) {
	t.Parallel()
	f, req, first := opened(t)
	f.close(first.Number)
	f.push("main", "unrelated", map[string][]byte{"README.md": []byte("moved\n")})

	req = rebase(f, req)
	req.Attempt = 2
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"PullRequests", "Ref", "Commit", "Commit", "CreateTree", "CreateCommit", "UpdateRef",
		"CreatePullRequest", "RequestReviewers", "AddLabels"}, f.take(), "the old branch is moved to a commit on the new base")
	assert.True(t, res.Opened)
	assert.True(t, res.Regenerated)
	assert.Equal(t, []string{req.BaseSHA}, f.commits[res.HeadSHA].Parents)
}

func TestEnsureRefusals(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	tests := []struct {
		name string
		// change breaks the request or the repository.
		change    func(f *fakeGitHub, req *Request)
		wantErr   string
		wantIs    error
		wantCalls []string
	}{{
		name: "a file of another tenant",
		change: func(_ *fakeGitHub, req *Request) {
			req.PR.Files = append(slices.Clone(req.PR.Files), rollout.FileChange{Path: "tenants/tenant-b/dev.yaml"})
		},
		wantErr: "wave 1: the pull request for tenant-a changes tenants/tenant-b/dev.yaml, which the layout does not give to tenant-a: refusing it",
	}, {
		name: "a file shared by all tenants",
		change: func(_ *fakeGitHub, req *Request) {
			req.PR.Files = append(slices.Clone(req.PR.Files), rollout.FileChange{Path: "addons/tenants/defaults/fleet/fleet-secret/values.yaml"})
		},
		wantErr: "changes addons/tenants/defaults/fleet/fleet-secret/values.yaml, which the layout does not give to tenant-a",
	}, {
		name:    "no ownership rule",
		change:  func(_ *fakeGitHub, req *Request) { req.Owns = nil },
		wantErr: "no rule says which files tenant tenant-a owns",
	}, {
		name: "a stale expected value",
		change: func(f *fakeGitHub, req *Request) {
			b := f.files(f.refs["main"])[tenantA]
			f.push("main", "downgrade", map[string][]byte{tenantA: bytes.Replace(b, []byte(`version: "1.29"`), []byte(`version: "1.28"`), 1)})
			*req = rebase(f, *req)
		},
		wantErr:   `expected "1.29"`,
		wantCalls: []string{"PullRequests"},
	}, {
		name: "the base already holds the change",
		change: func(f *fakeGitHub, req *Request) {
			b := f.files(f.refs["main"])[tenantA]
			f.push("main", "by hand", map[string][]byte{tenantA: bytes.Replace(b, []byte(`version: "1.29"`), []byte(`version: "1.30"`), 1)})
			*req = rebase(f, *req)
		},
		wantIs:    ErrNoChange,
		wantCalls: []string{"PullRequests"},
	}, {
		name:    "a wave the plan does not have",
		change:  func(_ *fakeGitHub, req *Request) { req.Wave = 99 },
		wantErr: "campaign eks-1-30 has waves 1 to 14, not 99",
	}, {
		name:    "a cluster of another tenant",
		change:  func(_ *fakeGitHub, req *Request) { req.Clusters = []string{"a-dev-cpu-1", "b-dev-gpu-1"} },
		wantErr: "cluster b-dev-gpu-1 is not in wave 1",
	}, {
		name: "a branch someone else made",
		change: func(f *fakeGitHub, _ *Request) {
			f.refs["fleetbot/eks-1-30/1/tenant-a"] = f.refs["main"]
		},
		wantIs:    ErrForeignCommit,
		wantCalls: []string{"PullRequests", "Ref", "Commit"},
	}, {
		name:    "a tenant name that cannot be a branch",
		change:  func(_ *fakeGitHub, req *Request) { req.PR.Tenant = "tenant a" },
		wantErr: `tenant name cannot be a branch name part: "tenant a" cannot hold ' '`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub("acme", "fleet", exampleFiles(t))
			req := p.request(t, f, 1, "tenant-a")
			tt.change(f, &req)
			res, err := Ensure(t.Context(), f, req)
			require.Error(t, err)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
			}
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
			calls := f.take()
			assert.Equal(t, tt.wantCalls, calls, "refused before any write")
			assert.Equal(t, len(calls), res.Calls)
		})
	}
}

func TestEnsureStaleIsTyped(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	b := f.files(f.refs["main"])[tenantA]
	f.push("main", "downgrade", map[string][]byte{tenantA: bytes.Replace(b, []byte(`version: "1.29"`), []byte(`version: "1.28"`), 1)})
	_, err := Ensure(t.Context(), f, p.request(t, f, 1, "tenant-a"))
	var ye *yamledit.Error
	require.ErrorAs(t, err, &ye)
	assert.Equal(t, yamledit.KindStale, ye.Kind)
	assert.Equal(t, tenantA, ye.File)
	assert.Equal(t, 20, ye.Line)
}

func TestEnsureForeignCommitOnOpenPullRequest(t *testing.T) {
	t.Parallel()
	f, req, first := opened(t)
	f.push(first.Branch, "a fix by hand", map[string][]byte{"NOTES.md": []byte("hi\n")})
	_, err := Ensure(t.Context(), f, req)
	require.ErrorIs(t, err, ErrForeignCommit)
	assert.Equal(t, []string{"PullRequests", "Commit"}, f.take(), "the person's commit is left alone")
}

func TestEnsurePlanChangedRegenerates(t *testing.T) {
	t.Parallel()
	f, req, first := opened(t)

	// The plan now asks for another value: the planned pull request
	// differs, so the branch is rebuilt.
	req.PR = clonePR(req.PR)
	req.PR.Files[0].Edits[0].To = "1.30.0"
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.True(t, res.Regenerated)
	assert.Equal(t, first.Number, res.Number)
	assert.NotContains(t, f.take(), "PullRequest", "a changed plan needs no mergeability check")
	assert.Equal(t, "1.30.0", lookup(t, tenantA, f.files(res.HeadSHA)[tenantA], "services", "eks", "config", "a-dev-cpu-1", "version"))
}

func clonePR(pr rollout.PullRequest) rollout.PullRequest {
	pr.Files = slices.Clone(pr.Files)
	for i := range pr.Files {
		pr.Files[i].Edits = slices.Clone(pr.Files[i].Edits)
	}
	return pr
}

// TestEnsureCrashes cuts Ensure short at each step and checks that the next
// call finishes the job without writing anything twice.
func TestEnsureCrashes(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	tests := []struct {
		failAt    string
		wantCalls []string
	}{
		{"CreateRef", []string{"PullRequests", "Ref", "Commit", "CreateTree", "CreateCommit", "CreateRef", "CreatePullRequest", "RequestReviewers", "AddLabels"}},
		{"CreatePullRequest", []string{"PullRequests", "Ref", "Commit", "CreatePullRequest", "RequestReviewers", "AddLabels"}},
		{"RequestReviewers", []string{"PullRequests", "Commit", "RequestReviewers", "AddLabels"}},
		{"AddLabels", []string{"PullRequests", "Commit", "RequestReviewers", "AddLabels"}},
	}
	for _, tt := range tests {
		t.Run(tt.failAt, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub("acme", "fleet", exampleFiles(t))
			req := p.request(t, f, 1, "tenant-a")
			f.fail[tt.failAt] = errors.New("connection reset")
			_, err := Ensure(t.Context(), f, req)
			require.ErrorContains(t, err, "connection reset")
			f.take()

			res, err := Ensure(t.Context(), f, req)
			require.NoError(t, err)
			assert.Equal(t, tt.wantCalls, f.take())
			assert.Len(t, f.prs, 1)
			assert.Equal(t, []string{"fleetbot", "campaign:eks-1-30", "wave:1"}, f.prs[0].Labels)
			assert.Equal(t, f.refs[res.Branch], f.prs[0].HeadSHA)
			assertNoWrite(t, f, req)
		})
	}
}

func TestEnsureReviewers(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	req := p.request(t, f, 1, "tenant-a")
	req.Reviewers = Owners{Users: []string{"alice", "alice"}, Teams: []string{"Acme/sre", "other/platform", "loose", "acme/sre"}}
	req.Labels = []string{"upgrade"}
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Equal(t, [][2][]string{{{"alice"}, {"sre"}}}, f.reviewRequests[1])
	assert.Equal(t, []string{
		"team other/platform: not in acme, the repository's organisation",
		`team "loose": want org/slug`,
	}, res.Skipped)
	assert.Equal(t, []string{"upgrade"}, f.prs[0].Labels)

	f2 := newFakeGitHub("acme", "fleet", exampleFiles(t))
	req = p.request(t, f2, 1, "tenant-a")
	req.Reviewers = Owners{}
	_, err = Ensure(t.Context(), f2, req)
	require.NoError(t, err)
	assert.NotContains(t, f2.take(), "RequestReviewers", "nobody to ask: no call")
}

func TestEnsureLabelCampaign(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "addons-release2")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	base := f.refs["main"]

	// Wave 6 of tenant-a creates one cluster-level file and edits another.
	req := p.request(t, f, 6, "tenant-a")
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Equal(t, 9, res.Calls, "two files in one tree: no blob of their own")
	var paths []string
	for _, fc := range req.PR.Files {
		paths = append(paths, fc.Path)
	}
	slices.Sort(paths)
	assert.Equal(t, paths, changedPaths(f, base, res.HeadSHA))
	assert.Equal(t, "fleetbot/addons-release2/6/tenant-a", res.Branch)

	// The admins' clean-up wave: shared files, no Owns rule needed.
	admin := p.request(t, f, 10, AdminTenant)
	require.True(t, admin.PR.Admin)
	res, err = Ensure(t.Context(), f, admin)
	require.NoError(t, err)
	assert.Equal(t, "fleetbot/addons-release2/10/_admins", res.Branch)
	assert.Equal(t, "fleetbot: addons-release2 wave 10 — fleet admins", f.prs[1].Title)
	assert.Equal(t, []string{"addons/tenants/defaults/fleet/fleet-secret/values.yaml"}, changedPaths(f, admin.BaseSHA, res.HeadSHA))
	assert.True(t, strings.HasPrefix(f.commits[res.HeadSHA].Message,
		"addons-release2: wave 10, fleet admins\n\nClean-up: no cluster's effective value changes.\n"))

	// An admin pull request is still held to an Owns rule when given one.
	admin.Owns = func(string) bool { return false }
	_, err = Ensure(t.Context(), f, admin)
	assert.ErrorContains(t, err, "changes addons/tenants/defaults/fleet/fleet-secret/values.yaml, which the layout does not give to fleet admins")
}

func TestParseBranch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref      string
		campaign string
		wave     int
		tenant   string
		ok       bool
	}{
		{"fleetbot/eks-1-30/3/tenant-a", "eks-1-30", 3, "tenant-a", true},
		{"refs/heads/fleetbot/addons-release2/10/_admins", "addons-release2", 10, AdminTenant, true},
		{"main", "", 0, "", false},
		{"fleetbot/eks-1-30/0/tenant-a", "", 0, "", false},
		{"fleetbot/eks-1-30/03/tenant-a", "", 0, "", false},
		{"fleetbot/eks-1-30/x/tenant-a", "", 0, "", false},
		{"fleetbot/eks-1-30/3", "", 0, "", false},
		{"fleetbot/eks-1-30/3/tenant-a/extra", "", 0, "", false},
		{"fleetbot//3/tenant-a", "", 0, "", false},
		{"other/eks-1-30/3/tenant-a", "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			t.Parallel()
			c, w, tenant, ok := ParseBranch(tt.ref)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.campaign, c)
			assert.Equal(t, tt.wave, w)
			assert.Equal(t, tt.tenant, tenant)
			if ok {
				assert.Equal(t, strings.TrimPrefix(tt.ref, "refs/heads/"), Branch(c, w, tenant), "round trip")
			}
		})
	}
}

func FuzzParseBranch(f *testing.F) {
	f.Add("fleetbot/eks-1-30/3/tenant-a")
	f.Add("refs/heads/fleetbot/a/1/b")
	f.Fuzz(func(t *testing.T, ref string) {
		c, w, tenant, ok := ParseBranch(ref)
		if !ok {
			return
		}
		if got := Branch(c, w, tenant); got != strings.TrimPrefix(ref, "refs/heads/") {
			t.Fatalf("ParseBranch(%q) = %q, %d, %q; Branch gives %q", ref, c, w, tenant, got)
		}
	})
}

func TestTenantFiles(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "addons-release2")
	owns := TenantFiles(p.inv, exampleFleet, "tenant-a")
	tests := map[string]bool{
		"tenants/tenant-a/dev.yaml":                                                                      true,
		"addons/tenants/tenant-a/defaults/fleet/fleet-secret/values.yaml":                                true,
		"addons/tenants/tenant-a/environments/prod/clusters/a-prod-cpu-1/fleet/fleet-secret/values.yaml": true,
		"tenants/tenant-b/dev.yaml":                                                                      false,
		"addons/tenants/tenant-b/environments/prod/clusters/b-prod-cpu-1/fleet/fleet-secret/values.yaml": false,
		"addons/tenants/defaults/fleet/fleet-secret/values.yaml":                                         false,
		"addons/tenants/tenant-a/environments/prod/clusters/b-prod-cpu-1/fleet/fleet-secret/values.yaml": false,
		"README.md": false,
	}
	for path, want := range tests {
		assert.Equal(t, want, owns(path), path)
	}
	assert.False(t, TenantFiles(p.inv, "elsewhere", "tenant-a")("tenants/tenant-a/dev.yaml"), "another repository's files")
}

// TestChangesKeepsWhatAPersonChanged: a file whose planned old value a
// person changed on the base since the plan is left out and named; the
// others are still proposed; with nothing left, the refusal is the error.
func TestChangesKeepsWhatAPersonChanged(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"a.yaml": "version: \"1.29\"\n",
		"b.yaml": "version: \"1.31\" # set by hand\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	set := func(path string) rollout.FileChange {
		return rollout.FileChange{Path: path, Edits: []rollout.Edit{{Path: []string{"version"}, Op: rollout.OpSet, From: "1.29", To: "1.30", Quote: true, Line: 1}}}
	}
	req := Request{Wave: 2, BaseSHA: "base", Read: read, PR: rollout.PullRequest{Tenant: "t", Files: []rollout.FileChange{set("a.yaml"), set("b.yaml")}}}
	got, kept, err := changes(req)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "a.yaml", got[0].Path)
	assert.Equal(t, "version: \"1.30\"\n", string(got[0].New))
	require.Len(t, kept, 1)
	assert.Equal(t, "b.yaml", kept[0].Path)
	assert.Contains(t, kept[0].Reason, "line 1: ")
	assert.Contains(t, kept[0].Reason, `expected "1.29"`)

	req.PR.Files = req.PR.Files[1:]
	got, kept, err = changes(req)
	var ye *yamledit.Error
	require.ErrorAs(t, err, &ye)
	assert.Equal(t, yamledit.KindStale, ye.Kind)
	assert.Empty(t, got)
	assert.Len(t, kept, 1)
}

// TestWriteCommitInlinesText: text files travel in the tree (GitHub writes
// their blobs); a file that is not valid UTF-8, or empty, gets a blob of
// its own; a deletion needs none. Every file reads back as written.
func TestWriteCommitInlinesText(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub("acme", "fleet", map[string][]byte{"gone.yaml": []byte("a: 1\n")})
	files := []gitops.FileResult{
		{Path: "text.yaml", New: []byte("\ufeffversion: \"1.30\"\r\n")},
		{Path: "latin1.yaml", New: []byte{'a', ':', ' ', 0xe9, '\n'}},
		{Path: "empty.yaml", New: []byte{}},
		{Path: "gone.yaml"},
	}
	sha, err := writeCommit(t.Context(), f, "acme", "fleet", f.refs["main"], "", files, "m")
	require.NoError(t, err)
	assert.Equal(t, []string{"Commit", "CreateBlob", "CreateBlob", "CreateTree", "CreateCommit"}, f.take())
	f.mu.Lock()
	defer f.mu.Unlock()
	tree := f.trees[f.commits[sha].Tree]
	for _, file := range files[:3] {
		assert.Equal(t, file.New, f.blobs[tree[file.Path]], file.Path)
	}
	assert.NotContains(t, tree, "gone.yaml")
}

// TestEnsureWithBaseTree: given the base commit's tree (from the mirror),
// a pull request of one file opens in 8 calls: the base commit is not read.
func TestEnsureWithBaseTree(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	req := p.request(t, f, 1, "tenant-a")
	f.mu.Lock()
	req.BaseTree = f.commits[req.BaseSHA].Tree
	f.mu.Unlock()
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"PullRequests", "Ref",
		"CreateTree", "CreateCommit", "CreateRef",
		"CreatePullRequest", "RequestReviewers", "AddLabels",
	}, f.take())
	assert.Equal(t, 8, res.Calls)
	assertNoWrite(t, f, req)
}

// TestEnsureOpensInFiveCalls: with the repository's GraphQL id, a new pull
// request takes 5 calls whatever its number of files: the listing, the
// branch and its commit in one call, the pull request, the review request
// and the labels.
func TestEnsureOpensInFiveCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		campaign string
		wave     int
	}{{"eks-1-30", 1}, {"addons-release2", 6}} {
		t.Run(tc.campaign, func(t *testing.T) {
			t.Parallel()
			p := examplePlan(t, tc.campaign)
			f := newFakeGitHub("acme", "fleet", exampleFiles(t))
			base := f.refs["main"]
			req := p.request(t, f, tc.wave, "tenant-a")
			req.RepoID = f.repoID()
			res, err := Ensure(t.Context(), f, req)
			require.NoError(t, err)
			assert.Equal(t, []string{"PullRequests", "CommitOnNewBranch", "CreatePullRequest", "RequestReviewers", "AddLabels"}, f.take())
			assert.Equal(t, 5, res.Calls)
			assert.True(t, res.Opened)
			head := f.commits[res.HeadSHA]
			assert.Equal(t, []string{base}, head.Parents, "one commit on the base")
			assert.Equal(t, f.refs[res.Branch], res.HeadSHA)
			assert.Equal(t, res.HeadSHA, f.prs[0].HeadSHA)
			files, _, err := changes(req)
			require.NoError(t, err)
			require.NotEmpty(t, files)
			for _, fr := range files {
				assert.Equal(t, string(fr.New), string(f.files(res.HeadSHA)[fr.Path]), "%s as planned, byte for byte", fr.Path)
			}
			assert.Len(t, changedPaths(f, base, res.HeadSHA), len(files), "nothing else changes")

			// The same request, made again (Git Data or GraphQL), finds
			// the pull request and writes nothing.
			assertNoWrite(t, f, req)
		})
	}
}

// TestEnsureNewBranchLeftovers: what a call cut short leaves on the branch
// is taken up by the next one, never written twice, and a branch holding
// someone's commit is left alone.
func TestEnsureNewBranchLeftovers(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	tests := []struct {
		name      string
		leave     func(f *fakeGitHub, req Request)
		wantCalls []string
		wantErr   error
	}{{
		name:      "branch created at the base, no commit",
		leave:     func(f *fakeGitHub, req Request) { f.refs["fleetbot/eks-1-30/1/tenant-a"] = req.BaseSHA },
		wantCalls: []string{"PullRequests", "CommitOnNewBranch", "CreatePullRequest", "RequestReviewers", "AddLabels"},
	}, {
		name: "commit written, pull request not opened",
		leave: func(f *fakeGitHub, req Request) {
			f.fail["CreatePullRequest"] = errors.New("connection reset")
			_, err := Ensure(context.Background(), f, req)
			if err == nil {
				panic("the planned failure did not happen")
			}
		},
		wantCalls: []string{"PullRequests", "CommitOnNewBranch", "Ref", "Commit", "CreatePullRequest", "RequestReviewers", "AddLabels"},
	}, {
		name: "someone's commit on the branch",
		leave: func(f *fakeGitHub, req Request) {
			f.refs["fleetbot/eks-1-30/1/tenant-a"] = req.BaseSHA
			f.push("fleetbot/eks-1-30/1/tenant-a", "mine", map[string][]byte{"x.yaml": []byte("a: 1\n")})
		},
		wantCalls: []string{"PullRequests", "CommitOnNewBranch", "Ref", "Commit"},
		wantErr:   ErrForeignCommit,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub("acme", "fleet", exampleFiles(t))
			req := p.request(t, f, 1, "tenant-a")
			req.RepoID = f.repoID()
			tt.leave(f, req)
			f.take()
			res, err := Ensure(t.Context(), f, req)
			assert.Equal(t, tt.wantCalls, f.take())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, f.prs)
				return
			}
			require.NoError(t, err)
			require.Len(t, f.prs, 1)
			assert.Equal(t, f.refs[res.Branch], f.prs[0].HeadSHA)
			assert.Equal(t, []string{req.BaseSHA}, f.commits[res.HeadSHA].Parents, "one commit on the base")
			assertNoWrite(t, f, req)
		})
	}
}

// TestEnsureClusterJoins: a pull request opened without a cluster held back
// by pre-flight takes it once it passed on a retry: the branch is rebuilt
// with its edit and the body rewritten to name it, on the same pull
// request.
func TestEnsureClusterJoins(t *testing.T) {
	t.Parallel()
	file := "../../examples/demo/eks-1-30.yaml"
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	c, err := rollout.ParseCampaign(file, src)
	require.NoError(t, err)
	base := examplePlan(t, "eks-1-30")
	fleet, err := base.inv.Fleet()
	require.NoError(t, err)
	plan, err := rollout.PlanCampaign(c, fleet)
	require.NoError(t, err)
	p := &planned{campaign: c, plan: plan, inv: base.inv}
	// Wave 2 of the demo campaign carries two clusters of tenant-a.
	w := plan.Waves[1]
	require.Len(t, w.PullRequests, 1)
	require.Equal(t, []string{"a-dev-cpu-2", "a-dev-gpu-1"}, []string{w.Clusters[0].Name, w.Clusters[1].Name})

	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	req := p.request(t, f, 2, "tenant-a")
	full := req.PR
	req.Clusters, req.PR = []string{"a-dev-cpu-2"}, full.For([]string{"a-dev-cpu-2"})
	req.Preflight = map[string]string{"a-dev-cpu-2": "passed with 1 warning: add-on kube-proxy must move", "a-dev-gpu-1": "not ready"}
	first, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	require.True(t, first.Opened)
	files := f.files(first.HeadSHA)
	assert.Equal(t, "1.30", lookup(t, tenantA, files[tenantA], "services", "eks", "config", "a-dev-cpu-2", "version"))
	assert.Equal(t, "1.29", lookup(t, tenantA, files[tenantA], "services", "eks", "config", "a-dev-gpu-1", "version"), "the held-back cluster stays out")
	body := f.prs[0].Body
	assert.Contains(t, body, "| a-dev-cpu-2 | dev |")
	assert.NotContains(t, body, "| a-dev-gpu-1 | dev |")
	assert.Contains(t, body, "**Pre-flight**: EKS said, before this pull request opened:\n- `a-dev-cpu-2`: passed with 1 warning: add-on kube-proxy must move\n")
	assert.NotContains(t, body, "not ready", "only the clusters it carries")
	f.take()

	req.Clusters, req.PR = []string{"a-dev-cpu-2", "a-dev-gpu-1"}, full.For([]string{"a-dev-cpu-2", "a-dev-gpu-1"})
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.True(t, res.Regenerated)
	assert.True(t, res.Replanned)
	assert.Equal(t, first.Number, res.Number)
	assert.Contains(t, f.take(), "EditPullRequest")
	files = f.files(res.HeadSHA)
	assert.Equal(t, "1.30", lookup(t, tenantA, files[tenantA], "services", "eks", "config", "a-dev-gpu-1", "version"))
	assert.Contains(t, f.prs[0].Body, "| a-dev-gpu-1 | dev |")
	assertNoWrite(t, f, req)
}

// TestReviewersAtMost15: GitHub asks at most 15 users and teams to review
// at once. A tenant with more owners gets its teams asked first (each asks
// many people), then its users while there is room; the others are listed
// as not asked, with the reason.
func TestReviewersAtMost15(t *testing.T) {
	t.Parallel()
	var o Owners
	for i := range 20 {
		o.Users = append(o.Users, fmt.Sprintf("user-%02d", i))
	}
	o.Teams = []string{"acme/sre", "acme/payments", "other/ops", "acme/sre"}
	users, teams, skipped := reviewers("acme", o)
	assert.Equal(t, []string{"sre", "payments"}, teams)
	assert.Equal(t, o.Users[:13], users)
	assert.Len(t, skipped, 1+7)
	assert.Contains(t, skipped, "team other/ops: not in acme, the repository's organisation")
	assert.Contains(t, skipped, "user user-13: GitHub asks at most 15 reviewers at once; an owner not asked may still approve")

	users, teams, skipped = reviewers("acme", Owners{Users: []string{"a", "b", "a"}, Teams: []string{"acme/sre"}})
	assert.Equal(t, []string{"a", "b"}, users)
	assert.Equal(t, []string{"sre"}, teams)
	assert.Empty(t, skipped)
}

// TestEnsureReviewerGitHubRefuses: GitHub refuses a review request that
// names one user who cannot review (not a collaborator); the others are
// asked one by one, the refused one is skipped with GitHub's answer, and the
// pull request is labelled: set up, not failing for ever.
func TestEnsureReviewerGitHubRefuses(t *testing.T) {
	t.Parallel()
	p := examplePlan(t, "eks-1-30")
	f := newFakeGitHub("acme", "fleet", exampleFiles(t))
	f.cannotReview = map[string]bool{"gone": true}
	req := p.request(t, f, 1, "tenant-a")
	req.Reviewers = Owners{Users: []string{"alice", "gone"}, Teams: []string{"acme/sre"}}
	res, err := Ensure(t.Context(), f, req)
	require.NoError(t, err)
	assert.Equal(t, [][2][]string{{{"alice"}, nil}, {nil, {"sre"}}}, f.reviewRequests[res.Number])
	require.Len(t, res.Skipped, 1)
	assert.Contains(t, res.Skipped[0], "user gone: GitHub refused to ask for a review: ")
	assert.Contains(t, res.Skipped[0], "Reviews may only be requested from collaborators")
	assert.Equal(t, []string{"fleetbot", "campaign:eks-1-30", "wave:1"}, f.prs[0].Labels)

	// A label GitHub refuses after that fails the setup, and says the pull
	// request is open.
	f2 := newFakeGitHub("acme", "fleet", exampleFiles(t))
	f2.cannotReview = map[string]bool{"gone": true}
	req2 := p.request(t, f2, 1, "tenant-a")
	req2.Reviewers = req.Reviewers
	f2.fail["AddLabels"] = errors.New("502 Bad Gateway")
	res2, err := Ensure(t.Context(), f2, req2)
	var se *rollout.SetupError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, rollout.SetupError{Number: res2.Number, Step: "label", Err: se.Err}, *se)
}
