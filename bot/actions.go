package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// act carries out one action of the machine.
func (r *run) act(ctx context.Context, a rollout.Action) error {
	switch a := a.(type) {
	case rollout.OpenWave:
		revert := a.Wave >= 1 && a.Wave <= len(r.st.Waves) && r.st.Waves[a.Wave-1].Kind == rollout.WaveRevert
		// The wave's pull requests are opened on one head of each
		// repository, read once; the next wave's reads it again.
		clear(r.bases)
		if !revert {
			return r.openWave(ctx, a.Wave, a.PRs)
		}
		var errs []error
		for _, req := range a.PRs {
			errs = append(errs, r.revertPR(ctx, a.Wave, req))
		}
		return errors.Join(errs...)
	case rollout.ClosePRs:
		return r.closePRs(ctx, a)
	case rollout.PostReport:
		return r.posted(ctx, a.Seq, r.comment(ctx, a.Wave, reportComment(r.name, a)))
	case rollout.RequestApproval:
		return r.posted(ctx, a.Seq, r.comment(ctx, a.On, approvalComment(r.name, a)))
	case rollout.RunGates:
		return r.runGates(ctx, a.Wave, a.Clusters)
	case rollout.RunPreflight:
		return r.runPreflight(ctx, a.Wave, a.Clusters)
	}
	return fmt.Errorf("unknown action %T", a)
}

// opened is what became of one tenant's pull request of a wave on GitHub.
type opened struct {
	req  rollout.PRRequest
	h    headRef
	repo repoName
	res  wave.Result
	err  error
	// unsent is true when err came before anything was asked of GitHub.
	unsent bool
}

// openWave makes the pull requests of machine wave n exist, on each base
// branch's head as GitHub reports it now, and feeds back what became of
// them. Up to OpenConcurrency are put on GitHub at once, from one checkout
// and one inventory per repository; each opens its pull request in its
// turn, so their numbers follow the plan's order; what became of them is
// fed in that order too.
func (r *run) openWave(ctx context.Context, n int, reqs []rollout.PRRequest) error {
	c, err := r.rec.campaign()
	if err != nil {
		return fmt.Errorf("stored campaign file: %w", err)
	}
	out := make([]opened, len(reqs))
	turns := newTurns(len(reqs))
	limit := make(chan struct{}, r.b.cfg.OpenConcurrency)
	warm := map[string]bool{}
	var wg sync.WaitGroup
	for i, req := range reqs {
		out[i].req = req
		// The heads are read here, one at a time, before anything is
		// put on GitHub: the opening ones share them.
		var pr rollout.PullRequest
		var planWave int
		pr, planWave, out[i].repo, out[i].h, out[i].err = r.tenantBase(ctx, n, req.Tenant)
		if out[i].err == nil {
			select {
			case limit <- struct{}{}:
			case <-ctx.Done():
				out[i].err = ctx.Err()
			}
		}
		if out[i].err != nil {
			out[i].unsent = true
			turns.pass(i)
			continue
		}
		if h := out[i].h; !warm[h.cloneURL+"@"+h.sha] {
			// One checkout and inventory load per head, before the
			// pull requests that share it (a failure is theirs to tell).
			warm[h.cloneURL+"@"+h.sha] = true
			_ = r.b.withCheckout(ctx, []headRef{h}, func(dirs []string) error {
				_, err := r.b.inventory(ctx, dirs)
				return err
			})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-limit }()
			defer turns.pass(i)
			o := &out[i]
			// A panic here would stop the process, where the same one in
			// the caller's goroutine is the delivery's or the pass's error.
			// The stack goes to the log; the error is shown to people.
			defer func() {
				if p := recover(); p != nil {
					o.err = r.b.panicked(panicOpen, "opening the pull request", p, debug.Stack(), "campaign", r.name, "wave", n, "tenant", req.Tenant)
				}
			}()
			o.res, o.err = r.ensure(ctx, c, n, planWave, pr, req, o.h, turns.in(i))
		}()
	}
	wg.Wait()
	errs := make([]error, 0, len(out))
	for _, o := range out {
		if o.unsent {
			errs = append(errs, &tenantError{n, o.req.Tenant, o.err})
			continue
		}
		errs = append(errs, r.record(ctx, n, o))
	}
	return errors.Join(errs...)
}

