package gh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sequence answers the n-th request (from 0) with answers[n], repeating the
// last one.
func sequence(answers ...func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1) - 1)
		answers[min(i, len(answers)-1)](w, r)
	}
}

func answer(status int, body string, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		reply(w, status, body)
	}
}

func getRepo(ctx context.Context, c *Client) error {
	_, err := c.Repository(ctx, "acme", "fleet")
	return err
}

func TestRetryOn502ThenSuccess(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(answer(502, `{"message":"Server Error"}`), answer(502, `{"message":"Server Error"}`), answer(200, `{"name":"fleet"}`)))
	c, m, clock := tokenClient(t, f)
	repo, err := c.Repository(t.Context(), "acme", "fleet")
	require.NoError(t, err)
	assert.Equal(t, "fleet", repo.Name)
	assert.Len(t, f.requests(), 3)
	sleeps := clock.sleeps()
	require.Len(t, sleeps, 2)
	// BaseDelay 1s doubling, each drawn from [d/2, d].
	assert.GreaterOrEqual(t, sleeps[0], 500*time.Millisecond)
	assert.LessOrEqual(t, sleeps[0], time.Second)
	assert.GreaterOrEqual(t, sleeps[1], time.Second)
	assert.LessOrEqual(t, sleeps[1], 2*time.Second)
	assert.Equal(t, []Call{
		{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "200", Count: 1},
		{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "502", Count: 2},
	}, m.Calls())
}

func TestBackoffIsCapped(t *testing.T) {
	t.Parallel()
	rt := &retryTransport{c: &chain{policy: RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}.withDefaults()}}
	for attempt := 1; attempt <= 40; attempt++ {
		d := rt.backoff(attempt)
		want := min(time.Second<<min(attempt-1, 10), 5*time.Second)
		assert.GreaterOrEqual(t, d, want/2, "attempt %d", attempt)
		assert.LessOrEqual(t, d, want, "attempt %d", attempt)
	}
}

// A POST that got a 500 may have been carried out (a comment posted, a
// commit made): sending it again could do it twice, so it is not retried.
func TestNoRetryOfPOSTOn500(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(500, `{"message":"boom"}`))
	c, _, clock := tokenClient(t, f)
	_, err := c.CreateComment(t.Context(), "acme", "fleet", 7, "hello")
	require.EqualError(t, err, "comment on acme/fleet#7: github answered 500 Internal Server Error: boom")
	assert.Len(t, f.requests(), 1)
	assert.Empty(t, clock.sleeps())
}

func TestRetryStopsAtMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(503, `{"message":"unavailable"}`))
	c, _, clock := tokenClient(t, f, func(cfg *Config) { cfg.Retry.MaxAttempts = 3 })
	err := getRepo(t.Context(), c)
	require.EqualError(t, err, "get repository acme/fleet: github answered 503 Service Unavailable: unavailable")
	assert.Len(t, f.requests(), 3)
	assert.Len(t, clock.sleeps(), 2)
}

// TestRetryIdempotentPUTAndDELETE sends the requests through go-github
// itself: no call of Client uses these methods, but the chain retries them by
// HTTP's rules.
func TestRetryIdempotentPUTAndDELETE(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"PUT", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, sequence(answer(504, `{}`), func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(204)
			}))
			c, _, _ := tokenClient(t, f)
			req, err := c.gh.NewRequest(t.Context(), method, "repos/acme/fleet/x", map[string]string{"k": "v"})
			require.NoError(t, err)
			_, err = c.gh.Do(req, nil)
			require.NoError(t, err)
			reqs := f.requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, reqs[0].Body, reqs[1].Body, "the retry sends the same body")
		})
	}
}

