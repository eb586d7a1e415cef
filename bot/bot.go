package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/webhooks"
)

// Defaults New fills in for what a Config leaves out.
const (
	DefaultReconcileInterval = time.Minute
	DefaultLeaseTTL          = 2 * time.Minute
	// DefaultOpenConcurrency keeps a wave's pull requests few at once on
	// GitHub, which asks for little concurrency from one App: its
	// secondary rate limits count requests in flight.
	DefaultOpenConcurrency = 4
)

// GitHub gives the bot the client of the installation that covers a
// repository. AppGitHub implements it over a GitHub App; tests implement it
// with fakes.
type GitHub interface {
	// API returns the client of the installation that covers owner/repo.
	API(ctx context.Context, owner, repo string) (Client, error)
}

// Mirror keeps local clones of the repositories the bot plans from. The
// mirror of package wave implements it.
type Mirror interface {
	// Fetch brings the mirror of cloneURL up to date.
	Fetch(ctx context.Context, cloneURL string) error
	// Checkout returns a directory holding branch at exactly wantSHA,
	// fetching first when the mirror does not have it.
	Checkout(ctx context.Context, cloneURL, branch, wantSHA string) (dir string, err error)
}

// EnsureFunc puts one tenant's pull request of a wave on GitHub and is safe
// to call again: wave.Ensure.
type EnsureFunc func(ctx context.Context, api wave.EnsureClient, req wave.Request) (wave.Result, error)

// Gates runs the checks of merged clusters: *gate.Runner. The bot builds one
// target per cluster (its merge commit, its tenant's account and region,
// what it should now run) and feeds each result to the campaign; a waiting
// result is asked again on the next reconcile.
type Gates interface {
	Run(ctx context.Context, targets []gate.Target) []gate.Result
}

// Config is everything a Bot is built from: already-built parts, so a test or
// a demo can start one in-process with fakes or a sandbox.
type Config struct {
	Store  store.Store
	GitHub GitHub
	Mirror Mirror
	// Ensure opens wave pull requests; default wave.Ensure.
	Ensure EnsureFunc
	// OpenConcurrency is how many pull requests of a wave are put on
	// GitHub at once; default DefaultOpenConcurrency.
	OpenConcurrency int
	// Gates runs gates; nil leaves merged clusters waiting for results
	// (they time out at their progress deadline).
	Gates Gates
	// GateOptions tune how the gates campaigns configure reach their
	// providers; the zero value uses the real environment.
	GateOptions GateOptions

	// CampaignRepo ("owner/name") and CampaignPath hold the campaign files:
	// every CampaignPath/*.yaml on the default branch.
	CampaignRepo string
	CampaignPath string
	// Repositories ("owner/name") hold the fleet's blueprints and label
	// files.
	Repositories []string

	// ReplicaID names this replica in leases; default hostname-pid.
	ReplicaID         string
	ReconcileInterval time.Duration
	LeaseTTL          time.Duration
	// Labels are put on every wave pull request; nil means wave's default
	// (fleetbot, campaign:<name>, wave:<n>).
	Labels []string
	// Retention says how long the store keeps what the bot no longer
	// needs; the zero value keeps everything.
	Retention Retention

	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	// Real says how long the wall clock takes while Now moves by d (Now
	// may run faster, as the demo's does); default d.
	Now  func() time.Time
	Real func(d time.Duration) time.Duration
}

