package demo

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/rollout"
)

// haltHold is how long, in wall-clock time, the demo leaves a halted
// campaign alone before it checks that no later wave opened: several of the
// bot's reconcile passes, each of which would open the next wave if the
// halt did not hold it.
const haltHold = 800 * time.Millisecond

// Pull is one pull request of the campaign as the sandbox lists it.
type Pull struct {
	Number int
	Branch string
	// Wave is the plan's wave the pull request changes, or, for a revert,
	// the wave it reverts (Revert is then true).
	Wave   int
	Revert bool
	Tenant string
	Merged bool
	// Body is the pull request's description.
	Body string
}

// Halt is what the demo saw when the campaign halted: the state and every
// pull request of the campaign that existed then.
type Halt struct {
	Wave  int
	State rollout.State
	Pulls []Pull
	// Reports are the bot's halt reports on the halted wave's pull
	// requests, by number: what the tenant owners read there.
	Reports map[int]string
	// Dashboard is the body of the campaign's dashboard issue at the halt:
	// what a fleet admin reads there.
	Dashboard string
}

// review approves and merges, as one of the tenant's owners, each pull
// request of an open wave once the bot has opened all of the wave's pull
// requests; the owners take reviewDelay (on the simulated clock) to get to
// a wave.
func (d *demo) review(ctx context.Context, st rollout.State) error {
	for _, w := range st.Waves {
		if w.Phase != rollout.WaveOpen || !w.AllUp() {
			continue
		}
		var todo []rollout.PRState
		for _, pr := range w.PRs {
			if pr.Status != rollout.PRStatusOpen || d.merged[pr.Number] {
				continue
			}
			asked, err := d.retryHeld(ctx, w, pr)
			if err != nil {
				return err
			}
			if !asked {
				todo = append(todo, pr)
			}
		}
		if len(todo) == 0 {
			continue
		}
		if !d.reviewed[w.Number] {
			if err := d.clock.Sleep(ctx, reviewDelay); err != nil {
				return err
			}
			d.reviewed[w.Number] = true
		}
		for _, pr := range todo {
			if err := d.merge(ctx, pr); err != nil {
				return err
			}
		}
	}
	return nil
}

// retryHeld, under Options.RetryHeld, fixes the cause of each cluster of
// pr's tenant that pre-flight held back in wave w and asks for its retry
// with a `/fleet retry` comment on pr, as the tenant's owner. It reports
// whether the owners wait: they review pr once every such cluster joined
// it.
func (d *demo) retryHeld(ctx context.Context, w rollout.WaveState, pr rollout.PRState) (bool, error) {
	if !d.opts.RetryHeld {
		return false, nil
	}
	asked := false
	for _, c := range w.Clusters {
		to := d.s.hold[c.Name]
		if c.Tenant != pr.Tenant || to == "" {
			continue
		}
		if d.retried[c.Name] {
			// The owners review once the cluster is in the pull request.
			asked = asked || c.Phase != rollout.ClusterInPR
			continue
		}
		if c.FailedGate != rollout.GatePreflight {
			continue
		}
		d.setHold(c.Name, insightPassing)
		who := d.s.reviewer(pr.Tenant, pr.Number)
		// https://docs.github.com/rest/issues/comments#create-an-issue-comment
		path := fmt.Sprintf("/repos/%s/%s/issues/%d/comments", owner, repo, pr.Number)
		if _, err := d.stack.Do(ctx, http.MethodPost, path, who, map[string]any{"body": "/fleet retry " + c.Name}, nil); err != nil {
			return false, fmt.Errorf("comment /fleet retry %s on #%d: %w", c.Name, pr.Number, err)
		}
		d.retried[c.Name] = true
		asked = true
		d.out.line(d.clock.Now(), "%s: its callers moved off the removed API; %s asked `/fleet retry %s` on #%d", c.Name, who, c.Name, pr.Number)
	}
	return asked, nil
}

// merge approves and merges one pull request as an owner of its tenant.
func (d *demo) merge(ctx context.Context, pr rollout.PRState) error {
	who := d.s.reviewer(pr.Tenant, pr.Number)
	sha, err := d.stack.MergeAsOwner(ctx, pr.Number, who, "Looks good: one minor version, our clusters only.")
	if err != nil {
		return err
	}
	d.merged[pr.Number] = true
	d.out.line(d.clock.Now(), "#%d %s: approved and merged by %s (merge commit %s)", pr.Number, pr.Tenant, who, short(sha))
	return nil
}

// reviewer picks the owner who reviews a tenant's pull request, taking the
// tenant's users in turn.
func (s *setup) reviewer(tenant string, number int) string {
	users := s.owners[tenant].Users
	if tenant == wave.AdminTenant {
		users = []string{s.admin}
	}
	return users[number%len(users)]
}