func TestRetryOfNetworkErrors(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	dns := &net.DNSError{Err: "no such host", Name: "api.github.invalid"}
	cases := []struct {
		name      string
		err       error
		call      func(ctx context.Context, c *Client) error
		wantTries int
	}{
		{name: "GET after a reset", err: read, call: getRepo, wantTries: 2},
		{name: "POST never dialled", err: dial, wantTries: 2, call: func(ctx context.Context, c *Client) error {
			_, err := c.CreateComment(ctx, "acme", "fleet", 1, "hi")
			return err
		}},
		{name: "PATCH whose host did not resolve", err: dns, wantTries: 2, call: func(ctx context.Context, c *Client) error {
			_, err := c.EditComment(ctx, "acme", "fleet", 1, "hi")
			return err
		}},
		{name: "POST after a reset may have been applied", err: read, wantTries: 1, call: func(ctx context.Context, c *Client) error {
			_, err := c.CreateComment(ctx, "acme", "fleet", 1, "hi")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{"id":1}`) })
			var tries atomic.Int64
			c, m, _ := tokenClient(t, f, func(cfg *Config) {
				cfg.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
					if tries.Add(1) == 1 {
						closeRequestBody(r)
						return nil, tc.err
					}
					return http.DefaultTransport.RoundTrip(r)
				})
			})
			err := tc.call(t.Context(), c)
			assert.Equal(t, tc.wantTries, int(tries.Load()), "attempts")
			if tc.wantTries == 1 {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			var statuses []string
			for _, call := range m.Calls() {
				statuses = append(statuses, call.Status)
			}
			assert.Equal(t, []string{"200", "error"}, statuses, "the failed attempt is counted")
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		reply(w, 502, `{}`)
	})
	c, _, clock := tokenClient(t, f)
	err := getRepo(ctx, c)
	require.Error(t, err)
	assert.Len(t, f.requests(), 1)
	assert.Empty(t, clock.sleeps())
}

func resetIn(clock *fakeClock, d time.Duration) string {
	return strconv.FormatInt(clock.Now().Add(d).Unix(), 10)
}

func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	t.Parallel()
	var clock *fakeClock
	f := newFake(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			answer(200, `{"name":"fleet"}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetIn(clock, 90*time.Second))(w, r)
		},
		answer(200, `{"name":"fleet"}`, "X-RateLimit-Remaining", "4999"),
	))
	c, m, clk := tokenClient(t, f)
	clock = clk
	require.NoError(t, getRepo(t.Context(), c))
	assert.Empty(t, clock.sleeps(), "the answer that spent the limit is returned at once")
	require.NoError(t, getRepo(t.Context(), c), "go-github must not refuse on its own")
	assert.Equal(t, []time.Duration{90 * time.Second}, clock.sleeps())
	assert.Len(t, f.requests(), 2)
	assert.Equal(t, map[string]int{"token": 4999}, m.RateLimitRemaining())
	assert.Zero(t, testutil.CollectAndCount(m.limit), "answers without X-RateLimit-Limit leave the limit gauge out")
}

func TestPrimaryRateLimitRefusalIsResent(t *testing.T) {
	t.Parallel()
	var clock *fakeClock
	f := newFake(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			answer(403, `{"message":"API rate limit exceeded for installation ID 1."}`,
				"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetIn(clock, 2*time.Minute))(w, r)
		},
		answer(201, `{"id":5,"body":"hi"}`),
	))
	c, m, clk := tokenClient(t, f)
	clock = clk
	got, err := c.CreateComment(t.Context(), "acme", "fleet", 1, "hi")
	require.NoError(t, err)
	assert.Equal(t, int64(5), got.ID)
	assert.Equal(t, []time.Duration{2 * time.Minute}, clock.sleeps())
	reqs := f.requests()
	require.Len(t, reqs, 2)
	assert.JSONEq(t, `{"body":"hi"}`, reqs[1].Body, "the refused POST is sent again whole")
	assert.Equal(t, []Call{
		{Endpoint: "/repos/{owner}/{repo}/issues/{issue_number}/comments", Method: "POST", Status: "201", Count: 1},
		{Endpoint: "/repos/{owner}/{repo}/issues/{issue_number}/comments", Method: "POST", Status: "403", Count: 1},
	}, m.Calls())
}

func TestRateLimitBeyondMaxWaitFailsAtOnce(t *testing.T) {
	t.Parallel()
	var clock *fakeClock
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		answer(403, `{"message":"API rate limit exceeded"}`,
			"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetIn(clock, 2*time.Hour))(w, r)
	})
	c, _, clk := tokenClient(t, f, func(cfg *Config) { cfg.Retry.MaxWait = time.Hour })
	clock = clk
	reset := clock.Now().Add(2 * time.Hour)

	err := getRepo(t.Context(), c)
	var limit *RateLimitError
	require.ErrorAs(t, err, &limit)
	assert.True(t, limit.Reset.Equal(reset), "reset %v, want %v", limit.Reset, reset)
	assert.False(t, limit.Secondary)
	assert.Len(t, f.requests(), 1)

	// The next call is refused without being sent.
	err = getRepo(t.Context(), c)
	require.ErrorAs(t, err, &limit)
	assert.EqualError(t, err, "get repository acme/fleet: github rate limit exceeded until "+reset.UTC().Format(time.RFC3339))
	assert.Len(t, f.requests(), 1)
	assert.Empty(t, clock.sleeps())
}

