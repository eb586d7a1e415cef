package gh

import (
	"cmp"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts GitHub requests: every attempt that reaches the network, by
// route template, method and status, and the rate limit left per identity.
// One Metrics may serve several Apps and token clients.
type Metrics struct {
	requests  *prometheus.CounterVec
	remaining *prometheus.GaugeVec
	limit     *prometheus.GaugeVec
	spaced    *prometheus.CounterVec
	spacedFor *prometheus.CounterVec

	mu     sync.Mutex
	calls  map[callKey]int
	left   map[string]int
	slowed map[string]int
}

// callKey names one series of Calls.
type callKey struct{ endpoint, method, status string }

// Call is how many requests went to one endpoint with one method and got one
// status ("error" when no response came back).
type Call struct {
	Endpoint string
	Method   string
	Status   string
	Count    int
}

// NewMetrics returns counters registered with reg as
// fleetbot_github_requests_total{endpoint,method,status},
// fleetbot_github_rate_limit_remaining{installation},
// fleetbot_github_rate_limit_limit{installation},
// fleetbot_github_paced_requests_total{installation,work} and
// fleetbot_github_paced_seconds_total{installation,work}. A nil reg registers
// nothing; collectors reg already holds under those names are reused. It
// panics on any other registration error, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_github_requests_total",
			Help: "GitHub API requests sent, by route template, method and HTTP status (\"error\" when none came back).",
		}, []string{"endpoint", "method", "status"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleetbot_github_rate_limit_remaining",
			Help: "X-RateLimit-Remaining of the last GitHub answer, by installation id (\"app\" for the App's own calls, \"token\" for static tokens).",
		}, []string{"installation"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleetbot_github_rate_limit_limit",
			Help: "X-RateLimit-Limit of the last GitHub answer: the requests an hour allows, by installation id (\"app\", \"token\" as for the remaining gauge).",
		}, []string{"installation"}),
		spaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_github_paced_requests_total",
			Help: "GitHub requests held back so an installation's rate limit lasts until it resets, by installation id and work (\"background\" for the reconcile loop's polling, \"events\" for the rest).",
		}, []string{"installation", "work"}),
		spacedFor: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_github_paced_seconds_total",
			Help: "Time GitHub requests were held back so the rate limit lasts until it resets, by installation id and work.",
		}, []string{"installation", "work"}),
		calls:  make(map[callKey]int),
		left:   make(map[string]int),
		slowed: make(map[string]int),
	}
	if reg == nil {
		return m
	}
	m.requests = register(reg, m.requests)
	m.remaining = register(reg, m.remaining)
	m.limit = register(reg, m.limit)
	m.spaced = register(reg, m.spaced)
	m.spacedFor = register(reg, m.spacedFor)
	return m
}

// register registers c, or returns the collector reg already has in its place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// observe counts one attempt.
func (m *Metrics) observe(endpoint, method, status string) {
	m.requests.WithLabelValues(endpoint, method, status).Inc()
	m.mu.Lock()
	m.calls[callKey{endpoint, method, status}]++
	m.mu.Unlock()
}

// setRemaining records the rate limit an identity has left, and the limit
// itself when the answer gave it (limit < 0 when not).
func (m *Metrics) setRemaining(identity string, n, limit int) {
	m.mu.Lock()
	_, known := m.left[identity]
	m.mu.Unlock()
	if !known {
		// The pacing counters of an identity start at 0 when it is first
		// seen, so that a rate over them reads 0, not nothing, until the
		// bot first holds a request back.
		for _, work := range []string{"events", "background"} {
			m.spaced.WithLabelValues(identity, work)
			m.spacedFor.WithLabelValues(identity, work)
		}
	}
	m.remaining.WithLabelValues(identity).Set(float64(n))
	if limit >= 0 {
		m.limit.WithLabelValues(identity).Set(float64(limit))
	}
	m.mu.Lock()
	m.left[identity] = n
	m.mu.Unlock()
}

// paced counts one request held back for d so identity's budget lasts.
func (m *Metrics) paced(identity string, background bool, d time.Duration) {
	work := "events"
	if background {
		work = "background"
	}
	m.spaced.WithLabelValues(identity, work).Inc()
	m.spacedFor.WithLabelValues(identity, work).Add(d.Seconds())
	m.mu.Lock()
	m.slowed[identity]++
	m.mu.Unlock()
}

// Paced returns how many requests of each identity were held back so its
// rate limit would last until the reset.
func (m *Metrics) Paced() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.slowed)
}

// Calls returns the requests counted so far, sorted by endpoint, method and
// status.
func (m *Metrics) Calls() []Call {
	m.mu.Lock()
	out := make([]Call, 0, len(m.calls))
	for k, n := range m.calls {
		out = append(out, Call{Endpoint: k.endpoint, Method: k.method, Status: k.status, Count: n})
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Call) int {
		return cmp.Or(cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// RateLimitRemaining returns the last X-RateLimit-Remaining seen per identity
// (an installation id, "app" or "token").
func (m *Metrics) RateLimitRemaining() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.left))
	for k, v := range m.left {
		out[k] = v
	}
	return out
}

// countTransport is the bottom of the chain: it sees every attempt.
type countTransport struct {
	c     *chain
	label string
	next  http.RoundTripper
}

func (t *countTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	endpoint := t.c.endpoint(req.URL)
	resp, err := t.next.RoundTrip(req)
	status := "error"
	if resp != nil {
		status = strconv.Itoa(resp.StatusCode)
		// Only the core limit governs the REST calls the bot makes.
		resource := resp.Header.Get(headerResource)
		if n, ok := headerInt(resp.Header, headerRemaining); ok && (resource == "" || resource == "core") {
			limit, ok := headerInt(resp.Header, headerLimit)
			if !ok {
				limit = -1
			}
			t.c.metrics.setRemaining(t.c.identity(t.label, endpoint), int(n), int(limit))
		}
	}
	t.c.metrics.observe(endpoint, req.Method, status)
	return resp, err
}
