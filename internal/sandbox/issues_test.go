package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
)

// TestIssues walks a plain issue's life as a bot's dashboard issue lives it:
// opened by the App, listed (pull requests among issues, as GitHub lists
// them) with each filter, commented on by a person, closed as not planned,
// reopened and closed again; with the webhooks that tell it.
func TestIssues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	e.branchFrom("acme/fleet", "topic", e.commitFile("acme/fleet", main, "t.txt", "t\n", "t", ""))
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls", body: map[string]any{"title": "t", "head": "topic", "base": "main"}})
	bot := "token " + e.installationToken("acme")
	is := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", auth: bot,
		body: map[string]any{"title": "Campaign", "body": "<!-- marker -->\ntable", "labels": []string{"fleetbot", "campaign:x"}}}).obj(t)
	require.EqualValues(t, 2, is["number"], "issues and pull requests share numbers")
	assert.Nil(t, is["state_reason"])
	login := is["user"].(map[string]any)["login"].(string)
	assert.Regexp(t, `\[bot\]$`, login)
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", as: "dave", body: map[string]any{"title": "Question"}})

	numbers := func(path string) []float64 {
		var out []float64
		for _, o := range e.must(http.StatusOK, req{method: "GET", path: path}).list(t) {
			out = append(out, o["number"].(float64))
		}
		return out
	}
	assert.Equal(t, []float64{3, 2, 1}, numbers("/repos/acme/fleet/issues"), "newest first, pull requests included")
	assert.Equal(t, []float64{1, 2, 3}, numbers("/repos/acme/fleet/issues?direction=asc"))
	assert.Equal(t, []float64{2}, numbers("/repos/acme/fleet/issues?labels=campaign:x,fleetbot"))
	assert.Empty(t, numbers("/repos/acme/fleet/issues?labels=campaign:x,other"))
	assert.Equal(t, []float64{2}, numbers("/repos/acme/fleet/issues?creator="+login))
	page := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues?per_page=2&direction=asc"})
	assert.Len(t, page.list(t), 2)
	assert.Contains(t, page.header.Get("Link"), `rel="next"`)
	listed := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues?per_page=2&page=2&direction=asc"}).list(t)
	require.Len(t, listed, 1)
	_, isPull := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues?direction=asc"}).list(t)[0]["pull_request"]
	assert.True(t, isPull, "a pull request listed among issues says so")

	// A person's comment on the plain issue is an issue_comment without a
	// pull request.
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues/2/comments", as: "dave", body: map[string]any{"body": "/fleet status"}})

	// Closed as not planned, reopened, closed with GitHub's default reason.
	closed := e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/issues/2", auth: bot,
		body: map[string]any{"body": "<!-- marker -->\nsummary", "state": "closed", "state_reason": "not_planned"}}).obj(t)
	assert.Equal(t, "closed", closed["state"])
	assert.Equal(t, "not_planned", closed["state_reason"])
	assert.NotNil(t, closed["closed_at"])
	assert.Equal(t, []float64{2}, numbers("/repos/acme/fleet/issues?state=closed"))
	assert.Equal(t, []float64{1, 3}, numbers("/repos/acme/fleet/issues?direction=asc"), "open ones only by default")
	reopened := e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/issues/2", body: map[string]any{"state": "open"}}).obj(t)
	assert.Equal(t, "reopened", reopened["state_reason"])
	again := e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/issues/2", body: map[string]any{"state": "closed"}}).obj(t)
	assert.Equal(t, "completed", again["state_reason"])
	pr := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/1"}).obj(t)
	assert.Nil(t, pr["state_reason"], "a pull request read as an issue")

	e.waitHooks()
	var comment *hookEvent
	events := e.hooks.all()
	for i, ev := range events {
		if ev.Event == "issue_comment" && ev.Action == "created" {
			comment = &events[i]
		}
	}
	require.NotNil(t, comment, "issue_comment.created delivered")
	issue := comment.Payload["issue"].(map[string]any)
	assert.EqualValues(t, 2, issue["number"])
	assert.NotContains(t, issue, "pull_request")
	seen := e.hooks.seen()
	for _, want := range []string{"issues.opened", "issues.edited", "issues.closed", "issues.reopened", "issue_comment.created"} {
		assert.Contains(t, seen, want)
	}
	checkWebhookShapes(t, events)
}

