package sandbox

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

// TestPullRequestFlow walks the bot's path through one pull request: push a
// fleet, commit through the git data API, open, review, label, comment,
// check, merge; and checks the webhooks that tell the story.
func TestPullRequestFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", false)
	work := e.pushFleet("acme", "fleet")

	// Contents match the pushed files byte for byte.
	const valuesPath = "addons/tenants/tenant-a/defaults/fleet/fleet-secret/values.yaml"
	want, err := os.ReadFile(filepath.Join(work, valuesPath))
	require.NoError(t, err)
	file := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/contents/" + valuesPath + "?ref=main"}).obj(t)
	got, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(file["content"].(string), "\n", ""))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	dir := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/contents/addons/tenants"}).list(t)
	assert.NotEmpty(t, dir)
	e.must(http.StatusNotFound, req{method: "GET", path: "/repos/acme/fleet/contents/no/such/file"})

	// A commit built from a blob, a tree and a commit, on a new branch.
	main := e.branchSHA("acme/fleet", "main")
	head := e.commitFile("acme/fleet", main, valuesPath, "upgraded: true\n", "Upgrade tenant-a", "")
	e.branchFrom("acme/fleet", "upgrade-a", head)
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/repos/acme/fleet/git/refs",
		body: map[string]any{"ref": "refs/heads/upgrade-a", "sha": head}})
	tree := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/trees/" + head + "?recursive=1"}).obj(t)
	assert.Contains(t, pathsOf(tree), valuesPath)

	// Open, and refuse a second pull request for the same branches.
	pr := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "Upgrade tenant-a", "head": "upgrade-a", "base": "main", "body": "Wave 1"}}).obj(t)
	require.EqualValues(t, 1, pr["number"])
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "again", "head": "acme:upgrade-a", "base": "main"}})

	// Reviewers, a review as another user, labels, comments and reactions.
	e.must(http.StatusCreated, req{method: "POST", path: "/orgs/acme/teams", body: map[string]any{"name": "Tenant A"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls/1/requested_reviewers",
		body: map[string]any{"reviewers": []string{"alice"}, "team_reviewers": []string{"tenant-a"}}})
	sixteen := make([]string, 16)
	for i := range sixteen {
		sixteen[i] = fmt.Sprintf("user-%d", i)
	}
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/repos/acme/fleet/pulls/1/requested_reviewers",
		body: map[string]any{"reviewers": sixteen}}) // GitHub asks at most 15 at once
	reviewers := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1/requested_reviewers"}).obj(t)
	assert.Len(t, reviewers["users"], 1)
	assert.Len(t, reviewers["teams"], 1)
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/repos/acme/fleet/pulls/1/reviews",
		body: map[string]any{"event": "APPROVE"}})
	review := e.must(http.StatusOK, req{method: "POST", path: "/repos/acme/fleet/pulls/1/reviews", as: "alice",
		body: map[string]any{"event": "APPROVE", "body": "ship it"}}).obj(t)
	assert.Equal(t, "APPROVED", review["state"])
	assert.Equal(t, head, review["commit_id"])
	reviews := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1/reviews"}).list(t)
	require.Len(t, reviews, 1)
	assert.Equal(t, "alice", reviews[0]["user"].(map[string]any)["login"])

	labels := e.must(http.StatusOK, req{method: "POST", path: "/repos/acme/fleet/issues/1/labels",
		body: map[string]any{"labels": []string{"fleetbot", "wave-1"}}}).list(t)
	assert.Len(t, labels, 2)
	comment := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues/1/comments",
		body: map[string]any{"body": "Planned"}}).obj(t)
	id := strconv.Itoa(int(comment["id"].(float64)))
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/issues/comments/" + id, body: map[string]any{"body": "Applied"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues/comments/" + id + "/reactions",
		as: "alice", body: map[string]any{"content": "+1"}})
	e.must(http.StatusOK, req{method: "POST", path: "/repos/acme/fleet/issues/comments/" + id + "/reactions",
		as: "alice", body: map[string]any{"content": "+1"}})
	got1 := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/comments/" + id}).obj(t)
	assert.Equal(t, "Applied", got1["body"])
	assert.EqualValues(t, 1, got1["reactions"].(map[string]any)["+1"])
	comments := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/1/comments"}).list(t)
	assert.Len(t, comments, 1)

	// Check runs and statuses on the head.
	run := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/check-runs",
		auth: "token " + e.installationToken("acme"),
		body: map[string]any{"name": "fleetbot/plan", "head_sha": head, "status": "in_progress"}}).obj(t)
	runID := strconv.Itoa(int(run["id"].(float64)))
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/check-runs/" + runID,
		body: map[string]any{"conclusion": "success", "output": map[string]any{"title": "Plan", "summary": "1 file"}}})
	runs := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/upgrade-a/check-runs?check_name=fleetbot/plan"}).obj(t)
	assert.EqualValues(t, 1, runs["total_count"])
	suites := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/" + head + "/check-suites"}).obj(t)
	require.EqualValues(t, 1, suites["total_count"])
	assert.Equal(t, "success", suites["check_suites"].([]any)[0].(map[string]any)["conclusion"])
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + head,
		body: map[string]any{"state": "pending", "context": "terraform"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + head,
		body: map[string]any{"state": "success", "context": "terraform", "description": "applied"}})
	combined := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/" + head + "/status"}).obj(t)
	assert.Equal(t, "success", combined["state"])
	assert.EqualValues(t, 1, combined["total_count"])
	statuses := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/" + head + "/statuses"}).list(t)
	assert.Len(t, statuses, 2)

	// Compare and the pull request as the bot reads it.
	cmp := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/compare/main...upgrade-a"}).obj(t)
	assert.Equal(t, "ahead", cmp["status"])
	assert.EqualValues(t, 1, cmp["ahead_by"])
	pr = e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, true, pr["mergeable"])
	assert.Equal(t, "clean", pr["mergeable_state"])
	assert.EqualValues(t, 1, pr["changed_files"])
	files := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1/files"}).list(t)
	require.Len(t, files, 1)
	assert.Equal(t, valuesPath, files[0]["filename"])

	// Merge: a stale sha is refused, the right one merges.
	e.must(http.StatusConflict, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge", body: map[string]any{"sha": main}})
	merged := e.must(http.StatusOK, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge",
		body: map[string]any{"sha": head, "merge_method": "squash"}}).obj(t)
	assert.Equal(t, merged["sha"], e.branchSHA("acme/fleet", "main"))
	pr = e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, true, pr["merged"])
	assert.Equal(t, "closed", pr["state"])
	assert.Equal(t, merged["sha"], pr["merge_commit_sha"])
	e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge", body: map[string]any{}})
	content := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/contents/" + valuesPath}).obj(t)
	got, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(content["content"].(string), "\n", ""))
	require.NoError(t, err)
	assert.Equal(t, "upgraded: true\n", string(got))

	e.waitHooks()
	wantSeq := []string{
		"installation_repositories.added", "push", "push", "pull_request.opened",
		"pull_request.review_requested", "pull_request.review_requested", "pull_request_review.submitted",
		"pull_request.labeled", "pull_request.labeled", "issue_comment.created", "issue_comment.edited",
		"check_run.created", "check_run.completed", "check_suite.completed", "status", "status",
		"push", "pull_request.closed",
	}
	assert.Equal(t, wantSeq, e.hooks.seen())
	checkWebhookShapes(t, e.hooks.all())
	for _, ev := range e.hooks.all() {
		assert.NotNil(t, ev.Payload["installation"], "%s has no installation", ev.Event)
		assert.NotNil(t, ev.Payload["organization"], "%s has no organization", ev.Event)
		assert.NotNil(t, ev.Payload["sender"], "%s has no sender", ev.Event)
	}
	push := e.hooks.all()[1].Payload
	assert.Equal(t, "refs/heads/main", push["ref"])
	assert.Equal(t, zeroSHA, push["before"])
	commits := push["commits"].([]any)
	require.Len(t, commits, 1)
	assert.Contains(t, commits[0].(map[string]any)["added"], valuesPath)
	closed := e.hooks.all()[len(wantSeq)-1].Payload
	assert.Equal(t, true, closed["pull_request"].(map[string]any)["merged"])
}

