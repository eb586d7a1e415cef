package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/ghcontract"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

const (
	testToken  = "sandbox-test-token"
	testAppID  = 4242
	testSecret = "webhook-secret"
)

// appKey is the App's private key, made once per test binary.
var appKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// hookEvent is one webhook the test receiver got.
type hookEvent struct {
	Event, Action, Delivery string
	Payload                 map[string]any
}

// receiver is a webhook endpoint that checks every delivery's headers and
// signature and records the events in order.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []hookEvent
	fail   atomic.Bool // answer 500
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("webhook: read body: %v", err)
		return
	}
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get("X-Hub-Signature-256"); !hmac.Equal([]byte(got), []byte(want)) {
		rc.t.Errorf("webhook %s: signature %q, want %q", r.Header.Get("X-GitHub-Event"), got, want)
	}
	for _, h := range []string{"X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID",
		"X-GitHub-Hook-Installation-Target-ID", "X-GitHub-Hook-Installation-Target-Type"} {
		if r.Header.Get(h) == "" {
			rc.t.Errorf("webhook: header %s missing", h)
		}
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "GitHub-Hookshot/") {
		rc.t.Errorf("webhook: User-Agent %q", ua)
	}
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		rc.t.Errorf("webhook: payload is not JSON: %v", err)
	}
	action, _ := payload["action"].(string)
	rc.mu.Lock()
	rc.events = append(rc.events, hookEvent{Event: r.Header.Get("X-GitHub-Event"), Action: action,
		Delivery: r.Header.Get("X-GitHub-Delivery"), Payload: payload})
	rc.mu.Unlock()
	if rc.fail.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// seen returns the events received so far as "event.action" strings.
func (rc *receiver) seen() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]string, 0, len(rc.events))
	for _, e := range rc.events {
		name := e.Event
		if e.Action != "" {
			name += "." + e.Action
		}
		out = append(out, name)
	}
	return out
}

func (rc *receiver) all() []hookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookEvent(nil), rc.events...)
}

// env is a running sandbox with a webhook receiver, every REST exchange
// checked against GitHub's OpenAPI description.
type env struct {
	t     *testing.T
	dir   string
	url   string
	srv   *Server
	hooks *receiver
}

// newEnv starts a sandbox on dir (a new temporary directory when empty).
func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	return newEnvWith(t, dir, func(*Config) {})
}

// newEnvWith is newEnv with edit applied to the sandbox's configuration.
func newEnvWith(t *testing.T, dir string, edit func(*Config)) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	rc := &receiver{t: t}
	hookSrv := httptest.NewServer(rc)
	t.Cleanup(hookSrv.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	cfg := Config{Dir: dir, Token: testToken, WebhookURL: hookSrv.URL, WebhookSecret: []byte(testSecret),
		AppID: testAppID, AppKey: &appKey().PublicKey, BaseURL: base}
	edit(&cfg)
	srv, err := New(cfg)
	require.NoError(t, err)
	spec := ghcontract.Default(t, ghcontract.WithSkip(isGitRequest))
	h := spec.Middleware(srv.Handler(), func(err error) {
		if !generalGitHubBehaviour(err) {
			t.Errorf("contract: %v", err)
		}
	})
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	hs.Start()
	e := &env{t: t, dir: dir, url: base, srv: srv, hooks: rc}
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return e
}

// generalGitHubBehaviour reports a mismatch that only concerns what GitHub
// does on every route but its description lists per route only sometimes: 401
// for bad credentials, 304 for a matching If-None-Match, 422 for a request that
// fails validation, and a JSON error body on 4xx answers the description gives
// no body.
func generalGitHubBehaviour(err error) bool {
	var m *ghcontract.Mismatch
	if !errors.As(err, &m) || m.Status == 0 {
		return false
	}
	for _, p := range m.Problems {
		undocumentedStatus := p.Where == "status" && (m.Status == http.StatusUnauthorized || m.Status == http.StatusNotModified || m.Status == http.StatusUnprocessableEntity)
		errorBody := p.Where == "response body" && p.Pointer == "" && m.Status >= 400 && strings.Contains(p.Message, "documents no body")
		if !undocumentedStatus && !errorBody {
			return false
		}
	}
	return true
}

func isGitRequest(r *http.Request) bool {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	return len(parts) >= 2 && strings.HasSuffix(parts[1], ".git")
}

// req is one REST request of a test.
type req struct {
	method, path string
	body         any
	as           string // X-Sandbox-As
	auth         string // Authorization header; default the static token
	header       map[string]string
}

// resp is a decoded answer.
type resp struct {
	status int
	header http.Header
	raw    []byte
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.raw, &m), "body %s", r.raw)
	return m
}

func (r resp) list(t *testing.T) []map[string]any {
	t.Helper()
	var l []map[string]any
	require.NoError(t, json.Unmarshal(r.raw, &l), "body %s", r.raw)
	return l
}

