package statuspage

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// MaxEnded is how many ended campaigns a View shows, the most recent first;
// View.OlderCampaigns counts the others.
const MaxEnded = 10

// View is everything the status page shows, and the answer of
// GET /api/v1/campaigns.
type View struct {
	// At is when the view was built.
	At    time.Time `json:"at"`
	Fleet Fleet     `json:"fleet"`
	// Campaigns are the running campaigns, then the ended ones, each group
	// the most recently started first.
	Campaigns []Campaign `json:"campaigns"`
	// OlderCampaigns counts the ended campaigns left out (MaxEnded).
	OlderCampaigns int `json:"olderCampaigns,omitempty"`
	// Problems say what could not be read; the rest of the view stands.
	Problems []string `json:"problems,omitempty"`
}

// Fleet is the grid: every cluster of the fleet's repositories, by tenant
// and environment.
type Fleet struct {
	// Repositories are the commits the clusters were read at.
	Repositories []Commit `json:"repositories"`
	// ReadAt is when those commits were read from GitHub.
	ReadAt time.Time `json:"readAt,omitzero"`
	// Envs are the grid's columns: in the order campaigns roll out
	// through them, then the others by name.
	Envs []string `json:"envs"`
	// Tenants are the grid's rows, by name.
	Tenants []Tenant `json:"tenants"`
	// States counts the clusters in each state of the legend, in its order.
	States []Count `json:"states"`
}

// Commit is a repository at the commit read, with its page.
type Commit struct {
	Repo string `json:"repo"`
	SHA  string `json:"sha"`
	URL  string `json:"url,omitempty"`
}

// Tenant is one row of the grid.
type Tenant struct {
	Name string `json:"name"`
	// Cells hold the tenant's clusters in each of Fleet.Envs, in that
	// order.
	Cells []Cell `json:"cells"`
}

// Cell is one tenant's clusters in one environment, by name.
type Cell struct {
	Env      string    `json:"env"`
	Clusters []Cluster `json:"clusters"`
}

// Cluster states of the grid beyond the campaign's cluster phases.
const (
	// StateIdle: no running campaign holds the cluster.
	StateIdle = "Idle"
	// StateDisabled: the fleet's files switch the cluster off; fleetbot
	// never changes it.
	StateDisabled = "Disabled"
)

// Cluster is one cluster of the grid.
type Cluster struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Canary  bool   `json:"canary,omitempty"`
	// State is the cluster's phase in the running campaign that holds it
	// (rollout.ClusterPhase), StateIdle or StateDisabled.
	State string `json:"state"`
	// Campaign and Wave say where it stands: the campaign holding it and
	// its wave there.
	Campaign string `json:"campaign,omitempty"`
	Wave     int    `json:"wave,omitempty"`
	// Target is the EKS version the campaign holding it moves it to.
	Target string `json:"target,omitempty"`
	// Detail says why it failed or was skipped.
	Detail string `json:"detail,omitempty"`
	// Missing is true for a cluster a running campaign holds that the
	// repositories, as read at Fleet.ReadAt, no longer describe.
	Missing bool `json:"missing,omitempty"`
}

// Count is how many clusters are in a state.
type Count struct {
	State string `json:"state"`
	N     int    `json:"n"`
}

// Legend lists the grid's states in the order a cluster goes through
// them, then the states of no campaign.
var Legend = []string{
	string(rollout.ClusterPending), string(rollout.ClusterPreflight), string(rollout.ClusterInPR), string(rollout.ClusterApplied),
	string(rollout.ClusterVerifying), string(rollout.ClusterSucceeded), string(rollout.ClusterFailed),
	string(rollout.ClusterTimedOut), string(rollout.ClusterSkipped), StateIdle, StateDisabled,
}

// wavePhases lists the phases a wave's clusters are counted in, in the
// order a cluster goes through them: the grid's, and Stopped and
// NotReached, which the grid never shows (a campaign that stopped a wave,
// or never opened it, has ended, or holds its clusters in its revert
// waves).
var wavePhases = append(slices.Clone(Legend[:slices.Index(Legend, StateIdle)]), string(rollout.ClusterStopped), string(rollout.ClusterNotReached))

