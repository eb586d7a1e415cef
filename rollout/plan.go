package rollout

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Plan is the whole rollout of a campaign: its waves in order, the pull
// requests each wave opens, and the clusters left out with the reason. It is
// computed from plain values only, so the same campaign and fleet always give
// the same plan, byte for byte.
type Plan struct {
	Campaign string           `json:"campaign"`
	Change   PlanChange       `json:"change"`
	Waves    []Wave           `json:"waves"`
	Skipped  []SkippedCluster `json:"skipped"`
}

// Change kinds, as they appear in PlanChange.Kind.
const (
	KindEKSVersion = "eksVersion"
	KindLabel      = "label"
	KindField      = "field"
)

// PlanChange restates the campaign's change.
type PlanChange struct {
	Kind       string   `json:"kind"`
	Key        string   `json:"key,omitempty"`       // label key
	Files      string   `json:"files,omitempty"`     // field change glob
	Hierarchy  string   `json:"hierarchy,omitempty"` // field change of a hierarchy: its name
	Level      string   `json:"level,omitempty"`     // the level the change waves edit, when named
	Path       string   `json:"path,omitempty"`      // label or field key path, dotted
	From       string   `json:"from,omitempty"`      // the only value moved, when the campaign names one
	To         string   `json:"to"`
	Hops       []string `json:"hops,omitempty"` // EKS: the version each hop reaches
	Revertible bool     `json:"revertible"`
}

// Wave is a set of clusters changed together, and the pull requests that
// change them.
type Wave struct {
	Index int    `json:"index"` // 1-based, in rollout order
	Env   string `json:"env"`   // empty for clean-up waves
	Hop   int    `json:"hop,omitempty"`
	// Canary waves hold only canary clusters.
	Canary bool `json:"canary"`
	// Approval asks fleet admins to approve before the wave opens.
	Approval bool `json:"approval"`
	// Cleanup waves fold a label up the hierarchy once every selected cluster
	// carries it; they change no cluster's effective value.
	Cleanup bool `json:"cleanup"`
	// Shared waves change a file that serves many clusters at once (one
	// environment of every tenant, or the whole fleet) through the fleet
	// admins' pull request alone; they hold every planned cluster the file
	// serves, whatever the wave size.
	Shared bool `json:"shared,omitempty"`
	// Step names the blue-green step the wave takes (StepGreen,
	// StepTraffic, StepRetire); empty for a change made in place. Traffic
	// is the green clusters' share of traffic, in percent, after a traffic
	// step.
	Step         string        `json:"step,omitempty"`
	Traffic      int           `json:"traffic,omitempty"`
	Clusters     []WaveCluster `json:"clusters"`
	PullRequests []PullRequest `json:"pullRequests"`
}

// WaveCluster is one cluster's step in a wave.
type WaveCluster struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Fleet  string `json:"fleet"`
	// Canary is true when the cluster goes in a canary wave: flagged
	// is_canary, or picked. Without strategy.canary no cluster is.
	Canary bool `json:"canary"`
	// PickedCanary is true when the planner chose the cluster as its fleet's
	// canary because none was flagged.
	PickedCanary bool   `json:"pickedCanary"`
	From         string `json:"from"`
	To           string `json:"to"`
	// Green names the cluster that replaces this one in a blue-green
	// step; empty for a change made in place.
	Green string `json:"green,omitempty"`
}

// The steps of a blue-green replacement, each a wave of its own: the
// green cluster added at the target version, each share of traffic moved
// to it, the blue cluster removed.
const (
	StepGreen   = "green"
	StepTraffic = "traffic"
	StepRetire  = "retire"
)

// PullRequest is one pull request of a wave: one repository, one tenant's
// files. Admin pull requests change files shared by all tenants.
type PullRequest struct {
	Repo   string       `json:"repo"`
	Tenant string       `json:"tenant"`
	Admin  bool         `json:"admin"`
	Files  []FileChange `json:"files"`
}

