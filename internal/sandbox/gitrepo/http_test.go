package gitrepo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	testUser  = "ada"
	testToken = "s3cret-token"
)

// push is one onPush call.
type push struct {
	owner, repo, user string
	updates           []RefUpdate
	locked            bool
}

// gitServer serves one repository, acme/fleet, whose main holds one commit.
type gitServer struct {
	root    string
	repo    *Repo
	base    string // the first commit on main
	srv     *httptest.Server
	mu      sync.Mutex
	pushes  []push
	chunked bool // a request came with a body of unknown length
}

func newGitServer(t *testing.T) *gitServer {
	t.Helper()
	gs := &gitServer{root: t.TempDir()}
	repo, err := Init(RepoPath(gs.root, "acme", "fleet"), "main")
	if err != nil {
		t.Fatal(err)
	}
	gs.repo = repo
	gs.base = commitFiles(t, repo, "", 0, "initial", map[string]string{"README.md": "# fleet\n"})
	if err := repo.UpdateRef(t.Context(), "refs/heads/main", gs.base, ""); err != nil {
		t.Fatal(err)
	}
	authorize := func(r *http.Request) (string, error) {
		user, pass, ok := r.BasicAuth()
		if !ok || pass != testToken {
			return "", errors.New("bad credentials")
		}
		return user, nil
	}
	onPush := func(ctx context.Context, owner, name, user string, updates []RefUpdate) {
		gs.mu.Lock()
		defer gs.mu.Unlock()
		gs.pushes = append(gs.pushes, push{owner, name, user, updates, gs.repo.holds(ctx)})
	}
	h := NewHTTP(gs.root, authorize, onPush)
	gs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength < 0 {
			gs.mu.Lock()
			gs.chunked = true
			gs.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(gs.srv.Close)
	return gs
}

// url returns the repository's clone URL with credentials.
func (gs *gitServer) url(user, pass, path string) string {
	u, _ := url.Parse(gs.srv.URL)
	u.User = url.UserPassword(user, pass)
	u.Path = path
	return u.String()
}

// takePushes returns the onPush calls seen since the last call.
func (gs *gitServer) takePushes() []push {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	p := gs.pushes
	gs.pushes = nil
	return p
}

// client runs the git command line as a user of the server would, isolated
// from the machine's configuration.
type client struct {
	t    *testing.T
	home string
}

func newClient(t *testing.T) *client {
	return &client{t: t, home: t.TempDir()}
}

func (c *client) run(dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(c.t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + c.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=/bin/false",
		"GIT_AUTHOR_NAME=Grace", "GIT_AUTHOR_EMAIL=grace@example.com", "GIT_AUTHOR_DATE=@1700000100 +0000",
		"GIT_COMMITTER_NAME=Grace", "GIT_COMMITTER_EMAIL=grace@example.com", "GIT_COMMITTER_DATE=@1700000100 +0000",
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (c *client) must(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// commit writes a file in the work tree and commits it.
func (c *client) commit(dir, file, content string) string {
	c.t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.must(dir, "add", file)
	c.must(dir, "commit", "--quiet", "-m", "change "+file)
	return c.must(dir, "rev-parse", "HEAD")
}

func TestHTTPCloneAndPush(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	gs := newGitServer(t)
	c := newClient(t)
	work := filepath.Join(t.TempDir(), "work")
	c.must("", "clone", "--quiet", gs.url(testUser, testToken, "/acme/fleet.git"), work)
	if got := c.must(work, "rev-parse", "HEAD"); got != gs.base {
		t.Fatalf("cloned HEAD = %s, want %s", got, gs.base)
	}
	if got := c.must(work, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
		t.Errorf("cloned branch = %s, want main", got)
	}

	// A new branch.
	feat := c.commit(work, "tenants/alpha.yaml", "version: \"1.31\"\n")
	c.must(work, "push", "--quiet", "origin", "HEAD:refs/heads/feature")
	wantPushes(t, gs.takePushes(), RefUpdate{Name: "refs/heads/feature", New: feat})
	if got, err := gs.repo.ResolveRef(ctx, "feature"); err != nil || got != feat {
		t.Errorf("feature on the server = %s, %v; want %s", got, err, feat)
	}

	// An updated branch, pushed by a second user.
	c.must(work, "remote", "set-url", "origin", gs.url("grace", testToken, "/acme/fleet.git"))
	c.must(work, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	got := gs.takePushes()
	wantPushes(t, got, RefUpdate{Name: "refs/heads/main", Old: gs.base, New: feat})
	if len(got) == 1 && got[0].user != "grace" {
		t.Errorf("push by %q, want grace", got[0].user)
	}

	// A deleted branch.
	c.must(work, "push", "--quiet", "origin", ":refs/heads/feature")
	wantPushes(t, gs.takePushes(), RefUpdate{Name: "refs/heads/feature", Old: feat})
	if _, err := gs.repo.ResolveRef(ctx, "refs/heads/feature"); !errors.Is(err, ErrNotFound) {
		t.Errorf("feature still resolves after its deletion: %v", err)
	}

	// Several refs in one push, through the URL without ".git".
	next := c.commit(work, "b.txt", "b\n")
	c.must(work, "push", "--quiet", gs.url(testUser, testToken, "/acme/fleet"), "HEAD:refs/heads/main", "HEAD:refs/heads/b2", "HEAD:refs/tags/v1")
	wantPushes(t, gs.takePushes(),
		RefUpdate{Name: "refs/heads/b2", New: next},
		RefUpdate{Name: "refs/heads/main", Old: feat, New: next},
		RefUpdate{Name: "refs/tags/v1", New: next})

	// A rejected push changes nothing and calls nothing.
	stale := filepath.Join(t.TempDir(), "stale")
	c.must("", "clone", "--quiet", "--branch", "main", gs.url(testUser, testToken, "/acme/fleet.git"), stale)
	c.must(stale, "reset", "--quiet", "--hard", gs.base)
	c.commit(stale, "c.txt", "c\n")
	if out, err := c.run(stale, "push", "origin", "HEAD:refs/heads/main"); err == nil || !strings.Contains(out, "rejected") {
		t.Errorf("non-fast-forward push: %v\n%s", err, out)
	}
	wantPushes(t, gs.takePushes())

	// upload-pack after the push serves the new commit.
	fresh := filepath.Join(t.TempDir(), "fresh")
	c.must("", "clone", "--quiet", gs.url(testUser, testToken, "/acme/fleet.git"), fresh)
	if got := c.must(fresh, "rev-parse", "HEAD"); got != next {
		t.Errorf("fresh clone HEAD = %s, want the pushed %s", got, next)
	}
	if got := c.must(fresh, "show", "HEAD:tenants/alpha.yaml"); got != `version: "1.31"` {
		t.Errorf("tenants/alpha.yaml in a fresh clone = %q", got)
	}
	c.must(stale, "fetch", "--quiet", "origin")
	if got := c.must(stale, "rev-parse", "origin/b2"); got != next {
		t.Errorf("fetched b2 = %s, want %s", got, next)
	}
}

func wantPushes(t *testing.T, got []push, want ...RefUpdate) {
	t.Helper()
	if len(want) == 0 {
		if len(got) != 0 {
			t.Errorf("onPush called %d times, want none: %+v", len(got), got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("onPush called %d times, want once: %+v", len(got), got)
	}
	p := got[0]
	if p.owner != "acme" || p.repo != "fleet" {
		t.Errorf("onPush for %s/%s, want acme/fleet", p.owner, p.repo)
	}
	if !p.locked {
		t.Error("onPush ran without the repository's lock in its context")
	}
	if !slices.Equal(p.updates, want) {
		t.Errorf("onPush updates = %+v, want %+v", p.updates, want)
	}
}

func TestHTTPLargePush(t *testing.T) {
	t.Parallel()
	gs := newGitServer(t)
	c := newClient(t)
	work := filepath.Join(t.TempDir(), "work")
	c.must("", "clone", "--quiet", gs.url(testUser, testToken, "/acme/fleet.git"), work)
	// Random bytes do not compress: the pack outgrows http.postBuffer and git
	// sends it chunked, which CGI cannot take without spooling.
	big := make([]byte, 256<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	head := c.commit(work, "big.bin", string(big))
	c.must(work, "-c", "http.postBuffer=65536", "push", "--quiet", "origin", "HEAD:refs/heads/main")
	wantPushes(t, gs.takePushes(), RefUpdate{Name: "refs/heads/main", Old: gs.base, New: head})
	gs.mu.Lock()
	chunked := gs.chunked
	gs.mu.Unlock()
	if !chunked {
		t.Error("the push was not sent chunked; the test no longer covers spooling")
	}
	content, _, _, err := gs.repo.FileAt(t.Context(), "main", "big.bin")
	if err != nil || string(content) != string(big) {
		t.Errorf("big.bin on the server: %d bytes, %v; want %d bytes", len(content), err, len(big))
	}
}

func TestHTTPRefusals(t *testing.T) {
	t.Parallel()
	gs := newGitServer(t)
	c := newClient(t)

	t.Run("push with a bad password", func(t *testing.T) {
		work := filepath.Join(t.TempDir(), "work")
		c.must("", "clone", "--quiet", gs.url(testUser, testToken, "/acme/fleet.git"), work)
		c.commit(work, "x.txt", "x\n")
		out, err := c.run(work, "push", gs.url(testUser, "wrong", "/acme/fleet.git"), "HEAD:refs/heads/main")
		if err == nil || !strings.Contains(out, "Authentication failed") {
			t.Errorf("push with a bad password: %v\n%s", err, out)
		}
		wantPushes(t, gs.takePushes())
		if got, _ := gs.repo.ResolveRef(t.Context(), "main"); got != gs.base {
			t.Errorf("main moved to %s", got)
		}
	})
	t.Run("clone of an unknown repository", func(t *testing.T) {
		out, err := c.run("", "clone", gs.url(testUser, testToken, "/acme/nope.git"), filepath.Join(t.TempDir(), "x"))
		if err == nil || !strings.Contains(out, "not found") {
			t.Errorf("clone of a missing repository: %v\n%s", err, out)
		}
	})

	tests := []struct {
		name, method, path string
		auth               bool
		status             int
	}{
		{"no credentials", "GET", "/acme/fleet.git/info/refs?service=git-upload-pack", false, http.StatusUnauthorized},
		{"no credentials, receive-pack", "POST", "/acme/fleet.git/git-receive-pack", false, http.StatusUnauthorized},
		{"no credentials, unknown repository", "GET", "/acme/nope.git/info/refs?service=git-upload-pack", false, http.StatusUnauthorized},
		{"advertisement", "GET", "/acme/fleet.git/info/refs?service=git-upload-pack", true, http.StatusOK},
		{"push advertisement", "GET", "/acme/fleet.git/info/refs?service=git-receive-pack", true, http.StatusOK},
		{"advertisement without .git", "GET", "/acme/fleet/info/refs?service=git-upload-pack", true, http.StatusOK},
		{"unknown repository", "GET", "/acme/nope.git/info/refs?service=git-upload-pack", true, http.StatusNotFound},
		{"unknown owner", "POST", "/nobody/fleet.git/git-upload-pack", true, http.StatusNotFound},
		{"dumb protocol", "GET", "/acme/fleet.git/info/refs", true, http.StatusForbidden},
		{"unknown service", "GET", "/acme/fleet.git/info/refs?service=git-archive", true, http.StatusForbidden},
		{"object file", "GET", "/acme/fleet.git/HEAD", true, http.StatusNotFound},
		{"escape attempt", "GET", "/acme/..%2F..%2Fetc/info/refs?service=git-upload-pack", true, http.StatusNotFound},
		{"deep path", "GET", "/a/b/c.git/info/refs?service=git-upload-pack", true, http.StatusNotFound},
		{"GET of a POST endpoint", "GET", "/acme/fleet.git/git-upload-pack", true, http.StatusMethodNotAllowed},
		{"POST to info/refs", "POST", "/acme/fleet.git/info/refs?service=git-upload-pack", true, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, gs.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth {
				req.SetBasicAuth(testUser, testToken)
			}
			resp, err := gs.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if wantChallenge := tt.status == http.StatusUnauthorized; (challenge == `Basic realm="fleetbot sandbox"`) != wantChallenge {
				t.Errorf("WWW-Authenticate = %q with status %d", challenge, resp.StatusCode)
			}
			if tt.status == http.StatusOK {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-git-") {
					t.Errorf("Content-Type = %q, want git's advertisement", ct)
				}
			}
		})
	}
}

func TestParseGitPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"/acme/fleet.git/info/refs", "acme fleet info/refs"},
		{"/acme/fleet/git-upload-pack", "acme fleet git-upload-pack"},
		{"/acme/fleet.git/git-receive-pack", "acme fleet git-receive-pack"},
		{"/acme/fleet.git.git/info/refs", ""},
		{"/acme/fleet.git/objects/info/packs", ""},
		{"/acme/info/refs", ""},
		{"/../fleet.git/info/refs", ""},
		{"//fleet.git/info/refs", ""},
		{"/acme/fleet.git/info/refs/", ""},
	}
	for _, tt := range tests {
		owner, name, service, ok := parseGitPath(tt.path)
		got := ""
		if ok {
			got = fmt.Sprint(owner, " ", name, " ", service)
		}
		if got != tt.want {
			t.Errorf("parseGitPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
