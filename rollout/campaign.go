package rollout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// CampaignAPIVersion and CampaignKind are the only apiVersion and kind a
// campaign file may declare.
const (
	CampaignAPIVersion = "fleetbot.io/v1alpha1"
	CampaignKind       = "Campaign"
)

// Campaign is one reviewed rollout: what changes, on which clusters, in which
// order, when, and who merges. It is decoded from a campaign file
// (apiVersion fleetbot.io/v1alpha1, kind Campaign) by ParseCampaign, which
// also fills in the defaults; a Campaign built in code gets none.
type Campaign struct {
	APIVersion string   `json:"apiVersion" yaml:"apiVersion"`
	Kind       string   `json:"kind" yaml:"kind"`
	Metadata   Metadata `json:"metadata" yaml:"metadata"`
	Spec       Spec     `json:"spec" yaml:"spec"`

	// src is where ParseCampaign read the selector; nil for a campaign
	// built in code, whose problems then name fields without a file.
	src *campaignSource
}

// Metadata names a campaign. The name is used in branch names, so it is a DNS
// label: lower-case letters, digits and dashes.
type Metadata struct {
	Name string `json:"name" yaml:"name"`
}

// Spec is the body of a campaign.
type Spec struct {
	Change   Change    `json:"change" yaml:"change"`
	Selector Selector  `json:"selector" yaml:"selector"`
	Strategy Strategy  `json:"strategy" yaml:"strategy"`
	Gates    Gates     `json:"gates,omitzero" yaml:"gates,omitempty"`
	Schedule Schedule  `json:"schedule" yaml:"schedule"`
	Merge    MergeMode `json:"merge" yaml:"merge"`
	// MergeMethod is how the bot merges with Merge auto: merge (default),
	// squash or rebase, within what the repository allows.
	MergeMethod string `json:"mergeMethod,omitempty" yaml:"mergeMethod,omitempty"`
}

// Change holds exactly one kind of change.
type Change struct {
	EKSVersion *EKSVersionChange `json:"eksVersion,omitempty" yaml:"eksVersion,omitempty"`
	Label      *LabelChange      `json:"label,omitempty" yaml:"label,omitempty"`
	Field      *FieldChange      `json:"field,omitempty" yaml:"field,omitempty"`
}

// EKSVersionChange moves clusters' control planes to To, one minor version per
// hop. It is forward-only: EKS cannot downgrade a control plane.
type EKSVersionChange struct {
	// To is the target version, "1.NN". It is a string: 1.30 unquoted is
	// the number 1.3.
	To string `json:"to" yaml:"to"`
	// Hops says what to do with clusters more than one minor below To:
	// "sequential" (the default) plans one hop per minor, "refuse" refuses
	// the plan.
	Hops string `json:"hops,omitempty" yaml:"hops,omitempty"`
}

// LabelChange sets a fleet-secret label. It is revertible. Label values are
// strings, as on the Argo CD cluster secret.
type LabelChange struct {
	Key string `json:"key" yaml:"key"`
	// From, when set, is the value every selected cluster must carry now.
	From string `json:"from,omitempty" yaml:"from,omitempty"`
	To   string `json:"to" yaml:"to"`
	// Level, when set, is the level of the label hierarchy whose files get
	// the value in the change waves (LevelCluster, LevelEnv, LevelTenant or
	// LevelGlobal); empty means each cluster's own, most specific file.
	Level string `json:"level,omitempty" yaml:"level,omitempty"`
}

// Levels of a hierarchy a label or hierarchy field change edits in its
// change waves, before the clean-up waves fold the value up.
const (
	LevelCluster = "cluster" // each cluster's own file
	LevelEnv     = "env"     // the environment's file
	LevelTenant  = "tenant"  // the tenant's file
	LevelGlobal  = "global"  // the file every tenant shares
)

// Levels lists the levels a campaign may name, from the most specific.
var Levels = []string{LevelCluster, LevelEnv, LevelTenant, LevelGlobal}