func pathsOf(tree map[string]any) []string {
	var out []string
	for _, e := range tree["tree"].([]any) {
		out = append(out, e.(map[string]any)["path"].(string))
	}
	return out
}

// TestMergeConflict: once one branch lands, a pull request that changed
// the same line is not mergeable and its merge is refused with 405.
func TestMergeConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	for _, b := range []string{"one", "two"} {
		e.branchFrom("acme/fleet", b, e.commitFile("acme/fleet", main, "README.md", "# "+b+"\n", "Edit on "+b, ""))
		e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
			body: map[string]any{"title": b, "head": b, "base": "main"}})
	}
	e.must(http.StatusOK, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge", body: map[string]any{"merge_method": "merge"}})
	pr := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/2"}).obj(t)
	assert.Equal(t, false, pr["mergeable"])
	assert.Equal(t, "dirty", pr["mergeable_state"])
	e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: "/repos/acme/fleet/pulls/2/merge", body: map[string]any{}})
	merge := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/commits/" + e.branchSHA("acme/fleet", "main")}).obj(t)
	assert.Len(t, merge["parents"], 2)
	// No commits between: a pull request of main onto itself.
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "empty", "head": "one", "base": "main"}})
}

// TestRefs covers fast-forward rules, force, delete and matching refs.
func TestRefs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	next := e.commitFile("acme/fleet", main, "a.txt", "a\n", "a", "")
	side := e.commitFile("acme/fleet", main, "b.txt", "b\n", "b", "")
	e.branchFrom("acme/fleet", "feature", next)
	e.must(http.StatusUnprocessableEntity, req{method: "PATCH", path: "/repos/acme/fleet/git/refs/heads/feature",
		body: map[string]any{"sha": side}})
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/git/refs/heads/feature",
		body: map[string]any{"sha": side, "force": true}})
	assert.Equal(t, side, e.branchSHA("acme/fleet", "feature"))
	refs := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/matching-refs/heads/"}).list(t)
	var names []string
	for _, r := range refs {
		names = append(names, r["ref"].(string))
	}
	assert.Equal(t, []string{"refs/heads/feature", "refs/heads/main"}, names)
	branch := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/branches/feature"}).obj(t)
	assert.Equal(t, side, branch["commit"].(map[string]any)["sha"])
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/repos/acme/fleet/git/refs/heads/feature"})
	e.must(http.StatusNotFound, req{method: "GET", path: "/repos/acme/fleet/git/ref/heads/feature"})
	e.must(http.StatusUnprocessableEntity, req{method: "DELETE", path: "/repos/acme/fleet/git/refs/heads/feature"})

	// A tree entry with a null sha deletes the path.
	tree := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/git/trees",
		body: map[string]any{"base_tree": next, "tree": []map[string]any{{"path": "a.txt", "mode": "100644", "type": "blob", "sha": nil},
			{"path": "c/d.txt", "mode": "100644", "type": "blob", "content": "d\n"}}}}).obj(t)
	paths := pathsOf(tree)
	assert.NotContains(t, paths, "a.txt")
	assert.Contains(t, paths, "c")

	e.waitHooks()
	seen := e.hooks.seen()
	assert.Equal(t, 3, count(seen, "push"), "%v", seen) // create, force, delete
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestPagination lists pull requests a page at a time following Link.
func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	for i := range 5 {
		b := "b" + strconv.Itoa(i)
		e.branchFrom("acme/fleet", b, e.commitFile("acme/fleet", main, b+".txt", b, b, ""))
		e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
			body: map[string]any{"title": b, "head": b, "base": "main"}})
	}
	var numbers []float64
	path := "/repos/acme/fleet/pulls?per_page=2&direction=asc"
	for pages := 0; path != ""; pages++ {
		require.Less(t, pages, 5)
		r := e.must(http.StatusOK, req{method: "GET", path: path})
		for _, p := range r.list(t) {
			numbers = append(numbers, p["number"].(float64))
		}
		path = nextLink(r.header.Get("Link"), e.url)
	}
	assert.Equal(t, []float64{1, 2, 3, 4, 5}, numbers)
	head := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls?head=acme:b3"}).list(t)
	require.Len(t, head, 1)
	assert.EqualValues(t, 4, head[0]["number"])
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/pulls/4", body: map[string]any{"state": "closed"}})
	open := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls?per_page=100"}).list(t)
	assert.Len(t, open, 4)
	closed := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls?state=closed"}).list(t)
	assert.Len(t, closed, 1)
}

