package bot

import (
	"context"
	"time"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
)

// Client is every GitHub call the bot makes through one installation: the
// small interfaces below, each declared for the code that calls it, and
// those of wave.Ensure and wave.Revert (through which reconcile.go also lists
// a repository's pull requests). *gh.Client implements it.
type Client interface {
	repoReader
	contentReader
	prClient
	commandClient
	issueClient
	approvalClient
	mergeClient
	checkClient
	campaignPRClient
	wave.EnsureClient
	GateAPI
}

var _ Client = (*gh.Client)(nil)

// repoReader reads a repository's default branch and the commit it points
// at: head, in git.go.
type repoReader interface {
	Repository(ctx context.Context, owner, repo string) (gh.Repository, error)
	Ref(ctx context.Context, owner, repo, branch string) (string, error)
}

// contentReader reads one file at a commit: a pushed campaign file, in
// handle.go.
type contentReader interface {
	Contents(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
}

// pullRequestEditor reads a pull request and closes it: closePRs, in
// actions.go.
type pullRequestEditor interface {
	PullRequest(ctx context.Context, owner, repo string, number int) (gh.PullRequest, error)
	EditPullRequest(ctx context.Context, owner, repo string, number int, e gh.PullRequestEdit) (gh.PullRequest, error)
}

// commenter keeps the bot's one status comment on a pull request:
// upsertComment, in actions.go.
type commenter interface {
	Comments(ctx context.Context, owner, repo string, number int) ([]gh.Comment, error)
	CreateComment(ctx context.Context, owner, repo string, number int, body string) (gh.Comment, error)
	EditComment(ctx context.Context, owner, repo string, id int64, body string) (gh.Comment, error)
}

// commandClient answers `/fleet` commands: it reacts to the comment and
// asks GitHub whether the commenter is in a team the layout names:
// commands.go.
type commandClient interface {
	AddReaction(ctx context.Context, owner, repo string, commentID int64, content string) error
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
	// RepoComments finds the comments no webhook brought: catchup.go.
	RepoComments(ctx context.Context, owner, repo string, since time.Time) ([]gh.Comment, error)
}

// prClient is what the bot does to a pull request of a campaign once it is
// up: prTarget, in actions.go.
type prClient interface {
	pullRequestEditor
	commenter
}

// campaignPRClient finds the pull request of a commit on the campaign
// repository and the files a pull request changes: campaignfile.go.
type campaignPRClient interface {
	CommitPullRequests(ctx context.Context, owner, repo, sha string) ([]gh.PullRequest, error)
	PullRequestFiles(ctx context.Context, owner, repo string, number int) ([]gh.ChangedFile, error)
}
