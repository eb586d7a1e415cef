package rollout

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// CampaignPhase is where a campaign stands. docs/state-machine.md draws the
// transitions between phases.
type CampaignPhase string

// Campaign phases. Succeeded, Aborted and RolledBack are final.
const (
	CampaignPending     CampaignPhase = "Pending"     // known, not yet accepted
	CampaignScheduled   CampaignPhase = "Scheduled"   // accepted, waiting for the schedule to allow acting
	CampaignRunning     CampaignPhase = "Running"     // opening waves and verifying them
	CampaignPaused      CampaignPhase = "Paused"      // a person stopped it; facts are still recorded
	CampaignHalted      CampaignPhase = "Halted"      // over the failure budget or a wave failed
	CampaignSucceeded   CampaignPhase = "Succeeded"   // every wave baked
	CampaignAborted     CampaignPhase = "Aborted"     // a person ended it
	CampaignRollingBack CampaignPhase = "RollingBack" // revert waves open one at a time, last wave first
	CampaignRolledBack  CampaignPhase = "RolledBack"  // every revert wave merged, verified and baked
)

// Final reports whether the campaign takes no more steps forward.
func (p CampaignPhase) Final() bool {
	return p == CampaignSucceeded || p == CampaignAborted || p == CampaignRolledBack
}

// acting reports whether the campaign opens waves and asks for work.
func (p CampaignPhase) acting() bool { return p == CampaignRunning || p == CampaignRollingBack }

// HaltDue is a halt waiting for the campaign to act again: the wave whose
// pull request asked for it, and why.
type HaltDue struct {
	Wave   int    `json:"wave"`
	Reason string `json:"reason"`
}

// WaveKind says what a wave does.
type WaveKind string

// Wave kinds. Every kind is a wave of the state like any other: it opens
// when the wave before it baked, its pull requests merge, its clusters are
// gated and it bakes.
const (
	WaveChange  WaveKind = ""        // moves its clusters to the campaign's target
	WaveCleanup WaveKind = "cleanup" // folds a label up the hierarchy once every cluster carries it; no effective value changes
	WaveRevert  WaveKind = "revert"  // reverts the merged pull requests of an earlier wave
)

// WavePhase is where a wave stands.
type WavePhase string

// Wave phases. At most one wave of a campaign is in Open, Merged, Verifying,
// Baking or Failed at any time.
const (
	WavePending   WavePhase = "Pending"   // not opened yet
	WaveOpen      WavePhase = "Open"      // pull requests asked for or up, not all merged
	WaveMerged    WavePhase = "Merged"    // every pull request merged, no gate result yet
	WaveVerifying WavePhase = "Verifying" // gates report on its clusters
	WaveBaking    WavePhase = "Baking"    // every cluster settled; waiting out the bake
	WaveSucceeded WavePhase = "Succeeded" // baked without a failure
	WaveFailed    WavePhase = "Failed"    // a failure during the bake, or no cluster passed
	WaveSkipped   WavePhase = "Skipped"   // never opened, for the reason the wave records
	WaveStopped   WavePhase = "Stopped"   // in flight when the campaign was aborted or rolled back: it goes no further
)

// ClusterPhase is where one cluster of a campaign stands.
type ClusterPhase string

// Cluster phases. Succeeded, Failed, TimedOut and Skipped settle a cluster:
// it no longer holds its wave back.
const (
	ClusterPending   ClusterPhase = "Pending"   // its pull request is not up yet
	ClusterPreflight ClusterPhase = "Preflight" // EKS is asked whether it is ready for the target minor; not in a pull request yet
	ClusterInPR      ClusterPhase = "InPR"      // its tenant's pull request is up, not merged
	ClusterApplied   ClusterPhase = "Applied"   // merged, no gate result yet
	ClusterVerifying ClusterPhase = "Verifying" // gates report on it
	ClusterSucceeded ClusterPhase = "Succeeded" // every gate passed
	ClusterFailed    ClusterPhase = "Failed"    // a gate failed
	ClusterTimedOut  ClusterPhase = "TimedOut"  // not Succeeded by its progress deadline
	ClusterSkipped   ClusterPhase = "Skipped"   // left out by a person, with a reason
	// ClusterStopped: its wave stopped before it settled, as the campaign
	// was aborted or turned to roll back; Merged says whether its pull
	// request had merged (its files carry the change, not verified).
	ClusterStopped ClusterPhase = "Stopped"
)