// nextLink returns the path of the rel="next" link, or "".
func nextLink(header, base string) string {
	for _, part := range strings.Split(header, ",") {
		if strings.Contains(part, `rel="next"`) {
			u := strings.TrimSpace(part)
			u = u[1:strings.Index(u, ">")]
			return strings.TrimPrefix(u, base)
		}
	}
	return ""
}

// TestPushSynchronizes: a push to a pull request's branch sends push and
// pull_request synchronize, and moves the pull request's head.
func TestPushSynchronizes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	e.branchFrom("acme/fleet", "topic", e.commitFile("acme/fleet", main, "x.txt", "x\n", "x", ""))
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "topic", "head": "topic", "base": "main"}})

	work := t.TempDir()
	git(t, work, "clone", "-q", "-b", "topic", e.gitURL("acme", "fleet", testToken), ".")
	require.NoError(t, os.WriteFile(filepath.Join(work, "y.txt"), []byte("y\n"), 0o644))
	git(t, work, "add", "y.txt")
	git(t, work, "commit", "-q", "-m", "y")
	git(t, work, "push", "-q", "origin", "topic")
	head := git(t, work, "rev-parse", "HEAD")

	pr := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, head, pr["head"].(map[string]any)["sha"])
	e.waitHooks()
	seen := e.hooks.seen()
	require.GreaterOrEqual(t, len(seen), 2)
	assert.Equal(t, []string{"push", "pull_request.synchronize"}, seen[len(seen)-2:])
	last := e.hooks.all()[len(seen)-1].Payload
	assert.Equal(t, head, last["after"])

	// A merge pushed to main merges the pull request; deleting a pull
	// request's branch closes it.
	e.branchFrom("acme/fleet", "gone", e.commitFile("acme/fleet", main, "g.txt", "g\n", "g", ""))
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "gone", "head": "gone", "base": "main"}})
	git(t, work, "fetch", "-q", "origin", "main")
	git(t, work, "checkout", "-q", "-B", "main", "origin/main")
	git(t, work, "merge", "-q", "--no-ff", "-m", "Merge topic", "topic")
	git(t, work, "push", "-q", "origin", "main", ":gone")
	pr = e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, true, pr["merged"])
	assert.Equal(t, git(t, work, "rev-parse", "HEAD"), pr["merge_commit_sha"])
	gone := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/2"}).obj(t)
	assert.Equal(t, "closed", gone["state"])
	assert.Equal(t, false, gone["merged"])
	e.waitHooks()
	seen = e.hooks.seen()
	assert.Equal(t, []string{"push", "pull_request.closed", "push", "pull_request.closed"}, seen[len(seen)-4:])
	checkWebhookShapes(t, e.hooks.all())
}

