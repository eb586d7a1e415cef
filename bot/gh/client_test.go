package gh

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiCase is one API call: what it must send and how it reads the answer.
type apiCase struct {
	name   string
	call   func(ctx context.Context, c *Client) (any, error)
	method string
	path   string // escaped, as sent
	query  string // raw query, as go-querystring sorts it
	body   string // JSON the call must send; "" for none
	status int
	answer string
	want   any
}

func boolPtr(b bool) *bool { return &b }

// jsonString is s as a JSON string, quotes included.
func jsonString(s string) string      { b, _ := json.Marshal(s); return string(b) }
func strPtr(s string) *string         { return &s }
func at(s string) time.Time           { t, _ := time.Parse(time.RFC3339, s); return t }
func noResult(err error) (any, error) { return nil, err }

const prJSON = `{"number":7,"state":"open","title":"Upgrade team-a to 1.31","body":"wave 1","merged":false,
 "merge_commit_sha":"m1","mergeable":true,"mergeable_state":"clean",
 "head":{"ref":"fleetbot/k8s-1.31/team-a","sha":"h1"},"base":{"ref":"main","sha":"b1"},
 "labels":[{"name":"fleetbot"},{"name":"wave-1"}],"user":{"login":"fleetbot[bot]"},
 "html_url":"https://github.com/acme/fleet/pull/7","created_at":"2026-03-01T10:00:00Z",
 "merged_at":null,"closed_at":null}`

var wantPR = PullRequest{
	Number: 7, State: "open", Title: "Upgrade team-a to 1.31", Body: "wave 1", MergeCommitSHA: "m1",
	Mergeable: boolPtr(true), MergeableState: "clean", HeadRef: "fleetbot/k8s-1.31/team-a", HeadSHA: "h1",
	BaseRef: "main", BaseSHA: "b1", Labels: []string{"fleetbot", "wave-1"}, User: "fleetbot[bot]",
	HTMLURL: "https://github.com/acme/fleet/pull/7", CreatedAt: at("2026-03-01T10:00:00Z"),
}

const issueJSON = `{"number":5,"state":"open","state_reason":null,"title":"Campaign eks-1-30","body":"<!-- marker -->",
 "user":{"login":"fleetbot[bot]"},"labels":[{"name":"fleetbot"},{"name":"campaign:eks-1-30"}],
 "html_url":"https://github.com/acme/fleet/issues/5"}`

var wantIssue = Issue{Number: 5, State: "open", Title: "Campaign eks-1-30", Body: "<!-- marker -->", User: "fleetbot[bot]",
	Labels: []string{"fleetbot", "campaign:eks-1-30"}, HTMLURL: "https://github.com/acme/fleet/issues/5"}

const checkRunJSON = `{"id":42,"name":"fleetbot/gates","head_sha":"h1","status":"completed","conclusion":"success",
 "details_url":"https://fleetbot.example/c/1","output":{"title":"Gates passed","summary":"3 of 3"}}`

var wantCheckRun = CheckRun{ID: 42, Name: "fleetbot/gates", HeadSHA: "h1", Status: "completed", Conclusion: "success",
	DetailsURL: "https://fleetbot.example/c/1", Title: "Gates passed", Summary: "3 of 3"}

