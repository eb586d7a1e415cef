package ghcontract

import (
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// exampleValue returns a fresh copy of #/components/examples/name's value.
func exampleValue(t testing.TB, s *Spec, name string) any {
	t.Helper()
	raw, ok := s.doc.components.Examples[name]
	require.True(t, ok, "example %s", name)
	var ex struct {
		Value any `json:"value"`
	}
	require.NoError(t, json.Unmarshal(raw, &ex))
	return ex.Value
}

// validPull is the description's pull-request example with the property
// its teams lack (see knownExampleMismatches) filled in.
func validPull(t testing.TB, s *Spec) map[string]any {
	t.Helper()
	pr := exampleValue(t, s, "pull-request").(map[string]any)
	for _, team := range pr["requested_teams"].([]any) {
		team.(map[string]any)["type"] = "organization"
	}
	return pr
}

// edit returns a copy of v with the value at the JSON pointer ptr replaced
// by val, or removed when val is deleteIt.
func edit(t testing.TB, v any, ptr string, val any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var cp any
	require.NoError(t, json.Unmarshal(data, &cp))
	if ptr != "" {
		toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
		cur := cp
		for _, tok := range toks[:len(toks)-1] {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				require.NoError(t, err)
				cur = c[i]
			}
		}
		last := toks[len(toks)-1]
		obj, ok := cur.(map[string]any)
		require.True(t, ok, "parent of %s is not an object", ptr)
		if _, del := val.(deleteIt); del {
			delete(obj, last)
		} else {
			obj[last] = val
		}
	}
	out, err := json.Marshal(cp)
	require.NoError(t, err)
	return out
}

type deleteIt struct{}

// problem is what a test expects of a *Mismatch: one problem's part,
// pointer and a piece of its message.
type problem struct{ where, pointer, message string }

func assertMismatch(t *testing.T, err error, want []problem) {
	t.Helper()
	if len(want) == 0 {
		assert.NoError(t, err)
		return
	}
	var mm *Mismatch
	require.True(t, errors.As(err, &mm), "want a *Mismatch, got %v", err)
	require.Len(t, mm.Problems, len(want), "%v", err)
	for i, w := range want {
		p := mm.Problems[i]
		assert.Equal(t, w.where, p.Where, "%v", err)
		assert.Equal(t, w.pointer, p.Pointer, "%v", err)
		assert.Contains(t, p.Message, w.message, "%v", err)
	}
}

