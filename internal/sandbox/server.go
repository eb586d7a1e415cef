package sandbox

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fleetbot/fleetbot/deploy"
	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

// AdminLogin is the user the static token acts as: a site administrator.
const AdminLogin = "admin"

// Config configures a Server.
type Config struct {
	// Dir holds state.json and the bare repositories under repos/.
	Dir string
	// Token is the static token; it acts as AdminLogin, or as the user
	// named by the X-Sandbox-As header.
	Token string
	// WebhookURL receives every event; empty disables delivery (events are
	// still recorded).
	WebhookURL string
	// WebhookSecret signs deliveries (X-Hub-Signature-256).
	WebhookSecret []byte
	// AppID is the App's id; the iss claim of its JWTs must equal it.
	AppID int64
	// AppSlug names the App; its installation tokens act as
	// "<AppSlug>[bot]". Default "fleetbot".
	AppSlug string
	// AppKey verifies the App's RS256 JWTs; nil refuses every JWT.
	AppKey *rsa.PublicKey
	// BaseURL is the address clients use, such as http://127.0.0.1:8080;
	// url fields and clone_url start with it. Default http://127.0.0.1.
	BaseURL string
	// Clock tells the time; default time.Now.
	Clock func() time.Time
	// RateLimit is how many requests an hour each installation may make
	// (X-RateLimit-Limit); past it the sandbox refuses requests as GitHub
	// does. Default DefaultRateLimit.
	RateLimit int
	// UserRateLimit is the same for each user and for the App's JWT.
	// Default DefaultRateLimit.
	UserRateLimit int
	// RateClock is the clock whose hours RateLimit counts; default Clock.
	// A stack whose bot runs on compressed time gives it that clock, while
	// tokens and JWTs keep the wall clock the libraries minting them read.
	RateClock func() time.Time
}

// Server is the sandbox: a GitHub REST API and git smart HTTP over the
// repositories in Config.Dir.
type Server struct {
	cfg    Config
	mu     sync.Mutex // guards st and every multi-step change
	st     *state
	git    http.Handler
	mux    *http.ServeMux
	hooks  *hookQueue
	app    deploy.Manifest // the App's permissions and events, as registered
	limits *limits
	// dirLock is Config.Dir's lock file, held locked until Close.
	dirLock  *os.File
	closeDir sync.Once
}

// New opens (or creates) the sandbox in cfg.Dir.
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("sandbox config: dir is empty")
	}
	if cfg.Token == "" {
		return nil, errors.New("sandbox config: token is empty")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.RateClock == nil {
		cfg.RateClock = cfg.Clock
	}
	if cfg.RateLimit < 0 {
		return nil, fmt.Errorf("sandbox config: rate limit %d is negative", cfg.RateLimit)
	}
	if cfg.UserRateLimit < 0 {
		return nil, fmt.Errorf("sandbox config: user rate limit %d is negative", cfg.UserRateLimit)
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.UserRateLimit == 0 {
		cfg.UserRateLimit = DefaultRateLimit
	}
	if cfg.AppSlug == "" {
		cfg.AppSlug = "fleetbot"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://127.0.0.1"
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "repos"), 0o755); err != nil {
		return nil, fmt.Errorf("create sandbox dir: %w", err)
	}
	dirLock, err := os.OpenFile(filepath.Join(cfg.Dir, dirLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock sandbox dir: %w", err)
	}
	if err := lockDir(cfg.Dir, dirLock); err != nil {
		_ = dirLock.Close()
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			releaseDir(dirLock)
		}
	}()
	st, err := loadState(cfg.Dir)
	if err == nil {
		err = clearStaleLocks(cfg.Dir, st)
	}
	if err != nil {
		return nil, err
	}
	st.account(AdminLogin, cfg.Clock()).SiteAdmin = true
	app, err := deploy.AppManifest()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, st: st, app: app, limits: newLimits(cfg.RateLimit, cfg.UserRateLimit, cfg.RateClock), dirLock: dirLock}
	s.hooks = newHookQueue(cfg)
	s.git = gitrepo.NewHTTP(s.reposRoot(), s.authorizeGit, s.onPush)
	s.routes()
	started = true
	return s, nil
}

