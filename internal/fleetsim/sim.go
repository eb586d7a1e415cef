package fleetsim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
)

// Defaults of Config.
const (
	DefaultBranch     = "main"
	DefaultCheck      = "terraform-apply"
	DefaultApplyDelay = 2 * time.Minute
	DefaultSyncDelay  = time.Minute
	DefaultPoll       = 100 * time.Millisecond
)

// Config says which repository to follow and which fakes to drive.
type Config struct {
	GitHubURL string // the sandbox's REST base URL
	Token     string // may read the repository and post check runs
	Owner     string
	Repo      string
	Branch    string // default "main"
	Dir       string // scratch directory for the simulator's clone
	ArgoCD    *fakeargocd.Server
	EKS       *fakeeks.Server
	Clock     *Clock // nil: wall clock
	Check     string // check-run name prefix, default "terraform-apply"
	// ApplyDelay is the simulated time from merge to Terraform's result
	// (default 2m).
	ApplyDelay time.Duration
	// SyncDelay is the simulated time from apply to Argo CD synced
	// (default 1m).
	SyncDelay time.Duration
	// Poll is the wall time between looks at the branch (default 100ms).
	Poll   time.Duration
	Logger *slog.Logger // default: discarded
}

// CheckName is the check run Terraform CI posts for one cluster:
// check + " (" + cluster + ")".
func CheckName(check, cluster string) string {
	return check + " (" + cluster + ")"
}

// Event is one thing the simulator did: at which simulated time, for which
// commit and cluster ("" for the whole fleet), and what.
type Event struct {
	At      time.Time
	Commit  string
	Cluster string
	// What is, for example, "changed version 1.29 -> 1.30",
	// "terraform-apply success", "eks 1.30", "argocd labels
	// addonsRelease=release2", "argocd Synced Healthy", for a removed
	// cluster "changed removed at 1.29", "destroyed", "eks deleting", "eks
	// gone" and "argocd removed cluster secret and 2 applications", or
	// "error: ...".
	What string
}

// String formats e as one line of the demo's output.
func (e Event) String() string {
	who := e.Cluster
	if who == "" {
		who = "fleet"
	}
	return fmt.Sprintf("%s %s %s: %s", e.At.UTC().Format("15:04:05"), cmp.Or(short(e.Commit), "-------"), who, e.What)
}

// Sim is the simulated fleet: Terraform CI and Argo CD reacting to the
// commits of one branch.
type Sim struct {
	cfg     Config
	gh      *gh.Client
	log     *slog.Logger
	mirror  *mirror
	running atomic.Bool

	mu     sync.Mutex // guards marked and events
	marked map[string]bool
	events []Event

	work    sync.Mutex // held by Seed and by each step of Run
	ready   bool       // the mirror exists and repoURL is known
	repoURL string     // the clone URL the applications name
	head    string     // the last commit looked at
	inv     *gitops.Inventory
	failed  map[string]bool // clusters whose last apply failed
	pending []action
	metrics *metrics
}

// action is work due at a simulated time: Terraform's result for a
// commit's changed clusters, or Argo CD's sync after it.
type action struct {
	due     time.Time
	commit  string
	sync    bool
	changes []change
	runs    map[string]int64 // the in-progress check run of each cluster
}

// New checks cfg and returns a simulator; Seed and Run start it.
func New(cfg Config) (*Sim, error) {
	switch {
	case cfg.GitHubURL == "":
		return nil, errors.New("fleetsim: no GitHub URL")
	case cfg.Token == "":
		return nil, errors.New("fleetsim: no token")
	case cfg.Owner == "" || cfg.Repo == "":
		return nil, fmt.Errorf("fleetsim: repository %q/%q needs an owner and a name", cfg.Owner, cfg.Repo)
	case cfg.Dir == "":
		return nil, errors.New("fleetsim: no scratch directory")
	case cfg.ArgoCD == nil:
		return nil, errors.New("fleetsim: no Argo CD to drive")
	case cfg.EKS == nil:
		return nil, errors.New("fleetsim: no EKS to drive")
	case cfg.ApplyDelay < 0 || cfg.SyncDelay < 0 || cfg.Poll < 0:
		return nil, fmt.Errorf("fleetsim: negative delay (apply %s, sync %s, poll %s)", cfg.ApplyDelay, cfg.SyncDelay, cfg.Poll)
	}
	cfg.Branch = cmp.Or(cfg.Branch, DefaultBranch)
	cfg.Check = cmp.Or(cfg.Check, DefaultCheck)
	cfg.ApplyDelay = cmp.Or(cfg.ApplyDelay, DefaultApplyDelay)
	cfg.SyncDelay = cmp.Or(cfg.SyncDelay, DefaultSyncDelay)
	cfg.Poll = cmp.Or(cfg.Poll, DefaultPoll)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := gh.NewTokenClient(gh.Config{BaseURL: cfg.GitHubURL, UserAgent: "fleetsim", Logger: cfg.Logger}, cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("fleetsim: %w", err)
	}
	return &Sim{
		cfg: cfg, gh: client, log: cfg.Logger.With("component", "fleetsim"),
		mirror: &mirror{
			dir: filepath.Join(cfg.Dir, "fleet.git"), trees: filepath.Join(cfg.Dir, "trees"),
			token: cfg.Token, branch: cfg.Branch,
		},
		marked: map[string]bool{}, failed: map[string]bool{}, metrics: newMetrics(),
	}, nil
}

