package gh

import "strings"

// otherEndpoint labels a path that matches no known route, so that no owner,
// repository, number or SHA ever becomes a metric label.
const otherEndpoint = "other"

// routes are the REST API route templates, as GitHub's docs write them, that
// the client calls. A parameter ending in "+" spans one or more segments
// (refs, file paths and compare ranges hold slashes); labels drop the "+".
var routes = compileRoutes(
	"/app",
	"/app/installations",
	"/app/installations/{installation_id}",
	"/app/installations/{installation_id}/access_tokens",
	"/installation/repositories",
	"/rate_limit",
	"/graphql",
	"/orgs/{org}/teams/{team_slug}/memberships/{username}",
	"/repos/{owner}/{repo}",
	"/repos/{owner}/{repo}/installation",
	"/repos/{owner}/{repo}/git/ref/{ref+}",
	"/repos/{owner}/{repo}/git/refs",
	"/repos/{owner}/{repo}/git/refs/{ref+}",
	"/repos/{owner}/{repo}/git/matching-refs/{ref+}",
	"/repos/{owner}/{repo}/git/commits",
	"/repos/{owner}/{repo}/git/commits/{commit_sha}",
	"/repos/{owner}/{repo}/git/blobs",
	"/repos/{owner}/{repo}/git/blobs/{file_sha}",
	"/repos/{owner}/{repo}/git/trees",
	"/repos/{owner}/{repo}/git/trees/{tree_sha}",
	"/repos/{owner}/{repo}/compare/{basehead+}",
	"/repos/{owner}/{repo}/contents/{path+}",
	"/repos/{owner}/{repo}/contents",
	"/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
	"/repos/{owner}/{repo}/branches/{branch+}",
	"/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
	"/repos/{owner}/{repo}/commits/{ref+}/check-runs",
	"/repos/{owner}/{repo}/commits/{ref+}/status",
	"/repos/{owner}/{repo}/commits/{ref+}/statuses",
	"/repos/{owner}/{repo}/statuses/{sha}",
	"/repos/{owner}/{repo}/check-runs",
	"/repos/{owner}/{repo}/check-runs/{check_run_id}",
	"/repos/{owner}/{repo}/collaborators/{username}/permission",
	"/repos/{owner}/{repo}/pulls",
	"/repos/{owner}/{repo}/pulls/{pull_number}",
	"/repos/{owner}/{repo}/pulls/{pull_number}/files",
	"/repos/{owner}/{repo}/pulls/{pull_number}/merge",
	"/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
	"/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
	"/repos/{owner}/{repo}/issues",
	"/repos/{owner}/{repo}/issues/comments",
	"/repos/{owner}/{repo}/issues/{issue_number}",
	"/repos/{owner}/{repo}/issues/{issue_number}/labels",
	"/repos/{owner}/{repo}/issues/{issue_number}/comments",
	"/repos/{owner}/{repo}/issues/comments/{comment_id}",
	"/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
)

// routeTemplate is one compiled route.
type routeTemplate struct {
	label    string
	segments []string // literal, "{name}" or "{name+}"
	literals int
}

func compileRoutes(templates ...string) []routeTemplate {
	out := make([]routeTemplate, 0, len(templates))
	for _, tpl := range templates {
		r := routeTemplate{label: strings.ReplaceAll(tpl, "+}", "}"), segments: strings.Split(tpl[1:], "/")}
		for _, s := range r.segments {
			if !strings.HasPrefix(s, "{") {
				r.literals++
			}
		}
		out = append(out, r)
	}
	return out
}

// route returns the template of an escaped URL path below the API root, or
// "other". When several match, the one with more literal segments wins
// (/issues/comments/{comment_id} over /issues/{issue_number}).
func route(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	best, bestLiterals := otherEndpoint, -1
	for _, r := range routes {
		if r.literals > bestLiterals && matchSegments(r.segments, segs) {
			best, bestLiterals = r.label, r.literals
		}
	}
	return best
}

// matchSegments matches path segments against template segments.
func matchSegments(tpl, segs []string) bool {
	for i, t := range tpl {
		if strings.HasSuffix(t, "+}") {
			// A spanning parameter takes at least one segment and leaves
			// enough for the rest of the template.
			for n := len(segs) - i - (len(tpl) - i - 1); n >= 1; n-- {
				if matchSegments(tpl[i+1:], segs[i+n:]) {
					return true
				}
			}
			return false
		}
		if i >= len(segs) || segs[i] == "" {
			return false
		}
		if !strings.HasPrefix(t, "{") && t != segs[i] {
			return false
		}
	}
	return len(tpl) == len(segs)
}