// Campaign is one campaign, and the answer of
// GET /api/v1/campaigns/{name}.
type Campaign struct {
	Name  string                `json:"name"`
	Phase rollout.CampaignPhase `json:"phase"`
	// Running is true until the campaign ended (succeeded, aborted or
	// rolled back).
	Running bool `json:"running"`
	// Change says what the campaign changes, in one line.
	Change    string    `json:"change"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// File is the campaign file at the commit the campaign started from.
	File     Link             `json:"file"`
	Progress rollout.Progress `json:"progress"`
	// Waiting is what the campaign waits for next (rollout.State.Waiting).
	Waiting    rollout.Wait `json:"waiting"`
	HaltReason string       `json:"haltReason,omitempty"`
	// Failing are the actions of a running campaign that keep failing,
	// as its dashboard issue shows them (rollout.Troubles.Shown).
	Failing []rollout.Trouble `json:"failing,omitempty"`
	Waves   []Wave            `json:"waves"`
	// DashboardIssue is the URL of the campaign's dashboard issue, when it
	// has one.
	DashboardIssue string `json:"dashboardIssue,omitempty"`
}

// Link is a text and where it leads; URL is empty when unknown.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url,omitempty"`
}

// Wave is one wave of a campaign.
type Wave struct {
	Number int              `json:"number"`
	Kind   rollout.WaveKind `json:"kind,omitempty"`
	// Reverts is the wave a revert wave reverts.
	Reverts int               `json:"reverts,omitempty"`
	Env     string            `json:"env,omitempty"`
	Canary  bool              `json:"canary,omitempty"`
	Step    string            `json:"step,omitempty"` // the blue-green step, such as "traffic 50%"
	Phase   rollout.WavePhase `json:"phase"`
	// NotReached is true for a wave the campaign ended (aborted, rolled
	// back) before opening: Pending for ever, its clusters counted
	// NotReached.
	NotReached bool `json:"notReached,omitempty"`
	// Approval is "asked" while the wave waits for a fleet admin's
	// approval and "approved by LOGIN" once given; empty when the wave
	// needs none.
	Approval     string        `json:"approval,omitempty"`
	SkipReason   string        `json:"skipReason,omitempty"`
	PullRequests []PullRequest `json:"pullRequests"`
	// Clusters counts the wave's clusters by phase, in the legend's order.
	Clusters []Count `json:"clusters"`
}

// PullRequest is one tenant's pull request of a wave.
type PullRequest struct {
	Tenant string           `json:"tenant"`
	Repo   string           `json:"repo,omitempty"`
	Number int              `json:"number,omitempty"`
	Status rollout.PRStatus `json:"status"`
	URL    string           `json:"url,omitempty"`
}

// Input is what a View is built from: what the bot read.
type Input struct {
	At        time.Time
	Fleet     FleetInput
	Campaigns []CampaignInput
	Problems  []string
	// RepoURL returns a repository's page (owner/name), "" when unknown.
	RepoURL func(repo string) string
}

// FleetInput is the fleet's inventory at the commits it was read at.
type FleetInput struct {
	Repositories []Commit
	ReadAt       time.Time
	Clusters     []gitops.Cluster
}

// CampaignInput is one campaign as the store holds it.
type CampaignInput struct {
	State     rollout.State
	Change    rollout.PlanChange
	StartedAt time.Time
	// File is where the campaign file was read.
	File Source
	// Waves says, for each wave of State in order, what its plan wave
	// says: the environment, the canary flag and the repository of each
	// tenant's pull request.
	Waves []PlannedWave
	// Order is the campaign file's strategy.order: the environments in
	// rollout order, those no wave of the campaign changes too.
	Order []string
	// NextWindow is when the schedule next lets a wave open, zero when it
	// lets one open now.
	NextWindow time.Time
	// Dashboard is the campaign's dashboard issue, when it has one.
	Dashboard Issue
	// Troubles are the failing actions the dashboard issue shows.
	Troubles []rollout.Trouble
}

// Issue is an issue of a repository (owner/name); Number 0 is none.
type Issue struct {
	Repo   string
	Number int
}

// Source is a file of a repository (owner/name) at a commit.
type Source struct{ Repo, Path, SHA string }

// PlannedWave is what the plan says of a wave.
type PlannedWave struct {
	Env    string
	Canary bool
	// Step names the blue-green step the wave takes ("green", "traffic
	// 50%", "retire"); empty in place.
	Step string
	// Repos maps a tenant (rollout.SharedTenant for shared files) to the
	// repository of its pull request.
	Repos map[string]string
}

