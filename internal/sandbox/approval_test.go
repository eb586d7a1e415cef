package sandbox

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openPull makes a repository acme/fleet with one pull request (#1, opened
// by the static token's admin) changing README.md, and returns its head.
func (e *env) openPull() string {
	e.t.Helper()
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	head := e.commitFile("acme/fleet", main, "README.md", "# changed\n", "Change the readme", "")
	e.branchFrom("acme/fleet", "change", head)
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "Change", "head": "change", "base": "main"}})
	return head
}

// message is the message field of an error answer.
func message(t *testing.T, r resp) string {
	t.Helper()
	m, _ := r.obj(t)["message"].(string)
	return m
}

// TestReviewDismissal: an approval names its reviewer and the head it
// approved, can be read alone, and once dismissed reads DISMISSED; the
// webhooks say submitted then dismissed, in lower case as GitHub's do.
func TestReviewDismissal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	head := e.openPull()
	const reviews = "/repos/acme/fleet/pulls/1/reviews"

	own := e.must(http.StatusUnprocessableEntity, req{method: "POST", path: reviews, body: map[string]any{"event": "APPROVE"}})
	assert.Contains(t, message(t, own), "Can not approve your own pull request")

	approval := e.must(http.StatusOK, req{method: "POST", path: reviews, as: "alice",
		body: map[string]any{"event": "APPROVE"}}).obj(t)
	id := strconv.Itoa(int(approval["id"].(float64)))
	got := e.must(http.StatusOK, req{method: "GET", path: reviews + "/" + id}).obj(t)
	assert.Equal(t, "APPROVED", got["state"])
	assert.Equal(t, head, got["commit_id"])
	assert.Equal(t, "alice", got["user"].(map[string]any)["login"])
	e.must(http.StatusNotFound, req{method: "GET", path: reviews + "/999999"})
	e.must(http.StatusNotFound, req{method: "GET", path: "/repos/acme/fleet/pulls/2/reviews/" + id})

	dismissed := e.must(http.StatusOK, req{method: "PUT", path: reviews + "/" + id + "/dismissals",
		body: map[string]any{"message": "the head moved", "event": "DISMISS"}}).obj(t)
	assert.Equal(t, "DISMISSED", dismissed["state"])
	assert.Equal(t, head, dismissed["commit_id"])
	listed := e.must(http.StatusOK, req{method: "GET", path: reviews}).list(t)
	require.Len(t, listed, 1)
	assert.Equal(t, "DISMISSED", listed[0]["state"])
	again := e.must(http.StatusUnprocessableEntity, req{method: "PUT", path: reviews + "/" + id + "/dismissals",
		body: map[string]any{"message": "twice"}})
	assert.Contains(t, message(t, again), "Can not dismiss a dismissed pull request review")

	comment := e.must(http.StatusOK, req{method: "POST", path: reviews, as: "bob",
		body: map[string]any{"event": "COMMENT", "body": "looks fine"}}).obj(t)
	cid := strconv.Itoa(int(comment["id"].(float64)))
	refused := e.must(http.StatusUnprocessableEntity, req{method: "PUT", path: reviews + "/" + cid + "/dismissals",
		body: map[string]any{"message": "no"}})
	assert.Contains(t, message(t, refused), "Can not dismiss a commented pull request review")

	e.waitHooks()
	var states []string
	for _, ev := range e.hooks.all() {
		if ev.Event == "pull_request_review" {
			r := ev.Payload["review"].(map[string]any)
			states = append(states, ev.Action+":"+r["state"].(string)+":"+r["user"].(map[string]any)["login"].(string))
		}
	}
	assert.Equal(t, []string{"submitted:approved:alice", "dismissed:dismissed:alice", "submitted:commented:bob"}, states)
	checkWebhookShapes(t, e.hooks.all())
}