// overcome handles a halt: it must come from clusters the demo made fail
// or held back. It waits a few reconcile passes, checks that no pull
// request of a later wave exists, then skips the failed clusters, fixes and
// retries the held ones, and resumes the campaign, as a fleet admin would
// through `/fleet skip`, `/fleet retry` and `/fleet resume`.
func (d *demo) overcome(ctx context.Context, st rollout.State) error {
	name := st.Campaign
	fs := st.Failures()
	if len(fs) == 0 {
		return fmt.Errorf("campaign %s halted: %s", name, st.HaltReason)
	}
	haltWave := 0
	for _, f := range fs {
		held := d.s.hold[f.Cluster] != "" && f.Gate == rollout.GatePreflight
		if !d.s.fail[f.Cluster] && !held {
			return fmt.Errorf("campaign %s halted: %s: cluster %s of wave %d is %s (%s: %s)",
				name, st.HaltReason, f.Cluster, f.Wave, f.Phase, orNone(f.Gate), orNone(f.Detail))
		}
		haltWave = max(haltWave, f.Wave)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(haltHold):
	}
	st, _, err := d.stack.State(ctx, name)
	if err != nil {
		return err
	}
	d.out.observe(st)
	if st.Phase != rollout.CampaignHalted {
		return fmt.Errorf("campaign %s left its halt by itself: it is %s", name, st.Phase)
	}
	pulls, err := d.pulls(ctx, name)
	if err != nil {
		return err
	}
	for _, p := range pulls {
		if p.Wave > haltWave {
			return fmt.Errorf("campaign %s is halted at wave %d, yet pull request #%d of wave %d exists", name, haltWave, p.Number, p.Wave)
		}
	}
	reports, err := d.haltReports(ctx, pulls, haltWave)
	if err != nil {
		return err
	}
	dashboard, err := d.dashboard(ctx, name)
	if err != nil {
		return err
	}
	d.halts = append(d.halts, Halt{Wave: haltWave, State: st, Pulls: pulls, Reports: reports, Dashboard: dashboard})
	d.out.line(d.clock.Now(), "halt holds: %d pull requests exist, none of a wave after %d", len(pulls), haltWave)
	nums := make([]string, 0, len(reports))
	for _, p := range pulls {
		if _, ok := reports[p.Number]; ok {
			nums = append(nums, fmt.Sprintf("#%d", p.Number))
		}
	}
	d.out.line(d.clock.Now(), "the halt report is on the wave's pull requests: %s", strings.Join(nums, ", "))

	b := d.stack.Bot()
	if b == nil {
		return fmt.Errorf("campaign %s: the bot is stopped", name)
	}
	for _, f := range fs {
		if d.s.hold[f.Cluster] != "" && f.Gate == rollout.GatePreflight {
			// The owners move their controller to the served API; EKS's
			// next look at the cluster finds no deprecated call.
			d.setHold(f.Cluster, insightPassing)
			d.out.line(d.clock.Now(), "%s: its callers moved off the removed API; retried by %s", f.Cluster, d.s.admin)
			if _, err := b.Operate(ctx, name, rollout.Retry{Cluster: f.Cluster, By: d.s.admin}); err != nil {
				return fmt.Errorf("retry %s: %w", f.Cluster, err)
			}
			continue
		}
		reason := fmt.Sprintf("demo: its Terraform apply was made to fail; %s stays on its version and is fixed outside this campaign", f.Cluster)
		if _, err := b.Operate(ctx, name, rollout.SkipCluster{Cluster: f.Cluster, Reason: reason, By: d.s.admin}); err != nil {
			return fmt.Errorf("skip %s: %w", f.Cluster, err)
		}
	}
	if _, err := b.Operate(ctx, name, rollout.Resume{By: d.s.admin}); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	return nil
}

// dashboard reads the body of campaign's dashboard issue: the plain issue
// whose first line is the campaign's dashboard marker.
func (d *demo) dashboard(ctx context.Context, campaign string) (string, error) {
	marker := "<!-- fleetbot:dashboard campaign=" + campaign + " -->\n"
	for page := 1; ; page++ {
		var list []struct {
			Body        string    `json:"body"`
			PullRequest *struct{} `json:"pull_request"`
		}
		// https://docs.github.com/rest/issues/issues#list-repository-issues
		path := fmt.Sprintf("/repos/%s/%s/issues?state=all&per_page=100&page=%d", owner, repo, page)
		if _, err := d.stack.Do(ctx, http.MethodGet, path, "", nil, &list); err != nil {
			return "", fmt.Errorf("issues: %w", err)
		}
		for _, is := range list {
			if is.PullRequest == nil && strings.HasPrefix(is.Body, marker) {
				return is.Body, nil
			}
		}
		if len(list) < 100 {
			return "", fmt.Errorf("campaign %s has no dashboard issue", campaign)
		}
	}
}

