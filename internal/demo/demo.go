package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/internal/fleetsim"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// Defaults Run fills in for what Options leave out.
const (
	// DefaultSpeed runs the simulated clock 600 times faster than the wall
	// clock: a 10m bake takes one second.
	DefaultSpeed = 600
	// DefaultTimeout bounds a run in wall-clock time.
	DefaultTimeout = 5 * time.Minute
)

// The simulated fleet's pace, on the simulated clock: how long Terraform CI
// takes to apply a merged blueprint (an EKS control-plane and node-group
// upgrade), how long Argo CD takes to sync the merge after that, and how
// long an owner takes to review a wave's pull request.
const (
	applyDelay  = 12 * time.Minute
	syncDelay   = 2 * time.Minute
	reviewDelay = 4 * time.Minute
)

// The fleet repository the sandbox holds, and the Argo CD token the fake
// accepts.
const (
	owner     = "acme"
	repo      = "fleet"
	argoToken = "demo-argocd-token"
)

// Options says what the demo runs.
type Options struct {
	// FleetDir is the fleet repository's files (examples/fleet).
	FleetDir string
	// CampaignFile is the campaign to run (examples/demo/eks-1-30.yaml).
	CampaignFile string
	// Fail names clusters whose Terraform apply fails: EKS stays at the old
	// version and Argo CD turns Degraded. The demo shows the halt, checks
	// that no later wave opened, skips them and resumes.
	Fail []string
	// Hold names clusters to which the simulated EKS gives an upgrade
	// insight in ERROR for their target (a removed API still called), so
	// the pre-flight check holds them back; the campaign's eks gate must
	// set preflight. A halt they cause is overcome as their owners would:
	// the callers move to the new API (the insight passes), `/fleet retry`
	// asks EKS again, and the campaign is resumed.
	Hold []string
	// RetryHeld makes the owners of a cluster held back within the failure
	// budget fix the cause and comment `/fleet retry CLUSTER` on their open
	// pull request of the wave before they review it: the cluster joins it.
	RetryHeld bool
	// RollbackAfter, when above 0, rolls the campaign back, as a fleet
	// admin would with `/fleet rollback`, once wave RollbackAfter baked;
	// the demo then plays the owners of the revert pull requests and ends
	// when the campaign is RolledBack.
	RollbackAfter int
	// SimMetrics, when set, serves what the simulated fleet's services
	// report (fleetsim.Sim.Metrics: each cluster's share of traffic and
	// error ratio) on this listener while the campaign runs, for a
	// Prometheus that the campaign's prometheus gate asks; the demo closes
	// it at the end.
	SimMetrics net.Listener
	// Out receives the live progress; nil discards it.
	Out io.Writer
	// Speed is how much faster than the wall clock the simulated clock runs
	// (default DefaultSpeed).
	Speed float64
	// Dir holds the sandbox, the bot's store and the simulator's clone; by
	// default a temporary directory removed at the end.
	Dir string
	// Timeout bounds the run in wall-clock time (default DefaultTimeout).
	Timeout time.Duration
	// Logger receives the logs of the bot, the sandbox and the simulator
	// (default: discarded).
	Logger *slog.Logger
	// RateLimit is the sandbox's hourly budget of GitHub requests per
	// installation, counted in simulated hours (default 5,000, GitHub's).
	RateLimit int
	// OpenStore opens the bot's store (default: a bbolt file in Dir).
	OpenStore func() (store.Store, error)
	// ReconcileInterval is the bot's reconcile interval on the simulated
	// clock (default: 200 ms of wall time, whatever the speed).
	ReconcileInterval time.Duration
}

// UnknownClusterError reports an Options.Fail name that is not a cluster
// the campaign changes.
type UnknownClusterError struct {
	Cluster string
	// Valid are the clusters the campaign changes, in rollout order.
	Valid []string
}

// Error names the cluster and a few valid ones.
func (e *UnknownClusterError) Error() string {
	some := e.Valid
	if len(some) > 4 {
		some = some[:4]
	}
	return fmt.Sprintf("cluster %q is not one the campaign changes; it changes %d, such as %s",
		e.Cluster, len(e.Valid), strings.Join(some, ", "))
}

// setup is what the demo knows before it starts anything: the campaign, its
// plan over the fleet, and who owns what.
type setup struct {
	src      []byte
	campaign *rollout.Campaign
	plan     *rollout.Plan
	clusters map[string]gitops.Cluster
	owners   map[string]gitops.Owners
	admin    string
	fail     map[string]bool
	hold     map[string]string // cluster -> the version of its first hop
}

