// Package stack runs the whole GitHub side of fleetbot in one process, with
// no account anywhere: the sandbox (a local GitHub over real repositories)
// holding a fleet repository, and the bot's Service receiving the sandbox's
// signed webhooks. The end-to-end tests and the demo start one.
package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/sandbox"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

// Options says what to run.
type Options struct {
	// Dir holds everything: the sandbox's state, the bot's store and mirror.
	Dir string
	// Fleet is a directory whose files become the fleet repository's first
	// commit (examples/fleet).
	Fleet string
	// Owner and Repo name the fleet repository (default acme/fleet); it
	// also holds the campaigns, under campaigns/.
	Owner, Repo string
	// Repositories are more blueprint repositories the bot plans from,
	// besides the fleet repository. Each is created in its owner's
	// organisation, where the App gets an installation of its own (as on
	// github.com), so a campaign may span organisations.
	Repositories []Repository
	// ReconcileInterval is the bot's loop interval (default 1s).
	ReconcileInterval time.Duration
	// OpenConcurrency is the bot's bot.Config.OpenConcurrency (default
	// the bot's).
	OpenConcurrency int
	// OpenStore opens the bot's store each time the bot starts (default:
	// a bbolt file in Dir); the stack closes it when the bot stops.
	OpenStore func() (store.Store, error)
	// Gates, when set, replaces the gates the campaigns configure.
	Gates bot.Gates
	// GateOptions point the gates the campaigns configure at fakes (the
	// demo's Argo CD and EKS); passed to the bot as is.
	GateOptions bot.GateOptions
	// Now is the bot's clock (default time.Now); the demo gives it a
	// compressed one so bakes and deadlines pass in seconds.
	Now func() time.Time
	// Real says how long the wall clock takes while Now moves by d
	// (default d).
	Real func(d time.Duration) time.Duration
	// Logger receives the bot's and the sandbox's logs (default: discarded).
	Logger *slog.Logger
	// RateLimit is the sandbox's hourly budget per installation (default
	// sandbox.DefaultRateLimit). The sandbox counts it in hours of Now, and
	// the bot's GitHub client reads and waits on Now too.
	RateLimit int
	// External leaves the bot out: the caller runs it (as `fleetbot serve`
	// processes, with ServeConfig) and says where webhooks go with
	// SetBot. Until then the bot's address answers 503.
	External bool
	// WrapSandbox, when set, wraps the sandbox's handler: tests watch or
	// interrupt requests with it.
	WrapSandbox func(http.Handler) http.Handler
}

// Repository is a blueprint repository of the stack.
type Repository struct {
	Owner, Repo string
	// Fleet is a directory whose files become the repository's first
	// commit.
	Fleet string
}

func (r Repository) String() string { return r.Owner + "/" + r.Repo }

// Stack is a running sandbox and bot.
type Stack struct {
	opts    Options
	Sandbox *sandbox.Server
	// GitHubURL is the sandbox's address; Token its static token.
	GitHubURL string
	Token     string
	// BotURL is the bot's address, where `fleetbot serve` would listen: the
	// webhook, the status page, the APIs and /metrics.
	BotURL string

	key     []byte
	secret  []byte
	sbSrv   *http.Server
	botSrv  *http.Server
	handler atomic.Value // handlerBox: the running service's handler

	mu    sync.Mutex
	store store.Store
	svc   *bot.Service
	// metrics count the GitHub calls of each bot started; regs hold each
	// one's /metrics.
	metrics []*gh.Metrics
	regs    []*prometheus.Registry
}

// AppID is the sandboxed App's id.
const AppID = 1