// TestRequiredStatusChecks: a protected branch reports its required
// contexts, and a merge into it waits until each has passed on the head,
// through a commit status or a check run of that name.
func TestRequiredStatusChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	head := e.openPull()
	const branch = "/repos/acme/fleet/branches/main"
	const merge = "/repos/acme/fleet/pulls/1/merge"

	b := e.must(http.StatusOK, req{method: "GET", path: branch}).obj(t)
	assert.Equal(t, false, b["protected"])
	e.must(http.StatusNotFound, req{method: "GET", path: branch + "/protection/required_status_checks"})
	e.must(http.StatusNotFound, req{method: "GET", path: branch + "/protection"})

	put := e.must(http.StatusOK, req{method: "PUT", path: branch + "/protection", body: map[string]any{
		"required_status_checks": map[string]any{"strict": false, "contexts": []string{"terraform", "plan"}},
		"enforce_admins":         true, "required_pull_request_reviews": nil, "restrictions": nil,
	}}).obj(t)
	assert.Equal(t, []any{"terraform", "plan"}, put["required_status_checks"].(map[string]any)["contexts"])
	policy := e.must(http.StatusOK, req{method: "GET", path: branch + "/protection/required_status_checks"}).obj(t)
	assert.Equal(t, []any{"terraform", "plan"}, policy["contexts"])
	assert.Equal(t, false, policy["strict"])
	b = e.must(http.StatusOK, req{method: "GET", path: branch}).obj(t)
	assert.Equal(t, true, b["protected"])
	rsc := b["protection"].(map[string]any)["required_status_checks"].(map[string]any)
	assert.Equal(t, []any{"terraform", "plan"}, rsc["contexts"])
	assert.Equal(t, "everyone", rsc["enforcement_level"])

	pr := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, "blocked", pr["mergeable_state"])

	refuse := func(want string) {
		t.Helper()
		r := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: merge, body: map[string]any{"sha": head}})
		assert.Equal(t, want, message(t, r))
	}
	status := func(context, state string) {
		t.Helper()
		e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + head,
			body: map[string]any{"state": state, "context": context}})
	}
	refuse("2 of 2 required status checks are expected.")
	status("terraform", "success")
	refuse(`Required status check "plan" is expected.`)

	// A check run counts once it concludes success; a later failing status
	// of a passed context blocks again.
	inst := "token " + e.installationToken("acme")
	run := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/check-runs", auth: inst,
		body: map[string]any{"name": "plan", "head_sha": head, "status": "in_progress"}}).obj(t)
	refuse(`Required status check "plan" is expected.`)
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/check-runs/" + strconv.Itoa(int(run["id"].(float64))),
		auth: inst, body: map[string]any{"conclusion": "success"}})
	status("terraform", "failure")
	refuse(`Required status check "terraform" is expected.`)
	// A status on another commit does not count.
	main := e.branchSHA("acme/fleet", "main")
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + main,
		body: map[string]any{"state": "success", "context": "terraform"}})
	refuse(`Required status check "terraform" is expected.`)
	status("terraform", "success")

	pr = e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/pulls/1"}).obj(t)
	assert.Equal(t, "clean", pr["mergeable_state"])
	e.must(http.StatusOK, req{method: "PUT", path: merge, body: map[string]any{"sha": head, "merge_method": "squash"}})

	e.must(http.StatusNoContent, req{method: "DELETE", path: branch + "/protection"})
	b = e.must(http.StatusOK, req{method: "GET", path: branch}).obj(t)
	assert.Equal(t, false, b["protected"])
}

// TestRequiredChecksFromApp: a required check bound to an App is met only
// by that App's check run, not by a commit status of the same name.
func TestRequiredChecksFromApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	head := e.openPull()
	e.must(http.StatusOK, req{method: "PUT", path: "/repos/acme/fleet/branches/main/protection", body: map[string]any{
		"required_status_checks": map[string]any{"strict": true, "contexts": []string{},
			"checks": []map[string]any{{"context": "plan", "app_id": testAppID}}},
		"enforce_admins": nil, "required_pull_request_reviews": nil, "restrictions": nil,
	}})
	policy := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/branches/main/protection/required_status_checks"}).obj(t)
	assert.Equal(t, []any{map[string]any{"context": "plan", "app_id": float64(testAppID)}}, policy["checks"])
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + head,
		body: map[string]any{"state": "success", "context": "plan"}})
	r := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge", body: map[string]any{}})
	assert.Equal(t, `Required status check "plan" is expected.`, message(t, r))
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/check-runs", auth: "token " + e.installationToken("acme"),
		body: map[string]any{"name": "plan", "head_sha": head, "status": "completed", "conclusion": "success"}})
	e.must(http.StatusOK, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge", body: map[string]any{}})
}