func TestSecondaryRateLimitWaits(t *testing.T) {
	t.Parallel()
	const secondary = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
	 "documentation_url":"https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	cases := []struct {
		name     string
		refusal  func(clock *fakeClock) func(w http.ResponseWriter, r *http.Request)
		wantWait time.Duration
	}{
		{name: "retry-after", wantWait: 30 * time.Second, refusal: func(*fakeClock) func(w http.ResponseWriter, r *http.Request) {
			return answer(403, secondary, "Retry-After", "30")
		}},
		{name: "x-ratelimit-reset", wantWait: 45 * time.Second, refusal: func(clock *fakeClock) func(w http.ResponseWriter, r *http.Request) {
			return answer(403, secondary, "X-RateLimit-Remaining", "10", "X-RateLimit-Reset", resetIn(clock, 45*time.Second))
		}},
		{name: "429 with retry-after and no body", wantWait: 5 * time.Second, refusal: func(*fakeClock) func(w http.ResponseWriter, r *http.Request) {
			return answer(429, ``, "Retry-After", "5")
		}},
		{name: "no time named", wantWait: time.Minute, refusal: func(*fakeClock) func(w http.ResponseWriter, r *http.Request) {
			return answer(403, secondary)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var clock *fakeClock
			f := newFake(t, sequence(
				func(w http.ResponseWriter, r *http.Request) { tc.refusal(clock)(w, r) },
				answer(201, `{"id":5}`),
			))
			c, _, clk := tokenClient(t, f)
			clock = clk
			_, err := c.CreateComment(t.Context(), "acme", "fleet", 1, "hi")
			require.NoError(t, err)
			assert.Equal(t, []time.Duration{tc.wantWait}, clock.sleeps())
			reqs := f.requests()
			require.Len(t, reqs, 2)
			assert.JSONEq(t, `{"body":"hi"}`, reqs[1].Body)
		})
	}
}

func TestSecondaryRateLimitBeyondMaxWait(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(403, `{"message":"You have exceeded a secondary rate limit."}`, "Retry-After", "600"))
	c, _, clock := tokenClient(t, f, func(cfg *Config) { cfg.Retry.MaxWait = time.Minute })
	err := getRepo(t.Context(), c)
	var limit *RateLimitError
	require.ErrorAs(t, err, &limit)
	assert.True(t, limit.Secondary)
	assert.Len(t, f.requests(), 1)
	assert.Empty(t, clock.sleeps())
}

func TestSpentNonCoreLimitDoesNotBlock(t *testing.T) {
	t.Parallel()
	var clock *fakeClock
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		answer(200, `{}`, "X-RateLimit-Resource", "search", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetIn(clock, time.Hour))(w, r)
	})
	c, m, clk := tokenClient(t, f)
	clock = clk
	require.NoError(t, getRepo(t.Context(), c))
	require.NoError(t, getRepo(t.Context(), c))
	assert.Empty(t, clock.sleeps())
	assert.Empty(t, m.RateLimitRemaining(), "the gauge follows the core limit only")
}

