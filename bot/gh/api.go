package gh

import (
	"context"
	"errors"
	"time"
)

// API is every GitHub call the bot makes, as one installation sees them.
// *Client implements it over go-github; tests of code that only needs a few
// calls may implement it with a fake. Repository-scoped methods take owner and
// repo first; list methods follow every page themselves.
type API interface {
	// Repository returns a repository's metadata, its default branch included.
	Repository(ctx context.Context, owner, repo string) (Repository, error)
	// Ref returns the commit SHA a branch points at, or an error matching
	// ErrNotFound.
	Ref(ctx context.Context, owner, repo, branch string) (string, error)
	// CreateRef creates refs/heads/branch at sha.
	CreateRef(ctx context.Context, owner, repo, branch, sha string) error
	// UpdateRef moves refs/heads/branch to sha; force allows a non
	// fast-forward move.
	UpdateRef(ctx context.Context, owner, repo, branch, sha string, force bool) error
	// DeleteRef deletes refs/heads/branch.
	DeleteRef(ctx context.Context, owner, repo, branch string) error
	// Commit returns one commit of the Git database.
	Commit(ctx context.Context, owner, repo, sha string) (Commit, error)
	// CreateBlob stores content and returns its blob SHA.
	CreateBlob(ctx context.Context, owner, repo string, content []byte) (string, error)
	// CreateTree writes a tree on top of baseTree and returns its SHA.
	CreateTree(ctx context.Context, owner, repo, baseTree string, entries []TreeEntry) (string, error)
	// CreateCommit writes a commit object (not moving any ref) and returns it.
	CreateCommit(ctx context.Context, owner, repo string, c NewCommit) (Commit, error)
	// Compare tells how head relates to base (GET .../compare/base...head).
	Compare(ctx context.Context, owner, repo, base, head string) (Comparison, error)
	// Contents returns a file's bytes at ref.
	Contents(ctx context.Context, owner, repo, path, ref string) ([]byte, error)

	// PullRequests lists pull requests matching f.
	PullRequests(ctx context.Context, owner, repo string, f PullRequestFilter) ([]PullRequest, error)
	// PullRequest returns one pull request, with Mergeable as GitHub last
	// computed it (nil while unknown).
	PullRequest(ctx context.Context, owner, repo string, number int) (PullRequest, error)
	// PullRequestFiles lists the paths a pull request changes.
	PullRequestFiles(ctx context.Context, owner, repo string, number int) ([]string, error)
	// CreatePullRequest opens a pull request.
	CreatePullRequest(ctx context.Context, owner, repo string, p NewPullRequest) (PullRequest, error)
	// EditPullRequest changes the fields of e that are set.
	EditPullRequest(ctx context.Context, owner, repo string, number int, e PullRequestEdit) (PullRequest, error)
	// MergePullRequest merges a pull request and returns the merge commit SHA.
	// A stale sha or an unmergeable pull request gives an error matching
	// ErrConflict.
	MergePullRequest(ctx context.Context, owner, repo string, number int, m MergeOptions) (string, error)
	// RequestReviewers asks users and teams (team slugs, without the org) to
	// review.
	RequestReviewers(ctx context.Context, owner, repo string, number int, users, teams []string) error
	// Reviews lists a pull request's reviews, oldest first.
	Reviews(ctx context.Context, owner, repo string, number int) ([]Review, error)
	// CreateReview submits a review (event APPROVE, REQUEST_CHANGES or
	// COMMENT).
	CreateReview(ctx context.Context, owner, repo string, number int, event, body string) (Review, error)

	// AddLabels puts labels on an issue or pull request, creating none.
	AddLabels(ctx context.Context, owner, repo string, number int, labels []string) error
	// Comments lists an issue's or pull request's comments, oldest first.
	Comments(ctx context.Context, owner, repo string, number int) ([]Comment, error)
	// CreateComment comments on an issue or pull request.
	CreateComment(ctx context.Context, owner, repo string, number int, body string) (Comment, error)
	// EditComment replaces a comment's body.
	EditComment(ctx context.Context, owner, repo string, id int64, body string) (Comment, error)
	// AddReaction reacts to an issue comment (content such as "+1", "eyes").
	AddReaction(ctx context.Context, owner, repo string, commentID int64, content string) error

	// CheckRuns lists the check runs on a commit.
	CheckRuns(ctx context.Context, owner, repo, ref string) ([]CheckRun, error)
	// CreateCheckRun creates a check run.
	CreateCheckRun(ctx context.Context, owner, repo string, c NewCheckRun) (CheckRun, error)
	// UpdateCheckRun updates a check run (status, conclusion, output).
	UpdateCheckRun(ctx context.Context, owner, repo string, id int64, c NewCheckRun) (CheckRun, error)
	// Statuses lists the commit statuses on a commit, newest first.
	Statuses(ctx context.Context, owner, repo, ref string) ([]Status, error)
	// CreateStatus posts a commit status.
	CreateStatus(ctx context.Context, owner, repo, sha string, s Status) (Status, error)

	// CollaboratorPermission returns a user's permission on a repository:
	// admin, maintain, write, triage, read or none.
	CollaboratorPermission(ctx context.Context, owner, repo, user string) (string, error)
	// TeamMember reports whether user is an active member of org/team.
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
	// InstallationRepositories lists the repositories this installation may
	// use.
	InstallationRepositories(ctx context.Context) ([]Repository, error)
}

