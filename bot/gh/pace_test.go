package gh

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPace(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	reset := now.Add(30 * time.Minute)
	tests := []struct {
		name                      string
		remaining, limit, reserve int
		reset                     time.Time
		want                      time.Duration
	}{
		{"plenty left", 4000, 5000, 1000, reset, 0},
		{"just above the reserve", 1001, 5000, 1000, reset, 0},
		{"at the reserve: the rest lasts the half hour", 999, 5000, 1000, reset, 1800 * time.Millisecond},
		{"fewer left, longer gaps", 99, 5000, 1000, reset, 18 * time.Second},
		{"the last one goes half way", 1, 5000, 1000, reset, 15 * time.Minute},
		{"none left: until the reset", 0, 5000, 1000, reset, 30 * time.Minute},
		{"a share kept for others is spent", -50, 5000, 750, reset, 30 * time.Minute},
		{"near the reset, little to wait", 9, 5000, 1000, now.Add(time.Second), 100 * time.Millisecond},
		{"the reset passed: the next answer tells", 0, 5000, 1000, now.Add(-time.Second), 0},
		{"the reset is now", 0, 5000, 1000, now, 0},
		{"unknown limit", 0, 0, 0, reset, 0},
		{"no reserve: only a spent budget waits", 0, 5000, 0, reset, 30 * time.Minute},
		{"no reserve, one left", 1, 5000, 0, reset, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, Pace(tt.remaining, tt.limit, tt.reserve, tt.reset, now))
		})
	}
}

// budgetFake answers like GitHub with a budget of limit requests per window
// of the fake clock, refusing (403, remaining 0) once it is spent.
type budgetFake struct {
	mu      sync.Mutex
	clock   *fakeClock
	limit   int
	window  time.Duration
	reset   time.Time
	used    int
	refused int
	sent    []time.Time // when each admitted request arrived
}

func (b *budgetFake) handle(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	now := b.clock.Now()
	if !now.Before(b.reset) {
		b.reset, b.used = now.Add(b.window), 0
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if b.used >= b.limit {
		b.refused++
		b.mu.Unlock()
		h.Set("X-RateLimit-Remaining", "0")
		reply(w, http.StatusForbidden, `{"message":"API rate limit exceeded for installation ID 1."}`)
		return
	}
	b.used++
	b.sent = append(b.sent, now)
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.limit-b.used))
	b.mu.Unlock()
	reply(w, http.StatusOK, `{"name":"fleet"}`)
}

// budgetClient is a token client against a budgetFake of limit requests a
// window, logging into the returned buffer.
func budgetClient(t *testing.T, limit int, window time.Duration) (*Client, *Metrics, *budgetFake, *bytes.Buffer) {
	t.Helper()
	b := &budgetFake{limit: limit, window: window}
	f := newFake(t, b.handle)
	var logs bytes.Buffer
	c, m, clock := tokenClient(t, f, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		cfg.CacheEntries = -1
	})
	b.clock = clock
	b.reset = clock.Now() // the first request opens a window
	return c, m, b, &logs
}

// TestPacingSpreadsTheRestUntilTheReset: with a budget of 100 a window, the
// first 80 requests go at once; from the reserve of 20 on, each waits the
// time left shared among the requests left, so the 100th goes before the
// reset and the 101st after it. GitHub never refuses one; one line says the
// client slows down.
func TestPacingSpreadsTheRestUntilTheReset(t *testing.T) {
	t.Parallel()
	c, m, b, logs := budgetClient(t, 100, 5*time.Minute)
	start := b.clock.Now()
	for i := range 101 {
		require.NoError(t, getRepo(t.Context(), c), "request %d", i+1)
	}
	assert.Zero(t, b.refused)
	require.Len(t, b.sent, 101)
	for i := range 81 {
		assert.Equal(t, start, b.sent[i], "request %d goes at once", i+1)
	}
	reset := start.Add(5 * time.Minute)
	assert.Equal(t, start.Add(19*15*time.Second), b.sent[99], "the last 20 are spread over the window, 15s apart")
	assert.Equal(t, reset, b.sent[100], "the 101st waits for the reset")
	for i := 81; i < 100; i++ {
		assert.Equal(t, 15*time.Second, b.sent[i].Sub(b.sent[i-1]), "request %d is spaced", i+1)
	}
	assert.Equal(t, 19, m.Paced()["token"], "19 spaced; the 101st waits at the gate a spent limit closes")
	assert.Equal(t, 1, strings.Count(logs.String(), "slowing github requests"), logs.String())
}

// TestPacingKeepsAShareForEvents: background requests leave the last 5 of
// 100 to other work: once only that share is left the next one waits for
// the reset, while a webhook's requests still go before it.
func TestPacingKeepsAShareForEvents(t *testing.T) {
	t.Parallel()
	c, _, b, _ := budgetClient(t, 100, 5*time.Minute)
	start := b.clock.Now()
	for range 95 {
		require.NoError(t, getRepo(Background(t.Context()), c))
	}
	reset := start.Add(5 * time.Minute)
	for i := range 5 {
		require.NoError(t, getRepo(t.Context(), c), "event request %d", i+1)
	}
	require.NoError(t, getRepo(Background(t.Context()), c))
	assert.Zero(t, b.refused)
	require.Len(t, b.sent, 101)
	assert.True(t, b.sent[99].Before(reset), "the events' requests go within the window")
	assert.Equal(t, reset, b.sent[100], "the background request after them waits for the reset")
}