// TestAppAuth covers the App's JWT, installation tokens over REST and git,
// and refusals.
func TestAppAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	e.must(http.StatusCreated, req{method: "POST", path: "/user/repos", as: "bob", body: map[string]any{"name": "own", "auto_init": true}})

	other, err := rsaKey()
	require.NoError(t, err)
	now := timeNow()
	iss := strconv.Itoa(testAppID)
	cases := []struct {
		name string
		auth string
		want int
	}{
		{"valid", "Bearer " + validJWT(t), http.StatusOK},
		{"wrong key", "Bearer " + appJWT(t, other, iss, now, now.Add(5*minute)), http.StatusUnauthorized},
		{"expired", "Bearer " + appJWT(t, appKey(), iss, now.Add(-20*minute), now.Add(-11*minute)), http.StatusUnauthorized},
		{"too long", "Bearer " + appJWT(t, appKey(), iss, now, now.Add(20*minute)), http.StatusUnauthorized},
		{"wrong iss", "Bearer " + appJWT(t, appKey(), "99", now, now.Add(5*minute)), http.StatusUnauthorized},
		{"static token", "Bearer " + testToken, http.StatusUnauthorized},
		{"none", "-", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: "GET", path: "/app", auth: tc.auth})
			require.Equal(t, tc.want, r.status, "%s", r.raw)
			if tc.want == http.StatusUnauthorized {
				body := r.obj(t)
				assert.NotEmpty(t, body["message"])
				assert.NotEmpty(t, body["documentation_url"])
			}
		})
	}

	e.must(http.StatusForbidden, req{method: "GET", path: "/repos/acme/fleet", auth: "Bearer " + validJWT(t)})
	repoInst := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/installation", auth: "Bearer " + validJWT(t)}).obj(t)
	token := e.installationToken("acme")
	assert.True(t, strings.HasPrefix(token, "ghs_"))
	auth := "token " + token
	e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet", auth: auth})
	e.must(http.StatusNotFound, req{method: "GET", path: "/repos/bob/own", auth: auth})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/repos/acme/fleet", auth: "token ghs_nope"})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/app", auth: auth})
	repos := e.must(http.StatusOK, req{method: "GET", path: "/installation/repositories", auth: auth}).obj(t)
	assert.EqualValues(t, 1, repos["total_count"])
	insts := e.must(http.StatusOK, req{method: "GET", path: "/app/installations", auth: "Bearer " + validJWT(t)}).list(t)
	assert.Len(t, insts, 2)
	assert.Equal(t, repoInst["id"], insts[0]["id"])

	// The App's commits are verified; a user's are not.
	main := e.branchSHA("acme/fleet", "main")
	sha := e.commitFile("acme/fleet", main, "bot.txt", "bot\n", "by the bot", auth)
	c := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/commits/" + sha}).obj(t)
	assert.Equal(t, true, c["verification"].(map[string]any)["verified"])
	assert.Equal(t, "fleetbot[bot]", c["author"].(map[string]any)["name"])
	sha = e.commitFile("acme/fleet", main, "user.txt", "user\n", "by a user", "")
	c = e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/commits/" + sha}).obj(t)
	assert.Equal(t, false, c["verification"].(map[string]any)["verified"])

	// git over HTTP with the installation token; refused on another account.
	work := t.TempDir()
	git(t, work, "clone", "-q", e.gitURL("acme", "fleet", token), "a")
	assert.FileExists(t, filepath.Join(work, "a", "README.md"))
	out, err := gitFails(t, work, "clone", "-q", e.gitURL("bob", "own", token), "b")
	require.Error(t, err, "clone of another account's repository: %s", out)
	_, err = gitFails(t, work, "clone", "-q", e.gitURL("acme", "fleet", "wrong"), "c")
	require.Error(t, err)

	// Acting as a user needs the static token.
	me := e.must(http.StatusOK, req{method: "GET", path: "/user", as: "carol"}).obj(t)
	assert.Equal(t, "carol", me["login"])
	me = e.must(http.StatusOK, req{method: "GET", path: "/user"}).obj(t)
	assert.Equal(t, true, me["site_admin"])
}