// ensure puts one tenant's pull request of machine wave n on GitHub on h.
func (r *run) ensure(ctx context.Context, c *rollout.Campaign, n, planWave int, pr rollout.PullRequest, req rollout.PRRequest, h headRef, inTurn func(func() error) error) (wave.Result, error) {
	clusters := req.Clusters
	if r.st.Waves[n-1].Kind == rollout.WaveCleanup {
		clusters = nil // a clean-up changes files, not clusters: all its edits apply
	}
	var res wave.Result
	err := r.b.withCheckout(ctx, []headRef{h}, func(dirs []string) error {
		inv, err := r.b.inventory(ctx, dirs)
		if err != nil {
			return fmt.Errorf("load inventory of %s: %w", h.repo, err)
		}
		owns, owners := prOwners(inv, dirs[0], pr)
		res, err = r.b.cfg.Ensure(ctx, h.api, wave.Request{
			Campaign:   c,
			Plan:       r.rec.Plan,
			Wave:       planWave,
			PR:         pr.For(clusters), // a held-back or skipped cluster's edits stay out
			Clusters:   clusters,
			Owner:      h.repo.Owner,
			Repo:       h.repo.Name,
			BaseBranch: h.branch,
			BaseSHA:    h.sha,
			BaseTree:   r.b.baseTree(ctx, h),
			RepoID:     h.nodeID,
			Read:       gitops.DirReader(dirs[0]),
			Owns:       owns,
			Reviewers:  owners,
			Gates:      r.st.WaveGates(n), // a clean-up or blue-green step's, not the campaign's
			Preflight:  r.preflightSaid(n, clusters),
			Attempt:    req.Attempt,
			Labels:     r.b.cfg.Labels,
			InTurn:     inTurn,
		})
		return err
	})
	return res, err
}

// tenantError is what kept one tenant's pull request of wave n from
// going up.
type tenantError struct {
	wave   int
	tenant string
	err    error
}

func (e *tenantError) Error() string {
	return fmt.Sprintf("wave %d, tenant %s: %v", e.wave, e.tenant, e.err)
}

func (e *tenantError) Unwrap() error { return e.err }

// record feeds back what became of one tenant's pull request.
func (r *run) record(ctx context.Context, n int, o opened) error {
	req, h, repo, res, err := o.req, o.h, o.repo, o.res, o.err
	log := r.b.log.With("campaign", r.name, "wave", n, "tenant", req.Tenant)
	switch {
	case errors.Is(err, wave.ErrClosed):
		log.Info("wave pull request was closed without merge", "number", res.Number)
		return r.feed(ctx, rollout.PRClosed{Wave: n, Tenant: req.Tenant, Number: res.Number})
	case errors.Is(err, wave.ErrNoChange):
		// The base holds the change already (someone merged it by hand):
		// that commit is where it landed.
		log.Info("the base branch already holds the change; recorded as merged there", "sha", h.sha)
		return r.feed(ctx, rollout.PRMerged{Wave: n, Tenant: req.Tenant, SHA: h.sha})
	case err != nil && res.Number > 0 && len(res.Kept) > 0:
		// Every planned file of an open pull request changed by hand: it
		// cannot be regenerated, and a person decides (skip its clusters,
		// or close it and retry once the plan is right).
		t := prTarget{api: h.api, repo: repo, number: res.Number}
		return errors.Join(&tenantError{n, req.Tenant, err}, r.upsertComment(ctx, t, setupComment(r.name, h.branch, h.sha, req.Clusters, res)))
	case err != nil:
		return &tenantError{n, req.Tenant, err}
	case res.Merged:
		return r.feedMerged(ctx, h, n, req.Tenant, res.Number)
	}
	// A new commit, or the first pull request of its branch: no check run
	// can be on the head yet (a retry's may reuse its branch's commit).
	r.sawHead(n, req.Tenant, res.Number, res.HeadSHA, res.Regenerated || (res.Opened && req.Attempt <= 1))
	log.Info("wave pull request up", "number", res.Number, "url", res.URL, "opened", res.Opened, "regenerated", res.Regenerated, "calls", res.Calls)
	for _, s := range res.Skipped {
		log.Warn("a reviewer was not asked", "number", res.Number, "reviewer", s)
	}
	var errs []error
	// Owners not asked are known only when the setup ran: at the opening,
	// or a later pass that finished it.
	if res.Regenerated || (res.Opened && len(res.Kept) > 0) || len(res.Skipped) > 0 {
		for _, k := range res.Kept {
			log.Warn("a file changed by hand since the plan is left as it is", "file", k.Path, "reason", k.Reason)
		}
		t := prTarget{api: h.api, repo: repo, number: res.Number}
		errs = append(errs, r.upsertComment(ctx, t, setupComment(r.name, h.branch, h.sha, req.Clusters, res)))
	}
	errs = append(errs, r.feed(ctx, rollout.PROpened{Wave: n, Tenant: req.Tenant, Number: res.Number}))
	return errors.Join(errs...)
}

