package fleetsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/fleetsim"
)

var epoch = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func TestClockReal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		clock  *fleetsim.Clock
		factor float64
		d      time.Duration
		want   time.Duration
	}{
		{name: "nil is the wall clock", clock: nil, factor: 1, d: time.Minute, want: time.Minute},
		{name: "60 times as fast", clock: fleetsim.NewClock(epoch, 60), factor: 60, d: time.Hour, want: time.Minute},
		{name: "slower than the wall", clock: fleetsim.NewClock(epoch, 0.5), factor: 0.5, d: time.Second, want: 2 * time.Second},
		{name: "rounds up", clock: fleetsim.NewClock(epoch, 3), factor: 3, d: 10 * time.Nanosecond, want: 4 * time.Nanosecond},
		{name: "zero factor is 1", clock: fleetsim.NewClock(epoch, 0), factor: 1, d: time.Second, want: time.Second},
		{name: "negative factor is 1", clock: fleetsim.NewClock(epoch, -5), factor: 1, d: time.Second, want: time.Second},
		{name: "negative duration", clock: fleetsim.NewClock(epoch, 10), factor: 10, d: -time.Second, want: -time.Second},
		{name: "three minutes at 1200", clock: fleetsim.NewClock(epoch, 1200), factor: 1200, d: 3 * time.Minute, want: 150 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.clock.Real(tc.d))
			assert.InDelta(t, tc.factor, tc.clock.Factor(), 0)
		})
	}
}

func TestClockNowStartsAtStartAndMovesForward(t *testing.T) {
	t.Parallel()
	c := fleetsim.NewClock(epoch, 1000)
	first := c.Now()
	assert.False(t, first.Before(epoch), "the clock reads %s before its start %s", first, epoch)
	second := c.Now()
	assert.False(t, second.Before(first), "the clock went back from %s to %s", first, second)

	var wall *fleetsim.Clock
	before := time.Now()
	assert.False(t, wall.Now().Before(before), "a nil clock reads the wall clock")
}

func TestClockSleepLetsTheSimulatedTimePass(t *testing.T) {
	t.Parallel()
	c := fleetsim.NewClock(epoch, 3600) // an hour a second
	before := c.Now()
	require.NoError(t, c.Sleep(t.Context(), 30*time.Minute))
	assert.GreaterOrEqual(t, c.Now().Sub(before), 30*time.Minute)
	require.NoError(t, c.Sleep(t.Context(), 0))
	require.NoError(t, c.Sleep(t.Context(), -time.Hour))
}

func TestClockSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	c := fleetsim.NewClock(epoch, 1)

	done, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, c.Sleep(done, 0), context.Canceled, "an ended context wins over a zero sleep")

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- c.Sleep(ctx, 24*time.Hour) }()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	var wall *fleetsim.Clock
	require.ErrorIs(t, wall.Sleep(done, time.Hour), context.Canceled)
}