// apiCases covers every GitHub call of Client. Bodies use the field names of
// GitHub's REST documentation.
var apiCases = []apiCase{
	{
		name: "Repository", method: "GET", path: "/repos/acme/fleet", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) { return c.Repository(ctx, "acme", "fleet") },
		answer: `{"id":1,"name":"fleet","owner":{"login":"acme"},"default_branch":"main",
		 "clone_url":"https://github.com/acme/fleet.git","html_url":"https://github.com/acme/fleet","private":true}`,
		want: Repository{ID: 1, Owner: "acme", Name: "fleet", DefaultBranch: "main", CloneURL: "https://github.com/acme/fleet.git",
			HTMLURL: "https://github.com/acme/fleet", Private: true},
	},
	{
		name: "Ref with slashes", method: "GET", path: "/repos/acme/fleet/git/ref/heads/fleetbot/k8s-1.31/team-a", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.Ref(ctx, "acme", "fleet", "fleetbot/k8s-1.31/team-a")
		},
		answer: `{"ref":"refs/heads/fleetbot/k8s-1.31/team-a","object":{"type":"commit","sha":"abc123"}}`,
		want:   "abc123",
	},
	{
		name: "CommitOnNewBranch", method: "POST", path: "/graphql", status: 200,
		body: `{"query":` + jsonString(commitOnNewBranch) + `,"variables":{"commit":{"branch":{"branchName":"fleetbot/x","repositoryNameWithOwner":"acme/fleet"},"expectedHeadOid":"b1","fileChanges":{"additions":[{"contents":"dmVyc2lvbjogMQo=","path":"a.yaml"}],"deletions":[{"path":"b.yaml"}]},"message":{"body":"Fleetbot-Plan: p","headline":"eks: wave 1"}},"ref":{"name":"refs/heads/fleetbot/x","oid":"b1","repositoryId":"R_1"}}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CommitOnNewBranch(ctx, "acme", "fleet", "R_1", "fleetbot/x", "b1", "eks: wave 1\n\nFleetbot-Plan: p",
				[]FileChange{{Path: "a.yaml", Content: []byte("version: 1\n")}, {Path: "b.yaml", Delete: true}})
		},
		answer: `{"data":{"createRef":{"ref":{"name":"fleetbot/x"}},"createCommitOnBranch":{"commit":{"oid":"c9"}}}}`,
		want:   BranchCommit{SHA: "c9", Created: true},
	},
	{
		name: "CreateRef", method: "POST", path: "/repos/acme/fleet/git/refs", status: 201,
		body: `{"ref":"refs/heads/x","sha":"abc"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return noResult(c.CreateRef(ctx, "acme", "fleet", "x", "abc"))
		},
		answer: `{"ref":"refs/heads/x","object":{"sha":"abc"}}`,
	},
	{
		name: "UpdateRef forced", method: "PATCH", path: "/repos/acme/fleet/git/refs/heads/x", status: 200,
		body: `{"sha":"def","force":true}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return noResult(c.UpdateRef(ctx, "acme", "fleet", "x", "def", true))
		},
		answer: `{"ref":"refs/heads/x","object":{"sha":"def"}}`,
	},
	{
		name: "UpdateRef fast-forward", method: "PATCH", path: "/repos/acme/fleet/git/refs/heads/x", status: 200,
		body: `{"sha":"def","force":false}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return noResult(c.UpdateRef(ctx, "acme", "fleet", "x", "def", false))
		},
		answer: `{"ref":"refs/heads/x","object":{"sha":"def"}}`,
	},
	{
		name: "Commit", method: "GET", path: "/repos/acme/fleet/git/commits/c1", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) { return c.Commit(ctx, "acme", "fleet", "c1") },
		answer: `{"sha":"c1","tree":{"sha":"t1"},"parents":[{"sha":"p1"},{"sha":"p2"}],"message":"bump",
		 "verification":{"verified":true,"reason":"valid"}}`,
		want: Commit{SHA: "c1", Tree: "t1", Parents: []string{"p1", "p2"}, Message: "bump", Verified: true},
	},
	{
		name: "CreateBlob", method: "POST", path: "/repos/acme/fleet/git/blobs", status: 201,
		body: `{"content":"a2luZDogQ2x1c3Rlcgo=","encoding":"base64"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateBlob(ctx, "acme", "fleet", []byte("kind: Cluster\n"))
		},
		answer: `{"sha":"blob1","url":"https://api.github.com/repos/acme/fleet/git/blobs/blob1"}`,
		want:   "blob1",
	},
	{
		name: "CreateTree", method: "POST", path: "/repos/acme/fleet/git/trees", status: 201,
		body: `{"base_tree":"t0","tree":[
			{"path":"tenants/a.yaml","mode":"100644","type":"blob","sha":"blob1"},
			{"path":"old.yaml","mode":"100644","type":"blob","sha":null},
			{"path":"run.sh","mode":"100755","type":"blob","sha":"blob2"}]}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateTree(ctx, "acme", "fleet", "t0", []TreeEntry{
				{Path: "tenants/a.yaml", SHA: "blob1"},
				{Path: "old.yaml", Delete: true},
				{Path: "run.sh", Mode: "100755", SHA: "blob2"},
			})
		},
		answer: `{"sha":"t1","tree":[]}`,
		want:   "t1",
	},
	{
		name: "CreateCommit", method: "POST", path: "/repos/acme/fleet/git/commits", status: 201,
		body: `{"message":"Upgrade team-a to 1.31","tree":"t1","parents":["p1"]}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateCommit(ctx, "acme", "fleet", NewCommit{Message: "Upgrade team-a to 1.31", Tree: "t1", Parents: []string{"p1"}})
		},
		answer: `{"sha":"c2","tree":{"sha":"t1"},"parents":[{"sha":"p1"}],"message":"Upgrade team-a to 1.31","verification":{"verified":true}}`,
		want:   Commit{SHA: "c2", Tree: "t1", Parents: []string{"p1"}, Message: "Upgrade team-a to 1.31", Verified: true},
	},
	{
		name: "Compare", method: "GET", path: "/repos/acme/fleet/compare/main...fleetbot%2Fx", query: "per_page=1", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.Compare(ctx, "acme", "fleet", "main", "fleetbot/x")
		},
		answer: `{"status":"diverged","ahead_by":2,"behind_by":3,"commits":[]}`,
		want:   Comparison{Status: "diverged", AheadBy: 2, BehindBy: 3},
	},
	{
		name: "Contents", method: "GET", path: "/repos/acme/fleet/contents/tenants/team-a/blueprint.yaml", query: "ref=main", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			b, err := c.Contents(ctx, "acme", "fleet", "tenants/team-a/blueprint.yaml", "main")
			return string(b), err
		},
		answer: `{"type":"file","encoding":"base64","name":"blueprint.yaml","path":"tenants/team-a/blueprint.yaml",
		 "content":"a2luZDogQ2x1c3Rl\ncgo=\n","sha":"s"}`,
		want: "kind: Cluster\n",
	},
	{
		name: "PullRequests", method: "GET", path: "/repos/acme/fleet/pulls", query: "base=main&head=acme%3Afleetbot%2Fx&per_page=100&state=all", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.PullRequests(ctx, "acme", "fleet", PullRequestFilter{State: "all", Head: "acme:fleetbot/x", Base: "main"})
		},
		answer: "[" + prJSON + "]",
		want:   []PullRequest{wantPR},
	},
	{
		name: "PullRequest", method: "GET", path: "/repos/acme/fleet/pulls/7", status: 200,
		call:   func(ctx context.Context, c *Client) (any, error) { return c.PullRequest(ctx, "acme", "fleet", 7) },
		answer: prJSON,
		want:   wantPR,
	},
	{
		name: "PullRequest merged", method: "GET", path: "/repos/acme/fleet/pulls/8", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) { return c.PullRequest(ctx, "acme", "fleet", 8) },
		answer: `{"number":8,"state":"closed","merged":true,"merge_commit_sha":"m8","mergeable":null,
		 "merged_at":"2026-03-02T10:00:00Z","closed_at":"2026-03-02T10:00:01Z"}`,
		want: PullRequest{Number: 8, State: "closed", Merged: true, MergeCommitSHA: "m8", Labels: []string{},
			MergedAt: at("2026-03-02T10:00:00Z"), ClosedAt: at("2026-03-02T10:00:01Z")},
	},
	{
		name: "CreatePullRequest", method: "POST", path: "/repos/acme/fleet/pulls", status: 201,
		body: `{"title":"Upgrade team-a","head":"fleetbot/x","base":"main","body":"why","draft":true}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreatePullRequest(ctx, "acme", "fleet", NewPullRequest{Title: "Upgrade team-a", Head: "fleetbot/x", Base: "main", Body: "why", Draft: true})
		},
		answer: prJSON,
		want:   wantPR,
	},
	{
		name: "EditPullRequest", method: "PATCH", path: "/repos/acme/fleet/pulls/7", status: 200,
		body: `{"title":"new title","state":"closed"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.EditPullRequest(ctx, "acme", "fleet", 7, PullRequestEdit{Title: strPtr("new title"), State: strPtr("closed")})
		},
		answer: prJSON,
		want:   wantPR,
	},
	{
		name: "RequestReviewers", method: "POST", path: "/repos/acme/fleet/pulls/7/requested_reviewers", status: 201,
		body: `{"reviewers":["alice"],"team_reviewers":["fleet-admins"]}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return noResult(c.RequestReviewers(ctx, "acme", "fleet", 7, []string{"alice"}, []string{"fleet-admins"}))
		},
		answer: prJSON,
	},
	{
		name: "AddLabels", method: "POST", path: "/repos/acme/fleet/issues/7/labels", status: 200,
		body: `{"labels":["fleetbot","wave-1"]}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return noResult(c.AddLabels(ctx, "acme", "fleet", 7, []string{"fleetbot", "wave-1"}))
		},
		answer: `[{"name":"fleetbot"},{"name":"wave-1"}]`,
	},
	{
		name: "Comments", method: "GET", path: "/repos/acme/fleet/issues/7/comments", query: "per_page=100", status: 200,
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Comments(ctx, "acme", "fleet", 7) },
		answer: `[{"id":11,"user":{"login":"bob"},"body":"/fleetbot pause"}]`,
		want:   []Comment{{ID: 11, User: "bob", Body: "/fleetbot pause"}},
	},
	{
		name: "RepoComments", method: "GET", path: "/repos/acme/fleet/issues/comments",
		query: "direction=asc&per_page=100&since=2026-03-02T10%3A00%3A00Z&sort=created", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.RepoComments(ctx, "acme", "fleet", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		},
		answer: `[{"id":11,"user":{"login":"bob"},"body":"/fleet pause","created_at":"2026-03-02T10:01:00Z",
			"issue_url":"https://api.github.com/repos/acme/fleet/issues/7","html_url":"https://github.com/acme/fleet/pull/7#issuecomment-11"},
			{"id":12,"user":{"login":"pat"},"body":"hi","created_at":"2026-03-02T10:02:00Z",
			"issue_url":"https://api.github.com/repos/acme/fleet/issues/3","html_url":"https://github.com/acme/fleet/issues/3#issuecomment-12"}]`,
		want: []Comment{
			{ID: 11, User: "bob", Body: "/fleet pause", Number: 7, PullRequest: true, Created: time.Date(2026, 3, 2, 10, 1, 0, 0, time.UTC)},
			{ID: 12, User: "pat", Body: "hi", Number: 3, Created: time.Date(2026, 3, 2, 10, 2, 0, 0, time.UTC)},
		},
	},
	{
		name: "CreateComment", method: "POST", path: "/repos/acme/fleet/issues/7/comments", status: 201,
		body: `{"body":"Paused."}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateComment(ctx, "acme", "fleet", 7, "Paused.")
		},
		answer: `{"id":12,"user":{"login":"fleetbot[bot]"},"body":"Paused."}`,
		want:   Comment{ID: 12, User: "fleetbot[bot]", Body: "Paused."},
	},
	{
		name: "EditComment", method: "PATCH", path: "/repos/acme/fleet/issues/comments/12", status: 200,
		body: `{"body":"Resumed."}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.EditComment(ctx, "acme", "fleet", 12, "Resumed.")
		},
		answer: `{"id":12,"user":{"login":"fleetbot[bot]"},"body":"Resumed."}`,
		want:   Comment{ID: 12, User: "fleetbot[bot]", Body: "Resumed."},
	},
	{
		name: "RequiredStatusChecks", method: "GET", path: "/repos/acme/fleet/branches/main/protection/required_status_checks", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.RequiredStatusChecks(ctx, "acme", "fleet", "main")
		},
		answer: `{"url":"https://api.github.com/repos/acme/fleet/branches/main/protection/required_status_checks","strict":false,
		 "contexts":["fleetbot/approval","ci/lint"],"contexts_url":"https://api.github.com/repos/acme/fleet/branches/main/protection/required_status_checks/contexts",
		 "checks":[{"context":"fleetbot/approval","app_id":-1},{"context":"terraform-plan","app_id":1}]}`,
		want: []string{"fleetbot/approval", "ci/lint", "terraform-plan"},
	},
	{
		name: "RequiredStatusChecks unprotected", method: "GET", path: "/repos/acme/fleet/branches/main/protection/required_status_checks", status: 404,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.RequiredStatusChecks(ctx, "acme", "fleet", "main")
		},
		answer: `{"message":"Branch not protected"}`,
		want:   []string(nil),
	},
	{
		name: "Reviews", method: "GET", path: "/repos/acme/fleet/pulls/7/reviews", query: "per_page=100", status: 200,
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Reviews(ctx, "acme", "fleet", 7) },
		answer: `[{"id":1,"user":{"login":"alice"},"state":"APPROVED","commit_id":"h1","body":"ok"}]`,
		want:   []Review{{ID: 1, User: "alice", State: "APPROVED", CommitID: "h1", Body: "ok"}},
	},
	{
		name: "CreateStatus", method: "POST", path: "/repos/acme/fleet/statuses/h1", status: 201,
		body: `{"state":"pending","context":"fleetbot/approval","description":"waiting for an owner of tenant-a","target_url":"https://fleetbot.example/w/1"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateStatus(ctx, "acme", "fleet", "h1", Status{State: "pending", Context: "fleetbot/approval", Description: "waiting for an owner of tenant-a", TargetURL: "https://fleetbot.example/w/1"})
		},
		answer: `{"context":"fleetbot/approval","state":"pending","description":"waiting for an owner of tenant-a","target_url":"https://fleetbot.example/w/1","created_at":"2026-03-01T09:00:00Z"}`,
		want:   Status{Context: "fleetbot/approval", State: "pending", Description: "waiting for an owner of tenant-a", TargetURL: "https://fleetbot.example/w/1", CreatedAt: at("2026-03-01T09:00:00Z")},
	},
	{
		name: "MergePullRequest", method: "PUT", path: "/repos/acme/fleet/pulls/7/merge", status: 200,
		body: `{"merge_method":"squash","sha":"h1"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.MergePullRequest(ctx, "acme", "fleet", 7, MergeOptions{Method: "squash", SHA: "h1"})
		},
		answer: `{"sha":"merge1","merged":true,"message":"Pull Request successfully merged"}`,
		want:   "merge1",
	},
	{
		name: "Issues", method: "GET", path: "/repos/acme/fleet/issues", query: "direction=asc&per_page=100&sort=created&state=all", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.Issues(ctx, "acme", "fleet", IssueFilter{State: "all"})
		},
		answer: `[` + issueJSON + `,{"number":8,"state":"open","title":"Upgrade","user":{"login":"fleetbot[bot]"},"labels":[],
		 "pull_request":{"url":"https://api.github.com/repos/acme/fleet/pulls/8"}}]`,
		want: []Issue{wantIssue, {Number: 8, State: "open", Title: "Upgrade", User: "fleetbot[bot]", Labels: []string{}, PullRequest: true}},
	},
	{
		name: "Issue", method: "GET", path: "/repos/acme/fleet/issues/5", status: 200,
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Issue(ctx, "acme", "fleet", 5) },
		answer: issueJSON,
		want:   wantIssue,
	},
	{
		name: "CreateIssue", method: "POST", path: "/repos/acme/fleet/issues", status: 201,
		body: `{"title":"Campaign eks-1-30","body":"<!-- marker -->","labels":["fleetbot","campaign:eks-1-30"]}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateIssue(ctx, "acme", "fleet", NewIssue{Title: "Campaign eks-1-30", Body: "<!-- marker -->", Labels: []string{"fleetbot", "campaign:eks-1-30"}})
		},
		answer: issueJSON,
		want:   wantIssue,
	},
	{
		name: "CreateIssue without labels", method: "POST", path: "/repos/acme/fleet/issues", status: 201,
		body: `{"title":"Campaign eks-1-30"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateIssue(ctx, "acme", "fleet", NewIssue{Title: "Campaign eks-1-30"})
		},
		answer: issueJSON,
		want:   wantIssue,
	},
	{
		name: "EditIssue close", method: "PATCH", path: "/repos/acme/fleet/issues/5", status: 200,
		body: `{"body":"done","state":"closed","state_reason":"completed"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.EditIssue(ctx, "acme", "fleet", 5, IssueEdit{Body: strPtr("done"), State: strPtr("closed"), StateReason: strPtr("completed")})
		},
		answer: `{"number":5,"state":"closed","state_reason":"completed","title":"Campaign eks-1-30","body":"done",
		 "user":{"login":"fleetbot[bot]"},"labels":[],"html_url":"https://github.com/acme/fleet/issues/5"}`,
		want: Issue{Number: 5, State: "closed", StateReason: "completed", Title: "Campaign eks-1-30", Body: "done", User: "fleetbot[bot]",
			Labels: []string{}, HTMLURL: "https://github.com/acme/fleet/issues/5"},
	},
	{
		name: "EditIssue only body", method: "PATCH", path: "/repos/acme/fleet/issues/5", status: 200,
		body: `{"body":"<!-- marker -->"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.EditIssue(ctx, "acme", "fleet", 5, IssueEdit{Body: strPtr("<!-- marker -->")})
		},
		answer: issueJSON,
		want:   wantIssue,
	},
	{
		name: "AddReaction", method: "POST", path: "/repos/acme/fleet/issues/comments/11/reactions", status: 201,
		body: `{"content":"eyes"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return noResult(c.AddReaction(ctx, "acme", "fleet", 11, "eyes"))
		},
		answer: `{"id":1,"content":"eyes"}`,
	},
	{
		name: "TeamMember active", method: "GET", path: "/orgs/acme/teams/fleet-admins/memberships/alice", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.TeamMember(ctx, "acme", "fleet-admins", "alice")
		},
		answer: `{"state":"active","role":"member"}`,
		want:   true,
	},
	{
		name: "TeamMember pending", method: "GET", path: "/orgs/acme/teams/fleet-admins/memberships/eve", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.TeamMember(ctx, "acme", "fleet-admins", "eve")
		},
		answer: `{"state":"pending","role":"member"}`,
		want:   false,
	},
	{
		name: "TeamMember not found", method: "GET", path: "/orgs/acme/teams/fleet-admins/memberships/mallory", status: 404,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.TeamMember(ctx, "acme", "fleet-admins", "mallory")
		},
		answer: `{"message":"Not Found"}`,
		want:   false,
	},
	{
		name: "CheckRuns", method: "GET", path: "/repos/acme/fleet/commits/h1/check-runs", query: "per_page=100", status: 200,
		call:   func(ctx context.Context, c *Client) (any, error) { return c.CheckRuns(ctx, "acme", "fleet", "h1") },
		answer: `{"total_count":1,"check_runs":[` + checkRunJSON + `]}`,
		want:   []CheckRun{wantCheckRun},
	},
	{
		name: "CreateCheckRun", method: "POST", path: "/repos/acme/fleet/check-runs", status: 201,
		body: `{"name":"fleetbot/gates","head_sha":"h1","status":"completed","conclusion":"success",
			"details_url":"https://fleetbot.example/c/1","output":{"title":"Gates passed","summary":"3 of 3"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateCheckRun(ctx, "acme", "fleet", NewCheckRun{Name: "fleetbot/gates", HeadSHA: "h1", Status: "completed",
				Conclusion: "success", DetailsURL: "https://fleetbot.example/c/1", Title: "Gates passed", Summary: "3 of 3"})
		},
		answer: checkRunJSON,
		want:   wantCheckRun,
	},
	{
		name: "CreateCheckRun queued without output", method: "POST", path: "/repos/acme/fleet/check-runs", status: 201,
		body: `{"name":"fleetbot/gates","head_sha":"h1","status":"queued"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateCheckRun(ctx, "acme", "fleet", NewCheckRun{Name: "fleetbot/gates", HeadSHA: "h1", Status: "queued"})
		},
		answer: `{"id":43,"name":"fleetbot/gates","head_sha":"h1","status":"queued"}`,
		want:   CheckRun{ID: 43, Name: "fleetbot/gates", HeadSHA: "h1", Status: "queued"},
	},
	{
		name: "UpdateCheckRun only status", method: "PATCH", path: "/repos/acme/fleet/check-runs/42", status: 200,
		body: `{"status":"in_progress"}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.UpdateCheckRun(ctx, "acme", "fleet", 42, NewCheckRun{Status: "in_progress"})
		},
		answer: `{"id":42,"name":"fleetbot/gates","head_sha":"h1","status":"in_progress"}`,
		want:   CheckRun{ID: 42, Name: "fleetbot/gates", HeadSHA: "h1", Status: "in_progress"},
	},
	{
		name: "UpdateCheckRun completed", method: "PATCH", path: "/repos/acme/fleet/check-runs/42", status: 200,
		body: `{"name":"fleetbot/gates","status":"completed","conclusion":"success","output":{"title":"fleetbot/gates","summary":"3 of 3"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.UpdateCheckRun(ctx, "acme", "fleet", 42, NewCheckRun{Name: "fleetbot/gates", HeadSHA: "ignored", Status: "completed", Conclusion: "success", Summary: "3 of 3"})
		},
		answer: checkRunJSON,
		want:   wantCheckRun,
	},
	{
		name: "CreateCheckRun with text and annotations", method: "POST", path: "/repos/acme/fleet/check-runs", status: 201,
		body: `{"name":"fleetbot/campaigns","head_sha":"h1","status":"completed","conclusion":"failure",
			"output":{"title":"1 campaign file cannot start","summary":"campaigns/eks.yaml","text":"details",
			"annotations":[{"path":"campaigns/eks.yaml","start_line":4,"end_line":4,"annotation_level":"failure","title":"spec.gates","message":"is required"}]}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateCheckRun(ctx, "acme", "fleet", NewCheckRun{Name: "fleetbot/campaigns", HeadSHA: "h1", Status: "completed", Conclusion: "failure",
				Title: "1 campaign file cannot start", Summary: "campaigns/eks.yaml", Text: "details",
				Annotations: []Annotation{{Path: "campaigns/eks.yaml", StartLine: 4, Level: "failure", Title: "spec.gates", Message: "is required"}}})
		},
		answer: checkRunJSON,
		want:   wantCheckRun,
	},
	{
		name: "UpdateCheckRun text", method: "PATCH", path: "/repos/acme/fleet/check-runs/42", status: 200,
		body: `{"conclusion":"neutral","output":{"title":"Wave 1","summary":"s","text":"t"}}`,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.UpdateCheckRun(ctx, "acme", "fleet", 42, NewCheckRun{Conclusion: "neutral", Title: "Wave 1", Summary: "s", Text: "t"})
		},
		answer: checkRunJSON,
		want:   wantCheckRun,
	},
	{
		name: "CommitPullRequests", method: "GET", path: "/repos/acme/fleet/commits/m1/pulls", query: "per_page=100", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CommitPullRequests(ctx, "acme", "fleet", "m1")
		},
		answer: `[` + prJSON + `]`,
		want:   []PullRequest{wantPR},
	},
	{
		name: "PullRequestFiles", method: "GET", path: "/repos/acme/fleet/pulls/7/files", query: "per_page=100", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) { return c.PullRequestFiles(ctx, "acme", "fleet", 7) },
		answer: `[{"sha":"b1","filename":"campaigns/eks.yaml","status":"added","additions":20,"deletions":0,"changes":20},
		 {"sha":"b2","filename":"README.md","status":"modified","additions":1,"deletions":1,"changes":2}]`,
		want: []ChangedFile{{Filename: "campaigns/eks.yaml", Status: "added"}, {Filename: "README.md", Status: "modified"}},
	},
	{
		name: "Statuses", method: "GET", path: "/repos/acme/fleet/commits/h1/statuses", query: "per_page=100", status: 200,
		call: func(ctx context.Context, c *Client) (any, error) { return c.Statuses(ctx, "acme", "fleet", "h1") },
		answer: `[{"context":"ci/build","state":"success","description":"ok","target_url":"https://ci.example/1",
		 "created_at":"2026-03-01T09:00:00Z"}]`,
		want: []Status{{Context: "ci/build", State: "success", Description: "ok", TargetURL: "https://ci.example/1", CreatedAt: at("2026-03-01T09:00:00Z")}},
	},
}

func TestAPIRequestsAndAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range apiCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.status == http.StatusNoContent {
					w.WriteHeader(tc.status)
					return
				}
				reply(w, tc.status, tc.answer)
			})
			c, m, _ := tokenClient(t, f)
			got, err := tc.call(t.Context(), c)
			require.NoError(t, err)
			calls := m.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, route(tc.path), calls[0].Endpoint)
			assert.NotEqual(t, otherEndpoint, calls[0].Endpoint, "every call the client makes has a named route")
			assert.NotRegexp(t, `acme|fleet/|\d`, calls[0].Endpoint, "no owner, repository or number in labels")
			reqs := f.requests()
			require.Len(t, reqs, 1, "requests sent")
			r := reqs[0]
			assert.Equal(t, tc.method, r.Method, "method")
			assert.Equal(t, tc.path, r.Path, "path")
			assert.Equal(t, tc.query, r.Query, "query")
			if tc.body == "" {
				assert.Empty(t, r.Body, "body")
			} else {
				assert.JSONEq(t, tc.body, r.Body, "body")
			}
			assert.Equal(t, "Bearer static-token", r.Header.Get("Authorization"))
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestAPICasesCoverEveryMethod keeps apiCases in step with Client.
func TestAPICasesCoverEveryMethod(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tc := range apiCases {
		covered[strings.Fields(tc.name)[0]] = true
	}
	api := reflectMethods()
	for _, m := range api {
		assert.True(t, covered[m], "no apiCase for Client.%s", m)
	}
}

func TestCallsThatSendNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, 500, `{}`) })
	c, _, _ := tokenClient(t, f)
	require.NoError(t, c.AddLabels(t.Context(), "acme", "fleet", 1, nil))
	require.NoError(t, c.RequestReviewers(t.Context(), "acme", "fleet", 1, nil, nil))
	assert.Empty(t, f.requests())
}

func TestTooManyAnnotationsSendNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, 500, `{}`) })
	c, _, _ := tokenClient(t, f)
	many := make([]Annotation, MaxAnnotations+1)
	for i := range many {
		many[i] = Annotation{Path: "campaigns/a.yaml", StartLine: i + 1, Level: "failure", Message: "bad"}
	}
	_, err := c.CreateCheckRun(t.Context(), "acme", "fleet", NewCheckRun{Name: "n", HeadSHA: "h", Annotations: many})
	require.ErrorContains(t, err, "51 annotations, GitHub takes 50 at a time")
	_, err = c.UpdateCheckRun(t.Context(), "acme", "fleet", 1, NewCheckRun{Name: "n", Annotations: many})
	require.ErrorContains(t, err, "51 annotations, GitHub takes 50 at a time")
	assert.Empty(t, f.requests())
}

func TestContentsOfDirectoryIsAnError(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `[{"type":"file","name":"a.yaml","path":"tenants/a.yaml"}]`)
	})
	c, _, _ := tokenClient(t, f)
	_, err := c.Contents(t.Context(), "acme", "fleet", "tenants", "main")
	require.EqualError(t, err, "get contents of tenants at main in acme/fleet: is a directory")
}

func TestPaginationFollowsLinkHeaders(t *testing.T) {
	t.Parallel()
	type listCase struct {
		name  string
		path  string
		page  func(n int) string // the JSON of page n
		call  func(ctx context.Context, c *Client) (int, error)
		total int
	}
	item := func(n int) string {
		return fmt.Sprintf(`{"number":%d,"id":%d,"filename":"f%d","name":"r%d"}`, n, n, n, n)
	}
	pageOf := func(n int) string { return "[" + item(2*n-1) + "," + item(2*n) + "]" }
	cases := []listCase{
		{name: "pull requests", path: "/repos/acme/fleet/pulls", page: pageOf, total: 6,
			call: func(ctx context.Context, c *Client) (int, error) {
				l, err := c.PullRequests(ctx, "acme", "fleet", PullRequestFilter{})
				return len(l), err
			}},
		{name: "check runs", path: "/repos/acme/fleet/commits/h/check-runs", total: 6,
			page: func(n int) string { return `{"total_count":6,"check_runs":` + pageOf(n) + `}` },
			call: func(ctx context.Context, c *Client) (int, error) {
				l, err := c.CheckRuns(ctx, "acme", "fleet", "h")
				return len(l), err
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f *fake
			f = newFake(t, func(w http.ResponseWriter, r *http.Request) {
				n := 1
				if p := r.URL.Query().Get("page"); p != "" {
					_, _ = fmt.Sscan(p, &n)
				}
				if n < 3 {
					next := fmt.Sprintf("%s%s?page=%d&per_page=100", f.srv.URL, tc.path, n+1)
					last := fmt.Sprintf("%s%s?page=3&per_page=100", f.srv.URL, tc.path)
					w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next, last))
				}
				reply(w, 200, tc.page(n))
			})
			c, _, _ := tokenClient(t, f)
			n, err := tc.call(t.Context(), c)
			require.NoError(t, err)
			assert.Equal(t, tc.total, n)
			var pages []string
			for _, r := range f.requests() {
				assert.Equal(t, tc.path, r.Path)
				pages = append(pages, r.Query)
			}
			assert.Equal(t, []string{"per_page=100", "page=2&per_page=100", "page=3&per_page=100"}, pages)
		})
	}
}

func TestPaginationThatDoesNotAdvanceStops(t *testing.T) {
	t.Parallel()
	var f *fake
	f = newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", fmt.Sprintf(`<%s/repos/acme/fleet/pulls?page=1>; rel="next"`, f.srv.URL))
		reply(w, 200, `[]`)
	})
	c, _, _ := tokenClient(t, f)
	_, err := c.PullRequests(t.Context(), "acme", "fleet", PullRequestFilter{})
	require.EqualError(t, err, "list pull requests in acme/fleet: next page 1 does not follow page 1")
}

func TestTokenClientToken(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {})
	c, _, _ := tokenClient(t, f)
	tok, err := c.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "static-token", tok)
	_, err = NewTokenClient(Config{}, "")
	require.EqualError(t, err, "github token is empty")
}

func TestBaseURLForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, base, wantPath, wantErr string
	}{
		{name: "sandbox root", base: "/", wantPath: "/repos/acme/fleet"},
		{name: "sandbox root without slash", base: "", wantPath: "/repos/acme/fleet"},
		{name: "enterprise", base: "/api/v3/", wantPath: "/api/v3/repos/acme/fleet"},
		{name: "enterprise without slash", base: "/api/v3", wantPath: "/api/v3/repos/acme/fleet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{"name":"fleet"}`) })
			m := NewMetrics(nil)
			c, err := NewTokenClient(Config{BaseURL: f.srv.URL + tc.base, Metrics: m}, "t")
			require.NoError(t, err)
			_, err = c.Repository(t.Context(), "acme", "fleet")
			require.NoError(t, err)
			assert.Equal(t, tc.wantPath, f.requests()[0].Path)
			assert.Equal(t, []Call{{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "200", Count: 1}}, m.Calls())
		})
	}
	bad := []struct{ base, wantErr string }{
		{"ftp://example.com/", `github base url "ftp://example.com/": scheme must be http or https`},
		{"https:///api/v3/", `github base url "https:///api/v3/": no host`},
		{"https://example.com/?x=1", `github base url "https://example.com/?x=1": must not carry a query or fragment`},
		{"://bad", `github base url "://bad": parse "://bad": missing protocol scheme`},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.base, func(t *testing.T) {
			t.Parallel()
			_, err := NewTokenClient(Config{BaseURL: tc.base}, "t")
			require.EqualError(t, err, tc.wantErr)
		})
	}
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{}`) })
	for _, ua := range []string{"", "fleetbot-demo/1"} {
		c, _, _ := tokenClient(t, f, func(cfg *Config) { cfg.UserAgent = ua })
		_, err := c.Repository(t.Context(), "acme", "fleet")
		require.NoError(t, err)
	}
	reqs := f.requests()
	assert.Equal(t, "fleetbot", reqs[0].Header.Get("User-Agent"))
	assert.Equal(t, "fleetbot-demo/1", reqs[1].Header.Get("User-Agent"))
}

// reflectMethods lists the methods of Client that call GitHub's REST API:
// all but Token, which returns the credential and has tests of its own.
func reflectMethods() []string {
	typ := reflect.TypeFor[*Client]()
	var names []string
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; name != "Token" {
			names = append(names, name)
		}
	}
	return names
}
