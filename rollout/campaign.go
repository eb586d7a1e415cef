package rollout

import "time"

// Campaign is one reviewed rollout: what changes, on which clusters, in which
// order, when, and who merges. It is decoded from a campaign file
// (apiVersion fleetbot.io/v1alpha1, kind Campaign).
type Campaign struct {
	APIVersion string   `json:"apiVersion" yaml:"apiVersion"`
	Kind       string   `json:"kind" yaml:"kind"`
	Metadata   Metadata `json:"metadata" yaml:"metadata"`
	Spec       Spec     `json:"spec" yaml:"spec"`
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
	Gates    Gates     `json:"gates" yaml:"gates"`
	Schedule Schedule  `json:"schedule" yaml:"schedule"`
	Merge    MergeMode `json:"merge" yaml:"merge"`
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
	To string `json:"to" yaml:"to"`
	// Hops says what to do with clusters more than one minor below To:
	// "sequential" plans one hop per minor, "refuse" refuses the plan.
	Hops string `json:"hops,omitempty" yaml:"hops,omitempty"`
}

// LabelChange sets a fleet-secret label. It is revertible.
type LabelChange struct {
	Key  string `json:"key" yaml:"key"`
	From string `json:"from,omitempty" yaml:"from,omitempty"`
	To   string `json:"to" yaml:"to"`
}

// FieldChange sets any scalar at a key path in files matched by a glob.
type FieldChange struct {
	Files      string `json:"files" yaml:"files"`
	Path       string `json:"path" yaml:"path"`
	From       string `json:"from,omitempty" yaml:"from,omitempty"`
	To         string `json:"to" yaml:"to"`
	Revertible bool   `json:"revertible" yaml:"revertible"`
}

// Selector picks clusters; an empty list selects all.
type Selector struct {
	Tenants  []string          `json:"tenants,omitempty" yaml:"tenants,omitempty"`
	Envs     []string          `json:"envs,omitempty" yaml:"envs,omitempty"`
	Fleets   []string          `json:"fleets,omitempty" yaml:"fleets,omitempty"`
	Clusters []string          `json:"clusters,omitempty" yaml:"clusters,omitempty"`
	Labels   map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Exclude  []string          `json:"exclude,omitempty" yaml:"exclude,omitempty"`
}

// Strategy shapes the waves and the failure budget.
type Strategy struct {
	Order            []string `json:"order" yaml:"order"`
	Canary           bool     `json:"canary" yaml:"canary"`
	MaxConcurrency   Quantity `json:"maxConcurrency" yaml:"maxConcurrency"`
	MaxPerTenant     int      `json:"maxPerTenant,omitempty" yaml:"maxPerTenant,omitempty"`
	MaxFailures      Quantity `json:"maxFailures" yaml:"maxFailures"`
	Bake             Duration `json:"bake" yaml:"bake"`
	ProgressDeadline Duration `json:"progressDeadline" yaml:"progressDeadline"`
	Approvals        []string `json:"approvals,omitempty" yaml:"approvals,omitempty"`
}

// Quantity is a count ("3") or a percentage ("25%").
type Quantity struct {
	Count   int
	Percent int
	IsSet   bool
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

// Duration is a time.Duration written as "30m" or "2h".
type Duration struct {
	time.Duration
}

// Gates configures the checks run after a wave merged. The gates issue fills
// this in; until then any content is kept as written.
type Gates map[string]any

// Schedule says when a campaign may act.
type Schedule struct {
	NotBefore      *time.Time `json:"notBefore,omitempty" yaml:"notBefore,omitempty"`
	Timezone       string     `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	Windows        []Window   `json:"windows,omitempty" yaml:"windows,omitempty"`
	Blackouts      []Blackout `json:"blackouts,omitempty" yaml:"blackouts,omitempty"`
	MaxOpenPRs     int        `json:"maxOpenPRs,omitempty" yaml:"maxOpenPRs,omitempty"`
	MaxWavesPerDay int        `json:"maxWavesPerDay,omitempty" yaml:"maxWavesPerDay,omitempty"`
}

// Window is a recurring maintenance window in the schedule's time zone. End
// before Start means the window crosses midnight.
type Window struct {
	Days  []string `json:"days" yaml:"days"`
	Start string   `json:"start" yaml:"start"`
	End   string   `json:"end" yaml:"end"`
}

// Blackout is a span of calendar dates (inclusive, in the schedule's time zone)
// when the campaign never acts.
type Blackout struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// MergeMode says who merges a wave's pull requests.
type MergeMode string

// Merge modes.
const (
	MergeOwners MergeMode = "owners" // the tenant's owners merge
	MergeAuto   MergeMode = "auto"   // the bot merges once owners approved and checks pass
)
