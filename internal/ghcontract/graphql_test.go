package ghcontract

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const commitDoc = `mutation($ref: CreateRefInput!, $commit: CreateCommitOnBranchInput!) {
  createRef(input: $ref) { ref { name } }
  createCommitOnBranch(input: $commit) { commit { oid } }
}`

func graphqlBody(t *testing.T, query string, vars map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return b
}

var commitVars = map[string]any{
	"ref": map[string]any{"repositoryId": "R_1", "name": "refs/heads/x", "oid": "abc"},
	"commit": map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/fleet", "branchName": "x"},
		"expectedHeadOid": "abc",
		"message":         map[string]any{"headline": "h"},
		"fileChanges":     map[string]any{"additions": []any{map[string]any{"path": "a", "contents": "eA=="}}},
	},
}

func TestGraphQLRequests(t *testing.T) {
	t.Parallel()
	s := Default(t)
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  string // "" for no mismatch
	}{
		{"the bot's commit document", commitDoc, commitVars, ""},
		{"an unknown field", strings.Replace(commitDoc, "{ oid }", "{ sha }", 1), commitVars, `Cannot query field "sha" on type "Commit"`},
		{"a required input field missing", commitDoc, map[string]any{"ref": map[string]any{"name": "refs/heads/x", "oid": "abc"}, "commit": commitVars["commit"]}, "repositoryId"},
		{"not a document", "mutation {", nil, "request body /query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			err := s.CheckRequest(r, graphqlBody(t, tt.query, tt.vars))
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, IsMismatch(err), "%v", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestGraphQLResponses(t *testing.T) {
	t.Parallel()
	g := DefaultGraphQL(t)
	req := graphqlBody(t, commitDoc, commitVars)
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"both written", 200, `{"data":{"createRef":{"ref":{"name":"x"}},"createCommitOnBranch":{"commit":{"oid":"abc"}}}}`, ""},
		{"one failed, with its error", 200, `{"data":{"createRef":null,"createCommitOnBranch":{"commit":{"oid":"abc"}}},"errors":[{"type":"UNPROCESSABLE","path":["createRef"],"message":"exists"}]}`, ""},
		{"a number for a string", 200, `{"data":{"createRef":{"ref":{"name":7}},"createCommitOnBranch":null}}`, "/data/createRef/ref/name: got number, want string"},
		{"null for a non-null field", 200, `{"data":{"createRef":{"ref":{"name":null}},"createCommitOnBranch":null}}`, "null for a non-null String!"},
		{"a field missing", 200, `{"data":{"createRef":{"ref":{}},"createCommitOnBranch":null}}`, "/data/createRef/ref/name: a selected field is missing"},
		{"a field no one asked for", 200, `{"data":{"createRef":{"ref":{"name":"x","id":"y"}},"createCommitOnBranch":null}}`, "a field no one selected"},
		{"an error without a message", 200, `{"data":null,"errors":[{"type":"X"}]}`, "an error has a message"},
		{"neither", 200, `{}`, "neither data nor errors"},
		{"an HTTP error with GitHub's body", 401, `{"message":"Bad credentials"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := g.checkResponse("/graphql", req, tt.status, []byte(tt.body))
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestGraphQLPathBesideThePrefix(t *testing.T) {
	t.Parallel()
	s := Default(t, WithPrefix("/api/v3"))
	assert.True(t, s.isGraphQL("POST", "/api/graphql"), "GitHub Enterprise Server's GraphQL endpoint")
	assert.False(t, s.isGraphQL("POST", "/api/v3/graphql"))
	assert.True(t, Default(t).isGraphQL("POST", "/graphql"))
	assert.False(t, Default(t).isGraphQL("GET", "/graphql"))
}
