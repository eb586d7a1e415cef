package wave

import (
	"context"

	"github.com/fleetbot/fleetbot/bot/gh"
)

// PullRequestLister finds the pull requests of a branch.
type PullRequestLister interface {
	// PullRequests lists the pull requests matching f, every page.
	PullRequests(ctx context.Context, owner, repo string, f gh.PullRequestFilter) ([]gh.PullRequest, error)
}

// PullRequestReader reads one pull request, with whether it conflicts with
// its base (a listing never says).
type PullRequestReader interface {
	// PullRequest returns one pull request, Mergeable nil while GitHub has
	// not computed it.
	PullRequest(ctx context.Context, owner, repo string, number int) (gh.PullRequest, error)
}

// GitReader reads the Git database: where a branch points, and a commit.
type GitReader interface {
	// Ref returns the commit a branch points at, or an error matching
	// gh.ErrNotFound.
	Ref(ctx context.Context, owner, repo, branch string) (string, error)
	// Commit returns one commit.
	Commit(ctx context.Context, owner, repo, sha string) (gh.Commit, error)
}

// GitWriter writes a commit through the Git Data API: its blobs, its tree
// on a base tree, and the commit object, moving no branch.
type GitWriter interface {
	// CreateBlob stores content and returns its blob SHA.
	CreateBlob(ctx context.Context, owner, repo string, content []byte) (string, error)
	// CreateTree writes entries on top of baseTree and returns the tree SHA.
	CreateTree(ctx context.Context, owner, repo, baseTree string, entries []gh.TreeEntry) (string, error)
	// CreateCommit writes a commit object and returns it.
	CreateCommit(ctx context.Context, owner, repo string, c gh.NewCommit) (gh.Commit, error)
}

// BranchWriter points a branch at a commit.
type BranchWriter interface {
	// CreateRef creates the branch at sha.
	CreateRef(ctx context.Context, owner, repo, branch, sha string) error
	// UpdateRef moves the branch to sha; force allows a move that is not a
	// fast forward.
	UpdateRef(ctx context.Context, owner, repo, branch, sha string, force bool) error
}

// Opener opens a pull request and sets it up: reviewers and labels.
type Opener interface {
	// CreatePullRequest opens a pull request.
	CreatePullRequest(ctx context.Context, owner, repo string, p gh.NewPullRequest) (gh.PullRequest, error)
	// RequestReviewers asks users and teams (slugs, without the org) to
	// review.
	RequestReviewers(ctx context.Context, owner, repo string, number int, users, teams []string) error
	// AddLabels puts labels on a pull request.
	AddLabels(ctx context.Context, owner, repo string, number int, labels []string) error
}

// BranchCommitter creates a branch and writes one commit on it in one call.
type BranchCommitter interface {
	// CommitOnNewBranch creates branch at base and commits files on it; a
	// branch already elsewhere gives an error matching gh.ErrConflict and
	// writes nothing.
	CommitOnNewBranch(ctx context.Context, owner, repo, repoID, branch, base, message string, files []gh.FileChange) (gh.BranchCommit, error)
}

// RevertClient is every GitHub call Revert makes; *gh.Client implements it.
type RevertClient interface {
	PullRequestLister
	GitReader
	GitWriter
	BranchWriter
	BranchCommitter
	Opener
}

// EnsureClient is every GitHub call Ensure makes: those of Revert, reading
// one pull request to learn whether it conflicts with its base, and
// rewriting its body when the clusters it carries changed.
// *gh.Client implements it.
type EnsureClient interface {
	RevertClient
	PullRequestReader
	PullRequestEditor
}

// PullRequestEditor rewrites a pull request's fields, such as its body.
type PullRequestEditor interface {
	EditPullRequest(ctx context.Context, owner, repo string, number int, e gh.PullRequestEdit) (gh.PullRequest, error)
}

// committer is what writeCommit calls: the base commit's tree, then the
// new objects.
type committer interface {
	GitReader
	GitWriter
}