// turns orders the opening of a wave's pull requests: the i-th opens
// once every earlier one has opened its own or given up.
type turns struct {
	done []chan struct{}
	once []sync.Once
}

func newTurns(n int) *turns {
	t := &turns{done: make([]chan struct{}, n), once: make([]sync.Once, n)}
	for i := range t.done {
		t.done[i] = make(chan struct{})
	}
	return t
}

// pass ends the i-th turn; passing it again does nothing.
func (t *turns) pass(i int) { t.once[i].Do(func() { close(t.done[i]) }) }

// in returns the i-th request's wave.Request.InTurn: it waits for the
// turn before, runs open, and passes the turn on.
func (t *turns) in(i int) func(open func() error) error {
	return func(open func() error) error {
		if i > 0 {
			<-t.done[i-1]
		}
		defer t.pass(i)
		return open()
	}
}

// feedMerged feeds the merge of pull request number, found merged on
// GitHub, with its merge commit.
func (r *run) feedMerged(ctx context.Context, h headRef, n int, tenant string, number int) error {
	// GET /repos/{owner}/{repo}/pulls/{pull_number}
	// https://docs.github.com/rest/pulls/pulls#get-a-pull-request
	p, err := h.api.PullRequest(ctx, h.repo.Owner, h.repo.Name, number)
	if err != nil {
		return fmt.Errorf("read merged pull request #%d: %w", number, err)
	}
	return r.feed(ctx, rollout.PRMerged{Wave: n, Tenant: tenant, Number: number, SHA: p.MergeCommitSHA})
}

// prTarget is one pull request of the campaign on GitHub.
type prTarget struct {
	api    prClient
	repo   repoName
	number int
}

// wavePRs finds the pull requests of machine wave n on GitHub: by number
// when the state knows it, else by the branch the bot names.
func (r *run) wavePRs(ctx context.Context, n int, refs []rollout.PRRef, state string) ([]prTarget, error) {
	var out []prTarget
	for _, ref := range refs {
		pr, _, _, err := r.rec.pullRequest(r.st, n, ref.Tenant)
		if err != nil {
			return out, err
		}
		branch, err := r.rec.branch(r.st, n, ref.Tenant)
		if err != nil {
			return out, err
		}
		repo, err := parseRepo(pr.Repo)
		if err != nil {
			return out, err
		}
		api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
		if err != nil {
			return out, err
		}
		if ref.Number > 0 {
			out = append(out, prTarget{api, repo, ref.Number})
			continue
		}
		// GET /repos/{owner}/{repo}/pulls
		// https://docs.github.com/rest/pulls/pulls#list-pull-requests
		prs, err := api.PullRequests(ctx, repo.Owner, repo.Name, gh.PullRequestFilter{State: state, Head: repo.Owner + ":" + branch})
		if err != nil {
			return out, fmt.Errorf("find the pull request of branch %s: %w", branch, err)
		}
		for _, p := range prs {
			out = append(out, prTarget{api, repo, p.Number})
		}
	}
	return out, nil
}

// closePRs closes a wave's unmerged pull requests with a comment saying
// why. A pull request already closed is left alone, so a repeat is harmless.
func (r *run) closePRs(ctx context.Context, a rollout.ClosePRs) error {
	targets, err := r.wavePRs(ctx, a.Wave, a.PRs, "open")
	errs := []error{err}
	closed := "closed"
	for _, t := range targets {
		// GET /repos/{owner}/{repo}/pulls/{pull_number}
		// https://docs.github.com/rest/pulls/pulls#get-a-pull-request
		p, err := t.api.PullRequest(ctx, t.repo.Owner, t.repo.Name, t.number)
		if err != nil {
			errs = append(errs, fmt.Errorf("read pull request #%d: %w", t.number, err))
			continue
		}
		if p.State == "closed" {
			continue
		}
		if err := r.upsertComment(ctx, t, closeComment(r.name, a)); err != nil {
			errs = append(errs, err)
			continue
		}
		// PATCH /repos/{owner}/{repo}/pulls/{pull_number}
		// https://docs.github.com/rest/pulls/pulls#update-a-pull-request
		if _, err := t.api.EditPullRequest(ctx, t.repo.Owner, t.repo.Name, t.number, gh.PullRequestEdit{State: &closed}); err != nil {
			errs = append(errs, fmt.Errorf("close pull request #%d: %w", t.number, err))
		}
	}
	return errors.Join(errs...)
}

