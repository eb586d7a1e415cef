package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// maxRequestBody bounds a request body of unknown length, which is spooled to
// disk before it reaches git (CGI cannot take chunked bodies).
const maxRequestBody = 1 << 30

// basicRealm is the challenge sent with 401 replies.
const basicRealm = `Basic realm="fleetbot sandbox"`

// gitServices are the last parts of the URLs smart HTTP uses.
var gitServices = []string{"info/refs", "git-upload-pack", "git-receive-pack"}

type httpHandler struct {
	root      string
	authorize func(*http.Request) (string, error)
	onPush    func(ctx context.Context, owner, repo, user string, updates []RefUpdate)
}

// NewHTTP serves git's smart HTTP protocol for the repositories under root
// (root/OWNER/REPO.git) at /OWNER/REPO.git/info/refs, /git-upload-pack and
// /git-receive-pack (the ".git" may be left out), through `git
// http-backend`. Dumb HTTP and every other path are refused.
//
// authorize sees every request first and returns the acting user; an error
// is a 401 with a Basic challenge. A nil authorize lets everyone in as "".
// An unknown repository is a 404.
//
// A push runs holding the repository's write lock (see Repo.WithLock), with
// the refs read before and after it. When refs changed, onPush (if not nil)
// is called with them, sorted by name, still holding the lock: its ctx
// carries the lock, so writes it makes to the repository with that ctx do not
// wait, but it must not wait on other requests that write to the same
// repository. Its ctx is not cancelled when the client goes away.
func NewHTTP(root string, authorize func(*http.Request) (user string, err error), onPush func(ctx context.Context, owner, repo, user string, updates []RefUpdate)) http.Handler {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &httpHandler{root: root, authorize: authorize, onPush: onPush}
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	owner, name, service, ok := parseGitPath(req.URL.Path)
	if !ok {
		http.NotFound(w, req)
		return
	}
	if service == "info/refs" {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		if s := req.URL.Query().Get("service"); s != "git-upload-pack" && s != "git-receive-pack" {
			http.Error(w, "only git's smart HTTP protocol is served", http.StatusForbidden)
			return
		}
	} else if req.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	var user string
	if h.authorize != nil {
		var err error
		if user, err = h.authorize(req); err != nil {
			w.Header().Set("WWW-Authenticate", basicRealm)
			http.Error(w, "authentication required: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	repo, err := Open(RepoPath(h.root, owner, name))
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
			http.Error(w, fmt.Sprintf("repository %s/%s not found", owner, name), http.StatusNotFound)
			return
		}
		slog.Error("git over http: open repository", "repo", owner+"/"+name, "err", err)
		http.Error(w, "repository cannot be opened", http.StatusInternalServerError)
		return
	}
	cgiReq, cleanup, err := cgiRequest(req, owner, name, service)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer cleanup()
	if service != "git-receive-pack" {
		h.backend(w, cgiReq, owner+"/"+name, user)
		return
	}
	err = repo.WithLock(req.Context(), func(ctx context.Context) error {
		before, err := repo.Snapshot(ctx)
		if err != nil {
			http.Error(w, "repository cannot be read", http.StatusInternalServerError)
			return err
		}
		h.backend(w, cgiReq, owner+"/"+name, user)
		// The push has happened whatever the client does now.
		ctx = context.WithoutCancel(ctx)
		after, err := repo.Snapshot(ctx)
		if err != nil {
			return err
		}
		if updates := diffRefs(before, after); len(updates) > 0 && h.onPush != nil {
			h.onPush(ctx, owner, name, user, updates)
		}
		return nil
	})
	if err != nil {
		slog.Error("git over http: push", "repo", owner+"/"+name, "user", user, "err", err)
	}
}

// backend runs `git http-backend` for one request.
func (h *httpHandler) backend(w http.ResponseWriter, req *http.Request, repo, user string) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		slog.Error("git over http: find git", "err", err)
		http.Error(w, "git is not installed", http.StatusInternalServerError)
		return
	}
	env := append(gitEnv(),
		"GIT_PROJECT_ROOT="+h.root,
		"GIT_HTTP_EXPORT_ALL=1",
		// Who may push is authorize's decision, not the repository's config.
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=http.receivepack",
		"GIT_CONFIG_VALUE_0=true",
	)
	if user != "" {
		env = append(env, "REMOTE_USER="+user)
	}
	var stderr bytes.Buffer
	(&cgi.Handler{
		Path:   gitPath,
		Args:   []string{"http-backend"},
		Dir:    os.TempDir(),
		Env:    env,
		Stderr: &stderr,
		Logger: slog.NewLogLogger(slog.Default().Handler(), slog.LevelError),
	}).ServeHTTP(w, req)
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		slog.Warn("git http-backend", "repo", repo, "user", user, "path", req.URL.Path, "stderr", msg)
	}
}

// parseGitPath splits "/OWNER/REPO[.git]/SERVICE" and checks the names.
func parseGitPath(p string) (owner, name, service string, ok bool) {
	p = strings.TrimPrefix(p, "/")
	for _, s := range gitServices {
		if rest, found := strings.CutSuffix(p, "/"+s); found {
			owner, name, found = strings.Cut(rest, "/")
			name = strings.TrimSuffix(name, ".git")
			if !found || ValidateName(owner, name) != nil {
				return "", "", "", false
			}
			return owner, name, s, true
		}
	}
	return "", "", "", false
}

// cgiRequest copies req for git http-backend: the canonical path, no
// credentials, and a body of known length.
func cgiRequest(req *http.Request, owner, name, service string) (*http.Request, func(), error) {
	out := req.Clone(req.Context())
	out.URL.Path = "/" + owner + "/" + name + ".git/" + service
	out.URL.RawPath = ""
	out.Header.Del("Authorization")
	cleanup := func() {}
	if req.ContentLength >= 0 && len(req.TransferEncoding) == 0 {
		return out, cleanup, nil
	}
	f, err := os.CreateTemp("", "gitrepo-body-")
	if err != nil {
		return nil, nil, fmt.Errorf("spool request body: %w", err)
	}
	cleanup = func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	n, err := copyLimited(f, req.Body, maxRequestBody)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("spool request body: %w", err)
	}
	out.Body = f
	out.ContentLength = n
	out.TransferEncoding = nil
	return out, cleanup, nil
}

// diffRefs lists the refs that differ between two snapshots, by name.
func diffRefs(before, after map[string]string) []RefUpdate {
	var updates []RefUpdate
	for name, old := range before {
		if cur := after[name]; cur != old {
			updates = append(updates, RefUpdate{Name: name, Old: old, New: cur})
		}
	}
	for name, cur := range after {
		if _, ok := before[name]; !ok {
			updates = append(updates, RefUpdate{Name: name, New: cur})
		}
	}
	sort.Slice(updates, func(i, j int) bool { return updates[i].Name < updates[j].Name })
	return updates
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// copyLimited is io.Copy that stops with an error past max bytes.
func copyLimited(dst io.Writer, src io.Reader, max int64) (int64, error) {
	n, err := io.Copy(dst, io.LimitReader(src, max+1))
	if err != nil {
		return n, err
	}
	if n > max {
		return n, fmt.Errorf("body larger than %d bytes", max)
	}
	return n, nil
}