// Fail marks a cluster to fail: its Terraform check fails, EKS keeps the
// old version, and its Argo CD applications go Degraded. The mark holds
// for every later change of the cluster; a cluster that no commit changes
// stays as it is.
func (s *Sim) Fail(cluster string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked[cluster] = true
}

func (s *Sim) isMarked(cluster string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marked[cluster]
}

// Events returns what the simulator did so far, in order.
func (s *Sim) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *Sim) event(commit, cluster, what string) {
	e := Event{At: s.cfg.Clock.Now(), Commit: commit, Cluster: cluster, What: what}
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	s.log.Info(what, "commit", short(commit), "cluster", cluster, "at", e.At)
}

// errorEvent records and logs a problem Run carries on after.
func (s *Sim) errorEvent(commit, cluster string, err error) {
	s.event(commit, cluster, "error: "+err.Error())
}

// prepare makes the mirror, learns the repository's clone URL and gives
// EKS the add-on catalogue of the simulated clusters, once.
func (s *Sim) prepare(ctx context.Context) error {
	if s.ready {
		return nil
	}
	for name, versions := range addonCatalogue() {
		s.cfg.EKS.SetAddonVersions(name, versions)
	}
	if err := s.mirror.open(ctx); err != nil {
		return fmt.Errorf("fleetsim: %w", err)
	}
	// https://docs.github.com/rest/repos/repos#get-a-repository
	repo, err := s.gh.Repository(ctx, s.cfg.Owner, s.cfg.Repo)
	if err != nil {
		return fmt.Errorf("fleetsim: %w", err)
	}
	u, err := url.Parse(repo.CloneURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("fleetsim: repository %s/%s has the clone URL %q", s.cfg.Owner, s.cfg.Repo, repo.CloneURL)
	}
	s.repoURL = u.String()
	u.User = url.UserPassword("x-access-token", s.cfg.Token)
	s.mirror.url = u.String()
	s.ready = true
	return nil
}

// Seed registers every cluster of the branch head's fleet: in EKS at its
// version (control plane, and one managed node group on that version), in
// Argo CD as a cluster (with its labels) and applications that track the
// repository, Synced to the head and Healthy. A cluster whose blueprint
// names no account, region or version is left out of EKS.
func (s *Sim) Seed(ctx context.Context) error {
	s.work.Lock()
	defer s.work.Unlock()
	if err := s.prepare(ctx); err != nil {
		return err
	}
	head, err := s.mirror.fetch(ctx)
	if err != nil {
		return fmt.Errorf("fleetsim: fetch %s: %w", s.cfg.Branch, err)
	}
	inv, err := s.mirror.load(ctx, head)
	if err != nil {
		return fmt.Errorf("fleetsim: %w", err)
	}
	if err := inv.Err(); err != nil {
		return fmt.Errorf("fleetsim: the fleet at %s: %w", short(head), err)
	}
	for _, c := range inv.Clusters {
		s.register(c, head)
	}
	s.head, s.inv = head, inv
	s.event(head, "", fmt.Sprintf("seeded %d clusters", len(inv.Clusters)))
	return nil
}

// register puts c in EKS and Argo CD, its applications synced at revision.
func (s *Sim) register(c gitops.Cluster, revision string) {
	if inEKS(c) {
		s.cfg.EKS.SetCluster(c.Account, c.Region, eksCluster(c))
	} else {
		s.log.Warn("cluster left out of EKS: its blueprint names no account, region or version", "cluster", c.Name, "file", c.File)
	}
	s.cfg.ArgoCD.SetCluster(argoCluster(c))
	for _, a := range applications(c, s.repoURL, s.cfg.Branch, revision) {
		s.cfg.ArgoCD.SetApplication(a)
	}
	s.metrics.running(c, false)
}