// FileChange lists the edits to one file. Create means the file does not exist
// yet and is written with Content, or, when CopyOf is set, with the bytes of
// that file of the same repository as they are when the change is made (a
// green cluster's own label file, copied from its blue one's). Delete means
// the file, which holds exactly Content (a file the campaign created, now
// emptied by a clean-up), is removed; with Content empty it is removed
// whatever it holds (a retired blue cluster's own file, which the pull
// request's diff shows whole).
type FileChange struct {
	Path    string `json:"path"`
	Create  bool   `json:"create"`
	Delete  bool   `json:"delete,omitempty"`
	Content string `json:"content,omitempty"`
	CopyOf  string `json:"copyOf,omitempty"`
	Edits   []Edit `json:"edits"`
	// Reach names, sorted, every cluster a file serving many clusters (an
	// environment's or a global file) serves; empty for other files.
	Reach []string `json:"reach,omitempty"`
}

// Edit operations.
const (
	OpSet    = "set"    // replace the scalar at Path, which holds From
	OpInsert = "insert" // add the key at Path, absent so far
	OpDelete = "delete" // remove the key at Path, which holds From
	OpCreate = "create" // the key is written by the file's creation
	// OpCopy adds the mapping entry at Path (absent so far) as a copy of
	// its sibling entry From: the keys Keys name (every key when Keys is
	// empty), byte for byte. A green cluster's entry is written this way.
	OpCopy = "copy"
	// OpRemove removes the mapping entry at Path with everything under it
	// (a retired blue cluster's entry).
	OpRemove = "remove"
)

// Edit is one scalar edit. Line is the key's line when known, for messages and
// for checking that the file did not move under the plan.
type Edit struct {
	Path  []string `json:"path"`
	Op    string   `json:"op"`
	From  string   `json:"from,omitempty"`
	To    string   `json:"to,omitempty"`
	Quote bool     `json:"quote,omitempty"` // write To as a quoted string
	Line  int      `json:"line,omitempty"`
	// Keys names the keys of the source entry an OpCopy copies, in the
	// source's order; empty copies every key.
	Keys []string `json:"keys,omitempty"`
	// Document is the index of the YAML document to edit in a file that
	// holds several, counted from 0 (the first).
	Document int `json:"document,omitempty"`
	// Before is, for an insert, the key of the same mapping the entry goes
	// before; empty adds it at the end. A revert sets it to put a deleted
	// key back where it stood.
	Before string `json:"before,omitempty"`
	// Cluster is the cluster the edit moves, when it moves that one alone
	// (its entry's key, its own label file); empty for an edit of a file
	// that serves many clusters.
	Cluster string `json:"cluster,omitempty"`
}

// For returns the pull request with only the edits that clusters ask for:
// an edit made for one other cluster (held back by pre-flight, skipped)
// stays out, and so does a file left with no edit. Edits of files that
// serve many clusters all stay. No clusters keeps every edit.
func (pr PullRequest) For(clusters []string) PullRequest {
	if len(clusters) == 0 {
		return pr
	}
	out := pr
	out.Files = make([]FileChange, 0, len(pr.Files))
	for _, f := range pr.Files {
		kept := f
		kept.Edits = make([]Edit, 0, len(f.Edits))
		for _, e := range f.Edits {
			if e.Cluster == "" || slices.Contains(clusters, e.Cluster) {
				kept.Edits = append(kept.Edits, e)
			}
		}
		if len(kept.Edits) > 0 || len(f.Edits) == 0 {
			out.Files = append(out.Files, kept)
		}
	}
	return out
}

// Skip reasons.
const (
	ReasonAtTarget     = "at-target"     // already carries the target
	ReasonExcluded     = "excluded"      // named by selector.exclude
	ReasonLocked       = "locked"        // held by another campaign
	ReasonAhead        = "ahead"         // above the target version: never downgraded
	ReasonFromMismatch = "from-mismatch" // holds neither change.from nor change.to
	ReasonNoMatch      = "no-match"      // no scalar of the field change applies to it
	ReasonDisabled     = "disabled"      // switched off in the fleet files (enabled: false)
)