// FieldChange sets a scalar: at a key path in files matched by a glob
// (Files), or at a key path of a hierarchy the layout declares (Hierarchy),
// the way a label change sets a label.
type FieldChange struct {
	// Files is a slash-separated glob relative to the repository root: each
	// segment follows path.Match, and a segment "**" matches any number of
	// directories. Files and Hierarchy exclude each other.
	Files string `json:"files,omitempty" yaml:"files,omitempty"`
	// Hierarchy names a hierarchy of the layout ("labels" is the label
	// hierarchy); Path is then the key path under the hierarchy's key, and
	// Level the level whose files get the value (default LevelCluster).
	Hierarchy string `json:"hierarchy,omitempty" yaml:"hierarchy,omitempty"`
	Level     string `json:"level,omitempty" yaml:"level,omitempty"`
	// Path is a dot-separated key path. With Files, a segment "*" matches
	// any key; with Hierarchy, it names one key and "\." is a dot inside a
	// key.
	Path string `json:"path" yaml:"path"`
	// From, when set, is the value each matched scalar must hold now. From
	// and To keep the text the campaign wrote (2.10 stays "2.10").
	From string `json:"from,omitempty" yaml:"from,omitempty"`
	To   string `json:"to" yaml:"to"`
	// Revertible says whether rollback may write From back. A campaign file
	// must state it: a wrong guess either way is costly.
	Revertible bool `json:"revertible" yaml:"revertible"`
}

// Selector picks clusters; an empty list selects all.
type Selector struct {
	Tenants  []string          `json:"tenants,omitempty" yaml:"tenants,omitempty"`
	Envs     []string          `json:"envs,omitempty" yaml:"envs,omitempty"`
	Fleets   []string          `json:"fleets,omitempty" yaml:"fleets,omitempty"`
	Clusters []string          `json:"clusters,omitempty" yaml:"clusters,omitempty"`
	Labels   map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	// Exclude names clusters that are never touched, even when selected.
	Exclude []string `json:"exclude,omitempty" yaml:"exclude,omitempty"`
}

// Strategy shapes the waves and the failure budget. The comments give the
// defaults ParseCampaign fills in.
type Strategy struct {
	// Order lists the environments in rollout order. Required.
	Order []string `json:"order" yaml:"order"`
	// Canary puts a fleet's canaries in a wave before its other clusters
	// (default true).
	Canary bool `json:"canary" yaml:"canary"`
	// MaxConcurrency caps the clusters of one wave: a count, or a percentage
	// of the environment's selected clusters (default 1).
	MaxConcurrency Quantity `json:"maxConcurrency" yaml:"maxConcurrency"`
	// MaxPerTenant caps one tenant's clusters in a wave (default 0: no cap).
	MaxPerTenant int `json:"maxPerTenant,omitempty" yaml:"maxPerTenant,omitempty"`
	// MaxFailures is the failure budget: a count, or a percentage of the
	// selected clusters (default 0: the first failure halts).
	MaxFailures Quantity `json:"maxFailures" yaml:"maxFailures"`
	// Bake is how long a wave must stay healthy before the next one opens
	// (default 0s).
	Bake Duration `json:"bake" yaml:"bake"`
	// ProgressDeadline is how long a cluster may take from merge to healthy
	// before it counts as failed (default 1h).
	ProgressDeadline Duration `json:"progressDeadline" yaml:"progressDeadline"`
	// Approvals names the environments whose first wave waits for an
	// approval.
	Approvals []string `json:"approvals,omitempty" yaml:"approvals,omitempty"`
	// UnapprovedMerge says what a wave pull request merged without an
	// approval by an owner of its tenant does: UnapprovedHalt (default)
	// halts the campaign, UnapprovedRecord records it and goes on.
	UnapprovedMerge string `json:"unapprovedMerge,omitempty" yaml:"unapprovedMerge,omitempty"`
	// Method maps an environment to how its clusters change: MethodInPlace
	// (the default for an environment not named) or MethodBlueGreen, which
	// only an eksVersion change may ask for.
	Method map[string]string `json:"method,omitempty" yaml:"method,omitempty"`
	// Traffic lists the shares of traffic, in percent, a blue-green
	// cluster's green successor takes one pull request after the other
	// (default [100]); the last is 100.
	Traffic []int `json:"traffic,omitempty" yaml:"traffic,omitempty"`
}

