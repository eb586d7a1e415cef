package gh

import (
	"errors"
	"time"
)

// Errors every Client method wraps, so callers test with errors.Is.
var (
	// ErrNotFound is a 404.
	ErrNotFound = errors.New("not found")
	// ErrConflict is a 409.
	ErrConflict = errors.New("conflict")
	// ErrInvalid is a 422: validation failed (e.g. the ref or pull request
	// already exists).
	ErrInvalid = errors.New("validation failed")
)

// Repository is a repository's metadata.
type Repository struct {
	ID int64
	// NodeID is the repository's GraphQL id.
	NodeID        string
	Owner         string
	Name          string
	DefaultBranch string
	CloneURL      string
	// HTMLURL is the repository's page (https://github.com/OWNER/REPO);
	// its pull requests are under HTMLURL/pull/NUMBER.
	HTMLURL string
	Private bool
}

// TreeEntry is one path of a new tree: a blob SHA to write, or Delete to
// remove the path from the base tree. Mode defaults to "100644".
type TreeEntry struct {
	Path string
	Mode string
	SHA  string
	// Content, when set, is the file's content (valid UTF-8, not empty),
	// which GitHub stores as a blob itself: no blob of its own to write.
	Content string
	Delete  bool
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
	// UpdatedSince, when set, lists only the pull requests updated at or
	// after it, most recently updated first (sort=updated, direction=desc),
	// and stops paging at the first older one: a listing that repeats
	// costs what changed since, not every pull request the repository
	// ever had. It is GitHub's time, as UpdatedAt gives it.
	UpdatedSince time.Time
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
	MergedBy       string
	HTMLURL        string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	MergedAt       time.Time
	ClosedAt       time.Time
	// HeadRepo is owner/name of the repository the head branch is in: the
	// base repository, or a fork; empty when GitHub no longer has it (a
	// deleted fork).
	HeadRepo string
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

// Issue is an issue as the bot needs it. GitHub reads pull requests as
// issues too; PullRequest says the issue is one.
type Issue struct {
	Number int
	State  string // open or closed
	// StateReason says why a closed issue was closed (completed,
	// not_planned) or that it was reopened; empty when GitHub gives none.
	StateReason string
	Title       string
	Body        string
	User        string
	Labels      []string
	PullRequest bool
	HTMLURL     string
}

// NewIssue is an issue to open.
type NewIssue struct {
	Title  string
	Body   string
	Labels []string
}

// IssueEdit holds the fields to change; nil fields stay as they are.
// StateReason goes with State: completed or not_planned to close, reopened
// to open.
type IssueEdit struct {
	Title       *string
	Body        *string
	State       *string
	StateReason *string
}

// IssueFilter narrows an issue listing. State is "open" (default),
// "closed" or "all".
type IssueFilter struct {
	State string
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID   int64
	User string
	Body string
	// Number is the issue or pull request the comment is on, PullRequest
	// whether it is a pull request; Created is when it was written,
	// Updated when it was last edited (Created when it was not).
	Number      int
	PullRequest bool
	Created     time.Time
	Updated     time.Time
}

// Edited reports whether the comment was changed after it was written.
func (c Comment) Edited() bool { return c.Updated.After(c.Created) }

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

// NewCheckRun is a check run to create or the fields to update. Title,
// Summary and Text (Markdown) are its output. GitHub adds Annotations to
// those the run has already, on every update that sends any: send each
// once.
type NewCheckRun struct {
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	DetailsURL  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// Annotation points a check run at a line of a file of the repository.
// Level is notice, warning or failure; Path is repository-relative and
// StartLine 1-based.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int
	Level     string
	Title     string
	Message   string
}

// ChangedFile is one file a pull request changes. Status is added,
// removed, modified, renamed, copied, changed or unchanged.
type ChangedFile struct {
	Filename string
	Status   string
}

// Status is a commit status. State is error, failure, pending or success.
type Status struct {
	Context     string
	State       string
	Description string
	TargetURL   string
	CreatedAt   time.Time
}
