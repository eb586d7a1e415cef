package sandbox

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
)

// TestCommitOnNewBranch drives createRef and createCommitOnBranch through
// the bot's client, every document and answer checked against GitHub's
// GraphQL schema: a new branch with its commit in one call, a push event,
// a branch left at the base taken up, and a branch elsewhere refused with
// nothing written.
func TestCommitOnNewBranch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.createRepo("acme", "fleet", true)
	ctx := t.Context()
	c := e.botClient("acme", "fleet")
	repo, err := c.Repository(ctx, "acme", "fleet")
	require.NoError(t, err)
	require.NotEmpty(t, repo.NodeID)
	main, err := c.Ref(ctx, "acme", "fleet", "main")
	require.NoError(t, err)

	files := []gh.FileChange{{Path: "a/cluster.yaml", Content: []byte("version: \"1.31\"\n")}, {Path: "README.md", Delete: true}}
	msg := "Upgrade to 1.31\n\nOne line per cluster.\n\nFleetbot-Plan: x\n"
	res, err := c.CommitOnNewBranch(ctx, "acme", "fleet", repo.NodeID, "fleetbot/w/1/a", main, msg, files)
	require.NoError(t, err)
	assert.True(t, res.Created)
	head, err := c.Ref(ctx, "acme", "fleet", "fleetbot/w/1/a")
	require.NoError(t, err)
	assert.Equal(t, res.SHA, head)
	commit, err := c.Commit(ctx, "acme", "fleet", res.SHA)
	require.NoError(t, err)
	assert.Equal(t, []string{main}, commit.Parents)
	assert.Equal(t, strings.TrimSuffix(msg, "\n"), strings.TrimSuffix(commit.Message, "\n"), "headline and body rejoined")
	assert.True(t, commit.Verified, "the App's commits are signed by GitHub")
	content, err := c.Contents(ctx, "acme", "fleet", "a/cluster.yaml", "fleetbot/w/1/a")
	require.NoError(t, err)
	assert.Equal(t, "version: \"1.31\"\n", string(content))
	_, err = c.Contents(ctx, "acme", "fleet", "README.md", "fleetbot/w/1/a")
	assert.ErrorIs(t, err, gh.ErrNotFound, "deleted")
	e.waitHooks()
	assert.Contains(t, e.hooks.seen(), "push")

	// The branch is ours now: the same call again writes nothing.
	_, err = c.CommitOnNewBranch(ctx, "acme", "fleet", repo.NodeID, "fleetbot/w/1/a", main, msg, files)
	require.ErrorIs(t, err, gh.ErrConflict)
	again, err := c.Ref(ctx, "acme", "fleet", "fleetbot/w/1/a")
	require.NoError(t, err)
	assert.Equal(t, res.SHA, again, "a branch elsewhere takes nothing")

	// A branch left at the base (a call cut short) takes the commit.
	require.NoError(t, c.CreateRef(ctx, "acme", "fleet", "fleetbot/w/1/b", main))
	left, err := c.CommitOnNewBranch(ctx, "acme", "fleet", repo.NodeID, "fleetbot/w/1/b", main, msg, files)
	require.NoError(t, err)
	assert.False(t, left.Created)
	commit, err = c.Commit(ctx, "acme", "fleet", left.SHA)
	require.NoError(t, err)
	assert.Equal(t, []string{main}, commit.Parents)

	_, err = c.CommitOnNewBranch(ctx, "acme", "fleet", "UjpubyBzdWNo", "fleetbot/w/1/c", main, msg, files)
	require.ErrorIs(t, err, gh.ErrNotFound, "an unknown repository id")
}

// TestGraphQLRefusesWhatItDoesNotAnswer: a query, or a mutation the
// sandbox does not implement, gets a GraphQL error naming it, with 200 as
// GitHub answers.
func TestGraphQLRefusesWhatItDoesNotAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	for _, tt := range []struct{ query, want string }{
		{`query { viewer { login } }`, "mutations createRef and createCommitOnBranch only"},
		{`mutation($i: MergePullRequestInput!) { mergePullRequest(input: $i) { clientMutationId } }`, "does not answer the mutation mergePullRequest"},
	} {
		vars := map[string]any{}
		if strings.Contains(tt.query, "$i") {
			vars["i"] = map[string]any{"pullRequestId": "x"}
		}
		r := e.must(http.StatusOK, req{method: "POST", path: "/graphql", body: map[string]any{"query": tt.query, "variables": vars}}).obj(t)
		errs, _ := r["errors"].([]any)
		require.Len(t, errs, 1, "%v", r)
		assert.Contains(t, errs[0].(map[string]any)["message"], tt.want)
	}
}
