package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckRunAnnotations: annotations sent with a check run's output are
// listed under it, each update adding those it sends, and the check run
// counts them; a bad annotation or more than 50 in one request is refused.
func TestCheckRunAnnotations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	head := e.branchSHA("acme/fleet", "main")
	ann := func(line int, level string) map[string]any {
		return map[string]any{"path": "campaigns/eks.yaml", "start_line": line, "end_line": line, "annotation_level": level,
			"title": "spec.gates", "message": "is required"}
	}
	run := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/check-runs", body: map[string]any{
		"name": "fleetbot/campaigns", "head_sha": head, "conclusion": "failure",
		"output": map[string]any{"title": "1 campaign file cannot start", "summary": "campaigns/eks.yaml", "text": "details",
			"annotations": []any{ann(4, "failure")}},
	}}).obj(t)
	id := strconv.Itoa(int(run["id"].(float64)))
	assert.EqualValues(t, 1, run["output"].(map[string]any)["annotations_count"])
	assert.Equal(t, "details", run["output"].(map[string]any)["text"])

	e.must(http.StatusOK, req{method: "PATCH", path: "/repos/acme/fleet/check-runs/" + id, body: map[string]any{
		"output": map[string]any{"title": "2 problems", "summary": "campaigns/eks.yaml", "annotations": []any{ann(9, "warning")}},
	}})
	list := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/check-runs/" + id + "/annotations"}).list(t)
	require.Len(t, list, 2)
	assert.Equal(t, "campaigns/eks.yaml", list[0]["path"])
	assert.EqualValues(t, 4, list[0]["start_line"])
	assert.Equal(t, "failure", list[0]["annotation_level"])
	assert.Equal(t, "is required", list[0]["message"])
	assert.EqualValues(t, 9, list[1]["start_line"])
	got := e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/check-runs/" + id}).obj(t)
	assert.EqualValues(t, 2, got["output"].(map[string]any)["annotations_count"])
	assert.Equal(t, "2 problems", got["output"].(map[string]any)["title"])

	// Bodies GitHub's description refuses go to the handler directly, past
	// the contract check.
	direct := func(method, path string, body any) int {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		r := httptest.NewRequest(method, path, bytes.NewReader(data))
		r.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, r)
		return rec.Code
	}
	many := make([]any, 51)
	for i := range many {
		many[i] = ann(i+1, "notice")
	}
	for name, body := range map[string]map[string]any{
		"a level GitHub does not know": {"title": "t", "summary": "s", "annotations": []any{ann(1, "error")}},
		"no summary":                   {"title": "t"},
		"too many":                     {"title": "t", "summary": "s", "annotations": many},
	} {
		assert.Equal(t, http.StatusUnprocessableEntity, direct("PATCH", "/repos/acme/fleet/check-runs/"+id, map[string]any{"output": body}), name)
	}
	r := e.do(req{method: "PATCH", path: "/repos/acme/fleet/check-runs/" + id, body: map[string]any{
		"output": map[string]any{"title": "t", "summary": "s", "annotations": []any{ann(0, "failure")}}}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "no line: %s", r.raw)
	assert.Len(t, e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/check-runs/" + id + "/annotations"}).list(t), 2,
		"a refused update adds nothing")
	assert.Equal(t, http.StatusNotFound, direct("GET", "/repos/acme/fleet/check-runs/999999/annotations", nil))
}

// TestCommitPullRequests: a commit of an open pull request's branch belongs
// to it; once merged, the merge commit and the commits it brought belong to
// the merged pull request alone; a commit of neither belongs to none.
func TestCommitPullRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	main := e.branchSHA("acme/fleet", "main")
	first := e.commitFile("acme/fleet", main, "campaigns/eks.yaml", "kind: Campaign\n", "Add a campaign", "")
	second := e.commitFile("acme/fleet", first, "campaigns/eks.yaml", "kind: Campaign\nspec: {}\n", "Fix it", "")
	e.branchFrom("acme/fleet", "eks", second)
	other := e.commitFile("acme/fleet", main, "README.md", "other\n", "Elsewhere", "")
	pr := e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/pulls",
		body: map[string]any{"title": "EKS campaign", "head": "eks", "base": "main"}}).obj(t)
	number := pr["number"]

	numbers := func(sha string) []any {
		var out []any
		for _, p := range e.must(http.StatusOK, req{method: "GET", path: "/repos/acme/fleet/commits/" + sha + "/pulls"}).list(t) {
			out = append(out, p["number"])
		}
		return out
	}
	assert.Equal(t, []any{number}, numbers(first), "a commit of the open pull request")
	assert.Equal(t, []any{number}, numbers(second))
	assert.Empty(t, numbers(other), "a commit of no pull request")
	assert.Empty(t, numbers(main), "the base's commit is not the pull request's")

	merged := e.must(http.StatusOK, req{method: "PUT", path: "/repos/acme/fleet/pulls/1/merge", body: map[string]any{"sha": second}}).obj(t)
	assert.Equal(t, []any{number}, numbers(merged["sha"].(string)), "the merge commit")
	assert.Equal(t, []any{number}, numbers(first), "a commit it brought to main")
	assert.Empty(t, numbers(main))
	e.must(http.StatusUnprocessableEntity, req{method: "GET", path: "/repos/acme/fleet/commits/0123456789012345678901234567890123456789/pulls"})
}
