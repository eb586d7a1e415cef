package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/internal/fleetsim"
	"github.com/fleetbot/fleetbot/internal/stack"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// The fleet and campaign every run uses: the example fleet (4 tenants, 30
// clusters) and an EKS upgrade in three waves (dev, staging, prod) of one
// pull request per tenant, on the wall clock with short bakes.
const (
	fleetDir  = "../../examples/fleet"
	owner     = "acme"
	repo      = "fleet"
	argoToken = "crashtest-argocd-token"
	apiToken  = "crashtest-operations-api-token"
	waves     = 3
)

// campaign is one campaign of a run: its file and its plan over the fleet.
type campaign struct {
	name string
	src  []byte
	plan *rollout.Plan
}

// allTenants is the selector of a run with one campaign.
var allTenants = map[string]string{"eks-1-30": "{}"}

var campaignTemplate = template.Must(template.New("campaign").Parse(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: {{.Name}}
spec:
  change:
    eksVersion:
      to: "1.30"
  selector: {{.Selector}}
  strategy:
    order: [dev, staging, prod]
    canary: false
    maxConcurrency: 100%
    maxFailures: 0
    bake: 2s
    progressDeadline: 15m
  gates:
    terraform:
      checks: ["terraform-apply ({{"{{"}} .Cluster {{"}}"}})"]
    argocd:
      server: {{.ArgoCD}}
      tokenEnv: ARGOCD_TOKEN
    eks:
      roleARN: "arn:aws:iam::{{"{{"}} .Account {{"}}"}}:role/fleetbot-verify"
      nodegroups: true
      preflight: true
  merge: owners
`))

// moment is when a kill strikes: at a random time, while serve fetches the
// fleet repository into its mirror (the answer half sent), or while it
// opens a pull request (before or after GitHub carried the request out).
type moment string

const (
	atRandom moment = "random"
	inFetch  moment = "fetch"
	inOpen   moment = "open"
)

// live is the sandbox GitHub, the fake Argo CD and EKS, the simulated fleet
// (Terraform CI and Argo CD following the merges on the wall clock) and
// `fleetbot serve` processes acting on them, with the tenants' owners
// merging the campaign's pull requests.
type live struct {
	t         *testing.T
	stack     *stack.Stack
	argo      *fakeargocd.Server
	eks       *fakeeks.Server
	sim       *fleetsim.Sim
	campaigns []campaign
	owners    map[string]gitops.Owners
	clusters  map[string]gitops.Cluster
	replicas  []*replica
	next      atomic.Uint64 // round robin of webhooks over the replicas

	// armed is the moment a kill waits for ("" when none); struck is
	// closed when it came and the replica was killed.
	mu     sync.Mutex
	armed  moment
	target *replica
	struck chan struct{}
}

// replica is one `fleetbot serve`, restarted after every kill on the same
// directory (its store, when bbolt, and its mirror).
type replica struct {
	name   string
	bin    string
	config string
	dir    string
	env    []string

	mu    sync.Mutex
	proc  *testenv.Serve
	addr  string
	kills int
	lines []string // the logs of the processes that ended
}

// startLive starts everything but serve (call addReplica for each), for
// campaigns named by the keys of selectors, each selecting what its value
// says (a selector in YAML) and planned in three waves.
func startLive(t *testing.T, selectors map[string]string) *live {
	t.Helper()
	l := &live{t: t, argo: fakeargocd.New(argoToken), eks: fakeeks.New()}
	argoURL := serveHTTP(t, l.argo)
	for _, name := range slices.Sorted(maps.Keys(selectors)) {
		var src bytes.Buffer
		require.NoError(t, campaignTemplate.Execute(&src, map[string]string{"Name": name, "Selector": selectors[name], "ArgoCD": argoURL}))
		c, err := rollout.ParseCampaign(name+".yaml", src.Bytes())
		require.NoError(t, err)
		prep, err := gitops.Prepare(t.Context(), []string{fleetDir}, c, nil)
		require.NoError(t, err)
		require.Equal(t, waves, len(prep.Plan.Waves), "waves of campaign %s", name)
		l.campaigns = append(l.campaigns, campaign{name: name, src: src.Bytes(), plan: prep.Plan})
		l.owners = prep.Inventory.Layouts[fleetDir].Owners
		l.clusters = map[string]gitops.Cluster{}
		for _, cl := range prep.Inventory.Clusters {
			l.clusters[cl.Name] = cl
		}
	}

	dir := t.TempDir()
	var err error
	l.stack, err = stack.Start(t.Context(), stack.Options{
		Dir: dir, Fleet: fleetDir, Owner: owner, Repo: repo, External: true,
		WrapSandbox: l.interrupt,
	})
	require.NoError(t, err)
	t.Cleanup(l.stack.Close)
	l.stack.SetBot(http.HandlerFunc(l.route))
	l.sim, err = fleetsim.New(fleetsim.Config{
		GitHubURL: l.stack.GitHubURL, Token: l.stack.Token, Owner: owner, Repo: repo, Branch: "main",
		Dir: filepath.Join(dir, "fleetsim"), ArgoCD: l.argo, EKS: l.eks,
		ApplyDelay: time.Second, SyncDelay: 500 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, l.sim.Seed(t.Context()))
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- l.sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("simulated fleet: %v", err)
		}
	})
	return l
}

// serveHTTP serves h on a loopback port until the test ends.
func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// addReplica writes a serve configuration on store (a YAML mapping) with
// extra appended, and starts serve on it.
func (l *live) addReplica(bin, name, storeYAML, extra string) *replica {
	t := l.t
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api-token"), []byte(apiToken), 0o600))
	config, err := l.stack.ServeConfig(dir, storeYAML, `reconcileInterval: 1s
replicaID: `+name+`
api: {tokenFile: api-token}
`+extra)
	require.NoError(t, err)
	eksURL := serveHTTP(t, l.eks)
	creds, err := fakeeks.BaseCredentials().Retrieve(t.Context())
	require.NoError(t, err)
	r := &replica{name: name, bin: bin, config: config, dir: dir, env: []string{
		"ARGOCD_TOKEN=" + argoToken,
		"AWS_ENDPOINT_URL_EKS=" + eksURL, "AWS_ENDPOINT_URL_STS=" + eksURL,
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
		"AWS_REGION=eu-west-1", "AWS_EC2_METADATA_DISABLED=true",
	}}
	r.start(t)
	l.replicas = append(l.replicas, r)
	return r
}

// start runs serve (again) in the replica's directory.
func (r *replica) start(t *testing.T) {
	t.Helper()
	p := testenv.RunServeEnv(t, r.bin, r.config, r.dir, r.env...)
	r.mu.Lock()
	r.proc, r.addr = p, p.Addr
	r.mu.Unlock()
}

// kill kills the replica's serve with SIGKILL and waits until it is gone;
// its address answers nothing until start. Safe from any goroutine.
func (r *replica) kill() {
	r.mu.Lock()
	p := r.proc
	r.proc, r.addr = nil, ""
	if p != nil {
		r.kills++
	}
	r.mu.Unlock()
	if p == nil {
		return
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	<-p.Exited()
	r.mu.Lock()
	r.lines = append(r.lines, p.Lines()...)
	r.mu.Unlock()
}

// running returns the replica's serve process, nil while the test has it
// down.
func (r *replica) running() *testenv.Serve {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc
}

// url returns the replica's base URL, "" while it is down.
func (r *replica) url() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addr == "" {
		return ""
	}
	return "http://" + r.addr
}

// logs returns every line the replica's processes wrote so far.
func (r *replica) logs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.lines)
	if r.proc != nil {
		out = append(out, r.proc.Lines()...)
	}
	return out
}

// route sends what reaches the bot's address (the sandbox's webhooks) to
// the replicas in turn, skipping those that are down; with none up it
// answers 503, which the sandbox records as a failed delivery, as GitHub
// would.
func (l *live) route(w http.ResponseWriter, r *http.Request) {
	n := len(l.replicas)
	start := int(l.next.Add(1))
	for i := range n {
		u := l.replicas[(start+i)%n].url()
		if u == "" {
			continue
		}
		target, err := url.Parse(u)
		if err != nil {
			break
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			// Killed while it read the delivery: lost, as GitHub's would be.
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
		proxy.ServeHTTP(w, r)
		return
	}
	http.Error(w, "fleetbot is down", http.StatusServiceUnavailable)
}

// arm makes the next request of moment m to the sandbox kill target.
func (l *live) arm(m moment, target *replica) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.target, l.struck = m, target, make(chan struct{})
	return l.struck
}

// disarm cancels an armed kill that did not come; it reports whether it
// came after all.
func (l *live) disarm() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	was := l.armed == ""
	l.armed = ""
	return was
}

// take returns the replica to kill when r is a request of the armed
// moment, and disarms.
func (l *live) take(m moment) (*replica, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.armed != m {
		return nil, nil
	}
	l.armed = ""
	return l.target, l.struck
}

// interrupt wraps the sandbox: a request of the armed moment kills the
// replica in the middle of it.
func (l *live) interrupt(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			if victim, struck := l.take(inFetch); victim != nil {
				// The pack's first bytes go out, then serve dies with the
				// rest of it unread.
				next.ServeHTTP(&killAfterWrite{ResponseWriter: w, kill: func() { victim.kill(); close(struck) }}, r)
				return
			}
		case r.Method == http.MethodPost && (r.URL.Path == "/graphql" || r.URL.Path == "/repos/"+owner+"/"+repo+"/pulls"):
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if r.URL.Path == "/graphql" && !bytes.Contains(body, []byte("createCommitOnBranch")) {
				break
			}
			if victim, struck := l.take(inOpen); victim != nil {
				if rand.IntN(2) == 0 {
					// Killed before GitHub carried it out.
					victim.kill()
					close(struck)
					http.Error(w, "the client is gone", http.StatusServiceUnavailable)
					return
				}
				// Carried out, and serve dies before it reads the answer.
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				victim.kill()
				close(struck)
				w.WriteHeader(rec.Code)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// killAfterWrite kills once, after the first bytes of the answer were sent.
type killAfterWrite struct {
	http.ResponseWriter
	once sync.Once
	kill func()
}

func (k *killAfterWrite) Write(p []byte) (int, error) {
	n, err := k.ResponseWriter.Write(p)
	if f, ok := k.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	k.once.Do(k.kill)
	return n, err
}

// state reads a campaign's state from a replica that is up, through the
// operations API; ok is false while none answers or the campaign has not
// started.
func (l *live) state(ctx context.Context, name string) (rollout.State, bool) {
	for _, r := range l.replicas {
		u := r.url()
		if u == "" {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/api/v1/campaigns/"+name+"/state", nil)
		if err != nil {
			continue
		}
		req.Header.Set("Authorization", "Bearer "+apiToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		var st rollout.State
		err = json.NewDecoder(res.Body).Decode(&st)
		_ = res.Body.Close()
		if res.StatusCode == http.StatusOK && err == nil {
			return st, true
		}
	}
	return rollout.State{}, false
}

// playOwners plays the tenants' owners until ctx ends: each pull request
// of an open wave whose pull requests are all up is approved and merged by
// an owner of its tenant, once mayMerge(wave) says the wave may go. It
// keeps in last the last state it read of each campaign.
func (l *live) playOwners(ctx context.Context, mayMerge func(wave int) bool, last []atomic.Pointer[rollout.State]) {
	merged := map[int]bool{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i, c := range l.campaigns {
			st, ok := l.state(ctx, c.name)
			if !ok {
				continue
			}
			last[i].Store(&st)
			l.mergeOpen(ctx, st, mayMerge, merged)
		}
	}
}

// mergeOpen merges, as the owners, the pull requests of st's open waves
// that mayMerge lets go and are not in merged yet.
func (l *live) mergeOpen(ctx context.Context, st rollout.State, mayMerge func(wave int) bool, merged map[int]bool) {
	for _, w := range st.Waves {
		if w.Phase != rollout.WaveOpen || !w.AllUp() || !mayMerge(w.Number) {
			continue
		}
		for _, pr := range w.PRs {
			if pr.Status != rollout.PRStatusOpen || merged[pr.Number] {
				continue
			}
			if err := l.merge(ctx, pr); err != nil {
				if ctx.Err() == nil {
					l.t.Logf("merge #%d: %v (trying again)", pr.Number, err)
				}
				continue
			}
			merged[pr.Number] = true
		}
	}
}

// merge approves and merges a pull request as the first owner of its
// tenant.
func (l *live) merge(ctx context.Context, pr rollout.PRState) error {
	users := l.owners[pr.Tenant].Users
	if len(users) == 0 {
		return fmt.Errorf("tenant %s has no owner among users", pr.Tenant)
	}
	_, err := l.stack.MergeAsOwner(ctx, pr.Number, users[0], "")
	return err
}

// pull is one pull request of the fleet repository.
type pull struct {
	Number   int
	Campaign string
	Branch   string
	Wave     int
	Tenant   string
	Revert   bool
	Merged   bool
}

// pulls lists every pull request of the fleet repository, each of which
// must belong to a campaign of the run.
func (l *live) pulls(ctx context.Context) ([]pull, error) {
	all, err := l.stack.PullRequests(ctx)
	if err != nil {
		return nil, err
	}
	var out []pull
	for _, p := range all {
		c, w, tenant, revert, ok := wave.ParseAnyBranch(p.HeadRef)
		if !ok || !slices.ContainsFunc(l.campaigns, func(x campaign) bool { return x.name == c }) {
			return nil, fmt.Errorf("pull request #%d from %s is not one of the run's campaigns", p.Number, p.HeadRef)
		}
		out = append(out, pull{Number: p.Number, Campaign: c, Branch: p.HeadRef, Wave: w, Tenant: tenant, Revert: revert, Merged: p.Merged})
	}
	return out, nil
}

// runResult is what one run saw.
type runResult struct {
	wall  time.Duration
	kills map[moment]int
}

// disturbance is one blow to the replicas, returning the moment it struck
// at: it kills (and restarts) or pauses (and resumes) a replica.
type disturbance func(rng *rand.Rand) moment

// run pushes the campaigns and strikes blows times, a random 0.2 to 2 s
// apart, until every campaign Succeeded. Wave w's pull requests are merged
// only after w/waves of the blows, so they spread over the campaigns and
// the last wave merges after the last blow.
func (l *live) run(blows int, seed uint64, strike disturbance) runResult {
	t := l.t
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var struck atomic.Int64
	mayMerge := func(w int) bool { return struck.Load() >= int64(w*blows/waves) }
	last := make([]atomic.Pointer[rollout.State], len(l.campaigns))
	ownersCtx, stopOwners := context.WithCancel(ctx)
	ownersDone := make(chan struct{})
	go func() {
		defer close(ownersDone)
		l.playOwners(ownersCtx, mayMerge, last)
	}()
	defer func() {
		stopOwners()
		<-ownersDone
	}()

	began := time.Now()
	for _, c := range l.campaigns {
		require.NoError(t, l.stack.PushCampaign(ctx, c.name, c.src))
	}
	res := runResult{kills: map[moment]int{}}
	for k := range blows {
		select {
		case <-ctx.Done():
			t.Fatalf("blow %d of %d: %v; last states %s", k+1, blows, ctx.Err(), describe(last))
		case <-time.After(time.Duration(200+rng.IntN(1800)) * time.Millisecond):
		}
		l.checkUp()
		// Counted before it strikes: a blow waiting for the opening of
		// a pull request lets the wave before it merge meanwhile.
		struck.Add(1)
		res.kills[strike(rng)]++
	}
	for {
		ended := 0
		for i := range last {
			st := last[i].Load()
			if st == nil || !st.Phase.Final() && st.Phase != rollout.CampaignHalted {
				continue
			}
			require.Equal(t, rollout.CampaignSucceeded, st.Phase, "campaign %s ended %s: %s", st.Campaign, st.Phase, st.HaltReason)
			ended++
		}
		if ended == len(last) {
			break
		}
		l.checkUp()
		select {
		case <-ctx.Done():
			l.logTrouble()
			t.Fatalf("the campaigns did not end: %v; last states %s", ctx.Err(), describe(last))
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.wall = time.Since(began)
	return res
}

// checkUp fails the test when a replica's serve exited although the test
// did not kill it: a crash, which the other replica would otherwise hide
// by carrying the campaigns on.
func (l *live) checkUp() {
	for _, r := range l.replicas {
		p := r.running()
		if p == nil {
			continue
		}
		if gone := p.Gone(); gone != "" {
			l.t.Fatalf("replica %s: serve exited on its own%s", r.name, gone)
		}
	}
}

// logTrouble logs the last warnings and errors of each replica, which say
// why a campaign did not move.
func (l *live) logTrouble() {
	for i, r := range l.replicas {
		var trouble []string
		for _, line := range r.logs() {
			if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
				trouble = append(trouble, line)
			}
		}
		l.t.Logf("replica %d: %d warnings and errors, the last %d:\n%s", i, len(trouble), min(len(trouble), 40),
			strings.Join(trouble[max(0, len(trouble)-40):], "\n"))
	}
	// A campaign that does not move while no replica complains may be a
	// step blocked while its lease is kept: the stacks of the bot's
	// goroutines say where (SIGQUIT makes a Go program print them and
	// exit).
	for i, r := range l.replicas {
		p := r.running()
		if p == nil {
			continue
		}
		_ = syscall.Kill(p.PID, syscall.SIGQUIT)
		select {
		case <-p.Exited():
		case <-time.After(10 * time.Second):
			l.t.Logf("replica %d did not exit on SIGQUIT", i)
			continue
		}
		l.t.Logf("replica %d: the bot's goroutines at the end:\n%s", i, botStacks(p.Lines(), 800))
	}
}

// botStacks keeps, of a Go program's goroutine dump among lines, the
// goroutines whose stacks pass through fleetbot's own packages, at most
// limit lines.
func botStacks(lines []string, limit int) string {
	var out, goroutine []string
	ours := false
	flush := func() {
		if ours {
			out = append(out, goroutine...)
		}
		goroutine, ours = nil, false
	}
	for _, line := range lines {
		if strings.HasPrefix(line, "goroutine ") {
			flush()
		}
		if strings.HasPrefix(line, "{") {
			continue // a log line
		}
		goroutine = append(goroutine, line)
		ours = ours || strings.Contains(line, "github.com/fleetbot/fleetbot/")
	}
	flush()
	return strings.Join(out[:min(len(out), limit)], "\n")
}

// killing kills victim at a random moment (at a random time, inside a
// fetch or inside the opening of a pull request, each a third of the time)
// and starts it again after up to 300 ms. A moment that does not come
// within 5 s becomes a random one.
func (l *live) killing(victim *replica) disturbance {
	return func(rng *rand.Rand) moment {
		m := []moment{atRandom, inFetch, inOpen}[rng.IntN(3)]
		if m == atRandom {
			victim.kill()
		} else {
			struck := l.arm(m, victim)
			select {
			case <-struck:
			case <-time.After(5 * time.Second):
				if l.disarm() {
					<-struck // it came meanwhile
				} else {
					m = atRandom
					victim.kill()
				}
			}
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		victim.start(l.t)
		return m
	}
}

// describe says where the campaigns stand, for a failure message.
func describe(last []atomic.Pointer[rollout.State]) string {
	var out []string
	for i := range last {
		out = append(out, describeOne(last[i].Load()))
	}
	return strings.Join(out, "\n")
}

func describeOne(st *rollout.State) string {
	if st == nil {
		return "none read"
	}
	out := st.Campaign + " " + string(st.Phase)
	for _, w := range st.Waves {
		out += fmt.Sprintf("; wave %d %s", w.Number, w.Phase)
		for _, pr := range w.PRs {
			out += fmt.Sprintf(" #%d(%s %s)", pr.Number, pr.Tenant, pr.Status)
		}
	}
	return out
}

// checkEnd checks the end of a run as people would see it: exactly one
// pull request per tenant per wave, all merged, no revert; each cluster
// edited by one merge commit; EKS reports every cluster at the target.
func (l *live) checkEnd() {
	t := l.t
	t.Helper()
	pulls, err := l.pulls(t.Context())
	require.NoError(t, err)
	want := map[string]bool{}
	for _, c := range l.campaigns {
		for _, w := range c.plan.Waves {
			for _, pr := range w.PullRequests {
				want[fmt.Sprintf("%s wave %d %s", c.name, w.Index, pr.Tenant)] = true
			}
		}
	}
	got := map[string][]int{}
	for _, p := range pulls {
		require.False(t, p.Revert, "revert pull request #%d", p.Number)
		require.True(t, p.Merged, "pull request #%d (%s) is not merged", p.Number, p.Branch)
		k := fmt.Sprintf("%s wave %d %s", p.Campaign, p.Wave, p.Tenant)
		got[k] = append(got[k], p.Number)
	}
	for k, nums := range got {
		require.True(t, want[k], "pull requests %v of %s, which the plan does not have", nums, k)
		require.Len(t, nums, 1, "%s has pull requests %v", k, nums)
	}
	require.Len(t, got, len(want), "pull requests: %v", got)

	edits := map[string]int{}
	for _, e := range l.sim.Events() {
		if strings.HasPrefix(e.What, "changed version") {
			edits[e.Cluster]++
		}
	}
	for _, camp := range l.campaigns {
		for _, w := range camp.plan.Waves {
			for _, c := range w.Clusters {
				require.Equal(t, 1, edits[c.Name], "cluster %s edited %d times", c.Name, edits[c.Name])
				cl := l.clusters[c.Name]
				ec, ok := l.eks.Cluster(cl.Account, cl.Region, c.Name)
				require.True(t, ok, "EKS has no cluster %s", c.Name)
				require.Equal(t, "1.30", ec.Version, "cluster %s", c.Name)
			}
		}
	}
}

// TestBotStacks: of a goroutine dump, the goroutines through fleetbot's
// packages are kept, log lines and the runtime's own goroutines left out.
func TestBotStacks(t *testing.T) {
	t.Parallel()
	dump := []string{
		`{"level":"INFO","msg":"reconcile"}`,
		"SIGQUIT: quit",
		"goroutine 1 [select]:",
		"runtime.gopark(...)",
		"goroutine 7 [semacquire, 3 minutes]:",
		"sync.(*Mutex).Lock(...)",
		"github.com/fleetbot/fleetbot/bot.(*Bot).step(...)",
		"",
		"goroutine 9 [IO wait]:",
		"internal/poll.runtime_pollWait(...)",
	}
	assert.Equal(t, "goroutine 7 [semacquire, 3 minutes]:\nsync.(*Mutex).Lock(...)\ngithub.com/fleetbot/fleetbot/bot.(*Bot).step(...)\n", botStacks(dump, 100))
	assert.Equal(t, "goroutine 7 [semacquire, 3 minutes]:", botStacks(dump, 1))
}