// Build builds the view from what the bot read.
func Build(in Input) View {
	v := View{At: in.At, Problems: in.Problems}
	running, ended := []Campaign{}, []Campaign{}
	inputs := slices.Clone(in.Campaigns)
	slices.SortStableFunc(inputs, func(a, b CampaignInput) int {
		return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(a.State.Campaign, b.State.Campaign))
	})
	for _, c := range inputs {
		cv := BuildCampaign(c, in.RepoURL)
		if cv.Running {
			running = append(running, cv)
		} else {
			ended = append(ended, cv)
		}
	}
	if len(ended) > MaxEnded {
		v.OlderCampaigns = len(ended) - MaxEnded
		ended = ended[:MaxEnded]
	}
	v.Campaigns = append(running, ended...)
	v.Fleet = buildFleet(in.Fleet, inputs)
	return v
}

// BuildCampaign builds one campaign's view; repoURL as Input.RepoURL.
func BuildCampaign(c CampaignInput, repoURL func(string) string) Campaign {
	st := c.State
	out := Campaign{
		Name:       st.Campaign,
		Phase:      st.Phase,
		Running:    !st.Phase.Final(),
		Change:     c.Change.Describe(),
		StartedAt:  c.StartedAt,
		File:       Link{Text: c.File.Repo + "/" + c.File.Path},
		Progress:   st.Progress(),
		Waiting:    st.Waiting(c.NextWindow),
		HaltReason: st.HaltReason,
		Waves:      make([]Wave, len(st.Waves)),
	}
	if base := repoURL(c.File.Repo); base != "" {
		out.File.URL = base + "/blob/" + c.File.SHA + "/" + c.File.Path
	}
	if out.Running {
		out.Failing = c.Troubles
	}
	if base := repoURL(c.Dashboard.Repo); base != "" && c.Dashboard.Number > 0 {
		out.DashboardIssue = fmt.Sprintf("%s/issues/%d", base, c.Dashboard.Number)
	}
	for i, w := range st.Waves {
		var plan PlannedWave
		if i < len(c.Waves) {
			plan = c.Waves[i]
		}
		wv := Wave{Number: w.Number, Kind: w.Kind, Reverts: w.Reverts, Env: plan.Env, Canary: plan.Canary, Step: plan.Step,
			Phase: w.Phase, NotReached: st.NotReached(w), SkipReason: w.SkipReason, PullRequests: make([]PullRequest, len(w.PRs))}
		switch {
		case w.ApprovedBy != "":
			wv.Approval = "approved by " + w.ApprovedBy
		case w.ApprovalRequested:
			wv.Approval = "asked"
		}
		for j, pr := range w.PRs {
			p := PullRequest{Tenant: pr.Tenant, Repo: plan.Repos[pr.Tenant], Number: pr.Number, Status: pr.Status}
			if base := repoURL(p.Repo); base != "" && p.Repo != "" && p.Number > 0 {
				p.URL = fmt.Sprintf("%s/pull/%d", base, p.Number)
			}
			wv.PullRequests[j] = p
		}
		byPhase := map[string]int{}
		for _, cl := range w.Clusters {
			byPhase[string(st.ClusterPhaseShown(w, cl))]++
		}
		wv.Clusters = counts(wavePhases, byPhase)
		out.Waves[i] = wv
	}
	return out
}

// counts lists the states of byState in order, leaving out those no
// cluster is in.
func counts(order []string, byState map[string]int) []Count {
	out := []Count{}
	for _, s := range order {
		if n := byState[s]; n > 0 {
			out = append(out, Count{State: s, N: n})
		}
	}
	return out
}

// holding is where a running campaign holds a cluster.
type holding struct {
	campaign string
	target   string
	step     rollout.Step
	env      string
}