// Run follows the branch until ctx ends: for each new commit (first-parent
// chain) it finds the clusters whose version, labels or traffic changed,
// those added and those removed (compare the fleet inventory at the commit
// with the one before) and puts an in-progress check run per changed
// cluster on the commit. After ApplyDelay it completes those check runs
// (success, or failure for a marked cluster) and applies: EKS control plane
// and node groups to the new version, Argo CD cluster labels to the new
// labels, a new cluster registered in both as Seed does, a removed one
// DELETING in EKS (a traffic change has nothing more to apply). After
// SyncDelay more, every cluster's applications report Synced to the latest
// head and Healthy (Degraded for marked clusters whose apply failed), and a
// removed cluster is gone from EKS and, with its applications, from Argo
// CD; one whose destroy failed stays as it was.
//
// Without Seed, the head when Run starts is where it begins. Trouble with
// git, the fakes or GitHub is logged, recorded as an "error: ..." event and
// retried at the next look; Run returns an error only when it cannot
// start, and nil when ctx ends.
func (s *Sim) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("fleetsim: Run is already running")
	}
	defer s.running.Store(false)
	s.work.Lock()
	err := s.prepare(ctx)
	s.work.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for {
		wait := s.step(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// step looks at the branch, does what is due, and returns the wall time
// until the next step.
func (s *Sim) step(ctx context.Context) time.Duration {
	s.work.Lock()
	defer s.work.Unlock()
	if err := s.look(ctx); err != nil && ctx.Err() == nil {
		s.errorEvent(s.head, "", err)
	}
	s.perform(ctx)
	wait := s.cfg.Poll
	if len(s.pending) > 0 {
		wait = min(wait, max(0, s.cfg.Clock.Real(s.pending[0].due.Sub(s.cfg.Clock.Now()))))
	}
	return wait
}

// look fetches the branch and takes in its new commits. Once it follows
// the branch it asks the API where the branch is first, as a CI system
// learns of a push, and fetches only when it moved: an unchanged branch
// answers 304, which costs no request of the budget, where a fetch costs
// git on both ends. Should the API not answer, it fetches.
func (s *Sim) look(ctx context.Context) error {
	if s.head != "" {
		// https://docs.github.com/rest/git/refs#get-a-reference
		if at, err := s.gh.Ref(ctx, s.cfg.Owner, s.cfg.Repo, s.cfg.Branch); err == nil && at == s.head {
			return nil
		}
	}
	head, err := s.mirror.fetch(ctx)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", s.cfg.Branch, err)
	}
	if head == s.head {
		return nil
	}
	if s.head == "" {
		inv, err := s.mirror.load(ctx, head)
		if err != nil {
			return err
		}
		s.head, s.inv = head, inv
		s.event(head, "", fmt.Sprintf("following %s from here", s.cfg.Branch))
		return nil
	}
	commits, err := s.mirror.chain(ctx, s.head, head)
	if err != nil {
		return fmt.Errorf("list the commits %s..%s: %w", short(s.head), short(head), err)
	}
	for _, c := range commits {
		if err := s.take(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// take finds what commit changed against its first parent, puts an
// in-progress check run on it per changed cluster, and schedules
// Terraform's result and Argo CD's sync.
func (s *Sim) take(ctx context.Context, commit string) error {
	parent, err := s.mirror.parent(ctx, commit)
	if err != nil {
		return fmt.Errorf("parent of %s: %w", short(commit), err)
	}
	before := s.inv
	if parent != s.head && parent != "" {
		// A force push: compare with the commit's own parent when it loads.
		inv, err := s.mirror.load(ctx, parent)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			before = inv
		}
	}
	after, err := s.mirror.load(ctx, commit)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		// Terraform CI could not read this commit either; the next commit
		// is compared with the last fleet that loaded.
		s.errorEvent(commit, "", err)
		after = before
	case after.Err() != nil:
		s.errorEvent(commit, "", fmt.Errorf("the fleet at %s has errors: %w", short(commit), after.Err()))
	}
	chs := changes(before, after)
	if after.Err() != nil {
		// A cluster of a file that does not load is not removed: Terraform
		// CI destroys nothing on a fleet it cannot read.
		chs = slices.DeleteFunc(chs, func(ch change) bool { return ch.Removed })
	}
	runs := map[string]int64{}
	for _, ch := range chs {
		name := ch.Cluster.Name
		s.event(commit, name, "changed "+ch.String())
		title, summary := "Terraform is applying "+name, "Applying "+ch.String()+"."
		if ch.Removed {
			title, summary = "Terraform is destroying "+name, "Destroying "+removal(ch)+"."
		}
		// https://docs.github.com/rest/checks/runs#create-a-check-run
		run, err := s.gh.CreateCheckRun(ctx, s.cfg.Owner, s.cfg.Repo, gh.NewCheckRun{
			Name: CheckName(s.cfg.Check, name), HeadSHA: commit, Status: "in_progress", Title: title, Summary: summary,
		})
		if err != nil {
			s.errorEvent(commit, name, err)
			continue
		}
		runs[name] = run.ID
	}
	now := s.cfg.Clock.Now()
	applied := now.Add(s.cfg.ApplyDelay)
	s.schedule(action{due: applied, commit: commit, changes: chs, runs: runs})
	s.schedule(action{due: applied.Add(s.cfg.SyncDelay), commit: commit, sync: true, changes: chs})
	s.head, s.inv = commit, after
	return nil
}

// schedule adds a to the pending actions, kept in order of due time (and
// of scheduling among equals).
func (s *Sim) schedule(a action) {
	i, _ := slices.BinarySearchFunc(s.pending, a.due, func(p action, due time.Time) int {
		if p.due.After(due) {
			return 1
		}
		return -1
	})
	s.pending = slices.Insert(s.pending, i, a)
}

// perform does every pending action that is due.
func (s *Sim) perform(ctx context.Context) {
	now := s.cfg.Clock.Now()
	for len(s.pending) > 0 && !s.pending[0].due.After(now) && ctx.Err() == nil {
		a := s.pending[0]
		s.pending = s.pending[1:]
		if a.sync {
			s.sync(a)
		} else {
			for _, ch := range a.changes {
				s.apply(ctx, a, ch)
			}
		}
	}
}

// apply ends Terraform's run for one changed cluster: the new state in the
// fakes (unless the cluster is marked to fail), then the completed check
// run.
func (s *Sim) apply(ctx context.Context, a action, ch change) {
	c := ch.Cluster
	failed := s.isMarked(c.Name)
	s.failed[c.Name] = failed
	conclusion, title, summary := "success", "Terraform applied "+c.Name, "Applied "+ch.String()+"."
	switch {
	case failed && ch.Removed:
		conclusion, title = "failure", "Terraform failed to destroy "+c.Name
		summary = fmt.Sprintf("Error: waiting for EKS Cluster (%s) delete: unexpected state 'FAILED', wanted target ''. %s was not destroyed.", c.Name, c.Name)
		s.event(a.commit, c.Name, "eks stays at "+orNone(c.Version))
	case failed:
		if ch.From != nil {
			s.metrics.running(*ch.From, true) // what it ran before, now failing
		}
		conclusion, title = "failure", "Terraform failed to apply "+c.Name
		summary = fmt.Sprintf("Error: waiting for EKS Cluster (%s) update: unexpected state 'Failed', wanted target 'Successful'. Nothing of %s was applied.", c.Name, ch.String())
		if ch.From != nil && ch.version() {
			s.event(a.commit, c.Name, "eks stays at "+orNone(ch.From.Version))
		}
	case ch.Removed:
		title, summary = "Terraform destroyed "+c.Name, "Destroyed "+removal(ch)+"."
		s.destroy(a.commit, c)
	default:
		s.carryOut(a.commit, ch)
	}
	nc := gh.NewCheckRun{
		Name: CheckName(s.cfg.Check, c.Name), HeadSHA: a.commit, Status: "completed", Conclusion: conclusion,
		Title: title, Summary: summary,
	}
	var err error
	if id, ok := a.runs[c.Name]; ok {
		// https://docs.github.com/rest/checks/runs#update-a-check-run
		_, err = s.gh.UpdateCheckRun(ctx, s.cfg.Owner, s.cfg.Repo, id, nc)
	} else {
		// https://docs.github.com/rest/checks/runs#create-a-check-run
		_, err = s.gh.CreateCheckRun(ctx, s.cfg.Owner, s.cfg.Repo, nc)
	}
	if err != nil {
		s.errorEvent(a.commit, c.Name, err)
		return
	}
	s.event(a.commit, c.Name, s.cfg.Check+" "+conclusion)
}

// removal describes a removed cluster for its check run.
func removal(ch change) string {
	return fmt.Sprintf("cluster %s, removed from the fleet (it was at %s)", ch.Cluster.Name, orNone(ch.Cluster.Version))
}

// destroy starts the deletion of a removed cluster in EKS: DELETING until
// the sync that follows (gone, in retire).
func (s *Sim) destroy(commit string, c gitops.Cluster) {
	delete(s.failed, c.Name)
	s.event(commit, c.Name, "destroyed")
	if _, ok := s.cfg.EKS.DeleteCluster(c.Account, c.Region, c.Name); !ok {
		s.event(commit, c.Name, "eks has no such cluster to delete")
		return
	}
	s.event(commit, c.Name, "eks deleting")
}

// retire ends a destroyed cluster: gone from EKS, and its cluster secret
// and applications gone from Argo CD, as the ApplicationSet prunes them once
// the fleet no longer names it.
func (s *Sim) retire(commit string, c gitops.Cluster) {
	if gone, _ := s.cfg.EKS.DeleteCluster(c.Account, c.Region, c.Name); gone {
		s.event(commit, c.Name, "eks gone")
	}
	s.metrics.gone(c.Name)
	apps, ok := s.cfg.ArgoCD.RemoveCluster(c.Name)
	what := fmt.Sprintf("argocd removed cluster secret and %d application%s", apps, plural(apps))
	if !ok {
		what = fmt.Sprintf("argocd removed %d application%s (it had no cluster secret)", apps, plural(apps))
	}
	s.event(commit, c.Name, what)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// carryOut puts what Terraform applied into the fakes.
func (s *Sim) carryOut(commit string, ch change) {
	c := ch.Cluster
	if ch.From == nil {
		s.register(c, s.head)
		s.event(commit, c.Name, "created at "+orNone(c.Version))
		return
	}
	if ch.version() && inEKS(c) {
		if s.cfg.EKS.Upgrade(c.Account, c.Region, c.Name, c.Version) {
			// The blueprint's Terraform moves kube-proxy with the control plane.
			s.cfg.EKS.SetAddon(c.Account, c.Region, c.Name, fakeeks.Addon{Name: "kube-proxy", Version: kubeProxyBuild(c.Version)})
		} else {
			s.cfg.EKS.SetCluster(c.Account, c.Region, eksCluster(c))
		}
		s.event(commit, c.Name, "eks "+c.Version)
	}
	if ch.labels() {
		s.cfg.ArgoCD.SetCluster(argoCluster(c))
		s.event(commit, c.Name, "argocd labels "+labelDiff(ch.From.Labels, c.Labels))
	}
	s.metrics.running(c, false)
}

// sync makes every cluster's applications Synced to the head, Healthy or,
// for a cluster whose apply failed, Degraded.
func (s *Sim) sync(a action) {
	apps := 0
	for _, c := range s.inv.Clusters {
		health := fakeargocd.Healthy
		if s.failed[c.Name] {
			health = fakeargocd.Degraded
		}
		apps += s.cfg.ArgoCD.Sync(c.Name, s.head, health)
		if health == fakeargocd.Degraded {
			s.degrade(c)
		}
	}
	s.event(a.commit, "", fmt.Sprintf("argocd synced %d applications of %d clusters to %s", apps, len(s.inv.Clusters), short(s.head)))
	for _, ch := range a.changes {
		if ch.Removed {
			// A cluster whose destroy failed stays as it was.
			if !s.failed[ch.Cluster.Name] {
				s.retire(a.commit, ch.Cluster)
			}
			continue
		}
		health := fakeargocd.Healthy
		if s.failed[ch.Cluster.Name] {
			health = fakeargocd.Degraded
		}
		s.event(a.commit, ch.Cluster.Name, "argocd "+fakeargocd.Synced+" "+health)
	}
}

// degrade says why a failed cluster's applications are Degraded.
func (s *Sim) degrade(c gitops.Cluster) {
	for _, a := range applications(c, s.repoURL, s.cfg.Branch, "") {
		app, ok := s.cfg.ArgoCD.Application("", a.Name)
		if !ok {
			continue
		}
		app.HealthMessage = fmt.Sprintf("Deployment %q has 0 of 3 replicas available: nodes of %s are not ready after the failed apply", a.Name, c.Name)
		s.cfg.ArgoCD.SetApplication(app)
	}
}