// openedRefs lists the pull requests of a wave the state knows of.
func openedRefs(w rollout.WaveState) []rollout.PRRef {
	var refs []rollout.PRRef
	for _, pr := range w.PRs {
		if pr.Status != rollout.PRStatusPending {
			refs = append(refs, rollout.PRRef{Tenant: pr.Tenant, Number: pr.Number})
		}
	}
	return refs
}

// posted tells the machine that post seq (a report or an approval
// request it keeps until then, rollout.Post) is on its pull requests,
// when err says it is; until then every step asks for it again.
func (r *run) posted(ctx context.Context, seq int, err error) error {
	if err != nil || seq == 0 {
		return err
	}
	return r.feed(ctx, rollout.Posted{Seq: seq})
}

// comment puts body in the bot's status comment of every pull request of
// machine wave n, or, for n 0 (before any pull request, as when the first
// wave waits for an approval), of the campaign's dashboard issue, opened
// first when it has none.
func (r *run) comment(ctx context.Context, n int, body string) error {
	if n == 0 {
		t, ok, err := r.dashboardTarget(ctx)
		if err != nil || !ok {
			if err == nil {
				r.b.log.Info("no pull request and no dashboard issue to comment on; the report is in the log only", "campaign", r.name, "report", body)
			}
			return err
		}
		return r.upsertComment(ctx, t, body)
	}
	targets, err := r.wavePRs(ctx, n, openedRefs(r.st.Waves[n-1]), "all")
	errs := []error{err}
	for _, t := range targets {
		errs = append(errs, r.upsertComment(ctx, t, body))
	}
	return errors.Join(errs...)
}

// upsertComment edits the comment carrying the bot's status marker, or
// creates it, so a pull request holds one status comment however often the
// bot reports.
func (r *run) upsertComment(ctx context.Context, t prTarget, body string) error {
	return upsertMarked(ctx, t, statusMarker(r.name), body, true)
}

// upsertMarked edits the comment whose first line is marker to say body,
// or, when there is none and create says so, posts it. body starts with
// marker; one longer than GitHub takes is cut, the marker kept.
func upsertMarked(ctx context.Context, t prTarget, marker, body string, create bool) error {
	body = clipAt(body, maxIssueBody)
	// GET /repos/{owner}/{repo}/issues/{issue_number}/comments
	// https://docs.github.com/rest/issues/comments#list-issue-comments
	comments, err := t.api.Comments(ctx, t.repo.Owner, t.repo.Name, t.number)
	if err != nil {
		return fmt.Errorf("list comments of #%d: %w", t.number, err)
	}
	for _, c := range comments {
		if hasMarker(c.Body, marker) {
			if c.Body == body {
				return nil
			}
			// PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}
			// https://docs.github.com/rest/issues/comments#update-an-issue-comment
			_, err := t.api.EditComment(ctx, t.repo.Owner, t.repo.Name, c.ID, body)
			if err != nil {
				return fmt.Errorf("edit comment %d on #%d: %w", c.ID, t.number, err)
			}
			return nil
		}
	}
	if !create {
		return nil
	}
	// POST /repos/{owner}/{repo}/issues/{issue_number}/comments
	// https://docs.github.com/rest/issues/comments#create-an-issue-comment
	if _, err := t.api.CreateComment(ctx, t.repo.Owner, t.repo.Name, t.number, body); err != nil {
		return fmt.Errorf("comment on #%d: %w", t.number, err)
	}
	return nil
}

// tenantBase finds a tenant's planned pull request of machine wave n, the
// plan's wave index, its repository, and the base branch's head as GitHub
// reports it now.
func (r *run) tenantBase(ctx context.Context, n int, tenant string) (rollout.PullRequest, int, repoName, headRef, error) {
	pr, planWave, _, err := r.rec.pullRequest(r.st, n, tenant)
	if err != nil {
		return pr, 0, repoName{}, headRef{}, err
	}
	repo, err := parseRepo(pr.Repo)
	if err != nil {
		return pr, 0, repoName{}, headRef{}, err
	}
	h, ok := r.bases[repo]
	if !ok {
		if h, err = r.b.head(ctx, repo); err != nil {
			return pr, planWave, repo, h, err
		}
		if r.bases == nil {
			r.bases = map[repoName]headRef{}
		}
		r.bases[repo] = h
	}
	return pr, planWave, repo, h, nil
}