// Start starts the sandbox, creates the fleet repository with the fleet's
// files and the layout's teams, and starts the bot.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Owner == "" {
		opts.Owner, opts.Repo = "acme", "fleet"
	}
	if opts.ReconcileInterval == 0 {
		opts.ReconcileInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Real == nil {
		opts.Real = func(d time.Duration) time.Duration { return d }
	}
	s := &Stack{opts: opts, Token: "sandbox-" + randomHex(12), secret: []byte(randomHex(20))}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("app key: %w", err)
	}
	s.key = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})

	sbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	botLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = sbLn.Close()
		return nil, err
	}
	s.GitHubURL = "http://" + sbLn.Addr().String()
	s.BotURL = "http://" + botLn.Addr().String()
	s.Sandbox, err = sandbox.New(sandbox.Config{
		Dir:           filepath.Join(opts.Dir, "sandbox"),
		Token:         s.Token,
		WebhookURL:    s.BotURL + "/webhook",
		WebhookSecret: s.secret,
		AppID:         AppID,
		AppKey:        &key.PublicKey,
		BaseURL:       s.GitHubURL,
		RateLimit:     opts.RateLimit,
		RateClock:     opts.Now,
	})
	if err != nil {
		_, _ = sbLn.Close(), botLn.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	sbHandler := s.Sandbox.Handler()
	if opts.WrapSandbox != nil {
		sbHandler = opts.WrapSandbox(sbHandler)
	}
	s.sbSrv = &http.Server{Handler: sbHandler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.sbSrv.Serve(sbLn) }()
	s.handler.Store(handlerBox{unavailable("fleetbot is starting")})
	s.botSrv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handler.Load().(handlerBox).h.ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.botSrv.Serve(botLn) }()

	if err := s.seed(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if opts.External {
		return s, nil
	}
	if err := s.StartBot(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// SetBot makes the bot's address (BotURL: webhooks, the status page, the
// APIs) served by h, for a stack started with Options.External; nil
// answers 503, as a stopped server's address would refuse.
func (s *Stack) SetBot(h http.Handler) {
	if h == nil {
		h = unavailable("fleetbot is stopped")
	}
	s.handler.Store(handlerBox{h})
}

// ServeConfig returns, for a stack started with Options.External, the
// configuration of a `fleetbot serve` against the sandbox, with its files
// written to dir: the App's key (key.pem), the webhook secret (secret) and
// fleetbot.yaml, which lists the fleet repositories, the campaigns'
// repository and store (a YAML mapping, such as `{bolt: {path:
// state.db}}`), and ends with extra. serve listens on a free loopback
// port; the caller sends the webhooks of BotURL there. It returns the
// configuration file's path.
func (s *Stack) ServeConfig(dir, storeYAML, extra string) (string, error) {
	var repos []string
	for _, r := range s.repositories() {
		repos = append(repos, r.String())
	}
	cfg := fmt.Sprintf(`appID: %d
privateKeyFile: key.pem
webhookSecretFile: secret
apiBaseURL: %s/
listen: 127.0.0.1:0
store: %s
mirrorDir: mirror
campaigns: {repository: %s, path: campaigns}
repositories: [%s]
`, AppID, s.GitHubURL, storeYAML, repos[0], strings.Join(repos, ", ")) + extra
	files := map[string][]byte{"key.pem": s.key, "secret": s.secret, "fleetbot.yaml": []byte(cfg)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "fleetbot.yaml"), nil
}

// seed creates the fleet repository and the other blueprint repositories,
// the teams their layouts name, and pushes each one's files.
func (s *Stack) seed(ctx context.Context) error {
	teams := map[string]bool{}
	for i, r := range s.repositories() {
		if _, err := s.Do(ctx, http.MethodPost, "/orgs/"+r.Owner+"/repos", "", map[string]any{"name": r.Repo}, nil); err != nil {
			return fmt.Errorf("create repository %s: %w", r, err)
		}
		inv, err := gitops.Load(ctx, []string{r.Fleet})
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		for _, l := range inv.Layouts {
			for _, ow := range append(slices.Collect(maps.Values(l.Owners)), l.Admins) {
				for _, t := range ow.Teams {
					if !teams[t] {
						org, slug, _ := strings.Cut(t, "/")
						if _, err := s.Do(ctx, http.MethodPost, "/orgs/"+org+"/teams", "", map[string]any{"name": slug}, nil); err != nil {
							return fmt.Errorf("create team %s: %w", t, err)
						}
					}
					teams[t] = true
				}
			}
		}
		work := s.workDir(i, r)
		if err := os.CopyFS(work, os.DirFS(r.Fleet)); err != nil {
			return fmt.Errorf("copy fleet of %s: %w", r, err)
		}
		if err := s.git(ctx, work, "init", "-q", "-b", "main"); err != nil {
			return err
		}
		if err := s.commit(ctx, work, r, "fleet: first commit"); err != nil {
			return err
		}
	}
	return nil
}

// repositories lists the fleet repository, then Options.Repositories.
func (s *Stack) repositories() []Repository {
	o := s.opts
	return append([]Repository{{Owner: o.Owner, Repo: o.Repo, Fleet: o.Fleet}}, o.Repositories...)
}

// workDir is the working copy the stack seeded repository i from; the fleet
// repository's is "seed", where PushCampaign commits.
func (s *Stack) workDir(i int, r Repository) string {
	if i == 0 {
		return filepath.Join(s.opts.Dir, "seed")
	}
	return filepath.Join(s.opts.Dir, "seed-"+r.Owner+"-"+r.Repo)
}

// Commit commits everything in work and pushes it to the fleet repository's
// main branch, as a person would.
func (s *Stack) Commit(ctx context.Context, work, message string) error {
	return s.commit(ctx, work, s.repositories()[0], message)
}

// commit commits everything in work and pushes it to r's main branch.
func (s *Stack) commit(ctx context.Context, work string, r Repository, message string) error {
	for _, args := range [][]string{
		{"add", "-A"},
		{"commit", "-q", "-m", message},
		{"push", "-q", s.pushURL(r), "HEAD:refs/heads/main"},
	} {
		if err := s.git(ctx, work, args...); err != nil {
			return err
		}
	}
	return nil
}

// PushCampaign adds a campaign file under campaigns/ in a new commit.
func (s *Stack) PushCampaign(ctx context.Context, name string, src []byte) error {
	work := filepath.Join(s.opts.Dir, "seed")
	if err := s.git(ctx, work, "pull", "-q", "--ff-only", s.pushURL(s.repositories()[0]), "main"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(work, "campaigns"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "campaigns", name+".yaml"), src, 0o644); err != nil {
		return err
	}
	return s.Commit(ctx, work, "campaigns: "+name)
}

// pushURL is r's git URL with the static token, which may push anywhere.
func (s *Stack) pushURL(r Repository) string {
	return "http://person:" + s.Token + "@" + s.GitHubURL[len("http://"):] + "/" + r.String() + ".git"
}

func (s *Stack) git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Fleet Admin", "GIT_AUTHOR_EMAIL=admin@example.com",
		"GIT_COMMITTER_NAME=Fleet Admin", "GIT_COMMITTER_EMAIL=admin@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git %s: %w: %s", args[0], err, bytes.TrimSpace(out))
	}
	return nil
}