// prepare reads the campaign and the fleet and plans the campaign, as the
// bot will, so a wrong file or cluster name is refused before anything
// starts.
func prepare(ctx context.Context, opts Options) (*setup, error) {
	src, err := os.ReadFile(opts.CampaignFile)
	if err != nil {
		return nil, fmt.Errorf("read campaign: %w", err)
	}
	c, err := rollout.ParseCampaign(opts.CampaignFile, src)
	if err != nil {
		return nil, err
	}
	// The checks and the plan serve makes before it starts a campaign.
	prep, err := gitops.Prepare(ctx, []string{opts.FleetDir}, c, nil)
	if err != nil {
		return nil, fmt.Errorf("plan %s over %s: %w", opts.CampaignFile, opts.FleetDir, err)
	}
	inv, p := prep.Inventory, prep.Plan
	layout := inv.Layouts[opts.FleetDir]
	if layout == nil {
		return nil, fmt.Errorf("fleet %s: no layout", opts.FleetDir)
	}
	s := &setup{src: src, campaign: c, plan: p, clusters: map[string]gitops.Cluster{},
		owners: layout.Owners, admin: "fleet-admin", fail: map[string]bool{}, hold: map[string]string{}}
	if len(layout.Admins.Users) > 0 {
		s.admin = layout.Admins.Users[0]
	}
	for _, cl := range inv.Clusters {
		s.clusters[cl.Name] = cl
	}
	if n := opts.RollbackAfter; n != 0 {
		switch pol := rollout.NewPolicy(c, p); {
		case n < 0 || n > len(p.Waves):
			return nil, fmt.Errorf("roll back after wave %d: the plan has waves 1 to %d", n, len(p.Waves))
		case !rollout.Revertible(p.Waves[n-1].Step, pol):
			return nil, fmt.Errorf("roll back after wave %d: the campaign's %s change is forward-only and cannot be rolled back", n, p.Change.Kind)
		}
	}
	changed := s.changed()
	for _, name := range opts.Fail {
		if !slices.Contains(changed, name) {
			return nil, &UnknownClusterError{Cluster: name, Valid: changed}
		}
		s.fail[name] = true
	}
	if len(opts.Hold) > 0 && (c.Spec.Gates.EKS == nil || !c.Spec.Gates.EKS.Preflight) {
		return nil, fmt.Errorf("hold %s: campaign %s does not ask EKS before a pull request: its spec.gates.eks has no preflight: true", opts.Hold[0], opts.CampaignFile)
	}
	for _, name := range opts.Hold {
		if !slices.Contains(changed, name) {
			return nil, &UnknownClusterError{Cluster: name, Valid: changed}
		}
		s.hold[name] = s.firstHop(name)
	}
	for _, w := range p.Waves {
		for _, pr := range w.PullRequests {
			if o := s.owners[pr.Tenant]; len(o.Users) == 0 {
				return nil, fmt.Errorf("fleet %s: tenant %s has no owner among users in its layout: the demo needs one to merge its pull requests", opts.FleetDir, pr.Tenant)
			}
		}
	}
	return s, nil
}

// firstHop is the version the plan first moves cluster name to.
func (s *setup) firstHop(name string) string {
	for _, w := range s.plan.Waves {
		for _, c := range w.Clusters {
			if c.Name == name {
				return c.To
			}
		}
	}
	return ""
}

// changed lists the clusters the plan changes, in rollout order.
func (s *setup) changed() []string {
	var names []string
	for _, w := range s.plan.Waves {
		for _, c := range w.Clusters {
			names = append(names, c.Name)
		}
	}
	return names
}

// Run runs the campaign of opts.CampaignFile over opts.FleetDir until it
// succeeds, and returns its final state. A halt caused by a cluster of
// opts.Fail is reported, checked and overcome by skipping the cluster and
// resuming; any other halt ends the run with an error.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Speed == 0 {
		opts.Speed = DefaultSpeed
	}
	if opts.Speed < 1 {
		return Result{}, fmt.Errorf("speed %g: want 1 or more", opts.Speed)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := prepare(ctx, opts)
	if err != nil {
		return Result{}, err
	}
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "fleetbot-demo-")
		if err != nil {
			return Result{}, err
		}
		defer func() {
			if err := os.RemoveAll(dir); err != nil {
				opts.Logger.Warn("remove the demo's directory", "dir", dir, "err", err)
			}
		}()
		opts.Dir = dir
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	d, err := start(ctx, opts, s)
	if d != nil {
		defer d.close()
	}
	if err != nil {
		return Result{}, err
	}
	return d.run(ctx)
}