// TestRestart: a new server on the same directory continues numbering and
// keeps every object.
func TestRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, dir)
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	e.branchFrom("acme/fleet", "one", e.commitFile("acme/fleet", main, "1.txt", "1", "1", ""))
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls", body: map[string]any{"title": "one", "head": "one", "base": "main"}})
	c1 := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues/1/comments", body: map[string]any{"body": "hi"}}).obj(t)
	inst1 := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/installation", auth: "Bearer " + validJWT(t)}).obj(t)
	token := e.installationToken("acme")
	e.waitHooks()
	e.srv.Close()
	// A sandbox killed while git wrote branch two left git's lock file.
	stale := filepath.Join(gitrepo.RepoPath(filepath.Join(dir, "repos"), "acme", "fleet"), "refs", "heads", "two.lock")
	require.NoError(t, os.WriteFile(stale, nil, 0o644))

	e2 := newEnv(t, dir)
	assert.NoFileExists(t, stale, "the restarted sandbox removes the lock file")
	pr := e2.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, "one", pr["title"])
	e2.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet", auth: "token " + token})
	inst2 := e2.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/installation", auth: "Bearer " + validJWT(t)}).obj(t)
	assert.Equal(t, inst1["id"], inst2["id"])
	e2.branchFrom("acme/fleet", "two", e2.commitFile("acme/fleet", main, "2.txt", "2", "2", ""))
	pr2 := e2.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls", body: map[string]any{"title": "two", "head": "two", "base": "main"}}).obj(t)
	assert.EqualValues(t, 2, pr2["number"])
	c2 := e2.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues/1/comments", body: map[string]any{"body": "again"}}).obj(t)
	assert.Greater(t, c2["id"].(float64), c1["id"].(float64))
	assert.Greater(t, pr2["id"].(float64), pr["id"].(float64))
}

