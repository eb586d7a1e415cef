package rollout

import "strings"

// Event is one fact or command fed to Transition: a webhook the bot
// translated, a `/fleet` command, or a tick of the reconcile loop.
type Event interface {
	// Kind names the event in evidence and errors, e.g. "pr-merged".
	Kind() string
	event()
}

// ScheduleCampaign accepts a Pending campaign: it becomes Scheduled and
// starts running on the first Tick that may open a wave.
type ScheduleCampaign struct {
	By string `json:"by,omitempty"`
}

// Tick lets time pass. The caller sets CanOpen when the schedule (windows,
// blackouts, open-PR and waves-per-day caps) allows a wave to open now.
type Tick struct {
	CanOpen bool `json:"canOpen"`
}

// PROpened reports that a tenant's pull request of a wave is up (or was
// reopened on GitHub).
type PROpened struct {
	Wave   int    `json:"wave"`
	Tenant string `json:"tenant"`
	Number int    `json:"number"`
}

// PRMerged reports that a tenant's pull request of a wave merged as SHA.
// Unapproved says why the merge had no approval by an owner of the tenant
// (empty when it had one, or when no pull request carried the change).
type PRMerged struct {
	Wave       int    `json:"wave"`
	Tenant     string `json:"tenant"`
	Number     int    `json:"number,omitempty"`
	SHA        string `json:"sha"`
	Unapproved string `json:"unapproved,omitempty"`
	// By merged the pull request; ApprovedBy is the tenant owner whose
	// approval counted. Both are evidence, when GitHub tells them.
	By         string `json:"by,omitempty"`
	ApprovedBy string `json:"approvedBy,omitempty"`
	// Reviews is every reviewer's standing review at the merge, with
	// whether it counted.
	Reviews []ReviewVerdict `json:"reviews,omitempty"`
}

// PRClosed reports that a tenant's pull request of a wave was closed without
// being merged. Its clusters wait for a Retry or a SkipCluster.
type PRClosed struct {
	Wave   int    `json:"wave"`
	Tenant string `json:"tenant"`
	Number int    `json:"number,omitempty"`
}

// GateResult is one gate's verdict on one cluster of a wave. Wave may be 0
// only when the cluster is in a single wave of the campaign.
type GateResult struct {
	Wave    int     `json:"wave,omitempty"`
	Cluster string  `json:"cluster"`
	Gate    string  `json:"gate"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"` // what the gate saw
}

// EvidenceMark starts what a gate saw, appended to a GateResult's Detail
// after its sentence: " [check=NAME revision=REV value=VALUE source=URL]",
// one such group a piece of evidence.
const EvidenceMark = " [check="

// GateSentence is a gate result's detail as a person reads it: the
// sentence, without the evidence groups appended to it, which the
// cluster's evidence keeps. A detail that quotes another (a deadline's
// "last saw: ...") loses the quoted evidence too.
func GateSentence(detail string) string {
	if i := strings.Index(detail, EvidenceMark); i >= 0 {
		return detail[:i]
	}
	return detail
}

// Approve lets a wave that needs an approval open.
type Approve struct {
	Wave int    `json:"wave"`
	By   string `json:"by"`
}

// Pause stops the campaign from acting; facts are still recorded.
type Pause struct {
	By string `json:"by,omitempty"`
}

// Resume continues a paused campaign, or a halted one whose failures were
// retried or skipped back within the budget.
type Resume struct {
	By string `json:"by,omitempty"`
}

// Abort ends the campaign for good and closes its unmerged pull requests.
type Abort struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Retry verifies a Failed or TimedOut cluster again, or opens a new pull
// request for a cluster whose pull request was closed without merge. An empty
// Cluster retries every such cluster of the campaign.
type Retry struct {
	Cluster string `json:"cluster,omitempty"`
	By      string `json:"by,omitempty"`
}

// SkipCluster leaves a cluster out of the campaign; it no longer holds its
// wave back nor counts against the budget.
type SkipCluster struct {
	Cluster string `json:"cluster"`
	Reason  string `json:"reason"`
	By      string `json:"by,omitempty"`
}

// Rollback reverts the merged waves of a revertible campaign: one revert
// wave per merged wave, last wave first, each opened, merged, gated and baked
// before the next; the campaign is RolledBack when the last one baked.
type Rollback struct {
	By string `json:"by,omitempty"`
}

// MergeHeld reports why the open pull request Number of tenant in a wave
// is not merged although an owner of the tenant approved it: under `merge:
// auto`, a required check failed or has not finished, or GitHub refused
// the bot's merge; under `merge: owners`, OwnersMerge. An empty Why says
// nothing holds the merge back any more (the approval was withdrawn, or
// the merge is due).
type MergeHeld struct {
	Wave   int    `json:"wave"`
	Tenant string `json:"tenant"`
	Number int    `json:"number"`
	Why    string `json:"why,omitempty"`
}

// OwnersMerge is MergeHeld's Why for an approved pull request of a
// campaign whose tenants' owners merge (`merge: owners`): it waits for an
// owner's merge, no longer for an approval.
const OwnersMerge = "the tenant's owners merge it"

// Posted reports that the post numbered Seq (a PostReport or a
// RequestApproval of State.Posts) is on its pull requests.
type Posted struct {
	Seq int `json:"seq"`
}

// Kind implements Event.
func (ScheduleCampaign) Kind() string { return "schedule" }

// Kind implements Event.
func (Tick) Kind() string { return "tick" }

// Kind implements Event.
func (PROpened) Kind() string { return "pr-opened" }

// Kind implements Event.
func (PRMerged) Kind() string { return "pr-merged" }

// Kind implements Event.
func (PRClosed) Kind() string { return "pr-closed" }