// Bot turns webhook events and reconcile passes into campaign steps. It
// implements webhooks.Handler.
type Bot struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	repos   []repoName
	camps   repoName

	// readyMu guards the outcome of the last heartbeat (Ready).
	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error

	// ownMu guards owned: the ownership leases of the campaigns this
	// replica owns (ownership.go).
	ownMu sync.Mutex
	owned map[string]store.Lease

	// approvalsMu serialises the approvals this replica records: several
	// `/fleet approve` carried out at once would otherwise race on the one
	// record of a pull request's approvals (recordApproval).
	approvalsMu sync.Mutex

	mu      sync.Mutex
	warned  map[string]bool // messages logged once per process
	scanned string          // campaign repository head last scanned
	swept   map[string]bool // final campaigns whose pull requests were closed
	pruned  time.Time       // when the last retention pass ran
	// commentsScanned is when this replica last read the repositories'
	// comments for commands no webhook brought (catchup.go).
	commentsScanned time.Time
	// waitsEnd holds, by campaign, when what it waits for ends by the
	// clock (a bake, a window, a gate's deadline); zero when nothing
	// does.
	waitsEnd map[string]time.Time
	// inventories holds the inventories of checkouts (actions.go).
	inventories map[string]*gitops.Inventory
	// records and states hold the last decoded record and state of each
	// campaign, by store key (record.go).
	records map[string]decoded[record]
	states  map[string]decoded[rollout.State]
	// prsListed holds, by campaign and repository, the time (GitHub's)
	// from which the next pass lists pull requests (reconcile.go).
	prsListed map[string]time.Time
	// troubles holds, by campaign, the actions of this replica's steps
	// that keep failing: the dashboard issue, which the replica holding
	// the campaign writes, shows them (step.go).
	troubles map[string]rollout.Troubles
	// troublesKept holds, by campaign, the failing actions this replica
	// last wrote to the store, and their version there (step.go).
	troublesKept map[string]keptTroubles
	// sooner is signalled when a campaign's wait gets an end earlier than
	// the one it had, or a pass is due now (passDue).
	sooner chan struct{}
	// passDue asks the reconcile loop for a pass now: a campaign started.
	passDue bool
	// loggedErrs are the errors last logged at their full level, by what
	// failed (repeated).
	loggedErrs map[string]loggedErr
	// noIssues holds the repositories found with their issues turned
	// off: no dashboard issue is asked for there again (dashboard.go).
	noIssues map[string]bool
	// settled holds the ended campaigns whose dashboard issue is closed,
	// or that have none (dashboard.go).
	settled map[string]bool
	gates   map[gatesKey]Gates // each campaign's gates and pre-flight check, built from its spec
	// layouts holds the layout of a repository at a commit, read once:
	// who owns what is asked on every reconcile pass (roles.go).
	layouts map[string]*gitops.Layout
	// leasing holds a *sync.Mutex per campaign: one holder of its lease
	// in this replica at a time, a step or a start (withLease).
	leasing sync.Map
	// reporting lets one report on campaign files run at a time
	// (campaignfile.go).
	reporting sync.Mutex
}

var _ webhooks.Handler = (*Bot)(nil)

// repoName is a repository as "owner/name" split in two.
type repoName struct{ Owner, Name string }

func (r repoName) String() string { return r.Owner + "/" + r.Name }

func parseRepo(s string) (repoName, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return repoName{}, fmt.Errorf("repository %q: want owner/name", s)
	}
	return repoName{owner, name}, nil
}

// New checks cfg and returns a Bot. It calls nothing outside the process.
func New(cfg Config) (*Bot, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("new bot: no store")
	case cfg.GitHub == nil:
		return nil, errors.New("new bot: no GitHub client")
	case cfg.Mirror == nil:
		return nil, errors.New("new bot: no mirror")
	case cfg.CampaignPath == "" || strings.HasPrefix(cfg.CampaignPath, "/"):
		return nil, fmt.Errorf("new bot: campaign path %q: want a repository-relative directory", cfg.CampaignPath)
	case len(cfg.Repositories) == 0:
		return nil, errors.New("new bot: no blueprint repositories")
	}
	b := &Bot{cfg: cfg, owned: map[string]store.Lease{}, warned: map[string]bool{}, swept: map[string]bool{}, noIssues: map[string]bool{}, settled: map[string]bool{}, waitsEnd: map[string]time.Time{}, sooner: make(chan struct{}, 1), prsListed: map[string]time.Time{}, troubles: map[string]rollout.Troubles{}, troublesKept: map[string]keptTroubles{}, inventories: map[string]*gitops.Inventory{}, records: map[string]decoded[record]{}, states: map[string]decoded[rollout.State]{}}
	var err error
	if b.camps, err = parseRepo(cfg.CampaignRepo); err != nil {
		return nil, fmt.Errorf("new bot: campaigns: %w", err)
	}
	for _, r := range cfg.Repositories {
		rn, err := parseRepo(r)
		if err != nil {
			return nil, fmt.Errorf("new bot: %w", err)
		}
		b.repos = append(b.repos, rn)
	}
	b.cfg.CampaignPath = strings.Trim(cfg.CampaignPath, "/")
	if b.cfg.ReplicaID == "" {
		host, _ := os.Hostname()
		b.cfg.ReplicaID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if b.cfg.Ensure == nil {
		b.cfg.Ensure = wave.Ensure
	}
	if b.cfg.OpenConcurrency <= 0 {
		b.cfg.OpenConcurrency = DefaultOpenConcurrency
	}
	if b.cfg.ReconcileInterval <= 0 {
		b.cfg.ReconcileInterval = DefaultReconcileInterval
	}
	if b.cfg.LeaseTTL <= 0 {
		b.cfg.LeaseTTL = DefaultLeaseTTL
	}
	b.log = cfg.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.now = cfg.Now
	if b.now == nil {
		b.now = time.Now
	}
	if b.cfg.Real == nil {
		b.cfg.Real = func(d time.Duration) time.Duration { return d }
	}
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if b.metrics, err = newMetrics(reg, b.now); err != nil {
		return nil, fmt.Errorf("new bot: %w", err)
	}
	return b, nil
}