// haltReports reads the bot's status comment on each pull request of the
// halted wave, keeping those that report the halt.
func (d *demo) haltReports(ctx context.Context, pulls []Pull, wave int) (map[int]string, error) {
	out := map[int]string{}
	for _, p := range pulls {
		if p.Wave != wave {
			continue
		}
		var comments []struct {
			Body string `json:"body"`
		}
		// https://docs.github.com/rest/issues/comments#list-issue-comments
		path := fmt.Sprintf("/repos/%s/%s/issues/%d/comments?per_page=100", owner, repo, p.Number)
		if _, err := d.stack.Do(ctx, http.MethodGet, path, "", nil, &comments); err != nil {
			return nil, fmt.Errorf("comments of #%d: %w", p.Number, err)
		}
		for _, c := range comments {
			if strings.Contains(c.Body, "halted") {
				out[p.Number] = c.Body
			}
		}
	}
	return out, nil
}

// pulls lists every pull request of the campaign, by number.
func (d *demo) pulls(ctx context.Context, campaign string) ([]Pull, error) {
	all, err := d.stack.PullRequests(ctx)
	if err != nil {
		return nil, err
	}
	var out []Pull
	for _, p := range all {
		c, w, tenant, revert, ok := wave.ParseAnyBranch(p.HeadRef)
		if ok && c == campaign {
			out = append(out, Pull{Number: p.Number, Branch: p.HeadRef, Wave: w, Revert: revert, Tenant: tenant, Merged: p.Merged, Body: p.Body})
		}
	}
	slices.SortFunc(out, func(a, b Pull) int { return a.Number - b.Number })
	return out, nil
}

// rollback asks, once, for the rollback Options.RollbackAfter wants: when
// that wave has baked and the campaign runs.
func (d *demo) rollback(ctx context.Context, st rollout.State) error {
	n := d.opts.RollbackAfter
	if n <= 0 || d.rolledBack || st.Phase != rollout.CampaignRunning || n > len(st.Waves) || st.Waves[n-1].Phase != rollout.WaveSucceeded {
		return nil
	}
	d.rolledBack = true
	d.out.line(d.clock.Now(), "%s: /fleet rollback, after wave %d baked", d.s.admin, n)
	if _, err := d.stack.Bot().Operate(ctx, st.Campaign, rollout.Rollback{By: d.s.admin}); err != nil {
		return fmt.Errorf("roll back %s: %w", st.Campaign, err)
	}
	return nil
}

// short abbreviates a commit SHA.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// The statuses of the insight Hold puts on a cluster: before and after its
// callers moved to the new API.
const (
	insightError   = "ERROR"
	insightPassing = "PASSING"
)

// setHold gives held cluster name the insight Options.Hold puts on it, in
// status; false when the simulated EKS has no such cluster.
func (d *demo) setHold(name, status string) bool {
	cl := d.s.clusters[name]
	return d.eks.SetInsight(cl.Account, cl.Region, name, holdInsight(d.s.hold[name], status))
}

// holdInsight is the upgrade insight Options.Hold gives a cluster: a
// FlowSchema API that Kubernetes 1.29 stopped serving, still called, as EKS
// reports it for the target version to.
func holdInsight(to, status string) fakeeks.Insight {
	in := fakeeks.Insight{
		ID: "demo-deprecated-apis", Name: "Deprecated APIs removed in Kubernetes v" + to,
		Category: "UPGRADE_READINESS", KubernetesVersion: to, Status: status,
		Description:    "Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v" + to + ".",
		Recommendation: "Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v" + to + ".",
	}
	if status == insightError {
		in.Reason = "Deprecated API usage detected within last 30 days and your cluster is on Kubernetes v" + previousMinor(to) + "."
		in.Deprecations = []fakeeks.Deprecation{{
			Usage: "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas", ReplacedWith: "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
			StopServingVersion: to,
			Clients:            []fakeeks.ClientStat{{UserAgent: "demo-controller/v0.9", Requests: 412}},
		}}
	} else {
		in.Reason = "No deprecated API usage detected within the last 30 days."
	}
	return in
}

// previousMinor is the minor before version v ("1.30" -> "1.29").
func previousMinor(v string) string {
	major, minor, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	if !ok || err != nil || n == 0 {
		return v
	}
	return major + "." + strconv.Itoa(n-1)
}