// demo is one running demo: the fakes, the clock, the stack and the
// simulator, and what it has told so far.
type demo struct {
	opts    Options
	s       *setup
	clock   *fleetsim.Clock
	argo    *fakeargocd.Server
	eks     *fakeeks.Server
	servers []*http.Server
	stack   *stack.Stack
	sim     *fleetsim.Sim
	out     *progress

	merged     map[int]bool    // pull requests approved and merged
	retried    map[string]bool // held clusters whose owners asked for a retry
	reviewed   map[int]bool    // waves whose review delay passed
	halts      []Halt
	rolledBack bool // the demo asked for the rollback
}

// start starts the fakes, the stack and the simulator; the returned demo,
// even with an error, must be closed.
func start(ctx context.Context, opts Options, s *setup) (*demo, error) {
	clock := fleetsim.NewClock(time.Now().UTC().Truncate(time.Second), opts.Speed)
	d := &demo{
		opts: opts, s: s, clock: clock,
		argo:   fakeargocd.New(argoToken, fakeargocd.WithClock(clock.Now)),
		eks:    fakeeks.New(fakeeks.WithClock(clock.Now)),
		merged: map[int]bool{}, reviewed: map[int]bool{}, retried: map[string]bool{},
	}
	d.out = newProgress(opts.Out, clock.Now(), s.plan)
	argoURL, err := d.serve(d.argo)
	if err != nil {
		return d, err
	}
	eksURL, err := d.serve(d.eks)
	if err != nil {
		return d, err
	}
	gates, err := gateOptions(s.campaign, argoURL, eksURL)
	if err != nil {
		return d, err
	}
	interval := 200 * time.Millisecond
	if opts.ReconcileInterval > 0 {
		interval = clock.Real(opts.ReconcileInterval)
	}
	d.stack, err = stack.Start(ctx, stack.Options{
		Dir: opts.Dir, Fleet: opts.FleetDir, Owner: owner, Repo: repo,
		ReconcileInterval: interval, GateOptions: gates, Now: clock.Now, Real: clock.Real, Logger: opts.Logger,
		RateLimit: opts.RateLimit, OpenStore: opts.OpenStore,
	})
	if err != nil {
		return d, fmt.Errorf("start the sandbox and the bot: %w", err)
	}
	d.sim, err = fleetsim.New(fleetsim.Config{
		GitHubURL: d.stack.GitHubURL, Token: d.stack.Token, Owner: owner, Repo: repo, Branch: "main",
		Dir: filepath.Join(opts.Dir, "fleetsim"), ArgoCD: d.argo, EKS: d.eks, Clock: clock,
		ApplyDelay: applyDelay, SyncDelay: syncDelay, Logger: opts.Logger,
	})
	if err != nil {
		return d, fmt.Errorf("simulated fleet: %w", err)
	}
	if err := d.sim.Seed(ctx); err != nil {
		return d, fmt.Errorf("simulated fleet: %w", err)
	}
	for name := range s.fail {
		d.sim.Fail(name)
	}
	for name := range s.hold {
		if !d.setHold(name, insightError) {
			return d, fmt.Errorf("hold %s: the simulated EKS has no such cluster", name)
		}
	}
	return d, nil
}