// Run reconciles every ReconcileInterval until ctx ends, starting at once.
// A failed pass is logged; the next one tries again. The passes only back
// webhooks up: their GitHub requests are background work, held back first
// when an installation's rate limit runs low (gh.Background).
//
// Between passes it renews the campaigns this replica owns every third of
// the lease's duration, and lets go of them all when ctx ends.
func (b *Bot) Run(ctx context.Context) error {
	ctx = gh.Background(ctx)
	owning := make(chan struct{})
	go func() {
		defer close(owning)
		b.keepOwning(ctx)
	}()
	defer func() {
		<-owning
		b.disown(context.WithoutCancel(ctx))
	}()
	for {
		if err := b.Reconcile(ctx); ctx.Err() == nil {
			b.logPassError(err)
		}
		if !b.waitForPass(ctx) {
			return nil
		}
	}
}

// sameErrorQuiet is how long an error that repeats is logged at debug
// level once logged at its own: a lasting trouble (a revert that cannot be
// made, a permission missing) is said again every sameErrorQuiet, not on
// every pass or webhook.
const sameErrorQuiet = time.Hour

// loggedErr is an error logged at its full level, and when.
type loggedErr struct {
	msg string
	at  time.Time
}

// repeated reports whether err says what the error last logged under key
// said, less than sameErrorQuiet ago; otherwise err is remembered as the
// one logged. A nil err forgets key's: the next error is news.
func (b *Bot) repeated(key string, err error) bool {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.loggedErrs, key)
		return false
	}
	last, ok := b.loggedErrs[key]
	if ok && last.msg == err.Error() && now.Sub(last.at) < sameErrorQuiet {
		return true
	}
	if b.loggedErrs == nil {
		b.loggedErrs = map[string]loggedErr{}
	}
	b.loggedErrs[key] = loggedErr{err.Error(), now}
	return false
}

// logPassError logs a reconcile pass's error at error level, or at debug
// level when it repeats (repeated). A pass without an error (nil) ends the
// quiet.
func (b *Bot) logPassError(err error) {
	switch {
	case b.repeated("reconcile", err):
		b.log.Debug("reconcile: the same error as the passes before", "err", err)
	case err != nil:
		b.log.Error("reconcile", "err", err)
	}
}

// keepOwning claims (renews and takes) the campaigns' ownership every
// third of the lease's duration until ctx ends. A claim that panics is
// logged and counted as a failed one is, and tried again at the next.
func (b *Bot) keepOwning(ctx context.Context) {
	t := time.NewTicker(b.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := b.recovered(panicLease, "campaign ownership", func() error {
			names, err := b.campaignNames(ctx)
			if err != nil {
				return err
			}
			return b.claim(ctx, names)
		})
		if err != nil && ctx.Err() == nil {
			b.log.Warn("campaign ownership", "err", err)
		}
	}
}