// SkippedCluster is a selected cluster the plan leaves alone, and why.
type SkippedCluster struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// Refusal rules, as they appear in RefusedError.Rule.
const (
	RuleOneMinorPerHop = "one-minor-per-hop" // hops: refuse and a cluster is more than one minor behind
	RuleEnvOrder       = "env-order"         // a cluster to change is in an environment strategy.order does not list
	RuleFieldShared    = "field-shared"      // a field change matched a file shared by all tenants whose clusters the inventory does not list
	RuleFieldScope     = "field-scope"       // a tenant, environment or global file also reaches clusters outside the plan
	RuleFieldCanary    = "field-canary"      // a canary is moved only by a file serving many clusters, so it cannot go first
	RuleHierarchyLevel = "hierarchy-level"   // a cluster has no file at the campaign's level, or a more specific file overrides it
	RuleBlueGreen      = "blue-green"        // a cluster of a blue-green environment cannot be replaced as the layout writes it
)

// RefusedError reports a campaign the planner will not plan, naming the rule
// and the clusters (or files) that break it.
type RefusedError struct {
	Rule     string
	Clusters []string
	Message  string
	// At is the field of the campaign file to change, when the rule alone
	// does not say (Field).
	At string
}

// Error names the rule and says what to change.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("plan refused (%s): %s", e.Rule, e.Message)
}

// sayHeld adds to a refusal naming clusters the plan leaves alone which of
// them another campaign holds: selecting them, as the refusal asks, does
// not take them while it runs.
func (pl *planner) sayHeld(err error) {
	var refused *RefusedError
	if !errors.As(err, &refused) {
		return
	}
	var held []string
	for _, name := range refused.Clusters {
		if holder, ok := pl.fleet.Locks[name]; ok && holder != pl.campaign.Metadata.Name {
			held = append(held, fmt.Sprintf("%s by %s", name, holder))
		}
	}
	if len(held) > 0 {
		refused.Message += fmt.Sprintf("; running campaigns hold %s, which this campaign cannot take until they end", strings.Join(held, ", "))
	}
}

// Option tunes the planner.
type Option func(*options)

type options struct {
	labelsKey     []string
	fieldKey      []string
	releaseChains bool
}

// WithChainsReleased lets the planner let go of each cluster's label chain
// (or hierarchy chain, for a field of a hierarchy) once it has read it:
// PlanCampaign then sets Cluster.LabelChain (Cluster.Chain) of the fleet's
// clusters to nil. For a caller that reads the fleet no more: on 100,000
// clusters the chains are 29 MB of the memory held while the plan is made.
func WithChainsReleased() Option {
	return func(o *options) { o.releaseChains = true }
}

// WithLabelsKey sets the key path under which a label file holds its labels;
// the default is externalSecret.labels.
func WithLabelsKey(path ...string) Option {
	return func(o *options) { o.labelsKey = slices.Clone(path) }
}

// WithFieldKey sets the key path a hierarchy field change edits in each
// file of the hierarchy: the hierarchy's key, then the field's path.
func WithFieldKey(path ...string) Option {
	return func(o *options) { o.fieldKey = slices.Clone(path) }
}

// DefaultLabelsKey is where fleet-secret label files hold their labels.
var DefaultLabelsKey = []string{"externalSecret", "labels"}

// step is one planned cluster and the edits that move it.
type step struct {
	cluster *Cluster
	from    string
	to      string
	hop     int
	green   string // the cluster replacing this one, in a blue-green step
	canary  bool   // goes in a canary wave: flagged, or picked
	picked  bool
	// shared is true when only files serving many clusters move the
	// cluster: their shared wave carries it, not the environment's waves.
	shared bool
	// late is true when a file serving many clusters moves the cluster: it
	// cannot go first as a canary.
	late  bool
	edits []fileEdit
}

// fileEdit is one edit to one file, with the pull request it belongs to.
type fileEdit struct {
	repo    string
	tenant  string
	admin   bool
	file    string
	create  bool
	delete  bool
	content string
	copyOf  string
	reach   []string
	edit    Edit
}

