package webhooks

import "context"

// Handler acts on parsed webhook events. The bot implements it; the intake
// calls it from its worker pool, once per stored delivery (and again after a
// restart if the first call did not finish), so Handle must be idempotent.
// An error leaves the delivery pending for a later attempt.
type Handler interface {
	Handle(ctx context.Context, ev Event) error
}

// Screener is a Handler that can tell from a delivery's event and raw
// payload, before it is decoded, that handling it would do nothing. The
// intake marks such a delivery processed without decoding it: most of what
// an organisation's App receives concerns nothing the handler keeps, and
// decoding it is most of what handling it costs. Ignores must answer false
// whenever it is not sure.
type Screener interface {
	Ignores(ctx context.Context, event string, payload []byte) bool
}

// Event is one parsed delivery: a pointer to one of the types below
// (*PullRequest, *Review, ...), all of which embed Meta.
type Event interface {
	// Info returns the fields every event shares.
	Info() Meta
}

// Meta is what every handled event carries.
type Meta struct {
	Delivery     string // X-GitHub-Delivery
	Name         string // X-GitHub-Event, e.g. "pull_request"
	Action       string // the payload's action, empty for push and status
	Installation int64  // installation.id, 0 when absent
	Owner        string // repository.owner.login, empty for app-level events
	Repo         string // repository.name
	Sender       string // sender.login
}

// Info returns m itself.
func (m Meta) Info() Meta { return m }

// PullRequest is a pull_request event (opened, reopened, closed,
// synchronize, edited, labeled, ...). Merged is set on a closed action that
// merged.
type PullRequest struct {
	Meta
	Number         int
	State          string
	Merged         bool
	MergeCommitSHA string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	Title          string
	User           string
}

// Review is a pull_request_review event (submitted, edited, dismissed).
// State is the review's state in lower case: approved, changes_requested,
// commented or dismissed.
type Review struct {
	Meta
	Number   int
	HeadRef  string
	ReviewID int64
	State    string
	User     string
	CommitID string
}

// Comment is an issue_comment event. PullRequest says whether the issue is a
// pull request. Commands holds the `/fleet` lines of the body.
type Comment struct {
	Meta
	Number      int
	PullRequest bool
	CommentID   int64
	Body        string
	User        string
	Commands    []Command
}

// Command is one `/fleet` line of a comment: Line is 1-based within the
// body, Name the first word after /fleet ("" when the line has none), Args
// the words after it (quoted words kept whole), Raw the line as written.
// Unclosed is the quote (' or ") the line opens and never closes, 0 when
// every quote is closed: such a line is refused, not run.
type Command struct {
	Line     int
	Name     string
	Args     []string
	Raw      string
	Unclosed byte
}

// CheckRun is a check_run event (created, completed, rerequested, ...).
type CheckRun struct {
	Meta
	ID           int64
	Name         string
	Status       string
	Conclusion   string
	HeadSHA      string
	PullRequests []int
}

// CheckSuite is a check_suite event (completed, requested, rerequested).
type CheckSuite struct {
	Meta
	ID         int64
	Status     string
	Conclusion string
	HeadSHA    string
	HeadBranch string
}

// Status is a status event: a commit status changed.
type Status struct {
	Meta
	SHA      string
	Context  string
	State    string
	Branches []string
}

// Push is a push event. Added, Modified and Removed are the union over the
// pushed commits; DefaultBranch is the repository's default branch, so
// Ref == "refs/heads/"+DefaultBranch tells a push to it.
type Push struct {
	Meta
	Ref           string
	Before        string
	After         string
	Deleted       bool
	DefaultBranch string
	Added         []string
	Modified      []string
	Removed       []string
}

// Installation is an installation event (created, deleted, suspend,
// unsuspend, new_permissions_accepted). Repositories is "owner/name" of each
// repository the payload lists.
type Installation struct {
	Meta
	Account      string
	Repositories []string
}

// InstallationRepositories is an installation_repositories event (added,
// removed), with "owner/name" of each repository.
type InstallationRepositories struct {
	Meta
	Account string
	Added   []string
	Removed []string
}