// How an environment's clusters change (Strategy.Method).
const (
	MethodInPlace   = "inPlace"
	MethodBlueGreen = "blueGreen"
)

// BlueGreen reports whether env's clusters are replaced blue-green.
func (s Strategy) BlueGreen(env string) bool { return s.Method[env] == MethodBlueGreen }

// TrafficSteps returns the blue-green traffic steps: Traffic, or [100].
func (s Strategy) TrafficSteps() []int {
	if len(s.Traffic) == 0 {
		return []int{100}
	}
	return s.Traffic
}

// What an unapproved merge does (Strategy.UnapprovedMerge).
const (
	UnapprovedHalt   = "halt"
	UnapprovedRecord = "record"
)

// Defaults ParseCampaign fills in for what a campaign file leaves out.
const (
	DefaultMaxConcurrency   = 1
	DefaultProgressDeadline = time.Hour
)

// Quantity is a count ("3" or 3) or a percentage ("25%"). Percent is zero
// for a count.
type Quantity struct {
	Count   int
	Percent int
	// IsSet says the campaign file wrote the value; ParseCampaign fills in
	// defaults with IsSet false.
	IsSet bool
}

// Of resolves q against a total: a count as it is, a percentage rounded down
// but at least 1 when the total is not zero.
func (q Quantity) Of(total int) int {
	if q.Percent == 0 {
		return q.Count
	}
	n := total * q.Percent / 100
	if n < 1 && total > 0 {
		n = 1
	}
	return n
}

// String writes q as a campaign file would: "3" or "25%".
func (q Quantity) String() string {
	if q.Percent != 0 {
		return strconv.Itoa(q.Percent) + "%"
	}
	return strconv.Itoa(q.Count)
}

var (
	quantityCountRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(0|[1-9][0-9]*)$`) })
	quantityPercentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(0|[1-9][0-9]*)%$`) })
)

// ParseQuantity reads a count ("3", at least 0) or a percentage ("25%", 1%
// to 100%). Callers check a count's lower bound where it matters.
func ParseQuantity(s string) (Quantity, error) {
	if m := quantityCountRE().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return Quantity{}, fmt.Errorf("%s is too large", s)
		}
		return Quantity{Count: n, IsSet: true}, nil
	}
	if m := quantityPercentRE().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		switch {
		case err != nil || n > 100:
			return Quantity{}, fmt.Errorf("%s is more than 100%%", s)
		case n < 1:
			return Quantity{}, fmt.Errorf("%s is less than 1%%", s)
		}
		return Quantity{Percent: n, IsSet: true}, nil
	}
	return Quantity{}, fmt.Errorf("%q is neither a count nor a percentage", s)
}

// MarshalJSON writes a count as a number and a percentage as a string.
func (q Quantity) MarshalJSON() ([]byte, error) {
	if q.Percent != 0 {
		return json.Marshal(q.String())
	}
	return json.Marshal(q.Count)
}

// UnmarshalJSON reads 3, "3" or "25%".
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("%s is neither a count nor a percentage", b)
		}
		s = n.String()
	}
	v, err := ParseQuantity(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// MarshalYAML writes a count as an integer and a percentage as a string.
func (q Quantity) MarshalYAML() (any, error) {
	if q.Percent != 0 {
		return q.String(), nil
	}
	return q.Count, nil
}

// UnmarshalYAML reads 3, "3" or 25%.
func (q *Quantity) UnmarshalYAML(n *yaml.Node) error {
	v, err := quantityFromNode(n)
	if err == nil && v.Count < 0 {
		err = fmt.Errorf("must be at least 0, not %d", v.Count)
	}
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*q = v
	return nil
}

// quantityFromNode accepts an integer or a string scalar; an integral float
// such as 3.0 is the integer 3, as it is to JSON Schema. A negative count is
// left for the caller to refuse with its own lower bound.
func quantityFromNode(n *yaml.Node) (Quantity, error) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str":
			return ParseQuantity(n.Value)
		case "!!int", "!!float":
			if v, ok := decode.Int(n); ok {
				return Quantity{Count: v, IsSet: true}, nil
			}
		}
	}
	return Quantity{}, fmt.Errorf("%s is neither a count nor a percentage", decode.Describe(n))
}

var durationRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|µs|ns))+$`) })

// Duration is a time.Duration written as "30m", "2h" or "1h30m".
type Duration struct {
	time.Duration
}

// ParseDuration reads a non-negative duration with units: "30m", "2h",
// "1h30m", "0s".
func ParseDuration(s string) (Duration, error) {
	if !durationRE().MatchString(s) {
		return Duration{}, fmt.Errorf("%q is not a duration like 30m, 2h or 1h30m (units h, m, s, ms, us, ns)", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Duration{}, fmt.Errorf("%q is too long", s)
	}
	return Duration{d}, nil
}

// String writes d without zero tails: "30m", "2h", "1h30m", "0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes d as a string such as "30m".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a string such as "30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not a duration like \"30m\"", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes d as a string such as 30m.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a string such as 30m.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := durationFromNode(n)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

func durationFromNode(n *yaml.Node) (Duration, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
			return Duration{}, fmt.Errorf("%s is a number, not a duration: write it with a unit, like 30m or 2h", n.Value)
		}
		return Duration{}, fmt.Errorf("must be a duration like 30m or 2h, not %s", decode.Describe(n))
	}
	return ParseDuration(n.Value)
}

// Gates configures the checks run on each cluster after its pull request
// merged. A nil field is a gate the campaign does not use; Names lists the
// others. The gates' settings and rules are in gates.go.
type Gates struct {
	Terraform  *TerraformGate  `json:"terraform,omitempty" yaml:"terraform,omitempty"`
	ArgoCD     *ArgoCDGate     `json:"argocd,omitempty" yaml:"argocd,omitempty"`
	Prometheus *PrometheusGate `json:"prometheus,omitempty" yaml:"prometheus,omitempty"`
	EKS        *EKSGate        `json:"eks,omitempty" yaml:"eks,omitempty"`
}

// Schedule says when a campaign may start a wave. Compile turns it into a
// Calendar.
type Schedule struct {
	// NotBefore is the earliest instant a wave may start.
	NotBefore *time.Time `json:"notBefore,omitempty" yaml:"notBefore,omitempty"`
	// Timezone is the IANA zone of windows, blackouts and days (default UTC).
	Timezone  string     `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	Windows   []Window   `json:"windows,omitempty" yaml:"windows,omitempty"`
	Blackouts []Blackout `json:"blackouts,omitempty" yaml:"blackouts,omitempty"`
	// MaxOpenPRs caps the campaign's open pull requests (0: no cap).
	MaxOpenPRs int `json:"maxOpenPRs,omitempty" yaml:"maxOpenPRs,omitempty"`
	// MaxWavesPerDay caps the waves started on one calendar day in Timezone
	// (0: no cap).
	MaxWavesPerDay int `json:"maxWavesPerDay,omitempty" yaml:"maxWavesPerDay,omitempty"`
}

// Window is a recurring maintenance window in the schedule's time zone. Days
// are Mon..Sun and name the day the window starts; Start and End are "HH:MM"
// wall-clock times, and End before Start means the window crosses midnight
// into the next day.
type Window struct {
	Days  []string `json:"days" yaml:"days"`
	Start string   `json:"start" yaml:"start"`
	End   string   `json:"end" yaml:"end"`
}

// Blackout is a span of calendar dates (YYYY-MM-DD, inclusive, in the
// schedule's time zone) when the campaign never starts a wave.
type Blackout struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
	// Reason is shown when the blackout holds a wave back.
	Reason string `json:"reason,omitempty" yaml:"reason,omitempty"`
}

// MergeMode says who merges a wave's pull requests.
type MergeMode string

// Merge modes.
const (
	MergeOwners MergeMode = "owners" // the tenant's owners merge
	MergeAuto   MergeMode = "auto"   // the bot merges once owners approved and checks pass
)
