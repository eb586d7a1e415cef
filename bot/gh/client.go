package gh

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-github/v88/github"
)

// Client makes the GitHub calls fleetbot needs, over go-github, for one
// identity: an App installation (App.Client) or a static token
// (NewTokenClient). Its users declare the few methods each needs where they
// use them. It is safe for concurrent use.
type Client struct {
	gh    *github.Client
	token func(ctx context.Context) (string, error)
}

// NewTokenClient returns a Client that authenticates with a static token (a
// personal access token, or a token a script holds). cfg.AppID and
// cfg.PrivateKey are ignored.
func NewTokenClient(cfg Config, token string) (*Client, error) {
	if token == "" {
		return nil, fmt.Errorf("github token is empty")
	}
	ch, base, err := newChain(cfg)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: ch.transport("token")}
	gh, err := newGitHub(hc, base, ch.userAgent, github.WithAuthToken(token))
	if err != nil {
		return nil, err
	}
	return &Client{gh: gh, token: func(context.Context) (string, error) { return token, nil }}, nil
}

// newGitHub returns a go-github client rooted at base (API and uploads).
func newGitHub(hc *http.Client, base *url.URL, userAgent string, opts ...github.ClientOptionsFunc) (*github.Client, error) {
	root := base.String()
	gh, err := github.NewClient(append([]github.ClientOptionsFunc{
		github.WithHTTPClient(hc), github.WithURLs(&root, &root), github.WithUserAgent(userAgent),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("github client for %s: %w", root, err)
	}
	return gh, nil
}

// Token returns the token the client sends: the current installation token,
// minted or renewed when near expiry, or the static token. Git over HTTPS
// accepts it as the password of user "x-access-token".
func (c *Client) Token(ctx context.Context) (string, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return "", mapError("get installation token", err)
	}
	return tok, nil
}

// perPage is the page size of every listing, GitHub's largest.
const perPage = 100

// collect follows the Link headers of a listing until its last page.
func collect[T any](op string, page func(github.ListOptions) ([]T, *github.Response, error)) ([]T, error) {
	return collectUntil(op, page, func(T) bool { return false })
}

// collectUntil follows the Link headers of a listing until its last page,
// or until stop is true for an item: that item and the rest are left out
// and no further page is read.
func collectUntil[T any](op string, page func(github.ListOptions) ([]T, *github.Response, error), stop func(T) bool) ([]T, error) {
	opts := github.ListOptions{PerPage: perPage}
	var all []T
	for {
		items, resp, err := page(opts)
		if err != nil {
			return nil, mapError(op, err)
		}
		for i, it := range items {
			if stop(it) {
				return append(all, items[:i]...), nil
			}
		}
		all = append(all, items...)
		if resp == nil || resp.NextPage == 0 {
			return all, nil
		}
		if resp.NextPage <= max(opts.Page, 1) {
			return nil, fmt.Errorf("%s: next page %d does not follow page %d", op, resp.NextPage, max(opts.Page, 1))
		}
		opts.Page = resp.NextPage
	}
}

// convert maps a slice.
func convert[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// optional returns nil for "", so go-github omits the field.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// repoPath names a repository in error messages.
func repoPath(owner, repo string) string { return owner + "/" + repo }

// issuePath names an issue or pull request in error messages.
func issuePath(owner, repo string, number int) string {
	return fmt.Sprintf("%s/%s#%d", owner, repo, number)
}