// Errors every API method wraps, so callers test with errors.Is.
var (
	// ErrNotFound is a 404.
	ErrNotFound = errors.New("not found")
	// ErrConflict is a 409, or a 405 on merge (not mergeable).
	ErrConflict = errors.New("conflict")
	// ErrInvalid is a 422: validation failed (e.g. the ref or pull request
	// already exists).
	ErrInvalid = errors.New("validation failed")
)

// Repository is a repository's metadata.
type Repository struct {
	ID            int64
	Owner         string
	Name          string
	DefaultBranch string
	CloneURL      string
	Private       bool
}

// TreeEntry is one path of a new tree: a blob SHA to write, or Delete to
// remove the path from the base tree. Mode defaults to "100644".
type TreeEntry struct {
	Path   string
	Mode   string
	SHA    string
	Delete bool
}

// Commit is a commit of the Git database.
type Commit struct {
	SHA      string
	Tree     string
	Parents  []string
	Message  string
	Verified bool
}

// NewCommit is a commit to create.
type NewCommit struct {
	Message string
	Tree    string
	Parents []string
}

// Comparison is how head relates to base: Status is "ahead", "behind",
// "identical" or "diverged".
type Comparison struct {
	Status   string
	AheadBy  int
	BehindBy int
}

// PullRequestFilter narrows a pull request listing. State is "open"
// (default), "closed" or "all"; Head is "owner:branch"; Base a branch name.
type PullRequestFilter struct {
	State string
	Head  string
	Base  string
}

// PullRequest is a pull request as the bot needs it.
type PullRequest struct {
	Number         int
	State          string // open or closed
	Title          string
	Body           string
	Merged         bool
	MergeCommitSHA string
	Mergeable      *bool
	MergeableState string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	BaseSHA        string
	Labels         []string
	User           string
	HTMLURL        string
	CreatedAt      time.Time
	MergedAt       time.Time
	ClosedAt       time.Time
}

// NewPullRequest is a pull request to open.
type NewPullRequest struct {
	Title string
	Head  string
	Base  string
	Body  string
	Draft bool
}

// PullRequestEdit holds the fields to change; nil fields stay as they are.
type PullRequestEdit struct {
	Title *string
	Body  *string
	State *string
}

// MergeOptions says how to merge. Method is merge (default), squash or
// rebase; SHA, when set, must be the head the caller reviewed.
type MergeOptions struct {
	Method  string
	SHA     string
	Title   string
	Message string
}

// Review is a pull request review. State is APPROVED, CHANGES_REQUESTED,
// COMMENTED, DISMISSED or PENDING.
type Review struct {
	ID       int64
	User     string
	State    string
	CommitID string
	Body     string
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID   int64
	User string
	Body string
}

// CheckRun is a check run on a commit. Status is queued, in_progress or
// completed; Conclusion is set once completed (success, failure, cancelled,
// timed_out, neutral, skipped, action_required).
type CheckRun struct {
	ID         int64
	Name       string
	HeadSHA    string
	Status     string
	Conclusion string
	DetailsURL string
	Title      string
	Summary    string
}

// NewCheckRun is a check run to create or the fields to update.
type NewCheckRun struct {
	Name       string
	HeadSHA    string
	Status     string
	Conclusion string
	DetailsURL string
	Title      string
	Summary    string
}

// Status is a commit status. State is error, failure, pending or success.
type Status struct {
	Context     string
	State       string
	Description string
	TargetURL   string
	CreatedAt   time.Time
}