// TestCheckRateLimitRefusal: GitHub may refuse any operation for its
// primary rate limit, documented once for the whole API: 403 or 429 with
// X-RateLimit-Remaining 0 and an error body.
func TestCheckRateLimitRefusal(t *testing.T) {
	t.Parallel()
	s := Default(t)
	refusal := []byte(`{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`)
	tests := []struct {
		name      string
		status    int
		remaining string
		body      []byte
		want      []problem
	}{
		{"403 refusal", 403, "0", refusal, nil},
		{"429 refusal", 429, "0", refusal, nil},
		{"refusal with a bad body", 403, "0", []byte(`{"message":5}`),
			[]problem{{"response body", "/message", "got number, want string"}}},
		{"403 with budget left", 403, "12", refusal,
			[]problem{{"status", "", "403 is not documented; GitHub documents 200, 304, 404, 406, 500, 503"}}},
		{"403 without the header", 403, "", refusal,
			[]problem{{"status", "", "403 is not documented; GitHub documents 200, 304, 404, 406, 500, 503"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), "GET", "/repos/o/r/pulls/1", nil)
			h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
			if tt.remaining != "" {
				h.Set("X-RateLimit-Remaining", tt.remaining)
			}
			assertMismatch(t, s.CheckResponse(r, tt.status, h, tt.body), tt.want)
		})
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	s := Default(t)
	pr := validPull(t, s)
	ref := exampleValue(t, s, "git-ref")
	tests := []struct {
		name   string
		method string
		path   string
		status int
		ctype  string
		body   []byte
		want   []problem
	}{
		{"example pull request", "GET", "/repos/o/r/pulls/1", 200, "application/json; charset=utf-8", edit(t, pr, "", nil), nil},
		{"no content type is JSON", "GET", "/repos/o/r/pulls/1", 200, "", edit(t, pr, "", nil), nil},
		{"vendor JSON media type", "GET", "/repos/o/r/pulls/1", 200, "application/vnd.github.full+json", edit(t, pr, "", nil), nil},
		{"required field removed", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/title", deleteIt{}),
			[]problem{{"response body", "/title", "required property is missing"}}},
		{"nested required field removed", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/head/sha", deleteIt{}),
			[]problem{{"response body", "/head/sha", "required property is missing"}}},
		{"wrong type", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/number", "1347"),
			[]problem{{"response body", "/number", "got string, want integer"}}},
		{"null where nullable", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/body", nil), nil},
		{"null reference where nullable", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/milestone", nil), nil},
		{"null where not nullable", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/title", nil),
			[]problem{{"response body", "/title", "got null, want string"}}},
		{"null object where not nullable", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/head", nil),
			[]problem{{"response body", "/head", "got null, want object"}}},
		{"wrong type where nullable reference", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/milestone", "v1"),
			[]problem{{"response body", "/milestone", "got string, want null or object"}}},
		{"value outside enum", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/state", "merged"),
			[]problem{{"response body", "/state", "'open', 'closed'"}}},
		{"date-time is strict", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/created_at", "2011-01-26 19:01:12"),
			[]problem{{"response body", "/created_at", "is not valid date-time"}}},
		{"uri is checked", "GET", "/repos/o/r/pulls/1", 200, "application/json", edit(t, pr, "/html_url", "not a url"),
			[]problem{{"response body", "/html_url", "is not valid uri"}}},
		{"not JSON", "GET", "/repos/o/r/pulls/1", 200, "application/json", []byte("<html>"),
			[]problem{{"response body", "", "not JSON"}}},
		{"empty body where documented", "GET", "/repos/o/r/pulls/1", 200, "application/json", nil,
			[]problem{{"response body", "", "empty; GitHub documents application/json"}}},
		{"undocumented content type", "GET", "/repos/o/r/pulls/1", 200, "text/html", []byte("<html>"),
			[]problem{{"response body", "", "content type text/html is not documented"}}},
		{"undocumented status", "GET", "/repos/o/r/pulls/1", 418, "application/json", []byte(`{}`),
			[]problem{{"status", "", "418 is not documented; GitHub documents 200, 304, 404, 406, 500, 503"}}},
		{"not modified without body", "GET", "/repos/o/r/pulls/1", 304, "", nil, nil},
		{"no content without body", "DELETE", "/repos/o/r/git/refs/heads/feature/x", 204, "", nil, nil},
		{"no content with body", "DELETE", "/repos/o/r/git/refs/heads/feature/x", 204, "application/json", []byte(`{"message":"x"}`),
			[]problem{{"response body", "", "status 204 carries no body, got 15 bytes"}}},
		{"JSON where documented without content", "DELETE", "/repos/o/r/git/refs/heads/feature/x", 422, "application/json", []byte(`{"message":"x"}`),
			[]problem{{"response body", "", "GitHub documents no body for status 422"}}},
		{"documented error body", "GET", "/repos/o/r/pulls/1", 404, "application/json", []byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`), nil},
		{"ref with slashes", "GET", "/repos/o/r/git/ref/heads/feature/x", 200, "application/json", edit(t, ref, "", nil), nil},
		{"ref object missing sha", "GET", "/repos/o/r/git/ref/heads/feature/x", 200, "application/json", edit(t, ref, "/object/sha", deleteIt{}),
			[]problem{{"response body", "/object/sha", "required property is missing"}}},
		{"unknown path", "GET", "/repos/o/r/nonsense", 200, "application/json", []byte(`{}`),
			[]problem{{"route", "", "GitHub documents no operation for this path"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, nil)
			h := http.Header{}
			if tt.ctype != "" {
				h.Set("Content-Type", tt.ctype)
			}
			assertMismatch(t, s.CheckResponse(r, tt.status, h, tt.body), tt.want)
		})
	}
}

func TestCheckRequest(t *testing.T) {
	t.Parallel()
	s := Default(t)
	tree := map[string]any{
		"base_tree": "9fb037999f264ba9a7fc6274d15fa3ae2ab98312",
		"tree": []any{map[string]any{
			"path": "clusters/prod-1.yaml", "mode": "100644", "type": "blob",
			"sha": "44b4fc6d56897b048c772eb4087f854f46256132",
		}},
	}
	tests := []struct {
		name   string
		method string
		target string
		body   []byte
		want   []problem
	}{
		{"create tree", "POST", "/repos/o/r/git/trees", edit(t, tree, "", nil), nil},
		{"create tree deleting a file", "POST", "/repos/o/r/git/trees", edit(t, tree, "/tree/0/sha", nil), nil},
		{"create tree without tree", "POST", "/repos/o/r/git/trees", edit(t, tree, "/tree", deleteIt{}),
			[]problem{{"request body", "/tree", "required property is missing"}}},
		{"create tree with a bad mode", "POST", "/repos/o/r/git/trees", edit(t, tree, "/tree/0/mode", "644"),
			[]problem{{"request body", "/tree/0/mode", "value must be one of"}}},
		{"create tree with a number for a path", "POST", "/repos/o/r/git/trees", edit(t, tree, "/tree/0/path", 7),
			[]problem{{"request body", "/tree/0/path", "got number, want string"}}},
		{"create tree without body", "POST", "/repos/o/r/git/trees", nil,
			[]problem{{"request body", "", "missing; GitHub requires application/json"}}},
		{"create pull", "POST", "/repos/o/r/pulls", []byte(`{"title":"Upgrade wave 1","head":"fleetbot/wave-1","base":"main","draft":false}`), nil},
		{"create pull with null title", "POST", "/repos/o/r/pulls", []byte(`{"title":null,"head":"h","base":"main"}`),
			[]problem{{"request body", "/title", "got null, want string"}}},
		{"body on a read", "GET", "/repos/o/r/pulls/1", []byte(`{"x":1}`),
			[]problem{{"request body", "", "GitHub documents no body for this operation"}}},
		{"query parameters", "GET", "/repos/o/r/pulls?state=open&per_page=100&page=2", nil, nil},
		{"query integer that is not", "GET", "/repos/o/r/pulls?per_page=many", nil,
			[]problem{{"query parameter", "/per_page", "got string, want integer"}}},
		{"query outside enum", "GET", "/repos/o/r/pulls?state=merged", nil,
			[]problem{{"query parameter", "/state", "value must be one of 'open', 'closed', 'all'"}}},
		{"query boolean", "GET", "/repos/o/r/pulls/1/files?per_page=3", nil, nil},
		{"required query missing", "GET", "/search/issues?per_page=1", nil,
			[]problem{{"query parameter", "/q", "required property is missing"}}},
		{"path integer that is not", "GET", "/repos/o/r/pulls/abc", nil,
			[]problem{{"path parameter", "/pull_number", "got string, want integer"}}},
		{"content path with slashes", "GET", "/repos/o/r/contents/tenants/a/blueprint.yaml?ref=main", nil, nil},
		{"wrong method", "PUT", "/repos/o/r/pulls/1", nil,
			[]problem{{"route", "", "GitHub documents GET, PATCH for /repos/{owner}/{repo}/pulls/{pull_number} but not PUT"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), tt.method, tt.target, nil)
			r.Header.Set("Content-Type", "application/json")
			assertMismatch(t, s.CheckRequest(r, tt.body), tt.want)
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	s := Default(t)
	tests := []struct {
		method, path string
		id           string
		params       map[string]string
	}{
		{"GET", "/repos/o/r/pulls/12", "pulls/get", map[string]string{"owner": "o", "repo": "r", "pull_number": "12"}},
		{"get", "/repos/o/r", "repos/get", map[string]string{"owner": "o", "repo": "r"}},
		{"GET", "/repos/o/r/git/ref/heads/fleetbot/wave-1", "git/get-ref", map[string]string{"owner": "o", "repo": "r", "ref": "heads/fleetbot/wave-1"}},
		{"PATCH", "/repos/o/r/git/refs/heads/a%2Fb", "git/update-ref", map[string]string{"owner": "o", "repo": "r", "ref": "heads/a/b"}},
		{"GET", "/repos/o/r/git/matching-refs/heads/fleetbot/", "git/list-matching-refs", nil},
		{"GET", "/repos/o/r/contents/tenants/a/blueprint.yaml", "repos/get-content", map[string]string{"owner": "o", "repo": "r", "path": "tenants/a/blueprint.yaml"}},
		{"GET", "/repos/o/r/compare/main...fleetbot%2Fwave-1", "repos/compare-commits", map[string]string{"owner": "o", "repo": "r", "base": "main", "head": "fleetbot/wave-1"}},
		{"GET", "/repos/o/r/compare/main...fleetbot/wave-1", "repos/compare-commits-with-basehead", map[string]string{"owner": "o", "repo": "r", "basehead": "main...fleetbot/wave-1"}},
		// A multi-segment ref must not swallow a literal suffix.
		{"GET", "/repos/o/r/commits/fleetbot/wave-1/status", "repos/get-combined-status-for-ref", map[string]string{"owner": "o", "repo": "r", "ref": "fleetbot/wave-1"}},
		{"GET", "/repos/o/r/commits/fleetbot/wave-1", "repos/get-commit", map[string]string{"owner": "o", "repo": "r", "ref": "fleetbot/wave-1"}},
		{"GET", "/repos/o/r/branches/main/protection", "repos/get-branch-protection", nil},
		// A literal route wins over a template that could read it as a parameter.
		{"GET", "/user/repos", "repos/list-for-authenticated-user", map[string]string{}},
		{"GET", "/user/42", "users/get-by-id", map[string]string{"account_id": "42"}},
		{"POST", "/app/installations/7/access_tokens", "apps/create-installation-access-token", map[string]string{"installation_id": "7"}},
		{"GET", "/", "meta/root", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			op, params, err := s.Match(tt.method, tt.path)
			require.NoError(t, err)
			assert.Equal(t, tt.id, op.ID)
			if tt.params != nil {
				assert.Equal(t, tt.params, params)
			}
		})
	}
}

func TestMatchPrefix(t *testing.T) {
	t.Parallel()
	s := Default(t, WithPrefix("/api/v3/"))
	op, _, err := s.Match("GET", "/api/v3/repos/o/r/pulls/1")
	require.NoError(t, err)
	assert.Equal(t, "pulls/get", op.ID)
	for _, p := range []string{"/repos/o/r/pulls/1", "/api/v30/repos/o/r"} {
		_, _, err = s.Match("GET", p)
		assertMismatch(t, err, []problem{{"route", "", "path is outside the API prefix /api/v3"}})
	}
	// The shared description keeps no prefix.
	_, _, err = Default(t).Match("GET", "/repos/o/r/pulls/1")
	assert.NoError(t, err)
}

// TestMismatchText pins the reports a person reads when a check fails.
func TestMismatchText(t *testing.T) {
	t.Parallel()
	s := Default(t)
	pr := validPull(t, s)
	get := httptest.NewRequestWithContext(t.Context(), "GET", "/repos/o/r/pulls/1", nil)
	json := http.Header{"Content-Type": {"application/json"}}
	var texts []string
	for _, err := range []error{
		s.CheckResponse(get, 200, json, edit(t, pr, "/title", deleteIt{})),
		s.CheckResponse(get, 200, json, edit(t, edit2(t, pr, "/head/sha", 7), "/state", "merged")),
		s.CheckResponse(get, 418, json, nil),
		s.CheckRequest(httptest.NewRequestWithContext(t.Context(), "POST", "/repos/o/r/git/trees?x=1", nil), []byte(`{"tree":[{"mode":"644"}]}`)),
		s.CheckRequest(httptest.NewRequestWithContext(t.Context(), "GET", "/repos/o/r/pulls?per_page=many&state=merged", nil), nil),
		s.CheckRequest(httptest.NewRequestWithContext(t.Context(), "GET", "/repos/o/r/nonsense", nil), nil),
	} {
		require.Error(t, err)
		texts = append(texts, err.Error())
	}
	golden(t, "mismatch.golden", strings.Join(texts, "\n\n")+"\n")
}

// edit2 is edit for a value already encoded.
func edit2(t *testing.T, v any, ptr string, val any) any {
	t.Helper()
	var out any
	require.NoError(t, json.Unmarshal(edit(t, v, ptr, val), &out))
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}
