package gh

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// retryTransport retries server errors and network errors where sending the
// request twice is safe (see the package doc).
type retryTransport struct {
	c    *chain
	next http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		r, err := attemptOf(req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := t.next.RoundTrip(r)
		if attempt >= t.c.policy.MaxAttempts || !t.retryable(req, resp, err) {
			return resp, err
		}
		delay := t.backoff(attempt)
		status := "error"
		if resp != nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		t.c.log.WarnContext(req.Context(), "retrying github request",
			"method", req.Method, "endpoint", t.c.endpoint(req.URL), "status", status,
			"error", err, "attempt", attempt, "wait", delay)
		discard(resp)
		if err := t.c.clock.Sleep(req.Context(), delay); err != nil {
			return nil, err
		}
	}
}

// retryable reports whether the outcome of one attempt justifies another.
func (t *retryTransport) retryable(req *http.Request, resp *http.Response, err error) bool {
	if req.Context().Err() != nil || !rewindable(req) {
		return false
	}
	if err != nil {
		var limit *RateLimitError
		if errors.As(err, &limit) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		return t.idempotent(req) || notSent(err)
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return t.idempotent(req)
	}
	return false
}

// idempotent reports whether sending req twice has the effect of sending it
// once. Minting an installation token is a POST, but a second token harms
// nothing.
func (t *retryTransport) idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	case http.MethodPost:
		return t.c.endpoint(req.URL) == tokenEndpoint
	}
	return false
}

// tokenEndpoint is the route that mints installation tokens.
// https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app
const tokenEndpoint = "/app/installations/{installation_id}/access_tokens"

// notSent reports whether err proves the request never left: no connection
// was made, or the host name did not resolve.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// backoff is the wait before attempt+1: BaseDelay doubled per attempt, capped
// at MaxDelay, drawn from [d/2, d] so concurrent clients spread out.
func (t *retryTransport) backoff(attempt int) time.Duration {
	p := t.c.policy
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	return d/2 + rand.N(d/2+1)
}