// envColumns orders the environments envs (sorted) as the campaigns roll
// them out: rollouts holds each campaign's environments in the order of
// its waves, newest campaign first. An environment comes after every one a
// campaign rolled out before it, so a campaign of prod alone does not put
// prod first; among those free to come next, the one the newest campaigns
// name first goes first, then the others by name. Campaigns that disagree
// (one rolls out dev before staging, another staging before dev) leave
// those in the order of the newest.
func envColumns(rollouts [][]string, envs []string) []string {
	rank := map[string]int{}
	after := map[string][]string{} // env -> the environments rolled out before it
	for _, order := range rollouts {
		for i, e := range order {
			if _, ok := rank[e]; !ok {
				rank[e] = len(rank)
			}
			if i > 0 && !slices.Contains(after[e], order[i-1]) {
				after[e] = append(after[e], order[i-1])
			}
		}
	}
	first := func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	}
	out := make([]string, 0, len(envs))
	left := slices.SortedFunc(slices.Values(envs), first)
	for len(left) > 0 {
		// The first environment none of whose predecessors is still to
		// place; on a cycle, the first of all.
		next := 0
		for i, e := range left {
			if !slices.ContainsFunc(after[e], func(p string) bool { return slices.Contains(left, p) }) {
				next = i
				break
			}
		}
		out = append(out, left[next])
		left = slices.Delete(left, next, next+1)
	}
	return out
}

// rolloutOrder is the order campaign c rolls environments out in: its
// strategy.order, which names those its waves leave alone too (a campaign
// of dev alone still says staging comes before prod), then any its waves
// name that the order does not.
func rolloutOrder(c CampaignInput) []string {
	order := slices.Clone(c.Order)
	for _, w := range c.Waves {
		if w.Env != "" && !slices.Contains(order, w.Env) {
			order = append(order, w.Env)
		}
	}
	return order
}

// buildFleet lays the inventory out by tenant and environment, each
// cluster with its step in the running campaign that holds it.
func buildFleet(in FleetInput, campaigns []CampaignInput) Fleet {
	held := map[string]holding{}
	var rollouts [][]string
	for _, c := range campaigns {
		rollouts = append(rollouts, rolloutOrder(c))
		if c.State.Phase.Final() {
			continue
		}
		target := ""
		if c.Change.Kind == rollout.KindEKSVersion {
			target = c.Change.To
		}
		for _, s := range c.State.Steps() {
			if _, taken := held[s.Cluster]; taken {
				continue // a cluster is locked by one campaign; the newest wins
			}
			env := ""
			if s.Wave <= len(c.Waves) {
				env = c.Waves[s.Wave-1].Env
			}
			held[s.Cluster] = holding{campaign: c.State.Campaign, target: target, step: s, env: env}
		}
	}

	cells := map[[2]string][]Cluster{}
	envs := map[string]bool{}
	tenants := map[string]bool{}
	seen := map[string]bool{}
	add := func(tenant, env string, cl Cluster) {
		tenants[tenant], envs[env] = true, true
		k := [2]string{tenant, env}
		cells[k] = append(cells[k], cl)
	}
	for _, c := range in.Clusters {
		seen[c.Name] = true
		cl := Cluster{Name: c.Name, Version: c.Version, Canary: c.Canary, State: StateIdle}
		h, ok := held[c.Name]
		switch {
		case ok:
			h.apply(&cl)
		case c.Disabled:
			cl.State = StateDisabled
		}
		add(c.Tenant, c.Env, cl)
	}
	// Before the fleet was first read, the running campaigns' clusters are
	// all there is to show, and none is known to be missing.
	read := !in.ReadAt.IsZero()
	for _, name := range slices.Sorted(maps.Keys(held)) {
		if h := held[name]; !seen[name] {
			cl := Cluster{Name: name, Missing: read}
			h.apply(&cl)
			add(h.step.Tenant, h.env, cl)
		}
	}

	f := Fleet{Repositories: in.Repositories, ReadAt: in.ReadAt, Envs: envColumns(rollouts, slices.Sorted(maps.Keys(envs))), Tenants: []Tenant{}}
	byState := map[string]int{}
	for _, t := range slices.Sorted(maps.Keys(tenants)) {
		row := Tenant{Name: t, Cells: make([]Cell, len(f.Envs))}
		for i, e := range f.Envs {
			cs := cells[[2]string{t, e}]
			slices.SortFunc(cs, func(a, b Cluster) int { return cmp.Compare(a.Name, b.Name) })
			for _, c := range cs {
				byState[c.State]++
			}
			row.Cells[i] = Cell{Env: e, Clusters: append([]Cluster{}, cs...)}
		}
		f.Tenants = append(f.Tenants, row)
	}
	f.States = counts(Legend, byState)
	return f
}

// apply shows the holding on a cluster of the grid.
func (h holding) apply(cl *Cluster) {
	cl.State = string(h.step.Phase)
	cl.Campaign, cl.Wave, cl.Detail = h.campaign, h.step.Wave, rollout.GateSentence(h.step.Detail)
	cl.Target = h.target
}