// TestIssueValuesGitHubRefuses is outside the contract middleware, which
// refuses these requests before the sandbox sees them: the sandbox refuses
// them too, as GitHub does.
func TestIssueValuesGitHubRefuses(t *testing.T) {
	t.Parallel()
	srv, err := New(Config{Dir: t.TempDir(), Token: testToken})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	send := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		return rec
	}
	require.Equal(t, http.StatusCreated, send("POST", "/orgs/acme/repos", `{"name":"fleet"}`).Code)
	require.Equal(t, http.StatusCreated, send("POST", "/repos/acme/fleet/issues", `{"title":"q"}`).Code)
	rec := send("GET", "/repos/acme/fleet/issues?state=merged", "")
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	assert.Contains(t, rec.Body.String(), "state must be open, closed or all")
	rec = send("PATCH", "/repos/acme/fleet/issues/1", `{"state":"closed","state_reason":"abandoned"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	assert.Contains(t, rec.Body.String(), "state_reason must be")
	rec = send("GET", "/repos/acme/fleet/issues/1", "")
	assert.Contains(t, rec.Body.String(), `"state":"open"`, "a refused edit changes nothing")

	// A body of 65,536 characters is taken, one more is not: for an issue,
	// its edit, a comment and its edit (a pull request's go the same way).
	fits, over := strings.Repeat("é", maxBody), strings.Repeat("é", maxBody+1)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/repos/acme/fleet/issues", `{"title":"q","body":%q}`},
		{"PATCH", "/repos/acme/fleet/issues/1", `{"body":%q}`},
		{"POST", "/repos/acme/fleet/issues/1/comments", `{"body":%q}`},
	} {
		rec = send(tc.method, tc.path, fmt.Sprintf(tc.body, over))
		assert.Equal(t, http.StatusUnprocessableEntity, rec.Code, "%s %s", tc.method, tc.path)
		assert.Contains(t, rec.Body.String(), "body is too long (maximum is 65536 characters)")
		rec = send(tc.method, tc.path, fmt.Sprintf(tc.body, fits))
		assert.Less(t, rec.Code, 300, "%s %s: %s", tc.method, tc.path, rec.Body.String())
	}
	rec = send("GET", "/repos/acme/fleet/issues/1/comments", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var comments []struct{ ID int64 }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &comments))
	require.Len(t, comments, 1)
	rec = send("PATCH", fmt.Sprintf("/repos/acme/fleet/issues/comments/%d", comments[0].ID), fmt.Sprintf(`{"body":%q}`, over))
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code)

	// A label of 50 characters is taken, one of 51 is not: created, added
	// to an issue, or given with a new issue.
	fifty, long := strings.Repeat("l", 50), strings.Repeat("l", 51)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/repos/acme/fleet/labels", `{"name":%q}`},
		{"POST", "/repos/acme/fleet/issues/1/labels", `{"labels":[%q]}`},
		{"POST", "/repos/acme/fleet/issues", `{"title":"q","labels":[%q]}`},
	} {
		rec = send(tc.method, tc.path, fmt.Sprintf(tc.body, long))
		assert.Equal(t, http.StatusUnprocessableEntity, rec.Code, "%s %s", tc.method, tc.path)
		rec = send(tc.method, tc.path, fmt.Sprintf(tc.body, fifty))
		assert.Less(t, rec.Code, 300, "%s %s: %s", tc.method, tc.path, rec.Body.String())
		if tc.path == "/repos/acme/fleet/labels" {
			send("DELETE", "/repos/acme/fleet/labels/"+fifty, "")
		}
	}
}

// TestBotClientIssues drives the sandbox's issues with the bot's own client:
// open, find among the pull requests, read, edit, close with a reason.
func TestBotClientIssues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	ctx := t.Context()
	c := e.botClient("acme", "fleet")

	opened, err := c.CreateIssue(ctx, "acme", "fleet", gh.NewIssue{Title: "Campaign x", Body: "<!-- m -->\nfirst", Labels: []string{"fleetbot"}})
	require.NoError(t, err)
	assert.Equal(t, gh.Issue{Number: 1, State: "open", Title: "Campaign x", Body: "<!-- m -->\nfirst", User: "fleetbot[bot]",
		Labels: []string{"fleetbot"}, HTMLURL: opened.HTMLURL}, opened)
	assert.NotEmpty(t, opened.HTMLURL)
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", as: "dave", body: map[string]any{"title": "Question"}})
	list, err := c.Issues(ctx, "acme", "fleet", gh.IssueFilter{State: "all"})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, 1, list[0].Number, "oldest first")
	assert.Equal(t, "dave", list[1].User)

	body := "<!-- m -->\nsecond"
	_, err = c.EditIssue(ctx, "acme", "fleet", 1, gh.IssueEdit{Body: &body})
	require.NoError(t, err)
	closed, reason := "closed", "not_planned"
	_, err = c.EditIssue(ctx, "acme", "fleet", 1, gh.IssueEdit{State: &closed, StateReason: &reason})
	require.NoError(t, err)
	got, err := c.Issue(ctx, "acme", "fleet", 1)
	require.NoError(t, err)
	assert.Equal(t, "second", strings.SplitN(got.Body, "\n", 2)[1])
	assert.Equal(t, "closed", got.State)
	assert.Equal(t, "not_planned", got.StateReason)
	open, err := c.Issues(ctx, "acme", "fleet", gh.IssueFilter{})
	require.NoError(t, err)
	require.Len(t, open, 1, "open issues by default")
	_, err = c.Issue(ctx, "acme", "fleet", 9)
	assert.ErrorIs(t, err, gh.ErrNotFound)
}

// TestRepoComments: the comments of a repository's issues and pull
// requests, filtered by since and ordered as asked; a pull request's
// comment links to the pull request, as GitHub's do.
func TestRepoComments(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func() { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Minute) }
	e := newEnvWith(t, "", func(c *Config) { c.Clock = clock })
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	e.branchFrom("acme/fleet", "one", e.commitFile("acme/fleet", main, "1.txt", "1", "1", ""))
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls", body: map[string]any{"title": "one", "head": "one", "base": "main"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/issues", body: map[string]any{"title": "an issue"}})
	var ids []float64
	for _, on := range []int{1, 2, 1} {
		tick()
		c := e.must(http.StatusCreated, req{method: "POST", path: fmt.Sprintf("/repos/acme/fleet/issues/%d/comments", on), body: map[string]any{"body": "hi"}}).obj(t)
		ids = append(ids, c["id"].(float64))
	}
	idsOf := func(list []map[string]any) []float64 {
		var out []float64
		for _, c := range list {
			out = append(out, c["id"].(float64))
		}
		return out
	}
	all := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/comments"}).list(t)
	assert.Equal(t, ids, idsOf(all))
	assert.Contains(t, all[0]["html_url"], "/acme/fleet/pull/1#issuecomment-")
	assert.Contains(t, all[1]["html_url"], "/acme/fleet/issues/2#issuecomment-")
	since := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/comments?sort=created&direction=asc&since=2026-03-02T10:02:00Z"}).list(t)
	assert.Equal(t, ids[1:], idsOf(since), "updated at or after since")
	desc := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/issues/comments?sort=created&direction=desc&per_page=2"}).list(t)
	assert.Equal(t, []float64{ids[2], ids[1]}, idsOf(desc))
}