// Handler serves the REST API and git smart HTTP.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close waits for the webhook deliveries in flight, stops delivering and
// lets another server take the directory.
func (s *Server) Close() {
	s.hooks.close()
	s.closeDir.Do(func() { releaseDir(s.dirLock) })
}

// releaseDir unlocks and closes Config.Dir's lock file.
func releaseDir(f *os.File) {
	unlockDir(f)
	_ = f.Close()
}

// dirLockFile is the file in Config.Dir a server holds locked while it runs.
const dirLockFile = "sandbox.lock"

// clearStaleLocks removes the lock files that git processes of a sandbox
// stopped while they wrote (killed, or its machine gone) left in the
// repositories of st, saying which: each would refuse every later write of
// its ref. No git process writes them while the directory is locked and no
// server runs on it yet.
func clearStaleLocks(dir string, st *state) error {
	for _, rs := range st.Repos {
		repo, err := gitrepo.Open(gitrepo.RepoPath(filepath.Join(dir, "repos"), rs.Owner, rs.Name))
		if err != nil {
			return err
		}
		removed, err := repo.ClearStaleLocks()
		for _, p := range removed {
			slog.Warn("sandbox: removed a git lock file a stopped sandbox left", "repo", rs.fullName(), "file", p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) reposRoot() string { return filepath.Join(s.cfg.Dir, "repos") }

func (s *Server) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Second) }

// serveHTTP sends git traffic (/OWNER/REPO.git/...) to the git server and
// the rest to the REST routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) >= 2 && strings.HasSuffix(parts[1], ".git") {
		s.git.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// apiError is an error answer in GitHub's shape.
type apiError struct {
	status  int
	message string
	errors  []map[string]any
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.message) }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

var errNotFound = &apiError{status: http.StatusNotFound, message: "Not Found"}

// invalid is a 422 "Validation Failed" naming the resource, field and code.
func invalid(resource, field, code, message string) *apiError {
	e := map[string]any{"resource": resource, "field": field, "code": code}
	if message != "" {
		e["message"] = message
	}
	return &apiError{status: http.StatusUnprocessableEntity, message: "Validation Failed", errors: []map[string]any{e}}
}

// maxBody is the longest body GitHub takes for an issue, a pull request or
// a comment, in characters.
const maxBody = 65536

// tooLong refuses, as GitHub does, a body longer than it takes; nil for one
// that fits.
func tooLong(resource string, body *string) *apiError {
	if body == nil || utf8.RuneCountInString(*body) <= maxBody {
		return nil
	}
	return invalid(resource, "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", maxBody))
}

// maxLabel is the longest label name GitHub takes, in characters.
const maxLabel = 50

// labelTooLong refuses, as GitHub does, a label name longer than it takes,
// whether the label is created or added to an issue; nil for one that fits.
func labelTooLong(names ...string) *apiError {
	for _, n := range names {
		if utf8.RuneCountInString(n) > maxLabel {
			return &apiError{status: http.StatusUnprocessableEntity, message: "Validation Failed", errors: []map[string]any{
				{"value": n, "resource": "Label", "field": "name", "code": "invalid"}}}
		}
	}
	return nil
}

// call is one REST request being answered.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	who  *principal
	ctx  context.Context // carries the repository's write lock on changes
	rs   *repoState      // set on /repos/{owner}/{repo}/... routes
	repo *gitrepo.Repo   // likewise
}

// decode reads the JSON body into v.
func (c *call) decode(v any) error {
	if c.r.Body == nil {
		return nil
	}
	dec := json.NewDecoder(c.r.Body)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "Problems parsing JSON")
	}
	return nil
}

func (c *call) intParam(name string) (int64, error) {
	n, err := strconv.ParseInt(c.r.PathValue(name), 10, 64)
	if err != nil {
		return 0, errNotFound
	}
	return n, nil
}

type handler func(c *call) (int, any, error)

// access says which credentials a route accepts.
type access int

const (
	accessUser access = iota // static token, installation token
	accessApp                // App JWT only
	accessAny                // any valid credential
)

