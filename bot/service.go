package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/webhooks"
)

// ServiceConfig is what a Service is built from: the bot's Config without
// its GitHub and mirror, which the Service derives from the App, plus what the
// webhook intake needs.
type ServiceConfig struct {
	Bot Config
	// App is the GitHub App the bot acts as.
	App *gh.App
	// MirrorDir holds the local clones of the fleet's repositories.
	MirrorDir string
	// WebhookSecret verifies X-Hub-Signature-256; empty is refused.
	WebhookSecret []byte
	// Workers bounds the deliveries processed at once.
	Workers int
	// Registry collects every metric and serves /metrics.
	Registry *prometheus.Registry
	// MetricsApart leaves /metrics out of Handler: MetricsHandler serves
	// it, on a listen address of its own.
	MetricsApart bool
	// APIToken is the bearer token of the operations API
	// (/api/v1/campaigns/...); empty turns the API off.
	APIToken []byte
	// Status configures the status page at / and its read-only API.
	Status StatusConfig
}

// Service is the GitHub App as one process runs it: the bot, its webhook
// intake and its HTTP endpoints (/webhook, /healthz, /readyz, /metrics,
// the status page at / with its read-only API, and the operations API
// under /api/v1/).
// `fleetbot serve` and the sandboxed demo both run one.
type Service struct {
	bot    *Bot
	github *AppGitHub
	intake *webhooks.Intake
	mux    http.Handler
	// metrics serves /metrics alone.
	metrics http.Handler

	stopLoop context.CancelFunc
	loop     sync.WaitGroup
}

// NewService wires a Service; it calls nothing outside the process.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.App == nil {
		return nil, errors.New("service: no GitHub App")
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	github := NewAppGitHub(cfg.App)
	bc := cfg.Bot
	bc.GitHub = github
	// One installation covers the repositories of one organisation, and a
	// campaign may span several: each fetch uses the token of the
	// installation that covers the repository fetched.
	mirror := wave.NewMirror(cfg.MirrorDir, func(ctx context.Context, cloneURL string) (string, string, error) {
		r, err := repoOfCloneURL(cloneURL)
		if err != nil {
			return "", "", err
		}
		return github.GitAuth(ctx, r.Owner, r.Name)
	})
	if err := watchRepairs(mirror, cfg.Registry, bc.Logger); err != nil {
		return nil, err
	}
	bc.Mirror = mirror
	bc.Registerer = cfg.Registry
	b, err := New(bc)
	if err != nil {
		return nil, err
	}
	intake, err := webhooks.New(webhooks.Config{
		Secret:     cfg.WebhookSecret,
		Store:      bc.Store,
		Handler:    b,
		Workers:    cfg.Workers,
		Registerer: cfg.Registry,
		Logger:     bc.Logger,
	})
	if err != nil {
		return nil, err
	}
	var onMux prometheus.Gatherer = cfg.Registry
	if cfg.MetricsApart {
		onMux = nil
	}
	mux := webhooks.NewMux(intake, b.Ready, onMux)
	registerOpsAPI(mux, b, cfg.APIToken)
	registerStatus(mux, b, cfg.Status)
	return &Service{
		bot:     b,
		github:  github,
		intake:  intake,
		mux:     mux,
		metrics: webhooks.MetricsMux(cfg.Registry),
	}, nil
}

// repoOfCloneURL reads owner/name out of a clone URL as GitHub gives it
// (https://github.com/OWNER/REPO.git, or under a GitHub Enterprise host).
func repoOfCloneURL(cloneURL string) (repoName, error) {
	u, err := url.Parse(cloneURL)
	if err != nil {
		return repoName{}, fmt.Errorf("clone URL: %w", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return repoName{}, fmt.Errorf("clone URL %s: want .../OWNER/REPO.git", u.Redacted())
	}
	r, err := parseRepo(parts[len(parts)-2] + "/" + strings.TrimSuffix(parts[len(parts)-1], ".git"))
	if err != nil {
		return repoName{}, fmt.Errorf("clone URL %s: %w", u.Redacted(), err)
	}
	return r, nil
}

// Bot returns the service's bot.
func (s *Service) Bot() *Bot { return s.bot }

// Handler serves the webhook, the probes, the metrics (unless
// ServiceConfig.MetricsApart), the status page and the operations API.
func (s *Service) Handler() http.Handler { return s.mux }

// MetricsHandler serves /metrics alone.
func (s *Service) MetricsHandler() http.Handler { return s.metrics }

// Start processes the deliveries stored but not processed, starts the
// intake's workers and the reconcile loop. ctx ending does not stop them:
// Shutdown does, so deliveries in hand are finished.
func (s *Service) Start(ctx context.Context) error {
	if err := s.intake.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start webhook intake: %w", err)
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopLoop = stop
	s.loop.Go(func() { _ = s.bot.Run(loopCtx) })
	return nil
}

// Shutdown stops accepting deliveries, drains the intake until ctx ends
// (what is left stays stored for the next start) and stops the loop.
func (s *Service) Shutdown(ctx context.Context) error {
	err := s.intake.Shutdown(ctx)
	if s.stopLoop != nil {
		s.stopLoop()
	}
	s.loop.Wait()
	if err != nil {
		return fmt.Errorf("drain webhook intake: %w", err)
	}
	return nil
}

// watchRepairs logs and counts (fleetbot_mirror_repairs_total{step}) each
// repository the mirror found damaged and cloned again.
func watchRepairs(m *wave.Mirror, reg prometheus.Registerer, log *slog.Logger) error {
	repairs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleetbot_mirror_repairs_total",
		Help: "Repositories the git mirror found damaged (a ref, an object, a pack or the configuration that does not read, as a process killed during a fetch may leave) and cloned again, by the step that found it: open, fetch or read.",
	}, []string{"step"})
	if err := reg.Register(repairs); err != nil {
		return fmt.Errorf("register mirror metrics: %w", err)
	}
	for _, step := range wave.RepairSteps {
		repairs.WithLabelValues(step)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.OnRepair = func(repo, step string, err error) {
		repairs.WithLabelValues(step).Inc()
		log.Warn("git mirror damaged: removed the repository's copy and cloned it again", "repo", repo, "step", step, "err", err)
	}
	return nil
}