// waitForPass waits until the next pass is due, and reports false when ctx
// ended first. A step between passes that makes a wait end sooner (a
// webhook starts a bake) brings the pass forward.
func (b *Bot) waitForPass(ctx context.Context) bool {
	t := time.NewTimer(b.untilNextPass())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-b.sooner:
			t.Reset(b.untilNextPass())
		}
	}
}

// untilNextPass is how long the loop waits before its next pass: the
// reconcile interval, or less when a campaign's wait ends sooner (a bake
// runs out, a maintenance window opens, a gate's deadline passes), so the
// campaign moves on at that time rather than at the next interval.
func (b *Bot) untilNextPass() time.Duration {
	wait := b.cfg.ReconcileInterval
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.passDue {
		b.passDue = false
		return 0
	}
	for _, until := range b.waitsEnd {
		if until.After(now) {
			// A millisecond past the end, so the pass sees it ended.
			wait = min(wait, b.cfg.Real(until.Sub(now))+time.Millisecond)
		}
	}
	return wait
}

// passNow has the reconcile loop make its next pass now rather than at
// the end of its interval: a campaign just started opens its first wave
// at once when its schedule allows it, not up to an interval later.
func (b *Bot) passNow() {
	b.mu.Lock()
	b.passDue = true
	b.mu.Unlock()
	select {
	case b.sooner <- struct{}{}:
	default: // a signal is waiting already
	}
}

// heartbeatEvery is how often Ready writes the replica's heartbeat at
// most; probes in between are answered with the last write's outcome.
const heartbeatEvery = 5 * time.Second

// heartbeatKey is where a replica's heartbeat is kept.
func heartbeatKey(replica string) string { return "replicas/" + replica }

// heartbeat is a replica's last sign of life in the store.
type heartbeat struct {
	Replica string    `json:"replica"`
	At      time.Time `json:"at"`
}

// Ready reports whether the bot can serve: it can write to its store (a
// replica that can only read would take deliveries it cannot record and
// act on nothing). The write is the replica's heartbeat, made at most every
// heartbeatEvery. It does not call GitHub, so a GitHub outage does not take
// the replica out of service; the reconcile loop retries.
func (b *Bot) Ready(ctx context.Context) error { return b.heartbeat(ctx, heartbeatEvery) }

// ReplicaID is the name this replica holds leases under: the configured
// one, else its host name and process id.
func (b *Bot) ReplicaID() string { return b.cfg.ReplicaID }

// beatNow writes the heartbeat now, as a probe would, whenever the last.
func (b *Bot) beatNow(ctx context.Context) error { return b.heartbeat(ctx, 0) }

// heartbeat writes the replica's heartbeat unless the last write is more
// recent than within, and returns the last write's outcome.
func (b *Bot) heartbeat(ctx context.Context, within time.Duration) error {
	b.readyMu.Lock()
	defer b.readyMu.Unlock()
	if !b.readyAt.IsZero() && time.Since(b.readyAt) < within {
		return b.readyErr
	}
	b.readyAt = time.Now()
	b.readyErr = b.beat(ctx)
	return b.readyErr
}

// beat writes the replica's heartbeat.
func (b *Bot) beat(ctx context.Context) error {
	var last heartbeat
	version, err := getJSON(ctx, b.cfg.Store, heartbeatKey(b.cfg.ReplicaID), &last)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("store: %w", err)
	}
	return b.beatAt(ctx, version)
}

// beatAt writes the heartbeat over the version read.
func (b *Bot) beatAt(ctx context.Context, version int64) error {
	_, err := putJSON(ctx, b.cfg.Store, heartbeatKey(b.cfg.ReplicaID), heartbeat{Replica: b.cfg.ReplicaID, At: b.now()}, version, store.Fence{})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("store: another process writes the heartbeat of replica %q: give each replica an id of its own (replicaID): %w", b.cfg.ReplicaID, err)
	}
	if err != nil {
		return fmt.Errorf("store: cannot write: %w", err)
	}
	return nil
}

// warnOnce logs a warning the first time key is seen by this process.
func (b *Bot) warnOnce(key, msg string, args ...any) {
	b.mu.Lock()
	seen := b.warned[key]
	b.warned[key] = true
	b.mu.Unlock()
	if !seen {
		b.log.Warn(msg, args...)
	}
}