// gates returns the campaign's gates.
func (r *run) gates() (Gates, error) {
	c, err := r.rec.campaign()
	if err != nil {
		return nil, fmt.Errorf("stored campaign file: %w", err)
	}
	return r.b.gatesFor(r.name, c)
}

// runGates asks the gate runner about clusters of machine wave n and feeds
// the results back.
func (r *run) runGates(ctx context.Context, n int, clusters []string) error {
	gates, err := r.gates()
	if err != nil {
		return err
	}
	targets, of, err := r.gateTargets(n, clusters)
	if err != nil {
		return err
	}
	use := r.st.WaveGates(n)
	for i := range targets {
		targets[i].Gates = use // a clean-up's or a blue-green step's gates alone are asked
	}
	return r.feed(ctx, r.gateEvents(n, of, gates.Run(ctx, targets), use)...)
}

// runPreflight asks EKS whether clusters of machine wave n are ready for
// the wave's target, before they go into a pull request, and feeds the
// answers back.
func (r *run) runPreflight(ctx context.Context, n int, clusters []string) error {
	c, err := r.rec.campaign()
	if err != nil {
		return fmt.Errorf("stored campaign file: %w", err)
	}
	check, err := r.b.preflightFor(r.name, c)
	if err != nil {
		return err
	}
	targets, of, err := r.gateTargets(n, clusters)
	if err != nil {
		return err
	}
	return r.feed(ctx, r.gateEvents(n, of, check.Run(ctx, targets), []string{rollout.GatePreflight})...)
}

// gateEvents turns the results of the gates named in use into the
// machine's events, counting them; a provider error is a waiting result
// that keeps the error as what the gate saw. of maps the cluster a gate
// looked at to the wave's cluster it speaks for (a green cluster to its
// blue one).
func (r *run) gateEvents(n int, of map[string]string, results []gate.Result, use []string) []rollout.Event {
	evs := make([]rollout.Event, 0, len(results))
	for _, res := range results {
		if !slices.Contains(use, res.Gate) {
			continue // a gate the runner has that this wave does not use
		}
		r.b.metrics.gateResults.WithLabelValues(res.Gate, string(res.Outcome)).Inc()
		detail := res.Detail
		if res.Err != nil {
			// A provider error proves nothing either way: the cluster
			// waits, and the error is kept as what the gate saw.
			r.b.metrics.gateErrors.WithLabelValues(res.Gate).Inc()
			detail = "provider error: " + res.Err.Error()
			// A gate's panic (the runner recovered it) is a bug too.
			if pe := (*gate.PanicError)(nil); errors.As(res.Err, &pe) {
				_ = r.b.panicked(panicGate, "gate "+pe.Gate, pe.Value, pe.Stack, "campaign", r.name, "wave", n, "cluster", res.Cluster)
			}
		}
		cluster := res.Cluster
		if c, ok := of[cluster]; ok && c != cluster {
			cluster = c
			detail = res.Cluster + ": " + detail
		}
		evs = append(evs, rollout.GateResult{Wave: n, Cluster: cluster, Gate: res.Gate, Outcome: res.Outcome, Detail: evidenceDetail(detail, res.Evidence)})
	}
	return evs
}

