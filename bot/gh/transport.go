package gh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Clock is the time the transport chain reads and sleeps on. Tests inject a
// fake one to assert the waits the chain chose without waiting.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or returns ctx's error as soon as ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// RetryPolicy bounds how the transport chain retries and waits. Zero fields
// take the defaults shown.
type RetryPolicy struct {
	// MaxAttempts is how many times one request may be sent, the first
	// included, both for 5xx/network retries and for re-sending after a rate
	// limit (default 4; 1 disables retries).
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles per
	// attempt and each wait is drawn from [d/2, d] (default 1s).
	BaseDelay time.Duration
	// MaxDelay caps one backoff (default 30s).
	MaxDelay time.Duration
	// MaxWait is the longest the chain waits for a rate limit to reset;
	// longer waits fail at once with a *RateLimitError (default 10m).
	MaxWait time.Duration
	// PaceReserve is the share of an identity's hourly limit below which
	// the chain spaces its requests so what is left lasts until the reset
	// (see Pace; default 0.2, negative never spaces them).
	PaceReserve float64
	// PaceKeep is the share of the limit background requests (Background)
	// leave to other work: they are spaced as if it were spent already
	// (default 0.05, negative none).
	PaceKeep float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 10 * time.Minute
	}
	if p.PaceReserve == 0 {
		p.PaceReserve = defaultPaceReserve
	}
	if p.PaceKeep == 0 {
		p.PaceKeep = defaultPaceKeep
	}
	p.PaceReserve, p.PaceKeep = max(p.PaceReserve, 0), max(p.PaceKeep, 0)
	return p
}

// defaultBaseURL is github.com's REST API.
const defaultBaseURL = "https://api.github.com/"

// defaultCacheEntries bounds the ETag cache when Config.CacheEntries is 0.
const defaultCacheEntries = 1000

// Config says where GitHub is and how to reach it; NewApp and NewTokenClient
// take it.
type Config struct {
	// BaseURL is the REST API root: https://api.github.com/ (the default),
	// https://HOST/api/v3/ for GitHub Enterprise Server, or any other root
	// such as http://127.0.0.1:PORT/ for a local stand-in.
	BaseURL string
	// AppID is the GitHub App's numeric id (NewApp only).
	AppID int64
	// PrivateKey is the App's PEM private key, PKCS#1 or PKCS#8 (NewApp only).
	PrivateKey []byte
	// Transport sends the requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Metrics counts requests; nil gives the client a private, unregistered
	// one.
	Metrics *Metrics
	// UserAgent names the client to GitHub (default "fleetbot").
	UserAgent string
	// Retry bounds retries and rate-limit waits.
	Retry RetryPolicy
	// Logger receives a line per retry and per rate-limit wait (default:
	// discard).
	Logger *slog.Logger
	// Clock is the time the chain reads and sleeps on (default: wall clock).
	Clock Clock
	// CacheEntries bounds the ETag cache (default 1000); negative disables
	// conditional requests.
	CacheEntries int
}

// chain holds what every transport chain of one App or token client shares:
// the base transport, counts, the ETag cache and the rate-limit gates.
type chain struct {
	base      http.RoundTripper
	basePath  string // the BaseURL's path without its trailing slash, e.g. "/api/v3"
	metrics   *Metrics
	cache     *etagCache
	gates     *gates
	pacer     *pacer
	policy    RetryPolicy
	clock     Clock
	log       *slog.Logger
	userAgent string
}

// newChain checks cfg and builds the shared state of its chains.
func newChain(cfg Config) (*chain, *url.URL, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, nil, err
	}
	c := &chain{
		base:      cfg.Transport,
		basePath:  strings.TrimSuffix(base.Path, "/"),
		metrics:   cfg.Metrics,
		gates:     newGates(),
		pacer:     newPacer(),
		policy:    cfg.Retry.withDefaults(),
		clock:     cfg.Clock,
		log:       cfg.Logger,
		userAgent: cfg.UserAgent,
	}
	if c.base == nil {
		c.base = http.DefaultTransport
	}
	if c.metrics == nil {
		c.metrics = NewMetrics(nil)
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "fleetbot"
	}
	switch {
	case cfg.CacheEntries == 0:
		c.cache = newETagCache(defaultCacheEntries)
	case cfg.CacheEntries > 0:
		c.cache = newETagCache(cfg.CacheEntries)
	}
	return c, base, nil
}

// parseBaseURL checks a REST API root and gives it a trailing slash, as
// go-github requires.
func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = defaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("github base url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("github base url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("github base url %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("github base url %q: must not carry a query or fragment", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// transport returns the chain for one identity: an installation id, "app" or
// "token". Requests to /app endpoints are signed with the App's JWT and are
// accounted to "app" whatever the label.
func (c *chain) transport(label string) http.RoundTripper {
	var rt http.RoundTripper = &countTransport{c: c, label: label, next: c.base}
	rt = &limitTransport{c: c, label: label, next: rt}
	rt = &retryTransport{c: c, next: rt}
	rt = &cacheTransport{c: c, label: label, next: rt}
	return &edgeTransport{c: c, next: rt}
}

// endpoint returns the route template of a request URL.
func (c *chain) endpoint(u *url.URL) string {
	p := u.EscapedPath()
	if p == graphqlPath(c.basePath) {
		return "/graphql"
	}
	if c.basePath != "" {
		rest, ok := strings.CutPrefix(p, c.basePath)
		if !ok || (rest != "" && rest[0] != '/') {
			return otherEndpoint
		}
		p = rest
	}
	return route(p)
}

// identity names whose rate limit and cache a request uses.
func (c *chain) identity(label string, endpoint string) string {
	if endpoint == "/app" || strings.HasPrefix(endpoint, "/app/") {
		return appIdentity
	}
	return label
}

// appIdentity is the identity of requests signed with the App's JWT.
const appIdentity = "app"

// edgeTransport is the top of the chain.
type edgeTransport struct {
	c    *chain
	next http.RoundTripper
}

func (t *edgeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.c.userAgent)
	}
	resp, err := t.next.RoundTrip(req)
	if resp != nil && resp.Header.Get(headerRemaining) == "0" {
		// go-github remembers a spent limit and then refuses every request
		// until the reset without sending it; the limit layer below waits
		// for the reset instead. go-github does not record the limit of a
		// response it believes came from a cache.
		resp.Header.Set("X-From-Cache", "1")
	}
	return resp, err
}

// attemptOf returns the request to send as attempt n of req: req itself
// first, then rewound copies.
func attemptOf(req *http.Request, n int) (*http.Request, error) {
	if n == 1 {
		return req, nil
	}
	return rewind(req)
}

// rewind returns req ready to be sent again: a clone with a fresh body.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("request body cannot be sent again")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("rewind request body: %w", err)
	}
	r.Body = body
	return r, nil
}

// rewindable reports whether rewind can work on req.
func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// discard drains and closes a response that will not be returned, so its
// connection can be reused.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
}
