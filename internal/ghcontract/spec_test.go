package ghcontract

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryTemplateRoutesToItself fills every documented template with
// sample values and matches it back: no template may be shadowed by
// another one.
func TestEveryTemplateRoutesToItself(t *testing.T) {
	t.Parallel()
	s := Default(t)
	param := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for _, op := range s.doc.operations {
		path := param.ReplaceAllString(op.Template, "sample9")
		got, _, err := s.Match(op.Method, path)
		if assert.NoError(t, err, op.ID) {
			assert.Equal(t, op.ID, got.ID, "%s %s", op.Method, path)
		}
		n++
	}
	assert.Greater(t, n, 1000, "operations in the description")
}

// TestConcurrentChecks compiles and checks many operations at once; run
// with -race it proves the lazy compilation is safe.
func TestConcurrentChecks(t *testing.T) {
	t.Parallel()
	s, err := Load(descriptionPath(t))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		for _, id := range botOperations {
			wg.Add(1)
			go func() {
				defer wg.Done()
				op, _ := s.Operation(id)
				err := s.doc.checkResponse(op, op.Template, 599, nil, nil)
				assertMismatch(t, err, []problem{{"status", "", "599 is not documented"}})
				for _, ex := range examplesOf(t, s.doc, op) {
					if ex.status != 0 {
						_ = s.doc.checkResponse(op, op.Template, ex.status, nil, ex.body) //nolint:errcheck // known mismatches are TestExamples' business
					}
				}
			}()
		}
	}
	wg.Wait()
}

func descriptionPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(Default(t).doc.path)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "none.json"), "none.json: no such file"},
		{"bad JSON", write("bad.json", "{\n  \"openapi\": \"3.0.3\",\n  \"paths\": {,}\n}"), "bad.json: line 3, column 13"},
		{"wrong type", write("type.json", `{"openapi": 3}`), "type.json: line 1, column 13"},
		{"swagger 2", write("v2.json", `{"openapi": "2.0", "paths": {"/": {}}}`), `v2.json: field openapi is "2.0", want 3.0.x`},
		{"no paths", write("empty.json", `{"openapi": "3.0.3"}`), "empty.json: field paths is empty"},
		{"no operationId", write("noid.json", `{"openapi": "3.0.3", "paths": {"/a": {"get": {"responses": {}}}}}`),
			`noid.json: paths["/a"].get: field operationId is missing`},
		{"duplicate operationId", write("dup.json", `{"openapi": "3.0.3", "paths": {"/a": {"get": {"operationId": "x"}}, "/b": {"get": {"operationId": "x"}}}}`),
			`dup.json: paths["/b"].get: operationId "x" is also used by GET /a`},
		{"broken template", write("tpl.json", `{"openapi": "3.0.3", "paths": {"/a/{b": {"get": {"operationId": "x"}}}}`),
			`tpl.json: paths["/a/{b"]: segment "{b" has an unclosed {`},
		{"bad parameter ref", write("ref.json", `{"openapi": "3.0.3", "paths": {"/a": {"get": {"operationId": "x", "parameters": [{"$ref": "#/components/parameters/nope"}]}}}}`),
			`ref.json: paths["/a"].get.parameters[0]: $ref "#/components/parameters/nope" names nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestBrokenSchema reports a schema the description gets wrong as an
// error that is not a *Mismatch, naming the operation.
func TestBrokenSchema(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "api.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"openapi": "3.0.3", "paths": {"/a": {"get": {"operationId": "things/get",
		"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/missing"}}}}}}}}}`), 0o600))
	s, err := Load(p)
	require.NoError(t, err)
	r, err := newGet(t, "/a")
	require.NoError(t, err)
	err = s.CheckResponse(r, 200, nil, []byte(`{}`))
	require.Error(t, err)
	assert.False(t, IsMismatch(err), "%v", err)
	assert.Contains(t, err.Error(), "things/get response 200")
	assert.Contains(t, err.Error(), "#/components/schemas/missing is not in")
}

// TestAppAvailability reads who may call an operation: x-github's flag for
// installation tokens, and the description for the calls that take the App's
// own JWT (GitHub's flag is false on most of those).
func TestAppAvailability(t *testing.T) {
	t.Parallel()
	s := Default(t)
	cases := []struct {
		id        string
		forApps   bool
		jwtInDesc bool
	}{
		{"pulls/get", true, false},
		{"repos/get-status-checks-protection", true, false},
		{"apps/get-repo-installation", false, true},
		{"apps/create-installation-access-token", true, true},
		{"users/get-authenticated", false, false},
	}
	for _, tc := range cases {
		op, ok := s.Operation(tc.id)
		require.True(t, ok, tc.id)
		assert.Equal(t, tc.forApps, op.ForGitHubApps, "%s: x-github.enabledForGitHubApps", tc.id)
		assert.Equal(t, tc.jwtInDesc, strings.Contains(op.Description, "You must use a [JWT]"), "%s: description", tc.id)
	}
}