// StartBot starts the bot's Service on its store, as `fleetbot serve` does.
func (s *Stack) StartBot(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(s.opts.Dir, "bot"), 0o755); err != nil {
		return err
	}
	var (
		st  store.Store
		err error
	)
	if s.opts.OpenStore != nil {
		st, err = s.opts.OpenStore()
	} else {
		st, err = boltstore.Open(filepath.Join(s.opts.Dir, "bot", "state.db"))
	}
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	metrics := gh.NewMetrics(reg)
	app, err := gh.NewApp(gh.Config{BaseURL: s.GitHubURL, AppID: AppID, PrivateKey: s.key, Metrics: metrics, Logger: s.opts.Logger,
		Clock: clock{now: s.opts.Now, real: s.opts.Real}})
	if err != nil {
		_ = st.Close()
		return err
	}
	var repos []string
	for _, r := range s.repositories() {
		repos = append(repos, r.String())
	}
	svc, err := bot.NewService(bot.ServiceConfig{
		Bot: bot.Config{
			Store: st, Gates: s.opts.Gates, GateOptions: s.opts.GateOptions, Now: s.opts.Now, Real: s.opts.Real,
			CampaignRepo: repos[0], CampaignPath: "campaigns", Repositories: repos,
			ReplicaID: "stack", ReconcileInterval: s.opts.ReconcileInterval, Logger: s.opts.Logger,
			OpenConcurrency: s.opts.OpenConcurrency,
		},
		App:           app,
		MirrorDir:     filepath.Join(s.opts.Dir, "bot", "mirror"),
		WebhookSecret: s.secret,
		Registry:      reg,
	})
	if err != nil {
		_ = st.Close()
		return err
	}
	if err := svc.Start(ctx); err != nil {
		_ = st.Close()
		return err
	}
	s.store, s.svc = st, svc
	s.metrics = append(s.metrics, metrics)
	s.regs = append(s.regs, reg)
	s.handler.Store(handlerBox{svc.Handler()})
	return nil
}

// StopBot stops the bot as SIGTERM stops `fleetbot serve`: deliveries are
// refused (503) until StartBot, those in hand are finished, the store is
// closed.
func (s *Stack) StopBot(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return nil
	}
	s.handler.Store(handlerBox{unavailable("fleetbot is stopped")})
	err := s.svc.Shutdown(ctx)
	err = errors.Join(err, s.store.Close())
	s.svc, s.store = nil, nil
	return err
}

// Bot returns the running bot, nil while it is stopped.
func (s *Stack) Bot() *bot.Bot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return nil
	}
	return s.svc.Bot()
}

// State reads a campaign's state from the running bot; ok is false until
// the campaign started.
func (s *Stack) State(ctx context.Context, campaign string) (rollout.State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return rollout.State{}, false, errors.New("the bot is stopped")
	}
	return s.svc.Bot().State(ctx, campaign)
}