// NotReached is not a phase the state machine gives: it is how a wave an
// ended campaign never opened (State.NotReached), and its clusters, which
// stay Pending in the state, are shown and counted (Steps, Progress, the
// status page, metrics).
const (
	WaveNotReached    WavePhase    = "NotReached"
	ClusterNotReached ClusterPhase = "NotReached"
)

// settled reports whether a cluster in phase p no longer holds its wave back.
func (p ClusterPhase) settled() bool {
	switch p {
	case ClusterSucceeded, ClusterFailed, ClusterTimedOut, ClusterSkipped, ClusterStopped:
		return true
	}
	return false
}

// failed reports whether a cluster in phase p counts against the failure
// budget.
func (p ClusterPhase) failed() bool { return p == ClusterFailed || p == ClusterTimedOut }

// PRStatus is where one tenant's pull request of a wave stands.
type PRStatus string

// Pull request statuses.
const (
	PRStatusPending   PRStatus = "Pending"   // wanted; OpenWave not emitted yet (paused, or waiting to flush)
	PRStatusRequested PRStatus = "Requested" // OpenWave emitted, not reported open yet
	PRStatusOpen      PRStatus = "Open"
	PRStatusMerged    PRStatus = "Merged"
	PRStatusClosed    PRStatus = "Closed" // closed without merge: its clusters wait for a retry or a skip
)

// Outcome is a gate's verdict on one cluster.
type Outcome string

// Gate outcomes. Waiting is inconclusive and never passes.
const (
	GatePassed  Outcome = "passed"
	GateFailed  Outcome = "failed"
	GateWaiting Outcome = "waiting"
)

// Policy is what the machine needs to know of a campaign's strategy, already
// resolved to plain values by the caller.
type Policy struct {
	// Bake is how long a wave waits, from the moment its last cluster
	// settled, before the next wave may open. Zero means no wait.
	Bake time.Duration `json:"bake"`
	// ProgressDeadline is how long a cluster has to succeed once its gates
	// were requested after its merge (or after a retry). Zero means no
	// deadline.
	ProgressDeadline time.Duration `json:"progressDeadline"`
	// MaxFailures is the failure budget as a count: the campaign halts when
	// more clusters than this are Failed or TimedOut at once.
	MaxFailures int `json:"maxFailures"`
	// Approvals holds the 1-based numbers of the waves that need an Approve
	// before they open.
	Approvals map[int]bool `json:"approvals,omitempty"`
	// Gates names the gates every cluster must pass to succeed.
	Gates []string `json:"gates"`
	// CleanupGates names the gates the clusters of a clean-up wave (and of
	// its revert) pass: a subset of Gates, possibly empty, when a clean-up
	// merged is all there is to know.
	CleanupGates []string `json:"cleanupGates,omitempty"`
	// Change is the change's kind (KindEKSVersion, KindLabel or KindField);
	// it words the refusal of a rollback.
	Change string `json:"change"`
	// Described says the change in one line (PlanChange.Describe: its
	// target, and whether it reverts), for what shows a campaign from its
	// state alone, as `fleetbot campaign status`. Empty in a state stored
	// before it was kept.
	Described string `json:"described,omitempty"`
	// Revertible says whether Rollback may revert merged waves.
	Revertible bool `json:"revertible"`
	// AutoMerge says that the bot merges a wave pull request once the
	// tenant's owners approved it and its checks pass (merge: auto); the
	// owners merge it otherwise. It words what a wave waits for.
	AutoMerge bool `json:"autoMerge,omitempty"`
	// HaltUnapproved halts the campaign when a pull request merges without
	// an approval by an owner of its tenant; otherwise the merge is only
	// recorded.
	HaltUnapproved bool `json:"haltUnapproved,omitempty"`
	// Preflight asks EKS about each cluster of a change wave before the
	// cluster goes into a pull request (an EKS version campaign whose eks
	// gate sets preflight): a cluster that fails is held back, Failed by
	// GatePreflight, and counts against the failure budget.
	Preflight bool `json:"preflight,omitempty"`
}

// SharedTenant is the tenant of a pull request of files shared by all
// tenants (a clean-up that folds a label into a file every cluster reads).
const SharedTenant = "_admins"

// ClusterRef names one cluster of a wave and the tenant whose pull request
// carries its change: SharedTenant when that is a pull request of shared
// files.
type ClusterRef struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
}