// serve serves h on a loopback port and returns its base URL.
func (d *demo) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	d.servers = append(d.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

// close stops the stack and the fakes.
func (d *demo) close() {
	if d.stack != nil {
		d.stack.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range d.servers {
		_ = srv.Shutdown(ctx)
	}
}

// gateOptions points the campaign's gates at the fakes: the Argo CD
// server the campaign names is answered by the fake Argo CD (the campaign
// file stays as it would be in production), its token comes from the fake,
// and EKS and STS calls go to the fake EKS with the credentials it accepts.
func gateOptions(c *rollout.Campaign, argoURL, eksURL string) (bot.GateOptions, error) {
	var o bot.GateOptions
	if a := c.Spec.Gates.ArgoCD; a != nil {
		u, err := url.Parse(a.Server)
		if err != nil {
			return o, fmt.Errorf("campaign %s: gates.argocd.server: %w", c.Metadata.Name, err)
		}
		fake, err := url.Parse(argoURL)
		if err != nil {
			return o, err
		}
		o.Getenv = func(name string) string {
			if name == a.TokenEnv {
				return argoToken
			}
			return ""
		}
		o.ArgoCD = []gate.ArgoCDOption{gate.WithArgoCDClient(&http.Client{
			Transport: &redirect{host: u.Host, to: fake.Host, next: http.DefaultTransport},
			Timeout:   10 * time.Second,
		})}
	}
	o.EKS = []gate.EKSOption{
		gate.WithEKSEndpoint(eksURL), gate.WithSTSEndpoint(eksURL),
		gate.WithAWSConfig(fakeeks.BaseConfig()),
	}
	return o, nil
}

// redirect sends the requests for one host to a loopback address instead,
// over plain HTTP, and refuses every other host: the demo reaches nothing
// beyond this machine.
type redirect struct {
	host, to string
	next     http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (r *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != r.host {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("demo: %s is not served here; only %s is, by the local Argo CD", req.URL.Host, r.host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = "http", r.to, ""
	return r.next.RoundTrip(out)
}

// run pushes the campaign and follows it to the end, merging as the owners
// and overcoming the halts opts.Fail causes.
func (d *demo) run(ctx context.Context) (Result, error) {
	name := d.s.campaign.Metadata.Name
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan error, 1)
	go func() { simDone <- d.sim.Run(simCtx) }()
	defer func() {
		stopSim()
		if err := <-simDone; err != nil {
			d.opts.Logger.Warn("the simulated fleet stopped", "err", err)
		}
	}()
	if l := d.opts.SimMetrics; l != nil {
		srv := &http.Server{Handler: d.sim.Metrics(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				d.opts.Logger.Warn("the simulated fleet's metrics stopped", "err", err)
			}
		}()
		defer func() {
			if err := srv.Close(); err != nil {
				d.opts.Logger.Warn("close the simulated fleet's metrics", "err", err)
			}
		}()
	}

	d.out.header(d.s, d.opts.Speed)
	d.out.begin(d.clock.Now())
	if err := d.stack.PushCampaign(ctx, name, d.s.src); err != nil {
		return Result{}, fmt.Errorf("push the campaign: %w", err)
	}
	d.out.line(d.clock.Now(), "campaign %s pushed to %s/%s: campaigns/%s.yaml", name, owner, repo, name)

	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last rollout.State
	for {
		select {
		case <-ctx.Done():
			return Result{}, d.stuck(ctx, last)
		case err := <-simDone:
			simDone <- err // for the deferred wait
			if err == nil {
				err = errors.New("stopped")
			}
			return Result{}, fmt.Errorf("simulated fleet: %w", err)
		case <-tick.C:
		}
		st, ok, err := d.stack.State(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return Result{}, d.stuck(ctx, last)
			}
			return Result{}, fmt.Errorf("campaign %s: %w", name, err)
		}
		if !ok {
			continue
		}
		last = st
		d.out.observe(st)
		switch st.Phase {
		case rollout.CampaignSucceeded:
			return d.finish(ctx, st)
		case rollout.CampaignHalted:
			if err := d.overcome(ctx, st); err != nil {
				return Result{}, err
			}
			continue
		case rollout.CampaignRolledBack:
			if d.rolledBack {
				return d.finish(ctx, st)
			}
			return Result{}, fmt.Errorf("campaign %s ended %s", name, st.Phase)
		case rollout.CampaignAborted:
			return Result{}, fmt.Errorf("campaign %s ended %s", name, st.Phase)
		}
		if err := d.rollback(ctx, st); err != nil {
			return Result{}, err
		}
		if err := d.review(ctx, st); err != nil {
			return Result{}, err
		}
	}
}

// stuck explains a run that ran out of time, or was stopped.
func (d *demo) stuck(ctx context.Context, last rollout.State) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	where := "before the bot took it up"
	if last.Campaign != "" {
		where = fmt.Sprintf("it is %s", last.Phase)
		for _, w := range last.Waves {
			if w.Phase != rollout.WaveSucceeded && w.Phase != rollout.WavePending {
				where += fmt.Sprintf(", wave %d %s", w.Number, w.Phase)
			}
		}
	}
	return fmt.Errorf("campaign %s did not finish within %s: %s", d.s.campaign.Metadata.Name, d.opts.Timeout, where)
}
