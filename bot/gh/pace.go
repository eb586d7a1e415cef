package gh

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Pacing defaults: below a fifth of its hourly limit an identity's requests
// are spaced so the rest lasts until the reset, and background work (the
// reconcile loop's polling) leaves the last twentieth to the work webhooks
// ask for.
const (
	defaultPaceReserve = 0.2
	defaultPaceKeep    = 0.05
)

// Pace returns how long the next request of an identity that has remaining
// of its limit left until reset, at now, should follow the one before, when
// it spaces its requests once no more than reserve remain: nothing above
// reserve; below, the time left cut into remaining+1 equal gaps, so the
// requests left go before the reset instead of running out before it; the
// whole time left once none remain. A reset that has passed, or an unknown
// limit (0), asks for no wait: the next answer tells the new budget.
func Pace(remaining, limit, reserve int, reset, now time.Time) time.Duration {
	left := reset.Sub(now)
	switch {
	case limit <= 0 || left <= 0:
		return 0
	case remaining <= 0:
		return left
	case remaining > reserve:
		return 0
	}
	return left / time.Duration(remaining+1)
}

// backgroundKey marks a context whose requests are background work.
type backgroundKey struct{}

// Background returns ctx marked as background work, such as a periodic
// reconcile pass that only backs up webhooks: when an identity's budget runs
// low its requests are spaced first, and they leave the last share of the
// budget (RetryPolicy.PaceKeep) to other work.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// budget is what the chain knows of one identity's primary limit.
type budget struct {
	limit     int       // X-RateLimit-Limit; 0 until an answer tells it
	remaining int       // the last answer's X-RateLimit-Remaining, less the requests sent since
	reset     time.Time // X-RateLimit-Reset
	last      time.Time // when the last spaced request went
	slowing   bool      // requests are being spaced in this window
	// blind counts the requests sent while no window was known (none
	// yet, or the last one over): the first answer of the next window
	// does not count those still in flight.
	blind int
}

// pacer spaces each identity's requests as Pace says, shared by every chain
// of an App like the gates.
type pacer struct {
	mu sync.Mutex
	m  map[string]*budget
}

func newPacer() *pacer { return &pacer{m: make(map[string]*budget)} }

// budgetOf returns id's budget, made empty on first use; the caller holds
// p.mu.
func (p *pacer) budgetOf(id string) *budget {
	bu := p.m[id]
	if bu == nil {
		bu = &budget{}
		p.m[id] = bu
	}
	return bu
}

// reserve takes a slot for one request of id and returns how long to wait
// before sending it. A background request sees its budget less the share it
// leaves to other work. A wait beyond maxWait takes no slot: the caller
// gives up. started is true when this request begins a stretch of spaced
// requests in the current window.
func (p *pacer) reserve(id string, now time.Time, background bool, pol RetryPolicy) (wait time.Duration, b budget, started bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	bu := p.budgetOf(id)
	if bu.limit == 0 || !now.Before(bu.reset) {
		bu.blind++
		return 0, budget{}, false
	}
	reserve, remaining := int(pol.PaceReserve*float64(bu.limit)), bu.remaining
	if background {
		keep := int(pol.PaceKeep * float64(bu.limit))
		reserve, remaining = reserve-keep, remaining-keep
	}
	interval := Pace(remaining, bu.limit, reserve, bu.reset, now)
	if interval == 0 {
		bu.remaining--
		return 0, *bu, false
	}
	// Spaced from the last spaced request by this request's own
	// interval: a background request's longer one does not hold back the
	// request of other work that follows it.
	at := now
	if next := bu.last.Add(interval); remaining > 0 && next.After(at) {
		at = next
	}
	if remaining <= 0 || !at.Before(bu.reset) {
		// Nothing left for it in this window: it goes once the window
		// ends, when the answers tell the new budget.
		at = bu.reset
	}
	if at.Sub(now) > pol.MaxWait {
		return at.Sub(now), *bu, false
	}
	if at.Before(bu.reset) {
		bu.last = at
		bu.remaining--
	}
	started = !bu.slowing
	bu.slowing = true
	return at.Sub(now), *bu, started
}

// learn takes an identity's budget from an answer's headers: a new window
// starts afresh; within one, the lower of the answer's count and the chain's
// own (which counts requests still in flight) holds. A 304 is free on
// GitHub: the request reserve counted is given back.
func (p *pacer) learn(id string, resp *http.Response) {
	remaining, okRemaining := headerInt(resp.Header, headerRemaining)
	reset, okReset := headerInt(resp.Header, headerReset)
	limit, okLimit := headerInt(resp.Header, headerLimit)
	if !okRemaining || !okReset || !okLimit {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bu := p.budgetOf(id)
	at := time.Unix(reset, 0)
	switch {
	case at.After(bu.reset):
		// The requests sent blind, this one aside, may still be in
		// flight: counted as spent, so the window never overruns.
		*bu = budget{limit: int(limit), remaining: int(remaining) - max(bu.blind-1, 0), reset: at}
	case at.Equal(bu.reset):
		if resp.StatusCode == http.StatusNotModified {
			bu.remaining++
		}
		bu.limit, bu.remaining = int(limit), min(bu.remaining, int(remaining))
	}
}