// PlanCampaign plans campaign c over fleet f. It returns a *RefusedError when
// the campaign breaks a safety rule and another error when the fleet's data is
// unusable (a version that does not parse, a duplicate cluster).
func PlanCampaign(c *Campaign, f Fleet, opts ...Option) (*Plan, error) {
	o := options{labelsKey: DefaultLabelsKey}
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.labelsKey) == 0 {
		return nil, errors.New("plan: labels key path is empty")
	}
	clusters, err := sortedClusters(f.Clusters)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", c.Metadata.Name, err)
	}
	p := &Plan{Campaign: c.Metadata.Name, Waves: []Wave{}, Skipped: []SkippedCluster{}}
	pl := &planner{campaign: c, fleet: f, clusters: clusters, opts: o, plan: p}
	ch := c.Spec.Change
	switch {
	case ch.EKSVersion != nil:
		err = pl.planEKS(ch.EKSVersion)
	case ch.Label != nil:
		err = pl.planLabel(ch.Label)
	case ch.Field != nil:
		err = pl.planField(ch.Field)
	default:
		err = errors.New("spec.change names no change (eksVersion, label or field)")
	}
	if err != nil {
		pl.sayHeld(err)
		return nil, fmt.Errorf("plan %s: %w", c.Metadata.Name, err)
	}
	slices.SortFunc(p.Skipped, func(a, b SkippedCluster) int {
		return strings.Compare(a.Name, b.Name)
	})
	return p, nil
}

// planner carries one planning run.
type planner struct {
	campaign *Campaign
	fleet    Fleet
	clusters []*Cluster // sorted by name
	opts     options
	plan     *Plan
	// files caches the content of a new label file by value: every file
	// the campaign creates for one label holds the same bytes. A label
	// change's clean-up waves are planned on a goroutine of their own:
	// filesMu guards it.
	files   map[string]string
	filesMu sync.Mutex
	// keepQuoting leaves the quoting of a set value to the file (a field
	// of a hierarchy), where a label is always written as a string.
	keepQuoting bool
}

func sortedClusters(in []Cluster) ([]*Cluster, error) {
	out := make([]*Cluster, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	slices.SortFunc(out, func(a, b *Cluster) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("cluster %q is listed twice (tenants %q and %q)",
				out[i].Name, out[i-1].Tenant, out[i].Tenant)
		}
	}
	for _, cl := range out {
		if cl.Name == "" {
			return nil, fmt.Errorf("a cluster of tenant %q has no name", cl.Tenant)
		}
	}
	return out, nil
}

// candidates returns the clusters the selector picks that are free to plan,
// recording excluded and locked ones as skipped.
func (pl *planner) candidates() []*Cluster {
	sel := pl.campaign.Spec.Selector
	var out []*Cluster
	for _, cl := range pl.clusters {
		if !selects(sel, cl) {
			continue
		}
		if slices.Contains(sel.Exclude, cl.Name) {
			pl.skip(cl, ReasonExcluded, "named by selector.exclude")
			continue
		}
		if cl.Disabled {
			pl.skip(cl, ReasonDisabled, disabledDetail(cl.DisabledAt))
			continue
		}
		if holder, ok := pl.fleet.Locks[cl.Name]; ok && holder != pl.campaign.Metadata.Name {
			pl.skip(cl, ReasonLocked, "held by campaign "+holder)
			continue
		}
		out = append(out, cl)
	}
	return out
}

// disabledDetail says where a cluster is switched off.
func disabledDetail(at *Location) string {
	switch {
	case at == nil || at.File == "":
		return "enabled: false in the fleet files"
	case at.Line > 0:
		return fmt.Sprintf("%s: false at %s:%d", strings.Join(at.Path, "."), at.File, at.Line)
	}
	return fmt.Sprintf("%s: false in %s", strings.Join(at.Path, "."), at.File)
}

