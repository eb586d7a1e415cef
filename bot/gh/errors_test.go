package gh

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	createRef := func(ctx context.Context, c *Client) error { return c.CreateRef(ctx, "acme", "fleet", "x", "abc") }
	cases := []struct {
		name     string
		call     func(ctx context.Context, c *Client) error
		status   int
		answer   string
		sentinel error // nil: none of ours
		notIs    []error
		text     string
	}{
		{
			name: "ref exists", call: createRef, status: 422,
			answer:   `{"message":"Reference already exists","documentation_url":"https://docs.github.com/rest/git/refs#create-a-reference"}`,
			sentinel: ErrInvalid, notIs: []error{ErrNotFound, ErrConflict},
			text: "create ref refs/heads/x in acme/fleet: validation failed: Reference already exists",
		},
		{
			name: "pull request exists",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreatePullRequest(ctx, "acme", "fleet", NewPullRequest{Title: "t", Head: "fleetbot/x", Base: "main"})
				return err
			},
			status:   422,
			answer:   `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:fleetbot/x."}]}`,
			sentinel: ErrInvalid,
			text:     "create pull request fleetbot/x into main in acme/fleet: validation failed: A pull request already exists for acme:fleetbot/x.",
		},
		{
			name: "validation without messages",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreatePullRequest(ctx, "acme", "fleet", NewPullRequest{Title: "t", Head: "x", Base: "nope"})
				return err
			},
			status:   422,
			answer:   `{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"base","code":"invalid"},{"resource":"PullRequest","field":"head","code":"invalid"}]}`,
			sentinel: ErrInvalid,
			text:     "create pull request x into nope in acme/fleet: validation failed: PullRequest.base invalid; PullRequest.head invalid",
		},
		{
			name: "ref not found",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.Ref(ctx, "acme", "fleet", "x")
				return err
			},
			status: 404, answer: `{"message":"Not Found"}`,
			sentinel: ErrNotFound, notIs: []error{ErrInvalid},
			text: "get ref refs/heads/x in acme/fleet: not found",
		},
		{
			name: "update ref conflict",
			call: func(ctx context.Context, c *Client) error {
				return c.UpdateRef(ctx, "acme", "fleet", "x", "abc", false)
			},
			status: 409, answer: `{"message":"Git Repository is empty."}`,
			sentinel: ErrConflict,
			text:     "update ref refs/heads/x in acme/fleet: conflict: Git Repository is empty.",
		},
		{
			name: "405 is no conflict",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreateComment(ctx, "acme", "fleet", 7, "hi")
				return err
			},
			status: 405, answer: `{"message":"Method Not Allowed"}`,
			notIs: []error{ErrConflict, ErrNotFound, ErrInvalid},
			text:  "comment on acme/fleet#7: github answered 405 Method Not Allowed",
		},
		{
			name: "bad credentials",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.Repository(ctx, "acme", "fleet")
				return err
			},
			status: 401, answer: `{"message":"Bad credentials"}`,
			notIs: []error{ErrNotFound},
			text:  "get repository acme/fleet: github answered 401 Unauthorized: Bad credentials",
		},
		{
			name: "forbidden, not a rate limit",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreateCheckRun(ctx, "acme", "fleet", NewCheckRun{Name: "n", HeadSHA: "h"})
				return err
			},
			status: 403, answer: `{"message":"Resource not accessible by integration"}`,
			text: `create check run "n" on h in acme/fleet: github answered 403 Forbidden: Resource not accessible by integration`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, tc.status, tc.answer) })
			c, _, _ := tokenClient(t, f)
			err := tc.call(t.Context(), c)
			require.EqualError(t, err, tc.text)
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			for _, not := range tc.notIs {
				assert.NotErrorIs(t, err, not)
			}
			var ghErr *Error
			require.ErrorAs(t, err, &ghErr)
			assert.Equal(t, tc.status, ghErr.Status)
			assert.Len(t, f.requests(), 1, "a 4xx is never retried")
		})
	}
}

func TestErrorWithoutResponseKeepsCause(t *testing.T) {
	t.Parallel()
	c, err := NewTokenClient(Config{
		BaseURL: "http://127.0.0.1:1/",
		Retry:   RetryPolicy{MaxAttempts: 1},
		Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("no route")
		}),
	}, "t")
	require.NoError(t, err)
	_, err = c.Repository(t.Context(), "acme", "fleet")
	require.ErrorContains(t, err, "get repository acme/fleet: ")
	require.ErrorContains(t, err, "no route")
	var ghErr *Error
	assert.False(t, errors.As(err, &ghErr), "no answer, no *Error")
}

// roundTripFunc is a RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
