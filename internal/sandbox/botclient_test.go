package sandbox

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/internal/ghcontract"
)

// TestBotClient drives the sandbox with the bot's own GitHub client, as the
// App, every request it sends checked against GitHub's description as well.
func TestBotClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	e.must(http.StatusCreated, req{method: "POST", path: "/orgs/acme/teams", body: map[string]any{"name": "Tenant A"}})
	e.must(http.StatusOK, req{method: "PUT", path: "/orgs/acme/teams/tenant-a/memberships/alice", body: map[string]any{}})
	ctx := t.Context()
	c := e.botClient("acme", "fleet")

	repo, err := c.Repository(ctx, "acme", "fleet")
	require.NoError(t, err)
	assert.Equal(t, "main", repo.DefaultBranch)
	main, err := c.Ref(ctx, "acme", "fleet", "main")
	require.NoError(t, err)
	_, err = c.Ref(ctx, "acme", "fleet", "nope")
	assert.ErrorIs(t, err, gh.ErrNotFound)

	blob, err := c.CreateBlob(ctx, "acme", "fleet", []byte("version: 1.31\n"))
	require.NoError(t, err)
	base, err := c.Commit(ctx, "acme", "fleet", main)
	require.NoError(t, err)
	tree, err := c.CreateTree(ctx, "acme", "fleet", base.Tree, []gh.TreeEntry{{Path: "cluster.yaml", SHA: blob}, {Path: "README.md", Delete: true}})
	require.NoError(t, err)
	commit, err := c.CreateCommit(ctx, "acme", "fleet", gh.NewCommit{Message: "Upgrade to 1.31", Tree: tree, Parents: []string{main}})
	require.NoError(t, err)
	assert.True(t, commit.Verified)
	require.NoError(t, c.CreateRef(ctx, "acme", "fleet", "fleetbot/wave-1", commit.SHA))
	assert.ErrorIs(t, c.CreateRef(ctx, "acme", "fleet", "fleetbot/wave-1", commit.SHA), gh.ErrInvalid)
	content, err := c.Contents(ctx, "acme", "fleet", "cluster.yaml", "fleetbot/wave-1")
	require.NoError(t, err)
	assert.Equal(t, "version: 1.31\n", string(content))
	cmp, err := c.Compare(ctx, "acme", "fleet", "main", "fleetbot/wave-1")
	require.NoError(t, err)
	assert.Equal(t, gh.Comparison{Status: "ahead", AheadBy: 1}, cmp)

	pr, err := c.CreatePullRequest(ctx, "acme", "fleet", gh.NewPullRequest{Title: "Wave 1", Head: "fleetbot/wave-1", Base: "main", Body: "body"})
	require.NoError(t, err)
	assert.Equal(t, "fleetbot[bot]", pr.User)
	list, err := c.PullRequests(ctx, "acme", "fleet", gh.PullRequestFilter{Head: "acme:fleetbot/wave-1"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NoError(t, c.AddLabels(ctx, "acme", "fleet", pr.Number, []string{"fleetbot"}))
	require.NoError(t, c.RequestReviewers(ctx, "acme", "fleet", pr.Number, []string{"alice"}, []string{"tenant-a"}))
	cm, err := c.CreateComment(ctx, "acme", "fleet", pr.Number, "Plan")
	require.NoError(t, err)
	_, err = c.EditComment(ctx, "acme", "fleet", cm.ID, "Plan, edited")
	require.NoError(t, err)
	comments, err := c.Comments(ctx, "acme", "fleet", pr.Number)
	require.NoError(t, err)
	require.Len(t, comments, 1)
	assert.Equal(t, "Plan, edited", comments[0].Body)

	run, err := c.CreateCheckRun(ctx, "acme", "fleet", gh.NewCheckRun{Name: "fleetbot", HeadSHA: commit.SHA, Status: "in_progress", Title: "Wave 1", Summary: "running"})
	require.NoError(t, err)
	_, err = c.UpdateCheckRun(ctx, "acme", "fleet", run.ID, gh.NewCheckRun{Name: "fleetbot", Status: "completed", Conclusion: "success", Title: "Wave 1", Summary: "done"})
	require.NoError(t, err)
	runs, err := c.CheckRuns(ctx, "acme", "fleet", commit.SHA)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, "success", runs[0].Conclusion)
	_, err = c.CreateCheckRun(ctx, "acme", "fleet", gh.NewCheckRun{Name: "fleetbot/campaigns", HeadSHA: commit.SHA, Status: "completed",
		Conclusion: "failure", Title: "1 campaign file cannot start", Summary: "cluster.yaml", Text: "details",
		Annotations: []gh.Annotation{{Path: "cluster.yaml", StartLine: 1, Level: "failure", Title: "version", Message: "is old"}}})
	require.NoError(t, err)
	files, err := c.PullRequestFiles(ctx, "acme", "fleet", pr.Number)
	require.NoError(t, err)
	assert.ElementsMatch(t, []gh.ChangedFile{{Filename: "cluster.yaml", Status: "added"}, {Filename: "README.md", Status: "removed"}}, files)
	open, err := c.CommitPullRequests(ctx, "acme", "fleet", commit.SHA)
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, pr.Number, open[0].Number)
	e.must(http.StatusCreated, req{method: "POST", path: "/repos/acme/fleet/statuses/" + commit.SHA, body: map[string]any{"context": "terraform", "state": "success"}})
	statuses, err := c.Statuses(ctx, "acme", "fleet", commit.SHA)
	require.NoError(t, err)
	require.Len(t, statuses, 1)

	got, err := c.PullRequest(ctx, "acme", "fleet", pr.Number)
	require.NoError(t, err)
	require.NotNil(t, got.Mergeable)
	assert.True(t, *got.Mergeable)
	// A person merges it; the bot reads the merge.
	merged := e.must(http.StatusOK, req{method: "PUT", path: fmt.Sprintf("/repos/acme/fleet/pulls/%d/merge", pr.Number),
		body: map[string]any{"merge_method": "squash", "sha": commit.SHA}}).obj(t)
	after, err := c.Ref(ctx, "acme", "fleet", "main")
	require.NoError(t, err)
	assert.Equal(t, merged["sha"], after)
	got, err = c.PullRequest(ctx, "acme", "fleet", pr.Number)
	require.NoError(t, err)
	assert.True(t, got.Merged)
	assert.Equal(t, after, got.MergeCommitSHA)
	byMerge, err := c.CommitPullRequests(ctx, "acme", "fleet", after)
	require.NoError(t, err)
	require.Len(t, byMerge, 1)
	assert.True(t, byMerge[0].Merged)
}

// botClient is the bot's own GitHub client, as the App's installation that
// covers owner/repo, every request it sends checked against GitHub's
// description.
func (e *env) botClient(owner, repo string) *gh.Client {
	t := e.t
	t.Helper()
	spec := ghcontract.Default(t)
	app, err := gh.NewApp(gh.Config{
		BaseURL: e.url + "/", AppID: testAppID,
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey())}),
		Transport: spec.Transport(nil, func(err error) {
			if !generalGitHubBehaviour(err) {
				t.Errorf("client contract: %v", err)
			}
		}),
	})
	require.NoError(t, err)
	id, err := app.InstallationFor(t.Context(), owner, repo)
	require.NoError(t, err)
	c, err := app.Client(id)
	require.NoError(t, err)
	return c
}