// TestDirInUse: a second sandbox on the directory of a running one is
// refused, naming it; once the first is closed it starts.
func TestDirInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{Dir: dir, Token: testToken}
	first, err := New(cfg)
	require.NoError(t, err)
	_, err = New(cfg)
	require.Error(t, err)
	assert.Equal(t, "sandbox dir "+dir+" is in use by another sandbox", err.Error())
	first.Close()
	first.Close() // twice is harmless
	second, err := New(cfg)
	require.NoError(t, err)
	second.Close()
}

// TestWebhookDeliveries: failures are recorded and not retried, redelivery
// keeps the delivery id, the filter drops.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.hooks.fail.Store(true)
	e.createRepo("acme", "fleet", false)
	e.waitHooks()
	e.hooks.fail.Store(false)
	ds := e.srv.Deliveries()
	require.Len(t, ds, 1)
	assert.Equal(t, http.StatusInternalServerError, ds[0].StatusCode)
	assert.Equal(t, "installation_repositories", ds[0].Event)
	assert.Equal(t, "added", ds[0].Action)

	require.NoError(t, e.srv.Redeliver(ds[0].ID))
	e.waitHooks()
	ds = e.srv.Deliveries()
	require.Len(t, ds, 2)
	assert.Equal(t, ds[0].ID, ds[1].ID)
	assert.True(t, ds[1].Redelivery)
	assert.Equal(t, http.StatusNoContent, ds[1].StatusCode)
	got := e.hooks.all()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].Delivery, got[1].Delivery)
	require.Error(t, e.srv.Redeliver("no-such-id"))

	e.srv.SetWebhookFilter(func(event, _ string, _ []byte) bool { return event != "issues" })
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", body: map[string]any{"title": "dropped"}})
	e.waitHooks()
	ds = e.srv.Deliveries()
	require.Len(t, ds, 3)
	assert.True(t, ds[2].Dropped)
	assert.Len(t, e.hooks.all(), 2)
}

// TestHTTPConventions: errors, ETags and rate-limit headers.
func TestHTTPConventions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	r := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet"})
	etag := r.header.Get("ETag")
	require.NotEmpty(t, etag)
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"} {
		assert.NotEmpty(t, r.header.Get(h), h)
	}
	e.must(http.StatusNotModified, req{method: "GET", path: "/repos/acme/fleet", header: map[string]string{"If-None-Match": etag}})
	rl := e.must(http.StatusOK, req{method: "GET", path: "/rate_limit"}).obj(t)
	assert.EqualValues(t, 5000, rl["rate"].(map[string]any)["limit"])
	e.must(http.StatusNotFound, req{method: "GET", path: "/repos/acme/nothing"})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", body: map[string]any{"title": "Question"}})
	e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/1"})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/labels", body: map[string]any{"name": "urgent", "color": "ff0000"}})
	labels := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/labels"}).list(t)
	assert.Len(t, labels, 1)
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/issues/1", body: map[string]any{"state": "closed"}})
}

// TestUnknownRoute is outside the contract middleware: GitHub documents no
// such path, so only the answer's shape is checked.
func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	srv, err := New(Config{Dir: t.TempDir(), Token: testToken})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	rec := httptestRecorder(srv, "GET", "/no/such/route", "Bearer "+testToken)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, rec.Body.String(), `"documentation_url"`)
	rec = httptestRecorder(srv, "GET", "/repos/a/b", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), `"Requires authentication"`)
}

// TestTeamsAndCollaborators covers memberships and permissions.
func TestTeamsAndCollaborators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	e.must(http.StatusCreated, req{method: "POST", path: "/orgs/acme/teams", body: map[string]any{"name": "Platform"}})
	e.must(http.StatusNotFound, req{method: "GET", path: "/orgs/acme/teams/platform/memberships/dave"})
	m := e.must(http.StatusOK, req{method: "PUT", path: "/orgs/acme/teams/platform/memberships/dave", body: map[string]any{"role": "member"}}).obj(t)
	assert.Equal(t, "active", m["state"])
	e.must(http.StatusOK, req{method: "GET", path: "/orgs/acme/teams/platform/memberships/dave"})
	perm := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/collaborators/erin/permission"}).obj(t)
	assert.Equal(t, "none", perm["permission"])
	e.must(http.StatusNoContent, req{method: "PUT", path: "/repos/acme/fleet/collaborators/erin", body: map[string]any{"permission": "push"}})
	perm = e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/collaborators/erin/permission"}).obj(t)
	assert.Equal(t, "write", perm["permission"])
	assert.Equal(t, "write", perm["role_name"])
	for _, tc := range []struct{ user, want string }{{"admin", "admin"}, {"nobody", "none"}} {
		p := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/collaborators/" + tc.user + "/permission"}).obj(t)
		assert.Equal(t, tc.want, p["permission"], tc.user)
	}
	is := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", as: "dave", body: map[string]any{"title": "Hello"}}).obj(t)
	assert.Equal(t, "MEMBER", is["author_association"])
}