// selects reports whether the selector's positive criteria pick the cluster.
// Each list, when not empty, must contain the cluster's value; every selector
// label must be among the cluster's effective labels.
func selects(s Selector, cl *Cluster) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	if !in(s.Tenants, cl.Tenant) || !in(s.Envs, cl.Env) || !in(s.Fleets, cl.Fleet) || !in(s.Clusters, cl.Name) {
		return false
	}
	for k, v := range s.Labels {
		if got, ok := cl.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (pl *planner) skip(cl *Cluster, reason, detail string) {
	pl.plan.Skipped = append(pl.plan.Skipped, SkippedCluster{
		Name: cl.Name, Tenant: cl.Tenant, Env: cl.Env, Reason: reason, Detail: detail,
	})
}

// checkOrder refuses steps in environments strategy.order does not list: the
// planner cannot guess where they go, and leaving them out silently would
// break "every selected cluster appears".
func (pl *planner) checkOrder(steps []*step) error {
	order := pl.campaign.Spec.Strategy.Order
	var names []string
	envs := map[string]bool{}
	for _, s := range steps {
		if !slices.Contains(order, s.cluster.Env) {
			names = append(names, s.cluster.Name)
			envs[s.cluster.Env] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	missing := sortedKeys(envs)
	return &RefusedError{
		Rule:     RuleEnvOrder,
		Clusters: names,
		Message: fmt.Sprintf("environment(s) %s are not in strategy.order %v (clusters %s): add them to the order or narrow selector.envs",
			strings.Join(missing, ", "), order, strings.Join(names, ", ")),
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Expected returns cluster name's step behind plan wave idx and the value
// the cluster carries once the wave merged: the step's target, or, when the
// wave is reverted, the value before the campaign. A clean-up wave changes
// no cluster, so its step is the cluster's last change before it, and
// neither it nor its revert moves the value away from that change's target.
func (p *Plan) Expected(idx int, name string, revert bool) (WaveCluster, string, bool) {
	if idx < 1 || idx > len(p.Waves) {
		return WaveCluster{}, "", false
	}
	cleanup := p.Waves[idx-1].Cleanup
	from := idx - 1
	if cleanup {
		from = 0
	}
	for i := idx - 1; i >= from; i-- {
		for _, c := range p.Waves[i].Clusters {
			if c.Name != name {
				continue
			}
			if revert && !cleanup {
				return c, c.From, true
			}
			return c, c.To, true
		}
	}
	return WaveCluster{}, "", false
}

// Subject is the cluster a wave's gates look at for one of its clusters,
// and what they should find there.
type Subject struct {
	// Cluster is the cluster to look at: the wave's cluster, or in a
	// blue-green step the green one that replaces it.
	Cluster string
	// Value is what it should run (Expected's value).
	Value string
	// Gone says it should be gone: the blue cluster once retired, the
	// green one once its step is reverted. New says the wave creates it
	// (the green cluster added): not there yet is not a failure.
	Gone, New bool
	// Traffic is the share of traffic, in percent, the cluster should
	// carry once the wave merged: a traffic step's share for the green
	// cluster; for the blue one, once a traffic step is reverted, what the
	// traffic step before it left it (100 when none did); 0 for a cluster
	// added, or gone; 100 for a cluster changed in place, which keeps all
	// of its own.
	Traffic int
}

// GateSubject returns what the gates of plan wave idx (reverted, when
// revert) look at for its cluster name: the cluster itself at Expected's
// value for a change in place. In a blue-green step: the green cluster
// at the target once it is added and while traffic moves to it; the blue
// one, at its own version, once a traffic step is reverted; the green one
// gone once its addition is reverted; the blue one gone once retired.
// It also returns the cluster's step, as Expected does.
func (p *Plan) GateSubject(idx int, name string, revert bool) (WaveCluster, Subject, bool) {
	wc, value, ok := p.Expected(idx, name, revert)
	if !ok {
		return WaveCluster{}, Subject{}, false
	}
	sub := Subject{Cluster: name, Value: value, Traffic: 100}
	switch step := p.Waves[idx-1].Step; {
	case step == StepGreen && revert:
		sub.Cluster, sub.Gone, sub.Traffic = wc.Green, true, 0
	case step == StepGreen:
		sub.Cluster, sub.New, sub.Traffic = wc.Green, true, 0
	case step == StepTraffic && !revert:
		sub.Cluster, sub.Traffic = wc.Green, p.Waves[idx-1].Traffic
	case step == StepTraffic:
		sub.Traffic = 100 - p.trafficBefore(idx, name)
	case step == StepRetire:
		sub.Gone, sub.Traffic = true, 0
	}
	return wc, sub, true
}

// trafficBefore returns the green cluster's share of traffic, in percent,
// that the traffic step of cluster name before plan wave idx moved it to:
// 0 when none did.
func (p *Plan) trafficBefore(idx int, name string) int {
	for i := idx - 2; i >= 0; i-- {
		w := p.Waves[i]
		if w.Step == StepTraffic && slices.ContainsFunc(w.Clusters, func(c WaveCluster) bool { return c.Name == name }) {
			return w.Traffic
		}
	}
	return 0
}
