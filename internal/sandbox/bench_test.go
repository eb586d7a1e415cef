package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchServer is a sandbox without webhooks or contract checks, so the
// figures are the sandbox's own.
func benchServer(b *testing.B) (*Server, func(method, path string, body any) map[string]any) {
	b.Helper()
	hs := httptest.NewUnstartedServer(nil)
	srv, err := New(Config{Dir: b.TempDir(), Token: testToken, BaseURL: "http://" + hs.Listener.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	b.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	call := func(method, path string, body any) map[string]any {
		data, _ := json.Marshal(body)
		r, err := http.NewRequestWithContext(b.Context(), method, hs.URL+path, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+testToken)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	return srv, call
}

// BenchmarkGetPull measures GET of one pull request, whose mergeability and
// diff statistics are computed from git on every read.
func BenchmarkGetPull(b *testing.B) {
	_, call := benchServer(b)
	call("POST", "/orgs/acme/repos", map[string]any{"name": "fleet", "auto_init": true})
	main := call("GET", "/repos/acme/fleet/git/ref/heads/main", nil)["object"].(map[string]any)["sha"].(string)
	blob := call("POST", "/repos/acme/fleet/git/blobs", map[string]any{"content": "x"})["sha"]
	tree := call("POST", "/repos/acme/fleet/git/trees", map[string]any{"base_tree": main, "tree": []any{map[string]any{"path": "x", "mode": "100644", "type": "blob", "sha": blob}}})["sha"]
	commit := call("POST", "/repos/acme/fleet/git/commits", map[string]any{"message": "x", "tree": tree, "parents": []string{main}})["sha"]
	call("POST", "/repos/acme/fleet/git/refs", map[string]any{"ref": "refs/heads/x", "sha": commit})
	call("POST", "/repos/acme/fleet/pulls", map[string]any{"title": "x", "head": "x", "base": "main"})
	b.ResetTimer()
	for b.Loop() {
		call("GET", "/repos/acme/fleet/pulls/1", nil)
	}
}

// BenchmarkCommitFile measures the bot's write path: blob, tree, commit and
// ref update through the REST API.
func BenchmarkCommitFile(b *testing.B) {
	_, call := benchServer(b)
	call("POST", "/orgs/acme/repos", map[string]any{"name": "fleet", "auto_init": true})
	head := call("GET", "/repos/acme/fleet/git/ref/heads/main", nil)["object"].(map[string]any)["sha"].(string)
	i := 0
	for b.Loop() {
		i++
		blob := call("POST", "/repos/acme/fleet/git/blobs", map[string]any{"content": fmt.Sprint(i)})["sha"]
		tree := call("POST", "/repos/acme/fleet/git/trees", map[string]any{"base_tree": head, "tree": []any{map[string]any{"path": "n", "mode": "100644", "type": "blob", "sha": blob}}})["sha"]
		head = call("POST", "/repos/acme/fleet/git/commits", map[string]any{"message": "n", "tree": tree, "parents": []string{head}})["sha"].(string)
		call("PATCH", "/repos/acme/fleet/git/refs/heads/main", map[string]any{"sha": head})
	}
}