// Calls returns the GitHub calls of every bot started so far, by endpoint,
// method and status.
func (s *Stack) Calls() []gh.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := map[[3]string]int{}
	var keys [][3]string
	for _, m := range s.metrics {
		for _, c := range m.Calls() {
			k := [3]string{c.Endpoint, c.Method, c.Status}
			if _, ok := sum[k]; !ok {
				keys = append(keys, k)
			}
			sum[k] += c.Count
		}
	}
	out := make([]gh.Call, len(keys))
	for i, k := range keys {
		out[i] = gh.Call{Endpoint: k[0], Method: k[1], Status: k[2], Count: sum[k]}
	}
	return out
}

// Paced returns how many GitHub requests the bots started so far held back
// so an installation's rate limit would last until it resets, by identity.
func (s *Stack) Paced() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, m := range s.metrics {
		for id, n := range m.Paced() {
			out[id] += n
		}
	}
	return out
}

// Counter returns the sum, over the bots started so far and all labels, of
// the counter of /metrics named name (such as fleetbot_reconcile_total).
func (s *Stack) Counter(name string) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum float64
	for _, reg := range s.regs {
		families, err := reg.Gather()
		if err != nil {
			return 0, err
		}
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum, nil
}

// clock is the bot's time as the GitHub client reads it: Options.Now, with
// sleeps of d on it taking Options.Real(d) of wall time.
type clock struct {
	now  func() time.Time
	real func(time.Duration) time.Duration
}

func (c clock) Now() time.Time { return c.now() }

func (c clock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(c.real(d))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close stops everything.
func (s *Stack) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.StopBot(ctx)
	_ = s.botSrv.Shutdown(ctx)
	s.Sandbox.Close()
	_ = s.sbSrv.Shutdown(ctx)
}

// Do sends a REST request to the sandbox with the static token, as the
// user as (empty: the admin), and decodes a JSON answer into out. A status
// of 300 or more is an error carrying GitHub's message.
func (s *Stack) Do(ctx context.Context, method, path, as string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.GitHubURL+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	if as != "" {
		req.Header.Set(sandbox.AsHeader, as)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// PullRequest is a pull request of the fleet repository as the REST API
// lists it.
type PullRequest struct {
	Number  int
	HeadRef string
	Merged  bool
	Body    string
}

// PullRequests lists every pull request of the fleet repository, open or
// closed, in the order GitHub lists them.
func (s *Stack) PullRequests(ctx context.Context) ([]PullRequest, error) {
	var out []PullRequest
	for page := 1; ; page++ {
		var got []struct {
			Number   int    `json:"number"`
			MergedAt string `json:"merged_at"`
			Body     string `json:"body"`
			Head     struct {
				Ref string `json:"ref"`
			} `json:"head"`
		}
		// https://docs.github.com/rest/pulls/pulls#list-pull-requests
		path := fmt.Sprintf("/repos/%s/%s/pulls?state=all&per_page=100&page=%d", s.opts.Owner, s.opts.Repo, page)
		if _, err := s.Do(ctx, http.MethodGet, path, "", nil, &got); err != nil {
			return nil, fmt.Errorf("list pull requests: %w", err)
		}
		for _, p := range got {
			out = append(out, PullRequest{Number: p.Number, HeadRef: p.Head.Ref, Merged: p.MergedAt != "", Body: p.Body})
		}
		if len(got) < 100 {
			return out, nil
		}
	}
}

// MergeAsOwner approves pull request number of the fleet repository as
// user who, with body as the review's text, and merges it as who; it
// returns the merge commit.
func (s *Stack) MergeAsOwner(ctx context.Context, number int, who, body string) (string, error) {
	path := fmt.Sprintf("/repos/%s/%s/pulls/%d", s.opts.Owner, s.opts.Repo, number)
	// https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request
	if _, err := s.Do(ctx, http.MethodPost, path+"/reviews", who, map[string]any{"event": "APPROVE", "body": body}, nil); err != nil {
		return "", fmt.Errorf("approve #%d as %s: %w", number, who, err)
	}
	var merged struct {
		SHA string `json:"sha"`
	}
	// https://docs.github.com/rest/pulls/pulls#merge-a-pull-request
	if _, err := s.Do(ctx, http.MethodPut, path+"/merge", who, map[string]any{"merge_method": "merge"}, &merged); err != nil {
		return "", fmt.Errorf("merge #%d as %s: %w", number, who, err)
	}
	return merged.SHA, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handlerBox holds the handler the bot's address serves now; atomic.Value
// needs one concrete type.
type handlerBox struct{ h http.Handler }

// unavailable answers 503, as a stopped server's address would refuse.
func unavailable(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
}