// gateTargets describes the clusters of machine wave n for the gates: the
// merge commit of each one's pull request, the cluster to look at (the
// green one of a blue-green step) and what it should now run (the wave's
// target; the value before the campaign once a revert merged; the value
// the campaign set, unchanged, after a clean-up) or that it should be
// gone. of maps each cluster looked at to the wave's cluster.
func (r *run) gateTargets(n int, clusters []string) (targets []gate.Target, of map[string]string, err error) {
	pw, revert, err := r.rec.planWave(r.st, n)
	if err != nil {
		return nil, nil, err
	}
	w := r.st.Waves[n-1]
	change := r.rec.Plan.Change
	of = map[string]string{}
	var out []gate.Target
	for _, name := range clusters {
		wc, sub, ok := r.rec.Plan.GateSubject(pw.Index, name, revert)
		j := slices.IndexFunc(w.Clusters, func(c rollout.ClusterState) bool { return c.Name == name })
		if !ok || j < 0 {
			return nil, nil, fmt.Errorf("wave %d has no cluster %s", n, name)
		}
		value := sub.Value
		of[sub.Cluster] = name
		key := w.Clusters[j].Tenant // the pull request that carries it
		t := gate.Target{
			Campaign: r.name, Cluster: sub.Cluster, Tenant: wc.Tenant, Env: wc.Env, Fleet: wc.Fleet,
			Region: r.rec.Clusters[name].Region, Account: r.rec.Clusters[name].Account,
			Change: change.Kind, Gone: sub.Gone, New: sub.New, Traffic: sub.Traffic,
		}
		for _, pr := range w.PRs {
			if pr.Tenant == key {
				t.MergeSHA, t.MergedAt = pr.SHA, pr.MergedAt
			}
		}
		if pr, _, _, err := r.rec.pullRequest(r.st, n, key); err == nil {
			t.Repo = pr.Repo
		}
		switch change.Kind {
		case rollout.KindEKSVersion:
			t.Version = value
			if sub.New {
				t.Labels = r.rec.Clusters[name].Labels // the green one carries the blue one's
			}
		case rollout.KindLabel:
			t.Labels = map[string]string{change.Key: value}
		}
		out = append(out, t)
	}
	return out, of, nil
}

// preflightSaid returns what the pre-flight check last said of each of
// clusters in machine wave n that it answered, without the evidence.
func (r *run) preflightSaid(n int, clusters []string) map[string]string {
	out := map[string]string{}
	for _, c := range r.st.Waves[n-1].Clusters {
		if rec, ok := c.Gates[rollout.GatePreflight]; ok && slices.Contains(clusters, c.Name) {
			out[c.Name] = rollout.GateSentence(rec.Detail)
		}
	}
	return out
}

// evidenceDetail appends what a gate saw to its detail, so the cluster's
// evidence keeps it: which check, which revision, which value. Every
// piece of evidence names its check, so each group starts with
// rollout.EvidenceMark, where rollout.GateSentence cuts.
func evidenceDetail(detail string, ev []gate.Evidence) string {
	parts := []string{}
	if detail != "" {
		parts = append(parts, detail)
	}
	for _, e := range ev {
		var kv []string
		for _, f := range [][2]string{{"check", e.Check}, {"revision", e.Revision}, {"value", e.Value}, {"source", e.Source}} {
			if f[1] != "" {
				kv = append(kv, f[0]+"="+f[1])
			}
		}
		if len(kv) > 0 {
			parts = append(parts, "["+strings.Join(kv, " ")+"]")
		}
	}
	return strings.Join(parts, " ")
}

// prOwners returns who owns pull request pr in repo (a checkout given to
// gitops.Load) by the layout there: the files it may change and who
// reviews it. A tenant's pull request may change the tenant's files, its
// owners review it; the fleet admins' may change the files no single tenant
// owns, and they review it.
func prOwners(inv *gitops.Inventory, repo string, pr rollout.PullRequest) (func(path string) bool, wave.Owners) {
	var o gitops.Owners
	l := inv.Layouts[repo]
	if pr.Admin {
		if l != nil {
			o = l.Admins
		}
		return wave.AdminFiles(inv, repo), wave.Owners{Users: o.Users, Teams: o.Teams}
	}
	if l != nil {
		o = l.Owners[pr.Tenant]
	}
	return wave.TenantFiles(inv, repo, pr.Tenant), wave.Owners{Users: o.Users, Teams: o.Teams}
}

// inventory loads the inventory of checkouts dirs, once for each set of
// them: a checkout is one commit's tree, so the pull requests of a wave,
// opened on one head, share one load.
func (b *Bot) inventory(ctx context.Context, dirs []string) (*gitops.Inventory, error) {
	key := strings.Join(dirs, "\x00")
	b.mu.Lock()
	inv, ok := b.inventories[key]
	b.mu.Unlock()
	if ok {
		return inv, nil
	}
	inv, err := gitops.Load(ctx, dirs)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.inventories) >= maxInventories {
		clear(b.inventories) // the heads moved on; the next loads refill it
	}
	b.inventories[key] = inv
	return inv, nil
}

// maxInventories bounds the inventories kept: a few heads' worth.
const maxInventories = 8