// TestPacingBeyondMaxWaitFailsAtOnce: a wait for the reset longer than
// MaxWait is a *RateLimitError, and sends nothing.
func TestPacingBeyondMaxWaitFailsAtOnce(t *testing.T) {
	t.Parallel()
	c, _, b, _ := budgetClient(t, 100, time.Hour)
	for range 95 {
		require.NoError(t, getRepo(t.Context(), c))
	}
	err := getRepo(Background(t.Context()), c)
	var limit *RateLimitError
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, b.reset, limit.Reset)
	assert.Len(t, b.sent, 95)
}

// TestPacingGivesBackA304: a 304 is free on GitHub, so the client does not
// count it against what it has left.
func TestPacingGivesBackA304(t *testing.T) {
	t.Parallel()
	p := newPacer()
	now := time.Unix(1_800_000_000, 0)
	answer := func(status, remaining int) *http.Response {
		h := http.Header{}
		h.Set(headerLimit, "100")
		h.Set(headerRemaining, strconv.Itoa(remaining))
		h.Set(headerReset, strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
		return &http.Response{StatusCode: status, Header: h}
	}
	pol := RetryPolicy{}.withDefaults()
	p.learn("1", answer(http.StatusOK, 50))
	_, b, _ := p.reserve("1", now, false, pol)
	assert.Equal(t, 49, b.remaining)
	p.learn("1", answer(http.StatusNotModified, 50))
	_, b, _ = p.reserve("1", now, false, pol)
	assert.Equal(t, 49, b.remaining, "the 304 was given back before the next request")
}

// TestPacingHonoursContext: a spaced request whose context ends while it
// waits is not sent.
func TestPacingHonoursContext(t *testing.T) {
	t.Parallel()
	c, _, b, _ := budgetClient(t, 10, time.Hour)
	for range 8 {
		require.NoError(t, getRepo(t.Context(), c))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := getRepo(ctx, c)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Len(t, b.sent, 8)
}

// TestPacingConcurrentNeverRefused: requests sent at once by many
// goroutines count against the budget as they are sent, before their
// answers come back, so together they never overrun it.
func TestPacingConcurrentNeverRefused(t *testing.T) {
	t.Parallel()
	c, m, b, _ := budgetClient(t, 100, 5*time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				errs <- getRepo(t.Context(), c)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Zero(t, b.refused)
	assert.Len(t, b.sent, 160)
	assert.Positive(t, m.Paced()["token"])
}

// TestPacerBackgroundWaitsFirst: with 5 of 100 left, the share kept for
// other work, a background request waits for the reset while another
// request goes within the window.
func TestPacerBackgroundWaitsFirst(t *testing.T) {
	t.Parallel()
	p := newPacer()
	now := time.Unix(1_800_000_000, 0)
	reset := now.Add(30 * time.Minute)
	h := http.Header{}
	h.Set(headerLimit, "100")
	h.Set(headerRemaining, "5")
	h.Set(headerReset, strconv.FormatInt(reset.Unix(), 10))
	p.learn("1", &http.Response{StatusCode: http.StatusOK, Header: h})
	pol := RetryPolicy{MaxWait: time.Hour}.withDefaults()
	wait, _, started := p.reserve("1", now, true, pol)
	assert.Equal(t, 30*time.Minute, wait, "background: until the reset")
	assert.True(t, started)
	wait, b, _ := p.reserve("1", now, false, pol)
	assert.Zero(t, wait, "events: the first spaced request goes at once")
	assert.Equal(t, 4, b.remaining)
	wait, _, _ = p.reserve("1", now, false, pol)
	assert.Equal(t, 6*time.Minute, wait, "the next follows by the time left shared among the 4 left, plus one")
}

// TestPacerCountsBlindRequests: requests sent before any answer told the
// budget are counted as spent when the first answer comes, all but the one
// it answers.
func TestPacerCountsBlindRequests(t *testing.T) {
	t.Parallel()
	p := newPacer()
	now := time.Unix(1_800_000_000, 0)
	pol := RetryPolicy{MaxWait: time.Hour}.withDefaults()
	for range 3 {
		wait, _, _ := p.reserve("1", now, false, pol)
		assert.Zero(t, wait, "nothing known: sent at once")
	}
	h := http.Header{}
	h.Set(headerLimit, "100")
	h.Set(headerRemaining, "90")
	h.Set(headerReset, strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
	p.learn("1", &http.Response{StatusCode: http.StatusOK, Header: h})
	_, b, _ := p.reserve("1", now, false, pol)
	assert.Equal(t, 90-2-1, b.remaining, "two still in flight, and this one")
}