// TestEditsAndReads covers the remaining reads and edits under the contract
// check, with the webhooks they send.
func TestEditsAndReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	e.branchFrom("acme/fleet", "topic", e.commitFile("acme/fleet", main, "t.txt", "t\n", "t", ""))
	e.branchFrom("acme/fleet", "release", main)
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls", body: map[string]any{"title": "t", "head": "topic", "base": "main"}})

	tree := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/trees/main"}).obj(t)
	var blob string
	for _, en := range tree["tree"].([]any) {
		if en.(map[string]any)["path"] == "README.md" {
			blob = en.(map[string]any)["sha"].(string)
		}
	}
	b := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/git/blobs/" + blob}).obj(t)
	assert.Equal(t, "base64", b["encoding"])
	e.must(http.StatusNotFound, req{method: "GET", path: "/repos/acme/fleet/git/blobs/" + main})

	pr := e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/pulls/1",
		body: map[string]any{"title": "Topic", "base": "release"}}).obj(t)
	assert.Equal(t, "release", pr["base"].(map[string]any)["ref"])
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls/1/requested_reviewers", body: map[string]any{"reviewers": []string{"zoe"}}})
	e.must(http.StatusOK, req{method: "DELETE", path: "/repos/acme/fleet/pulls/1/requested_reviewers", body: map[string]any{"reviewers": []string{"zoe"}}})
	rr := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1/requested_reviewers"}).obj(t)
	assert.Empty(t, rr["users"])
	e.must(http.StatusOK, req{method: "POST", path: "/repos/acme/fleet/issues/1/labels", body: map[string]any{"labels": []string{"x"}}})
	labels := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/1/labels"}).list(t)
	require.Len(t, labels, 1)
	assert.Equal(t, "x", labels[0]["name"])

	run := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/check-runs",
		body: map[string]any{"name": "ci", "head_sha": main, "status": "completed", "conclusion": "failure"}}).obj(t)
	got := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/check-runs/" + strconv.Itoa(int(run["id"].(float64)))}).obj(t)
	assert.Equal(t, "failure", got["conclusion"])
	e.must(http.StatusUnprocessableEntity, req{method: "POST", path: "/repos/acme/fleet/check-runs",
		body: map[string]any{"name": "ci", "head_sha": main, "status": "completed"}})
	inst := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/installation", auth: "Bearer " + validJWT(t)}).obj(t)
	e.must(http.StatusOK, req{method: "GET", path: "/app/installations/" + strconv.Itoa(int(inst["id"].(float64))), auth: "Bearer " + validJWT(t)})
	e.must(http.StatusForbidden, req{method: "GET", path: "/user", auth: "token " + e.installationToken("acme")})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", body: map[string]any{"title": "q", "labels": []string{"x"}}})
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/issues/2", body: map[string]any{"state": "closed", "title": "q2"}})
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/pulls/1", body: map[string]any{"state": "closed"}})
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/pulls/1", body: map[string]any{"state": "open"}})

	e.waitHooks()
	seen := e.hooks.seen()
	for _, want := range []string{"pull_request.edited", "pull_request.review_request_removed", "check_run.completed",
		"check_suite.completed", "issues.opened", "issues.edited", "issues.closed", "pull_request.closed", "pull_request.reopened"} {
		assert.Contains(t, seen, want)
	}
	checkWebhookShapes(t, e.hooks.all())
}

