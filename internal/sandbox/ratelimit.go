package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRateLimit is GitHub's hourly budget of an installation, a user and
// an App.
// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
const DefaultRateLimit = 5000

// rateLimitRoute is the route that tells the limit; calling it is free.
const rateLimitRoute = "GET /rate_limit"

// meter says whose budget a request counts against: key names the budget
// ("" for none, before authentication), counted is false for free routes.
type meter struct {
	key     string
	counted bool
	hour    int64 // the hour of the rate clock admit counted it in
}

// installationBudget starts the name of an installation's budget; no login
// can, having a space.
const installationBudget = "installation "

// budget names the rate limit the principal's requests count against: each
// installation has its own, as on GitHub, whatever login its token acts as.
func (p *principal) budget() string {
	if p.inst != nil {
		return fmt.Sprintf("%s%d", installationBudget, p.inst.ID)
	}
	return p.login
}

// Usage is what one budget spent in one hour of the rate clock.
type Usage struct {
	// Budget names it: "installation <id>" for an installation's tokens,
	// else the login (the App's slug for its JWT).
	Budget string
	// Hour is the start of the hour.
	Hour time.Time
	// Requests counted against the budget; 304 answers and GET /rate_limit
	// are free.
	Requests int
	// Refused is how many requests the sandbox refused, the budget spent.
	Refused int
}

// limits counts requests per budget per hour of its clock.
type limits struct {
	installation int // each installation's hourly limit
	user         int // each user's and the App's
	clock        func() time.Time

	mu    sync.Mutex
	hours map[usageKey]*Usage
}

type usageKey struct {
	budget string
	hour   int64
}

func newLimits(installation, user int, clock func() time.Time) *limits {
	return &limits{installation: installation, user: user, clock: clock, hours: map[usageKey]*Usage{}}
}

// of returns budget's hourly limit.
func (l *limits) of(budget string) int {
	if strings.HasPrefix(budget, installationBudget) {
		return l.installation
	}
	return l.user
}

// usage returns budget's usage in hour, made on first use; the caller
// holds l.mu.
func (l *limits) usage(budget string, hour int64) *Usage {
	k := usageKey{budget, hour}
	u := l.hours[k]
	if u == nil {
		u = &Usage{Budget: budget, Hour: time.Unix(hour*3600, 0).UTC()}
		l.hours[k] = u
	}
	return u
}

// now returns the current hour of the rate clock.
func (l *limits) now() int64 { return l.clock().Unix() / 3600 }

// admit counts one request against m's budget in the current hour, noting
// the hour in m, and reports true, or, the budget spent this hour, counts a
// refusal and reports false. An empty budget is always admitted and counts
// nothing.
func (l *limits) admit(m *meter) bool {
	if m.key == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m.hour = l.now()
	u := l.usage(m.key, m.hour)
	if u.Requests >= l.of(m.key) {
		u.Refused++
		return false
	}
	u.Requests++
	return true
}

// giveBack returns a request admit counted, to the hour it was counted in:
// its answer turned out free.
func (l *limits) giveBack(m meter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.usage(m.key, m.hour); u.Requests > 0 {
		u.Requests--
	}
}

// status returns budget's hourly limit, what it used this hour and when the
// hour ends.
func (l *limits) status(budget string) (limit, used int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.usage(budget, l.now()) // an empty budget counts nothing: 0 used
	return l.of(budget), u.Requests, u.Hour.Add(time.Hour)
}

// RateUsage returns what each budget spent, per hour of the rate clock, by
// budget then hour.
func (s *Server) RateUsage() []Usage {
	l := s.limits
	l.mu.Lock()
	out := make([]Usage, 0, len(l.hours))
	for _, u := range l.hours {
		if u.Requests > 0 || u.Refused > 0 {
			out = append(out, *u)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Usage) int {
		return cmp.Or(cmp.Compare(a.Budget, b.Budget), a.Hour.Compare(b.Hour))
	})
	return out
}

// rateHeaders sets GitHub's rate-limit headers for budget.
// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#checking-the-status-of-your-rate-limit
func (s *Server) rateHeaders(w http.ResponseWriter, budget string) {
	limit, used, reset := s.limits.status(budget)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// refuse answers a request over the primary rate limit as GitHub does: 403,
// X-RateLimit-Remaining 0 and the reset, and a message naming whose limit.
// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, who *principal, budget string) {
	whose := "user " + who.login
	if who.inst != nil {
		whose = fmt.Sprintf("installation ID %d", who.inst.ID)
	}
	body := map[string]any{
		"message":           "API rate limit exceeded for " + whose + ".",
		"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
	}
	// Not s.writeJSON: a refusal carries no ETag, whatever the method.
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.rateHeaders(w, budget)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(data)
}