// State is a whole campaign at one moment. It is plain data, encoded to JSON
// with a stable field order, and only Transition derives a new one from it.
type State struct {
	Campaign string        `json:"campaign"`
	Phase    CampaignPhase `json:"phase"`
	Policy   Policy        `json:"policy"`
	Waves    []WaveState   `json:"waves"`
	// PausedFrom is the phase Resume returns to; PausedAt is when the pause
	// began, so Resume can extend deadlines and bakes by the pause.
	PausedFrom CampaignPhase `json:"pausedFrom,omitempty"`
	PausedAt   time.Time     `json:"pausedAt,omitzero"`
	// HaltReason says why the campaign halted, while it is Halted.
	HaltReason string `json:"haltReason,omitempty"`
	// HaltedForFailures says that it halted over its failure budget or for
	// a failed wave, which retries and skips resolve, not for a merge.
	HaltedForFailures bool `json:"haltedForFailures,omitempty"`
	// HaltedOn is the wave whose pull requests got the halt's report,
	// while it is Halted: the resume's report goes there too.
	HaltedOn int `json:"haltedOn,omitempty"`
	// HaltDue is a halt a pull request merged without an owner's approval
	// asked for while the campaign did not act (Paused or Halted): the
	// Resume that would make it act halts it instead.
	HaltDue *HaltDue `json:"haltDue,omitempty"`
	// History records the campaign's own steps: schedule, pause, resume,
	// halt, abort, rollback, the end.
	History []Evidence `json:"history"`
	// Posts are the reports and approval requests asked for and not yet
	// reported posted, oldest first; PostSeq is the number of the last
	// one asked for.
	Posts   []Post `json:"posts,omitempty"`
	PostSeq int    `json:"postSeq,omitempty"`
}

