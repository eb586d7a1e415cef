package gh

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gofri/go-github-ratelimit/v2/github_ratelimit/github_secondary_ratelimit"
)

// GitHub's rate-limit headers.
// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
const (
	headerLimit      = "X-RateLimit-Limit"
	headerRemaining  = "X-RateLimit-Remaining"
	headerReset      = "X-RateLimit-Reset"
	headerResource   = "X-RateLimit-Resource"
	headerRetryAfter = "Retry-After"
)

// secondaryDefaultWait is how long to wait after a secondary limit that named
// no time: GitHub asks for at least a minute.
const secondaryDefaultWait = time.Minute

// RateLimitError reports that GitHub's rate limit is spent for longer than the
// client may wait (RetryPolicy.MaxWait). Callers retry after Reset.
type RateLimitError struct {
	// Reset is when GitHub accepts requests again.
	Reset time.Time
	// Secondary is true for a secondary (abuse) limit, false for the primary
	// hourly one.
	Secondary bool
}

// Error names the limit and when it resets.
func (e *RateLimitError) Error() string {
	kind := "rate limit"
	if e.Secondary {
		kind = "secondary rate limit"
	}
	return fmt.Sprintf("github %s exceeded until %s", kind, e.Reset.UTC().Format(time.RFC3339))
}

// gate is when an identity may send again.
type gate struct {
	until     time.Time
	secondary bool
}

// gates holds one gate per identity, shared by every chain of an App, as
// GitHub counts limits per installation and per App.
type gates struct {
	mu sync.Mutex
	m  map[string]gate
}

func newGates() *gates { return &gates{m: make(map[string]gate)} }

func (g *gates) get(id string) gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[id]
}

// close keeps id from sending before until; it never shortens a wait.
func (g *gates) close(id string, until time.Time, secondary bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur := g.m[id]; until.After(cur.until) {
		g.m[id] = gate{until: until, secondary: secondary}
	}
}

// limitTransport waits out rate limits and re-sends what they refused.
type limitTransport struct {
	c     *chain
	label string
	next  http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := t.c.identity(t.label, t.c.endpoint(req.URL))
	for attempt := 1; ; attempt++ {
		if err := t.wait(req, id); err != nil {
			closeRequestBody(req)
			return nil, err
		}
		if err := t.pace(req, id); err != nil {
			closeRequestBody(req)
			return nil, err
		}
		r, err := attemptOf(req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		limited, until, secondary := t.inspect(id, resp)
		if !limited {
			return resp, nil
		}
		discard(resp)
		if attempt >= t.c.policy.MaxAttempts || !rewindable(req) || until.Sub(t.c.clock.Now()) > t.c.policy.MaxWait {
			// The refusal is the answer: say so in terms callers can act
			// on, whichever way GitHub worded it.
			return nil, &RateLimitError{Reset: until, Secondary: secondary}
		}
	}
}

// wait sleeps until id's gate opens, or fails when that is beyond MaxWait.
func (t *limitTransport) wait(req *http.Request, id string) error {
	g := t.c.gates.get(id)
	d := g.until.Sub(t.c.clock.Now())
	if d <= 0 {
		return nil
	}
	if d > t.c.policy.MaxWait {
		return &RateLimitError{Reset: g.until, Secondary: g.secondary}
	}
	t.c.log.InfoContext(req.Context(), "waiting for github rate limit",
		"identity", id, "wait", d, "secondary", g.secondary)
	return t.c.clock.Sleep(req.Context(), d)
}

// pace waits as long as id's budget asks before sending req (Pace), or
// fails when that is beyond MaxWait. It logs when it starts spacing an
// identity's requests, and counts each wait.
func (t *limitTransport) pace(req *http.Request, id string) error {
	ctx := req.Context()
	now := t.c.clock.Now()
	background := isBackground(ctx)
	d, b, started := t.c.pacer.reserve(id, now, background, t.c.policy)
	if started {
		t.c.log.WarnContext(ctx, "slowing github requests so the rate limit lasts until it resets",
			"identity", id, "remaining", b.remaining, "limit", b.limit, "reset", b.reset, "wait", d)
	}
	switch {
	case d <= 0:
		return nil
	case d > t.c.policy.MaxWait:
		return &RateLimitError{Reset: b.reset}
	}
	t.c.metrics.paced(id, background, d)
	return t.c.clock.Sleep(ctx, d)
}

// inspect reads the rate-limit headers of resp, closes id's gate when they
// say so, and reports whether GitHub refused the request for a rate limit,
// until when, and whether the limit is a secondary one.
func (t *limitTransport) inspect(id string, resp *http.Response) (limited bool, until time.Time, secondary bool) {
	now := t.c.clock.Now()
	if core := resp.Header.Get(headerResource); core == "" || core == "core" {
		t.c.pacer.learn(id, resp)
	}
	remaining, hasRemaining := headerInt(resp.Header, headerRemaining)
	reset, hasReset := headerInt(resp.Header, headerReset)
	// Only the core limit governs the REST calls the bot makes; a spent
	// search or code-scanning limit must not stop them.
	resource := resp.Header.Get(headerResource)
	core := resource == "" || resource == "core"
	primarySpent := hasRemaining && remaining == 0
	if primarySpent && hasReset && core {
		t.c.gates.close(id, time.Unix(reset, 0), false)
	}
	if !slices.Contains(github_secondary_ratelimit.LimitStatusCodes, resp.StatusCode) {
		return false, time.Time{}, false
	}
	switch {
	case primarySpent:
		until = now.Add(secondaryDefaultWait)
		if hasReset {
			until = time.Unix(reset, 0)
		}
		t.c.gates.close(id, until, false)
		return true, until, false
	case isSecondaryLimit(resp):
		until = now.Add(secondaryDefaultWait)
		if after, ok := headerInt(resp.Header, headerRetryAfter); ok && after > 0 {
			until = now.Add(time.Duration(after) * time.Second)
		} else if hasReset && reset > 0 {
			until = time.Unix(reset, 0)
		}
		t.c.gates.close(id, until, true)
		return true, until, true
	}
	return false, time.Time{}, false
}

// isSecondaryLimit reports whether a 403 or 429 is a secondary limit: a 429
// naming a Retry-After, or a body GitHub words as one (the wording is
// go-github-ratelimit's). The body is read and put back.
func isSecondaryLimit(resp *http.Response) bool {
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get(headerRetryAfter) != "" {
		return true
	}
	if resp.Body == nil {
		return false
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(raw), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	var body github_secondary_ratelimit.SecondaryRateLimitBody
	if json.Unmarshal(raw, &body) != nil {
		return false
	}
	return body.IsSecondaryRateLimit()
}

// headerInt parses an integer header.
func headerInt(h http.Header, key string) (int64, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// closeRequestBody closes the body of a request the chain will not send, as
// the RoundTripper contract asks.
func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
