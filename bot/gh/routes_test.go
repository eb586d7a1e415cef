package gh

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"/repos/acme/fleet":                                                      "/repos/{owner}/{repo}",
		"/repos/acme/fleet/":                                                     "/repos/{owner}/{repo}",
		"/repos/acme/fleet/pulls/7":                                              "/repos/{owner}/{repo}/pulls/{pull_number}",
		"/repos/acme/fleet/pulls/7/merge":                                        "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
		"/repos/acme/fleet/git/ref/heads/fleetbot/k8s-1.31/team-a":               "/repos/{owner}/{repo}/git/ref/{ref}",
		"/repos/acme/fleet/git/refs":                                             "/repos/{owner}/{repo}/git/refs",
		"/repos/acme/fleet/git/refs/heads/x":                                     "/repos/{owner}/{repo}/git/refs/{ref}",
		"/repos/acme/fleet/git/commits/0123456789abcdef0123456789abcdef01234567": "/repos/{owner}/{repo}/git/commits/{commit_sha}",
		"/repos/acme/fleet/commits/feature/x/check-runs":                         "/repos/{owner}/{repo}/commits/{ref}/check-runs",
		"/repos/acme/fleet/commits/feature%2Fx/statuses":                         "/repos/{owner}/{repo}/commits/{ref}/statuses",
		"/repos/acme/fleet/compare/main...feature/x":                             "/repos/{owner}/{repo}/compare/{basehead}",
		"/repos/acme/fleet/contents/tenants/a/blueprint.yaml":                    "/repos/{owner}/{repo}/contents/{path}",
		"/repos/acme/fleet/issues/5/comments":                                    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
		"/repos/acme/fleet/issues/comments/5":                                    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
		"/repos/acme/fleet/issues/comments/5/reactions":                          "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
		"/repos/acme/issues/issues/5/comments":                                   "/repos/{owner}/{repo}/issues/{issue_number}/comments",
		"/orgs/acme/teams/admins/memberships/alice":                              "/orgs/{org}/teams/{team_slug}/memberships/{username}",
		"/app/installations/5/access_tokens":                                     "/app/installations/{installation_id}/access_tokens",
		"/installation/repositories":                                             "/installation/repositories",
		"/repos/acme/fleet/unknown/thing":                                        otherEndpoint,
		"/repos/acme":                                                            otherEndpoint,
		"/repos//fleet":                                                          otherEndpoint,
		"/repos/acme/fleet/git/ref/":                                             otherEndpoint,
		"/":                                                                      otherEndpoint,
		"":                                                                       otherEndpoint,
	}
	for path, want := range cases {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, want, route(path))
		})
	}
}

func TestEndpointStripsBasePath(t *testing.T) {
	t.Parallel()
	c := &chain{basePath: "/api/v3"}
	cases := map[string]string{
		"https://ghe.example/api/v3/repos/acme/fleet":  "/repos/{owner}/{repo}",
		"https://ghe.example/api/v3x/repos/acme/fleet": otherEndpoint,
		"https://ghe.example/repos/acme/fleet":         otherEndpoint,
	}
	for raw, want := range cases {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		assert.Equal(t, want, c.endpoint(u), raw)
	}
}

func BenchmarkRoute(b *testing.B) {
	for b.Loop() {
		route("/repos/acme/fleet/commits/feature/x/check-runs")
	}
}
