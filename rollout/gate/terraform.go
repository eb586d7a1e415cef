package gate

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
)

// Checks reads the CI results on a commit: the bot adapts its GitHub client
// to it.
type Checks interface {
	// CheckRuns lists the check runs on ref.
	CheckRuns(ctx context.Context, owner, repo, ref string) ([]CheckRun, error)
	// Statuses lists the commit statuses on ref, newest first.
	Statuses(ctx context.Context, owner, repo, ref string) ([]CommitStatus, error)
}

// CheckRun is what the terraform gate reads of a GitHub check run. Status
// is queued, in_progress or completed; Conclusion is set once completed
// (success, failure, cancelled, timed_out, neutral, skipped,
// action_required, ...).
type CheckRun struct {
	ID         int64
	Name       string
	Status     string
	Conclusion string
	DetailsURL string
}

// CommitStatus is what the terraform gate reads of a GitHub commit status.
// State is error, failure, pending or success.
type CommitStatus struct {
	Context   string
	State     string
	TargetURL string
	CreatedAt time.Time
}

// Terraform is the terraform gate: the configured check runs and commit
// statuses on the merge commit must have succeeded.
//
// Every configured name is rendered for the target's cluster
// (rollout.TerraformGate.Patterns), so CI that runs one workspace per
// cluster can name its checks after the cluster; a commit that changed
// several clusters then passes or fails each on its own checks. Each
// rendered name (a path.Match pattern) must match at least one check run or
// commit-status context; until one does, the gate waits.
// Of several check runs with one name (re-runs), the latest (highest ID)
// counts; of several statuses with one context, the newest. A check run
// passes when completed with conclusion success, neutral or skipped (GitHub
// counts neutral and skipped as passing for required checks); failure,
// cancelled, timed_out, action_required, stale, startup_failure or any
// other conclusion fails the cluster. A status passes when success; failure
// and error fail; pending waits. Queued and in-progress check runs wait:
// the state machine times the cluster out at its progress deadline.
//
// A change that removes a cluster (Target.Gone) is judged the same way: the
// checks named for the cluster report Terraform's destroy, and nothing the
// gate reads needs the cluster to exist.
type Terraform struct {
	cfg rollout.TerraformGate
	src Checks
}

// NewTerraform returns the terraform gate reading src.
func NewTerraform(cfg rollout.TerraformGate, src Checks) *Terraform {
	cfg.Checks = slices.Clone(cfg.Checks)
	return &Terraform{cfg: cfg, src: src}
}

// Name returns rollout.GateTerraform.
func (*Terraform) Name() string { return rollout.GateTerraform }

// ciResult is one check run or status, reduced to what the verdict needs.
type ciResult struct {
	kind  string // "check run" or "status"
	name  string
	value string // conclusion, status or state as GitHub wrote it
	url   string
	state ciState
}

type ciState int

const (
	ciPending ciState = iota
	ciPassed
	ciFailed
)

