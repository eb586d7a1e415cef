package gitrepo

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseGitPath checks that no request path names a repository outside
// the root.
func FuzzParseGitPath(f *testing.F) {
	for _, p := range []string{
		"/acme/fleet.git/info/refs",
		"/acme/fleet/git-upload-pack",
		"/../../etc/passwd/git-receive-pack",
		"/acme/..%2f/info/refs",
		"/a/b/c/info/refs",
		"//x.git/git-upload-pack",
	} {
		f.Add(p)
	}
	const root = "/srv/repos"
	f.Fuzz(func(t *testing.T, p string) {
		owner, name, service, ok := parseGitPath(p)
		if !ok {
			return
		}
		if ValidateName(owner, name) != nil {
			t.Fatalf("parseGitPath(%q) accepted invalid names %q/%q", p, owner, name)
		}
		dir := RepoPath(root, owner, name)
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 {
			t.Fatalf("parseGitPath(%q) -> %s, outside %s or not OWNER/NAME.git", p, dir, root)
		}
		if !strings.HasSuffix(p, "/"+service) {
			t.Fatalf("parseGitPath(%q) found service %q not at the end", p, service)
		}
	})
}