// WaveState is one wave of a campaign.
type WaveState struct {
	Number int       `json:"number"` // 1-based, in rollout order
	Kind   WaveKind  `json:"kind,omitempty"`
	Phase  WavePhase `json:"phase"`
	// Reverts is the number of the wave a revert wave reverts.
	Reverts int `json:"reverts,omitempty"`
	// Step is the blue-green step of a change wave (StepGreen, StepTraffic,
	// StepRetire); empty for a change made in place. The green and traffic
	// steps can be reverted until the retire step of their clusters
	// merged, whatever the change's kind; a retire step never can.
	Step string `json:"step,omitempty"`
	// SkipReason says why a wave was Skipped.
	SkipReason string         `json:"skipReason,omitempty"`
	Clusters   []ClusterState `json:"clusters"`
	// PRs holds one pull request per tenant with a cluster to change,
	// in the order the tenants first appear in Clusters; empty until the
	// wave opens.
	PRs               []PRState `json:"prs"`
	ApprovalRequested bool      `json:"approvalRequested,omitempty"`
	ApprovedBy        string    `json:"approvedBy,omitempty"`
	ApprovedAt        time.Time `json:"approvedAt,omitzero"`
	OpenedAt          time.Time `json:"openedAt,omitzero"`
	// BakeStart is the moment the last cluster settled; BakeUntil is when
	// the bake ends.
	BakeStart  time.Time `json:"bakeStart,omitzero"`
	BakeUntil  time.Time `json:"bakeUntil,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// RevertedAt is when a rollback asked for the wave's revert; the
	// revert is done once its revert wave succeeded (State.Reverted).
	RevertedAt time.Time `json:"revertedAt,omitzero"`
}

// PRState is one tenant's pull request within a wave.
type PRState struct {
	Tenant string   `json:"tenant"`
	Status PRStatus `json:"status"`
	Number int      `json:"number,omitempty"`
	SHA    string   `json:"sha,omitempty"` // the merge commit
	// Attempt counts the OpenWave actions that asked for this pull request:
	// 1, then one more per retry after it was closed without merge.
	Attempt  int       `json:"attempt"`
	OpenedAt time.Time `json:"openedAt,omitzero"`
	MergedAt time.Time `json:"mergedAt,omitzero"`
	ClosedAt time.Time `json:"closedAt,omitzero"`
	// MergedBy merged it; ApprovedBy is the owner whose approval counted;
	// Reviews is every reviewer's standing review at the merge. Each is
	// known when GitHub told it.
	MergedBy   string          `json:"mergedBy,omitempty"`
	ApprovedBy string          `json:"approvedBy,omitempty"`
	Reviews    []ReviewVerdict `json:"reviews,omitempty"`
	// MergeHeld says why the open pull request an owner approved is not
	// merged (MergeHeld, the event).
	MergeHeld string `json:"mergeHeld,omitempty"`
}

// ClusterState is one cluster of a campaign with the evidence of every step
// it took.
type ClusterState struct {
	Name   string       `json:"name"`
	Tenant string       `json:"tenant"`
	Phase  ClusterPhase `json:"phase"`
	// GatesDue says that RunGates must still be emitted for the cluster
	// (held back while the campaign is paused).
	GatesDue bool `json:"gatesDue,omitempty"`
	// PreflightDue says that RunPreflight must still be emitted for the
	// cluster.
	PreflightDue bool `json:"preflightDue,omitempty"`
	// JoinDue says that the cluster, held back by pre-flight and passed on
	// a retry, must be added to its tenant's pull request, which was up
	// already; Joining, that the pull request was asked for again with the
	// cluster, until it is reported open with it.
	JoinDue bool `json:"joinDue,omitempty"`
	Joining bool `json:"joining,omitempty"`
	// Deadline is when the cluster times out unless it succeeded first.
	Deadline time.Time `json:"deadline,omitzero"`
	// Gates holds the latest result of each gate since the cluster was
	// last (re)verified.
	Gates map[string]GateRecord `json:"gates,omitempty"`
	// FailedGate and FailedDetail say what failed it while it is Failed
	// or TimedOut.
	FailedGate   string     `json:"failedGate,omitempty"`
	FailedDetail string     `json:"failedDetail,omitempty"`
	SkipReason   string     `json:"skipReason,omitempty"`
	Evidence     []Evidence `json:"evidence"`
}

// GateRecord is the latest result of one gate on one cluster.
type GateRecord struct {
	Outcome Outcome   `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// Evidence is one recorded step: what happened, when, and the facts that
// justified it.
type Evidence struct {
	At      time.Time `json:"at"`
	Event   string    `json:"event"`
	From    string    `json:"from,omitempty"` // phase before
	To      string    `json:"to,omitempty"`   // phase after
	Gate    string    `json:"gate,omitempty"`
	Outcome Outcome   `json:"outcome,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	PR      int       `json:"pr,omitempty"`
	SHA     string    `json:"sha,omitempty"`
	By      string    `json:"by,omitempty"`
}

// ErrIgnored reports an event that changes nothing, such as a duplicate
// webhook or a gate result for a cluster that already timed out. The state is
// unchanged; callers log it and carry on.
var ErrIgnored = errors.New("event ignored")

// ErrForwardOnly reports a rollback of a change that cannot be reverted.
var ErrForwardOnly = errors.New("change is forward-only")

// EventError reports an event the machine refused or ignored. The state
// returned with it is the state given, unchanged.
type EventError struct {
	Campaign string
	Event    string
	Phase    CampaignPhase
	Reason   string
	Err      error // ErrIgnored, ErrForwardOnly or nil
}

// Error says which campaign refused which event, in which phase, and why.
func (e *EventError) Error() string {
	return fmt.Sprintf("campaign %s (%s): %s: %s", e.Campaign, e.Phase, e.Event, e.Reason)
}

// Unwrap returns ErrIgnored, ErrForwardOnly or nil.
func (e *EventError) Unwrap() error { return e.Err }

// WaveSpec is one wave given to NewState: its clusters, and whether it is a
// clean-up wave.
type WaveSpec struct {
	Clusters []ClusterRef
	Cleanup  bool
	// Step is the blue-green step the wave takes; empty in place.
	Step string
}

// NewState returns the Pending state of a campaign whose waves hold the given
// clusters, in rollout order. Waves are numbered from 1. A cluster appears
// at most once per wave; it may appear in several waves (one per EKS hop,
// and again in the clean-up waves that verify it).
func NewState(campaign string, p Policy, waves []WaveSpec) (State, error) {
	if err := checkNewState(campaign, p, waves); err != nil {
		return State{}, err
	}
	s := State{Campaign: campaign, Phase: CampaignPending, Policy: p, Waves: make([]WaveState, len(waves)), History: []Evidence{}}
	s.Policy.Gates = append([]string(nil), p.Gates...)
	s.Policy.CleanupGates = append([]string(nil), p.CleanupGates...)
	s.Policy.Approvals = nil
	for n, ok := range p.Approvals {
		if ok {
			if s.Policy.Approvals == nil {
				s.Policy.Approvals = map[int]bool{}
			}
			s.Policy.Approvals[n] = true
		}
	}
	for i, spec := range waves {
		w := WaveState{Number: i + 1, Phase: WavePending, Step: spec.Step, Clusters: make([]ClusterState, len(spec.Clusters)), PRs: []PRState{}}
		if spec.Cleanup {
			w.Kind = WaveCleanup
		}
		for j, r := range spec.Clusters {
			w.Clusters[j] = ClusterState{Name: r.Name, Tenant: r.Tenant, Phase: ClusterPending, Evidence: []Evidence{}}
		}
		s.Waves[i] = w
	}
	return s, nil
}

// checkNewState refuses what NewState refuses: a policy CheckPolicy
// refuses, no campaign name, a wave without clusters or with an unknown
// step, a cluster without a name or tenant or twice in one wave.
func checkNewState(campaign string, p Policy, waves []WaveSpec) error {
	if err := CheckPolicy(p, len(waves)); err != nil {
		return fmt.Errorf("new state of campaign %q: %w", campaign, err)
	}
	if campaign == "" {
		return errors.New("new state: empty campaign name")
	}
	for i, spec := range waves {
		refs := spec.Clusters
		if len(refs) == 0 {
			return fmt.Errorf("new state of campaign %q: wave %d: no clusters", campaign, i+1)
		}
		switch spec.Step {
		case "", StepGreen, StepTraffic, StepRetire:
		default:
			return fmt.Errorf("new state of campaign %q: wave %d: unknown step %q", campaign, i+1, spec.Step)
		}
		if spec.Step != "" && spec.Cleanup {
			return fmt.Errorf("new state of campaign %q: wave %d: a clean-up wave takes no blue-green step", campaign, i+1)
		}
		seen := make(map[string]bool, len(refs))
		for j, r := range refs {
			switch {
			case r.Name == "":
				return fmt.Errorf("new state of campaign %q: wave %d cluster %d: empty name", campaign, i+1, j+1)
			case r.Tenant == "":
				return fmt.Errorf("new state of campaign %q: wave %d cluster %q: empty tenant", campaign, i+1, r.Name)
			}
			if seen[r.Name] {
				return fmt.Errorf("new state of campaign %q: cluster %q is twice in wave %d", campaign, r.Name, i+1)
			}
			seen[r.Name] = true
		}
	}
	return nil
}

// CheckPolicy refuses a policy the machine cannot run over the given number
// of waves: negative durations or budget, no gate (a cluster could never be
// shown healthy), a gate named twice, an approval for a wave that does not
// exist.
func CheckPolicy(p Policy, waves int) error {
	switch {
	case p.Bake < 0:
		return fmt.Errorf("policy: bake %s is negative", p.Bake)
	case p.ProgressDeadline < 0:
		return fmt.Errorf("policy: progress deadline %s is negative", p.ProgressDeadline)
	case p.MaxFailures < 0:
		return fmt.Errorf("policy: max failures %d is negative", p.MaxFailures)
	case len(p.Gates) == 0:
		return errors.New("policy: no gates: a cluster could never be shown healthy; name at least one gate")
	}
	gates := map[string]bool{}
	for _, g := range p.Gates {
		if g == "" {
			return errors.New("policy: empty gate name")
		}
		if gates[g] {
			return fmt.Errorf("policy: gate %q named twice", g)
		}
		gates[g] = true
	}
	for _, g := range p.CleanupGates {
		if !gates[g] {
			return fmt.Errorf("policy: clean-up gate %q is not one of the gates (%s)", g, strings.Join(p.Gates, ", "))
		}
	}
	for n, ok := range p.Approvals {
		if ok && (n < 1 || n > waves) {
			return fmt.Errorf("policy: approval for wave %d, but waves are numbered 1 to %d", n, waves)
		}
	}
	return nil
}

// Transition applies one event to a campaign at the instant now and returns
// the new state and the actions the caller must carry out, in order. Time
// rules (progress deadlines, bake ends) are evaluated against now before and
// after the event. It never changes s: on error it returns s itself, and the
// error is an *EventError that wraps ErrIgnored when the event changes
// nothing.
func Transition(s State, e Event, now time.Time) (State, []Action, error) {
	if e == nil {
		return s, nil, &EventError{Campaign: s.Campaign, Event: "nil", Phase: s.Phase, Reason: "no event"}
	}
	n := s.clone()
	m := &machine{s: &n, now: now}
	m.advance(false)
	if err := m.apply(e); err != nil {
		err.Campaign, err.Event, err.Phase = s.Campaign, e.Kind(), s.Phase
		return s, nil, err
	}
	tick, _ := e.(Tick)
	m.advance(tick.CanOpen)
	return n, m.actions, nil
}

// Failures lists the clusters that count against the failure budget, in
// rollout order: those of the change and clean-up waves, or, once the
// campaign rolls back, those of its revert waves.
func (s State) Failures() []Failure {
	var out []Failure
	for _, w := range s.Waves {
		if !s.live(w) {
			continue
		}
		for _, c := range w.Clusters {
			if c.Phase.failed() {
				out = append(out, Failure{Wave: w.Number, Cluster: c.Name, Tenant: c.Tenant, Phase: c.Phase, Gate: c.FailedGate, Detail: c.FailedDetail})
			}
		}
	}
	return out
}

// RollingBack reports whether the campaign has revert waves: from the
// rollback on, only they move.
func (s State) RollingBack() bool {
	return slices.ContainsFunc(s.Waves, func(w WaveState) bool { return w.Kind == WaveRevert })
}

// Reverted says whether a revert wave of s took wave w back: it
// succeeded. A rollback asks for it first (WaveState.RevertedAt).
func (s State) Reverted(w WaveState) bool {
	return slices.ContainsFunc(s.Waves, func(r WaveState) bool {
		return r.Kind == WaveRevert && r.Reverts == w.Number && r.Phase == WaveSucceeded
	})
}

// NotReached says whether wave w of s will never open: the campaign ended
// (aborted, rolled back) before the wave's turn. The wave and its clusters
// keep the phase Pending they started with.
func (s State) NotReached(w WaveState) bool { return s.Phase.Final() && w.Phase == WavePending }

// WavePhaseShown is the phase wave w is shown and counted in:
// WaveNotReached for a wave the campaign ended before opening, its own
// otherwise.
func (s State) WavePhaseShown(w WaveState) WavePhase {
	if s.NotReached(w) {
		return WaveNotReached
	}
	return w.Phase
}

// ClusterPhaseShown is the phase cluster c of wave w is shown and counted
// in: ClusterNotReached in a wave the campaign ended before opening, its
// own otherwise.
func (s State) ClusterPhaseShown(w WaveState, c ClusterState) ClusterPhase {
	if s.NotReached(w) {
		return ClusterNotReached
	}
	return c.Phase
}

// AllSkipped reports whether every cluster of wave w was skipped: a wave
// that succeeded so changed nothing.
func (w WaveState) AllSkipped() bool {
	return len(w.Clusters) > 0 && !slices.ContainsFunc(w.Clusters, func(c ClusterState) bool { return c.Phase != ClusterSkipped })
}

// live reports whether w is one of the waves the campaign drives now: its
// revert waves once it rolls back, its other waves until then.
func (s State) live(w WaveState) bool { return (w.Kind == WaveRevert) == s.RollingBack() }

// WaveGates names the gates the clusters of wave n must pass: the
// campaign's gates, its clean-up gates for a clean-up wave and the revert
// of one, or its lifecycle gates for a blue-green step that adds or
// removes a cluster and the revert of one.
func (s State) WaveGates(n int) []string {
	if n < 1 || n > len(s.Waves) {
		return nil
	}
	w := s.Waves[n-1]
	if w.Kind == WaveRevert && w.Reverts >= 1 && w.Reverts <= len(s.Waves) {
		w = s.Waves[w.Reverts-1]
	}
	switch {
	case w.Kind == WaveCleanup:
		return s.Policy.CleanupGates
	case w.Step == StepGreen || w.Step == StepRetire:
		return LifecycleGates(s.Policy.Gates)
	}
	return s.Policy.Gates
}

// clone returns a copy of s that a transition may change freely.
func (s State) clone() State {
	n := s
	n.Policy.Gates = slices.Clone(s.Policy.Gates)
	n.Policy.CleanupGates = slices.Clone(s.Policy.CleanupGates)
	n.Policy.Approvals = maps.Clone(s.Policy.Approvals)
	// Evidence is only ever appended. A clipped slice shares its elements
	// with s, and the first append to it copies them away, so neither state
	// sees the other's additions.
	n.History = slices.Clip(s.History)
	n.Posts = slices.Clone(s.Posts)
	n.Waves = slices.Clone(s.Waves)
	for i := range n.Waves {
		w := &n.Waves[i]
		w.PRs = slices.Clone(w.PRs)
		w.Clusters = slices.Clone(w.Clusters)
		for j := range w.Clusters {
			c := &w.Clusters[j]
			c.Evidence = slices.Clip(c.Evidence)
			c.Gates = maps.Clone(c.Gates)
		}
	}
	return n
}