// TestRateLimitRefuses: each installation has its own hourly budget; once
// it is spent the sandbox refuses as GitHub does (403, remaining 0, the
// reset, an error body) and counts the refusal, until the rate clock's hour
// ends. 304 answers and GET /rate_limit are free.
func TestRateLimitRefuses(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC).Unix())
	e := newEnvWith(t, "", func(c *Config) {
		c.RateLimit = 3
		c.RateClock = func() time.Time { return time.Unix(now.Load(), 0) }
	})
	e.createRepo("acme", "fleet", true)
	auth := "token " + e.installationToken("acme")
	reset := strconv.FormatInt(time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC).Unix(), 10)

	r := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet", auth: auth})
	assert.Equal(t, "3", r.header.Get("X-RateLimit-Limit"))
	assert.Equal(t, "2", r.header.Get("X-RateLimit-Remaining"))
	assert.Equal(t, reset, r.header.Get("X-RateLimit-Reset"))
	cond := req{method: "GET", path: "/repos/acme/fleet", auth: auth, header: map[string]string{"If-None-Match": r.header.Get("ETag")}}
	assert.Equal(t, "2", e.must(http.StatusNotModified, cond).header.Get("X-RateLimit-Remaining"), "a 304 is free")
	rl := e.must(http.StatusOK, req{method: "GET", path: "/rate_limit", auth: auth}).obj(t)["rate"].(map[string]any)
	assert.EqualValues(t, 1, rl["used"], "GET /rate_limit is free")
	e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues?state=all", auth: auth})
	assert.Equal(t, "0", e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet", auth: auth}).header.Get("X-RateLimit-Remaining"))

	refused := e.must(http.StatusForbidden, req{method: "GET", path: "/repos/acme/fleet/issues/1", auth: auth})
	assert.Equal(t, "0", refused.header.Get("X-RateLimit-Remaining"))
	assert.Equal(t, reset, refused.header.Get("X-RateLimit-Reset"))
	installations := func() []Usage {
		var out []Usage
		for _, u := range e.srv.RateUsage() {
			if strings.HasPrefix(u.Budget, "installation ") {
				out = append(out, u)
			}
		}
		return out
	}
	require.Len(t, installations(), 1)
	inst := strings.TrimPrefix(installations()[0].Budget, "installation ")
	assert.Equal(t, "API rate limit exceeded for installation ID "+inst+".", refused.obj(t)["message"])
	e.must(http.StatusForbidden, cond)
	e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet"}) // the static token has a budget of its own

	now.Add(1800) // the next hour
	e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet", auth: auth})
	hour := func(h int) time.Time { return time.Date(2026, 5, 4, h, 0, 0, 0, time.UTC) }
	assert.Equal(t, []Usage{
		{Budget: "installation " + inst, Hour: hour(10), Requests: 3, Refused: 2},
		{Budget: "installation " + inst, Hour: hour(11), Requests: 1},
	}, installations())
}

// TestUserRateLimit: users (and the App's JWT) have a limit of their own,
// apart from the installations', so a test can starve the bot's
// installation while the people and the CI it plays keep theirs.
func TestUserRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, "", func(c *Config) {
		c.RateLimit = 2
		c.UserRateLimit = 4
	})
	e.createRepo("acme", "fleet", true)
	auth := "token " + e.installationToken("acme")
	for range 2 {
		e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet", auth: auth})
	}
	e.must(http.StatusForbidden, req{method: "GET", path: "/repos/acme/fleet", auth: auth})
	user := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet"})
	assert.Equal(t, "4", user.header.Get("X-RateLimit-Limit"))
	rl := e.must(http.StatusOK, req{method: "GET", path: "/rate_limit"}).obj(t)["rate"].(map[string]any)
	assert.EqualValues(t, 4, rl["limit"])
	assert.EqualValues(t, 2, rl["remaining"], "creating the repository and one read")
	for range 2 {
		e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet"})
	}
	e.must(http.StatusForbidden, req{method: "GET", path: "/repos/acme/fleet"})
	_, err := New(Config{Dir: t.TempDir(), Token: "t", UserRateLimit: -1})
	assert.ErrorContains(t, err, "user rate limit -1 is negative")
}

// TestGiveBackToItsHour: a request counted in one hour and answered 304
// after the hour turned is given back to the hour that counted it, not
// taken off the next one's.
func TestGiveBackToItsHour(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 10, 59, 59, 0, time.UTC)
	l := newLimits(10, 10, func() time.Time { return now })
	a := meter{key: "installation 1", counted: true}
	require.True(t, l.admit(&a))
	now = now.Add(2 * time.Second)
	b := meter{key: "installation 1", counted: true}
	require.True(t, l.admit(&b))
	l.giveBack(a)
	assert.Equal(t, []Usage{
		{Budget: "installation 1", Hour: time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC), Requests: 1},
	}, (&Server{limits: l}).RateUsage())
}