// do sends rq as curl would.
func (e *env) do(rq req) resp {
	e.t.Helper()
	var body io.Reader
	if rq.body != nil {
		data, err := json.Marshal(rq.body)
		require.NoError(e.t, err)
		body = bytes.NewReader(data)
	}
	r, err := http.NewRequestWithContext(e.t.Context(), rq.method, e.url+rq.path, body)
	require.NoError(e.t, err)
	r.Header.Set("Accept", "application/vnd.github+json")
	switch rq.auth {
	case "":
		r.Header.Set("Authorization", "Bearer "+testToken)
	case "-":
	default:
		r.Header.Set("Authorization", rq.auth)
	}
	if rq.as != "" {
		r.Header.Set(AsHeader, rq.as)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(r)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{status: res.StatusCode, header: res.Header, raw: raw}
}

// must sends rq and requires status want.
func (e *env) must(want int, rq req) resp {
	e.t.Helper()
	r := e.do(rq)
	require.Equal(e.t, want, r.status, "%s %s: %s", rq.method, rq.path, r.raw)
	return r
}

// createRepo makes an organization repository.
func (e *env) createRepo(org, name string, autoInit bool) map[string]any {
	e.t.Helper()
	return e.must(http.StatusCreated, req{method: "POST", path: "/orgs/" + org + "/repos",
		body: map[string]any{"name": name, "auto_init": autoInit}}).obj(e.t)
}

// git runs the git CLI in dir with a clean configuration.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=Tess Ter", "GIT_AUTHOR_EMAIL=tess@example.com",
		"GIT_COMMITTER_NAME=Tess Ter", "GIT_COMMITTER_EMAIL=tess@example.com")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// gitURL is the clone URL of owner/name with password in the basic auth.
func (e *env) gitURL(owner, name, password string) string {
	return strings.Replace(e.url, "http://", "http://x-access-token:"+password+"@", 1) + "/" + owner + "/" + name + ".git"
}

// pushFleet pushes a copy of examples/fleet to owner/name's main branch and
// returns the work tree.
func (e *env) pushFleet(owner, name string) string {
	e.t.Helper()
	work := filepath.Join(e.t.TempDir(), "fleet")
	src := filepath.Join(testenv.ModuleRoot(e.t), "examples", "fleet")
	require.NoError(e.t, os.CopyFS(work, os.DirFS(src)))
	git(e.t, work, "init", "-q", "-b", "main")
	git(e.t, work, "add", "-A")
	git(e.t, work, "commit", "-q", "-m", "Add the example fleet")
	git(e.t, work, "push", "-q", e.gitURL(owner, name, testToken), "main")
	return work
}

// appJWT signs an App JWT with key, issued at iat and expiring at exp.
func appJWT(t *testing.T, key *rsa.PrivateKey, iss string, iat, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": iss, "iat": iat.Unix(), "exp": exp.Unix(),
	}).SignedString(key)
	require.NoError(t, err)
	return tok
}

func validJWT(t *testing.T) string {
	now := time.Now()
	return appJWT(t, appKey(), strconv.Itoa(testAppID), now.Add(-30*time.Second), now.Add(9*time.Minute))
}

// installationToken mints a token for the installation on account.
func (e *env) installationToken(account string) string {
	e.t.Helper()
	bearer := "Bearer " + validJWT(e.t)
	var id float64
	for _, inst := range e.must(http.StatusOK, req{method: "GET", path: "/app/installations", auth: bearer}).list(e.t) {
		if inst["account"].(map[string]any)["login"] == account {
			id = inst["id"].(float64)
		}
	}
	require.NotZero(e.t, id, "no installation on %s", account)
	tok := e.must(http.StatusCreated, req{method: "POST", path: "/app/installations/" + strconv.Itoa(int(id)) + "/access_tokens",
		auth: bearer}).obj(e.t)
	return tok["token"].(string)
}

// waitHooks waits until every webhook has been delivered.
func (e *env) waitHooks() {
	e.t.Helper()
	require.NoError(e.t, e.srv.WaitIdle(e.t.Context()))
}

// commitFile writes path=content on top of branch's tip through the git
// data API and returns the new commit SHA (the branch does not move).
func (e *env) commitFile(repo, parent, path, content, message string, auth string) string {
	e.t.Helper()
	base := "/repos/" + repo
	blob := e.must(http.StatusCreated, req{method: "POST", path: base + "/git/blobs", auth: auth,
		body: map[string]any{"content": content, "encoding": "utf-8"}}).obj(e.t)
	tree := e.must(http.StatusCreated, req{method: "POST", path: base + "/git/trees", auth: auth,
		body: map[string]any{"base_tree": parent, "tree": []map[string]any{{"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]}}}}).obj(e.t)
	commit := e.must(http.StatusCreated, req{method: "POST", path: base + "/git/commits", auth: auth,
		body: map[string]any{"message": message, "tree": tree["sha"], "parents": []string{parent}}}).obj(e.t)
	return commit["sha"].(string)
}

// branchSHA returns the tip of branch.
func (e *env) branchSHA(repo, branch string) string {
	e.t.Helper()
	ref := e.must(http.StatusOK, req{method: "GET", path: "/repos/" + repo + "/git/ref/heads/" + branch}).obj(e.t)
	return ref["object"].(map[string]any)["sha"].(string)
}

// branchFrom creates branch at sha.
func (e *env) branchFrom(repo, branch, sha string) {
	e.t.Helper()
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/" + repo + "/git/refs",
		body: map[string]any{"ref": "refs/heads/" + branch, "sha": sha}})
}

const minute = time.Minute

func timeNow() time.Time { return time.Now() }

func rsaKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// gitFails runs git expecting it may fail, and returns its output and error.
func gitFails(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// httptestRecorder answers one request with srv's handler directly.
func httptestRecorder(srv *Server, method, path, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, r)
	return rec
}