// Check reads the checks on t's merge commit.
func (g *Terraform) Check(ctx context.Context, t Target) Result {
	owner, repo, ok := strings.Cut(t.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return Result{Err: fmt.Errorf("terraform gate: repository %q is not owner/name", t.Repo)}
	}
	if t.MergeSHA == "" {
		return Result{Err: fmt.Errorf("terraform gate: cluster %s has no merge commit", t.Cluster)}
	}
	patterns, err := g.cfg.Patterns(t.Vars())
	if err != nil {
		return Result{Err: fmt.Errorf("terraform gate: cluster %s: %w", t.Cluster, err)}
	}
	// The clusters of one pull request share its merge commit: its checks
	// are read once per Run.
	all, err := shared(ctx, "terraform\x00"+t.Repo+"@"+t.MergeSHA, func() ([]ciResult, error) {
		runs, err := g.src.CheckRuns(ctx, owner, repo, t.MergeSHA)
		if err != nil {
			return nil, fmt.Errorf("list check runs on %s@%s: %w", t.Repo, short(t.MergeSHA), err)
		}
		statuses, err := g.src.Statuses(ctx, owner, repo, t.MergeSHA)
		if err != nil {
			return nil, fmt.Errorf("list commit statuses on %s@%s: %w", t.Repo, short(t.MergeSHA), err)
		}
		return append(latestRuns(runs), latestStatuses(statuses)...), nil
	})
	if err != nil {
		return Result{Err: err}
	}

	var matched []ciResult
	var unseen []string
	seen := map[string]bool{}
	for _, pattern := range patterns {
		found := false
		for _, r := range all {
			if ok, _ := path.Match(pattern, r.name); !ok {
				continue
			}
			found = true
			if key := r.kind + "\x00" + r.name; !seen[key] {
				seen[key] = true
				matched = append(matched, r)
			}
		}
		if !found {
			unseen = append(unseen, pattern)
		}
	}

	res := Result{Outcome: rollout.GatePassed}
	var failed, pending []string
	for _, r := range matched {
		res.Evidence = append(res.Evidence, Evidence{
			Check: r.kind + " " + r.name, Revision: t.MergeSHA, Value: r.value, Source: r.url,
		})
		switch r.state {
		case ciFailed:
			failed = append(failed, describeCI(r, true))
		case ciPending:
			pending = append(pending, describeCI(r, false))
		}
	}
	switch {
	case len(failed) > 0:
		res.Outcome = rollout.GateFailed
		res.Detail = fmt.Sprintf("%s failed on %s", strings.Join(failed, ", "), short(t.MergeSHA))
	case len(pending) > 0 || len(unseen) > 0:
		res.Outcome = rollout.GateWaiting
		var parts []string
		if len(pending) > 0 {
			parts = append(parts, strings.Join(pending, ", ")+" not finished")
		}
		if len(unseen) > 0 {
			parts = append(parts, "no check run or status matches "+quoteAll(unseen)+" yet")
		}
		res.Detail = strings.Join(parts, "; ") + " on " + short(t.MergeSHA)
	default:
		names := make([]string, len(matched))
		for i, r := range matched {
			names[i] = r.name
		}
		res.Detail = fmt.Sprintf("%s succeeded on %s", strings.Join(names, ", "), short(t.MergeSHA))
	}
	return res
}

// States returns, for each commit status context and check run name on a
// commit, the outcome of its latest one: "success", "pending" or "failure".
// A status and a check run of one name: the status counts.
func States(runs []CheckRun, statuses []CommitStatus) map[string]string {
	word := map[ciState]string{ciPassed: "success", ciPending: "pending", ciFailed: "failure"}
	out := map[string]string{}
	for _, r := range append(latestStatuses(statuses), latestRuns(runs)...) {
		if _, seen := out[r.name]; !seen {
			out[r.name] = word[r.state]
		}
	}
	return out
}

// latestRuns keeps the latest check run of each name: GitHub's IDs grow, so
// a re-run has the highest.
func latestRuns(runs []CheckRun) []ciResult {
	latest := map[string]CheckRun{}
	var order []string
	for _, r := range runs {
		prev, ok := latest[r.Name]
		if !ok {
			order = append(order, r.Name)
		}
		if !ok || r.ID > prev.ID {
			latest[r.Name] = r
		}
	}
	out := make([]ciResult, 0, len(order))
	for _, name := range order {
		r := latest[name]
		c := ciResult{kind: "check run", name: r.Name, url: r.DetailsURL, value: r.Status}
		if r.Status == "completed" {
			c.value = r.Conclusion
			switch r.Conclusion {
			case "success", "neutral", "skipped":
				c.state = ciPassed
			default:
				c.state = ciFailed
			}
		}
		out = append(out, c)
	}
	return out
}

// latestStatuses keeps the newest status of each context. GitHub lists
// newest first; CreatedAt decides when the order says otherwise.
func latestStatuses(statuses []CommitStatus) []ciResult {
	latest := map[string]CommitStatus{}
	var order []string
	for _, s := range statuses {
		prev, ok := latest[s.Context]
		if !ok {
			order = append(order, s.Context)
		}
		if !ok || s.CreatedAt.After(prev.CreatedAt) {
			latest[s.Context] = s
		}
	}
	out := make([]ciResult, 0, len(order))
	for _, name := range order {
		s := latest[name]
		c := ciResult{kind: "status", name: s.Context, url: s.TargetURL, value: s.State}
		switch s.State {
		case "success":
			c.state = ciPassed
		case "pending":
			c.state = ciPending
		default:
			c.state = ciFailed
		}
		out = append(out, c)
	}
	return out
}

func describeCI(r ciResult, withURL bool) string {
	s := fmt.Sprintf("%s %s (%s", r.kind, r.name, r.value)
	if withURL && r.url != "" {
		s += ", " + r.url
	}
	return s + ")"
}

func quoteAll(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// short abbreviates a commit SHA as GitHub does.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