func TestRateLimitWaitHonorsContext(t *testing.T) {
	t.Parallel()
	var clock *fakeClock
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		answer(200, `{}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetIn(clock, time.Minute))(w, r)
	})
	c, _, clk := tokenClient(t, f)
	clock = clk
	require.NoError(t, getRepo(t.Context(), c))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := getRepo(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, f.requests(), 1)
}

func TestETagAnswersFromCacheOn304(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "4000")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		answer(200, `{"name":"fleet","default_branch":"main"}`, "ETag", `"v1"`, "X-RateLimit-Remaining", "4001")(w, r)
	})
	c, m, _ := tokenClient(t, f)
	first, err := c.Repository(t.Context(), "acme", "fleet")
	require.NoError(t, err)
	second, err := c.Repository(t.Context(), "acme", "fleet")
	require.NoError(t, err)
	assert.Equal(t, first, second)
	assert.Equal(t, "main", second.DefaultBranch)
	reqs := f.requests()
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[0].Header.Get("If-None-Match"))
	assert.Equal(t, `"v1"`, reqs[1].Header.Get("If-None-Match"))
	assert.Equal(t, []Call{
		{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "200", Count: 1},
		{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "304", Count: 1},
	}, m.Calls())
	assert.Equal(t, map[string]int{"token": 4000}, m.RateLimitRemaining())
}

func TestETagChangedAnswerReplacesEntry(t *testing.T) {
	t.Parallel()
	version := atomic.Int64{}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		etag := fmt.Sprintf(`"v%d"`, version.Load())
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		answer(200, fmt.Sprintf(`{"default_branch":"b%d"}`, version.Load()), "ETag", etag)(w, r)
	})
	c, _, _ := tokenClient(t, f)
	branches := []string{}
	for _, v := range []int64{1, 1, 2, 2} {
		version.Store(v)
		repo, err := c.Repository(t.Context(), "acme", "fleet")
		require.NoError(t, err)
		branches = append(branches, repo.DefaultBranch)
	}
	assert.Equal(t, []string{"b1", "b1", "b2", "b2"}, branches)
	var sent []string
	for _, r := range f.requests() {
		sent = append(sent, r.Header.Get("If-None-Match"))
	}
	assert.Equal(t, []string{"", `"v1"`, `"v1"`, `"v2"`}, sent)
}

func TestETagCacheIsBounded(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		answer(200, `{"name":"x"}`, "ETag", `"e"`)(w, r)
	})
	c, _, _ := tokenClient(t, f, func(cfg *Config) { cfg.CacheEntries = 2 })
	for _, repo := range []string{"a", "b", "c", "a", "c"} {
		_, err := c.Repository(t.Context(), "acme", repo)
		require.NoError(t, err)
	}
	var conditional []bool
	for _, r := range f.requests() {
		conditional = append(conditional, r.Header.Get("If-None-Match") != "")
	}
	// "a" was evicted by "c"; "c" was still there.
	assert.Equal(t, []bool{false, false, false, false, true}, conditional)
}

func TestETagCacheLRU(t *testing.T) {
	t.Parallel()
	c := newETagCache(2)
	c.put(&etagEntry{key: "a", etag: "1"})
	c.put(&etagEntry{key: "b", etag: "1"})
	require.NotNil(t, c.get("a")) // a is now the most recent
	c.put(&etagEntry{key: "c", etag: "1"})
	assert.Nil(t, c.get("b"))
	assert.NotNil(t, c.get("a"))
	assert.NotNil(t, c.get("c"))
	c.put(&etagEntry{key: "c", etag: "2"})
	assert.Equal(t, "2", c.get("c").etag)
	assert.Equal(t, 2, c.len())
}

func TestETagCacheDisabled(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(200, `{}`, "ETag", `"e"`))
	c, _, _ := tokenClient(t, f, func(cfg *Config) { cfg.CacheEntries = -1 })
	require.NoError(t, getRepo(t.Context(), c))
	require.NoError(t, getRepo(t.Context(), c))
	for _, r := range f.requests() {
		assert.Empty(t, r.Header.Get("If-None-Match"))
	}
}

func TestETagLargeBodyPassesUncached(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", maxEntryBytes+10)
	f := newFake(t, answer(200, `{"name":"`+big+`"}`, "ETag", `"e"`))
	c, _, _ := tokenClient(t, f)
	for range 2 {
		repo, err := c.Repository(t.Context(), "acme", "fleet")
		require.NoError(t, err)
		assert.Len(t, repo.Name, len(big))
	}
	for _, r := range f.requests() {
		assert.Empty(t, r.Header.Get("If-None-Match"))
	}
}

func TestMetricsRegistered(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	again := NewMetrics(reg) // a second App on the same registry shares the series
	f := newFake(t, answer(200, `{}`, "X-RateLimit-Remaining", "17", "X-RateLimit-Limit", "5000"))
	for _, metrics := range []*Metrics{m, again} {
		c, _, _ := tokenClient(t, f, func(cfg *Config) { cfg.Metrics = metrics })
		require.NoError(t, getRepo(t.Context(), c))
	}
	assert.InDelta(t, 2, testutil.ToFloat64(m.requests.WithLabelValues("/repos/{owner}/{repo}", "GET", "200")), 0)
	assert.InDelta(t, 17, testutil.ToFloat64(m.remaining.WithLabelValues("token")), 0)
	assert.InDelta(t, 5000, testutil.ToFloat64(m.limit.WithLabelValues("token")), 0)
	n, err := testutil.GatherAndCount(reg, "fleetbot_github_requests_total", "fleetbot_github_rate_limit_remaining", "fleetbot_github_rate_limit_limit")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}