// TestMergeRefusals: each merge GitHub refuses, with its status and message.
func TestMergeRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	head := e.openPull()
	main := e.branchSHA("acme/fleet", "main")
	const merge = "/repos/acme/fleet/pulls/1/merge"

	stale := e.must(http.StatusConflict, req{method: "PUT", path: merge, body: map[string]any{"sha": main}})
	assert.Equal(t, "Head branch was modified. Review and try the merge again.", message(t, stale))
	rebase := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: merge, body: map[string]any{"merge_method": "rebase"}})
	assert.Equal(t, "Rebase merges are not allowed on this repository.", message(t, rebase))

	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/pulls/1", body: map[string]any{"state": "closed"}})
	closed := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: merge, body: map[string]any{"sha": head}})
	assert.Equal(t, "Pull Request is not mergeable", message(t, closed))
	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/pulls/1", body: map[string]any{"state": "open"}})
	e.must(http.StatusOK, req{method: "PUT", path: merge, body: map[string]any{"sha": head, "merge_method": "merge"}})
	merged := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: merge, body: map[string]any{"sha": head}})
	assert.Equal(t, "Pull Request is not mergeable", message(t, merged))
}

// TestCombinedStatusOfPullHead: the combined status of a pull request's
// head, asked by SHA or by branch, takes the latest state of each context:
// failure over pending over success.
func TestCombinedStatusOfPullHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	head := e.openPull()
	steps := []struct {
		context, state, want string
	}{
		{"lint", "success", "success"},
		{"plan", "pending", "pending"},
		{"terraform", "error", "failure"},
		{"terraform", "success", "pending"},
		{"plan", "success", "success"},
		{"lint", "failure", "failure"},
		{"lint", "success", "success"},
	}
	for i, st := range steps {
		e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + head,
			body: map[string]any{"state": st.state, "context": st.context}})
		for _, ref := range []string{head, "change"} {
			c := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/" + ref + "/status"}).obj(t)
			assert.Equal(t, st.want, c["state"], "step %d (%s %s) by %s", i, st.context, st.state, ref)
			assert.Equal(t, head, c["sha"])
		}
	}
	c := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/change/status"}).obj(t)
	assert.EqualValues(t, 3, c["total_count"])
	states := map[string]any{}
	for _, s := range c["statuses"].([]any) {
		states[s.(map[string]any)["context"].(string)] = s.(map[string]any)["state"]
	}
	assert.Equal(t, map[string]any{"lint": "success", "plan": "success", "terraform": "success"}, states)
}

// TestMergeMethods: the repository's allow_merge_commit and
// allow_squash_merge decide which merge methods are refused with 405, the
// default method being merge; one of them must stay allowed, and rebase
// cannot be turned on.
func TestMergeMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.openPull()
	const repo = "/repos/acme/fleet"
	const merge = repo + "/pulls/1/merge"

	r := e.must(http.StatusOK, req{method: "PATCH", path: repo, body: map[string]any{"allow_merge_commit": false}}).obj(t)
	assert.Equal(t, false, r["allow_merge_commit"])
	assert.Equal(t, true, r["allow_squash_merge"])
	for _, body := range []map[string]any{{}, {"merge_method": "merge"}} {
		refused := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: merge, body: body})
		assert.Equal(t, "Merge commits are not allowed on this repository.", message(t, refused), "body %v", body)
	}
	e.must(http.StatusUnprocessableEntity, req{method: "PATCH", path: repo, body: map[string]any{"allow_squash_merge": false}})
	e.must(http.StatusUnprocessableEntity, req{method: "PATCH", path: repo, body: map[string]any{"allow_rebase_merge": true}})

	r = e.must(http.StatusOK, req{method: "PATCH", path: repo,
		body: map[string]any{"allow_merge_commit": true, "allow_squash_merge": false}}).obj(t)
	assert.Equal(t, true, r["allow_merge_commit"])
	assert.Equal(t, false, e.must(http.StatusOK, req{method: "GET", path: repo}).obj(t)["allow_squash_merge"])
	squash := e.must(http.StatusMethodNotAllowed, req{method: "PUT", path: merge, body: map[string]any{"merge_method": "squash"}})
	assert.Equal(t, "Squash merges are not allowed on this repository.", message(t, squash))
	done := e.must(http.StatusOK, req{method: "PUT", path: merge, body: map[string]any{"merge_method": "merge"}}).obj(t)
	ci := e.must(http.StatusOK, req{method: "GET", path: repo + "/git/commits/" + done["sha"].(string)}).obj(t)
	assert.Len(t, ci["parents"], 2)
}