// Kind implements Event.
func (GateResult) Kind() string { return "gate-result" }

// Kind implements Event.
func (Approve) Kind() string { return "approve" }

// Kind implements Event.
func (Pause) Kind() string { return "pause" }

// Kind implements Event.
func (Resume) Kind() string { return "resume" }

// Kind implements Event.
func (Abort) Kind() string { return "abort" }

// Kind implements Event.
func (Retry) Kind() string { return "retry" }

// Kind implements Event.
func (SkipCluster) Kind() string { return "skip" }

// Kind implements Event.
func (Rollback) Kind() string { return "rollback" }

// Kind implements Event.
func (Posted) Kind() string { return "posted" }

// Kind implements Event.
func (MergeHeld) Kind() string { return "merge-held" }

func (ScheduleCampaign) event() {}
func (Tick) event()             {}
func (PROpened) event()         {}
func (PRMerged) event()         {}
func (PRClosed) event()         {}
func (GateResult) event()       {}
func (Approve) event()          {}
func (Pause) event()            {}
func (Resume) event()           {}
func (Abort) event()            {}
func (Retry) event()            {}
func (SkipCluster) event()      {}
func (Rollback) event()         {}
func (Posted) event()           {}
func (MergeHeld) event()        {}

// Action is work Transition asks the caller to carry out: it is data, and the
// bot executes it against GitHub.
type Action interface {
	// Kind names the action in logs, e.g. "open-wave".
	Kind() string
	action()
}

// OpenWave asks for pull requests of a wave, one per tenant, each changing
// only the clusters it lists. A PRRequest with Attempt above 1 opens a new pull
// request for one that was closed without merge.
type OpenWave struct {
	Wave int         `json:"wave"`
	PRs  []PRRequest `json:"prs"`
}

// PRRequest is one tenant's pull request to open.
type PRRequest struct {
	Tenant   string   `json:"tenant"`
	Clusters []string `json:"clusters"`
	Attempt  int      `json:"attempt"`
}

// RunGates asks for the gates to be run on clusters of a wave, and their
// results fed back as GateResult events.
type RunGates struct {
	Wave     int      `json:"wave"`
	Clusters []string `json:"clusters"`
}

// RunPreflight asks EKS whether clusters of a wave are ready for the wave's
// target minor, before they go into a pull request; the answers are fed
// back as GateResult events of GatePreflight.
type RunPreflight struct {
	Wave     int      `json:"wave"`
	Clusters []string `json:"clusters"`
}

// RequestApproval asks fleet admins to approve a wave before it opens, on
// the pull requests of wave On (the last wave opened; 0 when none has,
// and there is nothing to post it on). Seq numbers it among the campaign's
// posts (State.Posts) when it waits to be posted; 0 otherwise.
type RequestApproval struct {
	Wave     int      `json:"wave"`
	Clusters []string `json:"clusters"`
	On       int      `json:"on,omitempty"`
	Seq      int      `json:"seq,omitempty"`
}

// ClosePRs asks for a wave's unmerged pull requests to be closed. A PRRef
// without a number was asked for but not reported open yet: find it by its
// branch.
type ClosePRs struct {
	Wave   int     `json:"wave"`
	PRs    []PRRef `json:"prs"`
	Reason string  `json:"reason"`
}

// PRRef names one tenant's pull request of a wave.
type PRRef struct {
	Tenant   string   `json:"tenant"`
	Number   int      `json:"number,omitempty"`
	SHA      string   `json:"sha,omitempty"`
	Clusters []string `json:"clusters"`
}

// ReportKind says what a PostReport is about.
type ReportKind string

// Report kinds.
const (
	ReportHalted      ReportKind = "halted"
	ReportResumed     ReportKind = "resumed"
	ReportSucceeded   ReportKind = "succeeded"
	ReportAborted     ReportKind = "aborted"
	ReportRollingBack ReportKind = "rolling-back"
	ReportRolledBack  ReportKind = "rolled-back"
	ReportPRClosed    ReportKind = "pr-closed"
	ReportApproved    ReportKind = "approved" // a wave's approval, once its request was posted
)

// PostReport asks for a report on the pull requests of wave Wave: the wave
// it is about, or else the last wave opened when the machine asked for it
// (0 when none has, and there is nothing to post it on). Seq numbers it
// among the campaign's posts (State.Posts) when it waits to be posted.
type PostReport struct {
	About    ReportKind `json:"about"`
	Wave     int        `json:"wave,omitempty"`
	Seq      int        `json:"seq,omitempty"`
	Summary  string     `json:"summary"`
	Clusters []string   `json:"clusters,omitempty"`
	Failures []Failure  `json:"failures,omitempty"`
}

// Failure is one cluster counting against the failure budget: which cluster,
// which gate, and what the gate saw.
type Failure struct {
	Wave    int          `json:"wave"`
	Cluster string       `json:"cluster"`
	Tenant  string       `json:"tenant"`
	Phase   ClusterPhase `json:"phase"`
	Gate    string       `json:"gate,omitempty"`
	Detail  string       `json:"detail"`
}

// Kind implements Action.
func (OpenWave) Kind() string { return "open-wave" }

// Kind implements Action.
func (RunGates) Kind() string { return "run-gates" }

// Kind implements Action.
func (RunPreflight) Kind() string { return "run-preflight" }

// Kind implements Action.
func (RequestApproval) Kind() string { return "request-approval" }

// Kind implements Action.
func (ClosePRs) Kind() string { return "close-prs" }

// Kind implements Action.
func (PostReport) Kind() string { return "post-report" }

func (OpenWave) action()        {}
func (RunGates) action()        {}
func (RunPreflight) action()    {}
func (RequestApproval) action() {}
func (ClosePRs) action()        {}
func (PostReport) action()      {}