// handle registers pattern on the mux behind authentication. Every call on
// a repository runs under its git write lock, taken before s.mu, the order
// pushes take them in too: a read may write objects (a pull request's
// mergeability), so reads take it as well.
func (s *Server) handle(pattern string, acc access, h handler) {
	repoScoped := strings.Contains(pattern, "/repos/{owner}/{repo}")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		who, err := s.authenticate(r, acc)
		if err != nil {
			s.writeError(w, r, meter{}, err)
			return
		}
		// Asking for the limit is free, as on GitHub.
		budget := meter{key: who.budget(), counted: pattern != rateLimitRoute}
		if budget.counted && !s.limits.admit(&budget) {
			s.refuse(w, r, who, budget.key)
			return
		}
		c := &call{w: w, r: r, who: who, ctx: r.Context()}
		run := func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			status, body, err := h(c)
			if err == nil && (r.Method != http.MethodGet || s.st.dirty) {
				err = s.save()
			}
			if err != nil {
				s.writeError(w, r, budget, err)
				return
			}
			s.writeJSON(w, r, budget, status, body)
		}
		if !repoScoped {
			run()
			return
		}
		s.mu.Lock()
		err = s.bindRepo(c)
		s.mu.Unlock()
		if err != nil {
			s.writeError(w, r, budget, err)
			return
		}
		// Reads take the repository's lock too: answering one may write to
		// the object store (a pull request's mergeability runs a merge),
		// and the lock comes before s.mu, whatever the method.
		err = c.repo.WithLock(r.Context(), func(ctx context.Context) error {
			c.ctx = ctx
			run()
			return nil
		})
		if err != nil {
			s.writeError(w, r, budget, err)
		}
	})
}

// bindRepo finds the repository a route names and checks the caller may see
// it; an installation sees only its account's repositories.
func (s *Server) bindRepo(c *call) error {
	owner, name := c.r.PathValue("owner"), c.r.PathValue("repo")
	rs := s.st.Repos[owner+"/"+name]
	if rs == nil || !c.who.canSee(rs.Owner) {
		return errNotFound
	}
	repo, err := gitrepo.Open(gitrepo.RepoPath(s.reposRoot(), rs.Owner, rs.Name))
	if err != nil {
		return fmt.Errorf("open repository %s: %w", rs.fullName(), err)
	}
	c.rs, c.repo = rs, repo
	return nil
}

// save writes the state after a change; a failure is a 500.
func (s *Server) save() error {
	s.st.dirty = false
	return s.st.save(s.cfg.Dir)
}

// writeError answers err in GitHub's shape; budget names whose rate limit
// the request counted against, if any.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, budget meter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		switch {
		case errors.Is(err, gitrepo.ErrNotFound):
			ae = errNotFound
		default:
			ae = errorf(http.StatusInternalServerError, "%v", err)
		}
	}
	body := map[string]any{"message": ae.message, "documentation_url": "https://docs.github.com/rest"}
	if len(ae.errors) > 0 {
		body["errors"] = ae.errors
	}
	s.writeJSON(w, r, budget, ae.status, body)
}

// writeJSON answers with body as JSON, the rate-limit headers of budget and,
// for GET, an ETag honouring If-None-Match. A 304 answer is given back to
// budget: GitHub does not count it.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, budget meter, status int, body any) {
	if status == http.StatusNoContent || body == nil {
		s.rateHeaders(w, budget.key)
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(data)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("ETag", etag)
		if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
			if budget.counted {
				s.limits.giveBack(budget)
			}
			s.rateHeaders(w, budget.key)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.rateHeaders(w, budget.key)
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func etagMatches(header, etag string) bool {
	for _, m := range strings.Split(header, ",") {
		m = strings.TrimSpace(m)
		if m == "*" || m == etag || "W/"+m == etag || strings.TrimPrefix(m, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// paginate cuts items to the page the query asks for and sets the Link
// header as GitHub does.
func paginate[T any](c *call, base string, items []T) []T {
	q := c.r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((len(items)+per-1)/per, 1)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", base, c.r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		c.w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	return items[start:end]
}
